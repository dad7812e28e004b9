//! `GET /public/health`: the published Internet-health metrics (docs/metrics.md) — a choropleth
//! by country, daily lines of the leading countries or networks, and the ranking table.
//!
//! Only what `firewatch metrics compute` published is read: figures of TLP:CLEAR (or
//! explicitly released) events with every daily cell under the suppression threshold left
//! out. The page applies the stored threshold again, so a row under it is never drawn even if
//! one reached the table some other way.

use super::map::choropleth;
use super::{PageError, Shared, layout};
use crate::session::PageViewer;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use firewatch_core::TlpLevel;
use firewatch_store::health::{HealthMeta, HealthPublicRecord};
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The risks, as `firewatch-metrics` names them, in display order.
const RISKS: [(&str, &str); 9] = [
    ("open-dns", "Open DNS resolvers"),
    ("open-ntp", "Open NTP (monlist)"),
    ("ntp-version", "NTP (version)"),
    ("open-ssdp", "Open SSDP"),
    ("open-snmp", "Open SNMP"),
    ("open-chargen", "Open CHARGEN"),
    ("scanner", "Scanners"),
    ("mirai-bot", "Mirai-like bots"),
    ("ddos-victim", "DoS victims"),
];

/// Lines drawn in the trend chart.
const CHARTED: usize = 5;
/// Rows of the ranking table.
const RANKED: usize = 25;
/// Colours of the chart's lines.
const LINE_COLOURS: [&str; CHARTED] = ["#08519c", "#a50f15", "#006d2c", "#7a0177", "#b35806"];

/// `?by=country|asn&risk=…`.
#[derive(Debug, Deserialize)]
pub struct HealthQuery {
    by: Option<String>,
    risk: Option<String>,
}

fn day_text(day: i64) -> String {
    jiff::Timestamp::from_second(day.saturating_mul(86_400))
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| day.to_string())
}

fn key_text(scope: &str, key: &str) -> String {
    if scope == "asn" {
        format!("AS{key}")
    } else {
        key.to_owned()
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| v.to_string())
}

/// `GET /public/health`.
pub async fn health(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HealthQuery>,
) -> Result<Response, PageError> {
    let who = PageViewer::from_headers(&state, &headers).await?;
    let scope = match q.by.as_deref() {
        None | Some("country") => "country",
        Some("asn") => "asn",
        Some(other) => {
            return Err(PageError::BadRequest(format!(
                "by={other:?}: choose country or asn"
            )));
        }
    };
    let risk = match q.risk.as_deref() {
        None => "open-dns",
        Some(r) => RISKS
            .iter()
            .find(|(id, _)| *id == r)
            .map(|(id, _)| *id)
            .ok_or_else(|| PageError::BadRequest(format!("risk={r:?} is not a measured risk")))?,
    };
    let (meta, rows, countries) = state
        .with_store(move |s| {
            let meta = s.health_meta()?;
            let rows = s.health_public(scope, None, None)?;
            let countries = if scope == "country" {
                Vec::new()
            } else {
                s.health_public("country", None, None)?
            };
            Ok((meta, rows, countries))
        })
        .await?;
    let content = match meta {
        None => html! {
            h1 { "Internet health" }
            p.empty { "No metrics have been published yet." }
        },
        Some(meta) => {
            // Defence in depth: nothing under the threshold, whatever the table holds.
            let floor = meta.suppression_threshold.max(1);
            let keep = |r: &HealthPublicRecord| r.risk == risk && r.unique_ips >= floor;
            let rows: Vec<HealthPublicRecord> = rows.into_iter().filter(keep).collect();
            let countries: Vec<HealthPublicRecord> = if scope == "country" {
                rows.clone()
            } else {
                countries.into_iter().filter(keep).collect()
            };
            render(&meta, scope, risk, &rows, &countries)
        }
    };
    Ok(layout("Internet health", Some(&who), content).into_response())
}

