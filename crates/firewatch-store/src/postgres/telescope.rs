//! PostgreSQL implementation of the telescope area (issue 17): [`Store`] for [`PgStore`], with
//! the SQLite backend's answers (src/sqlite.rs) for the same calls: the same orderings and
//! tie-breaks (addresses are text under the "C" collation, compared bytewise as SQLite does),
//! the same dense series, the same merged profiles and alert records (the pure parts are
//! shared, [`crate::codec`]).
//!
//! A capture's commit ([`commit`]) is one transaction with its input record, serialised with
//! other telescope writers by a transaction advisory lock (as SQLite's writers are by its
//! write lock), so the merge of stored blobs that it reads and writes back holds. Port cells
//! and flowtuples are range-partitioned by interval start in fixed [`PARTITION_SECS`] ranges.

mod commit;
mod rederive;

use std::collections::HashMap;
use std::net::IpAddr;

use firewatch_core::telescope::{AlertSource, Detection, SeriesPoint};
use firewatch_core::{Protocol, SourceLabel};
use firewatch_darknet::{Aggregate, SourceCounters, source_counts};
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Client, GenericClient, Row, Transaction};

use super::PgStore;
use crate::codec::{
    SourceFacts, corrupt, densify, episode_alert, listed_top_ports, parse_addr, proto_name,
};
use crate::records::*;
use crate::{Derivation, Result, Store, StoreError};

const NS: i64 = 1_000_000_000;

/// Width of one partition of `port_intervals` and `flowtuples`: a week of intervals, so a
/// year of data is some 52 partitions and a query over a day's range touches one or two.
pub(super) const PARTITION_SECS: i64 = 7 * 86_400;

/// `[from, to)` of partition `bucket` (in units of [`PARTITION_SECS`]), as SQL bounds: the
/// first and last buckets reach to the ends of BIGINT.
pub(super) fn partition_bounds(bucket: i64) -> (String, String) {
    let from = i128::from(bucket) * i128::from(PARTITION_SECS);
    let to = from + i128::from(PARTITION_SECS);
    let bound = |v: i128, edge: &str| {
        if v <= i128::from(i64::MIN) || v > i128::from(i64::MAX) {
            edge.to_owned()
        } else {
            v.to_string()
        }
    };
    (bound(from, "MINVALUE"), bound(to, "MAXVALUE"))
}

// ---------------------------------------------------------------------------------------------
// Reads through `&self`

/// Runs `f` with one of the store's reader connections ([`PgStore::read`]).
pub(super) fn read<T>(store: &PgStore, f: impl FnOnce(&mut Client) -> Result<T>) -> Result<T> {
    store.read(f)
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

/// Takes the telescope lock of this schema for the rest of the transaction: telescope writers
/// run one at a time, as SQLite's do, so what a commit reads to merge stays what it merges.
pub(super) fn lock_telescope(tx: &mut Transaction<'_>) -> Result<()> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('firewatch-telescope:' || current_schema()))",
        &[],
    )?;
    Ok(())
}

pub(super) fn set_meta(c: &mut impl GenericClient, key: &str, value: &str) -> Result<()> {
    c.execute(
        "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&key, &value],
    )?;
    Ok(())
}

fn meta(c: &mut impl GenericClient, key: &str) -> Result<Option<String>> {
    Ok(
        c.query_opt("SELECT value FROM meta WHERE key = $1", &[&key])?
            .map(|r| r.try_get(0))
            .transpose()?,
    )
}

pub(super) fn small_u8(v: i16, what: &str) -> Result<u8> {
    u8::try_from(v).map_err(|_| corrupt(format_args!("{what} {v}")))
}

pub(super) fn small_u16(v: i32, what: &str) -> Result<u16> {
    u16::try_from(v).map_err(|_| corrupt(format_args!("{what} {v}")))
}

pub(super) fn ports_of(v: Vec<i32>) -> Result<Vec<u16>> {
    v.into_iter().map(|p| small_u16(p, "port")).collect()
}

