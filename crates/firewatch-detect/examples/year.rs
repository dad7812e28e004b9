//! Times `detect` and `baseline` on a one-year 60 s series (525,600 points).
//!
//! `cargo run -p firewatch-detect --release --example year`

use std::time::Instant;

use firewatch_detect::{DetectConfig, SeriesPoint, baseline, detect};

fn main() {
    // Deterministic background with daily rhythm, noise and a few bursts.
    let mut state = 0x1234_5678_9abc_def0u64;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % 11
    };
    let series: Vec<SeriesPoint> = (0..525_600i64)
        .map(|i| {
            let daily = ((i % 1440) as f64 / 1440.0 * std::f64::consts::TAU).sin();
            let base = (40.0 + 15.0 * daily) as u64 + noise();
            let burst = i % 50_000 < 20;
            SeriesPoint {
                interval_start: 1_700_000_000 + i * 60,
                packets: if burst { base * 12 } else { base },
                unique_sources: if burst { 150 } else { 5 + noise() / 2 },
            }
        })
        .collect();
    let cfg = DetectConfig::default();
    let t = Instant::now();
    let dets = detect(&series, 60, &cfg);
    let detect_time = t.elapsed();
    let t = Instant::now();
    let b = baseline(&series, &cfg);
    let baseline_time = t.elapsed();
    println!(
        "{} points: detect {:?} ({} detections), baseline {:?} ({} entries)",
        series.len(),
        detect_time,
        dets.len(),
        baseline_time,
        b.len()
    );
}
