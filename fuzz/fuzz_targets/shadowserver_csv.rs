#![no_main]
//! Arbitrary bytes as a Shadowserver scan_dns CSV: the parser must never panic.

use firewatch_core::Collected;
use firewatch_feeds::shadowserver::{ParseOptions, Schema, parse};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const SCHEMA: &str = r#"{"scan_dns": {"file_name": "scan_dns", "feed_name": "DNS-Open-Resolvers",
  "url": "https://example.org/dns",
  "constant_fields": {"classification.type": "vulnerable-system", "classification.taxonomy": "vulnerable"},
  "required_fields": [["time.source", "timestamp", "add_UTC_to_timestamp"],
    ["source.ip", "ip", "validate_ip"], ["source.port", "port", "convert_int"]],
  "optional_fields": [["source.asn", "asn", "invalidate_zero"], ["extra.", "tag", "validate_to_none"],
    ["product.vulnerabilities", "tag", "extract_cve_from_tag"], ["source.reverse_dns", "hostname"],
    ["extra.", "amp", "convert_float"], ["extra.", "ok", "convert_bool"],
    ["source.url", "url", "convert_http_host_and_url", true], ["extra.", "b", "force_base64"]]}}"#;

fuzz_target!(|data: &[u8]| {
    static S: OnceLock<Schema> = OnceLock::new();
    let schema = S.get_or_init(|| Schema::from_json_str(SCHEMA).unwrap());
    let report = schema.report("scan_dns").unwrap();
    let mut sink = Collected::default();
    let _ = parse(
        data,
        "fuzz.csv",
        report,
        &ParseOptions::default(),
        &mut sink,
    );
});
