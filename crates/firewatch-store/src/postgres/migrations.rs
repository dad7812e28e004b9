//! Versioned schema migrations of the PostgreSQL backend, applied in order; the table
//! `firewatch_schema_version` records each one applied.

use postgres::Client;

use crate::{Result, StoreError};

/// Each entry moves the schema one version up: (name, SQL). Never edit a released entry: add
/// a new one. Each area of the store has its own file.
pub(crate) const MIGRATIONS: &[(&str, &str)] = &[
    ("telescope", include_str!("schema/001_telescope.sql")),
    ("events", include_str!("schema/002_events.sql")),
    ("accounts", include_str!("schema/003_accounts.sql")),
];

const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS firewatch_schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

/// The last version applied (0 for a new database).
pub(crate) fn version(client: &mut Client) -> Result<i64> {
    client.batch_execute(VERSION_TABLE)?;
    let row = client.query_one(
        "SELECT COALESCE(MAX(version), 0)::BIGINT FROM firewatch_schema_version",
        &[],
    )?;
    Ok(row.get(0))
}

/// Applies the migrations not yet applied, each in its own transaction, under an advisory
/// lock on the schema so that two processes opening a new store at once do not both run one.
pub(crate) fn migrate(client: &mut Client) -> Result<()> {
    let known = MIGRATIONS.len() as i64;
    loop {
        let mut tx = client.transaction()?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('firewatch-migrate:' || current_schema()))",
            &[],
        )?;
        tx.batch_execute(VERSION_TABLE)?;
        let found: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0)::BIGINT FROM firewatch_schema_version",
                &[],
            )?
            .get(0);
        if found > known {
            return Err(StoreError::TooNew { found, known });
        }
        if found == known {
            return Ok(());
        }
        let (name, sql) = MIGRATIONS[found as usize];
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO firewatch_schema_version (version, name, applied_at) VALUES ($1, $2, $3)",
            &[
                &((found + 1) as i32),
                &name,
                &jiff::Timestamp::now().as_second(),
            ],
        )?;
        tx.commit()?;
    }
}
