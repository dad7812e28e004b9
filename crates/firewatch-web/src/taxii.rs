//! A TAXII 2.1 server inside `firewatch serve`: partners' tools (taxii2-client, OpenCTI, MISP's
//! TAXII connectors) read Firewatch's findings as STIX 2.1 and add their own.
//!
//! - `GET /taxii2/` — discovery; one API root, `/taxii2/firewatch/`.
//! - `GET /taxii2/firewatch/` — the API root; `…/collections/` — one collection per TLP level
//!   of the community (CLEAR, GREEN, AMBER, AMBER+STRICT, RED).
//! - `GET …/collections/{id}/objects/` — the STIX objects of the findings of that level the
//!   caller may read, with `limit`, `next`, `added_after`, `match[id]`, `match[type]`,
//!   `match[version]` and `match[spec_version]`; `…/manifest/`, `…/objects/{id}/`,
//!   `…/objects/{id}/versions/`.
//! - `POST …/collections/{id}/objects/` — an envelope of STIX objects, read into events (objects
//!   without a TLP marking take the collection's level); answers a status resource, which
//!   `GET /taxii2/firewatch/status/{id}/` reads again.
//!
//! Every request needs credentials: HTTP Basic with a user's name and password (`firewatch
//! users add`) or `Authorization: Bearer fw_…` (an API token); none gives 401. What a caller
//! reads is decided by the web API's TLP rule ([`firewatch_core::access::may_read_event`]): a team
//! reading a collection above what it may read gets an empty collection (200, no objects) —
//! the collection exists for everyone, its content is per reader.
//!
//! Status resources are kept in memory (the last [`STATUSES_KEPT`]); they do not survive a
//! restart. A collection's objects are computed from the store for a team and level and kept
//! until the store changes (the last few collections), so paging does not rebuild them;
//! `date_added` is the time of the finding the object came from.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use firewatch_core::TlpLevel;
use firewatch_feeds::stix::FEED_NAME;
use firewatch_share::stix::{Exporter, StixObject, timestamp};
use firewatch_share::{Finding, finding, ids};
use firewatch_store::{AlertQuery, EventQuery, TimeRange};
use serde_json::{Value as Json, json};

use crate::taxii_statuses::KeptStatuses;
pub use crate::taxii_statuses::STATUSES_KEPT;
use crate::{ApiError, AppState};
use firewatch_core::access::{Role, Viewer, may_read_event};

/// The TAXII 2.1 media type.
pub const TAXII_MEDIA: &str = "application/taxii+json;version=2.1";
/// The STIX 2.1 media type of the objects a collection holds.
pub const STIX_MEDIA: &str = "application/stix+json;version=2.1";
/// The API root's path under `/taxii2/`.
pub const API_ROOT: &str = "firewatch";
/// Objects per page when `limit` is not given, and the most a page holds.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

/// Collections' objects computed for a team and level, with what the store looked like.
type CachedObjects = (String, TlpLevel, Fingerprint, Arc<Vec<StixObject>>);

/// What changes when the findings a team reads may have changed: the number of events it
/// may read, the number of feed inputs committed (every commit adds one), and the alerts.
type Fingerprint = (u64, usize, [u8; 32]);

/// Collections kept computed (a client paging through a collection reads the same list).
const CACHED_COLLECTIONS: usize = 4;

struct TaxiiState {
    app: Arc<AppState>,
    /// The status resources of adds, per user.
    statuses: KeptStatuses,
    /// The last computed collections, newest last.
    cache: Mutex<VecDeque<CachedObjects>>,
}

type Shared = Arc<TaxiiState>;

/// The TAXII routes, to merge into the service's router.
/// The largest envelope accepted by "add objects" (advertised as the API root's
/// `max_content_length`): partners push bundles of thousands of objects, far above the JSON
/// API's 64 KiB bodies.
pub const MAX_ENVELOPE: u64 = 8 * 1024 * 1024;

