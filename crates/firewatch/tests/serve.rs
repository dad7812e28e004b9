//! `firewatch serve` as deployed: configured from the environment, JSON logs on stderr (one
//! object per request), and a graceful stop on SIGTERM.

mod common;

use common::Sandbox;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// The service's stderr, line by line, read on a thread of its own.
fn log_lines(child: &mut Child) -> Receiver<String> {
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The next JSON log object for which `wanted` holds (bounded wait); every line must be JSON.
fn next_log(lines: &Receiver<String>, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                let log: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
                if wanted(&log) {
                    return log;
                }
            }
            Err(RecvTimeoutError::Timeout) => panic!("no log line {what} within 60 s"),
            Err(RecvTimeoutError::Disconnected) => panic!("the service ended before {what}"),
        }
    }
}

#[test]
fn serves_from_environment_config_logs_json_and_stops_on_sigterm() {
    let sb = Sandbox::new();
    let mut child = sb
        .background("fw.db")
        .arg("serve")
        .env_remove("FIREWATCH_LISTEN")
        .env("FIREWATCH__WEB__LISTEN", "127.0.0.1:0")
        .env("FIREWATCH__WEB__LOG_FORMAT", "json")
        .env("FIREWATCH__WEB__SECURE_COOKIES", "false")
        .env("FIREWATCH_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start firewatch serve");
    let lines = log_lines(&mut child);

    let ready = next_log(&lines, "with the address", |l| l.get("addr").is_some());
    assert_eq!(ready["level"], "INFO", "{ready}");
    let addr = ready["addr"].as_str().unwrap().to_owned();
    assert!(
        addr.starts_with("127.0.0.1:"),
        "listen came from the environment: {addr}"
    );
    let base = format!("http://{addr}");

    let health = ureq::get(&format!("{base}/healthz"))
        .call()
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let missing = ureq::get(&format!("{base}/api/v1/no-such-thing"))
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .expect("404 answer");
    assert_eq!(missing.status(), 404);

    let logged = next_log(&lines, "for /healthz", |l| l["route"] == "/healthz");
    assert_eq!(logged["status"], 200, "{logged}");
    assert_eq!(logged["method"], "GET", "{logged}");
    assert!(
        logged["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{logged}"
    );
    assert!(logged["timestamp"].is_string(), "{logged}");
    let not_found = next_log(&lines, "for the 404", |l| l["status"] == 404);
    assert_eq!(
        not_found["route"], "unmatched",
        "paths are not logged: {not_found}"
    );

    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    next_log(&lines, "saying it stopped", |l| l["message"] == "stopped");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "still running 30 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "graceful stop exits 0: {status}");
}

#[test]
fn a_bad_environment_override_is_an_error_naming_the_variable() {
    let sb = Sandbox::new();
    let out = sb
        .cmd("fw.db")
        .arg("serve")
        .env("FIREWATCH__WEB__LOG_FORMAT", "xml")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("FIREWATCH__WEB__LOG_FORMAT") && stderr.contains("xml"),
        "{stderr}"
    );
}
