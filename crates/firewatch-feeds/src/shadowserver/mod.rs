//! Shadowserver CSV reports → harmonized events, driven by Shadowserver's report schema and
//! field-for-field compatible with IntelMQ's `ShadowserverParserBot`.
//!
//! Load the schema the user supplies ([`Schema::from_path`]), find the report type from the file
//! name ([`Schema::detect`]), then stream the CSV through [`parse`]. Each data row becomes one
//! [`Event`] with the fields, values and `extra.*` members IntelMQ 3.5 produces; a row IntelMQ
//! would fail on (or a ragged row, or bad UTF-8) is handed to [`EventSink::reject`] with its file,
//! line and byte offset, and the parse goes on.
//!
//! ```
//! use firewatch_feeds::shadowserver::{parse, ParseOptions, Schema};
//! use firewatch_core::Collected;
//!
//! let schema = Schema::from_json_str(r#"{"scan_dns": {"file_name": "scan_dns",
//!   "feed_name": "DNS-Open-Resolvers",
//!   "constant_fields": {"classification.type": "vulnerable-system"},
//!   "required_fields": [["time.source", "timestamp", "add_UTC_to_timestamp"],
//!                       ["source.ip", "ip", "validate_ip"], ["source.port", "port", "convert_int"]],
//!   "optional_fields": [["source.asn", "asn", "invalidate_zero"]]}}"#).unwrap();
//! let file = "2026-01-01-scan_dns-jp-geo.csv";
//! let report = schema.detect(file).unwrap();
//! let csv = "timestamp,ip,port,asn,dns_version\n2026-01-01 10:00:00,192.0.2.1,53,0,9.1\n";
//! let mut sink = Collected::default();
//! let summary = parse(csv.as_bytes(), file, report, &ParseOptions::default(), &mut sink).unwrap();
//! assert_eq!(summary.events, 1);
//! let event = &sink.events[0].0;
//! assert_eq!(event.get("source.port").unwrap().as_i64(), Some(53));
//! assert!(event.get("source.asn").is_none()); // invalidate_zero
//! assert_eq!(event.get("extra.dns_version").unwrap().to_json(), "9.1"); // unmapped column
//! assert_eq!(event.get("feed.name").unwrap().as_str(), Some("DNS-Open-Resolvers"));
//! ```

mod convert;
mod schema;

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use serde_json::Value as Json;

use firewatch_core::event::{Event, FieldError, Key, Value};
use firewatch_core::harmonization::{self, FieldSpec};
use firewatch_core::input::{
    EventSink, InputError, Location, MAX_RECORD_BYTES, ParseSummary, oversized_record,
};
use firewatch_core::sanitize::{self, Origin};

use convert::{Conversion, Converted, RowLookup};
pub use schema::{Mapping, Report, Schema, SchemaError, Target, UnknownReport};

/// How to parse one report file.
#[derive(Clone, Debug)]
pub struct ParseOptions {
    /// `time.observation` of every event: when the report was collected (IntelMQ copies it from
    /// the report message). `None` leaves the field unset.
    pub time_observation: Option<String>,
    /// `feed.name` of the incoming report. IntelMQ keeps the report's feed name when it has one;
    /// `None` uses the schema's feed name for the report (`DNS-Open-Resolvers`).
    pub feed_name: Option<String>,
    /// Put the Base64 of the header and the row in `raw`, as IntelMQ does (default `true`).
    pub keep_raw: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            time_observation: None,
            feed_name: None,
            keep_raw: true,
        }
    }
}

