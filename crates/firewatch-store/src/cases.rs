//! Cross-border cases (issue 19, docs/cases.md): a case, its parties, tasks, linked findings,
//! observables, and its timeline of every change and comment.
//!
//! The store keeps records, not the model: `firewatch-cases` validates each change, and hands
//! the store the case as it now stands ([`CaseRecord`]) with the timeline entries the change
//! appended. [`CaseStore::commit_case`] writes both in one transaction: the entries are
//! appended (never updated nor deleted: triggers refuse it), and the case's rows (header,
//! parties, tasks, links, observables) are replaced by the new ones, which are what listings
//! and the visibility query read. A commit whose timeline does not continue the stored one
//! (another writer came first) is refused whole, so no change is lost or applied twice.
//!
//! Statuses, roles and kinds are kept as the names the model writes (`acknowledged`,
//! `affected`, `address`); each timeline entry's `doc` is the model's JSON of the change.

use rusqlite::{OptionalExtension, Row, Transaction, params};
use serde::Serialize;

use firewatch_core::TlpLevel;

use crate::{Result, SqliteStore, StoreError};

/// A case's header as stored: what a listing shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredCase {
    /// The case number; 0 for a case not yet stored (the store assigns one).
    pub id: u64,
    /// A line saying what happened.
    pub title: String,
    /// More words, possibly empty.
    pub summary: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// Who may read the case (`clear`, `green`, `amber`, `amber+strict`, `red`).
    pub tlp: String,
    /// What the parties may do with it (PAP: `clear`, `green`, `amber`, `red`).
    pub pap: String,
    /// `new`, `in-progress` or `closed`.
    pub status: String,
    /// Set while closed: `confirmed`, `suspected`, `false-positive`, `blocked`,
    /// `failed-attempt`.
    pub determination: Option<String>,
    /// The coordinating team (always also a party).
    pub coordinator: String,
    /// Unix seconds.
    pub opened_at: i64,
    /// Unix seconds of the last change.
    pub updated_at: i64,
    /// Unix seconds, while closed.
    pub closed_at: Option<i64>,
}

/// One party of a case: a team with its role and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredParty {
    /// The team's directory id.
    pub team: String,
    /// `coordinator`, `affected`, `reporter` or `observer`.
    pub role: String,
    /// `invited`, `notified`, `seen`, `acknowledged`, `acting`, `done` or `declined`.
    pub status: String,
    /// Unix seconds: since when it has had this status.
    pub since: i64,
}

/// One task of a party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredTask {
    /// The task's number within its case, from 1.
    pub task: u32,
    /// The party (team id) the task is for.
    pub team: String,
    /// What is to be done.
    pub title: String,
    /// `pending`, `ongoing`, `done`, `failed` or `cancelled`.
    pub status: String,
    /// Unix seconds, if it has a due date.
    pub due: Option<i64>,
    /// Unix seconds of its last change.
    pub updated_at: i64,
}

/// A finding linked to a case, by its stable key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct StoredLink {
    /// `alert`, `attack` or `event`.
    pub kind: String,
    /// The finding's stable key (an alert id, an attack key, an event id).
    pub key: String,
    /// The party whose slice it is; `None`: the whole case.
    pub team: Option<String>,
}

/// An observable of a case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct StoredObservable {
    /// `address`, `port`, `asn` or `domain`.
    pub kind: String,
    /// Its value as written (`192.0.2.7`, `tcp/23`, `64500`, `example.org`).
    pub value: String,
    /// The party whose slice it is; `None`: the whole case.
    pub team: Option<String>,
}

/// One entry of a case's timeline. Entries are only ever appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredCaseEntry {
    /// Its place in the case's timeline, from 1.
    pub seq: u64,
    /// Unix seconds: when it happened.
    pub at: i64,
    /// Unix seconds: when it was recorded (after `at` for a change reported late).
    pub recorded_at: i64,
    /// Who made it (a team or a user), if known.
    pub actor: Option<String>,
    /// The kind of change (`opened`, `party-status`, `comment`, ...).
    pub kind: String,
    /// The change as the model writes it in JSON.
    pub doc: String,
}

