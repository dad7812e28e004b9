//! PostgreSQL implementation of the cases area (issue 17): cross-border cases, as
//! [`crate::cases`] documents them.
//!
//! Two writers of one case: SQLite serialises them with an IMMEDIATE transaction; here a
//! commit locks the case's row (`SELECT ... FOR UPDATE`) before it counts the stored
//! timeline, so the second waits for the first and then finds the timeline moved on, and is
//! refused as SQLite refuses it. Two new cases wait for each other on the row of the case
//! number counter. The timeline is append-only by a trigger (schema/003_accounts.sql).

use std::collections::HashSet;

use postgres::{IsolationLevel, Row, Transaction};

use firewatch_core::TlpLevel;

use super::PgStore;
use super::identity::read;
use crate::cases::{
    CaseQuery, CaseRecord, StoredCase, StoredCaseEntry, StoredLink, StoredObservable, StoredParty,
    StoredTask,
};
use crate::{CaseStore, Result, StoreError};

const CASE_COLUMNS: &str = "id, title, summary, severity, tlp, pap, status, determination, \
     coordinator, opened_at, updated_at, closed_at";

const PARTY_COLUMNS: &str = "team, role, status, since";

/// A number the store takes as BIGINT, refused when it does not fit (as SQLite refuses to
/// bind it).
fn to_i64(v: u64, what: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::InvalidQuery(format!("{what} {v} is too large")))
}

fn to_u64(v: i64, what: &str) -> Result<u64> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} is negative: {v}")))
}

fn case_row(r: &Row) -> Result<StoredCase> {
    Ok(StoredCase {
        id: to_u64(r.try_get(0)?, "case id")?,
        title: r.try_get(1)?,
        summary: r.try_get(2)?,
        severity: r.try_get(3)?,
        tlp: r.try_get(4)?,
        pap: r.try_get(5)?,
        status: r.try_get(6)?,
        determination: r.try_get(7)?,
        coordinator: r.try_get(8)?,
        opened_at: r.try_get(9)?,
        updated_at: r.try_get(10)?,
        closed_at: r.try_get(11)?,
    })
}

/// A party from [`PARTY_COLUMNS`] starting at column `at`.
fn party_row(r: &Row, at: usize) -> Result<StoredParty> {
    Ok(StoredParty {
        team: r.try_get(at)?,
        role: r.try_get(at + 1)?,
        status: r.try_get(at + 2)?,
        since: r.try_get(at + 3)?,
    })
}

/// A slice's team as stored: '' for the whole case, so that it can be part of a key.
fn slice_key(team: &Option<String>) -> &str {
    team.as_deref().unwrap_or("")
}

fn slice_of(stored: String) -> Option<String> {
    (!stored.is_empty()).then_some(stored)
}

/// The visibility rule for team `$1` over case `c`, as SQLite's: a party sees its cases;
/// otherwise the TLP rule with the coordinator as owner and the parties as recipients, where
/// CLEAR and GREEN let every team read, AMBER and AMBER+STRICT the owner (a party anyway), RED
/// the recipients (the parties). The conformance suite holds it equal to core's `may_read`.
fn visible_sql() -> String {
    format!(
        "(EXISTS (SELECT 1 FROM case_parties AS p WHERE p.case_id = c.id AND p.team = $1) \
         OR c.tlp IN ('{}', '{}') \
         OR (c.tlp IN ('{}', '{}') AND c.coordinator = $1))",
        TlpLevel::Clear.as_str(),
        TlpLevel::Green.as_str(),
        TlpLevel::Amber.as_str(),
        TlpLevel::AmberStrict.as_str(),
    )
}

/// The (index, item) of each item whose key was not seen before: SQLite's INSERT OR IGNORE
/// keeps the first, at its place in the record.
fn first_of_each<'a, T, K: Eq + std::hash::Hash>(
    items: &'a [T],
    key: impl Fn(&'a T) -> K,
) -> Vec<(i64, &'a T)> {
    let mut seen = HashSet::new();
    items
        .iter()
        .enumerate()
        .filter(|(_, item)| seen.insert(key(item)))
        .map(|(i, item)| (i as i64, item))
        .collect()
}