pub fn router(app: Arc<AppState>) -> Router {
    let state = Arc::new(TaxiiState {
        app,
        statuses: KeptStatuses::default(),
        cache: Mutex::new(VecDeque::new()),
    });
    let root = format!("/taxii2/{API_ROOT}");
    Router::new()
        .route("/taxii2/", get(discovery))
        .route(&format!("{root}/"), get(api_root))
        .route(&format!("{root}/collections/"), get(collections))
        .route(
            &format!("{root}/collections/{{collection}}/"),
            get(collection),
        )
        .route(
            &format!("{root}/collections/{{collection}}/objects/"),
            get(objects).post(add_objects),
        )
        .route(
            &format!("{root}/collections/{{collection}}/objects/{{object}}/"),
            get(object),
        )
        .route(
            &format!("{root}/collections/{{collection}}/objects/{{object}}/versions/"),
            get(versions),
        )
        .route(
            &format!("{root}/collections/{{collection}}/manifest/"),
            get(manifest),
        )
        .route(&format!("{root}/status/{{status}}/"), get(status))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_ENVELOPE as usize))
        .with_state(state)
}

// ---------------------------------------------------------------------------------------------
// Errors and responses

/// A TAXII error message (TAXII 2.1 §3.6.1) with its status.
#[derive(Debug)]
pub struct TaxiiError {
    pub status: StatusCode,
    pub title: String,
    pub description: String,
}

impl TaxiiError {
    fn new(status: StatusCode, title: &str, description: impl Into<String>) -> Self {
        TaxiiError {
            status,
            title: title.to_owned(),
            description: description.into(),
        }
    }
    fn bad_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad request", description)
    }
    fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found", description)
    }
}

impl From<ApiError> for TaxiiError {
    fn from(e: ApiError) -> Self {
        let status = e.status();
        if let ApiError::Internal(detail) = &e {
            // Debug formatting escapes line breaks: no forged log lines (issue 22, item 16).
            tracing::error!(detail = ?detail, "TAXII request failed");
        }
        TaxiiError::new(
            status,
            status.canonical_reason().unwrap_or("Error"),
            e.to_string(),
        )
    }
}

impl From<firewatch_store::StoreError> for TaxiiError {
    fn from(e: firewatch_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for TaxiiError {
    fn into_response(self) -> Response {
        let body = json!({
            "title": self.title,
            "description": self.description,
            "http_status": self.status.as_u16().to_string(),
        });
        let mut response = taxii_json(self.status, &body);
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .entry(header::RETRY_AFTER)
                .or_insert(HeaderValue::from_static("5"));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"firewatch TAXII\", Bearer"),
            );
        }
        response
    }
}

fn taxii_json(status: StatusCode, body: &Json) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(TAXII_MEDIA));
    response
}

// ---------------------------------------------------------------------------------------------
// Authentication and content negotiation

/// An authenticated TAXII caller whose `Accept` the server can answer.
struct Caller(Viewer);

impl FromRequestParts<Shared> for Caller {
    /// A TAXII error message; refusals of the password gate carry `Retry-After`.
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Response> {
        check_accept(&parts.headers).map_err(IntoResponse::into_response)?;
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(TaxiiError::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "TAXII needs credentials: HTTP Basic (user name and password) or a Bearer token",
            )
            .into_response());
        };
        let text = value.to_str().unwrap_or_default();
        let basic = text
            .strip_prefix("Basic ")
            .or_else(|| text.strip_prefix("basic "));
        let viewer = match basic {
            Some(encoded) => basic_viewer(state, encoded.trim()).await?,
            // A bearer token: exactly the API's check.
            None => {
                crate::viewer::ApiViewer::from_request_parts(parts, &state.app)
                    .await
                    .map_err(|e| TaxiiError::from(e).into_response())?
                    .0
            }
        };
        match viewer {
            Viewer::Anonymous => {
                Err(
                    TaxiiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", "no credentials")
                        .into_response(),
                )
            }
            user => Ok(Caller(user)),
        }
    }
}

