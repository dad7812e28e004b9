//! The `--where` filter language: parsing, errors with columns, and in-memory evaluation.

use firewatch_core::Event;
use firewatch_core::Value;
use firewatch_core::filter::{CmpOp, Expr, Filter};

fn event(fields: &[(&str, serde_json::Value)]) -> Event {
    let mut e = Event::new();
    for (k, v) in fields {
        e.set(k, v.clone()).unwrap();
    }
    e
}

fn scanner_jp() -> Event {
    event(&[
        ("classification.type", "scanner".into()),
        ("source.geolocation.cc", "JP".into()),
        ("source.ip", "192.0.2.77".into()),
        ("source.asn", 64496.into()),
        ("source.port", 4444.into()),
        ("source.reverse_dns", "Scan-01.Example.NET".into()),
        ("time.source", "2024-05-01T12:00:00+00:00".into()),
        ("extra.team", "cert-a".into()),
        ("extra.count", 12.into()),
    ])
}

fn m(filter: &str, e: &Event) -> bool {
    Filter::parse(filter)
        .unwrap_or_else(|err| panic!("{filter}: {err}"))
        .matches(e)
}

#[test]
fn the_example_works() {
    let e = scanner_jp();
    assert!(m(
        "classification.type = scanner and source.geolocation.cc = JP",
        &e
    ));
    assert!(!m(
        "classification.type = scanner and source.geolocation.cc = DE",
        &e
    ));
}

#[test]
fn values_are_sanitised_like_event_set() {
    let e = scanner_jp();
    assert!(m("source.asn = AS64496", &e));
    assert!(m("source.geolocation.cc = jp", &e));
    assert!(m("classification.type = SCANNER", &e));
    assert!(m("source.reverse_dns = scan-01.example.net.", &e));
    assert!(m("time.source = '2024-05-01 12:00:00'", &e));
    let err = Filter::parse("source.asn = x").unwrap_err();
    assert_eq!(err.column, 14);
    assert!(err.to_string().contains("not a valid ASN"), "{err}");
}

#[test]
fn operators() {
    let e = scanner_jp();
    assert!(m("source.port > 1024", &e));
    assert!(m("source.port >= 4444 and source.port <= 4444", &e));
    assert!(!m("source.port < 4444", &e));
    assert!(m("source.port != 22", &e));
    assert!(m("source.reverse_dns ~ EXAMPLE", &e));
    assert!(m("source.asn ~ 644", &e));
    assert!(m("source.port in (22, 4444, 80)", &e));
    assert!(!m("source.port in (22, 80)", &e));
    assert!(m("extra.team exists", &e));
    assert!(!m("destination.ip exists", &e));
    assert!(m(
        "time.source >= '2024-05-01' and time.source < '2024-05-02'",
        &e
    ));
    assert!(m("extra.count > 10 and extra.team = cert-a", &e));
    assert!(
        !m("extra.count = '12'", &e),
        "a quoted string is not a number"
    );
    assert!(m("extra.team ~ CERT", &e));
}

#[test]
fn absent_fields_fail_every_comparison_but_not_its_negation() {
    let e = scanner_jp();
    assert!(!m("destination.port != 22", &e));
    assert!(m("not destination.port = 22", &e));
    assert!(!m("destination.ip ~ 1", &e));
}

#[test]
fn cidr_on_ip_fields() {
    let e = scanner_jp();
    assert!(m("source.ip = 192.0.2.0/24", &e));
    assert!(!m("source.ip = 198.51.100.0/24", &e));
    assert!(m("source.ip != 198.51.100.0/24", &e));
    assert!(!m("source.ip != 192.0.2.0/24", &e));
    assert!(m("source.ip in (198.51.100.1, 192.0.2.0/25)", &e));
    assert!(!m("destination.ip != 192.0.2.0/24", &e));
    assert!(m("source.ip = 192.0.2.77/32", &e));
    assert!(Filter::parse("source.ip < 192.0.2.0/24").is_err());
}

#[test]
fn precedence_and_keywords() {
    let f = Filter::parse("a.b = 1").unwrap_err();
    assert_eq!(f.column, 1);
    let f = Filter::parse("source.port = 1 or source.port = 2 AND source.asn = 3").unwrap();
    match f.expr() {
        Expr::Or(list) => {
            assert_eq!(list.len(), 2);
            assert!(matches!(&list[1], Expr::And(l) if l.len() == 2));
        }
        other => panic!("{other:?}"),
    }
    let f = Filter::parse("NOT source.port = 1").unwrap();
    assert!(matches!(f.expr(), Expr::Not(_)));
    let e = scanner_jp();
    assert!(m(
        "(source.port = 1 or source.port = 4444) and not (source.asn = 1)",
        &e
    ));
    assert!(!m(
        "source.port = 1 or source.port = 4444 and source.asn = 1",
        &e
    ));
}

