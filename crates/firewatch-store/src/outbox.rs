//! The notification outbox: every notice (an e-mail or a webhook call) is recorded here,
//! with the exact bytes to send, *before* it is sent, so that a notice is never lost when the
//! mail server is down or the process dies, and never built twice.
//!
//! A notice's id is its idempotency key (the e-mail's Message-ID, the webhook's
//! idempotency header), derived by the caller from team, channel and content. The outbox
//! also remembers which records each team was told about on each channel (so that planning
//! again finds nothing new) and which records were held back by a team's TLP cap.
//!
//! ```
//! use firewatch_store::outbox::{NewNotice, OutboxState, OutboxStore};
//! use firewatch_store::SqliteStore;
//!
//! let mut store = SqliteStore::open_in_memory().unwrap();
//! let notice = NewNotice {
//!     id: "n1".into(),
//!     team: "example-cert".into(),
//!     channel: "email".into(),
//!     slot: None,
//!     recipients: vec!["cert@example.org".into()],
//!     subject: "[TLP:AMBER] 1 event".into(),
//!     tlp: "TLP:AMBER".into(),
//!     payload: b"...".to_vec(),
//!     items: vec!["event:1".into()],
//!     created_at: 1_700_000_000,
//! };
//! assert!(store.enqueue(&notice).unwrap());
//! assert!(!store.enqueue(&notice).unwrap(), "the same notice is queued once");
//! assert_eq!(store.due_notices(i64::MAX).unwrap().len(), 1);
//! store.mark_sent("n1", 1_700_000_005).unwrap();
//! assert_eq!(store.notices(None).unwrap()[0].state, OutboxState::Sent);
//! assert!(store.due_notices(i64::MAX).unwrap().is_empty());
//! ```

use std::collections::HashSet;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::{Result, SqliteStore, StoreError};

/// Where a notice is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboxState {
    /// Waiting to be sent (first attempt, or a retry after a failure).
    Queued,
    /// The server accepted it.
    Sent,
    /// Every attempt failed; kept with the last reason.
    Failed,
}

impl OutboxState {
    /// The name stored and shown (`queued`, `sent`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Queued => "queued",
            OutboxState::Sent => "sent",
            OutboxState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<OutboxState> {
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
}

/// A notice to record in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotice {
    /// The idempotency key: stable for the same team, channel and content.
    pub id: String,
    /// The recipient team's id.
    pub team: String,
    /// `email` or `webhook`.
    pub channel: String,
    /// A schedule slot (`digest:2026-11-23`): at most one notice per team, channel and slot.
    pub slot: Option<String>,
    /// E-mail addresses, or the webhook URL.
    pub recipients: Vec<String>,
    pub subject: String,
    /// The notice's TLP label (`TLP:AMBER`): the most restrictive of its records.
    pub tlp: String,
    /// The exact bytes to send: the whole e-mail message, or the webhook's JSON body.
    pub payload: Vec<u8>,
    /// Keys of the records in the notice (`event:42`, `alert:tcp-23-spike-1700000000`).
    pub items: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// A notice as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxEntry {
    pub id: String,
    pub team: String,
    pub channel: String,
    pub slot: Option<String>,
    pub recipients: Vec<String>,
    pub subject: String,
    pub tlp: String,
    #[serde(skip)]
    pub payload: Vec<u8>,
    /// Number of records in the notice.
    pub items: u64,
    /// Unix seconds.
    pub created_at: i64,
    pub state: OutboxState,
    /// Delivery attempts made so far.
    pub attempts: u32,
    /// Unix milliseconds of the next attempt (for queued notices).
    pub next_attempt_ms: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Unix seconds, once sent.
    pub sent_at: Option<i64>,
}

/// A record held back from a team because its TLP is above the team's cap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WithheldRecord {
    pub team: String,
    pub item: String,
    /// The record's TLP label.
    pub tlp: String,
    /// The team's cap (`TLP:GREEN`).
    pub max_tlp: String,
    /// Unix seconds when it was first held back.
    pub at: i64,
}

