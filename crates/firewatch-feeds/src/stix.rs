//! STIX 2.1 bundles from partners, read into events with their TLP.
//!
//! Every object of the bundle is validated; an invalid object is rejected with the JSON path
//! of the bad property (`objects[3].pattern: …`) and the rest are read. What becomes an event:
//!
//! - an object carrying Firewatch's property extension ([`FIREWATCH_EXTENSION`], written by
//!   `firewatch export stix` and the TAXII server): exactly the IntelMQ event it carries;
//! - an `observed-data`: its addresses, ports and transport (`network-traffic`), domain or
//!   URL, first observed as `time.source`;
//! - an `indicator` with a STIX pattern on an address, domain or URL (`[ipv4-addr:value =
//!   '192.0.2.1']`), valid from as `time.source`;
//! - any other object of a type Firewatch does not map (malware, threat actors, custom `x-`
//!   objects…): kept whole in `extra.stix_object` (with `extra.stix_type`, `extra.stix_id`,
//!   classification `undetermined`) and listed in [`BundleReport::unknown`].
//!
//! Structural objects (marking definitions, identities, extension definitions, relationships,
//! sightings, observables used by an observation) make no event of their own. The TLP of an
//! event is the most restrictive of its own `tlp` and the TLP markings of its object: the TLP
//! 2.0 marking definitions ([`TLP2_MARKINGS`]), the TLP 1.0 ones STIX 2.1 predefines
//! ([`TLP1_MARKINGS`], WHITE read as CLEAR), and `tlp` marking definitions in the bundle.
//!
//! ```
//! use firewatch_core::Collected;
//! use firewatch_feeds::stix;
//!
//! let bundle = r#"{"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
//!   "objects": [
//!     {"type": "indicator", "spec_version": "2.1",
//!      "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
//!      "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
//!      "indicator_types": ["malicious-activity"], "pattern_type": "stix",
//!      "pattern": "[ipv4-addr:value = '192.0.2.1']", "valid_from": "2026-01-01T00:00:00Z",
//!      "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]},
//!     {"type": "indicator", "spec_version": "2.1",
//!      "id": "indicator--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",
//!      "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
//!      "pattern_type": "stix", "pattern": "ipv4-addr:value = '192.0.2.2'",
//!      "valid_from": "2026-01-01T00:00:00Z"}
//!   ]}"#;
//! let mut sink = Collected::default();
//! let summary = stix::parse(bundle.as_bytes(), "partner.json", &mut sink).unwrap();
//! assert_eq!((summary.records, summary.events, summary.rejected), (2, 1, 1));
//! let event = &sink.events[0].0;
//! assert_eq!(event.get("source.ip").unwrap().as_str(), Some("192.0.2.1"));
//! assert_eq!(event.get("tlp").unwrap().as_str(), Some("GREEN"));
//! assert!(sink.errors[0].to_string().contains("objects[1].pattern: "));
//! ```

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value as Json};

use firewatch_core::Event;
use firewatch_core::input::{EventSink, InputError, Location, ParseSummary};

/// The extension definition of the TLP 2.0 marking definitions (OASIS,
/// cti-stix-common-objects, `extension-definition-specifications/tlp-2.0`).
pub const TLP2_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// The published TLP 2.0 marking definitions: (level as in the extension's `tlp_2_0`, id).
pub const TLP2_MARKINGS: [(&str, &str); 5] = [
    (
        "clear",
        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    ),
    (
        "green",
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    ),
    (
        "amber",
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    ),
    (
        "amber+strict",
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    ),
    (
        "red",
        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    ),
];

/// The TLP 1.0 marking definitions STIX 2.1 predefines (§7.2.1.4): (TLP 2.0 level they are
/// read as, id). WHITE is read as CLEAR.
pub const TLP1_MARKINGS: [(&str, &str); 4] = [
    (
        "clear",
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    ),
    (
        "green",
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    ),
    (
        "amber",
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    ),
    (
        "red",
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
    ),
];

/// Firewatch's property extension: `intelmq_event` holds the finding as one IntelMQ event.
pub const FIREWATCH_EXTENSION: &str = "extension-definition--a94db8ca-aaeb-4fa3-b075-cd71dc2081e7";

/// The `feed.name` of events read from STIX that name no feed of their own.
pub const FEED_NAME: &str = "STIX";

/// TLP 2.0 levels, least restrictive first, as the event field writes them.
const LEVELS: [&str; 5] = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"];

/// Cyber-observable types (no `spec_version`, `created` or `modified` required).
const OBSERVABLES: [&str; 18] = [
    "artifact",
    "autonomous-system",
    "directory",
    "domain-name",
    "email-addr",
    "email-message",
    "file",
    "ipv4-addr",
    "ipv6-addr",
    "mac-addr",
    "mutex",
    "network-traffic",
    "process",
    "software",
    "url",
    "user-account",
    "windows-registry-key",
    "x509-certificate",
];

/// What became of one object of the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It made an event.
    Event,
    /// It was read as part of other objects (markings, identities, observables, sightings…).
    Used,
    /// Its type is not mapped: it was kept whole in an event's `extra.stix_object`.
    Unknown,
    /// It is invalid: the path of the bad property and why.
    Rejected(String),
}

