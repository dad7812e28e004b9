//! Labels, attacks and spikes scored against the generator's ground truth: precision and
//! recall are printed and asserted.

mod common;
use common::Sandbox;
use serde_json::Value;
use std::collections::HashMap;

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

#[test]
fn labels_attacks_and_spikes_match_the_ground_truth() {
    let sb = Sandbox::new();
    let truth = sb.synth("t.pcap", 400_000, &[]);
    sb.cmd("s.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("t.pcap"))
        .assert()
        .success();

    let sources = sb.json("s.db", &["sources", "list"]);
    let predicted: HashMap<String, String> = sources
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["addr"].as_str().unwrap().to_string(),
                s["label"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let true_labels: HashMap<String, String> = truth["sources"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        predicted.len(),
        true_labels.len(),
        "every generated source is in the store, and no other"
    );

    for label in [
        "mirai",
        "zmap",
        "masscan",
        "backscatter",
        "scanner",
        "other",
    ] {
        let truth_n = true_labels.values().filter(|l| *l == label).count() as f64;
        let found_n = predicted.values().filter(|l| *l == label).count() as f64;
        let correct = true_labels
            .iter()
            .filter(|(a, l)| *l == label && predicted.get(*a) == Some(*l))
            .count() as f64;
        let (p, r) = (correct / found_n.max(1.0), correct / truth_n.max(1.0));
        println!(
            "label {label:12} truth {truth_n:6} found {found_n:6} precision {p:.4} recall {r:.4} F1 {:.4}",
            f1(p, r)
        );
        assert!(truth_n > 0.0, "the generator plants {label} sources");
        if matches!(label, "mirai" | "zmap" | "masscan" | "backscatter") {
            assert!(f1(p, r) >= 0.99, "{label}: F1 {:.4} < 0.99", f1(p, r));
        }
    }

    let attacks = sb.json("s.db", &["attacks", "list"]);
    let true_attacks = truth["attacks"].as_array().unwrap();
    let overlaps = |a: &Value, t: &Value| {
        a["victim"] == t["victim"]
            && a["start_ns"].as_i64() <= t["end_ns"].as_i64()
            && t["start_ns"].as_i64() <= a["end_ns"].as_i64()
    };
    let found = attacks.as_array().unwrap();
    let p = found
        .iter()
        .filter(|a| true_attacks.iter().any(|t| overlaps(a, t)))
        .count() as f64
        / found.len().max(1) as f64;
    let r = true_attacks
        .iter()
        .filter(|t| found.iter().any(|a| overlaps(a, t)))
        .count() as f64
        / true_attacks.len().max(1) as f64;
    println!(
        "attacks truth {} found {} precision {p:.3} recall {r:.3}",
        true_attacks.len(),
        found.len()
    );
    assert!(!true_attacks.is_empty());
    assert!(p >= 0.99 && r >= 0.99, "attacks precision {p} recall {r}");

    let alerts = sb.json("s.db", &["alerts", "list"]);
    let spikes = truth["spikes"].as_array().unwrap();
    let interval = 60;
    let matches = |a: &Value, t: &Value| {
        a["proto"] == t["proto"]
            && a["port"] == t["port"]
            && (a["start"]
                .as_str()
                .unwrap()
                .parse::<jiff::Timestamp>()
                .unwrap()
                .as_second()
                - t["start_unix"].as_i64().unwrap())
            .abs()
                <= interval
    };
    // Single-source bursts are scored in tests/bursts.rs: spikes here are the port-wide kinds.
    let alerts: Vec<&Value> = alerts
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] != "single_source_burst")
        .collect();
    for a in &alerts {
        println!(
            "alert {} start {} magnitude {:.1} labels {}",
            a["id"],
            a["start"],
            a["magnitude"].as_f64().unwrap_or(0.0),
            a["label_mix"]
        );
    }
    let p = alerts
        .iter()
        .filter(|a| spikes.iter().any(|t| matches(a, t)))
        .count() as f64
        / alerts.len().max(1) as f64;
    let r = spikes
        .iter()
        .filter(|t| alerts.iter().any(|a| matches(a, t)))
        .count() as f64
        / spikes.len().max(1) as f64;
    println!(
        "spikes truth {} alerts {} precision {p:.3} recall {r:.3}",
        spikes.len(),
        alerts.len()
    );
    assert!(!spikes.is_empty());
    assert!(r >= 0.95, "spike recall {r}");
    assert!(p >= 0.9, "spike precision {p}");
    for t in spikes
        .iter()
        .filter(|t| t["new_campaign"].as_bool() == Some(true))
    {
        assert!(
            alerts
                .iter()
                .any(|a| matches(a, t) && a["kind"] == "new_campaign"),
            "the planted new campaign on port {} is reported as a new campaign",
            t["port"]
        );
    }
    // Each alert explains itself: top sources and a label mix.
    for a in &alerts {
        assert!(!a["top_sources"].as_array().unwrap().is_empty());
        assert!(!a["label_mix"].as_array().unwrap().is_empty());
    }
}
