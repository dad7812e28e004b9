//! Capture ingest: each capture decoded, labelled and aggregated, then committed in one
//! transaction (known by its content hash, so a capture is ingested once); then the port
//! alerts are re-derived and the findings stored as events.
//!
//! A capture is also known by its packets, so that no packet is counted twice when the bytes
//! differ but the traffic does not (issue 22, item 12). Each committed capture keeps its
//! [`CaptureExtent`]: the time of its first frame and a fingerprint of its first
//! [`FINGERPRINT_FRAMES`] frames as decoded (timestamp, wire length, bytes), which a `.pcap`,
//! its `.pcap.gz` and a pcapng conversion that keeps the packets share. Before a capture is
//! read:
//! - the same start as a stored capture, and no more frames than it counted: already ingested;
//! - the same start and more frames (the stored one was partial, cut while being written):
//!   only the frames after those already counted are aggregated and committed;
//! - otherwise, packets whose time range meets a stored input's: a different capture of the
//!   same time, refused (naming the other input) unless overlaps are allowed.

use crate::Context;
use crate::derivation::TelescopeDerivation;
use anyhow::{Context as _, Result};
use firewatch_core::attribution::Attribute;
use firewatch_darknet::{AggregationConfig, Aggregator, IngestOutcome, aggregate_capture};
use firewatch_pcap::{Capture, DecodeCounters, decode};
use firewatch_store::{Backend, CaptureExtent, InputRecord, TimeRange, crash_point};
use serde::Serialize;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Frames a capture's fingerprint covers: enough that two different captures never share
/// them (a telescope's first 64 packets, to the nanosecond), few enough to read at once.
pub const FINGERPRINT_FRAMES: usize = 64;

/// What happened to one input.
#[derive(Debug, Serialize)]
#[allow(missing_docs)]
pub struct InputReport {
    pub name: String,
    pub content_hash: String,
    /// ingested, already-ingested, partial (damaged: what came before the damage was kept), failed
    pub status: &'static str,
    pub frames: u64,
    pub ip_packets: u64,
    pub counters: DecodeCounters,
    pub sources: usize,
    pub seconds: f64,
    pub packets_per_second: f64,
    pub error: Option<String>,
    /// Frames at the start that a stored input of the same capture had counted already
    /// (a partial version of it): this input counted only those after them.
    pub skipped_frames: u64,
    /// The stored input holding the same capture (already ingested, or continued), as
    /// `name (content hash)`.
    pub same_capture_as: Option<String>,
}

impl InputReport {
    fn already(name: String, content_hash: String, same_capture_as: Option<String>) -> Self {
        InputReport {
            name,
            content_hash,
            status: "already-ingested",
            frames: 0,
            ip_packets: 0,
            counters: DecodeCounters::default(),
            sources: 0,
            seconds: 0.0,
            packets_per_second: 0.0,
            error: None,
            skipped_frames: 0,
            same_capture_as,
        }
    }
}

/// Options of one ingest run.
pub struct IngestOptions {
    /// Aggregation threads.
    pub threads: usize,
    /// Intervals, memory bounds, flowtuples.
    pub aggregation: AggregationConfig,
    /// Decode, label and aggregate; write nothing (and skip the content hash).
    pub dry_run: bool,
    /// Commit a capture whose packets' time range meets a stored input's (a different
    /// capture of the same time, e.g. from a second sensor) instead of refusing it.
    pub allow_overlap: bool,
}

/// Told how an ingest goes, so a caller can show it (the command line draws bars on a
/// terminal); every method does nothing by default.
pub trait CaptureProgress {
    /// Reading of capture `name` starts.
    fn reading(&mut self, _name: &str) {}
    /// `frames` frames of the current capture are read.
    fn frames(&mut self, _frames: u64) {}
    /// The current capture is read.
    fn read(&mut self) {}
    /// The aggregate of `sources` sources is being committed.
    fn committing(&mut self, _sources: usize) {}
    /// The commit ended.
    fn committed(&mut self) {}
}

/// Shows nothing.
pub struct NoProgress;

impl CaptureProgress for NoProgress {}

