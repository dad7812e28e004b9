//! `firewatch inputs`: the captures ingested (list), and removing one's record (forget).

use crate::args::ListArgs;
use crate::output::{json, ns_time, table};
use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use firewatch_pipeline::Context;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum InputsCommand {
    /// Every capture ingested, with its content hash and decode tallies.
    List(ListArgs),
    /// Remove the record of one ingested capture, so that it (or a capture overlapping it) can
    /// be ingested again.
    ///
    /// What the capture counted stays counted: port series, sources and attacks are merged
    /// sums that cannot be taken apart again. Forget a capture that was wrongly refused as
    /// overlapping, or one whose packets you mean to count again in a rebuilt store; to take
    /// a capture's packets out, build a new store from the captures you keep.
    #[command(
        after_help = "Examples:\n  firewatch inputs list\n  firewatch inputs forget 3f9a0c1d2e4b5a67\n  firewatch inputs forget /data/telescope-2026-11-22.pcap.gz"
    )]
    Forget(InputsForgetArgs),
}

#[derive(Debug, Args)]
pub struct InputsForgetArgs {
    /// The input: its content hash (or a prefix of at least 8 hex digits, as `inputs list`
    /// shows) or its name as listed.
    #[arg(value_name = "HASH_OR_NAME")]
    pub input: String,
    /// Print the removed record as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn list(ctx: &Context, args: &ListArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let rows = store.inputs()?;
    if args.json {
        json(&rows)?;
    } else {
        table(
            &[
                "NAME",
                "BLAKE3",
                "FORMAT",
                "FRAMES",
                "IP PACKETS",
                "FIRST",
                "LAST",
                "STATUS",
            ],
            rows.iter()
                .map(|i| {
                    vec![
                        i.name.clone(),
                        i.content_hash.chars().take(16).collect(),
                        i.format.clone(),
                        i.frames.to_string(),
                        i.ip_packets.to_string(),
                        i.first_ns.map(ns_time).unwrap_or_default(),
                        i.last_ns.map(ns_time).unwrap_or_default(),
                        match &i.error {
                            None => "complete".into(),
                            Some(e) => format!("partial: {e}"),
                        },
                    ]
                })
                .collect(),
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn forget(ctx: &Context, args: &InputsForgetArgs) -> Result<ExitCode> {
    let mut store = ctx.store()?;
    let wanted = args.input.trim();
    let hex_prefix = wanted.len() >= 8 && wanted.chars().all(|c| c.is_ascii_hexdigit());
    let matches: Vec<_> = store
        .inputs()?
        .into_iter()
        .filter(|i| {
            i.name == wanted
                || (hex_prefix && i.content_hash.starts_with(&wanted.to_ascii_lowercase()))
        })
        .collect();
    let input = match matches.as_slice() {
        [one] => one.clone(),
        [] => bail!(
            "no ingested capture is named or hashed {wanted:?}. hint: `firewatch inputs list` shows names and hashes"
        ),
        many => bail!(
            "{wanted:?} matches {} inputs ({}); give more of the content hash",
            many.len(),
            many.iter()
                .map(|i| format!(
                    "{} {}",
                    &i.content_hash[..16.min(i.content_hash.len())],
                    i.name
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let Some(removed) = store.forget_input(&input.content_hash)? else {
        bail!("{}: removed by another process meanwhile", input.name);
    };
    if args.json {
        json(&removed)?;
    } else {
        outln!(
            "forgot {} (content hash {}): it can be ingested again; the {} frames it counted stay counted",
            removed.name,
            &removed.content_hash[..16.min(removed.content_hash.len())],
            removed.frames
        );
    }
    Ok(ExitCode::SUCCESS)
}