/// Where a mapped value goes, resolved once per file.
enum Dest {
    /// A harmonized field, with its spec.
    Field(&'static FieldSpec),
    /// `extra.<sub>` set directly as an event field (a required `extra.x` mapping).
    ExtraField,
    /// A member of the `extra` object (`extra.<column>` or the mapping's `extra.x`).
    Extra,
    /// A field name the harmonization does not know: IntelMQ puts the value in `extra`.
    Unknown,
    Ignore,
}

struct Step {
    required: bool,
    /// Index into the unique column names.
    col: usize,
    dest: Dest,
    /// The slot of the destination's field name in [`Plan::keys`].
    slot: usize,
    conversion: Result<Conversion, String>,
}

/// The column → field plan of one file: built from the header, used for every row.
///
/// Every field name a row can produce is known from the header, so each gets a slot: its index
/// in `keys`, which is sorted. A row fills slots and the event takes them in order, already
/// sorted, without building or comparing names per row.
struct Plan {
    /// Unique column names, and the CSV index whose value a name has (the last, as in a dict).
    names: Vec<String>,
    name_col: Vec<usize>,
    /// How often each unique name occurs in the header.
    init_count: Vec<u32>,
    by_name: HashMap<String, usize>,
    steps: Vec<Step>,
    /// Every field name a row can set, sorted and unique.
    keys: Vec<Key>,
    /// Fields every event starts with (feed.name, feed.documentation, time.observation).
    template: Vec<(usize, Value)>,
    /// Constant fields, validated, applied after the columns.
    constants: Vec<(usize, Value)>,
    /// The slot of `extra.<name>` for each unique column name.
    leftover_slot: Vec<usize>,
    /// The slot of `raw`.
    raw_slot: usize,
    /// `raw` prefix: the header as IntelMQ writes it back (all quoted) and the line ending.
    raw_prefix: Vec<u8>,
    /// Base64 of the longest part of `raw_prefix` whose length is a multiple of 3, and the
    /// bytes after it: each row only encodes those and its own line.
    raw_prefix_b64: Vec<u8>,
    raw_prefix_tail: Vec<u8>,
    width: usize,
}

/// Collects field names while a plan is built and hands out their slots once sorted.
#[derive(Default)]
struct KeySet {
    keys: Vec<Key>,
}

impl KeySet {
    fn add(&mut self, key: Key) {
        self.keys.push(key);
    }
    fn finish(mut self) -> Vec<Key> {
        self.keys.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        self.keys.dedup_by(|a, b| a.as_str() == b.as_str());
        self.keys
    }
}

fn slot(keys: &[Key], name: &str) -> usize {
    keys.binary_search_by(|k| k.as_str().cmp(name))
        .expect("every field name of the plan has a slot")
}

fn extra_key(sub: &str) -> Key {
    Key::Shared(Arc::from(format!("extra.{sub}")))
}

/// Reads bytes for the CSV reader and keeps them until the parser is done with the record, so
/// that `raw` can carry the row's original text.
struct Tee<R> {
    inner: R,
    buf: Vec<u8>,
    /// Input offset of `buf[0]`.
    base: u64,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(out)?;
        self.buf.extend_from_slice(&out[..n]);
        Ok(n)
    }
}

impl<R> Tee<R> {
    fn span(&self, start: u64, end: u64) -> &[u8] {
        let s = (start.saturating_sub(self.base) as usize).min(self.buf.len());
        let e = (end.saturating_sub(self.base) as usize).min(self.buf.len());
        &self.buf[s..e.max(s)]
    }
    fn discard_before(&mut self, offset: u64) {
        let n = (offset.saturating_sub(self.base) as usize).min(self.buf.len());
        if n >= 64 * 1024 {
            self.buf.drain(..n);
            self.base += n as u64;
        }
    }
}

struct RowView<'a> {
    plan: &'a Plan,
    fields: &'a [&'a str],
}

impl RowLookup for RowView<'_> {
    fn column(&self, name: &str) -> Option<&str> {
        self.plan
            .by_name
            .get(name)
            .map(|&u| self.fields[self.plan.name_col[u]])
    }
}

fn quote_all(names: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(name.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    }
    out
}

