//! What the JSON API reads from a request and how it writes times: query and path extractors
//! that refuse with a JSON 400, and RFC 3339 times. Shared by the API's route modules
//! ([`crate::api`], [`crate::assess`], [`crate::cases`]); `crate::api` re-exports them.

use crate::error::ApiError;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Query parameters, refused with a 400 and a JSON body when unknown or malformed.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or(""))
            .map(ApiQuery)
            .map_err(|e| ApiError::BadRequest(format!("query: {e}")))
    }
}

/// A path parameter, refused with a 400 and a JSON body when it cannot be decoded (bad
/// percent-encoding, not UTF-8).
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|e| ApiError::BadRequest(format!("path: {}", e.body_text())))
    }
}

/// Rows returned when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 100;
/// The largest `limit` accepted.
pub const MAX_LIMIT: u32 = 1000;

/// The `limit` parameter of a listing: [`DEFAULT_LIMIT`] when not given, else 1..=[`MAX_LIMIT`]
/// or a 400.
pub fn limit(l: Option<u32>) -> Result<usize, ApiError> {
    match l.unwrap_or(DEFAULT_LIMIT) {
        n @ 1..=MAX_LIMIT => Ok(n as usize),
        n => Err(ApiError::BadRequest(format!(
            "limit {n} is out of range (1..={MAX_LIMIT})"
        ))),
    }
}

/// Unix seconds as RFC 3339 UTC (`2026-01-01T00:00:00Z`): every time in the API's JSON is
/// written so; only fields named `_ns` keep a number beside it.
pub fn rfc3339(secs: i64) -> String {
    match jiff::Timestamp::from_second(secs) {
        Ok(t) => t.to_string(),
        // Out of jiff's range (years beyond ±9999): the nearest time it can write, so that the
        // field is always a date-time.
        Err(_) if secs < 0 => jiff::Timestamp::MIN.to_string(),
        Err(_) => jiff::Timestamp::MAX.to_string(),
    }
}

/// Unix nanoseconds as RFC 3339 UTC, to the second (as the CLI's `--json` writes them).
pub fn rfc3339_ns(ns: i64) -> String {
    rfc3339(ns.div_euclid(1_000_000_000))
}

/// Parameters without any query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}
