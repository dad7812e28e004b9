//! The telescope's words, as its findings are named once they leave the capture: port series,
//! alert kinds and the metrics that trigger them, and the darknet feed name.

use crate::event::Event;
use crate::label::SourceLabel;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

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
    /// A packets-only spike whose excess came from one or a few sources: their activity, not
    /// a port-wide event (see `firewatch_detect::burst`). Not notified by default.
    SingleSourceBurst,
}

impl AlertKind {
    /// The serialised name (`spike`, `new_campaign`, `single_source_burst`), as alert ids,
    /// JSON and the store carry it.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Spike => "spike",
            AlertKind::NewCampaign => "new_campaign",
            AlertKind::SingleSourceBurst => "single_source_burst",
        }
    }
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
    /// Spike on an established port, or a new campaign on a silent one (the detector never
    /// says burst: that takes the sources, see `firewatch_detect::burst`).
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

/// A source and its packets within an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceShare {
    /// The source's address.
    pub addr: IpAddr,
    /// Its packets within the alert.
    pub packets: u64,
    /// Its label, when the store has its profile.
    pub label: Option<SourceLabel>,
}

/// One source that took part in an alert: every one, not only the top few, with what the
/// store knows of it (so a team can be told exactly its own part).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertSource {
    pub addr: IpAddr,
    /// Its packets to the alert's port within the alert.
    pub packets: u64,
    /// Its label, when the store has its profile.
    pub label: Option<SourceLabel>,
    /// Country of registration (ISO 3166 alpha-2), as attributed.
    pub country: Option<String>,
    pub asn: Option<u32>,
    /// The team responsible for it, as routed.
    pub team: Option<String>,
}

/// A port spike, new campaign or single-source burst, with what explains it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    /// Stable id: protocol, port, kind and start (`tcp-23-spike-1762070400`).
    pub id: String,
    pub kind: AlertKind,
    pub proto: String,
    pub port: u16,
    pub start: i64,
    /// `None` while the alert is ongoing.
    pub end: Option<i64>,
    pub triggered_by: Vec<Metric>,
    pub peak_interval: i64,
    pub peak_packets: u64,
    pub peak_sources: u64,
    pub baseline_packets: f64,
    pub baseline_sources: f64,
    pub magnitude: f64,
    pub score: f64,
    pub packets: u64,
    pub unique_sources: u64,
    pub top_sources: Vec<SourceShare>,
    /// Unique sources of the alert per label.
    pub label_mix: Vec<(SourceLabel, u64)>,
    /// Share of the alert's unique sources per country of registration, largest first;
    /// `None` when no source had a country.
    pub top_countries: Option<Vec<(String, f64)>>,
    /// Share of the alert's unique sources per responsible team, largest first.
    #[serde(default)]
    pub top_teams: Vec<(String, f64)>,
}

/// A telescope port alert as a harmonized event of the darknet feed: the one translation every
/// path starts from (stored events, STIX and MISP exports). TLP and owner are the caller's.
///
/// Every value is of its field's type; a value the event model still refuses (a magnitude that
/// is not a number) leaves only that field out.
pub fn alert_event(a: &AlertRecord) -> Event {
    let mut e = Event::new();
    let mut set = |field: &str, value: serde_json::Value| {
        let _ = e.set(field, value);
    };
    set(crate::fields::FEED_NAME, DARKNET_FEED.into());
    set("feed.provider", "Firewatch".into());
    set(
        crate::fields::TIME_SOURCE,
        crate::time::format_unix(a.start).into(),
    );
    set(crate::fields::CLASSIFICATION_TYPE, "scanner".into());
    let kind = match a.kind {
        AlertKind::Spike => "spike",
        AlertKind::NewCampaign => "new-campaign",
        AlertKind::SingleSourceBurst => "single-source-burst",
    };
    set(
        crate::fields::CLASSIFICATION_IDENTIFIER,
        format!("{IDENTIFIER_PREFIX}{kind}").into(),
    );
    set("destination.port", a.port.into());
    if a.proto == "tcp" || a.proto == "udp" {
        set("protocol.transport", a.proto.as_str().into());
    }
    set("extra.alert_id", a.id.as_str().into());
    set(
        "extra.magnitude",
        ((a.magnitude * 10.0).round() / 10.0).into(),
    );
    set("extra.unique_sources", a.unique_sources.into());
    set("extra.packets", a.packets.into());
    if let Some(end) = a.end {
        set("extra.end", crate::time::format_unix(end).into());
    }
    if let Some(countries) = &a.top_countries {
        let ccs: Vec<&str> = countries.iter().map(|(cc, _)| cc.as_str()).collect();
        set("extra.top_countries", serde_json::json!(ccs));
    }
    e.fill_taxonomy();
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_kind_names_are_the_serde_names() {
        for kind in [
            AlertKind::Spike,
            AlertKind::NewCampaign,
            AlertKind::SingleSourceBurst,
        ] {
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json, kind.as_str());
            assert_eq!(serde_json::from_value::<AlertKind>(json).unwrap(), kind);
        }
    }
}
