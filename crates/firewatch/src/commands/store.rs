//! `firewatch store check`: SQLite's integrity check of the store, which writes then honour.

use crate::output::json;
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
    if !ctx.db.exists() {
        anyhow::bail!("there is no store at {}", ctx.db.display());
    }
    let report = firewatch_store::integrity::check(&ctx.db, args.quick)
        .with_context(|| format!("cannot check the store {}", ctx.db.display()))?;
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
