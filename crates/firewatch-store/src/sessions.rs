//! Browser sessions of the web service: one row per signed-in browser.
//!
//! The store keeps what it is given — a hash of the session id (never the id in the cookie)
//! and the session's CSRF secret — so that a copy of the database does not sign anyone in.
//! Creating ids and hashing them belongs to `firewatch-web`.

use crate::identity::UserRecord;
use crate::{Result, SqliteStore};
use rusqlite::{OptionalExtension, params};

/// A live session and its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The hash of the session id (hex).
    pub id_hash: String,
    pub user: UserRecord,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; the session is refused from then on.
    pub expires_at: i64,
    /// The synchronizer token of the session's forms.
    pub csrf: String,
}

/// A store of browser sessions. Implemented by [`SqliteStore`].
pub trait SessionStore {
    /// Records a session of a user (`created_at` and `expires_at` in Unix seconds).
    fn add_session(
        &mut self,
        id_hash: &str,
        user_id: i64,
        created_at: i64,
        expires_at: i64,
        csrf: &str,
    ) -> Result<()>;
    /// The session of this id hash with its user, if it exists and has not expired at `now`.
    fn session(&self, id_hash: &str, now: i64) -> Result<Option<SessionRecord>>;
    /// Ends a session; `false` if there was none.
    fn remove_session(&mut self, id_hash: &str) -> Result<bool>;
    /// Deletes the sessions expired at `now`; returns how many.
    fn purge_sessions(&mut self, now: i64) -> Result<usize>;
}

impl SessionStore for SqliteStore {
    fn add_session(
        &mut self,
        id_hash: &str,
        user_id: i64,
        created_at: i64,
        expires_at: i64,
        csrf: &str,
    ) -> Result<()> {
        self.writable()?;
        self.conn.execute(
            "INSERT INTO sessions (id_hash, user_id, created_at, expires_at, csrf) VALUES (?, ?, ?, ?, ?)",
            params![id_hash, user_id, created_at, expires_at, csrf],
        )?;
        Ok(())
    }

    fn session(&self, id_hash: &str, now: i64) -> Result<Option<SessionRecord>> {
        // The join drops the sessions of removed users.
        Ok(self
            .conn
            .query_row(
                "SELECT s.id_hash, s.created_at, s.expires_at, s.csrf, \
                 u.id, u.name, u.team, u.role, u.password_hash, u.created_at \
                 FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.id_hash = ? AND s.expires_at > ?",
                params![id_hash, now],
                |r| {
                    Ok(SessionRecord {
                        id_hash: r.get(0)?,
                        created_at: r.get(1)?,
                        expires_at: r.get(2)?,
                        csrf: r.get(3)?,
                        user: UserRecord {
                            id: r.get(4)?,
                            name: r.get(5)?,
                            team: r.get(6)?,
                            role: r.get(7)?,
                            password_hash: r.get(8)?,
                            created_at: r.get(9)?,
                        },
                    })
                },
            )
            .optional()?)
    }

    fn remove_session(&mut self, id_hash: &str) -> Result<bool> {
        self.writable()?;
        Ok(self
            .conn
            .execute("DELETE FROM sessions WHERE id_hash = ?", [id_hash])?
            > 0)
    }

    fn purge_sessions(&mut self, now: i64) -> Result<usize> {
        self.writable()?;
        Ok(self
            .conn
            .execute("DELETE FROM sessions WHERE expires_at <= ?", [now])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IdentityStore;

    #[test]
    fn sessions_live_expire_and_end() {
        let mut s = SqliteStore::open_in_memory().unwrap();
        let u = s.add_user("ana", "a", "member", None).unwrap();
        s.add_session("h1", u.id, 100, 200, "tok").unwrap();
        let got = s.session("h1", 150).unwrap().unwrap();
        assert_eq!((got.user.name.as_str(), got.csrf.as_str()), ("ana", "tok"));
        assert!(s.session("h1", 200).unwrap().is_none(), "expired");
        assert!(s.session("h2", 150).unwrap().is_none());
        assert!(s.remove_session("h1").unwrap());
        assert!(s.session("h1", 150).unwrap().is_none());
        s.add_session("h3", u.id, 100, 200, "t").unwrap();
        assert_eq!(s.purge_sessions(300).unwrap(), 1);
        s.add_session("h4", u.id, 100, 200, "t").unwrap();
        s.remove_user("ana").unwrap();
        assert!(s.session("h4", 150).unwrap().is_none(), "user removed");
    }
}
