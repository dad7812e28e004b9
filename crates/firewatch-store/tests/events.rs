//! The feed event store: deduplication, idempotent commits, SQL filtering equal to the
//! in-memory filter, stats and paging.

use firewatch_core::Event;
use firewatch_core::filter::Filter;
use firewatch_store::{
    DedupeRule, EventQuery, EventStore, FeedInput, SqliteStore, StoreError, TimeRange,
};
use proptest::prelude::*;
use serde_json::json;

const T0: i64 = 1_714_564_800; // 2024-05-01T12:00:00Z

fn at(secs: i64) -> String {
    jiff::Timestamp::from_second(secs).unwrap().to_string()
}

fn scan(ip: &str, time: i64) -> Event {
    let mut e = Event::new();
    e.set("feed.name", "scan-feed").unwrap();
    e.set("classification.type", "scanner").unwrap();
    e.set("source.ip", ip).unwrap();
    e.set("time.source", at(time)).unwrap();
    e
}

fn input(hash: &str) -> FeedInput {
    FeedInput {
        content_hash: hash.into(),
        name: format!("{hash}.csv"),
        format: "test".into(),
        feed: Some("scan-feed".into()),
        ingested_at: T0,
        records: 0,
        events: 0,
        ..Default::default()
    }
}

fn all(store: &SqliteStore) -> Vec<Event> {
    store
        .events(&EventQuery::default())
        .unwrap()
        .into_iter()
        .map(|s| s.event)
        .collect()
}

#[test]
fn dedupe_within_and_outside_window_and_within_a_batch() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let rule = DedupeRule::default();
    let batch = [
        scan("192.0.2.1", T0),
        scan("192.0.2.1", T0 + 3600), // same batch, within a day: duplicate
        scan("192.0.2.1", T0 + 2 * 86_400), // outside the window of the first: kept
        scan("192.0.2.2", T0),        // other key: kept
        scan("192.0.2.1", T0 + 86_400), // exactly one window from both: duplicate
    ];
    let c = store.commit_events(&input("a"), &batch, &rule).unwrap();
    assert!(!c.already_committed);
    assert_eq!((c.inserted, c.duplicates), (3, 2));

    // Across batches: duplicates of stored events are dropped, others kept.
    let c = store
        .commit_events(
            &input("b"),
            &[scan("192.0.2.2", T0 - 100), scan("192.0.2.2", T0 - 90_000)],
            &rule,
        )
        .unwrap();
    assert_eq!((c.inserted, c.duplicates), (1, 1));
    assert_eq!(store.count_events(&EventQuery::default()).unwrap(), 4);

    let b = store.feed_input("b").unwrap().unwrap();
    assert_eq!((b.inserted, b.duplicates), (1, 1));
    assert_eq!(store.feed_inputs().unwrap().len(), 2);
}

#[test]
fn absent_fields_are_part_of_the_key_and_custom_rules_apply() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let mut with_port = scan("192.0.2.1", T0);
    with_port.set("source.port", 22).unwrap();
    let c = store
        .commit_events(
            &input("a"),
            &[scan("192.0.2.1", T0), with_port.clone()],
            &DedupeRule::default(),
        )
        .unwrap();
    assert_eq!(c.inserted, 2);
    // A rule on source.ip only, with a 10 s window.
    let rule = DedupeRule {
        fields: vec!["source.ip".into()],
        window_secs: 10,
    };
    let c = store
        .commit_events(
            &input("b"),
            &[scan("192.0.2.1", T0 + 10), scan("192.0.2.1", T0 + 11)],
            &rule,
        )
        .unwrap();
    // T0+10 is a duplicate of nothing under this rule? The stored events have keys of the
    // default rule, so nothing stored matches; T0+11 duplicates T0+10.
    assert_eq!((c.inserted, c.duplicates), (1, 1));
    let bad = DedupeRule {
        fields: vec!["source.nope".into()],
        window_secs: 1,
    };
    assert!(matches!(
        store.commit_events(&input("c"), &[], &bad),
        Err(StoreError::InvalidQuery(_))
    ));
}

