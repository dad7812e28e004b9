//! The signed-in pages: the dashboard, a team's inbox and an alert's details.

use super::chart::{PortChart, port_chart};
use super::map::choropleth;
use super::{PageError, Shared, fmt_time, layout, to_login};
use crate::error::ApiError;
use crate::session::PageViewer;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use firewatch_core::access::Viewer;
use firewatch_core::filter::Filter;
use firewatch_detect::{Baseline, DetectConfig, SeriesPoint};
use firewatch_store::{
    AlertQuery, AlertRecord, AttackQuery, AttackRecord, EventQuery, PortTotal, SourceQuery,
    StoredEvent, TimeRange,
};
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Ports charted on the dashboard.
const CHARTED_PORTS: usize = 3;
/// Rows of the dashboard's tables.
const TABLE_ROWS: usize = 10;
/// Telescope sources counted for the map (the busiest).
const MAP_SOURCES: usize = 5000;
/// Events per inbox page.
pub const INBOX_PAGE: usize = 50;

/// The text of an event field (strings as they are, other values as JSON); empty if absent.
pub fn field(event: &firewatch_core::Event, name: &str) -> String {
    match event.get(name).map(|v| v.to_json()) {
        Some(serde_json::Value::String(s)) => s,
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// Adds the counts of `(country, count)` groups of an event statistic to `counts`.
pub fn add_country_groups(
    counts: &mut BTreeMap<String, u64>,
    groups: &[firewatch_store::EventGroup],
) {
    for g in groups {
        if let Some(serde_json::Value::String(cc)) = g.key.first() {
            *counts.entry(cc.to_ascii_uppercase()).or_default() += g.count;
        }
    }
}

struct Charted {
    port: PortTotal,
    series: Vec<SeriesPoint>,
    baseline: Vec<Option<Baseline>>,
}

#[derive(Default)]
struct Dashboard {
    aggregates: bool,
    records: bool,
    top: Vec<PortTotal>,
    charted: Vec<Charted>,
    alerts: Vec<AlertRecord>,
    attacks: Vec<AttackRecord>,
    countries: BTreeMap<String, u64>,
    events_readable: u64,
    interval: i64,
}

fn proto_number(p: &str) -> u8 {
    match p {
        "tcp" => 6,
        "udp" => 17,
        "icmp" => 1,
        "icmpv6" => 58,
        n => n.parse().unwrap_or(0),
    }
}

/// `GET /`: the dashboard (anonymous visitors go to `/public`).
pub async fn dashboard(
    State(state): State<Shared>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let who = PageViewer::from_headers(&state, &headers).await?;
    if who.session.is_none() {
        return Ok(Redirect::to("/public").into_response());
    }
    let viewer = who.viewer.clone();
    let aggregates = state.telescope.may_read_aggregates(&viewer);
    let records = state.telescope.may_read_records(&viewer);
    let d = state
        .with_store(move |s| {
            let mut d = Dashboard {
                aggregates,
                records,
                ..Default::default()
            };
            d.interval = s.interval_secs()?.map_or(300, i64::from);
            let all = TimeRange::default();
            if aggregates {
                d.top = s.top_ports(&all, TABLE_ROWS)?;
                d.alerts = s.alerts(&AlertQuery {
                    limit: Some(50),
                    ..Default::default()
                })?;
                let cfg = DetectConfig::default();
                for port in d.top.iter().take(CHARTED_PORTS) {
                    let series = s.port_series(proto_number(&port.proto), port.port, &all)?;
                    let baseline = firewatch_detect::baseline(&series, &cfg);
                    d.charted.push(Charted {
                        port: port.clone(),
                        series,
                        baseline,
                    });
                }
            }
            if records {
                d.attacks = s.attacks(&AttackQuery {
                    limit: Some(TABLE_ROWS),
                    ..Default::default()
                })?;
                for src in s.sources(&SourceQuery {
                    limit: Some(MAP_SOURCES),
                    ..Default::default()
                })? {
                    if let Some(cc) = src.attribution.country {
                        *d.countries.entry(cc.to_ascii_uppercase()).or_default() += 1;
                    }
                }
            }
            let q = EventQuery {
                visibility: Some(viewer.event_visibility()),
                ..Default::default()
            };
            d.events_readable = s.count_events(&q)?;
            let groups = s.event_stats(&["source.geolocation.cc".to_owned()], &q, 300)?;
            add_country_groups(&mut d.countries, &groups);
            Ok(d)
        })
        .await?;
    let open: Vec<&AlertRecord> = d.alerts.iter().filter(|a| a.end.is_none()).collect();
    let label = state.telescope.tlp.label();
    let content = html! {
        h1 { "Dashboard" }
        p { a.health-link href="/public/health" { "Internet health (published metrics)" } }
        @if !d.aggregates {
            p.note { "Telescope data is " (label) " and not shared with your team." }
        } @else {
            section.card {
                h2 { "Port activity" }
                @if d.charted.is_empty() { p.empty { "The telescope has no data yet." } }
                @for (i, c) in d.charted.iter().enumerate() {
                    @let alerts: Vec<&AlertRecord> = d.alerts.iter()
                        .filter(|a| a.port == c.port.port && a.proto == c.port.proto).collect();
                    (port_chart(&format!("chart-{i}"), &PortChart {
                        label: format!("{}/{}", c.port.proto, c.port.port),
                        series: &c.series,
                        baseline: &c.baseline,
                        alerts,
                        interval: d.interval,
                    }))
                }
            }
            div.grid {
                section.card {
                    h2 { "Top ports" }
                    (top_ports_table(&d.top))
                }
                section.card {
                    h2 { "Open alerts" }
                    (alerts_table(&open))
                    @if open.len() < d.alerts.len() {
                        h2 { "Recent alerts" }
                        (alerts_table(&d.alerts.iter().filter(|a| a.end.is_some()).take(TABLE_ROWS).collect::<Vec<_>>()))
                    }
                }
            }
        }
        div.grid {
            section.card {
                h2 { "Sources by country" }
                (choropleth("world-map", &format!(
                    "{} events you may read{}",
                    d.events_readable,
                    if d.records { " and telescope sources" } else { "" }
                ), &d.countries))
            }
            @if d.records {
                section.card {
                    h2 { "Recent attacks (backscatter)" }
                    (attacks_table(&d.attacks))
                }
            }
        }
    };
    Ok(layout("Dashboard", Some(&who), content).into_response())
}

pub fn top_ports_table(top: &[PortTotal]) -> Markup {
    html! {
        @if top.is_empty() { p.empty { "No ports yet." } } @else {
            table.top-ports {
                thead { tr { th { "Port" } th.num { "Packets" } th.num { "Sources" } th.num { "Intervals" } } }
                tbody {
                    @for p in top {
                        tr { td { (p.proto) "/" (p.port) } td.num { (p.packets) } td.num { (p.unique_sources) } td.num { (p.intervals) } }
                    }
                }
            }
        }
    }
}

fn alerts_table(alerts: &[&AlertRecord]) -> Markup {
    html! {
        @if alerts.is_empty() { p.empty { "None." } } @else {
            table.alerts {
                thead { tr { th { "Alert" } th { "Port" } th { "Start" } th.num { "× baseline" } th.num { "Sources" } } }
                tbody {
                    @for a in alerts {
                        tr {
                            td { a.alert-link href=(format!("/alerts/{}", a.id)) { (a.id) } }
                            td { (a.proto) "/" (a.port) }
                            td { (fmt_time(a.start)) }
                            td.num { (format!("{:.1}", a.magnitude)) }
                            td.num { (a.unique_sources) }
                        }
                    }
                }
            }
        }
    }
}

fn attacks_table(attacks: &[AttackRecord]) -> Markup {
    html! {
        @if attacks.is_empty() { p.empty { "None." } } @else {
            table.attacks {
                thead { tr { th { "Victim" } th { "Start" } th.num { "Packets" } th.num { "Peak/min" } th { "Country" } } }
                tbody {
                    @for a in attacks {
                        tr {
                            td { (a.victim) }
                            td { (fmt_time(a.start_ns / 1_000_000_000)) }
                            td.num { (a.packets) }
                            td.num { (a.peak_per_minute) }
                            td { (a.attribution.country.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /alerts/{id}`: one alert (telescope aggregates; its sources only to readers of
/// telescope records).
pub async fn alert(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let who = PageViewer::from_headers(&state, &headers).await?;
    if who.session.is_none() {
        return Ok(to_login());
    }
    if !state.telescope.may_read_aggregates(&who.viewer) {
        return Err(PageError::Forbidden(format!(
            "telescope data is {} and not shared with your team",
            state.telescope.tlp.label()
        )));
    }
    let records = state.telescope.may_read_records(&who.viewer);
    let wanted = id.clone();
    let found = state
        .with_store(move |s| {
            Ok(s.alerts(&AlertQuery::default())?
                .into_iter()
                .find(|a| a.id == wanted))
        })
        .await?;
    let a = found.ok_or_else(|| PageError::NotFound(format!("no alert {id}")))?;
    let content = html! {
        h1 { "Alert " (a.id) }
        section.card {
            dl.detail {
                dt { "Port" } dd { (a.proto) "/" (a.port) }
                dt { "Kind" } dd { (format!("{:?}", a.kind)) }
                dt { "Start" } dd { (fmt_time(a.start)) }
                dt { "End" } dd { @match a.end { Some(e) => (fmt_time(e)), None => "open" } }
                dt { "Peak" } dd { (a.peak_packets) " packets, " (a.peak_sources) " sources at " (fmt_time(a.peak_interval)) }
                dt { "Baseline" } dd { (format!("{:.1}", a.baseline_packets)) " packets, " (format!("{:.1}", a.baseline_sources)) " sources" }
                dt { "Magnitude" } dd { (format!("{:.1}", a.magnitude)) "× (score " (format!("{:.1}", a.score)) ")" }
                dt { "Totals" } dd { (a.packets) " packets from " (a.unique_sources) " sources" }
            }
        }
        @if records && !a.top_sources.is_empty() {
            section.card {
                h2 { "Top sources" }
                table {
                    thead { tr { th { "Address" } th.num { "Packets" } th { "Label" } } }
                    tbody {
                        @for s in &a.top_sources {
                            tr { td { (s.addr) } td.num { (s.packets) } td { (s.label.map(|l| format!("{l:?}")).unwrap_or_default()) } }
                        }
                    }
                }
            }
        }
        p { a href="/" { "← Dashboard" } }
    };
    Ok(layout(&format!("Alert {id}"), Some(&who), content).into_response())
}

/// Query of `GET /inbox`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboxParams {
    /// The id of the last event of the previous page.
    pub before: Option<i64>,
}

/// The filter of a team's inbox: events routed to it (`extra.team`).
fn inbox_filter(team: &str) -> Result<Filter, ApiError> {
    let quoted = team.replace('\\', "\\\\").replace('"', "\\\"");
    Filter::parse(&format!("extra.team = \"{quoted}\""))
        .map_err(|e| ApiError::Internal(format!("inbox filter of team {team:?}: {e}")))
}

/// `GET /inbox`: events routed to the viewer's team that the viewer may read, newest first.
pub async fn inbox(
    State(state): State<Shared>,
    headers: HeaderMap,
    params: Result<Query<InboxParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let Query(params) = params.map_err(|e| PageError::BadRequest(e.body_text()))?;
    let who = PageViewer::from_headers(&state, &headers).await?;
    let Viewer::User { team, .. } = &who.viewer else {
        return Ok(to_login());
    };
    let q = EventQuery {
        filter: Some(inbox_filter(team)?),
        limit: Some(INBOX_PAGE),
        after_id: params.before,
        newest_first: true,
        visibility: Some(who.viewer.event_visibility()),
        ..Default::default()
    };
    let count_q = EventQuery {
        limit: None,
        after_id: None,
        filter: q.filter.clone(),
        visibility: q.visibility.clone(),
        ..Default::default()
    };
    let (events, total): (Vec<StoredEvent>, u64) = state
        .with_store(move |s| Ok((s.events(&q)?, s.count_events(&count_q)?)))
        .await?;
    let next = (events.len() == INBOX_PAGE)
        .then(|| events.last().map(|e| e.id))
        .flatten();
    let content = html! {
        h1 { "Inbox of team " (team) }
        p.note { (total) " events routed to your team that you may read, newest first." }
        section.card {
            @if events.is_empty() { p.empty { "Nothing routed to your team." } } @else {
                table.inbox {
                    thead { tr { th { "Time" } th { "Type" } th { "Source" } th { "Country" } th { "Feed" } th { "TLP" } th { "Comment" } } }
                    tbody {
                        @for e in &events {
                            tr {
                                td { (fmt_time(e.time)) }
                                td { (field(&e.event, "classification.type")) }
                                td { (field(&e.event, "source.ip")) }
                                td { (field(&e.event, "source.geolocation.cc")) }
                                td { (field(&e.event, "feed.name")) }
                                td { span.tlp { (field(&e.event, "tlp")) } }
                                td { (field(&e.event, "comment")) }
                            }
                        }
                    }
                }
            }
            @if let Some(n) = next {
                p.pager { a href=(format!("/inbox?before={n}")) { "Older →" } }
            }
        }
    };
    Ok(layout("Inbox", Some(&who), content).into_response())
}
