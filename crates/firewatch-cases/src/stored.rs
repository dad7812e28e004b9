//! A case to and from the store's records ([`firewatch_store::cases`]).
//!
//! The timeline is the truth: a case is read back by replaying its stored entries through
//! the model's rules ([`Case::replay`]); the other rows (header, parties, tasks, links,
//! observables) are written from the model on every change, for listings and the visibility
//! query, and are never read back into the model.

use firewatch_store::cases::{
    CaseRecord, CaseStore, StoredCase, StoredCaseEntry, StoredLink, StoredObservable, StoredParty,
    StoredTask,
};
use jiff::Timestamp;

use crate::case::{Case, Entry};
use crate::error::CaseError;

/// The case as the store keeps it.
pub fn to_record(case: &Case) -> Result<CaseRecord, CaseError> {
    let secs = Timestamp::as_second;
    let timeline = case
        .timeline
        .iter()
        .map(|e| {
            Ok(StoredCaseEntry {
                seq: e.seq,
                at: secs(e.at),
                recorded_at: secs(e.recorded_at),
                actor: e.actor.clone(),
                kind: e.change.kind().to_owned(),
                doc: serde_json::to_string(&e.change).map_err(|err| CaseError::Corrupt {
                    case: case.id,
                    why: format!("entry {}: {err}", e.seq),
                })?,
            })
        })
        .collect::<Result<_, CaseError>>()?;
    Ok(CaseRecord {
        case: StoredCase {
            id: case.id,
            title: case.title.clone(),
            summary: case.summary.clone(),
            severity: case.severity.as_str().to_owned(),
            tlp: case.tlp.as_str().to_owned(),
            pap: case.pap.as_str().to_owned(),
            status: case.status.as_str().to_owned(),
            determination: case.determination.map(|d| d.as_str().to_owned()),
            coordinator: case.coordinator.clone(),
            opened_at: secs(case.opened_at),
            updated_at: secs(case.updated_at),
            closed_at: case.closed_at.map(secs),
        },
        parties: case
            .parties
            .iter()
            .map(|p| StoredParty {
                team: p.team.clone(),
                role: p.role.as_str().to_owned(),
                status: p.status.as_str().to_owned(),
                since: secs(p.since),
            })
            .collect(),
        tasks: case
            .tasks
            .iter()
            .map(|t| StoredTask {
                task: t.task,
                team: t.team.clone(),
                title: t.title.clone(),
                status: t.status.as_str().to_owned(),
                due: t.due.map(secs),
                updated_at: secs(t.updated_at),
            })
            .collect(),
        links: case
            .links
            .iter()
            .map(|l| StoredLink {
                kind: l.kind.as_str().to_owned(),
                key: l.key.clone(),
                team: l.team.clone(),
            })
            .collect(),
        observables: case
            .observables
            .iter()
            .map(|o| StoredObservable {
                kind: o.kind.as_str().to_owned(),
                value: o.value.clone(),
                team: o.team.clone(),
            })
            .collect(),
        timeline,
    })
}

/// The case a stored record's timeline replays to.
pub fn from_record(record: &CaseRecord) -> Result<Case, CaseError> {
    let id = record.case.id;
    let corrupt = |why: String| CaseError::Corrupt { case: id, why };
    let time = |s: i64| Timestamp::from_second(s).map_err(|e| corrupt(format!("time {s}: {e}")));
    let timeline = record
        .timeline
        .iter()
        .map(|e| {
            let change = serde_json::from_str(&e.doc)
                .map_err(|err| corrupt(format!("entry {}: {err}", e.seq)))?;
            Ok(Entry {
                seq: e.seq,
                at: time(e.at)?,
                recorded_at: time(e.recorded_at)?,
                actor: e.actor.clone(),
                change,
            })
        })
        .collect::<Result<Vec<_>, CaseError>>()?;
    Case::replay(id, timeline)
}

/// One stored case, read back; `None` when there is no case with this number.
pub fn load<S: CaseStore + ?Sized>(store: &S, id: u64) -> Result<Option<Case>, CaseError> {
    store.case(id)?.as_ref().map(from_record).transpose()
}

/// Stores a case whose last `appended` timeline entries are new, in one transaction, and
/// gives a new case its number. Refused, with nothing written, when the stored case changed
/// since it was read.
pub fn commit<S: CaseStore + ?Sized>(
    store: &mut S,
    case: &mut Case,
    appended: usize,
) -> Result<u64, CaseError> {
    let id = store.commit_case(&to_record(case)?, appended)?;
    case.id = id;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::tests::{case, t};
    use crate::vocab::PartyStatus;
    use firewatch_store::SqliteStore;

    #[test]
    fn a_case_reads_back_from_the_store_as_it_was_written() {
        let mut store = SqliteStore::open_in_memory().unwrap();
        let mut c = case();
        let n = c.timeline.len();
        let id = commit(&mut store, &mut c, n).unwrap();
        assert_eq!(load(&store, id).unwrap().unwrap(), c);
        let before = c.timeline.len();
        c.set_party_status("jp", PartyStatus::Acknowledged, &t(60))
            .unwrap();
        let appended = c.timeline.len() - before;
        commit(&mut store, &mut c, appended).unwrap();
        let back = load(&store, id).unwrap().unwrap();
        assert_eq!(back, c);
        assert_eq!(to_record(&back).unwrap(), store.case(id).unwrap().unwrap());
        assert!(load(&store, id + 1).unwrap().is_none());
    }
}
