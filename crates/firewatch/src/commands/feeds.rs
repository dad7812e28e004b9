//! `firewatch feeds …`: collectors (files, directories, stdin, a watched directory, HTTP) hand
//! whole inputs to one pipeline: detect the format, parse, run the experts, commit the input's
//! events in one transaction. An input is known by its content hash, so the same report
//! arriving twice, by any collector, is ingested once.

use crate::args::ListArgs;
use crate::progress::Spinner;
use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Args, Subcommand};
use firewatch_feeds::shadowserver::Schema;
use firewatch_pipeline::Context;
use firewatch_pipeline::feeds::{
    FeedFormat, FeedOptions, FeedPipeline, FeedReport, WatchedDirectory, fetch_one, files_under,
    read_input,
};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The feed pipeline for these arguments, with a spinner where a person watches.
fn feed_pipeline(ctx: &Context, args: &FeedFormatArgs) -> Result<FeedPipeline> {
    let options = FeedOptions {
        format: args.format,
        schema: args.schema.clone(),
        mapping: args.mapping.clone(),
        dry_run: args.dry_run,
    };
    let pipeline = FeedPipeline::new(ctx, &options)?;
    Ok(if !args.json && std::io::stderr().is_terminal() {
        pipeline.with_progress(Box::new(Spinner::default()))
    } else {
        pipeline
    })
}

fn print_report(report: &FeedReport, json_lines: bool) {
    if json_lines {
        if let Ok(line) = serde_json::to_string(report) {
            outln!("{line}");
        }
        return;
    }
    let r = report;
    match r.status {
        "failed" => eprintln!("{}: failed: {}", r.name, r.error.as_deref().unwrap_or("")),
        "already-ingested" => outln!(
            "{}: already ingested (content hash {}), nothing changed",
            r.name,
            &r.content_hash[..16.min(r.content_hash.len())]
        ),
        _ => {
            outln!(
                "{}: {} as {}: {} records, {} events ({} new, {} duplicates), {} rejected, {:.2} s ({:.0} events/s)",
                r.name,
                r.status,
                r.format,
                r.records,
                r.events,
                r.inserted,
                r.duplicates,
                r.rejected,
                r.seconds,
                r.events_per_second
            );
            if r.already_stored > 0 {
                outln!(
                    "  resumed: {} of the {} new events were stored by an earlier run that stopped before the end",
                    r.already_stored,
                    r.inserted
                );
            }
        }
    }
    for rejection in &r.rejections {
        eprintln!("  rejected: {rejection}");
    }
    if r.rejected > r.rejections.len() as u64 {
        eprintln!(
            "  … and {} more rejected",
            r.rejected - r.rejections.len() as u64
        );
    }
}

