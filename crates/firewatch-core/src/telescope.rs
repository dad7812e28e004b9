//! The telescope's words, as its findings are named once they leave the capture: port series,
//! alert kinds and the metrics that trigger them, and the darknet feed name.

use serde::{Deserialize, Serialize};

/// The feed name every telescope finding stored as an event carries (`feed.name`).
pub const DARKNET_FEED: &str = "Firewatch-Darknet";

/// The `classification.identifier` prefix of telescope findings (`darknet-spike`,
/// `darknet-mirai`, …).
pub const IDENTIFIER_PREFIX: &str = "darknet-";

/// One interval of a port's series.
///
/// The caller passes a **dense** series: one point per interval, intervals
/// with no traffic included as zeros, in ascending `interval_start` order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesPoint {
    /// Start of the interval, in Unix seconds.
    pub interval_start: i64,
    /// Packets seen on the port during the interval.
    pub packets: u64,
    /// Distinct source addresses seen on the port during the interval.
    pub unique_sources: u64,
}

/// What kind of episode a [`Detection`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A port with an established baseline went far above it.
    Spike,
    /// A port that had been silent suddenly has many sources.
    NewCampaign,
}

/// A per-interval measurement that can trigger an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Packets per interval.
    Packets,
    /// Distinct source addresses per interval.
    UniqueSources,
}

/// One alert episode on one port's series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// Spike on an established port, or a new campaign on a silent one.
    pub kind: AlertKind,
    /// Metrics that were hot during the episode, packets first.
    pub triggered_by: Vec<Metric>,
    /// `interval_start` of the first hot interval (Unix s).
    pub start: i64,
    /// End of the last hot interval (`interval_start + interval_secs`) once
    /// the episode has closed; `None` if it was still open at the end of the
    /// series ("ongoing").
    pub end: Option<i64>,
    /// `interval_start` of the interval with the highest score.
    pub peak_interval: i64,
    /// Most packets in one interval during the episode.
    pub peak_packets: u64,
    /// Most unique sources in one interval during the episode.
    pub peak_sources: u64,
    /// Baseline median of packets when the episode opened (frozen).
    pub baseline_packets: f64,
    /// Baseline median of unique sources when the episode opened (frozen).
    pub baseline_sources: f64,
    /// Peak / max(baseline median, 1) on the triggering metric (the larger if
    /// both triggered): "12× the usual".
    pub magnitude: f64,
    /// Peak robust z-score over the triggering metrics: "9 robust σ".
    pub score: f64,
}

impl Detection {
    /// True when the episode was still open at the end of the series.
    pub fn is_ongoing(&self) -> bool {
        self.end.is_none()
    }
}
