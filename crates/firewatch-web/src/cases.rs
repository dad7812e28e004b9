//! Cross-border cases on the API (issue 19, docs/cases.md): the cases the viewer's team may
//! see, and one case as that team may see it.
//!
//! Who sees what is the cases crate's rule, not this module's: the listing is the store's
//! visibility query ([`CaseQuery::visible_to`], a party or core's TLP rule with the coordinator
//! as owner and the parties as recipients) and a case is [`Case::view_for`] the viewer's team,
//! as `firewatch cases show --team` prints it: the coordinator sees everything, any other
//! party its own slice and what belongs to the whole case, a team the TLP lets read only the
//! whole case's part. A case the team may not see answers 404 like one that does not exist, so
//! its existence does not leak; an anonymous viewer gets a 401 (cases are never public).

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::viewer::ApiViewer;
use crate::wire::{ApiPath, ApiQuery, limit, rfc3339};
use axum::Json;
use axum::extract::State;
use firewatch_cases::stored::load;
use firewatch_cases::{Case, CaseError, party_figures};
use firewatch_core::TlpLevel;
use firewatch_core::access::Viewer;
use firewatch_store::cases::{CaseQuery, StoredCase, StoredParty};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

type Shared = Arc<AppState>;

/// The viewer's team; an anonymous viewer may see no case.
fn team_of(viewer: &Viewer) -> Result<String, ApiError> {
    viewer.team().map(str::to_owned).ok_or_else(|| {
        ApiError::Unauthorized("cases are for teams: authenticate with a bearer token".into())
    })
}

fn case_error(e: CaseError) -> ApiError {
    match e {
        CaseError::Store(s) => ApiError::from(s),
        other => ApiError::Internal(other.to_string()),
    }
}

/// The same answer for a case that does not exist and one the team may not see.
fn no_such(id: u64) -> ApiError {
    ApiError::NotFound(format!("no case #{id} that your team may see"))
}

/// A case's status, as a filter.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CaseStatus {
    New,
    InProgress,
    Closed,
}

impl CaseStatus {
    fn as_str(self) -> &'static str {
        match self {
            CaseStatus::New => firewatch_cases::Status::New.as_str(),
            CaseStatus::InProgress => firewatch_cases::Status::InProgress.as_str(),
            CaseStatus::Closed => firewatch_cases::Status::Closed.as_str(),
        }
    }
}

/// Parameters of `GET /api/v1/cases`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CasesParams {
    /// Only cases with this status.
    pub status: Option<CaseStatus>,
    /// At most this many, newest first (1..=1000, default 100).
    #[param(minimum = 1, maximum = 1000, example = 100)]
    pub limit: Option<u32>,
}

/// A party of a case, as a listing shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CasePartyItem {
    /// The team's directory id.
    pub team: String,
    /// `coordinator`, `affected`, `reporter` or `observer`.
    pub role: String,
    /// `invited`, `notified`, `seen`, `acknowledged`, `acting`, `done` or `declined`.
    pub status: String,
}

impl From<&StoredParty> for CasePartyItem {
    fn from(p: &StoredParty) -> Self {
        CasePartyItem {
            team: p.team.clone(),
            role: p.role.clone(),
            status: p.status.clone(),
        }
    }
}

/// A case's header, as `firewatch cases list --json` writes it (times in RFC 3339 UTC).
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseItem {
    /// The case number.
    pub id: u64,
    /// A line saying what happened.
    pub title: String,
    /// More words, possibly empty.
    pub summary: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// Who may read the case.
    pub tlp: TlpLevel,
    /// What the parties may do with it (PAP: `clear`, `green`, `amber`, `red`).
    pub pap: String,
    /// `new`, `in-progress` or `closed`.
    pub status: String,
    /// Set while closed: `confirmed`, `suspected`, `false-positive`, `blocked`,
    /// `failed-attempt`.
    pub determination: Option<String>,
    /// The coordinating team.
    pub coordinator: String,
    #[schema(format = DateTime, example = "2026-01-01T00:00:00Z")]
    pub opened_at: String,
    /// The last change.
    #[schema(format = DateTime, example = "2026-01-01T00:00:00Z")]
    pub updated_at: String,
    /// While closed.
    #[schema(value_type = Option<String>, format = DateTime, example = "2026-01-01T00:00:00Z")]
    pub closed_at: Option<String>,
    /// Every party, in the order added.
    pub parties: Vec<CasePartyItem>,
}