/// Non-zero when an input failed or some of its records were rejected (as `ingest pcap` does
/// for damaged captures); the report says which.
fn exit_code(reports: &[FeedReport]) -> ExitCode {
    if reports
        .iter()
        .any(|r| r.status == "failed" || r.rejected > 0)
    {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

pub fn ingest(ctx: &Context, args: &FeedsIngestArgs) -> Result<ExitCode> {
    let mut pipeline = feed_pipeline(ctx, &args.read)?;
    let mut reports = Vec::new();
    for path in &args.paths {
        let files = if path.as_os_str() == "-" {
            vec![path.clone()]
        } else {
            files_under(path)?
        };
        for file in files {
            let report = if file.as_os_str() == "-" {
                match read_input(&file, &args.stdin_name) {
                    Ok(input) => pipeline.ingest(input),
                    Err(e) => FeedReport::failed(
                        file.display().to_string(),
                        String::new(),
                        format!("{e:#}"),
                    ),
                }
            } else {
                // Read as a stream, so memory does not grow with the file.
                pipeline.ingest_file(&file)
            };
            if !args.read.json {
                print_report(&report, false);
            }
            reports.push(report);
        }
    }
    if args.read.json {
        crate::output::json(&reports)?;
    }
    Ok(exit_code(&reports))
}

/// Files still being written wait (see [`WatchedDirectory`]).
pub fn watch(ctx: &Context, args: &FeedsWatchArgs) -> Result<ExitCode> {
    let interval = Duration::from_secs_f64(
        args.interval
            .unwrap_or(ctx.config.feeds.watch_interval_secs)
            .max(0.05),
    );
    let mut pipeline = feed_pipeline(ctx, &args.read)?;
    let mut watched = WatchedDirectory::new(&args.dir, interval)?;
    if !args.read.json {
        eprintln!(
            "watching {} every {:.1} s (Ctrl-C to stop)",
            args.dir.display(),
            interval.as_secs_f64()
        );
    }
    let mut reports = Vec::new();
    loop {
        for file in watched.ready(args.once)? {
            let report = pipeline.ingest_file(&file);
            print_report(&report, args.read.json);
            // A store busy with another writer for longer than it waits is no fault of the
            // file: look at it again next time rather than never (issue 22, item 10).
            if report.status == "failed"
                && report
                    .error
                    .as_deref()
                    .is_some_and(firewatch_store::is_transient_message)
            {
                watched.retry(&file);
            }
            reports.push(report);
        }
        if args.once {
            return Ok(exit_code(&reports));
        }
        reports.clear();
        std::thread::sleep(interval);
    }
}

/// Parses a period like `90s`, `30m`, `1h`, `1d` (a bare number is seconds).
fn parse_period(text: &str) -> Result<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| anyhow!("{text:?} is not a period (e.g. 90s, 30m, 1h, 1d)"))?;
    let scale = match unit {
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => bail!("{text:?}: unknown unit {unit:?} (s, m, h or d)"),
    };
    let secs = number * scale;
    if !(secs >= 1.0 && secs.is_finite()) {
        bail!("{text:?}: the period must be at least one second");
    }
    Ok(Duration::from_secs_f64(secs))
}

pub fn fetch(ctx: &Context, args: &FeedsFetchArgs) -> Result<ExitCode> {
    for url in &args.urls {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!("{url}: only http:// and https:// URLs can be fetched");
        }
    }
    let period = args.every.as_deref().map(parse_period).transpose()?;
    let mut pipeline = feed_pipeline(ctx, &args.read)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(args.timeout)))
        .build()
        .into();
    loop {
        let started = Instant::now();
        let mut reports = Vec::new();
        for url in &args.urls {
            let report = match fetch_one(&agent, url) {
                Ok(input) => pipeline.ingest(input),
                Err(e) => FeedReport::failed(url.clone(), String::new(), format!("{e:#}")),
            };
            print_report(&report, args.read.json);
            reports.push(report);
        }
        let Some(period) = period else {
            return Ok(exit_code(&reports));
        };
        std::thread::sleep(period.saturating_sub(started.elapsed()));
    }
}

