//! Cases between instances (issue 19): `cases export` writes a STIX 2.1 bundle that
//! stix2-validator accepts in strict mode; export → import into another store → export is the
//! same bytes; what a partner adds comes back into the case we hold once, never as a second
//! case; a team's export holds its own slice only.

mod common;
mod share_tools;
use common::Sandbox;
use serde_json::Value;
use share_tools::{driver, python};

fn export(sb: &Sandbox, db: &str, args: &[&str], out: &str) -> Value {
    sb.cmd(db)
        .args(["cases", "export", "1"])
        .args(args)
        .arg("-o")
        .arg(sb.path(out))
        .assert()
        .success();
    serde_json::from_slice(&std::fs::read(sb.path(out)).expect("bundle")).expect("JSON")
}

fn import(sb: &Sandbox, db: &str, file: &str) -> Value {
    let mut cmd = sb.cmd(db);
    cmd.args(["cases", "import"])
        .arg(sb.path(file))
        .arg("--json");
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "import {file}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn objects_of<'a>(bundle: &'a Value, kind: &str) -> Vec<&'a Value> {
    bundle["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter(|o| o["type"] == kind)
        .collect()
}

#[test]
fn a_case_travels_as_stix_and_comes_back_without_duplicates() {
    let sb = Sandbox::new();
    let (a, b) = ("a.db", "b.db");
    sb.routed_telescope(a, 200_000, &[]);
    sb.cmd(b)
        .args(["teams", "import"])
        .arg(common::example_teams())
        .assert()
        .success();
    let alerts = sb.json(a, &["alerts", "list"]);
    let alert = alerts[0]["id"].as_str().expect("an alert").to_owned();
    sb.cmd(a)
        .args(["cases", "open", "--from-alert", &alert])
        .args(["--coordinator", "oic-example-coord", "--tlp", "amber"])
        .assert()
        .success();
    let case = sb.json(a, &["cases", "show", "1"]);
    let affected: Vec<String> = case["parties"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["role"] == "affected")
        .map(|p| p["team"].as_str().unwrap().to_owned())
        .collect();
    let team = affected.first().expect("an affected team").clone();
    sb.cmd(a)
        .args(["cases", "comment", "1", "please clean these hosts", "--by"])
        .arg("oic-example-coord")
        .assert()
        .success();

    // Export: valid STIX, strict; the incident carries the timeline and the core extension.
    let bundle = export(&sb, a, &[], "a1.json");
    let incident = objects_of(&bundle, "incident");
    assert_eq!(incident.len(), 1);
    let core =
        &incident[0]["extensions"]["extension-definition--ef765651-680c-498d-9894-99799f2fa126"];
    assert_eq!(core["investigation_status"], "new");
    assert_eq!(core["determination"], "suspected");
    let observables = case["observables"].as_array().unwrap().len();
    let addresses = objects_of(&bundle, "ipv4-addr").len() + objects_of(&bundle, "ipv6-addr").len();
    assert!(addresses > 0 && addresses <= observables);
    assert_eq!(objects_of(&bundle, "note").len(), 1, "the comment");
    if let Some(python) = python() {
        let report = driver(&python, &["validate", sb.path("a1.json").to_str().unwrap()]);
        assert!(report.contains("valid (strict)"), "{report}");
    }

    // Into another instance and out again: the same bytes.
    let first = import(&sb, b, "a1.json");
    assert_eq!(first["outcome"], "new");
    let again = export(&sb, b, &[], "b1.json");
    assert_eq!(
        std::fs::read(sb.path("a1.json")).unwrap(),
        std::fs::read(sb.path("b1.json")).unwrap(),
        "export → import → export is byte-identical"
    );
    assert_eq!(bundle, again);
    assert_eq!(
        sb.json(a, &["cases", "timeline", "1"]),
        sb.json(b, &["cases", "timeline", "1"])
    );

    // The partner answers and closes; its bundle adds to our case, once.
    sb.cmd(b)
        .args(["cases", "party", "1", &team, "--status", "acknowledged"])
        .assert()
        .success();
    sb.cmd(b)
        .args(["cases", "close", "1", "--determination", "confirmed"])
        .assert()
        .success();
    export(&sb, b, &[], "b2.json");
    let merged = import(&sb, a, "b2.json");
    assert_eq!(merged["outcome"], "merged");
    assert_eq!(merged["case"], 1, "the case we hold, not a new one");
    assert!(merged["appended"].as_u64().unwrap() >= 3, "{merged}");
    assert!(merged["refused"].as_array().unwrap().is_empty(), "{merged}");
    assert_eq!(
        sb.json(a, &["cases", "timeline", "1"]),
        sb.json(b, &["cases", "timeline", "1"])
    );
    let shown = sb.json(a, &["cases", "show", "1"]);
    assert_eq!(
        shown["case"]["status"]
            .as_str()
            .or(shown["status"].as_str()),
        Some("closed")
    );
    let twice = import(&sb, a, "b2.json");
    assert_eq!(twice["appended"], 0, "a second delivery adds nothing");
    assert_eq!(sb.json(a, &["cases", "list"]).as_array().unwrap().len(), 1);
    let closed = export(&sb, a, &[], "a2.json");
    let core = &objects_of(&closed, "incident")[0]["extensions"]["extension-definition--ef765651-680c-498d-9894-99799f2fa126"];
    assert_eq!(core["investigation_status"], "closed");
    assert_eq!(core["determination"], "confirmed");

    // A team's export holds its own addresses only.
    let mine: std::collections::BTreeSet<String> = sb
        .json(a, &["cases", "show", "1", "--team", &team])["observables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "address")
        .map(|o| o["value"].as_str().unwrap().to_owned())
        .collect();
    let for_team = export(&sb, a, &["--team", &team], "team.json");
    let exported: std::collections::BTreeSet<String> = objects_of(&for_team, "ipv4-addr")
        .into_iter()
        .chain(objects_of(&for_team, "ipv6-addr"))
        .map(|o| o["value"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(exported, mine);
    assert!(exported.len() < addresses || affected.len() == 1);
}

#[test]
fn a_bundle_without_a_case_is_refused_saying_why() {
    let sb = Sandbox::new();
    std::fs::write(
        sb.path("x.json"),
        br#"{"type": "bundle", "id": "bundle--1", "objects": []}"#,
    )
    .unwrap();
    let out = sb
        .cmd("x.db")
        .args(["cases", "import"])
        .arg(sb.path("x.json"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("x.json") && err.contains("no incident"),
        "{err}"
    );
    std::fs::write(sb.path("y.json"), b"{not json").unwrap();
    let out = sb
        .cmd("x.db")
        .args(["cases", "import"])
        .arg(sb.path("y.json"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("y.json") && err.contains("line 1"), "{err}");
}
