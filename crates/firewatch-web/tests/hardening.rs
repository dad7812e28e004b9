//! Issue 22, a test per finding: each failed on the code the issue was written against.
//! (The bounded load test is `tests/load.rs`.)

mod common;
#[path = "common/raw_http.rs"]
mod raw_http;
#[path = "common/web_fixture.rs"]
mod web_fixture;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use base64::Engine;
use common::Fixture;
use firewatch_web::{ServeOptions, WebConfig};
use http_body_util::BodyExt;
use std::time::{Duration, Instant};
use tower::ServiceExt;
use web_fixture::{PASSWORD, WebFixture, plain_http};

const TAXII: &str = "application/taxii+json;version=2.1";
const COLLECTIONS: &str = "/taxii2/firewatch/collections/";

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
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

fn basic(name: &str, password: &str) -> String {
    let pair = format!("{name}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// `GET` of the TAXII collections with HTTP Basic.
async fn taxii_basic(app: &axum::Router, name: &str, password: &str) -> Answer {
    let req = Request::get(COLLECTIONS)
        .header(header::ACCEPT, TAXII)
        .header(header::AUTHORIZATION, basic(name, password))
        .body(Body::empty())
        .unwrap();
    send(app, req).await
}

fn login_request(cookie: &str, form: &[(&str, &str)]) -> Request<Body> {
    Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookie)
        .body(Body::from(serde_urlencoded::to_string(form).unwrap()))
        .unwrap()
}

/// The login form's token (the same value is its cookie).
async fn login_token(app: &axum::Router) -> String {
    let page = send(app, Request::get("/login").body(Body::empty()).unwrap()).await;
    let set = page
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("fw_login_csrf="))
        .expect("login csrf cookie")
        .to_owned();
    let value = set.split(';').next().unwrap()["fw_login_csrf=".len()..].to_owned();
    assert!(page.body.contains(&format!("value=\"{value}\"")));
    value
}