/// The user of HTTP Basic credentials, checked by the service's password gate, as the login
/// form's are: the same failure limit per name (429 with `Retry-After` after 5 failures), the
/// same cost for an unknown name (a decoy hash), Argon2 runs bounded (503 with `Retry-After`
/// when too many are queued), and a verified credential remembered for a minute so a client
/// sending Basic with every request does not pay Argon2 each time (issue 22, items 7 and 8).
async fn basic_viewer(state: &Shared, encoded: &str) -> Result<Viewer, Response> {
    use crate::password_gate::{Refusal, Remember};
    let bad = || {
        TaxiiError::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "unknown user or wrong password",
        )
        .into_response()
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (name, password) = text.split_once(':').ok_or_else(bad)?;
    let checked = state
        .app
        .passwords
        .check(&state.app, name, password, Remember::Yes)
        .await;
    let user = match checked {
        Ok(user) => user,
        Err(refusal) => {
            // Debug formatting escapes line breaks: a name cannot forge log lines (item 16).
            tracing::info!(user = ?name, refusal = ?refusal, "failed TAXII Basic login");
            let retry_after = refusal.retry_after_secs();
            let mut response = match refusal {
                Refusal::Wrong => return Err(bad()),
                Refusal::Locked { .. } => TaxiiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many requests",
                    "too many failed sign-ins for this user name: retry later",
                ),
                Refusal::Busy => TaxiiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service unavailable",
                    "too many sign-in attempts in progress: retry later",
                ),
                Refusal::Failed(e) => TaxiiError::from(e),
            }
            .into_response();
            if let Some(secs) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            return Err(response);
        }
    };
    let role: Role = user.role.parse().map_err(|e| {
        TaxiiError::from(ApiError::Internal(format!("user {}: {e}", user.name))).into_response()
    })?;
    Ok(Viewer::User {
        name: user.name,
        team: user.team,
        role,
    })
}

