//! `firewatch inputs`: the captures ingested (list), and removing one's record (forget).

use crate::args::ListArgs;
use crate::output::{Rest, json, json_times, limited_table, ns_time};
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
    let mut rows = store.inputs()?;
    let rest = match args.limit {
        Some(limit) => Rest::cut(&mut rows, limit),
        None => Rest::None,
    };
    if args.json {
        let mut value = json_times(
            serde_json::to_value(&rows)?,
            &["ingested_at"],
            &[("first_ns", "first"), ("last_ns", "last")],
        );
        if let Some(list) = value.as_array_mut() {
            for (row, input) in list.iter_mut().zip(&rows) {
                let format = CaptureFormat::parse(&input.format);
                row["format"] = format.name().into();
                row["format_detail"] = format.detail();
            }
        }
        json(&value)?;
    } else {
        limited_table(
            &[
                "NAME", "HASH", "FORMAT", "FRAMES", "PACKETS", "FIRST", "LAST", "STATUS",
            ],
            rows.iter()
                .map(|i| {
                    vec![
                        i.name.clone(),
                        i.content_hash.chars().take(16).collect(),
                        CaptureFormat::parse(&i.format).name(),
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
            rest,
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// An input's format as the store keeps it: the pcap reader's `CaptureFormat` in Rust's Debug
/// notation (`CaptureFormat { container: Pcap, big_endian: false, nanosecond: false,
/// gzip: true, link: Some(LinkType(1)), snaplen: 65535 }`), read back for people and programs.
/// Anything else (a store written otherwise) is kept as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CaptureFormat {
    Capture {
        pcapng: bool,
        gzip: bool,
        big_endian: Option<bool>,
        nanosecond: Option<bool>,
        link: Option<u32>,
        snaplen: Option<u32>,
    },
    Other(String),
}

impl CaptureFormat {
    fn parse(stored: &str) -> CaptureFormat {
        let Some(fields) = stored
            .trim()
            .strip_prefix("CaptureFormat {")
            .and_then(|f| f.strip_suffix('}'))
        else {
            return CaptureFormat::Other(stored.to_string());
        };
        let field = |name: &str| {
            fields.split(", ").find_map(|kv| {
                let (k, v) = kv.split_once(':')?;
                (k.trim() == name).then(|| v.trim())
            })
        };
        let flag = |name: &str| field(name).map(|v| v == "true");
        let Some(container) = field("container") else {
            return CaptureFormat::Other(stored.to_string());
        };
        // `Some(LinkType(1))` → 1; `None` (pcapng) → none.
        let link = field("link").and_then(|v| {
            v.trim_start_matches("Some(LinkType(")
                .trim_end_matches("))")
                .parse()
                .ok()
        });
        CaptureFormat::Capture {
            pcapng: container == "PcapNg",
            gzip: flag("gzip").unwrap_or(false),
            big_endian: flag("big_endian"),
            nanosecond: flag("nanosecond"),
            link,
            snaplen: field("snaplen").and_then(|v| v.parse().ok()),
        }
    }

    /// "pcap", "pcap.gz", "pcapng" or "pcapng.gz".
    fn name(&self) -> String {
        match self {
            CaptureFormat::Capture { pcapng, gzip, .. } => format!(
                "{}{}",
                if *pcapng { "pcapng" } else { "pcap" },
                if *gzip { ".gz" } else { "" }
            ),
            CaptureFormat::Other(s) => s.clone(),
        }
    }

    /// The rest of what the reader detected, for `--json`.
    fn detail(&self) -> serde_json::Value {
        match self {
            CaptureFormat::Capture {
                pcapng,
                gzip,
                big_endian,
                nanosecond,
                link,
                snaplen,
            } => serde_json::json!({
                "container": if *pcapng { "pcapng" } else { "pcap" },
                "gzip": gzip,
                "byte_order": big_endian.map(|b| if b { "big-endian" } else { "little-endian" }),
                "resolution": nanosecond.map(|n| if n { "nanosecond" } else { "microsecond" }),
                "linktype": link,
                "snaplen": snaplen,
            }),
            CaptureFormat::Other(_) => serde_json::Value::Null,
        }
    }
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

#[cfg(test)]
mod tests {
    use super::CaptureFormat;

    #[test]
    fn stored_formats_read_back() {
        let pcap = CaptureFormat::parse(
            "CaptureFormat { container: Pcap, big_endian: false, nanosecond: true, gzip: true, link: Some(LinkType(1)), snaplen: 65535 }",
        );
        assert_eq!(pcap.name(), "pcap.gz");
        assert_eq!(pcap.detail()["linktype"], 1);
        assert_eq!(pcap.detail()["resolution"], "nanosecond");
        let ng = CaptureFormat::parse(
            "CaptureFormat { container: PcapNg, big_endian: true, nanosecond: false, gzip: false, link: None, snaplen: 0 }",
        );
        assert_eq!(ng.name(), "pcapng");
        assert!(ng.detail()["linktype"].is_null());
        assert_eq!(CaptureFormat::parse("cowrie").name(), "cowrie");
    }
}
