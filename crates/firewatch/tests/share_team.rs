//! Issue 16, items 1 and 4: `export stix|misp --team T` is team T's own part — every one of its
//! sources of every alert, no other team's address, under its TLP cap — checked with
//! stix2-validator and PyMISP; the producer named in `[share]` is the one TAXII serves.

mod common;
#[path = "share_tools/mod.rs"]
mod share_tools;

use common::Sandbox;
use serde_json::Value;
use share_tools::{bundle_addresses, driver, feed_addresses, python};
use std::collections::{BTreeMap, BTreeSet};

const TEAM: &str = "jp-example-cert";

#[test]
fn a_teams_export_holds_its_own_part_of_every_alert_and_nothing_of_another_team() {
    let sb = Sandbox::new();
    let db = "team.db";
    sb.routed_telescope(db, 300_000, &[]);

    // Each source's team, as routed; and the team's part of each alert, as `alerts show` lists it.
    let team_of: BTreeMap<String, Option<String>> = sb
        .json(db, &["sources", "list", "--limit", "10000000"])
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["addr"].as_str().unwrap().to_owned(),
                s["team"].as_str().map(str::to_owned),
            )
        })
        .collect();
    let mut mine = BTreeSet::new();
    let mut others_in_alerts = BTreeSet::new();
    for alert in sb
        .json(db, &["alerts", "list", "--limit", "1000"])
        .as_array()
        .unwrap()
    {
        let id = alert["id"].as_str().unwrap();
        for s in sb.json(db, &["alerts", "show", id])["sources"]
            .as_array()
            .unwrap()
        {
            let addr = s["addr"].as_str().unwrap().to_owned();
            if s["team"] == TEAM {
                mine.insert(addr);
            } else {
                others_in_alerts.insert(addr);
            }
        }
    }
    assert!(
        mine.len() > 10,
        "the team has sources in the alerts: {mine:?}"
    );
    assert!(!others_in_alerts.is_empty(), "other teams have sources too");

    let bundle_path = sb.path("jp.json");
    let out = sb
        .cmd(db)
        .args(["export", "stix", "--team", TEAM, "-o"])
        .arg(&bundle_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bundle: Value = serde_json::from_slice(&std::fs::read(&bundle_path).unwrap()).unwrap();
    let addresses = bundle_addresses(&bundle);
    let missing: Vec<&String> = mine.difference(&addresses).collect();
    assert!(
        missing.is_empty(),
        "the team's alert sources missing: {missing:?}"
    );
    let foreign: Vec<(&String, Option<&Option<String>>)> = addresses
        .iter()
        .filter(|a| team_of.get(*a).is_none_or(|t| t.as_deref() != Some(TEAM)))
        .map(|a| (a, team_of.get(a)))
        .collect();
    assert!(foreign.is_empty(), "addresses not the team's: {foreign:?}");
    assert!(addresses.is_disjoint(&others_in_alerts));
    // The alerts are there as campaigns, each source's indicator indicating its campaign.
    let objects = bundle["objects"].as_array().unwrap();
    let campaigns: BTreeSet<&str> = objects
        .iter()
        .filter(|o| o["type"] == "campaign")
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert!(!campaigns.is_empty());
    let indicates: Vec<&Value> = objects
        .iter()
        .filter(|o| o["relationship_type"] == "indicates")
        .collect();
    assert!(!indicates.is_empty());
    for r in &indicates {
        assert!(campaigns.contains(r["target_ref"].as_str().unwrap()), "{r}");
    }

    // The same part as a MISP feed.
    let feed = sb.path("jp-feed");
    sb.cmd(db)
        .args(["export", "misp", "--team", TEAM])
        .arg(&feed)
        .assert()
        .success();
    let in_feed = feed_addresses(&feed);
    assert!(mine.is_subset(&in_feed));
    assert!(
        in_feed.is_subset(&addresses),
        "the feed holds what the bundle holds"
    );

    // Under the cap: a level below the telescope's (GREEN) leaves the telescope's findings out.
    let clear = sb.path("clear.json");
    sb.cmd(db)
        .args(["export", "stix", "--team", TEAM, "--tlp", "clear", "-o"])
        .arg(&clear)
        .assert()
        .success();
    let clear: Value = serde_json::from_slice(&std::fs::read(&clear).unwrap()).unwrap();
    assert!(bundle_addresses(&clear).is_empty(), "{clear}");

    // Whoever runs it without the tools still checked everything above.
    let Some(python) = python() else { return };
    let report = driver(&python, &["validate", bundle_path.to_str().unwrap()]);
    assert!(report.contains("valid (strict)"), "{report}");
    let report = driver(&python, &["misp", feed.to_str().unwrap()]);
    assert!(report.contains("PyMISP loaded"), "{report}");
}

