//! A store for the page and browser tests: users with passwords, one event per TLP level with
//! distinctive markers (country and type), events routed to teams a and b (one with a hostile
//! comment), and a telescope capture whose last intervals spike on tcp/23 (an open alert).
#![allow(dead_code)]

use firewatch_core::Event;
use firewatch_core::TlpLevel;
use firewatch_darknet::{AggregationConfig, Aggregator};
use firewatch_detect::DetectConfig;
use firewatch_pcap::{Fragment, PacketFacts};
use firewatch_store::{
    Attribution, DedupeRule, EventStore, FeedInput, IdentityStore, InputRecord, SqliteStore, Store,
};
use firewatch_web::{AppState, WebConfig, auth};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

/// The password of every fixture user.
pub const PASSWORD: &str = "correct horse battery staple";

/// The (country, classification type) markers of the event of each TLP level: none but
/// CLEAR's may appear on the public page.
pub fn marker(tlp: TlpLevel) -> (&'static str, &'static str) {
    match tlp {
        TlpLevel::Clear => ("JP", "scanner"),
        TlpLevel::Green => ("ZW", "brute-force"),
        TlpLevel::Amber => ("ZM", "phishing"),
        TlpLevel::AmberStrict => ("YE", "ddos"),
        TlpLevel::Red => ("VU", "malware-distribution"),
    }
}

/// The hostile value stored in an event routed to team b.
pub const HOSTILE: &str = "<script>alert('x')</script>";

pub struct WebFixture {
    pub dir: tempfile::TempDir,
    pub db: std::path::PathBuf,
    /// Ids of the alerts the detector raised.
    pub alert_ids: Vec<String>,
}

fn event(i: u32, tlp: TlpLevel, cc: &str, kind: &str, comment: &str) -> Event {
    let mut e = Event::new();
    e.set("classification.type", kind).unwrap();
    e.set("source.ip", format!("198.51.100.{i}")).unwrap();
    e.set("source.geolocation.cc", cc).unwrap();
    e.set(
        "time.source",
        format!("2024-05-01T12:{:02}:00+00:00", i % 60),
    )
    .unwrap();
    e.set("tlp", tlp.as_str()).unwrap();
    e.set("comment", comment).unwrap();
    e
}

fn packet(src: IpAddr, dport: u16, ts_s: i64) -> PacketFacts {
    PacketFacts {
        ts_ns: ts_s * 1_000_000_000,
        src,
        dst: "203.0.113.7".parse().unwrap(),
        proto: 6,
        sport: 40000,
        dport,
        ttl: 50,
        ip_id: 1,
        ip_len: 40,
        tcp_flags: 0x02,
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

/// Attributes 10.0.x.y to a country by x (so that the telescope map has colours).
struct ByOctet;

impl firewatch_core::attribution::Attribute for ByOctet {
    fn attribute(&self, addr: IpAddr) -> Attribution {
        let country = match addr {
            IpAddr::V4(v4) => ["BR", "DE", "US", "CN", "IN"][v4.octets()[2] as usize % 5],
            IpAddr::V6(_) => "FR",
        };
        Attribution {
            country: Some(country.to_owned()),
            ..Default::default()
        }
    }
}

/// Start of the capture (2024-05-01T12:00:00Z).
pub const T0: i64 = 1_714_564_800;
/// Intervals of the capture (60 s each); the last two spike.
pub const INTERVALS: i64 = 45;

impl WebFixture {
    pub fn new() -> WebFixture {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("firewatch.db");
        let mut store = SqliteStore::open(&db).unwrap();

        let mut events = Vec::new();
        for (i, tlp) in TlpLevel::ALL.into_iter().enumerate() {
            let (cc, kind) = marker(tlp);
            let mut e = event(
                i as u32 + 1,
                tlp,
                cc,
                kind,
                &format!("level {}", tlp.as_str()),
            );
            // Readable by someone: owned by a, recipients c.
            e.set("extra.owner", "a").unwrap();
            e.set("extra.recipients", serde_json::json!(["c"])).unwrap();
            events.push(e);
        }
        // Routed to team a: AMBER (a may read), AMBER+STRICT owned by b (a may not).
        let mut e = event(20, TlpLevel::Amber, "DE", "scanner", "inbox-a-readable");
        e.set("extra.team", "a").unwrap();
        events.push(e);
        let mut e = event(21, TlpLevel::AmberStrict, "DE", "scanner", "inbox-a-hidden");
        e.set("extra.team", "a").unwrap();
        e.set("extra.owner", "b").unwrap();
        events.push(e);
        // Routed to team b: the hostile value, GREEN.
        let mut e = event(22, TlpLevel::Green, "FR", "scanner", HOSTILE);
        e.set("extra.team", "b").unwrap();
        events.push(e);
        let input = FeedInput {
            content_hash: "web-fixture".into(),
            name: "web-fixture".into(),
            format: "intelmq".into(),
            ..Default::default()
        };
        store
            .commit_events(&input, &events, &DedupeRule::default())
            .unwrap();

        // Telescope: tcp/23 with 5 sources × 2 packets per minute, then 60 sources × 5
        // packets in the last two minutes; tcp/445 steady.
        let mut agg = Aggregator::new(AggregationConfig::default());
        for k in 0..INTERVALS {
            let t = T0 + k * 60;
            let spike = k >= INTERVALS - 2;
            let sources = if spike { 60 } else { 5 };
            for s in 0..sources {
                let src = IpAddr::V4(Ipv4Addr::new(10, 0, s as u8 % 5, s as u8 + 1));
                for p in 0..if spike { 5 } else { 2 } {
                    agg.observe(&packet(src, 23, t + p));
                }
            }
            for s in 0..3u8 {
                agg.observe(&packet(IpAddr::V4(Ipv4Addr::new(10, 1, s, 9)), 445, t + 30));
            }
        }
        let aggregate = agg.finish();
        let record = InputRecord {
            content_hash: "capture".into(),
            name: "capture.pcap".into(),
            format: "pcap".into(),
            ingested_at: T0 + INTERVALS * 60,
            frames: 0,
            ip_packets: 0,
            first_ns: None,
            last_ns: None,
            complete: true,
            error: None,
            counters: serde_json::json!({}),
        };
        let rules = firewatch_pipeline::derivation::TelescopeDerivation {
            enricher: Some(Arc::new(ByOctet)),
            ..Default::default()
        };
        store.commit_capture(&record, &aggregate, &rules).unwrap();
        firewatch_pipeline::alerts::refresh_alerts(&mut store, &DetectConfig::default()).unwrap();
        let alert_ids = store
            .alerts(&Default::default())
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect();

        for (name, team, role) in [
            ("ana", "a", "member"),
            ("bea", "b", "member"),
            ("cyd", "c", "coordinator"),
        ] {
            let phc = auth::hash_password(PASSWORD).unwrap();
            store.add_user(name, team, role, Some(&phc)).unwrap();
        }
        store.add_user("tok", "a", "member", None).unwrap();
        WebFixture { dir, db, alert_ids }
    }

    /// The service's router on this store, with cookies that work over plain HTTP.
    pub fn app(&self, config: &WebConfig) -> axum::Router {
        firewatch_web::router(self.state(config))
    }

    pub fn state(&self, config: &WebConfig) -> Arc<AppState> {
        AppState::new(self.db.clone(), config).unwrap()
    }
}

/// `[web]` for tests over plain HTTP.
pub fn plain_http() -> WebConfig {
    WebConfig {
        secure_cookies: false,
        ..WebConfig::default()
    }
}
