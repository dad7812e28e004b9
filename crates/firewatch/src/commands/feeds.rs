//! `firewatch feeds …`: collectors (files, directories, stdin, a watched directory, HTTP) hand
//! whole inputs to one pipeline: detect the format, parse, run the experts, commit the input's
//! events in one transaction. An input is known by its content hash, so the same report
//! arriving twice, by any collector, is ingested once.

use crate::args::ListArgs;
use anyhow::{Context as _, Result, anyhow, bail};
use clap::ValueEnum;
use clap::{Args, Subcommand};
use firewatch_core::{Event, EventSink, InputError, Location};
use firewatch_feeds::csv_mapping::CsvMapping;
use firewatch_feeds::experts::{Attribute, Experts};
use firewatch_feeds::shadowserver::Schema;
use firewatch_pipeline::Context;
use firewatch_pipeline::attribution::ExpertAttribution;
use firewatch_store::{DedupeRule, EventStore, FeedInput, SqliteStore};
use serde::Serialize;
use std::collections::HashMap;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Inputs with at least this many events get a spinner while they are written.
const SPINNER_MIN_EVENTS: usize = 20_000;

/// Rejections printed per input; the rest are counted.
const SHOWN_REJECTIONS: usize = 20;

/// One input as a collector received it: its name (file path, URL or `-`) and raw bytes.
pub struct RawInput {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// What happened to one input.
#[derive(Debug, Serialize)]
pub struct FeedReport {
    pub name: String,
    pub content_hash: String,
    /// ingested, already-ingested, parsed (dry run) or failed
    pub status: &'static str,
    /// The format read, e.g. `shadowserver:scan_dns`, `cowrie`, `intelmq`, `csv:partner`.
    pub format: String,
    pub records: u64,
    pub events: u64,
    /// Events stored; the others duplicated events already stored (see feeds.dedupe).
    pub inserted: u64,
    pub duplicates: u64,
    pub rejected: u64,
    /// The first rejections, each with file, line, byte offset and reason.
    pub rejections: Vec<String>,
    pub seconds: f64,
    pub events_per_second: f64,
    pub error: Option<String>,
}

impl FeedReport {
    fn failed(name: String, content_hash: String, error: String) -> Self {
        FeedReport {
            name,
            content_hash,
            status: "failed",
            format: String::new(),
            records: 0,
            events: 0,
            inserted: 0,
            duplicates: 0,
            rejected: 0,
            rejections: Vec::new(),
            seconds: 0.0,
            events_per_second: 0.0,
            error: Some(error),
        }
    }
}

/// Everything needed to turn raw inputs into stored events, built once per run.
pub struct FeedPipeline {
    format: FeedFormat,
    schema: Option<Schema>,
    schema_path: Option<PathBuf>,
    mapping: Option<CsvMapping>,
    experts: Experts,
    dedupe: DedupeRule,
    store: Option<SqliteStore>,
    /// Show a spinner while large inputs are written (a terminal, not --json).
    progress: bool,
}

impl FeedPipeline {
    pub fn new(ctx: &Context, args: &FeedFormatArgs) -> Result<Self> {
        let schema_path = args
            .schema
            .clone()
            .or_else(|| ctx.config.feeds.shadowserver_schema.clone());
        let schema = schema_path
            .as_deref()
            .map(|p| {
                Schema::from_path(p)
                    .with_context(|| format!("cannot load the Shadowserver schema {}", p.display()))
            })
            .transpose()?;
        let mapping = args
            .mapping
            .as_deref()
            .map(|p| {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read {}", p.display()))?;
                CsvMapping::from_toml_str(&text).map_err(|e| anyhow!("{}: {e}", p.display()))
            })
            .transpose()?;
        let format = match (args.format, &mapping) {
            (FeedFormat::Auto, Some(_)) => FeedFormat::Csv,
            (FeedFormat::Csv, None) => {
                bail!("--format csv needs --mapping FILE (the column mapping)")
            }
            (f, _) => f,
        };
        if format == FeedFormat::Shadowserver && schema.is_none() {
            bail!(
                "Shadowserver reports need their schema: give --schema FILE or set feeds.shadowserver_schema"
            );
        }
        let store = if args.dry_run {
            None
        } else {
            Some(ctx.store()?)
        };
        // A dry run measures parsing and the experts, not the lookups of attribution data.
        let attribution: Option<Arc<dyn Attribute>> = if args.dry_run {
            None
        } else {
            Some(Arc::new(ExpertAttribution(
                firewatch_pipeline::attribution::enricher(ctx)?,
            )))
        };
        let experts = Experts::new(&ctx.config.feeds.experts(), attribution)
            .context("invalid [feeds] configuration")?;
        Ok(FeedPipeline {
            format,
            schema,
            schema_path,
            mapping,
            experts,
            dedupe: ctx.config.feeds.dedupe.rule(),
            store,
            progress: !args.json && std::io::stderr().is_terminal(),
        })
    }

