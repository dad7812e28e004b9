//! The X.1060 service map pages (issue 21, docs/x1060.md): `/assess` lists the assessments the
//! viewer may read, `/assess/{scope}` shows one (heatmap, gaps, concentration, the
//! public/private split, the directory's teams of each kind, and what Firewatch measures
//! beside the claimed scores of B, D and I), `/assess/{a}/compare/{b}` the difference map.
//!
//! Who reads an assessment is the API's rule ([`crate::assess::may_read_assessment`]): a
//! TLP:CLEAR one is public, others need a sign-in and the TLP rule. A scope the viewer may not
//! read is a 404 like one that does not exist.

use super::{PageError, Shared, fmt_time, layout};
use crate::assess::{assessment_tlp, heatmap_of, readable, readable_list};
use crate::error::ApiError;
use crate::session::PageViewer;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use firewatch_assess::svg::{difference_svg, heatmap_svg};
use firewatch_assess::{Heatmap, StakeholderKind, compare, concentration, gaps, split};
use firewatch_core::access::Viewer;
use firewatch_enrich::directory::Team;
use firewatch_pipeline::evidence::{Evidence, country_of, measure};
use maud::{Markup, PreEscaped, html};
use std::collections::BTreeMap;

/// A score or share as the CLI writes it.
fn number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "-".to_owned(), |s| format!("{:.1}%", 100.0 * s))
}

fn duration(secs: f64) -> String {
    let secs = secs.round() as i64;
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{:.1} min", s as f64 / 60.0),
        s if s < 172_800 => format!("{:.1} h", s as f64 / 3600.0),
        s => format!("{:.1} d", s as f64 / 86_400.0),
    }
}

fn tlp_label(stored: &firewatch_store::StoredAssessment) -> &'static str {
    assessment_tlp(stored).map_or("no TLP (read as TLP:RED)", |t| t.label())
}

/// `GET /assess`: the assessments the viewer may read.
pub async fn list(State(state): State<Shared>, headers: HeaderMap) -> Result<Response, PageError> {
    let who = PageViewer::from_headers(&state, &headers).await?;
    let viewer = who.viewer.clone();
    let found = state.with_store(move |s| readable_list(s, &viewer)).await?;
    let content = html! {
        h1 { "Cyber defence services (ITU-T X.1060)" }
        p.note { "Who carries which services, country by country, as assessed. Each assessment is shown by its TLP: TLP:CLEAR ones to everyone, others to signed-in users as their TLP allows." }
        @if found.is_empty() {
            p { "No assessment you may read." }
        } @else {
            table.assessments {
                thead { tr { th { "Scope" } th { "Assessed by" } th { "On" } th { "Source" } th { "TLP" } th.num { "Cells" } th { "Imported" } } }
                tbody {
                    @for a in &found {
                        tr {
                            td { a href={ "/assess/" (a.scope) } { (a.scope) } }
                            td { (a.assessed_by.as_deref().unwrap_or("")) }
                            td { (a.assessed_on.as_deref().unwrap_or("")) }
                            td { (a.source.as_deref().unwrap_or("")) }
                            td { span.tlp { (tlp_label(a)) } }
                            td.num { (a.cells) }
                            td { (fmt_time(a.imported_at)) }
                        }
                    }
                }
            }
            @if found.len() > 1 {
                p { "Compare: "
                    @for pair in found.windows(2) {
                        a href={ "/assess/" (pair[0].scope) "/compare/" (pair[1].scope) } { (pair[0].scope) " · " (pair[1].scope) } " "
                    }
                }
            }
        }
    };
    Ok(layout("Cyber defence services", Some(&who), content).into_response())
}

/// What the scope page shows beside the assessment.
struct Beside {
    /// The directory's teams of the scope's country by directory kind; `None` when the viewer
    /// may not read the directory (anonymous) or the scope is no country.
    teams: Option<BTreeMap<String, Vec<Team>>>,
    /// What Firewatch measured; `None` when the scope is no country.
    evidence: Option<Evidence>,
}

