//! PostgreSQL implementation of the health area (issue 17): Internet-health metrics, as
//! [`crate::health`] documents them.
//!
//! The facts are read from the events area's table (schema/002_events.sql): its indexed
//! columns, and the document parsed once per row for the three fields without a column. The
//! cells and published figures of a computation can be many (a cell per ASN, risk and day),
//! so they go in by binary COPY.

use std::collections::HashMap;
use std::hash::Hash;

use postgres::Transaction;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};

use firewatch_core::telescope::DARKNET_FEED;

use super::PgStore;
use super::identity::read;
use crate::health::{
    AddressSpaceRecord, DARKNET_TYPES, HealthCellRecord, HealthEventFacts, HealthMeta,
    HealthPublicRecord, HealthSnapshot, RISK_TYPES,
};
use crate::{HealthStore, Result, StoreError, TimeRange};

/// The columns of [`HealthEventFacts`], from `events e` and its document `j.d` (JSONB).
const FACT_COLUMNS: &str = "e.time, e.feed, e.classification_type,
    j.d ->> 'classification.identifier', j.d ->> 'malware.name',
    e.source_ip, e.source_cc, e.source_asn, e.tlp,
    CASE WHEN e.feed = $1 THEN COALESCE(j.d ->> 'extra.last_seen', j.d ->> 'extra.end') END";

fn parse_time(s: &str) -> Option<i64> {
    s.parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
}

fn to_u64(v: i64, what: &str) -> Result<u64> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} is negative: {v}")))
}

/// SQLite stores a NaN as NULL; so does this backend, so that both read back `None`.
fn real(v: Option<f64>) -> Option<f64> {
    v.filter(|v| !v.is_nan())
}

/// The rows of `rows` with distinct keys, the last of each kept (SQLite's INSERT OR REPLACE).
fn last_of_each<'a, T, K: Eq + Hash>(rows: &'a [T], key: impl Fn(&'a T) -> K) -> Vec<&'a T> {
    let mut at: HashMap<K, usize> = HashMap::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        at.insert(key(row), i);
    }
    let mut kept: Vec<usize> = at.into_values().collect();
    kept.sort_unstable();
    kept.into_iter().map(|i| &rows[i]).collect()
}

/// A binary COPY into `table` (its `columns`, of `types`); `finish` it.
fn copy_into<'a>(
    tx: &'a mut Transaction<'_>,
    table: &str,
    columns: &str,
    types: &[Type],
) -> Result<BinaryCopyInWriter<'a>> {
    let sink = tx.copy_in(&format!(
        "COPY {table} ({columns}) FROM STDIN (FORMAT binary)"
    ))?;
    Ok(BinaryCopyInWriter::new(sink, types))
}

impl HealthStore for PgStore {
    fn health_events(
        &self,
        range: &TimeRange,
        visit: &mut dyn FnMut(HealthEventFacts),
    ) -> Result<u64> {
        let (since, until) = (range.since_or_min(), range.until_or_max());
        let from = "FROM events e CROSS JOIN LATERAL (SELECT e.doc::jsonb AS d) AS j";
        let in_range = format!(
            "SELECT {FACT_COLUMNS} {from}
             WHERE e.classification_type IN {RISK_TYPES} AND e.time BETWEEN $2 AND $3
             AND e.source_ip IS NOT NULL"
        );
        // Telescope findings that began before the range: only the telescope's kinds, so the
        // (classification_type, time) index skips the reports.
        let spanning = format!(
            "SELECT {FACT_COLUMNS} {from}
             WHERE e.classification_type IN {DARKNET_TYPES} AND e.feed = $1 AND e.time < $2
             AND e.source_ip IS NOT NULL"
        );
        read(self, |c| {
            let mut n = 0;
            let mut run = |sql: &str, params: &[&(dyn ToSql + Sync)], spanning_only: bool| {
                // A portal read in batches: a year of findings need not be held at once.
                let mut tx = c.transaction()?;
                let portal = tx.bind(sql, params)?;
                loop {
                    let rows = tx.query_portal(&portal, 10_000)?;
                    if rows.is_empty() {
                        break;
                    }
                    for r in &rows {
                        let last: Option<String> = r.try_get(9)?;
                        let facts = HealthEventFacts {
                            time: r.try_get(0)?,
                            last_seen: last.as_deref().and_then(parse_time),
                            feed: r.try_get(1)?,
                            classification_type: r.try_get(2)?,
                            identifier: r.try_get(3)?,
                            malware: r.try_get(4)?,
                            source_ip: r.try_get(5)?,
                            country: r.try_get(6)?,
                            asn: r.try_get(7)?,
                            tlp: r.try_get(8)?,
                        };
                        if spanning_only && facts.last_seen.is_none_or(|l| l < since) {
                            continue;
                        }
                        n += 1;
                        visit(facts);
                    }
                }
                tx.commit()?;
                Ok::<_, StoreError>(())
            };
            run(&in_range, &[&DARKNET_FEED, &since, &until], false)?;
            if range.since.is_some() {
                run(&spanning, &[&DARKNET_FEED, &since], true)?;
            }
            Ok(n)
        })
    }

