//! `firewatch reattribute`: label and attribute the stored telescope records again with the
//! directory, registry data and `[labels]` rules in force (`teams import` and `data update` do
//! it themselves; this is for changed label rules, or to check).

use crate::output::json as print_json;
use anyhow::Result;
use clap::Args;
use firewatch_pipeline::Context;
use firewatch_pipeline::rederive;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ReattributeArgs {
    /// Only the records seen at or after this time (RFC 3339, a date, Unix seconds or an age
    /// such as 7d): sources last seen, attacks ended, events timed then or later.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Context, args: &ReattributeArgs) -> Result<ExitCode> {
    let since = crate::args::time_range(args.since.as_deref(), None)?.since;
    let report = rederive::rederive(ctx, since)?;
    if args.json {
        print_json(&report)?;
    } else {
        outln!("{}", rederive::summary(&report));
        if report.changed.findings_retagged > 0 {
            let telescope = &ctx.config.telescope;
            outln!(
                "{} telescope findings stored as events brought to the telescope's {} (owner {}; docs/tlp.md)",
                report.changed.findings_retagged,
                telescope.tlp,
                telescope.owner.as_deref().unwrap_or("none")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
