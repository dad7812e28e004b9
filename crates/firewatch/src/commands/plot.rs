//! `firewatch plot port`: a port's chart from the store.

use crate::args::time_range;
use crate::charts::plot_port;
use crate::cli::PlotPortArgs;
use anyhow::Result;
use firewatch_core::Protocol;
use firewatch_pipeline::Context;
use std::process::ExitCode;

pub fn run(ctx: &Context, args: &PlotPortArgs) -> Result<ExitCode> {
    let proto: Protocol = args.proto.parse()?;
    let range = time_range(args.since.as_deref(), args.until.as_deref())?;
    plot_port(ctx, proto, args.port, &range, &args.out)?;
    outln!("wrote {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}
