//! The feed pipeline: collectors hand whole inputs (files, directories, stdin, HTTP bodies) to
//! one path that detects the format, parses, runs the experts and commits the input's events in
//! one transaction. An input is known by its content hash, so the same report arriving twice,
//! by any collector, is ingested once.

use crate::Context;
use anyhow::{Context as _, Result, anyhow, bail};
use firewatch_core::{Event, EventSink, InputError, Location, ParseSummary, TlpLevel, fields};
use firewatch_feeds::csv_mapping::CsvMapping;
use firewatch_feeds::experts::{Attribute, Experts};
use firewatch_feeds::shadowserver::Schema;
use firewatch_store::{Backend, DedupeRule, FeedInput};
use serde::Serialize;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Rejections kept per input for the report; the rest are counted.
const SHOWN_REJECTIONS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum FeedFormat {
    /// Shadowserver reports by file name, Cowrie and IntelMQ JSON lines and STIX by content.
    Auto,
    /// A Shadowserver report (CSV), described by Shadowserver's schema.
    Shadowserver,
    /// Cowrie honeypot JSON lines.
    Cowrie,
    /// IntelMQ JSON lines.
    Intelmq,
    /// Any CSV, with a TOML column mapping.
    Csv,
    /// A STIX 2.1 bundle (JSON).
    Stix,
}

/// How inputs are read: the format, the Shadowserver schema and CSV mapping files, and whether
/// anything is written.
#[derive(Debug, Clone)]
pub struct FeedOptions {
    /// The input format (`Auto` tells it per input).
    pub format: FeedFormat,
    /// Shadowserver's report schema; else `[feeds] shadowserver_schema`.
    pub schema: Option<PathBuf>,
    /// A CSV column mapping (TOML); implies CSV.
    pub mapping: Option<PathBuf>,
    /// Parse and run the experts, write nothing (and skip attribution lookups).
    pub dry_run: bool,
}

/// A team's submission through a service. Provenance is the service's to say, never the
/// submitter's: what a team adds is owned by that team and named by the service's feed, and
/// its routed team is ours to find (the experts route by the directory). So no submission
/// passes as another team's or another feed's, and deduplication, which never crosses owners
/// or feeds (`firewatch_store::PROVENANCE_FIELDS`), never matches a record the submitter may
/// not read.
#[derive(Debug, Clone, Copy)]
pub struct Submission<'a> {
    /// The submitting user's team.
    pub team: &'a str,
    /// The service's feed name (e.g. STIX for TAXII adds).
    pub feed: &'a str,
    /// How it came, for the input's name (e.g. `taxii:green`).
    pub channel: &'a str,
    /// The input format recorded with it.
    pub format: &'a str,
    /// The TLP of events that carry none (a TAXII collection's level).
    pub default_tlp: TlpLevel,
}

impl Submission<'_> {
    /// Where a submitted event's claimed feed name is kept when it differs from the service's.
    pub const CLAIMED_FEED: &'static str = "extra.submitted_feed_name";

    /// Sets the submission's provenance on `event`: owner, feed, no routed team, a TLP.
    pub fn stamp(&self, event: &mut Event) -> Result<()> {
        let claimed = event
            .get(fields::FEED_NAME)
            .and_then(|v| v.as_str().map(str::to_owned));
        if let Some(claimed) = claimed.filter(|c| c != self.feed) {
            event.set(Self::CLAIMED_FEED, claimed)?;
        }
        event.set(fields::FEED_NAME, self.feed)?;
        event.set(fields::EXTRA_OWNER, self.team)?;
        event.remove(fields::EXTRA_TEAM);
        if firewatch_core::tlp::event_tlp(event).is_none() {
            event.set(fields::TLP, self.default_tlp.event_value())?;
        }
        Ok(())
    }
}

/// Told when a large input's events are being written, so a caller can show progress.
pub trait CommitProgress: Send {
    /// `events` of input `name` are about to be committed.
    fn started(&mut self, name: &str, events: usize);
    /// The commit ended (committed or failed).
    fn finished(&mut self);
}

