//! The capture write path of the SQLite store (issue 17): one capture's aggregate merged into
//! the telescope tables inside the caller's single transaction, so a run killed at any point
//! leaves the store as it was before the capture or with all of it (crash safety unchanged).
//!
//! What makes it lean, compared with one look-up and one upsert per row:
//! - **No look-up where nothing can be stored.** The port cells already stored in the
//!   capture's interval range are found with one walk of the time index (keys only); only
//!   those are read and merged, every other cell is a plain insert. Sources and backscatter
//!   minutes are looked up one by one only when their table holds rows at all.
//! - **Indexes built once, not row by row, on an empty table.** When a table is empty before
//!   the capture (the first capture of a store), its secondary indexes are dropped inside the
//!   transaction and created again after its rows are in: one sort instead of a random B-tree
//!   insert per row and index. The statements are those in `sqlite_schema`, so the schema is
//!   exactly what the migrations made.
//! - **Rows in key order** (cells by protocol, port and interval; sources by their text key),
//!   so each table's B-tree grows from one end.
//! - **Attacks of new victims from memory**: a victim with no stored minutes has its attacks
//!   derived from the capture's minutes, without reading them back.
//! - Stored text (counters, port tallies) written directly, byte for byte as before.

use super::ports_to_text;
use crate::codec::{corrupt, tally_from_json};
use crate::records::Attribution;
use crate::{Derivation, Result};
use firewatch_darknet::aggregate::{PortTally, TtlSet};
use firewatch_darknet::{
    Aggregate, BackscatterMinute, DistinctSet, PortCell, SourceProfile, source_counts,
};
use rusqlite::{OptionalExtension, Transaction, params};
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::net::IpAddr;

/// Writes `agg` into the telescope tables within `tx`, merging with what is stored; the
/// `mid-commit` crash point falls between the cells and the sources, as before.
pub(super) fn write_aggregate(
    tx: &Transaction<'_>,
    agg: &Aggregate,
    derive: &dyn Derivation,
) -> Result<()> {
    commit_cells(tx, agg)?;
    crate::crash_point("mid-commit");
    commit_sources(tx, agg, derive)?;
    commit_backscatter(tx, agg, derive)?;
    commit_flowtuples(tx, agg)?;
    Ok(())
}

/// True when `table` has no rows.
fn is_empty(tx: &Transaction<'_>, table: &str) -> Result<bool> {
    Ok(tx.query_row(
        &format!("SELECT NOT EXISTS (SELECT 1 FROM {table})"),
        [],
        |r| r.get(0),
    )?)
}

/// The secondary indexes of an empty `table`, dropped until [`Deferred::restore`] creates
/// them again (within the same transaction).
struct Deferred {
    statements: Vec<String>,
}

