//! Any CSV feed, read through a column mapping written in TOML: which column fills which IntelMQ
//! field, and which fields are constant for the whole feed.
//!
//! ```toml
//! name = "partner-scanners"      # becomes feed.name
//! delimiter = ","                 # one ASCII character; default ","
//! header = true                   # the first row names the columns; default true
//! skip_lines = 0                  # lines before the header (or the data); default 0
//! comment = "#"                   # rows starting with it are skipped; default none
//! [columns]                       # IntelMQ field = column name, or 1-based column number
//! "source.ip" = "ip"
//! "source.port" = 3
//! "time.source" = { column = "seen", format = "%Y-%m-%d %H:%M:%S" }
//! "extra.note" = "comment"
//! [constants]
//! "classification.type" = "scanner"
//! ```
//!
//! The mapping is checked when it is loaded ([`CsvMapping::from_toml_str`]); a column named in
//! the mapping but missing from the header is a fatal error of [`parse`].
//!
//! ```
//! use firewatch_feeds::csv_mapping::{self, CsvMapping};
//! use firewatch_core::Collected;
//!
//! let mapping = CsvMapping::from_toml_str(r#"
//!     name = "partner-scanners"
//!     [columns]
//!     "source.ip" = "ip"
//!     "time.source" = { column = "seen", format = "%d/%m/%Y %H:%M" }
//!     [constants]
//!     "classification.type" = "scanner"
//! "#).unwrap();
//! let csv = "ip,seen\n192.0.2.1,01/05/2024 12:30\n192.0.2.300,01/05/2024 12:31\n";
//! let mut sink = Collected::default();
//! let summary = csv_mapping::parse(csv.as_bytes(), "scan.csv", &mapping, &mut sink).unwrap();
//! assert_eq!((summary.records, summary.events, summary.rejected), (2, 1, 1));
//! let event = &sink.events[0].0;
//! assert_eq!(event.get("time.source").unwrap().as_str(), Some("2024-05-01T12:30:00+00:00"));
//! assert_eq!(event.get("classification.taxonomy").unwrap().as_str(), Some("information-gathering"));
//! assert_eq!(
//!     sink.errors[0].to_string(),
//!     r#"scan.csv: line 3 (byte 35): column "ip" (1): source.ip: "192.0.2.300" is not a valid IP address"#,
//! );
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::rc::Rc;

use serde::Deserialize;
use serde_json::Value as Json;

use firewatch_core::Event;
use firewatch_core::harmonization::{self, FieldType};
use firewatch_core::input::{
    EventSink, InputError, Location, MAX_RECORD_BYTES, ParseSummary, oversized_record,
};

/// A mapping that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// The text is not TOML, or not the mapping's shape (unknown keys, wrong types).
    #[error("CSV mapping: {0}")]
    Toml(#[from] toml::de::Error),
    /// The mapping is well-formed but wrong; every problem is listed.
    #[error("CSV mapping: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    name: String,
    #[serde(default = "default_delimiter")]
    delimiter: String,
    #[serde(default = "default_true")]
    header: bool,
    #[serde(default)]
    skip_lines: u64,
    #[serde(default)]
    comment: Option<String>,
    columns: BTreeMap<String, toml::Value>,
    #[serde(default)]
    constants: BTreeMap<String, toml::Value>,
}

fn default_delimiter() -> String {
    ",".to_owned()
}

fn default_true() -> bool {
    true
}

/// A column of the input: by header name or by 0-based position.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ColumnRef {
    Name(String),
    Index(usize),
}

#[derive(Clone, Debug)]
struct Column {
    field: String,
    column: ColumnRef,
    /// strftime format for date-time fields.
    format: Option<String>,
}

/// A checked CSV → event mapping; load it with [`CsvMapping::from_toml_str`].
#[derive(Clone, Debug)]
pub struct CsvMapping {
    name: String,
    delimiter: u8,
    header: bool,
    skip_lines: u64,
    comment: Option<u8>,
    columns: Vec<Column>,
    constants: Vec<(String, Json)>,
}

