//! PostgreSQL implementation of the sessions area (issue 17): browser sessions, as
//! [`crate::sessions`] documents them.

use super::PgStore;
use super::identity::{USER_COLUMNS, read, user_row};
use crate::{Result, SessionRecord, SessionStore};

impl SessionStore for PgStore {
    fn add_session(
        &mut self,
        id_hash: &str,
        user_id: i64,
        created_at: i64,
        expires_at: i64,
        csrf: &str,
    ) -> Result<()> {
        self.client.execute(
            "INSERT INTO sessions (id_hash, user_id, created_at, expires_at, csrf)
             VALUES ($1, $2, $3, $4, $5)",
            &[&id_hash, &user_id, &created_at, &expires_at, &csrf],
        )?;
        Ok(())
    }

    fn session(&self, id_hash: &str, now: i64) -> Result<Option<SessionRecord>> {
        read(self, |c| {
            // The join drops the sessions of removed users (the cascade removes them anyway).
            let Some(r) = c.query_opt(
                &format!(
                    "SELECT s.id_hash, s.created_at, s.expires_at, s.csrf, {USER_COLUMNS}
                     FROM sessions s JOIN users u ON u.id = s.user_id
                     WHERE s.id_hash = $1 AND s.expires_at > $2"
                ),
                &[&id_hash, &now],
            )?
            else {
                return Ok(None);
            };
            Ok(Some(SessionRecord {
                id_hash: r.try_get(0)?,
                created_at: r.try_get(1)?,
                expires_at: r.try_get(2)?,
                csrf: r.try_get(3)?,
                user: user_row(&r, 4)?,
            }))
        })
    }

    fn remove_session(&mut self, id_hash: &str) -> Result<bool> {
        let n = self
            .client
            .execute("DELETE FROM sessions WHERE id_hash = $1", &[&id_hash])?;
        Ok(n > 0)
    }

    fn purge_sessions(&mut self, now: i64) -> Result<usize> {
        let n = self
            .client
            .execute("DELETE FROM sessions WHERE expires_at <= $1", &[&now])?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }
}
