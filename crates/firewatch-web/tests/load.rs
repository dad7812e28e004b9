//! Issue 22's bounded load test, on loopback with the real accept loop: 1,000 connections that
//! send nothing, 100 bad HTTP Basic logins a second (each a new name) and 50 concurrent TAXII
//! adds with a member's Basic credentials, while `/healthz` is polled every 50 ms. The service
//! must answer every poll within 100 ms and stay under 300 MB resident.
//!
//! The service runs on a runtime and threads of its own; the poller is a plain thread with
//! blocking sockets, so that its clock is not delayed by the clients' tasks. Every loop is
//! bounded; the whole test takes about ten seconds. Figures are printed (`--nocapture`).

#[path = "common/raw_http.rs"]
mod raw_http;
#[path = "common/web_fixture.rs"]
mod web_fixture;

use base64::Engine;
use firewatch_core::TlpLevel;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use web_fixture::{PASSWORD, WebFixture, plain_http};

const TAXII: &str = "application/taxii+json;version=2.1";
const HALF_OPEN: usize = 1_000;
const BAD_LOGINS_PER_SECOND: usize = 100;
const FLOOD_SECONDS: usize = 5;
const ADDS: usize = 50;
const HEALTHZ_LIMIT: Duration = Duration::from_millis(100);
const RSS_LIMIT: u64 = 300 << 20;

