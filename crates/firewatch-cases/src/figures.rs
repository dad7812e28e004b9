//! How long each party took: time to acknowledge and time to resolve, from the timeline.
//!
//! A party's clock starts when it was told (its first `notified`), or, if it never was
//! recorded as told, when it became a party. Time to acknowledge ends at its first
//! `acknowledged`, `acting` or `done`; time to resolve at its first `done`. A party that
//! declined has neither. Figures are whole seconds.

use jiff::Timestamp;
use serde::Serialize;

use crate::case::{Case, Change};
use crate::vocab::{PartyStatus, Role};

/// One party's response times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartyFigures {
    /// The party.
    pub team: String,
    /// Its part.
    pub role: Role,
    /// Where it stands now.
    pub status: PartyStatus,
    /// When its clock started: first told, else added.
    pub since: Timestamp,
    /// When it first acknowledged (or acted, or was done).
    pub acknowledged_at: Option<Timestamp>,
    /// When it was first done.
    pub resolved_at: Option<Timestamp>,
    /// Seconds from `since` to `acknowledged_at`.
    pub time_to_acknowledge_secs: Option<i64>,
    /// Seconds from `since` to `resolved_at`.
    pub time_to_resolve_secs: Option<i64>,
}

/// Every party's figures, in the order the parties were added, read from the timeline.
pub fn party_figures(case: &Case) -> Vec<PartyFigures> {
    case.parties
        .iter()
        .map(|party| {
            let mut added = None;
            let mut notified = None;
            let mut acknowledged = None;
            let mut resolved = None;
            for entry in &case.timeline {
                let status = match &entry.change {
                    Change::PartyAdded { team, status, .. } if *team == party.team => {
                        added = Some(entry.at);
                        *status
                    }
                    Change::PartyStatus { team, status } if *team == party.team => *status,
                    _ => continue,
                };
                if status == PartyStatus::Notified {
                    notified.get_or_insert(entry.at);
                }
                if status.acknowledges() {
                    acknowledged.get_or_insert(entry.at);
                }
                if status == PartyStatus::Done {
                    resolved.get_or_insert(entry.at);
                }
            }
            let since = notified.or(added).unwrap_or(party.since);
            let secs = |end: Option<Timestamp>| end.map(|e| e.as_second() - since.as_second());
            PartyFigures {
                team: party.team.clone(),
                role: party.role,
                status: party.status,
                since,
                acknowledged_at: acknowledged,
                resolved_at: resolved,
                time_to_acknowledge_secs: secs(acknowledged),
                time_to_resolve_secs: secs(resolved),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::tests::{case, t};

    #[test]
    fn clocks_start_when_told_and_stop_at_the_first_answer() {
        let mut c = case();
        c.set_party_status("jp", PartyStatus::Notified, &t(100))
            .unwrap();
        c.set_party_status("jp", PartyStatus::Seen, &t(400))
            .unwrap();
        c.set_party_status("jp", PartyStatus::Acting, &t(700))
            .unwrap();
        c.set_party_status("jp", PartyStatus::Done, &t(4_000))
            .unwrap();
        c.set_party_status("jp", PartyStatus::Acting, &t(5_000))
            .unwrap();
        c.set_party_status("jp", PartyStatus::Done, &t(9_000))
            .unwrap();
        // ke was never recorded as told: its clock runs from when it was added (t 0).
        c.set_party_status("ke", PartyStatus::Acknowledged, &t(50))
            .unwrap();
        let f = party_figures(&c);
        let by = |team: &str| f.iter().find(|p| p.team == team).unwrap().clone();
        let jp = by("jp");
        assert_eq!(jp.since, t(100).at);
        assert_eq!(jp.time_to_acknowledge_secs, Some(600));
        assert_eq!(
            jp.time_to_resolve_secs,
            Some(3_900),
            "the first done counts"
        );
        let ke = by("ke");
        assert_eq!(
            (ke.time_to_acknowledge_secs, ke.time_to_resolve_secs),
            (Some(50), None)
        );
        let coord = by("coord");
        assert_eq!(
            coord.time_to_acknowledge_secs,
            Some(0),
            "it opened the case"
        );
    }

    #[test]
    fn a_party_that_declined_has_no_figures() {
        let mut c = case();
        c.set_party_status("ke", PartyStatus::Declined, &t(30))
            .unwrap();
        let ke = party_figures(&c)
            .into_iter()
            .find(|p| p.team == "ke")
            .unwrap();
        assert_eq!((ke.acknowledged_at, ke.resolved_at), (None, None));
    }
}
