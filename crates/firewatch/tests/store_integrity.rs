//! The store never double-counts: re-ingesting changes nothing, a run killed at any phase
//! and restarted ends with exactly the data of an uninterrupted run, and results do not depend
//! on capture format, compression or thread count.

mod common;
use common::Sandbox;
use std::io::Write;
use std::process::Stdio;

#[test]
fn reingesting_the_same_capture_changes_nothing() {
    let sb = Sandbox::new();
    sb.synth("a.pcap", 60_000, &[]);
    sb.cmd("s.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("a.pcap"))
        .assert()
        .success();
    let first = sb.dump("s.db");
    let out = sb
        .cmd("s.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("a.pcap"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("already ingested"));
    // Same bytes under another name, and through standard input: still nothing new.
    std::fs::copy(sb.path("a.pcap"), sb.path("copy.pcap")).unwrap();
    sb.cmd("s.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("copy.pcap"))
        .assert()
        .success();
    sb.cmd("s.db")
        .args(["ingest", "pcap", "-"])
        .pipe_stdin(sb.path("a.pcap"))
        .unwrap()
        .assert()
        .success();
    assert_eq!(first, sb.dump("s.db"));
    assert_eq!(first["inputs"].as_array().unwrap().len(), 1);
}

#[test]
fn stdin_ingest_equals_file_ingest() {
    let sb = Sandbox::new();
    sb.synth("a.pcap.gz", 40_000, &["--gzip"]);
    sb.cmd("file.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("a.pcap.gz"))
        .assert()
        .success();
    sb.cmd("stdin.db")
        .args(["ingest", "pcap", "-"])
        .pipe_stdin(sb.path("a.pcap.gz"))
        .unwrap()
        .assert()
        .success();
    let mut a = sb.dump("file.db");
    let mut b = sb.dump("stdin.db");
    for d in [&mut a, &mut b] {
        d["inputs"][0].as_object_mut().unwrap().remove("name");
    }
    assert_eq!(a, b);
}

#[test]
fn formats_compression_and_threads_give_identical_data() {
    let sb = Sandbox::new();
    let variants: [(&str, &[&str]); 5] = [
        ("le.pcap", &[]),
        ("be.pcap", &["--format", "pcap-be"]),
        ("ns.pcap", &["--format", "pcap-ns"]),
        ("ng.pcapng", &["--format", "pcapng"]),
        ("gz.pcap", &["--gzip"]),
    ];
    let mut dumps = Vec::new();
    for (name, extra) in variants {
        sb.synth(name, 50_000, extra);
        let db = format!("{name}.db");
        sb.cmd(&db)
            .args(["ingest", "pcap", "--threads", "2"])
            .arg(sb.path(name))
            .assert()
            .success();
        let mut d = sb.dump(&db);
        d.as_object_mut().unwrap().remove("inputs");
        to_microseconds(&mut d);
        dumps.push((name, d));
    }
    sb.cmd("one-thread.db")
        .args(["ingest", "pcap", "--threads", "1"])
        .arg(sb.path("le.pcap"))
        .assert()
        .success();
    let mut single = sb.dump("one-thread.db");
    single.as_object_mut().unwrap().remove("inputs");
    to_microseconds(&mut single);
    assert!(single["sources"].as_array().unwrap().len() > 100);
    for (name, d) in &dumps {
        assert_eq!(
            &single, d,
            "{name} differs from the single-threaded little-endian pcap"
        );
    }
}

/// Microsecond pcap keeps less of each timestamp than the nanosecond formats: compare
/// every `*_ns` field at the coarser resolution.
fn to_microseconds(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                match x.as_i64() {
                    Some(ns) if k.ends_with("_ns") => *x = (ns.div_euclid(1000)).into(),
                    _ => to_microseconds(x),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(to_microseconds),
        _ => {}
    }
}

/// Splits nothing by hand: three different seeds make three captures of one store. They cover
/// the same hours (different traffic of the same time, as from three sensors), so every ingest
/// of them says `--allow-overlap`.
fn three_captures(sb: &Sandbox) -> Vec<std::path::PathBuf> {
    (1..=3)
        .map(|i| {
            let name = format!("c{i}.pcap");
            sb.synth(&name, 30_000, &["--seed", &i.to_string()]);
            sb.path(&name)
        })
        .collect()
}

#[test]
fn a_run_killed_at_any_phase_and_restarted_equals_an_uninterrupted_run() {
    let sb = Sandbox::new();
    let files = three_captures(&sb);
    sb.cmd("clean.db")
        .args(["ingest", "pcap", "--allow-overlap"])
        .args(&files)
        .assert()
        .success();
    let clean = sb.dump("clean.db");

    for point in [
        "before-commit",
        "mid-commit",
        "after-commit",
        "after-alerts",
    ] {
        let db = format!("{point}.db");
        let out = sb
            .cmd(&db)
            .args(["ingest", "pcap", "--allow-overlap"])
            .args(&files)
            .env("FIREWATCH_CRASH_AT", point)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{point}: the crash hook fired");
        sb.cmd(&db)
            .args(["ingest", "pcap", "--allow-overlap"])
            .args(&files)
            .assert()
            .success();
        assert_eq!(clean, sb.dump(&db), "killed at {point}, then restarted");
    }
}

#[test]
fn sigkill_at_arbitrary_moments_loses_and_duplicates_nothing() {
    let sb = Sandbox::new();
    let files = three_captures(&sb);
    sb.cmd("clean.db")
        .args(["ingest", "pcap", "--allow-overlap"])
        .args(&files)
        .assert()
        .success();
    let clean = sb.dump("clean.db");
    let bin = assert_cmd::cargo::cargo_bin("firewatch");
    // Kill after a growing number of progress lines read from the child's own output, so each
    // kill lands at a different point of the run without timing assumptions.
    for kill_after in 0..4usize {
        let db = sb.path(&format!("k{kill_after}.db"));
        let mut child = std::process::Command::new(&bin)
            .arg("--db")
            .arg(&db)
            .args(["ingest", "pcap", "--allow-overlap"])
            .args(&files)
            .env("XDG_CONFIG_HOME", sb.dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut seen = 0;
        let mut buf = [0u8; 1];
        while seen < kill_after {
            match std::io::Read::read(&mut stdout, &mut buf) {
                Ok(1) if buf[0] == b'\n' => seen += 1,
                Ok(1) => {}
                _ => break,
            }
        }
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();
        sb.cmd(&format!("k{kill_after}.db"))
            .args(["ingest", "pcap", "--allow-overlap"])
            .args(&files)
            .assert()
            .success();
        assert_eq!(
            clean,
            sb.dump(&format!("k{kill_after}.db")),
            "killed after {kill_after} files"
        );
    }
    std::io::stdout().flush().unwrap();
}
