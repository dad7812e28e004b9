//! `firewatch metrics`: Internet-health metrics per country and ASN (docs/metrics.md).
//!
//! `compute` reads the stored events, counts risky hosts per day with `firewatch-metrics`,
//! takes the announced address space from the registry data in force, and stores the daily
//! cells and the published (TLP:CLEAR or released, suppressed) figures the public page shows.
//! `show` and `export` derive the figures again from the stored cells with the configuration
//! in force, for the team (every event) or, with `--public`, as the public sees them.

use crate::args::time_range;
use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use firewatch_metrics::{
    AddressSpace, Audience, DailyCell, Day, EventKind, MetricRow, Metrics, Observation, Risk,
    Scope, Summary, classify, count_daily, write_csv,
};
use firewatch_pipeline::Context;
use firewatch_store::TimeRange;
use firewatch_store::health::{
    AddressSpaceRecord, HealthCellRecord, HealthMeta, HealthPublicRecord, HealthSnapshot,
    health_days,
};
use serde::Serialize;
use std::net::Ipv4Addr;
use std::process::ExitCode;

/// `firewatch metrics …`.
#[derive(Debug, Subcommand)]
pub enum MetricsCommand {
    /// Count risky hosts per day from the stored events and publish the public figures.
    #[command(
        after_help = "Examples:\n  firewatch metrics compute\n  firewatch metrics compute --since 2026-01-01 --until 2026-01-31 --json\n\n--since/--until select whole UTC days; the cells of those days are replaced."
    )]
    Compute(ComputeArgs),
    /// A ranking per risk over a period: mean daily hosts, per million addresses, DDoS potential, trend.
    #[command(
        after_help = "Examples:\n  firewatch metrics show\n  firewatch metrics show --by asn --risk open-ntp --since 30d\n  firewatch metrics show --public --json"
    )]
    Show(ViewArgs),
    /// The daily figures, as CSV (default) or JSON.
    #[command(
        after_help = "Examples:\n  firewatch metrics export --by country > countries.csv\n  firewatch metrics export --by asn --public --json --since 2026-01-01"
    )]
    Export(ViewArgs),
}

/// `metrics compute`.
#[derive(Debug, Args)]
pub struct ComputeArgs {
    /// The first day to recompute (same forms as every listing); default: all events.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// The last day to recompute.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What the figures are broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ByArg {
    Country,
    Asn,
}

impl From<ByArg> for Scope {
    fn from(b: ByArg) -> Scope {
        match b {
            ByArg::Country => Scope::Country,
            ByArg::Asn => Scope::Asn,
        }
    }
}

