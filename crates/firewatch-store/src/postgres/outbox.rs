//! PostgreSQL implementation of the outbox area (issue 17): notices, the records each team
//! was told about, and the records held back, as [`crate::outbox`] documents them.
//!
//! Two planners enqueueing at once: SQLite serialises them with an IMMEDIATE transaction;
//! here the unique keys decide, with `INSERT ... ON CONFLICT DO NOTHING`. A notice's id, its
//! (team, channel, slot) and each record's (team, channel, item) claim are unique, and an
//! insert that meets a key another transaction is writing waits for that one to end, then
//! skips the row if it committed. A notice whose row or any of whose claims was skipped is
//! rolled back whole and reported as not enqueued, as SQLite does.

use std::collections::HashSet;

use postgres::Row;

use super::PgStore;
use super::identity::read;
use crate::outbox::{NewNotice, OutboxEntry, OutboxState, WithheldRecord};
use crate::{OutboxStore, Result, StoreError};

const COLUMNS: &str = "id, team, channel, slot, recipients, subject, tlp, payload, items, \
     created_at, state, attempts, next_attempt_ms, last_error, sent_at";

fn parse_state(s: &str) -> Result<OutboxState> {
    Ok(match s {
        "queued" => OutboxState::Queued,
        "sent" => OutboxState::Sent,
        "failed" => OutboxState::Failed,
        other => {
            return Err(StoreError::Corrupt(format!(
                "notify_outbox: unknown state {other:?}"
            )));
        }
    })
}

fn entry_row(r: &Row) -> Result<OutboxEntry> {
    Ok(OutboxEntry {
        id: r.try_get(0)?,
        team: r.try_get(1)?,
        channel: r.try_get(2)?,
        slot: r.try_get(3)?,
        recipients: r.try_get(4)?,
        subject: r.try_get(5)?,
        tlp: r.try_get(6)?,
        payload: r.try_get(7)?,
        // Wrapping casts, as SQLite's backend reads them.
        items: r.try_get::<_, i64>(8)? as u64,
        created_at: r.try_get(9)?,
        state: parse_state(r.try_get(10)?)?,
        attempts: r.try_get::<_, i64>(11)? as u32,
        next_attempt_ms: r.try_get(12)?,
        last_error: r.try_get(13)?,
        sent_at: r.try_get(14)?,
    })
}

fn no_notice(id: &str) -> StoreError {
    StoreError::InvalidQuery(format!("no notice {id} in the outbox"))
}

impl OutboxStore for PgStore {
    fn enqueue(&mut self, notice: &NewNotice) -> Result<bool> {
        let mut tx = self.write_tx()?;
        let inserted = tx.execute(
            &format!(
                "INSERT INTO notify_outbox ({COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'queued', 0, $11, NULL, NULL)
                 ON CONFLICT DO NOTHING"
            ),
            &[
                &notice.id,
                &notice.team,
                &notice.channel,
                &notice.slot,
                &notice.recipients,
                &notice.subject,
                &notice.tlp,
                &notice.payload,
                &(notice.items.len() as i64),
                &notice.created_at,
                &notice.created_at.saturating_mul(1000),
            ],
        )?;
        if inserted == 0 {
            // A notice of this id, or of this team, channel and slot, exists (dropping `tx`
            // rolls back).
            return Ok(false);
        }
        // Claimed in one order (bytes), so two planners claiming overlapping records wait for
        // each other instead of deadlocking.
        let mut items: Vec<&str> = notice.items.iter().map(String::as_str).collect();
        items.sort_unstable();
        items.dedup();
        let claimed = tx.execute(
            "INSERT INTO notify_items (team, channel, item, notice)
             SELECT $1, $2, item, $3 FROM unnest($4::text[]) AS item
             ON CONFLICT DO NOTHING",
            &[&notice.team, &notice.channel, &notice.id, &items],
        )?;
        if claimed < items.len() as u64 {
            // One of its records was given to the team on this channel already.
            return Ok(false);
        }
        if items.len() < notice.items.len() {
            // SQLite refuses the second claim of the same record by its primary key.
            return Err(StoreError::InvalidQuery(format!(
                "notice {} lists a record twice",
                notice.id
            )));
        }
        tx.commit()?;
        Ok(true)
    }

    fn notified_items(&self, team: &str, channel: &str) -> Result<HashSet<String>> {
        read(self, |c| {
            c.query(
                "SELECT item FROM notify_items WHERE team = $1 AND channel = $2",
                &[&team, &channel],
            )?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect()
        })
    }

