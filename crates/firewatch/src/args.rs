//! Arguments several commands share: time bounds and the listing options.

use anyhow::Result;
use clap::Args;
use firewatch_core::TimeRange;
use firewatch_core::time::parse_time_bound;

/// Time bounds and output format shared by every listing.
#[derive(Debug, Args, Clone, Default)]
pub struct ListArgs {
    /// Only what happened at or after this time: RFC 3339, a date, Unix seconds, or an age (7d, 12h, 30m).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only what happened at or before this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// At most this many rows.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

/// Parses --since/--until.
pub fn time_range(since: Option<&str>, until: Option<&str>) -> Result<TimeRange> {
    let now = jiff::Timestamp::now();
    Ok(TimeRange {
        since: since.map(|s| parse_time_bound(s, now)).transpose()?,
        until: until.map(|s| parse_time_bound(s, now)).transpose()?,
    })
}

impl ListArgs {
    pub fn range(&self) -> Result<TimeRange> {
        time_range(self.since.as_deref(), self.until.as_deref())
    }
}

/// A `--country` value: an ISO 3166 alpha-2 code (two ASCII letters), upper-cased.
pub fn country_code(text: &str) -> Result<String, String> {
    let code = text.trim();
    if code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(code.to_ascii_uppercase())
    } else {
        Err(format!(
            "{text:?} is not a country code: give two letters (ISO 3166 alpha-2, e.g. JP)"
        ))
    }
}
