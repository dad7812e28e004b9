//! The signed-in pages: the dashboard (a team's constituency, or the community) and a team's
//! inbox.

use super::chart::{PortChart, port_chart};
use super::map::choropleth;
use super::{PageError, Shared, fmt_time, layout, to_login};
use crate::error::ApiError;
use crate::session::PageViewer;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use firewatch_core::access::Viewer;
use firewatch_core::filter::Filter;
use firewatch_detect::{Baseline, DetectConfig, SeriesPoint};
use firewatch_store::{
    AlertQuery, AlertRecord, AttackQuery, AttackRecord, EventQuery, PortTotal, SourceQuery,
    SourceRecord, StoredEvent, TimeRange,
};
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Ports charted on the dashboard.
const CHARTED_PORTS: usize = 4;
/// Rows of the dashboard's tables.
const TABLE_ROWS: usize = 10;
/// Rows of the dashboard's tables of alerts (open ones, the team's).
const ALERT_ROWS: usize = 50;
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
    proto: String,
    port: u16,
    series: Vec<SeriesPoint>,
    baseline: Vec<Option<Baseline>>,
}

/// Which dashboard: the signed-in team's constituency, or the whole community.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum View {
    /// The viewer's team: its alerts (with its share), sources, attacks and events.
    Team,
    /// Everything the viewer may read, all teams together.
    Community,
}

/// Query of `GET /`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardParams {
    /// `team` (the default for a user of a directory team) or `community`.
    pub view: Option<View>,
}

/// An alert and how many of its sources are the viewing team's.
struct TeamAlert {
    alert: AlertRecord,
    yours: Option<u64>,
}

impl TeamAlert {
    fn row(&self) -> (&AlertRecord, Option<u64>) {
        (&self.alert, self.yours)
    }
}

#[derive(Default)]
struct Dashboard {
    /// The team whose constituency is shown; `None` in the community view.
    team: Option<String>,
    /// Whether the viewer's team is one of the directory (a team view exists).
    team_view_exists: bool,
    aggregates: bool,
    /// The slice of telescope records shown: `Some(None)` all, `Some(Some(team))` one
    /// team's, `None` nothing (the telescope's TLP does not let the viewer read them).
    records: Option<Option<String>>,
    top: Vec<PortTotal>,
    charted: Vec<Charted>,
    /// The team's alerts (or, in the community view, every alert), newest first.
    alerts: Vec<TeamAlert>,
    /// In the team view, the other alerts (none of the team's sources), newest first.
    other_alerts: Vec<AlertRecord>,
    sources: Vec<SourceRecord>,
    attacks: Vec<AttackRecord>,
    /// The newest readable events routed to the team (team view).
    events: Vec<StoredEvent>,
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

/// How many of an alert's unique sources are routed to `team`: its share of the alert's
/// sources (every team's share is kept, not only the largest) times their number.
pub fn sources_of_team(alert: &AlertRecord, team: &str) -> u64 {
    alert
        .top_teams
        .iter()
        .find(|(t, _)| t == team)
        .map_or(0, |(_, share)| {
            (share * alert.unique_sources as f64).round() as u64
        })
}

/// The ports to chart: those that alerted (in the order of `alerted`, which puts what matters
/// most to the viewer first), then the busiest, [`CHARTED_PORTS`] at most.
fn ports_to_chart<'a>(
    alerted: impl IntoIterator<Item = &'a AlertRecord>,
    top: &[PortTotal],
) -> Vec<(String, u16)> {
    let mut out: Vec<(String, u16)> = Vec::new();
    let candidates = alerted
        .into_iter()
        .map(|a| (a.proto.clone(), a.port))
        .chain(top.iter().map(|p| (p.proto.clone(), p.port)));
    for port in candidates {
        if out.len() == CHARTED_PORTS {
            break;
        }
        if !out.contains(&port) {
            out.push(port);
        }
    }
    out
}

/// Open alerts first (largest first), then the newest.
fn by_urgency(a: &AlertRecord, b: &AlertRecord) -> std::cmp::Ordering {
    b.end
        .is_none()
        .cmp(&a.end.is_none())
        .then_with(|| match (a.end, b.end) {
            (None, None) => b.magnitude.total_cmp(&a.magnitude),
            _ => b.start.cmp(&a.start),
        })
}

