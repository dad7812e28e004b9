//! The Shadowserver parser on its own: the schema, report detection, exact events for a small
//! hand-written `scan_dns` report, and rejected input (with file, line and byte offset).

use std::path::Path;

use firewatch_core::Collected;
use firewatch_feeds::shadowserver::{ParseOptions, Report, Schema, parse};
use serde_json::{Value as Json, json};

/// Shadowserver's schema in ../shared beside the repository (a clone may live anywhere).
const SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/shadowserver/intelmq.json"
);
const FILE: &str = "2026-01-01-scan_dns-test-geo.csv";

const HEADER: &str = "timestamp,ip,port,min_amplification,severity,protocol,hostname,tag,asn,geo,\
region,city,naics,hostname_source,sector,dns_version";

/// The published schema (Shadowserver's `intelmq.json`), or `None` (test skipped) when this
/// machine does not have it.
fn schema() -> Option<Schema> {
    if !Path::new(SCHEMA).exists() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "{SCHEMA} is missing and CI=true"
        );
        eprintln!("\n*** SKIPPED: no Shadowserver schema at {SCHEMA} ***\n");
        return None;
    }
    Some(Schema::from_path(Path::new(SCHEMA)).unwrap())
}

fn options() -> ParseOptions {
    ParseOptions {
        time_observation: Some("2026-01-02T03:04:05+00:00".into()),
        ..ParseOptions::default()
    }
}

fn run(report: &Report, csv: &[u8]) -> (Result<firewatch_core::ParseSummary, String>, Collected) {
    let mut sink = Collected::default();
    let summary = parse(csv, FILE, report, &options(), &mut sink).map_err(|e| e.to_string());
    (summary, sink)
}

fn b64(text: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in text.as_bytes().chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            out.push(if i <= c.len() {
                T[(n >> (18 - 6 * i)) as usize & 63] as char
            } else {
                '='
            });
        }
    }
    out
}