fn basic(name: &str, password: &str) -> String {
    let pair = format!("{name}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// Sends one request (with `Connection: close`) and returns the response's status.
async fn status_of(addr: SocketAddr, request: Vec<u8>) -> u16 {
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        raw_http::write_all(&stream, &request).await?;
        let mut answer = Vec::new();
        raw_http::read_to_end(&stream, &mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    match tokio::time::timeout(Duration::from_secs(30), exchange).await {
        Ok(Ok(answer)) => std::str::from_utf8(&answer[..answer.len().min(12)])
            .ok()
            .and_then(|line| line.get(9..12))
            .and_then(|code| code.parse().ok())
            .unwrap_or(0),
        _ => 0,
    }
}

fn get_request(path: &str, authorization: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: loopback\r\nAccept: {TAXII}\r\nAuthorization: \
         {authorization}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

fn add_request(i: usize, authorization: &str) -> Vec<u8> {
    let envelope = serde_json::json!({ "objects": [{
        "type": "indicator",
        "spec_version": "2.1",
        "id": format!("indicator--00000000-0000-4000-8000-{i:012x}"),
        "created": "2026-11-01T00:00:00.000Z",
        "modified": "2026-11-01T00:00:00.000Z",
        "pattern": format!("[ipv4-addr:value = '10.9.{}.{}']", i >> 8 & 255, i & 255),
        "pattern_type": "stix",
        "valid_from": "2026-11-01T00:00:00Z",
    }]})
    .to_string();
    let path = format!(
        "/taxii2/firewatch/collections/{}/objects/",
        firewatch_web::taxii::collection_id(TlpLevel::Green)
    );
    format!(
        "POST {path} HTTP/1.1\r\nHost: loopback\r\nAccept: {TAXII}\r\nContent-Type: {TAXII}\r\n\
         Authorization: {authorization}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{envelope}",
        envelope.len()
    )
    .into_bytes()
}

/// This process's resident memory (VmRSS), in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kib| kib.parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// One `/healthz` over a fresh blocking connection: its latency, or `None` on any failure.
fn healthz(addr: SocketAddr) -> Option<Duration> {
    let started = Instant::now();
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: loopback\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).ok()?;
    answer
        .starts_with(b"HTTP/1.1 200")
        .then(|| started.elapsed())
}

#[test]
fn issue_22_load_half_open_connections_bad_logins_and_taxii_adds() {
    let fx = WebFixture::new();

    // The service, on its own runtime.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let state = fx.state(&plain_http());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            firewatch_web::serve(listener, firewatch_web::router(state), async {
                let _ = stopped.await;
            })
            .await
        })
    });

    let clients = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let member = basic("ana", PASSWORD);
    // A TAXII client's first request verifies its password; later ones reuse the check.
    let first = clients.block_on(status_of(
        addr,
        get_request("/taxii2/firewatch/collections/", &member),
    ));
    assert_eq!(first, 200);

    // Memory and /healthz are watched from plain threads for the whole run.
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(rss()));
    let sampler = {
        let (done, peak) = (done.clone(), peak.clone());
        std::thread::spawn(move || {
            for _ in 0..2_000 {
                if done.load(Ordering::Relaxed) {
                    break;
                }
                peak.fetch_max(rss(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let poller = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut latencies = Vec::new();
            let mut failures = 0;
            for _ in 0..1_000 {
                if done.load(Ordering::Relaxed) {
                    break;
                }
                match healthz(addr) {
                    Some(latency) => latencies.push(latency),
                    None => failures += 1,
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            (latencies, failures)
        })
    };

    let (half_open, bad, adds) = clients.block_on(async move {
        // 1,000 connections that never send a byte (they stay open: the header timeout is 10 s).
        let mut half_open = Vec::with_capacity(HALF_OPEN);
        for _ in 0..HALF_OPEN {
            if let Ok(Ok(s)) = tokio::time::timeout(
                Duration::from_secs(2),
                tokio::net::TcpStream::connect(addr),
            )
            .await
            {
                half_open.push(s);
            }
        }
        // 100 bad Basic logins a second, each a new name, for five seconds...
        let flood = tokio::spawn(async move {
            let mut attempts = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_secs(1) / BAD_LOGINS_PER_SECOND as u32);
            for i in 0..BAD_LOGINS_PER_SECOND * FLOOD_SECONDS {
                tick.tick().await;
                let request = get_request(
                    "/taxii2/firewatch/collections/",
                    &basic(&format!("intruder-{i}"), "guess"),
                );
                attempts.push(tokio::spawn(status_of(addr, request)));
            }
            let mut statuses = Vec::new();
            for a in attempts {
                statuses.push(a.await.unwrap_or(0));
            }
            statuses
        });
        // ... and, a second in, 50 TAXII adds at once with a member's credentials.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let adds: Vec<_> = (0..ADDS)
            .map(|i| tokio::spawn(status_of(addr, add_request(i, &member))))
            .collect();
        let mut add_statuses = Vec::new();
        for a in adds {
            add_statuses.push(a.await.unwrap_or(0));
        }
        let bad = flood.await.unwrap();
        // Still open at the end: the service closes them only after the header timeout.
        let mut still_open = 0;
        let mut probe = [0u8; 1];
        for s in &half_open {
            if matches!(s.try_read(&mut probe), Err(ref e) if e.kind() == std::io::ErrorKind::WouldBlock)
            {
                still_open += 1;
            }
        }
        (still_open, bad, add_statuses)
    });
    done.store(true, Ordering::Relaxed);
    let (mut latencies, failures) = poller.join().unwrap();
    sampler.join().unwrap();
    stop.send(()).unwrap();
    drop(clients);
    server.join().unwrap().unwrap();

    latencies.sort();
    let count = |code: u16| bad.iter().filter(|&&s| s == code).count();
    let (max, median) = (
        latencies.last().copied().unwrap_or_default(),
        latencies
            .get(latencies.len() / 2)
            .copied()
            .unwrap_or_default(),
    );
    let p99 = latencies
        .get(latencies.len() * 99 / 100)
        .copied()
        .unwrap_or_default();
    let peak = peak.load(Ordering::Relaxed);
    eprintln!(
        "load: {half_open} half-open connections still open at the end; /healthz: {} polls, \
         {failures} failed, median {median:?}, p99 {p99:?}, max {max:?}; peak RSS {} MiB; \
         bad Basic logins: {} sent, {} → 401, {} → 429, {} → 503, {} other; \
         TAXII adds: {} → 202 of {ADDS}",
        latencies.len(),
        peak >> 20,
        bad.len(),
        count(401),
        count(429),
        count(503),
        bad.len() - count(401) - count(429) - count(503),
        adds.iter().filter(|&&s| s == 202).count(),
    );
    assert_eq!(
        half_open, HALF_OPEN,
        "the half-open connections were not all held"
    );
    assert_eq!(failures, 0, "some /healthz polls failed");
    assert!(latencies.len() >= 50, "{} polls", latencies.len());
    assert!(max <= HEALTHZ_LIMIT, "slowest /healthz took {max:?}");
    assert!(peak < RSS_LIMIT, "peak RSS {} MiB", peak >> 20);
    assert!(adds.iter().all(|&s| s == 202), "TAXII adds: {adds:?}");
    assert_eq!(
        count(401) + count(503),
        bad.len(),
        "bad logins get 401 or 503: {bad:?}"
    );
}
