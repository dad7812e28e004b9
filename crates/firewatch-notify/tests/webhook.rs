//! Webhook notices end to end: a receiver on a loopback socket checks each request with
//! `webhook::verify`, fails the first one (HTTP 500) to force a retry, and refuses a replay.

use firewatch_core::Event;
use firewatch_enrich::directory::Directory;
use firewatch_notify::openpgp::SenderKey;
use firewatch_notify::webhook::{self, ReplayGuard};
use firewatch_notify::{Courier, NotifyConfig, Planner, queue};
use firewatch_store::outbox::{OutboxState, OutboxStore};
use firewatch_store::{DedupeRule, EventStore, FeedInput, SqliteStore};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "hook secret for team w";

/// One request as the receiver saw it, and the status it answered.
#[derive(Clone, Debug)]
struct Seen {
    raw: Vec<u8>,
    body: Vec<u8>,
    status: u16,
}

/// The raw request, its headers (lower-case names) and its body.
type Request = (Vec<u8>, Vec<(String, String)>, Vec<u8>);

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut raw = Vec::new();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        raw.extend_from_slice(line.as_bytes());
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((k, v)) = trimmed.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    raw.extend_from_slice(&body);
    Some((raw, headers, body))
}

/// A receiver: the first request gets 500, then each is verified (200, 401 bad, 409 replay).
fn receiver() -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/firewatch", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        let mut guard = ReplayGuard::default();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Some((raw, headers, body)) = read_request(&mut stream) else {
                continue;
            };
            let get = |name: &str| {
                headers
                    .iter()
                    .find(|(k, _)| k == &name.to_ascii_lowercase())
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let first = log.lock().unwrap().is_empty();
            let status = if first {
                500
            } else {
                let (ts, sig, key) = (
                    get(webhook::TIMESTAMP_HEADER),
                    get(webhook::SIGNATURE_HEADER),
                    get(webhook::IDEMPOTENCY_HEADER),
                );
                let h = webhook::Headers {
                    timestamp: &ts,
                    signature: &sig,
                    idempotency_key: &key,
                };
                let now = jiff::Timestamp::now().as_second();
                match webhook::verify(SECRET.as_bytes(), &h, &body, now, 300, &mut guard) {
                    Ok(()) => 200,
                    Err(webhook::Verdict::Replayed) => 409,
                    Err(_) => 401,
                }
            };
            log.lock().unwrap().push(Seen { raw, body, status });
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    (url, seen)
}

/// Sends raw bytes to the receiver and returns the status line's code.
fn replay(url: &str, raw: &[u8]) -> u16 {
    let addr = url.trim_start_matches("http://").split('/').next().unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(raw).unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn sender_key() -> SenderKey {
    // The webhook path needs no gpg: a key made in memory only has to sign.
    SenderKey::throwaway("Sender CERT <cert@sender.example>").unwrap()
}

#[test]
fn webhooks_are_signed_retried_after_a_500_and_replays_are_refused() {
    let (url, seen) = receiver();
    // SAFETY: set before any thread reads the environment in this test binary.
    unsafe { std::env::set_var("TEAM_W_HOOK_SECRET", SECRET) };
    let cfg = NotifyConfig::from_toml_str(&format!(
        r#"
[notify]
sender_team = "sender-cert"
from = "cert@sender.example"
signing_key = "unused.asc"
[notify.retry]
max_attempts = 4
initial_backoff_secs = 0.2
max_backoff_secs = 1.0
[[notify.teams]]
team = "team-w"
email = []
events_schedule = "immediate"
filter = "classification.type = vulnerable-system"
max_notices_per_hour = 1
webhook = {{ url = "{url}", secret_env = "TEAM_W_HOOK_SECRET" }}
"#
    ))
    .unwrap();
    cfg.validate().unwrap();
    let dir = Directory::from_toml_str(
        r#"
[[teams]]
id = "team-w"
name = "Team W"
kind = "soc"
max_tlp = "green"
"#,
        "dir",
    )
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&work.path().join("s.db")).unwrap();
    let now = jiff::Timestamp::now().as_second();
    let mut events = Vec::new();
    for (ip, tlp) in [
        ("192.0.2.1", "GREEN"),
        ("192.0.2.2", "CLEAR"),
        ("192.0.2.3", "AMBER"),
    ] {
        let mut e = Event::new();
        e.set("classification.type", "vulnerable-system").unwrap();
        e.set("source.ip", ip).unwrap();
        e.set("tlp", tlp).unwrap();
        e.set("extra.team", "team-w").unwrap();
        e.set(
            "time.source",
            jiff::Timestamp::from_second(now - 60).unwrap().to_string(),
        )
        .unwrap();
        events.push(e);
    }
    let mut spam = events[0].clone();
    spam.set("classification.type", "spam").unwrap();
    spam.set("source.ip", "192.0.2.9").unwrap();
    events.push(spam);
    let input = FeedInput {
        content_hash: "w".into(),
        ingested_at: now,
        ..Default::default()
    };
    store
        .commit_events(&input, &events, &DedupeRule::default())
        .unwrap();

    let sender = sender_key();
    let planner = Planner {
        cfg: &cfg,
        directory: &dir,
        sender: &sender,
        telescope: &Default::default(),
        now,
    };
    let plan = planner.plan(&store).unwrap();
    assert_eq!(plan.notices.len(), 1);
    assert_eq!(plan.withheld.len(), 1, "the AMBER event stays with us");
    queue(&mut store, &plan).unwrap();
    let report = Courier::new(&cfg)
        .unwrap()
        .deliver(&mut store, Duration::from_secs(20))
        .unwrap();
    assert_eq!(report.sent.len(), 1, "{report:?}");

    let log = seen.lock().unwrap().clone();
    assert_eq!(
        log.iter().map(|s| s.status).collect::<Vec<_>>(),
        [500, 200],
        "one failure, one retry"
    );
    assert_eq!(log[0].body, log[1].body, "the retry carries the same body");
    let n = &store.notices(None).unwrap()[0];
    assert_eq!((n.state, n.attempts), (OutboxState::Sent, 2));
    let body: serde_json::Value = serde_json::from_slice(&log[1].body).unwrap();
    assert_eq!(body["id"], n.id.as_str());
    assert_eq!(body["tlp"], "TLP:GREEN");
    assert_eq!(body["withheld"], 1);
    let tlps: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["tlp"].as_str().unwrap())
        .collect();
    assert_eq!(
        tlps,
        ["TLP:GREEN", "TLP:CLEAR"],
        "the policy's filter left the spam out"
    );

    // A new record within the hour: the rate limit (1 per hour) makes it wait, and says so.
    let mut later = events[0].clone();
    later.set("source.ip", "192.0.2.44").unwrap();
    let input = FeedInput {
        content_hash: "w2".into(),
        ingested_at: now,
        ..Default::default()
    };
    store
        .commit_events(&input, &[later], &DedupeRule::default())
        .unwrap();
    let plan = planner.plan(&store).unwrap();
    assert!(plan.notices.is_empty());
    assert!(
        plan.deferred.iter().any(|d| d.contains("rate limit")),
        "{:?}",
        plan.deferred
    );

    // The same request again is a replay; a changed body fails the signature.
    assert_eq!(replay(&url, &log[1].raw), 409);
    let mut tampered = log[1].raw.clone();
    let pos = tampered.len() - 2;
    tampered[pos] = b' ';
    assert_eq!(replay(&url, &tampered), 401);
}

