//! The routes of the JSON API and the OpenAPI document generated from them.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::metrics::{RequestLabels, RouteLabels};
pub use crate::viewer::ApiViewer;
use crate::wire::limit;
pub use crate::wire::{ApiPath, ApiQuery, DEFAULT_LIMIT, MAX_LIMIT, NoParams, rfc3339, rfc3339_ns};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use firewatch_core::SourceLabel;
use firewatch_core::access::{TelescopeAccess, Viewer};
use firewatch_core::filter::Filter;
use firewatch_core::time::parse_time_bound;
use firewatch_enrich::directory::Directory;
use firewatch_enrich::directory::{Team, TlpLevel};
use firewatch_store::{
    AlertQuery, AlertRecord, AttackQuery, AttackRecord, EventQuery, PortTotal, SourceQuery,
    SourceRecord, TimeRange,
};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;
use utoipa::{IntoParams, OpenApi, ToSchema};

type Shared = Arc<AppState>;

/// The largest request body accepted (every route is a GET: bodies are not read).
pub const MAX_BODY: u64 = 64 * 1024;

/// The JSON API, `/healthz` and `/metrics` (the service's router adds the pages and
/// [`observe`]s every request).
pub fn router(state: Shared) -> Router {
    Router::new()
        .nest("/api/v1", api_routes())
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

fn api_routes() -> Router<Shared> {
    Router::new()
        .route("/events", get(events))
        .route("/events/stats", get(event_stats))
        .route("/events/export", get(export_events))
        .route("/alerts", get(alerts))
        .route("/alerts/{id}/sources", get(alert_sources))
        .route("/ports/top", get(top_ports))
        .route("/sources", get(sources))
        .route("/sources/{ip}", get(source))
        .route("/attacks", get(attacks))
        .route("/teams", get(teams))
        .route("/route/{ip}", get(route))
        .route("/assessments", get(crate::assess::assessments))
        .route("/assessments/{scope}", get(crate::assess::assessment))
        .route(
            "/assessments/{a}/compare/{b}",
            get(crate::assess::comparison),
        )
        .route("/cases", get(crate::cases::cases))
        .route("/cases/{id}", get(crate::cases::case))
        .route("/openapi.json", get(openapi))
}

// ---------------------------------------------------------------------------------------------
// Middleware and extractors

/// Counts, times and logs every request by route template (the template, not the path: paths
/// can hold addresses, which do not belong in logs or metric labels); refuses oversized bodies
/// before any handler runs.
pub async fn observe(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    // TAXII "add objects" takes partners' envelopes; every other route reads no body.
    let max_body = if route.starts_with("/taxii2/") {
        crate::taxii::MAX_ENVELOPE
    } else {
        MAX_BODY
    };
    let too_large = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > max_body);
    let response = if too_large {
        ApiError::PayloadTooLarge(max_body).into_response()
    } else {
        next.run(request).await
    };
    let elapsed = started.elapsed();
    state
        .metrics
        .latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(elapsed.as_secs_f64());
    let status = response.status().as_u16();
    tracing::info!(
        target: "firewatch_web::access",
        method = %method,
        route = %route,
        status,
        latency_ms = elapsed.as_secs_f64() * 1e3,
        "request"
    );
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: status.to_string(),
        })
        .inc();
    response
}

fn time_range(since: Option<&str>, until: Option<&str>) -> Result<TimeRange, ApiError> {
    let now = jiff::Timestamp::now();
    let bound = |name: &str, v: Option<&str>| {
        v.map(|s| {
            check_time_bound(s).map_err(|e| ApiError::BadRequest(format!("{name}: {e}")))?;
            parse_time_bound(s, now).map_err(|e| ApiError::BadRequest(format!("{name}: {e}")))
        })
        .transpose()
    };
    Ok(TimeRange {
        since: bound("since", since)?,
        until: bound("until", until)?,
    })
}

/// Refuses what `parse_time_bound` cannot take without panicking (as of this writing it
/// splits off the unit at a byte, not a char, and builds spans that panic when out of range):
/// non-ASCII text, and ages beyond a century.
fn check_time_bound(s: &str) -> Result<(), String> {
    let t = s.trim();
    if !t.is_ascii() || t.len() > 64 {
        return Err(format!(
            "{s:?} is not a time (RFC 3339, a date, Unix seconds or an age like 7d)"
        ));
    }
    let (num, unit) = t.split_at(t.len().saturating_sub(1));
    if let Ok(n) = num.parse::<i64>() {
        let max = match unit {
            "s" => 3_155_760_000,
            "m" => 52_596_000,
            "h" => 876_600,
            "d" => 36_525,
            "w" => 5_218,
            _ => i64::MAX,
        };
        if !(0..=max).contains(&n) {
            return Err(format!("{s:?}: an age is at most a century"));
        }
    }
    Ok(())
}

fn telescope_records(state: &AppState, viewer: &Viewer) -> Result<(), ApiError> {
    if state.telescope.may_read_records(viewer) {
        Ok(())
    } else {
        Err(denied(viewer, state.telescope.tlp.label()))
    }
}

fn telescope_aggregates(state: &AppState, viewer: &Viewer) -> Result<(), ApiError> {
    if state.telescope.may_read_aggregates(viewer) {
        Ok(())
    } else {
        Err(denied(viewer, state.telescope.tlp.label()))
    }
}

/// The team slice of telescope records (sources, attacks, an alert's sources) that `viewer`
/// gets when asking for `team` (`None`: every team), by the telescope's one policy
/// ([`TelescopeAccess`]):
/// - whoever may read the telescope's records gets what they ask (`team` only narrows);
/// - a team that the telescope's TLP lets be told of findings routed to it (AMBER: the routed
///   team) gets its own slice only, when it asks for it by name, or without asking where
///   `own_by_default` (one alert's sources, as its notice tells them);
/// - anyone else, and such a team asking for another team's slice, is refused.
///
/// The answer is `Ok(None)` for everything, `Ok(Some(team))` for one team's slice.
pub fn telescope_slice(
    access: &TelescopeAccess,
    viewer: &Viewer,
    team: Option<String>,
    own_by_default: bool,
) -> Result<Option<String>, ApiError> {
    if access.may_read_records(viewer) {
        return Ok(team);
    }
    match (viewer.team(), team) {
        (Some(own), asked)
            if access.may_tell_routed_team(own)
                && asked.as_deref().map_or(own_by_default, |t| t == own) =>
        {
            Ok(Some(own.to_owned()))
        }
        _ => Err(denied(viewer, access.tlp.label())),
    }
}

/// A `country` parameter: two ASCII letters (ISO 3166 alpha-2, any case), uppercased.
pub fn country_param(country: Option<&str>) -> Result<Option<String>, ApiError> {
    country
        .map(|c| {
            if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) {
                Ok(c.to_ascii_uppercase())
            } else {
                Err(ApiError::BadRequest(format!(
                    "country {c:?} is not an ISO 3166 alpha-2 code (two letters, e.g. JP)"
                )))
            }
        })
        .transpose()
}