    fn slot_taken(&self, team: &str, channel: &str, slot: &str) -> Result<bool> {
        read(self, |c| {
            Ok(c.query_one(
                "SELECT EXISTS (SELECT 1 FROM notify_outbox
                                WHERE team = $1 AND channel = $2 AND slot = $3)",
                &[&team, &channel, &slot],
            )?
            .try_get(0)?)
        })
    }

    fn notices_since(&self, team: &str, channel: &str, since: i64) -> Result<u64> {
        read(self, |c| {
            let n: i64 = c
                .query_one(
                    "SELECT count(*) FROM notify_outbox
                     WHERE team = $1 AND channel = $2 AND created_at >= $3",
                    &[&team, &channel, &since],
                )?
                .try_get(0)?;
            Ok(n as u64)
        })
    }

    fn due_notices(&self, now_ms: i64) -> Result<Vec<OutboxEntry>> {
        read(self, |c| {
            c.query(
                &format!(
                    "SELECT {COLUMNS} FROM notify_outbox
                     WHERE state = 'queued' AND next_attempt_ms <= $1
                     ORDER BY next_attempt_ms, created_at, id"
                ),
                &[&now_ms],
            )?
            .iter()
            .map(entry_row)
            .collect()
        })
    }

    fn notices(&self, state: Option<OutboxState>) -> Result<Vec<OutboxEntry>> {
        read(self, |c| {
            let rows = match state {
                Some(state) => c.query(
                    &format!(
                        "SELECT {COLUMNS} FROM notify_outbox WHERE state = $1
                         ORDER BY created_at, id"
                    ),
                    &[&state.as_str()],
                )?,
                None => c.query(
                    &format!("SELECT {COLUMNS} FROM notify_outbox ORDER BY created_at, id"),
                    &[],
                )?,
            };
            rows.iter().map(entry_row).collect()
        })
    }

    fn mark_sent(&mut self, id: &str, now: i64) -> Result<()> {
        let n = self.client.execute(
            "UPDATE notify_outbox SET state = 'sent', attempts = attempts + 1, sent_at = $1,
             last_error = NULL WHERE id = $2",
            &[&now, &id],
        )?;
        if n == 0 {
            return Err(no_notice(id));
        }
        Ok(())
    }

    fn mark_attempt_failed(
        &mut self,
        id: &str,
        error: &str,
        retry_at_ms: Option<i64>,
    ) -> Result<()> {
        let state = match retry_at_ms {
            Some(_) => OutboxState::Queued,
            None => OutboxState::Failed,
        };
        let n = self.client.execute(
            "UPDATE notify_outbox SET state = $1, attempts = attempts + 1, last_error = $2,
             next_attempt_ms = COALESCE($3, next_attempt_ms) WHERE id = $4",
            &[&state.as_str(), &error, &retry_at_ms, &id],
        )?;
        if n == 0 {
            return Err(no_notice(id));
        }
        Ok(())
    }

    fn requeue_failed(&mut self, now_ms: i64) -> Result<usize> {
        let n = self.client.execute(
            "UPDATE notify_outbox SET state = 'queued', attempts = 0, next_attempt_ms = $1
             WHERE state = 'failed'",
            &[&now_ms],
        )?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn record_withheld(&mut self, record: &WithheldRecord) -> Result<()> {
        // The first record stays (SQLite's INSERT OR IGNORE).
        self.client.execute(
            "INSERT INTO notify_withheld (team, item, tlp, max_tlp, at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (team, item) DO NOTHING",
            &[
                &record.team,
                &record.item,
                &record.tlp,
                &record.max_tlp,
                &record.at,
            ],
        )?;
        Ok(())
    }

    fn withheld(&self) -> Result<Vec<WithheldRecord>> {
        read(self, |c| {
            c.query(
                "SELECT team, item, tlp, max_tlp, at FROM notify_withheld ORDER BY team, item",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(WithheldRecord {
                    team: r.try_get(0)?,
                    item: r.try_get(1)?,
                    tlp: r.try_get(2)?,
                    max_tlp: r.try_get(3)?,
                    at: r.try_get(4)?,
                })
            })
            .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postgres::test_url;

    /// Two planners enqueue at once, each round two notices claiming the same records in
    /// opposite orders: exactly one is queued, the other is refused, neither fails.
    #[test]
    fn two_planners_never_both_claim_a_record() {
        let store = PgStore::scratch(&test_url()).unwrap();
        let url = store.scratch_url().unwrap().to_owned();
        let notice = |id: String, items: [String; 2]| NewNotice {
            id,
            team: "t".into(),
            channel: "email".into(),
            slot: None,
            recipients: Vec::new(),
            subject: "s".into(),
            tlp: "TLP:GREEN".into(),
            payload: Vec::new(),
            items: items.to_vec(),
            created_at: 1,
        };
        let outcomes: Vec<Vec<Result<bool>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = ["a", "b"]
                .into_iter()
                .map(|who| {
                    let url = url.clone();
                    scope.spawn(move || {
                        let mut s = PgStore::connect(&url).unwrap();
                        (0..30)
                            .map(|round| {
                                let mut items =
                                    [format!("event:{round}:x"), format!("event:{round}:y")];
                                if who == "b" {
                                    items.reverse();
                                }
                                s.enqueue(&notice(format!("{who}{round}"), items))
                            })
                            .collect()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(outcomes[0].len(), 30);
        for (round, (a, b)) in outcomes[0].iter().zip(&outcomes[1]).enumerate() {
            assert!(
                matches!((a, b), (Ok(true), Ok(false)) | (Ok(false), Ok(true))),
                "round {round}: {a:?} {b:?}"
            );
        }
        assert_eq!(store.notices(None).unwrap().len(), 30);
        assert_eq!(store.notified_items("t", "email").unwrap().len(), 60);
    }
}
