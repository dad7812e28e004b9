//! The feed pipeline: collectors hand whole inputs (files, directories, stdin, HTTP bodies) to
//! one path that detects the format, parses, runs the experts and commits the input's events in
//! batches, each in its own transaction, the last recording the input; files are read as
//! streams, so memory does not grow with an input's length. An input is known by its content
//! hash, so the same report arriving twice, by any collector, is ingested once, and one whose
//! run was killed mid-way is completed by the next (docs/feeds-pipeline.md).

use crate::Context;
use anyhow::{Context as _, Result, anyhow, bail};
use firewatch_core::{Event, EventSink, InputError, Location, ParseSummary, TlpLevel, fields};
use firewatch_feeds::csv_mapping::CsvMapping;
use firewatch_feeds::experts::{Attribute, Experts};
use firewatch_feeds::shadowserver::Schema;
use firewatch_store::{Backend, DedupeRule, FeedInput};
use serde::Serialize;
use std::cell::Cell;
use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;
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

/// Told while an input is read, parsed and committed, so a caller can show progress.
pub trait CommitProgress: Send {
    /// Input `name` is being read and committed.
    fn started(&mut self, name: &str);
    /// `records` records of it were read so far (events and rejections).
    fn advanced(&mut self, records: u64);
    /// The input ended (committed or failed).
    fn finished(&mut self);
}

/// No progress shown.
struct Quiet;

impl CommitProgress for Quiet {
    fn started(&mut self, _: &str) {}
    fn advanced(&mut self, _: u64) {}
    fn finished(&mut self) {}
}

/// Events committed per transaction: an input's events are parsed, passed through the
/// experts and committed this many at a time, so memory does not grow with the input.
pub const BATCH_EVENTS: usize = 20_000;

/// The batch size: [`BATCH_EVENTS`], or `FIREWATCH_FEEDS_BATCH` (for tests and tuning).
fn batch_events() -> usize {
    std::env::var("FIREWATCH_FEEDS_BATCH")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(BATCH_EVENTS)
}

