//! The read-back listings: ports, alerts, sources, attacks, flowtuples.

use crate::args::ListArgs;
use crate::output::{
    Rest, json, json_times, limited_table, limited_table_hint, ns_time, thousands,
};
use crate::tables::{asn_text, print_alerts_cut, print_attacks_cut};
use anyhow::{Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use firewatch_core::filter::{Expr, Filter};
use firewatch_core::telescope::DARKNET_FEED;
use firewatch_core::{Protocol, SourceLabel, fields};
use firewatch_pipeline::Context;
use firewatch_store::{AlertQuery, AttackQuery, EventQuery, SourceQuery};
use std::io::Write;
use std::net::IpAddr;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum PortsCommand {
    /// Ports with the most packets.
    Top(ListArgs),
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Alerts overlapping the time range, oldest first.
    List(AlertsListArgs),
    /// One alert and every one of its sources (not only the ten busiest), with country, ASN
    /// and responsible team.
    #[command(
        after_help = "Examples:\n  firewatch alerts show tcp-5555-spike-1793588400\n  firewatch alerts show tcp-5555-spike-1793588400 --team jp-example-cert --json"
    )]
    Show(AlertShowArgs),
}

#[derive(Debug, Args)]
pub struct AlertShowArgs {
    /// The alert's id (`firewatch alerts list`).
    pub id: String,
    /// Only the sources routed to this team: what its notice names.
    #[arg(long, value_name = "TEAM")]
    pub team: Option<String>,
    /// Sources shown at most in the table (all with --json).
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Print JSON: the alert and all its (or the team's) sources.
    #[arg(long)]
    pub json: bool,
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
    #[arg(long, value_name = "CC", value_parser = crate::args::country_code)]
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
    /// One address: its telescope profile and the feed events about it.
    #[command(
        after_help = "Examples:\n  firewatch sources show 192.0.2.7\n  firewatch sources show 192.0.2.7 --events 50 --json"
    )]
    Show(SourceShowArgs),
}

