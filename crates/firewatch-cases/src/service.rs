//! Service levels: how soon, by a case's severity, a party should acknowledge and resolve;
//! which parties are past it (and whether they were reminded); and response figures per
//! group of parties (team, membership, month).
//!
//! A party's clock is the one [`party_figures`] reads: from when it was told, else from when
//! it became a party. The coordinator, parties that declined, and closed cases are never
//! overdue.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::case::{Case, Change};
use crate::figures::{PartyFigures, party_figures};
pub use crate::vocab::Due;
use crate::vocab::{PartyStatus, Role, Severity, Status};

/// How soon a party should answer, for one severity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Levels {
    /// Hours from being told to acknowledging.
    pub acknowledge_hours: f64,
    /// Hours from being told to being done.
    pub resolve_hours: f64,
}

/// `[cases.service_levels]`: per severity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceLevels {
    /// Low.
    pub low: Levels,
    /// Medium.
    pub medium: Levels,
    /// High.
    pub high: Levels,
    /// Critical.
    pub critical: Levels,
}

impl Default for ServiceLevels {
    /// FIRST's CSIRT Services Framework leaves the numbers to each team; these are common
    /// starting points (critical: 1 h and 1 day; low: 3 days and 30 days).
    fn default() -> Self {
        let l = |acknowledge_hours, resolve_hours| Levels {
            acknowledge_hours,
            resolve_hours,
        };
        ServiceLevels {
            low: l(72.0, 720.0),
            medium: l(24.0, 168.0),
            high: l(4.0, 72.0),
            critical: l(1.0, 24.0),
        }
    }
}

impl ServiceLevels {
    /// The levels of a severity.
    pub fn of(&self, severity: Severity) -> Levels {
        match severity {
            Severity::Low => self.low,
            Severity::Medium => self.medium,
            Severity::High => self.high,
            Severity::Critical => self.critical,
        }
    }
}

/// A party past its service level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Overdue {
    /// The case.
    pub case: u64,
    /// Its severity.
    pub severity: Severity,
    /// The party.
    pub team: String,
    /// What it is late with.
    pub due: Due,
    /// When its clock started.
    pub since: Timestamp,
    /// When it was due.
    pub deadline: Timestamp,
    /// Seconds past the deadline.
    pub late_secs: i64,
    /// Whether it was reminded of this deadline already.
    pub reminded: bool,
}

fn after(since: Timestamp, hours: f64) -> Timestamp {
    let secs = (hours * 3600.0).round() as i64;
    Timestamp::from_second(since.as_second().saturating_add(secs)).unwrap_or(since)
}

/// The parties of `case` past a deadline at `now`.
pub fn overdue(case: &Case, levels: &ServiceLevels, now: Timestamp) -> Vec<Overdue> {
    if case.status == Status::Closed {
        return Vec::new();
    }
    let level = levels.of(case.severity);
    party_figures(case)
        .into_iter()
        .filter(|f| f.role != Role::Coordinator && f.status != PartyStatus::Declined)
        .filter_map(|f| {
            let (due, hours) = if f.acknowledged_at.is_none() {
                (Due::Acknowledge, level.acknowledge_hours)
            } else if f.resolved_at.is_none() {
                (Due::Resolve, level.resolve_hours)
            } else {
                return None;
            };
            let deadline = after(f.since, hours);
            (now > deadline).then(|| Overdue {
                case: case.id,
                severity: case.severity,
                reminded: was_reminded(case, &f.team, due),
                team: f.team,
                due,
                since: f.since,
                deadline,
                late_secs: now.as_second() - deadline.as_second(),
            })
        })
        .collect()
}

/// Whether the timeline records a reminder of `team` for `due`.
pub fn was_reminded(case: &Case, team: &str, due: Due) -> bool {
    case.timeline.iter().any(
        |e| matches!(&e.change, Change::Reminded { team: t, due: d } if t == team && *d == due),
    )
}

/// Response figures of one group of parties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupStats {
    /// The group (a team, a membership, a month `2026-12`).
    pub group: String,
    /// Cases with a party in the group.
    pub cases: usize,
    /// Parties (a team in a case) in the group, the coordinator not counted.
    pub parties: usize,
    /// Of them, acknowledged.
    pub acknowledged: usize,
    /// Of them, done.
    pub resolved: usize,
    /// Median time to acknowledge, seconds.
    pub median_time_to_acknowledge_secs: Option<i64>,
    /// Median time to resolve, seconds.
    pub median_time_to_resolve_secs: Option<i64>,
    /// Of them, past a deadline now.
    pub overdue: usize,
}

