//! Time as Firewatch stores it: whole seconds or nanoseconds since the Unix epoch, UTC.

use jiff::Timestamp;

/// Formats Unix seconds as RFC 3339 UTC (`2026-11-23T12:00:00Z`).
pub fn format_unix(secs: i64) -> String {
    Timestamp::from_second(secs)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| secs.to_string())
}

/// A time range in Unix seconds; either end open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TimeRange {
    /// The first second included, if bounded.
    pub since: Option<i64>,
    /// The last second included, if bounded.
    pub until: Option<i64>,
}

impl TimeRange {
    /// The lower bound, or the earliest representable second.
    pub fn since_or_min(&self) -> i64 {
        self.since.unwrap_or(i64::MIN)
    }
    /// The upper bound, or the latest representable second.
    pub fn until_or_max(&self) -> i64 {
        self.until.unwrap_or(i64::MAX)
    }
}

/// Why a time bound given on the command line could not be understood.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot read time {input:?}: expected RFC 3339 (2026-11-23T12:00:00Z), a date (2026-11-23), Unix seconds, or an age such as 7d, 12h, 30m"
)]
pub struct BadTime {
    pub input: String,
}

/// Parses a time bound: RFC 3339, a date (midnight UTC), Unix seconds, or an age before `now`
/// (`90s`, `30m`, `12h`, `7d`).
pub fn parse_time_bound(input: &str, now: Timestamp) -> Result<i64, BadTime> {
    let bad = || BadTime {
        input: input.to_string(),
    };
    let s = input.trim();
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t.as_second());
    }
    if let Ok(d) = s.parse::<jiff::civil::Date>() {
        return d
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp().as_second())
            .map_err(|_| bad());
    }
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    // An age: digits and one unit letter. Split on a character boundary (the input may end in
    // any character) and compute in checked arithmetic (the input may be huge).
    let mut chars = s.chars();
    let unit = chars.next_back().ok_or_else(bad)?;
    let n: i64 = chars.as_str().parse().map_err(|_| bad())?;
    let unit_secs: i64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return Err(bad()),
    };
    let secs = n
        .checked_mul(unit_secs)
        .and_then(|age| now.as_second().checked_sub(age))
        .ok_or_else(bad)?;
    // Only instants jiff can represent (years -9999..=9999).
    Timestamp::from_second(secs)
        .map(|t| t.as_second())
        .map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_documented_form() {
        let now: Timestamp = "2026-11-23T12:00:00Z".parse().unwrap();
        assert_eq!(
            parse_time_bound("2026-11-23T11:00:00Z", now).unwrap(),
            now.as_second() - 3600
        );
        assert_eq!(
            parse_time_bound("2026-11-23", now).unwrap(),
            now.as_second() - 12 * 3600
        );
        assert_eq!(
            parse_time_bound("7d", now).unwrap(),
            now.as_second() - 7 * 86400
        );
        assert_eq!(
            parse_time_bound("30m", now).unwrap(),
            now.as_second() - 1800
        );
        assert_eq!(parse_time_bound("1700000000", now).unwrap(), 1_700_000_000);
        assert!(parse_time_bound("yesterday", now).is_err());
        assert!(parse_time_bound("", now).is_err());
    }

    #[test]
    fn odd_input_is_an_error_never_a_panic() {
        let now: Timestamp = "2026-11-23T12:00:00Z".parse().unwrap();
        for input in [
            "7д",
            "\u{FF}\u{FE}",
            "é",
            "999999999h",
            "999999999999999999d",
            "-999999999999999999w",
            "9223372036854775807s",
            "1e9s",
            "d",
            " ",
        ] {
            assert!(parse_time_bound(input, now).is_err(), "{input:?}");
        }
        assert_eq!(
            parse_time_bound("2w", now).unwrap(),
            now.as_second() - 14 * 86400
        );
    }

    #[test]
    fn formats_utc() {
        assert_eq!(format_unix(0), "1970-01-01T00:00:00Z");
    }
}
