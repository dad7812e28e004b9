//! Pure helpers both backends share: how stored values are encoded and read back (port
//! tallies, addresses, protocol names), and how listings are assembled from what was read
//! (dense series, alert records), so that the SQLite and PostgreSQL backends answer alike.

use crate::StoreError;
use crate::records::{AlertRecord, SourceShare};
use firewatch_core::telescope::{Detection, SeriesPoint};
use firewatch_core::{Protocol, SourceLabel};
use firewatch_darknet::aggregate::PortTally;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

/// Top sources kept per alert.
pub(crate) const ALERT_TOP_SOURCES: usize = 10;

pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

pub(crate) fn proto_name(n: u8) -> String {
    Protocol::from_number(n).to_string()
}

pub(crate) fn parse_addr(s: &str) -> Result<IpAddr, StoreError> {
    s.parse()
        .map_err(|_| corrupt(format_args!("address {s:?}")))
}

pub(crate) fn tally_to_json(t: &PortTally) -> String {
    serde_json::json!({ "ports": t.ports.as_slice(), "overflow": t.overflow }).to_string()
}

pub(crate) fn tally_from_json(s: &str) -> Result<PortTally, StoreError> {
    #[derive(serde::Deserialize)]
    struct Stored {
        ports: Vec<(u32, u64)>,
        overflow: u64,
    }
    let v: Stored = serde_json::from_str(s).map_err(corrupt)?;
    Ok(PortTally {
        ports: v.ports.into(),
        overflow: v.overflow,
    })
}

/// A source's stored port tally as the listings show it: `(protocol, port, packets)`,
/// busiest first, ties by port.
pub(crate) fn listed_top_ports(tally: &str) -> Result<Vec<(String, u16, u64)>, StoreError> {
    let mut top: Vec<(String, u16, u64)> = tally_from_json(tally)?
        .ports
        .into_iter()
        .map(|(k, n)| (proto_name((k >> 16) as u8), k as u16, n))
        .collect();
    top.sort_by(|a, b| b.2.cmp(&a.2).then(a.1.cmp(&b.1)));
    Ok(top)
}

/// What an alert needs to know of each of its sources.
pub(crate) struct SourceFacts {
    pub(crate) label: SourceLabel,
    pub(crate) country: Option<String>,
    pub(crate) team: Option<String>,
}

/// Counts as shares of `total`, largest first (ties by name).
pub(crate) fn shares(counts: &BTreeMap<&str, u64>, total: usize) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = counts
        .iter()
        .map(|(k, n)| (k.to_string(), *n as f64 / total.max(1) as f64))
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// Builds the series point list from the stored rows, zeros filled between `from` and `to`.
pub(crate) fn densify(rows: &[(i64, u64, u64)], from: i64, to: i64, step: i64) -> Vec<SeriesPoint> {
    let mut out = Vec::with_capacity(((to - from) / step + 1).max(0) as usize);
    let mut it = rows.iter().peekable();
    let mut t = from;
    while t <= to {
        let mut point = SeriesPoint {
            interval_start: t,
            packets: 0,
            unique_sources: 0,
        };
        while let Some(&&(start, packets, sources)) = it.peek() {
            if start > t {
                break;
            }
            if start == t {
                point.packets = packets;
                point.unique_sources = sources;
            }
            it.next();
        }
        out.push(point);
        t += step;
    }
    out
}

/// The stored record of one detected episode on `proto`/`port`, from the episode's merged
/// sources and what the store knows of each (as the SQLite backend builds it).
pub(crate) fn episode_alert(
    proto: u8,
    port: u16,
    d: &Detection,
    sources: &[(IpAddr, u64)],
    facts: &HashMap<IpAddr, SourceFacts>,
) -> AlertRecord {
    let mut mix: BTreeMap<SourceLabel, u64> = BTreeMap::new();
    let mut countries: BTreeMap<&str, u64> = BTreeMap::new();
    let mut teams: BTreeMap<&str, u64> = BTreeMap::new();
    for (addr, _) in sources {
        let f = facts.get(addr);
        *mix.entry(f.map_or(SourceLabel::Other, |f| f.label))
            .or_default() += 1;
        if let Some(cc) = f.and_then(|f| f.country.as_deref()) {
            *countries.entry(cc).or_default() += 1;
        }
        if let Some(team) = f.and_then(|f| f.team.as_deref()) {
            *teams.entry(team).or_default() += 1;
        }
    }
    let mut top = sources.to_vec();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(ALERT_TOP_SOURCES);
    let kind = serde_json::to_value(d.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    AlertRecord {
        id: format!("{}-{}-{}-{}", proto_name(proto), port, kind, d.start),
        kind: d.kind,
        proto: proto_name(proto),
        port,
        start: d.start,
        end: d.end,
        triggered_by: d.triggered_by.clone(),
        peak_interval: d.peak_interval,
        peak_packets: d.peak_packets,
        peak_sources: d.peak_sources,
        baseline_packets: d.baseline_packets,
        baseline_sources: d.baseline_sources,
        magnitude: d.magnitude,
        score: d.score,
        packets: sources.iter().map(|s| s.1).sum(),
        unique_sources: sources.len() as u64,
        top_sources: top
            .into_iter()
            .map(|(addr, packets)| SourceShare {
                addr,
                packets,
                label: facts.get(&addr).map(|f| f.label),
            })
            .collect(),
        label_mix: mix.into_iter().collect(),
        top_countries: (!countries.is_empty()).then(|| shares(&countries, sources.len())),
        top_teams: shares(&teams, sources.len()),
    }
}
