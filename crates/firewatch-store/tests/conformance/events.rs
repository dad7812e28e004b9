//! Conformance checks of the events area (see main.rs): the meaning of the SQLite event tests
//! (src/events.rs, tests/events.rs, tests/event_batches.rs) on both backends, the TLP rule
//! against core's `may_read`, and one script run on both whose every answer must be equal.

use firewatch_core::access::{Role, Viewer, may_read_event};
use firewatch_core::filter::Filter;
use firewatch_core::{Event, Value};
use firewatch_store::{
    DedupeRule, EventCommit, EventQuery, EventStore, EventVisibility, FeedInput, InputProgress,
    StoreError, TimeRange,
};
use serde_json::{Value as Json, json};

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
        records: 3,
        events: 2,
        rejected: 1,
        ..Default::default()
    }
}

fn counts(c: EventCommit) -> (u64, u64) {
    assert!(!c.already_committed);
    (c.inserted, c.duplicates)
}

fn filtered(text: &str) -> EventQuery {
    EventQuery {
        filter: Some(Filter::parse(text).unwrap()),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Commits, dedupe, inputs

/// Dedupe within a batch, across batches and at the window's edge; absent fields in the key;
/// custom rules; an unknown field refused; a second commit of a hash changing nothing; event
/// times from `time.source`, `time.observation`, the ingest time; the input records.
fn commits_and_dedupe<S: EventStore + ?Sized>(s: &mut S) {
    let rule = DedupeRule::default();
    assert!(s.feed_inputs().unwrap().is_empty());
    assert_eq!(s.feed_input("a").unwrap(), None);
    let batch = [
        scan("192.0.2.1", T0),
        scan("192.0.2.1", T0 + 3600), // same batch, within a day: duplicate
        scan("192.0.2.1", T0 + 2 * 86_400), // outside the first's window: kept
        scan("192.0.2.2", T0),        // other key: kept
        scan("192.0.2.1", T0 + 86_400), // exactly one window from both kept: duplicate
    ];
    assert_eq!(
        counts(s.commit_events(&input("a"), &batch, &rule).unwrap()),
        (3, 2)
    );
    let b = [scan("192.0.2.2", T0 - 100), scan("192.0.2.2", T0 - 90_000)];
    assert_eq!(
        counts(s.commit_events(&input("b"), &b, &rule).unwrap()),
        (1, 1)
    );
    assert_eq!(s.count_events(&EventQuery::default()).unwrap(), 4);

    // The SQLite unit test's two batches (both of its dedupe paths agree on these).
    let t = 1_700_000_000;
    let first = [
        scan("198.51.100.1", t),
        scan("198.51.100.1", t + 100),
        scan("198.51.100.1", t + 86_401),
        scan("198.51.100.2", t),
    ];
    let second = [
        scan("198.51.100.1", t - 86_400),
        scan("198.51.100.1", t - 86_401),
        scan("198.51.100.2", t + 86_401),
        scan("198.51.100.2", t + 86_402),
    ];
    assert_eq!(
        counts(s.commit_events(&input("u1"), &first, &rule).unwrap()),
        (3, 1)
    );
    assert_eq!(
        counts(s.commit_events(&input("u2"), &second, &rule).unwrap()),
        (2, 2)
    );

    // Absent fields are part of the key; a rule on source.ip alone with a 10 s window.
    let mut with_port = scan("203.0.113.1", T0);
    with_port.set("source.port", 22).unwrap();
    let c = s
        .commit_events(&input("c"), &[scan("203.0.113.1", T0), with_port], &rule)
        .unwrap();
    assert_eq!(counts(c), (2, 0));
    let narrow = DedupeRule {
        fields: vec!["source.ip".into()],
        window_secs: 10,
    };
    let c = s
        .commit_events(
            &input("d"),
            &[scan("203.0.113.1", T0 + 10), scan("203.0.113.1", T0 + 11)],
            &narrow,
        )
        .unwrap();
    assert_eq!(counts(c), (1, 1));
    let bad = DedupeRule {
        fields: vec!["source.nope".into()],
        window_secs: 1,
    };
    assert!(matches!(
        s.commit_events(&input("e"), &[], &bad),
        Err(StoreError::InvalidQuery(_))
    ));
    assert!(matches!(
        s.retag_feed("scan-feed", "GREEN", None, &bad),
        Err(StoreError::InvalidQuery(_))
    ));

    // Committed once: a second commit of the hash changes nothing, whatever it holds.
    let before = s.event_docs(&EventQuery::default()).unwrap();
    let again = s
        .commit_events(&input("a"), &[scan("203.0.113.99", T0)], &rule)
        .unwrap();
    assert!(again.already_committed);
    assert_eq!((again.inserted, again.duplicates), (0, 0));
    assert_eq!(s.event_docs(&EventQuery::default()).unwrap(), before);

    // Event time: time.source, else time.observation, else the ingest time.
    let mut obs = Event::new();
    obs.set("source.ip", "192.0.2.5").unwrap();
    obs.set("time.observation", at(T0 + 5)).unwrap();
    let mut none = Event::new();
    none.set("source.ip", "192.0.2.6").unwrap();
    let timed = FeedInput {
        ingested_at: T0 + 7,
        ..input("t")
    };
    s.commit_events(&timed, &[obs, none], &rule).unwrap();
    let times = |q: &EventQuery| -> Vec<(String, i64)> {
        s.events(q)
            .unwrap()
            .into_iter()
            .map(|e| (format!("{:?}", e.event.get("source.ip")), e.time))
            .collect()
    };
    let q = EventQuery {
        filter: Some(Filter::parse("source.ip in (192.0.2.5, 192.0.2.6)").unwrap()),
        ..Default::default()
    };
    assert_eq!(
        times(&q).iter().map(|t| t.1).collect::<Vec<_>>(),
        [T0 + 5, T0 + 7]
    );

    // Input records: counts as committed, oldest first (ties in commit order).
    let a = s.feed_input("a").unwrap().unwrap();
    assert_eq!(
        a,
        FeedInput {
            inserted: 3,
            duplicates: 2,
            ..input("a")
        }
    );
    let hashes: Vec<String> = s
        .feed_inputs()
        .unwrap()
        .into_iter()
        .map(|i| i.content_hash)
        .collect();
    assert_eq!(hashes, ["a", "b", "u1", "u2", "c", "d", "t"]);
    assert_eq!(s.feed_input_progress("a").unwrap(), None);
}
on_both!(commits_and_dedupe, crate::events::commits_and_dedupe);

/// Inputs committed in batches: progress kept with each batch, the record with the last; a
/// run stopped after a batch and started again records the uninterrupted counts; a recorded
/// input refuses more; an abandoned one leaves nothing, and other inputs stay.
fn batches_and_progress<S: EventStore + ?Sized>(s: &mut S) {
    let rule = DedupeRule::default();
    // 12 events: 10 distinct, the last two repeating the first two.
    let events: Vec<Event> = (0..12)
        .map(|i| scan(&format!("192.0.2.{}", i % 10), T0))
        .collect();
    let record = |hash: &str, ingested_at| FeedInput {
        content_hash: hash.into(),
        name: format!("{hash}.csv"),
        format: "test".into(),
        ingested_at,
        records: 12,
        events: 12,
        ..Default::default()
    };
    // Uninterrupted, with its own feed name so that its events are not the others'.
    let own = |e: &Event, feed: &str| {
        let mut e = e.clone();
        e.set("feed.name", feed).unwrap();
        e
    };
    let whole_events: Vec<Event> = events.iter().map(|e| own(e, "whole")).collect();
    for (i, batch) in whole_events.chunks(5).enumerate() {
        let last = i == 2;
        let c = s
            .commit_event_batch(&record("w", T0), batch, &rule, last)
            .unwrap();
        assert!(!c.already_committed);
        if !last {
            assert!(s.feed_input("w").unwrap().is_none(), "not done yet");
            assert_eq!(
                s.feed_input_progress("w").unwrap(),
                Some(InputProgress {
                    ingested_at: T0,
                    batches: i as u64 + 1,
                    inserted: 5 * (i as u64 + 1),
                })
            );
        }
    }
    let done = s.feed_input("w").unwrap().unwrap();
    assert_eq!((done.inserted, done.duplicates), (10, 2));
    assert_eq!(s.feed_input_progress("w").unwrap(), None);

    // Stopped after the first batch, then run again from the start with a later clock.
    let resumed_events: Vec<Event> = events.iter().map(|e| own(e, "resumed")).collect();
    s.commit_event_batch(&record("r", T0), &resumed_events[..5], &rule, false)
        .unwrap();
    let progress = s.feed_input_progress("r").unwrap().unwrap();
    assert_eq!(
        (progress.ingested_at, progress.batches, progress.inserted),
        (T0, 1, 5)
    );
    for (i, batch) in resumed_events.chunks(5).enumerate() {
        let c = s
            .commit_event_batch(&record("r", progress.ingested_at), batch, &rule, i == 2)
            .unwrap();
        if i == 0 {
            assert_eq!(counts(c), (0, 5), "already stored");
        }
    }
    let again = s.feed_input("r").unwrap().unwrap();
    assert_eq!(
        again,
        FeedInput {
            content_hash: "r".into(),
            name: "r.csv".into(),
            ..done.clone()
        }
    );
    let feed = |name: &str| filtered(&format!("feed.name = {name}"));
    assert_eq!(s.count_events(&feed("resumed")).unwrap(), 10);
    let c = s
        .commit_event_batch(&record("r", T0), &resumed_events[..1], &rule, true)
        .unwrap();
    assert!(c.already_committed);
    assert_eq!(
        s.abandon_feed_input("r").unwrap(),
        0,
        "recorded inputs stay"
    );

    // Abandoned mid-way: its batches go (recipients too), other inputs' events stay.
    let mut red: Vec<Event> = events.iter().map(|e| own(e, "abandoned")).collect();
    for e in &mut red {
        e.set("tlp", "RED").unwrap();
        e.set("extra.recipients", json!(["a"])).unwrap();
    }
    s.commit_event_batch(&record("x", T0), &red[..5], &rule, false)
        .unwrap();
    s.commit_event_batch(&record("x", T0), &red[5..10], &rule, false)
        .unwrap();
    let team_a = EventQuery {
        visibility: Some(EventVisibility::Team("a".into())),
        ..feed("abandoned")
    };
    assert_eq!(s.events(&team_a).unwrap().len(), 10);
    assert_eq!(s.abandon_feed_input("x").unwrap(), 10);
    assert_eq!(s.count_events(&feed("abandoned")).unwrap(), 0);
    assert_eq!(s.count_events(&EventQuery::default()).unwrap(), 20);
    assert_eq!(s.feed_input_progress("x").unwrap(), None);
    assert!(s.feed_input("x").unwrap().is_none());
    assert_eq!(s.abandon_feed_input("nothing").unwrap(), 0);
    // The same events again are new (nothing of the abandoned run counts), and RED events
    // stored again are read by their recipients only.
    let c = s
        .commit_event_batch(&record("x", T0), &red, &rule, true)
        .unwrap();
    assert_eq!(counts(c), (10, 2));
    assert_eq!(s.events(&team_a).unwrap().len(), 10);
    let team_b = EventQuery {
        visibility: Some(EventVisibility::Team("b".into())),
        ..feed("abandoned")
    };
    assert!(s.events(&team_b).unwrap().is_empty());
}
on_both!(batches_and_progress, crate::events::batches_and_progress);

/// A feed's events brought to another TLP and owner: columns, document and dedupe key alike
/// (the same event stored again is a duplicate); other feeds untouched; a second run changes
/// nothing; back to no owner.
fn retag_feed<S: EventStore + ?Sized>(s: &mut S) {
    let t = 1_700_000_000;
    let of = |feed: &str, ip: &str| {
        let mut e = scan(ip, t);
        e.set("feed.name", feed).unwrap();
        e.set("tlp", "GREEN").unwrap();
        e
    };
    let batch = [
        of("scope", "192.0.2.1"),
        of("scope", "192.0.2.2"),
        of("other", "192.0.2.3"),
    ];
    let rule = DedupeRule::default();
    s.commit_events(&input("a"), &batch, &rule).unwrap();
    assert_eq!(
        s.retag_feed("scope", "AMBER+STRICT", Some("a"), &rule)
            .unwrap(),
        2
    );
    assert_eq!(
        s.retag_feed("scope", "AMBER+STRICT", Some("a"), &rule)
            .unwrap(),
        0
    );
    let seen = |s: &S, team: &str| -> Vec<(String, Option<String>, Option<String>)> {
        s.events(&EventQuery {
            visibility: Some(EventVisibility::Team(team.into())),
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|e| {
            let text = |f: &str| match e.event.get(f).map(Value::to_json) {
                Some(Json::String(s)) => Some(s),
                _ => None,
            };
            (text("source.ip").unwrap(), text("tlp"), text("extra.owner"))
        })
        .collect()
    };
    let strict = |ip: &str| {
        (
            ip.to_owned(),
            Some("AMBER+STRICT".to_owned()),
            Some("a".to_owned()),
        )
    };
    let green = ("192.0.2.3".to_owned(), Some("GREEN".to_owned()), None);
    assert_eq!(
        seen(s, "a"),
        [strict("192.0.2.1"), strict("192.0.2.2"), green.clone()]
    );
    assert_eq!(seen(s, "b"), [green]);
    assert_eq!(
        s.count_events(&filtered("tlp = AMBER+STRICT and extra.owner = a"))
            .unwrap(),
        2
    );
    let mut again = batch[..2].to_vec();
    for e in &mut again {
        e.set("tlp", "AMBER+STRICT").unwrap();
        e.set("extra.owner", "a").unwrap();
    }
    let c = s.commit_events(&input("b"), &again, &rule).unwrap();
    assert_eq!(counts(c), (0, 2));
    assert_eq!(s.retag_feed("scope", "GREEN", None, &rule).unwrap(), 2);
    assert_eq!(seen(s, "b").len(), 3);
    assert_eq!(s.retag_feed("nothing", "GREEN", None, &rule).unwrap(), 0);
}
on_both!(retag_feed, crate::events::retag_feed);

// ---------------------------------------------------------------------------------------------
// Queries

/// Stats grouped by columns and by document members, ordered by count then key, limited;
/// paging by (time, id) both ways with ties in time; ranges, limits, an unknown page cursor
/// and unknown fields refused.
fn stats_ranges_and_paging<S: EventStore + ?Sized>(s: &mut S) {
    let mut events = Vec::new();
    for (i, (cc, team)) in [
        ("JP", json!("a")),
        ("JP", json!("a")),
        ("DE", json!("b")),
        ("DE", json!("b")),
        ("NL", json!("a")),
        ("JP", json!("b")),
        ("NL", json!(1)),
        ("NL", json!(1.0)),
        ("NL", json!(true)),
        ("NL", json!(["a"])),
        ("NL", json!({"k": 2, "a": null})),
    ]
    .into_iter()
    .enumerate()
    {
        let mut e = scan(&format!("192.0.2.{i}"), T0);
        e.set("source.geolocation.cc", cc).unwrap();
        e.set("extra.team", team).unwrap();
        e.set("source.asn", 64_496 + (i % 2) as i64).unwrap();
        events.push(e);
    }
    let mut no_cc = scan("192.0.2.99", T0);
    no_cc.set("extra.team", json!(7)).unwrap();
    events.push(no_cc);
    s.commit_events(&input("a"), &events, &DedupeRule::default())
        .unwrap();
    let by = |s: &S, fields: &[&str], q: &EventQuery, limit| -> Vec<(Vec<Json>, u64)> {
        let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        s.event_stats(&fields, q, limit)
            .unwrap()
            .into_iter()
            .map(|g| (g.key, g.count))
            .collect()
    };
    let q = EventQuery::default();
    assert_eq!(
        by(s, &["source.geolocation.cc"], &q, 10),
        [
            (vec![json!("NL")], 6),
            (vec![json!("JP")], 3),
            (vec![json!("DE")], 2),
            (vec![json!(null)], 1),
        ]
    );
    assert_eq!(
        by(s, &["source.geolocation.cc", "extra.team"], &q, 3),
        [
            (vec![json!("DE"), json!("b")], 2),
            (vec![json!("JP"), json!("a")], 2),
            (vec![json!(null), json!(7)], 1),
        ]
    );
    // 1 and 1.0 are two groups (their JSON texts differ), ordered by type, then value.
    let teams = by(s, &["extra.team"], &q, 20);
    assert_eq!(teams.len(), 8, "{teams:?}");
    assert_eq!(teams[0], (vec![json!("a")], 3));
    assert_eq!(
        by(s, &["source.asn", "tlp"], &q, 5),
        [
            (vec![json!(64_496), json!(null)], 6),
            (vec![json!(64_497), json!(null)], 5),
            (vec![json!(null), json!(null)], 1),
        ]
    );
    let jp = filtered("source.geolocation.cc = jp");
    assert_eq!(
        by(s, &["extra.team"], &jp, 10),
        [(vec![json!("a")], 2), (vec![json!("b")], 1)]
    );
    assert!(by(s, &["extra.team"], &q, 0).is_empty());
    let err = s
        .event_stats(&["source.geolocaton.cc".to_string()], &q, 10)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("did you mean source.geolocation.cc"),
        "{err}"
    );
    assert!(matches!(
        s.event_stats(&[], &q, 10),
        Err(StoreError::InvalidQuery(_))
    ));
    let unknown = EventQuery {
        filter: Filter::parse("source.ip exists").ok(),
        range: TimeRange::default(),
        ..Default::default()
    };
    assert_eq!(s.count_events(&unknown).unwrap(), 12);

    // Paging: many events share a time, so pages break ties by id.
    let paged: Vec<Event> = (0..257)
        .map(|i| {
            scan(
                &format!("10.0.{}.{}", i / 256, i % 256),
                T0 + (i % 7) as i64,
            )
        })
        .collect();
    s.commit_events(&input("p"), &paged, &DedupeRule::default())
        .unwrap();
    for newest_first in [false, true] {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = s
                .events(&EventQuery {
                    limit: Some(10),
                    after_id: after,
                    newest_first,
                    filter: Some(Filter::parse("source.ip = 10.0.0.0/16").unwrap()),
                    ..Default::default()
                })
                .unwrap();
            let Some(last) = page.last() else { break };
            after = Some(last.id);
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
    let range = |since, until| EventQuery {
        range: TimeRange { since, until },
        ..Default::default()
    };
    assert_eq!(
        s.count_events(&range(Some(T0 + 1), Some(T0 + 5))).unwrap(),
        184
    );
    assert_eq!(s.count_events(&range(Some(T0 + 6), None)).unwrap(), 36);
    assert_eq!(s.count_events(&range(None, Some(T0))).unwrap(), 12 + 37);
    let limited = EventQuery {
        limit: Some(3),
        newest_first: true,
        ..range(Some(T0 + 1), Some(T0 + 5))
    };
    let page = s.events(&limited).unwrap();
    assert_eq!(page.iter().map(|e| e.time).collect::<Vec<_>>(), [T0 + 5; 3]);
    assert!(page.windows(2).all(|w| w[0].id > w[1].id));
    assert_eq!(
        s.count_events(&limited).unwrap(),
        184,
        "count ignores limit and paging"
    );
    let none = EventQuery {
        limit: Some(0),
        ..Default::default()
    };
    assert!(s.events(&none).unwrap().is_empty());
    let huge = EventQuery {
        limit: Some(usize::MAX),
        ..Default::default()
    };
    assert_eq!(s.events(&huge).unwrap().len(), 12 + 257);
    assert!(matches!(
        s.events(&EventQuery {
            after_id: Some(99_999),
            ..Default::default()
        }),
        Err(StoreError::InvalidQuery(_))
    ));
    let docs = s.event_docs(&limited).unwrap();
    assert_eq!(
        docs.iter().map(|d| (d.id, d.time)).collect::<Vec<_>>(),
        page.iter().map(|e| (e.id, e.time)).collect::<Vec<_>>()
    );
    for (d, e) in docs.iter().zip(&page) {
        assert_eq!(
            d.doc,
            e.event.to_intelmq_json(),
            "the stored JSON, keys sorted"
        );
    }
}
on_both!(
    stats_ranges_and_paging,
    crate::events::stats_ranges_and_paging
);

/// A fixed set of events and filters whose answers are known; then random events and random
/// filters (every field type, operator, lists, networks, contains, not/and/or), each
/// answered as `Filter::matches` answers in memory; then issue 22's wide filters.
fn filters_equal_in_memory_matching<S: EventStore + ?Sized>(s: &mut S) {
    let mut fixed = Vec::new();
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
        fixed.push(e);
    }
    s.commit_events(&input("fixed"), &fixed, &DedupeRule::default())
        .unwrap();
    let in_fixed = TimeRange {
        since: Some(T0),
        until: Some(T0 + 3),
    };
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
            range: in_fixed,
            ..Default::default()
        };
        assert_eq!(
            fixed.iter().filter(|e| filter.matches(e)).count(),
            want,
            "{text}"
        );
        assert_eq!(s.count_events(&q).unwrap() as usize, want, "count: {text}");
        assert_eq!(s.events(&q).unwrap().len(), want, "events: {text}");
    }

    // Random events (one per second from T1) and filters, from a fixed seed.
    const T1: i64 = T0 + 1_000;
    let mut rng = Rng(0x5eed_f00d_u64);
    let events: Vec<Event> = (0..80).map(|i| random_event(&mut rng, T1 + i)).collect();
    let none = DedupeRule {
        fields: vec![],
        window_secs: 0,
    };
    let c = s.commit_events(&input("random"), &events, &none).unwrap();
    assert_eq!(c.inserted as usize, events.len());
    let range = TimeRange {
        since: Some(T1),
        until: Some(T1 + 79),
    };
    let mut matched = 0;
    for _ in 0..300 {
        let text = random_filter(&mut rng, 3);
        let Ok(filter) = Filter::parse(&text) else {
            continue;
        };
        let want: Vec<i64> = events
            .iter()
            .enumerate()
            .filter(|(_, e)| filter.matches(e))
            .map(|(i, _)| T1 + i as i64)
            .collect();
        matched += want.len();
        let q = EventQuery {
            filter: Some(filter),
            range,
            ..Default::default()
        };
        let got: Vec<i64> = s.events(&q).unwrap().iter().map(|e| e.time).collect();
        assert_eq!(got, want, "filter: {text}");
        assert_eq!(
            s.count_events(&q).unwrap() as usize,
            want.len(),
            "count: {text}"
        );
    }
    assert!(
        matched > 1_000,
        "the random filters are not vacuous ({matched})"
    );

    // A NUL in a document member (JSONB refuses it) makes no filter fail.
    const T3: i64 = T0 + 5_000;
    let mut nul = scan("198.51.100.9", T3);
    nul.set("extra.note", "a\u{0}b").unwrap();
    nul.set("source.fqdn", "nul.example").unwrap();
    s.commit_events(&input("nul"), &[nul.clone()], &DedupeRule::default())
        .unwrap();
    for text in [
        "extra.note exists",
        "extra.note ~ a",
        "extra.note = b",
        "source.fqdn ~ nul",
    ] {
        let filter = Filter::parse(text).unwrap();
        let q = EventQuery {
            filter: Some(filter.clone()),
            range: TimeRange {
                since: Some(T3),
                until: Some(T3),
            },
            ..Default::default()
        };
        assert_eq!(
            s.count_events(&q).unwrap(),
            u64::from(filter.matches(&nul)),
            "{text}"
        );
    }
    let by = ["extra.note".to_string()];
    let groups = s
        .event_stats(&by, &filtered("extra.note exists"), 5)
        .unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].count, 1);

    // Issue 22: a chain of 1,000 ors, lists of 1,000 and 4,096 values, 16 nested nots.
    const T2: i64 = T0 + 10_000;
    let wide: Vec<Event> = (0..300)
        .map(|i| scan(&format!("10.0.{}.{}", i / 250, i % 250 + 1), T2 + i))
        .collect();
    s.commit_events(&input("wide"), &wide, &DedupeRule::default())
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
    let dlist = format!("destination.ip in ({})", addresses[..1000].join(", "));
    let deep = format!("{}source.ip exists{}", "not (".repeat(16), ")".repeat(16));
    for text in [chain, list(1000), list(4096), dlist, deep] {
        let filter = Filter::parse(&text).unwrap();
        let want = wide.iter().filter(|e| filter.matches(e)).count() as u64;
        let q = EventQuery {
            filter: Some(filter),
            range: TimeRange {
                since: Some(T2),
                until: None,
            },
            ..Default::default()
        };
        let counted = s
            .count_events(&q)
            .unwrap_or_else(|e| panic!("{}…: {e}", &text[..40]));
        assert_eq!(counted, want, "{}…", &text[..40]);
    }
}
on_both!(
    filters_equal_in_memory_matching,
    crate::events::filters_equal_in_memory_matching
);

