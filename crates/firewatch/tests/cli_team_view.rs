//! Issue 16, items 5 and 6 on the command line: one team's (or one country's) view of the
//! feed events, an address seen by the telescope together with the feed events about it,
//! footers on every listing cut at its limit, and a port chart of packets and unique sources
//! that leaves no file behind when it fails.

mod common;

use common::Sandbox;
use serde_json::Value;

/// A telescope routed to the example teams (`s.db`), whose findings are events too.
fn telescope() -> Sandbox {
    let sb = Sandbox::new();
    sb.routed_telescope("s.db", 20_000, &[]);
    sb
}

fn run(sb: &Sandbox, args: &[&str]) -> (String, String) {
    let out = sb.cmd("s.db").args(args).output().expect("run");
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

/// Runs a command that must fail; returns its standard error.
fn refused(sb: &Sandbox, args: &[&str]) -> String {
    let out = sb.cmd("s.db").args(args).output().expect("run");
    assert!(
        !out.status.success(),
        "{args:?} succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).expect("utf-8")
}

fn array(v: &Value) -> &Vec<Value> {
    v.as_array().expect("a JSON array")
}

/// The most frequent value of `field` among `events`.
fn commonest(events: &[Value], field: &str) -> String {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for e in events {
        if let Some(v) = e[field].as_str() {
            *counts.entry(v.to_string()).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(v, _)| v)
        .unwrap_or_else(|| panic!("no event has {field}"))
}

#[test]
fn events_list_shows_one_teams_or_one_countrys_events() {
    let sb = telescope();
    let all = sb.json("s.db", &["events", "list"]);
    let all = array(&all);
    assert!(all.len() > 3, "the telescope's findings should be events");

    let team = commonest(all, "extra.team");
    let mine = sb.json("s.db", &["events", "list", "--team", &team]);
    let mine = array(&mine);
    assert!(!mine.is_empty());
    assert!(
        mine.iter().all(|e| e["extra.team"] == team.as_str()),
        "{mine:?}"
    );
    let want = all
        .iter()
        .filter(|e| e["extra.team"] == team.as_str())
        .count();
    assert_eq!(mine.len(), want, "every event of {team}, and only those");

    // Applied by the store before the limit, not to a cut list: the limit counts the team's.
    let (out, err) = run(&sb, &["events", "list", "--team", &team, "--limit", "1"]);
    assert_eq!(out.lines().count(), 2, "{out}");
    if want > 1 {
        let footer = format!("… 1 of {want} rows shown; --limit N or --json for all");
        assert!(err.contains(&footer), "want {footer:?} in {err:?}");
    }

    let cc = commonest(all, "source.geolocation.cc");
    let lower = cc.to_ascii_lowercase();
    let theirs = sb.json("s.db", &["events", "list", "--country", &lower]);
    let theirs = array(&theirs);
    let want = all
        .iter()
        .filter(|e| e["source.geolocation.cc"] == cc.as_str())
        .count();
    assert!(want > 0);
    assert_eq!(theirs.len(), want);
    assert!(
        theirs
            .iter()
            .all(|e| e["source.geolocation.cc"] == cc.as_str())
    );

    // Both, and with --where: all of them hold.
    let both = sb.json(
        "s.db",
        &[
            "events",
            "list",
            "--team",
            &team,
            "--country",
            &cc,
            "--where",
            "source.ip exists",
        ],
    );
    assert!(array(&both).iter().all(|e| {
        e["extra.team"] == team.as_str() && e["source.geolocation.cc"] == cc.as_str()
    }));

    // events stats takes them too.
    let stats = sb.json(
        "s.db",
        &["events", "stats", "--by", "extra.team", "--team", &team],
    );
    assert_eq!(array(&stats).len(), 1, "{stats}");
    assert_eq!(stats[0]["extra.team"], team.as_str());
}

#[test]
fn an_unknown_team_or_a_bad_country_is_refused() {
    let sb = telescope();
    let err = refused(&sb, &["events", "list", "--team", "nosuch"]);
    assert!(
        err.contains("\"nosuch\" is not in the team directory"),
        "{err}"
    );
    assert!(err.contains("known teams: "), "{err}");
    for id in ["ke-example-cirt", "jp-example-cert", "example-default-team"] {
        assert!(err.contains(id), "{id} not named in {err}");
    }
    let err = refused(&sb, &["events", "stats", "--by", "tlp", "--team", "nosuch"]);
    assert!(err.contains("known teams: "), "{err}");

    for args in [
        &["events", "list", "--country", "JPN"][..],
        &["events", "list", "--country", "1"],
        &["sources", "list", "--country", "Japan"],
        &["attacks", "list", "--country", "J"],
        &["alerts", "list", "--country", "J1"],
    ] {
        let err = refused(&sb, args);
        assert!(err.contains("is not a country code"), "{args:?}: {err}");
    }
}

#[test]
fn sources_show_joins_the_telescope_and_the_feed_events_about_an_address() {
    let sb = telescope();
    let top = sb.json("s.db", &["sources", "list", "--limit", "2"]);
    let ip = top[0]["addr"].as_str().expect("a source").to_string();
    let other = top[1]["addr"].as_str().expect("a source").to_string();

    // Nothing from the feeds yet (the telescope's own findings are not feed events).
    let before = sb.json("s.db", &["sources", "show", &ip]);
    assert_eq!(before["seen_by_telescope"], true);
    assert_eq!(before["feed_events"]["count"], 0, "{before}");

    let line = |ip: &str, feed: &str, ty: &str, tlp: &str, time: &str| {
        format!(
            r#"{{"__type":"Event","feed.name":"{feed}","classification.type":"{ty}","source.ip":"{ip}","tlp":"{tlp}","time.source":"{time}"}}"#
        )
    };
    let lines = [
        line(
            &ip,
            "partner-a",
            "scanner",
            "GREEN",
            "2026-11-20T10:00:00+00:00",
        ),
        line(
            &ip,
            "partner-b",
            "brute-force",
            "AMBER",
            "2026-11-21T11:00:00+00:00",
        ),
        line(
            &ip,
            "partner-a",
            "infected-system",
            "CLEAR",
            "2026-11-19T09:00:00+00:00",
        ),
        line(
            &other,
            "partner-a",
            "scanner",
            "GREEN",
            "2026-11-22T00:00:00+00:00",
        ),
    ]
    .join("\n");
    sb.cmd("s.db")
        .args(["feeds", "ingest", "-", "--format", "intelmq"])
        .args(["--stdin-name", "partner.jsonl"])
        .write_stdin(lines)
        .assert()
        .success();

    let shown = sb.json("s.db", &["sources", "show", &ip]);
    assert_eq!(shown["addr"], ip.as_str(), "the telescope's profile stays");
    assert!(shown["packets"].as_u64().unwrap() > 0);
    let feed = &shown["feed_events"];
    assert_eq!(feed["count"], 3, "{shown}");
    let latest = array(&feed["latest"]);
    assert_eq!(latest.len(), 3);
    // Newest first, times as RFC 3339 UTC.
    assert_eq!(latest[0]["time"], "2026-11-21T11:00:00Z");
    assert_eq!(latest[0]["feed"], "partner-b");
    assert_eq!(latest[0]["classification.type"], "brute-force");
    assert_eq!(latest[0]["tlp"], "AMBER");
    assert_eq!(latest[2]["time"], "2026-11-19T09:00:00Z");

    let (out, err) = run(&sb, &["sources", "show", &ip, "--events", "2"]);
    assert!(out.contains(&format!("source      {ip}")), "{out}");
    assert!(out.contains("feed events 3"), "{out}");
    let rows: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("TIME"))
        .skip(1)
        .collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(rows[0].contains("partner-b") && rows[0].contains("brute-force"));
    assert!(rows[1].contains("partner-a") && rows[1].contains("scanner"));
    assert!(
        err.contains("… 2 of 3 rows shown; --events N for more"),
        "{err}"
    );

    // An address only the feeds know is shown too, and said to be unseen by the telescope.
    sb.cmd("s.db")
        .args(["feeds", "ingest", "-", "--format", "intelmq"])
        .args(["--stdin-name", "more.jsonl"])
        .write_stdin(line(
            "192.0.2.250",
            "partner-c",
            "scanner",
            "GREEN",
            "2026-11-20T10:00:00+00:00",
        ))
        .assert()
        .success();
    let only_feeds = sb.json("s.db", &["sources", "show", "192.0.2.250"]);
    assert_eq!(only_feeds["seen_by_telescope"], false, "{only_feeds}");
    assert_eq!(only_feeds["feed_events"]["count"], 1);
    let err = refused(&sb, &["sources", "show", "192.0.2.251"]);
    assert!(err.contains("has not been seen by the telescope"), "{err}");
}

#[test]
fn event_and_feed_listings_say_what_their_limit_left_out() {
    let sb = telescope();
    let events = array(&sb.json("s.db", &["events", "list"])).len();
    assert!(events > 2);
    let (out, err) = run(&sb, &["events", "list", "--limit", "2"]);
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(
        err.contains(&format!(
            "… 2 of {events} rows shown; --limit N or --json for all"
        )),
        "{err}"
    );
    let (_, err) = run(&sb, &["events", "list", "--limit", &events.to_string()]);
    assert!(!err.contains("rows shown"), "{err}");

    let groups = array(&sb.json("s.db", &["events", "stats", "--by", "source.ip"])).len();
    assert!(groups > 1);
    let (out, err) = run(
        &sb,
        &["events", "stats", "--by", "source.ip", "--limit", "1"],
    );
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        err.contains(&format!("… 1 of {groups} rows shown")),
        "{err}"
    );

    // The telescope's findings are an input already; two more.
    let before = array(&sb.json("s.db", &["feeds", "inputs"])).len();
    for (name, body) in [
        (
            "a.jsonl",
            r#"{"feed.name":"a","classification.type":"scanner","source.ip":"192.0.2.1"}"#,
        ),
        (
            "b.jsonl",
            r#"{"feed.name":"b","classification.type":"scanner","source.ip":"192.0.2.2"}"#,
        ),
    ] {
        sb.cmd("s.db")
            .args([
                "feeds",
                "ingest",
                "-",
                "--format",
                "intelmq",
                "--stdin-name",
                name,
            ])
            .write_stdin(body)
            .assert()
            .success();
    }
    let inputs = sb.json("s.db", &["feeds", "inputs"]);
    let total = array(&inputs).len();
    assert_eq!(total, before + 2);
    assert!(
        inputs[0]["ingested_at"]
            .as_str()
            .is_some_and(|t| t.parse::<jiff::Timestamp>().is_ok()),
        "{inputs}"
    );
    let (out, err) = run(&sb, &["feeds", "inputs", "--limit", "1"]);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.contains("b.jsonl"), "the newest is kept: {out}");
    assert!(err.contains(&format!("… 1 of {total} rows shown")), "{err}");
}