/// `metrics show` and `metrics export`.
#[derive(Debug, Args)]
pub struct ViewArgs {
    /// Per country or per ASN.
    #[arg(long, value_enum, default_value_t = ByArg::Country)]
    pub by: ByArg,
    /// Only this risk: open-dns, open-ntp, ntp-version, open-ssdp, open-snmp, open-chargen,
    /// scanner, mirai-bot, ddos-victim.
    #[arg(long, value_name = "RISK")]
    pub risk: Option<String>,
    /// The first day (same forms as every listing).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// The last day.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// As the public sees it: publishable events only, small cells suppressed.
    #[arg(long)]
    pub public: bool,
    /// Print JSON.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV.
    #[arg(long)]
    pub csv: bool,
    /// At most this many rows per risk (show only).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

/// What `metrics compute` did.
#[derive(Debug, Default, Serialize)]
struct ComputeReport {
    /// Events read that can show a risk.
    events: u64,
    /// Of those, events of a measured risk.
    classified: u64,
    /// Events of a measured risk with an IPv6 (or unreadable) source: not counted.
    ipv6_excluded: u64,
    /// (address, day) observations counted.
    observations: u64,
    /// Events without a country / without an ASN (left out of that breakdown only).
    without_country: u64,
    without_asn: u64,
    first_day: Option<Day>,
    last_day: Option<Day>,
    cells: u64,
    published_rows: u64,
    suppression_threshold: u64,
    data_version: String,
}

pub fn run(ctx: &Context, cmd: &MetricsCommand) -> Result<ExitCode> {
    ctx.config.metrics.validate()?;
    match cmd {
        MetricsCommand::Compute(args) => compute(ctx, args),
        MetricsCommand::Show(args) => show(ctx, args),
        MetricsCommand::Export(args) => export(ctx, args),
    }
}

/// `--since`/`--until` widened to whole UTC days.
fn whole_days(since: Option<&str>, until: Option<&str>) -> Result<TimeRange> {
    let r = time_range(since, until)?;
    Ok(TimeRange {
        since: r.since.map(|s| Day::of_unix(s).start_unix()),
        until: r.until.map(|u| Day::of_unix(u).start_unix() + 86_399),
    })
}

fn country_code(cc: Option<&str>) -> Option<[u8; 2]> {
    match cc?.as_bytes() {
        &[a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
            Some([a.to_ascii_uppercase(), b.to_ascii_uppercase()])
        }
        _ => None,
    }
}

fn compute(ctx: &Context, args: &ComputeArgs) -> Result<ExitCode> {
    let cfg = &ctx.config.metrics;
    let range = whole_days(args.since.as_deref(), args.until.as_deref())?;
    let mut store = ctx.store()?;
    let mut report = ComputeReport {
        suppression_threshold: cfg.suppression_threshold,
        ..Default::default()
    };
    let mut observations = Vec::new();
    report.events = store.health_events(&range, &mut |f| {
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
        let public = f.tlp.as_deref() == Some("CLEAR");
        for day in health_days(&f, &range) {
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
        firewatch_pipeline::dataset::load_geo(&ctx.db).context("cannot load the registry data")?;
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
    if args.json {
        crate::output::json(&report)?;
    } else {
        outln!(
            "metrics: {} events ({} of a measured risk, {} IPv6 left out) → {} daily cells{}; {} published rows ({}; cells under {} suppressed)",
            report.events,
            report.classified,
            report.ipv6_excluded,
            report.cells,
            match (report.first_day, report.last_day) {
                (Some(a), Some(b)) => format!(" from {a} to {b}"),
                _ => String::new(),
            },
            report.published_rows,
            if cfg.release_all_tlp {
                "events of every TLP released"
            } else {
                "TLP:CLEAR events only; [metrics] release_all_tlp releases the rest"
            },
            report.suppression_threshold,
        );
    }
    Ok(ExitCode::SUCCESS)
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

fn from_record(r: HealthCellRecord) -> Result<DailyCell> {
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

/// The figures of the stored cells for `args` (every day: the base week may lie outside the
/// period), and the period's first and last day.
fn derive(ctx: &Context, args: &ViewArgs) -> Result<(Metrics, Option<Day>, Option<Day>)> {
    let risk = match &args.risk {
        Some(id) => Some(Risk::from_id(id).with_context(|| {
            format!(
                "unknown risk {id:?}; known: {}",
                firewatch_metrics::RISKS.map(|r| r.id()).join(", ")
            )
        })?),
        None => None,
    };
    let scope = Scope::from(args.by);
    let store = ctx.store()?;
    if store.health_meta()?.is_none() {
        bail!("no metrics yet: run `firewatch metrics compute` first");
    }
    let cells: Vec<DailyCell> = store
        .health_cells(Some(scope.id()), None, None)?
        .into_iter()
        .map(from_record)
        .filter(|c| {
            c.as_ref()
                .map_or(true, |c| risk.is_none_or(|r| c.risk == r))
        })
        .collect::<Result<_>>()?;
    let space = AddressSpace::from_entries(
        store
            .health_address_space()?
            .into_iter()
            .filter_map(|s| Scope::from_id(&s.scope).map(|sc| (sc, s.key, s.ipv4_addresses))),
    );
    let audience = if args.public {
        Audience::Public
    } else {
        Audience::Internal
    };
    let metrics = Metrics::derive(&cells, &space, &ctx.config.metrics, audience)?;
    let range = whole_days(args.since.as_deref(), args.until.as_deref())?;
    Ok((
        metrics,
        range.since.map(Day::of_unix),
        range.until.map(Day::of_unix),
    ))
}

fn label(scope: Scope, key: &str) -> String {
    match scope {
        Scope::Asn => format!("AS{key}"),
        Scope::Country => key.to_owned(),
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

fn show(ctx: &Context, args: &ViewArgs) -> Result<ExitCode> {
    let (metrics, from, to) = derive(ctx, args)?;
    let mut rows: Vec<Summary> = metrics.summary(from, to);
    if let Some(limit) = args.limit {
        rows.retain(|s| s.rank as usize <= limit);
    }
    if args.json {
        crate::output::json(&rows)?;
    } else if args.csv {
        write_csv(&rows, std::io::stdout().lock())?;
    } else {
        crate::output::table(
            &[
                "RISK",
                "RANK",
                "WHERE",
                "DAYS",
                "MEAN/DAY",
                "MAX",
                "PER 1M ADDR",
                "DDOS GBIT/S",
                "TREND",
            ],
            rows.iter()
                .map(|s| {
                    vec![
                        s.risk.id().to_owned(),
                        s.rank.to_string(),
                        label(s.scope, &s.key),
                        s.days.to_string(),
                        s.mean_unique_ips.to_string(),
                        s.max_unique_ips.to_string(),
                        opt(s.per_million_addresses),
                        opt(s.ddos_potential_gbps),
                        opt(s.trend_index),
                    ]
                })
                .collect(),
        );
        if args.public {
            outln!(
                "(public view: TLP:CLEAR{} events, cells under {} hosts suppressed)",
                if ctx.config.metrics.release_all_tlp {
                    " and released"
                } else {
                    ""
                },
                ctx.config.metrics.suppression_threshold
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn export(ctx: &Context, args: &ViewArgs) -> Result<ExitCode> {
    let (metrics, from, to) = derive(ctx, args)?;
    let rows: Vec<&MetricRow> = metrics
        .rows
        .iter()
        .filter(|r| from.is_none_or(|f| r.day >= f) && to.is_none_or(|t| r.day <= t))
        .collect();
    if args.json {
        crate::output::json(&rows)?;
    } else {
        write_csv(&rows, std::io::stdout().lock())?;
    }
    Ok(ExitCode::SUCCESS)
}
