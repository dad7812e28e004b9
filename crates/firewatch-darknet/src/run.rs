//! Runs a capture through decode and aggregation, on one thread or several.

use crate::aggregate::{Aggregate, Aggregator};
use crate::config::AggregationConfig;
use crossbeam_channel::bounded;
use firewatch_pcap::{Capture, CaptureError, Frame, FrameStats, LinkType, decode};

/// What a capture produced: the aggregate of every frame delivered, and how reading ended.
/// On damage, `result` is the error and `aggregate` holds everything before it.
#[derive(Debug)]
pub struct IngestOutcome {
    pub aggregate: Aggregate,
    pub result: Result<FrameStats, CaptureError>,
}

/// Frames handed from the reader to a worker, copied out of the reader's buffer.
struct FrameBatch {
    bytes: Vec<u8>,
    /// `(ts_ns, link, wire_len, start, end, offset)` into `bytes`.
    frames: Vec<(i64, u32, u32, usize, usize, u64)>,
}

const BATCH_FRAMES: usize = 4096;
const PROGRESS_EVERY: u64 = 1 << 16;

/// Decodes and aggregates every frame of `capture`. `threads` > 1 decodes and aggregates on
/// that many workers while this thread reads; results are merged, so they do not depend on
/// the thread count. `progress(frames, stream_offset)` is called every 65,536 frames.
pub fn aggregate_capture(
    capture: &mut Capture,
    cfg: &AggregationConfig,
    threads: usize,
    progress: &mut dyn FnMut(u64, u64),
) -> IngestOutcome {
    if threads <= 1 {
        let mut agg = Aggregator::new(cfg.clone());
        let mut n = 0u64;
        let result = capture.for_each_frame(|frame| {
            agg.observe_outcome(&decode(frame));
            n += 1;
            if n % PROGRESS_EVERY == 0 {
                progress(n, frame.offset);
            }
        });
        return IngestOutcome { aggregate: agg.finish(), result };
    }

    let (full_tx, full_rx) = bounded::<FrameBatch>(threads * 4);
    let (empty_tx, empty_rx) = bounded::<FrameBatch>(threads * 4 + 2);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let full_rx = full_rx.clone();
                let empty_tx = empty_tx.clone();
                let cfg = cfg.clone();
                scope.spawn(move || {
                    let mut agg = Aggregator::new(cfg);
                    for mut batch in full_rx {
                        for &(ts_ns, link, wire_len, start, end, offset) in &batch.frames {
                            let frame = Frame { ts_ns, link: LinkType(link), data: &batch.bytes[start..end], wire_len, offset };
                            agg.observe_outcome(&decode(&frame));
                        }
                        batch.bytes.clear();
                        batch.frames.clear();
                        let _ = empty_tx.try_send(batch);
                    }
                    agg
                })
            })
            .collect();
        drop(full_rx);

        let mut batch = FrameBatch { bytes: Vec::with_capacity(BATCH_FRAMES * 80), frames: Vec::with_capacity(BATCH_FRAMES) };
        let mut n = 0u64;
        let mut workers_gone = false;
        let result = capture.for_each_frame(|frame| {
            let start = batch.bytes.len();
            batch.bytes.extend_from_slice(frame.data);
            batch.frames.push((frame.ts_ns, frame.link.0, frame.wire_len, start, batch.bytes.len(), frame.offset));
            n += 1;
            if n % PROGRESS_EVERY == 0 {
                progress(n, frame.offset);
            }
            if batch.frames.len() == BATCH_FRAMES && !workers_gone {
                let next = empty_rx.try_recv().unwrap_or_else(|_| FrameBatch {
                    bytes: Vec::with_capacity(BATCH_FRAMES * 80),
                    frames: Vec::with_capacity(BATCH_FRAMES),
                });
                workers_gone = full_tx.send(std::mem::replace(&mut batch, next)).is_err();
            }
        });
        if !batch.frames.is_empty() {
            let _ = full_tx.send(batch);
        }
        drop(full_tx);
        let mut merged: Option<Aggregator> = None;
        for w in workers {
            // A worker only panics on a bug; propagate it rather than lose its packets silently.
            let agg = match w.join() {
                Ok(agg) => agg,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            match merged.as_mut() {
                Some(m) => m.merge(agg),
                None => merged = Some(agg),
            }
        }
        let aggregate = merged.map(Aggregator::finish).unwrap_or_default();
        IngestOutcome { aggregate, result }
    })
}