/// `Some(limit)` as SQL's LIMIT, `None` (no limit) where SQLite's `LIMIT -1` would be.
fn sql_limit(limit: Option<usize>) -> Option<i64> {
    limit.and_then(|l| i64::try_from(l).ok())
}

/// Reads the five attribution columns starting at `first`.
fn read_attribution(r: &Row, first: usize) -> Result<Attribution> {
    Ok(Attribution {
        country: r.try_get(first)?,
        asn: r
            .try_get::<_, Option<i64>>(first + 1)?
            .map(|a| u32::try_from(a).map_err(|_| corrupt(format_args!("AS number {a}"))))
            .transpose()?,
        as_name: r.try_get(first + 2)?,
        team: r.try_get(first + 3)?,
        data_version: r.try_get(first + 4)?,
    })
}

const INPUT_COLUMNS: &str = "content_hash, name, format, ingested_at, frames, ip_packets, first_ns, last_ns, complete, error, counters::text";

fn read_input(r: &Row) -> Result<InputRecord> {
    let counters: &str = r.try_get(10)?;
    Ok(InputRecord {
        content_hash: r.try_get(0)?,
        name: r.try_get(1)?,
        format: r.try_get(2)?,
        ingested_at: r.try_get(3)?,
        frames: r.try_get::<_, i64>(4)? as u64,
        ip_packets: r.try_get::<_, i64>(5)? as u64,
        first_ns: r.try_get(6)?,
        last_ns: r.try_get(7)?,
        complete: r.try_get(8)?,
        error: r.try_get(9)?,
        counters: serde_json::from_str(counters).unwrap_or(serde_json::Value::Null),
    })
}

const EXTENT_COLUMNS: &str = "content_hash, first_frame_ns, fingerprint, fingerprint_frames, skipped_frames, frames_through, continues";

fn read_extent(r: &Row) -> Result<CaptureExtent> {
    let frames: i64 = r.try_get(3)?;
    Ok(CaptureExtent {
        content_hash: r.try_get(0)?,
        first_frame_ns: r.try_get(1)?,
        fingerprint: r.try_get(2)?,
        fingerprint_frames: u32::try_from(frames)
            .map_err(|_| corrupt(format_args!("fingerprint frames {frames}")))?,
        skipped_frames: r.try_get::<_, i64>(4)? as u64,
        frames_through: r.try_get::<_, i64>(5)? as u64,
        continues: r.try_get(6)?,
    })
}

const SOURCE_COLUMNS: &str = "addr, label, first_ns, last_ns, packets, bytes, distinct_destinations, \
     distinct_ports, counters, ttls, top_ports, country, asn, as_name, team, data_version";

/// Reads a row of [`SOURCE_COLUMNS`] as the record the listings show.
fn read_source(r: &Row) -> Result<SourceRecord> {
    let ttls: &[u8] = r.try_get(9)?;
    Ok(SourceRecord {
        addr: parse_addr(r.try_get(0)?)?,
        label: r.try_get::<_, &str>(1)?.parse().map_err(corrupt)?,
        first_seen_ns: r.try_get(2)?,
        last_seen_ns: r.try_get(3)?,
        packets: r.try_get::<_, i64>(4)? as u64,
        bytes: r.try_get::<_, i64>(5)? as u64,
        distinct_destinations: r.try_get::<_, i64>(6)? as u64,
        distinct_ports: r.try_get::<_, i64>(7)? as u64,
        ttls: firewatch_darknet::aggregate::TtlSet::from_bytes(ttls).values(),
        counters: serde_json::from_str::<SourceCounters>(r.try_get(8)?).map_err(corrupt)?,
        top_ports: listed_top_ports(r.try_get(10)?)?,
        attribution: read_attribution(r, 11)?,
    })
}