/// Refuses a `team` parameter that names neither the viewer's own team nor a team of the
/// stored directory. The answer repeats the value asked and lists no team of the directory: a
/// caller learns only that its value is unknown (the directory is for the community,
/// `GET /api/v1/teams`), and anonymous callers are refused before the look-up.
pub async fn known_team(
    state: &Shared,
    viewer: &Viewer,
    team: Option<String>,
) -> Result<Option<String>, ApiError> {
    let Some(team) = team else {
        return Ok(None);
    };
    if viewer.team() == Some(team.as_str()) {
        return Ok(Some(team));
    }
    let unknown = || {
        ApiError::BadRequest(format!(
            "team {team:?} is not a team of the directory (GET /api/v1/teams lists them)"
        ))
    };
    // A directory id is a short slug: anything else is unknown without a look.
    let slug = !team.is_empty()
        && team.len() <= 64
        && team
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !slug {
        return Err(unknown());
    }
    let id = team.clone();
    let known = state
        .with_store(move |s| Ok(load_directory(s)?.team(&id).is_some()))
        .await?;
    if known {
        Ok(Some(team))
    } else {
        Err(unknown())
    }
}

fn community(viewer: &Viewer) -> Result<(), ApiError> {
    match viewer {
        Viewer::Anonymous => Err(denied(viewer, TlpLevel::Green.label())),
        Viewer::User { .. } => Ok(()),
    }
}

fn denied(viewer: &Viewer, label: &str) -> ApiError {
    match viewer {
        Viewer::Anonymous => ApiError::Unauthorized(format!(
            "this data is {label}: authenticate with a bearer token"
        )),
        Viewer::User { team, .. } => ApiError::Forbidden(format!(
            "this data is {label} and not shared with team {team}"
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Responses

/// A feed event: IntelMQ harmonized field names as flat keys (`source.ip`, `extra.owner`, ...).
/// The known fields are listed with their JSON types; `extra.*` members may hold any JSON value.
pub struct IntelMqEvent;

impl utoipa::PartialSchema for IntelMqEvent {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use firewatch_core::harmonization::{EVENT_FIELDS, FieldType};
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
        let mut object = ObjectBuilder::new()
            .description(Some(
                "An IntelMQ-style flat event: harmonized field names as keys; `extra.*` keys hold any JSON value.",
            ))
            .additional_properties(Some(AdditionalProperties::FreeForm(true)));
        for spec in EVENT_FIELDS {
            let ty = match spec.ty {
                FieldType::Asn | FieldType::Integer => Some(Type::Integer),
                FieldType::Float | FieldType::Accuracy => Some(Type::Number),
                FieldType::Boolean => Some(Type::Boolean),
                FieldType::Json | FieldType::JsonDict => None,
                _ => Some(Type::String),
            };
            object = match ty {
                Some(ty) => object.property(spec.name, ObjectBuilder::new().schema_type(ty)),
                None => object.property(spec.name, ObjectBuilder::new()),
            };
        }
        utoipa::openapi::RefOr::T(object.build().into())
    }
}

impl ToSchema for IntelMqEvent {}

/// An event as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventItem {
    /// The store's id of the event (also its page cursor).
    pub id: i64,
    /// RFC 3339 UTC: `time.source`, else `time.observation`, else the ingest time.
    #[schema(format = DateTime, example = "2026-01-01T00:00:00Z")]
    pub time: String,
    /// The event, with IntelMQ field names.
    /// Passed on as stored: it was validated when it was committed.
    #[schema(value_type = IntelMqEvent)]
    pub event: Box<serde_json::value::RawValue>,
}

/// A page of events.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    pub items: Vec<EventItem>,
    /// Give this as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = false)]
    pub next_after: Option<String>,
}

/// One group of event statistics.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsGroup {
    /// The values of the `by` fields, in order (`null` where the event lacks the field).
    #[schema(value_type = Vec<Value>)]
    pub key: Vec<serde_json::Value>,
    pub count: u64,
}

/// Event statistics.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventStats {
    /// The fields grouped by.
    pub by: Vec<String>,
    /// Events matching (that the viewer may read).
    pub total: u64,
    /// The largest groups first.
    pub groups: Vec<StatsGroup>,
}

/// How the telescope labels a source.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    Mirai,
    Zmap,
    Masscan,
    Backscatter,
    Scanner,
    Other,
}

impl From<SourceLabel> for Label {
    fn from(l: SourceLabel) -> Label {
        match l {
            SourceLabel::Mirai => Label::Mirai,
            SourceLabel::Zmap => Label::Zmap,
            SourceLabel::Masscan => Label::Masscan,
            SourceLabel::Backscatter => Label::Backscatter,
            SourceLabel::Scanner => Label::Scanner,
            SourceLabel::Other => Label::Other,
        }
    }
}

/// The serde name of a unit enum variant (`spike`, `new_campaign`...).
pub(crate) fn serde_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

/// Traffic to one port over the time range.
#[derive(Debug, Serialize, ToSchema)]
pub struct PortItem {
    /// `tcp`, `udp`, `icmp`... or the protocol number.
    pub proto: String,
    pub port: u16,
    pub packets: u64,
    pub bytes: u64,
    /// Distinct sources over the whole range.
    pub unique_sources: u64,
    /// Largest number of distinct sources in one interval.
    pub peak_interval_sources: u64,
    /// Intervals with traffic to the port.
    pub intervals: u64,
}

impl From<PortTotal> for PortItem {
    fn from(p: PortTotal) -> PortItem {
        PortItem {
            proto: p.proto,
            port: p.port,
            packets: p.packets,
            bytes: p.bytes,
            unique_sources: p.unique_sources,
            peak_interval_sources: p.peak_interval_sources,
            intervals: p.intervals,
        }
    }
}

/// The telescope's busiest ports.
#[derive(Debug, Serialize, ToSchema)]
pub struct PortList {
    pub items: Vec<PortItem>,
}

/// A source and its packets within an alert.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertSource {
    /// IPv4 or IPv6 address.
    pub addr: String,
    pub packets: u64,
    pub label: Option<Label>,
}

/// A port spike or new scanning campaign, with what explains it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertItem {
    /// Stable id: protocol, port, kind and start (`tcp-23-spike-1762070400`).
    pub id: String,
    /// `spike`, `new_campaign` or `single_source_burst`.
    #[schema(value_type = String, pattern = "^(spike|new_campaign|single_source_burst)$")]
    pub kind: String,
    pub proto: String,
    pub port: u16,
    /// Start of the first interval (RFC 3339 UTC).
    #[schema(format = DateTime, example = "2026-01-01T00:00:00Z")]
    pub start: String,
    /// End of the last interval (RFC 3339 UTC); `null` while the alert is ongoing.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub end: Option<String>,
    /// The metrics that crossed the threshold: `packets`, `unique_sources`.
    #[schema(value_type = Vec<String>)]
    pub triggered_by: Vec<String>,
    /// Start of the peak interval (RFC 3339 UTC).
    #[schema(format = DateTime, example = "2026-01-01T00:05:00Z")]
    pub peak_interval: String,
    pub peak_packets: u64,
    pub peak_sources: u64,
    pub baseline_packets: f64,
    pub baseline_sources: f64,
    pub magnitude: f64,
    pub score: f64,
    pub packets: u64,
    pub unique_sources: u64,
    pub top_sources: Vec<AlertSource>,
    /// `[label, unique sources]` pairs.
    #[schema(value_type = Vec<(Label, u64)>)]
    pub label_mix: Vec<(Label, u64)>,
    /// `[country, share]` pairs, largest first; `null` when no source had a country.
    #[schema(value_type = Option<Vec<(String, f64)>>)]
    pub top_countries: Option<Vec<(String, f64)>>,
    /// `[team, share]` pairs, largest first.
    #[schema(value_type = Vec<(String, f64)>)]
    pub top_teams: Vec<(String, f64)>,
}