/// 406 unless `Accept` allows TAXII 2.1 (or STIX 2.1) JSON.
fn check_accept(headers: &HeaderMap) -> Result<(), TaxiiError> {
    let Some(accept) = headers.get(header::ACCEPT) else {
        return Ok(());
    };
    let accept = accept.to_str().unwrap_or_default().to_ascii_lowercase();
    let ok = accept.split(',').any(|item| {
        let item: String = item.chars().filter(|c| !c.is_whitespace()).collect();
        let media = item.split(';').next().unwrap_or_default();
        let version_ok = !item.contains("version=") || item.contains("version=2.1");
        matches!(
            media,
            "*/*" | "application/*" | "application/taxii+json" | "application/stix+json"
        ) && version_ok
    });
    if ok {
        Ok(())
    } else {
        Err(TaxiiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "Not acceptable",
            format!("this server answers {TAXII_MEDIA}"),
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Discovery, API root, collections

async fn discovery(_: Caller) -> Response {
    taxii_json(
        StatusCode::OK,
        &json!({
            "title": "Firewatch TAXII 2.1",
            "description": "Findings of a Firewatch community (scanning sources, infected hosts, attacked victims, port campaigns), one collection per TLP level.",
            "default": format!("/taxii2/{API_ROOT}/"),
            "api_roots": [format!("/taxii2/{API_ROOT}/")],
        }),
    )
}

async fn api_root(_: Caller) -> Response {
    taxii_json(
        StatusCode::OK,
        &json!({
            "title": "Firewatch",
            "description": "The community's findings as STIX 2.1, by TLP.",
            "versions": [TAXII_MEDIA],
            "max_content_length": MAX_ENVELOPE,
        }),
    )
}

/// The collection id of a TLP level (stable: derived from the level's name).
pub fn collection_id(level: TlpLevel) -> String {
    ids::name_based_v4(&format!("taxii-collection|{API_ROOT}|{}", level.as_str())).to_string()
}

fn collection_level(id: &str) -> Result<TlpLevel, TaxiiError> {
    TlpLevel::ALL
        .into_iter()
        .find(|l| collection_id(*l) == id)
        .ok_or_else(|| TaxiiError::not_found(format!("no collection {id}")))
}

fn collection_json(level: TlpLevel, viewer: &Viewer) -> Json {
    let can_write = matches!(viewer, Viewer::User { role, .. } if *role != Role::ReadOnly);
    json!({
        "id": collection_id(level),
        "title": format!("Community findings, {}", level.label()),
        "description": format!(
            "Findings marked {} that the reader may read under TLP 2.0 (AMBER: the owning and the routed-to team; AMBER+STRICT: the owning team; RED: the named recipients).",
            level.label()
        ),
        "alias": format!("tlp-{}", level.as_str().replace('+', "-")),
        "can_read": true,
        "can_write": can_write,
        "media_types": [STIX_MEDIA],
    })
}

async fn collections(Caller(viewer): Caller) -> Response {
    let all: Vec<Json> = TlpLevel::ALL
        .into_iter()
        .map(|l| collection_json(l, &viewer))
        .collect();
    taxii_json(StatusCode::OK, &json!({ "collections": all }))
}

async fn collection(
    Caller(viewer): Caller,
    Path(id): Path<String>,
) -> Result<Response, TaxiiError> {
    let level = collection_level(&id)?;
    Ok(taxii_json(StatusCode::OK, &collection_json(level, &viewer)))
}

// ---------------------------------------------------------------------------------------------
// Objects

/// The objects of the findings of `level` that `viewer` may read. Computed once per team,
/// level and state of the store: paging through a large collection must not rebuild every
/// object for every page.
async fn collection_objects(
    state: &Shared,
    viewer: &Viewer,
    level: TlpLevel,
) -> Result<Arc<Vec<StixObject>>, TaxiiError> {
    let team = viewer.team().unwrap_or_default().to_owned();
    let telescope = state.app.telescope.clone();
    let v = viewer.clone();
    let (fingerprint, alerts) = state
        .app
        .with_store(move |s| {
            let visible = s.count_events(&EventQuery {
                visibility: Some(v.event_visibility()),
                ..EventQuery::default()
            })?;
            let inputs = s.feed_inputs()?.len();
            let alerts = s.alerts(&AlertQuery::default())?;
            let mut h = blake3::Hasher::new();
            // The routing of the alerts' sources follows the team directory.
            let directory = s.team_directory()?.map(|d| d.imported_at);
            h.update(&directory.unwrap_or(-1).to_le_bytes());
            for a in &alerts {
                h.update(a.id.as_bytes());
                h.update(&a.end.unwrap_or(-1).to_le_bytes());
                h.update(&a.packets.to_le_bytes());
            }
            Ok(((visible, inputs, *h.finalize().as_bytes()), alerts))
        })
        .await?;
    if let Ok(cache) = state.cache.lock()
        && let Some((.., objects)) = cache
            .iter()
            .find(|(t, l, f, _)| *t == team && *l == level && *f == fingerprint)
    {
        return Ok(Arc::clone(objects));
    }
    let v = viewer.clone();
    let findings = state
        .app
        .with_store(move |s| {
            let keep = |f: &Finding| f.tlp() == level && may_read_event(&v, &f.event);
            let events: Vec<Finding> = s
                .events(&EventQuery {
                    visibility: Some(v.event_visibility()),
                    ..EventQuery::default()
                })?
                .into_iter()
                .map(|e| Finding::from_event(e.event, e.time))
                .filter(|f| keep(f))
                .collect();
            let mut alerts: Vec<Finding> = alerts
                .iter()
                .map(|a| Finding::from_alert(a, telescope.tlp, telescope.owner.as_deref()))
                .filter(|f| keep(f))
                .collect();
            // A team that may not read the telescope's records but may be told of its own part
            // (AMBER, not the owner) reads that part here, as `export stix --team` gives it:
            // the campaign of each alert with its sources and those sources, no other team's.
            if level == telescope.tlp
                && !telescope.may_read_records(&v)
                && let Some(team) = v.team()
            {
                alerts.extend(
                    firewatch_share::team_alert_findings(
                        &*s,
                        &telescope,
                        team,
                        TimeRange::default(),
                    )?
                    .into_iter()
                    .filter(|f| f.tlp() == level),
                );
            }
            Ok(finding::merge(events, alerts))
        })
        .await?;
    let objects = Arc::new(Exporter::for_producer(&state.app.producer).objects(&findings));
    if let Ok(mut cache) = state.cache.lock() {
        cache.retain(|(t, l, ..)| !(*t == team && *l == level));
        if cache.len() >= CACHED_COLLECTIONS {
            cache.pop_front();
        }
        cache.push_back((team, level, fingerprint, Arc::clone(&objects)));
    }
    Ok(objects)
}

/// The query parameters of the object endpoints.
#[derive(Debug, Default)]
struct Filters {
    limit: Option<usize>,
    next: usize,
    added_after: Option<i64>,
    ids: Option<Vec<String>>,
    types: Option<Vec<String>>,
    versions: Option<Vec<String>>,
    spec_versions: Option<Vec<String>>,
}

impl Filters {
    fn parse(query: Option<&str>, allow_paging: bool) -> Result<Filters, TaxiiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
            .map_err(|e| TaxiiError::bad_request(format!("query: {e}")))?;
        let mut f = Filters::default();
        let list = |v: &str| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .collect::<Vec<_>>()
        };
        for (key, value) in pairs {
            match key.as_str() {
                "limit" if allow_paging => {
                    let n: usize = value.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        TaxiiError::bad_request(format!(
                            "limit {value:?} is not a positive integer"
                        ))
                    })?;
                    f.limit = Some(n.min(MAX_LIMIT));
                }
                "next" if allow_paging => {
                    f.next = value.parse().map_err(|_| {
                        TaxiiError::bad_request(format!(
                            "next {value:?} is not a page of this server"
                        ))
                    })?;
                }
                "added_after" => {
                    let t: jiff::Timestamp = value.parse().map_err(|_| {
                        TaxiiError::bad_request(format!("added_after {value:?} is not a timestamp"))
                    })?;
                    f.added_after = Some(t.as_second());
                }
                "match[id]" => f.ids = Some(list(&value)),
                "match[type]" => f.types = Some(list(&value)),
                "match[version]" => f.versions = Some(list(&value)),
                "match[spec_version]" => f.spec_versions = Some(list(&value)),
                other => {
                    return Err(TaxiiError::bad_request(format!(
                        "unknown parameter {other:?} (limit, next, added_after, match[id], match[type], match[version], match[spec_version])"
                    )));
                }
            }
        }
        Ok(f)
    }

    fn keeps(&self, o: &StixObject) -> bool {
        if self.added_after.is_some_and(|t| o.date_added <= t) {
            return false;
        }
        if self.ids.as_ref().is_some_and(|ids| !ids.contains(&o.id)) {
            return false;
        }
        if self
            .types
            .as_ref()
            .is_some_and(|types| !types.iter().any(|t| t == o.object_type()))
        {
            return false;
        }
        if let Some(specs) = &self.spec_versions
            && !specs.iter().any(|s| s == "2.1")
        {
            return false;
        }
        // Every object has one version here, so first, last and all select it.
        if let Some(versions) = &self.versions {
            let version = o.version.parse::<jiff::Timestamp>().ok();
            let keep = versions.iter().any(|v| match v.as_str() {
                "first" | "last" | "all" => true,
                other => other.parse::<jiff::Timestamp>().ok() == version && version.is_some(),
            });
            if !keep {
                return false;
            }
        }
        true
    }

    /// One page of the matching objects, whether more follow, and the next page's cursor.
    fn page<'a>(&self, objects: &'a [StixObject]) -> (Vec<&'a StixObject>, Option<String>) {
        let matching: Vec<&StixObject> = objects.iter().filter(|o| self.keeps(o)).collect();
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        let start = self.next.min(matching.len());
        let end = (start + limit).min(matching.len());
        let next = (end < matching.len()).then(|| end.to_string());
        (matching[start..end].to_vec(), next)
    }
}