#[test]
fn recommitting_the_same_hash_changes_nothing() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let rule = DedupeRule::default();
    let events = [scan("192.0.2.1", T0), scan("198.51.100.1", T0)];
    assert_eq!(
        store
            .commit_events(&input("a"), &events, &rule)
            .unwrap()
            .inserted,
        2
    );
    let before = all(&store);
    let again = store
        .commit_events(&input("a"), &[scan("203.0.113.1", T0)], &rule)
        .unwrap();
    assert!(again.already_committed);
    assert_eq!((again.inserted, again.duplicates), (0, 0));
    assert_eq!(all(&store), before);
    assert_eq!(store.feed_inputs().unwrap().len(), 1);
}

#[test]
fn event_time_falls_back_to_observation_then_ingest_time() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let mut obs = Event::new();
    obs.set("source.ip", "192.0.2.5").unwrap();
    obs.set("time.observation", at(T0 + 5)).unwrap();
    let mut none = Event::new();
    none.set("source.ip", "192.0.2.6").unwrap();
    store
        .commit_events(
            &input("a"),
            &[scan("192.0.2.4", T0 + 1), obs, none],
            &DedupeRule::default(),
        )
        .unwrap();
    let times: Vec<i64> = store
        .events(&EventQuery::default())
        .unwrap()
        .iter()
        .map(|e| e.time)
        .collect();
    assert_eq!(times, [T0, T0 + 1, T0 + 5]);
    let q = EventQuery {
        range: TimeRange {
            since: Some(T0 + 1),
            until: Some(T0 + 5),
        },
        ..Default::default()
    };
    assert_eq!(store.count_events(&q).unwrap(), 2);
}

#[test]
fn stats_group_and_sort_by_count_then_key() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let mut events = Vec::new();
    for (i, (cc, team)) in [
        ("JP", "a"),
        ("JP", "a"),
        ("DE", "b"),
        ("DE", "b"),
        ("NL", "a"),
        ("JP", "b"),
    ]
    .iter()
    .enumerate()
    {
        let mut e = scan(&format!("192.0.2.{i}"), T0);
        e.set("source.geolocation.cc", *cc).unwrap();
        e.set("extra.team", *team).unwrap();
        events.push(e);
    }
    let mut no_cc = scan("192.0.2.99", T0);
    no_cc.set("extra.team", json!(7)).unwrap();
    events.push(no_cc);
    store
        .commit_events(&input("a"), &events, &DedupeRule::default())
        .unwrap();
    let by = |fields: &[&str], q: &EventQuery, limit| {
        store
            .event_stats(
                &fields.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                q,
                limit,
            )
            .unwrap()
            .into_iter()
            .map(|g| (g.key, g.count))
            .collect::<Vec<_>>()
    };
    let q = EventQuery::default();
    assert_eq!(
        by(&["source.geolocation.cc"], &q, 10),
        [
            (vec![json!("JP")], 3),
            (vec![json!("DE")], 2),
            (vec![json!(null)], 1),
            (vec![json!("NL")], 1),
        ]
    );
    assert_eq!(
        by(&["source.geolocation.cc", "extra.team"], &q, 3),
        [
            (vec![json!("DE"), json!("b")], 2),
            (vec![json!("JP"), json!("a")], 2),
            (vec![json!(null), json!(7)], 1),
        ]
    );
    let jp = EventQuery {
        filter: Some(Filter::parse("source.geolocation.cc = jp").unwrap()),
        ..Default::default()
    };
    assert_eq!(
        by(&["extra.team"], &jp, 10),
        [(vec![json!("a")], 2), (vec![json!("b")], 1)]
    );
    let err = store
        .event_stats(&["source.geolocaton.cc".to_string()], &q, 10)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("did you mean source.geolocation.cc"),
        "{err}"
    );
}

