//! The cases API (issue 19): each party sees its own slice, the coordinator everything, a team
//! the case's TLP does not let read gets a 404 and no row, anonymous a 401.

mod common;

use axum::http::StatusCode;
use common::{Fixture, get};
use firewatch_cases::stored::commit;
use firewatch_cases::{
    Case, FindingKind, NewCase, ObservableKind, Pap, Role, Severity, Stamp, party_figures,
};
use firewatch_core::TlpLevel;
use firewatch_store::SqliteStore;
use firewatch_web::WebConfig;
use jiff::Timestamp;
use serde_json::Value;

fn at(s: i64) -> Stamp {
    Stamp::at(Timestamp::from_second(1_800_000_000 + s).unwrap(), None)
}

/// A case coordinated by c with a and b affected, each with an address and a task of its own,
/// and a whole-case alert link; stored, its number returned.
fn open_case(store: &mut SqliteStore, title: &str, tlp: TlpLevel, s: i64) -> u64 {
    let mut case = Case::open(
        NewCase {
            title: title.into(),
            summary: String::new(),
            severity: Severity::High,
            tlp,
            pap: Pap::Amber,
            coordinator: "c".into(),
        },
        &at(s),
    )
    .unwrap();
    for (team, addr) in [("a", "192.0.2.7"), ("b", "198.51.100.9")] {
        case.add_party(team, Role::Affected, &at(s)).unwrap();
        case.observe(ObservableKind::Address, addr, Some(team), &at(s))
            .unwrap();
        case.add_task(team, &format!("block {addr}"), None, &at(s))
            .unwrap();
    }
    case.link(FindingKind::Alert, "tcp-23-spike-1", None, &at(s))
        .unwrap();
    let n = case.timeline.len();
    commit(store, &mut case, n).unwrap()
}