#[derive(Debug, Args)]
pub struct SourceShowArgs {
    /// The source address (IPv4 or IPv6).
    pub ip: IpAddr,
    /// The latest feed events about the address shown at most (all are counted).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub events: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SourcesListArgs {
    #[command(flatten)]
    pub list: ListArgs,
    /// Only sources with this label.
    #[arg(long, value_enum)]
    pub label: Option<LabelArg>,
    /// Only sources routed to this team (a directory team id).
    #[arg(long, value_name = "TEAM")]
    pub team: Option<String>,
    /// Only sources registered in this country (ISO 3166 alpha-2, e.g. JP).
    #[arg(long, value_name = "CC", value_parser = crate::args::country_code)]
    pub country: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AttacksCommand {
    /// Attacks overlapping the time range, largest first.
    List(AttacksListArgs),
}

#[derive(Debug, Args)]
pub struct AttacksListArgs {
    #[command(flatten)]
    pub list: ListArgs,
    /// Only attacks on victims routed to this team (a directory team id).
    #[arg(long, value_name = "TEAM")]
    pub team: Option<String>,
    /// Only attacks on victims registered in this country (ISO 3166 alpha-2, e.g. BR).
    #[arg(long, value_name = "CC", value_parser = crate::args::country_code)]
    pub country: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum FlowsCommand {
    /// Write flowtuples as CSV (or JSON lines with --json) to standard output.
    Export(ListArgs),
}

pub fn ports_top(ctx: &Context, args: &ListArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    // Every port, to count them: the store groups them all before it sorts and cuts anyway.
    let mut rows = store.top_ports(&args.range()?, usize::MAX)?;
    let limit = args
        .limit
        .unwrap_or(if args.json { usize::MAX } else { 20 });
    let rest = Rest::cut(&mut rows, limit);
    if args.json {
        json(&rows)?;
    } else {
        limited_table(
            &[
                "PROTO",
                "PORT",
                "PACKETS",
                "BYTES",
                "SOURCES",
                "PEAK SOURCES/INTERVAL",
                "INTERVALS",
            ],
            rows.iter()
                .map(|p| {
                    vec![
                        p.proto.clone(),
                        p.port.to_string(),
                        p.packets.to_string(),
                        p.bytes.to_string(),
                        p.unique_sources.to_string(),
                        p.peak_interval_sources.to_string(),
                        p.intervals.to_string(),
                    ]
                })
                .collect(),
            rest,
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The alert's top source countries, e.g. "BR 41%, CN 18%, US 9%".
pub fn alerts(ctx: &Context, args: &AlertsListArgs) -> Result<ExitCode> {
    let store = ctx.fresh_store()?;
    if let Some(team) = &args.team {
        crate::scope::check_team(store.as_ref(), team)?;
    }
    let proto = match args.proto.as_deref() {
        Some(p) => Some(p.parse::<Protocol>()?.number()),
        None => None,
    };
    let q = AlertQuery {
        range: args.list.range()?,
        team: args.team.clone(),
        country: args.country.clone(),
        proto,
        port: args.port,
        open_only: args.open,
        // One more than asked, to tell whether the limit left rows out.
        limit: args.list.limit.map(|l| l.saturating_add(1)),
    };
    let mut rows = store.alerts(&q)?;
    let rest = match args.list.limit {
        Some(limit) => Rest::cut_probe(&mut rows, limit),
        None => Rest::None,
    };
    if args.list.json {
        json(&crate::output::json_times(
            serde_json::to_value(&rows)?,
            &["start", "end", "peak_interval"],
            &[],
        ))?
    } else {
        print_alerts_cut(&rows, rest)
    }
    Ok(ExitCode::SUCCESS)
}

pub fn alert_show(ctx: &Context, args: &AlertShowArgs) -> Result<ExitCode> {
    let store = ctx.fresh_store()?;
    let Some(alert) = store.alert(&args.id)? else {
        anyhow::bail!("no alert {:?} (firewatch alerts list)", args.id);
    };
    if let Some(team) = &args.team {
        crate::scope::check_team(store.as_ref(), team)?;
    }
    let mut sources = store.alert_sources(&alert, args.team.as_deref())?;
    if args.json {
        let mut value = json_times(
            serde_json::to_value(&alert)?,
            &["start", "end", "peak_interval"],
            &[],
        );
        value["sources"] = serde_json::to_value(&sources)?;
        value["sources_scope"] = args.team.clone().unwrap_or_else(|| "all".into()).into();
        json(&value)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_alerts_cut(std::slice::from_ref(&alert), Rest::None);
    outln!();
    match &args.team {
        Some(team) => outln!(
            "{} of its {} sources are routed to {team}:",
            sources.len(),
            alert.unique_sources
        ),
        None => outln!("its {} sources:", sources.len()),
    }
    let rest = Rest::cut(&mut sources, args.limit);
    limited_table(
        &["SOURCE", "PACKETS", "LABEL", "COUNTRY", "ASN", "TEAM"],
        sources
            .iter()
            .map(|s| {
                vec![
                    s.addr.to_string(),
                    s.packets.to_string(),
                    s.label.map(|l| l.as_str().to_owned()).unwrap_or_default(),
                    s.country.clone().unwrap_or_default(),
                    s.asn.map(|a| format!("AS{a}")).unwrap_or_default(),
                    s.team.clone().unwrap_or_default(),
                ]
            })
            .collect(),
        rest,
    );
    Ok(ExitCode::SUCCESS)
}

fn label_of(arg: LabelArg) -> SourceLabel {
    match arg {
        LabelArg::Mirai => SourceLabel::Mirai,
        LabelArg::Zmap => SourceLabel::Zmap,
        LabelArg::Masscan => SourceLabel::Masscan,
        LabelArg::Backscatter => SourceLabel::Backscatter,
        LabelArg::Scanner => SourceLabel::Scanner,
        LabelArg::Other => SourceLabel::Other,
    }
}

pub fn sources(ctx: &Context, args: &SourcesListArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    if let Some(team) = &args.team {
        crate::scope::check_team(store.as_ref(), team)?;
    }
    let limit = args
        .list
        .limit
        .unwrap_or(if args.list.json { usize::MAX } else { 50 });
    let q = SourceQuery {
        range: args.list.range()?,
        label: args.label.map(label_of),
        team: args.team.clone(),
        country: args.country.as_deref().map(str::to_ascii_uppercase),
        // One more than shown, to tell whether the limit left sources out without counting
        // them all (a telescope sees millions).
        limit: Some(limit.saturating_add(1)),
    };
    let mut rows = store.sources(&q)?;
    let rest = Rest::cut_probe(&mut rows, limit);
    if args.list.json {
        json(&json_times(serde_json::to_value(&rows)?, &[], SOURCE_TIMES))?;
    } else {
        limited_table(
            &[
                "SOURCE",
                "LABEL",
                "FIRST SEEN",
                "LAST SEEN",
                "PACKETS",
                "DARKNET ADDRS",
                "PORTS",
                "TOP PORT",
                "COUNTRY",
                "ASN",
                "TEAM",
            ],
            rows.iter()
                .map(|s| {
                    vec![
                        s.addr.to_string(),
                        s.label.to_string(),
                        ns_time(s.first_seen_ns),
                        ns_time(s.last_seen_ns),
                        s.packets.to_string(),
                        s.distinct_destinations.to_string(),
                        s.distinct_ports.to_string(),
                        s.top_ports
                            .first()
                            .map(|p| format!("{}/{}", p.0, p.1))
                            .unwrap_or_default(),
                        s.attribution.country.clone().unwrap_or_default(),
                        asn_text(s.attribution.asn),
                        s.attribution.team.clone().unwrap_or_default(),
                    ]
                })
                .collect(),
            rest,
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A source's times in JSON: RFC 3339 beside the nanoseconds.
const SOURCE_TIMES: &[(&str, &str)] = &[
    ("first_seen_ns", "first_seen"),
    ("last_seen_ns", "last_seen"),
];

pub fn source_show(ctx: &Context, args: &SourceShowArgs) -> Result<ExitCode> {
    let ip = args.ip;
    let store = ctx.store()?;
    let telescope = store.source(ip)?;
    let feed = feed_events(store.as_ref(), ip, args.events)?;
    let Some(s) = telescope else {
        if feed.count == 0 {
            bail!("{ip} has not been seen by the telescope, and no feed event names it");
        }
        if args.json {
            json(&serde_json::json!({
                "addr": ip,
                "seen_by_telescope": false,
                "feed_events": feed.to_json(),
            }))?;
        } else {
            outln!("source      {ip}");
            outln!("telescope   not seen");
            print_feed_events(&feed);
        }
        return Ok(ExitCode::SUCCESS);
    };
    if args.json {
        let mut value = json_times(serde_json::to_value(&s)?, &[], SOURCE_TIMES);
        value["seen_by_telescope"] = true.into();
        value["feed_events"] = feed.to_json();
        json(&value)?;
        return Ok(ExitCode::SUCCESS);
    }
    let c = &s.counters;
    outln!("source      {}", s.addr);
    outln!("label       {}", s.label);
    let at = &s.attribution;
    outln!(
        "network     {} {} {}, team {} (data {})",
        at.country.as_deref().unwrap_or("??"),
        asn_text(at.asn),
        at.as_name.as_deref().unwrap_or(""),
        at.team.as_deref().unwrap_or("none"),
        at.data_version.as_deref().unwrap_or("none")
    );
    outln!("first seen  {}", ns_time(s.first_seen_ns));
    outln!("last seen   {}", ns_time(s.last_seen_ns));
    outln!("packets     {} ({} IP bytes)", s.packets, s.bytes);
    outln!("darknet addresses touched  {}", s.distinct_destinations);
    outln!("distinct ports             {}", s.distinct_ports);
    outln!(
        "TCP flags   SYN {}  SYN-ACK {}  RST {}  FIN {}  ACK {}  other {};  UDP {}  ICMP {}  other IP {}",
        c.tcp_syn,
        c.tcp_synack,
        c.tcp_rst,
        c.tcp_fin,
        c.tcp_ack,
        c.tcp_other,
        c.udp,
        c.icmp,
        c.other_proto
    );
    outln!(
        "fingerprints  Mirai {}  Masscan {}  ZMap {}  backscatter {}",
        c.mirai,
        c.masscan,
        c.zmap,
        c.backscatter
    );
    let ttls: Vec<String> = s.ttls.iter().map(u8::to_string).collect();
    outln!("TTLs        {}", ttls.join(" "));
    if s.top_ports.is_empty() && s.distinct_ports > 0 {
        outln!(
            "ports       {} distinct (too many to count one by one)",
            s.distinct_ports
        );
    } else {
        let ports: Vec<String> = s
            .top_ports
            .iter()
            .map(|(p, n, k)| format!("{p}/{n} ({k})"))
            .collect();
        outln!("ports       {}", ports.join(", "));
    }
    print_feed_events(&feed);
    Ok(ExitCode::SUCCESS)
}

/// The feed events about one address (`source.ip`): how many there are, and the latest.
/// The telescope's own findings (feed `Firewatch-Darknet`) are left out: they restate the
/// profile above. Read with the store owner's rights, as every listing of the CLI.
struct FeedEvents {
    count: u64,
    latest: Vec<firewatch_store::StoredEvent>,
}

fn feed_events(
    store: &dyn firewatch_store::Backend,
    ip: IpAddr,
    latest: usize,
) -> Result<FeedEvents> {
    let filter = Expr::And(vec![
        crate::scope::equals(fields::SOURCE_IP, &ip.to_string())?,
        Expr::Not(Box::new(crate::scope::equals(
            fields::FEED_NAME,
            DARKNET_FEED,
        )?)),
    ]);
    let q = EventQuery {
        filter: Some(Filter::from_expr(filter)),
        newest_first: true,
        limit: Some(latest),
        ..Default::default()
    };
    let count = store.count_events(&q)?;
    let latest = if latest == 0 {
        Vec::new()
    } else {
        store.events(&q)?
    };
    Ok(FeedEvents { count, latest })
}

/// A field of an event as text, `None` when absent.
fn event_text(event: &firewatch_core::Event, field: &str) -> Option<String> {
    event.get(field).map(|value| match value.to_json() {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    })
}

impl FeedEvents {
    fn to_json(&self) -> serde_json::Value {
        let latest: Vec<serde_json::Value> = self
            .latest
            .iter()
            .map(|e| {
                serde_json::json!({
                    "time": crate::output::s_time(e.time),
                    "feed": event_text(&e.event, fields::FEED_NAME),
                    "classification.type": event_text(&e.event, fields::CLASSIFICATION_TYPE),
                    "tlp": event_text(&e.event, fields::TLP),
                })
            })
            .collect();
        serde_json::json!({ "count": self.count, "latest": latest })
    }
}

fn print_feed_events(feed: &FeedEvents) {
    if feed.count == 0 {
        outln!("feed events none");
        return;
    }
    outln!(
        "feed events {}, the latest:",
        thousands(feed.count as usize)
    );
    let rest = if (feed.latest.len() as u64) < feed.count {
        Rest::Total(feed.count as usize)
    } else {
        Rest::None
    };
    let rows = feed
        .latest
        .iter()
        .map(|e| {
            let text = |f| event_text(&e.event, f).unwrap_or_else(|| "-".into());
            vec![
                crate::output::s_time(e.time),
                text(fields::FEED_NAME),
                text(fields::CLASSIFICATION_TYPE),
                text(fields::TLP),
            ]
        })
        .collect();
    limited_table_hint(
        &["TIME", "FEED", "TYPE", "TLP"],
        rows,
        rest,
        "--events N for more",
    );
}

/// Prints attacks as a table.
pub fn attacks(ctx: &Context, filter: &AttacksListArgs) -> Result<ExitCode> {
    let args = &filter.list;
    let store = ctx.store()?;
    if let Some(team) = &filter.team {
        crate::scope::check_team(store.as_ref(), team)?;
    }
    let mut rows = store.attacks(&AttackQuery {
        range: args.range()?,
        victim: None,
        team: filter.team.clone(),
        country: filter.country.as_deref().map(str::to_ascii_uppercase),
        // One more than asked, to tell whether the limit left attacks out.
        limit: args.limit.map(|l| l.saturating_add(1)),
    })?;
    let rest = match args.limit {
        Some(limit) => Rest::cut_probe(&mut rows, limit),
        None => Rest::None,
    };
    if args.json {
        json(&json_times(
            serde_json::to_value(&rows)?,
            &[],
            &[("start_ns", "start"), ("end_ns", "end")],
        ))?
    } else {
        print_attacks_cut(&rows, rest)
    }
    Ok(ExitCode::SUCCESS)
}

pub fn flows(ctx: &Context, args: &ListArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed: Option<std::io::Error> = None;
    if !args.json {
        writeln!(
            out,
            "time,src,dst,sport,dport,proto,ttl,tcp_flags,ip_len,packets,spoofed,masscan"
        )?;
    }
    let mut left = args.limit.unwrap_or(usize::MAX);
    store.flowtuples(&args.range()?, &mut |f| {
        if failed.is_some() || left == 0 {
            return;
        }
        left -= 1;
        let r = if args.json {
            serde_json::to_string(&f)
                .map_err(std::io::Error::other)
                .and_then(|l| writeln!(out, "{l}"))
        } else {
            writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{},{}",
                f.interval_start,
                f.src,
                f.dst,
                f.sport,
                f.dport,
                f.proto,
                f.ttl,
                f.tcp_flags,
                f.ip_len,
                f.packets,
                u8::from(f.spoofed),
                u8::from(f.masscan)
            )
        };
        if let Err(e) = r {
            failed = Some(e);
        }
    })?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
