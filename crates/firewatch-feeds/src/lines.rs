//! Line-per-record inputs (JSON lines): the reading loop the line-based parsers share.

use std::io::BufRead;

use firewatch_core::Event;
use firewatch_core::input::{
    EventSink, InputError, Location, MAX_RECORD_BYTES, ParseSummary, oversized_record,
};

/// Reads a line-per-record input (JSON lines): skips blank lines and a leading byte-order mark,
/// rejects lines that are not UTF-8, and hands every other line, without its line ending, to
/// `record`, which returns the line's event (if it makes one) or why the line is rejected.
pub(crate) fn parse_lines<R: BufRead>(
    mut input: R,
    file: &str,
    sink: &mut dyn EventSink,
    mut record: impl FnMut(&str) -> Result<Option<Event>, String>,
) -> Result<ParseSummary, InputError> {
    let mut summary = ParseSummary::default();
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut byte = 0u64;
    loop {
        buf.clear();
        let start = byte;
        line_no += 1;
        let n = input.read_until(b'\n', &mut buf).map_err(|e| {
            InputError::new(
                Location::new(file, line_no, start),
                format!("read error: {e}"),
            )
        })?;
        if n == 0 {
            break;
        }
        byte += n as u64;
        let location = Location::new(file, line_no, start);
        let mut bytes = buf.as_slice();
        if line_no == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        if bytes.len() > MAX_RECORD_BYTES {
            summary.records += 1;
            summary.rejected += 1;
            sink.reject(InputError::new(location, oversized_record(bytes.len())));
            continue;
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            summary.records += 1;
            summary.rejected += 1;
            sink.reject(InputError::new(location, "line is not valid UTF-8"));
            continue;
        };
        let text = text.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        summary.records += 1;
        match record(text) {
            Ok(Some(event)) => {
                summary.events += 1;
                sink.event(event, &location);
            }
            Ok(None) => {}
            Err(reason) => {
                summary.rejected += 1;
                sink.reject(InputError::new(location, reason));
            }
        }
    }
    Ok(summary)
}
