//! The telescope store ([`Store`]) on both backends: real aggregates (built by the darknet
//! aggregator from generated packets) committed, merged, forgotten, derived again, and every
//! listing read back; and one sequence run on both whose every answer must be the same.

use std::net::IpAddr;

use firewatch_core::SourceLabel;
use firewatch_core::telescope::{AlertKind, Detection, Metric};
use firewatch_darknet::{
    Aggregate, AggregationConfig, Aggregator, AttackThresholds, BackscatterAttack,
    BackscatterMinute, LabelRules, SourceCounters, classify, derive_attacks,
};
use firewatch_pcap::{Fragment, PacketFacts};
use firewatch_store::{
    AlertQuery, AttackQuery, Attribution, CaptureExtent, DedupeRule, Derivation, EventStore,
    FeedInput, InputRecord, SourceQuery, Store, StoreError, StoreStats, StoredDirectory, TimeRange,
};
use ipnet::IpNet;

/// Start of the first interval of the generated captures (a multiple of 60 and of a week).
const T0: i64 = 1_699_920_000;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn packet(
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    dport: u16,
    tcp_flags: u8,
    ts_s: i64,
) -> PacketFacts {
    PacketFacts {
        ts_ns: ts_s * 1_000_000_000,
        src,
        dst,
        proto,
        sport: 40_000,
        dport,
        ttl: 50,
        ip_id: 1,
        ip_len: 40,
        tcp_flags,
        tcp_seq: 7,
        tcp_window: 1024,
        icmp_type: 0,
        icmp_code: 0,
        quoted: None,
        fragment: Fragment::Whole,
        truncated: false,
        wire_len: 54,
    }
}

fn aggregate(packets: &[PacketFacts], interval_secs: u32) -> Aggregate {
    let mut agg = Aggregator::new(AggregationConfig {
        interval_secs,
        flowtuples: true,
    });
    agg.observe_batch(packets);
    agg.finish()
}

/// Capture A: a scanner over 150 addresses on 23/tcp, a burst of 40 sources on 445/tcp in
/// the fourth interval, a victim's backscatter (an attack), an IPv6 source on 53/udp, and two
/// sources whose addresses order differently as text and as numbers.
fn capture_a() -> Vec<PacketFacts> {
    let dst = |i: u32| IpAddr::from([203, 0, 113, (i % 250) as u8]);
    let mut p = Vec::new();
    for i in 0..150u32 {
        p.push(packet(
            ip("192.0.2.10"),
            dst(i),
            6,
            23,
            0x02,
            T0 + i64::from(i) * 2,
        ));
    }
    for s in 1..=40u8 {
        for k in 0..(s % 3 + 1) {
            p.push(packet(
                IpAddr::from([198, 51, 100, s]),
                dst(u32::from(s)),
                6,
                445,
                0x02,
                T0 + 180 + i64::from(k),
            ));
        }
    }
    for minute in 0..3i64 {
        for k in 0..40 {
            p.push(packet(
                ip("192.0.2.77"),
                dst(k),
                6,
                50_000,
                0x12,
                T0 + minute * 60 + i64::from(k),
            ));
        }
    }
    for k in 0..3 {
        p.push(packet(
            ip("2001:db8::1"),
            ip("2001:db8:ffff::9"),
            17,
            53,
            0,
            T0 + 60 + k,
        ));
    }
    for src in ["10.0.0.2", "9.0.0.1"] {
        for k in 0..4 {
            p.push(packet(ip(src), dst(7), 6, 8080, 0x02, T0 + 240 + k));
        }
    }
    p
}

/// Capture B, overlapping A: the scanner goes on, 445/tcp gets more of the same sources in
/// the same interval (cells and profiles merge), the victim's attack goes on.
fn capture_b() -> Vec<PacketFacts> {
    let dst = |i: u32| IpAddr::from([203, 0, 113, (i % 250) as u8]);
    let mut p = Vec::new();
    for i in 0..60u32 {
        p.push(packet(
            ip("192.0.2.10"),
            dst(i + 100),
            6,
            23,
            0x02,
            T0 + 240 + i64::from(i) * 3,
        ));
    }
    for s in 20..=60u8 {
        p.push(packet(
            IpAddr::from([198, 51, 100, s]),
            dst(1),
            6,
            445,
            0x02,
            T0 + 200,
        ));
    }
    for k in 0..35 {
        p.push(packet(
            ip("192.0.2.77"),
            dst(k),
            6,
            50_000,
            0x12,
            T0 + 180 + i64::from(k),
        ));
    }
    p.push(packet(
        ip("2001:db8::1"),
        ip("2001:db8:ffff::9"),
        17,
        53,
        0,
        T0 + 61,
    ));
    p
}