/// Issue 22, item 2: notices chose records by routed team and checked only the team's TLP cap,
/// so another owner's AMBER+STRICT record and a RED record naming other teams went out to the
/// team they were routed to. Now only what the team may read is planned (the rule of every
/// read path); what it may read above its cap is held back, as before.
#[test]
fn issue_22_notify_plans_only_what_the_team_may_read() {
    // SAFETY: set before any thread reads the environment in this test binary.
    unsafe { std::env::set_var("TEAM_V_HOOK_SECRET", SECRET) };
    let cfg = NotifyConfig::from_toml_str(
        r#"
[notify]
sender_team = "sender-cert"
from = "cert@sender.example"
signing_key = "unused.asc"
[[notify.teams]]
team = "team-v"
email = []
events_schedule = "immediate"
webhook = { url = "http://127.0.0.1:9/", secret_env = "TEAM_V_HOOK_SECRET" }
"#,
    )
    .unwrap();
    let dir = Directory::from_toml_str(
        r#"
[[teams]]
id = "team-v"
name = "Team V"
kind = "soc"
max_tlp = "amber+strict"

[[teams]]
id = "team-x"
name = "Team X"
kind = "soc"
max_tlp = "red"
"#,
        "dir",
    )
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&work.path().join("s.db")).unwrap();
    let now = jiff::Timestamp::now().as_second();
    // (address, tlp, owner, recipients): every record is routed to team V.
    let records: [(&str, &str, Option<&str>, &[&str]); 5] = [
        ("192.0.2.1", "GREEN", None, &[]),
        ("192.0.2.2", "AMBER+STRICT", Some("team-x"), &[]),
        ("192.0.2.3", "RED", Some("team-x"), &["team-x"]),
        ("192.0.2.4", "AMBER+STRICT", Some("team-v"), &[]),
        ("192.0.2.5", "RED", Some("team-x"), &["team-v"]),
    ];
    let events: Vec<Event> = records
        .iter()
        .map(|(ip, tlp, owner, recipients)| {
            let mut e = Event::new();
            e.set("classification.type", "vulnerable-system").unwrap();
            e.set("source.ip", *ip).unwrap();
            e.set("tlp", *tlp).unwrap();
            e.set("extra.team", "team-v").unwrap();
            if let Some(owner) = owner {
                e.set("extra.owner", *owner).unwrap();
            }
            if !recipients.is_empty() {
                e.set("extra.recipients", serde_json::json!(recipients))
                    .unwrap();
            }
            e.set(
                "time.source",
                jiff::Timestamp::from_second(now - 60).unwrap().to_string(),
            )
            .unwrap();
            e
        })
        .collect();
    let input = FeedInput {
        content_hash: "v".into(),
        ingested_at: now,
        ..Default::default()
    };
    store
        .commit_events(&input, &events, &DedupeRule::default())
        .unwrap();
    let sender = sender_key();
    let plan = Planner {
        cfg: &cfg,
        directory: &dir,
        sender: &sender,
        telescope: &Default::default(),
        now,
    }
    .plan(&store)
    .unwrap();
    assert!(plan.deferred.is_empty(), "{:?}", plan.deferred);
    let sent: String = plan
        .notices
        .iter()
        .map(|n| String::from_utf8_lossy(&n.notice.payload).into_owned())
        .collect();
    // Team V reads its GREEN record and its own AMBER+STRICT one (both within its cap) and the
    // RED one naming it (above its cap: held back); never team X's AMBER+STRICT record nor the
    // RED one naming only team X, which it is not even told are held back.
    for (ip, expected) in [
        ("192.0.2.1", true),
        ("192.0.2.4", true),
        ("192.0.2.2", false),
        ("192.0.2.3", false),
        ("192.0.2.5", false),
    ] {
        assert_eq!(sent.contains(ip), expected, "{ip} in {sent}");
    }
    let held: Vec<&str> = plan.withheld.iter().map(|w| w.tlp.as_str()).collect();
    assert_eq!(held, ["TLP:RED"], "{:?}", plan.withheld);
}