/// The header as IntelMQ writes it back into `raw`: every name quoted.
fn quoted_header() -> String {
    HEADER
        .split(',')
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn schema_loads_every_report() {
    let Some(schema) = schema() else { return };
    assert_eq!(schema.reports().len(), 170);
    for report in schema.reports() {
        assert!(!report.file_name.is_empty(), "{}", report.key);
        assert!(!report.feed_name.is_empty(), "{}", report.key);
        assert!(
            schema.report(&report.file_name).is_some(),
            "{} not found by its file name",
            report.key
        );
    }
    let dns = schema.report("scan_dns").unwrap();
    assert_eq!(dns.feed_name, "DNS-Open-Resolvers");
    assert_eq!(dns.required_fields.len(), 3);
}

#[test]
fn detection_by_file_name() {
    let Some(schema) = schema() else { return };
    for name in [
        "2026-01-01-scan_dns-jp-geo.csv",
        "scan_dns.csv",
        "reports/2026/2026-01-01-scan_dns-test-geo.csv",
        "2026-01-01-scan_dns.csv",
    ] {
        assert_eq!(schema.detect(name).unwrap().file_name, "scan_dns", "{name}");
    }
    assert_eq!(
        schema
            .detect("2026-01-01-event4_sinkhole-jp-geo.csv")
            .unwrap()
            .file_name,
        "event4_sinkhole"
    );

    let err = schema
        .detect("2026-01-01-scan_nothing_like_it-jp-geo.csv")
        .unwrap_err();
    assert_eq!(err.guessed.as_deref(), Some("scan_nothing_like_it"));
    assert_eq!(err.known, 170);
    let text = err.to_string();
    assert!(text.contains("\"scan_nothing_like_it\""), "{text}");
    assert!(
        text.contains("2026-01-01-scan_nothing_like_it-jp-geo.csv"),
        "{text}"
    );

    let err = schema.detect("report.txt").unwrap_err();
    assert_eq!(err.guessed, None);
    assert!(
        err.to_string()
            .contains("does not look like a Shadowserver report")
    );
}

#[test]
fn small_scan_dns_report_gives_exact_events() {
    let Some(schema) = schema() else { return };
    let report = schema.detect(FILE).unwrap();
    let rows = [
        "2026-01-01 00:00:01,192.0.2.1,53,28.5,high,udp,Resolver.Example.NET.,openresolver,64496,jp,TOKYO,MINATO,517311,ptr,Communications,9.18.0",
        "2026-01-01 00:00:02,2001:DB8::1,5353,,,tcp,,,0,,,,0,,,",
        "2026-01-01 00:00:03,198.51.100.7,53,1.0,medium,UDP,host.example.org,cve-2021-1234;openresolver,64497,US,,,,,Water,",
    ];
    let csv = format!("{HEADER}\n{}\n", rows.join("\n"));
    let (summary, sink) = run(report, csv.as_bytes());
    let summary = summary.unwrap();
    assert_eq!(
        (summary.records, summary.events, summary.rejected),
        (3, 3, 0)
    );
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);

    let raw = |row: &str| b64(&format!("{}\n{row}", quoted_header()));
    let common = json!({
        "classification.identifier": "dns-open-resolver",
        "classification.taxonomy": "vulnerable",
        "classification.type": "vulnerable-system",
        "feed.documentation": "https://www.shadowserver.org/what-we-do/network-reporting/dns-open-resolvers-report/",
        "feed.name": "DNS-Open-Resolvers",
        "protocol.application": "dns",
        "time.observation": "2026-01-02T03:04:05+00:00",
    });
    let with = |fields: Json| {
        let mut all = common.as_object().unwrap().clone();
        all.extend(fields.as_object().unwrap().clone());
        Json::Object(all)
    };
    let expected = [
        with(json!({
            "extra.dns_version": "9.18.0",
            "extra.hostname_source": "ptr",
            "extra.min_amplification": 28.5,
            "extra.naics": 517311,
            "extra.sector": "Communications",
            "extra.tag": "openresolver",
            "protocol.transport": "udp",
            "raw": raw(rows[0]),
            "severity": "high",
            "source.asn": 64496,
            "source.geolocation.cc": "JP",
            "source.geolocation.city": "MINATO",
            "source.geolocation.region": "TOKYO",
            "source.ip": "192.0.2.1",
            "source.port": 53,
            "source.reverse_dns": "resolver.example.net",
            "time.source": "2026-01-01T00:00:01+00:00",
        })),
        with(json!({
            "protocol.transport": "tcp",
            "raw": raw(rows[1]),
            "source.ip": "2001:db8::1",
            "source.port": 5353,
            "time.source": "2026-01-01T00:00:02+00:00",
        })),
        with(json!({
            "extra.min_amplification": 1.0,
            "extra.sector": "Water",
            "extra.tag": "cve-2021-1234;openresolver",
            "product.vulnerabilities": "cve-2021-1234",
            "protocol.transport": "udp",
            "raw": raw(rows[2]),
            "severity": "medium",
            "source.asn": 64497,
            "source.geolocation.cc": "US",
            "source.ip": "198.51.100.7",
            "source.port": 53,
            "source.reverse_dns": "host.example.org",
            "time.source": "2026-01-01T00:00:03+00:00",
        })),
    ];
    let mut offset = HEADER.len() as u64 + 1;
    for (i, ((event, at), want)) in sink.events.iter().zip(&expected).enumerate() {
        assert_eq!(
            (at.file.as_str(), at.line, at.byte),
            (FILE, i as u64 + 2, offset)
        );
        offset += rows[i].len() as u64 + 1;
        let got = event.to_json_value();
        let (got, want) = (got.as_object().unwrap(), want.as_object().unwrap());
        for (field, value) in want {
            assert_eq!(got.get(field), Some(value), "row {}: {field}", i + 1);
        }
        for field in got.keys() {
            assert!(
                want.contains_key(field),
                "row {}: unexpected {field}",
                i + 1
            );
        }
        // The typed values, not only their JSON form.
        assert_eq!(
            event.get("source.port").unwrap().as_i64(),
            want["source.port"].as_i64()
        );
    }
}

#[test]
fn header_without_required_columns_rejects_the_file() {
    let Some(schema) = schema() else { return };
    let report = schema.detect(FILE).unwrap();
    let csv = "timestamp,asn,geo\n2026-01-01 00:00:01,64496,JP\n";
    let (summary, sink) = run(report, csv.as_bytes());
    let err = summary.unwrap_err();
    assert!(
        err.starts_with(&format!("{FILE}: line 1 (byte 0): ")),
        "{err}"
    );
    assert!(err.contains("required column(s) ip, port"), "{err}");
    assert!(err.contains("\"scan_dns\""), "{err}");
    assert!(sink.events.is_empty() && sink.errors.is_empty());
}