fn sanitized(field: &str, value: &Json) -> Result<Value, FieldError> {
    if field.starts_with("extra.") {
        return Ok(Value::Json(value.clone()));
    }
    let spec = harmonization::event_field(field).ok_or_else(|| {
        FieldError::new(
            field,
            value,
            "is for an unknown field (not in the IntelMQ harmonization)",
        )
    })?;
    sanitize::sanitize(spec, value, Origin::Raw).map_err(|r| FieldError::new(field, value, r))
}

impl Plan {
    fn build(
        header: &[&str],
        eol: &[u8],
        report: &Report,
        options: &ParseOptions,
        at: &Location,
    ) -> Result<Plan, InputError> {
        let mut names: Vec<String> = Vec::new();
        let mut name_col = Vec::new();
        let mut init_count = Vec::new();
        let mut by_name = HashMap::new();
        for (i, &name) in header.iter().enumerate() {
            match by_name.get(name) {
                Some(&u) => {
                    name_col[u] = i;
                    init_count[u] += 1;
                }
                None => {
                    by_name.insert(name.to_owned(), names.len());
                    names.push(name.to_owned());
                    name_col.push(i);
                    init_count.push(1);
                }
            }
        }
        let missing: Vec<&str> = report
            .required_fields
            .iter()
            .filter(|m| !by_name.contains_key(&m.column))
            .map(|m| m.column.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(InputError::new(
                at.clone(),
                format!(
                    "the header lacks required column(s) {} of Shadowserver report {:?}",
                    missing.join(", "),
                    report.file_name
                ),
            ));
        }
        let mut keys = KeySet::default();
        // Steps with the name of the field they set; slots are given once all names are known.
        let mut steps = Vec::new();
        for (required, mapping) in report
            .required_fields
            .iter()
            .map(|m| (true, m))
            .chain(report.optional_fields.iter().map(|m| (false, m)))
        {
            let Some(&col) = by_name.get(&mapping.column) else {
                continue; // optional column absent: IntelMQ skips it
            };
            let (dest, key) = match &mapping.target {
                Target::Ignore => (Dest::Ignore, None),
                Target::ExtraColumn => (Dest::Extra, Some(extra_key(&mapping.column))),
                Target::Field(f) if !required && f.starts_with("extra.") => {
                    (Dest::Extra, Some(extra_key(&f["extra.".len()..])))
                }
                Target::Field(f) if f.starts_with("extra.") => {
                    if harmonization::is_extra_key(f) {
                        (Dest::ExtraField, Some(Key::Shared(Arc::from(f.as_str()))))
                    } else {
                        (Dest::Unknown, Some(extra_key(f)))
                    }
                }
                Target::Field(f) => match harmonization::event_field(f) {
                    Some(spec) if f != "extra" => (Dest::Field(spec), Some(Key::Static(spec.name))),
                    _ => (Dest::Unknown, Some(extra_key(f))),
                },
            };
            let conversion = match &mapping.conversion {
                None => Ok(Conversion::None),
                Some(name) => match Conversion::from_name(name) {
                    Some(c) if c.wants_row() == mapping.with_row => Ok(c),
                    Some(_) => Err(format!(
                        "conversion {name} called with the wrong arguments by the schema"
                    )),
                    // IntelMQ skips unknown conversions of optional columns.
                    None if !required => Ok(Conversion::None),
                    None => Err(format!("unknown conversion {name} in the schema")),
                },
            };
            if let Some(key) = &key {
                keys.add(key.clone());
            }
            steps.push((
                Step {
                    required,
                    col,
                    dest,
                    slot: 0,
                    conversion,
                },
                key,
            ));
        }
        let bad = |e: FieldError| InputError::new(at.clone(), format!("report setting: {e}"));
        let mut template = Vec::new();
        let feed_name = options.feed_name.as_deref().unwrap_or(&report.feed_name);
        template.push((
            Key::Static("feed.name"),
            sanitized("feed.name", &Json::from(feed_name)).map_err(bad)?,
        ));
        if let Some(url) = &report.url {
            template.push((
                Key::Static("feed.documentation"),
                sanitized("feed.documentation", &Json::from(url.as_str())).map_err(bad)?,
            ));
        }
        if let Some(t) = &options.time_observation {
            template.push((
                Key::Static("time.observation"),
                sanitized("time.observation", &Json::from(t.as_str())).map_err(bad)?,
            ));
        }
        let mut constants = Vec::new();
        for (field, value) in &report.constant_fields {
            if sanitize::is_absent(value) {
                continue;
            }
            constants.push((
                Key::from(field.as_str()),
                sanitized(field, value).map_err(bad)?,
            ));
        }
        let leftover: Vec<Key> = names.iter().map(|n| extra_key(n)).collect();
        for (key, _) in template.iter().chain(&constants) {
            keys.add(key.clone());
        }
        for key in &leftover {
            keys.add(key.clone());
        }
        keys.add(Key::Static("raw"));
        let keys = keys.finish();
        let steps = steps
            .into_iter()
            .map(|(mut step, key)| {
                if let Some(key) = key {
                    step.slot = slot(&keys, key.as_str());
                }
                step
            })
            .collect();
        let slotted = |list: Vec<(Key, Value)>| -> Vec<(usize, Value)> {
            list.into_iter()
                .map(|(k, v)| (slot(&keys, k.as_str()), v))
                .collect()
        };
        let template = slotted(template);
        let constants = slotted(constants);
        let leftover_slot = leftover.iter().map(|k| slot(&keys, k.as_str())).collect();
        let raw_slot = slot(&keys, "raw");
        let mut raw_prefix = quote_all(header);
        raw_prefix.extend_from_slice(eol);
        let whole = raw_prefix.len() - raw_prefix.len() % 3;
        let mut raw_prefix_b64 = Vec::new();
        sanitize::base64_encode_into(&mut raw_prefix_b64, &raw_prefix[..whole]);
        let raw_prefix_tail = raw_prefix[whole..].to_vec();
        Ok(Plan {
            names,
            name_col,
            init_count,
            by_name,
            steps,
            keys,
            template,
            constants,
            leftover_slot,
            raw_slot,
            raw_prefix,
            raw_prefix_b64,
            raw_prefix_tail,
            width: header.len(),
        })
    }
}

