//! One capture's commit: its input record, extent and facts in one transaction, merged with
//! what is stored. The large writes (port cells, sources, flowtuples; minutes and attacks the
//! same way) are one binary COPY into a temporary staging table and one
//! `INSERT ... SELECT ... ON CONFLICT DO UPDATE` each; what must be merged with stored blobs
//! (source lists, distinct sets, profiles) is read in one query per table and merged here, as
//! the SQLite backend merges it.

use super::{PARTITION_SECS, lock_telescope, partition_bounds, set_meta};
use crate::codec::{corrupt, tally_from_json, tally_to_json};
use crate::records::{CaptureExtent, InputRecord};
use crate::{Derivation, Result, StoreError};
use firewatch_darknet::aggregate::TtlSet;
use firewatch_darknet::{
    Aggregate, BackscatterMinute, DistinctSet, FlowTuple, PortCell, SourceProfile, source_counts,
};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use postgres::{Client, GenericClient, Transaction};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

/// Creates the partitions of `port_intervals` and `flowtuples` that the aggregate's intervals
/// fall in and that do not exist yet. In its own short transaction, before the commit's: a
/// new partition locks its parent table against readers until its transaction ends, and the
/// commit of a large capture is long. An empty partition left by a commit that then failed
/// changes no answer.
pub(super) fn ensure_partitions(client: &mut Client, agg: &Aggregate) -> Result<()> {
    let buckets: BTreeSet<i64> = agg
        .cells
        .iter()
        .map(|c| c.interval_start)
        .chain(agg.flowtuples.iter().map(|(f, _)| f.interval_start))
        .map(|t| t.div_euclid(PARTITION_SECS))
        .collect();
    if buckets.is_empty() {
        return Ok(());
    }
    let name = |table: &str, bucket: i64| {
        if bucket < 0 {
            format!("{table}_pm{}", bucket.unsigned_abs())
        } else {
            format!("{table}_p{bucket}")
        }
    };
    let wanted = |have: &BTreeSet<String>| {
        buckets
            .iter()
            .flat_map(|&b| [("port_intervals", b), ("flowtuples", b)])
            .filter(|(t, b)| !have.contains(&name(t, *b)))
            .collect::<Vec<_>>()
    };
    if wanted(&existing_partitions(client)?).is_empty() {
        return Ok(());
    }
    let mut tx = client.transaction()?;
    // Serialised with other commits, so two of them never create the same partition.
    lock_telescope(&mut tx)?;
    let missing = wanted(&existing_partitions(&mut tx)?);
    for (table, bucket) in missing {
        let (from, to) = partition_bounds(bucket);
        tx.batch_execute(&format!(
            "CREATE TABLE {} PARTITION OF {table} FOR VALUES FROM ({from}) TO ({to})",
            name(table, bucket)
        ))?;
    }
    tx.commit()?;
    Ok(())
}

/// The names of the partitions of the partitioned tables.
fn existing_partitions(c: &mut impl GenericClient) -> Result<BTreeSet<String>> {
    Ok(c.query(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent IN ('port_intervals'::regclass, 'flowtuples'::regclass)",
        &[],
    )?
    .iter()
    .map(|r| r.try_get::<_, String>(0))
    .collect::<Result<_, _>>()?)
}