/// An envelope or manifest response with the date-added headers of its page.
fn page_response(body: Json, page: &[&StixObject]) -> Response {
    let mut response = taxii_json(StatusCode::OK, &body);
    let first = page.iter().map(|o| o.date_added).min();
    let last = page.iter().map(|o| o.date_added).max();
    for (name, value) in [
        ("x-taxii-date-added-first", first),
        ("x-taxii-date-added-last", last),
    ] {
        if let Some(v) = value
            && let Ok(v) = HeaderValue::from_str(&timestamp(v))
        {
            response.headers_mut().insert(name, v);
        }
    }
    response
}

fn envelope(page: &[&StixObject], next: Option<String>) -> Json {
    let mut body = json!({ "more": next.is_some() });
    if let Some(next) = next {
        body["next"] = Json::String(next);
    }
    if !page.is_empty() {
        body["objects"] = Json::Array(page.iter().map(|o| o.json.clone()).collect());
    }
    body
}

async fn objects(
    State(state): State<Shared>,
    Caller(viewer): Caller,
    Path(collection): Path<String>,
    uri: axum::http::Uri,
) -> Result<Response, TaxiiError> {
    let level = collection_level(&collection)?;
    let filters = Filters::parse(uri.query(), true)?;
    let all = collection_objects(&state, &viewer, level).await?;
    let (page, next) = filters.page(&all);
    Ok(page_response(envelope(&page, next), &page))
}