/// A case as it stands: header, parties, tasks, links, observables and the whole timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseRecord {
    /// The header.
    pub case: StoredCase,
    /// Every party, in the order added.
    pub parties: Vec<StoredParty>,
    /// Every task, by number.
    pub tasks: Vec<StoredTask>,
    /// Every linked finding, in the order linked.
    pub links: Vec<StoredLink>,
    /// Every observable, in the order added.
    pub observables: Vec<StoredObservable>,
    /// Every timeline entry, oldest first.
    pub timeline: Vec<StoredCaseEntry>,
}

/// Which cases a listing wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseQuery {
    /// Only the cases this team may see: it is a party, or the case's TLP lets it read
    /// (the rule of `firewatch_core::access`, the coordinator counted as the owner and the
    /// parties as the recipients).
    pub visible_to: Option<String>,
    /// Only cases with this status.
    pub status: Option<String>,
    /// At most this many, newest first.
    pub limit: Option<usize>,
}

/// A store of cases. Implemented by [`SqliteStore`].
pub trait CaseStore {
    /// Writes `record` in one transaction: appends its last `appended` timeline entries and
    /// replaces the case's rows with the record's. A case with id 0 is new and gets the next
    /// number (returned); otherwise the stored timeline must be exactly the record's first
    /// entries, or the commit is refused ([`StoreError::InvalidQuery`], saying so) and nothing
    /// changes.
    fn commit_case(&mut self, record: &CaseRecord, appended: usize) -> Result<u64>;
    /// One case in full, if there is one with this number.
    fn case(&self, id: u64) -> Result<Option<CaseRecord>>;
    /// Case headers, newest first.
    fn cases(&self, q: &CaseQuery) -> Result<Vec<StoredCase>>;
    /// The parties of each case of `ids` (for listings), by case, in the order added.
    fn case_parties(&self, ids: &[u64]) -> Result<Vec<(u64, StoredParty)>>;
    /// The cases a finding is linked to, oldest first.
    fn cases_linking(&self, kind: &str, key: &str) -> Result<Vec<u64>>;
}

const CASE_COLUMNS: &str = "id, title, summary, severity, tlp, pap, status, determination, \
     coordinator, opened_at, updated_at, closed_at";

fn case_row(r: &Row<'_>) -> rusqlite::Result<StoredCase> {
    Ok(StoredCase {
        id: r.get(0)?,
        title: r.get(1)?,
        summary: r.get(2)?,
        severity: r.get(3)?,
        tlp: r.get(4)?,
        pap: r.get(5)?,
        status: r.get(6)?,
        determination: r.get(7)?,
        coordinator: r.get(8)?,
        opened_at: r.get(9)?,
        updated_at: r.get(10)?,
        closed_at: r.get(11)?,
    })
}

fn party_row(r: &Row<'_>) -> rusqlite::Result<StoredParty> {
    Ok(StoredParty {
        team: r.get(0)?,
        role: r.get(1)?,
        status: r.get(2)?,
        since: r.get(3)?,
    })
}

/// A slice's team as stored: '' for the whole case, so that it can be part of a key.
fn slice_key(team: &Option<String>) -> &str {
    team.as_deref().unwrap_or("")
}

fn slice_of(stored: String) -> Option<String> {
    (!stored.is_empty()).then_some(stored)
}

/// The SQL form of the visibility rule for team `?1` over case `c`: a party sees its cases;
/// otherwise the TLP rule with the coordinator as owner and the parties as recipients, where
/// CLEAR and GREEN let every team read, AMBER and AMBER+STRICT the owner (a party anyway), RED
/// the recipients (the parties). `tests::visibility_is_the_core_rule` holds the two equal.
fn visible_sql() -> String {
    format!(
        "(EXISTS (SELECT 1 FROM case_parties AS p WHERE p.case_id = c.id AND p.team = ?1) \
         OR c.tlp IN ('{}', '{}') \
         OR (c.tlp IN ('{}', '{}') AND c.coordinator = ?1))",
        TlpLevel::Clear.as_str(),
        TlpLevel::Green.as_str(),
        TlpLevel::Amber.as_str(),
        TlpLevel::AmberStrict.as_str(),
    )
}

