//! `firewatch events from-darknet`: the telescope's findings stored as events.

use anyhow::Result;
use firewatch_pipeline::{Context, findings};
use std::process::ExitCode;

/// `events from-darknet`.
pub fn run(ctx: &Context, args: &crate::args::ListArgs) -> Result<ExitCode> {
    let commit = findings::derive(ctx, &args.range()?)?;
    if args.json {
        crate::output::json(&serde_json::json!({
            "inserted": commit.inserted,
            "duplicates": commit.duplicates,
            "already_committed": commit.already_committed,
        }))?;
    } else if commit.already_committed {
        outln!("darknet findings: nothing new since the last run");
    } else {
        outln!(
            "darknet findings: {} new events, {} already stored",
            commit.inserted,
            commit.duplicates
        );
    }
    Ok(ExitCode::SUCCESS)
}