/// One object's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectOutcome {
    /// Position in `objects`.
    pub index: usize,
    /// The object's `id`, when it has a string one.
    pub id: Option<String>,
    /// The object's `type`, when it has a string one.
    pub object_type: Option<String>,
    /// The object's version (its `modified`, else its `created`), when it has one.
    pub version: Option<String>,
    pub outcome: Outcome,
}

/// Everything [`parse_report`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BundleReport {
    pub summary: ParseSummary,
    /// One entry per object, in bundle order.
    pub objects: Vec<ObjectOutcome>,
}

impl BundleReport {
    /// The objects kept raw because their type is not mapped: (path, type, id).
    pub fn unknown(&self) -> impl Iterator<Item = (String, &str, &str)> {
        self.objects
            .iter()
            .filter(|o| o.outcome == Outcome::Unknown)
            .map(|o| {
                (
                    format!("objects[{}]", o.index),
                    o.object_type.as_deref().unwrap_or_default(),
                    o.id.as_deref().unwrap_or_default(),
                )
            })
    }
}

/// Whether `input` is a JSON object whose `type` is `"bundle"` (how `feeds ingest` tells a
/// STIX bundle from JSON lines).
///
/// ```
/// assert!(firewatch_feeds::stix::is_bundle(br#"{"type": "bundle", "id": "x"}"#));
/// assert!(!firewatch_feeds::stix::is_bundle(b"{\"source.ip\": \"192.0.2.1\"}\n{}"));
/// ```
pub fn is_bundle(input: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Typed {
        #[serde(rename = "type")]
        object_type: Option<String>,
    }
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    serde_json::from_slice::<Typed>(input).is_ok_and(|t| t.object_type.as_deref() == Some("bundle"))
}

/// Reads a STIX 2.1 bundle, handing each event (or rejected object) to `sink`. `records`
/// counts objects. A bundle that is not JSON, not a bundle, or has no valid `id`/`objects`
/// is an error as a whole.
pub fn parse(
    input: &[u8],
    file: &str,
    sink: &mut dyn EventSink,
) -> Result<ParseSummary, InputError> {
    parse_report(input, file, sink).map(|r| r.summary)
}

/// As [`parse`], and says what became of every object.
pub fn parse_report(
    input: &[u8],
    file: &str,
    sink: &mut dyn EventSink,
) -> Result<BundleReport, InputError> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let text = std::str::from_utf8(input).map_err(|e| {
        let at = e.valid_up_to();
        InputError::new(
            location_at(file, input, at),
            "the bundle is not valid UTF-8",
        )
    })?;
    let whole_error = |path: &str, reason: &str| {
        InputError::new(Location::new(file, 1, 0), format!("{path}: {reason}"))
    };
    let top: Json = serde_json::from_str(text).map_err(|e| {
        let byte = byte_of(text, e.line(), e.column());
        InputError::new(
            Location::new(file, e.line().max(1) as u64, byte as u64),
            format!("not a STIX bundle: not valid JSON ({e})"),
        )
    })?;
    let Json::Object(mut top) = top else {
        return Err(whole_error(
            "(bundle)",
            "not a STIX bundle: not a JSON object",
        ));
    };
    match top.get("type") {
        Some(Json::String(t)) if t == "bundle" => {}
        Some(other) => return Err(whole_error("type", &format!("{other} is not \"bundle\""))),
        None => {
            return Err(whole_error(
                "type",
                "missing (a STIX bundle has type \"bundle\")",
            ));
        }
    }
    match top.get("id") {
        Some(Json::String(id)) if is_identifier(id, Some("bundle")) => {}
        Some(other) => {
            return Err(whole_error(
                "id",
                &format!("{other} is not a bundle id (bundle--<UUID>)"),
            ));
        }
        None => return Err(whole_error("id", "missing")),
    }
    // Taken, not cloned: a large envelope is held once.
    let raw_objects: Vec<Json> = match top.remove("objects") {
        None => Vec::new(),
        Some(Json::Array(items)) => items,
        Some(_) => return Err(whole_error("objects", "not an array of objects")),
    };
    let offsets = element_offsets(text, "objects")
        .filter(|o| o.len() == raw_objects.len())
        .unwrap_or_default();
    // Lines are counted once over the input, not from its start for every object.
    let mut lines = LineCounter::new(input);

    // Every object, validated, with where it starts.
    let objects: Vec<Checked> = raw_objects
        .into_iter()
        .enumerate()
        .map(|(i, value)| {
            let location = match offsets.get(i) {
                Some(&offset) => Location::new(file, lines.line_of(offset), offset as u64),
                None => Location::new(file, 1, 0),
            };
            let parsed = match value {
                Json::Object(map) => validate(i, &map).map(|()| map),
                _ => Err(format!("objects[{i}]: not an object")),
            };
            (location, parsed)
        })
        .collect();

    let context = Context::new(&objects);
    let mut report = BundleReport {
        summary: ParseSummary {
            records: objects.len() as u64,
            ..ParseSummary::default()
        },
        objects: Vec::with_capacity(objects.len()),
    };
    for (index, (location, parsed)) in objects.iter().enumerate() {
        let object = parsed.as_ref().ok();
        let id = object.and_then(|o| text_of(o, "id")).map(str::to_owned);
        let object_type = object.and_then(|o| text_of(o, "type")).map(str::to_owned);
        let version = object
            .and_then(|o| text_of(o, "modified").or_else(|| text_of(o, "created")))
            .map(str::to_owned);
        let outcome = match parsed {
            Err(reason) => Outcome::Rejected(reason.clone()),
            Ok(object) => match context.event_of(index, object) {
                Ok(Some((event, outcome))) => {
                    sink.event(event, location);
                    report.summary.events += 1;
                    outcome
                }
                Ok(None) => Outcome::Used,
                Err(reason) => Outcome::Rejected(reason),
            },
        };
        if let Outcome::Rejected(reason) = &outcome {
            report.summary.rejected += 1;
            sink.reject(InputError::new(location.clone(), reason.clone()));
        }
        report.objects.push(ObjectOutcome {
            index,
            id,
            object_type,
            version,
            outcome,
        });
    }
    Ok(report)
}