#[test]
fn an_unknown_team_is_refused_naming_the_known_ones() {
    let sb = Sandbox::new();
    sb.cmd("u.db")
        .args(["teams", "import"])
        .arg(common::example_teams())
        .assert()
        .success();
    for args in [
        vec!["export", "stix", "--team", "no-such-team"],
        vec!["export", "misp", "--team", "no-such-team", "feed"],
    ] {
        let out = sb.cmd("u.db").args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("\"no-such-team\"") && err.contains("known teams:") && err.contains(TEAM),
            "{err}"
        );
    }
}

#[test]
fn taxii_and_the_exports_name_the_producer_of_share_config() {
    const NAME: &str = "Example National CERT";
    let sb = Sandbox::new();
    let db = "p.db";
    let config_dir = sb.path("firewatch");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(
        config_dir.join("firewatch.toml"),
        format!(
            "[share]\nproducer_name = \"{NAME}\"\nproducer_contact = \"cert@example.org\"\n\n[share.misp]\norg_name = \"Example CERT (MISP)\"\n"
        ),
    )
    .unwrap();
    let events = sb.path("events.jsonl");
    std::fs::write(
        &events,
        r#"{"source.ip": "192.0.2.1", "classification.type": "scanner", "time.source": "2026-01-01T00:00:00+00:00", "tlp": "GREEN", "feed.name": "scan"}
"#,
    )
    .unwrap();
    sb.cmd(db)
        .args(["feeds", "ingest"])
        .arg(&events)
        .assert()
        .success();

    // The exports.
    let out = sb.cmd(db).args(["export", "stix"]).output().unwrap();
    assert!(out.status.success());
    let bundle: Value = serde_json::from_slice(&out.stdout).unwrap();
    let identity = |bundle: &Value| -> Value {
        bundle["objects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["type"] == "identity" && o["identity_class"] == "organization")
            .cloned()
            .unwrap_or_else(|| panic!("no producer identity in {bundle}"))
    };
    assert_eq!(identity(&bundle)["name"], NAME);
    assert_eq!(identity(&bundle)["contact_information"], "cert@example.org");
    let feed = sb.path("feed");
    sb.cmd(db)
        .args(["export", "misp"])
        .arg(&feed)
        .assert()
        .success();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(feed.join("manifest.json")).unwrap()).unwrap();
    let (_, event) = manifest.as_object().unwrap().iter().next().unwrap();
    assert_eq!(event["Orgc"]["name"], "Example CERT (MISP)");

    // TAXII, read by a user of any team (GREEN is the community's).
    sb.cmd(db)
        .args([
            "users", "add", "ana", "--team", "cert-a", "--role", "member",
        ])
        .assert()
        .success();
    let out = sb
        .cmd(db)
        .args(["tokens", "create", "--user", "ana"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let token = text
        .split_whitespace()
        .find(|w| w.starts_with("fw_"))
        .unwrap_or_else(|| panic!("no token in {text}"))
        .to_owned();
    let (mut child, base) = sb.serve(db);
    let url = format!(
        "{base}/taxii2/firewatch/collections/{}/objects/",
        firewatch_web::taxii::collection_id(firewatch_core::TlpLevel::Green)
    );
    let got = ureq::get(&url)
        .header("Authorization", &format!("Bearer {token}"))
        .header("Accept", "application/taxii+json;version=2.1")
        .call()
        .map(|mut r| r.body_mut().read_to_string().unwrap());
    let _ = child.kill();
    let _ = child.wait();
    let envelope: Value = serde_json::from_str(&got.expect("TAXII objects")).unwrap();
    let served = identity(&envelope);
    assert_eq!(served["name"], NAME, "{served}");
    assert_eq!(
        served["id"],
        identity(&bundle)["id"],
        "the export's identity, the same id"
    );
}
