//! What the store hands back: plain, serialisable records.

use firewatch_core::SourceLabel;
pub use firewatch_core::attribution::Attribution;
pub use firewatch_core::telescope::{AlertRecord, SourceShare};
use firewatch_darknet::SourceCounters;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

pub use firewatch_core::time::TimeRange;

/// One committed input (a capture file or stream).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputRecord {
    /// BLAKE3 of the input's bytes as read (hex).
    pub content_hash: String,
    pub name: String,
    pub format: String,
    pub ingested_at: i64,
    pub frames: u64,
    pub ip_packets: u64,
    pub first_ns: Option<i64>,
    pub last_ns: Option<i64>,
    /// False when the input was damaged: what came before the damage was kept.
    pub complete: bool,
    pub error: Option<String>,
    /// The decode tallies (not IP, malformed, truncated, fragments…), as JSON.
    pub counters: serde_json::Value,
}

/// Traffic to one port over a time range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PortTotal {
    pub proto: String,
    pub port: u16,
    pub packets: u64,
    pub bytes: u64,
    /// Distinct sources over the whole range.
    pub unique_sources: u64,
    /// Largest number of distinct sources in one interval.
    pub peak_interval_sources: u64,
    pub intervals: u64,
}

/// A filter on alerts.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    pub range: TimeRange,
    /// Only alerts with sources attributed to this team.
    pub team: Option<String>,
    /// Only alerts with sources in this country (ISO 3166 alpha-2).
    pub country: Option<String>,
    pub proto: Option<u8>,
    pub port: Option<u16>,
    pub open_only: bool,
    pub limit: Option<usize>,
}

/// A filter on sources.
#[derive(Debug, Clone, Default)]
pub struct SourceQuery {
    pub range: TimeRange,
    pub label: Option<SourceLabel>,
    pub limit: Option<usize>,
}

/// One source's profile as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRecord {
    pub addr: IpAddr,
    pub label: SourceLabel,
    pub first_seen_ns: i64,
    pub last_seen_ns: i64,
    pub packets: u64,
    pub bytes: u64,
    pub distinct_destinations: u64,
    pub distinct_ports: u64,
    pub ttls: Vec<u8>,
    pub counters: SourceCounters,
    /// `(protocol, port, packets)` of the first ports seen, busiest first.
    pub top_ports: Vec<(String, u16, u64)>,
    /// Country, network and team of the source.
    #[serde(flatten)]
    pub attribution: Attribution,
}

/// A filter on attacks.
#[derive(Debug, Clone, Default)]
pub struct AttackQuery {
    pub range: TimeRange,
    pub victim: Option<IpAddr>,
    pub limit: Option<usize>,
}

/// A DoS attack seen through its backscatter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttackRecord {
    pub victim: IpAddr,
    pub start_ns: i64,
    pub end_ns: i64,
    pub packets: u64,
    pub bytes: u64,
    pub peak_per_minute: u64,
    pub proto: String,
    pub ports: Vec<u16>,
    /// Country, network and team of the victim.
    #[serde(flatten)]
    pub attribution: Attribution,
}

/// One stored flowtuple.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowtupleRecord {
    pub interval_start: i64,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
    pub ttl: u8,
    pub tcp_flags: u8,
    pub ip_len: u16,
    pub packets: u64,
    pub spoofed: bool,
    pub masscan: bool,
}

/// The team directory as stored: the validated TOML it was imported as, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredDirectory {
    pub toml: String,
    /// The file it came from.
    pub origin: String,
    /// Whether nested prefixes of different teams were accepted.
    pub allow_nested_prefixes: bool,
    pub imported_at: i64,
}

/// What alert derivation scans: the store's interval span and the ports that may alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertCandidates {
    /// The first interval start of the store (Unix s).
    pub first: i64,
    /// The last interval start of the store (Unix s).
    pub last: i64,
    /// The interval length (s).
    pub step: i64,
    /// (IP protocol number, port) of every port whose busiest interval reaches a floor.
    pub ports: Vec<(u8, u16)>,
}
