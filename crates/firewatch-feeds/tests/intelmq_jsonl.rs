//! IntelMQ JSON lines: parsing with locations, round trips, and IntelMQ's own `Event` class
//! accepting what we write.
//!
//! The IntelMQ check runs the Python in `FIREWATCH_PYTHON` or `target/py-venv/bin/python`
//! (`scripts/test.sh` installs IntelMQ 3.5 there). Without it the check is skipped loudly, or
//! fails when `CI=true`.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use firewatch_core::{Collected, Event, ParseSummary};
use firewatch_feeds::cowrie::{self, CowrieOptions};
use firewatch_feeds::intelmq_jsonl::{self, WriteOptions};
use serde_json::json;

const SAMPLE: &str = include_str!("data/intelmq/events.jsonl");
const FILE: &str = "events.jsonl";

fn parse(text: &str) -> (ParseSummary, Collected) {
    let mut sink = Collected::default();
    let summary = intelmq_jsonl::parse(text.as_bytes(), FILE, &mut sink).unwrap();
    (summary, sink)
}

fn byte_of_line(text: &str, n: usize) -> u64 {
    text.split_inclusive('\n')
        .take(n - 1)
        .map(|l| l.len() as u64)
        .sum()
}

fn written(events: &[&Event], options: &WriteOptions) -> String {
    let mut out = Vec::new();
    let lines = intelmq_jsonl::write_with(events.iter().copied(), &mut out, options).unwrap();
    assert_eq!(lines, events.len() as u64);
    String::from_utf8(out).unwrap()
}

#[test]
fn sample_events_are_read_and_harmonized() {
    let (summary, sink) = parse(SAMPLE);
    assert_eq!(
        summary,
        ParseSummary {
            records: 9,
            events: 4,
            rejected: 5
        }
    );
    let lines: Vec<u64> = sink.events.iter().map(|(_, at)| at.line).collect();
    assert_eq!(lines, [1, 2, 3, 5]);
    for (_, at) in &sink.events {
        assert_eq!(at.byte, byte_of_line(SAMPLE, at.line as usize));
    }
    let json: Vec<_> = sink.events.iter().map(|(e, _)| e.to_json_value()).collect();
    assert_eq!(
        json[1],
        json!({
            "classification.type": "brute-force",
            "destination.port": 2222,
            "extra.attempts": 17,
            "extra.tags": ["ssh", "bot"],
            "extra.username": "root",
            "raw": "cm9vdDoxMjM0NTY=",
            "source.ip": "2001:db8::1",
            "time.source": "2024-05-01T12:00:01+00:00",
            "tlp": "AMBER+STRICT",
        })
    );
    assert_eq!(
        json[3],
        json!({
            "classification.type": "vulnerable-system",
            "comment": "line 5 is the last valid one",
            "protocol.transport": "tcp",
            "source.fqdn": "mail.example.com",
            "source.network": "198.51.100.0/24",
            "source.registry": "RIPE",
            "tlp": "RED",
        })
    );
    assert_eq!(json[2]["tlp"], "AMBER");
    assert_eq!(json[0]["tlp"], "CLEAR");
    assert!(json[0].get("__type").is_none());
}

#[test]
fn bad_lines_are_rejected_with_location_and_every_field() {
    let (_, sink) = parse(SAMPLE);
    let got: Vec<(u64, u64, &str)> = sink
        .errors
        .iter()
        .map(|e| (e.location.line, e.location.byte, e.reason.as_str()))
        .collect();
    let at = |n| byte_of_line(SAMPLE, n);
    assert_eq!(
        got,
        [
            (
                6,
                at(6),
                "not valid JSON: EOF while parsing a value at line 1 column 26"
            ),
            (7, at(7), "not a JSON object"),
            (
                8,
                at(8),
                concat!(
                    r#"classification.type: "no-such-type" is not a known classification type (RSIT); "#,
                    r#"source.ip: "192.0.2.300" is not a valid IP address; "#,
                    r#"source.port: "ssh" is not an integer"#,
                )
            ),
            (
                9,
                at(9),
                r#"__type: "Report" is not an IntelMQ Event (only events can be read)"#
            ),
            (
                10,
                at(10),
                concat!(
                    r#"extra.Bad Key: 1 is under an invalid extra key (use extra. and lowercase letters, digits, _ and .); "#,
                    r#"raw: "not base64!" is not valid Base64"#,
                )
            ),
        ]
    );
    assert_eq!(
        sink.errors[1].to_string(),
        format!("events.jsonl: line 7 (byte {}): not a JSON object", at(7))
    );
}

#[test]
fn writes_sorted_lines_and_round_trips() {
    let (_, sink) = parse(SAMPLE);
    let events: Vec<&Event> = sink.events.iter().map(|(e, _)| e).collect();
    let out = written(&events, &WriteOptions::default());
    let first = out.lines().next().unwrap();
    assert_eq!(
        first,
        concat!(
            r#"{"classification.taxonomy":"information-gathering","classification.type":"scanner","#,
            r#""feed.name":"Shadowserver Scan-SSH","source.asn":64496,"source.ip":"192.0.2.1","#,
            r#""source.port":22,"time.source":"2024-05-01T12:00:00+00:00","tlp":"CLEAR"}"#
        )
    );
    let (summary, again) = parse(&out);
    assert_eq!((summary.events, summary.rejected), (4, 0));
    let again: Vec<&Event> = again.events.iter().map(|(e, _)| e).collect();
    assert_eq!(again, events);
    assert_eq!(written(&again, &WriteOptions::default()), out);
}

