//! Command-line shape: nouns, then verbs (`firewatch alerts list`).

use crate::args::ListArgs;
use clap::{Args, Parser, Subcommand, ValueEnum};
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
    /// The store (one SQLite file).
    #[arg(long, global = true, env = "FIREWATCH_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Configuration file (TOML); see firewatch.toml in the repository for every option.
    #[arg(long, global = true, env = "FIREWATCH_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a synthetic telescope capture, ingest it, and show what Firewatch finds.
    Demo(DemoArgs),
    /// Read captures into the store.
    #[command(subcommand)]
    Ingest(IngestCommand),
    /// Traffic per destination port.
    #[command(subcommand)]
    Ports(PortsCommand),
    /// Port spikes and new scanning campaigns.
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// The sources the telescope saw, with their labels.
    #[command(subcommand)]
    Sources(SourcesCommand),
    /// DoS attacks seen through their backscatter.
    #[command(subcommand)]
    Attacks(AttacksCommand),
    /// Charts.
    #[command(subcommand)]
    Plot(PlotCommand),
    /// Corsaro-style flowtuples (kept when ingesting with --flowtuples).
    #[command(subcommand)]
    Flows(FlowsCommand),
    /// Captures already ingested.
    #[command(subcommand)]
    Inputs(InputsCommand),
    /// The team directory: who is responsible for which addresses.
    #[command(subcommand)]
    Teams(TeamsCommand),
    /// The registry data behind attribution (IP → country, ASN, AS name).
    #[command(subcommand)]
    Data(DataCommand),
    /// Security feeds in: Shadowserver reports, Cowrie honeypot logs, IntelMQ events, CSV.
    #[command(subcommand)]
    Feeds(crate::commands::feeds::FeedsCommand),
    /// The harmonized events from every feed (IntelMQ field names).
    #[command(subcommand)]
    Events(EventsCommand),
    /// Which team is responsible for an address, and why.
    #[command(
        after_help = "Examples:\n  firewatch route 203.0.113.7\n  firewatch route 2001:db8::1 --json"
    )]
    Route(RouteArgs),
    /// Write a synthetic telescope capture with its ground truth (for tests and benchmarks).
    Synth(SynthArgs),
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
    /// Show the effective configuration as TOML.
    Config,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write the synthetic capture, its ground truth and the charts.
    #[arg(long, default_value = "firewatch-demo", value_name = "DIR")]
    pub out: PathBuf,
    /// Approximate number of packets to generate.
    #[arg(long, default_value_t = 1_500_000)]
    pub packets: u64,
    /// Seed of the generator (the same seed gives the same capture).
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
}

#[derive(Debug, Subcommand)]
pub enum IngestCommand {
    /// Read pcap or pcapng files (optionally gzip-compressed); `-` reads standard input.
    #[command(
        after_help = "Examples:\n  firewatch ingest pcap capture.pcap\n  zcat day.pcap.gz | firewatch ingest pcap -\n  firewatch ingest pcap big.pcapng --dry-run --threads 1"
    )]
    Pcap(IngestPcapArgs),
}

#[derive(Debug, Args)]
pub struct IngestPcapArgs {
    /// Capture files; `-` for standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Worker threads for decoding and aggregation (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Keep corsaro-style flowtuples (overrides aggregation.flowtuples).
    #[arg(long)]
    pub flowtuples: bool,
    /// Decode, label and aggregate, report the rate, but write nothing to the store (and skip
    /// the content hash, which only serves deduplication: `content_hash` is empty).
    #[arg(long)]
    pub dry_run: bool,
    /// Print the ingest report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum PortsCommand {
    /// Ports with the most packets.
    Top(ListArgs),
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Alerts overlapping the time range, oldest first.
    List(AlertsListArgs),
}

