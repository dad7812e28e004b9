//! Capture ingest: each capture decoded, labelled and aggregated, then committed in one
//! transaction (known by its content hash, so a capture is ingested once); then the port
//! alerts are re-derived and the findings stored as events.

use crate::Context;
use crate::derivation::TelescopeDerivation;
use anyhow::{Context as _, Result};
use firewatch_darknet::{AggregationConfig, aggregate_capture};
use firewatch_pcap::{Capture, DecodeCounters};
use firewatch_store::{Backend, InputRecord, TimeRange, crash_point};
use serde::Serialize;
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

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
}

/// Options of one ingest run.
pub struct IngestOptions {
    /// Aggregation threads.
    pub threads: usize,
    /// Intervals, memory bounds, flowtuples.
    pub aggregation: AggregationConfig,
    /// Decode, label and aggregate; write nothing (and skip the content hash).
    pub dry_run: bool,
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

/// Ingests one input into `store` (or nowhere, for a dry run).
pub fn ingest_one(
    path: &Path,
    store: Option<&mut (dyn Backend + 'static)>,
    rules: &TelescopeDerivation,
    opts: &IngestOptions,
    progress: &mut dyn CaptureProgress,
) -> Result<InputReport> {
    let name = path.display().to_string();
    let is_stdin = name == "-";
    let stdin_hash = Arc::new(Mutex::new(blake3::Hasher::new()));
    let mut known_hash = None;
    // The content hash only serves deduplication in the store: a dry run skips it, so that
    // it measures decoding, labelling and aggregation alone.
    let hashing = store.is_some();
    if !is_stdin && hashing {
        let hash = hash_file(path)?;
        if let Some(store) = store.as_deref()
            && store.input(&hash)?.is_some()
        {
            return Ok(InputReport {
                name,
                content_hash: hash,
                status: "already-ingested",
                frames: 0,
                ip_packets: 0,
                counters: DecodeCounters::default(),
                sources: 0,
                seconds: 0.0,
                packets_per_second: 0.0,
                error: None,
            });
        }
        known_hash = Some(hash);
    }
    let mut capture = if is_stdin && hashing {
        let reader = HashingReader {
            inner: std::io::stdin(),
            hasher: Arc::clone(&stdin_hash),
        };
        Capture::from_reader("<stdin>", Box::new(reader))?
    } else if is_stdin {
        Capture::from_reader("<stdin>", Box::new(std::io::stdin()))?
    } else {
        Capture::open(path)?
    };
    let format = format!("{:?}", capture.format());
    progress.reading(&name);
    let started = Instant::now();
    let outcome = aggregate_capture(
        &mut capture,
        &opts.aggregation,
        opts.threads,
        &mut |frames, _| progress.frames(frames),
    );
    progress.read();
    let seconds = started.elapsed().as_secs_f64();
    drop(capture);
    let agg = outcome.aggregate;
    let content_hash = match known_hash {
        Some(h) => h,
        None if !hashing => String::new(),
        None => stdin_hash
            .lock()
            .map(|h| h.finalize().to_hex().to_string())
            .unwrap_or_default(),
    };
    let error = outcome.result.as_ref().err().map(|e| e.to_string());
    let frames = match &outcome.result {
        Ok(stats) => stats.frames,
        Err(_) => agg.counters.frames,
    };
    let mut status = if error.is_some() {
        "partial"
    } else {
        "ingested"
    };
    if let Some(store) = store {
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
        crash_point("before-commit");
        progress.committing(agg.sources.len());
        let committed = store.commit_capture(&record, &agg, rules);
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
        Some(ctx.store()?)
    };
    // Attribution data is loaded once per run; a dry run attributes nothing.
    let mut rules = TelescopeDerivation {
        labels: ctx.config.labels.clone(),
        attacks: ctx.config.attacks.clone(),
        enricher: if opts.dry_run {
            None
        } else {
            Some(crate::attribution::enricher(ctx)?)
        },
    };
    let mut loaded_dataset = crate::dataset::current_dataset(&ctx.db)?;
    let mut reports = Vec::new();
    for f in files {
        let path = f.as_ref();
        // `data update` may have put a new dataset in force: switch before the next input.
        if rules.enricher.is_some() && crate::dataset::dataset_changed(&ctx.db, &loaded_dataset) {
            loaded_dataset = crate::dataset::current_dataset(&ctx.db)?;
            rules.enricher = Some(crate::attribution::enricher(ctx)?);
        }
        match ingest_one(path, store.as_deref_mut(), &rules, opts, progress) {
            Ok(r) => reports.push(r),
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
            }),
        }
    }
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