/// Progress is told every this many records.
const PROGRESS_EVERY: u64 = 4096;

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
    /// Of `inserted`, the events an earlier run of this input stored before it stopped
    /// (killed mid-way): this run resumed it. Absent (0) for an uninterrupted run.
    #[serde(skip_serializing_if = "is_zero")]
    pub already_stored: u64,
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
            already_stored: 0,
            rejections: Vec::new(),
            seconds: 0.0,
            events_per_second: 0.0,
            error: Some(error),
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
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
        match self.ingest_body(&input.name, &hash, Body::Bytes(&input.bytes)) {
            Ok(report) => report,
            Err(e) => FeedReport::failed(input.name, hash, format!("{e:#}")),
        }
    }

    /// Ingests one file, read as a stream (twice: once for its content hash, once to parse),
    /// so that memory does not grow with its length; never fails as a whole.
    pub fn ingest_file(&mut self, path: &Path) -> FeedReport {
        let name = path.display().to_string();
        let hash = match hash_file(path) {
            Ok(hash) => hash,
            Err(e) => return FeedReport::failed(name, String::new(), format!("{e:#}")),
        };
        match self.ingest_body(&name, &hash, Body::File(path)) {
            Ok(report) => report,
            Err(e) => FeedReport::failed(name, hash, format!("{e:#}")),
        }
    }

    fn already_ingested_report(name: &str, hash: &str) -> FeedReport {
        let mut report = FeedReport::failed(name.to_owned(), hash.to_owned(), String::new());
        report.status = "already-ingested";
        report.error = None;
        report
    }

    fn ingest_body(&mut self, name: &str, hash: &str, body: Body<'_>) -> Result<FeedReport> {
        let started = Instant::now();
        if self.already_ingested(hash)? {
            return Ok(Self::already_ingested_report(name, hash));
        }
        let file_name = Path::new(name)
            .file_name()
            .map_or_else(|| name.to_owned(), |n| n.to_string_lossy().into_owned());
        let mut reader = body.open(name)?;
        // The format, from the first line (and the file name); a JSON input that may be one
        // STIX bundle rather than JSON lines is read whole, as STIX is parsed whole.
        let prefix = read_prefix(&mut reader).with_context(|| format!("cannot read {name}"))?;
        let first = first_line(&prefix);
        let json = first.starts_with(b"{");
        let whole_needed = match self.format {
            FeedFormat::Stix => true,
            FeedFormat::Auto => {
                json && (!prefix_has_whole_line(&prefix, first)
                    || firewatch_feeds::stix::is_bundle(first)
                    || serde_json::from_slice::<serde_json::Value>(first).is_err())
            }
            _ => false,
        };
        let mut stream = std::io::Cursor::new(prefix).chain(reader);
        let mut whole = Vec::new();
        let format = if whole_needed {
            stream
                .read_to_end(&mut whole)
                .with_context(|| format!("cannot read {name}"))?;
            match self.format {
                FeedFormat::Auto => sniff(&whole, &file_name, self.schema.as_ref())?,
                f => f,
            }
        } else {
            match self.format {
                FeedFormat::Auto => {
                    let prefix = stream.get_ref().0.get_ref();
                    sniff(first_line(prefix), &file_name, self.schema.as_ref())?
                }
                f => f,
            }
        };
        let stop = Rc::new(Cell::new(false));
        let mut stoppable = Stoppable {
            inner: stream,
            stop: Rc::clone(&stop),
        };
        let input = if whole_needed {
            Reader::Whole(&whole)
        } else {
            Reader::Stream(&mut stoppable)
        };
        let FeedPipeline {
            schema,
            schema_path,
            mapping,
            experts,
            dedupe,
            store,
            progress,
            ..
        } = self;
        let mut sink = Batches::new(experts, store.as_deref_mut(), dedupe, &mut **progress);
        sink.stop = stop;
        sink.begin(name, hash)?;
        let parsers = Parsers {
            schema: schema.as_ref(),
            schema_path: schema_path.as_deref(),
            mapping: mapping.as_ref(),
        };
        let parsed = parsers.parse(format, name, &file_name, input, &mut sink);
        sink.end(parsed, started)
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
            return Ok(Self::already_ingested_report(name, content_hash));
        }
        let FeedPipeline {
            experts,
            dedupe,
            store,
            progress,
            ..
        } = self;
        let mut sink = Batches::new(experts, store.as_deref_mut(), dedupe, &mut **progress);
        sink.begin(name, content_hash)?;
        for (event, at) in events {
            sink.event(event, &at);
        }
        for error in rejections {
            sink.reject(error);
        }
        sink.end(Ok((format.to_owned(), summary)), started)
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
}

/// Where an input's bytes are: in memory (stdin, a download) or in a file.
enum Body<'a> {
    Bytes(&'a [u8]),
    File(&'a Path),
}

impl<'a> Body<'a> {
    /// A reader of the input's bytes, gunzipped when they are gzip (told by the magic bytes).
    fn open(&self, name: &str) -> Result<Box<dyn BufRead + 'a>> {
        const BUFFER: usize = 256 * 1024;
        let mut raw: Box<dyn BufRead + 'a> = match *self {
            Body::Bytes(bytes) => Box::new(bytes),
            Body::File(path) => Box::new(BufReader::with_capacity(
                BUFFER,
                std::fs::File::open(path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
            )),
        };
        let gzip = raw
            .fill_buf()
            .with_context(|| format!("cannot read {name}"))?
            .starts_with(&[0x1f, 0x8b]);
        Ok(if gzip {
            Box::new(BufReader::with_capacity(
                BUFFER,
                Gunzip(flate2::bufread::MultiGzDecoder::new(raw)),
            ))
        } else {
            raw
        })
    }
}

/// Gunzips, saying in its errors that the gzip data is damaged.
struct Gunzip<R>(flate2::bufread::MultiGzDecoder<R>);

impl<R: BufRead> Read for Gunzip<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        self.0
            .read(out)
            .map_err(|e| std::io::Error::new(e.kind(), format!("damaged gzip data: {e}")))
    }
}