#[test]
fn parse_tree_holds_normalised_values() {
    let f = Filter::parse("source.asn = AS64496").unwrap();
    assert_eq!(
        f.expr(),
        &Expr::Compare {
            field: "source.asn".into(),
            op: CmpOp::Eq,
            value: Value::Integer(64496)
        }
    );
}

#[test]
fn errors_say_where_and_why() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "classification.type = scanner and source.geolocaton.cc = JP",
            35,
            r#"unknown field "source.geolocaton.cc" (did you mean source.geolocation.cc?)"#,
        ),
        ("source.ip = 999.1.1.1", 13, "not a valid IP address"),
        ("source.port =", 14, "unexpected end of filter"),
        ("source.port = 1 and", 20, "unexpected end of filter"),
        ("(source.port = 1", 17, "expected `)`"),
        ("source.port = 1)", 16, "expected `and`, `or` or the end"),
        ("source.port == 1", 14, "expected a value"),
        ("source.port ! 1", 13, "`!` must be followed by `=`"),
        ("source.port = 'abc", 15, "unterminated string"),
        ("extra.Bad = 1", 1, "invalid extra key"),
        ("source.port in 1", 16, "expected `(` after `in`"),
        ("source.port in (1 2)", 19, "expected `,` or `)`"),
        ("source.port exist", 13, "expected an operator"),
        (
            "classification.type = nonsense",
            23,
            "not a known classification type",
        ),
        ("source.geolocation.cc = N/A", 25, "means \"no value\""),
        ("zzzz = 1", 1, "unknown field \"zzzz\""),
    ];
    for (text, column, why) in cases {
        let err = Filter::parse(text).unwrap_err();
        assert_eq!(err.column, *column, "{text}: {err}");
        assert!(err.message.contains(why), "{text}: {err}");
        assert!(
            err.to_string()
                .starts_with(&format!("at column {column}: "))
        );
    }
}

#[test]
fn quoted_strings_and_escapes() {
    let e = event(&[("extra.note", r#"say "hi" it's"#.into())]);
    assert!(m(r#"extra.note = "say \"hi\" it's""#, &e));
    assert!(m(r#"extra.note = 'say "hi" it\'s'"#, &e));
    // Column counts characters, not bytes.
    let err = Filter::parse("extra.note = 'é' and zz = 1").unwrap_err();
    assert_eq!(err.column, 22);
}

/// Issue 22: thousands of nested parentheses (a 6 KB URL) overflowed the parser's stack and
/// aborted the server; `not`s nest the same way. Past the limit the filter is refused with the
/// column of the group that goes too deep; at the limit it parses and evaluates.
#[test]
fn issue_22_deep_nesting_is_an_error_not_a_stack_overflow() {
    use firewatch_core::filter::{MAX_NESTING, MAX_TERMS};
    // (opening text, closing text, nesting levels each opening adds)
    for (open, close, levels) in [("(", ")", 1), ("not (", ")", 2), ("not ", "", 1)] {
        let text = format!(
            "{}source.ip exists{}",
            open.repeat(3000),
            close.repeat(3000)
        );
        let err = Filter::parse(&text).unwrap_err();
        assert!(err.message.contains("nest more than"), "{err}");
        // The first opening past the limit: the (MAX_NESTING + 1)-th level.
        assert_eq!(err.column, MAX_NESTING / levels * open.len() + 1, "{err}");
        let ok = format!(
            "{}source.ip exists{}",
            open.repeat(MAX_NESTING / 2),
            close.repeat(MAX_NESTING / 2)
        );
        let filter = Filter::parse(&ok).unwrap();
        let mut e = Event::new();
        e.set("source.ip", "192.0.2.1").unwrap();
        let _ = filter.matches(&e);
    }
    let values = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
    assert!(Filter::parse(&format!("source.port in ({})", values(MAX_TERMS))).is_ok());
    let err = Filter::parse(&format!("source.port in ({})", values(MAX_TERMS + 1))).unwrap_err();
    assert!(err.message.contains("more than 4096"), "{err}");
}
