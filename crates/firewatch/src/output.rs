//! Printing listings: aligned tables for people, JSON for programs.

use anyhow::Result;
use serde::Serialize;

/// `print!` to standard output, ending the process quietly when the reader went away.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout(), $($arg)*) {
            $crate::output::stdout_failed(e);
        }
    }};
}

/// `println!` to standard output, ending the process quietly when the reader went away.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            $crate::output::stdout_failed(e);
        }
    }};
}

/// Standard output failed. A closed pipe (`firewatch sources list | head -n1`) is the reader's
/// choice, not an error: exit 0 at once, as a tool killed by SIGPIPE would, with nothing
/// printed. Everything already committed stays committed; the store is crash-safe.
pub fn stdout_failed(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("firewatch: error: cannot write to standard output: {e}");
    std::process::exit(2);
}

/// Prints rows as pretty JSON.
pub fn json<T: Serialize>(rows: &T) -> Result<()> {
    outln!("{}", serde_json::to_string_pretty(rows)?);
    Ok(())
}

/// What a listing left out after its row limit: the footer [`limited_table`] prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rest {
    /// Every row is shown.
    None,
    /// Rows were cut; this many there are in all.
    Total(usize),
    /// Rows were cut; how many there are in all is not known cheaply.
    More,
}

impl Rest {
    /// What is left of `rows` after keeping the first `limit`, when all rows were read.
    pub fn cut<T>(rows: &mut Vec<T>, limit: usize) -> Rest {
        let total = rows.len();
        if total <= limit {
            return Rest::None;
        }
        rows.truncate(limit);
        Rest::Total(total)
    }

    /// The same for rows read with `limit + 1`: the extra row only tells that more exist.
    pub fn cut_probe<T>(rows: &mut Vec<T>, limit: usize) -> Rest {
        if rows.len() <= limit {
            return Rest::None;
        }
        rows.truncate(limit);
        Rest::More
    }
}

/// The footer of a table cut at its row limit, e.g. "… 50 of 2,385 rows shown; --limit N or
/// --json for all"; `None` when every row is shown.
pub fn rest_footer(shown: usize, rest: Rest) -> Option<String> {
    rest_footer_hint(shown, rest, "--limit N or --json for all")
}

/// The same footer with another hint, for a table whose rows are limited otherwise.
pub fn rest_footer_hint(shown: usize, rest: Rest, hint: &str) -> Option<String> {
    match rest {
        Rest::None => None,
        Rest::Total(total) => Some(format!(
            "… {} of {} rows shown; {hint}",
            thousands(shown),
            thousands(total)
        )),
        Rest::More => Some(format!(
            "… {} rows shown, more rows exist; {hint}",
            thousands(shown)
        )),
    }
}

/// 2385 as "2,385".
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Prints an aligned text table of every row.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    limited_table(headers, rows, Rest::None);
}

/// Prints an aligned text table, and on standard error what its row limit left out.
pub fn limited_table(headers: &[&str], rows: Vec<Vec<String>>, rest: Rest) {
    let footer = rest_footer(rows.len(), rest);
    footed_table(headers, rows, footer);
}

/// [`limited_table`] with another hint of how to see the rest.
pub fn limited_table_hint(headers: &[&str], rows: Vec<Vec<String>>, rest: Rest, hint: &str) {
    let footer = rest_footer_hint(rows.len(), rest, hint);
    footed_table(headers, rows, footer);
}

fn footed_table(headers: &[&str], rows: Vec<Vec<String>>, footer: Option<String>) {
    print_table(headers, rows);
    if let Some(footer) = footer {
        eprintln!("{footer}");
    }
}

fn print_table(headers: &[&str], rows: Vec<Vec<String>>) {
    if rows.is_empty() {
        outln!("(none)");
        return;
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        outln!("{}", parts.join("  ").trim_end());
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    for row in rows {
        line(row);
    }
}

/// Unix nanoseconds as RFC 3339 UTC, to the second.
pub fn ns_time(ns: i64) -> String {
    firewatch_core::time::format_unix(ns.div_euclid(1_000_000_000))
}

/// Unix seconds as RFC 3339 UTC.
pub fn s_time(s: i64) -> String {
    firewatch_core::time::format_unix(s)
}

/// A listing's JSON with its times for people and programs alike: each named field holding
/// Unix seconds becomes an RFC 3339 UTC string in place (its name says no unit), and each
/// `(field_ns, field)` pair adds `field` as RFC 3339 beside the nanoseconds (whose name says
/// so). Applied to an object or to every object of an array.
pub fn json_times(
    mut value: serde_json::Value,
    seconds: &[&str],
    nanos: &[(&str, &str)],
) -> serde_json::Value {
    use serde_json::Value;
    let fix = |o: &mut serde_json::Map<String, Value>| {
        for name in seconds {
            if let Some(v) = o.get_mut(*name)
                && let Some(s) = v.as_i64()
            {
                *v = Value::String(s_time(s));
            }
        }
        for (from, to) in nanos {
            let t = o.get(*from).map(|v| v.as_i64().map(ns_time));
            if let Some(t) = t {
                o.insert((*to).to_string(), t.map_or(Value::Null, Value::String));
            }
        }
    };
    match &mut value {
        Value::Array(rows) => rows
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .for_each(fix),
        Value::Object(o) => fix(o),
        _ => {}
    }
    value
}

#[cfg(test)]
mod tests {
    use super::{Rest, rest_footer, thousands};

    #[test]
    fn footers_count_with_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(2385), "2,385");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(
            rest_footer(50, Rest::Total(2385)).as_deref(),
            Some("… 50 of 2,385 rows shown; --limit N or --json for all")
        );
        assert_eq!(rest_footer(50, Rest::None), None);
        let mut rows = vec![1, 2, 3];
        assert_eq!(Rest::cut(&mut rows, 3), Rest::None);
        assert_eq!(Rest::cut(&mut rows, 2), Rest::Total(3));
        assert_eq!(Rest::cut_probe(&mut rows, 1), Rest::More);
        assert_eq!(rows, [1]);
    }
}
