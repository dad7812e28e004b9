//! The Internet-health compute: risky hosts per day, country and ASN from the stored events,
//! the announced address space from the registry data in force, the published figures.

use crate::Context;
use anyhow::{Context as _, Result, bail};
use firewatch_core::{TimeRange, TlpLevel};
use firewatch_metrics::{
    AddressSpace, Audience, DailyCell, Day, EventKind, MetricRow, Metrics, Observation, Risk,
    Scope, classify, count_daily,
};
use firewatch_store::health::{
    AddressSpaceRecord, HealthCellRecord, HealthMeta, HealthPublicRecord, HealthSnapshot,
    health_days,
};
use serde::Serialize;
use std::net::Ipv4Addr;

/// What `metrics compute` did.
#[derive(Debug, Default, Serialize)]
pub struct ComputeReport {
    /// Events read that can show a risk.
    pub events: u64,
    /// Of those, events of a measured risk.
    pub classified: u64,
    /// Events of a measured risk with an IPv6 (or unreadable) source: not counted.
    pub ipv6_excluded: u64,
    /// (address, day) observations counted.
    pub observations: u64,
    /// Events without a country / without an ASN (left out of that breakdown only).
    pub without_country: u64,
    /// Events without an ASN.
    pub without_asn: u64,
    /// The first day observed.
    pub first_day: Option<Day>,
    /// The last day observed.
    pub last_day: Option<Day>,
    /// Daily cells counted.
    pub cells: u64,
    /// Rows of the public figures.
    pub published_rows: u64,
    /// Cells under this count are suppressed in public.
    pub suppression_threshold: u64,
    /// The registry dataset of the address space.
    pub data_version: String,
}

fn country_code(cc: Option<&str>) -> Option<[u8; 2]> {
    match cc?.as_bytes() {
        &[a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
            Some([a.to_ascii_uppercase(), b.to_ascii_uppercase()])
        }
        _ => None,
    }
}

/// Counts risky hosts per day in the stored events of `range` (whole UTC days), takes the
/// announced address space from the registry data in force, and stores the daily cells and
/// the published (TLP:CLEAR or released, suppressed) figures, merged with the other days'.
pub fn compute(ctx: &Context, range: &TimeRange) -> Result<ComputeReport> {
    let cfg = &ctx.config.metrics;
    let mut store = ctx.store()?;
    let mut report = ComputeReport {
        suppression_threshold: cfg.suppression_threshold,
        ..Default::default()
    };
    let mut observations = Vec::new();
    report.events = store.health_events(range, &mut |f| {
        let kind = EventKind {
            classification_type: f.classification_type.as_deref(),
            identifier: f.identifier.as_deref(),
            malware: f.malware.as_deref(),
        };
        let Some(risk) = classify(&kind) else { return };
        report.classified += 1;
        let Ok(ip) = f.source_ip.parse::<Ipv4Addr>() else {
            report.ipv6_excluded += 1;
            return;
        };
        let country = country_code(f.country.as_deref());
        let asn = f.asn.and_then(|a| u32::try_from(a).ok()).filter(|a| *a > 0);
        report.without_country += u64::from(country.is_none());
        report.without_asn += u64::from(asn.is_none());
        let public =
            f.tlp.as_deref().and_then(|t| t.parse::<TlpLevel>().ok()) == Some(TlpLevel::Clear);
        for day in health_days(&f, range) {
            observations.push(Observation {
                day: Day(day as i32),
                risk,
                ip,
                country,
                asn,
                public,
            });
        }
    })?;
    report.observations = observations.len() as u64;
    report.first_day = observations.iter().map(|o| o.day).min();
    report.last_day = observations.iter().map(|o| o.day).max();
    let fresh = count_daily(&observations);
    drop(observations);
    report.cells = fresh.len() as u64;

    let geo =
        crate::dataset::load_geo(ctx.dataset_anchor()).context("cannot load the registry data")?;
    let space = AddressSpace::from_ranges(geo.table().segments_v4().map(|(first, last, v)| {
        let a = geo.attribution(v);
        (first, last, a.country.map(|c| c.bytes()), a.asn)
    }));
    report.data_version = geo.version().to_owned();

    // The published figures depend on the whole history (base week, ranks per day): merge
    // the stored cells of the other days with the fresh ones.
    let days = (
        range
            .since
            .map_or(i64::MIN, |s| i64::from(Day::of_unix(s).0)),
        range
            .until
            .map_or(i64::MAX, |u| i64::from(Day::of_unix(u).0)),
    );
    let mut all: Vec<DailyCell> = store
        .health_cells(None, None, None)?
        .into_iter()
        .filter(|c| c.day < days.0 || c.day > days.1)
        .map(from_record)
        .collect::<Result<_>>()?;
    all.extend(fresh.iter().cloned());
    let published = Metrics::derive(&all, &space, cfg, Audience::Public)?;
    report.published_rows = published.rows.len() as u64;
    let snapshot = HealthSnapshot {
        days,
        cells: fresh.iter().map(to_record).collect(),
        address_space: space
            .entries()
            .into_iter()
            .map(|(scope, key, n)| AddressSpaceRecord {
                scope: scope.id().to_owned(),
                key,
                ipv4_addresses: n,
            })
            .collect(),
        public: published.rows.iter().map(to_public).collect(),
        meta: HealthMeta {
            computed_at: jiff::Timestamp::now().as_second(),
            suppression_threshold: cfg.suppression_threshold,
            base_week: published.base_week.map(|d| d.to_string()),
            release_all_tlp: cfg.release_all_tlp,
            data_version: report.data_version.clone(),
            bandwidth_per_device_mbps: cfg.bandwidth_per_device_mbps,
            dns_amplification: cfg.dns_amplification,
        },
    };
    store.commit_health(&snapshot)?;
    Ok(report)
}

fn to_record(c: &DailyCell) -> HealthCellRecord {
    HealthCellRecord {
        day: i64::from(c.day.0),
        scope: c.scope.id().to_owned(),
        key: c.key.clone(),
        risk: c.risk.id().to_owned(),
        unique_ips: c.unique_ips,
        public_unique_ips: c.public_unique_ips,
    }
}

/// A stored daily cell back in the metrics' own type.
pub fn from_record(r: HealthCellRecord) -> Result<DailyCell> {
    let (Some(scope), Some(risk)) = (Scope::from_id(&r.scope), Risk::from_id(&r.risk)) else {
        bail!(
            "the store holds a health cell of unknown scope {:?} or risk {:?}: recompute with `firewatch metrics compute`",
            r.scope,
            r.risk
        );
    };
    let day = i32::try_from(r.day).context("a stored health cell's day is out of range")?;
    Ok(DailyCell {
        day: Day(day),
        scope,
        key: r.key,
        risk,
        unique_ips: r.unique_ips,
        public_unique_ips: r.public_unique_ips,
    })
}

fn to_public(r: &MetricRow) -> HealthPublicRecord {
    HealthPublicRecord {
        day: i64::from(r.day.0),
        scope: r.scope.id().to_owned(),
        key: r.key.clone(),
        risk: r.risk.id().to_owned(),
        unique_ips: r.unique_ips,
        announced_ipv4: r.announced_ipv4,
        per_million_addresses: r.per_million_addresses,
        ddos_potential_gbps: r.ddos_potential_gbps,
        trend_index: r.trend_index,
        rank: r.rank,
    }
}