    fn commit_health(&mut self, snapshot: &HealthSnapshot) -> Result<()> {
        let meta = serde_json::to_string(&snapshot.meta)
            .map_err(|e| StoreError::Corrupt(format!("health metadata: {e}")))?;
        let cells = last_of_each(&snapshot.cells, |c| {
            (c.scope.as_str(), c.day, c.risk.as_str(), c.key.as_str())
        });
        let space = last_of_each(&snapshot.address_space, |s| {
            (s.scope.as_str(), s.key.as_str())
        });
        let public = last_of_each(&snapshot.public, |p| {
            (p.scope.as_str(), p.day, p.risk.as_str(), p.key.as_str())
        });
        let (first, last) = snapshot.days;
        let mut tx = self.write_tx()?;
        // One computation at a time, as SQLite's IMMEDIATE transaction: a second waits here,
        // then deletes what the first wrote instead of mixing its rows with them. Readers
        // are not held up.
        tx.batch_execute(
            "LOCK TABLE health_cells, health_address_space, health_public, health_meta
             IN SHARE ROW EXCLUSIVE MODE",
        )?;
        tx.execute(
            "DELETE FROM health_cells WHERE day BETWEEN $1 AND $2",
            &[&first, &last],
        )?;
        // A cell outside the days replaces the stored one of its key, as INSERT OR REPLACE.
        let outside: Vec<&&HealthCellRecord> = cells
            .iter()
            .filter(|c| !(first..=last).contains(&c.day))
            .collect();
        if !outside.is_empty() {
            tx.execute(
                "DELETE FROM health_cells AS c USING unnest($1::text[], $2::bigint[],
                     $3::text[], $4::text[]) AS k(scope, day, risk, key)
                 WHERE (c.scope, c.day, c.risk, c.key) = (k.scope, k.day, k.risk, k.key)",
                &[
                    &outside.iter().map(|c| c.scope.as_str()).collect::<Vec<_>>(),
                    &outside.iter().map(|c| c.day).collect::<Vec<_>>(),
                    &outside.iter().map(|c| c.risk.as_str()).collect::<Vec<_>>(),
                    &outside.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(),
                ],
            )?;
        }
        let mut copy = copy_into(
            &mut tx,
            "health_cells",
            "scope, key, risk, day, unique_ips, public_unique_ips",
            &[
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::INT8,
                Type::INT8,
                Type::INT8,
            ],
        )?;
        for c in cells {
            copy.write(&[
                &c.scope,
                &c.key,
                &c.risk,
                &c.day,
                // Wrapping, as SQLite's backend stores them.
                &(c.unique_ips as i64),
                &(c.public_unique_ips as i64),
            ])?;
        }
        copy.finish()?;
        tx.execute("DELETE FROM health_address_space", &[])?;
        let mut copy = copy_into(
            &mut tx,
            "health_address_space",
            "scope, key, ipv4_addresses",
            &[Type::TEXT, Type::TEXT, Type::INT8],
        )?;
        for a in space {
            copy.write(&[&a.scope, &a.key, &(a.ipv4_addresses as i64)])?;
        }
        copy.finish()?;
        tx.execute("DELETE FROM health_public", &[])?;
        let mut copy = copy_into(
            &mut tx,
            "health_public",
            "scope, key, risk, day, unique_ips, announced_ipv4, per_million_addresses, \
             ddos_potential_gbps, trend_index, rank",
            &[
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::INT8,
                Type::INT8,
                Type::INT8,
                Type::FLOAT8,
                Type::FLOAT8,
                Type::FLOAT8,
                Type::INT8,
            ],
        )?;
        for p in public {
            copy.write(&[
                &p.scope,
                &p.key,
                &p.risk,
                &p.day,
                &(p.unique_ips as i64),
                &p.announced_ipv4.map(|n| n as i64),
                &real(p.per_million_addresses),
                &real(p.ddos_potential_gbps),
                &real(p.trend_index),
                &i64::from(p.rank),
            ])?;
        }
        copy.finish()?;
        tx.execute(
            "INSERT INTO health_meta (meta) VALUES ($1::text::jsonb)
             ON CONFLICT (only_row) DO UPDATE SET meta = EXCLUDED.meta",
            &[&meta],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn health_cells(
        &self,
        scope: Option<&str>,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<Vec<HealthCellRecord>> {
        read(self, |c| {
            c.query(
                "SELECT day, scope, key, risk, unique_ips, public_unique_ips FROM health_cells
                 WHERE ($1::text IS NULL OR scope = $1) AND day BETWEEN $2 AND $3
                 ORDER BY scope, day, risk, key",
                &[&scope, &from.unwrap_or(i64::MIN), &to.unwrap_or(i64::MAX)],
            )?
            .iter()
            .map(|r| {
                Ok(HealthCellRecord {
                    day: r.try_get(0)?,
                    scope: r.try_get(1)?,
                    key: r.try_get(2)?,
                    risk: r.try_get(3)?,
                    unique_ips: to_u64(r.try_get(4)?, "unique_ips")?,
                    public_unique_ips: to_u64(r.try_get(5)?, "public_unique_ips")?,
                })
            })
            .collect()
        })
    }

    fn health_address_space(&self) -> Result<Vec<AddressSpaceRecord>> {
        read(self, |c| {
            c.query(
                "SELECT scope, key, ipv4_addresses FROM health_address_space
                 ORDER BY scope, key",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(AddressSpaceRecord {
                    scope: r.try_get(0)?,
                    key: r.try_get(1)?,
                    ipv4_addresses: to_u64(r.try_get(2)?, "ipv4_addresses")?,
                })
            })
            .collect()
        })
    }

    fn health_public(
        &self,
        scope: &str,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<Vec<HealthPublicRecord>> {
        read(self, |c| {
            c.query(
                "SELECT day, scope, key, risk, unique_ips, announced_ipv4,
                        per_million_addresses, ddos_potential_gbps, trend_index, rank
                 FROM health_public WHERE scope = $1 AND day BETWEEN $2 AND $3
                 ORDER BY day, risk, rank, key",
                &[&scope, &from.unwrap_or(i64::MIN), &to.unwrap_or(i64::MAX)],
            )?
            .iter()
            .map(|r| {
                let announced: Option<i64> = r.try_get(5)?;
                let rank: i64 = r.try_get(9)?;
                Ok(HealthPublicRecord {
                    day: r.try_get(0)?,
                    scope: r.try_get(1)?,
                    key: r.try_get(2)?,
                    risk: r.try_get(3)?,
                    unique_ips: to_u64(r.try_get(4)?, "unique_ips")?,
                    announced_ipv4: announced.map(|n| to_u64(n, "announced_ipv4")).transpose()?,
                    per_million_addresses: r.try_get(6)?,
                    ddos_potential_gbps: r.try_get(7)?,
                    trend_index: r.try_get(8)?,
                    rank: u32::try_from(rank)
                        .map_err(|_| StoreError::Corrupt(format!("health rank {rank}")))?,
                })
            })
            .collect()
        })
    }

    fn health_meta(&self) -> Result<Option<HealthMeta>> {
        read(self, |c| {
            let Some(row) = c.query_opt("SELECT meta::text FROM health_meta", &[])? else {
                return Ok(None);
            };
            let text: String = row.try_get(0)?;
            serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(format!("health metadata: {e}")))
        })
    }
}

