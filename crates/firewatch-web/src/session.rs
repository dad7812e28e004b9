//! Browser sessions: the `fw_session` cookie, CSRF tokens and the login rate limit.
//!
//! # Design
//! A session is **server-side**: the cookie holds 32 random bytes (base64url), the store keeps
//! only their BLAKE3 hash (table `sessions`: user, created, expires, CSRF secret). We chose this
//! over a signed cookie because logging out, removing a user or a stolen-cookie response must
//! end a session *now*: a signed cookie stays valid until it expires unless the server keeps a
//! revocation list, which is server-side state anyway; and there is no signing key to manage
//! and rotate. A copy of the database signs nobody in (only hashes), and 256 random bits need
//! no slow hash. Every login makes a new session id (no fixation).
//!
//! The cookie is `HttpOnly; SameSite=Strict; Path=/`, plus `Secure` unless `[web]
//! secure_cookies = false` (tests over plain HTTP on loopback).
//!
//! **CSRF**: every state-changing form carries a token checked on POST; a missing or wrong one
//! is a 403. Signed-in forms (logout) use the *synchronizer token* stored with the session.
//! The login form has no session yet, so it uses a *double-submit* token tied to the server:
//! `GET /login` makes `nonce.expiry.mac` — 32 random bytes, the Unix time the form expires and
//! a keyed BLAKE3 MAC of both under a random per-process key ([`new_login_token`]) — sets it as
//! the `fw_login_csrf` cookie (same flags) and puts the same value in the form; `POST /login`
//! requires both to be equal *and* the MAC to be the server's and unexpired
//! ([`login_token_valid`]). A plain double-submit cookie would accept any value an attacker
//! managed to plant in the browser (a sibling subdomain, a header injection), so a planted
//! cookie is refused unless the server made it (issue 22, item 19). The key is not kept: a
//! restart asks for a reload of open sign-in forms. Tokens are compared in constant time.
//! `SameSite=Strict` is a second line of defence, not the only one.

use crate::AppState;
use crate::error::ApiError;
use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use firewatch_core::access::{Role, Viewer};
use firewatch_store::SessionRecord;
use rand::Rng;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The session cookie.
pub const SESSION_COOKIE: &str = "fw_session";
/// The double-submit cookie of the login form.
pub const LOGIN_CSRF_COOKIE: &str = "fw_login_csrf";
/// How long a session lasts from login.
pub const SESSION_TTL_SECS: i64 = 12 * 3600;
/// How long a login form stays valid.
pub const LOGIN_FORM_TTL_SECS: i64 = 3600;

/// 32 random bytes, base64url: session ids and CSRF tokens.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The random key of this process's login-form MACs.
fn login_form_key() -> &'static [u8; 32] {
    static KEY: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
    KEY.get_or_init(rand::random)
}