fn render(
    meta: &HealthMeta,
    scope: &str,
    risk: &str,
    rows: &[HealthPublicRecord],
    countries: &[HealthPublicRecord],
) -> Markup {
    let name = RISKS
        .iter()
        .find(|(id, _)| *id == risk)
        .map_or(risk, |(_, n)| n);
    let last_day = rows.iter().map(|r| r.day).max();
    let latest: Vec<&HealthPublicRecord> = rows
        .iter()
        .filter(|r| Some(r.day) == last_day)
        .take(RANKED)
        .collect();
    let map_day = countries.iter().map(|r| r.day).max();
    let map: BTreeMap<String, u64> = countries
        .iter()
        .filter(|r| Some(r.day) == map_day)
        .map(|r| (r.key.to_ascii_uppercase(), r.unique_ips))
        .collect();
    let charted: Vec<&str> = latest
        .iter()
        .take(CHARTED)
        .map(|r| r.key.as_str())
        .collect();
    html! {
        h1 { "Internet health" }
        p.note {
            "Hosts with a risk per day, from " span.tlp { (TlpLevel::Clear.label()) }
            @if meta.release_all_tlp { " and explicitly released" }
            " reports and telescope findings. Daily counts under "
            (meta.suppression_threshold) " hosts are not published, nor anything computed from them."
        }
        p.choices {
            "Risk: "
            @for (id, label) in RISKS {
                @if id == risk { strong { (label) } } @else {
                    a href=(format!("/public/health?by={scope}&risk={id}")) { (label) }
                }
                " "
            }
        }
        p.choices {
            "By: "
            @for (id, label) in [("country", "country"), ("asn", "network (ASN)")] {
                @if id == scope { strong { (label) } } @else {
                    a href=(format!("/public/health?by={id}&risk={risk}")) { (label) }
                }
                " "
            }
        }
        @if rows.is_empty() {
            p.empty { "Nothing published for " (name) " by " (scope) "." }
        }
        div.grid {
            section.card {
                h2 { (name) " by country" }
                @if let Some(day) = map_day {
                    (choropleth("health-map", &format!("{name}, unique hosts on {}", day_text(day)), &map))
                } @else {
                    p.empty { "No country figures published." }
                }
            }
            section.card {
                h2 { "Daily hosts, leading " (if scope == "asn" { "networks" } else { "countries" }) }
                (trend_chart(scope, rows, &charted))
            }
        }
        section.card {
            h2 { "Ranking" @if let Some(d) = last_day { " on " (day_text(d)) } }
            table.health-ranking {
                thead { tr {
                    th.num { "Rank" } th { (if scope == "asn" { "Network" } else { "Country" }) }
                    th.num { "Unique hosts" } th.num { "Per million addresses" }
                    th.num { "DDoS potential (Gbit/s)" } th.num { "Trend (base week = 100)" }
                } }
                tbody {
                    @for r in &latest {
                        tr {
                            td.num { (r.rank) }
                            td { (key_text(scope, &r.key)) }
                            td.num { (r.unique_ips) }
                            td.num { (opt(r.per_million_addresses)) }
                            td.num { (opt(r.ddos_potential_gbps)) }
                            td.num { (opt(r.trend_index)) }
                        }
                    }
                }
            }
            p.note {
                "Computed " (super::fmt_time(meta.computed_at)) " UTC"
                @if let Some(w) = &meta.base_week { "; base week starting " (w) }
                "; DDoS potential = hosts × amplification factor (Rossow, NDSS 2014) × "
                (meta.bandwidth_per_device_mbps) " Mbit/s per host. "
                "Announced address space from RouteViews (routeviews.org), "
                a href="https://db-ip.com" { "DB-IP" } " and NRO (nro.net), CC BY 4.0."
            }
        }
    }
}

/// Daily unique hosts of the `charted` keys as inline SVG lines (as `chart.rs` draws ports).
fn trend_chart(scope: &str, rows: &[HealthPublicRecord], charted: &[&str]) -> Markup {
    const W: f64 = 720.0;
    const H: f64 = 220.0;
    const LEFT: f64 = 56.0;
    const RIGHT: f64 = 8.0;
    const TOP: f64 = 10.0;
    const BOTTOM: f64 = 24.0;
    let series: Vec<(&str, Vec<(i64, u64)>)> = charted
        .iter()
        .map(|k| {
            let points = rows
                .iter()
                .filter(|r| r.key == *k)
                .map(|r| (r.day, r.unique_ips))
                .collect();
            (*k, points)
        })
        .collect();
    let days = series.iter().flat_map(|(_, p)| p.iter().map(|(d, _)| *d));
    let (Some(d0), Some(d1)) = (days.clone().min(), days.max()) else {
        return html! { p.empty { "No daily figures published." } };
    };
    let ymax = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, v)| *v as f64))
        .fold(1.0_f64, f64::max)
        * 1.05;
    let span = (d1 - d0).max(1) as f64;
    let x = |d: i64| LEFT + (d - d0) as f64 / span * (W - LEFT - RIGHT);
    let y = |v: f64| TOP + (1.0 - v / ymax) * (H - TOP - BOTTOM);
    let bottom = H - BOTTOM;
    html! {
        figure.chart {
            svg id="health-trend" class="chart" viewBox=(format!("0 0 {W} {H}")) role="img"
                aria-label="daily unique hosts of the leading places" xmlns="http://www.w3.org/2000/svg" {
                rect x="0" y="0" width=(W) height=(H) fill="#ffffff" {}
                line x1=(LEFT) y1=(bottom) x2=(W - RIGHT) y2=(bottom) stroke="#888888" {}
                line x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(bottom) stroke="#888888" {}
                text x=(LEFT - 4.0) y=(TOP + 10.0) text-anchor="end" font-size="11" { (format!("{ymax:.0}")) }
                text x=(LEFT - 4.0) y=(bottom) text-anchor="end" font-size="11" { "0" }
                text x=(LEFT) y=(H - 6.0) font-size="11" { (day_text(d0)) }
                text x=(W - RIGHT) y=(H - 6.0) text-anchor="end" font-size="11" { (day_text(d1)) }
                @for (i, (key, points)) in series.iter().enumerate() {
                    @let colour = LINE_COLOURS[i % LINE_COLOURS.len()];
                    @let line: String = points.iter()
                        .map(|(d, v)| format!("{:.1},{:.1} ", x(*d), y(*v as f64))).collect();
                    polyline.series points=(line) fill="none" stroke=(colour) stroke-width="1.5"
                        data-key=(key) {
                        title { (key_text(scope, key)) }
                    }
                    @for (d, v) in points {
                        circle cx=(format!("{:.1}", x(*d))) cy=(format!("{:.1}", y(*v as f64))) r="2" fill=(colour) {
                            title { (key_text(scope, key)) " " (day_text(*d)) ": " (v) }
                        }
                    }
                }
            }
            figcaption {
                @for (i, (key, _)) in series.iter().enumerate() {
                    svg.swatch viewBox="0 0 10 10" width="12" height="12" xmlns="http://www.w3.org/2000/svg" {
                        rect width="10" height="10" fill=(LINE_COLOURS[i % LINE_COLOURS.len()]) {}
                    }
                    " " (key_text(scope, key)) " "
                }
            }
        }
    }
}
