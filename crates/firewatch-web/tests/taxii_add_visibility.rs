//! Issue 22, item 3: what a partner adds over TAXII is its own, and deduplication never crosses
//! what it may read. A member of team b sends exact copies of team a's hidden records (RED for
//! a, AMBER+STRICT of a), claims a's ownership, a's routing and a real feed's name, and plants a
//! copy of a report row before the report arrives. Nothing of b's may suppress, test for or pass
//! as anyone else's record; statuses tell only the adder.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use firewatch_core::{Event, TlpLevel};
use firewatch_share::Finding;
use firewatch_share::stix::Exporter;
use firewatch_store::{EventQuery, EventStore, SqliteStore};
use firewatch_web::WebConfig;
use firewatch_web::taxii::collection_id;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const TAXII: &str = "application/taxii+json;version=2.1";
const REPORT_FEED: &str = "Shadowserver-Scan-DNS";

/// A report row as team a's feed stores it: owned by a, routed to a, at `tlp`.
fn report_row(ip: &str, tlp: TlpLevel) -> Event {
    let mut e = Event::new();
    e.set("feed.name", REPORT_FEED).unwrap();
    e.set("classification.type", "vulnerable-system").unwrap();
    e.set("classification.identifier", "open-resolver").unwrap();
    e.set("source.ip", ip).unwrap();
    e.set("source.port", 53).unwrap();
    e.set("protocol.transport", "udp").unwrap();
    e.set("time.source", "2024-05-02T08:00:00+00:00").unwrap();
    e.set("tlp", tlp.event_value()).unwrap();
    e.set("extra.owner", "a").unwrap();
    e.set("extra.team", "a").unwrap();
    if tlp == TlpLevel::Red {
        e.set("extra.recipients", json!(["a"])).unwrap();
    }
    e
}

/// An envelope carrying `events` exactly (Firewatch's STIX extension keeps every field).
fn envelope(events: &[Event]) -> Vec<u8> {
    let findings: Vec<Finding> = events
        .iter()
        .map(|e| Finding::from_event(e.clone(), 1_714_636_800))
        .collect();
    let bundle = Exporter::new("partner").bundle(&findings);
    serde_json::to_vec(&json!({ "objects": bundle["objects"] })).unwrap()
}