/// Figures per group: `groups_of` names the groups a party falls in (its team, its team's
/// memberships, the month its case was opened).
pub fn group_stats(
    cases: &[Case],
    levels: &ServiceLevels,
    now: Timestamp,
    groups_of: impl Fn(&Case, &PartyFigures) -> Vec<String>,
) -> Vec<GroupStats> {
    use std::collections::{BTreeMap, BTreeSet};
    #[derive(Default)]
    struct Acc {
        cases: BTreeSet<u64>,
        parties: usize,
        acknowledged: usize,
        resolved: usize,
        tta: Vec<i64>,
        ttr: Vec<i64>,
        overdue: usize,
    }
    let mut by: BTreeMap<String, Acc> = BTreeMap::new();
    for case in cases {
        let late: BTreeSet<String> = overdue(case, levels, now)
            .into_iter()
            .map(|o| o.team)
            .collect();
        for f in party_figures(case) {
            if f.role == Role::Coordinator {
                continue;
            }
            for group in groups_of(case, &f) {
                let acc = by.entry(group).or_default();
                acc.cases.insert(case.id);
                acc.parties += 1;
                if let Some(s) = f.time_to_acknowledge_secs {
                    acc.acknowledged += 1;
                    acc.tta.push(s);
                }
                if let Some(s) = f.time_to_resolve_secs {
                    acc.resolved += 1;
                    acc.ttr.push(s);
                }
                acc.overdue += usize::from(late.contains(&f.team));
            }
        }
    }
    by.into_iter()
        .map(|(group, mut acc)| GroupStats {
            group,
            cases: acc.cases.len(),
            parties: acc.parties,
            acknowledged: acc.acknowledged,
            resolved: acc.resolved,
            median_time_to_acknowledge_secs: median(&mut acc.tta),
            median_time_to_resolve_secs: median(&mut acc.ttr),
            overdue: acc.overdue,
        })
        .collect()
}

/// The median (the lower of the two middle values for an even count).
fn median(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    Some(values[(values.len() - 1) / 2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::tests::{case, t};

    #[test]
    fn a_silent_party_is_overdue_once_past_its_level_and_reminded_once() {
        let mut c = case(); // high: acknowledge within 4 h
        c.set_party_status("jp", PartyStatus::Notified, &t(0))
            .unwrap();
        c.set_party_status("ke", PartyStatus::Notified, &t(0))
            .unwrap();
        c.set_party_status("jp", PartyStatus::Acknowledged, &t(3600))
            .unwrap();
        let levels = ServiceLevels::default();
        let at = |s: i64| t(s).at;
        assert!(overdue(&c, &levels, at(4 * 3600)).is_empty(), "not yet");
        let late = overdue(&c, &levels, at(4 * 3600 + 60));
        assert_eq!(late.len(), 1);
        assert_eq!(
            (late[0].team.as_str(), late[0].due),
            ("ke", Due::Acknowledge)
        );
        assert_eq!(late[0].late_secs, 60);
        assert!(!late[0].reminded);
        c.remind("ke", Due::Acknowledge, &t(4 * 3600 + 61)).unwrap();
        assert!(overdue(&c, &levels, at(5 * 3600))[0].reminded);
        assert!(
            c.remind("ke", Due::Acknowledge, &t(5 * 3600)).is_err(),
            "reminded once"
        );
        // JP acknowledged; it is due to resolve within 72 h of being told.
        let late = overdue(&c, &levels, at(73 * 3600));
        assert!(late.iter().any(|o| o.team == "jp" && o.due == Due::Resolve));
    }

    #[test]
    fn figures_per_group_count_parties_and_take_medians() {
        let mut c = case();
        c.set_party_status("jp", PartyStatus::Notified, &t(0))
            .unwrap();
        c.set_party_status("jp", PartyStatus::Acknowledged, &t(100))
            .unwrap();
        c.set_party_status("ke", PartyStatus::Notified, &t(0))
            .unwrap();
        c.set_party_status("ke", PartyStatus::Acknowledged, &t(300))
            .unwrap();
        c.set_party_status("ke", PartyStatus::Done, &t(900))
            .unwrap();
        let rows = group_stats(
            std::slice::from_ref(&c),
            &ServiceLevels::default(),
            t(1000).at,
            |_, f| vec![f.team.clone(), "all".into()],
        );
        let all = rows.iter().find(|r| r.group == "all").unwrap();
        assert_eq!((all.parties, all.acknowledged, all.resolved), (2, 2, 1));
        assert_eq!(all.median_time_to_acknowledge_secs, Some(100));
        assert_eq!(all.median_time_to_resolve_secs, Some(900));
        assert_eq!(rows.iter().filter(|r| r.group != "all").count(), 2);
    }
}