    /// Whether an input with this content hash is already stored.
    pub fn already_ingested(&self, content_hash: &str) -> Result<bool> {
        Ok(match &self.store {
            Some(store) => store.feed_input(content_hash)?.is_some(),
            None => false,
        })
    }

    /// Ingests one input; never fails as a whole, the report says what went wrong.
    pub fn ingest(&mut self, input: RawInput) -> FeedReport {
        let hash = blake3::hash(&input.bytes).to_hex().to_string();
        match self.ingest_hashed(&input, &hash) {
            Ok(report) => report,
            Err(e) => FeedReport::failed(input.name, hash, format!("{e:#}")),
        }
    }

    fn ingest_hashed(&mut self, input: &RawInput, hash: &str) -> Result<FeedReport> {
        let started = Instant::now();
        if self.already_ingested(hash)? {
            let mut report = FeedReport::failed(input.name.clone(), hash.to_owned(), String::new());
            report.status = "already-ingested";
            report.error = None;
            return Ok(report);
        }
        let bytes = decompress(&input.name, &input.bytes)?;
        let (format, parsed) = self.parse(&input.name, &bytes)?;
        let Parsed {
            events,
            accepted,
            errors,
            rejected,
            summary,
            ..
        } = parsed;
        let mut report = FeedReport {
            name: input.name.clone(),
            content_hash: hash.to_owned(),
            status: "parsed",
            format,
            records: summary.records,
            events: accepted,
            inserted: 0,
            duplicates: 0,
            rejected,
            rejections: errors.iter().map(ToString::to_string).collect(),
            seconds: 0.0,
            events_per_second: 0.0,
            error: None,
        };
        if let Some(store) = self.store.as_mut() {
            let record = FeedInput {
                content_hash: hash.to_owned(),
                name: input.name.clone(),
                format: report.format.clone(),
                feed: Some(feed_names(&events)).filter(|f| !f.is_empty()),
                ingested_at: jiff::Timestamp::now().as_second(),
                records: report.records,
                events: report.events,
                inserted: 0,
                duplicates: 0,
                rejected: report.rejected,
            };
            let spinner = if self.progress && events.len() >= SPINNER_MIN_EVENTS {
                let spinner = indicatif::ProgressBar::new_spinner();
                spinner.set_message(format!("{}: writing {} events…", input.name, events.len()));
                spinner.enable_steady_tick(Duration::from_millis(120));
                spinner
            } else {
                indicatif::ProgressBar::hidden()
            };
            let commit = store.commit_events(&record, &events, &self.dedupe);
            spinner.finish_and_clear();
            let commit = commit?;
            report.status = if commit.already_committed {
                "already-ingested"
            } else {
                "ingested"
            };
            report.inserted = commit.inserted;
            report.duplicates = commit.duplicates;
        }
        report.seconds = started.elapsed().as_secs_f64();
        report.events_per_second = if report.seconds > 0.0 {
            report.events as f64 / report.seconds
        } else {
            0.0
        };
        Ok(report)
    }

