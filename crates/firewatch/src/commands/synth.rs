//! `firewatch synth`: write a synthetic telescope capture and its ground truth.

use anyhow::{Context as _, Result};
use clap::{Args, ValueEnum};
use firewatch_synth::{OutputFormat, SynthConfig, write_capture};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CaptureFormatArg {
    Pcap,
    PcapBe,
    PcapNs,
    Pcapng,
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Output capture file.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Approximate number of packets.
    #[arg(long, default_value_t = 1_500_000)]
    pub packets: u64,
    /// Generator seed.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Capture format.
    #[arg(long, value_enum, default_value = "pcap")]
    pub format: CaptureFormatArg,
    /// Compress with gzip.
    #[arg(long)]
    pub gzip: bool,
    /// Also write the ground truth as JSON here.
    #[arg(long, value_name = "FILE")]
    pub truth: Option<PathBuf>,
}

pub fn run(args: &SynthArgs) -> Result<ExitCode> {
    let mut cfg = SynthConfig::with_packets(args.packets);
    cfg.seed = args.seed;
    let format = match args.format {
        CaptureFormatArg::Pcap => OutputFormat::Pcap {
            big_endian: false,
            nanosecond: false,
        },
        CaptureFormatArg::PcapBe => OutputFormat::Pcap {
            big_endian: true,
            nanosecond: false,
        },
        CaptureFormatArg::PcapNs => OutputFormat::Pcap {
            big_endian: false,
            nanosecond: true,
        },
        CaptureFormatArg::Pcapng => OutputFormat::PcapNg {
            sections: 2,
            interfaces: 2,
        },
    };
    let started = Instant::now();
    let truth = write_capture(&cfg, &args.out, format, args.gzip)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    if let Some(path) = &args.truth {
        std::fs::write(path, serde_json::to_vec_pretty(&truth)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let secs = started.elapsed().as_secs_f64();
    outln!(
        "wrote {}: {} packets, {} sources, {} attacks, {} planted spikes, {} planted bursts in {:.1} s",
        args.out.display(),
        truth.packets,
        truth.sources.len(),
        truth.attacks.len(),
        truth.spikes.len(),
        truth.bursts.len(),
        secs
    );
    Ok(ExitCode::SUCCESS)
}