/// `(first interval, last interval, step)` of the store, `None` before the first capture.
fn span(c: &mut Client) -> Result<Option<(i64, i64, i64)>> {
    let Some(step) = meta(c, "interval_secs")?.and_then(|s| s.parse::<u32>().ok()) else {
        return Ok(None);
    };
    let r = c.query_one(
        "SELECT min(interval_start), max(interval_start) FROM port_intervals",
        &[],
    )?;
    let (lo, hi): (Option<i64>, Option<i64>) = (r.try_get(0)?, r.try_get(1)?);
    Ok(lo.zip(hi).map(|(lo, hi)| (lo, hi, i64::from(step))))
}

fn series_rows(c: &mut Client, proto: u8, port: u16) -> Result<Vec<(i64, u64, u64)>> {
    c.query(
        "SELECT interval_start, packets, unique_sources FROM port_intervals
         WHERE proto = $1 AND port = $2 ORDER BY interval_start",
        &[&i16::from(proto), &i32::from(port)],
    )?
    .iter()
    .map(|r| {
        Ok((
            r.try_get(0)?,
            r.try_get::<_, i64>(1)? as u64,
            r.try_get::<_, i64>(2)? as u64,
        ))
    })
    .collect()
}

/// Sources of a port between two interval starts, merged, with their packet counts.
fn sources_between(
    c: &mut Client,
    proto: u8,
    port: u16,
    from: i64,
    to: i64,
) -> Result<Vec<(IpAddr, u64)>> {
    let rows = c.query(
        "SELECT sources FROM port_intervals
         WHERE proto = $1 AND port = $2 AND interval_start BETWEEN $3 AND $4",
        &[&i16::from(proto), &i32::from(port), &from, &to],
    )?;
    let mut merged: Vec<(IpAddr, u64)> = Vec::new();
    for r in rows {
        let blob: &[u8] = r.try_get(0)?;
        merged = source_counts::merge(&merged, &source_counts::decode(blob).map_err(corrupt)?);
    }
    Ok(merged)
}

/// Label, country and team of each address (those the store knows).
fn facts_of(c: &mut Client, addrs: &[(IpAddr, u64)]) -> Result<HashMap<IpAddr, SourceFacts>> {
    let keys: Vec<String> = addrs.iter().map(|(a, _)| a.to_string()).collect();
    let mut out = HashMap::with_capacity(keys.len());
    for r in c.query(
        "SELECT addr, label, country, team FROM sources WHERE addr = ANY($1::text[])",
        &[&keys],
    )? {
        out.insert(
            parse_addr(r.try_get(0)?)?,
            SourceFacts {
                label: r.try_get::<_, &str>(1)?.parse().map_err(corrupt)?,
                country: r.try_get(2)?,
                team: r.try_get(3)?,
            },
        );
    }
    Ok(out)
}

/// Sources of an episode's intervals: from its start to its end, or to `last` while open.
fn episode_sources_between(
    c: &mut Client,
    proto: u8,
    port: u16,
    d: &Detection,
    step: i64,
    last: i64,
) -> Result<Vec<(IpAddr, u64)>> {
    let to = d.end.map(|e| e - step).unwrap_or(last);
    sources_between(c, proto, port, d.start, to)
}

fn busiest_first(sources: &mut [(IpAddr, u64)]) {
    sources.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
}

impl PgStore {
    fn commit_capture_tx(
        &mut self,
        input: &InputRecord,
        extent: Option<&CaptureExtent>,
        agg: &Aggregate,
        derive: &dyn Derivation,
    ) -> Result<bool> {
        self.writable_mut()?;
        commit::ensure_partitions(&mut self.client, agg)?;
        let mut tx = self.write_tx()?;
        if !commit::commit_capture(&mut tx, input, extent, agg, derive)? {
            return Ok(false);
        }
        tx.commit()?;
        Ok(true)
    }

