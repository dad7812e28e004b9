//! `GET /alerts/{id}`: one alert, and the sources of it that the viewer may read, filtered to
//! the viewer: a team's member sees the team's own sources ("24 of yours out of 633"), an
//! administrator or a coordinator every source, each with country, ASN and team.

use super::{PageError, Shared, fmt_time, layout, to_login};
use crate::session::PageViewer;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use firewatch_core::access::{Role, Viewer};
use firewatch_core::telescope::AlertSource;
use maud::html;
use serde::Deserialize;

/// Sources listed on the page at most (the API lists every one).
pub const ALERT_PAGE_SOURCES: usize = 500;

/// Which of an alert's sources the page lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The viewer's team's own (the default for members and read-only users).
    Team,
    /// Every source (the default for administrators and coordinators), where the telescope's
    /// TLP lets the viewer read them all.
    All,
}

/// Query of `GET /alerts/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertParams {
    /// `team` or `all`; by default by the viewer's role.
    pub sources: Option<Scope>,
}

/// What the page shows of the alert's sources.
enum Listed {
    /// The slice the policy gives (`None`: every team's), the sources in it.
    Sources(Option<String>, Vec<AlertSource>),
    /// The telescope's TLP lets the viewer read none of them.
    Withheld,
}

/// `GET /alerts/{id}`: the alert (telescope aggregates) and its sources the viewer may read,
/// through the same policy as `GET /api/v1/alerts/{id}/sources`.
pub async fn alert(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    params: Result<Query<AlertParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let Query(params) = params.map_err(|e| PageError::BadRequest(e.body_text()))?;
    let who = PageViewer::from_headers(&state, &headers).await?;
    let Viewer::User { team, role, .. } = &who.viewer else {
        return Ok(to_login());
    };
    // A team that may not read the telescope's aggregates may still open an alert touching its
    // own constituency (AMBER: the routed team, as its notice tells it), and sees its part.
    let aggregates = state.telescope.may_read_aggregates(&who.viewer);
    if !aggregates && !state.telescope.may_tell_routed_team(team) {
        return Err(PageError::Forbidden(format!(
            "telescope data is {} and not shared with your team",
            state.telescope.tlp.label()
        )));
    }
    let scope = params.sources.unwrap_or(match role {
        Role::Administrator | Role::Coordinator => Scope::All,
        Role::Member | Role::ReadOnly => Scope::Team,
    });
    let asked = match scope {
        Scope::All => None,
        Scope::Team => Some(team.clone()),
    };
    // The one policy: all sources to readers of the telescope's records, the team's own to a
    // team the telescope's TLP lets be told of findings routed to it, none to anyone else.
    let slice = crate::api::telescope_slice(&state.telescope, &who.viewer, asked, true).ok();
    let all_readable = state.telescope.may_read_records(&who.viewer);
    let wanted = id.clone();
    let (a, listed) = state
        .with_store(move |s| {
            let Some(a) = s.alert(&wanted)? else {
                return Ok((None, Listed::Withheld));
            };
            let listed = match slice {
                Some(team) => {
                    let sources = s.alert_sources(&a, team.as_deref())?;
                    Listed::Sources(team, sources)
                }
                None => Listed::Withheld,
            };
            Ok((Some(a), listed))
        })
        .await?;
    let a = a.ok_or_else(|| PageError::NotFound(format!("no alert {id}")))?;
    if !aggregates && !matches!(&listed, Listed::Sources(_, sources) if !sources.is_empty()) {
        // Not one of its sources: the alert is not the team's to see.
        return Err(PageError::NotFound(format!("no alert {id}")));
    }
    let here = format!("/alerts/{}", a.id);
    let content = html! {
        h1 { "Alert " (a.id) }
        section.card {
            dl.detail {
                dt { "Port" } dd { (a.proto) "/" (a.port) }
                dt { "Kind" } dd { (crate::api::serde_name(&a.kind)) }
                dt { "Start" } dd { (fmt_time(a.start)) " UTC" }
                dt { "End" } dd { @match a.end { Some(e) => { (fmt_time(e)) " UTC" }, None => "open" } }
                dt { "Peak" } dd { (a.peak_packets) " packets, " (a.peak_sources) " sources at " (fmt_time(a.peak_interval)) }
                dt { "Baseline" } dd { (format!("{:.1}", a.baseline_packets)) " packets, " (format!("{:.1}", a.baseline_sources)) " sources" }
                dt { "Magnitude" } dd { (format!("{:.1}", a.magnitude)) "× (score " (format!("{:.1}", a.score)) ")" }
                dt { "Total sources" } dd { (a.unique_sources) " (" (a.packets) " packets)" }
            }
        }
        section.card {
            @match &listed {
                Listed::Withheld => {
                    h2 { "Sources" }
                    p.note { "The telescope's sources are " (state.telescope.tlp.label()) " and not shared with your team." }
                }
                Listed::Sources(slice, sources) => {
                    h2.sources-count {
                        @match slice {
                            Some(t) if t == team => { (sources.len()) " of yours out of " (a.unique_sources) }
                            Some(t) => { (sources.len()) " routed to " (t) " out of " (a.unique_sources) }
                            None => { "All " (sources.len()) " sources" }
                        }
                    }
                    @if all_readable {
                        p.switch {
                            @if slice.is_some() {
                                a href=(format!("{here}?sources=all")) { "All sources" }
                            } @else {
                                a href=(format!("{here}?sources=team")) { "Only your team's" }
                            }
                        }
                    }
                    @if sources.len() > ALERT_PAGE_SOURCES {
                        p.note {
                            "The " (ALERT_PAGE_SOURCES) " busiest are listed; "
                            code { "GET /api/v1/alerts/" (a.id) "/sources" } " lists every one."
                        }
                    }
                    @if sources.is_empty() { p.empty { "None." } } @else {
                        table.alert-sources {
                            thead { tr { th { "Source" } th.num { "Packets" } th { "Label" } th { "Country" } th { "ASN" } th { "Team" } } }
                            tbody {
                                @for s in sources.iter().take(ALERT_PAGE_SOURCES) {
                                    tr {
                                        td { (s.addr) }
                                        td.num { (s.packets) }
                                        td { (s.label.map(|l| l.as_str()).unwrap_or("")) }
                                        td { (s.country.as_deref().unwrap_or("")) }
                                        td { @if let Some(asn) = s.asn { "AS" (asn) } }
                                        td { (s.team.as_deref().unwrap_or("")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        p { a href="/" { "← Dashboard" } }
    };
    Ok(layout(&format!("Alert {id}"), Some(&who), content).into_response())
}
