//! The browser side: session login, a server-rendered dashboard (inline SVG charts and a
//! world map, no JavaScript), each team's inbox, alert details and the public TLP:CLEAR page.
//!
//! Every page reads through the same rules as the API: events with the store's visibility
//! predicate ([`Viewer::event_visibility`]), telescope data with [`firewatch_core::access::TelescopeAccess`].
//! Templates are `maud`, which HTML-escapes every interpolated value. Pages send a strict
//! Content-Security-Policy (no script at all, styles only from `/assets/`).

mod alert;
mod assess;
mod chart;
mod dashboard;
mod health;
mod login;
pub mod map;
mod public;

use crate::AppState;
use crate::error::ApiError;
use crate::session::PageViewer;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use firewatch_core::access::Viewer;
use maud::{DOCTYPE, Markup, html};
use std::sync::Arc;

type Shared = Arc<AppState>;

/// What the pages keep besides the store (failed logins are counted by
/// [`crate::password_gate::PasswordGate`], shared with TAXII's HTTP Basic).
#[derive(Debug, Default)]
pub struct PageState {
    /// Add `Secure` to cookies (`[web] secure_cookies`).
    pub secure_cookies: bool,
}

/// The largest form body accepted.
const MAX_FORM: usize = 16 * 1024;

/// The routes of the pages, to merge into the service's router.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/", get(dashboard::dashboard))
        .route("/inbox", get(dashboard::inbox))
        .route("/alerts/{id}", get(alert::alert))
        .route("/public", get(public::public))
        .route("/public/health", get(health::health))
        .route("/assess", get(assess::list))
        .route("/assess/{scope}", get(assess::show))
        .route("/assess/{a}/compare/{b}", get(assess::compare_page))
        .route("/login", get(login::form).post(login::login))
        .route("/logout", axum::routing::post(login::logout))
        .route("/assets/style.css", get(style))
        .layer(DefaultBodyLimit::max(MAX_FORM))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// The CSP of every page: nothing but our own origin, no script at all, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'none'; \
     style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../assets/style.css"),
    )
        .into_response()
}

/// Why a page could not be shown; rendered as an HTML page with the status.
#[derive(Debug)]
pub enum PageError {
    /// 400.
    BadRequest(String),
    /// 403 (CSRF refusals, data not shared with the viewer).
    Forbidden(String),
    /// 404.
    NotFound(String),
    /// 429: too many failed logins for the name; seconds until it may try again.
    TooManyAttempts(u64),
    /// 503: too many password checks in progress; try again in a second.
    Busy,
    /// A store or service failure (500, detail logged).
    Internal(String),
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::BadRequest(m) => PageError::BadRequest(m),
            ApiError::Forbidden(m) | ApiError::Unauthorized(m) => PageError::Forbidden(m),
            ApiError::NotFound(m) => PageError::NotFound(m),
            ApiError::Internal(m) | ApiError::Unavailable(m) => PageError::Internal(m),
            other => PageError::BadRequest(other.to_string()),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            PageError::TooManyAttempts(secs) => Some(*secs),
            PageError::Busy => Some(1),
            _ => None,
        };
        let (status, message) = match self {
            PageError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            PageError::Forbidden(m) => (StatusCode::FORBIDDEN, m),
            PageError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            PageError::TooManyAttempts(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "too many failed logins for this name: try again in a few minutes".into(),
            ),
            PageError::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "too many sign-in attempts in progress: try again in a moment".into(),
            ),
            PageError::Internal(detail) => {
                // Debug formatting escapes line breaks: no forged log lines (issue 22, item 16).
                tracing::error!(detail = ?detail, "page failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error".into())
            }
        };
        let title = status.canonical_reason().unwrap_or("error");
        let body = layout(
            title,
            None,
            html! {
                h1 { (status.as_u16()) " " (title) }
                p.error { (message) }
                p { a href="/" { "Dashboard" } " · " a href="/public" { "Public statistics" } }
            },
        );
        let mut response = (status, body).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Where an anonymous visitor of a signed-in page goes.
fn to_login() -> Response {
    Redirect::to("/login").into_response()
}

/// The page frame: title, navigation (with the logout form when signed in), content.
pub fn layout(title: &str, who: Option<&PageViewer>, content: Markup) -> Html<String> {
    let signed_in = who.and_then(|w| match &w.viewer {
        Viewer::User { name, team, role } => Some((name, team, role, w.csrf().unwrap_or(""))),
        Viewer::Anonymous => None,
    });
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · Firewatch" }
                    link rel="stylesheet" href="/assets/style.css";
                }
                body {
                    header.top {
                        a.brand href="/" { "Firewatch" }
                        nav {
                            @if let Some((name, team, role, csrf)) = signed_in {
                                a href="/" { "Dashboard" }
                                a href="/inbox" { "Inbox" }
                                a href="/public" { "Public" }
                                a href="/assess" { "Services map" }
                                span.who { (name) " · team " (team) " · " (role.as_str()) }
                                form.logout method="post" action="/logout" {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button type="submit" { "Sign out" }
                                }
                            } @else {
                                a href="/public" { "Public statistics" }
                                a href="/assess" { "Services map" }
                                a href="/login" { "Sign in" }
                            }
                        }
                    }
                    main { (content) }
                }
            }
        }
        .into_string(),
    )
}

/// Unix seconds as `YYYY-MM-DD HH:MM` UTC.
pub fn fmt_time(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| secs.to_string())
}
