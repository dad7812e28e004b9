//! Parameters of aggregation, labelling and attack detection; they live in the user's TOML.

use serde::{Deserialize, Serialize};

/// How packets are bucketed (`[aggregation]` in firewatch.toml).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AggregationConfig {
    /// Length of one aggregation interval in seconds (default 60, as TSUBAME and corsaro).
    pub interval_secs: u32,
    /// Keep corsaro-style flowtuples (one row per distinct packet shape per interval).
    /// Costs memory and store space in proportion to the traffic; off by default.
    pub flowtuples: bool,
}

impl Default for AggregationConfig {
    fn default() -> Self {
        AggregationConfig {
            interval_secs: 60,
            flowtuples: false,
        }
    }
}

/// Thresholds of the source labels (`[labels]` in firewatch.toml); see [`crate::label`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LabelRules {
    /// Share of a source's probes that must carry a tool fingerprint (Mirai, Masscan: of its
    /// TCP SYNs; ZMap: of its IPv4 packets) for the tool's label. Default 0.5.
    pub fingerprint_min_share: f64,
    /// Share of a source's packets that must be backscatter (SYN-ACK, RST, ICMP replies and
    /// errors) for the backscatter label. Default 0.5.
    pub backscatter_min_share: f64,
    /// Distinct darknet addresses a source must touch to be a scanner. Default 100, the
    /// threshold of Durumeric et al., "An Internet-Wide View of Internet-Wide Scanning"
    /// (USENIX Security 2014).
    pub scanner_min_addresses: u64,
}

impl Default for LabelRules {
    fn default() -> Self {
        LabelRules {
            fingerprint_min_share: 0.5,
            backscatter_min_share: 0.5,
            scanner_min_addresses: 100,
        }
    }
}

/// When a victim's backscatter counts as a DoS attack (`[attacks]` in firewatch.toml).
/// Defaults are the thresholds of CAIDA corsaro's DoS plugin (after Moore et al., "Inferring
/// Internet Denial-of-Service Activity", ACM TOCS 2006).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttackThresholds {
    /// At least this many backscatter packets (default 25).
    pub min_packets: u64,
    /// Lasting at least this long from first to last packet, in seconds (default 60).
    pub min_duration_secs: u64,
    /// With a peak of at least this many packets in one minute (default 30).
    pub min_peak_per_minute: u64,
    /// An attack ends after this many seconds without backscatter from the victim (default 300).
    pub gap_secs: u64,
}

impl Default for AttackThresholds {
    fn default() -> Self {
        AttackThresholds {
            min_packets: 25,
            min_duration_secs: 60,
            min_peak_per_minute: 30,
            gap_secs: 300,
        }
    }
}