    /// Fails when the server takes no writes (a standby, or `default_transaction_read_only`),
    /// asked through the store's own connection: what a write is about to use.
    fn writable_mut(&mut self) -> Result<()> {
        read_only_check(&mut self.client, &self.location)
    }

    /// [`PgStore::writable_mut`] for the `&self` methods.
    fn writable(&self) -> Result<()> {
        read(self, |c| read_only_check(c, &self.location))
    }
}

fn read_only_check(c: &mut Client, location: &str) -> Result<()> {
    let on: String = c
        .query_one("SELECT current_setting('transaction_read_only')", &[])?
        .try_get(0)?;
    if on == "on" {
        return Err(StoreError::ReadOnly {
            path: location.to_owned(),
            why: "the PostgreSQL server takes only reads (a standby, or default_transaction_read_only)".into(),
        });
    }
    Ok(())
}

impl Store for PgStore {
    fn check_writable(&self) -> Result<()> {
        self.writable()
    }

    fn input(&self, content_hash: &str) -> Result<Option<InputRecord>> {
        read(self, |c| {
            c.query_opt(
                &format!("SELECT {INPUT_COLUMNS} FROM inputs WHERE content_hash = $1"),
                &[&content_hash],
            )?
            .as_ref()
            .map(read_input)
            .transpose()
        })
    }

    fn inputs(&self) -> Result<Vec<InputRecord>> {
        read(self, |c| {
            c.query(
                &format!("SELECT {INPUT_COLUMNS} FROM inputs ORDER BY ingested_at, name"),
                &[],
            )?
            .iter()
            .map(read_input)
            .collect()
        })
    }

    fn commit_capture(
        &mut self,
        input: &InputRecord,
        agg: &Aggregate,
        derive: &dyn Derivation,
    ) -> Result<bool> {
        self.commit_capture_tx(input, None, agg, derive)
    }

    fn commit_capture_extent(
        &mut self,
        input: &InputRecord,
        extent: &CaptureExtent,
        agg: &Aggregate,
        derive: &dyn Derivation,
    ) -> Result<bool> {
        self.commit_capture_tx(input, Some(extent), agg, derive)
    }

    fn capture_extents_starting_at(&self, first_frame_ns: i64) -> Result<Vec<CaptureExtent>> {
        read(self, |c| {
            c.query(
                &format!(
                    "SELECT {EXTENT_COLUMNS} FROM capture_extents WHERE first_frame_ns = $1
                     ORDER BY frames_through DESC, content_hash"
                ),
                &[&first_frame_ns],
            )?
            .iter()
            .map(read_extent)
            .collect()
        })
    }

    fn capture_extent(&self, content_hash: &str) -> Result<Option<CaptureExtent>> {
        read(self, |c| {
            c.query_opt(
                &format!("SELECT {EXTENT_COLUMNS} FROM capture_extents WHERE content_hash = $1"),
                &[&content_hash],
            )?
            .as_ref()
            .map(read_extent)
            .transpose()
        })
    }

    fn inputs_overlapping(&self, first_ns: i64, last_ns: i64) -> Result<Vec<InputRecord>> {
        read(self, |c| {
            c.query(
                &format!(
                    "SELECT {INPUT_COLUMNS} FROM inputs WHERE first_ns <= $1 AND last_ns >= $2
                     ORDER BY ingested_at, name"
                ),
                &[&last_ns, &first_ns],
            )?
            .iter()
            .map(read_input)
            .collect()
        })
    }

    fn forget_input(&mut self, content_hash: &str) -> Result<Option<InputRecord>> {
        self.writable_mut()?;
        let mut tx = self.write_tx()?;
        let input = tx
            .query_opt(
                &format!("SELECT {INPUT_COLUMNS} FROM inputs WHERE content_hash = $1 FOR UPDATE"),
                &[&content_hash],
            )?
            .as_ref()
            .map(read_input)
            .transpose()?;
        if input.is_some() {
            tx.execute(
                "DELETE FROM capture_extents WHERE content_hash = $1",
                &[&content_hash],
            )?;
            tx.execute(
                "DELETE FROM inputs WHERE content_hash = $1",
                &[&content_hash],
            )?;
        }
        tx.commit()?;
        Ok(input)
    }

