//! The leak matrix: every viewer (anonymous, members of teams a–d, a's administrator and
//! read-only user) × every endpoint × every TLP level and ownership: exactly what each gets.
//! The expectations are written out from the rule's text, not computed with `may_read`.

mod common;

use axum::http::StatusCode;
use common::*;
use firewatch_core::TlpLevel;
use firewatch_web::WebConfig;
use std::collections::BTreeSet;

/// The fixture events `viewer` must get, written out from TLP 2.0 as Firewatch applies it.
fn expected_events(viewer: &str) -> BTreeSet<String> {
    let team = team_of(viewer);
    let mut out = BTreeSet::new();
    for tlp in TlpLevel::ALL {
        for o in OWNERSHIPS {
            let visible = match (tlp, o) {
                (TlpLevel::Clear, _) => true,
                (TlpLevel::Green, _) => team.is_some(),
                (TlpLevel::Amber, Ownership::OwnerA) => team == Some("a"),
                (TlpLevel::Amber, Ownership::RoutedB) => team == Some("b"),
                // No owner and not routed: nobody may read it under AMBER.
                (TlpLevel::Amber, Ownership::RecipientsC) => false,
                (TlpLevel::AmberStrict, Ownership::OwnerA) => team == Some("a"),
                (TlpLevel::AmberStrict, _) => false,
                (TlpLevel::Red, Ownership::RecipientsC) => team == Some("c"),
                (TlpLevel::Red, _) => false,
            };
            if visible {
                out.insert(event_name(tlp, o));
            }
        }
    }
    out
}