#[test]
fn paging_covers_every_event_exactly_once() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    // Many events share a time, so paging must break ties by id.
    let events: Vec<Event> = (0..257)
        .map(|i| {
            scan(
                &format!("10.0.{}.{}", i / 256, i % 256),
                T0 + (i % 7) as i64,
            )
        })
        .collect();
    store
        .commit_events(&input("a"), &events, &DedupeRule::default())
        .unwrap();
    for newest_first in [false, true] {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .events(&EventQuery {
                    limit: Some(10),
                    after_id: after,
                    newest_first,
                    filter: Some(Filter::parse("source.ip = 10.0.0.0/16").unwrap()),
                    ..Default::default()
                })
                .unwrap();
            if page.is_empty() {
                break;
            }
            after = Some(page.last().unwrap().id);
            seen.extend(page.iter().map(|e| (e.time, e.id)));
        }
        assert_eq!(seen.len(), 257);
        let mut sorted = seen.clone();
        sorted.sort();
        if newest_first {
            sorted.reverse();
        }
        assert_eq!(seen, sorted, "pages are in order");
        sorted.dedup();
        assert_eq!(sorted.len(), 257, "no event twice");
    }
    assert!(
        store
            .events(&EventQuery {
                after_id: Some(99_999),
                ..Default::default()
            })
            .is_err()
    );
}

// ---------------------------------------------------------------------------------------------
// SQL filtering equals Filter::matches.

fn arb_event() -> impl Strategy<Value = Event> {
    let ip = prop_oneof![
        (0u8..4, 0u8..4).prop_map(|(a, b)| format!("192.0.{a}.{b}")),
        (0u8..3).prop_map(|a| format!("2001:db8::{a}")),
    ];
    (
        proptest::option::of(prop_oneof![Just("scanner"), Just("ddos"), Just("malware")]),
        proptest::option::of(ip.clone()),
        proptest::option::of(ip),
        proptest::option::of(prop_oneof![Just("JP"), Just("DE"), Just("jp-ish")]),
        proptest::option::of(64_496i64..64_500),
        proptest::option::of(0i64..5),
        proptest::option::of(prop_oneof![
            Just(json!("a")),
            Just(json!("B")),
            Just(json!(1)),
            Just(json!(1.5)),
            Just(json!(true)),
            Just(json!([1]))
        ]),
        proptest::option::of(prop_oneof![Just("Foo.example"), Just("bar.EXAMPLE.org")]),
        proptest::option::of((-8i32..8).prop_map(|x| x as f64 / 4.0)),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(ct, sip, dip, cc, asn, port, team, dns, lat, tor)| {
            let mut e = Event::new();
            let mut set = |k: &str, v: serde_json::Value| {
                // Invalid combinations (cc "jp-ish") are simply not set.
                let _ = e.set(k, v);
            };
            if let Some(v) = ct {
                set("classification.type", json!(v));
            }
            if let Some(v) = sip {
                set("source.ip", json!(v));
            }
            if let Some(v) = dip {
                set("destination.ip", json!(v));
            }
            if let Some(v) = cc {
                set("source.geolocation.cc", json!(v));
            }
            if let Some(v) = asn {
                set("source.asn", json!(v));
            }
            if let Some(v) = port {
                set("destination.port", json!(v));
            }
            if let Some(v) = team.clone() {
                set("extra.team", v);
            }
            if let Some(v) = team {
                set("extra.other", v);
            }
            if let Some(v) = dns {
                set("source.fqdn", json!(v));
            }
            if let Some(v) = lat {
                set("source.geolocation.latitude", json!(v));
            }
            if let Some(v) = tor {
                set("source.tor_node", json!(v));
            }
            e
        })
}

