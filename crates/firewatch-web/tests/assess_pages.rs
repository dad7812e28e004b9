//! X.1060 assessments on the web (issue 21, items 3 and 4): TLP enforced on the pages and the
//! API (CLEAR public, GREEN signed in, AMBER the owning team only, 404 for everyone else), the
//! compare page, measured evidence equal to an independent count from the store, and the
//! heatmap in headless Chromium with its cells' colours checked against the data.

#[path = "common/web_fixture.rs"]
mod web_fixture;
#[path = "common/webdriver.rs"]
mod webdriver;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use firewatch_assess::{About, Assessment, AssessmentFormat, Catalogue, Granularity};
use firewatch_core::TlpLevel;
use firewatch_store::outbox::{NewNotice, OutboxStore};
use firewatch_store::{
    AssessmentStore, IdentityStore, SourceQuery, SqliteStore, Store, StoredAssessment,
    StoredDirectory,
};
use firewatch_web::auth;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use web_fixture::{PASSWORD, T0, WebFixture, plain_http};

const DIRECTORY: &str = r#"
[[teams]]
id = "a"
name = "Team A"
kind = "national-csirt"
country = "BR"
max_tlp = "amber+strict"
memberships = ["FIRST", "LACNIC CSIRT"]
[[teams.contacts]]
kind = "email"
value = "cert@a.example"
available_24_7 = true
[[teams.contacts]]
kind = "phone"
value = "+55 11 5555 0000"
[teams.constituency]
prefixes = ["10.0.0.0/24"]

[[teams]]
id = "b"
name = "Team B"
kind = "isac"
country = "BR"
max_tlp = "amber+strict"
memberships = ["FIRST"]
[[teams.contacts]]
kind = "email"
value = "isac@b.example"
[teams.constituency]
prefixes = ["10.0.1.0/24"]

[[teams]]
id = "c"
name = "Team C"
kind = "national-csirt"
country = "DE"
max_tlp = "amber+strict"
[teams.constituency]
prefixes = ["10.0.2.0/24"]
"#;

/// A matrix in JPCERT/CC's shape; the blank is "no part".
const MATRIX: &str = "category,category_name,NCSC,National CSIRTs,PSIRT,Private CSIRTs,LE/Justice,ISAC\n\
A,Strategic management,8,6,,,2,\n\
B,Real-time analysis,3,9,,4,,1\n\
D,Incident response,5,10,2,7,,3\n\
I,External relations,6,8,,,,9\n";

/// Scopes by TLP: BR CLEAR, DE GREEN, ZA AMBER owned by team a, NO RED owned by a, FI AMBER
/// without an owner.
const SCOPES: [(&str, Option<TlpLevel>, Option<&str>); 5] = [
    ("BR", Some(TlpLevel::Clear), None),
    ("DE", Some(TlpLevel::Green), None),
    ("ZA", Some(TlpLevel::Amber), Some("a")),
    ("NO", Some(TlpLevel::Red), Some("a")),
    ("FI", Some(TlpLevel::Amber), None),
];

struct Fx {
    web: WebFixture,
    tokens: std::collections::BTreeMap<&'static str, String>,
}

fn stored(scope: &str, tlp: Option<TlpLevel>, owner: Option<&str>) -> StoredAssessment {
    let catalogue = Catalogue::builtin();
    let about = About {
        scope: scope.into(),
        assessed_by: Some("test".into()),
        tlp,
        ..About::default()
    };
    let a = Assessment::import(MATRIX, AssessmentFormat::Matrix, &catalogue, &about).unwrap();
    StoredAssessment {
        scope: scope.into(),
        assessed_by: Some("test".into()),
        assessed_on: None,
        source: Some("a test matrix".into()),
        tlp: tlp.map(|t| t.as_str().to_owned()),
        owner: owner.map(str::to_owned),
        catalogue_version: catalogue.version.clone(),
        cells: a.cells.len() as u64,
        format: "matrix".into(),
        origin: "test.csv".into(),
        imported_at: T0,
        document: a.export(AssessmentFormat::Json, &catalogue, Granularity::Categories),
    }
}