/// `GET /assess/{scope}`.
pub async fn show(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(scope): Path<String>,
) -> Result<Response, PageError> {
    let who = PageViewer::from_headers(&state, &headers).await?;
    let viewer = who.viewer.clone();
    let community = matches!(viewer, Viewer::User { .. });
    let telescope = state.telescope.may_read_aggregates(&viewer);
    let (loaded, beside) = state
        .with_store(move |s| {
            let loaded = readable(s, &viewer, &scope)?;
            let country = country_of(&loaded.stored.scope);
            let teams = match (&country, community) {
                (Some(cc), true) => {
                    let directory = firewatch_pipeline::directory::stored_directory(s)
                        .map_err(|e| ApiError::Internal(format!("{e:#}")))?;
                    let mut by_kind: BTreeMap<String, Vec<Team>> = BTreeMap::new();
                    for t in directory.teams {
                        if t.country.as_ref().is_some_and(|c| c.as_str() == cc) {
                            by_kind
                                .entry(t.kind.as_str().to_owned())
                                .or_default()
                                .push(t);
                        }
                    }
                    Some(by_kind)
                }
                _ => None,
            };
            let evidence = country
                .map(|cc| measure(s, &cc, jiff::Timestamp::now().as_second()))
                .transpose()
                .map_err(|e| ApiError::Internal(format!("{e:#}")))?;
            Ok((loaded, Beside { teams, evidence }))
        })
        .await?;
    let map = heatmap_of(&loaded, false);
    let found_gaps = gaps(&map, &Default::default());
    let shares = concentration(&map);
    let sectors = split(&map);
    let s = &loaded.stored;
    let title = format!("X.1060 services: {}", s.scope);
    let content = html! {
        h1 { (title) }
        p.note {
            @if let Some(by) = &s.assessed_by { "Assessed by " (by) }
            @if let Some(on) = &s.assessed_on { " on " (on) }
            @if let Some(source) = &s.source { " from " (source) }
            " · " span.tlp { (tlp_label(s)) }
            " · catalogue " (s.catalogue_version)
        }
        section.card.heatmap {
            h2 { "Heatmap" }
            (PreEscaped(heatmap_svg(&map)))
            p.note { "Scores 0–10 now (→ target where set). Hatched grey: no part, distinct from 0 (a part carrying nothing yet)." }
        }
        section.card {
            h2 { "Cells and who carries them" }
            (heat_table(&map, beside.teams.is_some()))
        }
        section.card {
            h2 { "Measured by Firewatch beside the claims" }
            (evidence_section(&map, beside.evidence.as_ref(), community, telescope))
        }
        section.card {
            h2 { "Gaps" }
            @if found_gaps.is_empty() {
                p { "No gaps: every category has a kind scoring at least 5." }
            } @else {
                table.gaps {
                    thead { tr { th { "ID" } th { "Name" } th { "Status" } th.num { "Strongest" } th { "By" } th.num { "Carriers" } th.num { "Severity" } } }
                    tbody { @for g in &found_gaps { tr {
                        td { (g.row.item) } td { (g.row.name.as_deref().unwrap_or("")) }
                        td { (match g.status { firewatch_assess::GapStatus::Uncovered => "uncovered", firewatch_assess::GapStatus::Weak => "weak" }) }
                        td.num { (g.strongest.map_or_else(|| "-".to_owned(), number)) }
                        td { (g.strongest_kind.map_or("", StakeholderKind::as_str)) }
                        td.num { (g.carriers) } td.num { (format!("{:.2}", g.severity)) }
                    } } }
                }
            }
        }
        section.card {
            h2 { "Concentration" }
            table.concentration {
                thead { tr { th { "ID" } th { "Name" } th.num { "Total" } th.num { "Carriers" } th { "Top" } th.num { "Top share" } th.num { "HHI" } } }
                tbody { @for c in &shares { tr {
                    td { (c.row.item) } td { (c.row.name.as_deref().unwrap_or("")) }
                    td.num { (number(c.total)) } td.num { (c.carriers) }
                    td { (c.top_kind.map_or("-", StakeholderKind::as_str)) }
                    td.num { (percent(c.top_share)) }
                    td.num { (c.hhi.map_or_else(|| "-".to_owned(), |h| format!("{h:.3}"))) }
                } } }
            }
        }
        section.card {
            h2 { "Public and private split" }
            table.split {
                thead { tr { th { "ID" } th { "Name" } th.num { "Points" } th.num { "Public" } th.num { "Private" } th.num { "Academic" } } }
                tbody {
                    @for r in &sectors.rows { tr {
                        td { (r.row.item) } td { (r.row.name.as_deref().unwrap_or("")) }
                        td.num { (number(r.shares.total)) } td.num { (percent(r.shares.public)) }
                        td.num { (percent(r.shares.private)) } td.num { (percent(r.shares.academic)) }
                    } }
                    tr.overall {
                        td { "all" } td { "the whole map" }
                        td.num { (number(sectors.overall.total)) } td.num { (percent(sectors.overall.public)) }
                        td.num { (percent(sectors.overall.private)) } td.num { (percent(sectors.overall.academic)) }
                    }
                }
            }
        }
        @if let Some(teams) = &beside.teams {
            section.card.teams {
                h2 { "The directory's teams of " (s.scope) " by kind" }
                @for kind in &map.kinds {
                    h3 id={ "teams-" (kind.as_str()) } { (kind.label()) }
                    @match kind.directory_kind() {
                        None => p.note { "The directory has no kind of team for this stakeholder." },
                        Some(dk) => @match teams.get(dk) {
                            None => p.note { "No team of kind " (dk) " in " (s.scope) " in the directory." },
                            Some(list) => ul { @for t in list {
                                li { strong { (t.name) } " (" (t.id.as_str()) ")"
                                    @for c in &t.contacts { " · " (c.value) }
                                }
                            } },
                        },
                    }
                }
            }
        }
    };
    Ok(layout(&title, Some(&who), content).into_response())
}