/// Reads standard input while hashing it, so stdin captures are deduplicated like files.
struct HashingReader<R> {
    inner: R,
    hasher: Arc<Mutex<blake3::Hasher>>,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Ok(mut h) = self.hasher.lock() {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

fn hash_file(path: &Path) -> Result<String> {
    let mut hasher = blake3::Hasher::new();
    hasher
        .update_mmap(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(hasher.finalize().to_hex().to_string())
}

/// Passes reads through until told to stop, then reports the end of the stream; keeps a copy
/// of what it passed when asked to (standard input, which cannot be read twice).
struct StoppableReader<R> {
    inner: R,
    stop: Arc<AtomicBool>,
    copy: Option<Arc<Mutex<Vec<u8>>>>,
}

impl<R: Read> Read for StoppableReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.stop.load(Ordering::Relaxed) {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if let Some(copy) = &self.copy
            && let Ok(mut copy) = copy.lock()
        {
            copy.extend_from_slice(&buf[..n]);
        }
        Ok(n)
    }
}

/// How a capture begins: the time of its first frame, and the fingerprint of its first `i + 1`
/// frames for each `i` (at most [`FINGERPRINT_FRAMES`]). Empty captures have none.
#[derive(Debug)]
struct CaptureStart {
    first_frame_ns: i64,
    prefixes: Vec<String>,
}

impl CaptureStart {
    /// True when `extent` begins as this capture does (over the frames its fingerprint covers).
    fn matches(&self, extent: &CaptureExtent) -> bool {
        let n = extent.fingerprint_frames as usize;
        extent.first_frame_ns == self.first_frame_ns
            && n >= 1
            && self.prefixes.get(n - 1) == Some(&extent.fingerprint)
    }
}

/// Reads the first frames of a capture (and no more than the reader's buffer beyond them).
fn read_start(
    name: &str,
    reader: Box<dyn Read + Send>,
    stop: Arc<AtomicBool>,
) -> Result<Option<CaptureStart>> {
    let mut capture = Capture::from_reader(name, reader)?;
    let mut hasher = blake3::Hasher::new();
    let mut start: Option<CaptureStart> = None;
    // The reader is cut once enough frames are seen: the error that follows is expected, and
    // damage within the first frames shows again, located, when the capture is read.
    let _ = capture.for_each_frame(|frame| {
        let s = start.get_or_insert_with(|| CaptureStart {
            first_frame_ns: frame.ts_ns,
            prefixes: Vec::with_capacity(FINGERPRINT_FRAMES),
        });
        if s.prefixes.len() >= FINGERPRINT_FRAMES {
            return;
        }
        hasher.update(&frame.ts_ns.to_le_bytes());
        hasher.update(&frame.wire_len.to_le_bytes());
        hasher.update(&(frame.data.len() as u64).to_le_bytes());
        hasher.update(frame.data);
        s.prefixes.push(hasher.finalize().to_hex().to_string());
        if s.prefixes.len() >= FINGERPRINT_FRAMES {
            stop.store(true, Ordering::Relaxed);
        }
    });
    Ok(start)
}

/// What the store already holds of a capture that begins as `start` does.
struct Known {
    /// Stored inputs of the same capture (a partial version, another copy), most counted first.
    same: Vec<CaptureExtent>,
}

impl Known {
    /// Frames of the capture already counted.
    fn counted(&self) -> u64 {
        self.same
            .iter()
            .map(|e| e.frames_through)
            .max()
            .unwrap_or(0)
    }

    fn is_same(&self, content_hash: &str) -> bool {
        self.same.iter().any(|e| e.content_hash == content_hash)
    }
}

/// `name (content hash 0123456789abcdef)` of a stored input.
fn describe(store: &dyn Backend, content_hash: &str) -> String {
    let short = &content_hash[..16.min(content_hash.len())];
    match store.input(content_hash) {
        Ok(Some(i)) => format!("{} (content hash {short})", i.name),
        _ => format!("content hash {short}"),
    }
}

fn ns_text(ns: i64) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(ns))
        .map_or_else(|_| ns.to_string(), |t| t.to_string())
}

