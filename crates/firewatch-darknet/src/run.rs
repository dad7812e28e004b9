//! Runs a capture through decode and aggregation, on one thread or several.

use crate::aggregate::{Aggregate, Aggregator};
use crate::config::AggregationConfig;
use crossbeam_channel::bounded;
use firewatch_pcap::{Capture, CaptureError, FrameStats, PacketFacts, decode};

/// What a capture produced: the aggregate of every frame delivered, and how reading ended.
/// On damage, `result` is the error and `aggregate` holds everything before it.
#[derive(Debug)]
pub struct IngestOutcome {
    pub aggregate: Aggregate,
    pub result: Result<FrameStats, CaptureError>,
}

/// Packets per batch handed to a worker.
const BATCH: usize = 2048;
const PROGRESS_EVERY: u64 = 1 << 16;

/// Decodes and aggregates every frame of `capture`. With `threads` > 1 this thread reads and
/// decodes while that many workers aggregate, each its own share of the ports; results are
/// merged, so they do not depend on
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
        let mut batch = Vec::with_capacity(BATCH);
        let result = capture.for_each_frame(|frame| {
            match decode(frame) {
                Ok(p) => {
                    batch.push(p);
                    if batch.len() == BATCH {
                        agg.observe_batch(&batch);
                        batch.clear();
                    }
                }
                Err(e) => agg.observe_outcome(&Err(e)),
            }
            n += 1;
            if n.is_multiple_of(PROGRESS_EVERY) {
                progress(n, frame.offset);
            }
        });
        agg.observe_batch(&batch);
        return IngestOutcome {
            aggregate: agg.finish(),
            result,
        };
    }

    // This thread reads and decodes; each worker aggregates the ports hashed to it, so the
    // workers' port cells are disjoint and merging them at the end is cheap.
    let mut reader = Aggregator::new(cfg.clone());
    std::thread::scope(|scope| {
        let mut senders = Vec::with_capacity(threads);
        let mut workers = Vec::with_capacity(threads);
        let (recycle_tx, recycle_rx) = bounded::<Vec<PacketFacts>>(threads * 8);
        for _ in 0..threads {
            let (tx, rx) = bounded::<Vec<PacketFacts>>(4);
            senders.push(tx);
            let recycle_tx = recycle_tx.clone();
            let cfg = cfg.clone();
            workers.push(scope.spawn(move || {
                let mut agg = Aggregator::new(cfg);
                for mut batch in rx {
                    agg.observe_batch(&batch);
                    batch.clear();
                    let _ = recycle_tx.try_send(batch);
                }
                agg
            }));
        }
        let mut batches: Vec<Vec<PacketFacts>> =
            (0..threads).map(|_| Vec::with_capacity(BATCH)).collect();
        let mut n = 0u64;
        let result = capture.for_each_frame(|frame| {
            n += 1;
            if n.is_multiple_of(PROGRESS_EVERY) {
                progress(n, frame.offset);
            }
            match decode(frame) {
                Ok(p) => {
                    let shard = shard_of(&p, threads);
                    let batch = &mut batches[shard];
                    batch.push(p);
                    if batch.len() == BATCH {
                        let next = recycle_rx
                            .try_recv()
                            .unwrap_or_else(|_| Vec::with_capacity(BATCH));
                        // A worker only goes away by panicking, which `join` reports below.
                        let _ = senders[shard].send(std::mem::replace(batch, next));
                    }
                }
                Err(e) => reader.observe_outcome(&Err(e)),
            }
        });
        for (tx, batch) in senders.iter().zip(batches) {
            if !batch.is_empty() {
                let _ = tx.send(batch);
            }
        }
        drop(senders);
        for w in workers {
            // A worker only panics on a bug; propagate it rather than lose its packets silently.
            match w.join() {
                Ok(agg) => reader.merge(agg),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        IngestOutcome {
            aggregate: reader.finish(),
            result,
        }
    })
}

/// The worker that owns a packet's (protocol, port): workers then share no port cell, and
/// only source profiles need merging at the end.
fn shard_of(p: &PacketFacts, shards: usize) -> usize {
    let key = match crate::fingerprint::aggregation_port(p) {
        Some(port) => u64::from(p.proto) << 16 | u64::from(port),
        // Later fragments have no port; they only update their source.
        None => 0,
    };
    // Fibonacci hashing spreads neighbouring ports over the workers.
    ((key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) % shards as u64) as usize
}