    fn rederive(&mut self, derive: &dyn Derivation, since: Option<i64>) -> Result<Rederived> {
        self.writable_mut()?;
        rederive::rederive(self, derive, since)
    }

    fn alert_candidates(
        &self,
        min_packets: u64,
        min_sources: u64,
    ) -> Result<Option<AlertCandidates>> {
        read(self, |c| {
            let Some((first, last, step)) = span(c)? else {
                return Ok(None);
            };
            let ports = c
                .query(
                    "SELECT proto, port FROM port_intervals GROUP BY proto, port
                     HAVING max(packets) >= $1 OR max(unique_sources) >= $2 ORDER BY proto, port",
                    &[&(min_packets as i64), &(min_sources as i64)],
                )?
                .iter()
                .map(|r| {
                    Ok((
                        small_u8(r.try_get(0)?, "proto")?,
                        small_u16(r.try_get(1)?, "port")?,
                    ))
                })
                .collect::<Result<_>>()?;
            Ok(Some(AlertCandidates {
                first,
                last,
                step,
                ports,
            }))
        })
    }

    fn dense_series(
        &self,
        proto: u8,
        port: u16,
        span: &AlertCandidates,
    ) -> Result<Vec<SeriesPoint>> {
        read(self, |c| {
            Ok(densify(
                &series_rows(c, proto, port)?,
                span.first,
                span.last,
                span.step,
            ))
        })
    }

    fn episode_sources(
        &self,
        proto: u8,
        port: u16,
        episode: &Detection,
        span: &AlertCandidates,
    ) -> Result<Vec<(IpAddr, u64)>> {
        read(self, |c| {
            let mut sources =
                episode_sources_between(c, proto, port, episode, span.step, span.last)?;
            busiest_first(&mut sources);
            Ok(sources)
        })
    }

    fn episode_record(
        &self,
        proto: u8,
        port: u16,
        episode: &Detection,
        span: &AlertCandidates,
    ) -> Result<AlertRecord> {
        read(self, |c| {
            let sources = episode_sources_between(c, proto, port, episode, span.step, span.last)?;
            let facts = facts_of(c, &sources)?;
            Ok(episode_alert(proto, port, episode, &sources, &facts))
        })
    }

    fn replace_alerts(&mut self, records: &[AlertRecord]) -> Result<()> {
        self.writable_mut()?;
        let mut ids = Vec::with_capacity(records.len());
        let mut ords = Vec::with_capacity(records.len());
        let mut protos = Vec::with_capacity(records.len());
        let mut ports = Vec::with_capacity(records.len());
        let mut starts = Vec::with_capacity(records.len());
        let mut ends = Vec::with_capacity(records.len());
        let mut docs = Vec::with_capacity(records.len());
        for (i, a) in records.iter().enumerate() {
            ids.push(a.id.as_str());
            ords.push(i32::try_from(i).unwrap_or(i32::MAX));
            protos.push(i16::from(
                a.proto
                    .parse::<Protocol>()
                    .map(Protocol::number)
                    .unwrap_or(0),
            ));
            ports.push(i32::from(a.port));
            starts.push(a.start);
            ends.push(a.end);
            docs.push(serde_json::to_string(a).map_err(corrupt)?);
        }
        let mut tx = self.write_tx()?;
        tx.execute("DELETE FROM alerts", &[])?;
        tx.execute(
            "INSERT INTO alerts (id, ord, proto, port, start_at, end_at, record)
             SELECT * FROM unnest($1::text[], $2::integer[], $3::smallint[], $4::integer[],
                                  $5::bigint[], $6::bigint[], $7::text[])",
            &[&ids, &ords, &protos, &ports, &starts, &ends, &docs],
        )?;
        set_meta(&mut tx, "alerts_stale", "0")?;
        tx.commit()?;
        Ok(())
    }