/// An object of the bundle, where it starts, and the object if it is valid (else why not).
type Checked = (Location, Result<Map<String, Json>, String>);

/// Line numbers of ascending byte offsets, counted in one pass over the input.
struct LineCounter<'a> {
    input: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(input: &'a [u8]) -> Self {
        LineCounter {
            input,
            offset: 0,
            line: 1,
        }
    }

    /// The 1-based line of `offset`; offsets must not decrease between calls.
    fn line_of(&mut self, offset: usize) -> u64 {
        let offset = offset.min(self.input.len()).max(self.offset);
        self.line += self.input[self.offset..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        self.offset = offset;
        self.line
    }
}

/// The byte offsets of the elements of the array under `key` of the top-level object: a
/// scan that skips strings and tracks depth, so that each object's location can be told
/// without a second parser.
fn element_offsets(text: &str, key: &str) -> Option<Vec<usize>> {
    let b = text.as_bytes();
    let mut depth = 0usize;
    let mut last_string: Option<&str> = None;
    let mut key_pending = false;
    let mut inside = false;
    let mut expect_element = false;
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if expect_element && !c.is_ascii_whitespace() {
            if c != b']' {
                out.push(i);
            }
            expect_element = false;
        }
        match c {
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                if depth == 1 {
                    last_string = text.get(start..i.min(b.len()));
                }
            }
            b':' if depth == 1 => key_pending = last_string == Some(key),
            b'{' | b'[' => {
                depth += 1;
                if c == b'[' && depth == 2 && key_pending {
                    inside = true;
                    expect_element = true;
                }
                key_pending = false;
            }
            b'}' | b']' => {
                if inside && depth == 2 && c == b']' {
                    return Some(out);
                }
                depth = depth.saturating_sub(1);
            }
            b',' if inside && depth == 2 => expect_element = true,
            _ => {}
        }
        i += 1;
    }
    None
}

/// The line and byte of `offset` in `input`.
fn location_at(file: &str, input: &[u8], offset: usize) -> Location {
    let offset = offset.min(input.len());
    let line = input[..offset].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    Location::new(file, line, offset as u64)
}

/// The byte offset of a 1-based line and column (serde_json's error position).
fn byte_of(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (line_start + column.saturating_sub(1)).min(text.len())
}

fn text_of<'a>(object: &'a Map<String, Json>, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Json::as_str)
}

// ---------------------------------------------------------------------------------------------
// Validation: the properties Firewatch reads, with the path of the first bad one.

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// `type--UUID`, of `expected` type when given.
fn is_identifier(s: &str, expected: Option<&str>) -> bool {
    match s.split_once("--") {
        Some((t, uuid)) => is_type_name(t) && expected.is_none_or(|e| e == t) && is_uuid(uuid),
        None => false,
    }
}

fn is_type_name(t: &str) -> bool {
    (3..=250).contains(&t.len())
        && t.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && !t.starts_with('-')
        && !t.ends_with('-')
        && !t.contains("--")
}

fn is_timestamp(s: &str) -> bool {
    s.ends_with('Z') && s.parse::<jiff::Timestamp>().is_ok()
}

struct Check<'a> {
    index: usize,
    object: &'a Map<String, Json>,
}