/// A small deterministic generator (xorshift), so both backends see the same cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn maybe(&mut self) -> bool {
        self.below(3) > 0
    }
}

/// The fields and values of the SQLite backend's property test, and a few more.
fn random_event(rng: &mut Rng, time: i64) -> Event {
    let mut e = Event::new();
    let ips = [
        "192.0.0.1",
        "192.0.1.3",
        "192.0.2.0",
        "192.0.2.1",
        "2001:db8::",
        "2001:db8::1",
        "2001:db8::2",
    ];
    let extras = [
        json!("a"),
        json!("B"),
        json!("cert-a"),
        json!(1),
        json!(1.5),
        json!(true),
        json!([1]),
        json!({"a": 1}),
        json!("192.0.2.1"),
    ];
    let set = |e: &mut Event, k: &str, v: Json| {
        // Invalid combinations (cc "jp-ish") are simply not set.
        let _ = e.set(k, v);
    };
    if rng.maybe() {
        set(
            &mut e,
            "classification.type",
            json!(rng.pick(&["scanner", "ddos", "malware"])),
        );
    }
    if rng.maybe() {
        set(&mut e, "source.ip", json!(rng.pick(&ips)));
    }
    if rng.maybe() {
        set(&mut e, "destination.ip", json!(rng.pick(&ips)));
    }
    if rng.maybe() {
        set(
            &mut e,
            "source.geolocation.cc",
            json!(rng.pick(&["JP", "DE", "jp-ish"])),
        );
    }
    if rng.maybe() {
        set(&mut e, "source.asn", json!(64_496 + rng.below(4)));
    }
    if rng.maybe() {
        set(&mut e, "destination.port", json!(rng.below(5)));
    }
    if rng.maybe() {
        set(&mut e, "extra.team", rng.pick(&extras).clone());
    }
    if rng.maybe() {
        set(&mut e, "extra.other", rng.pick(&extras).clone());
    }
    if rng.maybe() {
        set(
            &mut e,
            "source.fqdn",
            json!(rng.pick(&["Foo.example", "bar.EXAMPLE.org"])),
        );
    }
    if rng.maybe() {
        set(
            &mut e,
            "source.geolocation.latitude",
            json!((rng.below(16) as f64 - 8.0) / 4.0),
        );
    }
    if rng.maybe() {
        set(&mut e, "source.tor_node", json!(rng.below(2) == 1));
    }
    if rng.maybe() {
        set(
            &mut e,
            "tlp",
            json!(rng.pick(&["CLEAR", "GREEN", "AMBER", "RED"])),
        );
    }
    set(&mut e, "time.source", json!(at(time)));
    e
}

