//! Where the time of an ingest goes: frame reading alone, + decoding, + full aggregation.
//!
//! `cargo run --release -p firewatch-darknet --example stages -- CAPTURE [RUNS]`

use firewatch_darknet::{AggregationConfig, Aggregator};
use firewatch_pcap::{Capture, decode};
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
    println!(
        "read frames only        {:7.3} s  {:6.2} M frames/s",
        median(read.clone()),
        rate(median(read))
    );
    println!(
        "read + decode           {:7.3} s  {:6.2} M frames/s",
        median(decoded.clone()),
        rate(median(decoded))
    );
    println!(
        "read + decode + observe {:7.3} s  {:6.2} M frames/s",
        median(aggregated.clone()),
        rate(median(aggregated))
    );
    println!("finish (sort, collect)  {:7.3} s", median(finished));
    Ok(())
}