fn input(hash: &str, packets: &[PacketFacts], at: i64) -> InputRecord {
    InputRecord {
        content_hash: hash.into(),
        name: format!("{hash}.pcap"),
        format: "pcap".into(),
        ingested_at: at,
        frames: packets.len() as u64,
        ip_packets: packets.len() as u64,
        first_ns: packets.iter().map(|p| p.ts_ns).min(),
        last_ns: packets.iter().map(|p| p.ts_ns).max(),
        complete: true,
        error: None,
        counters: serde_json::json!({ "not_ip": 0, "truncated": 1 }),
    }
}

fn extent(hash: &str, packets: &[PacketFacts]) -> CaptureExtent {
    CaptureExtent {
        content_hash: hash.into(),
        first_frame_ns: packets.iter().map(|p| p.ts_ns).min().unwrap_or(0),
        fingerprint: format!("fp-{hash}"),
        fingerprint_frames: 64,
        skipped_frames: 0,
        frames_through: packets.len() as u64,
        continues: None,
    }
}

/// The pipeline's derivation in small: default label rules and attack thresholds, and
/// attribution from a table of prefixes.
struct TestDerivation {
    prefixes: Vec<(IpNet, Attribution)>,
}

impl TestDerivation {
    fn new(version: &str, team_of_198: &str) -> Self {
        let attribution = |cc: &str, asn: u32, team: &str| Attribution {
            country: Some(cc.into()),
            asn: Some(asn),
            as_name: Some(format!("AS-{asn}")),
            team: Some(team.into()),
            data_version: Some(version.into()),
        };
        TestDerivation {
            prefixes: vec![
                (
                    "198.51.100.0/26".parse().unwrap(),
                    attribution("JP", 64_500, team_of_198),
                ),
                (
                    "192.0.2.0/24".parse().unwrap(),
                    attribution("NL", 64_501, "team-b"),
                ),
                (
                    "2001:db8::/32".parse().unwrap(),
                    attribution("DE", 4_200_000_000, "team-c"),
                ),
            ],
        }
    }
}

impl Derivation for TestDerivation {
    fn label(&self, counters: &SourceCounters, distinct_destinations: u64) -> SourceLabel {
        classify(counters, distinct_destinations, &LabelRules::default())
    }
    fn attacks(&self, minutes: &[BackscatterMinute]) -> Vec<BackscatterAttack> {
        derive_attacks(minutes, &AttackThresholds::default())
    }
    fn attribute(&self, addr: IpAddr) -> Attribution {
        self.prefixes
            .iter()
            .find(|(net, _)| net.contains(&addr))
            .map(|(_, a)| a.clone())
            .unwrap_or_default()
    }
}

/// An episode on 445/tcp in the burst's interval (closed), as a detector would report it.
fn episode(end: Option<i64>) -> Detection {
    Detection {
        kind: AlertKind::NewCampaign,
        triggered_by: vec![Metric::UniqueSources, Metric::Packets],
        start: T0 + 180,
        end,
        peak_interval: T0 + 180,
        peak_packets: 120,
        peak_sources: 60,
        baseline_packets: 0.1,
        baseline_sources: 1.0 / 3.0,
        magnitude: 60.000_000_000_000_01,
        score: 1.234_567_890_123_456_7e-7,
    }
}

