//! Parses one Shadowserver CSV report and prints one JSON line with the throughput, in the same
//! shape as the IntelMQ harness (`../shared/bench/intelmq_shadowserver.py`).
//!
//! ```sh
//! cargo run --release -p firewatch-feeds --example parse_shadowserver -- \
//!     intelmq.json 2026-01-01-scan_dns-test-geo.csv [--repeat 3] [--out events.jsonl]
//! ```
//! `--out` writes the events of the last run as IntelMQ JSON lines; rejected rows go to stderr.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use firewatch_core::{Event, EventSink, InputError, Location};
use firewatch_feeds::shadowserver::{ParseOptions, Schema, parse};

/// Counts events (and optionally writes them), as a pipeline's next stage would consume them.
struct Sink {
    events: u64,
    out: Option<BufWriter<std::fs::File>>,
}

impl EventSink for Sink {
    fn event(&mut self, event: Event, _at: &Location) {
        self.events += 1;
        if let Some(out) = &mut self.out {
            writeln!(out, "{}", event.to_intelmq_json()).expect("write --out");
        } else {
            std::hint::black_box(&event);
        }
    }
    fn reject(&mut self, error: InputError) {
        eprintln!("{error}");
    }
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| (kb / 1024.0 * 10.0).round() / 10.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut positional, mut repeat, mut out) = (Vec::new(), 3usize, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--repeat" => repeat = args.next().ok_or("--repeat N")?.parse()?,
            "--out" => out = Some(args.next().ok_or("--out FILE")?),
            _ => positional.push(arg),
        }
    }
    let [schema_path, csv_path] = positional.as_slice() else {
        return Err("usage: parse_shadowserver SCHEMA CSV [--repeat N] [--out FILE]".into());
    };
    let schema = Schema::from_path(Path::new(schema_path))?;
    let report = schema.detect(csv_path)?;
    let options = ParseOptions {
        time_observation: Some("2026-01-01T00:00:00+00:00".into()),
        feed_name: Some("Shadowserver".into()),
        keep_raw: true,
    };
    let mut times = Vec::new();
    let mut summary = Default::default();
    let mut events = 0;
    for run in 0..repeat.max(1) {
        let file = std::fs::File::open(csv_path)?;
        let last = run + 1 == repeat.max(1);
        let mut sink = Sink {
            events: 0,
            out: match (&out, last) {
                (Some(path), true) => Some(BufWriter::new(std::fs::File::create(path)?)),
                _ => None,
            },
        };
        let t0 = Instant::now();
        summary = parse(
            std::io::BufReader::new(file),
            csv_path,
            report,
            &options,
            &mut sink,
        )?;
        times.push(t0.elapsed().as_secs_f64());
        events = sink.events;
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "{}",
        serde_json::json!({
            "tool": "firewatch",
            "rows": summary.records,
            "events": events,
            "rejected": summary.rejected,
            "seconds_median": (median * 1000.0).round() / 1000.0,
            "events_per_s": (events as f64 / median * 10.0).round() / 10.0,
            "peak_rss_mb": peak_rss_mb(),
        })
    );
    Ok(())
}
