//! PostgreSQL implementation of the identity area (issue 17): users and API tokens, as
//! [`crate::identity`] documents them.
//!
//! Also home of [`read`], how this area's `&self` methods reach a connection.

use postgres::{Client, Row};

use super::PgStore;
use crate::{IdentityStore, Result, StoreError, TokenRecord, UserRecord};

/// Runs `f` with one of the store's reader connections ([`PgStore::read`]).
pub(super) fn read<R>(store: &PgStore, f: impl FnOnce(&mut Client) -> Result<R>) -> Result<R> {
    store.read(f)
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// The columns [`user_row`] reads, of `users u`.
pub(super) const USER_COLUMNS: &str = "u.id, u.name, u.team, u.role, u.password_hash, u.created_at";
const TOKEN_COLUMNS: &str = "t.id, t.user_id, u.name, t.token_hash, t.created_at, t.revoked_at";

/// A user from [`USER_COLUMNS`] starting at column `at`.
pub(super) fn user_row(r: &Row, at: usize) -> Result<UserRecord> {
    Ok(UserRecord {
        id: r.try_get(at)?,
        name: r.try_get(at + 1)?,
        team: r.try_get(at + 2)?,
        role: r.try_get(at + 3)?,
        password_hash: r.try_get(at + 4)?,
        created_at: r.try_get(at + 5)?,
    })
}

fn token_row(r: &Row) -> Result<TokenRecord> {
    Ok(TokenRecord {
        id: r.try_get(0)?,
        user_id: r.try_get(1)?,
        user: r.try_get(2)?,
        token_hash: r.try_get(3)?,
        created_at: r.try_get(4)?,
        revoked_at: r.try_get(5)?,
    })
}

impl IdentityStore for PgStore {
    fn add_user(
        &mut self,
        name: &str,
        team: &str,
        role: &str,
        password_hash: Option<&str>,
    ) -> Result<UserRecord> {
        let mut tx = self.write_tx()?;
        // Ids as SQLite gives rowids (the largest plus one); the lock orders two writers.
        tx.batch_execute("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")?;
        let row = tx.query_opt(
            &format!(
                "INSERT INTO users AS u (id, name, team, role, password_hash, created_at)
                 SELECT COALESCE(max(id), 0) + 1, $1::text, $2::text, $3::text, $4::text, $5::bigint
                 FROM users
                 HAVING NOT EXISTS (SELECT 1 FROM users WHERE name = $1)
                 RETURNING {USER_COLUMNS}"
            ),
            &[&name, &team, &role, &password_hash, &now()],
        )?;
        tx.commit()?;
        match row {
            Some(r) => user_row(&r, 0),
            None => Err(StoreError::InvalidQuery(format!(
                "a user named {name:?} exists already"
            ))),
        }
    }

    fn users(&self) -> Result<Vec<UserRecord>> {
        read(self, |c| {
            c.query(
                &format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.name"),
                &[],
            )?
            .iter()
            .map(|r| user_row(r, 0))
            .collect()
        })
    }

    fn user(&self, name: &str) -> Result<Option<UserRecord>> {
        read(self, |c| {
            c.query_opt(
                &format!("SELECT {USER_COLUMNS} FROM users u WHERE u.name = $1"),
                &[&name],
            )?
            .map(|r| user_row(&r, 0))
            .transpose()
        })
    }

    fn remove_user(&mut self, name: &str) -> Result<bool> {
        // The user's tokens and sessions go with it (ON DELETE CASCADE), in this statement.
        let n = self
            .client
            .execute("DELETE FROM users WHERE name = $1", &[&name])?;
        Ok(n > 0)
    }

    fn add_token(&mut self, id: &str, user_id: i64, token_hash: &str) -> Result<TokenRecord> {
        let row = self.client.query_opt(
            &format!(
                "WITH t AS (
                     INSERT INTO api_tokens (id, user_id, token_hash, created_at)
                     VALUES ($1, $2, $3, $4) RETURNING *
                 )
                 SELECT {TOKEN_COLUMNS} FROM t JOIN users u ON u.id = t.user_id"
            ),
            &[&id, &user_id, &token_hash, &now()],
        )?;
        row.map(|r| token_row(&r))
            .transpose()?
            .ok_or_else(|| StoreError::Corrupt(format!("token {id:?} has no user")))
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>> {
        read(self, |c| {
            c.query(
                &format!(
                    "SELECT {TOKEN_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id
                     ORDER BY t.created_at, t.id"
                ),
                &[],
            )?
            .iter()
            .map(token_row)
            .collect()
        })
    }

    fn token(&self, id: &str) -> Result<Option<(TokenRecord, UserRecord)>> {
        read(self, |c| {
            c.query_opt(
                &format!(
                    "SELECT {TOKEN_COLUMNS}, {USER_COLUMNS} FROM api_tokens t
                     JOIN users u ON u.id = t.user_id WHERE t.id = $1"
                ),
                &[&id],
            )?
            .map(|r| Ok((token_row(&r)?, user_row(&r, 6)?)))
            .transpose()
        })
    }

    fn revoke_token(&mut self, id: &str) -> Result<bool> {
        let n = self.client.execute(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            &[&now(), &id],
        )?;
        Ok(n > 0)
    }
}
