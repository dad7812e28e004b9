//! Issue 15: objects a partner adds over TAXII go the way every input goes (the experts: rules,
//! attribution and routing, TLP; the configured deduplication), so they come out of the store
//! exactly as the same bundle through `firewatch import stix` does.

mod common;

use common::Sandbox;
use firewatch_core::TlpLevel;
use serde_json::{Value, json};

const TEAMS: &str = r#"
[[teams]]
id = "jp-cert"
name = "Country"
kind = "national-csirt"
country = "JP"
max_tlp = "amber"
[teams.constituency]
countries = ["JP"]

[[teams]]
id = "catch-all"
name = "Default"
kind = "other"
max_tlp = "green"
default = true
"#;

/// A rule the experts apply, so the test sees that they ran.
const CONFIG: &str = r#"
[[feeds.rules]]
when = "source.ip = 61.86.30.75"
set = { "comment" = "rule-applied" }
"#;

/// Two GREEN indicators; `salt` changes the objects' ids (so the bytes) but not the events.
fn indicators(salt: u32) -> Vec<Value> {
    [("61.86.30.75", 1), ("8.8.8.8", 2)]
        .into_iter()
        .map(|(ip, n)| {
            json!({
                "type": "indicator", "spec_version": "2.1",
                "id": format!("indicator--8e2e2d2b-17d4-4cbf-938f-{salt:04}{n:08}"),
                "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                "indicator_types": ["malicious-activity"], "pattern_type": "stix",
                "pattern": format!("[ipv4-addr:value = '{ip}']"),
                "valid_from": "2026-01-01T00:00:00Z",
                "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]
            })
        })
        .collect()
}

fn prepare(sb: &Sandbox, db: &str) {
    let teams = sb.path("teams.toml");
    std::fs::write(&teams, TEAMS).unwrap();
    sb.cmd(db)
        .args(["teams", "import"])
        .arg(&teams)
        .assert()
        .success();
}

/// The store's events, each without the fields the two ways legitimately set differently
/// (the adder's team as owner; the input's name is not part of an event).
fn events(sb: &Sandbox, db: &str) -> Vec<Value> {
    let out = sb.cmd(db).args(["events", "export"]).output().unwrap();
    assert!(out.status.success());
    let mut events: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let mut e: Value = serde_json::from_str(l).unwrap();
            e.as_object_mut().unwrap().remove("extra.owner");
            e
        })
        .collect();
    events.sort_by_key(|e| e["source.ip"].as_str().unwrap_or_default().to_owned());
    events
}

/// POSTs `objects` to the GREEN collection; returns the TAXII status.
fn add(base: &str, token: &str, objects: Vec<Value>) -> Value {
    let url = format!(
        "{base}/taxii2/firewatch/collections/{}/objects/",
        firewatch_web::taxii::collection_id(TlpLevel::Green)
    );
    let body = serde_json::to_vec(&json!({ "objects": objects })).unwrap();
    let text = ureq::post(&url)
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/taxii+json;version=2.1")
        .header("Accept", "application/taxii+json;version=2.1")
        .send(&body[..])
        .expect("add objects")
        .body_mut()
        .read_to_string()
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn issue_15_taxii_added_objects_go_through_the_pipeline() {
    let sb = Sandbox::new();
    let config_dir = sb.path("firewatch");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(config_dir.join("firewatch.toml"), CONFIG).unwrap();

    // The file way: import stix, twice with different object ids (deduplicated).
    prepare(&sb, "file.db");
    for salt in [1, 2] {
        let bundle = sb.path(&format!("bundle-{salt}.json"));
        let doc = json!({"type": "bundle", "id": format!("bundle--5d0092c5-5f74-4287-9642-{salt:012}"),
                         "objects": indicators(salt)});
        std::fs::write(&bundle, serde_json::to_vec(&doc).unwrap()).unwrap();
        sb.cmd("file.db")
            .args(["import", "stix"])
            .arg(&bundle)
            .assert()
            .success();
    }

    // The TAXII way, by a member of the JP team, the same two envelopes.
    prepare(&sb, "taxii.db");
    sb.cmd("taxii.db")
        .args([
            "users", "add", "ana", "--team", "jp-cert", "--role", "member",
        ])
        .assert()
        .success();
    let out = sb
        .cmd("taxii.db")
        .args(["tokens", "create", "--user", "ana"])
        .output()
        .unwrap();
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let (mut child, base) = sb.serve("taxii.db");
    for salt in [1, 2] {
        let status = add(&base, &token, indicators(salt));
        assert_eq!(status["status"], "complete", "{status}");
        assert_eq!(status["success_count"], 2, "{status}");
    }
    let _ = child.kill();
    let _ = child.wait();

    let by_file = events(&sb, "file.db");
    let by_taxii = events(&sb, "taxii.db");
    assert_eq!(by_file.len(), 2, "deduplicated: {by_file:#?}");
    assert_eq!(by_taxii, by_file, "TAXII and import stix disagree");
    let jp = &by_taxii[0];
    assert_eq!(jp["source.ip"], "61.86.30.75");
    assert_eq!(jp["source.geolocation.cc"], "JP", "enriched: {jp}");
    assert_eq!(jp["extra.team"], "jp-cert", "routed: {jp}");
    assert_eq!(jp["comment"], "rule-applied", "the rules ran: {jp}");
    assert_eq!(jp["tlp"], "GREEN");
    assert_eq!(by_taxii[1]["extra.team"], "catch-all", "{}", by_taxii[1]);
}