/// Per-file scratch space reused across rows.
#[derive(Default)]
struct Scratch {
    counts: Vec<u32>,
    /// The row's values, by slot.
    slots: Vec<Option<Value>>,
    /// Slots holding a member of `extra`: IntelMQ adds those last, so they win over fields set
    /// directly under the same name.
    pinned: Vec<bool>,
    raw: Vec<u8>,
}

/// IntelMQ's "no value" check (exact, before sanitising).
fn ignored(value: &Converted<'_>) -> bool {
    matches!(value.as_text(), Some("" | "-" | "N/A"))
}

/// Sanitises and validates a converted value for `spec`.
fn add(spec: &'static FieldSpec, value: &Converted<'_>) -> Result<Value, FieldError> {
    if spec.ty == harmonization::FieldType::Url
        && let Some(text) = value.as_text()
        && !url_has_netloc(text)
    {
        return Err(FieldError::new(
            spec.name,
            &value.to_json(),
            "is not a valid URL (no network location)",
        ));
    }
    let result = match value.as_text() {
        Some(text) => sanitize::sanitize_str(spec, text),
        None => sanitize::sanitize(spec, &value.to_json(), Origin::Raw),
    };
    result.map_err(|reason| FieldError::new(spec.name, &value.to_json(), reason))
}

/// IntelMQ's URL rule: after `scheme:` (if any) there must be `//` and a non-empty network
/// location (`file:` URLs excepted). IntelMQ does not add a missing `http://`.
fn url_has_netloc(text: &str) -> bool {
    let s = text.trim_matches(convert::py_space);
    let s = s
        .replace("hxxp://", "http://")
        .replace("hxxps://", "https://");
    let (scheme, rest) = match s.find(':') {
        Some(i)
            if s[..i].starts_with(|c: char| c.is_ascii_alphabetic())
                && s[..i]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) =>
        {
            (&s[..i], &s[i + 1..])
        }
        _ => ("", s.as_str()),
    };
    if scheme.eq_ignore_ascii_case("file") {
        return true;
    }
    rest.strip_prefix("//")
        .is_some_and(|r| !r.split(['/', '?', '#']).next().unwrap_or("").is_empty())
}

