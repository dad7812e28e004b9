//! TAXII "add objects" accepts partners' envelopes far above the JSON API's 64 KiB bodies, up
//! to the advertised `max_content_length`, and refuses larger ones before reading them.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use firewatch_core::TlpLevel;
use firewatch_web::WebConfig;
use firewatch_web::taxii::{MAX_ENVELOPE, collection_id};
use tower::ServiceExt;

const TAXII: &str = "application/taxii+json;version=2.1";

/// An envelope of `n` indicators, each with its own deterministic id.
fn envelope(n: usize) -> Vec<u8> {
    let objects: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "type": "indicator",
                "spec_version": "2.1",
                "id": format!("indicator--00000000-0000-4000-8000-{i:012x}"),
                "created": "2026-11-01T00:00:00.000Z",
                "modified": "2026-11-01T00:00:00.000Z",
                "pattern": format!("[ipv4-addr:value = '10.{}.{}.{}']", i >> 16 & 255, i >> 8 & 255, i & 255),
                "pattern_type": "stix",
                "valid_from": "2026-11-01T00:00:00Z",
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "objects": objects })).unwrap()
}

async fn post(app: &axum::Router, token: &str, body: Vec<u8>) -> StatusCode {
    let uri = format!(
        "/taxii2/firewatch/collections/{}/objects/",
        collection_id(TlpLevel::Green)
    );
    let req = Request::post(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, TAXII)
        .header(header::ACCEPT, TAXII)
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body))
        .unwrap();
    app.clone().oneshot(req).await.unwrap().status()
}

#[tokio::test]
async fn envelopes_up_to_the_advertised_size_are_accepted() {
    let fx = Fixture::new();
    let app = fx.app(&WebConfig::default());
    let token = fx.token("a-member").unwrap();
    let big = envelope(2_000);
    assert!(big.len() > 256 * 1024, "{} bytes", big.len());
    assert!((big.len() as u64) < MAX_ENVELOPE);
    assert_eq!(post(&app, token, big).await, StatusCode::ACCEPTED);

    let mut too_big = envelope(1);
    too_big.resize(MAX_ENVELOPE as usize + 1, b' ');
    assert_eq!(
        post(&app, token, too_big).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
}