/// Every answer of the store's listings, as text: what two backends must agree on.
fn answers<S: Store + ?Sized>(s: &S) -> Vec<String> {
    let mut out = Vec::new();
    let mut say = |what: &str, v: &dyn std::fmt::Debug| out.push(format!("{what}: {v:?}"));
    let all = TimeRange::default();
    let part = TimeRange {
        since: Some(T0 + 60),
        until: Some(T0 + 200),
    };
    say("inputs", &s.inputs().unwrap());
    for i in s.inputs().unwrap() {
        say("input", &s.input(&i.content_hash).unwrap());
        say("extent", &s.capture_extent(&i.content_hash).unwrap());
    }
    say(
        "extents at",
        &s.capture_extents_starting_at(T0 * 1_000_000_000).unwrap(),
    );
    say(
        "overlapping",
        &s.inputs_overlapping((T0 + 100) * 1_000_000_000, (T0 + 100) * 1_000_000_000)
            .unwrap(),
    );
    say("interval", &s.interval_secs().unwrap());
    let top = s.top_ports(&all, 100).unwrap();
    say("top ports", &top);
    say("top ports part", &s.top_ports(&part, 2).unwrap());
    for t in &top {
        let proto = t
            .proto
            .parse::<firewatch_core::Protocol>()
            .unwrap()
            .number();
        say("series", &s.port_series(proto, t.port, &all).unwrap());
        say("series part", &s.port_series(proto, t.port, &part).unwrap());
    }
    let candidates = s.alert_candidates(30, 10).unwrap();
    say("candidates", &candidates);
    if let Some(c) = &candidates {
        for &(proto, port) in &c.ports {
            say("dense", &s.dense_series(proto, port, c).unwrap());
        }
        for end in [None, Some(T0 + 240)] {
            say(
                "episode sources",
                &s.episode_sources(6, 445, &episode(end), c).unwrap(),
            );
            say(
                "episode record",
                &s.episode_record(6, 445, &episode(end), c).unwrap(),
            );
        }
    }
    let sources = |q: SourceQuery| s.sources(&q).unwrap();
    say("sources", &sources(SourceQuery::default()));
    say(
        "sources scanner",
        &sources(SourceQuery {
            label: Some(SourceLabel::Scanner),
            ..Default::default()
        }),
    );
    say(
        "sources team",
        &sources(SourceQuery {
            team: Some("team-a".into()),
            limit: Some(5),
            ..Default::default()
        }),
    );
    say(
        "sources country",
        &sources(SourceQuery {
            country: Some("NL".into()),
            ..Default::default()
        }),
    );
    say(
        "sources range",
        &sources(SourceQuery {
            range: part,
            limit: Some(3),
            ..Default::default()
        }),
    );
    for a in [
        "192.0.2.10",
        "198.51.100.30",
        "2001:db8::1",
        "10.0.0.2",
        "9.0.0.1",
        "192.0.2.99",
    ] {
        say("source", &s.source(ip(a)).unwrap());
    }
    let attacks = |q: AttackQuery| s.attacks(&q).unwrap();
    say("attacks", &attacks(AttackQuery::default()));
    say(
        "attacks victim",
        &attacks(AttackQuery {
            victim: Some(ip("192.0.2.77")),
            ..Default::default()
        }),
    );
    say(
        "attacks team",
        &attacks(AttackQuery {
            team: Some("team-x".into()),
            ..Default::default()
        }),
    );
    say(
        "attacks country",
        &attacks(AttackQuery {
            country: Some("NL".into()),
            limit: Some(1),
            ..Default::default()
        }),
    );
    let mut flows = Vec::new();
    let n = s.flowtuples(&all, &mut |f| flows.push(f)).unwrap();
    say("flowtuples", &(n, flows));
    let mut flows = Vec::new();
    let n = s.flowtuples(&part, &mut |f| flows.push(f)).unwrap();
    say("flowtuples part", &(n, flows));
    let alerts = |q: AlertQuery| s.alerts(&q).unwrap();
    say("alerts", &alerts(AlertQuery::default()));
    say(
        "alerts open",
        &alerts(AlertQuery {
            open_only: true,
            ..Default::default()
        }),
    );
    say(
        "alerts team",
        &alerts(AlertQuery {
            team: Some("team-a".into()),
            limit: Some(1),
            ..Default::default()
        }),
    );
    say(
        "alerts country",
        &alerts(AlertQuery {
            country: Some("jp".into()),
            ..Default::default()
        }),
    );
    say(
        "alerts port",
        &alerts(AlertQuery {
            proto: Some(6),
            port: Some(23),
            ..Default::default()
        }),
    );
    for a in alerts(AlertQuery::default()) {
        say("alert", &s.alert(&a.id).unwrap());
        say("alert sources", &s.alert_sources(&a, None).unwrap());
        say(
            "alert sources team",
            &s.alert_sources(&a, Some("team-a")).unwrap(),
        );
    }
    say("alert none", &s.alert("nothing").unwrap());
    say("stale", &s.alerts_stale().unwrap());
    say("directory", &s.team_directory().unwrap());
    out
}

/// Commits capture A (with its extent) and B.
fn commit_both<S: Store + ?Sized>(s: &mut S, derive: &dyn Derivation) {
    let (a, b) = (capture_a(), capture_b());
    assert!(
        s.commit_capture_extent(
            &input("aaaa", &a, 100),
            &extent("aaaa", &a),
            &aggregate(&a, 60),
            derive
        )
        .unwrap()
    );
    assert!(
        s.commit_capture(&input("bbbb", &b, 200), &aggregate(&b, 60), derive)
            .unwrap()
    );
}