/// Replaces the case's rows (header, parties, tasks, links, observables) with the record's.
fn write_rows(tx: &mut Transaction<'_>, id: i64, record: &CaseRecord) -> Result<()> {
    let c = &record.case;
    tx.execute(
        &format!(
            "INSERT INTO cases ({CASE_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title,
                 summary = EXCLUDED.summary, severity = EXCLUDED.severity,
                 tlp = EXCLUDED.tlp, pap = EXCLUDED.pap, status = EXCLUDED.status,
                 determination = EXCLUDED.determination, coordinator = EXCLUDED.coordinator,
                 opened_at = EXCLUDED.opened_at, updated_at = EXCLUDED.updated_at,
                 closed_at = EXCLUDED.closed_at"
        ),
        &[
            &id,
            &c.title,
            &c.summary,
            &c.severity,
            &c.tlp,
            &c.pap,
            &c.status,
            &c.determination,
            &c.coordinator,
            &c.opened_at,
            &c.updated_at,
            &c.closed_at,
        ],
    )?;
    for table in [
        "case_parties",
        "case_tasks",
        "case_links",
        "case_observables",
    ] {
        tx.execute(&format!("DELETE FROM {table} WHERE case_id = $1"), &[&id])?;
    }
    // Each kind of row in one statement, from arrays: a case has a handful of each.
    let p = &record.parties;
    tx.execute(
        "INSERT INTO case_parties (case_id, ord, team, role, status, since)
         SELECT $1, ord - 1, team, role, status, since
         FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[])
              WITH ORDINALITY AS p(team, role, status, since, ord)",
        &[
            &id,
            &p.iter().map(|p| p.team.as_str()).collect::<Vec<_>>(),
            &p.iter().map(|p| p.role.as_str()).collect::<Vec<_>>(),
            &p.iter().map(|p| p.status.as_str()).collect::<Vec<_>>(),
            &p.iter().map(|p| p.since).collect::<Vec<_>>(),
        ],
    )?;
    let t = &record.tasks;
    tx.execute(
        "INSERT INTO case_tasks (case_id, task, team, title, status, due, updated_at)
         SELECT $1, task, team, title, status, due, updated_at
         FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[],
                     $7::bigint[]) AS t(task, team, title, status, due, updated_at)",
        &[
            &id,
            &t.iter().map(|t| i64::from(t.task)).collect::<Vec<_>>(),
            &t.iter().map(|t| t.team.as_str()).collect::<Vec<_>>(),
            &t.iter().map(|t| t.title.as_str()).collect::<Vec<_>>(),
            &t.iter().map(|t| t.status.as_str()).collect::<Vec<_>>(),
            &t.iter().map(|t| t.due).collect::<Vec<_>>(),
            &t.iter().map(|t| t.updated_at).collect::<Vec<_>>(),
        ],
    )?;
    let links = first_of_each(&record.links, |l| (slice_key(&l.team), &l.kind, &l.key));
    tx.execute(
        "INSERT INTO case_links (case_id, ord, kind, key, team)
         SELECT $1, ord, kind, key, team
         FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[])
              AS l(ord, kind, key, team)",
        &[
            &id,
            &links.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            &links
                .iter()
                .map(|(_, l)| l.kind.as_str())
                .collect::<Vec<_>>(),
            &links
                .iter()
                .map(|(_, l)| l.key.as_str())
                .collect::<Vec<_>>(),
            &links
                .iter()
                .map(|(_, l)| slice_key(&l.team))
                .collect::<Vec<_>>(),
        ],
    )?;
    let observables = first_of_each(&record.observables, |o| {
        (slice_key(&o.team), &o.kind, &o.value)
    });
    tx.execute(
        "INSERT INTO case_observables (case_id, ord, kind, value, team)
         SELECT $1, ord, kind, value, team
         FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[])
              AS o(ord, kind, value, team)",
        &[
            &id,
            &observables.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            &observables
                .iter()
                .map(|(_, o)| o.kind.as_str())
                .collect::<Vec<_>>(),
            &observables
                .iter()
                .map(|(_, o)| o.value.as_str())
                .collect::<Vec<_>>(),
            &observables
                .iter()
                .map(|(_, o)| slice_key(&o.team))
                .collect::<Vec<_>>(),
        ],
    )?;
    Ok(())
}

