//! Feeds end to end through the real binary: Shadowserver reports (generated from the shared
//! schema), Cowrie logs, IntelMQ JSON lines, bad input, deduplication, TLP per feed, the
//! watched directory across restarts, HTTP fetch from a local server, crash safety, and the
//! telescope's findings as events.

mod common;

use common::{Sandbox, shared_data};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn schema() -> PathBuf {
    shared_data().join("shadowserver/intelmq.json")
}

/// Writes a Shadowserver-style report with the shared generator (real column layout).
fn report(sb: &Sandbox, report: &str, rows: usize, seed: u64) -> PathBuf {
    let path = sb.path(&format!("2026-01-0{}-{report}-test-geo.csv", seed % 9 + 1));
    let status = Command::new("python3")
        .arg(shared_data().join("../bench/make_shadowserver_csv.py"))
        .args([report, &rows.to_string()])
        .arg(&path)
        .args(["--seed", &seed.to_string()])
        .status()
        .expect("python3 runs");
    assert!(status.success(), "generator failed");
    path
}

/// Data rows of a generated CSV whose `geo` column is `cc`.
fn rows_in_country(csv: &Path, cc: &str) -> usize {
    let text = std::fs::read_to_string(csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let geo = header.iter().position(|c| *c == "geo").unwrap();
    lines.filter(|l| l.split(',').nth(geo) == Some(cc)).count()
}

fn ingest_json(sb: &Sandbox, args: &[&str]) -> (Value, i32) {
    let out = sb
        .cmd("f.db")
        .args(["feeds", "ingest", "--json"])
        .args(args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (json, out.status.code().unwrap_or(-1))
}

fn events(sb: &Sandbox, filter: &str) -> Vec<Value> {
    let mut args = vec!["events", "list", "--limit", "1000000"];
    if !filter.is_empty() {
        args.extend(["--where", filter]);
    }
    sb.json("f.db", &args).as_array().unwrap().clone()
}

#[test]
fn a_shadowserver_report_is_ingested_once_and_can_be_queried() {
    let sb = Sandbox::new();
    let csv = report(&sb, "scan_dns", 400, 3);
    let schema = schema();
    let (out, code) = ingest_json(
        &sb,
        &[csv.to_str().unwrap(), "--schema", schema.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{out}");
    let r = &out[0];
    assert_eq!(r["status"], "ingested");
    assert_eq!(r["format"], "shadowserver:scan_dns");
    assert_eq!(r["records"], 400);
    assert_eq!(r["rejected"], 0);
    assert_eq!(
        r["inserted"].as_u64().unwrap() + r["duplicates"].as_u64().unwrap(),
        400
    );

    let all = events(&sb, "");
    assert_eq!(all.len() as u64, r["inserted"].as_u64().unwrap());
    for e in &all {
        assert_eq!(e["feed.name"], "DNS-Open-Resolvers");
        assert_eq!(e["classification.taxonomy"], "vulnerable");
        assert_eq!(e["tlp"], "AMBER", "the default TLP");
    }
    // The issue's example query; the expected count comes from the CSV itself.
    let jp = events(
        &sb,
        "classification.type = vulnerable-system and source.geolocation.cc = JP",
    );
    assert_eq!(jp.len(), rows_in_country(&csv, "JP"));
    assert!(!jp.is_empty());
    assert!(jp.iter().all(|e| e["source.geolocation.cc"] == "JP"));

    let stats = sb.json(
        "f.db",
        &["events", "stats", "--by", "source.asn", "--limit", "1000"],
    );
    let total: u64 = stats
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, all.len() as u64);

    // The same report again, by another name: known by content, nothing changes.
    let copy = sb.path("copy-2026-01-01-scan_dns-x.csv");
    std::fs::copy(&csv, &copy).unwrap();
    let (again, code) = ingest_json(
        &sb,
        &[copy.to_str().unwrap(), "--schema", schema.to_str().unwrap()],
    );
    assert_eq!(code, 0);
    assert_eq!(again[0]["status"], "already-ingested");
    assert_eq!(events(&sb, "").len(), all.len());
}

#[test]
fn bad_rows_are_reported_with_file_and_line_and_the_good_ones_kept() {
    let sb = Sandbox::new();
    let schema = schema();
    let good = std::fs::read_to_string(report(&sb, "scan_ntp", 6, 1)).unwrap();
    let mut lines: Vec<String> = good.lines().map(str::to_owned).collect();
    let header = lines[0].clone();
    let port_col = header.split(',').position(|c| c == "port").unwrap();
    // Line 3: a port that is not a number; line 5: a ragged row; line 8: bad UTF-8.
    let mut cells: Vec<String> = lines[2].split(',').map(str::to_owned).collect();
    cells[port_col] = "eighty".into();
    lines[2] = cells.join(",");
    lines[4] = "2026-01-01 00:00:00,192.0.2.1".into();
    let mut bytes = lines.join("\n").into_bytes();
    bytes.extend_from_slice(b"\n2026-01-01 01:00:00,\xff\xfe,123\n");
    let bad = sb.path("2026-01-02-scan_ntp-bad.csv");
    std::fs::write(&bad, &bytes).unwrap();

    let out = sb
        .cmd("f.db")
        .args(["feeds", "ingest", "--schema"])
        .arg(&schema)
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "some rows rejected → exit 1");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let name = bad.display().to_string();
    for line in [3, 5, 8] {
        assert!(
            stderr.contains(&format!("{name}: line {line} (byte ")),
            "line {line} not reported: {stderr}"
        );
    }
    assert!(
        stderr.contains(r#"port: "eighty" is not an integer"#),
        "{stderr}"
    );
    assert_eq!(events(&sb, "").len(), 4, "the 4 good rows are kept");

    // A header that is not the report's: the whole input fails, nothing is written.
    let wrong = sb.path("2026-01-03-scan_ntp-wrong.csv");
    std::fs::write(&wrong, "when,who\n2026-01-01,192.0.2.1\n").unwrap();
    let out = sb
        .cmd("f.db")
        .args(["feeds", "ingest", "--schema"])
        .arg(&schema)
        .arg(&wrong)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1"));
    assert_eq!(events(&sb, "").len(), 4);

    // An unknown report is named.
    let unknown = sb.path("2026-01-03-scan_nothing-x.csv");
    std::fs::write(&unknown, "timestamp,ip\n").unwrap();
    let out = sb
        .cmd("f.db")
        .args(["feeds", "ingest", "--schema"])
        .arg(&schema)
        .arg(&unknown)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("scan_nothing"));
}

#[test]
fn reports_repeating_yesterdays_hosts_are_deduplicated_within_the_window() {
    let sb = Sandbox::new();
    let schema = schema();
    let day1 = report(&sb, "scan_ssdp", 50, 1);
    // Day 2 repeats day 1's rows (same hosts, same times: inside the 24 h window) and adds
    // one host seen again a week later (outside it).
    let text = std::fs::read_to_string(&day1).unwrap();
    let mut day2 = text.clone();
    day2.push_str(
        &text
            .lines()
            .nth(1)
            .unwrap()
            .replacen("2026-01-01", "2026-01-09", 1),
    );
    day2.push('\n');
    let day2_path = sb.path("2026-01-05-scan_ssdp-test-geo.csv");
    std::fs::write(&day2_path, day2).unwrap();
    let (first, _) = ingest_json(
        &sb,
        &[day1.to_str().unwrap(), "--schema", schema.to_str().unwrap()],
    );
    let (second, code) = ingest_json(
        &sb,
        &[
            day2_path.to_str().unwrap(),
            "--schema",
            schema.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0);
    let inserted_first = first[0]["inserted"].as_u64().unwrap();
    assert_eq!(second[0]["duplicates"].as_u64().unwrap(), inserted_first);
    assert_eq!(second[0]["inserted"], 1, "only the row a week later is new");
}

#[test]
fn tlp_comes_from_the_feed_configuration() {
    let sb = Sandbox::new();
    let config = sb.path("firewatch.toml");
    std::fs::write(
        &config,
        "[feeds.tlp]\ndefault = \"RED\"\nfeeds = { \"DNS-Open-Resolvers\" = \"tlp:clear\" }\n",
    )
    .unwrap();
    let schema = schema();
    for (name, rows) in [("scan_dns", 5), ("scan_ntp", 7)] {
        let csv = report(&sb, name, rows, 2);
        sb.cmd("f.db")
            .arg("--config")
            .arg(&config)
            .args(["feeds", "ingest", "--schema"])
            .arg(&schema)
            .arg(&csv)
            .assert()
            .success();
    }
    assert_eq!(events(&sb, "tlp = CLEAR").len(), 5);
    assert_eq!(events(&sb, "tlp = RED").len(), 7);
    assert!(
        events(&sb, "tlp = CLEAR")
            .iter()
            .all(|e| e["feed.name"] == "DNS-Open-Resolvers")
    );
}

const COWRIE: &str = r#"{"eventid":"cowrie.session.connect","src_ip":"198.51.100.23","src_port":50022,"dst_ip":"203.0.113.10","dst_port":22,"session":"a1b2c3d4e5f6","protocol":"ssh","message":"New connection: 198.51.100.23:50022 (203.0.113.10:22) [session: a1b2c3d4e5f6]","sensor":"hp1","timestamp":"2026-11-20T10:00:00.000000Z"}
{"eventid":"cowrie.login.failed","username":"root","password":"123456","message":"login attempt [root/123456] failed","sensor":"hp1","timestamp":"2026-11-20T10:00:02.000000Z","src_ip":"198.51.100.23","session":"a1b2c3d4e5f6"}
"#;

#[test]
fn cowrie_logs_and_intelmq_lines_are_told_apart_by_content() {
    let sb = Sandbox::new();
    let log = sb.path("cowrie.json");
    std::fs::write(&log, COWRIE).unwrap();
    let (out, code) = ingest_json(&sb, &[log.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out[0]["format"], "cowrie");
    let brute = events(&sb, "classification.type = brute-force");
    assert_eq!(brute.len(), 1);
    assert_eq!(brute[0]["source.ip"], "198.51.100.23");
    assert!(
        brute[0].get("extra.password").is_none(),
        "passwords are not kept by default"
    );

    // IntelMQ JSON lines on stdin, one of them invalid.
    let lines = concat!(
        r#"{"__type":"Event","feed.name":"partner","classification.type":"scanner","source.ip":"192.0.2.9","time.source":"2026-11-21T00:00:00+00:00"}"#,
        "\n",
        r#"{"feed.name":"partner","source.ip":"not-an-ip"}"#,
        "\n",
        "this is not json\n",
    );
    let out = sb
        .cmd("f.db")
        .args(["feeds", "ingest", "-", "--stdin-name", "partner.jsonl"])
        .write_stdin(lines)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("partner.jsonl: line 2"), "{stderr}");
    assert!(stderr.contains("partner.jsonl: line 3"), "{stderr}");
    let scanner = events(&sb, "feed.name = partner");
    assert_eq!(scanner.len(), 1);
    assert_eq!(
        scanner[0]["classification.taxonomy"],
        "information-gathering"
    );
}

/// A child process killed when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `done` every 50 ms for at most 60 s.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn feed_inputs(sb: &Sandbox) -> Vec<Value> {
    sb.json("f.db", &["feeds", "inputs"])
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_watched_directory_ingests_each_new_file_once_even_across_restarts() {
    let sb = Sandbox::new();
    let schema = schema();
    let inbox = sb.path("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let first = report(&sb, "scan_snmp", 20, 1);
    let second = report(&sb, "scan_chargen", 30, 2);

    let watcher = sb
        .background("f.db")
        .args(["feeds", "watch", "--interval", "0.1", "--json", "--schema"])
        .arg(&schema)
        .arg(&inbox)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(sb.path("watch.log")).unwrap())
        .spawn()
        .unwrap();
    let watcher = Running(watcher);
    // Written under a temporary name, then renamed: how report fetchers deliver files.
    let partial = inbox.join("incoming.part");
    std::fs::copy(&first, &partial).unwrap();
    std::fs::rename(&partial, inbox.join(first.file_name().unwrap())).unwrap();
    wait_for("the first report", || {
        let log = std::fs::read_to_string(sb.path("watch.log")).unwrap_or_default();
        assert!(!log.contains("error:"), "the watcher failed: {log}");
        feed_inputs(&sb).len() == 1
    });
    drop(watcher);

    // Restarted: the first file is still there and must not count twice; the new one is taken.
    std::fs::copy(&second, inbox.join(second.file_name().unwrap())).unwrap();
    let out = sb
        .cmd("f.db")
        .args(["feeds", "watch", "--once", "--json", "--schema"])
        .arg(&schema)
        .arg(&inbox)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let statuses: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["status"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let mut sorted = statuses.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["already-ingested", "ingested"],
        "one old file, one new"
    );
    assert_eq!(feed_inputs(&sb).len(), 2);
    assert_eq!(events(&sb, "").len(), 50);
}

/// Python's own HTTP server serving `dir` on an ephemeral loopback port (it prints the port).
fn http_server(dir: &Path) -> (Running, u16) {
    let mut server = Command::new("python3")
        .args([
            "-u",
            "-m",
            "http.server",
            "0",
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 http.server");
    let stdout = server.stdout.take().unwrap();
    let server = Running(server);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let port = line
        .split("port ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    (server, port)
}

#[test]
fn a_scheduled_fetch_takes_each_new_version_of_a_report_once() {
    let sb = Sandbox::new();
    let schema = schema();
    let served = sb.path("www");
    std::fs::create_dir(&served).unwrap();
    let name = "2026-01-01-scan_ntp-feed-geo.csv";
    std::fs::copy(report(&sb, "scan_ntp", 10, 1), served.join(name)).unwrap();
    let (_server, port) = http_server(&served);
    let url = format!("http://127.0.0.1:{port}/{name}");
    let fetcher = sb
        .background("f.db")
        .args([
            "feeds", "fetch", &url, "--every", "1s", "--json", "--schema",
        ])
        .arg(&schema)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _fetcher = Running(fetcher);
    wait_for("the first version", || feed_inputs(&sb).len() == 1);
    // The server publishes a new version under the same URL: the schedule picks it up once.
    let next = report(&sb, "scan_ntp", 15, 2);
    std::fs::copy(&next, served.join("next.tmp")).unwrap();
    std::fs::rename(served.join("next.tmp"), served.join(name)).unwrap();
    wait_for("the second version", || feed_inputs(&sb).len() == 2);
    assert_eq!(events(&sb, "").len(), 25);
}

#[test]
fn reports_are_fetched_over_http_from_a_local_server_once_each() {
    let sb = Sandbox::new();
    let schema = schema();
    let served = sb.path("www");
    std::fs::create_dir(&served).unwrap();
    let csv = report(&sb, "scan_dns", 25, 4);
    let name = csv.file_name().unwrap().to_str().unwrap().to_owned();
    std::fs::copy(&csv, served.join(&name)).unwrap();

    let (server, port) = http_server(&served);
    let url = format!("http://127.0.0.1:{port}/{name}");

    for expected in ["ingested", "already-ingested"] {
        let out = sb
            .cmd("f.db")
            .args(["feeds", "fetch", &url, "--json", "--schema"])
            .arg(&schema)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["status"], expected);
        assert_eq!(
            report["format"],
            if expected == "ingested" {
                "shadowserver:scan_dns"
            } else {
                ""
            }
        );
    }
    assert_eq!(events(&sb, "").len(), 25);

    let missing = format!("http://127.0.0.1:{port}/2026-01-01-scan_dns-missing.csv");
    let out = sb
        .cmd("f.db")
        .args(["feeds", "fetch", &missing, "--schema"])
        .arg(&schema)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("404"));
    drop(server);
}

#[test]
fn an_ingest_killed_mid_commit_leaves_nothing_and_completes_when_run_again() {
    let sb = Sandbox::new();
    let schema = schema();
    let csv = report(&sb, "scan_dns", 300, 5);
    let out = sb
        .cmd("f.db")
        .env("FIREWATCH_CRASH_AT", "events-mid-commit")
        .args(["feeds", "ingest", "--schema"])
        .arg(&schema)
        .arg(&csv)
        .output()
        .unwrap();
    assert!(!out.status.success(), "the crash hook aborts");
    assert_eq!(
        events(&sb, "").len(),
        0,
        "a half-written input is rolled back"
    );
    assert!(feed_inputs(&sb).is_empty());
    let (again, code) = ingest_json(
        &sb,
        &[csv.to_str().unwrap(), "--schema", schema.to_str().unwrap()],
    );
    assert_eq!(code, 0);
    assert_eq!(again[0]["status"], "ingested");
    assert_eq!(
        events(&sb, "").len() as u64,
        again[0]["inserted"].as_u64().unwrap()
    );
}

#[test]
fn the_telescopes_findings_become_events() {
    let sb = Sandbox::new();
    sb.synth("cap.pcap", 200_000, &[]);
    sb.cmd("f.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("cap.pcap"))
        .assert()
        .success();
    let mirai_sources = sb.json("f.db", &["sources", "list", "--label", "mirai"]);
    let mirai_events = events(
        &sb,
        "feed.name = Firewatch-Darknet and classification.identifier = mirai",
    );
    assert!(!mirai_events.is_empty());
    assert_eq!(mirai_events.len(), mirai_sources.as_array().unwrap().len());
    assert!(
        mirai_events
            .iter()
            .all(|e| e["classification.type"] == "infected-system")
    );

    let attacks = sb.json("f.db", &["attacks", "list"]);
    let victims = events(&sb, "classification.identifier = backscatter");
    assert_eq!(victims.len(), attacks.as_array().unwrap().len());

    // Deriving again finds the same events: nothing new.
    let again = sb.json("f.db", &["events", "from-darknet"]);
    assert_eq!(again["inserted"], 0, "{again}");
}

#[test]
fn events_exported_as_intelmq_lines_ingest_into_another_store_unchanged() {
    let sb = Sandbox::new();
    let schema = schema();
    let csv = report(&sb, "scan_dns", 40, 6);
    ingest_json(
        &sb,
        &[csv.to_str().unwrap(), "--schema", schema.to_str().unwrap()],
    );
    let out = sb.cmd("f.db").args(["events", "export"]).output().unwrap();
    assert!(out.status.success());
    let lines = String::from_utf8(out.stdout).unwrap();
    assert_eq!(lines.lines().count(), 40);
    sb.cmd("g.db")
        .args([
            "feeds",
            "ingest",
            "-",
            "--format",
            "intelmq",
            "--stdin-name",
            "export.jsonl",
        ])
        .write_stdin(lines)
        .assert()
        .success();
    let original = events(&sb, "");
    let copied = sb.json("g.db", &["events", "list", "--limit", "1000"]);
    assert_eq!(copied.as_array().unwrap(), &original);
}
