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
    AddressSpace, Audience, DailyCell, Day, MetricRow, Metrics, Risk, Scope, Summary, write_csv,
};
use firewatch_pipeline::{Context, health};
use firewatch_store::TimeRange;
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

fn compute(ctx: &Context, args: &ComputeArgs) -> Result<ExitCode> {
    let cfg = &ctx.config.metrics;
    let range = whole_days(args.since.as_deref(), args.until.as_deref())?;
    let report = health::compute(ctx, &range)?;
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
        .map(health::from_record)
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
    let total = rows.len();
    if let Some(limit) = args.limit {
        rows.retain(|s| s.rank as usize <= limit);
    }
    let rest = if rows.len() < total {
        crate::output::Rest::Total(total)
    } else {
        crate::output::Rest::None
    };
    if args.json {
        crate::output::json(&rows)?;
    } else if args.csv {
        write_csv(&rows, std::io::stdout().lock())?;
    } else {
        crate::output::limited_table_hint(
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
            rest,
            "--limit N (per risk) or --json for all",
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
