//! Internet-health metrics: the event facts they read, and the stored computation.

use firewatch_core::telescope::DARKNET_FEED;
use firewatch_core::{Event, TimeRange};
use firewatch_store::health::{
    AddressSpaceRecord, HealthCellRecord, HealthEventFacts, HealthMeta, HealthPublicRecord,
    HealthSnapshot, health_days,
};
use firewatch_store::{DedupeRule, EventStore, FeedInput, HealthStore};

fn secs(t: &str) -> i64 {
    t.parse::<jiff::Timestamp>().unwrap().as_second()
}

fn event(ip: &str, time: &str, feed: &str, ty: &str, id: &str) -> Event {
    let mut e = Event::new();
    e.set("feed.name", feed).unwrap();
    e.set("classification.type", ty).unwrap();
    e.set("classification.identifier", id).unwrap();
    if !ip.is_empty() {
        e.set("source.ip", ip).unwrap();
    }
    e.set("source.geolocation.cc", "JP").unwrap();
    e.set("source.asn", 2497).unwrap();
    e.set("time.source", time).unwrap();
    e.set("tlp", "CLEAR").unwrap();
    e
}

fn facts<S: HealthStore + ?Sized>(s: &S, range: &TimeRange) -> Vec<HealthEventFacts> {
    let mut seen = Vec::new();
    let n = s.health_events(range, &mut |f| seen.push(f)).unwrap();
    assert_eq!(n as usize, seen.len());
    // The order of the visits is the backend's; the facts are the same.
    seen.sort_by_key(|f| (f.source_ip.clone(), f.time));
    seen
}

fn ips(facts: &[HealthEventFacts]) -> Vec<&str> {
    facts.iter().map(|f| f.source_ip.as_str()).collect()
}

/// The events that can show a risk and touch the range are visited: those in it, and the
/// telescope's findings that began before it and were still seen in it.
pub fn event_facts<S: HealthStore + EventStore + ?Sized>(s: &mut S) {
    let mut bot = event(
        "192.0.2.7",
        "2026-01-01T10:00:00+00:00",
        DARKNET_FEED,
        "infected-system",
        "mirai",
    );
    bot.set("malware.name", "mirai").unwrap();
    bot.set("extra.last_seen", "2026-01-03T01:00:00+00:00")
        .unwrap();
    let mut attack = event(
        "192.0.2.8",
        "2025-12-31T10:00:00+00:00",
        DARKNET_FEED,
        "ddos",
        "backscatter",
    );
    attack
        .set("extra.end", "2026-01-02T05:00:00+00:00")
        .unwrap();
    let mut gone = event(
        "192.0.2.9",
        "2025-12-30T10:00:00+00:00",
        DARKNET_FEED,
        "scanner",
        "scanner",
    );
    gone.set("extra.last_seen", "2026-01-01T23:59:59+00:00")
        .unwrap();
    let mut elsewhere = event(
        "192.0.2.10",
        "2025-12-30T10:00:00+00:00",
        "Other-Feed",
        "scanner",
        "scanner",
    );
    elsewhere
        .set("extra.last_seen", "2026-01-05T00:00:00+00:00")
        .unwrap();
    let events = [
        event(
            "192.0.2.1",
            "2026-01-02T10:00:00+00:00",
            "DNS-Open-Resolvers",
            "vulnerable-system",
            "dns-open-resolver",
        ),
        event(
            "192.0.2.2",
            "2025-12-01T10:00:00+00:00",
            "DNS-Open-Resolvers",
            "vulnerable-system",
            "dns-open-resolver",
        ),
        event(
            "192.0.2.3",
            "2026-01-02T11:00:00+00:00",
            "Spam-Feed",
            "spam",
            "spam",
        ),
        event(
            "",
            "2026-01-02T12:00:00+00:00",
            "DNS-Open-Resolvers",
            "vulnerable-system",
            "dns-open-resolver",
        ),
        event(
            "192.0.2.4",
            "2026-01-04T10:00:00+00:00",
            "Sinkhole",
            "infected-system",
            "conficker",
        ),
        bot,
        attack,
        gone,
        elsewhere,
    ];
    let input = FeedInput {
        content_hash: "h".into(),
        ..Default::default()
    };
    s.commit_events(&input, &events, &DedupeRule::default())
        .unwrap();

    let since = secs("2026-01-02T00:00:00Z");
    let range = TimeRange {
        since: Some(since),
        until: None,
    };
    let seen = facts(s, &range);
    assert_eq!(
        ips(&seen),
        ["192.0.2.1", "192.0.2.4", "192.0.2.7", "192.0.2.8"]
    );
    let bot = &seen[2];
    assert_eq!(
        bot,
        &HealthEventFacts {
            time: secs("2026-01-01T10:00:00Z"),
            last_seen: Some(secs("2026-01-03T01:00:00Z")),
            feed: Some(DARKNET_FEED.into()),
            classification_type: Some("infected-system".into()),
            identifier: Some("mirai".into()),
            malware: Some("mirai".into()),
            source_ip: "192.0.2.7".into(),
            country: Some("JP".into()),
            asn: Some(2497),
            tlp: Some("CLEAR".into()),
        }
    );
    let day = since.div_euclid(86_400);
    assert_eq!(health_days(bot, &range), day..=day + 1);
    assert_eq!(seen[3].last_seen, Some(secs("2026-01-02T05:00:00Z")));
    let dns = &seen[0];
    assert_eq!(dns.identifier.as_deref(), Some("dns-open-resolver"));
    assert_eq!(
        (dns.last_seen, dns.malware.as_deref()),
        (None, None),
        "only the telescope's findings span days"
    );
    assert_eq!(health_days(dns, &range), day..=day);

    // Bounded on both sides; and with no lower bound, only events in the range count.
    let bounded = TimeRange {
        since: Some(since),
        until: Some(secs("2026-01-03T00:00:00Z")),
    };
    assert_eq!(
        ips(&facts(s, &bounded)),
        ["192.0.2.1", "192.0.2.7", "192.0.2.8"]
    );
    let open = TimeRange {
        since: None,
        until: Some(secs("2025-12-31T23:59:59Z")),
    };
    assert_eq!(
        ips(&facts(s, &open)),
        ["192.0.2.10", "192.0.2.2", "192.0.2.8", "192.0.2.9"]
    );
    assert_eq!(facts(s, &TimeRange::default()).len(), 7);
}