impl From<AlertRecord> for AlertItem {
    fn from(a: AlertRecord) -> AlertItem {
        AlertItem {
            id: a.id,
            kind: serde_name(&a.kind),
            proto: a.proto,
            port: a.port,
            start: rfc3339(a.start),
            end: a.end.map(rfc3339),
            triggered_by: a.triggered_by.iter().map(serde_name).collect(),
            peak_interval: rfc3339(a.peak_interval),
            peak_packets: a.peak_packets,
            peak_sources: a.peak_sources,
            baseline_packets: a.baseline_packets,
            baseline_sources: a.baseline_sources,
            magnitude: a.magnitude,
            score: a.score,
            packets: a.packets,
            unique_sources: a.unique_sources,
            top_sources: a
                .top_sources
                .into_iter()
                .map(|s| AlertSource {
                    addr: s.addr.to_string(),
                    packets: s.packets,
                    label: s.label.map(Label::from),
                })
                .collect(),
            label_mix: a
                .label_mix
                .into_iter()
                .map(|(l, n)| (l.into(), n))
                .collect(),
            top_countries: a.top_countries,
            top_teams: a.top_teams,
        }
    }
}

/// Port alerts.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertList {
    pub items: Vec<AlertItem>,
}

/// What a source sent, counted.
#[derive(Debug, Serialize, ToSchema)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
    pub ipv4_packets: u64,
    /// TCP SYN without ACK.
    pub tcp_syn: u64,
    pub tcp_synack: u64,
    /// Any packet with RST set.
    pub tcp_rst: u64,
    pub tcp_fin: u64,
    /// ACK without SYN, RST or FIN.
    pub tcp_ack: u64,
    /// Any other flag combination.
    pub tcp_other: u64,
    pub udp: u64,
    pub icmp: u64,
    pub other_proto: u64,
    pub mirai: u64,
    pub masscan: u64,
    pub zmap: u64,
    pub backscatter: u64,
}

/// One source's profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceItem {
    /// IPv4 or IPv6 address.
    pub addr: String,
    pub label: Label,
    /// First packet (RFC 3339 UTC, to the second).
    #[schema(format = DateTime, example = "2026-01-01T00:00:00Z")]
    pub first_seen: String,
    /// Last packet (RFC 3339 UTC, to the second).
    #[schema(format = DateTime, example = "2026-01-01T00:00:00Z")]
    pub last_seen: String,
    /// First packet, Unix nanoseconds.
    pub first_seen_ns: i64,
    /// Last packet, Unix nanoseconds.
    pub last_seen_ns: i64,
    pub packets: u64,
    pub bytes: u64,
    pub distinct_destinations: u64,
    pub distinct_ports: u64,
    /// IP TTLs seen.
    pub ttls: Vec<u8>,
    pub counters: Counters,
    /// `[protocol, port, packets]` of the first ports seen, busiest first.
    #[schema(value_type = Vec<(String, u16, u64)>)]
    pub top_ports: Vec<(String, u16, u64)>,
    /// Country of registration (ISO 3166 alpha-2).
    pub country: Option<String>,
    pub asn: Option<u32>,
    pub as_name: Option<String>,
    /// The responsible team.
    pub team: Option<String>,
    /// The dataset (and directory) version that produced the attribution.
    pub data_version: Option<String>,
}

impl From<SourceRecord> for SourceItem {
    fn from(s: SourceRecord) -> SourceItem {
        let c = s.counters;
        SourceItem {
            addr: s.addr.to_string(),
            label: s.label.into(),
            first_seen: rfc3339_ns(s.first_seen_ns),
            last_seen: rfc3339_ns(s.last_seen_ns),
            first_seen_ns: s.first_seen_ns,
            last_seen_ns: s.last_seen_ns,
            packets: s.packets,
            bytes: s.bytes,
            distinct_destinations: s.distinct_destinations,
            distinct_ports: s.distinct_ports,
            ttls: s.ttls,
            counters: Counters {
                packets: c.packets,
                bytes: c.bytes,
                ipv4_packets: c.ipv4_packets,
                tcp_syn: c.tcp_syn,
                tcp_synack: c.tcp_synack,
                tcp_rst: c.tcp_rst,
                tcp_fin: c.tcp_fin,
                tcp_ack: c.tcp_ack,
                tcp_other: c.tcp_other,
                udp: c.udp,
                icmp: c.icmp,
                other_proto: c.other_proto,
                mirai: c.mirai,
                masscan: c.masscan,
                zmap: c.zmap,
                backscatter: c.backscatter,
            },
            top_ports: s.top_ports,
            country: s.attribution.country,
            asn: s.attribution.asn,
            as_name: s.attribution.as_name,
            team: s.attribution.team,
            data_version: s.attribution.data_version,
        }
    }
}

/// Sources seen by the telescope.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceList {
    pub items: Vec<SourceItem>,
}

/// A DoS attack seen through its backscatter.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttackItem {
    /// IPv4 or IPv6 address of the victim.
    pub victim: String,
    /// First backscatter packet (RFC 3339 UTC, to the second).
    #[schema(format = DateTime, example = "2026-01-01T00:00:00Z")]
    pub start: String,
    /// Last backscatter packet (RFC 3339 UTC, to the second).
    #[schema(format = DateTime, example = "2026-01-01T00:10:00Z")]
    pub end: String,
    /// First backscatter packet, Unix nanoseconds.
    pub start_ns: i64,
    /// Last backscatter packet, Unix nanoseconds.
    pub end_ns: i64,
    pub packets: u64,
    pub bytes: u64,
    pub peak_per_minute: u64,
    pub proto: String,
    pub ports: Vec<u16>,
    /// Country of registration of the victim (ISO 3166 alpha-2).
    pub country: Option<String>,
    pub asn: Option<u32>,
    pub as_name: Option<String>,
    /// The team responsible for the victim.
    pub team: Option<String>,
    pub data_version: Option<String>,
}

impl From<AttackRecord> for AttackItem {
    fn from(a: AttackRecord) -> AttackItem {
        AttackItem {
            victim: a.victim.to_string(),
            start: rfc3339_ns(a.start_ns),
            end: rfc3339_ns(a.end_ns),
            start_ns: a.start_ns,
            end_ns: a.end_ns,
            packets: a.packets,
            bytes: a.bytes,
            peak_per_minute: a.peak_per_minute,
            proto: a.proto,
            ports: a.ports,
            country: a.attribution.country,
            asn: a.attribution.asn,
            as_name: a.attribution.as_name,
            team: a.attribution.team,
            data_version: a.attribution.data_version,
        }
    }
}

/// DoS attacks.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttackList {
    pub items: Vec<AttackItem>,
}

/// What a team is responsible for.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConstituencyItem {
    /// Economies covered as a whole (ISO 3166 alpha-2).
    pub countries: Vec<String>,
    pub asns: Vec<u32>,
    /// Networks (`192.0.2.0/24`, `2001:db8::/32`).
    pub prefixes: Vec<String>,
    /// DNS domains (each covers its subdomains).
    pub domains: Vec<String>,
}

/// One way to reach a team.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactItem {
    /// `email`, `phone` or `url`.
    #[schema(value_type = String, pattern = "^(email|phone|url)$")]
    pub kind: String,
    pub value: String,
    pub available_24_7: bool,
    /// What the contact is for, free text.
    pub role: Option<String>,
}

/// A team's OpenPGP key.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenPgpItem {
    /// 40 hexadecimal characters.
    pub fingerprint: String,
    pub armored: Option<String>,
}

