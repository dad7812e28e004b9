//! The pages in a real headless Chromium, driven over WebDriver (chromedriver): sign in
//! through the form, see the charts and the map rendered with a size, open an alert, and save
//! a screenshot of the dashboard to `target/screenshots/dashboard.png`.
//!
//! The WebDriver protocol (W3C) is spoken directly over HTTP with `ureq`, already a
//! dev-dependency: the handful of commands needed do not justify a WebDriver client crate and
//! its second HTTP stack. Without `/usr/bin/chromium` and `/usr/bin/chromedriver` (or
//! `CHROMIUM` / `CHROMEDRIVER`) the test fails when `CI=true` and is skipped loudly otherwise.

#[path = "common/web_fixture.rs"]
mod web_fixture;
#[path = "common/webdriver.rs"]
mod webdriver;

use base64::Engine;
use serde_json::json;
use std::path::{Path, PathBuf};
use web_fixture::{PASSWORD, WebFixture, plain_http};
use webdriver::{Browser, Driver, tool};

fn screenshot_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    target.join("screenshots").join("dashboard.png")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_see_charts_and_map_open_an_alert_screenshot() {
    let (Some(chromium), Some(chromedriver)) = (
        tool("CHROMIUM", "/usr/bin/chromium"),
        tool("CHROMEDRIVER", "/usr/bin/chromedriver"),
    ) else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "chromium and chromedriver are required in CI (apt-get install chromium chromium-driver)"
            );
        }
        eprintln!(
            "\n\n*** SKIPPED browser test: /usr/bin/chromium or /usr/bin/chromedriver missing \
             (apt-get install -y chromium chromium-driver) ***\n"
        );
        return;
    };
    let fx = WebFixture::new();
    let alert = fx.alert_ids[0].clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(firewatch_web::serve(
        listener,
        fx.app(&plain_http()),
        async {
            let _ = stopped.await;
        },
    ));

    let shot = tokio::task::spawn_blocking(move || {
        let driver = Driver::start(&chromedriver);
        let browser = Browser::open(&driver, &chromium);

        // Anonymous: the dashboard sends us to the public page.
        browser.go(&format!("{base}/"));
        assert!(browser.url().ends_with("/public"), "{}", browser.url());

        browser.go(&format!("{base}/login"));
        browser.type_into("input[name=name]", "ana");
        browser.type_into("input[name=password]", PASSWORD);
        browser.click("#sign-in");
        browser.wait_for_url(&format!("{base}/"));

        let title = browser.script("return document.querySelector('h1').textContent;");
        assert_eq!(title, json!("Dashboard"));
        for css in [
            "svg#chart-0",
            "svg#chart-0 polyline.packets",
            "svg#world-map",
            "svg#world-map path[data-cc=JP]",
        ] {
            let (w, h) = browser.size(css);
            assert!(w > 5.0 && h > 5.0, "{css} rendered {w}×{h}");
        }
        let paths =
            browser.script("return document.querySelectorAll('svg#world-map path').length;");
        assert!(paths.as_u64().unwrap() > 150, "{paths}");
        // The stylesheet loaded (the CSP allows it): the header is dark.
        let bg = browser.script(
            "return getComputedStyle(document.querySelector('header.top')).backgroundColor;",
        );
        assert_eq!(bg, json!("rgb(16, 36, 58)"));

        let png = browser.cmd("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();

        browser.click("a.alert-link");
        browser.wait_for_url(&format!("/alerts/{alert}"));
        let h1 = browser.script("return document.querySelector('h1').textContent;");
        assert_eq!(h1, json!(format!("Alert {alert}")));

        // Sign out through the form: back to the login page, the dashboard is closed.
        browser.click("form.logout button");
        browser.wait_for_url("/login");
        browser.go(&format!("{base}/"));
        assert!(browser.url().ends_with("/public"), "{}", browser.url());
        png
    })
    .await
    .unwrap();

    assert!(shot.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert!(
        shot.len() > 20_000,
        "a non-trivial screenshot: {} bytes",
        shot.len()
    );
    let path = screenshot_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &shot).unwrap();
    eprintln!("dashboard screenshot: {}", path.display());

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