fn arb_leaf() -> impl Strategy<Value = String> {
    let field = prop_oneof![
        Just("classification.type"),
        Just("source.ip"),
        Just("destination.ip"),
        Just("source.geolocation.cc"),
        Just("source.asn"),
        Just("destination.port"),
        Just("extra.team"),
        Just("extra.other"),
        Just("source.fqdn"),
        Just("source.geolocation.latitude"),
        Just("source.tor_node"),
    ];
    let value = prop_oneof![
        Just("scanner"),
        Just("ddos"),
        Just("192.0.1.2"),
        Just("192.0.0.0/23"),
        Just("192.0.2.0/31"),
        Just("2001:db8::/127"),
        Just("2001:db8::1"),
        Just("JP"),
        Just("de"),
        Just("AS64497"),
        Just("64498"),
        Just("2"),
        Just("1"),
        Just("1.5"),
        Just("-0.75"),
        Just("a"),
        Just("'B'"),
        Just("'1'"),
        Just("true"),
        Just("false"),
        Just("example"),
        Just("foo.example"),
    ];
    let op = prop_oneof![
        Just("="),
        Just("!="),
        Just("<"),
        Just("<="),
        Just(">"),
        Just(">="),
        Just("~")
    ];
    prop_oneof![
        4 => (field.clone(), op, value.clone()).prop_map(|(f, o, v)| format!("{f} {o} {v}")),
        1 => field.clone().prop_map(|f| format!("{f} exists")),
        1 => (field, proptest::collection::vec(value, 1..3))
            .prop_map(|(f, vs)| format!("{f} in ({})", vs.join(", "))),
    ]
}

fn arb_filter() -> impl Strategy<Value = Filter> {
    let leaf = arb_leaf().prop_filter_map("valid leaf", |s| Filter::parse(&s).ok().map(|_| s));
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) and ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) or ({b})")),
            inner.prop_map(|a| format!("not ({a})")),
        ]
    })
    .prop_map(|s| Filter::parse(&s).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sql_filtering_equals_in_memory_matching(
        events in proptest::collection::vec(arb_event(), 1..25),
        filters in proptest::collection::vec(arb_filter(), 1..6),
    ) {
        let mut store = SqliteStore::open_in_memory().unwrap();
        let none = DedupeRule { fields: vec![], window_secs: 0 };
        // Distinct times so that the empty-key rule keeps every event.
        let events: Vec<Event> = events
            .into_iter()
            .enumerate()
            .map(|(i, mut e)| {
                e.set("time.source", at(T0 + i as i64)).unwrap();
                e
            })
            .collect();
        let c = store.commit_events(&input("p"), &events, &none).unwrap();
        prop_assert_eq!(c.inserted as usize, events.len());
        for filter in filters {
            let want: Vec<usize> = events
                .iter()
                .enumerate()
                .filter(|(_, e)| filter.matches(e))
                .map(|(i, _)| i)
                .collect();
            let q = EventQuery { filter: Some(filter.clone()), ..Default::default() };
            let got: Vec<usize> = store
                .events(&q)
                .unwrap()
                .iter()
                .map(|s| (s.time - T0) as usize)
                .collect();
            prop_assert_eq!(&got, &want, "filter: {}", filter);
            prop_assert_eq!(store.count_events(&q).unwrap() as usize, want.len());
        }
    }
}

#[test]
fn sql_filtering_of_a_fixed_set_is_not_vacuous() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let mut events = Vec::new();
    for (i, (dip, team, cc)) in [
        ("192.0.2.1", json!("cert-a"), "JP"),
        ("192.0.2.200", json!("CERT-B"), "DE"),
        ("2001:db8::5", json!(3), "JP"),
        ("198.51.100.7", json!(true), "NL"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut e = scan(&format!("203.0.113.{i}"), T0 + i as i64);
        e.set("destination.ip", dip).unwrap();
        e.set("extra.team", team).unwrap();
        e.set("source.geolocation.cc", cc).unwrap();
        e.set("destination.port", 20 + i as i64).unwrap();
        events.push(e);
    }
    store
        .commit_events(&input("a"), &events, &DedupeRule::default())
        .unwrap();
    for (text, want) in [
        ("destination.ip = 192.0.2.0/25", 1),
        ("destination.ip = 192.0.2.0/24", 2),
        ("destination.ip = 2001:db8::/32", 1),
        ("destination.ip != 192.0.2.0/24", 2),
        ("source.ip = 203.0.113.0/31", 2),
        ("source.ip = 203.0.113.2", 1),
        ("extra.team ~ cert", 2),
        ("extra.team = 3", 1),
        ("extra.team > 2", 1),
        ("extra.team = true", 1),
        ("extra.team != cert-a", 3),
        ("source.geolocation.cc = jp and destination.port >= 21", 1),
        ("source.geolocation.cc in (jp, nl)", 3),
        ("not source.geolocation.cc in (jp, nl)", 1),
        ("destination.port ~ 2", 4),
        (
            "classification.type = scanner and source.geolocation.cc = JP",
            2,
        ),
    ] {
        let filter = Filter::parse(text).unwrap();
        let q = EventQuery {
            filter: Some(filter.clone()),
            ..Default::default()
        };
        let memory = events.iter().filter(|e| filter.matches(e)).count();
        assert_eq!(memory, want, "in memory: {text}");
        assert_eq!(
            store.count_events(&q).unwrap() as usize,
            want,
            "count: {text}"
        );
        assert_eq!(store.events(&q).unwrap().len(), want, "events: {text}");
    }
}