/// Derives alerts as the pipeline does: the records of two episodes, replaced whole.
fn derive_alerts<S: Store + ?Sized>(s: &mut S) -> Vec<firewatch_store::AlertRecord> {
    let c = s.alert_candidates(30, 10).unwrap().expect("a span");
    let mut records = vec![
        s.episode_record(6, 445, &episode(Some(T0 + 240)), &c)
            .unwrap(),
        s.episode_record(
            6,
            23,
            &Detection {
                start: T0,
                ..episode(None)
            },
            &c,
        )
        .unwrap(),
    ];
    records[1].kind = AlertKind::Spike;
    records[1].id = "tcp-23-spike-x".into();
    s.replace_alerts(&records).unwrap();
    records
}

/// An empty store answers with nothing.
pub fn empty<S: Store + ?Sized>(s: &mut S) {
    s.check_writable().unwrap();
    assert!(s.inputs().unwrap().is_empty());
    assert_eq!(s.input("x").unwrap(), None);
    assert_eq!(s.interval_secs().unwrap(), None);
    assert_eq!(s.alert_candidates(1, 1).unwrap(), None);
    assert!(s.top_ports(&TimeRange::default(), 10).unwrap().is_empty());
    assert!(
        s.port_series(6, 23, &TimeRange::default())
            .unwrap()
            .is_empty()
    );
    assert!(s.sources(&SourceQuery::default()).unwrap().is_empty());
    assert!(s.attacks(&AttackQuery::default()).unwrap().is_empty());
    assert!(s.alerts(&AlertQuery::default()).unwrap().is_empty());
    assert_eq!(s.flowtuples(&TimeRange::default(), &mut |_| {}).unwrap(), 0);
    assert!(!s.alerts_stale().unwrap());
    assert_eq!(s.team_directory().unwrap(), None);
    assert_eq!(s.forget_input("x").unwrap(), None);
}
on_both!(empty_store, crate::telescope::empty);