fn names(body: &serde_json::Value) -> BTreeSet<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["event"]["comment"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn events_and_stats_leak_nothing_and_hide_nothing() {
    let fx = Fixture::new();
    let app = fx.app(&WebConfig::default());
    for viewer in VIEWERS {
        let token = fx.token(viewer);
        let expected = expected_events(viewer);

        let (status, body) = get(&app, "/api/v1/events?limit=1000", token).await;
        assert_eq!(status, StatusCode::OK, "{viewer}: {body}");
        assert_eq!(names(&body), expected, "{viewer}: /events");

        // Filters and ordering never widen what is visible.
        let (_, body) = get(
            &app,
            "/api/v1/events?where=classification.type%20%3D%20scanner&order=desc",
            token,
        )
        .await;
        assert_eq!(names(&body), expected, "{viewer}: /events?where");

        // Paging one event at a time walks exactly the visible set.
        let mut walked = BTreeSet::new();
        let mut uri = "/api/v1/events?limit=1".to_owned();
        loop {
            let (status, body) = get(&app, &uri, token).await;
            assert_eq!(status, StatusCode::OK, "{viewer}: {uri}: {body}");
            walked.extend(names(&body));
            match body["next_after"].as_str() {
                Some(after) => uri = format!("/api/v1/events?limit=1&after={after}"),
                None => break,
            }
        }
        assert_eq!(walked, expected, "{viewer}: paging");

        // The export (IntelMQ JSON lines) is the same set, all of it, whatever the page size.
        let (status, body) = get(&app, "/api/v1/events/export", token).await;
        assert_eq!(status, StatusCode::OK, "{viewer}: {body}");
        let text = body.as_str().unwrap_or_default();
        let exported: Vec<String> = text
            .lines()
            .map(|line| {
                let event: serde_json::Value = serde_json::from_str(line).unwrap();
                event["comment"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(
            exported.len(),
            expected.len(),
            "{viewer}: export has no duplicates"
        );
        assert_eq!(
            exported.into_iter().collect::<BTreeSet<_>>(),
            expected,
            "{viewer}: /events/export"
        );

        let (status, body) = get(&app, "/api/v1/events/stats?by=tlp", token).await;
        assert_eq!(status, StatusCode::OK, "{viewer}: {body}");
        assert_eq!(
            body["total"].as_u64().unwrap() as usize,
            expected.len(),
            "{viewer}: stats total"
        );
        for group in body["groups"].as_array().unwrap() {
            let level = group["key"][0].as_str().unwrap().to_ascii_lowercase();
            let want = expected
                .iter()
                .filter(|n| n.split('/').next() == Some(level.as_str()))
                .count();
            assert_eq!(
                group["count"].as_u64().unwrap() as usize,
                want,
                "{viewer}: stats {level}"
            );
        }
    }
}

/// What a viewer gets from a telescope endpoint.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Got {
    Data,
    Unauthorized,
    Forbidden,
}

async fn telescope(fx: &Fixture, config: &WebConfig, viewer: &str) -> Vec<(&'static str, Got)> {
    let app = fx.app(config);
    let token = fx.token(viewer);
    let source = format!("/api/v1/sources/{}", fx.telescope_source);
    let mut out = Vec::new();
    for (name, uri) in [
        ("ports", "/api/v1/ports/top"),
        ("alerts", "/api/v1/alerts"),
        ("sources", "/api/v1/sources"),
        ("source", source.as_str()),
        ("attacks", "/api/v1/attacks"),
    ] {
        let (status, body) = get(&app, uri, token).await;
        let got = match status {
            StatusCode::OK => {
                // Allowed data does come back.
                match name {
                    "ports" | "sources" => assert!(
                        !body["items"].as_array().unwrap().is_empty(),
                        "{viewer} {uri}"
                    ),
                    "source" => assert_eq!(
                        body["addr"].as_str(),
                        Some(fx.telescope_source.to_string().as_str())
                    ),
                    _ => assert!(body["items"].is_array()),
                }
                Got::Data
            }
            StatusCode::UNAUTHORIZED => Got::Unauthorized,
            StatusCode::FORBIDDEN => Got::Forbidden,
            other => panic!("{viewer} {uri}: {other} {body}"),
        };
        if got != Got::Data {
            assert!(body["error"].is_string(), "{viewer} {uri}: {body}");
            assert!(body.get("items").is_none());
        }
        out.push((name, got));
    }
    out
}

fn all(got: Got) -> Vec<(&'static str, Got)> {
    ["ports", "alerts", "sources", "source", "attacks"]
        .map(|n| (n, got))
        .to_vec()
}

#[tokio::test]
async fn telescope_data_follows_its_one_tlp() {
    use Got::*;
    let fx = Fixture::new();

    // Default: TLP:GREEN, nothing released: the community only.
    let green = WebConfig::default();
    for viewer in VIEWERS {
        let want = if viewer == "anonymous" {
            all(Unauthorized)
        } else {
            all(Data)
        };
        assert_eq!(telescope(&fx, &green, viewer).await, want, "GREEN {viewer}");
    }

    // An explicit release of aggregates: anonymous sees top ports and alerts, never sources
    // or attacks.
    let released = WebConfig {
        public_darknet_aggregates: true,
        ..WebConfig::default()
    };
    let anon = vec![
        ("ports", Data),
        ("alerts", Data),
        ("sources", Unauthorized),
        ("source", Unauthorized),
        ("attacks", Unauthorized),
    ];
    assert_eq!(telescope(&fx, &released, "anonymous").await, anon);
    assert_eq!(telescope(&fx, &released, "d-member").await, all(Data));

    // AMBER owned by a: a's users only (whatever their role), others get 403.
    let amber = WebConfig {
        darknet_tlp: "AMBER".into(),
        darknet_owner: Some("a".into()),
        ..WebConfig::default()
    };
    for viewer in VIEWERS {
        let want = match team_of(viewer) {
            None => all(Unauthorized),
            Some("a") => all(Data),
            Some(_) => all(Forbidden),
        };
        assert_eq!(telescope(&fx, &amber, viewer).await, want, "AMBER {viewer}");
    }

    // RED: named recipients only; the telescope names none, so nobody, not even a's admin.
    let red = WebConfig {
        darknet_tlp: "red".into(),
        darknet_owner: Some("a".into()),
        ..WebConfig::default()
    };
    for viewer in VIEWERS {
        let want = if viewer == "anonymous" {
            all(Unauthorized)
        } else {
            all(Forbidden)
        };
        assert_eq!(telescope(&fx, &red, viewer).await, want, "RED {viewer}");
    }

    // CLEAR: everyone, anonymous included.
    let clear = WebConfig {
        darknet_tlp: "CLEAR".into(),
        ..WebConfig::default()
    };
    for viewer in VIEWERS {
        assert_eq!(
            telescope(&fx, &clear, viewer).await,
            all(Data),
            "CLEAR {viewer}"
        );
    }
}

#[tokio::test]
async fn teams_and_routing_are_for_the_community() {
    let fx = Fixture::new();
    let app = fx.app(&WebConfig::default());
    for viewer in VIEWERS {
        let token = fx.token(viewer);
        for uri in ["/api/v1/teams", "/api/v1/route/192.0.2.1"] {
            let (status, body) = get(&app, uri, token).await;
            if viewer == "anonymous" {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}: {body}");
            } else {
                assert_eq!(status, StatusCode::OK, "{viewer} {uri}: {body}");
            }
        }
    }
}

#[tokio::test]
async fn public_routes_answer_everyone() {
    let fx = Fixture::new();
    let app = fx.app(&WebConfig::default());
    for viewer in VIEWERS {
        let token = fx.token(viewer);
        let (status, body) = get(&app, "/healthz", token).await;
        assert_eq!(
            (status, body["status"].as_str()),
            (StatusCode::OK, Some("ok"))
        );
        let (status, _) = get(&app, "/api/v1/openapi.json", token).await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = get(&app, "/metrics", token).await;
        assert_eq!(status, StatusCode::OK);
        // Metrics carry counts, never records; the store's counts (which include records the
        // viewer may not read) go to administrators only (issue 22, item 15).
        let text = body.as_str().unwrap();
        let administrator = viewer == "a-admin";
        for line in [
            "firewatch_events_stored 15",
            "firewatch_ingested_packets 20",
            "firewatch_ingested_events 15",
            "firewatch_inputs{kind=\"capture\"} 1",
            "firewatch_inputs{kind=\"feed\"} 1",
            "firewatch_alerts_open 0",
            "firewatch_last_ingest_timestamp_seconds 1714564900",
        ] {
            assert_eq!(
                text.lines().any(|l| l == line),
                administrator,
                "{viewer}: {line}: {text}"
            );
        }
        assert!(!text.contains("198.51.100."));
    }
}
