//! `firewatch metrics` end to end through the real binary: a small Shadowserver sample in the
//! real column layout (Shadowserver's schema in ../shared/data) with every figure computed by
//! hand below, a synthetic darknet day checked against the telescope's own listings, and
//! suppression: no public output ever holds a cell under the threshold.

mod common;

use common::{Sandbox, shared_data};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

const DNS_HEADER: &str = "timestamp,ip,port,min_amplification,severity,protocol,hostname,tag,asn,geo,region,city,naics,hostname_source,sector,dns_version";
const NTP_HEADER: &str = "timestamp,ip,port,severity,protocol,hostname,tag,asn,geo,region,city,naics,hostname_source,sector,packets,response_size,amplification";

/// `scan_dns` rows: (time, ip, port, asn, country).
fn dns_report(rows: &[(&str, &str, u16, u32, &str)]) -> String {
    let mut s = format!("{DNS_HEADER}\n");
    for (t, ip, port, asn, cc) in rows {
        s.push_str(&format!(
            "{t},{ip},{port},40.1,high,udp,,openresolver,{asn},{cc},,,0,,,\n"
        ));
    }
    s
}

fn ntp_report(rows: &[(&str, &str, u32, &str)]) -> String {
    let mut s = format!("{NTP_HEADER}\n");
    for (t, ip, asn, cc) in rows {
        s.push_str(&format!(
            "{t},{ip},123,high,udp,,ntpmonitor,{asn},{cc},,,0,,,10,4680,556.9\n"
        ));
    }
    s
}

fn schema() -> PathBuf {
    shared_data().join("shadowserver/intelmq.json")
}

fn write(sb: &Sandbox, name: &str, text: &str) -> PathBuf {
    let p = sb.path(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Runs `firewatch --config <config> ARGS` and returns stdout, asserting success.
fn run(sb: &Sandbox, config: &PathBuf, args: &[&str]) -> String {
    let out = sb
        .cmd("h.db")
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(sb: &Sandbox, config: &PathBuf, args: &[&str]) -> Value {
    let text = run(sb, config, args);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {text}"))
}

/// `(day, key, risk) → row` of an export.
fn by_cell(rows: &Value) -> BTreeMap<(String, String, String), Value> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let k = |f: &str| r[f].as_str().unwrap().to_owned();
            ((k("day"), k("key"), k("risk")), r.clone())
        })
        .collect()
}

fn cell(day: &str, key: &str, risk: &str) -> (String, String, String) {
    (day.into(), key.into(), risk.into())
}

