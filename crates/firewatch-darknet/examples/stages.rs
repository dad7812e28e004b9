//! Where the time of an ingest goes: frame reading alone, + decoding, + full aggregation.
//! For scale, two reference stages only count packets per source address, with no labels,
//! cells or profiles: the naive way (one hash-table update per packet) and the way
//! aggregation does it (append to one of 256 partitions, count a batch at a time).
//!
//! `cargo run --release -p firewatch-darknet --example stages -- CAPTURE [RUNS]`

use firewatch_darknet::{AggregationConfig, Aggregator};
use firewatch_pcap::{Capture, decode};
use rustc_hash::FxHashMap;
use std::net::IpAddr;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = std::path::Path::new(args.get(1).ok_or("usage: stages CAPTURE [RUNS]")?);
    let runs: usize = args.get(2).map(|r| r.parse()).transpose()?.unwrap_or(3);
    let mut read = Vec::new();
    let mut decoded = Vec::new();
    let mut aggregated = Vec::new();
    let mut finished = Vec::new();
    let mut counted = Vec::new();
    let mut partitioned = Vec::new();
    let mut frames = 0u64;
    for _ in 0..runs {
        let t = Instant::now();
        let mut n = 0u64;
        Capture::open(path)?.for_each_frame(|f| n += f.data.len() as u64 & 1)?;
        read.push(t.elapsed().as_secs_f64());

        let t = Instant::now();
        let mut ok = 0u64;
        let stats = Capture::open(path)?.for_each_frame(|f| ok += u64::from(decode(f).is_ok()))?;
        decoded.push(t.elapsed().as_secs_f64());
        frames = stats.frames;

        let t = Instant::now();
        let mut per_source: FxHashMap<IpAddr, u64> = FxHashMap::default();
        Capture::open(path)?.for_each_frame(|f| {
            if let Ok(p) = decode(f) {
                *per_source.entry(p.src).or_insert(0) += 1;
            }
        })?;
        counted.push(t.elapsed().as_secs_f64());
        std::hint::black_box(per_source.len());
        drop(per_source);

        let t = Instant::now();
        let mut counts = PartitionedCount::default();
        Capture::open(path)?.for_each_frame(|f| {
            if let Ok(p) = decode(f) {
                counts.add(p.src);
            }
        })?;
        counts.flush();
        partitioned.push(t.elapsed().as_secs_f64());
        std::hint::black_box(counts.tables.iter().map(|t| t.len()).sum::<usize>());
        drop(counts);

        let t = Instant::now();
        let mut agg = Aggregator::new(AggregationConfig::default());
        let mut batch = Vec::with_capacity(1024);
        Capture::open(path)?.for_each_frame(|f| match decode(f) {
            Ok(p) => {
                batch.push(p);
                if batch.len() == 1024 {
                    agg.observe_batch(&batch);
                    batch.clear();
                }
            }
            Err(e) => agg.observe_outcome(&Err(e)),
        })?;
        agg.observe_batch(&batch);
        aggregated.push(t.elapsed().as_secs_f64());
        let t2 = Instant::now();
        let out = agg.finish();
        finished.push(t2.elapsed().as_secs_f64());
        std::hint::black_box((n, ok, out.cells.len()));
    }
    let rate = |s: f64| frames as f64 / s / 1e6;
    println!("{frames} frames, median of {runs} runs");
    for (stage, seconds) in [
        ("read frames only", read),
        ("read + decode", decoded),
        ("reference: + count per source, one table", counted),
        ("reference: + count per source, partitioned", partitioned),
        ("read + decode + observe", aggregated),
    ] {
        let s = median(seconds);
        println!("{stage:<43} {s:7.3} s  {:6.2} M frames/s", rate(s));
    }
    println!(
        "{:<43} {:7.3} s",
        "finish (sort, collect)",
        median(finished)
    );
    Ok(())
}

/// Packets per source, counted as the aggregator's second pass does: IPv4 addresses appended
/// to one of 256 lists by hash, each list counted into its own table every 2 Mi packets (the
/// few IPv6 sources go straight to one table).
struct PartitionedCount {
    pending: Vec<Vec<u32>>,
    pending_len: usize,
    tables: Vec<FxHashMap<u32, u64>>,
    v6: FxHashMap<IpAddr, u64>,
}

impl Default for PartitionedCount {
    fn default() -> Self {
        PartitionedCount {
            pending: (0..256).map(|_| Vec::new()).collect(),
            pending_len: 0,
            tables: (0..256).map(|_| FxHashMap::default()).collect(),
            v6: FxHashMap::default(),
        }
    }
}

impl PartitionedCount {
    fn add(&mut self, src: IpAddr) {
        let IpAddr::V4(a) = src else {
            *self.v6.entry(src).or_insert(0) += 1;
            return;
        };
        let key = u32::from(a);
        self.pending[(key.wrapping_mul(0x9e37_79b1) >> 24) as usize].push(key);
        self.pending_len += 1;
        if self.pending_len == 2 << 20 {
            self.flush();
        }
    }

    fn flush(&mut self) {
        for (list, table) in self.pending.iter_mut().zip(&mut self.tables) {
            for &src in list.iter() {
                *table.entry(src).or_insert(0) += 1;
            }
            list.clear();
        }
        self.pending_len = 0;
    }
}