/// `feeds inputs`: what was ingested, newest last.
pub fn inputs(ctx: &Context, args: &crate::args::ListArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let mut inputs = store.feed_inputs()?;
    // The newest are kept (they are listed last).
    let total = inputs.len();
    let rest = match args.limit {
        Some(limit) if limit < total => {
            inputs.drain(..total - limit);
            crate::output::Rest::Total(total)
        }
        _ => crate::output::Rest::None,
    };
    if args.json {
        let rows: Vec<serde_json::Value> = inputs
            .iter()
            .map(|i| {
                serde_json::json!({
                    "content_hash": i.content_hash, "name": i.name, "format": i.format,
                    "feed": i.feed, "ingested_at": crate::output::s_time(i.ingested_at),
                    "records": i.records, "events": i.events, "inserted": i.inserted,
                    "duplicates": i.duplicates, "rejected": i.rejected,
                })
            })
            .collect();
        crate::output::json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows = inputs
        .iter()
        .map(|i| {
            vec![
                crate::output::s_time(i.ingested_at),
                i.name.clone(),
                i.format.clone(),
                i.records.to_string(),
                i.inserted.to_string(),
                i.duplicates.to_string(),
                i.rejected.to_string(),
            ]
        })
        .collect();
    crate::output::limited_table(
        &[
            "ingested",
            "input",
            "format",
            "records",
            "new",
            "duplicates",
            "rejected",
        ],
        rows,
        rest,
    );
    Ok(ExitCode::SUCCESS)
}

/// `feeds reports`: the reports the Shadowserver schema describes.
pub fn reports(ctx: &Context, args: &FeedsReportsArgs) -> Result<ExitCode> {
    let path = args
        .schema
        .clone()
        .or_else(|| ctx.config.feeds.shadowserver_schema.clone())
        .ok_or_else(|| anyhow!("give --schema FILE or set feeds.shadowserver_schema"))?;
    let schema = Schema::from_path(&path)
        .with_context(|| format!("cannot load the Shadowserver schema {}", path.display()))?;
    let rows: Vec<(String, String, String)> = schema
        .reports()
        .iter()
        .map(|r| {
            let ty = r
                .constant_fields
                .iter()
                .find(|(field, _)| field == "classification.type")
                .and_then(|(_, v)| v.as_str())
                .unwrap_or("-");
            (r.file_name.clone(), r.feed_name.clone(), ty.to_owned())
        })
        .collect();
    if args.json {
        let rows: Vec<serde_json::Value> = rows
            .iter()
            .map(|(name, feed, ty)| serde_json::json!({"report": name, "feed": feed, "classification.type": ty}))
            .collect();
        crate::output::json(&rows)?;
    } else {
        crate::output::table(
            &["report", "feed.name", "classification.type"],
            rows.into_iter().map(|(a, b, c)| vec![a, b, c]).collect(),
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Subcommand)]
pub enum FeedsCommand {
    /// Read feed files, directories (every file inside, recursively) or `-` (stdin).
    #[command(
        after_help = "Examples:\n  firewatch feeds ingest reports/2026-11-22-scan_dns-jp-geo.csv --schema intelmq.json\n  firewatch feeds ingest /var/log/cowrie/cowrie.json\n  firewatch feeds ingest partner.csv --mapping partner.toml\n  intelmq-output | firewatch feeds ingest - --format intelmq\n\nEach input is stored in one transaction and known by its content: the same file twice is ingested once.\nRejected records are listed with file, line and byte offset; the others are kept.\nExit status: 0 when all went in, 1 when an input failed or records were rejected."
    )]
    Ingest(FeedsIngestArgs),
    /// Watch a directory: every file that appears is ingested once, even across restarts.
    #[command(
        after_help = "Examples:\n  firewatch feeds watch /srv/reports\n  firewatch feeds watch /srv/reports --once   # what is there now, then exit"
    )]
    Watch(FeedsWatchArgs),
    /// Fetch reports over HTTP(S), once or on a schedule; each body is ingested once.
    #[command(
        after_help = "Examples:\n  firewatch feeds fetch https://reports.example.org/2026-11-22-scan_dns-jp-geo.csv\n  firewatch feeds fetch https://honeypot.example.net/cowrie.json --every 1h"
    )]
    Fetch(FeedsFetchArgs),
    /// The Shadowserver reports the schema in force describes.
    Reports(FeedsReportsArgs),
    /// Feed inputs already ingested, with their counts.
    Inputs(ListArgs),
}