async fn manifest(
    State(state): State<Shared>,
    Caller(viewer): Caller,
    Path(collection): Path<String>,
    uri: axum::http::Uri,
) -> Result<Response, TaxiiError> {
    let level = collection_level(&collection)?;
    let filters = Filters::parse(uri.query(), true)?;
    let all = collection_objects(&state, &viewer, level).await?;
    let (page, next) = filters.page(&all);
    let mut body = json!({ "more": next.is_some() });
    if let Some(next) = next {
        body["next"] = Json::String(next);
    }
    if !page.is_empty() {
        body["objects"] = page
            .iter()
            .map(|o| {
                json!({
                    "id": o.id,
                    "date_added": timestamp(o.date_added),
                    "version": o.version,
                    "media_type": STIX_MEDIA,
                })
            })
            .collect();
    }
    Ok(page_response(body, &page))
}

async fn object(
    State(state): State<Shared>,
    Caller(viewer): Caller,
    Path((collection, id)): Path<(String, String)>,
    uri: axum::http::Uri,
) -> Result<Response, TaxiiError> {
    let level = collection_level(&collection)?;
    let mut filters = Filters::parse(uri.query(), true)?;
    filters.ids = Some(vec![id.clone()]);
    let all = collection_objects(&state, &viewer, level).await?;
    let (page, next) = filters.page(&all);
    if page.is_empty() {
        return Err(TaxiiError::not_found(format!(
            "no object {id} in this collection"
        )));
    }
    Ok(page_response(envelope(&page, next), &page))
}

async fn versions(
    State(state): State<Shared>,
    Caller(viewer): Caller,
    Path((collection, id)): Path<(String, String)>,
    uri: axum::http::Uri,
) -> Result<Response, TaxiiError> {
    let level = collection_level(&collection)?;
    let mut filters = Filters::parse(uri.query(), true)?;
    filters.ids = Some(vec![id.clone()]);
    let all = collection_objects(&state, &viewer, level).await?;
    let (page, _) = filters.page(&all);
    if page.is_empty() {
        return Err(TaxiiError::not_found(format!(
            "no object {id} in this collection"
        )));
    }
    let versions: Vec<&str> = page.iter().map(|o| o.version.as_str()).collect();
    Ok(page_response(
        json!({ "more": false, "versions": versions }),
        &page,
    ))
}

// ---------------------------------------------------------------------------------------------
// Adding objects