    fn alerts_stale(&self) -> Result<bool> {
        // A store that may not be written cannot store re-derived alerts: it shows the alerts
        // as they were last derived.
        if self.writable().is_err() {
            return Ok(false);
        }
        read(self, |c| {
            Ok(meta(c, "alerts_stale")?.as_deref() == Some("1"))
        })
    }

    fn top_ports(&self, range: &TimeRange, limit: usize) -> Result<Vec<PortTotal>> {
        let (since, until) = (range.since_or_min(), range.until_or_max());
        read(self, |c| {
            let rows = c.query(
                "SELECT proto, port, sum(packets)::bigint, sum(bytes)::bigint, max(unique_sources),
                        count(*) FROM port_intervals
                 WHERE interval_start BETWEEN $1 AND $2 GROUP BY proto, port
                 ORDER BY sum(packets) DESC, proto, port LIMIT $3",
                &[&since, &until, &sql_limit(Some(limit))],
            )?;
            rows.iter()
                .map(|r| {
                    let proto = small_u8(r.try_get(0)?, "proto")?;
                    let port = small_u16(r.try_get(1)?, "port")?;
                    Ok(PortTotal {
                        proto: proto_name(proto),
                        port,
                        packets: r.try_get::<_, i64>(2)? as u64,
                        bytes: r.try_get::<_, i64>(3)? as u64,
                        unique_sources: sources_between(c, proto, port, since, until)?.len() as u64,
                        peak_interval_sources: r.try_get::<_, i64>(4)? as u64,
                        intervals: r.try_get::<_, i64>(5)? as u64,
                    })
                })
                .collect()
        })
    }

    fn port_series(&self, proto: u8, port: u16, range: &TimeRange) -> Result<Vec<SeriesPoint>> {
        read(self, |c| {
            let Some((first, last, step)) = span(c)? else {
                return Ok(Vec::new());
            };
            let series = densify(&series_rows(c, proto, port)?, first, last, step);
            Ok(series
                .into_iter()
                .filter(|p| {
                    p.interval_start >= range.since_or_min()
                        && p.interval_start <= range.until_or_max()
                })
                .collect())
        })
    }

    fn alerts(&self, q: &AlertQuery) -> Result<Vec<AlertRecord>> {
        // Team and country live inside the stored record: filter after reading, then limit.
        let filtered = q.team.is_some() || q.country.is_some();
        let limit = if filtered { None } else { sql_limit(q.limit) };
        let records: Vec<String> = read(self, |c| {
            c.query(
                "SELECT record FROM alerts WHERE (end_at IS NULL OR end_at >= $1) AND start_at <= $2
                 AND ($3::smallint IS NULL OR proto = $3) AND ($4::integer IS NULL OR port = $4)
                 AND (NOT $5 OR end_at IS NULL)
                 ORDER BY start_at, proto, port, ord LIMIT $6",
                &[
                    &q.range.since_or_min(),
                    &q.range.until_or_max(),
                    &q.proto.map(i16::from),
                    &q.port.map(i32::from),
                    &q.open_only,
                    &limit,
                ],
            )?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect()
        })?;
        let mut out = Vec::new();
        for r in records {
            let a: AlertRecord = serde_json::from_str(&r).map_err(corrupt)?;
            if q.admits(&a) {
                out.push(a);
            }
        }
        out.truncate(q.limit.unwrap_or(usize::MAX));
        Ok(out)
    }

    fn alert(&self, id: &str) -> Result<Option<AlertRecord>> {
        let record: Option<String> = read(self, |c| {
            Ok(
                c.query_opt("SELECT record FROM alerts WHERE id = $1", &[&id])?
                    .map(|r| r.try_get(0))
                    .transpose()?,
            )
        })?;
        record
            .map(|r| serde_json::from_str(&r).map_err(corrupt))
            .transpose()
    }

