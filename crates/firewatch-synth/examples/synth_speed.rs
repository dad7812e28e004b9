//! Measures generation speed: `cargo run --release -p firewatch-synth --example synth_speed [packets] [out.pcap]`.

use std::io::BufWriter;
use std::time::Instant;

use firewatch_synth::{OutputFormat, SynthConfig, generate, write_capture, write_capture_to};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    let cfg = SynthConfig::with_packets(n);

    let t = Instant::now();
    let mut bytes = 0usize;
    let truth = generate(&cfg, |_, f| bytes += f.len());
    let gen_secs = t.elapsed().as_secs_f64();
    println!(
        "generate only: {} packets, {bytes} bytes in {gen_secs:.2} s = {:.2} M packets/s",
        truth.packets,
        truth.packets as f64 / gen_secs / 1e6
    );

    for format in [
        OutputFormat::Pcap {
            big_endian: false,
            nanosecond: true,
        },
        OutputFormat::PcapNg {
            sections: 2,
            interfaces: 2,
        },
    ] {
        let t = Instant::now();
        let (truth, _) = write_capture_to(
            &cfg,
            BufWriter::with_capacity(1 << 20, std::io::sink()),
            format,
        )?;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{format:?} into BufWriter: {:.2} s = {:.2} M packets/s",
            secs,
            truth.packets as f64 / secs / 1e6
        );
    }
    if let Some(path) = args.next() {
        let t = Instant::now();
        let gzip = path.ends_with(".gz");
        let truth = write_capture(&cfg, path.as_ref(), OutputFormat::default(), gzip)?;
        println!("wrote {path}: {:.2} s", t.elapsed().as_secs_f64());
        println!("labels: {:?}", truth.label_counts());
        println!("attacks: {}", truth.attacks.len());
        for a in &truth.attacks {
            let mins = (a.end_ns - a.start_ns) as f64 / 60e9;
            println!(
                "  {} +{:.1} min, {:.1} min, {} packets ({:.0}/min), ports {:?}",
                a.victim,
                (a.start_ns / 1_000_000_000 - truth.start_unix) as f64 / 60.0,
                mins,
                a.packets,
                a.packets as f64 / mins,
                a.ports
            );
        }
        for s in &truth.spikes {
            println!("spike: {s:?}");
        }
    }
    println!("labels: {:?}", truth.label_counts());
    Ok(())
}
