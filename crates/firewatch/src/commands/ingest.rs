//! `firewatch ingest pcap`: captures in, base facts committed one capture per transaction.

use crate::progress::Bars;
use anyhow::Result;
use clap::{Args, Subcommand};
use firewatch_pipeline::Context;
use firewatch_pipeline::capture::{IngestOptions, ingest_all};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum IngestCommand {
    /// Read pcap or pcapng files (optionally gzip-compressed); `-` reads standard input.
    #[command(
        after_help = "Examples:\n  firewatch ingest pcap capture.pcap\n  zcat day.pcap.gz | firewatch ingest pcap -\n  firewatch ingest pcap big.pcapng --dry-run --threads 1"
    )]
    Pcap(IngestPcapArgs),
}

#[derive(Debug, Args)]
pub struct IngestPcapArgs {
    /// Capture files; `-` for standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Worker threads for decoding and aggregation (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Keep corsaro-style flowtuples (overrides aggregation.flowtuples).
    #[arg(long)]
    pub flowtuples: bool,
    /// Decode, label and aggregate, report the rate, but write nothing to the store (and skip
    /// the content hash, which only serves deduplication: `content_hash` is empty).
    #[arg(long)]
    pub dry_run: bool,
    /// Print the ingest report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Context, args: &IngestPcapArgs) -> Result<ExitCode> {
    let mut aggregation = ctx.config.aggregation.clone();
    aggregation.flowtuples |= args.flowtuples;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let opts = IngestOptions {
        threads,
        aggregation,
        dry_run: args.dry_run,
    };
    let reports = ingest_all(ctx, &args.files, &opts, &mut Bars::new(!args.json))?;
    if args.json {
        crate::output::json(&reports)?;
    } else {
        for r in &reports {
            match r.status {
                "failed" => eprintln!("{}: failed: {}", r.name, r.error.as_deref().unwrap_or("")),
                "already-ingested" => outln!(
                    "{}: already ingested (content hash {}), nothing changed",
                    r.name,
                    &r.content_hash[..16.min(r.content_hash.len())]
                ),
                _ => {
                    let c = &r.counters;
                    outln!(
                        "{}: {} {} frames, {} IP packets, {} sources in {:.2} s ({:.0} packets/s); not IP {}, malformed {}, truncated {}, fragments {}",
                        r.name,
                        r.status,
                        r.frames,
                        r.ip_packets,
                        r.sources,
                        r.seconds,
                        r.packets_per_second,
                        c.not_ip,
                        c.malformed + c.unsupported_link,
                        c.truncated,
                        c.fragments
                    );
                    if let Some(e) = &r.error {
                        eprintln!(
                            "{}: damaged input, kept the {} frames before it: {e}",
                            r.name, r.frames
                        );
                    }
                }
            }
        }
    }
    let failed = reports
        .iter()
        .any(|r| matches!(r.status, "failed" | "partial"));
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