async fn add_objects(
    State(state): State<Shared>,
    Caller(viewer): Caller,
    Path(collection): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, TaxiiError> {
    let level = collection_level(&collection)?;
    let Viewer::User { name, team, role } = &viewer else {
        return Err(TaxiiError::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "no credentials",
        ));
    };
    if *role == Role::ReadOnly {
        return Err(TaxiiError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "read-only users cannot add objects",
        ));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !content_type.starts_with("application/taxii+json") {
        return Err(TaxiiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            format!("POST an envelope as {TAXII_MEDIA}"),
        ));
    }
    let objects = envelope_objects(&body)?;
    let request_time = jiff::Timestamp::now();
    let hash = blake3::hash(&body).to_hex().to_string();
    // The envelope's objects as a bundle, so that import reads TAXII and files alike (paths
    // stay `objects[i]…`); spliced, not re-serialised, so a large envelope is parsed once.
    let mut bundle = format!(
        "{{\"type\":\"bundle\",\"id\":\"bundle--{}\",\"objects\":",
        ids::name_based_v4(&format!("taxii-add|{hash}"))
    )
    .into_bytes();
    bundle.extend_from_slice(objects.map_or("[]", |o| o.get()).as_bytes());
    bundle.push(b'}');
    let channel = format!("taxii:{}", level.as_str());
    let mut collected = firewatch_core::Collected::default();
    let report = firewatch_feeds::stix::parse_report(&bundle, &channel, &mut collected)
        .map_err(|e| TaxiiError::bad_request(e.reason))?;
    drop(bundle);
    // The same way in as every other input (the experts: rules, taxonomy, attribution and
    // routing, TLP; the configured deduplication; one transaction), as the adder's team's own.
    let summary = report.summary;
    let rejections = collected.errors;
    let events = collected.events;
    let app = Arc::clone(&state.app);
    let team = team.clone();
    tokio::task::spawn_blocking(move || {
        let submission = firewatch_pipeline::feeds::Submission {
            team: &team,
            feed: FEED_NAME,
            channel: &channel,
            format: "stix",
            default_tlp: level,
        };
        app.with_feed_pipeline(|pipeline| {
            pipeline
                .ingest_submission(&submission, &hash, summary, events, rejections)
                .map_err(|e| ApiError::from_pipeline(e.as_ref()))
        })
    })
    .await
    .map_err(|e| TaxiiError::from(ApiError::Internal(format!("add task failed: {e}"))))??;

    let mut successes = Vec::new();
    let mut failures = Vec::new();
    for o in report.objects {
        let id = o.id.unwrap_or_else(|| format!("objects[{}]", o.index));
        match o.outcome {
            firewatch_feeds::stix::Outcome::Rejected(why) => {
                failures.push(json!({"id": id, "message": why}));
            }
            outcome => {
                let mut entry = json!({"id": id, "message": format!("{outcome:?}").to_lowercase()});
                if let Some(v) = o.version {
                    entry["version"] = Json::String(v);
                }
                successes.push(entry);
            }
        }
    }
    let status_id = ids::name_based_v4(&format!(
        "taxii-status|{}|{}|{name}",
        blake3::hash(&body).to_hex(),
        request_time.as_nanosecond()
    ))
    .to_string();
    let status = json!({
        "id": status_id,
        "status": "complete",
        "request_timestamp": timestamp(request_time.as_second()),
        "total_count": successes.len() + failures.len(),
        "success_count": successes.len(),
        "successes": successes,
        "failure_count": failures.len(),
        "failures": failures,
        "pending_count": 0,
        "pendings": [],
    });
    state.statuses.keep(name, &status);
    Ok(taxii_json(StatusCode::ACCEPTED, &status))
}

/// The most objects one envelope may hold (a status names each; 8 MiB of real STIX objects
/// is far fewer).
pub const MAX_OBJECTS: usize = 100_000;

