//! `feeds ingest` commits an input in batches (issue 17, item 2): a run killed after some of
//! an input's batches, started again, ends with exactly the events and the input record of an
//! uninterrupted run and says how many were already stored; ingesting it again changes
//! nothing; an input that fails part-way leaves nothing.

mod common;

use common::{Sandbox, shared_data};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Events per batch in these tests (the default is 20,000).
const BATCH: &str = "100";

fn schema() -> PathBuf {
    shared_data().join("shadowserver/intelmq.json")
}

/// A generated `scan_dns` report of `rows` rows whose first `repeated` data rows come again at
/// the end (duplicates of events of the first batches, for the counts).
fn report(sb: &Sandbox, rows: usize, repeated: usize) -> PathBuf {
    let path = sb.path("2026-01-03-scan_dns-test-geo.csv");
    let status = Command::new("python3")
        .arg(shared_data().join("../bench/make_shadowserver_csv.py"))
        .args(["scan_dns", &rows.to_string()])
        .arg(&path)
        .args(["--seed", "11"])
        .status()
        .expect("python3 runs");
    assert!(status.success(), "generator failed");
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = text.clone();
    for line in &lines[1..=repeated] {
        out.push_str(line);
        out.push('\n');
    }
    std::fs::write(&path, out).unwrap();
    path
}

/// `feeds ingest --json FILE` into `db` with small batches, and `env` set.
fn ingest(sb: &Sandbox, db: &str, file: &Path, env: &[(&str, &str)]) -> (Option<Value>, bool) {
    let mut cmd = sb.cmd(db);
    cmd.env("FIREWATCH_FEEDS_BATCH", BATCH)
        .args(["feeds", "ingest", "--json", "--schema"])
        .arg(schema())
        .arg(file);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let json = serde_json::from_slice::<Value>(&out.stdout).ok();
    (json.map(|j| j[0].clone()), out.status.success())
}

