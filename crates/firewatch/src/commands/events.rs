//! `firewatch events list|stats`: the event store, read back with a filter.

use crate::args::ListArgs;
use crate::output::{Rest, limited_table};
use anyhow::{Result, anyhow};
use clap::{Args, Subcommand};
use firewatch_core::filter::{Expr, Filter};
use firewatch_core::{Event, fields};
use firewatch_pipeline::Context;
use firewatch_store::EventQuery;
use std::process::ExitCode;

/// Rows shown when --limit is not given.
const DEFAULT_LIMIT: usize = 100;

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Events matching a filter, newest first.
    #[command(
        after_help = "Filter: FIELD OP VALUE joined by and / or / not and parentheses; OP is = != < <= > >= ~ (contains),\n`FIELD in (a, b)` or `FIELD exists`; `source.ip = 192.0.2.0/24` matches a network.\n\nExamples:\n  firewatch events list --where 'classification.type = scanner and source.geolocation.cc = JP' --since 7d --json\n  firewatch events list --where 'source.asn = 64496 or extra.team = jpcert' --limit 20\n  firewatch events list --team jp-example-cert --country JP --since 1d"
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
    /// Write TLP 1.0 levels, which IntelMQ 3.5 requires: CLEAR as WHITE, AMBER+STRICT as RED
    /// (TLP 1.0's AMBER would widen it to the recipient's clients; RED never widens).
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
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Oldest first instead of newest first.
    #[arg(long)]
    pub oldest_first: bool,
}

/// One team's or one country's events: `--team`/`--country`, as the other listings take them.
#[derive(Debug, Args, Clone, Default)]
pub struct ScopeArgs {
    /// Only events routed to this team (`extra.team`; a team of `firewatch teams list`).
    #[arg(long, value_name = "TEAM")]
    pub team: Option<String>,
    /// Only events whose source is in this country (`source.geolocation.cc`, ISO 3166
    /// alpha-2, e.g. JP).
    #[arg(long, value_name = "CC", value_parser = crate::args::country_code)]
    pub country: Option<String>,
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
    #[command(flatten)]
    pub scope: ScopeArgs,
}

fn query(list: &ListArgs, filter: Option<&str>, newest_first: bool) -> Result<EventQuery> {
    scoped_query(list, filter, &ScopeArgs::default(), newest_first)
}

/// The query for `--where` and `--team`/`--country` together: one filter, so the store
/// applies all of it before it counts or cuts at the limit.
fn scoped_query(
    list: &ListArgs,
    filter: Option<&str>,
    scope: &ScopeArgs,
    newest_first: bool,
) -> Result<EventQuery> {
    let filter = filter
        .map(|text| Filter::parse(text).map_err(|e| anyhow!("--where {text:?}: {e}")))
        .transpose()?;
    let mut terms = Vec::new();
    if let Some(team) = &scope.team {
        terms.push(crate::scope::equals(fields::EXTRA_TEAM, team)?);
    }
    if let Some(cc) = &scope.country {
        terms.push(crate::scope::equals("source.geolocation.cc", cc)?);
    }
    let filter = match (filter, terms.is_empty()) {
        (filter, true) => filter,
        (filter, false) => {
            terms.extend(filter.map(|f| f.expr().clone()));
            Some(Filter::from_expr(Expr::And(terms)))
        }
    };
    Ok(EventQuery {
        filter,
        range: list.range()?,
        limit: Some(list.limit.unwrap_or(DEFAULT_LIMIT)),
        after_id: None,
        newest_first,
        visibility: None,
    })
}

/// Refuses a `--team` the team directory does not know (naming those it does).
fn check_scope(store: &dyn firewatch_store::Backend, scope: &ScopeArgs) -> Result<()> {
    match &scope.team {
        Some(team) => crate::scope::check_team(store, team),
        None => Ok(()),
    }
}

fn text(event: &Event, field: &str) -> String {
    match event.get(field) {
        Some(value) => match value.to_json() {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        },
        None => "-".to_owned(),
    }
}