/// Inserts the input record; `false` when its content hash was committed already.
pub(super) fn commit_capture(
    tx: &mut Transaction<'_>,
    input: &InputRecord,
    extent: Option<&CaptureExtent>,
    agg: &Aggregate,
    derive: &dyn Derivation,
) -> Result<bool> {
    lock_telescope(tx)?;
    let seen: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM inputs WHERE content_hash = $1)",
            &[&input.content_hash],
        )?
        .try_get(0)?;
    if seen {
        return Ok(false);
    }
    let stored: Option<String> = tx
        .query_opt("SELECT value FROM meta WHERE key = 'interval_secs'", &[])?
        .map(|r| r.try_get(0))
        .transpose()?;
    match stored.and_then(|s| s.parse::<u32>().ok()) {
        Some(s) if s != agg.interval_secs => {
            return Err(StoreError::IntervalMismatch {
                stored: s,
                configured: agg.interval_secs,
            });
        }
        Some(_) => {}
        None => set_meta(tx, "interval_secs", &agg.interval_secs.to_string())?,
    }
    tx.execute(
        "INSERT INTO inputs (content_hash, name, format, ingested_at, frames, ip_packets, first_ns,
         last_ns, complete, error, counters) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,CAST($11::text AS jsonb))",
        &[
            &input.content_hash,
            &input.name,
            &input.format,
            &input.ingested_at,
            &(input.frames as i64),
            &(input.ip_packets as i64),
            &input.first_ns,
            &input.last_ns,
            &input.complete,
            &input.error,
            &input.counters.to_string(),
        ],
    )?;
    commit_cells(tx, agg)?;
    crate::crash_point("mid-commit");
    commit_sources(tx, agg, derive)?;
    commit_backscatter(tx, agg, derive)?;
    commit_flowtuples(tx, agg)?;
    if let Some(e) = extent {
        tx.execute(
            "INSERT INTO capture_extents (content_hash, first_frame_ns, fingerprint, fingerprint_frames,
             skipped_frames, frames_through, continues) VALUES ($1,$2,$3,$4,$5,$6,$7)",
            &[
                &input.content_hash,
                &e.first_frame_ns,
                &e.fingerprint,
                &i64::from(e.fingerprint_frames),
                &(e.skipped_frames as i64),
                &(e.frames_through as i64),
                &e.continues,
            ],
        )?;
    }
    set_meta(tx, "alerts_stale", "1")?;
    Ok(true)
}

/// A temporary table shaped like `table`, dropped when the transaction ends.
fn stage(tx: &mut Transaction<'_>, name: &str, table: &str) -> Result<()> {
    tx.batch_execute(&format!(
        "CREATE TEMP TABLE {name} (LIKE {table}) ON COMMIT DROP"
    ))?;
    Ok(())
}

/// Binary COPY of rows into `table` (`columns` with their `types`): `fill` writes each row.
fn copy_rows(
    tx: &mut Transaction<'_>,
    table: &str,
    columns: &str,
    types: &[Type],
    fill: impl FnOnce(&mut BinaryCopyInWriter<'_>) -> Result<()>,
) -> Result<()> {
    let sink = tx.copy_in(&format!("COPY {table} ({columns}) FROM STDIN BINARY"))?;
    let mut writer = BinaryCopyInWriter::new(sink, types);
    fill(&mut writer)?;
    writer.finish()?;
    Ok(())
}

fn write_row(w: &mut BinaryCopyInWriter<'_>, row: &[&(dyn ToSql + Sync)]) -> Result<()> {
    Ok(w.write(row)?)
}

/// A port cell to write: the capture's own, or merged with the stored one.
enum CellRow<'a> {
    New(&'a PortCell),
    Merged {
        packets: u64,
        bytes: u64,
        sources: Vec<(IpAddr, u64)>,
        destinations: DistinctSet,
    },
}

impl CellRow<'_> {
    fn merge(&mut self, cell: &PortCell) {
        if let CellRow::New(first) = *self {
            *self = CellRow::Merged {
                packets: first.packets,
                bytes: first.bytes,
                sources: first.sources.to_vec(),
                destinations: first.destinations.clone(),
            };
        }
        if let CellRow::Merged {
            packets,
            bytes,
            sources,
            destinations,
        } = self
        {
            *packets += cell.packets;
            *bytes += cell.bytes;
            *sources = source_counts::merge(sources, &cell.sources.to_vec());
            destinations.merge(&cell.destinations);
        }
    }
}

type CellKey = (u8, u16, i64);

