//! The one error type of the API: every failure is a status and a JSON body `{"error": "..."}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use firewatch_store::StoreError;
use serde::Serialize;

/// The body of every error response.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for a person.
    pub error: String,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A parameter is unknown, malformed or out of range (400).
    #[error("{0}")]
    BadRequest(String),
    /// The credentials are missing where needed, malformed, unknown or revoked (401).
    #[error("{0}")]
    Unauthorized(String),
    /// The viewer may not read this (403).
    #[error("{0}")]
    Forbidden(String),
    /// No such route or record (404).
    #[error("{0}")]
    NotFound(String),
    /// The route exists, the method does not (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request body is over the limit (413).
    #[error("request body over {0} bytes")]
    PayloadTooLarge(u64),
    /// The store cannot take the request now (busy past its wait, read-only, marked corrupt):
    /// 503 with `Retry-After`, and the reason, which tells the operator what to do.
    #[error("{0}")]
    Unavailable(String),
    /// A fault of the service (500); the detail is logged, not sent.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// An error of a way through the pipeline: the store's conditions a client can wait out or
    /// an operator must fix become [`ApiError::Unavailable`], anything else is internal.
    pub fn from_pipeline(error: &(dyn std::error::Error + 'static)) -> ApiError {
        let mut cause = Some(error);
        while let Some(e) = cause {
            if let Some(store) = e.downcast_ref::<StoreError>()
                && let Some(unavailable) = unavailable(store)
            {
                return unavailable;
            }
            cause = e.source();
        }
        ApiError::Internal(format!("{error}"))
    }
}

/// The store's conditions that are not the service's fault.
fn unavailable(e: &StoreError) -> Option<ApiError> {
    matches!(
        e,
        StoreError::Busy(_) | StoreError::ReadOnly { .. } | StoreError::KnownCorrupt { .. }
    )
    .then(|| ApiError::Unavailable(e.to_string()))
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidQuery(msg) => ApiError::BadRequest(msg),
            other => unavailable(&other).unwrap_or_else(|| ApiError::Internal(other.to_string())),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            // Debug formatting escapes line breaks: no forged log lines (issue 22, item 16).
            tracing::error!(detail = ?detail, "request failed");
        }
        let mut response = (
            self.status(),
            Json(ErrorBody {
                error: self.to_string(),
            }),
        )
            .into_response();
        if matches!(self, ApiError::Unavailable(_)) {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("5"),
            );
        }
        if matches!(self, ApiError::Unauthorized(_)) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