/// The outbox of notices. Implemented by [`SqliteStore`].
pub trait OutboxStore {
    /// Records a notice and its records in one transaction. Returns `false` and changes
    /// nothing if a notice with this id (or this team, channel and slot) exists, or if one of
    /// its records was already given to the team on this channel.
    fn enqueue(&mut self, notice: &NewNotice) -> Result<bool>;
    /// Keys of the records the team was told about (or will be: queued) on this channel.
    fn notified_items(&self, team: &str, channel: &str) -> Result<HashSet<String>>;
    /// Whether a notice of this team, channel and slot exists.
    fn slot_taken(&self, team: &str, channel: &str, slot: &str) -> Result<bool>;
    /// Notices of this team and channel created at or after `since` (Unix seconds).
    fn notices_since(&self, team: &str, channel: &str, since: i64) -> Result<u64>;
    /// Queued notices whose next attempt is due at `now_ms`, oldest first.
    fn due_notices(&self, now_ms: i64) -> Result<Vec<OutboxEntry>>;
    /// Every notice, oldest first, optionally of one state.
    fn notices(&self, state: Option<OutboxState>) -> Result<Vec<OutboxEntry>>;
    /// Marks a notice sent (the server accepted it at `now`, Unix seconds).
    fn mark_sent(&mut self, id: &str, now: i64) -> Result<()>;
    /// Records a failed attempt: the notice stays queued until `retry_at_ms`, or becomes
    /// failed when that is `None`.
    fn mark_attempt_failed(
        &mut self,
        id: &str,
        error: &str,
        retry_at_ms: Option<i64>,
    ) -> Result<()>;
    /// Puts failed notices back in the queue, due at `now_ms`; returns how many.
    fn requeue_failed(&mut self, now_ms: i64) -> Result<usize>;
    /// Records that `item` was held back from `team` (once per team and item).
    fn record_withheld(&mut self, record: &WithheldRecord) -> Result<()>;
    /// Every record held back, by team then item.
    fn withheld(&self) -> Result<Vec<WithheldRecord>>;
}

const COLUMNS: &str = "id, team, channel, slot, recipients, subject, tlp, payload, items, created_at, state, attempts, next_attempt_ms, last_error, sent_at";

fn row_to_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<(OutboxEntry, String, String)> {
    Ok((
        OutboxEntry {
            id: r.get(0)?,
            team: r.get(1)?,
            channel: r.get(2)?,
            slot: r.get(3)?,
            recipients: Vec::new(),
            subject: r.get(5)?,
            tlp: r.get(6)?,
            payload: r.get(7)?,
            items: r.get::<_, i64>(8)? as u64,
            created_at: r.get(9)?,
            state: OutboxState::Queued,
            attempts: r.get::<_, i64>(11)? as u32,
            next_attempt_ms: r.get(12)?,
            last_error: r.get(13)?,
            sent_at: r.get(14)?,
        },
        r.get(4)?,
        r.get(10)?,
    ))
}

fn finish(row: (OutboxEntry, String, String)) -> Result<OutboxEntry> {
    let (mut entry, recipients, state) = row;
    entry.recipients = serde_json::from_str(&recipients)
        .map_err(|e| StoreError::Corrupt(format!("notify_outbox {}: recipients: {e}", entry.id)))?;
    entry.state = OutboxState::parse(&state)?;
    Ok(entry)
}

impl SqliteStore {
    fn query_entries(&self, sql: &str, args: impl rusqlite::Params) -> Result<Vec<OutboxEntry>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(args, row_to_entry)?;
        rows.map(|r| finish(r?)).collect()
    }
}