fn commit_cells(tx: &mut Transaction<'_>, agg: &Aggregate) -> Result<()> {
    if agg.cells.is_empty() {
        return Ok(());
    }
    let (mut protos, mut ports, mut starts) = (Vec::new(), Vec::new(), Vec::new());
    for c in &agg.cells {
        protos.push(i16::from(c.proto));
        ports.push(i32::from(c.port));
        starts.push(c.interval_start);
    }
    let lo = starts.iter().copied().min().unwrap_or(0);
    let hi = starts.iter().copied().max().unwrap_or(0);
    // The stored cells the capture adds to (the time bounds let the planner skip partitions).
    let stored = tx.query(
        "SELECT p.proto, p.port, p.interval_start, p.packets, p.bytes, p.sources, p.destinations
         FROM port_intervals p
         JOIN unnest($1::smallint[], $2::integer[], $3::bigint[]) AS k (proto, port, interval_start)
           ON p.proto = k.proto AND p.port = k.port AND p.interval_start = k.interval_start
         WHERE p.interval_start BETWEEN $4 AND $5",
        &[&protos, &ports, &starts, &lo, &hi],
    )?;
    // Nothing stored to merge with (a capture of new intervals, the usual case): a plain
    // INSERT, which PostgreSQL does at about twice the speed of an upsert.
    let fresh = stored.is_empty();
    let mut rows: BTreeMap<CellKey, CellRow<'_>> = BTreeMap::new();
    for r in stored {
        let key = (
            super::small_u8(r.try_get(0)?, "proto")?,
            super::small_u16(r.try_get(1)?, "port")?,
            r.try_get(2)?,
        );
        let sources: &[u8] = r.try_get(5)?;
        let destinations: &[u8] = r.try_get(6)?;
        rows.insert(
            key,
            CellRow::Merged {
                packets: r.try_get::<_, i64>(3)? as u64,
                bytes: r.try_get::<_, i64>(4)? as u64,
                sources: source_counts::decode(sources).map_err(corrupt)?,
                destinations: DistinctSet::from_bytes(destinations).map_err(corrupt)?,
            },
        );
    }
    for cell in &agg.cells {
        let key = (cell.proto, cell.port, cell.interval_start);
        match rows.get_mut(&key) {
            Some(row) => row.merge(cell),
            None => {
                rows.insert(key, CellRow::New(cell));
            }
        }
    }
    stage(tx, "fw_stage_cells", "port_intervals")?;
    copy_rows(
        tx,
        "fw_stage_cells",
        "proto, port, interval_start, packets, bytes, unique_sources, unique_destinations, sources, destinations",
        &[
            Type::INT2,
            Type::INT4,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::BYTEA,
            Type::BYTEA,
        ],
        |w| {
            for ((proto, port, start), row) in &rows {
                let (packets, bytes, unique, dsts, blob): (
                    u64,
                    u64,
                    usize,
                    &DistinctSet,
                    Cow<'_, [u8]>,
                ) = match row {
                    CellRow::New(c) => (
                        c.packets,
                        c.bytes,
                        c.sources.len(),
                        &c.destinations,
                        Cow::Borrowed(c.sources.as_bytes()),
                    ),
                    CellRow::Merged {
                        packets,
                        bytes,
                        sources,
                        destinations,
                    } => (
                        *packets,
                        *bytes,
                        sources.len(),
                        destinations,
                        Cow::Owned(source_counts::encode(sources)),
                    ),
                };
                write_row(
                    w,
                    &[
                        &i16::from(*proto),
                        &i32::from(*port),
                        start,
                        &(packets as i64),
                        &(bytes as i64),
                        &(unique as i64),
                        &(dsts.count() as i64),
                        &blob.as_ref(),
                        &dsts.to_bytes(),
                    ],
                )?;
            }
            Ok(())
        },
    )?;
    if fresh {
        tx.batch_execute("INSERT INTO port_intervals SELECT * FROM fw_stage_cells")?;
        return Ok(());
    }
    tx.batch_execute(
        "INSERT INTO port_intervals SELECT * FROM fw_stage_cells
         ON CONFLICT (proto, port, interval_start) DO UPDATE SET packets = excluded.packets,
         bytes = excluded.bytes, unique_sources = excluded.unique_sources,
         unique_destinations = excluded.unique_destinations, sources = excluded.sources,
         destinations = excluded.destinations",
    )?;
    Ok(())
}