    fn parse(&self, name: &str, bytes: &[u8]) -> Result<(String, Parsed<'_>)> {
        let mut sink = Parsed::new(&self.experts, self.store.is_some());
        let file_name = Path::new(name)
            .file_name()
            .map_or_else(|| name.to_owned(), |n| n.to_string_lossy().into_owned());
        let format = match self.format {
            FeedFormat::Auto => sniff(bytes, &file_name, self.schema.as_ref())?,
            f => f,
        };
        let label = match format {
            FeedFormat::Shadowserver => {
                let schema = self.schema.as_ref().ok_or_else(|| {
                    anyhow!("Shadowserver reports need --schema FILE or feeds.shadowserver_schema")
                })?;
                let report = schema.detect(&file_name).map_err(|e| {
                    let from = self
                        .schema_path
                        .as_deref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    anyhow!("{e} (schema {from})")
                })?;
                let options = firewatch_feeds::shadowserver::ParseOptions::default();
                sink.summary =
                    firewatch_feeds::shadowserver::parse(bytes, name, report, &options, &mut sink)?;
                format!("shadowserver:{}", report.file_name)
            }
            FeedFormat::Cowrie => {
                let options = firewatch_feeds::cowrie::CowrieOptions::default();
                sink.summary = firewatch_feeds::cowrie::parse(bytes, name, &options, &mut sink)?;
                "cowrie".to_owned()
            }
            FeedFormat::Intelmq => {
                sink.summary = firewatch_feeds::intelmq_jsonl::parse(bytes, name, &mut sink)?;
                "intelmq".to_owned()
            }
            FeedFormat::Csv => {
                let mapping = self
                    .mapping
                    .as_ref()
                    .ok_or_else(|| anyhow!("CSV needs --mapping FILE"))?;
                sink.summary =
                    firewatch_feeds::csv_mapping::parse(bytes, name, mapping, &mut sink)?;
                format!("csv:{}", mapping.name())
            }
            FeedFormat::Stix => {
                sink.summary = firewatch_feeds::stix::parse(bytes, name, &mut sink)?;
                "stix".to_owned()
            }
            FeedFormat::Auto => unreachable!("sniff returns a concrete format"),
        };
        Ok((label, sink))
    }
}

/// The parser's events after the experts, and what was rejected on the way.
struct Parsed<'a> {
    experts: &'a Experts,
    /// Whether the events are kept (for the store) or only counted (a dry run).
    keep: bool,
    accepted: u64,
    events: Vec<Event>,
    errors: Vec<InputError>,
    rejected: u64,
    summary: firewatch_core::ParseSummary,
}

impl<'a> Parsed<'a> {
    fn new(experts: &'a Experts, keep: bool) -> Self {
        Parsed {
            experts,
            keep,
            accepted: 0,
            events: Vec::new(),
            errors: Vec::new(),
            rejected: 0,
            summary: Default::default(),
        }
    }
}

impl EventSink for Parsed<'_> {
    fn event(&mut self, mut event: Event, at: &Location) {
        match self.experts.process(&mut event) {
            Ok(()) => {
                self.accepted += 1;
                if self.keep {
                    self.events.push(event);
                }
            }
            Err(e) => self.reject(InputError::new(at.clone(), e.to_string())),
        }
    }

    fn reject(&mut self, error: InputError) {
        self.rejected += 1;
        if self.errors.len() < SHOWN_REJECTIONS {
            self.errors.push(error);
        }
    }
}

/// The distinct feed names of an input's events, comma-separated.
fn feed_names(events: &[Event]) -> String {
    let mut names: Vec<&str> = events
        .iter()
        .filter_map(|e| e.get("feed.name").and_then(|v| v.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    names.join(",")
}

/// Gzip is recognised by its magic bytes, not by the file name.
fn decompress(name: &str, bytes: &[u8]) -> Result<Vec<u8>> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(bytes.len() * 4);
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .with_context(|| format!("{name}: damaged gzip data"))?;
        Ok(out)
    } else {
        Ok(bytes.to_vec())
    }
}