impl Deferred {
    /// Drops `table`'s explicitly created indexes when it is empty and `rows` are coming;
    /// otherwise keeps them.
    fn indexes_of(tx: &Transaction<'_>, table: &str, empty: bool, rows: usize) -> Result<Self> {
        let mut statements = Vec::new();
        if !empty || rows == 0 {
            return Ok(Deferred { statements });
        }
        let indexes: Vec<(String, String)> = {
            let mut stmt = tx.prepare(
                "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name",
            )?;
            stmt.query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?
        };
        for (name, sql) in indexes {
            tx.execute_batch(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")))?;
            statements.push(sql);
        }
        Ok(Deferred { statements })
    }

    fn restore(self, tx: &Transaction<'_>) -> Result<()> {
        for sql in self.statements {
            tx.execute_batch(&sql)?;
        }
        Ok(())
    }
}

/// The `(protocol, port, interval)` keys of the cells stored between two interval starts.
fn stored_cell_keys(tx: &Transaction<'_>, lo: i64, hi: i64) -> Result<HashSet<(u8, u16, i64)>> {
    let mut stmt = tx.prepare(
        "SELECT proto, port, interval_start FROM port_intervals WHERE interval_start BETWEEN ? AND ?",
    )?;
    let rows = stmt.query_map(params![lo, hi], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn commit_cells(tx: &Transaction<'_>, agg: &Aggregate) -> Result<()> {
    if agg.cells.is_empty() {
        return Ok(());
    }
    let lo = agg
        .cells
        .iter()
        .map(|c| c.interval_start)
        .min()
        .unwrap_or(0);
    let hi = agg
        .cells
        .iter()
        .map(|c| c.interval_start)
        .max()
        .unwrap_or(0);
    let empty = is_empty(tx, "port_intervals")?;
    let stored = if empty {
        HashSet::new()
    } else {
        stored_cell_keys(tx, lo, hi)?
    };
    let deferred = Deferred::indexes_of(tx, "port_intervals", empty, agg.cells.len())?;
    {
        let mut get = tx.prepare_cached(
            "SELECT packets, bytes, sources, destinations FROM port_intervals WHERE proto = ? AND port = ? AND interval_start = ?",
        )?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO port_intervals (proto, port, interval_start, packets, bytes, unique_sources,
             unique_destinations, sources, destinations) VALUES (?,?,?,?,?,?,?,?,?)",
        )?;
        let mut replace = tx.prepare_cached(
            "INSERT OR REPLACE INTO port_intervals (proto, port, interval_start, packets, bytes, unique_sources,
             unique_destinations, sources, destinations) VALUES (?,?,?,?,?,?,?,?,?)",
        )?;
        // In the table's key order (the cells come in time order), so that its B-tree is
        // walked and grown from one end to the other rather than at random pages.
        let mut cells: Vec<&PortCell> = agg.cells.iter().collect();
        cells.sort_unstable_by_key(|c| (c.proto, c.port, c.interval_start));
        let mut previous = None;
        for cell in cells {
            let key = (cell.proto, cell.port, cell.interval_start);
            // A key seen twice in one aggregate merges with the row just written.
            let written = previous.replace(key) == Some(key);
            if !written && !stored.contains(&key) {
                insert.execute(params![
                    cell.proto,
                    cell.port,
                    cell.interval_start,
                    cell.packets as i64,
                    cell.bytes as i64,
                    cell.sources.len() as i64,
                    cell.destinations.count() as i64,
                    cell.sources.as_bytes(),
                    cell.destinations.to_bytes(),
                ])?;
                continue;
            }
            let (p, b, s, d) = get.query_row(params![key.0, key.1, key.2], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                ))
            })?;
            let old = source_counts::decode(&s).map_err(corrupt)?;
            let mut dsts = DistinctSet::from_bytes(&d).map_err(corrupt)?;
            dsts.merge(&cell.destinations);
            let merged = source_counts::merge(&old, &cell.sources.to_vec());
            replace.execute(params![
                cell.proto,
                cell.port,
                cell.interval_start,
                p + cell.packets as i64,
                b + cell.bytes as i64,
                merged.len() as i64,
                dsts.count() as i64,
                source_counts::encode(&merged),
                dsts.to_bytes(),
            ])?;
        }
    }
    deferred.restore(tx)
}

/// A port tally as stored: the JSON text `{"overflow":N,"ports":[[K,N],…]}` (what
/// `serde_json` wrote for it before), without building a JSON value first.
pub(super) fn tally_text(t: &PortTally) -> String {
    let mut s = String::with_capacity(28 + t.ports.len() * 16);
    let _ = write!(s, "{{\"overflow\":{},\"ports\":[", t.overflow);
    for (i, (k, n)) in t.ports.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "[{k},{n}]");
    }
    s.push_str("]}");
    s
}

/// The stored profile of `addr`, whose text form (the table's key) is `key`.
fn load_profile(tx: &Transaction<'_>, key: &str, addr: IpAddr) -> Result<Option<SourceProfile>> {
    let row = tx
        .prepare_cached(
            "SELECT first_ns, last_ns, counters, ttls, destinations, ports, top_ports FROM sources WHERE addr = ?",
        )?
        .query_row([key], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, Vec<u8>>(4)?,
                r.get::<_, Vec<u8>>(5)?,
                r.get::<_, String>(6)?,
            ))
        })
        .optional()?;
    let Some((first_ns, last_ns, counters, ttls, dsts, ports, top)) = row else {
        return Ok(None);
    };
    Ok(Some(SourceProfile {
        addr,
        first_ns,
        last_ns,
        counters: serde_json::from_str(&counters).map_err(corrupt)?,
        ttls: TtlSet::from_bytes(&ttls),
        destinations: DistinctSet::from_bytes(&dsts).map_err(corrupt)?,
        ports: if ports.is_empty() {
            None
        } else {
            Some(Box::new(DistinctSet::from_bytes(&ports).map_err(corrupt)?))
        },
        top_ports: tally_from_json(&top)?,
    }))
}

