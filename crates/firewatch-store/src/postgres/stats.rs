//! PostgreSQL implementation of the stats area (issue 17): [`StoreStats`] for [`PgStore`].
//!
//! Every table of the store's schema (its migrations' bookkeeping aside), by name, with its
//! rows and `pg_total_relation_size` (heap, indexes and TOAST); a partitioned table is one
//! line, its partitions' rows and bytes summed into it. The time-keyed tables report their
//! oldest and newest data as the SQLite backend does.

use super::PgStore;
use super::telescope::read;
use crate::Result;
use crate::stats::{PostgresFigures, StoreStats, StoreStatsReport, TIME_KEYS, TableStats};

impl StoreStats for PgStore {
    fn stats(&self) -> Result<StoreStatsReport> {
        read(self, |c| {
            let head = c.query_one(
                "SELECT current_schema()::text, current_setting('server_version'),
                        pg_database_size(current_database())",
                &[],
            )?;
            let schema: String = head.try_get(0)?;
            let server_version: String = head.try_get(1)?;
            let database_bytes: i64 = head.try_get(2)?;
            // Top-level tables only: a partition is counted in its parent.
            let names = c.query(
                "SELECT c.relname::text, c.relkind = 'p' FROM pg_class c
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
                   AND NOT c.relispartition AND c.relname <> 'firewatch_schema_version'
                 ORDER BY c.relname COLLATE \"C\"",
                &[],
            )?;
            let mut tables = Vec::with_capacity(names.len());
            for row in names {
                let name: String = row.try_get(0)?;
                let partitioned: bool = row.try_get(1)?;
                let quoted = format!("\"{}\"", name.replace('"', "\"\""));
                let rows: i64 = c
                    .query_one(&format!("SELECT count(*) FROM {quoted}"), &[])?
                    .try_get(0)?;
                // pg_partition_tree lists nothing for a table that is not partitioned.
                let size = c.query_one(
                    "SELECT CASE WHEN $2 THEN (
                                SELECT COALESCE(sum(pg_total_relation_size(relid)), 0)::bigint
                                FROM pg_partition_tree(to_regclass(quote_ident($1))))
                            ELSE pg_total_relation_size(to_regclass(quote_ident($1))) END,
                            (SELECT count(*) FROM pg_partition_tree(to_regclass(quote_ident($1)))
                             WHERE isleaf AND level > 0)",
                    &[&name, &partitioned],
                )?;
                let bytes: i64 = size.try_get(0)?;
                let partitions: i64 = size.try_get(1)?;
                let (oldest, newest) = match TIME_KEYS.iter().find(|(t, _, _)| *t == name) {
                    Some((_, min, max)) => {
                        let r = c.query_one(
                            &format!("SELECT ({min})::bigint, ({max})::bigint FROM {quoted}"),
                            &[],
                        )?;
                        (r.try_get(0)?, r.try_get(1)?)
                    }
                    None => (None, None),
                };
                tables.push(TableStats {
                    table: name,
                    rows: rows as u64,
                    bytes: Some(bytes as u64),
                    oldest,
                    newest,
                    partitions: partitioned.then_some(partitions as u64),
                });
            }
            Ok(StoreStatsReport {
                backend: "postgres",
                location: Some(self.location.clone()),
                total_bytes: tables.iter().filter_map(|t| t.bytes).sum(),
                bytes_per_table: "pg_total_relation_size",
                tables,
                sqlite: None,
                postgres: Some(PostgresFigures {
                    schema,
                    server_version,
                    database_bytes: database_bytes as u64,
                }),
            })
        })
    }
}