/// Tells the format: JSON lines by their first object (Cowrie's carry `eventid: cowrie.*`),
/// Shadowserver reports by the report name in the file name.
fn sniff(bytes: &[u8], file_name: &str, schema: Option<&Schema>) -> Result<FeedFormat> {
    let first_line = bytes
        .split(|&b| b == b'\n')
        .map(|l| l.trim_ascii())
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    if first_line.starts_with(b"{") {
        if firewatch_feeds::stix::is_bundle(bytes) {
            return Ok(FeedFormat::Stix);
        }
        let cowrie = serde_json::from_slice::<serde_json::Value>(first_line)
            .ok()
            .and_then(|v| {
                v.get("eventid")?
                    .as_str()
                    .map(|id| id.starts_with("cowrie."))
            })
            .unwrap_or(false);
        return Ok(if cowrie {
            FeedFormat::Cowrie
        } else {
            FeedFormat::Intelmq
        });
    }
    match schema {
        Some(schema) if schema.detect(file_name).is_ok() => Ok(FeedFormat::Shadowserver),
        Some(schema) => Err(anyhow!(
            "{file_name}: cannot tell the format: {}; for other CSV give --mapping FILE",
            schema
                .detect(file_name)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        )),
        None => Err(anyhow!(
            "{file_name}: cannot tell the format: not JSON lines; for a Shadowserver report give --schema FILE (or set feeds.shadowserver_schema), for other CSV --mapping FILE"
        )),
    }
}

/// Files under `path` (itself if a file), in name order, skipping hidden ones.
fn files_under(path: &Path) -> Result<Vec<PathBuf>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(path)
        .with_context(|| format!("cannot list {}", path.display()))?
        .collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        files.extend(files_under(&entry.path())?);
    }
    Ok(files)
}

