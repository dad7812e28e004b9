//! Issue 16, items 1 and 5, the web side: a team's own view. On a telescope whose tcp/23 spike
//! has sources in two teams (cert-a's 10.0.0.x, cert-b's 10.0.1.x), each team gets its own
//! slice from the API filters, the dashboard and the alert page, and never the other's
//! addresses; unknown teams and malformed countries are 400s that name no team; every time in
//! the API's JSON is RFC 3339.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::get as api_get;
use firewatch_darknet::{AggregationConfig, Aggregator};
use firewatch_detect::DetectConfig;
use firewatch_pcap::{Fragment, PacketFacts};
use firewatch_store::{
    Attribution, IdentityStore, InputRecord, SqliteStore, Store, StoredDirectory,
};
use firewatch_web::{WebConfig, auth};
use http_body_util::BodyExt;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery staple";
/// Start of the capture (2024-05-01T12:00:00Z) and its one-minute intervals.
const T0: i64 = 1_714_564_800;
const INTERVALS: i64 = 45;
/// The address prefixes of each team's sources.
const A_NET: &str = "10.0.0.";
const B_NET: &str = "10.0.1.";

const DIRECTORY: &str = r#"
[[teams]]
id = "cert-a"
name = "Team A"
kind = "national-csirt"
country = "JP"
max_tlp = "amber+strict"
[teams.constituency]
prefixes = ["10.0.0.0/24"]

[[teams]]
id = "cert-b"
name = "Team B"
kind = "national-csirt"
country = "BR"
max_tlp = "amber+strict"
[teams.constituency]
prefixes = ["10.0.1.0/24"]

[[teams]]
id = "cert-c"
name = "Team C"
kind = "sector-csirt"
max_tlp = "amber+strict"
[teams.constituency]
prefixes = ["10.0.2.0/24"]
"#;

/// 10.0.0.x: cert-a in JP; 10.0.1.x: cert-b in BR; anything else: nobody's, in US.
struct ByTeam;

impl firewatch_core::attribution::Attribute for ByTeam {
    fn attribute(&self, addr: IpAddr) -> Attribution {
        let (team, country, asn) = match addr {
            IpAddr::V4(v4) if v4.octets()[..3] == [10, 0, 0] => (Some("cert-a"), "JP", 64500),
            IpAddr::V4(v4) if v4.octets()[..3] == [10, 0, 1] => (Some("cert-b"), "BR", 64501),
            _ => (None, "US", 64502),
        };
        Attribution {
            country: Some(country.into()),
            asn: Some(asn),
            as_name: Some(format!("AS <b>{asn}</b>")),
            team: team.map(str::to_owned),
            data_version: Some("test".into()),
        }
    }
}

