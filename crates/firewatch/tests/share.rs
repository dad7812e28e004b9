//! Sharing with partners, checked by the ecosystem's own tools (driven by `share_driver.py`):
//! stix2-validator (strict) and the stix2 library on every exported bundle, PyMISP on the MISP
//! feed, taxii2-client against `firewatch serve` on a loopback socket, and a round trip from
//! one store to another with the TLP kept.
//!
//! The tools are found next to `$FIREWATCH_PYTHON` (a venv's python), else in
//! `<workspace>/target/py-venv/bin/python` (`scripts/test.sh` installs them there). When they
//! are missing the tests fail under `CI=true` and are skipped, loudly, otherwise.

mod common;
mod share_tools;

use common::Sandbox;
use serde_json::Value;
use share_tools::{driver, python};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

/// Events at every TLP level, with owners and recipients; `cert-a` may read all but the last
/// (AMBER, owned by cert-b).
const EVENTS: &str = r#"{"source.ip": "192.0.2.1", "source.port": 40000, "destination.port": 23, "protocol.transport": "tcp", "classification.type": "scanner", "time.source": "2026-01-01T00:00:00+00:00", "tlp": "GREEN", "feed.name": "scan-telnet"}
{"source.ip": "192.0.2.2", "destination.port": 445, "protocol.transport": "tcp", "classification.type": "scanner", "time.source": "2026-01-01T00:10:00+00:00", "tlp": "GREEN", "feed.name": "scan-telnet"}
{"source.ip": "2001:db8::7", "classification.type": "infected-system", "malware.name": "mirai", "time.source": "2026-01-01T01:00:00+00:00", "tlp": "AMBER", "feed.name": "botnet-drone", "extra.owner": "cert-a"}
{"source.ip": "198.51.100.9", "classification.type": "ddos", "extra.role": "victim", "time.source": "2026-01-02T01:00:00+00:00", "tlp": "CLEAR", "feed.name": "Firewatch-Darknet"}
{"source.fqdn": "login.bad.example", "classification.type": "phishing", "time.source": "2026-01-02T02:00:00+00:00", "tlp": "RED", "feed.name": "phish", "extra.recipients": ["cert-a"]}
{"source.ip": "203.0.113.50", "classification.type": "vulnerable-system", "time.source": "2026-01-02T03:00:00+00:00", "tlp": "AMBER+STRICT", "feed.name": "open-rdp", "extra.owner": "cert-a"}
{"source.ip": "203.0.113.99", "classification.type": "brute-force", "time.source": "2026-01-02T04:00:00+00:00", "tlp": "AMBER", "feed.name": "honeypot", "extra.owner": "cert-b"}
"#;

/// A store with [`EVENTS`] and users of cert-a and cert-b.
fn seeded(sb: &Sandbox, db: &str) {
    let events = sb.path("events.jsonl");
    std::fs::write(&events, EVENTS).unwrap();
    sb.cmd(db)
        .args(["feeds", "ingest"])
        .arg(&events)
        .assert()
        .success();
    users(sb, db);
}

/// Users ana (cert-a) and bo (cert-b), members, with passwords `<name>-password`.
fn users(sb: &Sandbox, db: &str) {
    for (user, team) in [("ana", "cert-a"), ("bo", "cert-b")] {
        sb.cmd(db)
            .args([
                "users",
                "add",
                user,
                "--team",
                team,
                "--role",
                "member",
                "--password-stdin",
            ])
            .write_stdin(format!("{user}-password"))
            .assert()
            .success();
    }
}

