//! Issue 16, item 2: attribution is no longer frozen at ingest. Importing a directory after a
//! capture gives the same store as importing it before; a second re-attribution changes
//! nothing; and what a listing says of a source agrees with `route`.

mod common;

use common::Sandbox;

#[test]
fn importing_the_directory_after_the_capture_equals_importing_it_before() {
    let sb = Sandbox::new();
    sb.synth("cap.pcap", 200_000, &[]);
    let teams = common::example_teams();
    let ingest = |db: &str| {
        sb.cmd(db)
            .args(["ingest", "pcap"])
            .arg(sb.path("cap.pcap"))
            .assert()
            .success();
    };
    let import = |db: &str| {
        sb.cmd(db)
            .args(["teams", "import"])
            .arg(&teams)
            .assert()
            .success();
    };
    // Feed events too: an address in Japan and one elsewhere.
    let events = sb.path("events.jsonl");
    std::fs::write(
        &events,
        "{\"source.ip\": \"61.86.30.75\", \"classification.type\": \"scanner\", \"time.source\": \"2026-11-02T01:00:00+00:00\", \"tlp\": \"GREEN\"}\n\
         {\"source.ip\": \"8.8.8.8\", \"classification.type\": \"scanner\", \"time.source\": \"2026-11-02T01:00:00+00:00\", \"tlp\": \"GREEN\"}\n",
    )
    .unwrap();
    let feed = |db: &str| {
        sb.cmd(db)
            .args(["feeds", "ingest"])
            .arg(&events)
            .assert()
            .success();
    };
    // Before: the directory is there when the capture and the report come.
    import("before.db");
    ingest("before.db");
    feed("before.db");
    // After: the capture and the report first, routed to nobody; then the directory.
    ingest("after.db");
    feed("after.db");
    let unrouted = sb.json("after.db", &["alerts", "list", "--team", "jp-example-cert"]);
    assert_eq!(
        unrouted,
        serde_json::json!([]),
        "nothing is routed before the import"
    );
    import("after.db");

    // Equal but for when each directory was imported (part of the data version).
    let after = without_data_version(sb.dump("after.db"));
    let before = without_data_version(sb.dump("before.db"));
    assert!(after == before, "the stores differ");
    let exported = |db: &str| {
        let out = sb.cmd(db).args(["events", "export"]).output().unwrap();
        let mut lines: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    };
    let routed_events = exported("after.db");
    assert_eq!(
        routed_events,
        exported("before.db"),
        "events are routed alike"
    );
    assert!(
        routed_events
            .iter()
            .any(|l| l.contains("61.86.30.75") && l.contains("jp-example-cert")),
        "the report's Japanese address is routed to JP's team"
    );
    let routed = sb.json("after.db", &["alerts", "list", "--team", "jp-example-cert"]);
    assert!(
        !routed.as_array().unwrap().is_empty(),
        "JP's sources are routed now"
    );

    // A second run changes nothing.
    let again = sb.json("after.db", &["reattribute"]);
    assert_eq!(again["sources_changed"], 0, "{again}");
    assert_eq!(again["attacks_changed"], 0, "{again}");
    assert_eq!(again["events_changed"], 0, "{again}");
    assert!(again["sources"].as_u64().unwrap() > 0);
    // It says which data it used: the registry dataset and the directory import.
    let version = again["data_version"].as_str().unwrap();
    assert!(version.contains("+teams@"), "{again}");
    let source = &sb.json("after.db", &["sources", "list", "--limit", "1"])[0];
    assert_eq!(source["data_version"], version, "{source}");

    // --since: only the records seen then or later, counted independently from the listing.
    let none = sb.json("after.db", &["reattribute", "--since", "2099-01-01"]);
    for field in ["sources", "attacks", "events"] {
        assert_eq!(none[field], 0, "{none}");
    }
    let listed = sb.json("after.db", &["sources", "list"]);
    let mut last_seen: Vec<i64> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["last_seen_ns"].as_i64().unwrap())
        .collect();
    last_seen.sort_unstable();
    let middle = last_seen[last_seen.len() / 2].div_euclid(1_000_000_000);
    let expected = last_seen
        .iter()
        .filter(|&&ns| ns >= middle * 1_000_000_000)
        .count();
    let part = sb.json("after.db", &["reattribute", "--since", &middle.to_string()]);
    assert_eq!(part["sources"], expected as u64, "{part}");
    assert!(expected > 0 && expected < last_seen.len());
    assert_eq!(part["sources_changed"], 0, "{part}");

    // A team's and a country's own view of the listings (issue 16, item 5).
    for (args, field, value) in [
        (
            ["sources", "list", "--team", "jp-example-cert"],
            "team",
            "jp-example-cert",
        ),
        (["sources", "list", "--country", "jp"], "country", "JP"),
        (
            ["attacks", "list", "--team", "example-default-team"],
            "team",
            "example-default-team",
        ),
    ] {
        let rows = sb.json("after.db", &args);
        let rows = rows.as_array().unwrap();
        assert!(!rows.is_empty(), "{args:?}");
        assert!(rows.iter().all(|r| r[field] == value), "{args:?}");
    }
    let all = sb.json("after.db", &["sources", "list"]);
    let jp = sb.json(
        "after.db",
        &["sources", "list", "--team", "jp-example-cert"],
    );
    assert!(jp.as_array().unwrap().len() < all.as_array().unwrap().len());

    // A source's stored team is the one `route` names.
    let sources = sb.json("after.db", &["sources", "list", "--limit", "50"]);
    for s in sources.as_array().unwrap() {
        let addr = s["addr"].as_str().unwrap();
        let route = sb.json("after.db", &["route", addr]);
        assert_eq!(s["team"], route["team"], "{addr}: {route}");
    }
}

/// `value` without its `data_version` fields (they name the directory's import time).
fn without_data_version(mut value: serde_json::Value) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                map.remove("data_version");
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut value);
    value
}