/// Writes the profile `p`, whose address's text form (the table's key) is `key`.
fn save_profile(
    stmt: &mut rusqlite::CachedStatement<'_>,
    key: &str,
    p: &SourceProfile,
    derive: &dyn Derivation,
) -> Result<()> {
    let distinct_destinations = p.destinations.count();
    let label = derive.label(&p.counters, distinct_destinations);
    let e = derive.attribute(p.addr);
    stmt.execute(params![
        key,
        label.as_str(),
        p.first_ns,
        p.last_ns,
        p.counters.packets as i64,
        p.counters.bytes as i64,
        distinct_destinations as i64,
        p.distinct_ports() as i64,
        serde_json::to_string(&p.counters).map_err(corrupt)?,
        &p.ttls.to_bytes()[..],
        p.destinations.to_bytes(),
        p.ports
            .as_ref()
            .map(|set| set.to_bytes())
            .unwrap_or_default(),
        tally_text(&p.top_ports),
        e.country,
        e.asn,
        e.as_name,
        e.team,
        e.data_version,
    ])?;
    Ok(())
}

const SOURCE_INSERT: &str = "INTO sources (addr, label, first_ns, last_ns, packets, bytes, distinct_destinations,
     distinct_ports, counters, ttls, destinations, ports, top_ports, country, asn, as_name, team, data_version)
     VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";

fn commit_sources(tx: &Transaction<'_>, agg: &Aggregate, derive: &dyn Derivation) -> Result<()> {
    if agg.sources.is_empty() {
        return Ok(());
    }
    let empty = is_empty(tx, "sources")?;
    let deferred = Deferred::indexes_of(tx, "sources", empty, agg.sources.len())?;
    {
        // In key order, so that the table's B-trees are walked, and grown, from one end to
        // the other rather than at random pages.
        let mut sources: Vec<(String, &SourceProfile)> = agg
            .sources
            .iter()
            .map(|s| (s.addr.to_string(), s))
            .collect();
        sources.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut insert = tx.prepare_cached(&format!("INSERT {SOURCE_INSERT}"))?;
        let mut replace = tx.prepare_cached(&format!("INSERT OR REPLACE {SOURCE_INSERT}"))?;
        let mut previous: Option<String> = None;
        for (key, s) in sources {
            // An address seen twice in one aggregate merges with the row just written.
            let written = previous.as_deref() == Some(key.as_str());
            let old = if empty && !written {
                None
            } else {
                load_profile(tx, &key, s.addr)?
            };
            match old {
                Some(mut old) => {
                    old.merge(s);
                    save_profile(&mut replace, &key, &old, derive)?;
                }
                None => save_profile(&mut insert, &key, s, derive)?,
            }
            previous = Some(key);
        }
    }
    deferred.restore(tx)
}

fn ports_from_text(s: &str) -> Vec<u16> {
    s.split(',').filter_map(|p| p.parse().ok()).collect()
}

