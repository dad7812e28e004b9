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
    ///
    /// Each packet is counted once. A capture is known by its bytes and by its packets: the
    /// same capture again (renamed, compressed, converted to pcapng) is already ingested; a
    /// longer version of a capture ingested while incomplete adds only the packets after those
    /// already counted; a different capture whose packets' time range overlaps a stored one
    /// is refused, naming it, unless --allow-overlap.
    #[command(
        after_help = "Examples:\n  firewatch ingest pcap capture.pcap\n  zcat day.pcap.gz | firewatch ingest pcap -\n  firewatch ingest pcap big.pcapng --dry-run --threads 1\n  firewatch ingest pcap sensor-b.pcap --allow-overlap\n\nSee what is stored with `firewatch inputs list`; `firewatch inputs forget HASH` removes an input's record (not what it counted)."
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
    /// Commit a capture even when its packets' time range overlaps a stored capture's (for
    /// different traffic of the same time, e.g. a second sensor); without it such a capture
    /// is refused, so that the same packets are never counted twice.
    #[arg(long)]
    pub allow_overlap: bool,
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
        allow_overlap: args.allow_overlap,
    };
    let reports = ingest_all(ctx, &args.files, &opts, &mut Bars::new(!args.json))?;
    if args.json {
        crate::output::json(&reports)?;
    } else {
        for r in &reports {
            match r.status {
                "failed" => eprintln!("{}: failed: {}", r.name, r.error.as_deref().unwrap_or("")),
                "already-ingested" => match &r.same_capture_as {
                    Some(stored) => outln!(
                        "{}: already ingested: the same capture as {stored}, nothing changed",
                        r.name
                    ),
                    None => outln!(
                        "{}: already ingested (content hash {}), nothing changed",
                        r.name,
                        &r.content_hash[..16.min(r.content_hash.len())]
                    ),
                },
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
                    if let Some(stored) = &r.same_capture_as {
                        outln!(
                            "{}: continues {stored}: its first {} frames were counted there, only the {} after them now",
                            r.name,
                            r.skipped_frames,
                            r.frames
                        );
                    }
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
