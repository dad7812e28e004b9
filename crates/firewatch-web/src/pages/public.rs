//! `GET /public`: TLP:CLEAR statistics only, for anyone.
//!
//! Events are read as [`Viewer::Anonymous`] through the store's visibility predicate, so only
//! CLEAR events are counted, whoever is signed in. Telescope data appears only when its
//! aggregates are readable by the public (`public_darknet_aggregates`, or telescope TLP:CLEAR),
//! and then only as the top-ports aggregate.

use super::dashboard::{add_country_groups, top_ports_table};
use super::map::choropleth;
use super::{PageError, Shared, layout};
use crate::session::PageViewer;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use firewatch_core::TlpLevel;
use firewatch_core::access::Viewer;
use firewatch_store::{EventGroup, EventQuery, TimeRange};
use maud::html;
use std::collections::BTreeMap;

/// `GET /public`.
pub async fn public(
    State(state): State<Shared>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let who = PageViewer::from_headers(&state, &headers).await?;
    let public = Viewer::Anonymous;
    let aggregates = state.telescope.may_read_aggregates(&public);
    let (total, by_country, by_type, top) = state
        .with_store(move |s| {
            let q = EventQuery {
                visibility: Some(public.event_visibility()),
                ..Default::default()
            };
            let total = s.count_events(&q)?;
            let by_country: Vec<EventGroup> =
                s.event_stats(&["source.geolocation.cc".to_owned()], &q, 300)?;
            let by_type = s.event_stats(&["classification.type".to_owned()], &q, 50)?;
            let top = if aggregates {
                s.top_ports(&TimeRange::default(), 10)?
            } else {
                Vec::new()
            };
            Ok((total, by_country, by_type, top))
        })
        .await?;
    let mut countries = BTreeMap::new();
    add_country_groups(&mut countries, &by_country);
    let key = |g: &EventGroup| match g.key.first() {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => "(none)".to_owned(),
        Some(other) => other.to_string(),
    };
    let content = html! {
        h1 { "Public statistics" }
        p.note { "Only data marked " span.tlp { (TlpLevel::Clear.label()) } " is counted here: " (total) " events." }
        p { a.health-link href="/public/health" { "Internet health: risky hosts per country and network" } }
        div.grid {
            section.card {
                h2 { "Events by country" }
                (choropleth("public-map", "TLP:CLEAR events by source country", &countries))
                table.by-country {
                    thead { tr { th { "Country" } th.num { "Events" } } }
                    tbody { @for g in &by_country { tr { td { (key(g)) } td.num { (g.count) } } } }
                }
            }
            section.card {
                h2 { "Events by type" }
                table.by-type {
                    thead { tr { th { "Type" } th.num { "Events" } } }
                    tbody { @for g in &by_type { tr { td { (key(g)) } td.num { (g.count) } } } }
                }
                @if aggregates {
                    h2 { "Telescope: top ports" }
                    (top_ports_table(&top))
                }
            }
        }
    };
    Ok(layout("Public statistics", Some(&who), content).into_response())
}