/// Turns one row into an event, or the reason IntelMQ would fail on it.
fn build_event(
    plan: &Plan,
    fields: &[&str],
    scratch: &mut Scratch,
    raw_line: Option<&[u8]>,
) -> Result<Event, String> {
    let Scratch {
        counts,
        slots,
        pinned,
        raw,
    } = scratch;
    slots.clear();
    slots.resize(plan.keys.len(), None);
    pinned.clear();
    pinned.resize(plan.keys.len(), false);
    for (slot, v) in &plan.template {
        slots[*slot] = Some(v.clone());
    }
    counts.clear();
    counts.extend_from_slice(&plan.init_count);
    let row = RowView { plan, fields };
    for step in &plan.steps {
        if counts[step.col] == 0 {
            counts[step.col] += 1; // a column used twice
        }
        let raw_value = fields[plan.name_col[step.col]];
        let conversion = step.conversion.as_ref().map_err(|e| e.clone())?;
        let value = convert::apply(*conversion, raw_value, &row)
            .map_err(|e| format!("column {}: {e}", plan.names[step.col]))?;
        let Some(value) = value else {
            if !step.required {
                counts[step.col] -= 1;
            }
            continue;
        };
        match &step.dest {
            Dest::Field(spec) => {
                if ignored(&value) {
                    counts[step.col] -= 1;
                    continue;
                }
                // (Harmonized names are never `extra.*`: no pinned slot here.)
                if slots[step.slot].is_some() {
                    return Err(format!("{}: set twice", spec.name));
                }
                match add(spec, &value) {
                    Ok(v) => {
                        slots[step.slot] = Some(v);
                        counts[step.col] -= 1;
                    }
                    Err(e) if step.required => return Err(e.to_string()),
                    Err(_) => {} // left over: goes to extra.<column> as text
                }
            }
            Dest::ExtraField => {
                if !ignored(&value) && !pinned[step.slot] {
                    slots[step.slot] = Some(Value::Json(value.to_json()));
                }
                counts[step.col] -= 1;
            }
            Dest::Extra | Dest::Unknown if !step.required => {
                slots[step.slot] = Some(Value::Json(value.to_json()));
                pinned[step.slot] = true;
                counts[step.col] -= 1;
            }
            Dest::Ignore if !step.required => counts[step.col] -= 1,
            // Required columns with a target IntelMQ cannot add: it warns and goes on.
            _ => counts[step.col] -= 1,
        }
    }
    for (slot, v) in &plan.constants {
        if !pinned[*slot] {
            slots[*slot] = Some(v.clone());
        }
    }
    if let Some(line) = raw_line
        && !pinned[plan.raw_slot]
    {
        slots[plan.raw_slot] = Some(Value::Text(raw_base64(plan, line, raw)));
    }
    for (u, &count) in counts.iter().enumerate() {
        if count > 0 {
            let value = fields[plan.name_col[u]];
            if !value.is_empty() {
                let slot = plan.leftover_slot[u];
                slots[slot] = Some(Value::Json(Json::String(value.to_owned())));
                pinned[slot] = true;
            }
        }
    }
    let mut out = Vec::with_capacity(plan.keys.len());
    for (key, slot) in plan.keys.iter().zip(slots.iter_mut()) {
        if let Some(v) = slot.take() {
            out.push((key.clone(), v));
        }
    }
    Ok(Event::from_sorted(out))
}

