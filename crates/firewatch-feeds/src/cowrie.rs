//! Cowrie honeypot JSON logs (`cowrie.json`): one JSON object per line, keyed by `eventid`.
//!
//! Each line that describes something the attacker did becomes one harmonized event; the rest
//! of Cowrie's bookkeeping is counted but yields nothing. The mapping (see
//! `docs/feeds-parsers.md`):
//!
//! | `eventid`                                   | `classification.type`       |
//! |---------------------------------------------|-----------------------------|
//! | `cowrie.session.connect`                    | `scanner`                   |
//! | `cowrie.login.failed`, `cowrie.login.success` | `brute-force`             |
//! | `cowrie.command.input`                      | `system-compromise`         |
//! | `cowrie.session.file_download`, `cowrie.session.file_upload` | `malware-distribution` |
//!
//! Every event has `source.ip` (the attacker), `destination.ip` / `destination.port` (the
//! honeypot; Cowrie writes them only on `cowrie.session.connect`, so they are remembered per
//! session), `time.source`, `feed.name`, `classification.identifier` (the `eventid`),
//! `extra.session`, `extra.sensor` and `raw` (the line, Base64-encoded as IntelMQ does).
//!
//! ```
//! use firewatch_feeds::cowrie::{self, CowrieOptions};
//! use firewatch_core::Collected;
//!
//! let log = concat!(
//!     r#"{"eventid":"cowrie.session.connect","src_ip":"192.0.2.7","src_port":40022,"#,
//!     r#""dst_ip":"198.51.100.2","dst_port":22,"session":"3f1c9a2b7d4e","protocol":"ssh","#,
//!     r#""sensor":"hp1","timestamp":"2024-05-01T12:00:00.250000Z"}"#, "\n",
//!     r#"{"eventid":"cowrie.login.failed","username":"root","password":"123456","#,
//!     r#""src_ip":"192.0.2.7","session":"3f1c9a2b7d4e","sensor":"hp1","#,
//!     r#""timestamp":"2024-05-01T12:00:01Z"}"#, "\n",
//! );
//! let mut sink = Collected::default();
//! let summary = cowrie::parse(log.as_bytes(), "cowrie.json", &CowrieOptions::default(), &mut sink)
//!     .unwrap();
//! assert_eq!((summary.records, summary.events, summary.rejected), (2, 2, 0));
//! let login = &sink.events[1].0;
//! assert_eq!(login.get("classification.type").unwrap().as_str(), Some("brute-force"));
//! assert_eq!(login.get("destination.port").unwrap().as_i64(), Some(22));
//! assert!(login.get("extra.password").is_none()); // not kept by default
//! ```

use std::collections::{HashMap, VecDeque};
use std::io::BufRead;

use serde_json::{Map, Value as Json};

use firewatch_core::Event;
use firewatch_core::input::{EventSink, InputError, ParseSummary};

/// How Cowrie logs are turned into events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CowrieOptions {
    /// `feed.name` of every event. Default `"Cowrie"`.
    pub feed_name: String,
    /// Keep the passwords attackers tried as `extra.password`. Default `false`: a password
    /// tried against a honeypot is often one the attacker's tooling uses elsewhere, sometimes a
    /// real credential of a third party (from a leak), and events travel to constituents and
    /// partners; the username alone is enough to describe the attack.
    pub keep_passwords: bool,
}

impl Default for CowrieOptions {
    fn default() -> Self {
        CowrieOptions {
            feed_name: "Cowrie".to_owned(),
            keep_passwords: false,
        }
    }
}

/// Event ids that are recognised but yield no event (they describe the client or the session's
/// bookkeeping, not an attack step). Any other unknown event id is treated the same way.
pub const IGNORED_EVENT_IDS: &[&str] = &[
    "cowrie.client.fingerprint",
    "cowrie.client.kex",
    "cowrie.client.size",
    "cowrie.client.var",
    "cowrie.client.version",
    "cowrie.command.failed",
    "cowrie.command.success",
    "cowrie.direct-tcpip.data",
    "cowrie.direct-tcpip.request",
    "cowrie.log.closed",
    "cowrie.session.closed",
    "cowrie.session.file_download.failed",
    "cowrie.session.params",
];

/// At most this many open sessions are remembered (for the honeypot address, source port,
/// protocol and client version that Cowrie writes only once per session); the oldest are
/// forgotten first.
const MAX_SESSIONS: usize = 100_000;

#[derive(Clone, Debug, Default)]
struct Session {
    dst_ip: Option<Json>,
    dst_port: Option<Json>,
    src_port: Option<Json>,
    protocol: Option<Json>,
    client_version: Option<Json>,
}

#[derive(Default)]
struct Sessions {
    open: HashMap<String, Session>,
    order: VecDeque<String>,
}

impl Sessions {
    fn get_mut(&mut self, id: &str) -> &mut Session {
        if !self.open.contains_key(id) {
            while self.open.len() >= MAX_SESSIONS {
                match self.order.pop_front() {
                    Some(old) => {
                        self.open.remove(&old);
                    }
                    None => break,
                }
            }
            self.order.push_back(id.to_owned());
        }
        self.open.entry(id.to_owned()).or_default()
    }

    fn close(&mut self, id: &str) {
        self.open.remove(id);
        if self.order.len() > 2 * MAX_SESSIONS {
            let open = &self.open;
            self.order.retain(|s| open.contains_key(s));
        }
    }
}