/// The stored profile of a source, from a row of
/// `addr, first_ns, last_ns, counters, ttls, destinations, ports, top_ports`.
fn stored_profile(r: &postgres::Row) -> Result<(String, SourceProfile)> {
    let key: String = r.try_get(0)?;
    let ttls: &[u8] = r.try_get(4)?;
    let dsts: &[u8] = r.try_get(5)?;
    let ports: &[u8] = r.try_get(6)?;
    let profile = SourceProfile {
        addr: crate::codec::parse_addr(&key)?,
        first_ns: r.try_get(1)?,
        last_ns: r.try_get(2)?,
        counters: serde_json::from_str(r.try_get::<_, &str>(3)?).map_err(corrupt)?,
        ttls: TtlSet::from_bytes(ttls),
        destinations: DistinctSet::from_bytes(dsts).map_err(corrupt)?,
        ports: if ports.is_empty() {
            None
        } else {
            Some(Box::new(DistinctSet::from_bytes(ports).map_err(corrupt)?))
        },
        top_ports: tally_from_json(r.try_get::<_, &str>(7)?)?,
    };
    Ok((key, profile))
}

fn commit_sources(
    tx: &mut Transaction<'_>,
    agg: &Aggregate,
    derive: &dyn Derivation,
) -> Result<()> {
    if agg.sources.is_empty() {
        return Ok(());
    }
    // In key order, as the SQLite backend merges them (and the table's index is grown).
    let mut merged: BTreeMap<String, Cow<'_, SourceProfile>> = agg
        .sources
        .iter()
        .map(|s| (s.addr.to_string(), Cow::Borrowed(s)))
        .collect();
    if merged.len() != agg.sources.len() {
        // An address twice in one aggregate (never from the aggregator): merge the views.
        merged.clear();
        for s in &agg.sources {
            match merged.get_mut(&s.addr.to_string()) {
                Some(p) => p.to_mut().merge(s),
                None => {
                    merged.insert(s.addr.to_string(), Cow::Borrowed(s));
                }
            }
        }
    }
    let keys: Vec<&str> = merged.keys().map(String::as_str).collect();
    let stored = tx.query(
        "SELECT addr, first_ns, last_ns, counters, ttls, destinations, ports, top_ports
         FROM sources WHERE addr = ANY($1::text[])",
        &[&keys],
    )?;
    let fresh = stored.is_empty();
    let mut stored: HashMap<String, SourceProfile> =
        stored.iter().map(stored_profile).collect::<Result<_>>()?;
    for (key, profile) in merged.iter_mut() {
        if let Some(mut old) = stored.remove(key) {
            old.merge(profile);
            *profile = Cow::Owned(old);
        }
    }
    stage(tx, "fw_stage_sources", "sources")?;
    copy_rows(
        tx,
        "fw_stage_sources",
        "addr, label, first_ns, last_ns, packets, bytes, distinct_destinations, distinct_ports, counters,
         ttls, destinations, ports, top_ports, country, asn, as_name, team, data_version",
        &[
            Type::TEXT,
            Type::TEXT,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::TEXT,
            Type::BYTEA,
            Type::BYTEA,
            Type::BYTEA,
            Type::TEXT,
            Type::TEXT,
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
        ],
        |w| {
            for (key, p) in &merged {
                let distinct_destinations = p.destinations.count();
                let label = derive.label(&p.counters, distinct_destinations);
                let e = derive.attribute(p.addr);
                write_row(
                    w,
                    &[
                        key,
                        &label.as_str(),
                        &p.first_ns,
                        &p.last_ns,
                        &(p.counters.packets as i64),
                        &(p.counters.bytes as i64),
                        &(distinct_destinations as i64),
                        &(p.distinct_ports() as i64),
                        &serde_json::to_string(&p.counters).map_err(corrupt)?,
                        &&p.ttls.to_bytes()[..],
                        &p.destinations.to_bytes(),
                        &p.ports.as_ref().map(|set| set.to_bytes()).unwrap_or_default(),
                        &tally_to_json(&p.top_ports),
                        &e.country,
                        &e.asn.map(i64::from),
                        &e.as_name,
                        &e.team,
                        &e.data_version,
                    ],
                )?;
            }
            Ok(())
        },
    )?;
    if fresh {
        tx.batch_execute("INSERT INTO sources SELECT * FROM fw_stage_sources")?;
        return Ok(());
    }
    tx.batch_execute(
        "INSERT INTO sources SELECT * FROM fw_stage_sources
         ON CONFLICT (addr) DO UPDATE SET label = excluded.label, first_ns = excluded.first_ns,
         last_ns = excluded.last_ns, packets = excluded.packets, bytes = excluded.bytes,
         distinct_destinations = excluded.distinct_destinations,
         distinct_ports = excluded.distinct_ports, counters = excluded.counters,
         ttls = excluded.ttls, destinations = excluded.destinations, ports = excluded.ports,
         top_ports = excluded.top_ports, country = excluded.country, asn = excluded.asn,
         as_name = excluded.as_name, team = excluded.team, data_version = excluded.data_version",
    )?;
    Ok(())
}