/// Refuses a capture whose packets (`first_ns..=last_ns`) meet those of a stored input that
/// is not the same capture.
fn refuse_overlap(
    store: &dyn Backend,
    name: &str,
    known: &Known,
    first_ns: i64,
    last_ns: i64,
) -> Result<()> {
    let others: Vec<_> = store
        .inputs_overlapping(first_ns, last_ns)?
        .into_iter()
        .filter(|i| !known.is_same(&i.content_hash))
        .collect();
    let Some(other) = others.first() else {
        return Ok(());
    };
    let ours = if first_ns == last_ns {
        format!("its first packet ({}) falls within", ns_text(first_ns))
    } else {
        format!(
            "its packets ({} to {}) overlap",
            ns_text(first_ns),
            ns_text(last_ns)
        )
    };
    let more = match others.len() {
        1 => String::new(),
        2 => " and 1 other input".to_owned(),
        n => format!(" and {} other inputs", n - 1),
    };
    anyhow::bail!(
        "{name}: {ours} those of {} ({} to {}){more}, a different capture; refused, so that no \
         packet is counted twice. hint: if both hold different traffic (two sensors), ingest \
         with --allow-overlap; if the stored ones should not count, `firewatch inputs forget \
         HASH` (see `firewatch inputs list`) lets this one in (what they counted stays counted)",
        describe(store, &other.content_hash),
        other.first_ns.map_or_else(String::new, ns_text),
        other.last_ns.map_or_else(String::new, ns_text),
    );
}

/// Decodes and aggregates the frames of `capture` after the first `skip` (counted already by
/// a stored partial version of it). Returns the outcome and how many frames the capture has.
fn aggregate_after(
    capture: &mut Capture,
    opts: &IngestOptions,
    skip: u64,
    progress: &mut dyn CaptureProgress,
) -> (IngestOutcome, u64) {
    if skip == 0 {
        let outcome = aggregate_capture(capture, &opts.aggregation, opts.threads, &mut |f, _| {
            progress.frames(f)
        });
        let total = match &outcome.result {
            Ok(stats) => stats.frames,
            Err(_) => outcome.aggregate.counters.frames,
        };
        return (outcome, total);
    }
    // Rare (a partial capture completed), so one thread: results do not depend on the count.
    let mut agg = Aggregator::new(opts.aggregation.clone());
    let mut n = 0u64;
    let result = capture.for_each_frame(|frame| {
        n += 1;
        if n > skip {
            agg.observe_outcome(&decode(frame));
        }
        if n.is_multiple_of(65_536) {
            progress.frames(n);
        }
    });
    (
        IngestOutcome {
            aggregate: agg.finish(),
            result,
        },
        n,
    )
}

/// The content hash of a capture file, computed on another thread while the capture is read
/// and aggregated (the hash alone is a third of a dry run's time): when it names an input
/// the store holds, the aggregation is stopped and the input reported as already ingested,
/// as if the hash had been checked first.
struct HashJob {
    handle: Option<std::thread::JoinHandle<Result<String>>>,
    /// The content hashes of every stored input, read before the capture.
    stored: Arc<std::collections::HashSet<String>>,
    /// Set by the hashing thread when the hash is one of `stored`.
    stop: Arc<AtomicBool>,
    result: Option<String>,
}

impl HashJob {
    fn start(path: &Path, store: &dyn Backend) -> Result<Self> {
        let stored: Arc<std::collections::HashSet<String>> = Arc::new(
            store
                .inputs()?
                .into_iter()
                .map(|i| i.content_hash)
                .collect(),
        );
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let (path, stored, stop) = (path.to_path_buf(), Arc::clone(&stored), Arc::clone(&stop));
            std::thread::spawn(move || {
                let hash = hash_file(&path)?;
                if stored.contains(&hash) {
                    stop.store(true, Ordering::Relaxed);
                }
                Ok(hash)
            })
        };
        Ok(HashJob {
            handle: Some(handle),
            stored,
            stop,
            result: None,
        })
    }

    /// The content hash, once computed.
    fn hash(&mut self) -> Result<String> {
        if let Some(handle) = self.handle.take() {
            let hash = handle
                .join()
                .map_err(|_| anyhow::anyhow!("hashing the capture failed"))??;
            self.result = Some(hash);
        }
        self.result
            .clone()
            .ok_or_else(|| anyhow::anyhow!("hashing the capture failed"))
    }

    /// The content hash if the store holds an input under it.
    fn stored_hash(&mut self) -> Result<Option<String>> {
        let hash = self.hash()?;
        Ok(self.stored.contains(&hash).then_some(hash))
    }
}