async fn add(app: &axum::Router, token: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let uri = format!(
        "/taxii2/firewatch/collections/{}/objects/",
        collection_id(TlpLevel::Green)
    );
    let req = Request::post(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, TAXII)
        .header(header::ACCEPT, TAXII)
        .body(Body::from(body))
        .unwrap();
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn get_taxii(app: &axum::Router, token: &str, uri: &str) -> StatusCode {
    let req = Request::get(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::ACCEPT, TAXII)
        .body(Body::empty())
        .unwrap();
    app.clone().oneshot(req).await.unwrap().status()
}

/// Every stored event about `ip`.
fn stored(fx: &Fixture, ip: &str) -> Vec<Event> {
    let store = SqliteStore::open(&fx.db).unwrap();
    let q = EventQuery {
        filter: Some(firewatch_core::filter::Filter::parse(&format!("source.ip = {ip}")).unwrap()),
        ..Default::default()
    };
    store
        .events(&q)
        .unwrap()
        .into_iter()
        .map(|s| s.event)
        .collect()
}

fn text(e: &Event, field: &str) -> Option<String> {
    match e.get(field)?.to_json() {
        Value::String(s) => Some(s),
        _ => None,
    }
}

#[tokio::test]
async fn issue_22_item_3_taxii_adds_never_dedupe_across_visibility_or_pass_as_another_team() {
    let fx = Fixture::new();
    let app = fx.app(&WebConfig::default());
    let pipeline = firewatch_pipeline::Context::new(Default::default(), fx.db.clone());
    let feeds = |events: Vec<Event>, name: &str| {
        let options = firewatch_pipeline::feeds::FeedOptions {
            format: firewatch_pipeline::feeds::FeedFormat::Intelmq,
            schema: None,
            mapping: None,
            dry_run: false,
        };
        let mut feed = firewatch_pipeline::feeds::FeedPipeline::new(&pipeline, &options).unwrap();
        let located = events
            .into_iter()
            .map(|e| (e, firewatch_core::Location::new(name, 1, 0)))
            .collect();
        feed.ingest_events(
            name,
            name,
            "intelmq",
            Default::default(),
            located,
            Vec::new(),
        )
        .unwrap()
    };

    // Team a's records at every level, through its feed: b may read some, not others.
    let hidden: Vec<Event> = TlpLevel::ALL
        .iter()
        .enumerate()
        .map(|(i, level)| report_row(&format!("192.0.2.{}", 51 + i), *level))
        .collect();
    let report = feeds(hidden.clone(), "a-report");
    assert_eq!(report.inserted, hidden.len() as u64, "{report:?}");

    // b sends exact copies, claiming a's ownership, routing and feed.
    let b = fx.token("b-member").unwrap();
    let (status, body) = add(&app, b, envelope(&hidden)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let made_events = body["successes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["message"] == "event")
        .count();
    assert_eq!(made_events, hidden.len(), "{body}");
    for i in 0..hidden.len() {
        let ip = format!("192.0.2.{}", 51 + i);
        let ip = ip.as_str();
        let events = stored(&fx, ip);
        assert_eq!(
            events.len(),
            2,
            "{ip}: b's copy must be stored as b's, not dropped as a duplicate of a hidden record"
        );
        let theirs: Vec<&Event> = events
            .iter()
            .filter(|e| text(e, "extra.owner").as_deref() == Some("b"))
            .collect();
        assert_eq!(theirs.len(), 1, "{ip}: exactly one is b's: {events:?}");
        let copy = theirs[0];
        assert_eq!(
            text(copy, "feed.name").as_deref(),
            Some("STIX"),
            "{ip}: the service's feed"
        );
        assert_eq!(
            text(copy, "extra.submitted_feed_name").as_deref(),
            Some(REPORT_FEED),
            "{ip}: the claimed feed is kept, as a claim"
        );
        assert_ne!(
            text(copy, "extra.team").as_deref(),
            Some("a"),
            "{ip}: routing is ours"
        );
        // a's record is untouched.
        assert!(
            events
                .iter()
                .any(|e| text(e, "extra.owner").as_deref() == Some("a")),
            "{ip}: a's record stays"
        );
    }

    // b plants a copy of a row a's next report will carry; the row still reaches a.
    let planted = report_row("192.0.2.60", TlpLevel::Amber);
    let (status, _) = add(&app, b, envelope(std::slice::from_ref(&planted))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let report = feeds(vec![planted.clone()], "a-report-2");
    assert_eq!(
        (report.inserted, report.duplicates),
        (1, 0),
        "a planted copy must not make the real row a duplicate"
    );
    let a = fx.token("a-member").unwrap();
    let (_, mine) = get(
        &app,
        "/api/v1/events?where=source.ip%20%3D%20192.0.2.60",
        Some(a),
    )
    .await;
    assert!(
        mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["event"]["feed.name"] == REPORT_FEED),
        "a reads its report's row: {mine}"
    );

    // The same body from two teams is two submissions, not one "already ingested".
    let shared_body = envelope(&[report_row("192.0.2.70", TlpLevel::Green)]);
    let c = fx.token("c-member").unwrap();
    let d = fx.token("d-member").unwrap();
    let (_, first) = add(&app, c, shared_body.clone()).await;
    let (status, _) = add(&app, d, shared_body).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let owners: std::collections::BTreeSet<String> = stored(&fx, "192.0.2.70")
        .iter()
        .filter_map(|e| text(e, "extra.owner"))
        .collect();
    assert_eq!(owners, ["c".to_owned(), "d".to_owned()].into());

    // A status is its adder's alone.
    let status_uri = format!(
        "/taxii2/firewatch/status/{}/",
        first["id"].as_str().unwrap()
    );
    assert_eq!(get_taxii(&app, c, &status_uri).await, StatusCode::OK);
    assert_eq!(get_taxii(&app, d, &status_uri).await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn issue_22_item_19_a_json_array_envelope_is_refused() {
    let fx = Fixture::new();
    let app = fx.app(&WebConfig::default());
    let b = fx.token("b-member").unwrap();
    let (status, body) = add(&app, b, b"[{\"objects\": []}]".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["description"]
            .as_str()
            .is_some_and(|d| d.contains("not a JSON object")),
        "{body}"
    );
}

#[tokio::test]
async fn issue_22_item_4_an_envelope_of_too_many_objects_is_refused_before_parsing() {
    let fx = Fixture::new();
    let app = fx.app(&WebConfig::default());
    let b = fx.token("b-member").unwrap();
    let many = vec!["{}"; firewatch_web::taxii::MAX_OBJECTS + 1].join(",");
    let body = format!("{{\"objects\": [{many}]}}").into_bytes();
    let (status, body) = add(&app, b, body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
}