/// Appends the record's last `appended` timeline entries, each numbered by its place.
fn append_entries(
    tx: &mut Transaction<'_>,
    id: i64,
    record: &CaseRecord,
    appended: usize,
) -> Result<()> {
    let total = record.timeline.len();
    let new = &record.timeline[total - appended..];
    for (i, e) in new.iter().enumerate() {
        let place = total - appended + i + 1;
        if e.seq != place as u64 {
            return Err(StoreError::InvalidQuery(format!(
                "timeline entry {place} of case #{id} is numbered {}",
                e.seq
            )));
        }
    }
    tx.execute(
        "INSERT INTO case_timeline (case_id, seq, at, recorded_at, actor, kind, doc)
         SELECT $1, seq, at, recorded_at, actor, kind, doc::json
         FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[],
                     $7::text[]) AS e(seq, at, recorded_at, actor, kind, doc)",
        &[
            &id,
            &new.iter()
                .map(|e| to_i64(e.seq, "timeline entry"))
                .collect::<Result<Vec<_>>>()?,
            &new.iter().map(|e| e.at).collect::<Vec<_>>(),
            &new.iter().map(|e| e.recorded_at).collect::<Vec<_>>(),
            &new.iter().map(|e| e.actor.as_deref()).collect::<Vec<_>>(),
            &new.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
            &new.iter().map(|e| e.doc.as_str()).collect::<Vec<_>>(),
        ],
    )?;
    Ok(())
}

impl CaseStore for PgStore {
    fn commit_case(&mut self, record: &CaseRecord, appended: usize) -> Result<u64> {
        let total = record.timeline.len();
        if appended == 0 || appended > total {
            return Err(StoreError::InvalidQuery(format!(
                "a case commit appends 1 to {total} timeline entries, not {appended}"
            )));
        }
        let c = &record.case;
        let mut tx = self.write_tx()?;
        let id = if c.id == 0 {
            if appended != total {
                return Err(StoreError::InvalidQuery(
                    "a new case is committed with its whole timeline".to_owned(),
                ));
            }
            let id: i64 = tx
                .query_one(
                    "UPDATE case_numbers SET last = last + 1 RETURNING last",
                    &[],
                )?
                .try_get(0)?;
            // The header first: the timeline's rows refer to it.
            write_rows(&mut tx, id, record)?;
            append_entries(&mut tx, id, record, appended)?;
            id
        } else {
            let id = to_i64(c.id, "case")?;
            if tx
                .query_opt("SELECT 1 FROM cases WHERE id = $1 FOR UPDATE", &[&id])?
                .is_none()
            {
                return Err(StoreError::InvalidQuery(format!("no case #{}", c.id)));
            }
            // A statement after the lock: it sees what a writer we waited for committed.
            let stored: i64 = tx
                .query_one(
                    "SELECT count(*) FROM case_timeline WHERE case_id = $1",
                    &[&id],
                )?
                .try_get(0)?;
            let base = (total - appended) as i64;
            if stored != base {
                return Err(StoreError::InvalidQuery(format!(
                    "case #{} has {stored} timeline entries, this change was made on {base}: \
                     it changed meanwhile; read it again and redo the change",
                    c.id
                )));
            }
            append_entries(&mut tx, id, record, appended)?;
            write_rows(&mut tx, id, record)?;
            id
        };
        // Test hook (`FIREWATCH_CRASH_AT=case-mid-commit`): killed with the change written but
        // not committed, the case must read back as it was.
        crate::crash_point("case-mid-commit");
        tx.commit()?;
        to_u64(id, "case id")
    }