fn read_input(path: &Path, stdin_name: &str) -> Result<RawInput> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
        return Ok(RawInput {
            name: stdin_name.to_owned(),
            bytes,
        });
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(RawInput {
        name: path.display().to_string(),
        bytes,
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
    let mut pipeline = FeedPipeline::new(ctx, &args.read)?;
    let mut reports = Vec::new();
    for path in &args.paths {
        let files = if path.as_os_str() == "-" {
            vec![path.clone()]
        } else {
            files_under(path)?
        };
        for file in files {
            let report = match read_input(&file, &args.stdin_name) {
                Ok(input) => pipeline.ingest(input),
                Err(e) => {
                    FeedReport::failed(file.display().to_string(), String::new(), format!("{e:#}"))
                }
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

/// Files still being written wait: a file is taken once its size and modification time were
/// the same at two looks, or it has not changed for two intervals.
pub fn watch(ctx: &Context, args: &FeedsWatchArgs) -> Result<ExitCode> {
    let interval = Duration::from_secs_f64(
        args.interval
            .unwrap_or(ctx.config.feeds.watch_interval_secs)
            .max(0.05),
    );
    let mut pipeline = FeedPipeline::new(ctx, &args.read)?;
    if !args.dir.is_dir() {
        bail!("{} is not a directory", args.dir.display());
    }
    if !args.read.json {
        eprintln!(
            "watching {} every {:.1} s (Ctrl-C to stop)",
            args.dir.display(),
            interval.as_secs_f64()
        );
    }
    let mut done: HashMap<PathBuf, (u64, SystemTime)> = HashMap::new();
    let mut last_look: HashMap<PathBuf, (u64, SystemTime)> = HashMap::new();
    let mut reports = Vec::new();
    loop {
        for file in files_under(&args.dir)? {
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
            if name.is_some_and(|n| n.ends_with(".tmp") || n.ends_with(".part")) {
                continue;
            }
            let Ok(meta) = std::fs::metadata(&file) else {
                continue; // gone since the listing
            };
            let Ok(modified) = meta.modified() else {
                continue;
            };
            let seen = (meta.len(), modified);
            if done.get(&file) == Some(&seen) {
                continue;
            }
            let quiet = modified
                .elapsed()
                .is_ok_and(|age| age >= interval.saturating_mul(2));
            if !(args.once || quiet || last_look.get(&file) == Some(&seen)) {
                last_look.insert(file, seen);
                continue;
            }
            let report = match read_input(&file, "-") {
                Ok(input) => pipeline.ingest(input),
                Err(e) => {
                    FeedReport::failed(file.display().to_string(), String::new(), format!("{e:#}"))
                }
            };
            print_report(&report, args.read.json);
            reports.push(report);
            last_look.remove(&file);
            done.insert(file, seen);
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

/// The name a fetched body goes by: the server's `Content-Disposition` file name, else the
/// URL path's last segment (Shadowserver reports are recognised by name).
fn fetched_name(url: &str, disposition: Option<&str>) -> String {
    let from_header = disposition.and_then(|d| {
        d.split(';').find_map(|part| {
            let value = part.trim().strip_prefix("filename=")?;
            let value = value.trim_matches('"');
            let base = value.rsplit(['/', '\\']).next()?;
            (!base.is_empty()).then(|| base.to_owned())
        })
    });
    from_header.unwrap_or_else(|| {
        let path = url.split(['?', '#']).next().unwrap_or(url);
        path.trim_end_matches('/')
            .rsplit('/')
            .next()
            .filter(|s| !s.is_empty() && !s.contains(':'))
            .map_or_else(|| url.to_owned(), str::to_owned)
    })
}

/// Largest body accepted from a server, so a broken one cannot exhaust memory.
const MAX_FETCH_BYTES: u64 = 4 << 30;

fn fetch_one(agent: &ureq::Agent, url: &str) -> Result<RawInput> {
    let mut response = agent.get(url).call().map_err(|e| anyhow!("{url}: {e}"))?;
    let disposition = response
        .headers()
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = response
        .body_mut()
        .with_config()
        .limit(MAX_FETCH_BYTES)
        .read_to_vec()
        .map_err(|e| anyhow!("{url}: {e}"))?;
    let name = fetched_name(url, disposition.as_deref());
    Ok(RawInput { name, bytes })
}

pub fn fetch(ctx: &Context, args: &FeedsFetchArgs) -> Result<ExitCode> {
    for url in &args.urls {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!("{url}: only http:// and https:// URLs can be fetched");
        }
    }
    let period = args.every.as_deref().map(parse_period).transpose()?;
    let mut pipeline = FeedPipeline::new(ctx, &args.read)?;
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
    if let Some(limit) = args.limit {
        let skip = inputs.len().saturating_sub(limit);
        inputs.drain(..skip);
    }
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
    crate::output::table(
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FeedFormat {
    Auto,
    Shadowserver,
    Cowrie,
    Intelmq,
    Csv,
    /// A STIX 2.1 bundle (JSON).
    Stix,
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

    #[test]
    fn names_of_fetched_reports() {
        assert_eq!(
            fetched_name(
                "http://127.0.0.1:8000/r/2026-01-01-scan_dns-jp-geo.csv?k=1",
                None
            ),
            "2026-01-01-scan_dns-jp-geo.csv"
        );
        assert_eq!(
            fetched_name(
                "http://h/download?id=7",
                Some("attachment; filename=\"2026-01-01-scan_ntp-x.csv\"")
            ),
            "2026-01-01-scan_ntp-x.csv"
        );
        assert_eq!(
            fetched_name(
                "http://h/x",
                Some("attachment; filename=\"../../etc/passwd\"")
            ),
            "passwd"
        );
    }

    #[test]
    fn json_lines_are_told_apart_by_content() {
        let cowrie = br#"{"eventid":"cowrie.session.connect","src_ip":"192.0.2.1"}"#;
        let intelmq = br#"{"source.ip":"192.0.2.1"}"#;
        assert_eq!(sniff(cowrie, "x.log", None).unwrap(), FeedFormat::Cowrie);
        assert_eq!(sniff(intelmq, "x.json", None).unwrap(), FeedFormat::Intelmq);
        assert!(sniff(b"a,b\n1,2\n", "x.csv", None).is_err());
    }
}