impl CsvMapping {
    /// Loads and checks a mapping: every field must be an IntelMQ field (or `extra.*`), every
    /// constant must pass validation, column numbers start at 1, named columns need
    /// `header = true`, `format` is only for date-time fields, a field is mapped once, and
    /// `feed.name` and `raw` are set by the parser. All problems are reported together.
    pub fn from_toml_str(text: &str) -> Result<CsvMapping, MappingError> {
        let raw: RawMapping = toml::from_str(text)?;
        let mut problems = Vec::new();
        let mut scratch = Event::new();
        if let Err(e) = scratch.set("feed.name", raw.name.as_str()) {
            problems.push(format!("name: {e}"));
        }
        let delimiter = single_ascii("delimiter", &raw.delimiter, &mut problems).unwrap_or(b',');
        let comment = raw
            .comment
            .as_deref()
            .and_then(|c| single_ascii("comment", c, &mut problems));
        if comment.is_some() && comment == Some(delimiter) {
            problems.push("comment: must differ from the delimiter".to_owned());
        }
        if raw.columns.is_empty() {
            problems.push("[columns] maps no column".to_owned());
        }
        let mut columns = Vec::new();
        for (field, spec) in &raw.columns {
            check_field(field, "[columns]", &mut problems);
            if let Some(column) = column_spec(field, spec, raw.header, &mut problems) {
                columns.push(column);
            }
        }
        let mut constants = Vec::new();
        for (field, value) in &raw.constants {
            if !check_field(field, "[constants]", &mut problems) {
                continue;
            }
            if raw.columns.contains_key(field) {
                problems.push(format!("{field} is both in [columns] and in [constants]"));
            }
            let json = toml_to_json(value);
            match scratch.set(field, json.clone()) {
                Ok(()) => constants.push((field.clone(), json)),
                Err(e) => problems.push(format!("[constants] {e}")),
            }
        }
        if !problems.is_empty() {
            return Err(MappingError::Invalid(problems));
        }
        Ok(CsvMapping {
            name: raw.name,
            delimiter,
            header: raw.header,
            skip_lines: raw.skip_lines,
            comment,
            columns,
            constants,
        })
    }

    /// The feed's name (`feed.name` of every event).
    pub fn name(&self) -> &str {
        &self.name
    }
}

fn single_ascii(key: &str, value: &str, problems: &mut Vec<String>) -> Option<u8> {
    match value.as_bytes() {
        [b] if b.is_ascii() && *b != b'\n' && *b != b'\r' && *b != b'"' => Some(*b),
        _ => {
            problems.push(format!(
                "{key}: {value:?} must be one ASCII character (not a quote or line break)"
            ));
            None
        }
    }
}

/// Whether `field` may be mapped; records a problem if not.
fn check_field(field: &str, table: &str, problems: &mut Vec<String>) -> bool {
    let ok = match field {
        "feed.name" => {
            problems.push(format!("{table} {field}: is set from the mapping's `name`"));
            return false;
        }
        "raw" => {
            problems.push(format!(
                "{table} {field}: is set by the parser (the row, Base64-encoded)"
            ));
            return false;
        }
        f if f.starts_with("extra.") => harmonization::is_extra_key(f),
        f => harmonization::event_field(f).is_some(),
    };
    if !ok {
        problems.push(format!(
            "{table} {field}: is not an IntelMQ field (see the harmonization; custom fields go under extra. in lowercase)"
        ));
    }
    ok
}