/// A committed capture is read back through every listing; the same content hash again
/// changes nothing and says so.
pub fn commit_and_read<S: Store + ?Sized>(s: &mut S) {
    let derive = TestDerivation::new("v1", "team-a");
    let a = capture_a();
    let agg = aggregate(&a, 60);
    assert!(
        s.commit_capture_extent(&input("aaaa", &a, 100), &extent("aaaa", &a), &agg, &derive)
            .unwrap()
    );
    let before = answers(s);
    assert!(
        !s.commit_capture(&input("aaaa", &a, 999), &agg, &derive)
            .unwrap()
    );
    assert!(
        !s.commit_capture_extent(&input("aaaa", &a, 999), &extent("aaaa", &a), &agg, &derive)
            .unwrap()
    );
    assert_eq!(
        answers(s),
        before,
        "a second commit of the same hash changes nothing"
    );

    assert_eq!(s.input("aaaa").unwrap(), Some(input("aaaa", &a, 100)));
    assert_eq!(s.capture_extent("aaaa").unwrap(), Some(extent("aaaa", &a)));
    assert_eq!(
        s.capture_extents_starting_at(T0 * 1_000_000_000).unwrap(),
        vec![extent("aaaa", &a)]
    );
    assert_eq!(
        s.inputs_overlapping(0, T0 * 1_000_000_000).unwrap().len(),
        1
    );
    assert!(
        s.inputs_overlapping(0, T0 * 1_000_000_000 - 1)
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.interval_secs().unwrap(), Some(60));
    assert!(s.alerts_stale().unwrap());

    let top = s.top_ports(&TimeRange::default(), 10).unwrap();
    assert_eq!(
        (top[0].proto.as_str(), top[0].port, top[0].packets),
        ("tcp", 23, 150)
    );
    assert_eq!(top[0].unique_sources, 1);
    let smb = top.iter().find(|t| t.port == 445).unwrap();
    assert_eq!(
        (smb.unique_sources, smb.peak_interval_sources, smb.intervals),
        (40, 40, 1)
    );
    let series = s.port_series(6, 445, &TimeRange::default()).unwrap();
    assert_eq!(series.len(), 5, "dense over the store's span: {series:?}");
    assert_eq!(series.iter().filter(|p| p.packets > 0).count(), 1);

    let scanner = s.source(ip("192.0.2.10")).unwrap().unwrap();
    assert_eq!(scanner.label, SourceLabel::Scanner);
    assert_eq!((scanner.packets, scanner.distinct_ports), (150, 1));
    assert_eq!(scanner.top_ports, vec![("tcp".to_string(), 23, 150)]);
    assert_eq!(scanner.attribution.team.as_deref(), Some("team-b"));
    let v6 = s.source(ip("2001:db8::1")).unwrap().unwrap();
    assert_eq!(v6.attribution.asn, Some(4_200_000_000));
    // Busiest first, ties by the address's text: "10.0.0.2" before "9.0.0.1".
    let listed: Vec<String> = s
        .sources(&SourceQuery::default())
        .unwrap()
        .iter()
        .filter(|r| r.packets == 4)
        .map(|r| r.addr.to_string())
        .collect();
    assert_eq!(listed, ["10.0.0.2", "9.0.0.1"]);
    let team_a = s
        .sources(&SourceQuery {
            team: Some("team-a".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(team_a.len(), 40);

    let attacks = s.attacks(&AttackQuery::default()).unwrap();
    assert_eq!(attacks.len(), 1, "{attacks:?}");
    assert_eq!(
        (attacks[0].victim, attacks[0].packets),
        (ip("192.0.2.77"), 120)
    );
    assert_eq!(attacks[0].attribution.country.as_deref(), Some("NL"));
    let mut flows = 0;
    assert!(
        s.flowtuples(&TimeRange::default(), &mut |_| flows += 1)
            .unwrap()
            > 0
    );
}
on_both!(commit_and_read_back, crate::telescope::commit_and_read);

/// Two overlapping captures merge into what one capture of all their packets gives.
pub fn merge<S: Store + ?Sized>(s: &mut S) {
    let derive = TestDerivation::new("v1", "team-a");
    commit_both(s, &derive);
    let mut one = firewatch_store::SqliteStore::open_in_memory().unwrap();
    let all: Vec<PacketFacts> = capture_a().into_iter().chain(capture_b()).collect();
    assert!(
        one.commit_capture(&input("all", &all, 1), &aggregate(&all, 60), &derive)
            .unwrap()
    );
    let range = TimeRange::default();
    assert_eq!(
        s.top_ports(&range, 100).unwrap(),
        one.top_ports(&range, 100).unwrap()
    );
    for (proto, port) in [(6, 23), (6, 445), (17, 53), (6, 50_000)] {
        assert_eq!(
            s.port_series(proto, port, &range).unwrap(),
            one.port_series(proto, port, &range).unwrap()
        );
    }
    let strip = |mut v: Vec<firewatch_store::SourceRecord>| {
        v.iter_mut().for_each(|r| r.top_ports.sort());
        v
    };
    assert_eq!(
        strip(s.sources(&SourceQuery::default()).unwrap()),
        strip(one.sources(&SourceQuery::default()).unwrap())
    );
    assert_eq!(
        s.attacks(&AttackQuery::default()).unwrap(),
        one.attacks(&AttackQuery::default()).unwrap()
    );
    let (mut x, mut y) = (Vec::new(), Vec::new());
    s.flowtuples(&range, &mut |f| x.push(f)).unwrap();
    one.flowtuples(&range, &mut |f| y.push(f)).unwrap();
    assert_eq!(x, y);
    // Another interval length is refused, and nothing of that capture is written.
    let c = capture_b();
    let err = s
        .commit_capture(&input("cccc", &c, 300), &aggregate(&c, 300), &derive)
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::IntervalMismatch {
                stored: 60,
                configured: 300
            }
        ),
        "{err}"
    );
    assert_eq!(s.input("cccc").unwrap(), None);
}
on_both!(captures_merge_as_one, crate::telescope::merge);

/// Forgetting an input removes its record and extent, not what it counted; the same capture
/// may then be committed again (and is counted again).
pub fn forget<S: Store + ?Sized>(s: &mut S) {
    let derive = TestDerivation::new("v1", "team-a");
    commit_both(s, &derive);
    let packets = s.top_ports(&TimeRange::default(), 1).unwrap()[0].packets;
    let a = capture_a();
    assert_eq!(
        s.forget_input("aaaa").unwrap(),
        Some(input("aaaa", &a, 100))
    );
    assert_eq!(s.forget_input("aaaa").unwrap(), None);
    assert_eq!(s.input("aaaa").unwrap(), None);
    assert_eq!(s.capture_extent("aaaa").unwrap(), None);
    assert_eq!(s.inputs().unwrap().len(), 1);
    assert_eq!(
        s.top_ports(&TimeRange::default(), 1).unwrap()[0].packets,
        packets
    );
    assert!(
        s.commit_capture(&input("aaaa", &a, 400), &aggregate(&a, 60), &derive)
            .unwrap()
    );
    assert_eq!(
        s.top_ports(&TimeRange::default(), 1).unwrap()[0].packets,
        packets + 150
    );
}
on_both!(forget_input, crate::telescope::forget);

/// Derived again under a new team directory: what changed is written and counted, the
/// alerts go stale, and a second run changes nothing.
pub fn rederive<S: Store + ?Sized>(s: &mut S) {
    commit_both(s, &TestDerivation::new("v1", "team-a"));
    derive_alerts(s);
    assert!(!s.alerts_stale().unwrap());
    let same = s
        .rederive(&TestDerivation::new("v1", "team-a"), None)
        .unwrap();
    assert_eq!(
        (same.sources_changed, same.attacks_changed),
        (0, 0),
        "{same:?}"
    );
    assert!(same.sources > 0 && same.attacks == 1);
    assert!(!s.alerts_stale().unwrap(), "nothing changed, nothing stale");

    let moved = TestDerivation::new("v2", "team-x");
    let first = s.rederive(&moved, None).unwrap();
    assert_eq!(first.sources, same.sources);
    // 60 sources in 198.51.100.0/26 and, through data_version, every attributed one.
    assert_eq!(first.sources_changed, 60 + 3);
    assert_eq!(first.attacks_changed, 1);
    assert!(s.alerts_stale().unwrap());
    assert_eq!(
        s.source(ip("198.51.100.30"))
            .unwrap()
            .unwrap()
            .attribution
            .team
            .as_deref(),
        Some("team-x")
    );
    assert_eq!(
        s.attacks(&AttackQuery::default()).unwrap()[0]
            .attribution
            .data_version
            .as_deref(),
        Some("v2")
    );
    let second = s.rederive(&moved, None).unwrap();
    assert_eq!(
        (
            second.sources_changed,
            second.attacks_changed,
            second.events_changed
        ),
        (0, 0, 0)
    );
    // Since: only the records seen at or after it.
    let late = s.rederive(&moved, Some(T0 + 400)).unwrap();
    assert!(late.sources < first.sources, "{late:?}");
}
on_both!(rederive_changes_once, crate::telescope::rederive);

/// Rederive routes stored events again by their source address: the team each event is
/// routed to (its column and its document's `extra.team`) follows the directory, once.
pub fn rederive_events<S: Store + EventStore + ?Sized>(s: &mut S) {
    let event = |ip: &str, time: i64| {
        let mut e = firewatch_core::Event::new();
        e.set("feed.name", "scan-feed").unwrap();
        e.set("classification.type", "scanner").unwrap();
        e.set("source.ip", ip).unwrap();
        e.set(
            "time.source",
            jiff::Timestamp::from_second(time).unwrap().to_string(),
        )
        .unwrap();
        e
    };
    let input = FeedInput {
        content_hash: "feed-1".into(),
        name: "feed-1.csv".into(),
        format: "test".into(),
        feed: Some("scan-feed".into()),
        ingested_at: T0,
        records: 3,
        events: 3,
        ..Default::default()
    };
    let events = [
        event("198.51.100.5", T0),
        event("192.0.2.10", T0 + 10),
        event("203.0.113.99", T0 + 20),
    ];
    s.commit_events(&input, &events, &DedupeRule::default())
        .unwrap();
    let first = s
        .rederive(&TestDerivation::new("v1", "team-a"), None)
        .unwrap();
    assert_eq!((first.events, first.events_changed), (3, 2), "{first:?}");
    let again = s
        .rederive(&TestDerivation::new("v1", "team-a"), None)
        .unwrap();
    assert_eq!(again.events_changed, 0);
    let moved = s
        .rederive(&TestDerivation::new("v2", "team-x"), Some(T0 + 5))
        .unwrap();
    assert_eq!(
        (moved.events, moved.events_changed),
        (2, 0),
        "since: the later two only"
    );
    let moved = s
        .rederive(&TestDerivation::new("v2", "team-x"), None)
        .unwrap();
    assert_eq!(moved.events_changed, 1);
    let docs: Vec<String> = s
        .event_docs(&Default::default())
        .unwrap()
        .into_iter()
        .map(|d| d.doc)
        .collect();
    assert!(docs[0].contains(r#""extra.team":"team-x""#), "{docs:?}");
    assert!(docs[1].contains(r#""extra.team":"team-b""#), "{docs:?}");
    assert!(!docs[2].contains("extra.team"), "{docs:?}");
}
on_both!(rederive_routes_events, crate::telescope::rederive_events);

/// Alerts: candidates, dense series, episode sources and records, replaced whole and read
/// back through every filter.
pub fn alerts<S: Store + ?Sized>(s: &mut S) {
    commit_both(s, &TestDerivation::new("v1", "team-a"));
    let c = s.alert_candidates(30, 10).unwrap().unwrap();
    assert_eq!((c.first, c.step), (T0, 60));
    assert!(
        c.ports.contains(&(6, 445)) && c.ports.contains(&(6, 23)),
        "{c:?}"
    );
    assert!(!c.ports.contains(&(17, 53)));
    let dense = s.dense_series(6, 445, &c).unwrap();
    assert_eq!(dense.len() as i64, (c.last - c.first) / 60 + 1);
    let sources = s
        .episode_sources(6, 445, &episode(Some(T0 + 240)), &c)
        .unwrap();
    assert_eq!(sources.len(), 60);
    assert!(sources.windows(2).all(|w| w[0].1 >= w[1].1));
    let records = derive_alerts(s);
    assert!(!s.alerts_stale().unwrap());
    let smb = &records[0];
    assert_eq!(smb.unique_sources, 60);
    assert_eq!(smb.top_sources.len(), 10);
    assert_eq!(smb.top_teams[0].0, "team-a");
    assert_eq!(s.alert(&smb.id).unwrap().as_ref(), Some(smb));
    // Listed by start: the 23/tcp episode (open, from T0) first.
    let listed = vec![records[1].clone(), records[0].clone()];
    let q = |q: AlertQuery| s.alerts(&q).unwrap();
    assert_eq!(q(AlertQuery::default()), listed);
    assert_eq!(
        q(AlertQuery {
            open_only: true,
            ..Default::default()
        }),
        &listed[..1]
    );
    assert_eq!(
        q(AlertQuery {
            port: Some(445),
            ..Default::default()
        }),
        &listed[1..]
    );
    assert_eq!(
        q(AlertQuery {
            proto: Some(17),
            ..Default::default()
        }),
        &[]
    );
    assert_eq!(
        q(AlertQuery {
            country: Some("jp".into()),
            ..Default::default()
        }),
        &listed[1..]
    );
    assert_eq!(
        q(AlertQuery {
            team: Some("team-b".into()),
            ..Default::default()
        }),
        &listed[..1]
    );
    assert_eq!(
        q(AlertQuery {
            limit: Some(1),
            ..Default::default()
        }),
        &listed[..1]
    );
    let late = TimeRange {
        since: Some(T0 + 241),
        until: None,
    };
    assert_eq!(
        q(AlertQuery {
            range: late,
            ..Default::default()
        }),
        &listed[..1]
    );
    let all = s.alert_sources(smb, None).unwrap();
    assert_eq!(all.len(), 60);
    assert!(all.windows(2).all(|w| w[0].packets >= w[1].packets));
    let team = s.alert_sources(smb, Some("team-a")).unwrap();
    assert!(
        team.len() == 60
            && team
                .iter()
                .all(|a| a.team.as_deref() == Some("team-a") && a.asn == Some(64_500))
    );
    assert!(s.alert_sources(smb, Some("team-b")).unwrap().is_empty());
    s.replace_alerts(&[]).unwrap();
    assert!(s.alerts(&AlertQuery::default()).unwrap().is_empty());
}
on_both!(alerts_round_trip, crate::telescope::alerts);

/// The team directory is replaced whole.
pub fn directory<S: Store + ?Sized>(s: &mut S) {
    let d = |n: i64| StoredDirectory {
        toml: format!("# version {n}\n"),
        origin: "teams.toml".into(),
        allow_nested_prefixes: n % 2 == 0,
        imported_at: n,
    };
    s.replace_team_directory(&d(1)).unwrap();
    assert_eq!(s.team_directory().unwrap(), Some(d(1)));
    s.replace_team_directory(&d(2)).unwrap();
    assert_eq!(s.team_directory().unwrap(), Some(d(2)));
}
on_both!(team_directory, crate::telescope::directory);

/// The store's stats count what the listings list, and the time-keyed tables' span lies
/// within the captures'.
pub fn stats<S: Store + StoreStats + ?Sized>(s: &mut S) {
    let empty = s.stats().unwrap();
    let table = |r: &firewatch_store::StoreStatsReport, name: &str| {
        r.tables
            .iter()
            .find(|t| t.table == name)
            .cloned()
            .unwrap_or_else(|| panic!("no table {name}"))
    };
    assert_eq!(table(&empty, "sources").rows, 0);
    assert_eq!(
        (
            table(&empty, "port_intervals").oldest,
            table(&empty, "port_intervals").newest
        ),
        (None, None)
    );
    commit_both(s, &TestDerivation::new("v1", "team-a"));
    let r = s.stats().unwrap();
    assert_eq!(r.backend == "postgres", r.postgres.is_some());
    assert_eq!(r.backend == "sqlite", r.sqlite.is_some());
    let rows = |name: &str| table(&r, name).rows;
    assert_eq!(
        rows("sources") as usize,
        s.sources(&SourceQuery::default()).unwrap().len()
    );
    assert_eq!(rows("attacks"), 1);
    assert_eq!(rows("inputs"), 2);
    let mut flows = 0;
    s.flowtuples(&TimeRange::default(), &mut |_| flows += 1)
        .unwrap();
    assert_eq!(rows("flowtuples"), flows);
    let cells = table(&r, "port_intervals");
    assert_eq!((cells.oldest, cells.newest), (Some(T0), Some(T0 + 360)));
    let inputs = table(&r, "inputs");
    assert_eq!(inputs.oldest, Some(T0));
    assert!(inputs.newest.unwrap() <= T0 + 420);
    assert!(
        table(&r, "team_directory").oldest.is_none(),
        "not time-keyed"
    );
    for name in ["sources", "port_intervals", "flowtuples", "inputs"] {
        assert!(table(&r, name).bytes.unwrap() > 0, "{name} has no bytes");
    }
    assert!(r.total_bytes >= r.tables.iter().filter_map(|t| t.bytes).sum::<u64>());
    if r.backend == "postgres" {
        // Partitions are summed into their table, never listed.
        assert_eq!(cells.partitions, Some(1));
        assert!(
            r.tables
                .iter()
                .all(|t| !t.table.starts_with("port_intervals_")
                    && !t.table.starts_with("flowtuples_")),
            "{:?}",
            r.tables
        );
    }
}
on_both!(store_stats, crate::telescope::stats);

/// The same calls on both backends give the same answers, every one of them.
#[test]
fn both_backends_answer_alike() {
    fn run<S: Store + ?Sized>(s: &mut S) -> Vec<String> {
        let mut out = answers(s);
        commit_both(s, &TestDerivation::new("v1", "team-a"));
        out.extend(answers(s));
        derive_alerts(s);
        out.extend(answers(s));
        out.push(format!(
            "{:?}",
            s.rederive(&TestDerivation::new("v2", "team-x"), None)
                .unwrap()
        ));
        out.push(format!("{:?}", s.forget_input("bbbb").unwrap()));
        out.extend(answers(s));
        out
    }
    let sqlite = run(&mut crate::fresh_sqlite());
    let postgres = run(&mut crate::fresh_postgres());
    // The sequence reaches every kind of record.
    for what in [
        "attacks: [AttackRecord",
        "alerts: [AlertRecord",
        "flowtuples: (",
        "sources: [SourceRecord",
        "episode record: AlertRecord",
    ] {
        assert!(sqlite.iter().any(|l| l.starts_with(what)), "no {what}");
    }
    assert_eq!(sqlite.len(), postgres.len());
    for (a, b) in sqlite.iter().zip(&postgres) {
        assert_eq!(a, b);
    }
}

/// One commit of a large aggregate (100,000 sources, 200,000 port cells) on each backend:
/// `cargo test -p firewatch-store --test conformance large_commit -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn large_commit() {
    let mut packets = Vec::with_capacity(400_000);
    for i in 0..400_000u32 {
        let src = IpAddr::from((0x0a00_0000 + i % 100_000).to_be_bytes());
        let dst = IpAddr::from((0xcb00_7100 + i % 256).to_be_bytes());
        // 200 intervals × 1,000 ports.
        let cell = i % 200_000;
        let t = T0 + i64::from(cell / 1000) * 60;
        packets.push(packet(src, dst, 6, (cell % 1000) as u16 + 1, 0x02, t));
    }
    let agg = aggregate(&packets, 60);
    println!(
        "aggregate: {} sources, {} cells, {} flowtuples",
        agg.sources.len(),
        agg.cells.len(),
        agg.flowtuples.len()
    );
    let derive = TestDerivation::new("v1", "team-a");
    let time = |name: &str, s: &mut dyn Store| {
        let started = std::time::Instant::now();
        assert!(
            s.commit_capture(&input("big", &packets, 1), &agg, &derive)
                .unwrap()
        );
        let first = started.elapsed();
        let started = std::time::Instant::now();
        assert!(
            s.commit_capture(&input("big2", &packets, 2), &agg, &derive)
                .unwrap()
        );
        println!(
            "{name}: first commit {first:.2?}, second (merging every row) {:.2?}",
            started.elapsed()
        );
    };
    time("sqlite", &mut crate::fresh_sqlite());
    time("postgres", &mut crate::fresh_postgres());
}
