//! The way data flows through Firewatch: from collectors and captures, through parsers and
//! experts, into the store, and from the store's telescope findings into events.
//!
//! - [`Context`]: the configuration and the store, what every step needs.
//! - [`dataset`]: the registry data in force (IP → country, ASN), replaced atomically.
//! - [`directory`]: the team directory in the store, read one way, and routing answers.
//! - [`attribution`]: registry data and directory as one lookup, for the store and the experts.
//! - [`capture`]: telescope captures decoded, aggregated and committed, one per transaction.
//! - [`feeds`]: feed inputs parsed, judged by the experts and committed, one per transaction.
//! - [`derivation`]: labels, attacks and attribution the store keeps beside a capture's facts.
//! - [`alerts`]: port alerts derived from the stored series.
//! - [`health`]: the Internet-health compute (daily cells, published figures).
//! - [`findings`]: the telescope's findings (labelled sources, attacks, alerts) as events, once.
//! - [`assess`]: X.1060 assessments read back from the store against their catalogue.
//! - [`evidence`]: what Firewatch measures of a country's services (X.1060 B, D and I).
//!
//! Parsers (`firewatch-feeds`, `firewatch-pcap`), aggregation (`firewatch-darknet`) and the store
//! know nothing of each other; this crate is the only one that sees both sides.

pub mod alerts;
pub mod assess;
pub mod attribution;
pub mod capture;
pub mod config;
pub mod context;
pub mod dataset;
pub mod derivation;
pub mod directory;
pub mod evidence;
pub mod feeds;
pub mod findings;
pub mod health;
pub mod rederive;

pub use config::{DedupeConfig, FeedsConfig, PipelineConfig};
pub use context::Context;