#[derive(Debug, Args)]
pub struct AlertsListArgs {
    #[command(flatten)]
    pub list: ListArgs,
    /// Only this destination port.
    #[arg(long)]
    pub port: Option<u16>,
    /// Only this protocol (tcp, udp, icmp, icmpv6).
    #[arg(long)]
    pub proto: Option<String>,
    /// Only alerts still ongoing.
    #[arg(long)]
    pub open: bool,
    /// Only alerts with sources attributed to this team (see `firewatch teams list`).
    #[arg(long)]
    pub team: Option<String>,
    /// Only alerts with sources in this country (ISO 3166 alpha-2).
    #[arg(long)]
    pub country: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LabelArg {
    Mirai,
    Zmap,
    Masscan,
    Backscatter,
    Scanner,
    Other,
}

#[derive(Debug, Subcommand)]
pub enum SourcesCommand {
    /// Sources active in the time range, busiest first.
    List(SourcesListArgs),
    /// One source's profile.
    Show {
        /// The source address (IPv4 or IPv6).
        ip: std::net::IpAddr,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct SourcesListArgs {
    #[command(flatten)]
    pub list: ListArgs,
    /// Only sources with this label.
    #[arg(long, value_enum)]
    pub label: Option<LabelArg>,
}

#[derive(Debug, Subcommand)]
pub enum AttacksCommand {
    /// Attacks overlapping the time range, largest first.
    List(ListArgs),
}

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

#[derive(Debug, Subcommand)]
pub enum FlowsCommand {
    /// Write flowtuples as CSV (or JSON lines with --json) to standard output.
    Export(ListArgs),
}

#[derive(Debug, Subcommand)]
pub enum InputsCommand {
    /// Every capture ingested, with its content hash and decode tallies.
    List(ListArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CaptureFormatArg {
    Pcap,
    PcapBe,
    PcapNs,
    Pcapng,
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Output capture file.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Approximate number of packets.
    #[arg(long, default_value_t = 1_500_000)]
    pub packets: u64,
    /// Generator seed.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Capture format.
    #[arg(long, value_enum, default_value = "pcap")]
    pub format: CaptureFormatArg,
    /// Compress with gzip.
    #[arg(long)]
    pub gzip: bool,
    /// Also write the ground truth as JSON here.
    #[arg(long, value_name = "FILE")]
    pub truth: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum TeamsCommand {
    /// Validate a directory and make it the store's: TOML (see examples/teams.toml), JSON, or a
    /// Trusted-Introducer-style CSV listing. A directory with problems is refused whole, with
    /// every problem and its line, and the stored one stays.
    Import {
        /// teams.toml, teams.json or a .csv listing.
        file: PathBuf,
        /// Accept a team's prefix nested inside another team's (the longest prefix then wins).
        #[arg(long)]
        allow_nested_prefixes: bool,
    },
    /// Print the stored directory as TOML (or JSON).
    Export {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The teams, one line each.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One team in full.
    Show {
        /// The team id (slug).
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct RouteArgs {
    /// The address to route.
    pub ip: std::net::IpAddr,
    /// Use this ASN instead of the one the embedded data gives.
    #[arg(long)]
    pub asn: Option<u32>,
    /// Use this country (ISO 3166 alpha-2) instead of the one the embedded data gives.
    #[arg(long)]
    pub country: Option<String>,
    /// A DNS name tied to the event, for domain claims.
    #[arg(long)]
    pub domain: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Build a dataset from files and put it in force atomically: ip→ASN CSV or TSV (gzip or
    /// not), RIR delegated-extended statistics, MaxMind-format .mmdb. Running ingests switch to
    /// it between inputs.
    #[command(
        after_help = "Example:\n  firewatch data update ip2asn-v4.tsv.gz ip2asn-v6.tsv.gz delegated-apnic-extended-latest"
    )]
    Update {
        /// The data files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// The dataset in force, its size and its credits.
    Show {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Events matching a filter, newest first.
    #[command(
        after_help = "Filter: FIELD OP VALUE joined by and / or / not and parentheses; OP is = != < <= > >= ~ (contains),\n`FIELD in (a, b)` or `FIELD exists`; `source.ip = 192.0.2.0/24` matches a network.\n\nExamples:\n  firewatch events list --where 'classification.type = scanner and source.geolocation.cc = JP' --since 7d --json\n  firewatch events list --where 'source.asn = 64496 or extra.team = jpcert' --limit 20"
    )]
    List(EventsListArgs),
    /// Event counts grouped by one or more fields.
    #[command(
        after_help = "Examples:\n  firewatch events stats --by source.asn\n  firewatch events stats --by source.geolocation.cc,classification.type --since 30d --json"
    )]
    Stats(EventsStatsArgs),
    /// Turn the telescope's findings (labelled sources, DoS victims, port alerts) into events;
    /// `ingest pcap` does this for what it ingested.
    FromDarknet(ListArgs),
    /// Write events as IntelMQ JSON lines (one event a line, keys sorted), oldest first, for
    /// IntelMQ or any tool that reads its format.
    #[command(
        after_help = "Examples:\n  firewatch events export --since 1d > events.jsonl\n  firewatch events export --where 'tlp = CLEAR' --intelmq-tlp1 | intelmq-bot-input"
    )]
    Export(EventsExportArgs),
}

#[derive(Debug, Args)]
pub struct EventsExportArgs {
    /// Only what happened at or after this time (same forms as every listing).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only what happened at or before this time.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only events matching this filter (see `events list --help`).
    #[arg(long = "where", value_name = "FILTER")]
    pub filter: Option<String>,
    /// Write TLP 1.0 levels, which IntelMQ 3.5 requires: CLEAR as WHITE, AMBER+STRICT as AMBER
    /// (lossy: the recipient no longer sees the "strict").
    #[arg(long)]
    pub intelmq_tlp1: bool,
}

#[derive(Debug, Args)]
pub struct EventsListArgs {
    #[command(flatten)]
    pub list: ListArgs,
    /// Only events matching this filter (see below).
    #[arg(long = "where", value_name = "FILTER")]
    pub filter: Option<String>,
    /// Oldest first instead of newest first.
    #[arg(long)]
    pub oldest_first: bool,
}

#[derive(Debug, Args)]
pub struct EventsStatsArgs {
    #[command(flatten)]
    pub list: ListArgs,
    /// Fields to group by, comma-separated.
    #[arg(long, required = true, value_delimiter = ',', value_name = "FIELD,...")]
    pub by: Vec<String>,
    /// Only events matching this filter.
    #[arg(long = "where", value_name = "FILTER")]
    pub filter: Option<String>,
}
