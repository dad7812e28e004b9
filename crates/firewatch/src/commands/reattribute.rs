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
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Context, args: &ReattributeArgs) -> Result<ExitCode> {
    let report = rederive::rederive(ctx)?;
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
