//! `GET /login`, `POST /login`, `POST /logout` (see [`crate::session`] for the design).

use super::{PageError, Shared, layout};
use crate::password_gate::{Refusal, Remember};
use crate::session::{
    LOGIN_CSRF_COOKIE, LOGIN_FORM_TTL_SECS, PageViewer, SESSION_COOKIE, SESSION_TTL_SECS,
    clear_cookie, hash_session_id, login_token_valid, new_login_token, new_secret, set_cookie,
    tokens_match,
};
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

/// The login form's fields.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// The logout form's field.
#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// Renders the login form with a fresh double-submit token (also set as a cookie), made and
/// signed by this server.
fn login_page(state: &Shared, status: StatusCode, message: Option<&str>) -> Response {
    let token = new_login_token(jiff::Timestamp::now().as_second());
    let page = layout(
        "Sign in",
        None,
        html! {
            h1 { "Sign in" }
            @if let Some(m) = message { p.error role="alert" { (m) } }
            form.login method="post" action="/login" {
                input type="hidden" name="csrf" value=(token);
                label { "User name " input type="text" name="name" autocomplete="username" required; }
                label { "Password " input type="password" name="password" autocomplete="current-password" required; }
                button type="submit" id="sign-in" { "Sign in" }
            }
        },
    );
    (
        status,
        [(
            header::SET_COOKIE,
            set_cookie(
                LOGIN_CSRF_COOKIE,
                &token,
                LOGIN_FORM_TTL_SECS,
                state.pages.secure_cookies,
            ),
        )],
        page,
    )
        .into_response()
}

/// `GET /login`.
pub async fn form(State(state): State<Shared>) -> Response {
    login_page(&state, StatusCode::OK, None)
}

/// `POST /login`: CSRF check (the cookie and the form agree, and the server made the token),
/// then the password gate (failure limit, Argon2 bounded, a decoy hash for unknown names so
/// both failures take the same time), then a new session.
pub async fn login(
    State(state): State<Shared>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Form(form) = form.map_err(|e| PageError::BadRequest(e.body_text()))?;
    let cookie_token = crate::session::cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    let now = jiff::Timestamp::now().as_second();
    if !tokens_match(&form.csrf, cookie_token) || !login_token_valid(cookie_token, now) {
        return Err(PageError::Forbidden(
            "the form's CSRF token is missing or wrong: reload the sign-in page".into(),
        ));
    }
    let name = form.name.trim().to_owned();
    let checked = state
        .passwords
        .check(&state, &name, &form.password, Remember::No)
        .await;
    // Names are logged with Debug formatting, which escapes line breaks: a name cannot forge
    // log lines (issue 22, item 16).
    let user = match checked {
        Ok(user) => user,
        Err(Refusal::Wrong) => {
            tracing::info!(user = ?name, "failed login");
            return Ok(login_page(
                &state,
                StatusCode::UNAUTHORIZED,
                Some("wrong name or password"),
            ));
        }
        Err(refused @ Refusal::Locked { .. }) => {
            tracing::info!(user = ?name, "login refused: too many failures");
            return Err(PageError::TooManyAttempts(
                refused.retry_after_secs().unwrap_or(1),
            ));
        }
        Err(Refusal::Busy) => return Err(PageError::Busy),
        Err(Refusal::Failed(e)) => return Err(e.into()),
    };
    let id = new_secret();
    let id_hash = hash_session_id(&id);
    let csrf = new_secret();
    state
        .with_store(move |s| {
            s.purge_sessions(now)?;
            s.add_session(&id_hash, user.id, now, now + SESSION_TTL_SECS, &csrf)?;
            Ok(())
        })
        .await?;
    tracing::info!(user = ?name, "signed in");
    let secure = state.pages.secure_cookies;
    let mut response = Redirect::to("/").into_response();
    let h = response.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &id, SESSION_TTL_SECS, secure),
    );
    h.append(header::SET_COOKIE, clear_cookie(LOGIN_CSRF_COOKIE, secure));
    Ok(response)
}

/// `POST /logout`: ends the session (synchronizer token required) and deletes the cookie.
pub async fn logout(
    State(state): State<Shared>,
    headers: HeaderMap,
    form: Result<Form<LogoutForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Form(form) = form.map_err(|e| PageError::BadRequest(e.body_text()))?;
    let who = PageViewer::from_headers(&state, &headers).await?;
    let Some(session) = who.session else {
        return Ok(Redirect::to("/login").into_response());
    };
    if !tokens_match(&form.csrf, &session.csrf) {
        return Err(PageError::Forbidden(
            "the form's CSRF token is missing or wrong: reload the page".into(),
        ));
    }
    let id_hash = session.id_hash;
    state
        .with_store(move |s| Ok(s.remove_session(&id_hash)?))
        .await?;
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        clear_cookie(SESSION_COOKIE, state.pages.secure_cookies),
    );
    Ok(response)
}
