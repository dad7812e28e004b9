//! `firewatch store check`: SQLite's integrity check of the store, which writes then honour;
//! `firewatch store stats`: rows, bytes and the time span of each table.

use crate::output::{json, json_times, s_time, table, thousands};
use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use firewatch_pipeline::Context;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Check the store's file with SQLite's integrity check.
    ///
    /// A store that fails is marked (a `<store>.corrupt` file beside it) and every write
    /// refuses it from then on; reads still work, so what is readable can be exported. A
    /// store in which SQLite finds a malformed page while writing is marked the same way.
    /// Once the file is restored from a backup or recovered (`sqlite3 STORE .recover |
    /// sqlite3 NEW`), a check that passes removes the mark.
    #[command(
        after_help = "Examples:\n  firewatch store check\n  firewatch store check --quick --json\n\nExit status: 0 when the store passed, 1 when it failed."
    )]
    Check(StoreCheckArgs),
    /// Rows, bytes and oldest/newest data of each table, and the backend's own figures.
    ///
    /// SQLite: BYTES are the table's pages with those of its indexes, from `dbstat`; the
    /// TOTAL line is the whole file (every page, free ones included). PostgreSQL: BYTES are
    /// `pg_total_relation_size` (table, indexes, TOAST), a partitioned table's summed over its
    /// partitions; TOTAL is the store's schema. OLDEST and NEWEST are the time span of the
    /// time-keyed tables (port intervals and flowtuples by interval start, sources first/last
    /// seen, attacks, events by `time`, captures ingested). Every row is counted, so on a
    /// large store this reads the whole store once.
    #[command(
        after_help = "Examples:\n  firewatch store stats\n  firewatch store stats --json | jq '.tables[] | select(.table == \"events\")'\n\nWith --json, `backend` is \"sqlite\" or \"postgres\", `oldest` and `newest` are RFC 3339 UTC times and sizes are bytes; `bytes_per_table` is \"unavailable\" (and each table's bytes null) when SQLite has no dbstat."
    )]
    Stats(StoreStatsArgs),
}

#[derive(Debug, Args)]
pub struct StoreStatsArgs {
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StoreCheckArgs {
    /// SQLite's quick_check: skips comparing index contents with their tables (much faster on
    /// a large store, finds less).
    #[arg(long)]
    pub quick: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn check(ctx: &Context, args: &StoreCheckArgs) -> Result<ExitCode> {
    let Some(path) = ctx.location.sqlite_path() else {
        anyhow::bail!(
            "`store check` runs SQLite's integrity check; {} is a PostgreSQL store, which checks its own pages (data checksums, the amcheck extension)",
            ctx.location
        );
    };
    if !path.exists() {
        anyhow::bail!("there is no store at {}", path.display());
    }
    let report = firewatch_store::integrity::check(path, args.quick)
        .with_context(|| format!("cannot check the store {}", path.display()))?;
    if args.json {
        json(&report)?;
    } else if report.ok {
        outln!(
            "{}: passed SQLite's {}{}",
            report.path,
            report.check,
            if report.was_marked {
                "; the corruption mark is removed, writes are allowed again"
            } else {
                ""
            }
        );
    } else {
        eprintln!(
            "{}: FAILED SQLite's {}; the store is marked corrupt and writes are refused:",
            report.path, report.check
        );
        for p in &report.problems {
            eprintln!("  {p}");
        }
        eprintln!(
            "hint: restore it from a backup, or recover it (`sqlite3 {} .recover | sqlite3 recovered.db`) and use the recovered file",
            report.path
        );
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn stats(ctx: &Context, args: &StoreStatsArgs) -> Result<ExitCode> {
    if ctx.location.is_missing() {
        anyhow::bail!("there is no store at {}", ctx.location);
    }
    let report = ctx
        .store()?
        .stats()
        .with_context(|| format!("cannot read the store {}", ctx.location))?;
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        value["tables"] = json_times(value["tables"].take(), &["oldest", "newest"], &[]);
        json(&value)?;
        return Ok(ExitCode::SUCCESS);
    }
    let size = |b: u64| thousands(usize::try_from(b).unwrap_or(usize::MAX));
    let mut rows: Vec<Vec<String>> = report
        .tables
        .iter()
        .map(|t| {
            vec![
                t.table.clone(),
                size(t.rows),
                t.bytes.map_or_else(|| "-".into(), size),
                t.oldest.map(s_time).unwrap_or_default(),
                t.newest.map(s_time).unwrap_or_default(),
            ]
        })
        .collect();
    rows.push(vec![
        "TOTAL".into(),
        size(report.total_rows()),
        size(report.total_bytes),
        String::new(),
        String::new(),
    ]);
    table(&["TABLE", "ROWS", "BYTES", "OLDEST", "NEWEST"], rows);
    let location = report.location.as_deref().unwrap_or("(in memory)");
    if let Some(f) = &report.sqlite {
        outln!(
            "{location}: {} bytes on disk{}, page size {}, {} pages of which {} free, journal mode {}",
            f.file_bytes.map_or_else(|| "?".into(), size),
            match f.wal_bytes {
                Some(w) if w > 0 => format!(" (+ {} in the write-ahead log)", size(w)),
                _ => String::new(),
            },
            size(f.page_size),
            size(f.page_count),
            size(f.freelist_pages),
            f.journal_mode
        );
    }
    if let Some(f) = &report.postgres {
        outln!(
            "{location}, schema {}: PostgreSQL {}, {} bytes in the whole database",
            f.schema,
            f.server_version,
            size(f.database_bytes)
        );
    }
    if report.bytes_per_table == "unavailable" {
        outln!("bytes per table unavailable: this SQLite has no dbstat; TOTAL is the whole file");
    }
    Ok(ExitCode::SUCCESS)
}
