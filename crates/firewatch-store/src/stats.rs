//! How big the store is and what time it spans: rows and bytes per table, the oldest and
//! newest data of the time-keyed tables, and the backend's own figures (`firewatch store
//! stats`).
//!
//! SQLite: bytes per table come from its `dbstat` virtual table (the table's pages with those
//! of its indexes); a SQLite built without it gives the file's bytes only (`page_count` ×
//! `page_size`) and `None` per table, and says so in [`StoreStatsReport::bytes_per_table`].
//! PostgreSQL: bytes per table are `pg_total_relation_size` (heap, indexes and TOAST), a
//! partitioned table's summed over its partitions (`src/postgres/stats.rs`).

use crate::{Result, SqliteStore};
use rusqlite::OptionalExtension as _;
use serde::Serialize;
use std::collections::BTreeMap;

/// One table of the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableStats {
    /// The table's name.
    pub table: String,
    /// Rows it holds.
    pub rows: u64,
    /// Bytes of its pages and of its indexes' pages; `None` when SQLite has no `dbstat`.
    pub bytes: Option<u64>,
    /// Unix seconds of its oldest data, for a time-keyed table holding any.
    pub oldest: Option<i64>,
    /// Unix seconds of its newest data, for a time-keyed table holding any.
    pub newest: Option<i64>,
    /// For a PostgreSQL table partitioned by time: its partitions, whose rows and bytes are
    /// summed into it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partitions: Option<u64>,
}

/// What [`StoreStats::stats`] reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreStatsReport {
    /// The backend: `sqlite` or `postgres`.
    pub backend: &'static str,
    /// Where the store is: SQLite's file (`None` in memory), or the PostgreSQL database
    /// (`postgres://user@host:port/db`, never a password).
    pub location: Option<String>,
    /// Bytes of the whole store: SQLite's pages (`page_count` × `page_size`, free ones
    /// included); PostgreSQL's tables of the store's schema with their indexes and TOAST.
    pub total_bytes: u64,
    /// Where the bytes per table come from: `dbstat`, `unavailable` (this SQLite has no
    /// `dbstat`; only the whole file's bytes are known), or `pg_total_relation_size`.
    pub bytes_per_table: &'static str,
    /// Every table, by name.
    pub tables: Vec<TableStats>,
    /// SQLite's own figures (its file, pages and journal); `None` for PostgreSQL.
    #[serde(flatten)]
    pub sqlite: Option<SqliteFigures>,
    /// PostgreSQL's own figures (schema, server, database); `None` for SQLite.
    #[serde(flatten)]
    pub postgres: Option<PostgresFigures>,
}

/// What only a SQLite store has: its file, pages and journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SqliteFigures {
    /// Bytes of the file on disk (without its write-ahead log).
    pub file_bytes: Option<u64>,
    /// Bytes of the write-ahead log beside it, if there is one.
    pub wal_bytes: Option<u64>,
    /// SQLite's page size in bytes.
    pub page_size: u64,
    /// Pages in the database.
    pub page_count: u64,
    /// Pages free for reuse (space a `VACUUM` would give back).
    pub freelist_pages: u64,
    /// SQLite's journal mode (`wal` for a store Firewatch wrote).
    pub journal_mode: String,
}

/// What only a PostgreSQL store has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostgresFigures {
    /// The schema the store's tables are in.
    pub schema: String,
    /// The server's version (`server_version`).
    pub server_version: String,
    /// Bytes of the whole database (every schema, the catalogue included).
    pub database_bytes: u64,
}