fn packet(src: IpAddr, dport: u16, ts_s: i64, flags: u8) -> PacketFacts {
    PacketFacts {
        ts_ns: ts_s * 1_000_000_000,
        src,
        dst: Ipv4Addr::new(203, 0, 113, (ts_s % 200) as u8 + 1).into(),
        proto: 6,
        sport: if flags == 0x02 { 40000 } else { 80 },
        dport,
        ttl: 50,
        ip_id: 1,
        ip_len: 40,
        tcp_flags: flags,
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

struct TeamFixture {
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
    alert: String,
    tokens: BTreeMap<&'static str, String>,
}

impl TeamFixture {
    /// tcp/23: 5 sources × 2 packets a minute, then 60 sources × 5 packets in the last two
    /// minutes (10.0.(s % 5).(s + 1): a fifth cert-a's, a fifth cert-b's); tcp/445 steady;
    /// backscatter from one victim of each team.
    fn new() -> TeamFixture {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("firewatch.db");
        let mut store = SqliteStore::open(&db).unwrap();
        let mut agg = Aggregator::new(AggregationConfig::default());
        for k in 0..INTERVALS {
            let t = T0 + k * 60;
            let spike = k >= INTERVALS - 2;
            for s in 0..if spike { 60 } else { 5 } {
                let src = IpAddr::V4(Ipv4Addr::new(10, 0, s as u8 % 5, s as u8 + 1));
                for p in 0..if spike { 5 } else { 2 } {
                    agg.observe(&packet(src, 23, t + p, 0x02));
                }
            }
            for s in 0..3u8 {
                agg.observe(&packet(
                    IpAddr::V4(Ipv4Addr::new(10, 1, s, 9)),
                    445,
                    t + 30,
                    0x02,
                ));
            }
            if k < 10 {
                for victim in [[10, 0, 0, 200], [10, 0, 1, 200]] {
                    for p in 0..50 {
                        agg.observe(&packet(
                            IpAddr::V4(Ipv4Addr::from(victim)),
                            1024 + p as u16,
                            t + p % 60,
                            0x12,
                        ));
                    }
                }
            }
        }
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
            enricher: Some(Arc::new(ByTeam)),
            ..Default::default()
        };
        store
            .commit_capture(&record, &agg.finish(), &rules)
            .unwrap();
        firewatch_pipeline::alerts::refresh_alerts(&mut store, &DetectConfig::default()).unwrap();
        let alert = store
            .alerts(&Default::default())
            .unwrap()
            .into_iter()
            .find(|a| a.port == 23)
            .expect("the tcp/23 spike alerts")
            .id;
        store
            .replace_team_directory(&StoredDirectory {
                toml: DIRECTORY.into(),
                origin: "team_view.toml".into(),
                allow_nested_prefixes: false,
                imported_at: T0,
            })
            .unwrap();
        let mut tokens = BTreeMap::new();
        for (name, team, role) in [
            ("ana", "cert-a", "member"),
            ("bea", "cert-b", "member"),
            ("cyd", "cert-c", "coordinator"),
            // An administrator of no directory team.
            ("ada", "ops", "administrator"),
        ] {
            let phc = auth::hash_password(PASSWORD).unwrap();
            let user = store.add_user(name, team, role, Some(&phc)).unwrap();
            let t = auth::new_token();
            store.add_token(&t.id, user.id, &t.hash).unwrap();
            tokens.insert(name, t.token);
        }
        TeamFixture {
            _dir: dir,
            db,
            alert,
            tokens,
        }
    }

    fn app(&self, config: WebConfig) -> axum::Router {
        let config = WebConfig {
            secure_cookies: false,
            ..config
        };
        firewatch_web::router(firewatch_web::AppState::new(self.db.clone(), &config).unwrap())
    }

    fn token(&self, name: &str) -> Option<&str> {
        self.tokens.get(name).map(String::as_str)
    }
}

/// The addresses of a listing's items (`addr` or `victim`).
fn addrs(body: &serde_json::Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {body}"))
        .iter()
        .map(|i| {
            i["addr"]
                .as_str()
                .or(i["victim"].as_str())
                .unwrap()
                .to_owned()
        })
        .collect()
}

async fn page(app: &axum::Router, uri: &str, cookie: Option<&str>) -> (StatusCode, String) {
    let mut req = Request::get(uri);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let response = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// Signs in through the login form; returns the session's `Cookie` header.
async fn login(app: &axum::Router, name: &str) -> String {
    let form = app
        .clone()
        .oneshot(Request::get("/login").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let csrf = form
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("fw_login_csrf="))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned();
    let body = serde_urlencoded::to_string([
        ("name", name),
        ("password", PASSWORD),
        ("csrf", csrf.as_str()),
    ])
    .unwrap();
    let answer = app
        .clone()
        .oneshot(
            Request::post("/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, format!("fw_login_csrf={csrf}"))
                .body(Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER, "login of {name}");
    let session = answer
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("fw_session="))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned();
    format!("fw_session={session}")
}

#[tokio::test]
async fn the_api_filters_give_each_team_its_slice() {
    let fx = TeamFixture::new();
    let app = fx.app(WebConfig::default());
    let ana = fx.token("ana");

    let (status, body) = api_get(&app, "/api/v1/sources?team=cert-a&limit=1000", ana).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mine = addrs(&body);
    assert!(!mine.is_empty());
    assert!(mine.iter().all(|a| a.starts_with(A_NET)), "{mine:?}");
    for item in body["items"].as_array().unwrap() {
        assert_eq!(item["team"], "cert-a");
    }
    // Country, any case; only that country's.
    let (status, body) = api_get(&app, "/api/v1/sources?country=br&limit=1000", ana).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!addrs(&body).is_empty());
    assert!(addrs(&body).iter().all(|a| a.starts_with(B_NET)));
    // Both: nothing is cert-a's and in BR.
    let (_, body) = api_get(&app, "/api/v1/sources?team=cert-a&country=BR", ana).await;
    assert!(addrs(&body).is_empty(), "{body}");

    let (status, body) = api_get(&app, "/api/v1/attacks?team=cert-b", fx.token("bea")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        !addrs(&body).is_empty(),
        "the fixture has attacks on cert-b's victim"
    );
    assert!(addrs(&body).iter().all(|a| a.starts_with(B_NET)), "{body}");
    let (status, body) = api_get(&app, "/api/v1/attacks?country=JP", ana).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(addrs(&body).iter().all(|a| a.starts_with(A_NET)), "{body}");

    let (status, body) = api_get(&app, "/api/v1/alerts?team=cert-a&country=jp", ana).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == fx.alert.as_str())
    );
    let (status, body) = api_get(&app, "/api/v1/alerts?team=cert-c", ana).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["items"].as_array().unwrap().is_empty(), "{body}");

    // One alert's sources, each team its own.
    let uri = format!("/api/v1/alerts/{}/sources?team=cert-b", fx.alert);
    let (status, body) = api_get(&app, &uri, fx.token("bea")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!addrs(&body).is_empty());
    assert!(addrs(&body).iter().all(|a| a.starts_with(B_NET)));
}

