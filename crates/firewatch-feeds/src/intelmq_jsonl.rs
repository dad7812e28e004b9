//! IntelMQ JSON lines: one event per line as a JSON object with flat dotted keys, the format of
//! IntelMQ's file output and of `intelmqctl` dumps.
//!
//! [`parse`] reads them into events (validating every field as IntelMQ does); [`write`] and
//! [`write_with`] write events back, one line each with sorted keys.
//!
//! ```
//! use firewatch_core::Collected;
//! use firewatch_feeds::intelmq_jsonl;
//!
//! let input = concat!(
//!     r#"{"__type": "Event", "source.ip": "192.0.2.1", "classification.type": "scanner"}"#, "\n",
//!     r#"{"source.port": "not a port"}"#, "\n",
//! );
//! let mut sink = Collected::default();
//! let summary = intelmq_jsonl::parse(input.as_bytes(), "events.jsonl", &mut sink).unwrap();
//! assert_eq!((summary.records, summary.events, summary.rejected), (2, 1, 1));
//! assert_eq!(
//!     sink.errors[0].to_string(),
//!     r#"events.jsonl: line 2 (byte 80): source.port: "not a port" is not an integer"#,
//! );
//!
//! let mut out = Vec::new();
//! intelmq_jsonl::write(sink.events.iter().map(|(event, _)| event), &mut out).unwrap();
//! assert_eq!(
//!     String::from_utf8(out).unwrap(),
//!     "{\"classification.type\":\"scanner\",\"source.ip\":\"192.0.2.1\"}\n",
//! );
//! ```

use std::io::{self, BufRead, Write};

use serde_json::Value as Json;

use firewatch_core::Event;
use firewatch_core::input::{EventSink, InputError, ParseSummary};

/// Parses IntelMQ JSON lines, handing each event (or rejected line) to `sink`.
///
/// Blank lines are skipped. A line that is not UTF-8, not JSON, not an object, is an IntelMQ
/// message of another `__type` (a `Report`), or has fields that fail validation is rejected
/// with every offending field named. `__type: "Event"` (IntelMQ's internal format) is accepted
/// and dropped. Only an I/O error ends the parse early.
pub fn parse<R: BufRead>(
    input: R,
    file: &str,
    sink: &mut dyn EventSink,
) -> Result<ParseSummary, InputError> {
    crate::lines::parse_lines(input, file, sink, |text| line_to_event(text).map(Some))
}

fn line_to_event(text: &str) -> Result<Event, String> {
    let json: Json = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    if let Some(ty) = json.get("__type")
        && ty.as_str() != Some("Event")
    {
        return Err(format!(
            "__type: {ty} is not an IntelMQ Event (only events can be read)"
        ));
    }
    Event::from_json_value(&json).map_err(|e| e.to_string())
}

/// How events are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Write `tlp` with TLP 1.0 levels only, for IntelMQ (3.5 knows WHITE, GREEN, AMBER, RED):
    /// `CLEAR` becomes `WHITE` and `AMBER+STRICT` becomes `RED`. TLP 1.0 has no level for
    /// "the recipient's organisation only"; its `AMBER` also allows the organisation's clients,
    /// so the one level that never widens what the source allowed is `RED`. Lossy (reading the
    /// output back gives `RED`), never leaky. Default `false`: Firewatch's TLP 2.0 levels.
    pub intelmq_tlp_1: bool,
}

/// Writes `events` as IntelMQ JSON lines (one object per line, keys sorted, `\n` after each)
/// with Firewatch's TLP 2.0 levels. Returns the number of lines written.
///
/// See the module documentation for an example.
pub fn write<'a, W: Write>(events: impl IntoIterator<Item = &'a Event>, out: W) -> io::Result<u64> {
    write_with(events, out, &WriteOptions::default())
}

/// Writes `events` as IntelMQ JSON lines as [`write`] does, with `options`.
///
/// ```
/// use firewatch_core::Event;
/// use firewatch_feeds::intelmq_jsonl::{write_with, WriteOptions};
///
/// let mut event = Event::new();
/// event.set("tlp", "AMBER+STRICT").unwrap();
/// let mut out = Vec::new();
/// write_with([&event], &mut out, &WriteOptions { intelmq_tlp_1: true }).unwrap();
/// assert_eq!(out, b"{\"tlp\":\"RED\"}\n");
/// ```
pub fn write_with<'a, W: Write>(
    events: impl IntoIterator<Item = &'a Event>,
    out: W,
    options: &WriteOptions,
) -> io::Result<u64> {
    let mut out = io::BufWriter::new(out);
    let mut lines = 0;
    for event in events {
        if options.intelmq_tlp_1 {
            let mut json = event.to_json_value();
            if let Some(tlp) = json.get_mut("tlp") {
                let level = match tlp.as_str() {
                    Some("CLEAR") => Some("WHITE"),
                    // Never wider than the source allowed (see `WriteOptions`).
                    Some("AMBER+STRICT") => Some("RED"),
                    _ => None,
                };
                if let Some(level) = level {
                    *tlp = Json::from(level);
                }
            }
            serde_json::to_writer(&mut out, &json)?;
        } else {
            serde_json::to_writer(&mut out, event)?;
        }
        out.write_all(b"\n")?;
        lines += 1;
    }
    out.flush()?;
    Ok(lines)
}
