#![no_main]
//! Any bytes as a received webhook request (three header lines — timestamp, signature,
//! idempotency key — then the body): `verify` must not panic, and a request signed with
//! `signature` over the same timestamp and body is always accepted.

use firewatch_notify::webhook::{self, Headers, ReplayGuard};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut lines = data.splitn(4, |&b| b == b'\n');
    let mut field = || String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    let (timestamp, signature, key) = (field(), field(), field());
    let body = lines.next().unwrap_or_default();
    let mut guard = ReplayGuard::default();
    let headers = Headers {
        timestamp: &timestamp,
        signature: &signature,
        idempotency_key: &key,
    };
    let _ = webhook::verify(b"secret", &headers, body, 1_700_000_000, 300, &mut guard);

    let good = webhook::signature(b"secret", 1_700_000_000, body);
    let headers = Headers {
        timestamp: "1700000000",
        signature: &good,
        idempotency_key: "k",
    };
    let mut fresh = ReplayGuard::default();
    assert_eq!(
        webhook::verify(b"secret", &headers, body, 1_700_000_000, 300, &mut fresh),
        Ok(())
    );
});
