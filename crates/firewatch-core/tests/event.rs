//! Event model: sanitisation, rejection, JSON round trips.

use firewatch_core::{Event, EventError, Value};
use proptest::prelude::*;
use serde_json::json;

fn sanitized(field: &str, value: serde_json::Value) -> Value {
    let mut event = Event::new();
    event
        .set(field, value.clone())
        .unwrap_or_else(|e| panic!("{field} = {value}: {e}"));
    event.get(field).unwrap().clone()
}

fn text(field: &str, value: serde_json::Value) -> String {
    sanitized(field, value).as_str().unwrap().to_owned()
}

fn rejected(field: &str, value: serde_json::Value) -> String {
    let mut event = Event::new();
    let err = event
        .set(field, value.clone())
        .expect_err(&format!("{field} = {value} should be rejected"));
    assert_eq!(err.field, field);
    assert!(event.is_empty(), "rejected value left in event");
    err.to_string()
}

#[test]
fn scanner_event_round_trip() {
    let line = r#"{"__type": "Event", "classification.identifier": "scan-ssh", "classification.taxonomy": "information-gathering", "classification.type": "scanner", "extra.naics": 517311, "extra.tags": ["ssh", "brute"], "feed.accuracy": 100.0, "feed.name": "Scan SSH", "feed.provider": "Shadowserver", "protocol.application": "ssh", "protocol.transport": "tcp", "raw": "InRpbWVzdGFtcCIsInNyY19pcCI=", "source.asn": 64496, "source.geolocation.cc": "NL", "source.geolocation.latitude": 52.37, "source.ip": "192.0.2.1", "source.port": 22, "source.reverse_dns": "scanner.example.net", "time.observation": "2024-05-02T06:00:00+00:00", "time.source": "2024-05-01T12:34:56.123456+00:00", "tlp": "AMBER"}"#;
    let event = Event::from_intelmq_json(line).unwrap();
    assert_eq!(event.len(), 20);
    let out = event.to_intelmq_json();
    let mut expected: serde_json::Value = serde_json::from_str(line).unwrap();
    expected.as_object_mut().unwrap().remove("__type");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap(),
        expected
    );
    assert_eq!(Event::from_intelmq_json(&out).unwrap(), event);
    // Keys come out sorted.
    assert!(
        out.starts_with(r#"{"classification.identifier":"scan-ssh","classification.taxonomy""#)
    );
    // serde: same form both ways.
    let via_serde: Event = serde_json::from_str(&out).unwrap();
    assert_eq!(via_serde, event);
    assert_eq!(serde_json::to_string(&event).unwrap(), out);
}

#[test]
fn strings() {
    assert_eq!(text("feed.name", json!("  Scan SSH ")), "Scan SSH");
    assert_eq!(text("comment", json!(42)), "42");
    rejected("comment", json!(true));
    rejected("comment", json!({"a": 1}));
    assert_eq!(
        text("source.abuse_contact", json!("Abuse@Example.ORG")),
        "abuse@example.org"
    );
    assert_eq!(text("source.geolocation.cc", json!("nl")), "NL");
    rejected("source.geolocation.cc", json!("NLD"));
    rejected("source.geolocation.cc", json!("N-"));
    assert_eq!(text("feed.code", json!("x".repeat(100))).len(), 100);
    assert!(rejected("feed.code", json!("x".repeat(101))).contains("too long"));
    assert_eq!(text("severity", json!("HIGH")), "high");
    rejected("severity", json!("urgent"));
    assert_eq!(text("protocol.transport", json!("TCP")), "tcp");
    rejected("protocol.transport", json!("tcpx"));
    rejected("malware.name", json!("zeus\u{e9}"));
    assert_eq!(
        text(
            "misp.event_uuid",
            json!("0F0E0D0C-0000-1111-2222-333344445555")
        ),
        "0f0e0d0c-0000-1111-2222-333344445555"
    );
    rejected("misp.event_uuid", json!("not-a-uuid"));
    assert_eq!(text("event_hash", json!("ab12")), "AB12");
    rejected("event_hash", json!("XYZ"));
}

