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

use base64::Engine;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use web_fixture::{PASSWORD, WebFixture, plain_http};

/// The W3C WebDriver element key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn tool(env: &str, default: &str) -> Option<PathBuf> {
    let path = std::env::var_os(env).map_or_else(|| PathBuf::from(default), PathBuf::from);
    path.exists().then_some(path)
}

/// chromedriver, killed when dropped.
struct Driver {
    child: Child,
    base: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn start(binary: &Path) -> Driver {
        // A free loopback port: bind, read, release (chromedriver binds it right after).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        // Ready when /status says so: poll, bounded.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = ureq::get(&format!("{}/status", driver.base))
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_to_string().ok())
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .is_some_and(|v| v["value"]["ready"] == json!(true));
            if ready {
                return driver;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver not ready after 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut response = match (method, body) {
            ("GET", _) => agent.get(&url).call(),
            ("DELETE", _) => agent.delete(&url).call(),
            (_, body) => agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or(json!({})).to_string()),
        }
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert!(status < 300, "{method} {path}: {status} {text}");
        value["value"].clone()
    }
}

/// One browser session.
struct Browser<'d> {
    driver: &'d Driver,
    id: String,
}

impl Drop for Browser<'_> {
    fn drop(&mut self) {
        let _ = ureq::delete(&format!("{}/session/{}", self.driver.base, self.id)).call();
    }
}

impl Browser<'_> {
    fn open<'d>(driver: &'d Driver, chromium: &Path) -> Browser<'d> {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1700"]
            }
        }}});
        let value = driver.call("POST", "/session", Some(caps));
        Browser {
            driver,
            id: value["sessionId"].as_str().expect("session id").to_owned(),
        }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.driver
            .call(method, &format!("/session/{}{path}", self.id), body)
    }

    fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    fn url(&self) -> String {
        self.cmd("GET", "/url", None).as_str().unwrap().to_owned()
    }

    /// Waits (bounded) until the current URL ends with `suffix`: a click that submits a form
    /// returns before the browser has followed the response, so the next read must wait for it.
    fn wait_for_url(&self, suffix: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let url = self.url();
            if url.ends_with(suffix) {
                return;
            }
            if Instant::now() >= deadline {
                let body = self.script("return document.body ? document.body.innerText : '';");
                panic!("still at {url}, expected …{suffix}; page says: {body}");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn find(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v} at {}", self.url()))
            .to_owned()
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.cmd(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.cmd("POST", &format!("/element/{e}/click"), Some(json!({})));
    }

    fn script(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    /// The rendered size of the first element matching `css` (getBoundingClientRect).
    fn size(&self, css: &str) -> (f64, f64) {
        let v = self.script(&format!(
            "const e = document.querySelector({}); if (!e) return null; \
             const r = e.getBoundingClientRect(); return [r.width, r.height];",
            serde_json::to_string(css).unwrap()
        ));
        assert!(v.is_array(), "{css} not on the page");
        (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
    }
}

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
