//! Internet-health metrics per country and per network (ASN), in the manner of CyberGreen:
//! how many open DNS resolvers, NTP, SSDP, SNMP and CHARGEN reflectors, scanners, Mirai-like
//! bots and DoS victims each has per day, normalised by the address space it announces, the
//! DDoS potential of its reflectors, a trend index and ranks — with small cells suppressed in
//! public output. Pure computation: the caller reads events and registry data; docs/metrics.md
//! defines every figure.
//!
//! ```
//! use firewatch_metrics::*;
//! let seen = |ip: &str| Observation {
//!     day: Day::parse("2026-01-05").unwrap(), risk: Risk::OpenDns, ip: ip.parse().unwrap(),
//!     country: Some(*b"JP"), asn: Some(2_497), public: true,
//! };
//! let observations: Vec<Observation> =
//!     (1..=12).map(|i| seen(&format!("192.0.2.{i}"))).collect();
//! let cells = count_daily(&observations);
//! let space = AddressSpace::from_entries([(Scope::Country, "JP".to_string(), 1_000_000)]);
//! let m = Metrics::derive(&cells, &space, &MetricsConfig::default(), Audience::Public).unwrap();
//! let jp = m.rows.iter().find(|r| r.scope == Scope::Country).unwrap();
//! assert_eq!((jp.unique_ips, jp.per_million_addresses), (12, Some(12.0)));
//! assert_eq!(jp.ddos_potential_gbps, Some(0.492)); // 12 × 41 × 1 Mbit/s
//! ```

mod config;
mod count;
mod day;
mod derive;
mod export;
pub mod risk;
mod space;

pub use config::MetricsConfig;
pub use count::{DailyCell, Observation, Scope, count_daily};
pub use day::Day;
pub use derive::{Audience, MetricRow, Metrics, Summary};
pub use export::write_csv;
pub use risk::{EventKind, RISKS, Risk, classify};
pub use space::AddressSpace;

/// Why metrics could not be computed or written.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// A day that is not `YYYY-MM-DD`.
    #[error("{0:?} is not a day (YYYY-MM-DD)")]
    BadDay(String),
    /// A configuration value out of range, named by its key.
    #[error("{0}")]
    Config(String),
    /// CSV output failed.
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
    /// Output failed.
    #[error("cannot write: {0}")]
    Write(String),
}