    fn case(&self, id: u64) -> Result<Option<CaseRecord>> {
        let id = to_i64(id, "case")?;
        read(self, |client| {
            // One snapshot for the header and its rows.
            let mut tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            let Some(row) = tx.query_opt(
                &format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = $1"),
                &[&id],
            )?
            else {
                return Ok(None);
            };
            let case = case_row(&row)?;
            let parties = tx
                .query(
                    &format!(
                        "SELECT {PARTY_COLUMNS} FROM case_parties WHERE case_id = $1 ORDER BY ord"
                    ),
                    &[&id],
                )?
                .iter()
                .map(|r| party_row(r, 0))
                .collect::<Result<_>>()?;
            let tasks = tx
                .query(
                    "SELECT task, team, title, status, due, updated_at FROM case_tasks
                     WHERE case_id = $1 ORDER BY task",
                    &[&id],
                )?
                .iter()
                .map(|r| {
                    let task: i64 = r.try_get(0)?;
                    Ok(StoredTask {
                        task: u32::try_from(task).map_err(|_| {
                            StoreError::Corrupt(format!("case #{id}: task number {task}"))
                        })?,
                        team: r.try_get(1)?,
                        title: r.try_get(2)?,
                        status: r.try_get(3)?,
                        due: r.try_get(4)?,
                        updated_at: r.try_get(5)?,
                    })
                })
                .collect::<Result<_>>()?;
            let links = tx
                .query(
                    "SELECT kind, key, team FROM case_links WHERE case_id = $1 ORDER BY ord",
                    &[&id],
                )?
                .iter()
                .map(|r| {
                    Ok(StoredLink {
                        kind: r.try_get(0)?,
                        key: r.try_get(1)?,
                        team: slice_of(r.try_get(2)?),
                    })
                })
                .collect::<Result<_>>()?;
            let observables = tx
                .query(
                    "SELECT kind, value, team FROM case_observables WHERE case_id = $1
                     ORDER BY ord",
                    &[&id],
                )?
                .iter()
                .map(|r| {
                    Ok(StoredObservable {
                        kind: r.try_get(0)?,
                        value: r.try_get(1)?,
                        team: slice_of(r.try_get(2)?),
                    })
                })
                .collect::<Result<_>>()?;
            let timeline = tx
                .query(
                    "SELECT seq, at, recorded_at, actor, kind, doc::text FROM case_timeline
                     WHERE case_id = $1 ORDER BY seq",
                    &[&id],
                )?
                .iter()
                .map(|r| {
                    Ok(StoredCaseEntry {
                        seq: to_u64(r.try_get(0)?, "timeline entry")?,
                        at: r.try_get(1)?,
                        recorded_at: r.try_get(2)?,
                        actor: r.try_get(3)?,
                        kind: r.try_get(4)?,
                        doc: r.try_get(5)?,
                    })
                })
                .collect::<Result<_>>()?;
            tx.commit()?;
            Ok(Some(CaseRecord {
                case,
                parties,
                tasks,
                links,
                observables,
                timeline,
            }))
        })
    }

