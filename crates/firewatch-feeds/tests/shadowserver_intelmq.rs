//! Every report of the Shadowserver schema, parsed by IntelMQ 3.5 and by us on the same
//! generated CSV, compared field by field.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use firewatch_core::Collected;
use firewatch_feeds::shadowserver::{ParseOptions, Schema, parse};
use serde_json::Value as Json;

/// Shadowserver's schema in ../shared beside the repository (a clone may live anywhere).
const SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/shadowserver/intelmq.json"
);
const MAKE_CSV: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/bench/make_shadowserver_csv.py"
);

/// Documented differences (see docs/feeds.md): `convert_date` in IntelMQ falls back to
/// dateutil's *fuzzy* parser, which reads generated values such as "v37" as a date in the
/// current month (so its output changes from day to day); we accept only real date-times and
/// drop the rest, as IntelMQ does for values dateutil cannot read either.
const FUZZY_DATE_COLUMNS: &[&str] = &["extra.http_date", "extra.start_time", "extra.end_time"];

fn python() -> Option<PathBuf> {
    let path = std::env::var_os("FIREWATCH_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/py-venv/bin/python")
        });
    if path.exists() && Path::new(SCHEMA).exists() {
        return Some(path);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "IntelMQ's Python ({}) or the schema is missing and CI=true",
            path.display()
        );
    }
    eprintln!(
        "\n*** SKIPPED shadowserver_intelmq: no IntelMQ Python at {} (set FIREWATCH_PYTHON) ***\n",
        path.display()
    );
    None
}

#[test]
fn every_report_matches_intelmq() {
    let Some(python) = python() else { return };
    let schema = Schema::from_path(Path::new(SCHEMA)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for report in schema.reports() {
        let file = dir
            .path()
            .join(format!("2026-01-01-{}-test-geo.csv", report.file_name));
        let status = Command::new("python3")
            .args([MAKE_CSV, &report.key, "50"])
            .arg(&file)
            .args(["--seed", "7"])
            .status()
            .unwrap();
        assert!(status.success(), "make_shadowserver_csv {}", report.key);
        files.push(file);
    }
    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/shadowserver_intelmq_driver.py");
    let status = Command::new(&python)
        .arg(driver)
        .arg(SCHEMA)
        .args(&files)
        .status()
        .unwrap();
    assert!(status.success(), "IntelMQ driver failed");

    let options = ParseOptions {
        time_observation: Some("2026-01-01T00:00:00+00:00".into()),
        feed_name: Some("Shadowserver".into()),
        keep_raw: true,
    };
    let mut problems = Vec::new();
    let mut compared = 0usize;
    let mut excused = BTreeSet::new();
    for file in &files {
        let name = file.file_name().unwrap().to_str().unwrap();
        let report = schema.detect(name).unwrap();
        let mut sink = Collected::default();
        parse(
            std::fs::File::open(file).unwrap(),
            name,
            report,
            &options,
            &mut sink,
        )
        .unwrap();
        let expected: Vec<Json> =
            std::fs::read_to_string(format!("{}.intelmq.jsonl", file.display()))
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
        assert!(sink.errors.is_empty(), "{name}: {:?}", sink.errors);
        assert_eq!(sink.events.len(), expected.len(), "{name}: event count");
        for ((event, at), want) in sink.events.iter().zip(&expected) {
            let got = event.to_json_value();
            let (got, want) = (got.as_object().unwrap(), want.as_object().unwrap());
            let keys: BTreeSet<&String> = got.keys().chain(want.keys()).collect();
            for key in keys {
                if got.get(key) == want.get(key) {
                    continue;
                }
                if FUZZY_DATE_COLUMNS.contains(&key.as_str()) && got.get(key).is_none() {
                    excused.insert(format!("{}: {key}", report.file_name));
                    continue;
                }
                problems.push(format!(
                    "{name} line {}: {key}: intelmq {:?} firewatch {:?}",
                    at.line,
                    want.get(key),
                    got.get(key)
                ));
            }
            compared += 1;
        }
    }
    eprintln!("compared {compared} events; excused (fuzzy dates): {excused:?}");
    assert!(compared >= 170 * 45, "too few events compared: {compared}");
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems[..problems.len().min(40)].join("\n")
    );
}