/// The store's events as sorted IntelMQ JSON lines.
fn event_lines(sb: &Sandbox, db: &str) -> Vec<String> {
    let out = sb.cmd(db).args(["events", "export"]).output().unwrap();
    assert!(out.status.success());
    let mut lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

/// `firewatch serve` on a free loopback port, stopped when dropped.
struct Served {
    child: Child,
    base: String,
}

impl Served {
    fn start(sb: &Sandbox, db: &str) -> Served {
        let mut child = sb
            .background(db)
            .arg("serve")
            .env_remove("FIREWATCH_LISTEN")
            .env("FIREWATCH__WEB__LISTEN", "127.0.0.1:0")
            .env("FIREWATCH__WEB__LOG_FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start firewatch serve");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = loop {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    if let Ok(log) = serde_json::from_str::<Value>(&line)
                        && let Some(addr) = log["addr"].as_str()
                    {
                        break addr.to_owned();
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!("serve did not start within 60 s"),
                Err(RecvTimeoutError::Disconnected) => panic!("serve ended before it listened"),
            }
        };
        // Keep draining the log so the service never blocks on a full pipe.
        std::thread::spawn(move || while rx.recv().is_ok() {});
        Served {
            child,
            base: format!("http://{addr}"),
        }
    }

    fn taxii(&self) -> String {
        format!("{}/taxii2/", self.base)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn exported_bundles_pass_the_strict_validator_and_are_deterministic() {
    let Some(python) = python() else { return };
    let sb = Sandbox::new();
    seeded(&sb, "a.db");
    let all = sb.path("all.json");
    let again = sb.path("again.json");
    let green = sb.path("green.json");
    let as_b = sb.path("as-b.json");
    // `--team` needs the team's cap from the directory.
    let teams = sb.path("teams.toml");
    std::fs::write(
        &teams,
        "[[teams]]\nid = \"cert-a\"\nname = \"A\"\nkind = \"other\"\nmax_tlp = \"red\"\n\n[[teams]]\nid = \"cert-b\"\nname = \"B\"\nkind = \"other\"\nmax_tlp = \"red\"\n",
    )
    .unwrap();
    sb.cmd("a.db")
        .args(["teams", "import"])
        .arg(&teams)
        .assert()
        .success();
    for (out, extra) in [
        (&all, vec!["--tlp", "red"]),
        (&again, vec!["--tlp", "red"]),
        (&green, vec!["--tlp", "green"]),
        (&as_b, vec!["--tlp", "red", "--team", "cert-b"]),
    ] {
        sb.cmd("a.db")
            .args(["export", "stix", "-o"])
            .arg(out)
            .args(&extra)
            .assert()
            .success();
    }
    assert_eq!(
        std::fs::read(&all).unwrap(),
        std::fs::read(&again).unwrap(),
        "the same findings give the same bundle, byte for byte"
    );
    let report = driver(
        &python,
        &[
            "validate",
            all.to_str().unwrap(),
            green.to_str().unwrap(),
            as_b.to_str().unwrap(),
        ],
    );
    assert_eq!(report.matches("valid (strict)").count(), 3, "{report}");

    let markings = |path: &Path| -> Vec<String> {
        let bundle: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let mut refs: Vec<String> = bundle["objects"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|o| {
                o["object_marking_refs"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .map(|r| r.as_str().unwrap().to_owned())
            .collect();
        refs.sort();
        refs.dedup();
        refs
    };
    const CLEAR: &str = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
    const GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
    const AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
    const AMBER_STRICT: &str = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";
    const RED: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";
    assert_eq!(markings(&all), [AMBER, AMBER_STRICT, CLEAR, GREEN, RED]);
    assert_eq!(
        markings(&green),
        [CLEAR, GREEN],
        "--tlp green caps the export"
    );
    // cert-b's own part: its AMBER event (the identities are CLEAR); not the community's GREEN
    // events, nor cert-a's AMBER, AMBER+STRICT or RED.
    assert_eq!(markings(&as_b), [AMBER, CLEAR]);
    let b_text = std::fs::read_to_string(&as_b).unwrap();
    assert!(b_text.contains("203.0.113.99") && !b_text.contains("2001:db8::7"));
    assert!(!b_text.contains("192.0.2.1"));
    assert!(!b_text.contains("login.bad.example") && !b_text.contains("203.0.113.50"));
}

#[test]
fn the_misp_feed_loads_in_pymisp() {
    let Some(python) = python() else { return };
    let sb = Sandbox::new();
    seeded(&sb, "a.db");
    let feed = sb.path("feed");
    sb.cmd("a.db")
        .args(["export", "misp", "--tlp", "amber"])
        .arg(&feed)
        .assert()
        .success();
    let report = driver(&python, &["misp", feed.to_str().unwrap()]);
    // GREEN scanners (one group), CLEAR victim, the two AMBER events: four groups.
    assert_eq!(report.matches("PyMISP loaded").count(), 4, "{report}");
    assert!(
        report.contains("tlp:amber") && report.contains("rsit:information-gathering=\"scanner\"")
    );
    assert!(
        !report.contains("tlp:red") && !report.contains("tlp:amber+strict"),
        "{report}"
    );
}

#[test]
fn taxii_round_trip_keeps_events_and_tlp() {
    let Some(python) = python() else { return };
    let sb = Sandbox::new();
    seeded(&sb, "a.db");
    let a = Served::start(&sb, "a.db");

    let fetched = sb.path("fetched.json");
    let read = driver(
        &python,
        &[
            "taxii-read",
            &a.taxii(),
            "ana",
            "ana-password",
            fetched.to_str().unwrap(),
        ],
    );
    assert!(read.contains("TLP:AMBER"), "{read}");
    driver(&python, &["validate", fetched.to_str().unwrap()]);

    // Store B imports what cert-a read: exactly cert-a's events of store A, TLP included.
    sb.cmd("b.db")
        .args(["import", "stix"])
        .arg(&fetched)
        .assert()
        .success();
    let expected: Vec<String> = event_lines(&sb, "a.db")
        .into_iter()
        .filter(|l| !l.contains("cert-b"))
        .collect();
    assert_eq!(expected.len(), 6);
    assert_eq!(event_lines(&sb, "b.db"), expected);

    // Importing the same bundle again changes nothing.
    sb.cmd("b.db")
        .args(["import", "stix"])
        .arg(&fetched)
        .assert()
        .success();
    assert_eq!(event_lines(&sb, "b.db").len(), 6);

    // TAXII add: a member of an empty store C adds the bundle to C's GREEN collection.
    users(&sb, "c.db");
    let c = Served::start(&sb, "c.db");
    let added = driver(
        &python,
        &[
            "taxii-add",
            &c.taxii(),
            "bo",
            "bo-password",
            fetched.to_str().unwrap(),
        ],
    );
    assert!(added.contains("complete"), "{added}");
    // Every event arrives with its own TLP, not the collection's GREEN.
    let tlp_by_subject = |lines: Vec<String>| -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = lines
            .iter()
            .map(|l| {
                let e: Value = serde_json::from_str(l).unwrap();
                let subject = e["source.ip"]
                    .as_str()
                    .or(e["source.fqdn"].as_str())
                    .unwrap();
                (subject.to_owned(), e["tlp"].as_str().unwrap().to_owned())
            })
            .collect();
        pairs.sort();
        pairs
    };
    let in_c = event_lines(&sb, "c.db");
    assert_eq!(in_c.len(), 6, "{in_c:#?}");
    assert_eq!(tlp_by_subject(in_c), tlp_by_subject(expected));
}

#[test]
fn taxii_needs_credentials_and_keeps_amber_from_other_teams() {
    let Some(python) = python() else { return };
    let sb = Sandbox::new();
    let events = sb.path("events.jsonl");
    // Only AMBER events of cert-a: cert-b is a GREEN-only reader here.
    std::fs::write(
        &events,
        EVENTS
            .lines()
            .filter(|l| l.contains("\"AMBER\"") && l.contains("cert-a"))
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    sb.cmd("a.db")
        .args(["feeds", "ingest"])
        .arg(&events)
        .assert()
        .success();
    sb.cmd("a.db")
        .args([
            "users",
            "add",
            "bo",
            "--team",
            "cert-b",
            "--role",
            "member",
            "--password-stdin",
        ])
        .write_stdin("bo-password")
        .assert()
        .success();
    let a = Served::start(&sb, "a.db");
    let report = driver(&python, &["taxii-deny", &a.taxii(), "bo", "bo-password"]);
    assert!(report.contains("401 without credentials"), "{report}");

    // An API token works as it does for the JSON API; a bad one is a 401.
    let out = sb
        .cmd("a.db")
        .args(["tokens", "create", "--user", "bo"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let token = text
        .split_whitespace()
        .find(|w| w.starts_with("fw_"))
        .unwrap_or_else(|| panic!("no token in {text}"));
    let get = |bearer: &str| {
        ureq::get(&a.taxii())
            .header("Authorization", &format!("Bearer {bearer}"))
            .header("Accept", "application/taxii+json;version=2.1")
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .expect("an answer")
    };
    let ok = get(token);
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.headers().get("content-type").unwrap(),
        "application/taxii+json;version=2.1"
    );
    assert_eq!(get("fw_0123456789ab_not-the-secret").status(), 401);
}

#[test]
fn invalid_bundles_are_rejected_with_the_path() {
    let sb = Sandbox::new();
    let bundle = sb.path("bad.json");
    std::fs::write(
        &bundle,
        r#"{"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": [
  {"type": "x-partner-thing", "id": "x-partner-thing--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "spec_version": "2.1", "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z"},
  {"type": "indicator", "id": "indicator--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061", "spec_version": "2.1", "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "pattern_type": "stix", "pattern": "ipv4-addr:value = '192.0.2.1'", "valid_from": "2026-01-01T00:00:00Z"}
]}"#,
    )
    .unwrap();
    let out = sb
        .cmd("b.db")
        .args(["import", "stix"])
        .arg(&bundle)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stderr.contains("objects[1].pattern: "), "{stderr}");
    assert!(
        stderr.contains("line 3"),
        "the location names the object's line: {stderr}"
    );
    assert!(
        stderr.contains("objects[0]: x-partner-thing") && stderr.contains("kept whole"),
        "{stderr}"
    );
    assert!(stdout.contains("1 events (1 new"), "{stdout}");
    let kept = sb.json(
        "b.db",
        &[
            "events",
            "list",
            "--where",
            "extra.stix_type = x-partner-thing",
        ],
    );
    assert_eq!(kept.as_array().map(Vec::len), Some(1), "{kept}");
}