fn random_filter(rng: &mut Rng, depth: u32) -> String {
    if depth > 0 && rng.below(2) == 0 {
        let a = random_filter(rng, depth - 1);
        return match rng.below(3) {
            0 => format!("({a}) and ({})", random_filter(rng, depth - 1)),
            1 => format!("({a}) or ({})", random_filter(rng, depth - 1)),
            _ => format!("not ({a})"),
        };
    }
    let fields = [
        "classification.type",
        "source.ip",
        "destination.ip",
        "source.geolocation.cc",
        "source.asn",
        "destination.port",
        "extra.team",
        "extra.other",
        "source.fqdn",
        "source.geolocation.latitude",
        "source.tor_node",
        "tlp",
        "feed.name",
    ];
    let values = [
        "scanner",
        "ddos",
        "192.0.1.2",
        "192.0.0.0/23",
        "192.0.2.0/31",
        "2001:db8::/127",
        "2001:db8::1",
        "JP",
        "de",
        "AS64497",
        "64498",
        "2",
        "1",
        "1.5",
        "-0.75",
        "a",
        "'B'",
        "'1'",
        "true",
        "false",
        "example",
        "foo.example",
        "cert",
        "GREEN",
        "clear",
        "'192.0.2.1'",
        "192.0.2.0/24",
    ];
    let ops = ["=", "!=", "<", "<=", ">", ">=", "~"];
    let field = rng.pick(&fields);
    match rng.below(6) {
        0 => format!("{field} exists"),
        1 => {
            let n = 1 + rng.below(3);
            let list: Vec<&str> = (0..n).map(|_| *rng.pick(&values)).collect();
            format!("{field} in ({})", list.join(", "))
        }
        _ => format!("{field} {} {}", rng.pick(&ops), rng.pick(&values)),
    }
}