fn write_rows(tx: &Transaction<'_>, id: u64, record: &CaseRecord) -> Result<()> {
    let c = &record.case;
    tx.execute(
        "UPDATE cases SET title = ?, summary = ?, severity = ?, tlp = ?, pap = ?, status = ?, \
         determination = ?, coordinator = ?, opened_at = ?, updated_at = ?, closed_at = ? \
         WHERE id = ?",
        params![
            c.title,
            c.summary,
            c.severity,
            c.tlp,
            c.pap,
            c.status,
            c.determination,
            c.coordinator,
            c.opened_at,
            c.updated_at,
            c.closed_at,
            id
        ],
    )?;
    for table in [
        "case_parties",
        "case_tasks",
        "case_links",
        "case_observables",
    ] {
        tx.execute(&format!("DELETE FROM {table} WHERE case_id = ?"), [id])?;
    }
    let mut party = tx.prepare(
        "INSERT INTO case_parties (case_id, ord, team, role, status, since) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )?;
    for (ord, p) in record.parties.iter().enumerate() {
        party.execute(params![id, ord, p.team, p.role, p.status, p.since])?;
    }
    let mut task = tx.prepare(
        "INSERT INTO case_tasks (case_id, task, team, title, status, due, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )?;
    for t in &record.tasks {
        task.execute(params![
            id,
            t.task,
            t.team,
            t.title,
            t.status,
            t.due,
            t.updated_at
        ])?;
    }
    let mut link = tx.prepare(
        "INSERT OR IGNORE INTO case_links (case_id, ord, kind, key, team) VALUES (?, ?, ?, ?, ?)",
    )?;
    for (ord, l) in record.links.iter().enumerate() {
        link.execute(params![id, ord, l.kind, l.key, slice_key(&l.team)])?;
    }
    let mut observable = tx.prepare(
        "INSERT OR IGNORE INTO case_observables (case_id, ord, kind, value, team) \
         VALUES (?, ?, ?, ?, ?)",
    )?;
    for (ord, o) in record.observables.iter().enumerate() {
        observable.execute(params![id, ord, o.kind, o.value, slice_key(&o.team)])?;
    }
    Ok(())
}

impl CaseStore for SqliteStore {
    fn commit_case(&mut self, record: &CaseRecord, appended: usize) -> Result<u64> {
        let total = record.timeline.len();
        if appended == 0 || appended > total {
            return Err(StoreError::InvalidQuery(format!(
                "a case commit appends 1 to {total} timeline entries, not {appended}"
            )));
        }
        let tx = self.write_tx()?;
        let c = &record.case;
        let id = if c.id == 0 {
            if appended != total {
                return Err(StoreError::InvalidQuery(
                    "a new case is committed with its whole timeline".to_owned(),
                ));
            }
            tx.execute(
                "INSERT INTO cases (title, summary, severity, tlp, pap, status, coordinator, \
                 opened_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params![
                    c.title,
                    c.summary,
                    c.severity,
                    c.tlp,
                    c.pap,
                    c.status,
                    c.coordinator,
                    c.opened_at,
                    c.updated_at
                ],
            )?;
            tx.last_insert_rowid() as u64
        } else {
            let stored: Option<u64> = tx
                .query_row(
                    "SELECT (SELECT count(*) FROM case_timeline WHERE case_id = ?1) \
                     FROM cases WHERE id = ?1",
                    [c.id],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(stored) = stored else {
                return Err(StoreError::InvalidQuery(format!("no case #{}", c.id)));
            };
            let base = (total - appended) as u64;
            if stored != base {
                return Err(StoreError::InvalidQuery(format!(
                    "case #{} has {stored} timeline entries, this change was made on {base}: \
                     it changed meanwhile; read it again and redo the change",
                    c.id
                )));
            }
            c.id
        };
        {
            let mut entry = tx.prepare(
                "INSERT INTO case_timeline (case_id, seq, at, recorded_at, actor, kind, doc) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )?;
            for (i, e) in record.timeline.iter().enumerate().skip(total - appended) {
                if e.seq != i as u64 + 1 {
                    return Err(StoreError::InvalidQuery(format!(
                        "timeline entry {} of case #{id} is numbered {}",
                        i + 1,
                        e.seq
                    )));
                }
                entry.execute(params![
                    id,
                    e.seq,
                    e.at,
                    e.recorded_at,
                    e.actor,
                    e.kind,
                    e.doc
                ])?;
            }
        }
        write_rows(&tx, id, record)?;
        // Test hook (`FIREWATCH_CRASH_AT=case-mid-commit`): killed with the change written but
        // not committed, the case must read back as it was.
        crate::crash_point("case-mid-commit");
        tx.commit()?;
        Ok(id)
    }

    fn case(&self, id: u64) -> Result<Option<CaseRecord>> {
        let Some(case) = self
            .conn
            .query_row(
                &format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = ?"),
                [id],
                case_row,
            )
            .optional()?
        else {
            return Ok(None);
        };
        let parties = self
            .conn
            .prepare(
                "SELECT team, role, status, since FROM case_parties WHERE case_id = ? \
                 ORDER BY ord",
            )?
            .query_map([id], party_row)?
            .collect::<rusqlite::Result<_>>()?;
        let tasks = self
            .conn
            .prepare(
                "SELECT task, team, title, status, due, updated_at FROM case_tasks \
                 WHERE case_id = ? ORDER BY task",
            )?
            .query_map([id], |r| {
                Ok(StoredTask {
                    task: r.get(0)?,
                    team: r.get(1)?,
                    title: r.get(2)?,
                    status: r.get(3)?,
                    due: r.get(4)?,
                    updated_at: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let links = self
            .conn
            .prepare(
                "SELECT kind, key, team FROM case_links WHERE case_id = ? \
                 ORDER BY ord",
            )?
            .query_map([id], |r| {
                Ok(StoredLink {
                    kind: r.get(0)?,
                    key: r.get(1)?,
                    team: slice_of(r.get(2)?),
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let observables = self
            .conn
            .prepare(
                "SELECT kind, value, team FROM case_observables WHERE case_id = ? \
                 ORDER BY ord",
            )?
            .query_map([id], |r| {
                Ok(StoredObservable {
                    kind: r.get(0)?,
                    value: r.get(1)?,
                    team: slice_of(r.get(2)?),
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let timeline = self
            .conn
            .prepare(
                "SELECT seq, at, recorded_at, actor, kind, doc FROM case_timeline \
                 WHERE case_id = ? ORDER BY seq",
            )?
            .query_map([id], |r| {
                Ok(StoredCaseEntry {
                    seq: r.get(0)?,
                    at: r.get(1)?,
                    recorded_at: r.get(2)?,
                    actor: r.get(3)?,
                    kind: r.get(4)?,
                    doc: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Some(CaseRecord {
            case,
            parties,
            tasks,
            links,
            observables,
            timeline,
        }))
    }

    fn cases(&self, q: &CaseQuery) -> Result<Vec<StoredCase>> {
        // Cases are few: one statement with both filters optional reads clearer than four.
        let mut sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases AS c \
             WHERE (?1 IS NULL OR {}) AND (?2 IS NULL OR c.status = ?2) ORDER BY c.id DESC",
            visible_sql()
        );
        if let Some(limit) = q.limit {
            sql.push_str(&format!(" LIMIT {}", limit.min(i64::MAX as usize)));
        }
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params![q.visible_to, q.status], case_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn case_parties(&self, ids: &[u64]) -> Result<Vec<(u64, StoredParty)>> {
        let mut stmt = self.conn.prepare(
            "SELECT team, role, status, since FROM case_parties WHERE case_id = ? ORDER BY ord",
        )?;
        let mut out = Vec::new();
        for &id in ids {
            for p in stmt.query_map([id], party_row)? {
                out.push((id, p?));
            }
        }
        Ok(out)
    }

    fn cases_linking(&self, kind: &str, key: &str) -> Result<Vec<u64>> {
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT case_id FROM case_links WHERE kind = ? AND key = ? ORDER BY case_id",
        )?;
        let rows = stmt.query_map([kind, key], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use firewatch_core::access::team_may_read;

    fn entry(seq: u64, kind: &str) -> StoredCaseEntry {
        StoredCaseEntry {
            seq,
            at: 100 + seq as i64,
            recorded_at: 100 + seq as i64,
            actor: None,
            kind: kind.into(),
            doc: format!(r#"{{"kind":"{kind}"}}"#),
        }
    }

    fn record(tlp: &str, parties: &[&str]) -> CaseRecord {
        CaseRecord {
            case: StoredCase {
                id: 0,
                title: "spike".into(),
                summary: String::new(),
                severity: "medium".into(),
                tlp: tlp.into(),
                pap: "amber".into(),
                status: "new".into(),
                determination: None,
                coordinator: parties[0].into(),
                opened_at: 100,
                updated_at: 100,
                closed_at: None,
            },
            parties: parties
                .iter()
                .enumerate()
                .map(|(i, t)| StoredParty {
                    team: (*t).into(),
                    role: if i == 0 { "coordinator" } else { "affected" }.into(),
                    status: "invited".into(),
                    since: 100,
                })
                .collect(),
            tasks: Vec::new(),
            links: vec![StoredLink {
                kind: "alert".into(),
                key: "tcp-23-spike-1".into(),
                team: None,
            }],
            observables: parties
                .iter()
                .skip(1)
                .map(|t| StoredObservable {
                    kind: "address".into(),
                    value: format!("192.0.2.{}", t.len()),
                    team: Some((*t).into()),
                })
                .collect(),
            timeline: vec![entry(1, "opened")],
        }
    }

    #[test]
    fn a_case_round_trips_and_its_timeline_only_grows() {
        let mut s = SqliteStore::open_in_memory().unwrap();
        let mut r = record("amber", &["coord", "a", "bb"]);
        let id = s.commit_case(&r, 1).unwrap();
        assert_eq!(id, 1);
        r.case.id = id;
        assert_eq!(s.case(id).unwrap().unwrap(), r);
        r.timeline.push(entry(2, "comment"));
        r.case.updated_at = 102;
        s.commit_case(&r, 1).unwrap();
        // The same change again does not continue the stored timeline: refused, unchanged.
        assert!(matches!(
            s.commit_case(&r, 1),
            Err(StoreError::InvalidQuery(_))
        ));
        assert_eq!(s.case(id).unwrap().unwrap(), r);
        assert_eq!(s.cases_linking("alert", "tcp-23-spike-1").unwrap(), [id]);
        for sql in [
            "UPDATE case_timeline SET doc = '{}' WHERE seq = 1",
            "DELETE FROM case_timeline WHERE seq = 2",
        ] {
            let e = s.conn.execute(sql, []).unwrap_err();
            assert!(e.to_string().contains("append-only"), "{e}");
        }
        assert_eq!(s.case(id).unwrap().unwrap().timeline.len(), 2);
    }

    /// The query's visibility equals core's rule (coordinator as owner, parties as the
    /// recipients) or-ed with party membership, for every TLP × team.
    #[test]
    fn visibility_is_the_core_rule() {
        let mut s = SqliteStore::open_in_memory().unwrap();
        let parties = ["coord", "a", "bb"];
        for level in TlpLevel::ALL {
            s.commit_case(&record(level.as_str(), &parties), 1).unwrap();
        }
        for team in ["coord", "a", "bb", "outsider"] {
            let seen: Vec<String> = s
                .cases(&CaseQuery {
                    visible_to: Some(team.into()),
                    ..CaseQuery::default()
                })
                .unwrap()
                .into_iter()
                .map(|c| c.tlp)
                .collect();
            for level in TlpLevel::ALL {
                let expected = parties.contains(&team)
                    || team_may_read(Some(team), Some(level), Some("coord"), None, &parties);
                assert_eq!(
                    seen.contains(&level.as_str().to_owned()),
                    expected,
                    "{team} {level}"
                );
            }
        }
        let new = s
            .cases(&CaseQuery {
                status: Some("new".into()),
                limit: Some(2),
                ..CaseQuery::default()
            })
            .unwrap();
        assert_eq!(new.len(), 2);
        assert_eq!(new[0].id, 5, "newest first");
        assert!(
            s.cases(&CaseQuery {
                visible_to: Some("outsider".into()),
                status: Some("closed".into()),
                limit: None,
            })
            .unwrap()
            .is_empty()
        );
    }
}