    fn alert_sources(&self, alert: &AlertRecord, team: Option<&str>) -> Result<Vec<AlertSource>> {
        let proto: Protocol = alert
            .proto
            .parse()
            .map_err(|e| corrupt(format_args!("alert {}: {e}", alert.id)))?;
        // The alert's intervals: from its start to before its end (its last if ongoing).
        let last = alert.end.map_or(i64::MAX, |end| end - 1);
        read(self, |c| {
            let mut sources = sources_between(c, proto.number(), alert.port, alert.start, last)?;
            busiest_first(&mut sources);
            let keys: Vec<String> = sources.iter().map(|(a, _)| a.to_string()).collect();
            let mut known = HashMap::with_capacity(keys.len());
            for r in c.query(
                "SELECT addr, label, country, asn, team FROM sources WHERE addr = ANY($1::text[])",
                &[&keys],
            )? {
                let label: SourceLabel = r.try_get::<_, &str>(1)?.parse().map_err(corrupt)?;
                let asn = r
                    .try_get::<_, Option<i64>>(3)?
                    .map(|a| u32::try_from(a).map_err(|_| corrupt(format_args!("AS number {a}"))))
                    .transpose()?;
                known.insert(
                    parse_addr(r.try_get(0)?)?,
                    (
                        label,
                        r.try_get::<_, Option<String>>(2)?,
                        asn,
                        r.try_get::<_, Option<String>>(4)?,
                    ),
                );
            }
            let mut out = Vec::with_capacity(sources.len());
            for (addr, packets) in sources {
                let (label, country, asn, routed) = match known.remove(&addr) {
                    Some((label, country, asn, routed)) => (Some(label), country, asn, routed),
                    None => (None, None, None, None),
                };
                if team.is_some_and(|t| routed.as_deref() != Some(t)) {
                    continue;
                }
                out.push(AlertSource {
                    addr,
                    packets,
                    label,
                    country,
                    asn,
                    team: routed,
                });
            }
            Ok(out)
        })
    }

    fn sources(&self, q: &SourceQuery) -> Result<Vec<SourceRecord>> {
        read(self, |c| {
            c.query(
                &format!(
                    "SELECT {SOURCE_COLUMNS} FROM sources WHERE last_ns >= $1 AND first_ns <= $2
                     AND ($3::text IS NULL OR label = $3) AND ($5::text IS NULL OR team = $5)
                     AND ($6::text IS NULL OR country = $6)
                     ORDER BY packets DESC, addr LIMIT $4"
                ),
                &[
                    &q.range.since_or_min().saturating_mul(NS),
                    &q.range.until_or_max().saturating_mul(NS),
                    &q.label.map(SourceLabel::as_str),
                    &sql_limit(q.limit),
                    &q.team,
                    &q.country,
                ],
            )?
            .iter()
            .map(read_source)
            .collect()
        })
    }

    fn source(&self, addr: IpAddr) -> Result<Option<SourceRecord>> {
        read(self, |c| {
            c.query_opt(
                &format!("SELECT {SOURCE_COLUMNS} FROM sources WHERE addr = $1"),
                &[&addr.to_string()],
            )?
            .as_ref()
            .map(read_source)
            .transpose()
        })
    }