#[test]
fn absent_values_are_skipped() {
    let mut event = Event::new();
    for v in [
        json!(null),
        json!(""),
        json!("-"),
        json!("N/A"),
        json!("  "),
    ] {
        event.set("source.ip", v).unwrap();
    }
    assert!(event.is_empty());
}

#[test]
fn ip_addresses_and_networks() {
    assert_eq!(text("source.ip", json!(" 192.0.2.1 ")), "192.0.2.1");
    assert_eq!(text("source.ip", json!("2001:DB8:0:0::1")), "2001:db8::1");
    assert_eq!(text("source.ip", json!("192.0.2.1/32")), "192.0.2.1");
    assert_eq!(
        text("destination.local_ip", json!("::ffff:192.0.2.1")),
        "::ffff:192.0.2.1"
    );
    rejected("source.ip", json!("256.0.0.1"));
    rejected("source.ip", json!("192.0.2.0/24"));
    rejected("source.ip", json!("example.com"));
    rejected("source.ip", json!(3232235777u32));
    assert_eq!(
        text("source.network", json!("192.0.2.0/24")),
        "192.0.2.0/24"
    );
    assert_eq!(
        text("source.network", json!("2001:DB8::/32")),
        "2001:db8::/32"
    );
    assert_eq!(text("source.network", json!("192.0.2.7")), "192.0.2.7/32");
    assert!(rejected("source.network", json!("192.0.2.1/24")).contains("host bits"));
    rejected("source.network", json!("192.0.2.0/33"));
}

#[test]
fn asn() {
    assert_eq!(sanitized("source.asn", json!(64496)), Value::Integer(64496));
    assert_eq!(
        sanitized("source.asn", json!("AS64496")),
        Value::Integer(64496)
    );
    assert_eq!(
        sanitized("destination.asn", json!("as 1")),
        Value::Integer(1)
    );
    assert_eq!(
        sanitized("source.asn", json!(4294967295u64)),
        Value::Integer(4294967295)
    );
    assert_eq!(
        rejected("source.asn", json!("0")),
        r#"source.asn: "0" is not a valid ASN (must be 1..4294967295)"#
    );
    assert_eq!(
        rejected("source.asn", json!(0)),
        "source.asn: 0 is not a valid ASN (must be 1..4294967295)"
    );
    rejected("source.asn", json!(4294967296u64));
    rejected("source.asn", json!(-5));
    rejected("source.asn", json!("ASx"));
}

#[test]
fn integers_floats_booleans_accuracy() {
    assert_eq!(sanitized("source.port", json!("22")), Value::Integer(22));
    assert_eq!(sanitized("source.port", json!(22.0)), Value::Integer(22));
    assert!(rejected("source.port", json!(123456)).contains("too long"));
    assert_eq!(
        sanitized("destination.port", json!(123456)),
        Value::Integer(123456)
    );
    rejected("source.port", json!("22.5"));
    rejected("source.port", json!(true));
    rejected("rtir_id", json!("twelve"));
    assert_eq!(
        sanitized("source.geolocation.latitude", json!("52.37")),
        Value::Float(52.37)
    );
    assert_eq!(
        sanitized("source.geolocation.longitude", json!(4)),
        Value::Float(4.0)
    );
    rejected("source.geolocation.latitude", json!("NaN"));
    rejected("source.geolocation.latitude", json!("north"));
    assert_eq!(
        sanitized("source.tor_node", json!(true)),
        Value::Boolean(true)
    );
    assert_eq!(
        sanitized("source.tor_node", json!("False")),
        Value::Boolean(false)
    );
    rejected("source.tor_node", json!("yes"));
    rejected("source.tor_node", json!(1));
    assert_eq!(
        sanitized("feed.accuracy", json!("87.5")),
        Value::Float(87.5)
    );
    assert_eq!(sanitized("feed.accuracy", json!(true)), Value::Float(100.0));
    rejected("feed.accuracy", json!(100.5));
    rejected("feed.accuracy", json!(-1));
}