fn cell(scope: &str, key: &str, risk: &str, day: i64, n: u64) -> HealthCellRecord {
    HealthCellRecord {
        day,
        scope: scope.into(),
        key: key.into(),
        risk: risk.into(),
        unique_ips: n,
        public_unique_ips: n / 2,
    }
}

fn public(key: &str, risk: &str, day: i64, rank: u32) -> HealthPublicRecord {
    HealthPublicRecord {
        day,
        scope: "country".into(),
        key: key.into(),
        risk: risk.into(),
        unique_ips: 12,
        announced_ipv4: Some(1_000_000),
        per_million_addresses: Some(12.0),
        ddos_potential_gbps: Some(0.492),
        trend_index: None,
        rank,
    }
}

/// A computation replaces the cells of its days, the address space, every published figure
/// and the metadata; listings filter and order alike on both backends.
pub fn snapshots<S: HealthStore + ?Sized>(s: &mut S) {
    assert_eq!(s.health_meta().unwrap(), None);
    assert!(s.health_cells(None, None, None).unwrap().is_empty());
    assert!(s.health_address_space().unwrap().is_empty());
    assert!(s.health_public("country", None, None).unwrap().is_empty());
    let meta = HealthMeta {
        computed_at: 1,
        suppression_threshold: 10,
        base_week: Some("2026-01-05".into()),
        release_all_tlp: false,
        data_version: "test".into(),
        bandwidth_per_device_mbps: 1.0,
        dns_amplification: 41.0,
    };
    let jp = |day, n| cell("country", "JP", "open-dns", day, n);
    let mut snapshot = HealthSnapshot {
        days: (10, 11),
        cells: vec![
            jp(10, 30),
            jp(11, 40),
            cell("asn", "2497", "open-dns", 10, 7),
            cell("country", "JP", "Open-dns", 10, 3),
            cell("country", "DE", "open-dns", 10, 9),
            cell("country", "JP", "open-dns", 5, 1),
        ],
        address_space: vec![AddressSpaceRecord {
            scope: "country".into(),
            key: "JP".into(),
            ipv4_addresses: 1_000_000,
        }],
        public: vec![
            public("JP", "open-dns", 10, 1),
            public("JP", "open-dns", 11, 1),
        ],
        meta: meta.clone(),
    };
    s.commit_health(&snapshot).unwrap();
    let listed = |s: &S, scope, from, to| -> Vec<(String, i64, String, String, u64)> {
        s.health_cells(scope, from, to)
            .unwrap()
            .into_iter()
            .map(|c| (c.scope, c.day, c.risk, c.key, c.unique_ips))
            .collect()
    };
    let row = |scope: &str, day, risk: &str, key: &str, n| {
        (scope.to_owned(), day, risk.to_owned(), key.to_owned(), n)
    };
    // By scope, day, risk (capitals first) and key.
    assert_eq!(
        listed(s, None, None, None),
        [
            row("asn", 10, "open-dns", "2497", 7),
            row("country", 5, "open-dns", "JP", 1),
            row("country", 10, "Open-dns", "JP", 3),
            row("country", 10, "open-dns", "DE", 9),
            row("country", 10, "open-dns", "JP", 30),
            row("country", 11, "open-dns", "JP", 40),
        ]
    );
    assert_eq!(
        listed(s, Some("country"), Some(10), Some(10)).len(),
        3,
        "days from..=to"
    );
    assert_eq!(listed(s, Some("country"), Some(11), None).len(), 1);
    assert_eq!(listed(s, Some("country"), None, Some(9)).len(), 1);
    assert!(listed(s, Some("region"), None, None).is_empty());

    // The next computation: days 11 and 12 replaced (day 10 stays), a cell of an earlier
    // day replaced by its new value, a cell given twice kept as last given, the address
    // space and published figures replaced whole.
    let mut newer_meta = meta.clone();
    newer_meta.computed_at = 2;
    newer_meta.base_week = None;
    newer_meta.release_all_tlp = true;
    newer_meta.suppression_threshold = u64::MAX;
    newer_meta.dns_amplification = 28.7;
    snapshot.days = (11, 12);
    snapshot.cells = vec![jp(12, 50), jp(5, 2), jp(12, 60)];
    snapshot.address_space = vec![
        AddressSpaceRecord {
            scope: "country".into(),
            key: "DE".into(),
            ipv4_addresses: 5_000_000_000,
        },
        AddressSpaceRecord {
            scope: "asn".into(),
            key: "2497".into(),
            ipv4_addresses: 65_536,
        },
    ];
    let mut odd = public("DE", "open-dns", 12, 2);
    odd.per_million_addresses = Some(f64::NAN);
    odd.trend_index = Some(-1.5);
    odd.announced_ipv4 = None;
    let mut asn = public("2497", "open-dns", 12, 1);
    asn.scope = "asn".into();
    snapshot.public = vec![
        public("JP", "open-dns", 12, 1),
        odd.clone(),
        public("AT", "open-dns", 12, 2),
        public("JP", "ddos", 12, 1),
        public("JP", "open-dns", 13, 1),
        asn.clone(),
    ];
    snapshot.meta = newer_meta.clone();
    s.commit_health(&snapshot).unwrap();
    assert_eq!(
        listed(s, Some("country"), None, None),
        [
            row("country", 5, "open-dns", "JP", 2),
            row("country", 10, "Open-dns", "JP", 3),
            row("country", 10, "open-dns", "DE", 9),
            row("country", 10, "open-dns", "JP", 30),
            row("country", 12, "open-dns", "JP", 60),
        ]
    );
    let c = &s.health_cells(Some("country"), Some(12), Some(12)).unwrap()[0];
    assert_eq!(c, &jp(12, 60));
    // By scope and key.
    assert_eq!(
        s.health_address_space().unwrap(),
        vec![
            snapshot.address_space[1].clone(),
            snapshot.address_space[0].clone()
        ]
    );
    // By day, risk, rank and key; NaN reads back as no value.
    odd.per_million_addresses = None;
    assert_eq!(
        s.health_public("country", Some(0), None).unwrap(),
        vec![
            public("JP", "ddos", 12, 1),
            public("JP", "open-dns", 12, 1),
            public("AT", "open-dns", 12, 2),
            odd,
            public("JP", "open-dns", 13, 1),
        ]
    );
    assert_eq!(
        s.health_public("country", Some(13), Some(13)).unwrap(),
        vec![public("JP", "open-dns", 13, 1)]
    );
    assert!(
        s.health_public("country", None, Some(11))
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.health_public("asn", None, None).unwrap(), vec![asn]);
    assert_eq!(s.health_meta().unwrap(), Some(newer_meta));

    // An empty computation empties what it replaces whole.
    snapshot.days = (0, -1);
    snapshot.cells.clear();
    snapshot.address_space.clear();
    snapshot.public.clear();
    snapshot.meta = meta.clone();
    s.commit_health(&snapshot).unwrap();
    assert_eq!(s.health_cells(None, None, None).unwrap().len(), 6);
    assert!(s.health_address_space().unwrap().is_empty());
    assert!(s.health_public("country", None, None).unwrap().is_empty());
    assert_eq!(s.health_meta().unwrap(), Some(meta));
}

on_both!(health_event_facts, crate::accounts::health::event_facts);
on_both!(health_snapshots, crate::accounts::health::snapshots);