/// `GET /`: the dashboard (anonymous visitors go to `/public`). A user of a directory team
/// sees their team's constituency (`?view=community` for everything they may read); other
/// users (an administrator of no directory team) see the community view.
pub async fn dashboard(
    State(state): State<Shared>,
    headers: HeaderMap,
    params: Result<Query<DashboardParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let Query(params) = params.map_err(|e| PageError::BadRequest(e.body_text()))?;
    let who = PageViewer::from_headers(&state, &headers).await?;
    if who.session.is_none() {
        return Ok(Redirect::to("/public").into_response());
    }
    let viewer = who.viewer.clone();
    let own = viewer.team().map(str::to_owned);
    let access = state.telescope.clone();
    let aggregates = access.may_read_aggregates(&viewer);
    let d = state
        .with_store(move |s| {
            let directory = firewatch_pipeline::directory::stored_directory(s)
                .map_err(|e| ApiError::Internal(format!("{e:#}")))?;
            let team_view_exists = own.as_deref().is_some_and(|t| directory.team(t).is_some());
            let team = match params.view {
                Some(View::Community) => None,
                Some(View::Team) | None => own.filter(|_| team_view_exists),
            };
            // Telescope records go through the one policy: a team slice may be readable where
            // all records are not (AMBER: the routed team's own).
            let records = crate::api::telescope_slice(&access, &viewer, team.clone(), false).ok();
            let mut d = Dashboard {
                team: team.clone(),
                team_view_exists,
                aggregates,
                records: records.clone(),
                ..Default::default()
            };
            d.interval = s.interval_secs()?.map_or(300, i64::from);
            let all = TimeRange::default();
            if aggregates {
                d.top = s.top_ports(&all, TABLE_ROWS)?;
                let mut alerts = s.alerts(&AlertQuery::default())?;
                alerts.sort_by(|a, b| b.start.cmp(&a.start).then(a.id.cmp(&b.id)));
                match &team {
                    Some(t) => {
                        let (mine, others): (Vec<_>, Vec<_>) =
                            alerts.into_iter().partition(|a| sources_of_team(a, t) > 0);
                        d.alerts = mine
                            .into_iter()
                            .map(|a| TeamAlert {
                                yours: Some(sources_of_team(&a, t)),
                                alert: a,
                            })
                            .collect();
                        d.other_alerts = others;
                    }
                    None => {
                        d.alerts = alerts
                            .into_iter()
                            .map(|alert| TeamAlert { alert, yours: None })
                            .collect();
                    }
                }
                let mut alerted: Vec<&AlertRecord> = d.alerts.iter().map(|a| &a.alert).collect();
                alerted.sort_by(|a, b| by_urgency(a, b));
                let mut others: Vec<&AlertRecord> = d.other_alerts.iter().collect();
                others.sort_by(|a, b| by_urgency(a, b));
                alerted.extend(others);
                let cfg = DetectConfig::default();
                for (proto, port) in ports_to_chart(alerted, &d.top) {
                    let series = s.port_series(proto_number(&proto), port, &all)?;
                    let baseline = firewatch_detect::baseline(&series, &cfg);
                    d.charted.push(Charted {
                        proto,
                        port,
                        series,
                        baseline,
                    });
                }
            }
            if let Some(slice) = records {
                d.attacks = s.attacks(&AttackQuery {
                    team: slice.clone(),
                    limit: Some(TABLE_ROWS),
                    ..Default::default()
                })?;
                let sources = s.sources(&SourceQuery {
                    team: slice,
                    limit: Some(MAP_SOURCES),
                    ..Default::default()
                })?;
                for src in &sources {
                    if let Some(cc) = &src.attribution.country {
                        *d.countries.entry(cc.to_ascii_uppercase()).or_default() += 1;
                    }
                }
                d.sources = sources.into_iter().take(TABLE_ROWS).collect();
            }
            let q = EventQuery {
                filter: team.as_deref().map(inbox_filter).transpose()?,
                visibility: Some(viewer.event_visibility()),
                ..Default::default()
            };
            d.events_readable = s.count_events(&q)?;
            let groups = s.event_stats(&["source.geolocation.cc".to_owned()], &q, 300)?;
            add_country_groups(&mut d.countries, &groups);
            if team.is_some() {
                d.events = s.events(&EventQuery {
                    limit: Some(TABLE_ROWS),
                    newest_first: true,
                    ..q
                })?;
            }
            Ok(d)
        })
        .await?;
    let label = state.telescope.tlp.label();
    let chart_alerts: Vec<&AlertRecord> = d
        .alerts
        .iter()
        .map(|a| &a.alert)
        .chain(&d.other_alerts)
        .collect();
    let title = match &d.team {
        Some(t) => format!("Team {t}"),
        None => "Community".to_owned(),
    };
    let content = html! {
        h1 { "Dashboard" }
        p.switch {
            strong.view-name { (title) } " — "
            @match (&d.team, d.team_view_exists) {
                (Some(_), _) => {
                    "Your team's constituency: its alerts, sources, attacks and events. "
                    a.view-link href="/?view=community" { "Community view" }
                }
                (None, true) => {
                    "Everything you may read, all teams together. "
                    a.view-link href="/?view=team" { "Your team's view" }
                }
                (None, false) => { "Everything you may read, all teams together." }
            }
            " · " a.health-link href="/public/health" { "Internet health (published metrics)" }
        }
        @if !d.aggregates {
            p.note { "Telescope alerts and port activity are " (label) " and not shared with your team." }
        } @else {
            section.card {
                h2 { "Port activity" }
                p.note { "The ports that alerted, then the busiest." }
                @if d.charted.is_empty() { p.empty { "The telescope has no data yet." } }
                @for (i, c) in d.charted.iter().enumerate() {
                    @let alerts: Vec<&AlertRecord> = chart_alerts.iter().copied()
                        .filter(|a| a.port == c.port && a.proto == c.proto).collect();
                    (port_chart(&format!("chart-{i}"), &PortChart {
                        label: format!("{}/{}", c.proto, c.port),
                        series: &c.series,
                        baseline: &c.baseline,
                        alerts,
                        interval: d.interval,
                    }))
                }
            }
            div.grid {
                @if d.team.is_some() {
                    section.card {
                        h2 { "Your alerts" }
                        (alerts_table(&d.alerts.iter().take(ALERT_ROWS).map(TeamAlert::row).collect::<Vec<_>>()))
                        h2 { "Other alerts" }
                        p.note { "Alerts with none of your team's sources." }
                        (alerts_table(&d.other_alerts.iter().take(TABLE_ROWS).map(|a| (a, None)).collect::<Vec<_>>()))
                    }
                } @else {
                    @let open: Vec<_> = d.alerts.iter().filter(|a| a.alert.end.is_none()).take(ALERT_ROWS).map(TeamAlert::row).collect();
                    section.card {
                        h2 { "Open alerts" }
                        (alerts_table(&open))
                        @if d.alerts.iter().any(|a| a.alert.end.is_some()) {
                            h2 { "Recent alerts" }
                            (alerts_table(&d.alerts.iter().filter(|a| a.alert.end.is_some()).take(TABLE_ROWS).map(TeamAlert::row).collect::<Vec<_>>()))
                        }
                    }
                }
                section.card {
                    h2 { "Top ports" }
                    (top_ports_table(&d.top))
                }
            }
        }
        div.grid {
            section.card {
                h2 { "Sources by country" }
                (choropleth("world-map", &format!(
                    "{} events you may read{}{}",
                    d.events_readable,
                    if d.team.is_some() { " routed to your team" } else { "" },
                    match (&d.records, &d.team) {
                        (Some(_), Some(_)) => " and your team's telescope sources",
                        (Some(_), None) => " and telescope sources",
                        (None, _) => "",
                    }
                ), &d.countries))
            }
            @if d.records.is_some() {
                section.card {
                    h2 { @if d.team.is_some() { "Your sources" } @else { "Busiest sources" } }
                    (sources_table(&d.sources))
                }
                section.card {
                    h2 { @if d.team.is_some() { "Attacks on your constituency (backscatter)" } @else { "Recent attacks (backscatter)" } }
                    (attacks_table(&d.attacks))
                }
            } @else {
                section.card {
                    h2 { "Telescope sources" }
                    p.note { "Telescope records are " (label) " and not shared with your team." }
                }
            }
            @if d.team.is_some() {
                section.card {
                    h2 { "Your events" }
                    p.note { (d.events_readable) " events routed to your team that you may read. " a href="/inbox" { "Inbox →" } }
                    (events_table(&d.events))
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

/// Alerts, each with the viewing team's sources in it where known.
fn alerts_table(alerts: &[(&AlertRecord, Option<u64>)]) -> Markup {
    let shares = alerts.iter().any(|(_, yours)| yours.is_some());
    html! {
        @if alerts.is_empty() { p.empty { "None." } } @else {
            table.alerts {
                thead { tr {
                    th { "Alert" } th { "Port" } th { "Start" } th { "End" } th.num { "× baseline" }
                    @if shares { th.num { "Yours" } }
                    th.num { "Sources" }
                } }
                tbody {
                    @for (a, yours) in alerts {
                        tr {
                            td { a.alert-link href=(format!("/alerts/{}", a.id)) { (a.id) } }
                            td { (a.proto) "/" (a.port) }
                            td { (fmt_time(a.start)) }
                            td { @match a.end { Some(e) => (fmt_time(e)), None => "open" } }
                            td.num { (format!("{:.1}", a.magnitude)) }
                            @if shares { td.num.yours { (yours.unwrap_or(0)) " of yours" } }
                            td.num { (a.unique_sources) }
                        }
                    }
                }
            }
        }
    }
}

fn sources_table(sources: &[SourceRecord]) -> Markup {
    html! {
        @if sources.is_empty() { p.empty { "None." } } @else {
            table.sources {
                thead { tr { th { "Source" } th { "Label" } th.num { "Packets" } th { "Last seen" } th { "Country" } th { "ASN" } th { "Team" } } }
                tbody {
                    @for s in sources {
                        tr {
                            td { (s.addr) }
                            td { (s.label) }
                            td.num { (s.packets) }
                            td { (fmt_time(s.last_seen_ns.div_euclid(1_000_000_000))) }
                            td { (s.attribution.country.as_deref().unwrap_or("")) }
                            td { @if let Some(asn) = s.attribution.asn { "AS" (asn) } }
                            td { (s.attribution.team.as_deref().unwrap_or("")) }
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
                thead { tr { th { "Victim" } th { "Start" } th.num { "Packets" } th.num { "Peak/min" } th { "Country" } th { "Team" } } }
                tbody {
                    @for a in attacks {
                        tr {
                            td { (a.victim) }
                            td { (fmt_time(a.start_ns.div_euclid(1_000_000_000))) }
                            td.num { (a.packets) }
                            td.num { (a.peak_per_minute) }
                            td { (a.attribution.country.as_deref().unwrap_or("")) }
                            td { (a.attribution.team.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    }
}

fn events_table(events: &[StoredEvent]) -> Markup {
    html! {
        @if events.is_empty() { p.empty { "Nothing routed to your team." } } @else {
            table.events {
                thead { tr { th { "Time" } th { "Type" } th { "Source" } th { "Country" } th { "TLP" } } }
                tbody {
                    @for e in events {
                        tr {
                            td { (fmt_time(e.time)) }
                            td { (field(&e.event, "classification.type")) }
                            td { (field(&e.event, "source.ip")) }
                            td { (field(&e.event, "source.geolocation.cc")) }
                            td { span.tlp { (field(&e.event, "tlp")) } }
                        }
                    }
                }
            }
        }
    }
}

/// Query of `GET /inbox`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboxParams {
    /// The id of the last event of the previous page.
    pub before: Option<i64>,
}

/// The filter of a team's inbox: events routed to it (`extra.team`).
pub fn inbox_filter(team: &str) -> Result<Filter, ApiError> {
    Filter::equals(firewatch_core::fields::EXTRA_TEAM, team)
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