#[test]
fn fqdn() {
    assert_eq!(
        text("source.fqdn", json!("WWW.Example.COM.")),
        "www.example.com"
    );
    assert_eq!(
        text("source.reverse_dns", json!("host-1_a.example.net")),
        "host-1_a.example.net"
    );
    assert_eq!(text("source.domain_suffix", json!("co.uk")), "co.uk");
    rejected("source.fqdn", json!("192.0.2.1"));
    rejected("source.fqdn", json!("bad host.example"));
    rejected("source.fqdn", json!("a..example"));
    rejected("source.fqdn", json!(".example.com"));
    rejected("source.fqdn", json!("..."));
    rejected("source.fqdn", json!(format!("{}.com", "a".repeat(64))));
}

#[test]
fn urls() {
    assert_eq!(
        text("source.url", json!("https://example.com/a?b#c")),
        "https://example.com/a?b#c"
    );
    assert_eq!(
        text("source.url", json!("example.com/x")),
        "http://example.com/x"
    );
    assert_eq!(
        text("feed.url", json!("hxxp://evil.example/")),
        "http://evil.example/"
    );
    rejected("source.url", json!("http:///path"));
    rejected("source.url", json!("http://exa mple.com/"));
    rejected("source.url", json!("/just/a/path"));
}

#[test]
fn date_times() {
    let cases = [
        ("2024-05-01T12:34:56Z", "2024-05-01T12:34:56+00:00"),
        ("2024-05-01T12:34:56+00:00", "2024-05-01T12:34:56+00:00"),
        ("2024-05-01 12:34:56", "2024-05-01T12:34:56+00:00"),
        ("2024-05-01 12:34:56 UTC", "2024-05-01T12:34:56+00:00"),
        ("2024-05-01T14:34:56+02:00", "2024-05-01T12:34:56+00:00"),
        ("2024-05-01T12:34:56.5Z", "2024-05-01T12:34:56.500000+00:00"),
        (
            "2024-05-01T12:34:56.123456789Z",
            "2024-05-01T12:34:56.123456+00:00",
        ),
        ("2024-05-01", "2024-05-01T00:00:00+00:00"),
    ];
    for (input, expected) in cases {
        assert_eq!(text("time.source", json!(input)), expected, "{input}");
    }
    rejected("time.source", json!("yesterday"));
    rejected("time.source", json!("2024-13-01T00:00:00Z"));
    rejected("time.observation", json!(1714566896));
}

#[test]
fn registry_tlp_classification() {
    assert_eq!(text("source.registry", json!("ripencc")), "RIPE");
    assert_eq!(text("source.registry", json!("arin")), "ARIN");
    rejected("source.registry", json!("IANA"));
    assert_eq!(text("tlp", json!("TLP:AMBER+STRICT")), "AMBER+STRICT");
    assert_eq!(text("tlp", json!("white")), "CLEAR");
    assert_eq!(text("tlp", json!("Clear")), "CLEAR");
    assert_eq!(text("tlp", json!("red")), "RED");
    rejected("tlp", json!("PURPLE"));
    assert_eq!(text("classification.type", json!("Scanner")), "scanner");
    assert!(rejected("classification.type", json!("port-scan")).contains("classification type"));
    assert_eq!(
        text("classification.taxonomy", json!("Vulnerable")),
        "vulnerable"
    );
    rejected("classification.taxonomy", json!("scanner"));
}

