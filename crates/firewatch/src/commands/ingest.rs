//! `firewatch ingest pcap`: captures in, base facts committed one capture per transaction.

use crate::cli::IngestPcapArgs;
use crate::progress::Bars;
use anyhow::Result;
use firewatch_pipeline::Context;
use firewatch_pipeline::capture::{IngestOptions, ingest_all};
use std::process::ExitCode;

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
