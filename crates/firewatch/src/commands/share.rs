//! `firewatch export stix|misp` and `firewatch import stix`: findings out to partners as STIX
//! 2.1 bundles or a MISP feed, partners' bundles in through the feed pipeline — TLP kept both
//! ways (see docs/sharing.md).

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use firewatch_core::TlpLevel;
use firewatch_pipeline::Context;
use firewatch_share::{Finding, Producer, finding, misp, stix::Exporter};
use firewatch_store::{AlertQuery, EventQuery};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// `firewatch export …`
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Findings as one STIX 2.1 bundle: an identity for the producing team, indicators,
    /// observed-data and sightings for sources, campaigns for port alerts, the TLP 2.0 marking
    /// definitions. The same findings always give the same ids.
    #[command(
        after_help = "Examples:\n  firewatch export stix --since 7d --tlp green -o findings.json\n  firewatch export stix --team cert-a --tlp amber --producer CERT-A"
    )]
    Stix(ExportStixArgs),
    /// Findings as a MISP feed: manifest.json, hashes.csv and one event JSON per finding group
    /// (feed, type, TLP, day), tagged tlp: and rsit:. Serve the directory over HTTP and add it
    /// to MISP as a feed of format "MISP Feed". The MISP distribution follows the TLP (CLEAR:
    /// all communities, GREEN: connected communities, AMBER levels: your organisation only or
    /// [share.misp] sharing_group_uuid); TLP:RED is never written.
    #[command(
        after_help = "Examples:\n  firewatch export misp --since 1d --tlp green /srv/misp-feed\n  firewatch export misp --team jp-example-cert /srv/misp-feed/jp"
    )]
    Misp(ExportMispArgs),
}

/// Which findings to export.
#[derive(Debug, Args, Clone)]
pub struct SelectArgs {
    /// Only findings at or after this time: RFC 3339, a date, Unix seconds, or an age (7d, 12h).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only findings at or before this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// The most restrictive TLP exported (clear, green, amber, amber+strict, red); findings
    /// without a TLP count as RED. Default: green; with --team, the team's cap from the
    /// directory (a level above the cap is lowered to it).
    #[arg(long, value_name = "LEVEL")]
    pub tlp: Option<String>,
    /// One team's own part, for that team: the events routed to it, owned by it (unless routed
    /// to another team) or naming it (and that it may read), every alert with its own sources (and only those) as
    /// indicators, the attacks on its constituency — under its TLP cap from the directory.
    /// Without it the store owner's view is exported, capped by --tlp.
    #[arg(long, value_name = "TEAM")]
    pub team: Option<String>,
    /// The name of the producing identity (default: [share] producer_name, else [notify]
    /// sender_team, else "Firewatch").
    #[arg(long, value_name = "NAME")]
    pub producer: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExportStixArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Write the bundle here instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExportMispArgs {
    /// The feed directory (created if missing; files in it are replaced).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub select: SelectArgs,
}

pub fn export(
    ctx: &Context,
    config: &crate::config::Config,
    cmd: &ExportCommand,
) -> Result<ExitCode> {
    let web = &config.web;
    let sender_team = config.notify.as_ref().map(|n| n.sender_team.as_str());
    match cmd {
        ExportCommand::Stix(args) => {
            let findings = select(ctx, web, &args.select)?;
            let producer = producer(config, &args.select, sender_team);
            let bundle = Exporter::for_producer(&producer).bundle(&findings);
            let text = serde_json::to_string_pretty(&bundle)? + "\n";
            match &args.output {
                Some(path) => std::fs::write(path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => std::io::stdout().lock().write_all(text.as_bytes())?,
            }
            let objects = bundle["objects"].as_array().map_or(0, Vec::len);
            eprintln!(
                "export stix: {} findings, {objects} STIX objects",
                findings.len()
            );
        }
        ExportCommand::Misp(args) => {
            let findings = select(ctx, web, &args.select)?;
            let producer = producer(config, &args.select, sender_team);
            let written = misp::write_feed(&args.dir, &producer, &findings)
                .with_context(|| format!("cannot write the feed into {}", args.dir.display()))?;
            eprintln!(
                "export misp: {} findings as {} MISP events ({} attributes) in {}; {} left out for TLP:RED",
                findings.len() - written.left_out_red,
                written.events,
                written.attributes,
                args.dir.display(),
                written.left_out_red,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The producing identity: `[share]`, named by --producer, else `[share] producer_name`, else
/// the notify sender team, else "Firewatch". (A per-team export is for the team, not by it.)
fn producer(
    config: &crate::config::Config,
    args: &SelectArgs,
    sender_team: Option<&str>,
) -> Producer {
    config.share.producer(args.producer.as_deref(), sender_team)
}

/// The findings `args` selects: one team's own part under its cap (--team), else stored
/// events and port alerts at most at the --tlp level.
fn select(
    ctx: &Context,
    web: &firewatch_web::WebConfig,
    args: &SelectArgs,
) -> Result<Vec<Finding>> {
    let range = crate::args::time_range(args.since.as_deref(), args.until.as_deref())?;
    let telescope = web.telescope_access().map_err(|e| anyhow::anyhow!("{e}"))?;
    let store = ctx.fresh_store()?;
    if let Some(team) = &args.team {
        let cap = crate::telling::team_cap(store.as_ref(), team)?;
        let cap = match &args.tlp {
            Some(level) => level.parse::<TlpLevel>()?.min(cap),
            None => cap,
        };
        return crate::telling::team_findings(store.as_ref(), &telescope, team, cap, range);
    }
    let cap: TlpLevel = args.tlp.as_deref().unwrap_or("green").parse()?;
    let events = store
        .events(&EventQuery {
            range,
            ..EventQuery::default()
        })?
        .into_iter()
        .map(|e| Finding::from_event(e.event, e.time))
        .filter(|f| f.tlp() <= cap)
        .collect();
    let alerts = store
        .alerts(&AlertQuery {
            range,
            ..AlertQuery::default()
        })?
        .iter()
        .map(|a| Finding::from_alert(a, telescope.tlp, telescope.owner.as_deref()))
        .filter(|f| f.tlp() <= cap)
        .collect();
    Ok(finding::merge(events, alerts))
}