fn column_spec(
    field: &str,
    spec: &toml::Value,
    header: bool,
    problems: &mut Vec<String>,
) -> Option<Column> {
    let (column, format) = match spec {
        toml::Value::Table(table) => {
            for key in table.keys() {
                if key != "column" && key != "format" {
                    problems.push(format!(
                        "[columns] {field}: unknown key {key:?} (expected column, format)"
                    ));
                }
            }
            let Some(column) = table.get("column") else {
                problems.push(format!("[columns] {field}: has no `column`"));
                return None;
            };
            let format = match table.get("format") {
                None => None,
                Some(toml::Value::String(f)) => Some(f.clone()),
                Some(other) => {
                    problems.push(format!("[columns] {field}: format {other} is not a string"));
                    None
                }
            };
            (column, format)
        }
        other => (other, None),
    };
    let column = match column {
        toml::Value::String(name) if header => ColumnRef::Name(name.clone()),
        toml::Value::String(name) => {
            problems.push(format!(
                "[columns] {field}: column {name:?} is named but `header = false`; use its number"
            ));
            return None;
        }
        toml::Value::Integer(n) if *n >= 1 => ColumnRef::Index((*n - 1) as usize),
        other => {
            problems.push(format!(
                "[columns] {field}: {other} is neither a column name nor a column number (1, 2, …)"
            ));
            return None;
        }
    };
    if let Some(format) = &format {
        let is_date_time =
            harmonization::event_field(field).is_some_and(|spec| spec.ty == FieldType::DateTime);
        if !is_date_time {
            problems.push(format!(
                "[columns] {field}: `format` is only for date-time fields"
            ));
        } else {
            let probe = jiff::civil::date(2024, 5, 1).at(12, 30, 45, 0);
            if jiff::fmt::strtime::format(format.as_str(), probe).is_err() {
                problems.push(format!(
                    "[columns] {field}: format {format:?} is not a valid strftime format"
                ));
            }
        }
    }
    Some(Column {
        field: field.to_owned(),
        column,
        format,
    })
}

