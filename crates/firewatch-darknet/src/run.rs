//! Runs a capture through decode and aggregation, on one thread or several.

use crate::aggregate::{Aggregate, Aggregator, TableWorker};
use crate::config::AggregationConfig;
use crate::sources::{RecordBuffer, SourceTable};
use crossbeam_channel::bounded;
use firewatch_pcap::{Capture, CaptureError, FrameStats, decode};

/// What a capture produced: the aggregate of every frame delivered, and how reading ended.
/// On damage, `result` is the error and `aggregate` holds everything before it.
#[derive(Debug)]
pub struct IngestOutcome {
    pub aggregate: Aggregate,
    pub result: Result<FrameStats, CaptureError>,
}

const PROGRESS_EVERY: u64 = 1 << 16;

/// Decodes and aggregates every frame of `capture`. With `threads` > 1 this thread reads,
/// decodes and does the first pass (port cells, backscatter) while `threads - 1` workers
/// build the source profiles, each for its own range of source partitions. Results do not
/// depend on the thread count. `progress(frames, stream_offset)` is called every 65,536
/// frames.
pub fn aggregate_capture(
    capture: &mut Capture,
    cfg: &AggregationConfig,
    threads: usize,
    progress: &mut dyn FnMut(u64, u64),
) -> IngestOutcome {
    if threads <= 1 {
        let mut agg = Aggregator::new(cfg.clone());
        let result = read_into(capture, &mut agg, progress);
        return IngestOutcome {
            aggregate: agg.finish(),
            result,
        };
    }
    std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(threads - 1);
        let mut workers: Vec<TableWorker> = Vec::with_capacity(threads - 1);
        for _ in 1..threads {
            let (full_tx, full_rx) = bounded::<RecordBuffer>(1);
            let (empty_tx, empty_rx) = bounded::<RecordBuffer>(2);
            handles.push(scope.spawn(move || {
                let mut table = SourceTable::new();
                for mut buffer in full_rx {
                    table.absorb(&mut buffer);
                    // The reader may already have gone; the buffer is then simply dropped.
                    let _ = empty_tx.try_send(buffer);
                }
                table
            }));
            workers.push(Box::new(move |full: RecordBuffer| {
                // A worker only goes away by panicking, which `join` reports below.
                let _ = full_tx.send(full);
                empty_rx.try_recv().unwrap_or_else(|_| RecordBuffer::new())
            }));
        }
        let mut agg = Aggregator::with_workers(cfg.clone(), workers);
        let result = read_into(capture, &mut agg, progress);
        agg.release_workers();
        let mut table = SourceTable::new();
        for handle in handles {
            // A worker only panics on a bug; propagate it rather than lose its packets silently.
            match handle.join() {
                Ok(theirs) => table.merge(theirs),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        IngestOutcome {
            aggregate: agg.finish_with(table),
            result,
        }
    })
}

/// Decodes every frame of `capture` into `agg`.
fn read_into(
    capture: &mut Capture,
    agg: &mut Aggregator,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<FrameStats, CaptureError> {
    let mut n = 0u64;
    capture.for_each_frame(|frame| {
        agg.observe_outcome(&decode(frame));
        n += 1;
        if n.is_multiple_of(PROGRESS_EVERY) {
            progress(n, frame.offset);
        }
    })
}