/// One team of the directory.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamItem {
    /// Unique slug (`example-cert`).
    pub id: String,
    pub name: String,
    /// `national-csirt`, `sector-csirt`, `psirt`, `isac`, `soc`, `ncsc`, `law-enforcement`,
    /// `academia` or `other`.
    pub kind: String,
    /// ISO 3166 alpha-2.
    pub country: Option<String>,
    pub constituency: ConstituencyItem,
    pub contacts: Vec<ContactItem>,
    pub openpgp: Option<OpenPgpItem>,
    /// The most restrictive TLP level the team may receive.
    pub max_tlp: TlpLevel,
    pub memberships: Vec<String>,
    pub national_poc: bool,
    /// Countries (ISO 3166 alpha-2) the team coordinates for.
    pub regional_coordinator_for: Vec<String>,
    /// The catch-all team.
    pub default: bool,
}

impl From<&Team> for TeamItem {
    fn from(t: &Team) -> TeamItem {
        let codes = |v: &[firewatch_enrich::directory::CountryCode]| {
            v.iter().map(|c| c.as_str().to_owned()).collect()
        };
        TeamItem {
            id: t.id.as_str().to_owned(),
            name: t.name.clone(),
            kind: t.kind.as_str().to_owned(),
            country: t.country.as_ref().map(|c| c.as_str().to_owned()),
            constituency: ConstituencyItem {
                countries: codes(&t.constituency.countries),
                asns: t.constituency.asns.clone(),
                prefixes: t
                    .constituency
                    .prefixes
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                domains: t.constituency.domains.clone(),
            },
            contacts: t
                .contacts
                .iter()
                .map(|c| ContactItem {
                    kind: serde_name(&c.kind),
                    value: c.value.clone(),
                    available_24_7: c.available_24_7,
                    role: c.role.clone(),
                })
                .collect(),
            openpgp: t.openpgp.as_ref().map(|k| OpenPgpItem {
                fingerprint: k.fingerprint.clone(),
                armored: k.armored.clone(),
            }),
            max_tlp: t.max_tlp,
            memberships: t.memberships.clone(),
            national_poc: t.national_poc,
            regional_coordinator_for: codes(&t.regional_coordinator_for),
            default: t.default,
        }
    }
}

/// The team directory.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamList {
    /// The teams, in directory order.
    pub teams: Vec<TeamItem>,
}

/// Where an address goes.
#[derive(Debug, Serialize, ToSchema)]
pub struct RouteAnswer {
    /// The address asked about.
    pub addr: String,
    /// Its country, from the registry data in force.
    pub country: Option<String>,
    /// Its origin AS, from the registry data in force.
    pub asn: Option<u32>,
    /// The AS's name.
    pub as_name: Option<String>,
    /// The registry dataset that answered.
    pub data_version: String,
    /// The responsible team; `null` when nobody claims the address.
    pub team: Option<String>,
    /// The rule that decided (`prefix 192.0.2.0/24`, `country JP`, `default team`).
    pub rule: String,
    /// Teams with equally specific claims, when the directory conflicts.
    pub conflicts: Vec<String>,
    /// Why, for a person.
    pub explanation: String,
}

impl From<firewatch_pipeline::directory::RouteAnswer> for RouteAnswer {
    fn from(a: firewatch_pipeline::directory::RouteAnswer) -> Self {
        RouteAnswer {
            addr: a.addr.to_string(),
            country: a.country,
            asn: a.asn,
            as_name: a.as_name,
            data_version: a.data_version,
            team: a.team,
            rule: a.rule,
            conflicts: a.conflicts,
            explanation: a.explanation,
        }
    }
}

/// The service is up.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
}

// ---------------------------------------------------------------------------------------------
// Handlers

/// Parameters of `GET /api/v1/events`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsParams {
    /// A filter, as `firewatch events list --where` (`source.geolocation.cc = JP and ...`).
    #[serde(rename = "where")]
    #[param(rename = "where", example = "source.geolocation.cc = JP")]
    pub filter: Option<String>,
    /// Lower bound of the time, inclusive: RFC 3339 (`2026-01-01T00:00:00Z`), a date
    /// (`2026-01-01`), Unix seconds, or an age (`30s`, `15m`, `12h`, `7d`, `2w`; at most a century).
    #[param(example = "7d")]
    pub since: Option<String>,
    /// Upper bound of the time, inclusive; same forms as `since`.
    #[param(example = "2026-01-02")]
    pub until: Option<String>,
    /// Rows returned: 1..=1000, default 100.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<u32>,
    /// The `next_after` of the previous page (an event id).
    #[param(example = "1234")]
    pub after: Option<String>,
    /// `asc` (default, oldest first) or `desc`.
    #[param(value_type = Option<Order>)]
    pub order: Option<String>,
}

fn event_filter(text: Option<&str>) -> Result<Option<Filter>, ApiError> {
    text.map(|t| Filter::parse(t).map_err(|e| ApiError::BadRequest(format!("where: {e}"))))
        .transpose()
}

/// Feed events the viewer may read (TLP 2.0 applied in the query).
#[utoipa::path(get, path = "/api/v1/events", params(EventsParams),
    responses((status = 200, description = "A page of events, oldest first unless `order=desc`", body = EventPage), (status = 400, description = "A parameter is unknown, malformed or out of range", body = ErrorBody), (status = 401, description = "The token is malformed, unknown or revoked, or the data needs one", body = ErrorBody), (status = 413, description = "The request has a body over 64 KiB", body = ErrorBody)))]
