//! Printing listings: aligned tables for people, JSON for programs.

use anyhow::Result;
use serde::Serialize;

/// Prints rows as pretty JSON.
pub fn json<T: Serialize>(rows: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(rows)?);
    Ok(())
}

/// Prints an aligned text table.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    if rows.is_empty() {
        println!("(none)");
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
        println!("{}", parts.join("  ").trim_end());
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
