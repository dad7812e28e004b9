//! Who is asking: the request extractor that turns a bearer token or a browser session into
//! core's [`Viewer`], for the API and TAXII alike.

use crate::AppState;
use crate::auth;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use firewatch_core::access::Viewer;
use std::sync::Arc;

type Shared = Arc<AppState>;

/// The viewer of an API request (an extractor; [`Viewer`] itself is core's word).
pub struct ApiViewer(pub Viewer);

/// The viewer: the user of a valid, unrevoked bearer token (`Authorization`), else the user of a
/// live browser session (`fw_session` cookie), else anonymous; a bad or revoked token is a 401.
impl FromRequestParts<Shared> for ApiViewer {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            // The browser's session works for the API too (the pages' scripts, an analyst
            // following a link). Every API route is a GET that changes nothing, and the cookie
            // is SameSite=Strict, so no CSRF token is needed here.
            let page = crate::session::PageViewer::from_headers(state, &parts.headers).await?;
            return Ok(ApiViewer(page.viewer));
        };
        let bad = || ApiError::Unauthorized("invalid or revoked token".into());
        let text = value.to_str().map_err(|_| bad())?;
        let token = text
            .strip_prefix("Bearer ")
            .or_else(|| text.strip_prefix("bearer "))
            .ok_or_else(|| ApiError::Unauthorized("use Authorization: Bearer fw_...".into()))?
            .trim();
        let (id, secret) = auth::parse_token(token).ok_or_else(bad)?;
        let (id, secret) = (id.to_owned(), secret.to_owned());
        let found = state.with_store(move |s| Ok(s.token(&id)?)).await?;
        let Some((record, user)) = found else {
            return Err(bad());
        };
        if record.revoked_at.is_some() || !auth::secret_matches(&secret, &record.token_hash) {
            return Err(bad());
        }
        let role = user
            .role
            .parse()
            .map_err(|e| ApiError::Internal(format!("user {}: {e}", user.name)))?;
        Ok(ApiViewer(Viewer::User {
            name: user.name,
            team: user.team,
            role,
        }))
    }
}