fn login_form_mac(nonce: &str, expires: i64) -> String {
    let mut h = blake3::Hasher::new_keyed(login_form_key());
    h.update(b"firewatch login form\0");
    h.update(nonce.as_bytes());
    h.update(b"\0");
    h.update(expires.to_string().as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(h.finalize().as_bytes())
}

/// A login form's CSRF token made at Unix time `now`: `nonce.expiry.mac`, valid for
/// [`LOGIN_FORM_TTL_SECS`].
pub fn new_login_token(now: i64) -> String {
    let nonce = new_secret();
    let expires = now.saturating_add(LOGIN_FORM_TTL_SECS);
    let mac = login_form_mac(&nonce, expires);
    format!("{nonce}.{expires}.{mac}")
}

/// Whether `token` was made by [`new_login_token`] in this process and is unexpired at `now`.
pub fn login_token_valid(token: &str, now: i64) -> bool {
    let mut parts = token.splitn(3, '.');
    let (Some(nonce), Some(expires), Some(mac)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Ok(expires) = expires.parse::<i64>() else {
        return false;
    };
    nonce.len() <= 64 && now < expires && tokens_match(mac, &login_form_mac(nonce, expires))
}

/// The stored form of a session id.
pub fn hash_session_id(id: &str) -> String {
    crate::auth::hash_secret(id)
}

/// Whether two tokens are equal, in time independent of where they differ (both are hashed
/// first and `blake3::Hash` compares in constant time).
pub fn tokens_match(a: &str, b: &str) -> bool {
    !a.is_empty() && blake3::hash(a.as_bytes()) == blake3::hash(b.as_bytes())
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// A `Set-Cookie` value with the flags every Firewatch cookie carries.
pub fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    // Names are constants and values base64url: always a valid header value.
    HeaderValue::from_str(&format!(
        "{name}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// A `Set-Cookie` value that deletes the cookie.
pub fn clear_cookie(name: &str, secure: bool) -> HeaderValue {
    set_cookie(name, "", 0, secure)
}

/// The viewer of a page: anonymous, or the user of a live session (with its CSRF token).
#[derive(Debug, Clone)]
pub struct PageViewer {
    pub viewer: Viewer,
    /// The session, when signed in.
    pub session: Option<SessionRecord>,
}

impl PageViewer {
    /// The session's synchronizer token, for forms.
    pub fn csrf(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.csrf.as_str())
    }

    /// Finds the session of the request's `fw_session` cookie; anonymous without a cookie or
    /// with an unknown, expired or malformed one.
    pub async fn from_headers(
        state: &Arc<AppState>,
        headers: &HeaderMap,
    ) -> Result<Self, ApiError> {
        let anonymous = PageViewer {
            viewer: Viewer::Anonymous,
            session: None,
        };
        let Some(id) = cookie(headers, SESSION_COOKIE) else {
            return Ok(anonymous);
        };
        if id.is_empty() || id.len() > 128 {
            return Ok(anonymous);
        }
        let id_hash = hash_session_id(id);
        let now = jiff::Timestamp::now().as_second();
        let found = state
            .with_store(move |s| Ok(s.session(&id_hash, now)?))
            .await?;
        let Some(session) = found else {
            return Ok(anonymous);
        };
        let role: Role = session
            .user
            .role
            .parse()
            .map_err(|e| ApiError::Internal(format!("user {}: {e}", session.user.name)))?;
        Ok(PageViewer {
            viewer: Viewer::User {
                name: session.user.name.clone(),
                team: session.user.team.clone(),
                role,
            },
            session: Some(session),
        })
    }
}

/// Failed logins allowed per user name within [`LoginLimiter::WINDOW`].
const MAX_FAILURES: u32 = 5;

/// An in-memory count of failed logins per user name: after [`MAX_FAILURES`] failures in the
/// window, logins of that name are refused (429) until the window ends. Per process, lost on
/// restart: it slows down guessing, it is not an audit log.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginLimiter {
    /// The window in which failures count.
    pub const WINDOW: Duration = Duration::from_secs(300);
    /// Names tracked at most (older entries are dropped first when full).
    const MAX_NAMES: usize = 10_000;

    /// Whether a login of `name` may be tried now.
    pub fn allows(&self, name: &str) -> bool {
        let Ok(map) = self.failures.lock() else {
            return true;
        };
        match map.get(name) {
            Some((n, since)) => *n < MAX_FAILURES || since.elapsed() >= Self::WINDOW,
            None => true,
        }
    }

    /// How long logins of `name` stay refused; `None` if one may be tried now.
    pub fn retry_after(&self, name: &str) -> Option<Duration> {
        let map = self.failures.lock().ok()?;
        let (n, since) = map.get(name)?;
        let elapsed = since.elapsed();
        (*n >= MAX_FAILURES && elapsed < Self::WINDOW).then(|| Self::WINDOW - elapsed)
    }

    /// Counts a failed login of `name`.
    pub fn failed(&self, name: &str) {
        let Ok(mut map) = self.failures.lock() else {
            return;
        };
        if map.len() >= Self::MAX_NAMES {
            map.retain(|_, (_, since)| since.elapsed() < Self::WINDOW);
        }
        if map.len() >= Self::MAX_NAMES {
            return;
        }
        let entry = map.entry(name.to_owned()).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= Self::WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    /// Forgets the failures of `name` after a successful login.
    pub fn succeeded(&self, name: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(name);
        }
    }
}

/// A PHC string of a password nobody knows, verified when the user does not exist or has no
/// password, so that a wrong name costs as much time as a wrong password.
pub fn decoy_password_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| crate::auth::hash_password(&new_secret()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_parse_and_carry_flags() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; fw_session=xyz ; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, "c"), None);
        let v = set_cookie(SESSION_COOKIE, "v", 60, true);
        let v = v.to_str().unwrap();
        for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"] {
            assert!(v.contains(flag), "{v}");
        }
        assert!(
            !set_cookie("n", "v", 1, false)
                .to_str()
                .unwrap()
                .contains("Secure")
        );
    }

    #[test]
    fn tokens_compare() {
        let t = new_secret();
        assert!(tokens_match(&t, &t.clone()));
        assert!(!tokens_match(&t, "x"));
        assert!(!tokens_match("", ""));
        assert_ne!(new_secret(), t);
    }

    #[test]
    fn login_tokens_are_the_servers_and_expire() {
        let now = 1_800_000_000;
        let t = new_login_token(now);
        assert!(login_token_valid(&t, now));
        assert!(login_token_valid(&t, now + LOGIN_FORM_TTL_SECS - 1));
        assert!(!login_token_valid(&t, now + LOGIN_FORM_TTL_SECS));
        let (nonce, rest) = t.split_once('.').unwrap();
        let (_, mac) = rest.split_once('.').unwrap();
        // A later expiry with the same MAC, a random value, a missing part: all refused.
        assert!(!login_token_valid(
            &format!("{nonce}.{}.{mac}", now + 99_999),
            now
        ));
        for bad in ["", "x", "a.b", "a.1.b", &new_secret()] {
            assert!(!login_token_valid(bad, now), "{bad}");
        }
    }

    #[test]
    fn limiter_blocks_after_failures() {
        let l = LoginLimiter::default();
        for _ in 0..MAX_FAILURES {
            assert!(l.allows("ana"));
            l.failed("ana");
        }
        assert!(!l.allows("ana"));
        assert!(
            l.retry_after("ana")
                .is_some_and(|d| d <= LoginLimiter::WINDOW)
        );
        assert!(l.allows("bo"));
        assert_eq!(l.retry_after("bo"), None);
        l.succeeded("ana");
        assert!(l.allows("ana"));
    }
}