#[test]
fn hand_computed_metrics_of_a_small_shadowserver_sample() {
    let sb = Sandbox::new();
    // Open resolvers are TLP:CLEAR, everything else AMBER (the default). Threshold 3.
    let config = write(
        &sb,
        "firewatch.toml",
        "[feeds.tlp]\ndefault = \"AMBER\"\nfeeds = { \"DNS-Open-Resolvers\" = \"CLEAR\" }\n\n\
         [metrics]\nsuppression_threshold = 3\n",
    );
    // Monday 2026-01-05. JP/AS2497: 133.0.0.1 twice (two ports: two events, one host),
    // .2 and .3 → 3 hosts. US/AS7018: 2 hosts. DE/AS3320: 1 host. One IPv6 resolver (JP),
    // which IPv4 metrics leave out.
    let week1 = dns_report(&[
        ("2026-01-05 01:00:00", "133.0.0.1", 53, 2497, "JP"),
        ("2026-01-05 01:00:01", "133.0.0.1", 5353, 2497, "JP"),
        ("2026-01-05 01:00:02", "133.0.0.2", 53, 2497, "JP"),
        ("2026-01-05 01:00:03", "133.0.0.3", 53, 2497, "JP"),
        ("2026-01-05 02:00:00", "12.0.0.1", 53, 7018, "US"),
        ("2026-01-05 02:00:01", "12.0.0.2", 53, 7018, "US"),
        ("2026-01-05 03:00:00", "80.128.0.1", 53, 3320, "DE"),
        ("2026-01-05 04:00:00", "2001:200::1", 53, 2500, "JP"),
    ]);
    // Monday 2026-01-12: JP 6 hosts, DE 2.
    let week2 = dns_report(&[
        ("2026-01-12 01:00:00", "133.0.0.1", 53, 2497, "JP"),
        ("2026-01-12 01:00:01", "133.0.0.2", 53, 2497, "JP"),
        ("2026-01-12 01:00:02", "133.0.0.3", 53, 2497, "JP"),
        ("2026-01-12 01:00:03", "133.0.0.4", 53, 2497, "JP"),
        ("2026-01-12 01:00:04", "133.0.0.5", 53, 2497, "JP"),
        ("2026-01-12 01:00:05", "133.0.0.6", 53, 2497, "JP"),
        ("2026-01-12 03:00:00", "80.128.0.1", 53, 3320, "DE"),
        ("2026-01-12 03:00:01", "80.128.0.2", 53, 3320, "DE"),
    ]);
    // NTP monlist on 2026-01-05: JP 2 hosts, AMBER.
    let ntp = ntp_report(&[
        ("2026-01-05 05:00:00", "133.0.1.1", 2497, "JP"),
        ("2026-01-05 05:00:01", "133.0.1.2", 2497, "JP"),
    ]);
    let files = [
        write(&sb, "2026-01-05-scan_dns-test-geo.csv", &week1),
        write(&sb, "2026-01-12-scan_dns-test-geo.csv", &week2),
        write(&sb, "2026-01-05-scan_ntpmonitor-test-geo.csv", &ntp),
    ];
    let schema = schema();
    let mut ingest = vec!["feeds", "ingest", "--schema", schema.to_str().unwrap()];
    ingest.extend(files.iter().map(|f| f.to_str().unwrap()));
    run(&sb, &config, &ingest);

    let report = json(&sb, &config, &["metrics", "compute", "--json"]);
    // 8 + 8 + 2 = 18 events; the IPv6 one is left out: 17 (address, day) observations.
    assert_eq!(report["events"], 18, "{report}");
    assert_eq!(report["classified"], 18, "{report}");
    assert_eq!(report["ipv6_excluded"], 1, "{report}");
    assert_eq!(report["observations"], 17, "{report}");
    assert_eq!(report["first_day"], "2026-01-05");
    assert_eq!(report["last_day"], "2026-01-12");

    // The team's view, per country.
    let rows = by_cell(&json(
        &sb,
        &config,
        &["metrics", "export", "--by", "country", "--json"],
    ));
    assert_eq!(rows.len(), 6, "{rows:#?}");
    let jp1 = &rows[&cell("2026-01-05", "JP", "open-dns")];
    assert_eq!(jp1["unique_ips"], 3);
    assert_eq!(jp1["rank"], 1);
    // 3 hosts × 41 × 1 Mbit/s = 123 Mbit/s.
    assert_eq!(jp1["ddos_potential_gbps"], 0.123);
    // Base week = the first week (2026-01-05): 3 / 1 reporting day → 100.
    assert_eq!(jp1["trend_index"], 100.0);
    // Per million announced addresses: 3 × 10⁶ / A(JP), rounded to 3 decimals.
    let announced = jp1["announced_ipv4"].as_u64().unwrap();
    assert!(announced > 100_000_000, "JP announces {announced}");
    let expected = (3e6 / announced as f64 * 1000.0).round() / 1000.0;
    assert_eq!(jp1["per_million_addresses"].as_f64().unwrap(), expected);
    assert_eq!(rows[&cell("2026-01-05", "US", "open-dns")]["rank"], 2);
    assert_eq!(rows[&cell("2026-01-05", "DE", "open-dns")]["unique_ips"], 1);
    assert_eq!(rows[&cell("2026-01-05", "DE", "open-dns")]["rank"], 3);
    let jp2 = &rows[&cell("2026-01-12", "JP", "open-dns")];
    // 6 hosts in the second week against 3 in the base week → 200.
    assert_eq!(
        (jp2["unique_ips"].as_u64(), jp2["trend_index"].as_f64()),
        (Some(6), Some(200.0))
    );
    assert_eq!(jp2["ddos_potential_gbps"], 0.246);
    let ntp = &rows[&cell("2026-01-05", "JP", "open-ntp")];
    // 2 × 556.9 × 1 Mbit/s = 1113.8 Mbit/s.
    assert_eq!(
        (
            ntp["unique_ips"].as_u64(),
            ntp["ddos_potential_gbps"].as_f64()
        ),
        (Some(2), Some(1.1138))
    );

    // Per ASN: AS2497 is JP's only network here.
    let asn = by_cell(&json(
        &sb,
        &config,
        &["metrics", "export", "--by", "asn", "--json"],
    ));
    assert_eq!(
        asn[&cell("2026-01-12", "2497", "open-dns")]["unique_ips"],
        6
    );
    assert_eq!(
        asn[&cell("2026-01-05", "3320", "open-dns")]["unique_ips"],
        1
    );

    // The summary over both weeks: 2 reporting days. JP (3 + 6) / 2 = 4.5, DE (1 + 2) / 2 =
    // 1.5, US 2 / 2 = 1.0; JP's last week is at 200, US's at 0 (nothing on 2026-01-12).
    let summary = json(
        &sb,
        &config,
        &["metrics", "show", "--risk", "open-dns", "--json"],
    );
    let line = |key: &str| {
        summary
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["key"] == key)
            .unwrap()
            .clone()
    };
    assert_eq!(line("JP")["mean_unique_ips"], 4.5);
    assert_eq!(line("JP")["rank"], 1);
    // 4.5 × 41 / 1000.
    assert_eq!(line("JP")["ddos_potential_gbps"], 0.1845);
    assert_eq!(line("JP")["trend_index"], 200.0);
    assert_eq!(
        (
            line("DE")["mean_unique_ips"].as_f64(),
            line("DE")["rank"].as_u64()
        ),
        (Some(1.5), Some(2))
    );
    assert_eq!(
        (
            line("US")["mean_unique_ips"].as_f64(),
            line("US")["rank"].as_u64()
        ),
        (Some(1.0), Some(3))
    );
    assert_eq!(line("US")["trend_index"], 0.0);

    // The public view: CLEAR resolvers only, cells under 3 suppressed. Left: JP's 3 and 6.
    let public = by_cell(&json(
        &sb,
        &config,
        &["metrics", "export", "--by", "country", "--public", "--json"],
    ));
    let keys: Vec<_> = public.keys().cloned().collect();
    assert_eq!(
        keys,
        [
            cell("2026-01-05", "JP", "open-dns"),
            cell("2026-01-12", "JP", "open-dns")
        ]
    );
    assert_eq!(
        public[&cell("2026-01-12", "JP", "open-dns")]["trend_index"],
        200.0
    );
    // The CSV export says the same, and nothing about DE, US or NTP.
    let csv = run(
        &sb,
        &config,
        &["metrics", "export", "--by", "country", "--public", "--csv"],
    );
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "day,scope,key,risk,unique_ips,announced_ipv4,per_million_addresses,ddos_potential_gbps,trend_index,rank"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[1].starts_with("2026-01-05,country,JP,open-dns,3,"),
        "{csv}"
    );
    assert!(
        lines[2].starts_with("2026-01-12,country,JP,open-dns,6,"),
        "{csv}"
    );
    let summary = json(&sb, &config, &["metrics", "show", "--public", "--json"]);
    assert!(
        summary
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["key"] == "JP" && s["max_unique_ips"].as_u64().unwrap() >= 3),
        "{summary}"
    );

    // Computing again changes nothing.
    json(&sb, &config, &["metrics", "compute", "--json"]);
    let again = by_cell(&json(&sb, &config, &["metrics", "export", "--json"]));
    assert_eq!(again, rows);
}