fn ports_array(ports: &[u16]) -> Vec<i32> {
    ports.iter().copied().map(i32::from).collect()
}

fn commit_backscatter(
    tx: &mut Transaction<'_>,
    agg: &Aggregate,
    derive: &dyn Derivation,
) -> Result<()> {
    if agg.backscatter.is_empty() {
        return Ok(());
    }
    let victims: BTreeSet<IpAddr> = agg.backscatter.iter().map(|m| m.victim).collect();
    let keys: Vec<String> = victims.iter().map(IpAddr::to_string).collect();
    // Every stored minute of the touched victims: their attacks are derived from all of them.
    let mut minutes: BTreeMap<(IpAddr, i64), BackscatterMinute> = BTreeMap::new();
    for r in tx.query(
        "SELECT victim, minute, packets, bytes, first_ns, last_ns, proto, ports
         FROM backscatter_minutes WHERE victim = ANY($1::text[])",
        &[&keys],
    )? {
        let victim = crate::codec::parse_addr(r.try_get::<_, &str>(0)?)?;
        let m = BackscatterMinute {
            victim,
            minute: r.try_get(1)?,
            packets: r.try_get::<_, i64>(2)? as u64,
            bytes: r.try_get::<_, i64>(3)? as u64,
            first_ns: r.try_get(4)?,
            last_ns: r.try_get(5)?,
            proto: super::small_u8(r.try_get(6)?, "proto")?,
            ports: super::ports_of(r.try_get(7)?)?,
        };
        minutes.insert((victim, m.minute), m);
    }
    let mut touched = BTreeSet::new();
    for m in &agg.backscatter {
        match minutes.get_mut(&(m.victim, m.minute)) {
            Some(old) => old.merge(m),
            None => {
                minutes.insert((m.victim, m.minute), m.clone());
            }
        }
        touched.insert((m.victim, m.minute));
    }
    stage(tx, "fw_stage_minutes", "backscatter_minutes")?;
    copy_rows(
        tx,
        "fw_stage_minutes",
        "victim, minute, packets, bytes, first_ns, last_ns, proto, ports",
        &[
            Type::TEXT,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT2,
            Type::INT4_ARRAY,
        ],
        |w| {
            for key in &touched {
                let Some(m) = minutes.get(key) else { continue };
                write_row(
                    w,
                    &[
                        &m.victim.to_string(),
                        &m.minute,
                        &(m.packets as i64),
                        &(m.bytes as i64),
                        &m.first_ns,
                        &m.last_ns,
                        &i16::from(m.proto),
                        &ports_array(&m.ports),
                    ],
                )?;
            }
            Ok(())
        },
    )?;
    tx.batch_execute(
        "INSERT INTO backscatter_minutes SELECT * FROM fw_stage_minutes
         ON CONFLICT (victim, minute) DO UPDATE SET packets = excluded.packets,
         bytes = excluded.bytes, first_ns = excluded.first_ns, last_ns = excluded.last_ns,
         proto = excluded.proto, ports = excluded.ports",
    )?;
    // Attacks are a pure function of a victim's minutes: re-derive those of touched victims.
    tx.execute(
        "DELETE FROM attacks WHERE victim = ANY($1::text[])",
        &[&keys],
    )?;
    stage(tx, "fw_stage_attacks", "attacks")?;
    copy_rows(
        tx,
        "fw_stage_attacks",
        "victim, start_ns, end_ns, packets, bytes, peak_per_minute, proto, ports, country, asn,
         as_name, team, data_version",
        &[
            Type::TEXT,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT2,
            Type::INT4_ARRAY,
            Type::TEXT,
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
        ],
        |w| {
            for victim in &victims {
                let of_victim: Vec<BackscatterMinute> = minutes
                    .range((*victim, i64::MIN)..=(*victim, i64::MAX))
                    .map(|(_, m)| m.clone())
                    .collect();
                let attacks = derive.attacks(&of_victim);
                if attacks.is_empty() {
                    continue;
                }
                let e = derive.attribute(*victim);
                let key = victim.to_string();
                for a in attacks {
                    write_row(
                        w,
                        &[
                            &key,
                            &a.start_ns,
                            &a.end_ns,
                            &(a.packets as i64),
                            &(a.bytes as i64),
                            &(a.peak_per_minute as i64),
                            &i16::from(a.proto),
                            &ports_array(&a.ports),
                            &e.country,
                            &e.asn.map(i64::from),
                            &e.as_name,
                            &e.team,
                            &e.data_version,
                        ],
                    )?;
                }
            }
            Ok(())
        },
    )?;
    tx.batch_execute("INSERT INTO attacks SELECT * FROM fw_stage_attacks")?;
    Ok(())
}

