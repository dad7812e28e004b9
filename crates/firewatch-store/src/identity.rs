//! Identities of the web service: users (each of one team, with a role) and their API tokens.
//!
//! The store keeps what it is given: a password's PHC string (hashed by the caller with
//! Argon2) and a token's hash, never a secret. Roles and hashing belong to `firewatch-web`.

use crate::{Result, SqliteStore, StoreError};
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

/// A user of the web service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRecord {
    pub id: i64,
    pub name: String,
    /// The team id (as in the team directory).
    pub team: String,
    /// `administrator`, `coordinator`, `member` or `read-only`.
    pub role: String,
    /// The Argon2 PHC string, for the browser login; `None` for token-only users.
    #[serde(skip)]
    pub password_hash: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// An API token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRecord {
    /// The short public id (the `ID` in `fw_ID_SECRET`).
    pub id: String,
    pub user_id: i64,
    /// The owner's user name.
    pub user: String,
    /// The hash of the secret, hex.
    #[serde(skip)]
    pub token_hash: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// A store of users and tokens. Implemented by [`SqliteStore`].
pub trait IdentityStore {
    /// Adds a user; fails with [`StoreError::InvalidQuery`] if the name is taken.
    fn add_user(
        &mut self,
        name: &str,
        team: &str,
        role: &str,
        password_hash: Option<&str>,
    ) -> Result<UserRecord>;
    /// Every user, by name.
    fn users(&self) -> Result<Vec<UserRecord>>;
    /// The user of this name.
    fn user(&self, name: &str) -> Result<Option<UserRecord>>;
    /// Removes a user and their tokens; `false` if there was none of that name.
    fn remove_user(&mut self, name: &str) -> Result<bool>;
    /// Records a token of a user under its public id and the hash of its secret.
    fn add_token(&mut self, id: &str, user_id: i64, token_hash: &str) -> Result<TokenRecord>;
    /// Every token (revoked ones too), oldest first.
    fn tokens(&self) -> Result<Vec<TokenRecord>>;
    /// A token by public id, with its user.
    fn token(&self, id: &str) -> Result<Option<(TokenRecord, UserRecord)>>;
    /// Revokes a token; `false` if there is none of that id or it was revoked already.
    fn revoke_token(&mut self, id: &str) -> Result<bool>;
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

const USER_COLUMNS: &str = "u.id, u.name, u.team, u.role, u.password_hash, u.created_at";
const TOKEN_COLUMNS: &str = "t.id, t.user_id, u.name, t.token_hash, t.created_at, t.revoked_at";

fn user_row(r: &Row<'_>, at: usize) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        id: r.get(at)?,
        name: r.get(at + 1)?,
        team: r.get(at + 2)?,
        role: r.get(at + 3)?,
        password_hash: r.get(at + 4)?,
        created_at: r.get(at + 5)?,
    })
}

fn token_row(r: &Row<'_>) -> rusqlite::Result<TokenRecord> {
    Ok(TokenRecord {
        id: r.get(0)?,
        user_id: r.get(1)?,
        user: r.get(2)?,
        token_hash: r.get(3)?,
        created_at: r.get(4)?,
        revoked_at: r.get(5)?,
    })
}

impl IdentityStore for SqliteStore {
    fn add_user(
        &mut self,
        name: &str,
        team: &str,
        role: &str,
        password_hash: Option<&str>,
    ) -> Result<UserRecord> {
        if self.user(name)?.is_some() {
            return Err(StoreError::InvalidQuery(format!(
                "a user named {name:?} exists already"
            )));
        }
        self.writable()?;
        self.conn.execute(
            "INSERT INTO users (name, team, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
            params![name, team, role, password_hash, now()],
        )?;
        self.user(name)?
            .ok_or_else(|| StoreError::Corrupt(format!("user {name:?} vanished after insert")))
    }

    fn users(&self) -> Result<Vec<UserRecord>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {USER_COLUMNS} FROM users u ORDER BY u.name"
        ))?;
        let rows = stmt.query_map([], |r| user_row(r, 0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn user(&self, name: &str) -> Result<Option<UserRecord>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users u WHERE u.name = ?"),
                [name],
                |r| user_row(r, 0),
            )
            .optional()?)
    }

    fn remove_user(&mut self, name: &str) -> Result<bool> {
        let tx = self.write_tx()?;
        tx.execute(
            "DELETE FROM api_tokens WHERE user_id IN (SELECT id FROM users WHERE name = ?)",
            [name],
        )?;
        let n = tx.execute("DELETE FROM users WHERE name = ?", [name])?;
        tx.commit()?;
        Ok(n > 0)
    }

    fn add_token(&mut self, id: &str, user_id: i64, token_hash: &str) -> Result<TokenRecord> {
        self.writable()?;
        self.conn.execute(
            "INSERT INTO api_tokens (id, user_id, token_hash, created_at) VALUES (?, ?, ?, ?)",
            params![id, user_id, token_hash, now()],
        )?;
        self.token(id)?
            .map(|(t, _)| t)
            .ok_or_else(|| StoreError::Corrupt(format!("token {id:?} has no user")))
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id
             ORDER BY t.created_at, t.id"
        ))?;
        let rows = stmt.query_map([], token_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn token(&self, id: &str) -> Result<Option<(TokenRecord, UserRecord)>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {TOKEN_COLUMNS}, {USER_COLUMNS} FROM api_tokens t
                     JOIN users u ON u.id = t.user_id WHERE t.id = ?"
                ),
                [id],
                |r| Ok((token_row(r)?, user_row(r, 6)?)),
            )
            .optional()?)
    }

    fn revoke_token(&mut self, id: &str) -> Result<bool> {
        self.writable()?;
        let n = self.conn.execute(
            "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
            params![now(), id],
        )?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_tokens_round_trip() {
        let mut s = SqliteStore::open_in_memory().unwrap();
        let u = s
            .add_user("ana", "cert-a", "member", Some("$argon2id$x"))
            .unwrap();
        assert!(s.add_user("ana", "cert-b", "member", None).is_err());
        s.add_token("abc", u.id, "00ff").unwrap();
        let (t, owner) = s.token("abc").unwrap().unwrap();
        assert_eq!((t.user.as_str(), t.revoked_at), ("ana", None));
        assert_eq!(owner, u);
        assert!(s.revoke_token("abc").unwrap());
        assert!(!s.revoke_token("abc").unwrap());
        assert!(s.token("abc").unwrap().unwrap().0.revoked_at.is_some());
        assert_eq!(s.tokens().unwrap().len(), 1);
        assert!(s.remove_user("ana").unwrap());
        assert!(s.tokens().unwrap().is_empty());
        assert!(s.users().unwrap().is_empty());
    }
}