/// The heatmap as a table: each cell links its kind to the directory's teams of that kind.
fn heat_table(map: &Heatmap, teams: bool) -> Markup {
    html! {
        table.heat {
            thead { tr { th { "ID" } th { "Name" } @for k in &map.kinds { th { (k.label()) } } } }
            tbody { @for (r, row) in map.rows.iter().enumerate() { tr {
                td { (row.item) } td { (row.name.as_deref().unwrap_or("")) }
                @for c in map.row_cells(r) {
                    @let text = match (c.score, c.target) {
                        (None, _) => "-".to_owned(),
                        (Some(s), None) => number(s),
                        (Some(s), Some(t)) => format!("{}→{}", number(s), number(t)),
                    };
                    td.num data-kind=(c.kind.as_str()) {
                        @if teams && c.kind.directory_kind().is_some() {
                            a href={ "#teams-" (c.kind.as_str()) } title={ "teams of kind " (c.kind.directory_kind().unwrap_or("")) } { (text) }
                        } @else { (text) }
                    }
                }
            } } }
        }
        @if !teams { p.note { "Sign in to see the directory's teams behind each kind." } }
    }
}

/// The claimed scores of a category: each kind with a part, strongest first.
fn claimed(map: &Heatmap, category: char) -> String {
    let Some(r) = map
        .rows
        .iter()
        .position(|row| row.item.to_string() == category.to_string())
    else {
        return "not in the assessment".to_owned();
    };
    let mut cells: Vec<_> = map
        .row_cells(r)
        .iter()
        .filter_map(|c| c.score.map(|s| (c.kind, s)))
        .collect();
    cells.sort_by(|a, b| b.1.total_cmp(&a.1));
    if cells.is_empty() {
        return "no kind has a part".to_owned();
    }
    cells
        .iter()
        .map(|(k, s)| format!("{} {}", k.as_str(), number(*s)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn evidence_section(
    map: &Heatmap,
    evidence: Option<&Evidence>,
    community: bool,
    telescope: bool,
) -> Markup {
    let Some(e) = evidence else {
        return html! { p.note { "Firewatch measures countries: this scope is not a country code." } };
    };
    let d = &e.incident_response;
    let b = &e.real_time_analysis;
    let i = &e.external_relations;
    let memberships = i
        .memberships
        .iter()
        .map(|(m, n)| format!("{m} ({n})"))
        .collect::<Vec<_>>()
        .join(", ");
    html! {
        table.evidence {
            thead { tr { th { "Category" } th { "Claimed" } th { "Measured by Firewatch" } } }
            tbody {
                tr id="evidence-b" {
                    td { "B real-time analysis" } td { (claimed(map, 'B')) }
                    td { @if telescope {
                        "Telescope: " span.captures { (b.captures) } " captures, "
                        (b.span_secs.map_or_else(|| "span unknown".to_owned(), |s| format!("spanning {}", duration(s as f64))))
                        ", newest data " (b.last_data_age_secs.map_or_else(|| "none".to_owned(), |s| format!("{} old", duration(s as f64))))
                        "; " span.sources { (b.sources) } " sources and " span.alerts { (b.alerts) } " alerts attributed to " (e.country) "."
                    } @else { "Telescope figures are not released to you." } }
                }
                tr id="evidence-d" {
                    td { "D incident response" } td { (claimed(map, 'D')) }
                    td { @if community {
                        span.notices { (d.notices) } " notices to " (e.country) "'s teams (" (d.sent) " sent, " (d.queued) " queued, " (d.failed) " failed); from queued to sent: median "
                        span.median { (d.median_secs.map_or_else(|| "-".to_owned(), duration)) }
                        ", 90th percentile " span.p90 { (d.p90_secs.map_or_else(|| "-".to_owned(), duration)) } "."
                    } @else { "Sign in to see the notices." } }
                }
                tr id="evidence-d-cases" {
                    td { "D as parties to cases" } td { }
                    td { @if community {
                        span.case-parties { (e.cases.parties) } " parties in " (e.cases.cases) " cases, "
                        span.acknowledged { (e.cases.acknowledged) } " acknowledged, " (e.cases.resolved) " done; to acknowledge: median "
                        span.ack-median { (e.cases.acknowledge_median_secs.map_or_else(|| "-".to_owned(), duration)) }
                        ", to done: median " (e.cases.resolve_median_secs.map_or_else(|| "-".to_owned(), duration)) "."
                    } @else { "Sign in to see the cases." } }
                }
                tr id="evidence-i" {
                    td { "I external relations" } td { (claimed(map, 'I')) }
                    td { @if community {
                        span.teams { (i.teams.len()) } " teams in the directory with "
                        span.contacts { (i.contacts) } " contacts; memberships: "
                        (if memberships.is_empty() { "none".to_owned() } else { memberships })
                        "."
                    } @else { "Sign in to see the directory." } }
                }
                @for n in &e.not_measured {
                    tr.not-measured { td { (n.category) } td { } td { (n.what) ": " (n.why) } }
                }
            }
        }
    }
}

/// `GET /assess/{a}/compare/{b}`: the difference map B − A.
pub async fn compare_page(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path((a, b)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let who = PageViewer::from_headers(&state, &headers).await?;
    let viewer = who.viewer.clone();
    let (left, right) = state
        .with_store(move |s| Ok((readable(s, &viewer, &a)?, readable(s, &viewer, &b)?)))
        .await?;
    let diff = compare(&heatmap_of(&left, false), &heatmap_of(&right, false))
        .map_err(|e| PageError::BadRequest(e.to_string()))?;
    let title = format!(
        "X.1060 services: {} compared with {}",
        diff.right, diff.left
    );
    let width = diff.kinds.len();
    let content = html! {
        h1 { (title) }
        p.note {
            a href={ "/assess/" (left.stored.scope) } { (left.stored.scope) } " (" (tlp_label(&left.stored)) ") and "
            a href={ "/assess/" (right.stored.scope) } { (right.stored.scope) } " (" (tlp_label(&right.stored)) "): per cell "
            (diff.right) " − " (diff.left) ", no part counted as 0; red: less, blue: more; hatched: neither has a part."
        }
        section.card.difference {
            (PreEscaped(difference_svg(&diff)))
        }
        table.difference {
            thead { tr { th { "ID" } th { "Name" } @for k in &diff.kinds { th { (k.label()) } } } }
            tbody { @for (r, row) in diff.rows.iter().enumerate() { tr {
                td { (row.item) } td { (row.name.as_deref().unwrap_or("")) }
                @for c in diff.cells.get(r * width..(r + 1) * width).unwrap_or(&[]) {
                    td.num { (c.difference.map_or_else(|| "-".to_owned(), |d| if d > 0.0 { format!("+{}", number(d)) } else { number(d) })) }
                }
            } } }
        }
    };
    Ok(layout(&title, Some(&who), content).into_response())
}