async fn events(
    State(state): State<Shared>,
    ApiViewer(viewer): ApiViewer,
    ApiQuery(p): ApiQuery<EventsParams>,
) -> Result<Json<EventPage>, ApiError> {
    let limit = limit(p.limit)?;
    let newest_first = match p.order.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(o) => {
            return Err(ApiError::BadRequest(format!(
                "order {o:?}: use asc or desc"
            )));
        }
    };
    let after_id = match p.after.as_deref() {
        Some(a) => Some(page_cursor(&state, &viewer, a).await?),
        None => None,
    };
    let q = EventQuery {
        filter: event_filter(p.filter.as_deref())?,
        range: time_range(p.since.as_deref(), p.until.as_deref())?,
        limit: Some(limit),
        after_id,
        newest_first,
        visibility: Some(viewer.event_visibility()),
    };
    let found = state.with_store(move |s| Ok(s.event_docs(&q)?)).await?;
    let next_after = (found.len() == limit)
        .then(|| found.last().map(|e| e.id.to_string()))
        .flatten();
    let items = found
        .into_iter()
        .map(|e| {
            let event = serde_json::value::RawValue::from_string(e.doc).map_err(|err| {
                ApiError::Internal(format!("stored event {} is not JSON: {err}", e.id))
            })?;
            Ok(EventItem {
                id: e.id,
                time: rfc3339(e.time),
                event,
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(Json(EventPage { items, next_after }))
}

/// The event id of an `after` cursor, if the viewer may read that event.
///
/// The store pages after an event by looking up its time, whatever its TLP, so a cursor naming
/// a hidden event used to page from that event's time on (and one naming no event got a 400):
/// an anonymous caller learned which ids exist and roughly when they happened (issue 22,
/// item 14). A cursor naming an event that does not exist and one naming an event the viewer
/// may not read now get the same 400. The check uses the store's own visibility predicate: the
/// first event the viewer may read after `id`'s predecessor (in the store's (time, id) order)
/// is `id` itself exactly when the viewer may read `id`.
async fn page_cursor(state: &Shared, viewer: &Viewer, text: &str) -> Result<i64, ApiError> {
    let bad = || ApiError::BadRequest(format!("after {text:?} is not a page cursor"));
    let id: i64 = text.parse().map_err(|_| bad())?;
    let visibility = viewer.event_visibility();
    let readable = state
        .with_store(move |s| {
            let before = s.event_docs(&EventQuery {
                limit: Some(1),
                after_id: Some(id),
                newest_first: true,
                ..Default::default()
            });
            let before = match before {
                Ok(page) => page.first().map(|e| e.id),
                // No such event.
                Err(firewatch_store::StoreError::InvalidQuery(_)) => return Ok(false),
                Err(e) => return Err(e.into()),
            };
            let first = s.event_docs(&EventQuery {
                limit: Some(1),
                after_id: before,
                visibility: Some(visibility),
                ..Default::default()
            })?;
            Ok(first.first().is_some_and(|e| e.id == id))
        })
        .await?;
    if readable { Ok(id) } else { Err(bad()) }
}

/// Parameters of `GET /api/v1/events/export`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// A filter, as `firewatch events list --where` (`source.geolocation.cc = JP and ...`).
    #[serde(rename = "where")]
    #[param(rename = "where", example = "classification.type = scanner")]
    pub filter: Option<String>,
    /// Lower bound of the time, inclusive: RFC 3339 (`2026-01-01T00:00:00Z`), a date
    /// (`2026-01-01`), Unix seconds, or an age (`30s`, `15m`, `12h`, `7d`, `2w`; at most a century).
    #[param(example = "7d")]
    pub since: Option<String>,
    /// Upper bound of the time, inclusive; same forms as `since`.
    #[param(example = "2026-01-02")]
    pub until: Option<String>,
    /// Write TLP as IntelMQ 3.5 knows it (`WHITE` for CLEAR, `RED` for AMBER+STRICT: never wider).
    #[serde(default)]
    #[param(default = false)]
    pub intelmq_tlp1: bool,
}

/// Events read per store query while exporting.
const EXPORT_PAGE: usize = 2_000;

/// Every event the viewer may read, as IntelMQ JSON lines (`application/x-ndjson`), streamed
/// page by page: the same as `firewatch events export`, with TLP 2.0 applied.
#[utoipa::path(get, path = "/api/v1/events/export", params(ExportParams),
    responses((status = 200, description = "The readable events as IntelMQ JSON lines, oldest first", content_type = "application/x-ndjson", body = String), (status = 400, description = "A parameter is unknown, malformed or out of range", body = ErrorBody), (status = 401, description = "The token is malformed, unknown or revoked, or the data needs one", body = ErrorBody), (status = 413, description = "The request has a body over 64 KiB", body = ErrorBody)))]
async fn export_events(
    State(state): State<Shared>,
    ApiViewer(viewer): ApiViewer,
    ApiQuery(p): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    let first = EventQuery {
        filter: event_filter(p.filter.as_deref())?,
        range: time_range(p.since.as_deref(), p.until.as_deref())?,
        limit: Some(EXPORT_PAGE),
        after_id: None,
        newest_first: false,
        visibility: Some(viewer.event_visibility()),
    };
    let options = firewatch_feeds::intelmq_jsonl::WriteOptions {
        intelmq_tlp_1: p.intelmq_tlp1,
    };
    // One store query per chunk of the body; `None` once a page came back short.
    let pages = futures_util::stream::unfold(Some(first), move |cursor| {
        let state = state.clone();
        async move {
            let mut q = cursor?;
            let page = state
                .with_store(move |s| {
                    let page = s.events(&q)?;
                    let mut lines = Vec::new();
                    firewatch_feeds::intelmq_jsonl::write_with(
                        page.iter().map(|e| &e.event),
                        &mut lines,
                        &options,
                    )
                    .map_err(|e| ApiError::Internal(format!("export: {e}")))?;
                    q.after_id = page.last().map(|e| e.id);
                    let next = (page.len() == EXPORT_PAGE).then_some(q);
                    Ok((lines, next))
                })
                .await;
            Some(match page {
                Ok((lines, next)) => (Ok(axum::body::Bytes::from(lines)), next),
                Err(e) => (Err(e), None),
            })
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        axum::body::Body::from_stream(pages),
    )
        .into_response())
}

/// Parameters of `GET /api/v1/events/stats`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// Fields to group by, comma-separated, 1 to 8 (`source.geolocation.cc,classification.type`).
    #[param(example = "source.geolocation.cc")]
    pub by: String,
    /// A filter, as `firewatch events list --where` (`source.geolocation.cc = JP and ...`).
    #[serde(rename = "where")]
    #[param(rename = "where", example = "classification.type = scanner")]
    pub filter: Option<String>,
    /// Lower bound of the time, inclusive: RFC 3339 (`2026-01-01T00:00:00Z`), a date
    /// (`2026-01-01`), Unix seconds, or an age (`30s`, `15m`, `12h`, `7d`, `2w`; at most a century).
    #[param(example = "7d")]
    pub since: Option<String>,
    /// Upper bound of the time, inclusive; same forms as `since`.
    #[param(example = "2026-01-02")]
    pub until: Option<String>,
    /// Groups returned: 1..=1000, default 100.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<u32>,
}

/// Counts of the events the viewer may read, grouped by fields.
#[utoipa::path(get, path = "/api/v1/events/stats", params(StatsParams),
    responses((status = 200, description = "Counts of the readable events, largest groups first", body = EventStats), (status = 400, description = "A parameter is unknown, malformed or out of range", body = ErrorBody), (status = 401, description = "The token is malformed, unknown or revoked, or the data needs one", body = ErrorBody), (status = 413, description = "The request has a body over 64 KiB", body = ErrorBody)))]
async fn event_stats(
    State(state): State<Shared>,
    ApiViewer(viewer): ApiViewer,
    ApiQuery(p): ApiQuery<StatsParams>,
) -> Result<Json<EventStats>, ApiError> {
    let limit = limit(p.limit)?;
    let by: Vec<String> =
        p.by.split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect();
    if by.is_empty() || by.len() > 8 {
        return Err(ApiError::BadRequest("by: give 1 to 8 fields".into()));
    }
    let q = EventQuery {
        filter: event_filter(p.filter.as_deref())?,
        range: time_range(p.since.as_deref(), p.until.as_deref())?,
        visibility: Some(viewer.event_visibility()),
        ..Default::default()
    };
    let by2 = by.clone();
    let (total, groups) = state
        .with_store(move |s| Ok((s.count_events(&q)?, s.event_stats(&by2, &q, limit)?)))
        .await?;
    Ok(Json(EventStats {
        by,
        total,
        groups: groups
            .into_iter()
            .map(|g| StatsGroup {
                key: g.key,
                count: g.count,
            })
            .collect(),
    }))
}

