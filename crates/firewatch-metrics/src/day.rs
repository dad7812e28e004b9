//! UTC calendar days and ISO weeks, without a time-zone database: metrics are per UTC day.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A UTC calendar day, counted in days since 1970-01-01.
///
/// ```
/// use firewatch_metrics::Day;
/// let d = Day::parse("2026-01-07").unwrap();
/// assert_eq!(d.to_string(), "2026-01-07");
/// assert_eq!(d.week_start().to_string(), "2026-01-05"); // the Monday of its ISO week
/// assert_eq!(Day::of_unix(d.start_unix() + 86_399), d);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i32);

impl Day {
    /// The day containing the Unix time `secs` (UTC).
    pub fn of_unix(secs: i64) -> Day {
        let d = secs.div_euclid(86_400);
        Day(d.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
    }

    /// Unix seconds at 00:00:00 UTC of this day.
    pub fn start_unix(self) -> i64 {
        i64::from(self.0) * 86_400
    }

    /// The Monday starting this day's ISO 8601 week (1970-01-01 was a Thursday).
    pub fn week_start(self) -> Day {
        Day(self.0 - (self.0 + 3).rem_euclid(7))
    }

    /// The next day.
    pub fn next(self) -> Day {
        Day(self.0.saturating_add(1))
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Result<Day, crate::MetricsError> {
        let bad = || crate::MetricsError::BadDay(s.to_owned());
        let mut parts = s.trim().splitn(3, '-');
        let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        let y: i64 = y.parse().map_err(|_| bad())?;
        let m: u32 = m.parse().map_err(|_| bad())?;
        let d: u32 = d.parse().map_err(|_| bad())?;
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
            return Err(bad());
        }
        Ok(Day(days_from_civil(y, m, d) as i32))
    }

    /// Year, month, day.
    pub fn civil(self) -> (i64, u32, u32) {
        civil_from_days(i64::from(self.0))
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's `days_from_civil` / `civil_from_days` (proleptic Gregorian calendar),
// http://howardhinnant.github.io/date_algorithms.html
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.civil();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Day, D::Error> {
        let s = String::deserialize(d)?;
        Day::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_days() {
        assert_eq!(Day(0).to_string(), "1970-01-01");
        assert_eq!(Day::parse("2000-02-29").unwrap().to_string(), "2000-02-29");
        assert!(Day::parse("2001-02-29").is_err());
        assert!(Day::parse("2026-13-01").is_err());
        assert!(Day::parse("26-01-01").is_err());
        assert_eq!(Day::of_unix(-1), Day(-1));
        // 2026-01-01 was a Thursday; its ISO week starts on Monday 2025-12-29.
        assert_eq!(
            Day::parse("2026-01-01").unwrap().week_start().to_string(),
            "2025-12-29"
        );
        assert_eq!(
            Day::parse("2026-01-05").unwrap().week_start().to_string(),
            "2026-01-05"
        );
        assert_eq!(
            Day::parse("2026-01-11").unwrap().week_start().to_string(),
            "2026-01-05"
        );
    }

    proptest! {
        #[test]
        fn display_and_parse_round_trip(n in 0i32..2_900_000) {
            let d = Day(n);
            prop_assert_eq!(Day::parse(&d.to_string()).unwrap(), d);
            let w = d.week_start();
            prop_assert!(w <= d && d.0 - w.0 < 7);
            prop_assert_eq!((w.0 + 3).rem_euclid(7), 0);
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,16}") {
            let _ = Day::parse(&s);
        }
    }
}