impl Check<'_> {
    fn fail(&self, property: &str, reason: impl std::fmt::Display) -> String {
        format!("objects[{}].{property}: {reason}", self.index)
    }

    fn shown(value: &Json) -> String {
        let mut s = value.to_string();
        if s.chars().count() > 80 {
            s = s.chars().take(77).collect::<String>() + "...";
        }
        s
    }

    fn string(&self, property: &str, required: bool) -> Result<Option<&str>, String> {
        match self.object.get(property) {
            None if required => Err(self.fail(property, "missing")),
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(s)),
            Some(other) => {
                Err(self.fail(property, format!("{} is not a string", Self::shown(other))))
            }
        }
    }

    fn timestamp(&self, property: &str, required: bool) -> Result<(), String> {
        if let Some(s) = self.string(property, required)?
            && !is_timestamp(s)
        {
            return Err(self.fail(
                property,
                format!("{s:?} is not a STIX timestamp (RFC 3339 in UTC, ending in Z)"),
            ));
        }
        Ok(())
    }

    fn reference(
        &self,
        property: &str,
        required: bool,
        of_type: Option<&str>,
    ) -> Result<(), String> {
        if let Some(s) = self.string(property, required)?
            && !is_identifier(s, of_type)
        {
            return Err(self.fail(property, format!("{s:?} is not an identifier")));
        }
        Ok(())
    }

    fn references(
        &self,
        property: &str,
        required: bool,
        of_type: Option<&str>,
    ) -> Result<(), String> {
        match self.object.get(property) {
            None if required => Err(self.fail(property, "missing")),
            None => Ok(()),
            Some(Json::Array(items)) if !items.is_empty() => {
                for (j, item) in items.iter().enumerate() {
                    if !item.as_str().is_some_and(|s| is_identifier(s, of_type)) {
                        return Err(self.fail(
                            &format!("{property}[{j}]"),
                            format!("{} is not an identifier", Self::shown(item)),
                        ));
                    }
                }
                Ok(())
            }
            Some(other) => Err(self.fail(
                property,
                format!(
                    "{} is not a non-empty list of identifiers",
                    Self::shown(other)
                ),
            )),
        }
    }

    fn integer(
        &self,
        property: &str,
        required: bool,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<(), String> {
        match self.object.get(property) {
            None if required => Err(self.fail(property, "missing")),
            None => Ok(()),
            Some(v) if v.as_i64().is_some_and(|n| range.contains(&n)) => Ok(()),
            Some(other) => Err(self.fail(
                property,
                format!(
                    "{} is not an integer in {}..={}",
                    Self::shown(other),
                    range.start(),
                    range.end()
                ),
            )),
        }
    }
}

fn validate(index: usize, object: &Map<String, Json>) -> Result<(), String> {
    let c = Check { index, object };
    let object_type = c.string("type", true)?.unwrap_or_default();
    if !is_type_name(object_type) {
        return Err(c.fail("type", format!("{object_type:?} is not a STIX type name")));
    }
    let id = c.string("id", true)?.unwrap_or_default();
    if !is_identifier(id, Some(object_type)) {
        return Err(c.fail(
            "id",
            format!("{id:?} is not an identifier of type {object_type}"),
        ));
    }
    let observable = OBSERVABLES.contains(&object_type);
    match c.string("spec_version", !observable)? {
        Some("2.1") | None => {}
        Some(other) => {
            return Err(c.fail("spec_version", format!("{other:?}: only STIX 2.1 is read")));
        }
    }
    if !observable {
        c.timestamp("created", true)?;
        c.timestamp("modified", object_type != "marking-definition")?;
        c.reference("created_by_ref", false, Some("identity"))?;
    }
    c.references("object_marking_refs", false, Some("marking-definition"))?;
    if let Some(ext) = object.get("extensions")
        && !ext.is_object()
    {
        return Err(c.fail("extensions", "not an object"));
    }
    match object_type {
        "indicator" => {
            c.string("pattern_type", true)?;
            c.timestamp("valid_from", true)?;
            c.timestamp("valid_until", false)?;
            let pattern = c.string("pattern", true)?.unwrap_or_default();
            if c.string("pattern_type", true)? == Some("stix")
                && let Err(why) = check_stix_pattern(pattern)
            {
                return Err(c.fail(
                    "pattern",
                    format!("{pattern:?} is not a STIX pattern: {why}"),
                ));
            }
        }
        "observed-data" => {
            c.timestamp("first_observed", true)?;
            c.timestamp("last_observed", true)?;
            c.integer("number_observed", true, 1..=999_999_999)?;
            c.references("object_refs", true, None)?;
        }
        "sighting" => {
            c.reference("sighting_of_ref", true, None)?;
            c.references("observed_data_refs", false, Some("observed-data"))?;
            c.references("where_sighted_refs", false, None)?;
            c.timestamp("first_seen", false)?;
            c.timestamp("last_seen", false)?;
        }
        "relationship" => {
            c.string("relationship_type", true)?;
            c.reference("source_ref", true, None)?;
            c.reference("target_ref", true, None)?;
        }
        "campaign" | "identity" => {
            c.string("name", true)?;
        }
        "note" => {
            c.string("content", true)?;
            c.references("object_refs", true, None)?;
        }
        "ipv4-addr" | "ipv6-addr" => {
            let value = c.string("value", true)?.unwrap_or_default();
            let ok = match value.split_once('/') {
                None => value.parse::<std::net::IpAddr>().is_ok(),
                Some((addr, len)) => {
                    addr.parse::<std::net::IpAddr>().is_ok() && len.parse::<u8>().is_ok()
                }
            };
            let family_ok = (object_type == "ipv4-addr") != value.contains(':');
            if !ok || !family_ok {
                return Err(c.fail(
                    "value",
                    format!("{value:?} is not an {object_type} address"),
                ));
            }
        }
        "domain-name" | "url" => {
            c.string("value", true)?;
        }
        "network-traffic" => {
            c.integer("src_port", false, 0..=65535)?;
            c.integer("dst_port", false, 0..=65535)?;
            c.reference("src_ref", false, None)?;
            c.reference("dst_ref", false, None)?;
            match object.get("protocols") {
                Some(Json::Array(p)) if !p.is_empty() && p.iter().all(Json::is_string) => {}
                Some(other) => {
                    return Err(c.fail(
                        "protocols",
                        format!("{} is not a non-empty list of strings", Check::shown(other)),
                    ));
                }
                None => return Err(c.fail("protocols", "missing")),
            }
        }
        _ => {}
    }
    Ok(())
}