#[test]
fn metrics_show_says_what_its_limit_left_out() {
    let sb = telescope();
    run(&sb, &["metrics", "compute"]);
    let rows = array(&sb.json("s.db", &["metrics", "show"])).len();
    let (_, err) = run(&sb, &["metrics", "show", "--limit", "1"]);
    let shown = array(&sb.json("s.db", &["metrics", "show", "--limit", "1"])).len();
    if shown < rows {
        assert!(
            err.contains(&format!("… {shown} of {rows} rows shown")),
            "{err}"
        );
    } else {
        assert!(!err.contains("rows shown"), "{err}");
    }
}

/// The busiest port of the telescope, as (proto, port).
fn busiest_port(sb: &Sandbox) -> (String, String) {
    let top = sb.json("s.db", &["ports", "top", "--limit", "1"]);
    (
        top[0]["proto"].as_str().unwrap().to_string(),
        top[0]["port"].to_string(),
    )
}

/// Files of `dir`, by name.
fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn plot_draws_packets_and_unique_sources() {
    let sb = telescope();
    let (proto, port) = busiest_port(&sb);
    let svg = sb.path("port.svg");
    let (out, _) = run(
        &sb,
        &[
            "plot",
            "port",
            &port,
            "--proto",
            &proto,
            "--out",
            svg.to_str().unwrap(),
        ],
    );
    assert!(out.contains("wrote"), "{out}");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("packets per interval"), "no packets panel");
    assert!(
        text.contains("unique sources per interval"),
        "no sources panel"
    );
    // Each series is named in its panel's legend.
    let texts: Vec<&str> = text.lines().map(str::trim).collect();
    for name in ["packets", "unique sources"] {
        assert!(texts.contains(&name), "{name} not in a legend");
    }
    assert!(texts.contains(&"unique sources baseline (rolling median)"));

    // An alert's port: its interval is shaded and named.
    let alerts = sb.json("s.db", &["alerts", "list"]);
    if let Some(alert) = array(&alerts).first() {
        let id = alert["id"].as_str().unwrap();
        let (proto, port) = (alert["proto"].as_str().unwrap(), alert["port"].to_string());
        let svg = sb.path("alert.svg");
        run(
            &sb,
            &[
                "plot",
                "port",
                &port,
                "--proto",
                proto,
                "--out",
                svg.to_str().unwrap(),
            ],
        );
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.contains(&format!("alert {id} (")), "{id} not marked");
    }

    let png = sb.path("port.png");
    run(
        &sb,
        &[
            "plot",
            "port",
            &port,
            "--proto",
            &proto,
            "--out",
            png.to_str().unwrap(),
        ],
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        !files_in(sb.dir.path())
            .iter()
            .any(|n| n.contains(".partial")),
        "a partial file was left: {:?}",
        files_in(sb.dir.path())
    );
}