#[test]
fn bad_rows_are_rejected_with_location_and_good_rows_kept() {
    let Some(schema) = schema() else { return };
    let report = schema.detect(FILE).unwrap();
    let good = "2026-01-01 00:00:01,192.0.2.1,53,1.5,high,udp,a.example,t,64496,JP,R,C,0,,,";
    let ragged = "2026-01-01 00:00:02,192.0.2.2,53,1.5,high,udp";
    let bad_utf8: &[u8] =
        b"2026-01-01 00:00:03,192.0.2.3,53,1.5,high,udp,a.example,t,64496,JP,R,\xff\xfe,0,,,";
    let bad_port = "2026-01-01 00:00:04,192.0.2.4,5x3,1.5,high,udp,a.example,t,64496,JP,R,C,0,,,";
    let last = "2026-01-01 00:00:05,192.0.2.5,53,,,,,,,,,,,,,";
    let mut csv = Vec::new();
    let mut starts = Vec::new();
    csv.extend_from_slice(HEADER.as_bytes());
    csv.push(b'\n');
    for row in [
        good.as_bytes(),
        ragged.as_bytes(),
        bad_utf8,
        bad_port.as_bytes(),
        last.as_bytes(),
    ] {
        starts.push(csv.len() as u64);
        csv.extend_from_slice(row);
        csv.push(b'\n');
    }
    let (summary, sink) = run(report, &csv);
    let summary = summary.unwrap();
    assert_eq!(
        (summary.records, summary.events, summary.rejected),
        (5, 2, 3)
    );

    let kept: Vec<_> = sink
        .events
        .iter()
        .map(|(e, at)| {
            (
                e.get("source.ip").unwrap().as_str().unwrap().to_owned(),
                at.line,
                at.byte,
            )
        })
        .collect();
    assert_eq!(
        kept,
        [
            ("192.0.2.1".to_owned(), 2, starts[0]),
            ("192.0.2.5".to_owned(), 6, starts[4])
        ]
    );

    let errors: Vec<_> = sink
        .errors
        .iter()
        .map(|e| {
            (
                e.location.file.as_str(),
                e.location.line,
                e.location.byte,
                e.reason.as_str(),
            )
        })
        .collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert_eq!(
        (errors[0].0, errors[0].1, errors[0].2),
        (FILE, 3, starts[1])
    );
    assert_eq!(errors[0].3, "6 fields where the header has 16");
    assert_eq!(
        (errors[1].0, errors[1].1, errors[1].2),
        (FILE, 4, starts[2])
    );
    assert_eq!(errors[1].3, "column city (field 12) is not valid UTF-8");
    assert_eq!(
        (errors[2].0, errors[2].1, errors[2].2),
        (FILE, 5, starts[3])
    );
    assert!(errors[2].3.contains("column port"), "{}", errors[2].3);
    assert!(
        errors[2].3.contains("\"5x3\" is not an integer"),
        "{}",
        errors[2].3
    );
    // Displayed as file: line (byte): reason.
    assert_eq!(
        sink.errors[2].to_string(),
        format!("{FILE}: line 5 (byte {}): {}", starts[3], errors[2].3)
    );
}

/// Issue 22, item 19: a 50 MB field once became a 122 MB stored event (the field plus `raw`).
/// A row over `MAX_RECORD_BYTES` is rejected with its place; the rows around it are kept.
#[test]
fn issue_22_item_19_an_oversized_row_is_rejected_with_its_place() {
    let Some(schema) = schema() else { return };
    let report = schema.detect(FILE).unwrap();
    let huge = "x".repeat(firewatch_core::input::MAX_RECORD_BYTES + 1);
    let good = "2026-01-01 00:00:01,192.0.2.1,53,1.5,high,udp,a.example,t,64496,JP,R,C,0,,,";
    let oversized =
        format!("2026-01-01 00:00:02,192.0.2.2,53,1.5,high,udp,{huge},t,64496,JP,R,C,0,,,");
    let csv = format!("{HEADER}\n{good}\n{oversized}\n{good}\n");
    let (summary, sink) = run(report, csv.as_bytes());
    let summary = summary.unwrap();
    assert_eq!(
        (summary.records, summary.events, summary.rejected),
        (3, 2, 1)
    );
    let error = &sink.errors[0];
    assert_eq!(error.location.line, 3);
    assert_eq!(error.location.byte, (HEADER.len() + good.len() + 2) as u64);
    assert!(error.reason.contains("more than the 1024 KiB"), "{error}");
}