/// IntelMQ's `raw`: Base64 of the header and the row's line, as one text with Python's
/// whitespace trimmed from both ends.
fn raw_base64(plan: &Plan, line: &[u8], scratch: &mut Vec<u8>) -> String {
    // Common case: the prefix starts with a quote (nothing to trim at the start) and the line
    // keeps text after trimming its end, so only the line's end is trimmed and the prefix's
    // Base64 is reused.
    if plan.raw_prefix.first() == Some(&b'"')
        && let Ok(text) = std::str::from_utf8(line)
    {
        let text = text.trim_end_matches(convert::py_space);
        if !text.is_empty() {
            scratch.clear();
            scratch.extend_from_slice(&plan.raw_prefix_tail);
            scratch.extend_from_slice(text.as_bytes());
            let mut out =
                Vec::with_capacity(plan.raw_prefix_b64.len() + scratch.len().div_ceil(3) * 4);
            out.extend_from_slice(&plan.raw_prefix_b64);
            sanitize::base64_encode_into(&mut out, scratch);
            return String::from_utf8(out).expect("Base64 is ASCII");
        }
    }
    scratch.clear();
    scratch.extend_from_slice(&plan.raw_prefix);
    scratch.extend_from_slice(line);
    let text = std::str::from_utf8(scratch).unwrap_or_default();
    let text = text.trim_matches(convert::py_space);
    sanitize::base64_encode(text.as_bytes())
}

/// Empties a vector of string slices and gives its allocation a new lifetime (the standard
/// library collects a mapped `IntoIter` in place).
fn reuse<'b>(mut v: Vec<&str>) -> Vec<&'b str> {
    v.clear();
    v.into_iter().map(|_| "").collect()
}

/// The last physical line of a record (IntelMQ's `raw` carries only that line), without the
/// line ending.
fn last_line(record: &[u8]) -> &[u8] {
    let mut end = record.len();
    while end > 0 && matches!(record[end - 1], b'\r' | b'\n') {
        end -= 1;
    }
    let body = &record[..end];
    match body.iter().rposition(|&b| b == b'\n' || b == b'\r') {
        Some(i) => &body[i + 1..],
        None => body,
    }
}

