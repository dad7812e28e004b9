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

/// How a committed capture begins and how far its input counted it: what tells another copy of
/// the same capture (renamed, gzip-compressed, pcap or pcapng) or a longer version of a partial
/// one apart from a different capture, whose bytes all differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureExtent {
    /// The input this describes.
    pub content_hash: String,
    /// Timestamp of the capture's first frame (ns since the epoch).
    pub first_frame_ns: i64,
    /// BLAKE3 (hex) of the first `fingerprint_frames` frames as decoded: timestamp, wire
    /// length and captured bytes of each, so that container and compression do not matter.
    pub fingerprint: String,
    /// How many frames the fingerprint covers (fewer than the usual 64 only in a short capture).
    pub fingerprint_frames: u32,
    /// Frames at the start that an earlier input of the same capture had counted already: this
    /// input counted only the frames after them.
    pub skipped_frames: u64,
    /// Frames of the capture counted once this input was committed (skipped + its own).
    pub frames_through: u64,
    /// The input whose frames this one skipped (the partial version it continues), if any.
    pub continues: Option<String>,
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

impl AlertQuery {
    /// Whether a stored alert passes the team and country filters (the store reads the time
    /// range, port and state in SQL; these look inside the record).
    pub fn admits(&self, a: &AlertRecord) -> bool {
        let team_ok = self
            .team
            .as_ref()
            .is_none_or(|t| a.top_teams.iter().any(|(x, _)| x == t));
        let country_ok = self.country.as_ref().is_none_or(|c| {
            a.top_countries
                .iter()
                .flatten()
                .any(|(x, _)| x.eq_ignore_ascii_case(c))
        });
        team_ok && country_ok
    }
}

/// A filter on sources.
#[derive(Debug, Clone, Default)]
pub struct SourceQuery {
    pub range: TimeRange,
    pub label: Option<SourceLabel>,
    /// Only sources routed to this team.
    pub team: Option<String>,
    /// Only sources registered in this country (ISO 3166 alpha-2).
    pub country: Option<String>,
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
    /// Only attacks on victims routed to this team.
    pub team: Option<String>,
    /// Only attacks on victims registered in this country (ISO 3166 alpha-2).
    pub country: Option<String>,
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

/// What [`crate::Store::rederive`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Rederived {
    /// Sources read, and those whose label or attribution changed.
    pub sources: u64,
    pub sources_changed: u64,
    /// Attacks read, and those whose victim's attribution changed.
    pub attacks: u64,
    pub attacks_changed: u64,
    /// Events with a source address read, and those routed to another team now.
    pub events: u64,
    pub events_changed: u64,
    /// The telescope's findings stored as events that were brought to its TLP and owner in
    /// force (set by the pipeline, [`crate::EventStore::retag_feed`]).
    pub findings_retagged: u64,
}