    fn cases(&self, q: &CaseQuery) -> Result<Vec<StoredCase>> {
        // Cases are few; each statement is planned with its values bound, so the filters
        // left NULL cost nothing.
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases AS c
             WHERE ($1::text IS NULL OR {}) AND ($2::text IS NULL OR c.status = $2)
             ORDER BY c.id DESC LIMIT $3",
            visible_sql()
        );
        let limit = q.limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        read(self, |c| {
            c.query(&sql, &[&q.visible_to, &q.status, &limit])?
                .iter()
                .map(case_row)
                .collect()
        })
    }

    fn case_parties(&self, ids: &[u64]) -> Result<Vec<(u64, StoredParty)>> {
        let ids = ids
            .iter()
            .map(|&id| to_i64(id, "case"))
            .collect::<Result<Vec<_>>>()?;
        read(self, |c| {
            // In the order of `ids` (a case asked twice is listed twice), as SQLite's loop.
            c.query(
                &format!(
                    "SELECT i.id, {PARTY_COLUMNS}
                     FROM unnest($1::bigint[]) WITH ORDINALITY AS i(id, n)
                     JOIN case_parties AS p ON p.case_id = i.id
                     ORDER BY i.n, p.ord"
                ),
                &[&ids],
            )?
            .iter()
            .map(|r| Ok((to_u64(r.try_get(0)?, "case id")?, party_row(r, 1)?)))
            .collect()
        })
    }

    fn cases_linking(&self, kind: &str, key: &str) -> Result<Vec<u64>> {
        read(self, |c| {
            c.query(
                "SELECT DISTINCT case_id FROM case_links WHERE kind = $1 AND key = $2
                 ORDER BY case_id",
                &[&kind, &key],
            )?
            .iter()
            .map(|r| to_u64(r.try_get(0)?, "case id"))
            .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postgres::test_url;

    fn record() -> CaseRecord {
        CaseRecord {
            case: StoredCase {
                id: 0,
                title: "spike".into(),
                summary: String::new(),
                severity: "medium".into(),
                tlp: "amber".into(),
                pap: "amber".into(),
                status: "new".into(),
                determination: None,
                coordinator: "coord".into(),
                opened_at: 100,
                updated_at: 100,
                closed_at: None,
            },
            parties: vec![StoredParty {
                team: "coord".into(),
                role: "coordinator".into(),
                status: "invited".into(),
                since: 100,
            }],
            tasks: Vec::new(),
            links: Vec::new(),
            observables: Vec::new(),
            timeline: (1..=2)
                .map(|seq| StoredCaseEntry {
                    seq,
                    at: 100,
                    recorded_at: 100,
                    actor: None,
                    kind: "comment".into(),
                    doc: format!(r#"{{"seq": {seq}}}"#),
                })
                .collect(),
        }
    }

    /// The trigger refuses to change or remove timeline entries, whoever asks.
    #[test]
    fn the_timeline_is_append_only() {
        let mut s = PgStore::scratch(&test_url()).unwrap();
        let id = s.commit_case(&record(), 2).unwrap() as i64;
        for sql in [
            "UPDATE case_timeline SET doc = '{}' WHERE seq = 1",
            "DELETE FROM case_timeline WHERE seq = 2",
            "TRUNCATE case_timeline CASCADE",
        ] {
            let e = s.client.execute(sql, &[]).unwrap_err();
            let message = e.as_db_error().map(|d| d.message().to_owned());
            assert!(
                message
                    .as_deref()
                    .is_some_and(|m| m.contains("append-only")),
                "{sql}: {e:?}"
            );
        }
        let n: i64 = s
            .client
            .query_one(
                "SELECT count(*) FROM case_timeline WHERE case_id = $1",
                &[&id],
            )
            .unwrap()
            .get(0);
        assert_eq!(n, 2);
    }

    /// Two writers change one case at once from the same stored timeline: one commits, the
    /// other is refused as having been overtaken, never both, never an error of the server.
    #[test]
    fn two_writers_of_one_case_never_both_commit() {
        let mut first = PgStore::scratch(&test_url()).unwrap();
        let mut r = record();
        r.case.id = first.commit_case(&r, 2).unwrap();
        let url = first.scratch_url().unwrap().to_owned();
        for round in 0..20u64 {
            let base = r.timeline.len() as u64;
            let mut next = r.clone();
            next.timeline.push(StoredCaseEntry {
                seq: base + 1,
                kind: format!("round-{round}"),
                ..r.timeline[0].clone()
            });
            let outcomes: Vec<Result<u64>> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..2)
                    .map(|_| {
                        let (url, next) = (url.clone(), next.clone());
                        scope.spawn(move || PgStore::connect(&url)?.commit_case(&next, 1))
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let committed = outcomes.iter().filter(|o| o.is_ok()).count();
            assert_eq!(committed, 1, "round {round}: {outcomes:?}");
            assert!(
                outcomes.iter().any(
                    |o| matches!(o, Err(StoreError::InvalidQuery(m)) if m.contains("meanwhile"))
                ),
                "{outcomes:?}"
            );
            r = next;
        }
        assert_eq!(first.case(r.case.id).unwrap().unwrap(), r);
    }
}