fn case_item(c: &StoredCase, parties: &[(u64, StoredParty)]) -> Result<CaseItem, ApiError> {
    Ok(CaseItem {
        id: c.id,
        title: c.title.clone(),
        summary: c.summary.clone(),
        severity: c.severity.clone(),
        tlp: c
            .tlp
            .parse()
            .map_err(|e| ApiError::Internal(format!("case #{}: tlp: {e}", c.id)))?,
        pap: c.pap.clone(),
        status: c.status.clone(),
        determination: c.determination.clone(),
        coordinator: c.coordinator.clone(),
        opened_at: rfc3339(c.opened_at),
        updated_at: rfc3339(c.updated_at),
        closed_at: c.closed_at.map(rfc3339),
        parties: parties
            .iter()
            .filter(|(id, _)| *id == c.id)
            .map(|(_, p)| CasePartyItem::from(p))
            .collect(),
    })
}

/// The cases the viewer's team may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseList {
    /// Newest first.
    pub items: Vec<CaseItem>,
}

/// One case as the viewer's team may see it, as `firewatch cases show --team T --json` prints
/// it (there flattened beside `figures`).
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDetail {
    /// The team this view is for: the viewer's.
    pub seen_as: String,
    /// The case: header, parties with their status history, and of the tasks, linked findings,
    /// observables and timeline entries those of the whole case and, for the coordinator,
    /// every party's, for any other team its own only. Times are RFC 3339 UTC.
    #[schema(value_type = Object)]
    pub case: serde_json::Value,
    /// Each party's time to acknowledge and to resolve, read from the timeline seen.
    #[schema(value_type = Vec<Object>)]
    pub figures: Vec<serde_json::Value>,
}

/// The case numbered `id` as `team` may see it, else a 404 (whether or not it exists).
pub fn seen_by(
    store: &dyn firewatch_store::Backend,
    id: u64,
    team: &str,
) -> Result<Case, ApiError> {
    // The store numbers cases as SQLite integers: a number above i64::MAX names no case (and
    // the store would refuse to bind it, a 500 rather than the 404 it is).
    if i64::try_from(id).is_err() {
        return Err(no_such(id));
    }
    load(store, id)
        .map_err(case_error)?
        .and_then(|case| case.view_for(team))
        .ok_or_else(|| no_such(id))
}

fn to_json<T: Serialize>(value: &T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(value).map_err(|e| ApiError::Internal(format!("json: {e}")))
}

/// The cases the viewer's team may see (a party of, or let read by the case's TLP), newest
/// first.
#[utoipa::path(get, path = "/api/v1/cases", params(CasesParams),
    responses((status = 200, description = "The cases the viewer's team may see, newest first", body = CaseList), (status = 400, description = "A parameter is unknown, malformed or out of range", body = ErrorBody), (status = 401, description = "No token, or the token is malformed, unknown or revoked", body = ErrorBody), (status = 413, description = "The request has a body over 64 KiB", body = ErrorBody)))]
pub(crate) async fn cases(
    State(state): State<Shared>,
    ApiViewer(viewer): ApiViewer,
    ApiQuery(p): ApiQuery<CasesParams>,
) -> Result<Json<CaseList>, ApiError> {
    let team = team_of(&viewer)?;
    let q = CaseQuery {
        visible_to: Some(team),
        status: p.status.map(|s| s.as_str().to_owned()),
        limit: Some(limit(p.limit)?),
    };
    let (rows, parties) = state
        .with_store(move |s| {
            let rows = s.cases(&q)?;
            let ids: Vec<u64> = rows.iter().map(|c| c.id).collect();
            let parties = s.case_parties(&ids)?;
            Ok((rows, parties))
        })
        .await?;
    Ok(Json(CaseList {
        items: rows
            .iter()
            .map(|c| case_item(c, &parties))
            .collect::<Result<_, _>>()?,
    }))
}

/// One case as the viewer's team may see it: everything for the coordinator, its own slice and
/// the whole case's part for any other party.
#[utoipa::path(get, path = "/api/v1/cases/{id}", params(("id" = u64, Path, description = "The case number", example = 1)),
    responses((status = 200, description = "The case as the viewer's team may see it", body = CaseDetail), (status = 400, description = "A parameter is unknown, malformed or out of range", body = ErrorBody), (status = 401, description = "No token, or the token is malformed, unknown or revoked", body = ErrorBody), (status = 404, description = "No case of this number that the viewer's team may see", body = ErrorBody), (status = 413, description = "The request has a body over 64 KiB", body = ErrorBody)))]
pub(crate) async fn case(
    State(state): State<Shared>,
    ApiViewer(viewer): ApiViewer,
    ApiPath(id): ApiPath<u64>,
    ApiQuery(crate::wire::NoParams {}): ApiQuery<crate::wire::NoParams>,
) -> Result<Json<CaseDetail>, ApiError> {
    let team = team_of(&viewer)?;
    let seen_as = team.clone();
    let case = state.with_store(move |s| seen_by(s, id, &team)).await?;
    Ok(Json(CaseDetail {
        seen_as,
        figures: party_figures(&case)
            .iter()
            .map(to_json)
            .collect::<Result<_, _>>()?,
        case: to_json(&case)?,
    }))
}