#[tokio::test]
async fn unknown_teams_and_bad_countries_are_refused_naming_no_team() {
    let fx = TeamFixture::new();
    let app = fx.app(WebConfig::default());
    let ana = fx.token("ana");
    let alert_sources = format!("/api/v1/alerts/{}/sources", fx.alert);
    for base in [
        "/api/v1/sources",
        "/api/v1/attacks",
        "/api/v1/alerts",
        alert_sources.as_str(),
    ] {
        for query in [
            "team=nope",
            "team=CERT-A",
            "team=cert-a%0A",
            "team=",
            "country=J",
            "country=JPN",
            "country=J1",
            "country=%C3%A9%C3%A9",
        ] {
            if base == alert_sources && query.starts_with("country") {
                continue;
            }
            let uri = format!("{base}?{query}");
            let (status, body) = api_get(&app, &uri, ana).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
            let error = body["error"].as_str().unwrap();
            // It may repeat the value asked for, never list the directory's teams.
            for team in ["cert-a", "cert-b", "cert-c"] {
                if !query.contains(team) {
                    assert!(!error.contains(team), "{uri}: {error}");
                }
            }
        }
        // The viewer's own team is known even to a directory that lacks it.
        let (status, body) = api_get(&app, &format!("{base}?team=ops"), fx.token("ada")).await;
        assert_eq!(status, StatusCode::OK, "{base}: {body}");
        // Anonymous callers learn nothing of the directory: the data needs a token first.
        let (status, _) = api_get(&app, &format!("{base}?team=nope"), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{base}");
    }
}

/// AMBER, owned by cert-c: cert-a may be told of its own sources (asking for them by name),
/// never of cert-b's, and gets no listing of everyone's.
#[tokio::test]
async fn under_amber_a_team_gets_its_own_slice_and_nothing_more() {
    let fx = TeamFixture::new();
    let app = fx.app(WebConfig {
        darknet_tlp: "AMBER".into(),
        darknet_owner: Some("cert-c".into()),
        ..WebConfig::default()
    });
    let ana = fx.token("ana");
    for base in ["/api/v1/sources", "/api/v1/attacks", "/api/v1/alerts"] {
        let (status, _) = api_get(&app, base, ana).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{base}");
        let (status, _) = api_get(&app, &format!("{base}?team=cert-b"), ana).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{base}?team=cert-b");
        let (status, _) = api_get(&app, &format!("{base}?country=BR"), ana).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{base}?country=BR");
        let (status, body) = api_get(&app, &format!("{base}?team=cert-a&limit=1000"), ana).await;
        assert_eq!(status, StatusCode::OK, "{base}: {body}");
        if !base.ends_with("alerts") {
            assert!(addrs(&body).iter().all(|a| a.starts_with(A_NET)), "{body}");
        }
    }
    // The alerts it is told of, as its notice tells them: those with its sources, no addresses.
    let (_, body) = api_get(&app, "/api/v1/alerts?team=cert-a", ana).await;
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{body}");
    assert_eq!(items[0]["id"], fx.alert.as_str());
    assert!(!body.to_string().contains(B_NET), "{body}");
    let (_, body) = api_get(&app, "/api/v1/sources?team=cert-a", ana).await;
    assert!(!addrs(&body).is_empty());
    // The owner's coordinator reads everything.
    let (status, body) = api_get(&app, "/api/v1/sources?limit=1000", fx.token("cyd")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(addrs(&body).iter().any(|a| a.starts_with(B_NET)));
    // The alert page opens on the alert touching cert-a's constituency, with its part only.
    let cookie = login(&app, "ana").await;
    let (status, body) = page(&app, &format!("/alerts/{}", fx.alert), Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(A_NET) && !body.contains(B_NET), "{body}");
    let (status, body) = page(
        &app,
        &format!("/alerts/{}?sources=all", fx.alert),
        Some(&cookie),
    )
    .await;
    assert!(!body.contains(B_NET), "{status}: {body}");
    // The dashboard shows cert-a its own sources only.
    let (status, body) = page(&app, "/", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(A_NET) && !body.contains(B_NET), "{body}");
}

/// The STIX objects of every TAXII collection as the holder of `token` reads them, by
/// collection alias (`tlp-amber`).
async fn taxii_collections(
    app: &axum::Router,
    token: Option<&str>,
) -> BTreeMap<String, Vec<serde_json::Value>> {
    let mut out = BTreeMap::new();
    for level in firewatch_core::TlpLevel::ALL {
        let id = firewatch_web::taxii::collection_id(level);
        let (status, body) = api_get(
            app,
            &format!("/taxii2/firewatch/collections/{id}/objects/?limit=1000"),
            token,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{level}: {body}");
        assert_eq!(body["more"], false, "{level}: one page");
        let objects = body["objects"].as_array().cloned().unwrap_or_default();
        out.insert(format!("tlp-{}", level.as_str().replace('+', "-")), objects);
    }
    out
}

/// The campaigns of a collection, and the addresses of the indicators that `indicates` each.
fn campaigns_and_sources(objects: &[serde_json::Value]) -> BTreeMap<String, Vec<String>> {
    let by_id: BTreeMap<&str, &serde_json::Value> = objects
        .iter()
        .map(|o| (o["id"].as_str().unwrap(), o))
        .collect();
    let mut out: BTreeMap<String, Vec<String>> = objects
        .iter()
        .filter(|o| o["type"] == "campaign")
        .map(|o| (o["id"].as_str().unwrap().to_owned(), Vec::new()))
        .collect();
    for rel in objects
        .iter()
        .filter(|o| o["type"] == "relationship" && o["relationship_type"] == "indicates")
    {
        let target = rel["target_ref"].as_str().unwrap();
        let indicator = by_id[rel["source_ref"].as_str().unwrap()];
        let addr = indicator["pattern"]
            .as_str()
            .unwrap()
            .split('\'')
            .nth(1)
            .unwrap()
            .to_owned();
        out.get_mut(target)
            .unwrap_or_else(|| panic!("{target}: indicated but not in the collection"))
            .push(addr);
    }
    for addrs in out.values_mut() {
        addrs.sort();
    }
    out
}

/// docs/tlp.md: at AMBER a team that is not the owner reads, in the TLP:AMBER collection, what
/// `export stix --team` gives it of the telescope's alerts: the campaign of each alert with its
/// sources and its own sources as indicators of it, never another team's; at AMBER+STRICT and
/// RED it reads nothing; the owner reads every campaign.
#[tokio::test]
async fn under_amber_taxii_gives_a_routed_team_its_own_part_of_each_alert() {
    let fx = TeamFixture::new();
    let amber = fx.app(WebConfig {
        darknet_tlp: "AMBER".into(),
        darknet_owner: Some("cert-c".into()),
        ..WebConfig::default()
    });
    for (user, team, own, other) in [
        ("ana", "cert-a", A_NET, B_NET),
        ("bea", "cert-b", B_NET, A_NET),
    ] {
        let collections = taxii_collections(&amber, fx.token(user)).await;
        for (alias, objects) in &collections {
            assert!(
                alias == "tlp-amber" || objects.is_empty(),
                "{user}: objects in {alias}"
            );
        }
        let objects = &collections["tlp-amber"];
        let text = serde_json::to_string(objects).unwrap();
        assert!(!text.contains(other), "{user} reads another team's sources");
        let campaigns = campaigns_and_sources(objects);
        assert_eq!(campaigns.len(), 1, "{user}: {campaigns:?}");
        let campaign = objects.iter().find(|o| o["type"] == "campaign").unwrap();
        assert!(
            campaign["name"].as_str().unwrap().starts_with("tcp/23 "),
            "{campaign}"
        );
        // Its indicators are the team's slice of the alert, as the API gives it.
        let (status, slice) = api_get(
            &amber,
            &format!("/api/v1/alerts/{}/sources?team={team}", fx.alert),
            fx.token(user),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{slice}");
        let mut slice = addrs(&slice);
        slice.sort();
        let indicated = campaigns.into_values().next().unwrap();
        assert!(!indicated.is_empty(), "{user}: no source indicated");
        assert!(
            indicated.iter().all(|a| a.starts_with(own)),
            "{indicated:?}"
        );
        assert_eq!(indicated, slice, "{user}");
    }
    // The owner reads every campaign (the telescope's records), in the same collection.
    let owner = taxii_collections(&amber, fx.token("cyd")).await;
    assert!(
        owner["tlp-amber"]
            .iter()
            .any(|o| o["type"] == "campaign" && o["name"].as_str().unwrap().starts_with("tcp/23 "))
    );
    // AMBER+STRICT (the owner only) and RED (no one): cert-a reads nothing anywhere.
    for tlp in ["AMBER+STRICT", "RED"] {
        let app = fx.app(WebConfig {
            darknet_tlp: tlp.into(),
            darknet_owner: Some("cert-c".into()),
            ..WebConfig::default()
        });
        let collections = taxii_collections(&app, fx.token("ana")).await;
        assert!(
            collections.values().all(Vec::is_empty),
            "{tlp}: cert-a reads {collections:?}"
        );
    }
}

fn assert_rfc3339(value: &serde_json::Value, what: &str) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{what}: {value} is not a string"));
    let parsed: jiff::Timestamp = text
        .parse()
        .unwrap_or_else(|e| panic!("{what}: {text:?}: {e}"));
    assert!(text.ends_with('Z'), "{what}: {text} is not UTC");
    assert!(parsed.as_second() >= T0 - 86_400, "{what}: {text}");
}

#[tokio::test]
async fn every_time_in_the_api_is_rfc_3339() {
    let fx = TeamFixture::new();
    let app = fx.app(WebConfig::default());
    let cyd = fx.token("cyd");
    let (_, alerts) = api_get(&app, "/api/v1/alerts", cyd).await;
    let alerts = alerts["items"].as_array().unwrap();
    assert!(!alerts.is_empty());
    for a in alerts {
        assert_rfc3339(&a["start"], "alert start");
        assert_rfc3339(&a["peak_interval"], "alert peak_interval");
        if !a["end"].is_null() {
            assert_rfc3339(&a["end"], "alert end");
        }
    }
    let (_, sources) = api_get(&app, "/api/v1/sources", cyd).await;
    for s in sources["items"].as_array().unwrap() {
        assert_rfc3339(&s["first_seen"], "first_seen");
        assert_rfc3339(&s["last_seen"], "last_seen");
        let seen: jiff::Timestamp = s["first_seen"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            seen.as_second(),
            s["first_seen_ns"]
                .as_i64()
                .unwrap()
                .div_euclid(1_000_000_000)
        );
    }
    let (_, attacks) = api_get(&app, "/api/v1/attacks", cyd).await;
    for a in attacks["items"].as_array().unwrap() {
        assert_rfc3339(&a["start"], "attack start");
        assert_rfc3339(&a["end"], "attack end");
    }

    // Events: the leak-matrix fixture's feed events.
    let fx = common::Fixture::new();
    let app = fx.app(&WebConfig::default());
    let (_, events) = api_get(&app, "/api/v1/events", fx.token("c-member")).await;
    let events = events["items"].as_array().unwrap();
    assert!(!events.is_empty());
    for e in events {
        assert_rfc3339(&e["time"], "event time");
    }
}

#[tokio::test]
async fn the_dashboard_opens_on_the_teams_constituency() {
    let fx = TeamFixture::new();
    let app = fx.app(WebConfig::default());
    let ana = login(&app, "ana").await;
    let (status, body) = page(&app, "/", Some(&ana)).await;
    assert_eq!(status, StatusCode::OK);
    for part in [
        "Team cert-a",
        "href=\"/?view=community\"",
        "Your alerts",
        "of yours",
        &format!("href=\"/alerts/{}\"", fx.alert),
        "Your sources",
        "Your events",
        "id=\"chart-0\"",
        "tcp/23",
        A_NET,
    ] {
        assert!(body.contains(part), "missing {part}");
    }
    assert!(
        !body.contains(B_NET),
        "cert-b's addresses on cert-a's dashboard"
    );
    // Escaped, as every value.
    assert!(!body.contains("<b>"));

    let bea = login(&app, "bea").await;
    let (_, body) = page(&app, "/", Some(&bea)).await;
    assert!(body.contains("Team cert-b") && body.contains(B_NET));
    assert!(
        !body.contains(A_NET),
        "cert-a's addresses on cert-b's dashboard"
    );

    // The switch: the community view, all teams together (GREEN: every source is readable).
    let (status, body) = page(&app, "/?view=community", Some(&ana)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<strong class=\"view-name\">Community</strong>"));
    assert!(body.contains("href=\"/?view=team\""));
    assert!(body.contains(&format!("href=\"/alerts/{}\"", fx.alert)));
    let (status, _) = page(&app, "/?view=everything", Some(&ana)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // An administrator of no directory team sees the community view, with no switch.
    let ada = login(&app, "ada").await;
    let (_, body) = page(&app, "/", Some(&ada)).await;
    assert!(body.contains("<strong class=\"view-name\">Community</strong>"));
    assert!(!body.contains("view=team"));
}

#[tokio::test]
async fn the_alert_page_shows_each_team_its_own_sources() {
    let fx = TeamFixture::new();
    let app = fx.app(WebConfig::default());
    let uri = format!("/alerts/{}", fx.alert);
    // The counts, from the API.
    let count = |body: &serde_json::Value| body["items"].as_array().unwrap().len();
    let (_, all) = api_get(
        &app,
        &format!("/api/v1/alerts/{}/sources", fx.alert),
        fx.token("cyd"),
    )
    .await;
    let total = all["unique_sources"].as_u64().unwrap();
    for (user, team, own, other) in [
        ("ana", "cert-a", A_NET, B_NET),
        ("bea", "cert-b", B_NET, A_NET),
    ] {
        let (_, slice) = api_get(
            &app,
            &format!("/api/v1/alerts/{}/sources?team={team}", fx.alert),
            fx.token(user),
        )
        .await;
        let cookie = login(&app, user).await;
        let (status, body) = page(&app, &uri, Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK, "{user}");
        assert!(
            body.contains(&format!("{} of yours out of {total}", count(&slice))),
            "{user}: {body}"
        );
        assert!(count(&slice) > 0 && (count(&slice) as u64) < total);
        assert!(body.contains(own), "{user}");
        assert!(!body.contains(other), "{user} sees another team's sources");
        for part in ["tcp/23", "spike", "Magnitude", "Total sources"] {
            assert!(body.contains(part), "{user}: missing {part}");
        }
        // A member who may read the telescope's records may ask for all of them.
        let (status, body) = page(&app, &format!("{uri}?sources=all"), Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains(other) && body.contains(&format!("All {total} sources")));
    }
    // A coordinator sees every source, with country, ASN and team, escaped.
    let cyd = login(&app, "cyd").await;
    let (_, body) = page(&app, &uri, Some(&cyd)).await;
    assert!(body.contains(&format!("All {total} sources")), "{body}");
    assert_eq!(count(&all) as u64, total);
    for part in [A_NET, B_NET, "cert-a", "cert-b", "JP", "BR", "AS64500"] {
        assert!(body.contains(part), "coordinator: missing {part}");
    }
    let (status, _) = page(&app, &format!("{uri}?sources=some"), Some(&cyd)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = page(&app, "/alerts/tcp-1-spike-0", Some(&cyd)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_openapi_document_lists_the_filters_and_the_time_formats() {
    let fx = TeamFixture::new();
    let app = fx.app(WebConfig::default());
    let (status, doc) = api_get(&app, "/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    for path in ["/api/v1/sources", "/api/v1/attacks", "/api/v1/alerts"] {
        let params: Vec<&str> = doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert!(
            params.contains(&"team") && params.contains(&"country"),
            "{path}: {params:?}"
        );
    }
    let schemas = &doc["components"]["schemas"];
    for (schema, field) in [
        ("EventItem", "time"),
        ("AlertItem", "start"),
        ("AlertItem", "peak_interval"),
        ("SourceItem", "first_seen"),
        ("SourceItem", "last_seen"),
        ("AttackItem", "start"),
        ("AttackItem", "end"),
    ] {
        assert_eq!(
            schemas[schema]["properties"][field]["format"], "date-time",
            "{schema}.{field}: {}",
            schemas[schema]["properties"][field]
        );
    }
    let end = &schemas["AlertItem"]["properties"]["end"];
    assert!(
        end.to_string().contains("date-time"),
        "AlertItem.end: {end}"
    );
}