/// Parameters of `GET /api/v1/alerts`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertsParams {
    /// Lower bound of the time, inclusive: RFC 3339 (`2026-01-01T00:00:00Z`), a date
    /// (`2026-01-01`), Unix seconds, or an age (`30s`, `15m`, `12h`, `7d`, `2w`; at most a century).
    #[param(example = "7d")]
    pub since: Option<String>,
    /// Upper bound of the time, inclusive; same forms as `since`.
    #[param(example = "2026-01-02")]
    pub until: Option<String>,
    /// Alerts whose sources include this team (a directory team id; an unknown one is a 400).
    #[param(example = "jp-example-cert")]
    pub team: Option<String>,
    /// Alerts whose sources include this country (ISO 3166 alpha-2, any case).
    #[param(example = "JP", pattern = "^[A-Za-z]{2}$")]
    pub country: Option<String>,
    /// `tcp`, `udp`, `icmp`, `icmpv6` (any case) or a protocol number 0..=255.
    #[param(example = "tcp")]
    pub proto: Option<String>,
    /// Destination port, 0..=65535.
    pub port: Option<u16>,
    /// Only alerts still open.
    pub open: Option<bool>,
    /// Rows returned: 1..=1000, default 100.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<u32>,
}

fn proto_number(p: &str) -> Result<u8, ApiError> {
    match p.to_ascii_lowercase().as_str() {
        "tcp" => Ok(6),
        "udp" => Ok(17),
        "icmp" => Ok(1),
        "icmpv6" | "icmp6" => Ok(58),
        n => n
            .parse()
            .map_err(|_| ApiError::BadRequest(format!("proto {p:?}: tcp, udp, icmp or 0..=255"))),
    }
}

/// Port alerts of the telescope (telescope TLP, or the public release of aggregates).
#[utoipa::path(get, path = "/api/v1/alerts", params(AlertsParams),
    responses((status = 200, description = "Alerts, newest first", body = AlertList), (status = 400, description = "A parameter is unknown, malformed or out of range", body = ErrorBody), (status = 401, description = "The token is malformed, unknown or revoked, or the data needs one", body = ErrorBody), (status = 403, description = "The viewer's team may not read this", body = ErrorBody), (status = 413, description = "The request has a body over 64 KiB", body = ErrorBody)))]
async fn alerts(
    State(state): State<Shared>,
    ApiViewer(viewer): ApiViewer,
    ApiQuery(p): ApiQuery<AlertsParams>,
) -> Result<Json<AlertList>, ApiError> {
    let q = AlertQuery {
        range: time_range(p.since.as_deref(), p.until.as_deref())?,
        team: None,
        country: country_param(p.country.as_deref())?,
        proto: p.proto.as_deref().map(proto_number).transpose()?,
        port: p.port,
        open_only: p.open.unwrap_or(false),
        limit: Some(limit(p.limit)?),
    };
    // Who may not read the telescope's aggregates may still be told of the alerts with its
    // own sources (AMBER: the routed team, as its notice tells it): those, asked for by
    // `team=<own>` as its slice of the other lists.
    let team = if state.telescope.may_read_aggregates(&viewer) {
        known_team(&state, &viewer, p.team).await?
    } else {
        telescope_slice(&state.telescope, &viewer, p.team, false)?
    };
    let q = AlertQuery { team, ..q };
    // Released aggregates are counts, not records: who may not read the telescope's records
    // gets each alert without its individual source addresses.
    let records = state.telescope.may_read_records(&viewer);
    let found = state.with_store(move |s| Ok(s.alerts(&q)?)).await?;
    Ok(Json(AlertList {
        items: found
            .into_iter()
            .map(|a| {
                let mut item = AlertItem::from(a);
                if !records {
                    item.top_sources.clear();
                }
                item
            })
            .collect(),
    }))
}

/// Parameters of `GET /api/v1/alerts/{id}/sources`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertSourcesParams {
    /// Only the sources routed to this team (a directory team id; an unknown one is a 400).
    #[param(example = "jp-example-cert")]
    pub team: Option<String>,
}

/// Every source of one alert the viewer may read.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertSourceList {
    /// The alert's id.
    pub alert: String,
    /// The alert's unique sources, all teams together.
    pub unique_sources: u64,
    /// Which sources these are: `all` (the viewer reads the telescope's records) or the team
    /// they are routed to (the viewer's own, when the telescope's TLP lets only it be told).
    pub scope: String,
    pub items: Vec<AlertSourceItem>,
}

/// One source of an alert, with its attribution.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertSourceItem {
    /// IPv4 or IPv6 address.
    pub addr: String,
    /// Its packets to the alert's port within the alert.
    pub packets: u64,
    pub label: Option<Label>,
    /// Country of registration (ISO 3166 alpha-2).
    pub country: Option<String>,
    pub asn: Option<u32>,
    /// The team it is routed to.
    pub team: Option<String>,
}

/// Every source of one alert, not only its top ten, with country, ASN and team. A viewer who
/// may read the telescope's records gets all of them (`team` narrows); a team the telescope's
/// TLP lets be told of findings routed to it gets its own sources only.
#[utoipa::path(get, path = "/api/v1/alerts/{id}/sources", params(("id" = String, Path, description = "The alert's id", example = "tcp-23-spike-1762070400"), AlertSourcesParams),
    responses((status = 200, description = "The alert's sources the viewer may read, busiest first", body = AlertSourceList), (status = 400, description = "A parameter is unknown, malformed or out of range", body = ErrorBody), (status = 401, description = "The token is malformed, unknown or revoked, or the data needs one", body = ErrorBody), (status = 403, description = "The viewer's team may not read this", body = ErrorBody), (status = 404, description = "No such record", body = ErrorBody), (status = 413, description = "The request has a body over 64 KiB", body = ErrorBody)))]
async fn alert_sources(
    State(state): State<Shared>,
    ApiViewer(viewer): ApiViewer,
    ApiPath(id): ApiPath<String>,
    ApiQuery(p): ApiQuery<AlertSourcesParams>,
) -> Result<Json<AlertSourceList>, ApiError> {
    let team = telescope_slice(&state.telescope, &viewer, p.team, true)?;
    let team = known_team(&state, &viewer, team).await?;
    let scope = team.clone().unwrap_or_else(|| "all".to_owned());
    let (alert, sources) = state
        .with_store(move |s| {
            let alert = s
                .alert(&id)?
                .ok_or_else(|| ApiError::NotFound(format!("no alert {id}")))?;
            let sources = s.alert_sources(&alert, team.as_deref())?;
            Ok((alert, sources))
        })
        .await?;
    Ok(Json(AlertSourceList {
        alert: alert.id,
        unique_sources: alert.unique_sources,
        scope,
        items: sources
            .into_iter()
            .map(|s| AlertSourceItem {
                addr: s.addr.to_string(),
                packets: s.packets,
                label: s.label.map(Label::from),
                country: s.country,
                asn: s.asn,
                team: s.team,
            })
            .collect(),
    }))
}

/// Parameters of `GET /api/v1/ports/top`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TopPortsParams {
    /// Lower bound of the time, inclusive: RFC 3339 (`2026-01-01T00:00:00Z`), a date
    /// (`2026-01-01`), Unix seconds, or an age (`30s`, `15m`, `12h`, `7d`, `2w`; at most a century).
    #[param(example = "7d")]
    pub since: Option<String>,
    /// Upper bound of the time, inclusive; same forms as `since`.
    #[param(example = "2026-01-02")]
    pub until: Option<String>,
    /// Rows returned: 1..=1000, default 100.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<u32>,
}

/// The telescope's ports by packets (telescope TLP, or the public release of aggregates).
#[utoipa::path(get, path = "/api/v1/ports/top", params(TopPortsParams),
    responses((status = 200, description = "Ports by packets, busiest first", body = PortList), (status = 400, description = "A parameter is unknown, malformed or out of range", body = ErrorBody), (status = 401, description = "The token is malformed, unknown or revoked, or the data needs one", body = ErrorBody), (status = 403, description = "The viewer's team may not read this", body = ErrorBody), (status = 413, description = "The request has a body over 64 KiB", body = ErrorBody)))]
