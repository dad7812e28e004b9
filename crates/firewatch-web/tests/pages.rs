//! The browser pages in process (tower `oneshot`): login, CSRF, cookies, logout, redirects,
//! the inbox's TLP, the public page's TLP:CLEAR-only promise, escaping, security headers.

#[path = "common/web_fixture.rs"]
mod web_fixture;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use firewatch_core::TlpLevel;
use firewatch_web::WebConfig;
use http_body_util::BodyExt;
use tower::ServiceExt;
use web_fixture::{HOSTILE, PASSWORD, WebFixture, marker, plain_http};

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    /// The `Set-Cookie` header that sets `name`.
    fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    /// The value a `Set-Cookie` gives to `name`.
    fn cookie_value(&self, name: &str) -> Option<String> {
        let set = self.set_cookie(name)?;
        let first = set.split(';').next()?;
        Some(first.split_once('=')?.1.to_owned())
    }

    /// The value of the hidden `csrf` field of the page's first form.
    fn form_csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a csrf field");
        let rest = &self.body[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }
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

async fn get(app: &axum::Router, uri: &str, cookie: Option<&str>) -> Answer {
    let mut req = Request::get(uri);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    send(app, req.body(Body::empty()).unwrap()).await
}

async fn post(
    app: &axum::Router,
    uri: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> Answer {
    let mut req =
        Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let body = serde_urlencoded::to_string(form).unwrap();
    send(app, req.body(Body::from(body)).unwrap()).await
}

/// The login form's token and its cookie.
async fn login_form(app: &axum::Router) -> (String, String) {
    let page = get(app, "/login", None).await;
    assert_eq!(page.status, StatusCode::OK);
    let cookie = page
        .cookie_value("fw_login_csrf")
        .expect("login csrf cookie");
    let token = page.form_csrf();
    assert_eq!(cookie, token);
    (token, format!("fw_login_csrf={cookie}"))
}

/// Signs in; returns the answer of `POST /login`.
async fn try_login(app: &axum::Router, name: &str, password: &str) -> Answer {
    let (token, cookie) = login_form(app).await;
    post(
        app,
        "/login",
        Some(&cookie),
        &[("name", name), ("password", password), ("csrf", &token)],
    )
    .await
}

/// Signs in and returns the `Cookie` header of the session.
async fn login(app: &axum::Router, name: &str) -> String {
    let answer = try_login(app, name, PASSWORD).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(answer.location(), Some("/"));
    format!("fw_session={}", answer.cookie_value("fw_session").unwrap())
}

#[tokio::test]
async fn login_sets_a_flagged_session_cookie_and_opens_the_dashboard() {
    let fx = WebFixture::new();
    assert!(!fx.alert_ids.is_empty(), "the fixture raises an alert");
    let app = fx.app(&plain_http());
    let answer = try_login(&app, "ana", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let set = answer.set_cookie("fw_session").unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(flag), "{set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP in tests: {set}");
    let value = answer.cookie_value("fw_session").unwrap();
    assert!(value.len() >= 43, "32 random bytes: {value}");
    // The login form's cookie is deleted.
    assert!(
        answer
            .set_cookie("fw_login_csrf")
            .unwrap()
            .contains("Max-Age=0")
    );

    let page = get(&app, "/", Some(&format!("fw_session={value}"))).await;
    assert_eq!(page.status, StatusCode::OK);
    for part in [
        "id=\"chart-0\"",
        "id=\"world-map\"",
        "tcp/23",
        "class=\"top-ports\"",
        "ana · team a",
        &format!("href=\"/alerts/{}\"", fx.alert_ids[0]),
    ] {
        assert!(page.body.contains(part), "missing {part}");
    }

    let detail = get(
        &app,
        &format!("/alerts/{}", fx.alert_ids[0]),
        Some(&format!("fw_session={value}")),
    )
    .await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(detail.body.contains(&fx.alert_ids[0]));
    let missing = get(&app, "/alerts/nope", Some(&format!("fw_session={value}"))).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn cookies_are_secure_by_default() {
    let fx = WebFixture::new();
    let app = fx.app(&WebConfig::default());
    let answer = try_login(&app, "ana", PASSWORD).await;
    assert!(
        answer
            .set_cookie("fw_session")
            .unwrap()
            .contains("; Secure")
    );
    let form = get(&app, "/login", None).await;
    assert!(
        form.set_cookie("fw_login_csrf")
            .unwrap()
            .contains("; Secure")
    );
}

#[tokio::test]
async fn wrong_passwords_unknown_users_and_token_only_users_are_refused_alike() {
    let fx = WebFixture::new();
    let app = fx.app(&plain_http());
    for (name, password) in [
        ("ana", "wrong"),
        ("nobody", PASSWORD),
        ("tok", ""),
        ("tok", "x"),
    ] {
        let answer = try_login(&app, name, password).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{name}");
        assert!(answer.set_cookie("fw_session").is_none());
        assert!(answer.body.contains("wrong name or password"));
    }
}

#[tokio::test]
async fn repeated_failures_are_rate_limited_per_name() {
    let fx = WebFixture::new();
    let app = fx.app(&plain_http());
    for _ in 0..5 {
        assert_eq!(
            try_login(&app, "bea", "guess").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        try_login(&app, "bea", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Other names are not affected.
    login(&app, "ana").await;
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_are_refused() {
    let fx = WebFixture::new();
    let app = fx.app(&plain_http());
    let (token, cookie) = login_form(&app).await;
    let creds = [("name", "ana"), ("password", PASSWORD)];
    // No token, a wrong token, no cookie, another form's cookie.
    let missing = post(&app, "/login", Some(&cookie), &creds).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert!(missing.body.contains("CSRF"));
    let wrong = post(
        &app,
        "/login",
        Some(&cookie),
        &[creds[0], creds[1], ("csrf", "x")],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let no_cookie = post(
        &app,
        "/login",
        None,
        &[creds[0], creds[1], ("csrf", &token)],
    )
    .await;
    assert_eq!(no_cookie.status, StatusCode::FORBIDDEN);
    let (_, other_cookie) = login_form(&app).await;
    let mismatch = post(
        &app,
        "/login",
        Some(&other_cookie),
        &[creds[0], creds[1], ("csrf", &token)],
    )
    .await;
    assert_eq!(mismatch.status, StatusCode::FORBIDDEN);
    for a in [&missing, &wrong, &no_cookie, &mismatch] {
        assert!(a.set_cookie("fw_session").is_none());
    }

    // Logout needs the session's token: without it the session lives on.
    let session = login(&app, "ana").await;
    let refused = post(&app, "/logout", Some(&session), &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let refused = post(&app, "/logout", Some(&session), &[("csrf", &token)]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&app, "/", Some(&session)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn logout_ends_the_session() {
    let fx = WebFixture::new();
    let app = fx.app(&plain_http());
    let session = login(&app, "ana").await;
    let page = get(&app, "/", Some(&session)).await;
    let csrf = page.form_csrf();
    let out = post(&app, "/logout", Some(&session), &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out.set_cookie("fw_session").unwrap().contains("Max-Age=0"));
    // The old cookie no longer signs anyone in.
    let after = get(&app, "/", Some(&session)).await;
    assert_eq!(
        (after.status, after.location()),
        (StatusCode::SEE_OTHER, Some("/public"))
    );
    let inbox = get(&app, "/inbox", Some(&session)).await;
    assert_eq!(inbox.location(), Some("/login"));
}

#[tokio::test]
async fn the_session_cookie_signs_in_to_the_api_until_logout() {
    let fx = WebFixture::new();
    let app = fx.app(&plain_http());
    let readable = |answer: &Answer| -> Vec<String> {
        let body: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["event"]["comment"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    let anonymous = get(&app, "/api/v1/events?limit=1000", None).await;
    assert_eq!(anonymous.status, StatusCode::OK);
    let session = login(&app, "ana").await;
    let signed_in = get(&app, "/api/v1/events?limit=1000", Some(&session)).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    let (public, ana) = (readable(&anonymous), readable(&signed_in));
    assert!(ana.len() > public.len(), "ana {ana:?}, public {public:?}");
    assert!(ana.iter().any(|c| c == "inbox-a-readable"), "{ana:?}");
    assert!(!ana.iter().any(|c| c == "inbox-a-hidden"), "{ana:?}");

    let csrf = get(&app, "/", Some(&session)).await.form_csrf();
    post(&app, "/logout", Some(&session), &[("csrf", &csrf)]).await;
    let after = get(&app, "/api/v1/events?limit=1000", Some(&session)).await;
    assert_eq!(readable(&after), public, "the ended session is anonymous");
}

#[tokio::test]
async fn anonymous_visitors_are_redirected() {
    let fx = WebFixture::new();
    let app = fx.app(&plain_http());
    let home = get(&app, "/", None).await;
    assert_eq!(
        (home.status, home.location()),
        (StatusCode::SEE_OTHER, Some("/public"))
    );
    for uri in ["/inbox", &format!("/alerts/{}", fx.alert_ids[0])] {
        let page = get(&app, uri, None).await;
        assert_eq!(page.location(), Some("/login"), "{uri}");
    }
    // A forged or unknown cookie is anonymous, too.
    let forged = get(&app, "/", Some("fw_session=AAAA")).await;
    assert_eq!(forged.location(), Some("/public"));
}

#[tokio::test]
async fn the_inbox_shows_only_the_teams_readable_events() {
    let fx = WebFixture::new();
    let app = fx.app(&plain_http());
    let ana = get(&app, "/inbox", Some(&login(&app, "ana").await)).await;
    assert_eq!(ana.status, StatusCode::OK);
    assert!(ana.body.contains("inbox-a-readable"));
    assert!(
        !ana.body.contains("inbox-a-hidden"),
        "AMBER+STRICT of b routed to a"
    );
    assert!(!ana.body.contains("&lt;script"), "b's event");
    assert!(!ana.body.contains("level "), "events not routed to a");
    assert!(ana.body.contains("1 events routed"));

    let bea = get(&app, "/inbox", Some(&login(&app, "bea").await)).await;
    assert!(!bea.body.contains("inbox-a-"));
    assert!(bea.body.contains("1 events routed"));
}

#[tokio::test]
async fn hostile_values_are_escaped() {
    let fx = WebFixture::new();
    let app = fx.app(&plain_http());
    let bea = get(&app, "/inbox", Some(&login(&app, "bea").await)).await;
    assert!(!bea.body.contains(HOSTILE));
    assert!(!bea.body.contains("<script"));
    assert!(bea.body.contains("&lt;script&gt;alert('x')&lt;/script&gt;"));
}

/// The public page as anyone (even a user who may read RED): only CLEAR data, none of the
/// markers of the other levels.
#[tokio::test]
async fn the_public_page_leaks_nothing_above_clear() {
    let fx = WebFixture::new();
    let app = fx.app(&plain_http());
    let cyd = login(&app, "cyd").await;
    for cookie in [None, Some(cyd.as_str())] {
        let page = get(&app, "/public", cookie).await;
        assert_eq!(page.status, StatusCode::OK);
        let (clear_cc, clear_type) = marker(TlpLevel::Clear);
        assert!(page.body.contains(&format!("<td>{clear_cc}</td>")));
        assert!(page.body.contains(&format!("<td>{clear_type}</td>")));
        assert!(page.body.contains("counted here: 1 events"));
        for tlp in [
            TlpLevel::Green,
            TlpLevel::Amber,
            TlpLevel::AmberStrict,
            TlpLevel::Red,
        ] {
            let (cc, kind) = marker(tlp);
            assert!(
                !page.body.contains(kind),
                "{tlp:?} type {kind} on the public page"
            );
            assert!(
                !page.body.contains(&format!("<td>{cc}</td>")),
                "{tlp:?} country {cc}"
            );
            // The map draws every country; those of the other levels must count 0.
            if let Some(at) = page.body.find(&format!("data-cc=\"{cc}\"")) {
                let rest = &page.body[at..];
                let title = &rest[rest.find("<title>").unwrap()..rest.find("</title>").unwrap()];
                assert!(title.ends_with(": 0"), "{tlp:?} {cc}: {title}");
            }
        }
        for marker in [
            "level GREEN",
            "inbox-a",
            "&lt;script",
            "FR</td>",
            "DE</td>",
            "tcp/23",
        ] {
            assert!(!page.body.contains(marker), "{marker}");
        }
    }
    // Telescope aggregates appear only when released.
    let released = fx.app(&WebConfig {
        public_darknet_aggregates: true,
        ..plain_http()
    });
    let page = get(&released, "/public", None).await;
    assert!(page.body.contains("tcp/23"));
    assert!(!page.body.contains("10.0.0."), "no telescope sources");
}

#[tokio::test]
async fn pages_send_security_headers() {
    let fx = WebFixture::new();
    let app = fx.app(&plain_http());
    for uri in ["/login", "/public", "/", "/assets/style.css", "/alerts/x"] {
        let page = get(&app, uri, None).await;
        let h = |n: header::HeaderName| {
            page.headers
                .get(n)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        let csp = h(header::CONTENT_SECURITY_POLICY);
        assert!(
            csp.contains("default-src 'self'") && csp.contains("script-src 'none'"),
            "{uri}: {csp}"
        );
        assert_eq!(h(header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{uri}");
        assert_eq!(h(header::X_FRAME_OPTIONS), "DENY", "{uri}");
        assert!(!h(header::REFERRER_POLICY).is_empty(), "{uri}");
    }
    let page = get(&app, "/public", None).await;
    assert!(!page.body.contains("<script"), "no script on pages");
    assert!(!page.body.contains(" style=\""), "no inline styles (CSP)");
}

/// Issue 22, item 6: with `public_darknet_aggregates`, anonymous `/api/v1/alerts` listed each
/// alert's top source addresses, which are records, not aggregates. The public now gets the
/// counts without the addresses; a signed-in member (ana, team a) still gets them.
#[tokio::test]
async fn issue_22_released_alerts_name_no_source_to_the_public() {
    let fx = WebFixture::new();
    let app = fx.app(&WebConfig {
        public_darknet_aggregates: true,
        ..plain_http()
    });
    let sources = |answer: &Answer| -> (usize, usize) {
        let body: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
        let items = body["items"].as_array().unwrap();
        let named = items
            .iter()
            .map(|a| a["top_sources"].as_array().unwrap().len())
            .sum();
        (items.len(), named)
    };
    let public = get(&app, "/api/v1/alerts", None).await;
    assert_eq!(public.status, StatusCode::OK, "{}", public.body);
    let cookie = login(&app, "ana").await;
    let member = get(&app, "/api/v1/alerts", Some(&cookie)).await;
    assert_eq!(member.status, StatusCode::OK, "{}", member.body);
    let (public_alerts, public_named) = sources(&public);
    let (member_alerts, member_named) = sources(&member);
    assert!(public_alerts > 0 && public_alerts == member_alerts);
    assert_eq!(public_named, 0, "{}", public.body);
    assert!(member_named > 0, "{}", member.body);
}