pub fn list(ctx: &Context, args: &EventsListArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    check_scope(store.as_ref(), &args.scope)?;
    let mut q = scoped_query(
        &args.list,
        args.filter.as_deref(),
        &args.scope,
        !args.oldest_first,
    )?;
    // A table shows DEFAULT_LIMIT events unless told otherwise; JSON shows them all.
    let limit = args
        .list
        .limit
        .or((!args.list.json).then_some(DEFAULT_LIMIT));
    // One more than shown, to tell whether the limit left events out; then they are counted.
    q.limit = limit.map(|l| l.saturating_add(1));
    let mut events = store.events(&q)?;
    let rest = match limit {
        Some(limit) if events.len() > limit => {
            events.truncate(limit);
            Rest::Total(usize::try_from(store.count_events(&q)?).unwrap_or(usize::MAX))
        }
        _ => Rest::None,
    };
    if args.list.json {
        let rows: Vec<serde_json::Value> = events.iter().map(|e| e.event.to_json_value()).collect();
        crate::output::json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    let columns = [
        "classification.type",
        "source.ip",
        "source.port",
        "source.geolocation.cc",
        "source.asn",
        "extra.team",
        "feed.name",
        "tlp",
    ];
    let rows = events
        .iter()
        .map(|e| {
            let mut row = vec![crate::output::s_time(e.time)];
            row.extend(columns.iter().map(|c| text(&e.event, c)));
            row
        })
        .collect();
    limited_table(
        &[
            "time", "type", "source", "port", "cc", "asn", "team", "feed", "tlp",
        ],
        rows,
        rest,
    );
    Ok(ExitCode::SUCCESS)
}

pub fn stats(ctx: &Context, args: &EventsStatsArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    check_scope(store.as_ref(), &args.scope)?;
    let q = scoped_query(&args.list, args.filter.as_deref(), &args.scope, true)?;
    let limit = args.list.limit.unwrap_or(if args.list.json {
        usize::MAX
    } else {
        DEFAULT_LIMIT
    });
    // The store groups every event before it sorts and cuts anyway: take all groups, to count
    // them.
    let mut groups = store.event_stats(&args.by, &q, usize::MAX)?;
    let rest = Rest::cut(&mut groups, limit);
    if args.list.json {
        let rows: Vec<serde_json::Value> = groups
            .iter()
            .map(|g| {
                let mut row = serde_json::Map::new();
                for (field, value) in args.by.iter().zip(&g.key) {
                    row.insert(field.clone(), value.clone());
                }
                row.insert("count".to_owned(), g.count.into());
                serde_json::Value::Object(row)
            })
            .collect();
        crate::output::json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut headers: Vec<&str> = args.by.iter().map(String::as_str).collect();
    headers.push("events");
    let rows = groups
        .iter()
        .map(|g| {
            let mut row: Vec<String> = g
                .key
                .iter()
                .map(|v| match v {
                    serde_json::Value::Null => "-".to_owned(),
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            row.push(g.count.to_string());
            row
        })
        .collect();
    limited_table(&headers, rows, rest);
    Ok(ExitCode::SUCCESS)
}

/// Events per store query while exporting (keyset paging keeps memory flat).
const EXPORT_PAGE: usize = 10_000;

pub fn export(ctx: &Context, args: &EventsExportArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let list = ListArgs {
        since: args.since.clone(),
        until: args.until.clone(),
        json: false,
        limit: Some(EXPORT_PAGE),
    };
    let mut q = query(&list, args.filter.as_deref(), false)?;
    let options = firewatch_feeds::intelmq_jsonl::WriteOptions {
        intelmq_tlp_1: args.intelmq_tlp1,
    };
    match write_pages(store.as_ref(), &mut q, &options) {
        // A reader that stops early (`| head`) is not an error.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(ExitCode::SUCCESS)
        }
        other => other.map(|()| ExitCode::SUCCESS),
    }
}

fn write_pages(
    store: &dyn firewatch_store::Backend,
    q: &mut EventQuery,
    options: &firewatch_feeds::intelmq_jsonl::WriteOptions,
) -> Result<()> {
    use std::io::Write;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    loop {
        let page = store.events(q)?;
        let Some(last) = page.last() else { break };
        q.after_id = Some(last.id);
        firewatch_feeds::intelmq_jsonl::write_with(
            page.iter().map(|e| &e.event),
            &mut out,
            options,
        )?;
        if page.len() < EXPORT_PAGE {
            break;
        }
    }
    out.flush()?;
    Ok(())
}
