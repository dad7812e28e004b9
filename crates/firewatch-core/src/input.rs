//! What every feed parser shares: where a record came from, how a rejected record is reported,
//! and the sink that receives events one at a time.
//!
//! Parsers stream: they hand each event (or each rejection) to an [`EventSink`] as soon as it is
//! read, so a file of millions of rows never sits in memory and one bad row never stops the
//! rest. Only a fault that makes the whole file unreadable (a header that matches no known
//! report, say) ends the parse early, as an `Err` from the parser itself.

use std::fmt;

use crate::event::Event;

/// Where a record starts: the input's name as the user gave it, the 1-based line, and the byte
/// offset of that line from the start of the (decompressed) input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: u64,
    pub byte: u64,
}

impl Location {
    /// A location in `file`.
    pub fn new(file: impl Into<String>, line: u64, byte: u64) -> Self {
        Location {
            file: file.into(),
            line,
            byte,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: line {} (byte {})", self.file, self.line, self.byte)
    }
}

/// A record (or a whole input) that could not be read, with where and why.
///
/// Displays as `reports/2026-01-01-scan_dns.csv: line 7 (byte 912): source.port: "x" is not an
/// integer`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {reason}")]
pub struct InputError {
    pub location: Location,
    pub reason: String,
}

impl InputError {
    /// An error at `location`.
    pub fn new(location: Location, reason: impl Into<String>) -> Self {
        InputError {
            location,
            reason: reason.into(),
        }
    }
}

/// The largest record (a report row, a JSON line) a parser accepts, in bytes. No real report
/// row comes near it, and every stored event keeps its record as evidence (`raw`), so a larger
/// one is rejected with its place rather than stored at several times its size.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// Why a record over [`MAX_RECORD_BYTES`] is rejected.
pub fn oversized_record(len: usize) -> String {
    format!(
        "the record is {len} bytes, more than the {} KiB a record may be",
        MAX_RECORD_BYTES / 1024
    )
}

/// Receives a parser's output in input order.
pub trait EventSink {
    /// A valid event read from the record at `at`.
    fn event(&mut self, event: Event, at: &Location);
    /// A record that was rejected; the parse goes on with the next one.
    fn reject(&mut self, error: InputError);
}

/// Counts of one parse.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParseSummary {
    /// Records read (data rows or lines, not counting headers and blank lines).
    pub records: u64,
    /// Events handed to the sink (a record may yield zero or several).
    pub events: u64,
    /// Records rejected.
    pub rejected: u64,
}

/// A sink that keeps everything, for tests and small inputs.
#[derive(Debug, Default)]
pub struct Collected {
    pub events: Vec<(Event, Location)>,
    pub errors: Vec<InputError>,
}

impl EventSink for Collected {
    fn event(&mut self, event: Event, at: &Location) {
        self.events.push((event, at.clone()));
    }
    fn reject(&mut self, error: InputError) {
        self.errors.push(error);
    }
}
