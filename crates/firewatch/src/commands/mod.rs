//! One module per noun; `run` dispatches.

mod attribution;
mod darknet_events;
mod data;
mod demo;
mod events;
mod feeds;
pub mod health;
pub mod ingest;
mod list;
pub mod notify;
mod plot;
mod route;
pub mod serve;
pub mod share;
mod synth;
mod teams;
pub mod tokens;
pub mod users;

use crate::cli::{Cli, Command, ListArgs};
use crate::config::{Config, default_db};
use anyhow::{Context, Result};
use firewatch_core::time::parse_time_bound;
use firewatch_store::{SqliteStore, Store, TimeRange};
use std::path::PathBuf;
use std::process::ExitCode;

/// What every command needs: the configuration and where the store lives.
pub struct Env {
    pub config: Config,
    pub db: PathBuf,
}

impl Env {
    /// Opens the store.
    pub fn store(&self) -> Result<SqliteStore> {
        SqliteStore::open(&self.db)
            .with_context(|| format!("cannot open the store {}", self.db.display()))
    }

    /// Opens the store for reading, re-deriving alerts first if captures came in since
    /// (e.g. an ingest was killed between its commit and its alert refresh).
    pub fn fresh_store(&self) -> Result<SqliteStore> {
        let mut store = self.store()?;
        if store.alerts_stale()? {
            store.refresh_alerts(&self.config.detect)?;
        }
        Ok(store)
    }
}

/// Parses --since/--until.
pub fn time_range(since: Option<&str>, until: Option<&str>) -> Result<TimeRange> {
    let now = jiff::Timestamp::now();
    Ok(TimeRange {
        since: since.map(|s| parse_time_bound(s, now)).transpose()?,
        until: until.map(|s| parse_time_bound(s, now)).transpose()?,
    })
}

impl ListArgs {
    pub fn range(&self) -> Result<TimeRange> {
        time_range(self.since.as_deref(), self.until.as_deref())
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let env = Env {
        config: Config::load(cli.config.as_deref())?,
        db: cli.db.unwrap_or_else(default_db),
    };
    match cli.command {
        Command::Demo(args) => demo::run(&env, &args),
        Command::Ingest(crate::cli::IngestCommand::Pcap(args)) => ingest::run(&env, &args),
        Command::Ports(crate::cli::PortsCommand::Top(args)) => list::ports_top(&env, &args),
        Command::Alerts(crate::cli::AlertsCommand::List(args)) => list::alerts(&env, &args),
        Command::Sources(crate::cli::SourcesCommand::List(args)) => list::sources(&env, &args),
        Command::Sources(crate::cli::SourcesCommand::Show { ip, json }) => {
            list::source_show(&env, ip, json)
        }
        Command::Attacks(crate::cli::AttacksCommand::List(args)) => list::attacks(&env, &args),
        Command::Plot(crate::cli::PlotCommand::Port(args)) => plot::run(&env, &args),
        Command::Flows(crate::cli::FlowsCommand::Export(args)) => list::flows(&env, &args),
        Command::Inputs(crate::cli::InputsCommand::List(args)) => list::inputs(&env, &args),
        Command::Teams(cmd) => teams::run(&env, &cmd),
        Command::Route(args) => route::run(&env, &args),
        Command::Feeds(cmd) => match cmd {
            crate::cli::FeedsCommand::Ingest(args) => feeds::ingest(&env, &args),
            crate::cli::FeedsCommand::Watch(args) => feeds::watch(&env, &args),
            crate::cli::FeedsCommand::Fetch(args) => feeds::fetch(&env, &args),
            crate::cli::FeedsCommand::Reports(args) => feeds::reports(&env, &args),
            crate::cli::FeedsCommand::Inputs(args) => feeds::inputs(&env, &args),
        },
        Command::Events(cmd) => match cmd {
            crate::cli::EventsCommand::List(args) => events::list(&env, &args),
            crate::cli::EventsCommand::Stats(args) => events::stats(&env, &args),
            crate::cli::EventsCommand::FromDarknet(args) => darknet_events::run(&env, &args),
            crate::cli::EventsCommand::Export(args) => events::export(&env, &args),
        },
        Command::Data(cmd) => data::run(&env, &cmd),
        Command::Synth(args) => synth::run(&args),
        Command::Serve(args) => serve::run(&env, &args),
        Command::Users(cmd) => users::run(&env, &cmd),
        Command::Tokens(cmd) => tokens::run(&env, &cmd),
        Command::Export(cmd) => share::export(&env, &cmd),
        Command::Import(cmd) => share::import(&env, &cmd),
        Command::Notify(cmd) => notify::run(&env, &cmd),
        Command::Metrics(cmd) => health::run(&env, &cmd),
        Command::Config => {
            print!("{}", toml::to_string_pretty(&env.config)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