/// A reader that ends with an error once `stop` is set: the parse of an input whose commit
/// failed stops there rather than reading on.
struct Stoppable<R> {
    inner: R,
    stop: Rc<Cell<bool>>,
}

impl<R: BufRead> Read for Stoppable<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(out.len());
            out[..n].copy_from_slice(&available[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Stoppable<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.stop.get() {
            return Err(std::io::Error::other(
                "stopped: the input could not be committed",
            ));
        }
        self.inner.fill_buf()
    }
    fn consume(&mut self, n: usize) {
        self.inner.consume(n);
    }
}

/// The BLAKE3 hash (hex) of a file's bytes, read as a stream.
fn hash_file(path: &Path) -> Result<String> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = blake3::Hasher::new();
    hasher
        .update_reader(file)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(hasher.finalize().to_hex().to_string())
}

/// The first bytes of an input: at least its first non-empty line (up to 1 MiB) or all of it.
fn read_prefix(reader: &mut dyn BufRead) -> std::io::Result<Vec<u8>> {
    const MAX: usize = 1 << 20;
    let mut prefix = Vec::with_capacity(64 * 1024);
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(prefix);
        }
        let n = available.len().min(MAX - prefix.len());
        prefix.extend_from_slice(&available[..n]);
        reader.consume(n);
        let line = first_line(&prefix);
        if prefix.len() >= MAX || (!line.is_empty() && prefix_has_whole_line(&prefix, line)) {
            return Ok(prefix);
        }
    }
}

/// The first non-empty line of `bytes`, trimmed.
fn first_line(bytes: &[u8]) -> &[u8] {
    bytes
        .split(|&b| b == b'\n')
        .map(|l| l.trim_ascii())
        .find(|l| !l.is_empty())
        .unwrap_or_default()
}

/// Whether `line` (a slice of `prefix`) ends before `prefix` does (a newline follows it).
fn prefix_has_whole_line(prefix: &[u8], line: &[u8]) -> bool {
    let end = line.as_ptr() as usize - prefix.as_ptr() as usize + line.len();
    prefix[end..].contains(&b'\n')
}

/// What a parser reads: the whole input, or a stream of it.
enum Reader<'r> {
    Whole(&'r [u8]),
    Stream(&'r mut dyn BufRead),
}

/// The format descriptions the parsers need.
struct Parsers<'p> {
    schema: Option<&'p Schema>,
    schema_path: Option<&'p Path>,
    mapping: Option<&'p CsvMapping>,
}

impl Parsers<'_> {
    /// Parses `input` as `format` into `sink`; returns the format's label and the summary.
    fn parse(
        &self,
        format: FeedFormat,
        name: &str,
        file_name: &str,
        input: Reader<'_>,
        sink: &mut dyn EventSink,
    ) -> Result<(String, ParseSummary)> {
        let mut owned = Vec::new();
        let (mut whole, mut stream): (&[u8], Option<&mut dyn BufRead>) = match input {
            Reader::Whole(bytes) => (bytes, None),
            Reader::Stream(reader) => (&[], Some(reader)),
        };
        if format == FeedFormat::Stix
            && let Some(reader) = stream.take()
        {
            reader
                .read_to_end(&mut owned)
                .with_context(|| format!("cannot read {name}"))?;
            whole = &owned;
        }
        // `&[u8]` reads as a stream too.
        let reader: &mut dyn BufRead = match stream {
            Some(reader) => reader,
            None => &mut whole,
        };
        Ok(match format {
            FeedFormat::Shadowserver => {
                let schema = self.schema.ok_or_else(|| {
                    anyhow!("Shadowserver reports need --schema FILE or feeds.shadowserver_schema")
                })?;
                let report = schema.detect(file_name).map_err(|e| {
                    let from = self
                        .schema_path
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    anyhow!("{e} (schema {from})")
                })?;
                let options = firewatch_feeds::shadowserver::ParseOptions::default();
                let summary =
                    firewatch_feeds::shadowserver::parse(reader, name, report, &options, sink)?;
                (format!("shadowserver:{}", report.file_name), summary)
            }
            FeedFormat::Cowrie => {
                let options = firewatch_feeds::cowrie::CowrieOptions::default();
                let summary = firewatch_feeds::cowrie::parse(reader, name, &options, sink)?;
                ("cowrie".to_owned(), summary)
            }
            FeedFormat::Intelmq => {
                let summary = firewatch_feeds::intelmq_jsonl::parse(reader, name, sink)?;
                ("intelmq".to_owned(), summary)
            }
            FeedFormat::Csv => {
                let mapping = self
                    .mapping
                    .ok_or_else(|| anyhow!("CSV needs --mapping FILE"))?;
                let summary = firewatch_feeds::csv_mapping::parse(reader, name, mapping, sink)?;
                (format!("csv:{}", mapping.name()), summary)
            }
            FeedFormat::Stix => {
                let summary = firewatch_feeds::stix::parse(whole, name, sink)?;
                ("stix".to_owned(), summary)
            }
            FeedFormat::Auto => unreachable!("sniff returns a concrete format"),
        })
    }
}

