//! CSV with a TOML column mapping: a partner's export with preamble lines, comments, quoted
//! line breaks, CRLF and bad rows; each kind of mapping error.

use firewatch_core::{Collected, Event, ParseSummary};
use firewatch_feeds::csv_mapping::{self, CsvMapping, MappingError};
use serde_json::{Value as Json, json};

const MAPPING: &str = include_str!("data/csv/partner-scanners.toml");
const CSV: &[u8] = include_bytes!("data/csv/partner-scanners.csv");
const FILE: &str = "partner-scanners.csv";

fn byte_of_line(n: usize) -> u64 {
    CSV.split_inclusive(|&b| b == b'\n')
        .take(n - 1)
        .map(|l| l.len() as u64)
        .sum()
}

fn run(mapping: &CsvMapping, input: &[u8]) -> (ParseSummary, Collected) {
    let mut sink = Collected::default();
    let summary = csv_mapping::parse(input, FILE, mapping, &mut sink).unwrap();
    (summary, sink)
}

fn base64_of(text: &str) -> Json {
    let mut event = Event::new();
    event.set("raw", text).unwrap();
    event.get("raw").unwrap().to_json()
}

fn without_raw(event: &Event) -> Json {
    let mut json = event.to_json_value();
    json.as_object_mut().unwrap().remove("raw");
    json
}

fn mapping_error(toml: &str) -> String {
    CsvMapping::from_toml_str(toml).unwrap_err().to_string()
}

#[test]
fn partner_export() {
    let mapping = CsvMapping::from_toml_str(MAPPING).unwrap();
    assert_eq!(mapping.name(), "partner-scanners");
    let (summary, sink) = run(&mapping, CSV);
    assert_eq!(
        summary,
        ParseSummary {
            records: 6,
            events: 3,
            rejected: 3
        }
    );
    let at: Vec<(u64, u64)> = sink.events.iter().map(|(_, l)| (l.line, l.byte)).collect();
    assert_eq!(
        at,
        [
            (4, byte_of_line(4)),
            (7, byte_of_line(7)),
            (12, byte_of_line(12))
        ]
    );
    let common = |ip: &str, time: &str| {
        json!({
            "classification.taxonomy": "information-gathering",
            "classification.type": "scanner",
            "extra.partner_id": 7,
            "feed.name": "partner-scanners",
            "source.ip": ip,
            "time.source": time,
            "tlp": "AMBER",
        })
    };
    let mut first = common("192.0.2.1", "2024-05-01T12:00:00+00:00");
    first["source.port"] = json!(22);
    first["extra.note"] = json!("ssh sweep");
    assert_eq!(without_raw(&sink.events[0].0), first);
    let mut second = common("2001:db8::7", "2024-05-01T12:05:30+00:00");
    second["source.port"] = json!(23);
    second["extra.note"] = json!("telnet; then\r\nssh");
    assert_eq!(without_raw(&sink.events[1].0), second);
    // Empty cells mean "no value".
    assert_eq!(
        without_raw(&sink.events[2].0),
        common("192.0.2.4", "2024-05-01T12:30:00+00:00")
    );
    // raw is the row as written, quotes and inner line break included, without its line break.
    assert_eq!(
        sink.events[1].0.get("raw").unwrap().to_json(),
        base64_of("2001:db8::7;2024-05-01 12:05:30;23;\"telnet; then\r\nssh\"")
    );
    assert_eq!(
        sink.events[0].0.get("raw").unwrap().to_json(),
        base64_of("192.0.2.1;2024-05-01 12:00:00;22;ssh sweep")
    );

    let errors: Vec<String> = sink.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        [
            format!(
                "partner-scanners.csv: line 9 (byte {}): row has 3 fields, expected 4",
                byte_of_line(9)
            ),
            format!(
                concat!(
                    "partner-scanners.csv: line 10 (byte {}): column \"seen\" (2): time.source: ",
                    "\"yesterday\" does not match the format \"%Y-%m-%d %H:%M:%S\" ({})"
                ),
                byte_of_line(10),
                jiff::fmt::strtime::parse("%Y-%m-%d %H:%M:%S", "yesterday").unwrap_err()
            ),
            format!(
                "partner-scanners.csv: line 11 (byte {}): row is not valid UTF-8 (column 4)",
                byte_of_line(11)
            ),
        ]
    );
}

#[test]
fn field_errors_name_the_field_and_column_and_are_all_listed() {
    let mapping = CsvMapping::from_toml_str(
        r#"
        name = "t"
        [columns]
        "source.ip" = "ip"
        "source.port" = 2
        "#,
    )
    .unwrap();
    let (summary, sink) = run(&mapping, b"ip,port\n192.0.2.500,http\n");
    assert_eq!((summary.records, summary.rejected), (1, 1));
    assert_eq!(
        sink.errors[0].to_string(),
        concat!(
            r#"partner-scanners.csv: line 2 (byte 8): column "ip" (1): source.ip: "192.0.2.500" is not a valid IP address; "#,
            r#"column 2: source.port: "http" is not an integer"#
        )
    );
}

