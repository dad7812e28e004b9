//! Issue 22, end to end: captures counted once whatever their bytes (item 12), writers that
//! wait for each other (item 10), a damaged .mmdb (item 13), a store on read-only media
//! (item 18), writes to a store that failed its integrity check (item 19).

mod common;
use common::Sandbox;
use serde_json::Value;
use std::path::Path;

/// What the store counted (ports, sources, attacks, alerts), without the inputs' records.
fn counted(sb: &Sandbox, db: &str) -> Value {
    let mut d = sb.dump(db);
    d.as_object_mut().unwrap().remove("inputs");
    d
}

fn port_packets(sb: &Sandbox, db: &str, port: u64) -> u64 {
    sb.json(db, &["ports", "top", "--limit", "100000"])
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["proto"] == "tcp" && p["port"] == port)
        .map_or(0, |p| p["packets"].as_u64().unwrap())
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes the first `fraction` of `from` to `to`, cut inside a record: a capture copied while
/// it was still being written.
fn cut(from: &Path, to: &Path, fraction: f64) {
    let bytes = std::fs::read(from).unwrap();
    let at = (bytes.len() as f64 * fraction) as usize;
    std::fs::write(to, &bytes[..at]).unwrap();
}

#[test]
fn issue_22_item_12_partial_then_complete_capture_is_not_counted_twice() {
    let sb = Sandbox::new();
    sb.synth("a.pcap", 60_000, &[]);
    cut(&sb.path("a.pcap"), &sb.path("a-partial.pcap"), 0.6);
    sb.cmd("once.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("a.pcap"))
        .assert()
        .success();
    let once = counted(&sb, "once.db");
    let tcp23 = port_packets(&sb, "once.db", 23);
    assert!(tcp23 > 0);

    // Kept as partial, then the complete capture: only the packets after the partial count.
    let out = sb
        .cmd("s.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("a-partial.pcap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(port_packets(&sb, "s.db", 23) < tcp23);
    let out = sb
        .cmd("s.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("a.pcap"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("continues"), "{}", stdout(&out));
    assert_eq!(port_packets(&sb, "s.db", 23), tcp23);
    assert_eq!(counted(&sb, "s.db"), once);
    // Once more, or the partial again: nothing changes.
    for name in ["a.pcap", "a-partial.pcap"] {
        let out = sb
            .cmd("s.db")
            .args(["ingest", "pcap"])
            .arg(sb.path(name))
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert!(
            stdout(&out).contains("already ingested"),
            "{}",
            stdout(&out)
        );
    }
    assert_eq!(counted(&sb, "s.db"), once);

    // The complete capture first, then the partial: already counted.
    sb.cmd("c.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("a.pcap"))
        .assert()
        .success();
    let out = sb
        .cmd("c.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("a-partial.pcap"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("already ingested: the same capture as"),
        "{}",
        stdout(&out)
    );
    assert_eq!(counted(&sb, "c.db"), once);

    // The rest through standard input, after the partial from a file.
    sb.cmd("stdin.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("a-partial.pcap"))
        .assert()
        .code(1);
    sb.cmd("stdin.db")
        .args(["ingest", "pcap", "-"])
        .pipe_stdin(sb.path("a.pcap"))
        .unwrap()
        .assert()
        .success();
    assert_eq!(counted(&sb, "stdin.db"), once);
}

#[test]
fn issue_22_item_12_the_same_capture_as_pcap_and_pcap_gz_is_not_counted_twice() {
    let sb = Sandbox::new();
    sb.synth("a.pcap", 50_000, &[]);
    sb.synth("a.pcap.gz", 50_000, &["--gzip"]);
    sb.cmd("once.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("a.pcap"))
        .assert()
        .success();
    let once = counted(&sb, "once.db");
    sb.cmd("s.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("a.pcap"))
        .assert()
        .success();
    let out = sb
        .cmd("s.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("a.pcap.gz"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("already ingested: the same capture as"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("a.pcap"), "{}", stdout(&out));
    // The synthetic pcapng of the same seed is not quite the same packets (nanosecond
    // timestamps, two interfaces): not the same capture, so refused as overlapping.
    sb.synth("a.pcapng", 50_000, &["--format", "pcapng"]);
    let out = sb
        .cmd("s.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("a.pcapng"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("overlap"), "{}", stderr(&out));
    assert_eq!(counted(&sb, "s.db"), once);
    assert_eq!(
        sb.json("s.db", &["inputs", "list"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn issue_22_item_12_an_overlapping_different_capture_is_refused_unless_allowed() {
    let sb = Sandbox::new();
    sb.synth("a.pcap", 40_000, &[]);
    sb.synth("b.pcap", 40_000, &["--seed", "7"]);
    sb.cmd("s.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("a.pcap"))
        .assert()
        .success();
    let before = sb.dump("s.db");
    let out = sb
        .cmd("s.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("b.pcap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("overlap"), "{err}");
    assert!(err.contains("a.pcap"), "{err}");
    assert!(err.contains("--allow-overlap"), "{err}");
    assert_eq!(sb.dump("s.db"), before);

    // Allowed: both count.
    sb.cmd("both.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("a.pcap"))
        .assert()
        .success();
    sb.cmd("both.db")
        .args(["ingest", "pcap", "--allow-overlap"])
        .arg(sb.path("b.pcap"))
        .assert()
        .success();
    assert_eq!(
        sb.json("both.db", &["inputs", "list"])
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Forgetting the stored input lets the other one in.
    let hash = before["inputs"][0]["content_hash"].as_str().unwrap()[..16].to_owned();
    let out = sb
        .cmd("s.db")
        .args(["inputs", "forget", &hash])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("stay counted"), "{}", stdout(&out));
    sb.cmd("s.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("b.pcap"))
        .assert()
        .success();
    let inputs = sb.json("s.db", &["inputs", "list"]);
    assert_eq!(inputs.as_array().unwrap().len(), 1);
    assert!(inputs[0]["name"].as_str().unwrap().ends_with("b.pcap"));
    // An unknown input is an error that says where to look.
    let out = sb
        .cmd("s.db")
        .args(["inputs", "forget", "deadbeefdeadbeef"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("inputs list"), "{}", stderr(&out));
}

/// Two ingest processes on one store at once: both succeed (they wait for each other's
/// write lock instead of failing with "database is locked").
#[test]
fn issue_22_item_10_two_ingests_at_once_both_succeed() {
    let sb = Sandbox::new();
    sb.synth("a.pcap", 60_000, &[]);
    sb.synth("b.pcap", 60_000, &["--seed", "9"]);
    sb.cmd("s.db").args(["inputs", "list"]).assert().success();
    let children: Vec<_> = ["a.pcap", "b.pcap"]
        .iter()
        .map(|name| {
            sb.background("s.db")
                .args(["ingest", "pcap", "--allow-overlap", "--json"])
                .arg(sb.path(name))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert_eq!(
        sb.json("s.db", &["inputs", "list"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn issue_22_item_13_data_update_refuses_a_damaged_mmdb_without_panicking() {
    let sb = Sandbox::new();
    // A database whose metadata claims a search tree far larger than the file (a damaged
    // node count). The byte-by-byte sweep over a sound database is firewatch-enrich's
    // tests/mmdb_damage.rs.
    let mut mmdb = b"\x00\x00\x01\x00\x00\x02".repeat(4);
    mmdb.extend_from_slice(&[0u8; 16]);
    mmdb.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
    // Metadata: a map of 4 entries with a node count far beyond the file.
    mmdb.push(0xE4);
    for (k, v) in [
        ("node_count", vec![0xC4u8, 0x7F, 0xFF, 0xFF, 0xFF]),
        ("record_size", vec![0xA1, 24]),
        ("ip_version", vec![0xA1, 6]),
        ("binary_format_major_version", vec![0xA1, 2]),
    ] {
        mmdb.push(0x40 | k.len() as u8);
        mmdb.extend_from_slice(k.as_bytes());
        mmdb.extend_from_slice(&v);
    }
    std::fs::write(sb.path("damaged.mmdb"), &mmdb).unwrap();
    let out = sb
        .cmd("s.db")
        .args(["data", "update"])
        .arg(sb.path("damaged.mmdb"))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("damaged.mmdb"), "{err}");
    assert!(err.contains("search tree"), "{err}");
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Read-only is judged by the permission bits, so this holds when the tests run as root too.
#[test]
fn issue_22_item_18_read_commands_work_on_a_read_only_store() {
    let sb = Sandbox::new();
    sb.synth("a.pcap", 60_000, &[]);
    sb.synth("b.pcap", 20_000, &["--seed", "3"]);
    std::fs::create_dir(sb.path("media")).unwrap();
    sb.cmd("media/s.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("a.pcap"))
        .assert()
        .success();
    let before = std::fs::read(sb.path("media/s.db")).unwrap();
    let writable = sb.dump("media/s.db");
    chmod(&sb.path("media/s.db"), 0o444);
    chmod(&sb.path("media"), 0o555);
    let result = std::panic::catch_unwind(|| {
        assert_eq!(sb.dump("media/s.db"), writable);
        for args in [
            &["ports", "top"][..],
            &["alerts", "list"],
            &["events", "list"],
            &["inputs", "list"],
        ] {
            let out = sb.cmd("media/s.db").args(args).output().unwrap();
            assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        }
        let out = sb
            .cmd("media/s.db")
            .args(["ingest", "pcap", "--allow-overlap"])
            .arg(sb.path("b.pcap"))
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_ne!(out.status.code(), Some(0), "{err}");
        assert!(
            err.contains(&format!(
                "the store {} is read-only",
                sb.path("media/s.db").display()
            )),
            "{err}"
        );
    });
    chmod(&sb.path("media"), 0o755);
    chmod(&sb.path("media/s.db"), 0o644);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
    assert!(
        std::fs::read(sb.path("media/s.db")).unwrap() == before,
        "the file changed"
    );
}

#[test]
fn issue_22_item_19_writes_refuse_a_store_that_failed_its_integrity_check() {
    let sb = Sandbox::new();
    sb.synth("a.pcap", 60_000, &[]);
    sb.synth("b.pcap", 20_000, &["--seed", "3"]);
    sb.cmd("s.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("a.pcap"))
        .assert()
        .success();
    sb.cmd("s.db").args(["store", "check"]).assert().success();
    let sound = std::fs::read(sb.path("s.db")).unwrap();
    // Damage the header of every other page in the second half of the file.
    let mut damaged = sound.clone();
    let page = usize::from(u16::from_be_bytes([sound[16], sound[17]]));
    let pages = sound.len() / page;
    for p in (pages / 2..pages).step_by(2) {
        damaged[p * page] = 0x7f;
    }
    std::fs::write(sb.path("s.db"), &damaged).unwrap();

    let out = sb.cmd("s.db").args(["store", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("FAILED"), "{}", stderr(&out));
    let marked = std::fs::read(sb.path("s.db")).unwrap();

    let out = sb
        .cmd("s.db")
        .args(["ingest", "pcap", "--allow-overlap"])
        .arg(sb.path("b.pcap"))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("failed its integrity check"), "{err}");
    assert!(err.contains("firewatch store check"), "{err}");
    assert!(
        std::fs::read(sb.path("s.db")).unwrap() == marked,
        "a refused write changed the store"
    );

    // Restored from a backup: the check passes, lifts the mark, and writes work again.
    std::fs::write(sb.path("s.db"), &sound).unwrap();
    let out = sb.cmd("s.db").args(["store", "check"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("mark is removed"), "{}", stdout(&out));
    sb.cmd("s.db")
        .args(["ingest", "pcap", "--allow-overlap"])
        .arg(sb.path("b.pcap"))
        .assert()
        .success();
}
