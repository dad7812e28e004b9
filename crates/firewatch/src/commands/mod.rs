//! One module per noun; `run` dispatches.

pub mod assess;
pub mod cases;
mod darknet_events;
pub mod data;
pub mod demo;
pub mod events;
pub mod feeds;
pub mod health;
pub mod ingest;
pub mod inputs;
pub mod list;
pub mod mail;
pub mod notify;
pub mod plot;
pub mod reattribute;
pub mod route;
pub mod serve;
pub mod share;
pub mod store;
pub mod synth;
pub mod teams;
pub mod tokens;
pub mod users;

use crate::cli::{Cli, Command};
use crate::config::Config;
use anyhow::Result;
use std::process::ExitCode;

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let config = Config::load(cli.config.as_deref())?;
    let ctx = config.context(cli.db.as_deref())?;
    match cli.command {
        Command::Demo(args) => demo::run(&ctx, &config, &args),
        Command::Ingest(ingest::IngestCommand::Pcap(args)) => ingest::run(&ctx, &args),
        Command::Ports(list::PortsCommand::Top(args)) => list::ports_top(&ctx, &args),
        Command::Alerts(list::AlertsCommand::List(args)) => list::alerts(&ctx, &args),
        Command::Alerts(list::AlertsCommand::Show(args)) => list::alert_show(&ctx, &args),
        Command::Sources(list::SourcesCommand::List(args)) => list::sources(&ctx, &args),
        Command::Sources(list::SourcesCommand::Show(args)) => list::source_show(&ctx, &args),
        Command::Attacks(list::AttacksCommand::List(args)) => list::attacks(&ctx, &args),
        Command::Plot(plot::PlotCommand::Port(args)) => plot::run(&ctx, &args),
        Command::Flows(list::FlowsCommand::Export(args)) => list::flows(&ctx, &args),
        Command::Inputs(inputs::InputsCommand::List(args)) => inputs::list(&ctx, &args),
        Command::Inputs(inputs::InputsCommand::Forget(args)) => inputs::forget(&ctx, &args),
        Command::Store(store::StoreCommand::Check(args)) => store::check(&ctx, &args),
        Command::Store(store::StoreCommand::Stats(args)) => store::stats(&ctx, &args),
        Command::Teams(cmd) => teams::run(&ctx, &cmd),
        Command::Route(args) => route::run(&ctx, &args),
        Command::Reattribute(args) => reattribute::run(&ctx, &args),
        Command::Feeds(cmd) => match cmd {
            crate::commands::feeds::FeedsCommand::Ingest(args) => feeds::ingest(&ctx, &args),
            crate::commands::feeds::FeedsCommand::Watch(args) => feeds::watch(&ctx, &args),
            crate::commands::feeds::FeedsCommand::Fetch(args) => feeds::fetch(&ctx, &args),
            crate::commands::feeds::FeedsCommand::Reports(args) => feeds::reports(&ctx, &args),
            crate::commands::feeds::FeedsCommand::Inputs(args) => feeds::inputs(&ctx, &args),
        },
        Command::Events(cmd) => match cmd {
            events::EventsCommand::List(args) => events::list(&ctx, &args),
            events::EventsCommand::Stats(args) => events::stats(&ctx, &args),
            events::EventsCommand::FromDarknet(args) => darknet_events::run(&ctx, &args),
            events::EventsCommand::Export(args) => events::export(&ctx, &args),
        },
        Command::Data(cmd) => data::run(&ctx, &cmd),
        Command::Synth(args) => synth::run(&args),
        Command::Serve(args) => serve::run(&ctx, &config, &args),
        Command::Users(cmd) => users::run(&ctx, &cmd),
        Command::Tokens(cmd) => tokens::run(&ctx, &cmd),
        Command::Export(cmd) => share::export(&ctx, &config, &cmd),
        Command::Import(cmd) => feeds::import(&ctx, &cmd),
        Command::Notify(cmd) => notify::run(&ctx, config.notify.as_ref(), &cmd),
        Command::Metrics(cmd) => health::run(&ctx, &cmd),
        Command::Assess(cmd) => assess::run(&ctx, &cmd),
        Command::Cases(cmd) => cases::run(&ctx, &config, &cmd),
        Command::Mail(cmd) => mail::run(&ctx, &config, &cmd),
        Command::Config => {
            out!("{}", toml::to_string_pretty(&config)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