/// Every event of `db` as IntelMQ JSON lines, sorted.
fn export(sb: &Sandbox, db: &str) -> Vec<String> {
    let out = sb.cmd(db).args(["events", "export"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

/// The input records of `db`, without their ingest time.
fn inputs(sb: &Sandbox, db: &str) -> Value {
    let mut list = sb.json(db, &["feeds", "inputs"]);
    for i in list.as_array_mut().unwrap() {
        i.as_object_mut().unwrap().remove("ingested_at");
    }
    list
}

/// The counts of a report that must equal an uninterrupted run's.
fn counts(report: &Value) -> Value {
    serde_json::json!([
        report["status"],
        report["format"],
        report["records"],
        report["events"],
        report["inserted"],
        report["duplicates"],
        report["rejected"],
    ])
}

#[test]
fn an_ingest_killed_between_batches_ends_as_an_uninterrupted_one_and_again_changes_nothing() {
    let sb = Sandbox::new();
    let csv = report(&sb, 1000, 150);

    // The reference: one uninterrupted run.
    let (whole, ok) = ingest(&sb, "whole.db", &csv, &[]);
    let whole = whole.expect("a report");
    assert!(ok);
    assert_eq!(whole["status"], "ingested");
    assert_eq!(whole["events"], 1150);
    assert_eq!(whole["inserted"], 1000);
    assert_eq!(whole["duplicates"], 150);
    assert!(
        whole.get("already_stored").is_none(),
        "an uninterrupted run reports as before: {whole}"
    );
    let reference = export(&sb, "whole.db");
    assert_eq!(reference.len(), 1000);

    // Killed after its 3rd batch: those batches stay, the input is not recorded.
    let (_, ok) = ingest(
        &sb,
        "crash.db",
        &csv,
        &[("FIREWATCH_CRASH_AT", "feeds-after-batch-3")],
    );
    assert!(!ok, "the crash hook aborts");
    assert_eq!(export(&sb, "crash.db").len(), 300);
    assert_eq!(inputs(&sb, "crash.db"), serde_json::json!([]));

    // Killed again, later, in the middle of a batch's transaction (the 1st after resuming is
    // all duplicates; the hook fires in each batch, so here in the first).
    let (_, ok) = ingest(
        &sb,
        "crash.db",
        &csv,
        &[("FIREWATCH_CRASH_AT", "events-mid-commit")],
    );
    assert!(!ok);
    assert_eq!(
        export(&sb, "crash.db").len(),
        300,
        "the torn batch rolled back"
    );

    // And after the 7th batch of a resumed run (the first three are its duplicates).
    let (_, ok) = ingest(
        &sb,
        "crash.db",
        &csv,
        &[("FIREWATCH_CRASH_AT", "feeds-after-batch-7")],
    );
    assert!(!ok);
    assert_eq!(export(&sb, "crash.db").len(), 700);

    // Started again: the same events and record as the uninterrupted run, and it says how
    // many of them were already stored.
    let (resumed, ok) = ingest(&sb, "crash.db", &csv, &[]);
    let resumed = resumed.expect("a report");
    assert!(ok);
    assert_eq!(counts(&resumed), counts(&whole));
    assert_eq!(resumed["already_stored"], 700, "{resumed}");
    assert_eq!(export(&sb, "crash.db"), reference);
    assert_eq!(inputs(&sb, "crash.db"), inputs(&sb, "whole.db"));

    // The text report says it too.
    let out = sb
        .cmd("text.db")
        .env("FIREWATCH_FEEDS_BATCH", BATCH)
        .env("FIREWATCH_CRASH_AT", "feeds-after-batch-2")
        .args(["feeds", "ingest", "--schema"])
        .arg(schema())
        .arg(&csv)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let out = sb
        .cmd("text.db")
        .env("FIREWATCH_FEEDS_BATCH", BATCH)
        .args(["feeds", "ingest", "--schema"])
        .arg(schema())
        .arg(&csv)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("1000 new, 150 duplicates")
            && text.contains("resumed: 200 of the 1000 new events"),
        "{text}"
    );

    // Ingesting it again changes nothing, in either store.
    for db in ["whole.db", "crash.db"] {
        let before = inputs(&sb, db);
        let (again, ok) = ingest(&sb, db, &csv, &[]);
        assert!(ok);
        assert_eq!(again.unwrap()["status"], "already-ingested");
        assert_eq!(export(&sb, db), reference);
        assert_eq!(inputs(&sb, db), before);
    }
}

#[test]
fn events_without_a_time_keep_the_first_runs_ingest_time_when_resumed() {
    // IntelMQ events with no time: their time is the ingest time, which a resumed run takes
    // from the interrupted one, so the re-sent events are duplicates of themselves even with
    // no dedupe window at all.
    let sb = Sandbox::new();
    std::fs::write(
        sb.path("firewatch.toml"),
        "[feeds.dedupe]\nwindow_secs = 0\n",
    )
    .unwrap();
    let lines: String = (0..450)
        .map(|i| {
            format!(
                "{{\"feed.name\":\"partner\",\"classification.type\":\"scanner\",\"source.ip\":\"198.51.100.{}\",\"source.port\":{}}}\n",
                i % 250,
                1000 + i
            )
        })
        .collect();
    let file = sb.path("partner.jsonl");
    std::fs::write(&file, lines).unwrap();
    let run = |env: &[(&str, &str)]| {
        let mut cmd = sb.cmd("f.db");
        cmd.env("FIREWATCH_CONFIG", sb.path("firewatch.toml"))
            .env("FIREWATCH_FEEDS_BATCH", BATCH)
            .args(["feeds", "ingest", "--json"])
            .arg(&file);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let out = run(&[("FIREWATCH_CRASH_AT", "feeds-after-batch-2")]);
    assert!(!out.status.success());
    assert_eq!(export(&sb, "f.db").len(), 200);
    // Not a synchronisation: the restarted run must start in a later second than the first,
    // so that only the saved ingest time (not the clock) can make its events dedupe.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = run(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report[0]["inserted"], 450);
    assert_eq!(report[0]["duplicates"], 0);
    assert_eq!(report[0]["already_stored"], 200);
    assert_eq!(export(&sb, "f.db").len(), 450);
}

#[test]
fn an_input_that_fails_part_way_leaves_nothing() {
    // A gzip report cut short: its first batches parse and are committed before the damage
    // is found; the failed input then takes them away again, as one transaction would.
    let sb = Sandbox::new();
    let csv = report(&sb, 3000, 0);
    // Gzip is told by its magic bytes; the name is the report's.
    let gz = sb.path("2026-01-04-scan_dns-test-geo.csv");
    let status = Command::new("gzip")
        .args(["-k", "-c"])
        .arg(&csv)
        .stdout(std::fs::File::create(&gz).unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    let bytes = std::fs::read(&gz).unwrap();
    std::fs::write(&gz, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let (report, ok) = ingest(&sb, "f.db", &gz, &[]);
    assert!(!ok);
    let report = report.expect("a report");
    assert_eq!(report["status"], "failed");
    assert!(
        report["error"].as_str().unwrap().contains("gzip"),
        "{report}"
    );
    assert!(export(&sb, "f.db").is_empty());
    assert_eq!(inputs(&sb, "f.db"), serde_json::json!([]));
}