/// Run by `a_crash_mid_commit_leaves_nothing_behind` in a child process that aborts half-way.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var("FIREWATCH_TEST_CRASH_DB") else {
        return;
    };
    let mut store = SqliteStore::open(std::path::Path::new(&path)).unwrap();
    let events: Vec<Event> = (0..100)
        .map(|i| scan(&format!("192.0.2.{i}"), T0))
        .collect();
    store
        .commit_events(&input("crash"), &events, &DedupeRule::default())
        .unwrap();
}

#[test]
fn a_crash_mid_commit_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["crash_child", "--exact", "--test-threads=1"])
        .env("FIREWATCH_TEST_CRASH_DB", &db)
        .env("FIREWATCH_CRASH_AT", "events-mid-commit")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(6),
            "the child should abort at the crash point: {status}"
        );
    }
    assert!(!status.success(), "the child should have aborted");
    let mut store = SqliteStore::open(&db).unwrap();
    assert_eq!(store.count_events(&EventQuery::default()).unwrap(), 0);
    assert!(store.feed_input("crash").unwrap().is_none());
    let events: Vec<Event> = (0..100)
        .map(|i| scan(&format!("192.0.2.{i}"), T0))
        .collect();
    let c = store
        .commit_events(&input("crash"), &events, &DedupeRule::default())
        .unwrap();
    assert_eq!(c.inserted, 100);
}

/// Issue 22: a chain of 1,000 `or`s or a list of 1,000 (and 4,096) values used to pass the
/// parser and fail in SQLite (expression tree too deep), a 500 on the API. They now compile to
/// balanced SQL and return what the in-memory evaluation returns.
#[test]
fn issue_22_wide_filters_run_in_sqlite() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let events: Vec<Event> = (0..300)
        .map(|i| scan(&format!("10.0.{}.{}", i / 250, i % 250 + 1), T0 + i))
        .collect();
    store
        .commit_events(&input("wide"), &events, &DedupeRule::default())
        .unwrap();
    let addresses: Vec<String> = (0..4096)
        .map(|i| format!("10.0.{}.{}", i / 250, i % 250 + 1))
        .collect();
    let chain = addresses[..1000]
        .iter()
        .map(|a| format!("source.ip = {a}"))
        .collect::<Vec<_>>()
        .join(" or ");
    let list = |n: usize| format!("source.ip in ({})", addresses[..n].join(", "));
    let deep = format!("{}source.ip exists{}", "not (".repeat(16), ")".repeat(16));
    for text in [chain, list(1000), list(4096), deep] {
        let filter = Filter::parse(&text).unwrap();
        let expected = events.iter().filter(|e| filter.matches(e)).count() as u64;
        let counted = store
            .count_events(&EventQuery {
                filter: Some(filter),
                ..EventQuery::default()
            })
            .unwrap_or_else(|e| panic!("{}…: {e}", &text[..40]));
        assert_eq!(counted, expected, "{}…", &text[..40]);
    }
}