async fn top_ports(
    State(state): State<Shared>,
    ApiViewer(viewer): ApiViewer,
    ApiQuery(p): ApiQuery<TopPortsParams>,
) -> Result<Json<PortList>, ApiError> {
    let range = time_range(p.since.as_deref(), p.until.as_deref())?;
    let limit = limit(p.limit)?;
    telescope_aggregates(&state, &viewer)?;
    let found = state
        .with_store(move |s| Ok(s.top_ports(&range, limit)?))
        .await?;
    Ok(Json(PortList {
        items: found.into_iter().map(PortItem::from).collect(),
    }))
}

/// Parameters of `GET /api/v1/sources`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SourcesParams {
    /// Lower bound of the time, inclusive: RFC 3339 (`2026-01-01T00:00:00Z`), a date
    /// (`2026-01-01`), Unix seconds, or an age (`30s`, `15m`, `12h`, `7d`, `2w`; at most a century).
    #[param(example = "7d")]
    pub since: Option<String>,
    /// Upper bound of the time, inclusive; same forms as `since`.
    #[param(example = "2026-01-02")]
    pub until: Option<String>,
    /// A source label, any case: `mirai`, `zmap`, `masscan`, `backscatter`, `scanner` or `other`.
    #[param(example = "mirai")]
    pub label: Option<String>,
    /// Only sources routed to this team (a directory team id; an unknown one is a 400). Who
    /// may not read the telescope's records but may be told of findings routed to its team
    /// (AMBER) gets its own team's sources with its own id here, and nothing else.
    #[param(example = "jp-example-cert")]
    pub team: Option<String>,
    /// Only sources registered in this country (ISO 3166 alpha-2, any case).
    #[param(example = "JP", pattern = "^[A-Za-z]{2}$")]
    pub country: Option<String>,
    /// Rows returned: 1..=1000, default 100.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<u32>,
}

/// Sources seen by the telescope, busiest first (telescope TLP; never released as aggregates),
/// optionally one team's or one country's.
#[utoipa::path(get, path = "/api/v1/sources", params(SourcesParams),
    responses((status = 200, description = "Sources, busiest first", body = SourceList), (status = 400, description = "A parameter is unknown, malformed or out of range", body = ErrorBody), (status = 401, description = "The token is malformed, unknown or revoked, or the data needs one", body = ErrorBody), (status = 403, description = "The viewer's team may not read this", body = ErrorBody), (status = 413, description = "The request has a body over 64 KiB", body = ErrorBody)))]
async fn sources(
    State(state): State<Shared>,
    ApiViewer(viewer): ApiViewer,
    ApiQuery(p): ApiQuery<SourcesParams>,
) -> Result<Json<SourceList>, ApiError> {
    let q = SourceQuery {
        range: time_range(p.since.as_deref(), p.until.as_deref())?,
        label: p
            .label
            .as_deref()
            .map(|l| {
                l.parse()
                    .map_err(|_| ApiError::BadRequest(format!("label {l:?} is not a source label")))
            })
            .transpose()?,
        team: None,
        country: country_param(p.country.as_deref())?,
        limit: Some(limit(p.limit)?),
    };
    let team = telescope_slice(&state.telescope, &viewer, p.team, false)?;
    let q = SourceQuery {
        team: known_team(&state, &viewer, team).await?,
        ..q
    };
    let found = state.with_store(move |s| Ok(s.sources(&q)?)).await?;
    Ok(Json(SourceList {
        items: found.into_iter().map(SourceItem::from).collect(),
    }))
}

/// An IPv4 or IPv6 address in its text form.
pub struct IpAddress;

impl utoipa::PartialSchema for IpAddress {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
        let text = |format: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::Custom(format.into())))
        };
        utoipa::openapi::RefOr::T(
            OneOfBuilder::new()
                .item(text("ipv4"))
                .item(text("ipv6"))
                .description(Some("IPv4 or IPv6 address"))
                .build()
                .into(),
        )
    }
}

impl ToSchema for IpAddress {}

/// The order of a listing.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Oldest first.
    Asc,
    /// Newest first.
    Desc,
}

fn parse_ip(text: &str) -> Result<IpAddr, ApiError> {
    text.parse()
        .map_err(|_| ApiError::BadRequest(format!("{text:?} is not an IP address")))
}

/// One source's profile (telescope TLP).
#[utoipa::path(get, path = "/api/v1/sources/{ip}", params(("ip" = IpAddress, Path, description = "IPv4 or IPv6 address", example = "192.0.2.10")),
    responses((status = 200, description = "The source's profile", body = SourceItem), (status = 400, description = "A parameter is unknown, malformed or out of range", body = ErrorBody), (status = 401, description = "The token is malformed, unknown or revoked, or the data needs one", body = ErrorBody), (status = 403, description = "The viewer's team may not read this", body = ErrorBody), (status = 404, description = "No such record", body = ErrorBody), (status = 413, description = "The request has a body over 64 KiB", body = ErrorBody)))]
async fn source(
    State(state): State<Shared>,
    ApiViewer(viewer): ApiViewer,
    ApiPath(ip): ApiPath<String>,
    ApiQuery(NoParams {}): ApiQuery<NoParams>,
) -> Result<Json<SourceItem>, ApiError> {
    let addr = parse_ip(&ip)?;
    telescope_records(&state, &viewer)?;
    let found = state.with_store(move |s| Ok(s.source(addr)?)).await?;
    let record = found.ok_or_else(|| ApiError::NotFound(format!("no source {addr}")))?;
    Ok(Json(record.into()))
}

/// Parameters of `GET /api/v1/attacks`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AttacksParams {
    /// Lower bound of the time, inclusive: RFC 3339 (`2026-01-01T00:00:00Z`), a date
    /// (`2026-01-01`), Unix seconds, or an age (`30s`, `15m`, `12h`, `7d`, `2w`; at most a century).
    #[param(example = "7d")]
    pub since: Option<String>,
    /// Upper bound of the time, inclusive; same forms as `since`.
    #[param(example = "2026-01-02")]
    pub until: Option<String>,
    /// Only attacks on this address (IPv4 or IPv6).
    #[param(example = "192.0.2.1")]
    pub victim: Option<String>,
    /// Only attacks on victims routed to this team (a directory team id; an unknown one is a
    /// 400). Who may not read the telescope's records but may be told of findings routed to its
    /// team (AMBER) gets its own team's attacks with its own id here, and nothing else.
    #[param(example = "jp-example-cert")]
    pub team: Option<String>,
    /// Only attacks on victims registered in this country (ISO 3166 alpha-2, any case).
    #[param(example = "BR", pattern = "^[A-Za-z]{2}$")]
    pub country: Option<String>,
    /// Rows returned: 1..=1000, default 100.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<u32>,
}

/// Backscatter attacks seen by the telescope, largest first (telescope TLP), optionally on one
/// team's or one country's victims.
#[utoipa::path(get, path = "/api/v1/attacks", params(AttacksParams),
    responses((status = 200, description = "Attacks, largest first", body = AttackList), (status = 400, description = "A parameter is unknown, malformed or out of range", body = ErrorBody), (status = 401, description = "The token is malformed, unknown or revoked, or the data needs one", body = ErrorBody), (status = 403, description = "The viewer's team may not read this", body = ErrorBody), (status = 413, description = "The request has a body over 64 KiB", body = ErrorBody)))]
