//! Telescope aggregation: what a darknet saw, per interval, per port and per source.
//!
//! Packets decoded by `firewatch-pcap` flow into an [`Aggregator`], which keeps, for each
//! (interval, protocol, destination port), packets, bytes, unique sources and unique darknet
//! destinations; for each source its profile (first/last seen, packets, flag mix, TTLs,
//! distinct ports and addresses, fingerprint counts) from which its [`SourceLabel`] follows
//! ([`label::classify`]); per-minute backscatter from each DoS victim, from which
//! [`backscatter::derive_attacks`] finds attacks with corsaro's thresholds; and, on request,
//! corsaro-style flowtuples.
//!
//! ```
//! use firewatch_darknet::{AggregationConfig, Aggregator};
//! use firewatch_pcap::{Fragment, PacketFacts};
//! use std::net::{IpAddr, Ipv4Addr};
//!
//! let dst = Ipv4Addr::new(198, 18, 0, 7);
//! let syn = PacketFacts {
//!     ts_ns: 1_700_000_000_000_000_000, src: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
//!     dst: IpAddr::V4(dst), proto: 6, sport: 40000, dport: 23, ttl: 50, ip_id: 7,
//!     ip_len: 40, tcp_flags: 0x02, tcp_seq: u32::from(dst), tcp_window: 14600,
//!     icmp_type: 0, icmp_code: 0, quoted: None, fragment: Fragment::Whole,
//!     truncated: false, wire_len: 60,
//! };
//! let mut agg = Aggregator::new(AggregationConfig::default());
//! agg.observe(&syn);
//! let out = agg.finish();
//! assert_eq!(out.cells.len(), 1);
//! assert_eq!(out.sources.iter().next().unwrap().counters.mirai, 1); // sequence number == destination: Mirai
//! ```
//!
//! [`SourceLabel`]: firewatch_core::SourceLabel

pub mod aggregate;
pub mod backscatter;
mod cells;
pub mod config;
pub mod distinct;
pub mod facts;
pub mod fingerprint;
pub mod flowtuple;
pub mod label;
pub mod run;
pub mod source_counts;
mod sources;

pub use aggregate::{Aggregate, Aggregator, PortCell, SourceProfile, SourceProfiles};
pub use backscatter::{BackscatterAttack, BackscatterMinute, derive_attacks};
pub use config::{AggregationConfig, AttackThresholds, LabelRules};
pub use distinct::DistinctSet;
pub use flowtuple::FlowTuple;
pub use label::{SourceCounters, classify};
pub use run::{IngestOutcome, aggregate_capture};
