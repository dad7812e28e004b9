//! `firewatch`: the command line. Each subcommand wires library crates together; the work
//! itself lives in the crates.

#[macro_use]
mod output;
mod args;
mod charts;
mod cli;
mod commands;
mod config;
mod progress;
mod scope;
mod tables;
mod telling;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("firewatch: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