// ---------------------------------------------------------------------------------------------
// Visibility

/// Every TLP level (and none) x owned by / routed to / addressed to team a (or nobody), read
/// by anonymous, team a, team b and the store owner (no visibility): listings, counts, stats
/// and pages hold exactly the events core's `may_read` lets each read.
fn visibility_equals_may_read<S: EventStore + ?Sized>(s: &mut S) {
    let mut events = Vec::new();
    let mut i = 0;
    for tlp in [
        None,
        Some("CLEAR"),
        Some("GREEN"),
        Some("AMBER"),
        Some("AMBER+STRICT"),
        Some("RED"),
    ] {
        for owner in [None, Some("a"), Some("b")] {
            for routed in [None, Some("a"), Some("b")] {
                for recipients in [
                    None,
                    Some(json!(["a", "c", "a"])),
                    Some(json!(["b"])),
                    Some(json!("a")),
                ] {
                    i += 1;
                    let mut e = scan(&format!("10.1.{}.{}", i / 200, i % 200), T0 + i % 13);
                    if let Some(t) = tlp {
                        e.set("tlp", t).unwrap();
                    }
                    if let Some(o) = owner {
                        e.set("extra.owner", o).unwrap();
                    }
                    if let Some(r) = routed {
                        e.set("extra.team", r).unwrap();
                    }
                    if let Some(r) = recipients {
                        e.set("extra.recipients", r).unwrap();
                    }
                    events.push(e);
                }
            }
        }
    }
    // An owner and a team of another type than text count as absent.
    let mut odd = scan("10.2.0.1", T0);
    odd.set("tlp", "AMBER").unwrap();
    odd.set("extra.owner", json!(1)).unwrap();
    odd.set("extra.team", json!(["a"])).unwrap();
    events.push(odd);
    let c = s
        .commit_events(&input("v"), &events, &DedupeRule::default())
        .unwrap();
    assert_eq!(c.inserted as usize, events.len());
    let all = s.events(&EventQuery::default()).unwrap();
    assert_eq!(all.len(), events.len(), "the store owner reads everything");
    let viewers = [
        (EventVisibility::Anonymous, Viewer::Anonymous),
        (EventVisibility::Team("a".into()), user("a")),
        (EventVisibility::Team("b".into()), user("b")),
        (EventVisibility::Team("c".into()), user("c")),
        (EventVisibility::Team("z".into()), user("z")),
    ];
    for (visibility, viewer) in viewers {
        let want: Vec<i64> = all
            .iter()
            .filter(|e| may_read_event(&viewer, &e.event))
            .map(|e| e.id)
            .collect();
        assert!(!want.is_empty());
        let q = EventQuery {
            visibility: Some(visibility.clone()),
            ..Default::default()
        };
        let got: Vec<i64> = s.events(&q).unwrap().iter().map(|e| e.id).collect();
        assert_eq!(got, want, "{visibility:?}");
        assert_eq!(
            s.count_events(&q).unwrap() as usize,
            want.len(),
            "{visibility:?}"
        );
        let stats = s.event_stats(&["tlp".to_string()], &q, 10).unwrap();
        assert_eq!(
            stats.iter().map(|g| g.count).sum::<u64>() as usize,
            want.len(),
            "{visibility:?}"
        );
        // Pages of 7 newest first, filtered: the same events, in order.
        let filter = Filter::parse("source.ip = 10.1.0.0/16").ok();
        let mut paged = Vec::new();
        let mut after = None;
        loop {
            let page = s
                .events(&EventQuery {
                    limit: Some(7),
                    after_id: after,
                    newest_first: true,
                    filter: filter.clone(),
                    visibility: Some(visibility.clone()),
                    ..Default::default()
                })
                .unwrap();
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            paged.extend(page.iter().map(|e| (e.time, e.id)));
        }
        let mut expected: Vec<(i64, i64)> = all
            .iter()
            .filter(|e| {
                may_read_event(&viewer, &e.event)
                    && e.event
                        .get("source.ip")
                        .and_then(Value::as_str)
                        .is_some_and(|ip| ip.starts_with("10.1."))
            })
            .map(|e| (e.time, e.id))
            .collect();
        expected.sort();
        expected.reverse();
        assert_eq!(paged, expected, "{visibility:?}");
    }
}
on_both!(
    visibility_equals_may_read,
    crate::events::visibility_equals_may_read
);