/// No progress shown.
struct Quiet;

impl CommitProgress for Quiet {
    fn started(&mut self, _: &str, _: usize) {}
    fn finished(&mut self) {}
}

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
    /// A report of an input that could not be read or ingested.
    pub fn failed(name: String, content_hash: String, error: String) -> Self {
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
    store: Option<Box<dyn Backend>>,
    /// Told while large inputs are written.
    progress: Box<dyn CommitProgress>,
}

impl FeedPipeline {
    /// Builds the pipeline once per run: loads the schema and mapping, the experts and (unless a
    /// dry run) the store and attribution data.
    pub fn new(ctx: &Context, args: &FeedOptions) -> Result<Self> {
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
            Some(crate::attribution::enricher(ctx)?)
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
            progress: Box::new(Quiet),
        })
    }

    /// Tells `progress` when large inputs are written.
    pub fn with_progress(mut self, progress: Box<dyn CommitProgress>) -> Self {
        self.progress = progress;
        self
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
        let outcome = parsed.into_outcome();
        self.commit_outcome(&input.name, hash, format, outcome, started)
    }

    /// Events a caller parsed itself (a TAXII envelope, say), with the parser's rejections:
    /// through the experts, then committed as one input named `name` with the configured
    /// deduplication, exactly as a file of the same events would be.
    pub fn ingest_events(
        &mut self,
        name: &str,
        content_hash: &str,
        format: &str,
        summary: ParseSummary,
        events: Vec<(Event, Location)>,
        rejections: Vec<InputError>,
    ) -> Result<FeedReport> {
        let started = Instant::now();
        if self.already_ingested(content_hash)? {
            let mut report =
                FeedReport::failed(name.to_owned(), content_hash.to_owned(), String::new());
            report.status = "already-ingested";
            report.error = None;
            return Ok(report);
        }
        let mut sink = Parsed::new(&self.experts, self.store.is_some());
        for (event, at) in events {
            sink.event(event, &at);
        }
        for error in rejections {
            sink.reject(error);
        }
        sink.summary = summary;
        let outcome = sink.into_outcome();
        self.commit_outcome(name, content_hash, format.to_owned(), outcome, started)
    }

    /// Events a team submitted through a service (a partner's TAXII add): stamped with the
    /// submission's provenance (see [`Submission`]), then as [`FeedPipeline::ingest_events`].
    /// The input is known by the submitter and the content, so one team's identical body
    /// never makes another's "already ingested".
    pub fn ingest_submission(
        &mut self,
        submission: &Submission<'_>,
        content_hash: &str,
        summary: ParseSummary,
        events: Vec<(Event, Location)>,
        rejections: Vec<InputError>,
    ) -> Result<FeedReport> {
        let mut stamped = Vec::with_capacity(events.len());
        for (mut event, at) in events {
            submission
                .stamp(&mut event)
                .with_context(|| format!("{at}: provenance"))?;
            stamped.push((event, at));
        }
        let name = format!("{}:{}", submission.channel, submission.team);
        let scoped_hash = blake3::hash(format!("{name}|{content_hash}").as_bytes())
            .to_hex()
            .to_string();
        self.ingest_events(
            &name,
            &scoped_hash,
            submission.format,
            summary,
            stamped,
            rejections,
        )
    }

    /// Commits what one input's parse left (unless a dry run) and reports it.
    fn commit_outcome(
        &mut self,
        name: &str,
        hash: &str,
        format: String,
        outcome: ParseOutcome,
        started: Instant,
    ) -> Result<FeedReport> {
        let ParseOutcome {
            events,
            accepted,
            errors,
            rejected,
            summary,
        } = outcome;
        let mut report = FeedReport {
            name: name.to_owned(),
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
                name: name.to_owned(),
                format: report.format.clone(),
                feed: Some(feed_names(&events)).filter(|f| !f.is_empty()),
                ingested_at: jiff::Timestamp::now().as_second(),
                records: report.records,
                events: report.events,
                inserted: 0,
                duplicates: 0,
                rejected: report.rejected,
            };
            self.progress.started(name, events.len());
            let commit = store.commit_events(&record, &events, &self.dedupe);
            self.progress.finished();
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
    summary: ParseSummary,
}