fn load_minutes(tx: &Transaction<'_>, victim: IpAddr) -> Result<Vec<BackscatterMinute>> {
    let mut stmt = tx.prepare_cached(
        "SELECT minute, packets, bytes, first_ns, last_ns, proto, ports FROM backscatter_minutes WHERE victim = ? ORDER BY minute",
    )?;
    let rows = stmt.query_map([victim.to_string()], |r| {
        Ok(BackscatterMinute {
            victim,
            minute: r.get(0)?,
            packets: r.get::<_, i64>(1)? as u64,
            bytes: r.get::<_, i64>(2)? as u64,
            first_ns: r.get(3)?,
            last_ns: r.get(4)?,
            proto: r.get(5)?,
            ports: ports_from_text(&r.get::<_, String>(6)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn commit_backscatter(
    tx: &Transaction<'_>,
    agg: &Aggregate,
    derive: &dyn Derivation,
) -> Result<()> {
    if agg.backscatter.is_empty() {
        return Ok(());
    }
    let empty = is_empty(tx, "backscatter_minutes")?;
    // Each touched victim, with the capture's minutes while none of its minutes was stored
    // before (its attacks then come from these alone), or None once one was.
    let mut touched: BTreeMap<IpAddr, Option<Vec<BackscatterMinute>>> = BTreeMap::new();
    {
        let mut get = tx.prepare_cached(
            "SELECT packets, bytes, first_ns, last_ns, proto, ports FROM backscatter_minutes WHERE victim = ? AND minute = ?",
        )?;
        let mut has_any = tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM backscatter_minutes WHERE victim = ?)")?;
        let mut put = tx.prepare_cached(
            "INSERT OR REPLACE INTO backscatter_minutes (victim, minute, packets, bytes, first_ns, last_ns, proto, ports)
             VALUES (?,?,?,?,?,?,?,?)",
        )?;
        let mut minutes: Vec<(String, &BackscatterMinute)> = agg
            .backscatter
            .iter()
            .map(|m| (m.victim.to_string(), m))
            .collect();
        minutes.sort_by(|a, b| (&a.0, a.1.minute).cmp(&(&b.0, b.1.minute)));
        let mut previous: Option<(IpAddr, i64)> = None;
        for (victim, m) in minutes {
            let written = previous.replace((m.victim, m.minute)) == Some((m.victim, m.minute));
            if let std::collections::btree_map::Entry::Vacant(entry) = touched.entry(m.victim) {
                let known = !empty && has_any.query_row([&victim], |r| r.get::<_, bool>(0))?;
                entry.insert((!known).then(Vec::new));
            }
            let mut merged = m.clone();
            let stored = if empty && !written {
                None
            } else {
                get.query_row(params![victim, m.minute], |r| {
                    Ok(BackscatterMinute {
                        victim: m.victim,
                        minute: m.minute,
                        packets: r.get::<_, i64>(0)? as u64,
                        bytes: r.get::<_, i64>(1)? as u64,
                        first_ns: r.get(2)?,
                        last_ns: r.get(3)?,
                        proto: r.get(4)?,
                        ports: ports_from_text(&r.get::<_, String>(5)?),
                    })
                })
                .optional()?
            };
            if let Some(mut old) = stored {
                old.merge(m);
                merged = old;
            }
            put.execute(params![
                victim,
                merged.minute,
                merged.packets as i64,
                merged.bytes as i64,
                merged.first_ns,
                merged.last_ns,
                merged.proto,
                ports_to_text(&merged.ports)
            ])?;
            if let Some(Some(list)) = touched.get_mut(&m.victim) {
                // As stored: ports go through their text form, as when read back.
                merged.ports = ports_from_text(&ports_to_text(&merged.ports));
                if written {
                    list.pop();
                }
                list.push(merged);
            }
        }
    }
    // Attacks are a pure function of a victim's minutes: re-derive those of touched victims.
    let mut delete = tx.prepare_cached("DELETE FROM attacks WHERE victim = ?")?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO attacks (victim, start_ns, end_ns, packets, bytes, peak_per_minute, proto, ports,
         country, asn, as_name, team, data_version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
    )?;
    for (victim, fresh) in touched {
        let key = victim.to_string();
        let minutes = match fresh {
            Some(mut list) => {
                list.sort_by_key(|m| m.minute);
                list
            }
            None => load_minutes(tx, victim)?,
        };
        delete.execute([&key])?;
        let attacks = derive.attacks(&minutes);
        let e = if attacks.is_empty() {
            Attribution::default()
        } else {
            derive.attribute(victim)
        };
        for a in attacks {
            insert.execute(params![
                key,
                a.start_ns,
                a.end_ns,
                a.packets as i64,
                a.bytes as i64,
                a.peak_per_minute as i64,
                a.proto,
                ports_to_text(&a.ports),
                e.country,
                e.asn,
                e.as_name,
                e.team,
                e.data_version,
            ])?;
        }
    }
    Ok(())
}

fn commit_flowtuples(tx: &Transaction<'_>, agg: &Aggregate) -> Result<()> {
    if agg.flowtuples.is_empty() {
        return Ok(());
    }
    let mut put = tx.prepare_cached(
        "INSERT INTO flowtuples (interval_start, src, dst, sport, dport, proto, ttl, tcp_flags, ip_len, spoofed, masscan, packets)
         VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
         ON CONFLICT DO UPDATE SET packets = packets + excluded.packets",
    )?;
    for (f, n) in &agg.flowtuples {
        put.execute(params![
            f.interval_start,
            f.src.to_string(),
            f.dst.to_string(),
            f.sport,
            f.dport,
            f.proto,
            f.ttl,
            f.tcp_flags,
            f.ip_len,
            f.spoofed,
            f.masscan,
            *n as i64
        ])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_text_is_what_serde_json_wrote() {
        let mut t = PortTally::default();
        assert_eq!(tally_text(&t), crate::codec::tally_to_json(&t));
        t.ports.push((393_296, 1));
        assert_eq!(tally_text(&t), crate::codec::tally_to_json(&t));
        t.ports.push((65_544, 7));
        t.ports.push((1_116_012, u64::MAX));
        t.overflow = 12;
        assert_eq!(tally_text(&t), crate::codec::tally_to_json(&t));
    }

    /// Indexes dropped for an empty table's first rows come back exactly as the migrations
    /// made them, and a rolled-back transaction (a killed run) keeps them too.
    #[test]
    fn deferred_indexes_come_back_as_they_were() {
        let mut store = super::super::SqliteStore::open_in_memory().unwrap();
        let schema = |store: &super::super::SqliteStore| -> Vec<(String, String)> {
            let mut stmt = store
                .conn
                .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
                .unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        let before = schema(&store);
        assert!(before.iter().any(|(n, _)| n == "sources_by_packets"));
        for commit in [false, true] {
            let tx = store.write_tx().unwrap();
            let deferred = Deferred::indexes_of(&tx, "sources", true, 5).unwrap();
            assert_eq!(deferred.statements.len(), 4, "sources has four indexes");
            let left: i64 = tx
                .query_row(
                    "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'sources' AND sql IS NOT NULL",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(left, 0);
            if commit {
                deferred.restore(&tx).unwrap();
                tx.commit().unwrap();
            } else {
                drop(tx);
            }
            assert_eq!(schema(&store), before);
        }
        let tx = store.write_tx().unwrap();
        let kept = Deferred::indexes_of(&tx, "sources", false, 5).unwrap();
        assert!(
            kept.statements.is_empty(),
            "a table with rows keeps its indexes"
        );
    }

    /// Times the commit of a capture into a fresh store file and then into the same store
    /// again under another hash (the merge path):
    /// `FW_BENCH_PCAP=FILE cargo test --release -p firewatch-store --lib commit_timing -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn commit_timing() {
        use firewatch_core::SourceLabel;
        use firewatch_darknet::{BackscatterAttack, SourceCounters};
        struct Rules(
            firewatch_darknet::LabelRules,
            firewatch_darknet::AttackThresholds,
        );
        impl Derivation for Rules {
            fn label(&self, c: &SourceCounters, d: u64) -> SourceLabel {
                firewatch_darknet::classify(c, d, &self.0)
            }
            fn attacks(&self, m: &[BackscatterMinute]) -> Vec<BackscatterAttack> {
                firewatch_darknet::derive_attacks(m, &self.1)
            }
            fn attribute(&self, _: IpAddr) -> Attribution {
                Attribution::default()
            }
        }
        let Ok(path) = std::env::var("FW_BENCH_PCAP") else {
            return;
        };
        let t = std::time::Instant::now();
        let mut capture = firewatch_pcap::Capture::open(std::path::Path::new(&path)).unwrap();
        let cfg = firewatch_darknet::AggregationConfig::default();
        let agg =
            firewatch_darknet::aggregate_capture(&mut capture, &cfg, 1, &mut |_, _| {}).aggregate;
        eprintln!(
            "aggregate: {:.2} s, {} cells, {} sources, {} minutes",
            t.elapsed().as_secs_f64(),
            agg.cells.len(),
            agg.sources.len(),
            agg.backscatter.len()
        );
        let dir = tempfile::tempdir().unwrap();
        let mut store = super::super::SqliteStore::open(&dir.path().join("s.db")).unwrap();
        let rules = Rules(Default::default(), Default::default());
        // CPU time of this thread (the machine is shared: wall time is noisy).
        struct Cpu(u64);
        impl Cpu {
            fn now() -> Self {
                let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
                Cpu(s.split_whitespace().next().unwrap().parse().unwrap())
            }
            fn elapsed(&self) -> std::time::Duration {
                std::time::Duration::from_nanos(Cpu::now().0 - self.0)
            }
        }
        for round in ["fresh", "merge"] {
            let t = Cpu::now();
            let tx = store.write_tx().unwrap();
            commit_cells(&tx, &agg).unwrap();
            let cells = t.elapsed().as_secs_f64();
            commit_sources(&tx, &agg, &rules).unwrap();
            let sources = t.elapsed().as_secs_f64();
            commit_backscatter(&tx, &agg, &rules).unwrap();
            let minutes = t.elapsed().as_secs_f64();
            tx.commit().unwrap();
            let all = t.elapsed().as_secs_f64();
            eprintln!(
                "{round} (CPU): cells {cells:.2} s, sources {:.2} s, backscatter {:.2} s, commit {:.2} s, total {all:.2} s",
                sources - cells,
                minutes - sources,
                all - minutes
            );
        }
    }
}