fn commit_flowtuples(tx: &mut Transaction<'_>, agg: &Aggregate) -> Result<()> {
    if agg.flowtuples.is_empty() {
        return Ok(());
    }
    // Sorted (interval first, so partition by partition) and each key once: a key twice in
    // one capture adds up, as it does in SQLite, and one INSERT may not touch a row twice.
    let mut flows: Vec<(FlowTuple, u64)> = agg.flowtuples.clone();
    flows.sort_unstable_by_key(|f| f.0);
    flows.dedup_by(|next, kept| {
        let same = next.0 == kept.0;
        if same {
            kept.1 += next.1;
        }
        same
    });
    let lo = flows.first().map_or(0, |f| f.0.interval_start);
    let hi = flows.last().map_or(0, |f| f.0.interval_start);
    let fresh: bool = tx
        .query_one(
            "SELECT NOT EXISTS (SELECT 1 FROM flowtuples WHERE interval_start BETWEEN $1 AND $2)",
            &[&lo, &hi],
        )?
        .try_get(0)?;
    stage(tx, "fw_stage_flowtuples", "flowtuples")?;
    copy_rows(
        tx,
        "fw_stage_flowtuples",
        "interval_start, src, dst, sport, dport, proto, ttl, tcp_flags, ip_len, spoofed, masscan, packets",
        &[
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::INT4,
            Type::INT4,
            Type::INT2,
            Type::INT2,
            Type::INT2,
            Type::INT4,
            Type::BOOL,
            Type::BOOL,
            Type::INT8,
        ],
        |w| {
            for (f, n) in &flows {
                write_row(
                    w,
                    &[
                        &f.interval_start,
                        &f.src.to_string(),
                        &f.dst.to_string(),
                        &i32::from(f.sport),
                        &i32::from(f.dport),
                        &i16::from(f.proto),
                        &i16::from(f.ttl),
                        &i16::from(f.tcp_flags),
                        &i32::from(f.ip_len),
                        &f.spoofed,
                        &f.masscan,
                        &(*n as i64),
                    ],
                )?;
            }
            Ok(())
        },
    )?;
    // No flowtuple stored in these intervals (the usual case): nothing to add to, and a plain
    // INSERT is about twice as fast as an upsert (the telescope lock keeps it so).
    if fresh {
        tx.batch_execute("INSERT INTO flowtuples SELECT * FROM fw_stage_flowtuples")?;
        return Ok(());
    }
    tx.batch_execute(
        "INSERT INTO flowtuples SELECT * FROM fw_stage_flowtuples
         ON CONFLICT (interval_start, src, dst, sport, dport, proto, ttl, tcp_flags, ip_len, spoofed, masscan)
         DO UPDATE SET packets = flowtuples.packets + excluded.packets",
    )?;
    Ok(())
}