/// Parses one Shadowserver CSV report of type `report`, streaming each row's event (or
/// rejection) to `sink`. `file` is the input's name for locations.
///
/// The header is read first: when it lacks a required column of the report, the whole file is
/// rejected (`Err`, at line 1). After that, problems are per row: a row with more or fewer
/// fields than the header, a row that is not UTF-8, or a row IntelMQ would fail on (a required
/// field that does not validate, a conversion that fails) is rejected with its location and the
/// parse continues. I/O errors end the parse with `Err`.
pub fn parse<R: Read>(
    input: R,
    file: &str,
    report: &Report,
    options: &ParseOptions,
    sink: &mut dyn EventSink,
) -> Result<ParseSummary, InputError> {
    let tee = Tee {
        inner: input,
        buf: Vec::with_capacity(128 * 1024),
        base: 0,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(64 * 1024)
        .from_reader(tee);
    let mut record = csv::ByteRecord::new();
    let mut summary = ParseSummary::default();
    let loc = |pos: &csv::Position| Location::new(file, pos.line(), pos.byte());
    let io_err = |e: csv::Error, at: Location| InputError::new(at, format!("cannot read: {e}"));

    // Header.
    let start = Location::new(file, 1, 0);
    match reader.read_byte_record(&mut record) {
        Ok(true) => {}
        Ok(false) => return Err(InputError::new(start, "empty file: no CSV header")),
        Err(e) => return Err(io_err(e, start)),
    }
    let header_pos = record
        .position()
        .cloned()
        .unwrap_or_else(csv::Position::new);
    let header_at = loc(&header_pos);
    let mut header: Vec<&str> = Vec::with_capacity(record.len());
    for (i, field) in record.iter().enumerate() {
        let mut field = std::str::from_utf8(field).map_err(|_| {
            InputError::new(
                header_at.clone(),
                format!("header column {} is not UTF-8", i + 1),
            )
        })?;
        if i == 0 {
            field = field.trim_start_matches('\u{feff}');
        }
        header.push(field);
    }
    let eol: &[u8] = {
        let end = reader.position().byte();
        let tee = reader.get_ref();
        let span = tee.span(header_pos.byte(), end + 1);
        let body_end = (end - header_pos.byte()) as usize;
        let tail = &span[..body_end.min(span.len())];
        if tail.ends_with(b"\r\n") {
            b"\r\n"
        } else if tail.ends_with(b"\n") {
            b"\n"
        } else if tail.ends_with(b"\r") {
            if span.get(body_end) == Some(&b'\n') {
                b"\r\n"
            } else {
                b"\r"
            }
        } else {
            b"\r\n"
        }
    };
    let plan = Plan::build(&header, eol, report, options, &header_at)?;
    drop(header);

    let mut scratch = Scratch::default();
    let mut at = Location::new(file, 0, 0);
    // Reused across rows without tying it to `record`'s borrow: emptied before each hand-back.
    let mut spare: Vec<&'static str> = Vec::with_capacity(plan.width);
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let at = Location::new(file, reader.position().line(), reader.position().byte());
                return Err(io_err(e, at));
            }
        }
        summary.records += 1;
        let pos = record
            .position()
            .cloned()
            .unwrap_or_else(csv::Position::new);
        at.line = pos.line();
        at.byte = pos.byte();
        let at = &at;
        let end = reader.position().byte();
        let reject = |sink: &mut dyn EventSink, summary: &mut ParseSummary, why: String| {
            summary.rejected += 1;
            sink.reject(InputError::new(at.clone(), why));
        };
        if record.as_slice().len() > MAX_RECORD_BYTES {
            reject(
                sink,
                &mut summary,
                oversized_record(record.as_slice().len()),
            );
            reader.get_mut().discard_before(end);
            continue;
        }
        if record.len() != plan.width {
            reject(
                sink,
                &mut summary,
                format!(
                    "{} fields where the header has {}",
                    record.len(),
                    plan.width
                ),
            );
            reader.get_mut().discard_before(end);
            continue;
        }
        let mut fields_ref: Vec<&str> = reuse(std::mem::take(&mut spare));
        let mut bad_utf8 = None;
        // One validation of the whole row; each field is then valid when it starts and ends on
        // character boundaries. Otherwise field by field, to name the bad one.
        let whole = std::str::from_utf8(record.as_slice()).ok();
        if let Some(whole) = whole
            && (0..record.len()).all(|i| {
                record.range(i).is_some_and(|r| {
                    whole.is_char_boundary(r.start) && whole.is_char_boundary(r.end)
                })
            })
        {
            fields_ref.extend((0..record.len()).map(|i| &whole[record.range(i).unwrap_or(0..0)]));
        } else {
            for (i, field) in record.iter().enumerate() {
                match std::str::from_utf8(field) {
                    Ok(s) => fields_ref.push(s),
                    Err(_) => {
                        bad_utf8 = Some(i);
                        break;
                    }
                }
            }
        }
        if let Some(i) = bad_utf8 {
            let column = plan.names[plan
                .name_col
                .iter()
                .position(|&c| c == i)
                .unwrap_or_default()]
            .clone();
            spare = reuse(fields_ref);
            reject(
                sink,
                &mut summary,
                format!("column {column} (field {}) is not valid UTF-8", i + 1),
            );
            reader.get_mut().discard_before(end);
            continue;
        }
        let raw_line = if options.keep_raw {
            Some(last_line(reader.get_ref().span(pos.byte(), end)))
        } else {
            None
        };
        let built = build_event(&plan, &fields_ref, &mut scratch, raw_line);
        spare = reuse(fields_ref);
        match built {
            Ok(event) => {
                summary.events += 1;
                sink.event(event, at);
            }
            Err(why) => reject(sink, &mut summary, why),
        }
        reader.get_mut().discard_before(end);
    }
    Ok(summary)
}