#[test]
fn a_plot_that_fails_writes_no_file() {
    let sb = telescope();
    let (proto, port) = busiest_port(&sb);
    let charts = sb.path("charts");
    std::fs::create_dir(&charts).unwrap();

    // A port the telescope never saw.
    let out = charts.join("never.svg");
    let err = refused(
        &sb,
        &[
            "plot",
            "port",
            "1",
            "--proto",
            "udp",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(err.contains("no packets to udp/1"), "{err}");
    // An unknown format.
    let err = refused(
        &sb,
        &[
            "plot",
            "port",
            &port,
            "--proto",
            &proto,
            "--out",
            charts.join("c.jpg").to_str().unwrap(),
        ],
    );
    assert!(err.contains(".svg or .png"), "{err}");
    // A file name taken by a directory: drawn, then cannot be put in place.
    for name in ["taken.svg", "taken.png"] {
        std::fs::create_dir(charts.join(name)).unwrap();
        let err = refused(
            &sb,
            &[
                "plot",
                "port",
                &port,
                "--proto",
                &proto,
                "--out",
                charts.join(name).to_str().unwrap(),
            ],
        );
        assert!(err.contains("cannot write"), "{err}");
    }
    // A directory that does not exist.
    let err = refused(
        &sb,
        &[
            "plot",
            "port",
            &port,
            "--proto",
            &proto,
            "--out",
            charts.join("no/such/c.png").to_str().unwrap(),
        ],
    );
    assert!(err.contains("cannot write"), "{err}");
    assert_eq!(
        files_in(&charts),
        ["taken.png", "taken.svg"],
        "only the directories"
    );
    assert!(files_in(&charts.join("taken.svg")).is_empty());
}
