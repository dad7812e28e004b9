//! `firewatch store stats` (issue 17): its row counts are those the listings count, its times
//! lie within the capture's span, and its bytes come from SQLite's `dbstat`. (The PostgreSQL
//! report is checked against the same listings by the store's conformance suite.)

mod common;
use common::Sandbox;
use serde_json::Value;

/// Unix seconds of an RFC 3339 time.
fn seconds(t: &Value) -> i64 {
    t.as_str()
        .unwrap_or_else(|| panic!("not a time: {t}"))
        .parse::<jiff::Timestamp>()
        .unwrap_or_else(|e| panic!("{t}: {e}"))
        .as_second()
}

#[test]
fn stats_count_what_the_listings_list_within_the_capture_span() {
    let sb = Sandbox::new();
    sb.synth("c.pcap", 100_000, &[]);
    sb.cmd("s.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("c.pcap"))
        .assert()
        .success();
    let stats = sb.json("s.db", &["store", "stats"]);
    let tables = stats["tables"].as_array().expect("tables");
    let table = |name: &str| {
        tables
            .iter()
            .find(|t| t["table"] == name)
            .unwrap_or_else(|| panic!("no table {name} in {stats}"))
    };
    let rows = |name: &str| table(name)["rows"].as_u64().expect("rows");
    let listed = |args: &[&str]| sb.json("s.db", args).as_array().expect("a list").len() as u64;
    assert_eq!(rows("sources"), listed(&["sources", "list"]));
    assert_eq!(rows("attacks"), listed(&["attacks", "list"]));
    assert_eq!(rows("inputs"), listed(&["inputs", "list"]));
    assert!(rows("sources") > 0 && rows("port_intervals") > 0 && rows("inputs") == 1);

    // The capture's span, as the input records it.
    let input = &sb.json("s.db", &["inputs", "list"])[0];
    let first = input["first_ns"]
        .as_i64()
        .unwrap()
        .div_euclid(1_000_000_000);
    let last = input["last_ns"].as_i64().unwrap().div_euclid(1_000_000_000);
    assert!(first < last);
    for name in ["sources", "attacks", "inputs", "port_intervals"] {
        let t = table(name);
        let (oldest, newest) = (seconds(&t["oldest"]), seconds(&t["newest"]));
        // A port interval starts at or before its first packet (one interval at most).
        let floor = if name == "port_intervals" {
            first - 3600
        } else {
            first
        };
        assert!(
            floor <= oldest && oldest <= newest && newest <= last,
            "{name}: {oldest}..{newest} outside the capture's {first}..{last}"
        );
    }
    assert_eq!(seconds(&table("inputs")["oldest"]), first);
    assert_eq!(seconds(&table("inputs")["newest"]), last);
    assert!(
        table("users")["oldest"].is_null(),
        "users are not time-keyed"
    );

    // Bytes: per table from dbstat (the bundled SQLite has it), and the file's figures.
    assert_eq!(stats["bytes_per_table"], "dbstat");
    for name in ["sources", "port_intervals", "inputs"] {
        assert!(
            table(name)["bytes"].as_u64().unwrap() > 0,
            "{name} has no bytes"
        );
    }
    let page_size = stats["page_size"].as_u64().unwrap();
    let pages = stats["page_count"].as_u64().unwrap();
    let per_table: u64 = tables.iter().map(|t| t["bytes"].as_u64().unwrap()).sum();
    assert!(per_table > 0 && per_table <= page_size * pages);
    assert!(stats["file_bytes"].as_u64().unwrap() > 0);
    assert_eq!(stats["journal_mode"], "wal");
    // The backend's name and where the store is; TOTAL is every page of the file.
    assert_eq!(stats["backend"], "sqlite");
    assert!(
        stats["location"].as_str().unwrap().ends_with("s.db"),
        "{stats}"
    );
    assert_eq!(stats["total_bytes"].as_u64().unwrap(), page_size * pages);
    assert!(
        stats.get("server_version").is_none(),
        "no PostgreSQL figures"
    );

    // The table for people ends with the total line.
    let out = sb.cmd("s.db").args(["store", "stats"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("TABLE"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("TOTAL")), "{text}");
}

#[test]
fn stats_of_a_missing_store_fail_and_create_nothing() {
    let sb = Sandbox::new();
    let out = sb.cmd("none.db").args(["store", "stats"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no store"));
    assert!(!sb.path("none.db").exists());
}