fn observables(body: &Value) -> Vec<&str> {
    body["case"]["observables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect()
}

fn listed(body: &Value) -> Vec<u64> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn each_team_sees_its_slice_and_nothing_leaks() {
    let fx = Fixture::new();
    let mut store = SqliteStore::open(&fx.db).unwrap();
    let amber = open_case(&mut store, "amber case", TlpLevel::Amber, 0);
    let green = open_case(&mut store, "green case", TlpLevel::Green, 100);
    drop(store);
    let app = fx.app(&WebConfig::default());
    let case_uri = format!("/api/v1/cases/{amber}");

    // Team a: its own address and task, none of b's; the parties and the whole case's link.
    let (status, a) = get(&app, &case_uri, fx.token("a-member")).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    assert_eq!(a["seen_as"], "a");
    assert_eq!(observables(&a), ["192.0.2.7"]);
    let text = a.to_string();
    assert!(
        !text.contains("198.51.100.9"),
        "b's slice leaked to a: {text}"
    );
    assert_eq!(a["case"]["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(a["case"]["tasks"][0]["team"], "a");
    assert_eq!(a["case"]["parties"].as_array().unwrap().len(), 3);
    assert_eq!(a["case"]["links"][0]["key"], "tcp-23-spike-1");
    assert_eq!(a["figures"].as_array().unwrap().len(), 3);
    assert!(
        a["case"]["opened_at"]
            .as_str()
            .unwrap()
            .parse::<Timestamp>()
            .is_ok()
    );

    // Team b: the mirror image.
    let (status, b) = get(&app, &case_uri, fx.token("b-member")).await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(observables(&b), ["198.51.100.9"]);
    assert!(!b.to_string().contains("192.0.2.7"));

    // The coordinator: everything, exactly the case as stored and its figures.
    let (status, c) = get(&app, &case_uri, fx.token("c-member")).await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert_eq!(observables(&c), ["192.0.2.7", "198.51.100.9"]);
    assert_eq!(c["case"]["tasks"].as_array().unwrap().len(), 2);
    let store = SqliteStore::open(&fx.db).unwrap();
    let whole = firewatch_cases::stored::load(&store, amber)
        .unwrap()
        .unwrap();
    assert_eq!(c["case"], serde_json::to_value(&whole).unwrap());
    assert_eq!(
        c["figures"],
        serde_json::to_value(party_figures(&whole)).unwrap()
    );
    // And a party's view is the cases crate's, not one of the web's making.
    assert_eq!(
        a["case"],
        serde_json::to_value(whole.view_for("a").unwrap()).unwrap()
    );

    // A third team: the AMBER case is neither shown nor listed, and answers like a case that
    // does not exist.
    let (status, d) = get(&app, &case_uri, fx.token("d-member")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{d}");
    let (_, missing) = get(&app, "/api/v1/cases/999", fx.token("d-member")).await;
    assert_eq!(
        d["error"]
            .as_str()
            .unwrap()
            .replace(&format!("#{amber}"), "#N"),
        missing["error"].as_str().unwrap().replace("#999", "#N")
    );
    let (status, _) = get(
        &app,
        "/api/v1/cases/9223372036854775808",
        fx.token("c-member"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a number beyond the store's is no case"
    );
    let (status, list) = get(&app, "/api/v1/cases", fx.token("d-member")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(
        listed(&list),
        [green],
        "GREEN is the community's, AMBER not"
    );
    // The GREEN case, seen by the TLP alone: the whole case's part, no party's slice.
    let (status, g) = get(
        &app,
        &format!("/api/v1/cases/{green}"),
        fx.token("d-member"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{g}");
    assert!(observables(&g).is_empty());
    assert!(g["case"]["tasks"].as_array().unwrap().is_empty());

    // The parties list both, newest first, with RFC 3339 times and every party.
    for viewer in ["a-member", "b-member", "c-member"] {
        let (status, list) = get(&app, "/api/v1/cases", fx.token(viewer)).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(listed(&list), [green, amber], "{viewer}");
        let first = &list["items"][1];
        assert_eq!(first["tlp"], "amber");
        assert_eq!(first["opened_at"], "2027-01-15T08:00:00Z");
        assert_eq!(first["parties"].as_array().unwrap().len(), 3);
    }
    let (_, limited) = get(&app, "/api/v1/cases?limit=1", fx.token("a-member")).await;
    assert_eq!(listed(&limited), [green]);
    let (_, closed) = get(&app, "/api/v1/cases?status=closed", fx.token("a-member")).await;
    assert!(listed(&closed).is_empty());
    let (status, _) = get(&app, "/api/v1/cases?status=open", fx.token("a-member")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Anonymous: 401 on both routes, for an existing case and a missing one alike.
    for uri in ["/api/v1/cases", case_uri.as_str(), "/api/v1/cases/999"] {
        let (status, body) = get(&app, uri, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}: {body}");
    }
}

#[tokio::test]
async fn the_tlp_rule_decides_who_outside_the_parties_sees_a_case() {
    let fx = Fixture::new();
    let mut store = SqliteStore::open(&fx.db).unwrap();
    let ids: Vec<(TlpLevel, u64)> = TlpLevel::ALL
        .iter()
        .enumerate()
        .map(|(i, &tlp)| (tlp, open_case(&mut store, tlp.as_str(), tlp, i as i64)))
        .collect();
    drop(store);
    let app = fx.app(&WebConfig::default());
    let (_, list) = get(&app, "/api/v1/cases", fx.token("d-member")).await;
    let seen = listed(&list);
    for (tlp, id) in ids {
        let outsider_may = tlp <= TlpLevel::Green;
        assert_eq!(seen.contains(&id), outsider_may, "listing at {tlp}");
        let uri = format!("/api/v1/cases/{id}");
        let (status, body) = get(&app, &uri, fx.token("d-member")).await;
        let want = if outsider_may {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(status, want, "{tlp}: {body}");
        for party in ["a-member", "b-member", "c-member"] {
            let (status, _) = get(&app, &uri, fx.token(party)).await;
            assert_eq!(status, StatusCode::OK, "{party} at {tlp}");
        }
    }
}