#[cfg(test)]
mod tests_support {
    use super::*;

    pub(super) fn snapshot(key: &str, cells: usize) -> HealthSnapshot {
        HealthSnapshot {
            days: (0, 1_000),
            cells: (0..cells)
                .map(|i| HealthCellRecord {
                    day: (i % 1_000) as i64,
                    scope: "asn".into(),
                    key: format!("{key}{}", i / 1_000),
                    risk: "open-dns".into(),
                    unique_ips: i as u64,
                    public_unique_ips: 0,
                })
                .collect(),
            address_space: vec![AddressSpaceRecord {
                scope: "country".into(),
                key: key.into(),
                ipv4_addresses: 1,
            }],
            public: Vec::new(),
            meta: HealthMeta {
                computed_at: 1,
                suppression_threshold: 10,
                base_week: None,
                release_all_tlp: false,
                data_version: key.into(),
                bandwidth_per_device_mbps: 1.0,
                dns_amplification: 41.0,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::snapshot;
    use super::*;
    use crate::postgres::test_url;

    /// Two computations committed at once: the store holds one of them whole, never a mix.
    #[test]
    fn two_computations_at_once_leave_one_whole() {
        let store = PgStore::scratch(&test_url()).unwrap();
        let url = store.scratch_url().unwrap().to_owned();
        for _ in 0..5 {
            std::thread::scope(|scope| {
                for key in ["a", "b"] {
                    let url = url.clone();
                    scope.spawn(move || {
                        PgStore::connect(&url)
                            .unwrap()
                            .commit_health(&snapshot(key, 3_000))
                            .unwrap()
                    });
                }
            });
            let meta = store.health_meta().unwrap().unwrap();
            let key = meta.data_version;
            let space = store.health_address_space().unwrap();
            assert_eq!(space, snapshot(&key, 0).address_space);
            let cells = store.health_cells(None, None, None).unwrap();
            assert_eq!(cells.len(), 3_000);
            assert!(cells.iter().all(|c| c.key.starts_with(key.as_str())));
        }
    }
}

/// Timing of a large computation on both backends (`cargo test -- --ignored --nocapture`).
#[cfg(test)]
mod timing {
    use super::tests_support::snapshot;
    use super::*;
    use crate::SqliteStore;

    #[test]
    #[ignore = "a measurement, not a check"]
    fn commit_health_of_200k_cells() {
        let big = snapshot("k", 200_000);
        let mut pg = PgStore::scratch(&crate::postgres::test_url()).unwrap();
        let mut lite = SqliteStore::open_in_memory().unwrap();
        for round in 0..2 {
            let t = std::time::Instant::now();
            pg.commit_health(&big).unwrap();
            let pg_secs = t.elapsed().as_secs_f64();
            let t = std::time::Instant::now();
            lite.commit_health(&big).unwrap();
            let lite_secs = t.elapsed().as_secs_f64();
            println!("round {round}: PostgreSQL {pg_secs:.2} s, SQLite {lite_secs:.2} s");
        }
        let t = std::time::Instant::now();
        for _ in 0..100 {
            pg.health_meta().unwrap();
        }
        println!(
            "100 reads of health_meta: {:.3} s",
            t.elapsed().as_secs_f64()
        );
    }
}
