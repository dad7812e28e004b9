//! Issue 16, item 6: what an analyst expects of a listing. A table cut at its row limit says
//! so, with the true count where it is known; `inputs list` speaks of formats, not Rust
//! structs; every listing's JSON gives times as RFC 3339 UTC strings (a number only where the
//! field's name gives its unit); a user's team must be one the team directory knows.

mod common;

use common::Sandbox;
use serde_json::Value;

fn example_teams() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/teams.toml")
}

/// A store holding one synthetic capture (named `a.pcap`).
fn ingested(sb: &Sandbox, db: &str) {
    sb.synth("a.pcap", 20_000, &[]);
    sb.cmd(db)
        .args(["ingest", "pcap"])
        .arg(sb.path("a.pcap"))
        .assert()
        .success();
}

fn run(sb: &Sandbox, db: &str, args: &[&str]) -> (String, String) {
    let out = sb.cmd(db).args(args).output().expect("run");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).expect("utf-8"),
        String::from_utf8(out.stderr).expect("utf-8"),
    )
}

/// 2385 as "2,385", as the footer writes counts.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn rows(v: &Value) -> usize {
    v.as_array().expect("a JSON array").len()
}

#[test]
fn a_table_cut_at_its_limit_says_how_many_rows_there_are() {
    let sb = Sandbox::new();
    ingested(&sb, "s.db");

    // Counted in full: ports (the store groups them all anyway) and inputs.
    let ports = rows(&sb.json("s.db", &["ports", "top", "--limit", "1000000"]));
    assert!(ports > 20, "the capture should reach more than 20 ports");
    let (out, err) = run(&sb, "s.db", &["ports", "top", "--limit", "3"]);
    assert_eq!(out.lines().count(), 4, "a header and 3 rows:\n{out}");
    let footer = format!(
        "… 3 of {} rows shown; --limit N or --json for all",
        thousands(ports)
    );
    assert!(err.contains(&footer), "want {footer:?} in {err:?}");
    // The default limit (20) says so too.
    let (_, err) = run(&sb, "s.db", &["ports", "top"]);
    assert!(
        err.contains(&format!("… 20 of {} rows shown", thousands(ports))),
        "{err:?}"
    );
    // --json is all of them.
    assert_eq!(rows(&sb.json("s.db", &["ports", "top"])), ports);

    // Sources are too many to count: one more than shown tells that more exist.
    let sources = rows(&sb.json("s.db", &["sources", "list"]));
    assert!(sources > 2);
    let (out, err) = run(&sb, "s.db", &["sources", "list", "--limit", "2"]);
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(
        err.contains("… 2 rows shown, more rows exist; --limit N or --json for all"),
        "{err:?}"
    );
    // Exactly at the limit nothing is left out, so nothing is said.
    let (_, err) = run(
        &sb,
        "s.db",
        &["sources", "list", "--limit", &sources.to_string()],
    );
    assert!(!err.contains("rows shown"), "{err:?}");

    let attacks = rows(&sb.json("s.db", &["attacks", "list"]));
    assert!(attacks > 1, "the capture should hold backscatter");
    let (_, err) = run(&sb, "s.db", &["attacks", "list", "--limit", "1"]);
    assert!(err.contains("… 1 rows shown, more rows exist"), "{err:?}");

    // inputs list honours --limit and counts what it left out.
    second_sensor(&sb, "s.db");
    let (out, err) = run(&sb, "s.db", &["inputs", "list", "--limit", "1"]);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(err.contains("… 1 of 2 rows shown"), "{err:?}");
}

/// Adds `b.pcap.gz`, another sensor's capture of the same time.
fn second_sensor(sb: &Sandbox, db: &str) {
    sb.synth("b.pcap.gz", 2_000, &["--seed", "7", "--gzip"]);
    sb.cmd(db)
        .args(["ingest", "pcap", "--allow-overlap"])
        .arg(sb.path("b.pcap.gz"))
        .assert()
        .success();
}

#[test]
fn inputs_list_names_formats_not_rust_structs() {
    let sb = Sandbox::new();
    ingested(&sb, "s.db");
    let (table, _) = run(&sb, "s.db", &["inputs", "list"]);
    let json = run(&sb, "s.db", &["inputs", "list", "--json"]).0;
    for text in [&table, &json] {
        assert!(!text.contains("CaptureFormat {"), "{text}");
        assert!(!text.contains("Some("), "{text}");
        assert!(!text.contains("LinkType("), "{text}");
    }
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME", "HASH", "FORMAT", "FRAMES", "PACKETS", "FIRST", "LAST", "STATUS"
        ]
    );
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row[2], "pcap", "{table}");
    assert_eq!(row[7], "complete", "{table}");

    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[0]["format"], "pcap");
    assert_eq!(v[0]["format_detail"]["container"], "pcap");
    assert_eq!(v[0]["format_detail"]["gzip"], false);

    second_sensor(&sb, "s.db");
    let (table, _) = run(&sb, "s.db", &["inputs", "list"]);
    assert!(
        table
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .any(|row| row[0].ends_with("b.pcap.gz") && row[2] == "pcap.gz"),
        "{table}"
    );
}

/// Field names that hold a time and say no unit.
fn is_time_name(key: &str) -> bool {
    if key == "time" || key.starts_with("time.") {
        return true;
    }
    let key = key.rsplit('.').next().unwrap_or(key);
    key.ends_with("_at")
        || matches!(
            key,
            "start" | "end" | "first" | "last" | "first_seen" | "last_seen"
        )
}

