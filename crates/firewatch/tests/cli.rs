//! The command line as a user meets it: listings, plots, bad input, real captures.

mod common;
use common::{Sandbox, shared_data};

#[test]
fn every_listing_speaks_json_and_tables() {
    let sb = Sandbox::new();
    sb.synth("a.pcap", 80_000, &[]);
    sb.cmd("s.db")
        .args(["ingest", "pcap", "--flowtuples"])
        .arg(sb.path("a.pcap"))
        .assert()
        .success();
    for args in [
        vec!["ports", "top"],
        vec!["alerts", "list"],
        vec!["sources", "list"],
        vec!["sources", "list", "--label", "mirai"],
        vec!["attacks", "list"],
        vec!["inputs", "list"],
    ] {
        let v = sb.json("s.db", &args);
        assert!(v.is_array(), "{args:?}");
        let table = sb.cmd("s.db").args(&args).output().unwrap();
        assert!(
            table.status.success() && !table.stdout.is_empty(),
            "{args:?} as a table"
        );
    }
    let mirai = sb.json("s.db", &["sources", "list", "--label", "mirai"]);
    assert!(!mirai.as_array().unwrap().is_empty());
    assert!(
        mirai
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["label"] == "mirai")
    );
    let ip = mirai[0]["addr"].as_str().unwrap().to_string();
    let shown = sb.json("s.db", &["sources", "show", &ip]);
    assert_eq!(shown["label"], "mirai");
    assert!(shown["counters"]["mirai"].as_u64().unwrap() > 0);

    // --since/--until bound the listings.
    let all = sb
        .json("s.db", &["sources", "list"])
        .as_array()
        .unwrap()
        .len();
    let none = sb
        .json("s.db", &["sources", "list", "--until", "2000-01-01"])
        .as_array()
        .unwrap()
        .len();
    assert!(all > 0);
    assert_eq!(none, 0);

    // Flowtuples export: a header and one line per flowtuple with positive counts.
    let csv = sb.cmd("s.db").args(["flows", "export"]).output().unwrap();
    let text = String::from_utf8(csv.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("time,src,dst,sport,dport,proto,ttl,tcp_flags,ip_len,packets,spoofed,masscan")
    );
    let total: u64 = lines
        .map(|l| l.split(',').nth(9).unwrap().parse::<u64>().unwrap())
        .sum();
    let ingested: u64 = sb.json("s.db", &["inputs", "list"])[0]["ip_packets"]
        .as_u64()
        .unwrap();
    assert!(total > 0 && total <= ingested);
}

#[test]
fn plots_are_written_as_svg_and_png() {
    let sb = Sandbox::new();
    sb.synth("a.pcap", 60_000, &[]);
    sb.cmd("s.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("a.pcap"))
        .assert()
        .success();
    sb.cmd("s.db")
        .args(["plot", "port", "23", "--out"])
        .arg(sb.path("p.svg"))
        .assert()
        .success();
    sb.cmd("s.db")
        .args(["plot", "port", "23", "--out"])
        .arg(sb.path("p.png"))
        .assert()
        .success();
    let svg = std::fs::read_to_string(sb.path("p.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("polyline") && svg.contains("tcp/23"));
    let png = std::fs::read(sb.path("p.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 10_000, "a real picture, not an empty canvas");
    sb.cmd("s.db")
        .args(["plot", "port", "23", "--out"])
        .arg(sb.path("p.gif"))
        .assert()
        .failure();
}

#[test]
fn a_damaged_capture_keeps_what_came_before_and_says_where() {
    let sb = Sandbox::new();
    sb.synth("a.pcap", 20_000, &[]);
    let bytes = std::fs::read(sb.path("a.pcap")).unwrap();
    let cut = bytes.len() / 2 + 7;
    std::fs::write(sb.path("cut.pcap"), &bytes[..cut]).unwrap();
    let out = sb
        .cmd("s.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("cut.pcap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cut.pcap") && err.contains("byte"),
        "error names file and offset: {err}"
    );
    let inputs = sb.json("s.db", &["inputs", "list"]);
    assert_eq!(inputs[0]["complete"], false);
    let kept = inputs[0]["ip_packets"].as_u64().unwrap();
    assert!(
        kept > 5_000 && kept < 20_000,
        "kept {kept} packets from before the damage"
    );

    // Not a capture at all: a clear error, exit status 1, nothing stored.
    std::fs::write(sb.path("notes.txt"), b"this is not a capture\n").unwrap();
    let out = sb
        .cmd("t.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("notes.txt"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("notes.txt"));
}

#[test]
fn real_attack_captures_are_read_and_labelled() {
    let data = shared_data().join("captures");
    let sb = Sandbox::new();
    let file = data.join("amp.TCP.reflection.SYNACK.pcap");
    sb.cmd("s.db")
        .args(["ingest", "pcap"])
        .arg(&file)
        .assert()
        .success();
    let inputs = sb.json("s.db", &["inputs", "list"]);
    assert_eq!(inputs[0]["frames"], 8000);
    // Nearly every sender is a reflector answering spoofed SYNs: backscatter. A few hosts in
    // the capture sent their own UDP/VPN traffic instead; the rule, not a count, decides.
    let sources = sb.json("s.db", &["sources", "list"]);
    let sources = sources.as_array().unwrap();
    assert_eq!(sources.len(), 7055);
    let backscatter = sources
        .iter()
        .filter(|s| s["label"] == "backscatter")
        .count();
    assert!(backscatter >= 7000, "{backscatter} backscatter sources");
    for s in sources {
        let c = &s["counters"];
        let share = c["backscatter"].as_f64().unwrap() / c["packets"].as_f64().unwrap();
        assert_eq!(
            s["label"] == "backscatter",
            share >= 0.5,
            "{}: share {share}",
            s["addr"]
        );
    }
}

#[test]
fn help_shows_examples_and_config_round_trips() {
    let sb = Sandbox::new();
    let help = sb.cmd("s.db").arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("firewatch demo"));
    let cfg = sb.cmd("s.db").arg("config").output().unwrap();
    let text = String::from_utf8(cfg.stdout).unwrap();
    assert!(text.contains("interval_secs = 60"));
    std::fs::write(sb.path("bad.toml"), "[aggregation]\ninterval = 5\n").unwrap();
    let out = sb
        .cmd("s.db")
        .arg("--config")
        .arg(sb.path("bad.toml"))
        .arg("config")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.toml"));
}