/// What a parse left, owned (the sink itself borrows the experts).
struct ParseOutcome {
    events: Vec<Event>,
    accepted: u64,
    errors: Vec<InputError>,
    rejected: u64,
    summary: ParseSummary,
}

impl<'a> Parsed<'a> {
    fn into_outcome(self) -> ParseOutcome {
        ParseOutcome {
            events: self.events,
            accepted: self.accepted,
            errors: self.errors,
            rejected: self.rejected,
            summary: self.summary,
        }
    }

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
        .filter_map(|e| {
            e.get(firewatch_core::fields::FEED_NAME)
                .and_then(|v| v.as_str())
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    names.join(",")
}

/// Gzip is recognised by its magic bytes, not by the file name.
pub fn decompress(name: &str, bytes: &[u8]) -> Result<Vec<u8>> {
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
pub fn sniff(bytes: &[u8], file_name: &str, schema: Option<&Schema>) -> Result<FeedFormat> {
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
pub fn files_under(path: &Path) -> Result<Vec<PathBuf>> {
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

/// Reads one input whole: a file, or standard input (`-`) under `stdin_name`.
pub fn read_input(path: &Path, stdin_name: &str) -> Result<RawInput> {
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

/// A watched directory: hands out each file once its size and modification time were the same
/// at two looks, or it has not changed for two intervals (so files still being written wait),
/// and each content (size, time) once, even when a file is rewritten in place. Names ending in
/// `.tmp` or `.part` are left alone: writers rename them when they are done.
#[derive(Debug)]
pub struct WatchedDirectory {
    dir: PathBuf,
    interval: Duration,
    done: HashMap<PathBuf, (u64, SystemTime)>,
    last_look: HashMap<PathBuf, (u64, SystemTime)>,
}

impl WatchedDirectory {
    /// Watches `dir`, looked at every `interval`.
    pub fn new(dir: &Path, interval: Duration) -> Result<Self> {
        if !dir.is_dir() {
            bail!("{} is not a directory", dir.display());
        }
        Ok(WatchedDirectory {
            dir: dir.to_path_buf(),
            interval,
            done: HashMap::new(),
            last_look: HashMap::new(),
        })
    }

    /// The files ready now, in name order, each handed out once; with `unsettled`, also the
    /// files still changing (a one-off look).
    pub fn ready(&mut self, unsettled: bool) -> Result<Vec<PathBuf>> {
        let mut ready = Vec::new();
        for file in files_under(&self.dir)? {
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
            if self.done.get(&file) == Some(&seen) {
                continue;
            }
            let quiet = modified
                .elapsed()
                .is_ok_and(|age| age >= self.interval.saturating_mul(2));
            if !(unsettled || quiet || self.last_look.get(&file) == Some(&seen)) {
                self.last_look.insert(file, seen);
                continue;
            }
            self.last_look.remove(&file);
            self.done.insert(file.clone(), seen);
            ready.push(file);
        }
        Ok(ready)
    }

    /// Hands `file` out again on the next look, unchanged or not: for an input whose ingest
    /// failed for a reason that may pass (the store was busy with another writer).
    pub fn retry(&mut self, file: &Path) {
        self.done.remove(file);
    }
}

/// The name a fetched body goes by: the server's `Content-Disposition` file name, else the
/// URL path's last segment (Shadowserver reports are recognised by name).
pub fn fetched_name(url: &str, disposition: Option<&str>) -> String {
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
pub const MAX_FETCH_BYTES: u64 = 4 << 30;

/// Fetches one URL whole (bounded by [`MAX_FETCH_BYTES`]).
pub fn fetch_one(agent: &ureq::Agent, url: &str) -> Result<RawInput> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