/// Field names whose unit is in the name, so a number is fine.
fn says_its_unit(key: &str) -> bool {
    ["_ns", "_ms", "_s", "_secs", "_unix"]
        .iter()
        .any(|u| key.ends_with(u))
}

/// Every time in `v` is an RFC 3339 string (or null); returns how many there were.
fn check_times(what: &str, v: &Value) -> usize {
    match v {
        Value::Array(items) => items.iter().map(|i| check_times(what, i)).sum(),
        Value::Object(fields) => {
            let mut times = 0;
            for (key, value) in fields {
                if says_its_unit(key) {
                    continue;
                }
                if is_time_name(key) {
                    match value {
                        Value::Null => {}
                        Value::String(s) => {
                            s.parse::<jiff::Timestamp>().unwrap_or_else(|e| {
                                panic!("{what}: {key} = {s:?} is not RFC 3339: {e}")
                            });
                            times += 1;
                        }
                        other => panic!("{what}: {key} = {other} is not an RFC 3339 string"),
                    }
                } else {
                    times += check_times(what, value);
                }
            }
            times
        }
        _ => 0,
    }
}

#[test]
fn listings_give_json_times_as_rfc3339() {
    let sb = Sandbox::new();
    ingested(&sb, "s.db");
    sb.cmd("s.db")
        .args(["teams", "import"])
        .arg(example_teams())
        .assert()
        .success();
    sb.cmd("s.db")
        .args(["users", "add", "ana", "--team", "jp-example-cert"])
        .args(["--role", "member"])
        .assert()
        .success();
    let top = sb.json("s.db", &["sources", "list", "--limit", "1"]);
    let ip = top[0]["addr"].as_str().expect("a source").to_string();

    // Each listing with times must show at least one, as RFC 3339.
    for args in [
        &["inputs", "list"][..],
        &["sources", "list", "--limit", "5"],
        &["sources", "show", &ip],
        &["attacks", "list", "--limit", "5"],
        &["users", "list"],
    ] {
        let v = sb.json("s.db", args);
        let times = check_times(&args.join(" "), &v);
        assert!(times > 0, "{args:?} gives no RFC 3339 time: {v}");
    }
    // Listings without times of their own must not show a time as a bare number either.
    for args in [&["ports", "top"][..], &["teams", "list"]] {
        check_times(&args.join(" "), &sb.json("s.db", args));
    }
}

/// Alerts and tokens give their times as RFC 3339 too.
#[test]
fn alerts_and_tokens_give_json_times_as_rfc3339() {
    let sb = Sandbox::new();
    ingested(&sb, "s.db");
    sb.cmd("s.db")
        .args(["users", "add", "ana", "--team", "t", "--role", "member"])
        .assert()
        .success();
    sb.cmd("s.db")
        .args(["tokens", "create", "--user", "ana"])
        .assert()
        .success();
    for args in [&["alerts", "list"][..], &["tokens", "list"]] {
        check_times(&args.join(" "), &sb.json("s.db", args));
    }
}

#[test]
fn users_add_refuses_a_team_the_directory_does_not_know() {
    let sb = Sandbox::new();
    // No directory yet: nothing to check against, so accepted with a warning.
    let out = sb
        .cmd("s.db")
        .args([
            "users", "add", "ana", "--team", "nosuch", "--role", "member",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning: no team directory is stored"),
        "{err}"
    );

    sb.cmd("s.db")
        .args(["teams", "import"])
        .arg(example_teams())
        .assert()
        .success();
    let out = sb
        .cmd("s.db")
        .args(["users", "add", "bo", "--team", "nosuch", "--role", "member"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "an unknown team was accepted");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"nosuch\" is not in the team directory"),
        "{err}"
    );
    assert!(err.contains("known teams: "), "{err}");
    for id in ["ke-example-cirt", "jp-example-cert", "example-default-team"] {
        assert!(err.contains(id), "{id} not named in {err}");
    }
    let users = sb.json("s.db", &["users", "list"]);
    assert_eq!(rows(&users), 1, "bo was stored: {users}");

    // A known team is accepted without a warning.
    let out = sb
        .cmd("s.db")
        .args(["users", "add", "cy", "--team", "jp-example-cert"])
        .args(["--role", "member"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
}

#[test]
fn a_refusal_names_the_first_20_teams_and_counts_the_rest() {
    let sb = Sandbox::new();
    let mut toml = String::new();
    for i in 0..25 {
        toml.push_str(&format!(
            "[[teams]]\nid = \"team-{i:02}\"\nname = \"Team {i}\"\nkind = \"other\"\nmax_tlp = \"green\"\n\n[teams.constituency]\nasns = [{}]\n\n",
            64496 + i
        ));
    }
    std::fs::write(sb.path("teams.toml"), toml).unwrap();
    sb.cmd("s.db")
        .args(["teams", "import"])
        .arg(sb.path("teams.toml"))
        .assert()
        .success();
    let out = sb
        .cmd("s.db")
        .args(["users", "add", "bo", "--team", "nosuch", "--role", "member"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("team-00, team-01"), "{err}");
    assert!(err.contains("team-19"), "{err}");
    assert!(!err.contains("team-20"), "{err}");
    assert!(err.contains("…5 more"), "{err}");
}
