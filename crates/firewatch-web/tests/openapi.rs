//! The OpenAPI document is JSON, OpenAPI 3.x, and lists every route.

mod common;

use axum::http::StatusCode;
use common::{Fixture, get};
use firewatch_web::WebConfig;

#[tokio::test]
async fn openapi_lists_every_route() {
    let fx = Fixture::new();
    let app = fx.app(&WebConfig::default());
    let (status, doc) = get(&app, "/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    let want = [
        "/api/v1/events",
        "/api/v1/events/stats",
        "/api/v1/events/export",
        "/api/v1/alerts",
        "/api/v1/alerts/{id}/sources",
        "/api/v1/ports/top",
        "/api/v1/sources",
        "/api/v1/sources/{ip}",
        "/api/v1/attacks",
        "/api/v1/teams",
        "/api/v1/route/{ip}",
        "/api/v1/assessments",
        "/api/v1/assessments/{scope}",
        "/api/v1/assessments/{a}/compare/{b}",
        "/api/v1/cases",
        "/api/v1/cases/{id}",
        "/api/v1/openapi.json",
        "/healthz",
        "/metrics",
    ];
    for p in want {
        assert!(paths[p]["get"].is_object(), "{p} missing");
    }
    assert_eq!(
        paths.len(),
        want.len(),
        "{:?}",
        paths.keys().collect::<Vec<_>>()
    );
    // Every route the document lists answers (not 404/405/500) in process.
    for p in want {
        let uri = p.replace("{ip}", "192.0.2.10");
        let uri = if p.ends_with("/stats") {
            format!("{uri}?by=tlp")
        } else {
            uri
        };
        if p == "/api/v1/cases/{id}" {
            // No case is stored: the handler answers that the team may see none of this number.
            let (status, body) = get(&app, "/api/v1/cases/1", fx.token("a-member")).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{uri}: {body}");
            assert!(body["error"].as_str().unwrap().starts_with("no case #1"));
            continue;
        }
        let (status, body) = get(&app, &uri, fx.token("a-member")).await;
        if p.contains("{id}") {
            // The fixture raises no alert: the handler answers that this one does not exist.
            assert_eq!(status, StatusCode::NOT_FOUND, "{uri}: {body}");
            assert_eq!(body["error"], "no alert {id}", "{uri}");
            continue;
        }
        if p.starts_with("/api/v1/assessments/") {
            // No assessment is stored: the handler answers that none may be read.
            assert_eq!(status, StatusCode::NOT_FOUND, "{uri}: {body}");
            assert!(body["error"].as_str().unwrap().starts_with("no assessment"));
            continue;
        }
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    }
    let params: Vec<&str> = paths["/api/v1/events"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        params.contains(&"where") && params.contains(&"after"),
        "{params:?}"
    );
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}
