//! Bad requests get a 4xx with a JSON error body, never a 500.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Fixture, get};
use firewatch_web::WebConfig;
use http_body_util::BodyExt;
use tower::ServiceExt;

#[tokio::test]
async fn bad_input_is_a_4xx_with_a_json_error() {
    let fx = Fixture::new();
    let app = fx.app(&WebConfig::default());
    let t = fx.token("a-member");
    let cases: &[(&str, Option<&str>, StatusCode)] = &[
        ("/api/v1/events?limit=abc", t, StatusCode::BAD_REQUEST),
        ("/api/v1/events?limit=0", t, StatusCode::BAD_REQUEST),
        ("/api/v1/events?limit=1001", t, StatusCode::BAD_REQUEST),
        ("/api/v1/events?limit=-1", t, StatusCode::BAD_REQUEST),
        (
            "/api/v1/events?limit=99999999999999999999",
            t,
            StatusCode::BAD_REQUEST,
        ),
        ("/api/v1/events?bogus=1", t, StatusCode::BAD_REQUEST),
        ("/api/v1/events?limit=1&limit=2", t, StatusCode::BAD_REQUEST),
        (
            "/api/v1/events?where=source.ip%20%3D",
            t,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/events?where=no.such.field%20%3D%201",
            t,
            StatusCode::BAD_REQUEST,
        ),
        ("/api/v1/events?where=((((", t, StatusCode::BAD_REQUEST),
        (
            "/api/v1/events?since=yesterdayish",
            t,
            StatusCode::BAD_REQUEST,
        ),
        ("/api/v1/events?after=xyz", t, StatusCode::BAD_REQUEST),
        ("/api/v1/events?after=999999", t, StatusCode::BAD_REQUEST),
        ("/api/v1/events?order=sideways", t, StatusCode::BAD_REQUEST),
        ("/api/v1/events?since=%FF%FE", t, StatusCode::BAD_REQUEST),
        ("/api/v1/events?since=7%D0%B4", t, StatusCode::BAD_REQUEST),
        (
            "/api/v1/events?since=999999999h",
            t,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/events?until=999999999999999999d",
            t,
            StatusCode::BAD_REQUEST,
        ),
        ("/api/v1/events?since=-5d", t, StatusCode::BAD_REQUEST),
        ("/api/v1/events/stats", t, StatusCode::BAD_REQUEST),
        ("/api/v1/events/stats?by=", t, StatusCode::BAD_REQUEST),
        ("/api/v1/events/stats?by=nope", t, StatusCode::BAD_REQUEST),
        (
            "/api/v1/alerts?proto=carrier-pigeon",
            t,
            StatusCode::BAD_REQUEST,
        ),
        ("/api/v1/alerts?port=70000", t, StatusCode::BAD_REQUEST),
        ("/api/v1/alerts?open=maybe", t, StatusCode::BAD_REQUEST),
        ("/api/v1/sources?label=gremlin", t, StatusCode::BAD_REQUEST),
        ("/api/v1/sources/not-an-ip", t, StatusCode::BAD_REQUEST),
        ("/api/v1/sources/192.0.2.99", t, StatusCode::NOT_FOUND),
        ("/api/v1/sources/192.0.2.10?x=1", t, StatusCode::BAD_REQUEST),
        (
            "/api/v1/attacks?victim=300.1.1.1",
            t,
            StatusCode::BAD_REQUEST,
        ),
        ("/api/v1/route/::zz", t, StatusCode::BAD_REQUEST),
        ("/api/v1/teams?x=1", t, StatusCode::BAD_REQUEST),
        ("/api/v1/nothing-here", t, StatusCode::NOT_FOUND),
        ("/no-such-page", None, StatusCode::NOT_FOUND),
        (
            "/api/v1/events",
            Some("fw_0123_wrong"),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "/api/v1/events",
            Some("not-a-token"),
            StatusCode::UNAUTHORIZED,
        ),
        ("/api/v1/events", Some(""), StatusCode::UNAUTHORIZED),
    ];
    for (uri, token, want) in cases {
        let (status, body) = get(&app, uri, *token).await;
        assert_eq!(status, *want, "{uri}: {body}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{uri}: {body}"
        );
    }

    // Other schemes, and bytes that are not a header string.
    for value in ["Basic YTpi", "Bearer", "fw_x"] {
        let req = Request::get("/api/v1/events").header("authorization", value);
        let r = app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{value}");
    }

    // Oversized bodies are refused before any handler runs; wrong methods get a 405.
    let big = vec![b'x'; 100 * 1024];
    for (method, uri, want) in [
        ("POST", "/api/v1/events", StatusCode::PAYLOAD_TOO_LARGE),
        ("GET", "/api/v1/events", StatusCode::PAYLOAD_TOO_LARGE),
    ] {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-length", big.len())
            .body(Body::from(big.clone()))
            .unwrap();
        let r = app.clone().oneshot(req).await.unwrap();
        assert_eq!(r.status(), want, "{method} {uri}");
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert!(body["error"].is_string());
    }
    let req = Request::post("/api/v1/events")
        .body(Body::from("{}"))
        .unwrap();
    let r = app.clone().oneshot(req).await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    assert!(serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()["error"].is_string());
}