impl StoreStatsReport {
    /// Rows in all tables.
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

/// Reports the size and time span of what a store holds.
pub trait StoreStats {
    /// Rows, bytes and oldest/newest data per table, with the backend's own figures. Counts
    /// every row, so it reads the whole store once.
    fn stats(&self) -> Result<StoreStatsReport>;
}

/// The time-keyed tables: the table, and SQL for its oldest and newest data in Unix seconds.
pub(crate) const TIME_KEYS: &[(&str, &str, &str)] = &[
    (
        "port_intervals",
        "min(interval_start)",
        "max(interval_start)",
    ),
    ("flowtuples", "min(interval_start)", "max(interval_start)"),
    (
        "sources",
        "min(first_ns) / 1000000000",
        "max(last_ns) / 1000000000",
    ),
    (
        "attacks",
        "min(start_ns) / 1000000000",
        "max(end_ns) / 1000000000",
    ),
    ("events", "min(time)", "max(time)"),
    (
        "inputs",
        "min(first_ns) / 1000000000",
        "max(last_ns) / 1000000000",
    ),
];

impl StoreStats for SqliteStore {
    fn stats(&self) -> Result<StoreStatsReport> {
        let conn = &self.conn;
        let pragma = |name: &str| -> Result<u64> {
            Ok(conn.pragma_query_value(None, name, |r| r.get::<_, i64>(0))? as u64)
        };
        let page_size = pragma("page_size")?;
        let page_count = pragma("page_count")?;
        let freelist_pages = pragma("freelist_count")?;
        let journal_mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
        let bytes = bytes_per_table(conn);
        let names: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut tables = Vec::with_capacity(names.len());
        for name in names {
            let quoted = format!("\"{}\"", name.replace('"', "\"\""));
            let rows: i64 =
                conn.query_row(&format!("SELECT count(*) FROM {quoted}"), [], |r| r.get(0))?;
            let (oldest, newest) = match TIME_KEYS.iter().find(|(t, _, _)| *t == name) {
                Some((_, min, max)) => conn
                    .query_row(&format!("SELECT {min}, {max} FROM {quoted}"), [], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()?
                    .unwrap_or((None, None)),
                None => (None, None),
            };
            tables.push(TableStats {
                bytes: bytes.as_ref().map(|b| b.get(&name).copied().unwrap_or(0)),
                table: name,
                rows: rows as u64,
                oldest,
                newest,
                partitions: None,
            });
        }
        let path = conn.path().filter(|p| !p.is_empty()).map(str::to_string);
        let size = |p: &str| std::fs::metadata(p).ok().map(|m| m.len());
        Ok(StoreStatsReport {
            backend: "sqlite",
            total_bytes: page_count * page_size,
            sqlite: Some(SqliteFigures {
                file_bytes: path.as_deref().and_then(size),
                wal_bytes: path.as_deref().and_then(|p| size(&format!("{p}-wal"))),
                page_size,
                page_count,
                freelist_pages,
                journal_mode,
            }),
            postgres: None,
            location: path,
            bytes_per_table: if bytes.is_some() {
                "dbstat"
            } else {
                "unavailable"
            },
            tables,
        })
    }
}

/// Bytes per table (its own pages and its indexes'), from `dbstat`; `None` when this SQLite
/// was built without it.
fn bytes_per_table(conn: &rusqlite::Connection) -> Option<BTreeMap<String, u64>> {
    let mut stmt = conn
        .prepare(
            "SELECT s.tbl_name, sum(d.pgsize) FROM dbstat AS d JOIN sqlite_schema AS s ON s.name = d.name
             WHERE d.aggregate = TRUE GROUP BY s.tbl_name",
        )
        .ok()?;
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })
        .ok()?;
    rows.collect::<rusqlite::Result<_>>().ok()
}

#[cfg(test)]
mod tests {
    use super::StoreStats;
    use crate::SqliteStore;

    #[test]
    fn an_empty_store_has_tables_without_rows_or_times() {
        let store = SqliteStore::open_in_memory().unwrap();
        let report = store.stats().unwrap();
        assert_eq!(
            (report.backend, report.bytes_per_table),
            ("sqlite", "dbstat")
        );
        let figures = report.sqlite.as_ref().unwrap();
        assert!(figures.page_size > 0 && figures.page_count > 0);
        assert_eq!(report.total_bytes, figures.page_size * figures.page_count);
        let sources = report.tables.iter().find(|t| t.table == "sources").unwrap();
        assert_eq!(
            (sources.rows, sources.oldest, sources.newest),
            (0, None, None)
        );
        assert!(report.tables.iter().any(|t| t.table == "events"));
        assert_eq!(
            report.total_rows(),
            report.tables.iter().map(|t| t.rows).sum::<u64>()
        );
    }
}