async fn attacks(
    State(state): State<Shared>,
    ApiViewer(viewer): ApiViewer,
    ApiQuery(p): ApiQuery<AttacksParams>,
) -> Result<Json<AttackList>, ApiError> {
    let q = AttackQuery {
        range: time_range(p.since.as_deref(), p.until.as_deref())?,
        victim: p.victim.as_deref().map(parse_ip).transpose()?,
        team: None,
        country: country_param(p.country.as_deref())?,
        limit: Some(limit(p.limit)?),
    };
    let team = telescope_slice(&state.telescope, &viewer, p.team, false)?;
    let q = AttackQuery {
        team: known_team(&state, &viewer, team).await?,
        ..q
    };
    let found = state.with_store(move |s| Ok(s.attacks(&q)?)).await?;
    Ok(Json(AttackList {
        items: found.into_iter().map(AttackItem::from).collect(),
    }))
}

fn load_directory(s: &dyn firewatch_store::Backend) -> Result<Directory, ApiError> {
    firewatch_pipeline::directory::stored_directory(s)
        .map_err(|e| ApiError::Internal(format!("{e:#}")))
}

/// The team directory (the community: any authenticated user).
#[utoipa::path(get, path = "/api/v1/teams",
    responses((status = 200, description = "The team directory", body = TeamList), (status = 400, description = "A parameter is unknown, malformed or out of range", body = ErrorBody), (status = 401, description = "The token is malformed, unknown or revoked, or the data needs one", body = ErrorBody), (status = 413, description = "The request has a body over 64 KiB", body = ErrorBody)))]
async fn teams(
    State(state): State<Shared>,
    ApiViewer(viewer): ApiViewer,
    ApiQuery(NoParams {}): ApiQuery<NoParams>,
) -> Result<Json<TeamList>, ApiError> {
    community(&viewer)?;
    let teams = state
        .with_store(|s| {
            Ok(load_directory(s)?
                .teams
                .iter()
                .map(TeamItem::from)
                .collect())
        })
        .await?;
    Ok(Json(TeamList { teams }))
}

/// The team responsible for an address, by the directory's prefix claims and default team
/// (the community: any authenticated user).
#[utoipa::path(get, path = "/api/v1/route/{ip}", params(("ip" = IpAddress, Path, description = "IPv4 or IPv6 address", example = "192.0.2.10")),
    responses((status = 200, description = "The responsible team and why", body = RouteAnswer), (status = 400, description = "A parameter is unknown, malformed or out of range", body = ErrorBody), (status = 401, description = "The token is malformed, unknown or revoked, or the data needs one", body = ErrorBody), (status = 413, description = "The request has a body over 64 KiB", body = ErrorBody)))]
async fn route(
    State(state): State<Shared>,
    ApiViewer(viewer): ApiViewer,
    ApiPath(ip): ApiPath<String>,
    ApiQuery(NoParams {}): ApiQuery<NoParams>,
) -> Result<Json<RouteAnswer>, ApiError> {
    let addr = parse_ip(&ip)?;
    community(&viewer)?;
    let app = Arc::clone(&state);
    let answer = state
        .with_store(move |s| {
            let directory = load_directory(s)?;
            let geo = app.geo()?;
            let found = firewatch_pipeline::directory::route(
                &geo,
                &directory,
                addr,
                &firewatch_pipeline::directory::RouteQuery::default(),
            );
            Ok(RouteAnswer::from(found))
        })
        .await?;
    Ok(Json(answer))
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", responses((status = 200, description = "The OpenAPI 3.1 document", body = Object), (status = 413, description = "The request has a body over 64 KiB", body = ErrorBody)))]
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// Liveness: the process answers and the store opens.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "The service answers and the store opens", body = Health), (status = 413, description = "The request has a body over 64 KiB", body = ErrorBody), (status = 500, description = "A fault of the service", body = ErrorBody)))]
async fn healthz(State(state): State<Shared>) -> Result<Json<Health>, ApiError> {
    state.with_store(|_| Ok(())).await?;
    Ok(Json(Health {
        status: "ok".into(),
    }))
}

/// Prometheus metrics (text exposition format): the process's request counts and latencies for
/// anyone; with an administrator's token or session, also the store's figures (they count
/// every record whatever its TLP, so they are not for everyone).
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "OpenMetrics text", body = String, content_type = "application/openmetrics-text"), (status = 401, description = "The token is malformed, unknown or revoked", body = ErrorBody), (status = 413, description = "The request has a body over 64 KiB", body = ErrorBody), (status = 500, description = "A fault of the service", body = ErrorBody)))]
async fn metrics(
    State(state): State<Shared>,
    ApiViewer(viewer): ApiViewer,
) -> Result<Response, ApiError> {
    let administrator = matches!(
        viewer,
        Viewer::User {
            role: firewatch_core::access::Role::Administrator,
            ..
        }
    );
    if administrator {
        let figures = state.with_store(|s| Ok(store_figures(s)?)).await?;
        state.metrics.set_store(&figures);
    }
    let mut response = state.metrics.encode(administrator).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    Ok(response)
}

/// The store's side of the metrics.
fn store_figures(
    s: &dyn firewatch_store::Backend,
) -> firewatch_store::Result<crate::metrics::StoreFigures> {
    let captures = s.inputs()?;
    let feeds = s.feed_inputs()?;
    let open = s.alerts(&firewatch_store::AlertQuery {
        open_only: true,
        ..Default::default()
    })?;
    Ok(crate::metrics::StoreFigures {
        events_stored: s.count_events(&EventQuery::default())?,
        ingested_packets: captures.iter().map(|i| i.ip_packets).sum(),
        ingested_events: feeds.iter().map(|i| i.inserted).sum(),
        capture_inputs: captures.len() as u64,
        feed_inputs: feeds.len() as u64,
        alerts_open: open.len() as u64,
        last_ingest: captures
            .iter()
            .map(|i| i.ingested_at)
            .chain(feeds.iter().map(|i| i.ingested_at))
            .max()
            .unwrap_or(0),
    })
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            Http, HttpAuthScheme, SecurityRequirement, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        // A token is optional: without one the caller is anonymous and sees TLP:CLEAR.
        openapi.security = Some(vec![
            SecurityRequirement::new("bearer", Vec::<String>::new()),
            SecurityRequirement::default(),
        ]);
    }
}

/// The OpenAPI 3 document of the service.
#[derive(OpenApi)]
#[openapi(
    info(title = "Firewatch API", description = "Telescope data, feed events, teams and routing, X.1060 service maps, cross-border cases; TLP 2.0 applied to every read."),
    paths(events, event_stats, export_events, alerts, alert_sources, top_ports, sources, source, attacks, teams, route, crate::assess::assessments, crate::assess::assessment, crate::assess::comparison, crate::cases::cases, crate::cases::case, openapi, healthz, metrics),
    components(schemas(ErrorBody, Order, IpAddress, IntelMqEvent, Label, TlpLevel, EventPage, EventItem, EventStats, StatsGroup, AlertList, AlertItem, AlertSourceList, AlertSourceItem, PortList, SourceList, SourceItem, AttackList, TeamList, RouteAnswer, Health, crate::assess::AssessmentList, crate::assess::AssessmentSummary, crate::assess::AssessmentDetail, crate::assess::AssessmentComparison, crate::cases::CaseStatus, crate::cases::CaseList, crate::cases::CaseItem, crate::cases::CasePartyItem, crate::cases::CaseDetail)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;
