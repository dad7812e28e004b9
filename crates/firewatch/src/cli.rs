//! Command-line shape: nouns, then verbs (`firewatch alerts list`).

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Firewatch: a shared watchtower for CSIRT networks.
///
/// Feed it darknet (network telescope) captures; it labels every source (Mirai-like, ZMap,
/// Masscan, DoS backscatter, scanner), attributes it to its country, network and responsible
/// team, keeps per-port time series, and raises alerts when a port spikes or a new scanning
/// campaign starts.
#[derive(Debug, Parser)]
#[command(
    name = "firewatch",
    version,
    after_help = "Examples:\n  firewatch demo\n  firewatch ingest pcap telescope-*.pcap.gz\n  firewatch alerts list --since 7d\n  firewatch sources list --label mirai --json\n  firewatch plot port 23 --out port23.svg"
)]
pub struct Cli {
    /// The store: a SQLite file's path, or a PostgreSQL URL (postgres://user@host/db);
    /// else `[store] url` of the configuration, else firewatch.db in the user's data directory.
    #[arg(long, global = true, env = "FIREWATCH_DB", value_name = "PATH|URL")]
    pub db: Option<String>,
    /// Configuration file (TOML); see firewatch.toml in the repository for every option.
    #[arg(long, global = true, env = "FIREWATCH_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a synthetic telescope capture, ingest it, and show what Firewatch finds.
    Demo(crate::commands::demo::DemoArgs),
    /// Read captures into the store.
    #[command(subcommand)]
    Ingest(crate::commands::ingest::IngestCommand),
    /// Traffic per destination port.
    #[command(subcommand)]
    Ports(crate::commands::list::PortsCommand),
    /// Port spikes, new scanning campaigns and single-source bursts.
    #[command(subcommand)]
    Alerts(crate::commands::list::AlertsCommand),
    /// The sources the telescope saw, with their labels.
    #[command(subcommand)]
    Sources(crate::commands::list::SourcesCommand),
    /// DoS attacks seen through their backscatter.
    #[command(subcommand)]
    Attacks(crate::commands::list::AttacksCommand),
    /// Charts.
    #[command(subcommand)]
    Plot(crate::commands::plot::PlotCommand),
    /// Corsaro-style flowtuples (kept when ingesting with --flowtuples).
    #[command(subcommand)]
    Flows(crate::commands::list::FlowsCommand),
    /// Captures already ingested, and forgetting one.
    #[command(subcommand)]
    Inputs(crate::commands::inputs::InputsCommand),
    /// The store itself: its integrity check.
    #[command(subcommand)]
    Store(crate::commands::store::StoreCommand),
    /// The team directory: who is responsible for which addresses.
    #[command(subcommand)]
    Teams(crate::commands::teams::TeamsCommand),
    /// The registry data behind attribution (IP → country, ASN, AS name).
    #[command(subcommand)]
    Data(crate::commands::data::DataCommand),
    /// Security feeds in: Shadowserver reports, Cowrie honeypot logs, IntelMQ events, CSV.
    #[command(subcommand)]
    Feeds(crate::commands::feeds::FeedsCommand),
    /// The harmonized events from every feed (IntelMQ field names).
    #[command(subcommand)]
    Events(crate::commands::events::EventsCommand),
    /// Which team is responsible for an address, and why.
    #[command(
        after_help = "Examples:\n  firewatch route 203.0.113.7\n  firewatch route 2001:db8::1 --json"
    )]
    Route(crate::commands::route::RouteArgs),
    /// Label and attribute stored sources, attacks and alerts again with the directory,
    /// registry data and label rules in force.
    #[command(after_help = "Examples:\n  firewatch reattribute\n  firewatch reattribute --json")]
    Reattribute(crate::commands::reattribute::ReattributeArgs),
    /// Write a synthetic telescope capture with its ground truth (for tests and benchmarks).
    Synth(crate::commands::synth::SynthArgs),
    /// Serve the JSON API (TLP 2.0 applied to every read), /healthz and /metrics.
    Serve(crate::commands::serve::ServeArgs),
    /// Users of the web service (each of one team, with a role).
    #[command(subcommand)]
    Users(crate::commands::users::UsersCommand),
    /// API tokens of the web service.
    #[command(subcommand)]
    Tokens(crate::commands::tokens::TokensCommand),
    /// Share with partners: a STIX 2.1 bundle or a MISP feed, TLP kept.
    #[command(subcommand)]
    Export(crate::commands::share::ExportCommand),
    /// Partners' STIX 2.1 bundles into the store, TLP kept.
    #[command(subcommand)]
    Import(crate::commands::feeds::ImportCommand),
    /// Tell the responsible teams: signed e-mail digests and webhooks through an outbox.
    #[command(subcommand)]
    Notify(crate::commands::notify::NotifyCommand),
    /// Internet-health metrics per country and ASN: risky hosts per day, normalised, DDoS
    /// potential, trend, ranks (docs/metrics.md).
    #[command(subcommand)]
    Metrics(crate::commands::health::MetricsCommand),
    /// The national map of cyber defence services (ITU-T X.1060): who carries what, the gaps,
    /// concentration and two countries side by side (docs/x1060.md).
    #[command(subcommand)]
    Assess(crate::commands::assess::AssessCommand),
    /// Cross-border cases: parties, tasks, linked findings, observables, a timeline
    /// (docs/cases.md).
    #[command(subcommand)]
    Cases(crate::commands::cases::CasesCommand),
    /// Mail that comes back: replies into their case's thread, reports to triage
    /// (docs/cases.md).
    #[command(subcommand)]
    Mail(crate::commands::mail::MailCommand),
    /// Show the effective configuration as TOML.
    Config,
}