#[test]
fn raw_output_and_extra() {
    assert_eq!(text("raw", json!("hello")), "aGVsbG8=");
    assert_eq!(text("raw", json!("ab")), "YWI=");
    // From IntelMQ JSON, raw is already Base64 and must decode.
    let event = Event::from_intelmq_json(r#"{"raw": "aGVsbG8="}"#).unwrap();
    assert_eq!(event.get("raw").unwrap().as_str(), Some("aGVsbG8="));
    assert!(Event::from_intelmq_json(r#"{"raw": "not base64!"}"#).is_err());
    assert_eq!(text("output", json!({"a": 1})), r#"{"a":1}"#);
    assert_eq!(text("output", json!("[1, 2]")), "[1, 2]");
    rejected("output", json!("{nope"));
    assert_eq!(
        sanitized("extra.tags", json!(["a", 1])),
        Value::Json(json!(["a", 1]))
    );
    let mut event = Event::new();
    event
        .set("extra", json!({"os.name": "linux", "count": 3}))
        .unwrap();
    assert_eq!(
        event.get("extra.os.name"),
        Some(&Value::Json(json!("linux")))
    );
    assert_eq!(event.get("extra.count"), Some(&Value::Json(json!(3))));
    event.set("extra", r#"{"more": true}"#).unwrap();
    assert!(event.contains("extra.more"));
    rejected("extra", json!([1]));
    rejected("extra.Bad Key", json!(1));
    rejected("extra.", json!(1));
    // A bad member leaves the event unchanged.
    let before = event.clone();
    assert!(event.set("extra", json!({"ok": 1, "Not OK": 2})).is_err());
    assert_eq!(event, before);
}

#[test]
fn unknown_fields_rejected() {
    let msg = rejected("source.nonsense", json!("x"));
    assert!(
        msg.starts_with(r#"source.nonsense: "x" is for an unknown field"#),
        "{msg}"
    );
    rejected("extra_field", json!("x"));
    rejected("", json!("x"));
}

#[test]
fn taxonomy_filled_from_type() {
    let mut event = Event::new();
    assert!(!event.fill_taxonomy());
    event.set("classification.type", "brute-force").unwrap();
    assert!(event.fill_taxonomy());
    assert_eq!(
        event.get("classification.taxonomy").unwrap().as_str(),
        Some("intrusion-attempts")
    );
    // An existing taxonomy is kept.
    let mut event = Event::new();
    event.set("classification.type", "scanner").unwrap();
    event.set("classification.taxonomy", "other").unwrap();
    assert!(!event.fill_taxonomy());
    assert_eq!(
        event.get("classification.taxonomy").unwrap().as_str(),
        Some("other")
    );
}

#[test]
fn json_errors_collected() {
    assert!(matches!(
        Event::from_intelmq_json("not json"),
        Err(EventError::Json(_))
    ));
    assert!(matches!(
        Event::from_intelmq_json(""),
        Err(EventError::Json(_))
    ));
    assert!(matches!(
        Event::from_intelmq_json("[1,2]"),
        Err(EventError::NotAnObject)
    ));
    let err = Event::from_intelmq_json(
        r#"{"source.asn": 0, "source.ip": "x", "bogus": 1, "feed.name": "ok"}"#,
    )
    .unwrap_err();
    let EventError::Fields(errors) = &err else {
        panic!("{err}")
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["bogus", "source.asn", "source.ip"]);
    assert!(err.to_string().contains("source.asn: 0 is not a valid ASN"));
    assert!(serde_json::from_str::<Event>(r#"{"source.ip": "x"}"#).is_err());
}

proptest! {
    #[test]
    fn set_never_panics(field in "[a-z_.]{0,30}|\\PC{0,30}", value in "\\PC{0,60}") {
        let mut event = Event::new();
        let _ = event.set(&field, value.as_str());
    }

    #[test]
    fn set_known_fields_never_panics(
        index in 0..firewatch_core::harmonization::EVENT_FIELDS.len(),
        value in prop_oneof![
            "\\PC{0,60}".prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            any::<bool>().prop_map(serde_json::Value::from),
        ],
    ) {
        let field = firewatch_core::harmonization::EVENT_FIELDS[index].name;
        let mut event = Event::new();
        if event.set(field, value).is_ok() {
            // Whatever was accepted survives a JSON round trip unchanged.
            let line = event.to_intelmq_json();
            let back = Event::from_intelmq_json(&line).unwrap();
            prop_assert_eq!(back.len(), event.len());
            for ((ka, a), (kb, b)) in back.iter().zip(event.iter()) {
                prop_assert_eq!(ka, kb);
                match (a, b) {
                    // serde_json's default float parsing may differ in the last bit.
                    (Value::Float(x), Value::Float(y)) => {
                        prop_assert!((x - y).abs() <= 1e-12 * y.abs().max(1.0), "{} vs {}", x, y)
                    }
                    _ => prop_assert_eq!(a, b),
                }
            }
        }
    }

    #[test]
    fn from_json_never_panics(line in "\\PC{0,100}") {
        let _ = Event::from_intelmq_json(&line);
    }
}