async fn try_login(app: &axum::Router, name: &str, password: &str) -> Answer {
    let token = login_token(app).await;
    let req = login_request(
        &format!("fw_login_csrf={token}"),
        &[("name", name), ("password", password), ("csrf", &token)],
    );
    send(app, req).await
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_22_item_7_basic_auth_is_rate_limited_and_names_do_not_time_differently() {
    let fx = WebFixture::new();
    let app = fx.app(&plain_http());
    // Warm up (the decoy hash is made on first use).
    assert_eq!(
        taxii_basic(&app, "warm-up", "x").await.status,
        StatusCode::UNAUTHORIZED
    );
    // Ten wrong passwords of existing users (five each: the limit) against ten unknown names,
    // interleaved so that a noisy neighbour slows both alike.
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for round in 0..10 {
        let name = ["ana", "bea"][round / 5];
        let started = Instant::now();
        let a = taxii_basic(&app, name, "wrong password").await;
        known.push(started.elapsed());
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{name}: {}", a.body);
        let started = Instant::now();
        let a = taxii_basic(&app, &format!("nobody-{round}"), "wrong password").await;
        unknown.push(started.elapsed());
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    }
    let (known, unknown) = (median(known), median(unknown));
    let ratio = known.as_secs_f64() / unknown.as_secs_f64();
    assert!(
        (0.5..=2.0).contains(&ratio),
        "median {known:?} for a known name, {unknown:?} for an unknown one"
    );

    // Five failures: the name is refused, even with the right password, as TAXII JSON with
    // Retry-After; the login form counts the same failures.
    let refused = taxii_basic(&app, "ana", PASSWORD).await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
    let retry: u64 = refused.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
    assert_eq!(refused.headers[header::CONTENT_TYPE], TAXII);
    let body: serde_json::Value = serde_json::from_str(&refused.body).unwrap();
    assert_eq!(body["http_status"], "429");
    assert_eq!(
        try_login(&app, "bea", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Other names are not affected.
    assert_eq!(
        taxii_basic(&app, "cyd", PASSWORD).await.status,
        StatusCode::OK
    );
}

/// The peak resident memory of this process (VmHWM), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_22_item_8_concurrent_password_checks_are_bounded() {
    let fx = WebFixture::new();
    let app = fx.app(&plain_http());
    assert_eq!(
        taxii_basic(&app, "warm-up", "x").await.status,
        StatusCode::UNAUTHORIZED
    );
    let before = peak_rss();
    // 200 anonymous attempts at once: each Argon2 check takes 19 MiB, so unbounded they
    // would take 3.7 GiB.
    let attempts: Vec<_> = (0..200)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                let a = taxii_basic(&app, &format!("intruder-{i}"), "guess").await;
                (a.status, a.headers.get(header::RETRY_AFTER).cloned())
            })
        })
        .collect();
    let (mut refused, mut busy) = (0, 0);
    for attempt in attempts {
        match attempt.await.unwrap() {
            (StatusCode::UNAUTHORIZED, _) => refused += 1,
            (StatusCode::SERVICE_UNAVAILABLE, Some(_)) => busy += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    let grown = peak_rss().saturating_sub(before);
    eprintln!(
        "item 8: {refused} refused (401), {busy} turned away (503); peak memory grew {} MiB",
        grown >> 20
    );
    assert!(
        busy > 0,
        "{refused} refused, none turned away before Argon2"
    );
    assert!(
        grown < 250 << 20,
        "peak memory grew by {} MiB ({refused} refused, {busy} busy)",
        grown >> 20
    );
    // The gate opens again once the queue drains.
    assert_eq!(
        taxii_basic(&app, "cyd", PASSWORD).await.status,
        StatusCode::OK
    );
}

/// Reads until the server closes the connection or `within` passes; `true` if it closed.
async fn closed_within(stream: &tokio::net::TcpStream, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, raw_http::read_some(stream, &mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_22_item_9_silent_and_trickling_connections_are_closed() {
    let fx = Fixture::new();
    let config = WebConfig {
        request_body_timeout_secs: 1,
        ..WebConfig::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let options = ServeOptions {
        header_read_timeout: Duration::from_secs(1),
        ..ServeOptions::default()
    };
    let server = tokio::spawn(firewatch_web::serve_with(
        listener,
        fx.app(&config),
        async {
            let _ = stopped.await;
        },
        options,
    ));

    // A connection that sends nothing, one that stops half-way through its headers, and one
    // that sends headers and then trickles nothing of its body.
    let silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let half = tokio::net::TcpStream::connect(addr).await.unwrap();
    raw_http::write_all(&half, b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let trickle = tokio::net::TcpStream::connect(addr).await.unwrap();
    let token = fx.token("a-member").unwrap();
    let head = format!(
        "POST {COLLECTIONS}{}/objects/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Accept: {TAXII}\r\nContent-Type: {TAXII}\r\nContent-Length: 1000\r\n\r\n{{\"objects\": [",
        firewatch_web::taxii::collection_id(firewatch_core::TlpLevel::Green)
    );
    raw_http::write_all(&trickle, head.as_bytes())
        .await
        .unwrap();

    let started = Instant::now();
    assert!(closed_within(&silent, Duration::from_secs(5)).await);
    assert!(closed_within(&half, Duration::from_secs(5)).await);
    assert!(closed_within(&trickle, Duration::from_secs(5)).await);
    assert!(started.elapsed() < Duration::from_secs(5));

    // The service still answers, and stops cleanly.
    let probe = tokio::net::TcpStream::connect(addr).await.unwrap();
    raw_http::write_all(
        &probe,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    raw_http::read_to_end(&probe, &mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("shutdown within 5 s")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn issue_22_item_14_after_cursor_hides_whether_a_hidden_event_exists() {
    let fx = Fixture::new();
    let app = fx.app(&WebConfig::default());
    // The RED event addressed to team c, as c sees it.
    let (_, red) = common::get(
        &app,
        "/api/v1/events?where=tlp%20%3D%20RED",
        fx.token("c-member"),
    )
    .await;
    let red_id = red["items"][0]["id"].as_i64().unwrap();
    let (_, all) = common::get(&app, "/api/v1/events?limit=1000", fx.token("c-member")).await;
    let missing_id = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .max()
        .unwrap()
        + 1000;
    for viewer in ["anonymous", "d-member", "a-admin"] {
        let token = fx.token(viewer);
        let (hidden_status, hidden) =
            common::get(&app, &format!("/api/v1/events?after={red_id}"), token).await;
        let (missing_status, missing) =
            common::get(&app, &format!("/api/v1/events?after={missing_id}"), token).await;
        assert_eq!(hidden_status, StatusCode::BAD_REQUEST, "{viewer}: {hidden}");
        assert_eq!(
            missing_status,
            StatusCode::BAD_REQUEST,
            "{viewer}: {missing}"
        );
        assert_eq!(
            hidden["error"]
                .as_str()
                .unwrap()
                .replace(&red_id.to_string(), "N"),
            missing["error"]
                .as_str()
                .unwrap()
                .replace(&missing_id.to_string(), "N"),
            "{viewer}"
        );
    }
    // Who may read the event pages after it.
    let (status, body) = common::get(
        &app,
        &format!("/api/v1/events?after={red_id}"),
        fx.token("c-member"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn issue_22_item_15_metrics_give_store_totals_to_administrators_only() {
    let fx = Fixture::new();
    let app = fx.app(&WebConfig::default());
    // Requests to count.
    common::get(&app, "/healthz", None).await;
    let store_lines = [
        "firewatch_events_stored",
        "firewatch_ingested_packets",
        "firewatch_ingested_events",
        "firewatch_inputs",
        "firewatch_alerts_open",
        "firewatch_last_ingest_timestamp_seconds",
    ];
    for viewer in ["anonymous", "a-member", "c-member", "a-readonly"] {
        let (status, body) = common::get(&app, "/metrics", fx.token(viewer)).await;
        assert_eq!(status, StatusCode::OK);
        let text = body.as_str().unwrap();
        for name in store_lines {
            assert!(!text.contains(name), "{viewer} sees {name}: {text}");
        }
        assert!(text.contains("firewatch_http_requests"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
    let (_, body) = common::get(&app, "/metrics", fx.token("a-admin")).await;
    let text = body.as_str().unwrap();
    assert!(
        text.lines().any(|l| l == "firewatch_events_stored 15"),
        "{text}"
    );
    assert!(text.contains("firewatch_http_requests"), "{text}");
    assert_eq!(text.matches("# EOF").count(), 1, "{text}");
}

/// Log output captured in memory.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn issue_22_item_16_user_names_cannot_forge_log_lines() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let fx = WebFixture::new();
    let app = fx.app(&plain_http());
    let forged = "FORGED INFO firewatch_web: signed in user=admin";
    let answer = try_login(&app, &format!("nobody\n{forged}"), "guess").await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    let answer = taxii_basic(&app, &format!("nobody\r\n{forged}"), "guess").await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("failed login"), "{text}");
    assert!(text.contains("failed TAXII Basic login"), "{text}");
    for line in text.lines() {
        assert!(!line.starts_with("FORGED"), "forged line: {text}");
    }
}

#[tokio::test]
async fn issue_22_item_19_a_login_csrf_cookie_the_server_did_not_make_is_refused() {
    let fx = WebFixture::new();
    let app = fx.app(&plain_http());
    // A value planted in the browser (a sibling subdomain's cookie) with the same value in the
    // attacker's form: equal, but not the server's.
    let planted = "planted-by-an-attacker-0123456789abcdef";
    let req = login_request(
        &format!("fw_login_csrf={planted}"),
        &[("name", "ana"), ("password", PASSWORD), ("csrf", planted)],
    );
    let answer = send(&app, req).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    assert!(answer.headers.get(header::SET_COOKIE).is_none());

    // A real token with its expiry moved is refused too.
    let token = login_token(&app).await;
    let mut parts = token.splitn(3, '.');
    let (nonce, expires, mac) = (
        parts.next().unwrap(),
        parts.next().unwrap().parse::<i64>().unwrap(),
        parts.next().unwrap(),
    );
    let moved = format!("{nonce}.{}.{mac}", expires + 86_400);
    let req = login_request(
        &format!("fw_login_csrf={moved}"),
        &[("name", "ana"), ("password", PASSWORD), ("csrf", &moved)],
    );
    assert_eq!(send(&app, req).await.status, StatusCode::FORBIDDEN);

    // The server's own token signs in.
    let answer = try_login(&app, "ana", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
}