/// The `objects` of a TAXII envelope, unparsed: `None` when absent. The envelope must be a
/// JSON object (TAXII 2.1 §3.7); `objects` an array of at most [`MAX_OBJECTS`].
fn envelope_objects(body: &[u8]) -> Result<Option<&serde_json::value::RawValue>, TaxiiError> {
    use serde_json::value::RawValue;
    let envelope: std::collections::HashMap<std::borrow::Cow<'_, str>, &RawValue> =
        serde_json::from_slice(body).map_err(|e| {
            TaxiiError::bad_request(format!(
                "the envelope is not a JSON object (TAXII 2.1 envelope): {e}"
            ))
        })?;
    let Some(objects) = envelope.get("objects").copied() else {
        return Ok(None);
    };
    // Counted without building the objects: each element stays raw.
    let items: Vec<&RawValue> = serde_json::from_str(objects.get())
        .map_err(|_| TaxiiError::bad_request("objects: not an array"))?;
    if items.len() > MAX_OBJECTS {
        return Err(TaxiiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Too many objects",
            format!(
                "the envelope holds {} objects; at most {MAX_OBJECTS} per add (send several envelopes)",
                items.len()
            ),
        ));
    }
    Ok(Some(objects))
}

async fn status(
    State(state): State<Shared>,
    Caller(viewer): Caller,
    Path(id): Path<String>,
) -> Result<Response, TaxiiError> {
    let Viewer::User { name, .. } = &viewer else {
        return Err(TaxiiError::not_found("no such status"));
    };
    // A status names the objects a user added: only that user reads it.
    let found = state.statuses.get(name, &id);
    match found {
        Some(status) => Ok(taxii_json(StatusCode::OK, &status)),
        None => Err(TaxiiError::not_found(format!("no status {id}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_ids_are_stable_and_distinct() {
        let ids: std::collections::HashSet<String> =
            TlpLevel::ALL.into_iter().map(collection_id).collect();
        assert_eq!(ids.len(), 5);
        assert_eq!(
            collection_level(&collection_id(TlpLevel::Amber)).unwrap(),
            TlpLevel::Amber
        );
        assert!(collection_level("nope").is_err());
    }

    #[test]
    fn accept_headers() {
        let mut h = HeaderMap::new();
        assert!(check_accept(&h).is_ok());
        for ok in [
            TAXII_MEDIA,
            "application/taxii+json",
            "*/*",
            "application/stix+json;version=2.1",
        ] {
            h.insert(header::ACCEPT, HeaderValue::from_static(ok));
            assert!(check_accept(&h).is_ok(), "{ok}");
        }
        for bad in ["text/html", "application/taxii+json;version=2.0"] {
            h.insert(header::ACCEPT, HeaderValue::from_static(bad));
            assert!(check_accept(&h).is_err(), "{bad}");
        }
    }

    #[test]
    fn filters_page_and_match() {
        let mk = |id: &str, t: i64| StixObject {
            id: id.to_owned(),
            date_added: t,
            version: timestamp(t),
            tlp: TlpLevel::Green,
            json: json!({"id": id}),
        };
        let all: Vec<StixObject> = (0..5)
            .map(|i| mk(&format!("indicator--{i}"), i))
            .chain([mk("ipv4-addr--x", 9)])
            .collect();
        let f = Filters::parse(Some("limit=2"), true).unwrap();
        let (page, next) = f.page(&all);
        assert_eq!((page.len(), next.as_deref()), (2, Some("2")));
        let f = Filters::parse(Some("limit=2&next=4"), true).unwrap();
        assert_eq!(f.page(&all).0.len(), 2);
        assert_eq!(f.page(&all).1, None);
        let f = Filters::parse(Some("match%5Btype%5D=ipv4-addr"), true).unwrap();
        assert_eq!(f.page(&all).0[0].id, "ipv4-addr--x");
        let f = Filters::parse(Some("added_after=1970-01-01T00:00:03Z"), true).unwrap();
        assert_eq!(f.page(&all).0.len(), 2);
        assert!(Filters::parse(Some("colour=red"), true).is_err());
        assert!(Filters::parse(Some("limit=0"), true).is_err());
    }
}
