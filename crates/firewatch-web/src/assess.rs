//! X.1060 service maps on the API (issue 21, docs/x1060.md): the assessments a viewer may
//! read, one scope's cells and views, and two scopes compared.
//!
//! An assessment carries one TLP and, when imported with `--owner`, the directory team that
//! owns it; who reads it is core's rule ([`may_read`]) with that TLP and owner, as for events:
//! CLEAR anyone, GREEN any signed-in user, AMBER and AMBER+STRICT the owning team's users, RED
//! (and no TLP) nobody on the web. A scope the viewer may not read answers 404 like one that
//! does not exist, so its existence does not leak.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::viewer::ApiViewer;
use crate::wire::{ApiPath, ApiQuery, NoParams, rfc3339};
use axum::Json;
use axum::extract::State;
use firewatch_assess::{Granularity, Heatmap, compare, concentration, gaps, heatmap, split};
use firewatch_core::TlpLevel;
use firewatch_core::access::{Viewer, may_read};
use firewatch_pipeline::assess::{LoadedAssessment, read_assessment};
use firewatch_store::{Backend, StoredAssessment};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

type Shared = Arc<AppState>;

/// The TLP of a stored assessment (`None`: none given, or unreadable, which reads as RED).
pub fn assessment_tlp(stored: &StoredAssessment) -> Option<TlpLevel> {
    stored.tlp.as_deref().and_then(|t| t.parse().ok())
}

/// Whether `viewer` may read a stored assessment: core's rule with its TLP and owning team.
pub fn may_read_assessment(viewer: &Viewer, stored: &StoredAssessment) -> bool {
    may_read(
        viewer,
        assessment_tlp(stored),
        stored.owner.as_deref(),
        None,
        &[],
    )
}

/// The same answer for a scope that does not exist and one the viewer may not read.
fn no_such(scope: &str) -> ApiError {
    ApiError::NotFound(format!("no assessment of {scope:?} that you may read"))
}

/// The assessment of `scope`, read back, if the viewer may read it; else a 404.
pub fn readable(
    store: &dyn Backend,
    viewer: &Viewer,
    scope: &str,
) -> Result<LoadedAssessment, ApiError> {
    let stored = store
        .assessment(scope)?
        .filter(|s| may_read_assessment(viewer, s))
        .ok_or_else(|| no_such(scope))?;
    read_assessment(store, stored).map_err(|e| ApiError::Internal(format!("{e:#}")))
}

/// Every stored assessment the viewer may read, by scope (metadata only).
pub fn readable_list(
    store: &dyn Backend,
    viewer: &Viewer,
) -> Result<Vec<StoredAssessment>, ApiError> {
    Ok(store
        .assessments()?
        .into_iter()
        .filter(|s| may_read_assessment(viewer, s))
        .collect())
}

/// The rows of a view: categories unless `services`.
pub fn granularity(services: bool) -> Granularity {
    if services {
        Granularity::Services
    } else {
        Granularity::Categories
    }
}

/// One assessment's metadata.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssessmentSummary {
    /// The country (ISO 3166 alpha-2) or organisation assessed.
    #[schema(example = "JP")]
    pub scope: String,
    /// Who assessed it.
    pub assessed_by: Option<String>,
    /// When it was assessed (`YYYY-MM-DD`).
    #[schema(value_type = Option<String>, format = Date)]
    pub assessed_on: Option<String>,
    /// From what (a report, a workshop, a survey).
    pub source: Option<String>,
    /// Who may read it; `null` reads as TLP:RED.
    pub tlp: Option<TlpLevel>,
    /// The directory team that owns it (reads it at AMBER and AMBER+STRICT).
    pub owner: Option<String>,
    /// The catalogue it was validated against.
    pub catalogue_version: String,
    /// How many cells it holds.
    pub cells: u64,
    /// The format it was imported from (`matrix`, `cells`, `json`).
    pub format: String,
    /// When it was imported (RFC 3339 UTC).
    #[schema(format = DateTime, example = "2026-01-01T00:00:00Z")]
    pub imported_at: String,
}

impl From<&StoredAssessment> for AssessmentSummary {
    fn from(s: &StoredAssessment) -> Self {
        AssessmentSummary {
            scope: s.scope.clone(),
            assessed_by: s.assessed_by.clone(),
            assessed_on: s.assessed_on.clone(),
            source: s.source.clone(),
            tlp: assessment_tlp(s),
            owner: s.owner.clone(),
            catalogue_version: s.catalogue_version.clone(),
            cells: s.cells,
            format: s.format.clone(),
            imported_at: rfc3339(s.imported_at),
        }
    }
}

/// The assessments the viewer may read.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssessmentList {
    /// By scope.
    pub items: Vec<AssessmentSummary>,
}

/// One assessment with its views, as `firewatch assess show|gaps|concentration|split --json`
/// write them (docs/x1060.md describes each).
#[derive(Debug, Serialize, ToSchema)]
pub struct AssessmentDetail {
    pub about: AssessmentSummary,
    /// The cells as imported: item, kind, score (absent: no part), target, delivery, provenance.
    #[schema(value_type = Vec<Object>)]
    pub cells: Vec<serde_json::Value>,
    /// Rows (categories or services) × stakeholder kinds; a `null` score is no part.
    #[schema(value_type = Object)]
    pub heatmap: serde_json::Value,
    /// Rows nobody carries or only weakly (strongest below 5), most severe first.
    #[schema(value_type = Vec<Object>)]
    pub gaps: Vec<serde_json::Value>,
    /// Per row: total, carriers, the top carrier's share and the Herfindahl–Hirschman index.
    #[schema(value_type = Vec<Object>)]
    pub concentration: Vec<serde_json::Value>,
    /// The public, private and academic sectors' shares per row and overall.
    #[schema(value_type = Object)]
    pub split: serde_json::Value,
}

