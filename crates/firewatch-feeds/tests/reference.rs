//! Our field table and taxonomy, checked against the IntelMQ reference files in shared data.

use std::path::PathBuf;

use firewatch_core::harmonization::{EVENT_FIELDS, Pattern, event_field};
use firewatch_core::taxonomy::{CLASSIFICATION_TYPES, TAXONOMIES};

fn shared_data() -> PathBuf {
    std::env::var_os("FIREWATCH_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"))
        })
}

#[test]
fn field_table_matches_intelmq_harmonization() {
    let path = shared_data().join("intelmq/harmonization.conf");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let conf: serde_json::Value = serde_json::from_str(&text).unwrap();
    let events = conf["event"].as_object().unwrap();
    let ours: Vec<&str> = EVENT_FIELDS.iter().map(|s| s.name).collect();
    let theirs: Vec<&str> = events.keys().map(String::as_str).collect();
    let mut sorted = theirs.clone();
    sorted.sort_unstable();
    assert_eq!(ours, sorted, "field names differ");
    let mut is_sorted = ours.clone();
    is_sorted.sort_unstable();
    assert_eq!(ours, is_sorted, "EVENT_FIELDS must stay sorted for lookup");
    for (name, spec) in events {
        let mine = event_field(name).unwrap();
        assert_eq!(
            mine.ty.intelmq_name(),
            spec["type"].as_str().unwrap(),
            "{name}: type"
        );
        assert_eq!(
            mine.length,
            spec.get("length").map(|l| l.as_u64().unwrap() as usize),
            "{name}: length"
        );
        let expected: Option<(bool, &str)> = match (spec.get("regex"), spec.get("iregex")) {
            (Some(re), None) => Some((false, re.as_str().unwrap())),
            (None, Some(re)) => Some((true, re.as_str().unwrap())),
            (None, None) => None,
            _ => panic!("{name}: both regex and iregex"),
        };
        let mine_pattern = mine.pattern.map(|p| match p {
            Pattern::Regex(re) => (false, re),
            Pattern::IRegex(re) => (true, re),
        });
        assert_eq!(mine_pattern, expected, "{name}: pattern");
        let known_keys = ["description", "type", "length", "regex", "iregex"];
        for key in spec.as_object().unwrap().keys() {
            assert!(
                known_keys.contains(&key.as_str()),
                "{name}: unhandled rule {key}"
            );
        }
    }
}

#[test]
fn taxonomy_table_matches_rsit_file() {
    let path = shared_data().join("intelmq/classification-types.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("classification.type\tclassification.taxonomy")
    );
    let rows: Vec<(&str, &str)> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_once('\t').unwrap())
        .collect();
    assert_eq!(CLASSIFICATION_TYPES, rows.as_slice());
    let mut taxonomies: Vec<&str> = rows.iter().map(|(_, t)| *t).collect();
    taxonomies.sort_unstable();
    taxonomies.dedup();
    assert_eq!(TAXONOMIES, taxonomies.as_slice());
}
