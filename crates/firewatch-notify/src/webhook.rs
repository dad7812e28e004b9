//! Webhook notices: a JSON POST signed with HMAC-SHA256 over `"<timestamp>.<body>"`, with an
//! idempotency key, and [`verify`] for receivers (bad signature, stale timestamp and replayed
//! key are refused).
//!
//! ```
//! use firewatch_notify::webhook::{self, ReplayGuard, Verdict};
//! let body = br#"{"id":"n1"}"#;
//! let sig = webhook::signature(b"s3cret", 1_700_000_000, body);
//! let mut guard = ReplayGuard::default();
//! let headers = webhook::Headers { timestamp: "1700000000", signature: &sig, idempotency_key: "n1" };
//! assert_eq!(webhook::verify(b"s3cret", &headers, body, 1_700_000_010, 300, &mut guard), Ok(()));
//! assert_eq!(webhook::verify(b"s3cret", &headers, body, 1_700_000_011, 300, &mut guard), Err(Verdict::Replayed));
//! ```

use std::collections::HashMap;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Unix seconds when the request was signed.
pub const TIMESTAMP_HEADER: &str = "Firewatch-Timestamp";
/// `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub const SIGNATURE_HEADER: &str = "Firewatch-Signature";
/// The notice id, the same on every retry: a receiver acts on each key once.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length.
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The signature header's value for `body` signed at `timestamp`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, &timestamp.to_string(), body)
        .finalize()
        .into_bytes();
    format!("v1={}", hex::encode(tag))
}

/// The headers a receiver checks, as received.
#[derive(Debug, Clone, Copy)]
pub struct Headers<'a> {
    pub timestamp: &'a str,
    pub signature: &'a str,
    pub idempotency_key: &'a str,
}

/// Why a receiver refuses a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Verdict {
    #[error("the {0} header is missing or malformed")]
    Malformed(&'static str),
    #[error("the signature does not match the body")]
    BadSignature,
    #[error("the timestamp is {0} s away from now, outside the tolerance")]
    Stale(i64),
    #[error("this idempotency key was already received")]
    Replayed,
}

/// The idempotency keys a receiver has accepted, forgotten after twice the tolerance (a
/// request older than the tolerance is refused as stale anyway).
#[derive(Debug, Default)]
pub struct ReplayGuard {
    seen: HashMap<String, i64>,
}

impl ReplayGuard {
    /// Forgets a key, for a receiver that accepted a request but failed to act on it (the
    /// sender's retry is then taken).
    pub fn forget(&mut self, key: &str) {
        self.seen.remove(key);
    }
}

/// Checks a received request: the signature over the timestamp and the exact body (compared
/// in constant time), the timestamp within `tolerance_secs` of `now`, and the idempotency key
/// not seen before (then remembered).
pub fn verify(
    secret: &[u8],
    headers: &Headers<'_>,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
    guard: &mut ReplayGuard,
) -> Result<(), Verdict> {
    let ts: i64 = headers
        .timestamp
        .trim()
        .parse()
        .map_err(|_| Verdict::Malformed(TIMESTAMP_HEADER))?;
    let tag = headers
        .signature
        .trim()
        .strip_prefix("v1=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(Verdict::Malformed(SIGNATURE_HEADER))?;
    if headers.idempotency_key.is_empty() {
        return Err(Verdict::Malformed(IDEMPOTENCY_HEADER));
    }
    mac(secret, headers.timestamp.trim(), body)
        .verify_slice(&tag)
        .map_err(|_| Verdict::BadSignature)?;
    let skew = now.saturating_sub(ts);
    if skew.abs() > tolerance_secs {
        return Err(Verdict::Stale(skew));
    }
    let horizon = now.saturating_sub(tolerance_secs.saturating_mul(2));
    guard.seen.retain(|_, at| *at >= horizon);
    if guard.seen.contains_key(headers.idempotency_key) {
        return Err(Verdict::Replayed);
    }
    guard.seen.insert(headers.idempotency_key.to_string(), now);
    Ok(())
}

/// Why a webhook call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The receiver answered with an error status.
    #[error("the receiver answered HTTP {0}")]
    Status(u16),
    #[error("{0}")]
    Transport(String),
}

/// POSTs `body` to `url`, signed now.
pub fn post(
    agent: &ureq::Agent,
    url: &str,
    secret: &[u8],
    idempotency_key: &str,
    body: &[u8],
) -> Result<(), CallError> {
    let now = jiff::Timestamp::now().as_second();
    let result = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header(TIMESTAMP_HEADER, now.to_string())
        .header(IDEMPOTENCY_HEADER, idempotency_key)
        .header(SIGNATURE_HEADER, signature(secret, now, body))
        .send(body);
    match result {
        Ok(_) => Ok(()),
        Err(ureq::Error::StatusCode(code)) => Err(CallError::Status(code)),
        Err(e) => Err(CallError::Transport(e.to_string())),
    }
}

/// An HTTP agent for webhook calls with an overall timeout.
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .user_agent(concat!("firewatch-notify/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers<'a>(ts: &'a str, sig: &'a str, key: &'a str) -> Headers<'a> {
        Headers {
            timestamp: ts,
            signature: sig,
            idempotency_key: key,
        }
    }

    #[test]
    fn tampering_stale_and_malformed_requests_are_refused() {
        let body = b"{\"a\":1}";
        let sig = signature(b"k", 1000, body);
        let mut g = ReplayGuard::default();
        assert_eq!(
            verify(
                b"k",
                &headers("1000", &sig, "x"),
                b"{\"a\":2}",
                1000,
                60,
                &mut g
            ),
            Err(Verdict::BadSignature)
        );
        assert_eq!(
            verify(
                b"other",
                &headers("1000", &sig, "x"),
                body,
                1000,
                60,
                &mut g
            ),
            Err(Verdict::BadSignature)
        );
        assert_eq!(
            verify(b"k", &headers("1001", &sig, "x"), body, 1000, 60, &mut g),
            Err(Verdict::BadSignature),
            "the timestamp is signed too"
        );
        assert_eq!(
            verify(b"k", &headers("1000", &sig, "x"), body, 1061, 60, &mut g),
            Err(Verdict::Stale(61))
        );
        assert_eq!(
            verify(b"k", &headers("1000", "v1=zz", "x"), body, 1000, 60, &mut g),
            Err(Verdict::Malformed(SIGNATURE_HEADER))
        );
        assert_eq!(
            verify(b"k", &headers("soon", &sig, "x"), body, 1000, 60, &mut g),
            Err(Verdict::Malformed(TIMESTAMP_HEADER))
        );
        assert_eq!(
            verify(b"k", &headers("1000", &sig, "x"), body, 1000, 60, &mut g),
            Ok(())
        );
        g.forget("x");
        assert_eq!(
            verify(b"k", &headers("1000", &sig, "x"), body, 1001, 60, &mut g),
            Ok(())
        );
        assert_eq!(
            verify(b"k", &headers("1000", &sig, "x"), body, 1002, 60, &mut g),
            Err(Verdict::Replayed)
        );
    }
}