/// Issue 22: a `where=` of 3,000 nested parentheses (a 6 KB URL, no credentials needed) aborted
/// the server with a stack overflow; a chain of 1,000 `or`s gave a 500. Every endpoint that
/// takes a filter now answers the first with a 400 that names the column, and runs the second.
#[tokio::test]
async fn issue_22_deep_and_wide_filters_never_crash_the_service() {
    let fx = Fixture::new();
    let app = fx.app(&WebConfig::default());
    let t = fx.token("a-member");
    let deep = format!("{}source.ip%20exists{}", "(".repeat(3000), ")".repeat(3000));
    // 1,000 addresses, the fixture's 198.51.100.0/24 among them.
    let wide = (0..1000)
        .map(|i| format!("source.ip%20%3D%20198.51.{}.{}", 100 + i / 256, i % 256))
        .collect::<Vec<_>>()
        .join("%20or%20");
    for path in [
        "/api/v1/events?where=",
        "/api/v1/events/stats?by=source.ip&where=",
    ] {
        for token in [None, t] {
            let (status, body) = get(&app, &format!("{path}{deep}"), token).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
            assert!(
                body["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("column 33")),
                "{path}: {body}"
            );
        }
        let (status, body) = get(&app, &format!("{path}{wide}"), t).await;
        assert_eq!(status, StatusCode::OK, "{path} (1,000 ors): {body}");
    }
    // The export streams: the deep filter is refused before the first byte, and the wide one
    // streams to its end (a failing query used to cut the body off after a 200).
    let (status, body) = get(&app, &format!("/api/v1/events/export?where={deep}"), t).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, wide_body) = get(&app, &format!("/api/v1/events/export?where={wide}"), t).await;
    let (_, all) = get(&app, "/api/v1/events/export", t).await;
    assert_eq!(status, StatusCode::OK, "{wide_body}");
    assert_ne!(
        all,
        serde_json::Value::String(String::new()),
        "the fixture has events"
    );
    assert_eq!(wide_body, all, "every fixture event is in 198.51.100.0/24");
}

/// Issue 22, item 17: API and TAXII responses (errors too) lacked `X-Content-Type-Options:
/// nosniff` and `Cache-Control: no-store`, so a browser could sniff them and a proxy keep them.
#[tokio::test]
async fn issue_22_responses_say_nosniff_and_no_store() {
    let fx = Fixture::new();
    let app = fx.app(&WebConfig::default());
    let t = fx.token("a-member");
    for (uri, token) in [
        ("/api/v1/events", t),
        ("/api/v1/events?limit=0", t),
        ("/api/v1/events", None),
        ("/api/v1/nothing-here", t),
        ("/taxii2/", None),
        ("/taxii2/", t),
        ("/healthz", None),
    ] {
        let mut req = Request::get(uri);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let r = app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{uri}");
        assert_eq!(h["cache-control"], "no-store", "{uri}");
    }
}