    fn attacks(&self, q: &AttackQuery) -> Result<Vec<AttackRecord>> {
        read(self, |c| {
            c.query(
                "SELECT victim, start_ns, end_ns, packets, bytes, peak_per_minute, proto, ports,
                        country, asn, as_name, team, data_version FROM attacks
                 WHERE end_ns >= $1 AND start_ns <= $2 AND ($3::text IS NULL OR victim = $3)
                 AND ($5::text IS NULL OR team = $5) AND ($6::text IS NULL OR country = $6)
                 ORDER BY packets DESC, victim, start_ns LIMIT $4",
                &[
                    &q.range.since_or_min().saturating_mul(NS),
                    &q.range.until_or_max().saturating_mul(NS),
                    &q.victim.map(|v| v.to_string()),
                    &sql_limit(q.limit),
                    &q.team,
                    &q.country,
                ],
            )?
            .iter()
            .map(|r| {
                Ok(AttackRecord {
                    victim: parse_addr(r.try_get(0)?)?,
                    start_ns: r.try_get(1)?,
                    end_ns: r.try_get(2)?,
                    packets: r.try_get::<_, i64>(3)? as u64,
                    bytes: r.try_get::<_, i64>(4)? as u64,
                    peak_per_minute: r.try_get::<_, i64>(5)? as u64,
                    proto: proto_name(small_u8(r.try_get(6)?, "proto")?),
                    ports: ports_of(r.try_get(7)?)?,
                    attribution: read_attribution(r, 8)?,
                })
            })
            .collect()
        })
    }

    fn flowtuples(&self, range: &TimeRange, visit: &mut dyn FnMut(FlowtupleRecord)) -> Result<u64> {
        read(self, |c| {
            let params: [&(dyn ToSql + Sync); 2] = [&range.since_or_min(), &range.until_or_max()];
            // Streamed: a range may hold more flowtuples than fit in memory at once.
            let mut rows = c.query_raw(
                "SELECT interval_start, src, dst, sport, dport, proto, ttl, tcp_flags, ip_len,
                        packets, spoofed, masscan
                 FROM flowtuples WHERE interval_start BETWEEN $1 AND $2
                 ORDER BY interval_start, src, dst, sport, dport, proto, ttl, tcp_flags, ip_len,
                          spoofed, masscan",
                params,
            )?;
            let mut n = 0;
            while let Some(r) = rows.next()? {
                visit(FlowtupleRecord {
                    interval_start: r.try_get(0)?,
                    src: parse_addr(r.try_get(1)?)?,
                    dst: parse_addr(r.try_get(2)?)?,
                    sport: small_u16(r.try_get(3)?, "port")?,
                    dport: small_u16(r.try_get(4)?, "port")?,
                    proto: small_u8(r.try_get(5)?, "proto")?,
                    ttl: small_u8(r.try_get(6)?, "TTL")?,
                    tcp_flags: small_u8(r.try_get(7)?, "TCP flags")?,
                    ip_len: small_u16(r.try_get(8)?, "IP length")?,
                    packets: r.try_get::<_, i64>(9)? as u64,
                    spoofed: r.try_get(10)?,
                    masscan: r.try_get(11)?,
                });
                n += 1;
            }
            Ok(n)
        })
    }

    fn interval_secs(&self) -> Result<Option<u32>> {
        read(self, |c| {
            Ok(meta(c, "interval_secs")?.and_then(|s| s.parse().ok()))
        })
    }

    fn team_directory(&self) -> Result<Option<StoredDirectory>> {
        read(self, |c| {
            c.query_opt(
                "SELECT toml, origin, allow_nested_prefixes, imported_at FROM team_directory WHERE id = 1",
                &[],
            )?
            .map(|r| {
                Ok(StoredDirectory {
                    toml: r.try_get(0)?,
                    origin: r.try_get(1)?,
                    allow_nested_prefixes: r.try_get(2)?,
                    imported_at: r.try_get(3)?,
                })
            })
            .transpose()
        })
    }

    fn replace_team_directory(&mut self, d: &StoredDirectory) -> Result<()> {
        self.writable_mut()?;
        self.client.execute(
            "INSERT INTO team_directory (id, toml, origin, allow_nested_prefixes, imported_at)
             VALUES (1, $1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET toml = excluded.toml, origin = excluded.origin,
             allow_nested_prefixes = excluded.allow_nested_prefixes, imported_at = excluded.imported_at",
            &[&d.toml, &d.origin, &d.allow_nested_prefixes, &d.imported_at],
        )?;
        Ok(())
    }
}