fn toml_to_json(value: &toml::Value) -> Json {
    match value {
        toml::Value::String(s) => Json::from(s.as_str()),
        toml::Value::Integer(i) => Json::from(*i),
        toml::Value::Float(x) => Json::from(*x),
        toml::Value::Boolean(b) => Json::Bool(*b),
        toml::Value::Datetime(dt) => Json::from(dt.to_string()),
        toml::Value::Array(items) => Json::Array(items.iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Json::Object(
            table
                .iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

/// The bytes the CSV reader has consumed and the parser has not yet passed, so that each row's
/// raw text can be recovered exactly as written.
struct Recorded {
    /// Absolute offset of `bytes[0]`.
    base: u64,
    bytes: Vec<u8>,
}

struct Tee<R> {
    inner: R,
    recorded: Rc<RefCell<Recorded>>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.recorded
            .borrow_mut()
            .bytes
            .extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

/// A mapped column resolved to a position in the rows.
struct Resolved<'a> {
    column: &'a Column,
    index: usize,
}

impl fmt::Display for Resolved<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column.column {
            ColumnRef::Name(name) => write!(f, "column {name:?} ({})", self.index + 1),
            ColumnRef::Index(i) => write!(f, "column {}", i + 1),
        }
    }
}

/// Parses CSV `input` with `mapping`, handing each event (or rejected row) to `sink`.
///
/// Rows that are not UTF-8, have a different number of fields than the header (or, without a
/// header, than the first row), or whose values fail validation are rejected with their line,
/// byte offset, and the field and column at fault. Each event gets the mapping's constants,
/// `feed.name`, `classification.taxonomy` from its type, and `raw`: the row as written (without
/// its line break), Base64-encoded.
///
/// Fatal errors: a header that lacks a mapped column (or names it twice), a header that is not
/// UTF-8, and I/O errors.
pub fn parse<R: Read>(
    input: R,
    file: &str,
    mapping: &CsvMapping,
    sink: &mut dyn EventSink,
) -> Result<ParseSummary, InputError> {
    let mut summary = ParseSummary::default();
    let mut reader = BufReader::new(input);
    let mut line = 1u64;
    let mut pos = 0u64;
    let io_error = |line: u64, pos: u64, e: io::Error| {
        InputError::new(Location::new(file, line, pos), format!("read error: {e}"))
    };
    let mut skipped = Vec::new();
    for _ in 0..mapping.skip_lines {
        skipped.clear();
        let n = reader
            .read_until(b'\n', &mut skipped)
            .map_err(|e| io_error(line, pos, e))?;
        if n == 0 {
            return Ok(summary);
        }
        pos += n as u64;
        line += 1;
    }
    let recorded = Rc::new(RefCell::new(Recorded {
        base: pos,
        bytes: Vec::new(),
    }));
    let base = pos;
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(mapping.delimiter)
        .has_headers(false)
        .flexible(true)
        .comment(mapping.comment)
        .from_reader(Tee {
            inner: reader,
            recorded: Rc::clone(&recorded),
        });

    let mut record = csv::ByteRecord::new();
    let mut resolved: Option<Vec<Resolved>> = None;
    let mut width: Option<usize> = None;
    let mut first = true;
    loop {
        let more = csv.read_byte_record(&mut record).map_err(|e| {
            InputError::new(Location::new(file, line, pos), format!("read error: {e}"))
        })?;
        if !more {
            break;
        }
        let end = base + csv.position().byte();
        // The row as written: skip the blank and comment lines the reader passed over.
        let (start_line, start, raw) = {
            let mut rec = recorded.borrow_mut();
            let from = (pos - rec.base) as usize;
            let to = (end - rec.base) as usize;
            let slice = &rec.bytes[from..to];
            let mut i = 0;
            while i < slice.len() {
                match slice[i] {
                    b'\n' => {
                        line += 1;
                        i += 1;
                    }
                    b'\r' => i += 1,
                    c if Some(c) == mapping.comment => {
                        match slice[i..].iter().position(|&b| b == b'\n') {
                            Some(nl) => {
                                i += nl + 1;
                                line += 1;
                            }
                            None => i = slice.len(),
                        }
                    }
                    _ => break,
                }
            }
            let row = &slice[i..];
            let start_line = line;
            line += row.iter().filter(|&&b| b == b'\n').count() as u64;
            let mut raw = row;
            while let [rest @ .., b'\n' | b'\r'] = raw {
                raw = rest;
            }
            let raw = raw.to_vec();
            let start = pos + i as u64;
            rec.bytes.drain(..to);
            rec.base = end;
            (start_line, start, raw)
        };
        pos = end;
        let location = Location::new(file, start_line, start);

        if first && mapping.header {
            first = false;
            resolved = Some(resolve_header(&record, mapping, &location)?);
            width = Some(record.len());
            continue;
        }
        first = false;
        summary.records += 1;
        let outcome = if raw.len() > MAX_RECORD_BYTES {
            Err(oversized_record(raw.len()))
        } else {
            row_event(&record, &raw, mapping, &mut resolved, &mut width)
        };
        match outcome {
            Ok(event) => {
                summary.events += 1;
                sink.event(event, &location);
            }
            Err(reason) => {
                summary.rejected += 1;
                sink.reject(InputError::new(location, reason));
            }
        }
    }
    Ok(summary)
}

fn resolve_header<'a>(
    record: &csv::ByteRecord,
    mapping: &'a CsvMapping,
    location: &Location,
) -> Result<Vec<Resolved<'a>>, InputError> {
    let mut names = Vec::with_capacity(record.len());
    for (i, cell) in record.iter().enumerate() {
        let cell = if i == 0 {
            cell.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(cell)
        } else {
            cell
        };
        let name = std::str::from_utf8(cell).map_err(|_| {
            InputError::new(
                location.clone(),
                format!("header: column {} is not valid UTF-8", i + 1),
            )
        })?;
        names.push(name.trim());
    }
    let mut problems = Vec::new();
    let mut resolved = Vec::new();
    for column in &mapping.columns {
        match &column.column {
            ColumnRef::Name(name) => {
                let found: Vec<usize> = names
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| **n == name.as_str())
                    .map(|(i, _)| i)
                    .collect();
                match found.as_slice() {
                    [index] => resolved.push(Resolved {
                        column,
                        index: *index,
                    }),
                    [] => problems.push(format!("no column {name:?} (mapped to {})", column.field)),
                    many => problems.push(format!(
                        "column {name:?} (mapped to {}) appears {} times",
                        column.field,
                        many.len()
                    )),
                }
            }
            ColumnRef::Index(index) if *index < names.len() => resolved.push(Resolved {
                column,
                index: *index,
            }),
            ColumnRef::Index(index) => problems.push(format!(
                "no column {} (mapped to {}); the header has {}",
                index + 1,
                column.field,
                names.len()
            )),
        }
    }
    if problems.is_empty() {
        Ok(resolved)
    } else {
        Err(InputError::new(
            location.clone(),
            format!(
                "header does not match the mapping {:?}: {}; the header's columns are {}",
                mapping.name,
                problems.join("; "),
                names
                    .iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
    }
}

fn row_event<'a>(
    record: &csv::ByteRecord,
    raw: &[u8],
    mapping: &'a CsvMapping,
    resolved: &mut Option<Vec<Resolved<'a>>>,
    width: &mut Option<usize>,
) -> Result<Event, String> {
    let expected = *width.get_or_insert(record.len());
    if record.len() != expected {
        return Err(format!(
            "row has {} fields, expected {expected}",
            record.len()
        ));
    }
    let Ok(raw) = std::str::from_utf8(raw) else {
        let bad = record
            .iter()
            .position(|cell| std::str::from_utf8(cell).is_err())
            .map(|i| format!(" (column {})", i + 1))
            .unwrap_or_default();
        return Err(format!("row is not valid UTF-8{bad}"));
    };
    if resolved.is_none() {
        // No header: numbered columns only (checked at load time).
        let mut columns = Vec::new();
        for column in &mapping.columns {
            if let ColumnRef::Index(index) = column.column {
                if index >= expected {
                    return Err(format!(
                        "no column {} (mapped to {}); rows have {expected} fields",
                        index + 1,
                        column.field
                    ));
                }
                columns.push(Resolved { column, index });
            }
        }
        // The width of the first row fixes it for all rows; safe to keep.
        *resolved = Some(columns);
    }
    let columns = resolved.as_ref().map(Vec::as_slice).unwrap_or_default();
    let mut event = Event::new();
    event
        .set("feed.name", mapping.name.as_str())
        .map_err(|e| e.to_string())?;
    for (field, value) in &mapping.constants {
        event
            .set(field, value.clone())
            .map_err(|e| format!("[constants] {e}"))?;
    }
    let mut errors = Vec::new();
    for r in columns {
        let cell = &record[r.index];
        let Ok(text) = std::str::from_utf8(cell) else {
            errors.push(format!("{r}: not valid UTF-8"));
            continue;
        };
        let value = match &r.column.format {
            Some(format) if !text.trim().is_empty() => match parse_time(text.trim(), format) {
                Ok(ts) => ts,
                Err(reason) => {
                    errors.push(format!(
                        "{r}: {}: {text:?} does not match the format {format:?} ({reason})",
                        r.column.field
                    ));
                    continue;
                }
            },
            _ => text.to_owned(),
        };
        if let Err(e) = event.set(&r.column.field, value) {
            errors.push(format!("{r}: {e}"));
        }
    }
    if !errors.is_empty() {
        return Err(errors.join("; "));
    }
    event.set("raw", raw).map_err(|e| e.to_string())?;
    event.fill_taxonomy();
    Ok(event)
}

/// Parses `text` with a strftime `format`; without an offset in the format, UTC is assumed.
fn parse_time(text: &str, format: &str) -> Result<String, String> {
    let tm = jiff::fmt::strtime::parse(format, text).map_err(|e| e.to_string())?;
    if let Ok(ts) = tm.to_timestamp() {
        return Ok(ts.to_string());
    }
    let dt = tm.to_datetime().map_err(|e| e.to_string())?;
    let ts = dt
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|e| e.to_string())?
        .timestamp();
    Ok(ts.to_string())
}
