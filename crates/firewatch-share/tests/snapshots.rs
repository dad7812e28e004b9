//! The exports' text, pinned: a change to an id, a marking or a property shows up in review.

use firewatch_core::Event;
use firewatch_share::{Finding, Producer, misp, stix::Exporter};

fn findings() -> Vec<Finding> {
    let lines = [
        r#"{"source.ip": "192.0.2.1", "source.port": 40000, "destination.port": 23, "protocol.transport": "tcp", "classification.type": "scanner", "time.source": "2026-01-01T00:00:00+00:00", "tlp": "GREEN", "feed.name": "scan-telnet"}"#,
        r#"{"source.ip": "198.51.100.9", "classification.type": "ddos", "extra.role": "victim", "time.source": "2026-01-02T01:00:00+00:00", "tlp": "AMBER+STRICT", "feed.name": "Firewatch-Darknet", "extra.owner": "cert-a"}"#,
    ];
    lines
        .iter()
        .map(|l| {
            let mut e = Event::from_intelmq_json(l).unwrap();
            e.fill_taxonomy();
            let t = e
                .get("time.source")
                .and_then(|v| v.as_str())
                .unwrap()
                .parse::<jiff::Timestamp>()
                .unwrap()
                .as_second();
            Finding::from_event(e, t)
        })
        .collect()
}

#[test]
fn stix_bundle() {
    insta::assert_json_snapshot!(Exporter::new("CERT-Example").bundle(&findings()));
}

#[test]
fn misp_feed() {
    let feed = misp::feed(&Producer::named("CERT-Example"), &findings());
    insta::assert_json_snapshot!("misp_manifest", feed.manifest);
    insta::assert_json_snapshot!(
        "misp_events",
        feed.events.iter().map(|e| &e.json).collect::<Vec<_>>()
    );
    insta::assert_debug_snapshot!("misp_hashes", feed.hashes);
}