/// Notices to BR's teams a and b: three sent after 10, 30 and 100 s, one queued; one to DE's
/// team c (not BR's).
const SENT_AFTER: [(&str, i64); 3] = [("a", 10), ("b", 30), ("a", 100)];

impl Fx {
    fn new() -> Fx {
        let web = WebFixture::new();
        let mut store = SqliteStore::open(&web.db).unwrap();
        store
            .replace_team_directory(&StoredDirectory {
                toml: DIRECTORY.into(),
                origin: "assess.toml".into(),
                allow_nested_prefixes: false,
                imported_at: T0,
            })
            .unwrap();
        for (scope, tlp, owner) in SCOPES {
            store
                .replace_assessment(&stored(scope, tlp, owner))
                .unwrap();
        }
        let notice = |id: &str, team: &str, created_at: i64| NewNotice {
            id: id.into(),
            team: team.into(),
            channel: "email".into(),
            slot: None,
            recipients: vec![format!("cert@{team}.example")],
            subject: "[TLP:AMBER] 1 event".into(),
            tlp: "TLP:AMBER".into(),
            payload: b"...".to_vec(),
            items: vec![format!("event:{id}")],
            created_at,
        };
        for (i, (team, after)) in SENT_AFTER.into_iter().enumerate() {
            let id = format!("n{i}");
            let created = T0 + 1000 * i as i64;
            assert!(store.enqueue(&notice(&id, team, created)).unwrap());
            store.mark_sent(&id, created + after).unwrap();
        }
        assert!(store.enqueue(&notice("queued", "b", T0)).unwrap());
        assert!(store.enqueue(&notice("other", "c", T0)).unwrap());
        store.mark_sent("other", T0 + 5000).unwrap();
        let mut tokens = std::collections::BTreeMap::new();
        for (name, team) in [("tok-a", "a"), ("tok-b", "b")] {
            let user = store.add_user(name, team, "member", None).unwrap();
            let t = auth::new_token();
            store.add_token(&t.id, user.id, &t.hash).unwrap();
            tokens.insert(name, t.token);
        }
        Fx { web, tokens }
    }
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn send(app: &axum::Router, req: Request<Body>) -> Answer {
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn cookie_value(a: &Answer, name: &str) -> Option<String> {
    a.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .and_then(|v| v.split_once('='))
        .map(|(_, v)| v.to_owned())
}

async fn get(app: &axum::Router, uri: &str, cookie: Option<&str>) -> Answer {
    let mut req = Request::get(uri);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    send(app, req.body(Body::empty()).unwrap()).await
}

async fn api(app: &axum::Router, uri: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut req = Request::get(uri);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let a = send(app, req.body(Body::empty()).unwrap()).await;
    (
        a.status,
        serde_json::from_str(&a.body).unwrap_or(Value::Null),
    )
}

/// Signs in through the form; the session's `Cookie` header.
async fn login(app: &axum::Router, name: &str) -> String {
    let page = get(app, "/login", None).await;
    let csrf_cookie = cookie_value(&page, "fw_login_csrf").unwrap();
    let at = page.body.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    let token = page.body[at..at + page.body[at..].find('"').unwrap()].to_owned();
    let form =
        serde_urlencoded::to_string([("name", name), ("password", PASSWORD), ("csrf", &token)])
            .unwrap();
    let req = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("fw_login_csrf={csrf_cookie}"))
        .body(Body::from(form))
        .unwrap();
    let answer = send(app, req).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    format!(
        "fw_session={}",
        cookie_value(&answer, "fw_session").unwrap()
    )
}

/// Who reads which scope: anonymous, team a (ana), team b (bea).
const READS: [(&str, &[&str]); 3] = [
    ("anonymous", &["BR"]),
    ("a", &["BR", "DE", "ZA"]),
    ("b", &["BR", "DE"]),
];

#[tokio::test]
async fn tlp_decides_who_reads_an_assessment_on_the_api() {
    let fx = Fx::new();
    let app = fx.web.app(&plain_http());
    for (who, readable) in READS {
        let token = match who {
            "a" => Some(fx.tokens["tok-a"].as_str()),
            "b" => Some(fx.tokens["tok-b"].as_str()),
            _ => None,
        };
        let (status, list) = api(&app, "/api/v1/assessments", token).await;
        assert_eq!(status, StatusCode::OK, "{who}: {list}");
        let scopes: Vec<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["scope"].as_str().unwrap())
            .collect();
        let mut want = readable.to_vec();
        want.sort_unstable();
        assert_eq!(scopes, want, "{who}");
        for item in list["items"].as_array().unwrap() {
            let t = item["imported_at"].as_str().unwrap();
            assert!(t.parse::<jiff::Timestamp>().is_ok(), "RFC 3339: {t}");
        }
        for (scope, _, _) in SCOPES {
            let (status, body) = api(&app, &format!("/api/v1/assessments/{scope}"), token).await;
            if readable.contains(&scope) {
                assert_eq!(status, StatusCode::OK, "{who} {scope}: {body}");
                assert_eq!(body["about"]["scope"], json!(scope));
                assert!(body["heatmap"]["rows"].is_array());
                assert!(body["gaps"].is_array() && body["concentration"].is_array());
                assert!(body["split"]["overall"].is_object());
            } else {
                // The same answer as for a scope that does not exist.
                let (missing, nobody) = api(&app, "/api/v1/assessments/XX", token).await;
                assert_eq!(status, StatusCode::NOT_FOUND, "{who} {scope}: {body}");
                assert_eq!(missing, StatusCode::NOT_FOUND);
                assert_eq!(
                    body["error"].as_str().map(|e| e.replace(scope, "?")),
                    nobody["error"].as_str().map(|e| e.replace("XX", "?")),
                );
            }
        }
    }
    // Compare needs both sides readable.
    let (status, body) = api(&app, "/api/v1/assessments/BR/compare/DE", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let token = Some(fx.tokens["tok-b"].as_str());
    let (status, body) = api(&app, "/api/v1/assessments/br/compare/de", token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["left"]["scope"], json!("BR"));
    // The same matrix on both sides: every difference is 0 or "neither has a part".
    for cell in body["comparison"]["cells"].as_array().unwrap() {
        assert!(
            cell["difference"].is_null() || cell["difference"] == json!(0.0),
            "{cell}"
        );
    }
}

#[tokio::test]
async fn tlp_decides_who_sees_an_assessment_page_and_others_get_404() {
    let fx = Fx::new();
    let app = fx.web.app(&plain_http());
    let ana = login(&app, "ana").await;
    let bea = login(&app, "bea").await;
    for (who, readable) in READS {
        let cookie = match who {
            "a" => Some(ana.as_str()),
            "b" => Some(bea.as_str()),
            _ => None,
        };
        let list = get(&app, "/assess", cookie).await;
        assert_eq!(list.status, StatusCode::OK);
        for (scope, _, _) in SCOPES {
            let linked = list.body.contains(&format!("href=\"/assess/{scope}\""));
            assert_eq!(linked, readable.contains(&scope), "{who} list {scope}");
            let page = get(&app, &format!("/assess/{scope}"), cookie).await;
            if readable.contains(&scope) {
                assert_eq!(page.status, StatusCode::OK, "{who} {scope}");
                assert!(
                    page.body.contains("class=\"cell\""),
                    "the heatmap SVG inline"
                );
                assert!(page.body.contains("url(#no-part)"));
                assert!(
                    page.body.contains("<table class=\"gaps\"") || page.body.contains("No gaps")
                );
                assert!(page.body.contains("<table class=\"concentration\""));
                assert!(page.body.contains("<table class=\"split\""));
            } else {
                assert_eq!(page.status, StatusCode::NOT_FOUND, "{who} {scope}");
                assert!(!page.body.contains("a test matrix"), "{who} {scope}");
            }
        }
    }
    // Signed in, each cell links its kind to the directory's teams of that kind in BR.
    let page = get(&app, "/assess/BR", Some(&bea)).await;
    assert!(
        page.body.contains("href=\"#teams-national-csirt\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"teams-national-csirt\""));
    assert!(page.body.contains("Team A") && page.body.contains("Team B"));
    assert!(!page.body.contains("Team C"), "DE's team is not BR's");
    // Anonymous: no directory.
    let public = get(&app, "/assess/BR", None).await;
    assert!(!public.body.contains("Team A"));
    assert!(!public.body.contains("cert@a.example"));

    let compare = get(&app, "/assess/BR/compare/DE", Some(&bea)).await;
    assert_eq!(compare.status, StatusCode::OK);
    assert!(compare.body.contains("<table class=\"difference\""));
    assert!(compare.body.contains("class=\"cell\""));
    assert_eq!(
        get(&app, "/assess/BR/compare/ZA", Some(&bea)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/assess/BR/compare/DE", None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn evidence_equals_an_independent_count_from_the_store() {
    let fx = Fx::new();
    let store = firewatch_store::open(&fx.web.db).unwrap();
    let now = T0 + 86_400;
    let e = firewatch_pipeline::evidence::measure(store.as_ref(), "br", now).unwrap();
    // D: the notices queued above for BR's teams a and b.
    let d = &e.incident_response;
    assert_eq!((d.notices, d.sent, d.queued, d.failed), (4, 3, 1, 0));
    assert_eq!(d.median_secs, Some(30.0));
    assert_eq!(d.p90_secs, Some(100.0));
    // B: sources and alerts attributed to BR, counted here from the whole tables.
    let all = store.sources(&SourceQuery::default()).unwrap();
    let br = all
        .iter()
        .filter(|s| s.attribution.country.as_deref() == Some("BR"))
        .count() as u64;
    assert!(br > 0);
    let b = &e.real_time_analysis;
    assert_eq!(b.sources, br);
    let alerts = store.alerts(&Default::default()).unwrap();
    let br_alerts = alerts
        .iter()
        .filter(|a| {
            a.top_countries
                .as_ref()
                .is_some_and(|c| c.iter().any(|(cc, _)| cc == "BR"))
        })
        .count() as u64;
    assert_eq!(b.alerts, br_alerts);
    assert_eq!(b.captures, store.inputs().unwrap().len() as u64);
    // I: the directory's BR teams.
    let i = &e.external_relations;
    assert_eq!(i.teams.len(), 2);
    assert_eq!(i.contacts, 3);
    assert_eq!(i.memberships.get("FIRST"), Some(&2));
    // D: no case in this store, so no party and no time.
    assert_eq!((e.cases.cases, e.cases.parties), (0, 0));
    assert_eq!(e.cases.acknowledge_median_secs, None);
    // Only the communication checks (issue 20) are not measured yet.
    assert_eq!(e.not_measured.len(), 1);
    assert!(
        e.not_measured
            .iter()
            .all(|n| n.why.starts_with("not measured yet"))
    );

    // The page shows the same figures beside the claims.
    let app = fx.web.app(&plain_http());
    let bea = login(&app, "bea").await;
    let page = get(&app, "/assess/BR", Some(&bea)).await;
    for (class, value) in [
        ("notices", "4".to_owned()),
        ("median", "30 s".to_owned()),
        ("p90", "100 s".to_owned()),
        ("sources", br.to_string()),
        ("alerts", br_alerts.to_string()),
        ("contacts", "3".to_owned()),
    ] {
        let needle = format!("<span class=\"{class}\">{value}</span>");
        assert!(page.body.contains(&needle), "{needle} in {}", page.body);
    }
    assert!(page.body.contains("not measured yet"));
    // Anonymous: no notices, no directory figures.
    let public = get(&app, "/assess/BR", None).await;
    assert!(!public.body.contains("<span class=\"notices\">"));
    assert!(public.body.contains("Sign in to see the notices."));
}

/// The colour of a score on the crate's scale, as (r, g, b).
fn fill(score: f64) -> (u8, u8, u8) {
    let hex = firewatch_assess::svg::score_fill(score);
    let v = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap();
    (v(1), v(3), v(5))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heatmap_page_in_chromium_has_the_colours_of_the_data() {
    let Some((chromium, chromedriver)) = webdriver::tools() else {
        return;
    };
    let fx = Fx::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(firewatch_web::serve(
        listener,
        fx.web.app(&plain_http()),
        async {
            let _ = stopped.await;
        },
    ));
    let (cells, png) = tokio::task::spawn_blocking(move || {
        let driver = webdriver::Driver::start(&chromedriver);
        let browser = webdriver::Browser::open(&driver, &chromium);
        // Public: BR is TLP:CLEAR.
        browser.go(&format!("{base}/assess/BR"));
        browser.script("document.querySelector('section.heatmap svg').scrollIntoView(); return 1;");
        let cells = browser.script(
            "return Array.from(document.querySelectorAll('section.heatmap svg rect.cell')).map(e => { \
               const r = e.getBoundingClientRect(); \
               return [e.dataset.item, e.dataset.kind, e.dataset.score, r.left, r.top, r.width, r.height]; });",
        );
        let png = browser.cmd("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        // The compare page renders too.
        browser.go(&format!("{base}/assess/BR/compare/BR"));
        let (w, h) = browser.size("section.difference svg");
        assert!(w > 100.0 && h > 100.0, "difference map {w}×{h}");
        (cells, png)
    })
    .await
    .unwrap();

    let decoder = png::Decoder::new(std::io::Cursor::new(&png));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).unwrap();
    let channels = frame.color_type.samples();
    let pixel = |x: f64, y: f64| {
        let (x, y) = (x.round() as usize, y.round() as usize);
        let at = (y * frame.width as usize + x) * channels;
        (buf[at], buf[at + 1], buf[at + 2])
    };
    let expected: std::collections::BTreeMap<(String, String), Option<f64>> = {
        let catalogue = Catalogue::builtin();
        let a = Assessment::import(
            MATRIX,
            AssessmentFormat::Matrix,
            &catalogue,
            &About::default(),
        )
        .unwrap();
        let map = firewatch_assess::heatmap(&a, &catalogue, Granularity::Categories);
        map.cells
            .iter()
            .map(|c| ((c.item.to_string(), c.kind.as_str().to_owned()), c.score))
            .collect()
    };
    let cells = cells.as_array().unwrap();
    assert!(cells.len() >= 30, "{} cells", cells.len());
    let mut checked = 0;
    for c in cells {
        let key = (
            c[0].as_str().unwrap().to_owned(),
            c[1].as_str().unwrap().to_owned(),
        );
        let (left, top) = (c[3].as_f64().unwrap(), c[4].as_f64().unwrap());
        // A point inside the cell, clear of its centred label and its white edge.
        let got = pixel(left + 6.0, top + 6.0);
        match expected[&key] {
            Some(score) => {
                assert_eq!(c[2].as_str().unwrap(), format!("{score}"), "{key:?}");
                let want = fill(score);
                let close = |a: u8, b: u8| a.abs_diff(b) <= 3;
                assert!(
                    close(got.0, want.0) && close(got.1, want.1) && close(got.2, want.2),
                    "{key:?}: score {score} drawn {got:?}, scale gives {want:?}"
                );
                checked += 1;
            }
            None => {
                // No part: the grey hatch, never a colour of the scale.
                assert_eq!(c[2], json!("none"));
                assert!(got.0 == got.1 && got.1 == got.2, "{key:?} grey: {got:?}");
            }
        }
    }
    assert!(checked >= 15, "{checked} scored cells checked");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