fn user(team: &str) -> Viewer {
    Viewer::User {
        name: format!("{team}-user"),
        team: team.into(),
        role: Role::Administrator,
    }
}

// ---------------------------------------------------------------------------------------------
// One script, both backends, every answer equal

/// Runs one sequence of calls and notes every answer (ids, times, documents, errors).
fn script<S: EventStore + ?Sized>(s: &mut S) -> Vec<String> {
    let mut out = Vec::new();
    let mut note = |what: &str, answer: String| out.push(format!("{what}: {answer}"));
    let rule = DedupeRule::default();
    let mut rng = Rng(42);
    let batch: Vec<Event> = (0..120)
        .map(|i| {
            let mut e = random_event(&mut rng, T0 + (i % 17) * 3_600);
            if i % 3 == 0 {
                e.set("extra.owner", "a").unwrap();
            }
            if i % 5 == 0 {
                e.set("extra.recipients", json!(["b"])).unwrap();
            }
            if i % 2 == 0 {
                e.set("feed.name", "scan-feed").unwrap();
            }
            e
        })
        .collect();
    note(
        "commit",
        format!("{:?}", s.commit_events(&input("s1"), &batch, &rule)),
    );
    note(
        "again",
        format!("{:?}", s.commit_events(&input("s1"), &batch, &rule)),
    );
    note(
        "batch",
        format!(
            "{:?}",
            s.commit_event_batch(&input("s2"), &batch[..50], &rule, false)
        ),
    );
    note("progress", format!("{:?}", s.feed_input_progress("s2")));
    note("abandon", format!("{:?}", s.abandon_feed_input("s2")));
    let late: Vec<Event> = batch
        .iter()
        .map(|e| {
            let mut e = e.clone();
            // A later month, and times outside the monthly partitions (1970, 2200).
            e.set("time.source", at(T0 + 40 * 86_400)).unwrap();
            if e.get("source.ip").is_none() {
                e.set("time.source", at(100)).unwrap();
            } else if e.get("destination.ip").is_none() {
                e.set("time.source", at(7_258_118_400)).unwrap();
            }
            e
        })
        .collect();
    note(
        "batch",
        format!(
            "{:?}",
            s.commit_event_batch(&input("s3"), &late[..60], &rule, false)
        ),
    );
    note(
        "last",
        format!(
            "{:?}",
            s.commit_event_batch(&input("s3"), &late[60..], &rule, true)
        ),
    );
    note(
        "retag",
        format!("{:?}", s.retag_feed("scan-feed", "AMBER", Some("b"), &rule)),
    );
    note("inputs", format!("{:?}", s.feed_inputs()));
    for hash in ["s1", "s2", "s3", "none"] {
        note("input", format!("{:?}", s.feed_input(hash)));
    }
    let visibilities = [
        None,
        Some(EventVisibility::Anonymous),
        Some(EventVisibility::Team("a".into())),
        Some(EventVisibility::Team("b".into())),
    ];
    let filters = [
        None,
        Some("source.ip exists"),
        Some("tlp in (red, green) or extra.team ~ a"),
        Some("destination.ip = 192.0.0.0/22 and not source.asn > 64497"),
    ];
    for visibility in &visibilities {
        for f in filters {
            for newest_first in [false, true] {
                let q = EventQuery {
                    filter: f.map(|f| Filter::parse(f).unwrap()),
                    visibility: visibility.clone(),
                    newest_first,
                    limit: Some(25),
                    range: TimeRange {
                        since: Some(T0 + 3_600),
                        until: None,
                    },
                    ..Default::default()
                };
                let what = format!("{visibility:?} {f:?} {newest_first}");
                let first = s.event_docs(&q);
                note(&what, format!("{first:?}"));
                let after = first.ok().and_then(|d| d.last().map(|d| d.id));
                note(
                    &what,
                    format!(
                        "{:?}",
                        s.event_docs(&EventQuery {
                            after_id: after,
                            ..q.clone()
                        })
                    ),
                );
                note(&what, format!("{:?}", s.count_events(&q)));
                let by = [
                    "source.geolocation.cc".to_string(),
                    "extra.team".to_string(),
                ];
                note(&what, format!("{:?}", s.event_stats(&by, &q, 8)));
            }
        }
    }
    note(
        "bad",
        format!(
            "{:?}",
            s.count_events(&filtered("extra.team exists")).map(|_| ())
        ),
    );
    note(
        "bad",
        format!(
            "{:?}",
            s.events(&EventQuery {
                after_id: Some(-1),
                ..Default::default()
            })
            .map(|_| ())
        ),
    );
    out
}

