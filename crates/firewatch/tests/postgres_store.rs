//! The whole command line on a PostgreSQL store (issue 17): the same inputs through the same
//! commands give the same answers as on SQLite — telescope listings, alerts, flowtuples,
//! events, cases, metrics, notices and exports — and a run killed mid-commit and started again
//! ends with the data of an uninterrupted one. PostgreSQL is the machine's own (or the one
//! `FIREWATCH_TEST_POSTGRES` names); each test works in a scratch schema of its own. These
//! tests never skip: without the server they fail.

mod common;
use common::{Sandbox, example_teams, shared_data};
use firewatch_store::PgStore;
use serde_json::Value;

fn scratch() -> PgStore {
    let url = firewatch_store::postgres::test_url();
    PgStore::scratch(&url).unwrap_or_else(|e| panic!("PostgreSQL at {url}: {e}"))
}

fn url_of(store: &PgStore) -> String {
    store.scratch_url().expect("a scratch store").to_owned()
}

/// Drops what differs between two runs by design: when something was written or happened
/// (`…_at`, `at`, `since`), and the data version (it names the directory's import time).
fn without_clock(mut v: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                map.retain(|key, _| {
                    !(key.ends_with("_at")
                        || ["at", "since", "data_version"].contains(&key.as_str()))
                });
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

/// A Shadowserver report, as the shared generator writes one (real column layout).
const REPORT: &str = "2026-01-01-scan_dns-test-geo.csv";

fn write_report(sb: &Sandbox) {
    let status = std::process::Command::new("python3")
        .arg(shared_data().join("../bench/make_shadowserver_csv.py"))
        .args(["scan_dns", "3000"])
        .arg(sb.path(REPORT))
        .args(["--seed", "17"])
        .status()
        .expect("python3 runs");
    assert!(status.success(), "the report generator failed");
}

/// The commands of the README's loop on one store, and what they answer.
fn the_loop(sb: &Sandbox, db: &str) -> Value {
    sb.cmd(db)
        .args(["teams", "import"])
        .arg(example_teams())
        .assert()
        .success();
    sb.cmd(db)
        .args(["ingest", "pcap", "--flowtuples"])
        .arg(sb.path("cap.pcap"))
        .assert()
        .success();
    sb.cmd(db)
        .args(["feeds", "ingest"])
        .arg(sb.path(REPORT))
        .arg("--schema")
        .arg(shared_data().join("shadowserver/intelmq.json"))
        .assert()
        .success();
    let alerts = sb.json(db, &["alerts", "list"]);
    let first = alerts[0]["id"].as_str().expect("an alert").to_owned();
    sb.cmd(db)
        .args(["cases", "open", "--from-alert", &first])
        .args(["--coordinator", "jp-example-cert"])
        .assert()
        .success();
    sb.cmd(db)
        .args([
            "cases",
            "comment",
            "1",
            "seen; cleaning up",
            "--by",
            "jp-example-cert",
        ])
        .assert()
        .success();
    sb.cmd(db).args(["metrics", "compute"]).assert().success();
    let flows = sb
        .cmd(db)
        .args(["flows", "export"])
        .output()
        .expect("flows");
    assert!(flows.status.success());
    let stix = sb
        .cmd(db)
        .args(["export", "stix", "--team", "jp-example-cert"])
        .output()
        .expect("stix");
    let mut answers = sb.dump(db);
    answers["alert"] = sb.json(db, &["alerts", "show", &first, "--team", "jp-example-cert"]);
    answers["flows_csv_lines"] = Value::from(flows.stdout.split(|b| *b == b'\n').count());
    answers["events"] = sb.json(db, &["events", "list", "--limit", "100000"]);
    answers["event_stats"] = sb.json(db, &["events", "stats", "--by", "source.asn"]);
    answers["cases"] = sb.json(db, &["cases", "list"]);
    answers["case"] = sb.json(db, &["cases", "show", "1", "--team", "jp-example-cert"]);
    answers["metrics"] = sb.json(db, &["metrics", "show", "--by", "country"]);
    answers["notices"] = sb.json(db, &["notify", "preview", "--team", "jp-example-cert"]);
    answers["stix_ok"] = Value::from(stix.status.success());
    answers["stix_objects"] = serde_json::from_slice::<Value>(&stix.stdout)
        .ok()
        .and_then(|b| b["objects"].as_array().map(|o| o.len()))
        .map_or(Value::Null, Value::from);
    without_clock(answers)
}

#[test]
fn the_same_inputs_give_the_same_answers_on_sqlite_and_postgres() {
    let sb = Sandbox::new();
    sb.synth("cap.pcap", 150_000, &[]);
    write_report(&sb);
    let pg = scratch();
    let on_sqlite = the_loop(&sb, "s.db");
    let on_postgres = the_loop(&sb, &url_of(&pg));
    assert!(
        on_sqlite["alerts"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
            && on_sqlite["events"]
                .as_array()
                .is_some_and(|e| !e.is_empty())
            && on_sqlite["flows_csv_lines"].as_u64() > Some(1),
        "the loop found something to compare: {on_sqlite}"
    );
    for key in on_sqlite.as_object().expect("answers").keys() {
        assert_eq!(
            on_sqlite[key], on_postgres[key],
            "`{key}` differs between SQLite and PostgreSQL"
        );
    }
}

#[test]
fn a_postgres_ingest_killed_at_any_phase_and_restarted_equals_an_uninterrupted_run() {
    let sb = Sandbox::new();
    let files: Vec<_> = (1..=3)
        .map(|i| {
            let name = format!("c{i}.pcap");
            sb.synth(&name, 30_000, &["--seed", &i.to_string()]);
            sb.path(&name)
        })
        .collect();
    let clean_store = scratch();
    let clean = url_of(&clean_store);
    sb.cmd(&clean)
        .args(["ingest", "pcap", "--allow-overlap"])
        .args(&files)
        .assert()
        .success();
    let expected = sb.dump(&clean);
    for point in [
        "before-commit",
        "mid-commit",
        "after-commit",
        "after-alerts",
    ] {
        let store = scratch();
        let db = url_of(&store);
        let out = sb
            .cmd(&db)
            .args(["ingest", "pcap", "--allow-overlap"])
            .args(&files)
            .env("FIREWATCH_CRASH_AT", point)
            .output()
            .expect("run");
        assert!(!out.status.success(), "{point}: the crash hook fired");
        sb.cmd(&db)
            .args(["ingest", "pcap", "--allow-overlap"])
            .args(&files)
            .assert()
            .success();
        assert_eq!(expected, sb.dump(&db), "killed at {point}, then restarted");
    }
}

#[test]
fn an_unreachable_server_is_a_clear_error_without_the_password() {
    let sb = Sandbox::new();
    let out = sb
        .cmd("postgres://fw:s3cret@127.0.0.1:1/firewatch")
        .args(["alerts", "list"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot connect to the PostgreSQL store postgres://fw@127.0.0.1:1/firewatch")
            && !err.contains("s3cret"),
        "{err}"
    );
}