#[test]
fn without_header_columns_are_numbered_and_the_first_row_fixes_the_width() {
    let mapping = CsvMapping::from_toml_str(
        r#"
        name = "tabs"
        delimiter = "\t"
        header = false
        [columns]
        "source.ip" = 1
        "time.source" = 2
        [constants]
        "classification.type" = "brute-force"
        "#,
    )
    .unwrap();
    let input = b"192.0.2.1\t2024-05-01 12:00:00\n192.0.2.2\t2024-05-01T12:00:01Z\textra\n";
    let (summary, sink) = run(&mapping, input);
    assert_eq!(
        (summary.records, summary.events, summary.rejected),
        (2, 1, 1)
    );
    assert_eq!(
        without_raw(&sink.events[0].0),
        json!({
            "classification.taxonomy": "intrusion-attempts",
            "classification.type": "brute-force",
            "feed.name": "tabs",
            "source.ip": "192.0.2.1",
            "time.source": "2024-05-01T12:00:00+00:00",
        })
    );
    assert_eq!(
        sink.errors[0].to_string(),
        "partner-scanners.csv: line 2 (byte 30): row has 3 fields, expected 2"
    );

    // A numbered column beyond the rows' width is reported on every row.
    let wide =
        CsvMapping::from_toml_str("name = \"w\"\nheader = false\n[columns]\n\"source.ip\" = 5\n")
            .unwrap();
    let (_, sink) = run(&wide, b"192.0.2.1,x\n");
    assert_eq!(
        sink.errors[0].reason,
        "no column 5 (mapped to source.ip); rows have 2 fields"
    );
}

#[test]
fn a_header_without_a_mapped_column_is_fatal() {
    let mapping = CsvMapping::from_toml_str(
        r#"
        name = "partner"
        [columns]
        "source.ip" = "ip"
        "time.source" = "seen"
        "source.port" = 9
        "#,
    )
    .unwrap();
    let mut sink = Collected::default();
    let err = csv_mapping::parse(
        &b"\xEF\xBB\xBFip,first_seen\n192.0.2.1,x\n"[..],
        FILE,
        &mapping,
        &mut sink,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        concat!(
            r#"partner-scanners.csv: line 1 (byte 0): header does not match the mapping "partner": "#,
            r#"no column 9 (mapped to source.port); the header has 2; "#,
            r#"no column "seen" (mapped to time.source); "#,
            r#"the header's columns are "ip", "first_seen""#
        )
    );
    assert!(sink.events.is_empty() && sink.errors.is_empty());

    let err =
        csv_mapping::parse(&b"ip,ip\n"[..], FILE, &mapping, &mut Collected::default()).unwrap_err();
    assert!(
        err.reason
            .contains(r#"column "ip" (mapped to source.ip) appears 2 times"#),
        "{err}"
    );
}

#[test]
fn empty_input_and_short_preamble() {
    let mapping = CsvMapping::from_toml_str(MAPPING).unwrap();
    assert_eq!(run(&mapping, b"").0, ParseSummary::default());
    assert_eq!(run(&mapping, b"only one line\n").0, ParseSummary::default());
}

#[test]
fn mapping_errors_are_reported_together_at_load_time() {
    let err = mapping_error(
        r#"
        name = "bad"
        header = false
        [columns]
        "source.ipp" = 1
        "source.port" = 0
        "destination.ip" = "dst"
        "extra.Note" = 2
        "source.asn" = { column = 3, format = "%Y" }
        "time.source" = { column = 4, format = "%Q" }
        "raw" = 5
        [constants]
        "classification.type" = "scannr"
        "tlp" = "PURPLE"
        "feed.name" = "x"
        "#,
    );
    let expected = [
        "[columns] destination.ip: column \"dst\" is named but `header = false`; use its number",
        "[columns] extra.Note: is not an IntelMQ field (see the harmonization; custom fields go under extra. in lowercase)",
        "[columns] raw: is set by the parser (the row, Base64-encoded)",
        "[columns] source.asn: `format` is only for date-time fields",
        "[columns] source.ipp: is not an IntelMQ field (see the harmonization; custom fields go under extra. in lowercase)",
        "[columns] source.port: 0 is neither a column name nor a column number (1, 2, …)",
        "[columns] time.source: format \"%Q\" is not a valid strftime format",
        "[constants] classification.type: \"scannr\" is not a known classification type (RSIT)",
        "[constants] feed.name: is set from the mapping's `name`",
        "[constants] tlp: \"PURPLE\" is not a TLP level (CLEAR, GREEN, AMBER, AMBER+STRICT, RED)",
    ];
    assert_eq!(err, format!("CSV mapping: {}", expected.join("; ")));
}

#[test]
fn mapping_shape_errors() {
    let err = mapping_error("name = \"x\"\ncolour = \"red\"\n[columns]\n\"source.ip\" = 1\n");
    assert!(err.contains("unknown field `colour`"), "{err}");
    let err = mapping_error("[columns]\n\"source.ip\" = 1\n");
    assert!(err.contains("missing field `name`"), "{err}");
    let err = mapping_error("name = \"x\"\ndelimiter = \"::\"\ncomment = \"::\"\n[columns]\n");
    assert_eq!(
        err,
        concat!(
            r#"CSV mapping: delimiter: "::" must be one ASCII character (not a quote or line break); "#,
            r#"comment: "::" must be one ASCII character (not a quote or line break); "#,
            "[columns] maps no column"
        )
    );
    let err = mapping_error(
        "name = \"x\"\n[columns]\n\"source.ip\" = { col = \"ip\" }\n[constants]\n\"source.ip\" = \"192.0.2.1\"\n",
    );
    assert_eq!(
        err,
        concat!(
            r#"CSV mapping: [columns] source.ip: unknown key "col" (expected column, format); "#,
            "[columns] source.ip: has no `column`; ",
            "source.ip is both in [columns] and in [constants]"
        )
    );
    assert!(matches!(
        CsvMapping::from_toml_str("name ="),
        Err(MappingError::Toml(_))
    ));
}