/// How to read feed inputs; shared by ingest, watch and fetch.
#[derive(Debug, Args, Clone)]
pub struct FeedFormatArgs {
    /// Input format; `auto` tells Shadowserver reports by file name, Cowrie and IntelMQ JSON
    /// lines by content, and CSV by --mapping.
    #[arg(long, value_enum, default_value_t = FeedFormat::Auto)]
    pub format: FeedFormat,
    /// Shadowserver report schema (Shadowserver's intelmq.json); overrides feeds.shadowserver_schema.
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
    /// Column mapping (TOML) for generic CSV; implies --format csv.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Parse and run the experts, report the counts and rate, but write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report of each input as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct FeedsIngestArgs {
    /// Files or directories; `-` for standard input.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The name standard input goes by (Shadowserver reports are recognised by name).
    #[arg(long, value_name = "NAME", default_value = "-")]
    pub stdin_name: String,
    #[command(flatten)]
    pub read: FeedFormatArgs,
}

#[derive(Debug, Args)]
pub struct FeedsWatchArgs {
    /// The directory to watch (files whose names start with `.` or end in `.tmp`/`.part` wait).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Seconds between looks at the directory (default: feeds.watch_interval_secs).
    #[arg(long, value_name = "SECONDS")]
    pub interval: Option<f64>,
    /// Ingest what is there now, then exit.
    #[arg(long)]
    pub once: bool,
    #[command(flatten)]
    pub read: FeedFormatArgs,
}

#[derive(Debug, Args)]
pub struct FeedsFetchArgs {
    /// URLs to fetch (http or https).
    #[arg(required = true, value_name = "URL")]
    pub urls: Vec<String>,
    /// Fetch again at this period (e.g. 30m, 1h, 1d) until stopped; default: once.
    #[arg(long, value_name = "PERIOD")]
    pub every: Option<String>,
    /// Give up on a request after this many seconds.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub timeout: u64,
    #[command(flatten)]
    pub read: FeedFormatArgs,
}

#[derive(Debug, Args)]
pub struct FeedsReportsArgs {
    /// Shadowserver report schema (default: feeds.shadowserver_schema).
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `firewatch import …`
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Partners' STIX 2.1 bundles into the store, through the same pipeline as `feeds ingest`
    /// (experts, deduplication, one transaction per file). TLP markings are kept; objects of
    /// types Firewatch does not map are kept whole (extra.stix_object) and listed; invalid
    /// objects are rejected with the JSON path of the bad property.
    #[command(after_help = "Example:\n  firewatch import stix partner-bundle.json")]
    Stix(ImportStixArgs),
}

/// `firewatch import stix` arguments.
#[derive(Debug, Args)]
pub struct ImportStixArgs {
    /// Bundle files; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Parse and report, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print each file's report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn import(ctx: &Context, cmd: &ImportCommand) -> Result<ExitCode> {
    let ImportCommand::Stix(args) = cmd;
    // What Firewatch does not map is kept, and said: list it before the pipeline runs.
    for path in &args.files {
        if path.as_os_str() == "-" {
            continue;
        }
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let name = path.display().to_string();
        let mut ignore = firewatch_core::Collected::default();
        if let Ok(report) = firewatch_feeds::stix::parse_report(&bytes, &name, &mut ignore) {
            for (at, object_type, id) in report.unknown() {
                eprintln!(
                    "{name}: {at}: {object_type} {id}: type not mapped, kept whole in extra.stix_object"
                );
            }
        }
    }
    if args.files.is_empty() {
        bail!("give at least one bundle file");
    }
    ingest(
        ctx,
        &FeedsIngestArgs {
            paths: args.files.clone(),
            stdin_name: "-".to_owned(),
            read: FeedFormatArgs {
                format: FeedFormat::Stix,
                schema: None,
                mapping: None,
                dry_run: args.dry_run,
                json: args.json,
            },
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods() {
        assert_eq!(parse_period("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_period("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_period("1d").unwrap(), Duration::from_secs(86400));
        assert_eq!(parse_period("30").unwrap(), Duration::from_secs(30));
        for bad in ["", "h", "1w", "0s", "-1h"] {
            assert!(parse_period(bad).is_err(), "{bad}");
        }
    }
}