#[test]
fn a_synthetic_darknet_day_counts_what_the_telescope_lists() {
    let sb = Sandbox::new();
    sb.synth("day.pcap", 200_000, &[]);
    let config = write(
        &sb,
        "firewatch.toml",
        // The telescope's one TLP (its findings stored as events carry it).
        "[web]\ndarknet_tlp = \"CLEAR\"\n\n[metrics]\nsuppression_threshold = 3\n",
    );
    run(
        &sb,
        &config,
        &["ingest", "pcap", sb.path("day.pcap").to_str().unwrap()],
    );
    json(&sb, &config, &["metrics", "compute", "--json"]);

    // The telescope's own listings, IPv4 only, grouped by country: the expected cells.
    let mut expected: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut count = |rows: Value, addr: &str, risk: &str| {
        for r in rows.as_array().unwrap() {
            let ip = r[addr].as_str().unwrap();
            if let (Ok(_), Some(cc)) = (ip.parse::<Ipv4Addr>(), r["country"].as_str()) {
                *expected
                    .entry((cc.to_owned(), risk.to_owned()))
                    .or_default() += 1;
            }
        }
    };
    let sources = |label: &str| {
        let out = sb
            .cmd("h.db")
            .args(["sources", "list", "--label", label, "--json"])
            .output()
            .unwrap();
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    count(sources("mirai"), "addr", "mirai-bot");
    for label in ["zmap", "masscan", "scanner"] {
        count(sources(label), "addr", "scanner");
    }
    let attacks: Value = serde_json::from_slice(
        &sb.cmd("h.db")
            .args(["attacks", "list", "--json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    // One victim may be attacked twice: count distinct victims.
    let mut victims: Vec<Value> = attacks.as_array().unwrap().clone();
    victims.sort_by_key(|a| a["victim"].as_str().unwrap().to_owned());
    victims.dedup_by_key(|a| a["victim"].as_str().unwrap().to_owned());
    count(Value::Array(victims), "victim", "ddos-victim");
    assert!(
        expected.keys().any(|(_, r)| r == "mirai-bot"),
        "{expected:?}"
    );
    assert!(
        expected.keys().any(|(_, r)| r == "ddos-victim"),
        "{expected:?}"
    );

    // The capture is six hours of 2026-11-02: one day.
    let rows = json(&sb, &config, &["metrics", "export", "--json"]);
    let got: BTreeMap<(String, String), u64> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["day"], "2026-11-02");
            (
                (
                    r["key"].as_str().unwrap().to_owned(),
                    r["risk"].as_str().unwrap().to_owned(),
                ),
                r["unique_ips"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, expected);

    // Public (all darknet events are CLEAR here): the same cells, minus those under 3.
    let public = json(&sb, &config, &["metrics", "export", "--public", "--json"]);
    let public: BTreeMap<(String, String), u64> = public
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                (
                    r["key"].as_str().unwrap().to_owned(),
                    r["risk"].as_str().unwrap().to_owned(),
                ),
                r["unique_ips"].as_u64().unwrap(),
            )
        })
        .collect();
    let kept: BTreeMap<_, _> = expected.into_iter().filter(|(_, n)| *n >= 3).collect();
    assert!(!kept.is_empty());
    assert_eq!(public, kept);
}

#[test]
fn bad_arguments_and_configuration_say_what_is_wrong() {
    let sb = Sandbox::new();
    let config = write(
        &sb,
        "firewatch.toml",
        "[metrics]\ndns_amplification = 99.0\n",
    );
    let out = sb
        .cmd("h.db")
        .arg("--config")
        .arg(&config)
        .args(["metrics", "compute"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("dns_amplification"));

    let fine = write(&sb, "ok.toml", "");
    let out = sb
        .cmd("h.db")
        .arg("--config")
        .arg(&fine)
        .args(["metrics", "show"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("metrics compute"));
    run(&sb, &fine, &["metrics", "compute"]);
    let out = sb
        .cmd("h.db")
        .arg("--config")
        .arg(&fine)
        .args(["metrics", "show", "--risk", "open-redis"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("open-ntp"));
}