/// Two assessments side by side.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssessmentComparison {
    /// A, the left side.
    pub left: AssessmentSummary,
    /// B, the right side.
    pub right: AssessmentSummary,
    /// Per cell both scores and the difference B − A (no part counted as 0; `null` where
    /// neither has a part).
    #[schema(value_type = Object)]
    pub comparison: serde_json::Value,
}

/// Parameters of the assessment views.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AssessParams {
    /// Rows of services instead of categories.
    #[serde(default)]
    #[param(default = false)]
    pub services: bool,
}

fn to_json<T: Serialize>(value: &T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(value).map_err(|e| ApiError::Internal(format!("json: {e}")))
}

fn to_json_list<T: Serialize>(values: &[T]) -> Result<Vec<serde_json::Value>, ApiError> {
    values.iter().map(to_json).collect()
}

/// A loaded assessment's heatmap.
pub fn heatmap_of(loaded: &LoadedAssessment, services: bool) -> Heatmap {
    heatmap(&loaded.assessment, &loaded.catalogue, granularity(services))
}

/// The X.1060 assessments the viewer may read (each by its TLP and owner), by scope.
#[utoipa::path(get, path = "/api/v1/assessments",
    responses((status = 200, description = "The readable assessments' metadata, by scope", body = AssessmentList), (status = 400, description = "A parameter is unknown, malformed or out of range", body = ErrorBody), (status = 401, description = "The token is malformed, unknown or revoked", body = ErrorBody), (status = 413, description = "The request has a body over 64 KiB", body = ErrorBody)))]
pub(crate) async fn assessments(
    State(state): State<Shared>,
    ApiViewer(viewer): ApiViewer,
    ApiQuery(NoParams {}): ApiQuery<NoParams>,
) -> Result<Json<AssessmentList>, ApiError> {
    let found = state.with_store(move |s| readable_list(s, &viewer)).await?;
    Ok(Json(AssessmentList {
        items: found.iter().map(AssessmentSummary::from).collect(),
    }))
}

/// One scope's assessment: its cells, heatmap, gaps, concentration and public/private split.
#[utoipa::path(get, path = "/api/v1/assessments/{scope}", params(("scope" = String, Path, description = "The country (ISO 3166 alpha-2, any case) or organisation", example = "JP"), AssessParams),
    responses((status = 200, description = "The assessment and its views", body = AssessmentDetail), (status = 400, description = "A parameter is unknown, malformed or out of range", body = ErrorBody), (status = 401, description = "The token is malformed, unknown or revoked", body = ErrorBody), (status = 404, description = "No assessment of this scope that the viewer may read", body = ErrorBody), (status = 413, description = "The request has a body over 64 KiB", body = ErrorBody)))]
pub(crate) async fn assessment(
    State(state): State<Shared>,
    ApiViewer(viewer): ApiViewer,
    ApiPath(scope): ApiPath<String>,
    ApiQuery(p): ApiQuery<AssessParams>,
) -> Result<Json<AssessmentDetail>, ApiError> {
    let loaded = state
        .with_store(move |s| readable(s, &viewer, &scope))
        .await?;
    let map = heatmap_of(&loaded, p.services);
    Ok(Json(AssessmentDetail {
        about: AssessmentSummary::from(&loaded.stored),
        cells: to_json_list(&loaded.assessment.cells)?,
        gaps: to_json_list(&gaps(&map, &Default::default()))?,
        concentration: to_json_list(&concentration(&map))?,
        split: to_json(&split(&map))?,
        heatmap: to_json(&map)?,
    }))
}

/// Two scopes side by side: per cell the difference B − A.
#[utoipa::path(get, path = "/api/v1/assessments/{a}/compare/{b}", params(("a" = String, Path, description = "The first scope (A)", example = "JP"), ("b" = String, Path, description = "The second scope (B): differences are B − A", example = "US"), AssessParams),
    responses((status = 200, description = "Both assessments' metadata and the cell differences", body = AssessmentComparison), (status = 400, description = "A parameter is unknown, malformed or out of range, or the two maps cannot be compared", body = ErrorBody), (status = 401, description = "The token is malformed, unknown or revoked", body = ErrorBody), (status = 404, description = "No assessment of a scope that the viewer may read", body = ErrorBody), (status = 413, description = "The request has a body over 64 KiB", body = ErrorBody)))]
pub(crate) async fn comparison(
    State(state): State<Shared>,
    ApiViewer(viewer): ApiViewer,
    ApiPath((a, b)): ApiPath<(String, String)>,
    ApiQuery(p): ApiQuery<AssessParams>,
) -> Result<Json<AssessmentComparison>, ApiError> {
    let (left, right) = state
        .with_store(move |s| Ok((readable(s, &viewer, &a)?, readable(s, &viewer, &b)?)))
        .await?;
    let diff = compare(
        &heatmap_of(&left, p.services),
        &heatmap_of(&right, p.services),
    )
    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(Json(AssessmentComparison {
        left: AssessmentSummary::from(&left.stored),
        right: AssessmentSummary::from(&right.stored),
        comparison: to_json(&diff)?,
    }))
}