/// The parser's events after the experts, committed in batches of [`BATCH_EVENTS`] (each in
/// its own transaction, the last recording the input), and what was rejected on the way.
struct Batches<'a> {
    experts: &'a Experts,
    /// The store; `None` in a dry run, where events are only counted.
    store: Option<&'a mut (dyn Backend + 'static)>,
    dedupe: &'a DedupeRule,
    progress: &'a mut dyn CommitProgress,
    /// The input's record; counts and feeds are filled in for the last batch.
    record: FeedInput,
    batch_size: usize,
    batch: Vec<Event>,
    /// The distinct feed names of the input's events.
    feeds: BTreeSet<String>,
    accepted: u64,
    errors: Vec<InputError>,
    rejected: u64,
    /// Batches committed by this run.
    batches: u64,
    /// Events of this input stored by an earlier, interrupted run.
    already_stored: u64,
    /// Whether an earlier run committed batches of this input.
    resumed: bool,
    /// The input was recorded meanwhile (by another process): nothing more is written.
    already_committed: bool,
    /// A commit failed: nothing more is written, and the parse is stopped.
    failed: Option<anyhow::Error>,
    stop: Rc<Cell<bool>>,
}

impl<'a> Batches<'a> {
    fn new(
        experts: &'a Experts,
        store: Option<&'a mut (dyn Backend + 'static)>,
        dedupe: &'a DedupeRule,
        progress: &'a mut dyn CommitProgress,
    ) -> Self {
        Batches {
            experts,
            store,
            dedupe,
            progress,
            record: FeedInput::default(),
            batch_size: batch_events(),
            batch: Vec::new(),
            feeds: BTreeSet::new(),
            accepted: 0,
            errors: Vec::new(),
            rejected: 0,
            batches: 0,
            already_stored: 0,
            resumed: false,
            already_committed: false,
            failed: None,
            stop: Rc::new(Cell::new(false)),
        }
    }

    /// Starts input `name`: an input an earlier run left half-committed keeps that run's
    /// ingest time (the time of its events that carry none).
    fn begin(&mut self, name: &str, hash: &str) -> Result<()> {
        let mut ingested_at = jiff::Timestamp::now().as_second();
        if let Some(store) = self.store.as_deref()
            && let Some(progress) = store.feed_input_progress(hash)?
        {
            ingested_at = progress.ingested_at;
            self.already_stored = progress.inserted;
            self.resumed = true;
        }
        self.record = FeedInput {
            content_hash: hash.to_owned(),
            name: name.to_owned(),
            ingested_at,
            ..Default::default()
        };
        self.progress.started(name);
        Ok(())
    }

    /// Commits the events gathered so far; the `last` batch records the input.
    fn flush(&mut self, last: bool) {
        let Some(store) = self.store.as_deref_mut() else {
            return;
        };
        if self.failed.is_some() || self.already_committed {
            self.batch.clear();
            return;
        }
        self.record.events = self.accepted;
        match store.commit_event_batch(&self.record, &self.batch, self.dedupe, last) {
            Ok(commit) if commit.already_committed => {
                self.already_committed = true;
                self.stop.set(true);
            }
            Ok(_) => {
                self.batches += 1;
                if !last {
                    firewatch_store::crash_point(&format!("feeds-after-batch-{}", self.batches));
                }
            }
            Err(e) => {
                self.failed = Some(e.into());
                self.stop.set(true);
            }
        }
        self.batch.clear();
    }

    /// Ends the input after its parse: commits the last batch (recording the input), or on a
    /// failed parse removes what its batches stored, and reports.
    fn end(
        mut self,
        parsed: Result<(String, ParseSummary)>,
        started: Instant,
    ) -> Result<FeedReport> {
        let parsed = match (parsed, self.failed.take()) {
            (_, Some(e)) => Err(e),
            (parsed, None) => parsed,
        };
        let (format, summary) = match parsed {
            Ok(parsed) => parsed,
            Err(_) if self.already_committed => {
                self.progress.finished();
                return Ok(FeedPipeline::already_ingested_report(
                    &self.record.name,
                    &self.record.content_hash,
                ));
            }
            Err(e) => {
                self.progress.finished();
                // An input that fails leaves nothing, as when it was one transaction: what
                // its batches (in this run or an interrupted one) stored is taken away again.
                // A store that failed is left as a crash leaves it; running again resumes.
                let store_failed = e.downcast_ref::<firewatch_store::StoreError>().is_some();
                if !store_failed
                    && (self.batches > 0 || self.resumed)
                    && let Some(store) = self.store.as_deref_mut()
                {
                    store.abandon_feed_input(&self.record.content_hash)?;
                }
                return Err(e);
            }
        };
        self.record.format = format.clone();
        self.record.feed = Some(
            self.feeds
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(","),
        )
        .filter(|f| !f.is_empty());
        self.record.records = summary.records;
        self.record.rejected = self.rejected;
        self.flush(true);
        self.progress.finished();
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let mut report = FeedReport {
            name: self.record.name.clone(),
            content_hash: self.record.content_hash.clone(),
            status: "parsed",
            format,
            records: summary.records,
            events: self.accepted,
            inserted: 0,
            duplicates: 0,
            rejected: self.rejected,
            already_stored: 0,
            rejections: self.errors.iter().map(ToString::to_string).collect(),
            seconds: 0.0,
            events_per_second: 0.0,
            error: None,
        };
        if let Some(store) = self.store.as_deref() {
            if self.already_committed {
                report.status = "already-ingested";
            } else {
                let record = store
                    .feed_input(&self.record.content_hash)?
                    .ok_or_else(|| anyhow!("the input's record is missing after its commit"))?;
                report.status = "ingested";
                report.inserted = record.inserted;
                report.duplicates = record.duplicates;
                report.already_stored = self.already_stored;
            }
        }
        report.seconds = started.elapsed().as_secs_f64();
        report.events_per_second = if report.seconds > 0.0 {
            report.events as f64 / report.seconds
        } else {
            0.0
        };
        Ok(report)
    }

    fn advanced(&mut self) {
        let records = self.accepted + self.rejected;
        if records.is_multiple_of(PROGRESS_EVERY) {
            self.progress.advanced(records);
        }
    }
}

impl EventSink for Batches<'_> {
    fn event(&mut self, mut event: Event, at: &Location) {
        match self.experts.process(&mut event) {
            Ok(()) => {
                self.accepted += 1;
                if self.store.is_some() {
                    if let Some(feed) = event.get(fields::FEED_NAME).and_then(|v| v.as_str())
                        && !self.feeds.contains(feed)
                    {
                        self.feeds.insert(feed.to_owned());
                    }
                    self.batch.push(event);
                    if self.batch.len() >= self.batch_size {
                        self.flush(false);
                    }
                }
                self.advanced();
            }
            Err(e) => self.reject(InputError::new(at.clone(), e.to_string())),
        }
    }

    fn reject(&mut self, error: InputError) {
        self.rejected += 1;
        if self.errors.len() < SHOWN_REJECTIONS {
            self.errors.push(error);
        }
        self.advanced();
    }
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