#[test]
fn issue_22_item_19_tlp_1_output_never_widens_amber_strict() {
    let (_, sink) = parse(SAMPLE);
    let events: Vec<&Event> = sink.events.iter().map(|(e, _)| e).collect();
    let out = written(
        &events,
        &WriteOptions {
            intelmq_tlp_1: true,
        },
    );
    let (_, again) = parse(&out);
    let tlp: Vec<_> = again
        .events
        .iter()
        .map(|(e, _)| e.get("tlp").unwrap().to_json())
        .collect();
    // WHITE reads back as CLEAR; AMBER+STRICT becomes RED, never the wider AMBER.
    assert_eq!(
        tlp,
        [json!("CLEAR"), json!("RED"), json!("AMBER"), json!("RED")]
    );
    let raw: Vec<_> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["tlp"].clone())
        .collect();
    assert_eq!(
        raw,
        [json!("WHITE"), json!("RED"), json!("AMBER"), json!("RED")]
    );
}

#[test]
fn empty_and_blank_input() {
    let (summary, _) = parse("");
    assert_eq!(summary, ParseSummary::default());
    let (summary, _) = parse("\n  \r\n\n");
    assert_eq!(summary, ParseSummary::default());
}

// --- IntelMQ itself ------------------------------------------------------------------------

/// Adds every field with `sanitize=False`, as IntelMQ does for messages it receives, so a value
/// is accepted only if it is already in IntelMQ's canonical form. Prints each rejected field.
const CHECK: &str = r#"
import json, sys, importlib.resources
from intelmq.lib import message
harm = json.loads((importlib.resources.files("intelmq") / "etc" / "harmonization.conf").read_text())
bad = n = 0
for n, line in enumerate(sys.stdin, 1):
    ev = message.Event(harmonization=harm)
    for key, value in json.loads(line).items():
        try:
            ev.add(key, value, sanitize=False)
        except Exception as e:
            bad += 1
            print(f"line {n}: {key}={value!r}: {type(e).__name__}: {e}")
print(f"checked {n} events, {bad} rejected fields")
sys.exit(1 if bad else 0)
"#;

fn python() -> Option<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates = std::env::var_os("FIREWATCH_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            manifest.join("../../target/py-venv/bin/python"),
            manifest.join("../../../target/py-venv/bin/python"),
        ]);
    for python in candidates {
        let ok = Command::new(&python)
            .args(["-c", "import intelmq.lib.message"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(python);
        }
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but no Python with IntelMQ (set FIREWATCH_PYTHON or run scripts/test.sh)");
    }
    eprintln!(
        "\n!!! SKIPPED: IntelMQ compatibility check: no Python with IntelMQ \
         (set FIREWATCH_PYTHON or run scripts/test.sh) !!!\n"
    );
    None
}

/// Runs IntelMQ over `jsonl`; returns whether it accepted every field, and its report.
fn intelmq_accepts(python: &PathBuf, jsonl: &str) -> (bool, String) {
    let mut child = Command::new(python)
        .args(["-c", CHECK])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(jsonl.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), report)
}

#[test]
fn intelmq_accepts_our_tlp_1_output() {
    let Some(python) = python() else { return };
    let (_, sink) = parse(SAMPLE);
    let events: Vec<&Event> = sink.events.iter().map(|(e, _)| e).collect();
    let tlp1 = written(
        &events,
        &WriteOptions {
            intelmq_tlp_1: true,
        },
    );
    let (ok, report) = intelmq_accepts(&python, &tlp1);
    assert!(ok, "{report}");
    assert!(
        report.contains("checked 4 events, 0 rejected fields"),
        "{report}"
    );

    // Without the option, TLP 2.0 levels are ours alone: IntelMQ 3.5 rejects them.
    let tlp2 = written(&events, &WriteOptions::default());
    let (ok, report) = intelmq_accepts(&python, &tlp2);
    assert!(!ok, "{report}");
    assert!(report.contains("line 1: tlp='CLEAR'"), "{report}");
    assert!(report.contains("line 2: tlp='AMBER+STRICT'"), "{report}");
    assert!(report.contains("2 rejected fields"), "{report}");
}

#[test]
fn intelmq_accepts_cowrie_events() {
    let Some(python) = python() else { return };
    let log = include_str!("data/cowrie/cowrie.json");
    let mut sink = Collected::default();
    let options = CowrieOptions {
        keep_passwords: true,
        ..CowrieOptions::default()
    };
    cowrie::parse(log.as_bytes(), "cowrie.json", &options, &mut sink).unwrap();
    let events: Vec<&Event> = sink.events.iter().map(|(e, _)| e).collect();
    assert_eq!(events.len(), 15);
    let (ok, report) = intelmq_accepts(&python, &written(&events, &WriteOptions::default()));
    assert!(ok, "{report}");
    assert!(
        report.contains("checked 15 events, 0 rejected fields"),
        "{report}"
    );
}

/// Issue 22, item 19: a JSON line over `MAX_RECORD_BYTES` is rejected with its place, not
/// stored; the lines around it are kept.
#[test]
fn issue_22_item_19_an_oversized_line_is_rejected_with_its_place() {
    let small = r#"{"source.ip": "192.0.2.1", "classification.type": "scanner"}"#;
    let huge = format!(
        r#"{{"source.ip": "192.0.2.2", "comment": "{}"}}"#,
        "x".repeat(firewatch_core::input::MAX_RECORD_BYTES)
    );
    let text = format!("{small}\n{huge}\n{small}\n");
    let (summary, sink) = parse(&text);
    assert_eq!(
        (summary.records, summary.events, summary.rejected),
        (3, 2, 1)
    );
    assert_eq!(sink.errors[0].location.line, 2);
    assert_eq!(sink.errors[0].location.byte, small.len() as u64 + 1);
}