#[test]
fn one_script_gives_the_same_answers_on_both_backends() {
    let sqlite = script(&mut crate::fresh_sqlite());
    let postgres = script(&mut crate::fresh_postgres());
    assert_eq!(sqlite.len(), postgres.len());
    for (a, b) in sqlite.iter().zip(&postgres) {
        assert_eq!(a, b);
    }
}

/// One bulk commit of 100,000 events on each backend, timed, into an empty store and then
/// into the same month of a store that holds 100,000:
/// `cargo test -p firewatch-store --test conformance --release -- --ignored --nocapture bulk`.
#[test]
#[ignore]
fn bulk_commit_of_100k_events_timed_on_both_backends() {
    fn events(net: u32) -> Vec<Event> {
        (0..100_000u32)
            .map(|i| {
                let ip = format!("{net}.{}.{}.{}", i / 65_536, (i / 256) % 256, i % 256);
                let mut e = scan(&ip, T0 + i64::from(i % 86_400));
                e.set("source.geolocation.cc", ["JP", "DE", "NL"][i as usize % 3])
                    .unwrap();
                e.set("tlp", ["GREEN", "AMBER"][i as usize % 2]).unwrap();
                e.set("extra.team", "a").unwrap();
                e
            })
            .collect()
    }
    fn run<S: EventStore + ?Sized>(s: &mut S) -> [std::time::Duration; 2] {
        [10, 11].map(|net| {
            let batch = events(net);
            let started = std::time::Instant::now();
            let c = s
                .commit_events(
                    &input(&format!("bulk-{net}")),
                    &batch,
                    &DedupeRule::default(),
                )
                .unwrap();
            let took = started.elapsed();
            assert_eq!(c.inserted, 100_000);
            took
        })
    }
    let sqlite = run(&mut crate::fresh_sqlite());
    let postgres = run(&mut crate::fresh_postgres());
    println!(
        "bulk commits of 100,000 events (empty store, then a second 100,000): SQLite {sqlite:?}, PostgreSQL {postgres:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL only: crash safety and concurrent writers (SQLite's own tests kill and lock it)

const SCHEMA_ENV: &str = "FIREWATCH_TEST_EVENTS_SCHEMA";

/// The scratch schema of this process whose `feed_input_progress` or `feed_inputs` holds
/// `content_hash` (a store keeps its schema to itself; a second connection needs it).
fn schema_holding(content_hash: &str) -> String {
    let url = firewatch_store::postgres::test_url();
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let candidates: Vec<String> = client
        .query(
            "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE $1",
            &[&format!("firewatch\\_scratch\\_{}\\_%", std::process::id())],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    candidates
        .into_iter()
        .find(|schema| {
            client
                .query_opt(
                    &format!(
                        "SELECT 1 FROM {schema}.feed_input_progress WHERE content_hash = $1
                         UNION ALL SELECT 1 FROM {schema}.feed_inputs WHERE content_hash = $1"
                    ),
                    &[&content_hash],
                )
                .is_ok_and(|r| r.is_some())
        })
        .expect("the store's scratch schema")
}

/// Another connection to a store's schema, for writing (its reads would not see the schema).
fn writer_on(schema: &str) -> firewatch_store::PgStore {
    let url = format!(
        "{}?options=-csearch_path%3D{schema}",
        firewatch_store::postgres::test_url()
    );
    firewatch_store::PgStore::connect(&url).unwrap()
}

/// 100 events, the input the crash test commits in two batches of 50.
fn crash_events() -> Vec<Event> {
    (0..100)
        .map(|i| scan(&format!("192.0.2.{i}"), T0))
        .collect()
}

/// Run by `a_killed_batch_leaves_nothing_on_postgres` in a child process that aborts half-way
/// through the last batch of an input (on the schema of the parent's store).
#[test]
fn crash_child_postgres() {
    let Ok(schema) = std::env::var(SCHEMA_ENV) else {
        return;
    };
    writer_on(&schema)
        .commit_event_batch(
            &input("batched"),
            &crash_events()[50..],
            &DedupeRule::default(),
            true,
        )
        .unwrap();
}

/// A process killed (SIGABRT: no rollback, no destructor) half-way through the last batch of
/// an input leaves nothing of that batch, and the first batch with its progress; the input
/// run again from its start records the counts of an uninterrupted run.
#[test]
fn a_killed_batch_leaves_nothing_on_postgres() {
    let mut store = crate::fresh_postgres();
    let rule = DedupeRule::default();
    let events = crash_events();
    store
        .commit_event_batch(&input("batched"), &events[..50], &rule, false)
        .unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "events::crash_child_postgres",
            "--exact",
            "--test-threads=1",
        ])
        .env(SCHEMA_ENV, schema_holding("batched"))
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
    assert!(!status.success());
    assert_eq!(
        store.count_events(&EventQuery::default()).unwrap(),
        50,
        "the first batch only"
    );
    assert!(store.feed_input("batched").unwrap().is_none());
    let progress = store.feed_input_progress("batched").unwrap().unwrap();
    assert_eq!((progress.batches, progress.inserted), (1, 50));
    // Run again from the start: the first batch is its own duplicates.
    let c = store
        .commit_event_batch(&input("batched"), &events[..50], &rule, false)
        .unwrap();
    assert_eq!(counts(c), (0, 50));
    let c = store
        .commit_event_batch(&input("batched"), &events[50..], &rule, true)
        .unwrap();
    assert_eq!(counts(c), (50, 0));
    let done = store.feed_input("batched").unwrap().unwrap();
    assert_eq!((done.inserted, done.duplicates), (100, 0));
    assert_eq!(store.count_events(&EventQuery::default()).unwrap(), 100);
}

/// Four connections commit overlapping inputs at once, in months not yet partitioned: the
/// writers take turns, so every event is stored once, ids stay unique and dense, and every
/// month gets one partition.
#[test]
fn concurrent_writers_store_each_event_once_on_postgres() {
    let mut store = crate::fresh_postgres();
    store
        .commit_events(&input("marker"), &[], &DedupeRule::default())
        .unwrap();
    let schema = schema_holding("marker");
    let threads: Vec<_> = (0..4)
        .map(|w| {
            let schema = schema.clone();
            std::thread::spawn(move || {
                let mut writer = writer_on(&schema);
                let mut inserted = 0;
                for round in 0..5 {
                    // Each round's events fall in a month of their own; writers overlap by half.
                    let events: Vec<Event> = (0..200)
                        .map(|i| {
                            let n = w * 100 + i;
                            scan(
                                &format!("10.9.{}.{}", n / 256, n % 256),
                                T0 + round * 40 * 86_400,
                            )
                        })
                        .collect();
                    let hash = format!("w{w}-{round}");
                    let c = writer
                        .commit_events(&input(&hash), &events, &DedupeRule::default())
                        .unwrap();
                    inserted += c.inserted;
                }
                inserted
            })
        })
        .collect();
    let inserted: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    // 500 distinct addresses per round, 5 rounds in distinct windows.
    assert_eq!(inserted, 2_500);
    let all = store.events(&EventQuery::default()).unwrap();
    assert_eq!(all.len(), 2_500);
    let mut ids: Vec<i64> = all.iter().map(|e| e.id).collect();
    ids.sort();
    assert_eq!(ids, (1..=2_500).collect::<Vec<i64>>());
    assert_eq!(store.feed_inputs().unwrap().len(), 21);
}