impl OutboxStore for SqliteStore {
    fn enqueue(&mut self, notice: &NewNotice) -> Result<bool> {
        // Immediate: two planners running at once cannot both claim the same records.
        let tx = self.write_tx()?;
        let exists: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM notify_outbox WHERE id = ?1
                 OR (?2 IS NOT NULL AND team = ?3 AND channel = ?4 AND slot = ?2)",
                params![notice.id, notice.slot, notice.team, notice.channel],
                |r| r.get(0),
            )
            .optional()?;
        if exists.is_some() {
            return Ok(false);
        }
        {
            let mut claimed = tx.prepare_cached(
                "SELECT 1 FROM notify_items WHERE team = ? AND channel = ? AND item = ?",
            )?;
            for item in &notice.items {
                if claimed.exists(params![notice.team, notice.channel, item])? {
                    return Ok(false);
                }
            }
        }
        let recipients = serde_json::to_string(&notice.recipients)
            .map_err(|e| StoreError::Corrupt(format!("recipients: {e}")))?;
        tx.execute(
            &format!(
                "INSERT INTO notify_outbox ({COLUMNS})
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, NULL, NULL)"
            ),
            params![
                notice.id,
                notice.team,
                notice.channel,
                notice.slot,
                recipients,
                notice.subject,
                notice.tlp,
                notice.payload,
                notice.items.len() as i64,
                notice.created_at,
                notice.created_at.saturating_mul(1000),
            ],
        )?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO notify_items (team, channel, item, notice) VALUES (?, ?, ?, ?)",
            )?;
            for item in &notice.items {
                insert.execute(params![notice.team, notice.channel, item, notice.id])?;
            }
        }
        tx.commit()?;
        Ok(true)
    }

    fn notified_items(&self, team: &str, channel: &str) -> Result<HashSet<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT item FROM notify_items WHERE team = ? AND channel = ?")?;
        let rows = stmt.query_map(params![team, channel], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn slot_taken(&self, team: &str, channel: &str, slot: &str) -> Result<bool> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT 1 FROM notify_outbox WHERE team = ? AND channel = ? AND slot = ?",
        )?;
        Ok(stmt.exists(params![team, channel, slot])?)
    }

    fn notices_since(&self, team: &str, channel: &str, since: i64) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM notify_outbox WHERE team = ? AND channel = ? AND created_at >= ?",
            params![team, channel, since],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    fn due_notices(&self, now_ms: i64) -> Result<Vec<OutboxEntry>> {
        self.query_entries(
            &format!(
                "SELECT {COLUMNS} FROM notify_outbox WHERE state = 'queued' AND next_attempt_ms <= ?
                 ORDER BY next_attempt_ms, created_at, id"
            ),
            [now_ms],
        )
    }

    fn notices(&self, state: Option<OutboxState>) -> Result<Vec<OutboxEntry>> {
        self.query_entries(
            &format!(
                "SELECT {COLUMNS} FROM notify_outbox WHERE ?1 IS NULL OR state = ?1
                 ORDER BY created_at, id"
            ),
            [state.map(OutboxState::as_str)],
        )
    }

    fn mark_sent(&mut self, id: &str, now: i64) -> Result<()> {
        self.writable()?;
        let n = self.conn.execute(
            "UPDATE notify_outbox SET state = 'sent', attempts = attempts + 1, sent_at = ?,
             last_error = NULL WHERE id = ?",
            params![now, id],
        )?;
        if n == 0 {
            return Err(StoreError::InvalidQuery(format!(
                "no notice {id} in the outbox"
            )));
        }
        Ok(())
    }

    fn mark_attempt_failed(
        &mut self,
        id: &str,
        error: &str,
        retry_at_ms: Option<i64>,
    ) -> Result<()> {
        let (state, next) = match retry_at_ms {
            Some(at) => ("queued", Some(at)),
            None => ("failed", None),
        };
        self.writable()?;
        let n = self.conn.execute(
            "UPDATE notify_outbox SET state = ?, attempts = attempts + 1, last_error = ?,
             next_attempt_ms = COALESCE(?, next_attempt_ms) WHERE id = ?",
            params![state, error, next, id],
        )?;
        if n == 0 {
            return Err(StoreError::InvalidQuery(format!(
                "no notice {id} in the outbox"
            )));
        }
        Ok(())
    }

    fn requeue_failed(&mut self, now_ms: i64) -> Result<usize> {
        self.writable()?;
        Ok(self.conn.execute(
            "UPDATE notify_outbox SET state = 'queued', attempts = 0, next_attempt_ms = ?
             WHERE state = 'failed'",
            [now_ms],
        )?)
    }

    fn record_withheld(&mut self, record: &WithheldRecord) -> Result<()> {
        self.writable()?;
        self.conn.execute(
            "INSERT OR IGNORE INTO notify_withheld (team, item, tlp, max_tlp, at)
             VALUES (?, ?, ?, ?, ?)",
            params![
                record.team,
                record.item,
                record.tlp,
                record.max_tlp,
                record.at
            ],
        )?;
        Ok(())
    }

    fn withheld(&self) -> Result<Vec<WithheldRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT team, item, tlp, max_tlp, at FROM notify_withheld ORDER BY team, item",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(WithheldRecord {
                team: r.get(0)?,
                item: r.get(1)?,
                tlp: r.get(2)?,
                max_tlp: r.get(3)?,
                at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(id: &str, items: &[&str], slot: Option<&str>) -> NewNotice {
        NewNotice {
            id: id.into(),
            team: "t".into(),
            channel: "email".into(),
            slot: slot.map(String::from),
            recipients: vec!["a@example.org".into()],
            subject: "s".into(),
            tlp: "TLP:GREEN".into(),
            payload: vec![1, 2, 3],
            items: items.iter().map(|s| s.to_string()).collect(),
            created_at: 100,
        }
    }

    #[test]
    fn a_record_goes_into_one_notice_per_team_and_channel() {
        let mut s = SqliteStore::open_in_memory().unwrap();
        assert!(
            s.enqueue(&notice("a", &["event:1", "event:2"], None))
                .unwrap()
        );
        assert!(
            !s.enqueue(&notice("b", &["event:2", "event:3"], None))
                .unwrap()
        );
        assert!(s.enqueue(&notice("c", &["event:3"], None)).unwrap());
        let mut other = notice("d", &["event:1"], None);
        other.channel = "webhook".into();
        assert!(
            s.enqueue(&other).unwrap(),
            "another channel is another delivery"
        );
        assert_eq!(s.notified_items("t", "email").unwrap().len(), 3);
        assert_eq!(s.notices(None).unwrap().len(), 3);
    }

    #[test]
    fn one_notice_per_slot() {
        let mut s = SqliteStore::open_in_memory().unwrap();
        assert!(
            s.enqueue(&notice("a", &["event:1"], Some("digest:2026-11-23")))
                .unwrap()
        );
        assert!(s.slot_taken("t", "email", "digest:2026-11-23").unwrap());
        assert!(
            !s.enqueue(&notice("b", &["event:2"], Some("digest:2026-11-23")))
                .unwrap()
        );
        assert!(
            s.enqueue(&notice("c", &["event:2"], Some("digest:2026-11-24")))
                .unwrap()
        );
    }

    #[test]
    fn failures_retry_then_fail_and_can_be_requeued() {
        let mut s = SqliteStore::open_in_memory().unwrap();
        s.enqueue(&notice("a", &["event:1"], None)).unwrap();
        s.mark_attempt_failed("a", "connection refused", Some(500_000))
            .unwrap();
        assert!(s.due_notices(499_999).unwrap().is_empty());
        let due = s.due_notices(500_000).unwrap();
        assert_eq!(due[0].attempts, 1);
        assert_eq!(due[0].last_error.as_deref(), Some("connection refused"));
        s.mark_attempt_failed("a", "550 no such user", None)
            .unwrap();
        assert_eq!(s.notices(Some(OutboxState::Failed)).unwrap().len(), 1);
        assert!(s.due_notices(i64::MAX).unwrap().is_empty());
        assert_eq!(s.requeue_failed(7).unwrap(), 1);
        assert_eq!(s.due_notices(7).unwrap().len(), 1);
        s.mark_sent("a", 9).unwrap();
        let e = &s.notices(None).unwrap()[0];
        assert_eq!(
            (e.state, e.sent_at, e.last_error.clone()),
            (OutboxState::Sent, Some(9), None)
        );
        assert!(s.mark_sent("zz", 9).is_err());
    }

    #[test]
    fn withheld_records_are_kept_once() {
        let mut s = SqliteStore::open_in_memory().unwrap();
        let w = WithheldRecord {
            team: "t".into(),
            item: "event:1".into(),
            tlp: "TLP:AMBER".into(),
            max_tlp: "TLP:GREEN".into(),
            at: 5,
        };
        s.record_withheld(&w).unwrap();
        s.record_withheld(&WithheldRecord { at: 6, ..w.clone() })
            .unwrap();
        assert_eq!(s.withheld().unwrap(), vec![w]);
    }
}