/// The derivation rules of an ingest run, whose attribution data (half a second to build
/// from the registry data) loads on another thread while the first capture is read.
pub struct PendingRules<'scope> {
    rules: TelescopeDerivation,
    pending: Option<std::thread::ScopedJoinHandle<'scope, Result<Arc<dyn Attribute>>>>,
    /// Why loading the attribution data failed: the run fails with it, as when it was
    /// loaded before any capture was read.
    failed: Option<anyhow::Error>,
}

impl PendingRules<'_> {
    /// Rules that are complete already.
    pub fn ready(rules: TelescopeDerivation) -> Self {
        PendingRules {
            rules,
            pending: None,
            failed: None,
        }
    }

    /// The rules, once the attribution data is loaded.
    pub fn get(&mut self) -> Result<&TelescopeDerivation> {
        if let Some(handle) = self.pending.take() {
            let loaded = handle
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("loading the attribution data failed")));
            match loaded {
                Ok(e) => self.rules.enricher = Some(e),
                Err(e) => {
                    let text = format!("{e:#}");
                    self.failed = Some(e);
                    anyhow::bail!(text);
                }
            }
        }
        Ok(&self.rules)
    }
}

/// Ingests one input into `store` (or nowhere, for a dry run).
pub fn ingest_one(
    path: &Path,
    store: Option<&mut (dyn Backend + 'static)>,
    rules: &mut PendingRules<'_>,
    opts: &IngestOptions,
    progress: &mut dyn CaptureProgress,
) -> Result<InputReport> {
    let name = path.display().to_string();
    // The content hash only serves deduplication in the store: a dry run skips it, so that
    // it measures decoding, labelling and aggregation alone.
    let mut job = match store.as_deref() {
        Some(store) if name != "-" => Some(HashJob::start(path, store)?),
        _ => None,
    };
    let result = ingest_hashing(path, store, rules, opts, progress, job.as_mut());
    // An input stored under the same content hash was ingested already, whatever reading
    // this one found (the hash used to be checked before anything else).
    // A file that cannot be hashed fails with that error, as it did when hashed first.
    if let Some(job) = job.as_mut()
        && let Some(hash) = job.stored_hash()?
    {
        return Ok(InputReport::already(name, hash, None));
    }
    result
}

fn ingest_hashing(
    path: &Path,
    store: Option<&mut (dyn Backend + 'static)>,
    rules: &mut PendingRules<'_>,
    opts: &IngestOptions,
    progress: &mut dyn CaptureProgress,
    mut job: Option<&mut HashJob>,
) -> Result<InputReport> {
    let name = path.display().to_string();
    let is_stdin = name == "-";
    let stdin_hash = Arc::new(Mutex::new(blake3::Hasher::new()));
    let hashing = store.is_some();
    // How the capture begins (read first, from the file again or from standard input kept
    // aside), and what the store holds of it.
    let mut start = None;
    let mut stdin_head: Option<Vec<u8>> = None;
    if store.is_some() {
        let stop = Arc::new(AtomicBool::new(false));
        let copy = Arc::new(Mutex::new(Vec::new()));
        let reader: Box<dyn Read + Send> = if is_stdin {
            Box::new(StoppableReader {
                inner: std::io::stdin(),
                stop: Arc::clone(&stop),
                copy: Some(Arc::clone(&copy)),
            })
        } else {
            let file = std::fs::File::open(path).with_context(|| format!("{name}: cannot open"))?;
            Box::new(StoppableReader {
                inner: file,
                stop: Arc::clone(&stop),
                copy: None,
            })
        };
        let read = read_start(if is_stdin { "<stdin>" } else { &name }, reader, stop);
        if is_stdin {
            stdin_head = Some(std::mem::take(&mut *copy.lock().map_err(|_| {
                anyhow::anyhow!("{name}: the copy of standard input was lost")
            })?));
        }
        start = read?;
    }
    let known = match (&start, store.as_deref()) {
        (Some(s), Some(store)) => Known {
            same: store
                .capture_extents_starting_at(s.first_frame_ns)?
                .into_iter()
                .filter(|e| s.matches(e))
                .collect(),
        },
        _ => Known { same: Vec::new() },
    };
    let skip = known.counted();
    let same_capture_as = known
        .same
        .first()
        .zip(store.as_deref())
        .map(|(e, store)| describe(store, &e.content_hash));
    if let (Some(s), Some(store)) = (&start, store.as_deref())
        && !opts.allow_overlap
        && skip == 0
    {
        // Known before reading it all: the capture starts inside another one.
        refuse_overlap(store, &name, &known, s.first_frame_ns, s.first_frame_ns)?;
    }
    let mut capture = if is_stdin {
        let head = std::io::Cursor::new(stdin_head.unwrap_or_default());
        let rest = head.chain(std::io::stdin());
        if hashing {
            let reader = HashingReader {
                inner: rest,
                hasher: Arc::clone(&stdin_hash),
            };
            Capture::from_reader("<stdin>", Box::new(reader))?
        } else {
            Capture::from_reader("<stdin>", Box::new(rest))?
        }
    } else if let Some(job) = job.as_deref() {
        let file = std::fs::File::open(path).with_context(|| format!("{name}: cannot open"))?;
        let reader = StoppableReader {
            inner: file,
            stop: Arc::clone(&job.stop),
            copy: None,
        };
        Capture::from_reader(name.clone(), Box::new(reader))?
    } else {
        Capture::open(path)?
    };
    let format = format!("{:?}", capture.format());
    progress.reading(&name);
    let started = Instant::now();
    let (outcome, total_frames) = aggregate_after(&mut capture, opts, skip, progress);
    progress.read();
    let seconds = started.elapsed().as_secs_f64();
    drop(capture);
    let agg = outcome.aggregate;
    let content_hash = match job.as_mut() {
        Some(job) => {
            if job.stored_hash()?.is_some() {
                // Reported as already ingested by the caller.
                anyhow::bail!("{name}: already ingested");
            }
            job.hash()?
        }
        None if !hashing => String::new(),
        None => stdin_hash
            .lock()
            .map(|h| h.finalize().to_hex().to_string())
            .unwrap_or_default(),
    };
    let error = outcome.result.as_ref().err().map(|e| e.to_string());
    if skip > 0 && total_frames <= skip {
        // Every frame of this version was counted through the stored one.
        return Ok(InputReport::already(name, content_hash, same_capture_as));
    }
    let frames = total_frames - skip;
    let mut status = if error.is_some() {
        "partial"
    } else {
        "ingested"
    };
    if let Some(store) = store {
        if let (Some((first, last)), false) = (agg.time_range, opts.allow_overlap) {
            refuse_overlap(store, &name, &known, first, last)?;
        }
        let record = InputRecord {
            content_hash: content_hash.clone(),
            name: name.clone(),
            format,
            ingested_at: jiff::Timestamp::now().as_second(),
            frames,
            ip_packets: agg.counters.ip_packets,
            first_ns: agg.time_range.map(|r| r.0),
            last_ns: agg.time_range.map(|r| r.1),
            complete: error.is_none(),
            error: error.clone(),
            counters: serde_json::to_value(agg.counters)?,
        };
        let extent = start.as_ref().map(|s| CaptureExtent {
            content_hash: content_hash.clone(),
            first_frame_ns: s.first_frame_ns,
            fingerprint: s.prefixes.last().cloned().unwrap_or_default(),
            fingerprint_frames: s.prefixes.len() as u32,
            skipped_frames: skip,
            frames_through: total_frames,
            continues: (skip > 0)
                .then(|| known.same.first().map(|e| e.content_hash.clone()))
                .flatten(),
        });
        let rules = rules.get()?;
        crash_point("before-commit");
        progress.committing(agg.sources.len());
        let committed = match &extent {
            Some(extent) => store.commit_capture_extent(&record, extent, &agg, rules),
            None => store.commit_capture(&record, &agg, rules),
        };
        progress.committed();
        let committed = committed?;
        if !committed {
            status = "already-ingested";
        }
        crash_point("after-commit");
    }
    let (counters, sources) = (agg.counters, agg.sources.len());
    // Freeing a large aggregate (a million source profiles) takes a noticeable moment: let a
    // background thread do it while the next input is read or the process ends.
    std::thread::spawn(move || drop(agg));
    Ok(InputReport {
        name,
        content_hash,
        status,
        frames,
        ip_packets: counters.ip_packets,
        counters,
        sources,
        seconds,
        packets_per_second: if seconds > 0.0 {
            frames as f64 / seconds
        } else {
            0.0
        },
        error,
        skipped_frames: skip,
        same_capture_as: (skip > 0).then_some(same_capture_as).flatten(),
    })
}

/// Ingests every input, then re-derives alerts. Damaged inputs keep what came before the
/// damage and make the exit status non-zero; the other inputs go on.
pub fn ingest_all(
    ctx: &Context,
    files: &[impl AsRef<Path>],
    opts: &IngestOptions,
    progress: &mut dyn CaptureProgress,
) -> Result<Vec<InputReport>> {
    let mut store = if opts.dry_run {
        None
    } else {
        let store = ctx.store()?;
        // A read-only or corrupt store refuses before any capture is read, not after.
        store.check_writable()?;
        Some(store)
    };
    // Attribution data is loaded once per run, on another thread while the first capture is
    // read; a dry run attributes nothing.
    let rules = TelescopeDerivation {
        labels: ctx.config.labels.clone(),
        attacks: ctx.config.attacks.clone(),
        enricher: None,
    };
    let reports = std::thread::scope(|scope| -> Result<Vec<InputReport>> {
        let mut rules = PendingRules {
            rules,
            pending: (!opts.dry_run).then(|| scope.spawn(|| crate::attribution::enricher(ctx))),
            failed: None,
        };
        let mut loaded_dataset = crate::dataset::current_dataset(ctx.dataset_anchor())?;
        let mut reports = Vec::new();
        for f in files {
            let path = f.as_ref();
            // `data update` may have put a new dataset in force: switch before the next input.
            if !opts.dry_run
                && crate::dataset::dataset_changed(ctx.dataset_anchor(), &loaded_dataset)
            {
                loaded_dataset = crate::dataset::current_dataset(ctx.dataset_anchor())?;
                rules.get()?;
                rules.rules.enricher = Some(crate::attribution::enricher(ctx)?);
            }
            match ingest_one(path, store.as_deref_mut(), &mut rules, opts, progress) {
                Ok(r) => reports.push(r),
                Err(_) if rules.failed.is_some() => {
                    return Err(rules.failed.take().unwrap_or_else(|| anyhow::anyhow!("")));
                }
                Err(e) => reports.push(InputReport {
                    name: path.display().to_string(),
                    content_hash: String::new(),
                    status: "failed",
                    frames: 0,
                    ip_packets: 0,
                    counters: DecodeCounters::default(),
                    sources: 0,
                    seconds: 0.0,
                    packets_per_second: 0.0,
                    error: Some(format!("{e:#}")),
                    skipped_frames: 0,
                    same_capture_as: None,
                }),
            }
        }
        // A run that committed nothing still fails as before when the data cannot load.
        rules.get()?;
        Ok(reports)
    })?;
    if let Some(store) = store.as_mut() {
        crate::alerts::refresh_if_stale(store.as_mut(), &ctx.config.detect)?;
        crash_point("after-alerts");
        // The findings of these captures become events; re-run for already ingested ones too,
        // so a run killed before this point completes it when started again.
        let mut span: Option<(i64, i64)> = None;
        for r in &reports {
            if let Some(input) = store.input(&r.content_hash)?
                && let (Some(first), Some(last)) = (input.first_ns, input.last_ns)
            {
                let (a, b) = span.unwrap_or((first, last));
                span = Some((a.min(first), b.max(last)));
            }
        }
        if let Some((first, last)) = span {
            let range = TimeRange {
                since: Some(first.div_euclid(1_000_000_000)),
                until: Some(last.div_euclid(1_000_000_000) + 1),
            };
            crate::findings::derive(ctx, &range)?;
        }
    }
    Ok(reports)
}