/// A light check of STIX patterning: an observation expression in brackets, brackets
/// balanced outside string literals, literals closed. The full grammar (ANTLR) is the
/// validator's job; this catches what is not a pattern at all.
fn check_stix_pattern(pattern: &str) -> Result<(), &'static str> {
    let trimmed = pattern.trim_start_matches(|c: char| c == '(' || c.is_whitespace());
    if !trimmed.starts_with('[') {
        return Err("an observation expression starts with [");
    }
    let mut depth = 0i32;
    let mut in_string = false;
    let mut escaped = false;
    for ch in pattern.chars() {
        if in_string {
            match (escaped, ch) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '\'') => in_string = false,
                _ => {}
            }
            continue;
        }
        match ch {
            '\'' => in_string = true,
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth < 0 {
                    return Err("] without [");
                }
            }
            _ => {}
        }
    }
    if in_string {
        return Err("a string literal is not closed");
    }
    if depth != 0 {
        return Err("[ without ]");
    }
    Ok(())
}

/// The first `<object>:value = '<literal>'` comparison of a pattern on an address, domain or
/// URL, as (the event field, the value).
fn pattern_subject(pattern: &str) -> Option<(&'static str, String)> {
    for (object, field) in [
        ("ipv4-addr:value", "source.ip"),
        ("ipv6-addr:value", "source.ip"),
        ("domain-name:value", "source.fqdn"),
        ("url:value", "source.url"),
    ] {
        let Some(at) = pattern.find(object) else {
            continue;
        };
        let rest = pattern[at + object.len()..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix('\'') else {
            continue;
        };
        let mut value = String::new();
        let mut chars = rest.chars();
        while let Some(ch) = chars.next() {
            match ch {
                '\\' => value.extend(chars.next()),
                '\'' => return Some((field, value)),
                other => value.push(other),
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Mapping objects to events.

/// What the whole bundle says about each object: TLP of marking definitions, identity names,
/// objects by id, and the objects that only serve others.
struct Context<'a> {
    markings: HashMap<&'a str, usize>,
    identities: HashMap<&'a str, &'a str>,
    by_id: HashMap<&'a str, &'a Map<String, Json>>,
    /// Indicators and sightings that belong to an observation carrying a Firewatch event:
    /// the event is read once, from the observation.
    consumed: HashSet<&'a str>,
}

fn firewatch_event_of(object: &Map<String, Json>) -> Option<&Json> {
    object
        .get("extensions")?
        .get(FIREWATCH_EXTENSION)?
        .get("intelmq_event")
}

/// The level index in [`LEVELS`] of a marking definition id.
fn known_marking(id: &str) -> Option<usize> {
    let level = TLP2_MARKINGS
        .iter()
        .chain(TLP1_MARKINGS.iter())
        .find(|(_, known)| *known == id)?
        .0;
    level_index(level)
}

fn level_index(level: &str) -> Option<usize> {
    let level = if level.eq_ignore_ascii_case("white") {
        "clear"
    } else {
        level
    };
    LEVELS.iter().position(|l| l.eq_ignore_ascii_case(level))
}

impl<'a> Context<'a> {
    fn new(objects: &'a [Checked]) -> Context<'a> {
        let valid = || objects.iter().filter_map(|(_, o)| o.as_ref().ok());
        let mut context = Context {
            markings: HashMap::new(),
            identities: HashMap::new(),
            by_id: HashMap::new(),
            consumed: HashSet::new(),
        };
        for object in valid() {
            let (Some(id), Some(t)) = (text_of(object, "id"), text_of(object, "type")) else {
                continue;
            };
            context.by_id.insert(id, object);
            match t {
                "marking-definition" => {
                    let tlp2 = object
                        .get("extensions")
                        .and_then(|e| e.get(TLP2_EXTENSION))
                        .and_then(|e| e.get("tlp_2_0"))
                        .and_then(Json::as_str);
                    let tlp1 = (text_of(object, "definition_type") == Some("tlp"))
                        .then(|| object.get("definition").and_then(|d| d.get("tlp")))
                        .flatten()
                        .and_then(Json::as_str);
                    if let Some(level) = tlp2.or(tlp1).and_then(level_index) {
                        context.markings.insert(id, level);
                    }
                }
                "identity" => {
                    if let Some(name) = text_of(object, "name") {
                        context.identities.insert(id, name);
                    }
                }
                _ => {}
            }
        }
        for object in valid() {
            if text_of(object, "type") != Some("sighting") {
                continue;
            }
            let observed: Vec<&str> = object
                .get("observed_data_refs")
                .and_then(Json::as_array)
                .map(|refs| refs.iter().filter_map(Json::as_str).collect())
                .unwrap_or_default();
            let carried = observed.iter().any(|r| {
                context
                    .by_id
                    .get(r)
                    .is_some_and(|o| firewatch_event_of(o).is_some())
            });
            if carried && let Some(id) = text_of(object, "sighting_of_ref") {
                context.consumed.insert(id);
            }
        }
        context
    }

    /// The most restrictive TLP level of the object's markings, if any is a TLP marking.
    fn marking_level(&self, object: &Map<String, Json>) -> Option<usize> {
        object
            .get("object_marking_refs")?
            .as_array()?
            .iter()
            .filter_map(Json::as_str)
            .filter_map(|id| known_marking(id).or_else(|| self.markings.get(id).copied()))
            .max()
    }

    /// The event of object `index`, with its outcome; `None` for objects that make none.
    fn event_of(
        &self,
        index: usize,
        object: &Map<String, Json>,
    ) -> Result<Option<(Event, Outcome)>, String> {
        let object_type = text_of(object, "type").unwrap_or_default();
        let id = text_of(object, "id").unwrap_or_default();
        if let Some(carried) = firewatch_event_of(object) {
            // Exactly the event that was sent (the markings may only tighten its TLP).
            let path = format!("objects[{index}].extensions.{FIREWATCH_EXTENSION}.intelmq_event");
            let event = Event::from_json_value(carried).map_err(|e| format!("{path}: {e}"))?;
            return Ok(Some((self.finish(event, object, index)?, Outcome::Event)));
        }
        let mut event = {
            match object_type {
                "marking-definition"
                | "identity"
                | "extension-definition"
                | "relationship"
                | "sighting"
                | "language-content" => return Ok(None),
                // Addresses and traffic are read through the observations that use them.
                "autonomous-system" | "domain-name" | "email-addr" | "ipv4-addr" | "ipv6-addr"
                | "mac-addr" | "network-traffic" | "url" => return Ok(None),
                "indicator" if self.consumed.contains(id) => return Ok(None),
                "indicator" => match self.indicator_event(index, object)? {
                    Some(event) => event,
                    None => self.unknown_event(index, object)?,
                },
                "observed-data" => self.observation_event(index, object)?,
                _ => {
                    let event = self.unknown_event(index, object)?;
                    return Ok(Some((self.finish(event, object, index)?, Outcome::Unknown)));
                }
            }
        };
        if !event.contains("feed.name") {
            set(&mut event, index, "feed.name", FEED_NAME)?;
        }
        Ok(Some((self.finish(event, object, index)?, Outcome::Event)))
    }

    /// Applies the markings' TLP (the most restrictive of the event's and the markings') and
    /// the taxonomy.
    fn finish(
        &self,
        mut event: Event,
        object: &Map<String, Json>,
        index: usize,
    ) -> Result<Event, String> {
        let own = event
            .get("tlp")
            .and_then(|v| v.as_str())
            .and_then(level_index);
        let level = match (own, self.marking_level(object)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if let Some(level) = level {
            set(&mut event, index, "tlp", LEVELS[level])?;
        }
        event.fill_taxonomy();
        Ok(event)
    }

    fn provenance(
        &self,
        event: &mut Event,
        index: usize,
        object: &Map<String, Json>,
    ) -> Result<(), String> {
        if let Some(id) = text_of(object, "id") {
            set(event, index, "extra.stix_id", id)?;
        }
        if let Some(name) = text_of(object, "created_by_ref").and_then(|r| self.identities.get(r)) {
            set(event, index, "feed.provider", *name)?;
        }
        Ok(())
    }

    fn indicator_event(
        &self,
        index: usize,
        object: &Map<String, Json>,
    ) -> Result<Option<Event>, String> {
        if text_of(object, "pattern_type") != Some("stix") {
            return Ok(None);
        }
        let pattern = text_of(object, "pattern").unwrap_or_default();
        let Some((field, value)) = pattern_subject(pattern) else {
            return Ok(None);
        };
        let mut event = Event::new();
        set(&mut event, index, field, value.as_str())
            .map_err(|e| format!("objects[{index}].pattern: {e}"))?;
        let types: Vec<&str> = object
            .get("indicator_types")
            .and_then(Json::as_array)
            .map(|t| t.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default();
        let class = if types.contains(&"compromised") {
            "infected-system"
        } else if types
            .iter()
            .any(|t| matches!(*t, "malicious-activity" | "anonymization" | "attribution"))
        {
            "blacklist"
        } else {
            "undetermined"
        };
        set(&mut event, index, "classification.type", class)?;
        if let Some(from) = text_of(object, "valid_from") {
            set(&mut event, index, "time.source", from)?;
        }
        set(&mut event, index, "extra.stix_pattern", pattern)?;
        self.provenance(&mut event, index, object)?;
        Ok(Some(event))
    }

    fn observation_event(&self, index: usize, object: &Map<String, Json>) -> Result<Event, String> {
        let mut event = Event::new();
        set(&mut event, index, "classification.type", "undetermined")?;
        if let Some(first) = text_of(object, "first_observed") {
            set(&mut event, index, "time.source", first)?;
        }
        let refs: Vec<&str> = object
            .get("object_refs")
            .and_then(Json::as_array)
            .map(|r| r.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default();
        let address = |id: Option<&str>| -> Option<&str> {
            let o = self.by_id.get(id?)?;
            matches!(text_of(o, "type"), Some("ipv4-addr" | "ipv6-addr"))
                .then(|| text_of(o, "value"))
                .flatten()
        };
        for r in &refs {
            let Some(o) = self.by_id.get(r) else { continue };
            match text_of(o, "type") {
                Some("ipv4-addr" | "ipv6-addr") if !event.contains("source.ip") => {
                    let value = text_of(o, "value").unwrap_or_default();
                    let field = if value.contains('/') {
                        "source.network"
                    } else {
                        "source.ip"
                    };
                    set(&mut event, index, field, value)?;
                }
                Some("network-traffic") => {
                    if let Some(src) = address(text_of(o, "src_ref")) {
                        set(&mut event, index, "source.ip", src)?;
                    }
                    if let Some(dst) = address(text_of(o, "dst_ref")) {
                        set(&mut event, index, "destination.ip", dst)?;
                    }
                    for (port, field) in [
                        ("src_port", "source.port"),
                        ("dst_port", "destination.port"),
                    ] {
                        if let Some(n) = o.get(port).and_then(Json::as_i64) {
                            set(&mut event, index, field, n)?;
                        }
                    }
                    let transport = o
                        .get("protocols")
                        .and_then(Json::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Json::as_str)
                        .find(|p| matches!(*p, "tcp" | "udp" | "icmp" | "sctp"));
                    if let Some(t) = transport {
                        set(&mut event, index, "protocol.transport", t)?;
                    }
                }
                Some("domain-name") => {
                    set(
                        &mut event,
                        index,
                        "source.fqdn",
                        text_of(o, "value").unwrap_or_default(),
                    )?;
                }
                Some("url") => {
                    set(
                        &mut event,
                        index,
                        "source.url",
                        text_of(o, "value").unwrap_or_default(),
                    )?;
                }
                _ => {}
            }
        }
        if let Some(n) = object.get("number_observed").and_then(Json::as_i64) {
            set(&mut event, index, "extra.number_observed", n)?;
        }
        self.provenance(&mut event, index, object)?;
        Ok(event)
    }

    /// An object Firewatch does not map, kept whole.
    fn unknown_event(&self, index: usize, object: &Map<String, Json>) -> Result<Event, String> {
        let mut event = Event::new();
        let object_type = text_of(object, "type").unwrap_or_default();
        let id = text_of(object, "id").unwrap_or_default();
        let whole = Json::Object(object.clone());
        let fill = |event: &mut Event| -> Result<(), firewatch_core::FieldError> {
            event.set("classification.type", "undetermined")?;
            // The id keeps two unmapped objects from deduplicating into one.
            event.set("classification.identifier", id)?;
            event.set("feed.name", FEED_NAME)?;
            event.set("extra.stix_type", object_type)?;
            event.set("extra.stix_id", id)?;
            event.set("extra.stix_object", whole)?;
            if let Some(t) = text_of(object, "modified").or_else(|| text_of(object, "created")) {
                event.set("time.source", t)?;
            }
            Ok(())
        };
        fill(&mut event).map_err(|e| format!("objects[{index}]: {e}"))?;
        Ok(event)
    }
}

fn set(event: &mut Event, index: usize, field: &str, value: impl Into<Json>) -> Result<(), String> {
    event
        .set(field, value)
        .map_err(|e| format!("objects[{index}]: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use firewatch_core::Collected;

    fn bundle(objects: &str) -> String {
        format!(
            r#"{{"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": [{objects}]}}"#
        )
    }

    fn run(input: &str) -> (BundleReport, Collected) {
        let mut sink = Collected::default();
        let report = parse_report(input.as_bytes(), "b.json", &mut sink).unwrap();
        (report, sink)
    }

    #[test]
    fn not_bundles_are_refused_with_where() {
        let mut sink = Collected::default();
        for (input, expected) in [
            ("", "b.json: line 1 (byte 0): not a STIX bundle"),
            ("[1]", "not a STIX bundle: not a JSON object"),
            (r#"{"type": "x"}"#, r#"type: "x" is not "bundle""#),
            (
                r#"{"type": "bundle", "id": "bundle--1"}"#,
                "id: \"bundle--1\" is not a bundle id",
            ),
            (
                r#"{"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": 3}"#,
                "objects: not an array",
            ),
            ("{\n\"type\": \n", "line 3"),
        ] {
            let err = parse(input.as_bytes(), "b.json", &mut sink).unwrap_err();
            assert!(err.to_string().contains(expected), "{input:?}: {err}");
        }
    }

    #[test]
    fn bad_properties_are_named_by_path() {
        let cases = [
            (
                r#"{"type": "indicator", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "spec_version": "2.1", "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "pattern_type": "stix", "pattern": "[ipv4-addr:value = '1.2.3.4'", "valid_from": "2026-01-01T00:00:00Z"}"#,
                "objects[0].pattern: ",
            ),
            (
                r#"{"type": "indicator", "id": "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}"#,
                "objects[0].id: ",
            ),
            (
                r#"{"type": "ipv4-addr", "id": "ipv4-addr--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "value": "2001:db8::1"}"#,
                "objects[0].value: ",
            ),
            (
                r#"{"type": "observed-data", "id": "observed-data--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "spec_version": "2.1", "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "first_observed": "2026-01-01T00:00:00Z", "last_observed": "yesterday", "number_observed": 1, "object_refs": ["ipv4-addr--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]}"#,
                "objects[0].last_observed: ",
            ),
            (
                r#"{"type": "campaign", "id": "campaign--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "spec_version": "2.1", "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "name": "x", "object_marking_refs": ["tlp-red"]}"#,
                "objects[0].object_marking_refs[0]: ",
            ),
            ("7", "objects[0]: not an object"),
        ];
        for (object, expected) in cases {
            let (report, sink) = run(&bundle(object));
            assert_eq!(report.summary.rejected, 1, "{object}");
            assert!(
                sink.errors[0].reason.starts_with(expected),
                "{}",
                sink.errors[0]
            );
        }
    }

    #[test]
    fn unknown_types_are_kept_raw_and_reported() {
        let (report, sink) = run(&bundle(
            r#"{"type": "malware", "id": "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "spec_version": "2.1", "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "name": "Mirai", "is_family": true, "object_marking_refs": ["marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"]}"#,
        ));
        let unknown: Vec<_> = report.unknown().collect();
        assert_eq!(unknown.len(), 1);
        assert_eq!(unknown[0].1, "malware");
        let event = &sink.events[0].0;
        assert_eq!(
            event.get("extra.stix_object").unwrap().to_json()["name"],
            "Mirai"
        );
        assert_eq!(event.get("tlp").unwrap().as_str(), Some("RED"));
    }

    #[test]
    fn carried_events_come_back_exactly_once() {
        let carried = r#"{"source.ip": "192.0.2.7", "classification.type": "scanner", "tlp": "AMBER", "extra.owner": "cert-a"}"#;
        let objects = format!(
            r#"{{"type": "observed-data", "id": "observed-data--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "spec_version": "2.1", "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "first_observed": "2026-01-01T00:00:00Z", "last_observed": "2026-01-01T00:00:00Z", "number_observed": 1, "object_refs": ["ipv4-addr--8dded90c-40c0-545a-8027-5b212bb37e8e"], "object_marking_refs": ["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"], "extensions": {{"{FIREWATCH_EXTENSION}": {{"extension_type": "property-extension", "intelmq_event": {carried}}}}}}},
            {{"type": "ipv4-addr", "id": "ipv4-addr--8dded90c-40c0-545a-8027-5b212bb37e8e", "value": "192.0.2.7"}},
            {{"type": "indicator", "id": "indicator--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061", "spec_version": "2.1", "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "pattern_type": "stix", "pattern": "[ipv4-addr:value = '192.0.2.7']", "valid_from": "2026-01-01T00:00:00Z"}},
            {{"type": "sighting", "id": "sighting--1c7b5b88-8ff7-4a4d-aa9d-feb398cd0061", "spec_version": "2.1", "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "sighting_of_ref": "indicator--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061", "observed_data_refs": ["observed-data--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]}}"#
        );
        let (report, sink) = run(&bundle(&objects));
        assert_eq!(report.summary.events, 1, "{:?}", sink.errors);
        let mut expected = Event::from_intelmq_json(carried).unwrap();
        expected.fill_taxonomy();
        assert_eq!(sink.events[0].0, expected);
    }

    #[test]
    fn markings_tighten_never_loosen() {
        let carried = r#"{"source.ip": "192.0.2.7", "tlp": "GREEN"}"#;
        let object = format!(
            r#"{{"type": "note", "id": "note--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "spec_version": "2.1", "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "content": "x", "object_refs": ["identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"], "object_marking_refs": ["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"], "extensions": {{"{FIREWATCH_EXTENSION}": {{"extension_type": "property-extension", "intelmq_event": {carried}}}}}}}"#
        );
        let (_, sink) = run(&bundle(&object));
        assert_eq!(sink.events[0].0.get("tlp").unwrap().as_str(), Some("RED"));
    }

    #[test]
    fn locations_point_at_objects() {
        let input = format!("{}\n", bundle("\n{\"type\": 1}"));
        let (_, sink) = run(&input);
        assert_eq!(sink.errors[0].location.line, 2);
    }
}
