//! `firewatch plot port`: a port's chart from the store.

use crate::args::time_range;
use crate::charts::plot_port;
use anyhow::Result;
use clap::{Args, Subcommand};
use firewatch_core::Protocol;
use firewatch_pipeline::Context;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum PlotCommand {
    /// A port's packets and unique sources per interval, with baseline and alerts marked.
    #[command(
        after_help = "Example:\n  firewatch plot port 23 --out port23.svg\n  firewatch plot port 53 --proto udp --out dns.png"
    )]
    Port(PlotPortArgs),
}

#[derive(Debug, Args)]
pub struct PlotPortArgs {
    /// Destination port (or ICMP type).
    pub port: u16,
    /// Protocol.
    #[arg(long, default_value = "tcp")]
    pub proto: String,
    /// Output file; .svg or .png.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Start of the chart (same forms as listings).
    #[arg(long)]
    pub since: Option<String>,
    /// End of the chart.
    #[arg(long)]
    pub until: Option<String>,
}

pub fn run(ctx: &Context, args: &PlotPortArgs) -> Result<ExitCode> {
    let proto: Protocol = args.proto.parse()?;
    let range = time_range(args.since.as_deref(), args.until.as_deref())?;
    plot_port(ctx, proto, args.port, &range, &args.out)?;
    outln!("wrote {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}