/// Parses a Cowrie JSON log, handing each event (or rejected line) to `sink`.
///
/// `file` names the input in locations. Blank lines are skipped; a line that is not UTF-8, not
/// a JSON object, has no string `eventid`, or whose values fail validation is rejected. Only an
/// I/O error ends the parse early.
pub fn parse<R: BufRead>(
    input: R,
    file: &str,
    options: &CowrieOptions,
    sink: &mut dyn EventSink,
) -> Result<ParseSummary, InputError> {
    let mut sessions = Sessions::default();
    crate::lines::parse_lines(input, file, sink, |text| {
        record(text, options, &mut sessions)
    })
}

/// What one Cowrie event id becomes.
struct Mapping {
    classification: &'static str,
}

fn mapping(event_id: &str) -> Option<Mapping> {
    let classification = match event_id {
        "cowrie.session.connect" => "scanner",
        "cowrie.login.failed" | "cowrie.login.success" => "brute-force",
        "cowrie.command.input" => "system-compromise",
        "cowrie.session.file_download" | "cowrie.session.file_upload" => "malware-distribution",
        _ => return None,
    };
    Some(Mapping { classification })
}

fn record(
    line: &str,
    options: &CowrieOptions,
    sessions: &mut Sessions,
) -> Result<Option<Event>, String> {
    let json: Json = serde_json::from_str(line).map_err(|e| format!("not valid JSON: {e}"))?;
    let Json::Object(obj) = json else {
        return Err("not a JSON object".to_owned());
    };
    let event_id = match obj.get("eventid") {
        Some(Json::String(id)) => id.as_str(),
        Some(other) => return Err(format!("eventid: {other} is not a string")),
        None => return Err("has no eventid".to_owned()),
    };
    let session_id = match obj.get("session") {
        Some(Json::String(s)) => Some(s.as_str()),
        None | Some(Json::Null) => None,
        Some(other) => return Err(format!("session: {other} is not a string")),
    };

    // Remember what Cowrie writes once per session.
    if let Some(id) = session_id {
        match event_id {
            "cowrie.session.connect" => {
                *sessions.get_mut(id) = Session {
                    dst_ip: obj.get("dst_ip").cloned(),
                    dst_port: obj.get("dst_port").cloned(),
                    src_port: obj.get("src_port").cloned(),
                    protocol: obj.get("protocol").cloned(),
                    client_version: None,
                };
            }
            "cowrie.client.version" => {
                sessions.get_mut(id).client_version = obj.get("version").cloned();
            }
            _ => {}
        }
    }
    let Some(map) = mapping(event_id) else {
        if event_id == "cowrie.session.closed"
            && let Some(id) = session_id
        {
            sessions.close(id);
        }
        return Ok(None);
    };
    let session = session_id
        .and_then(|id| sessions.open.get(id))
        .cloned()
        .unwrap_or_default();

    let mut b = Builder::default();
    if !obj.contains_key("timestamp") {
        return Err("has no timestamp".to_owned());
    }
    if !obj.contains_key("src_ip") {
        return Err("has no src_ip".to_owned());
    }
    b.set("feed.name", Json::from(options.feed_name.as_str()));
    b.set("classification.type", Json::from(map.classification));
    b.set("classification.identifier", Json::from(event_id));
    b.copy(&obj, "timestamp", "time.source");
    b.copy(&obj, "src_ip", "source.ip");
    b.or(&obj, "src_port", session.src_port, "source.port");
    b.or(&obj, "dst_ip", session.dst_ip, "destination.ip");
    b.or(&obj, "dst_port", session.dst_port, "destination.port");
    b.or(&obj, "protocol", session.protocol, "protocol.application");
    b.set("protocol.transport", Json::from("tcp"));
    b.copy(&obj, "session", "extra.session");
    b.copy(&obj, "sensor", "extra.sensor");
    if let Some(version) = session.client_version {
        b.set("extra.client_version", version);
    }
    match event_id {
        "cowrie.login.failed" | "cowrie.login.success" => {
            b.copy(&obj, "username", "extra.username");
            if options.keep_passwords {
                b.copy(&obj, "password", "extra.password");
            }
        }
        "cowrie.command.input" => b.copy(&obj, "input", "extra.command"),
        "cowrie.session.file_download" => {
            b.copy(&obj, "url", "source.url");
            b.copy(&obj, "shasum", "malware.hash.sha256");
        }
        "cowrie.session.file_upload" => {
            b.copy(&obj, "filename", "extra.filename");
            b.copy(&obj, "shasum", "malware.hash.sha256");
        }
        _ => {}
    }
    b.set("raw", Json::from(line));
    let mut event = b.finish()?;
    event.fill_taxonomy();
    Ok(Some(event))
}

/// Sets fields, collecting every rejected value.
#[derive(Default)]
struct Builder {
    event: Event,
    errors: Vec<String>,
}

impl Builder {
    fn set(&mut self, field: &str, value: Json) {
        if let Err(e) = self.event.set(field, value) {
            self.errors.push(e.to_string());
        }
    }

    fn copy(&mut self, obj: &Map<String, Json>, key: &str, field: &str) {
        if let Some(value) = obj.get(key) {
            self.set(field, value.clone());
        }
    }

    fn or(&mut self, obj: &Map<String, Json>, key: &str, fallback: Option<Json>, field: &str) {
        if let Some(value) = obj.get(key).cloned().or(fallback) {
            self.set(field, value);
        }
    }

    fn finish(self) -> Result<Event, String> {
        if self.errors.is_empty() {
            Ok(self.event)
        } else {
            Err(self.errors.join("; "))
        }
    }
}
