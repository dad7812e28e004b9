//! A store with one event at each TLP level × ownership, telescope data, and users of
//! teams a, b, c, d with tokens.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use firewatch_core::Event;
use firewatch_core::TlpLevel;
use firewatch_darknet::{AggregationConfig, Aggregator};
use firewatch_pcap::{Fragment, PacketFacts};
use firewatch_store::{
    DedupeRule, EventStore, FeedInput, IdentityStore, InputRecord, SqliteStore, Store,
};
use firewatch_web::{AppState, WebConfig, auth};
use http_body_util::BodyExt;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use tower::ServiceExt;

/// The ownership of an event in the fixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// `extra.owner = a`.
    OwnerA,
    /// `extra.team = b` (routed to b, no owner).
    RoutedB,
    /// `extra.recipients = ["c"]`.
    RecipientsC,
}

pub const OWNERSHIPS: [Ownership; 3] = [
    Ownership::OwnerA,
    Ownership::RoutedB,
    Ownership::RecipientsC,
];

/// The name of the fixture event of this level and ownership (its `comment`).
pub fn event_name(tlp: TlpLevel, o: Ownership) -> String {
    format!("{}/{o:?}", tlp.as_str())
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub db: std::path::PathBuf,
    /// Token of each viewer name (`a-member`, `a-admin`, `a-readonly`, `b-member`...).
    pub tokens: BTreeMap<&'static str, String>,
    pub telescope_source: IpAddr,
}

fn event(i: u32, tlp: TlpLevel, o: Ownership) -> Event {
    let mut e = Event::new();
    e.set("classification.type", "scanner").unwrap();
    e.set("source.ip", format!("198.51.100.{i}")).unwrap();
    e.set("time.source", format!("2024-05-01T12:00:{:02}+00:00", i))
        .unwrap();
    e.set("tlp", tlp.as_str()).unwrap();
    e.set("comment", event_name(tlp, o)).unwrap();
    match o {
        Ownership::OwnerA => e.set("extra.owner", "a").unwrap(),
        Ownership::RoutedB => e.set("extra.team", "b").unwrap(),
        Ownership::RecipientsC => e.set("extra.recipients", serde_json::json!(["c"])).unwrap(),
    }
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

pub const VIEWERS: [&str; 7] = [
    "anonymous",
    "a-member",
    "b-member",
    "c-member",
    "d-member",
    "a-admin",
    "a-readonly",
];

pub fn team_of(viewer: &str) -> Option<&str> {
    (viewer != "anonymous").then(|| &viewer[..1])
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("firewatch.db");
        let mut store = SqliteStore::open(&db).unwrap();
        let mut events = Vec::new();
        let mut i = 1;
        for tlp in TlpLevel::ALL {
            for o in OWNERSHIPS {
                events.push(event(i, tlp, o));
                i += 1;
            }
        }
        let input = FeedInput {
            content_hash: "fixture".into(),
            name: "fixture".into(),
            format: "intelmq".into(),
            ..Default::default()
        };
        store
            .commit_events(&input, &events, &DedupeRule::default())
            .unwrap();

        let telescope_source: IpAddr = "192.0.2.10".parse().unwrap();
        let mut agg = Aggregator::new(AggregationConfig::default());
        for k in 0..20 {
            agg.observe(&packet(telescope_source, 23, 1_714_564_800 + k));
        }
        let aggregate = agg.finish();
        let record = InputRecord {
            content_hash: "capture".into(),
            name: "capture.pcap".into(),
            format: "pcap".into(),
            ingested_at: 1_714_564_900,
            frames: 20,
            ip_packets: 20,
            first_ns: None,
            last_ns: None,
            complete: true,
            error: None,
            counters: serde_json::json!({}),
        };
        store
            .commit_capture(
                &record,
                &aggregate,
                &firewatch_pipeline::derivation::TelescopeDerivation::default(),
            )
            .unwrap();

        let mut tokens = BTreeMap::new();
        for (name, team, role) in [
            ("a-member", "a", "member"),
            ("b-member", "b", "member"),
            ("c-member", "c", "coordinator"),
            ("d-member", "d", "member"),
            ("a-admin", "a", "administrator"),
            ("a-readonly", "a", "read-only"),
        ] {
            let user = store.add_user(name, team, role, None).unwrap();
            let t = auth::new_token();
            store.add_token(&t.id, user.id, &t.hash).unwrap();
            tokens.insert(name, t.token);
        }
        Fixture {
            dir,
            db,
            tokens,
            telescope_source,
        }
    }

    pub fn state(&self, config: &WebConfig) -> Arc<AppState> {
        AppState::new(self.db.clone(), config).unwrap()
    }

    pub fn app(&self, config: &WebConfig) -> axum::Router {
        firewatch_web::router(self.state(config))
    }

    pub fn token(&self, viewer: &str) -> Option<&str> {
        self.tokens.get(viewer).map(String::as_str)
    }
}

/// Sends a GET in process; returns the status and the JSON body.
pub async fn get(
    app: &axum::Router,
    uri: &str,
    token: Option<&str>,
) -> (StatusCode, serde_json::Value) {
    let mut req = Request::get(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let response = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
    });
    (status, json)
}
