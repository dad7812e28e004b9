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

/// Prints an aligned text table.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) {
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
