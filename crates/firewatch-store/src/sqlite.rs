//! The embedded backend: one SQLite file, WAL journal, versioned migrations.

use crate::codec::{SourceFacts, corrupt, densify, parse_addr, proto_name, tally_from_json};
use crate::migrations::MIGRATIONS;
use crate::records::*;
use crate::{Derivation, Result, Store, StoreError};
use firewatch_core::telescope::{AlertSource, Detection, SeriesPoint};
use firewatch_core::{Event, Protocol, SourceLabel};
use firewatch_darknet::aggregate::TtlSet;
use firewatch_darknet::{Aggregate, SourceCounters, source_counts};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

mod ingest;

const NS: i64 = 1_000_000_000;

/// Largest SQLite page cache of one connection, in KiB (256 MiB).
const PAGE_CACHE_KIB: i64 = 256 * 1024;

/// How long a connection waits for another one's write lock before it gives up with
/// [`StoreError::Busy`]: a watcher, the web service and a command may all write at once.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A store in one SQLite file (or in memory, for tests).
pub struct SqliteStore {
    pub(crate) conn: Connection,
    /// The file, for a store that is one (not in memory): named in errors, and the place of
    /// the corruption mark.
    path: Option<PathBuf>,
    /// Why the store was opened for reading only, if it was.
    read_only: Option<String>,
}

/// Why the store at `path` must be opened for reading only, judged by permission bits (which
/// also hold for root, whom the kernel lets write anyway): an existing file, or its directory,
/// that nobody may write.
fn read_only_reason(path: &Path) -> Option<String> {
    let file = std::fs::metadata(path).ok()?;
    if file.permissions().readonly() {
        return Some("the file is not writable".into());
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir_meta = std::fs::metadata(dir).ok()?;
    dir_meta.permissions().readonly().then(|| {
        format!(
            "its directory {} is not writable (SQLite writes its journal files beside the store)",
            dir.display()
        )
    })
}

/// Errors that mean SQLite may read the file but not write it (or its journal files).
fn is_read_only_error(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen)
    )
}

/// `file:PATH?immutable=1`, the path percent-encoded where URIs need it.
fn immutable_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' | '?' | '#' => uri.push_str(&format!("%{:02X}", c as u32)),
            _ => uri.push(c),
        }
    }
    uri.push_str("?immutable=1");
    uri
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`, applying pending migrations.
    ///
    /// A store that cannot be written (its file or its directory is read-only, e.g. a copy on
    /// read-only media) is opened for reading: every read works, every write fails with
    /// [`StoreError::ReadOnly`]. Such a store must already have the current schema.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(why) = read_only_reason(path) {
            return Self::open_read_only(path, why);
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Directory {
                path: dir.display().to_string(),
                source,
            })?;
        }
        match Self::open_read_write(path) {
            // SQLite falls back to reading a file it may not write (EACCES on open), and cannot
            // create the WAL's shared-memory file in a directory it may not write: read only.
            Err(StoreError::Sqlite(e)) if path.exists() && is_read_only_error(&e) => {
                Self::open_read_only(path, format!("SQLite cannot write it ({e})"))
            }
            Ok(store) if store.conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) => {
                drop(store);
                Self::open_read_only(path, "the file is not writable by this user".into())
            }
            Err(e) if e.is_corruption() => {
                crate::integrity::mark_corrupt(path, &[e.to_string()]);
                Err(e)
            }
            other => other,
        }
    }

    fn open_read_write(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        // Wait for other processes (a watcher, a reader) rather than fail at once.
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // WAL with synchronous=NORMAL keeps every committed transaction across a killed
        // process; only a power cut may lose the last ones.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // SQLite's default page cache is 2 MiB: committing a capture of a million sources then
        // re-reads the same pages through the kernel again and again. The cache only grows as
        // pages are used, so a connection that reads little costs little. Measured on a 20 M-packet
        // capture: 34.0 s to 29.2 s, the kernel's share 14.0 s to 5.8 s (BENCHMARKS.md).
        conn.pragma_update(None, "cache_size", -PAGE_CACHE_KIB)?;
        Self::prepare(conn, Some(path))
    }

    /// Opens the store at `path` for reading only: SQLite's read-only mode, and, when the WAL's
    /// shared-memory file cannot be created beside it either, as an immutable file (SQLite
    /// then reads the database file alone; a copy should be made of a cleanly closed store).
    fn open_read_only(path: &Path, why: String) -> Result<Self> {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let read_only = |e: rusqlite::Error| StoreError::ReadOnly {
            path: path.display().to_string(),
            why: format!("{why}, and it cannot be read either: {e}"),
        };
        if !path.exists() {
            return Err(StoreError::ReadOnly {
                path: path.display().to_string(),
                why: format!("{why}, and there is no store there yet"),
            });
        }
        let probe = |conn: &Connection| -> rusqlite::Result<i64> {
            conn.busy_timeout(BUSY_TIMEOUT)?;
            conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))?;
            conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        };
        let conn = Connection::open_with_flags(path, flags).map_err(read_only)?;
        let conn = match probe(&conn) {
            Ok(_) => conn,
            Err(_) => {
                drop(conn);
                let conn =
                    Connection::open_with_flags(immutable_uri(path), flags).map_err(read_only)?;
                probe(&conn).map_err(read_only)?;
                conn
            }
        };
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew {
                found: version,
                known,
            });
        }
        if version < known {
            return Err(StoreError::ReadOnly {
                path: path.display().to_string(),
                why: format!(
                    "{why}, and its schema (version {version}) needs an upgrade to version {known}, \
                     which is a write; open it once where it can be written"
                ),
            });
        }
        conn.pragma_update(None, "cache_size", -PAGE_CACHE_KIB)?;
        Ok(SqliteStore {
            conn,
            path: Some(path.to_path_buf()),
            read_only: Some(why),
        })
    }

    /// A throw-away store in memory.
    pub fn open_in_memory() -> Result<Self> {
        Self::prepare(Connection::open_in_memory()?, None)
    }

    fn prepare(mut conn: Connection, path: Option<&Path>) -> Result<Self> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew {
                found: version,
                known,
            });
        }
        if version < known {
            // Migrating is writing: not into a store known to be corrupt.
            if let Some(found) = path.and_then(crate::integrity::corruption_mark) {
                return Err(StoreError::KnownCorrupt {
                    path: path.map(|p| p.display().to_string()).unwrap_or_default(),
                    found,
                });
            }
            // Immediate: take the write lock first, then look again, so two processes opening
            // a new store at once do not both run the same migration.
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
                tx.execute_batch(sql)?;
                tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            }
            tx.commit()?;
        }
        Ok(SqliteStore {
            conn,
            path: path.map(Path::to_path_buf),
            read_only: None,
        })
    }

    /// Why the store is open for reading only (its file or directory is not writable), if it
    /// is.
    pub fn read_only(&self) -> Option<&str> {
        self.read_only.as_deref()
    }

    /// Fails unless the store may be written: not opened read-only, and not known to be
    /// corrupt (see [`crate::integrity`]). Every write calls it first.
    pub(crate) fn writable(&self) -> Result<()> {
        let file = || {
            self.path
                .as_deref()
                .map_or_else(|| ":memory:".to_owned(), |p| p.display().to_string())
        };
        if let Some(why) = &self.read_only {
            return Err(StoreError::ReadOnly {
                path: file(),
                why: why.clone(),
            });
        }
        if let Some(mark) = self
            .path
            .as_deref()
            .and_then(crate::integrity::corruption_mark)
        {
            return Err(StoreError::KnownCorrupt {
                path: file(),
                found: mark,
            });
        }
        Ok(())
    }

    /// A write transaction, begun IMMEDIATE: it takes the write lock at once, waiting up to
    /// [`BUSY_TIMEOUT`] for another writer, rather than begin as a reader and fail with
    /// SQLITE_BUSY when it first writes (a deferred transaction cannot wait there: its
    /// snapshot would be stale).
    pub(crate) fn write_tx(&mut self) -> Result<Transaction<'_>> {
        self.writable()?;
        Ok(self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?)
    }

    /// The store's file, if it is one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The schema version in force.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?", [key], |r| r.get(0))
            .optional()?)
    }
}

fn set_meta(tx: &Transaction<'_>, key: &str, value: &str) -> Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
        params![key, value],
    )?;
    Ok(())
}

fn read_input(r: &rusqlite::Row<'_>) -> rusqlite::Result<InputRecord> {
    let counters: String = r.get(10)?;
    Ok(InputRecord {
        content_hash: r.get(0)?,
        name: r.get(1)?,
        format: r.get(2)?,
        ingested_at: r.get(3)?,
        frames: r.get::<_, i64>(4)? as u64,
        ip_packets: r.get::<_, i64>(5)? as u64,
        first_ns: r.get(6)?,
        last_ns: r.get(7)?,
        complete: r.get(8)?,
        error: r.get(9)?,
        counters: serde_json::from_str(&counters).unwrap_or(serde_json::Value::Null),
    })
}

const EXTENT_COLUMNS: &str = "content_hash, first_frame_ns, fingerprint, fingerprint_frames, skipped_frames, frames_through, continues";

fn read_extent(r: &rusqlite::Row<'_>) -> rusqlite::Result<CaptureExtent> {
    Ok(CaptureExtent {
        content_hash: r.get(0)?,
        first_frame_ns: r.get(1)?,
        fingerprint: r.get(2)?,
        fingerprint_frames: r.get(3)?,
        skipped_frames: r.get::<_, i64>(4)? as u64,
        frames_through: r.get::<_, i64>(5)? as u64,
        continues: r.get(6)?,
    })
}

const INPUT_COLUMNS: &str = "content_hash, name, format, ingested_at, frames, ip_packets, first_ns, last_ns, complete, error, counters";

/// Reads the five attribution columns starting at `first`.
fn read_enrichment(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Attribution> {
    Ok(Attribution {
        country: r.get(first)?,
        asn: r.get(first + 1)?,
        as_name: r.get(first + 2)?,
        team: r.get(first + 3)?,
        data_version: r.get(first + 4)?,
    })
}

const SOURCE_COLUMNS: &str = "addr, label, first_ns, last_ns, packets, bytes, distinct_destinations, \
     distinct_ports, counters, ttls, top_ports, country, asn, as_name, team, data_version";

/// Reads a row of [`SOURCE_COLUMNS`] as the record the listings show.
fn read_source(r: &rusqlite::Row<'_>) -> Result<SourceRecord> {
    let addr: String = r.get(0)?;
    let label: String = r.get(1)?;
    let counters: String = r.get(8)?;
    let ttls: Vec<u8> = r.get(9)?;
    let top: String = r.get(10)?;
    let mut top_ports: Vec<(String, u16, u64)> = tally_from_json(&top)?
        .ports
        .into_iter()
        .map(|(k, n)| (proto_name((k >> 16) as u8), k as u16, n))
        .collect();
    top_ports.sort_by(|a, b| b.2.cmp(&a.2).then(a.1.cmp(&b.1)));
    Ok(SourceRecord {
        addr: parse_addr(&addr)?,
        label: label.parse().map_err(corrupt)?,
        first_seen_ns: r.get(2)?,
        last_seen_ns: r.get(3)?,
        packets: r.get::<_, i64>(4)? as u64,
        bytes: r.get::<_, i64>(5)? as u64,
        distinct_destinations: r.get::<_, i64>(6)? as u64,
        distinct_ports: r.get::<_, i64>(7)? as u64,
        ttls: TtlSet::from_bytes(&ttls).values(),
        counters: serde_json::from_str::<SourceCounters>(&counters).map_err(corrupt)?,
        top_ports,
        attribution: read_enrichment(r, 11)?,
    })
}

fn ports_to_text(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn ports_from_text(s: &str) -> Vec<u16> {
    s.split(',').filter_map(|p| p.parse().ok()).collect()
}

impl SqliteStore {
    fn span(&self) -> Result<Option<(i64, i64, i64)>> {
        let Some(step) = self.interval_secs()? else {
            return Ok(None);
        };
        let (lo, hi): (Option<i64>, Option<i64>) = self.conn.query_row(
            "SELECT min(interval_start), max(interval_start) FROM port_intervals",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(lo.zip(hi).map(|(lo, hi)| (lo, hi, i64::from(step))))
    }

    fn series_rows(&self, proto: u8, port: u16) -> Result<Vec<(i64, u64, u64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT interval_start, packets, unique_sources FROM port_intervals WHERE proto = ? AND port = ? ORDER BY interval_start",
        )?;
        let rows = stmt.query_map(params![proto, port], |r| {
            Ok((
                r.get(0)?,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)? as u64,
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Sources of a port between two interval starts, merged, with their packet counts.
    fn sources_between(
        &self,
        proto: u8,
        port: u16,
        from: i64,
        to: i64,
    ) -> Result<Vec<(IpAddr, u64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT sources FROM port_intervals WHERE proto = ? AND port = ? AND interval_start BETWEEN ? AND ?",
        )?;
        let mut rows = stmt.query(params![proto, port, from, to])?;
        let mut merged: Vec<(IpAddr, u64)> = Vec::new();
        while let Some(r) = rows.next()? {
            let blob: Vec<u8> = r.get(0)?;
            merged = source_counts::merge(&merged, &source_counts::decode(&blob).map_err(corrupt)?);
        }
        Ok(merged)
    }

    /// Label, country and team of each address (those the store knows).
    fn facts_of(
        &self,
        addrs: impl Iterator<Item = IpAddr>,
    ) -> Result<HashMap<IpAddr, SourceFacts>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT label, country, team FROM sources WHERE addr = ?")?;
        let mut out = HashMap::new();
        for a in addrs {
            let row = stmt
                .query_row([a.to_string()], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<String>>(2)?,
                    ))
                })
                .optional()?;
            if let Some((label, country, team)) = row {
                out.insert(
                    a,
                    SourceFacts {
                        label: label.parse().map_err(corrupt)?,
                        country,
                        team,
                    },
                );
            }
        }
        Ok(out)
    }

    /// Sources of an episode's intervals: from its start to its end, or to `last` while open.
    fn episode_sources_between(
        &self,
        proto: u8,
        port: u16,
        d: &Detection,
        step: i64,
        last: i64,
    ) -> Result<Vec<(IpAddr, u64)>> {
        let to = d.end.map(|e| e - step).unwrap_or(last);
        self.sources_between(proto, port, d.start, to)
    }

    fn alert_record(
        &self,
        proto: u8,
        port: u16,
        d: &Detection,
        step: i64,
        last: i64,
    ) -> Result<AlertRecord> {
        let sources = self.episode_sources_between(proto, port, d, step, last)?;
        let facts = self.facts_of(sources.iter().map(|s| s.0))?;
        Ok(crate::codec::episode_alert(
            proto, port, d, &sources, &facts,
        ))
    }
}

impl SqliteStore {
    /// Runs the update `sql` for each of `rows` (`bind` executes it), in transactions of at
    /// most 10,000 rows, so a large re-derivation neither holds the write lock for long nor
    /// builds one huge journal.
    fn update_in_batches<T>(
        &mut self,
        rows: &[T],
        sql: &str,
        mut bind: impl FnMut(&mut rusqlite::CachedStatement<'_>, &T) -> rusqlite::Result<usize>,
    ) -> Result<()> {
        for batch in rows.chunks(10_000) {
            let tx = self.write_tx()?;
            {
                let mut update = tx.prepare_cached(sql)?;
                for row in batch {
                    bind(&mut update, row)?;
                }
            }
            tx.commit()?;
        }
        Ok(())
    }

    fn replace_alerts_tx(&mut self, records: &[AlertRecord]) -> Result<()> {
        let tx = self.write_tx()?;
        tx.execute("DELETE FROM alerts", [])?;
        for a in records {
            tx.execute(
                "INSERT INTO alerts (id, proto, port, start, end, record) VALUES (?,?,?,?,?,?)",
                params![
                    a.id,
                    a.proto
                        .parse::<Protocol>()
                        .map(Protocol::number)
                        .unwrap_or(0),
                    a.port,
                    a.start,
                    a.end,
                    serde_json::to_string(a).map_err(corrupt)?
                ],
            )?;
        }
        set_meta(&tx, "alerts_stale", "0")?;
        tx.commit()?;
        Ok(())
    }

    fn commit_capture_tx(
        &mut self,
        input: &InputRecord,
        extent: Option<&CaptureExtent>,
        agg: &Aggregate,
        derive: &dyn Derivation,
    ) -> Result<bool> {
        let tx = self.write_tx()?;
        let seen: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM inputs WHERE content_hash = ?)",
            [&input.content_hash],
            |r| r.get(0),
        )?;
        if seen {
            return Ok(false);
        }
        let stored: Option<String> = tx
            .query_row(
                "SELECT value FROM meta WHERE key = 'interval_secs'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        match stored.and_then(|s| s.parse::<u32>().ok()) {
            Some(s) if s != agg.interval_secs => {
                return Err(StoreError::IntervalMismatch {
                    stored: s,
                    configured: agg.interval_secs,
                });
            }
            Some(_) => {}
            None => set_meta(&tx, "interval_secs", &agg.interval_secs.to_string())?,
        }
        tx.execute(
            &format!("INSERT INTO inputs ({INPUT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)"),
            params![
                input.content_hash,
                input.name,
                input.format,
                input.ingested_at,
                input.frames as i64,
                input.ip_packets as i64,
                input.first_ns,
                input.last_ns,
                input.complete,
                input.error,
                input.counters.to_string()
            ],
        )?;
        ingest::write_aggregate(&tx, agg, derive)?;
        if let Some(e) = extent {
            tx.execute(
                &format!("INSERT INTO capture_extents ({EXTENT_COLUMNS}) VALUES (?,?,?,?,?,?,?)"),
                params![
                    input.content_hash,
                    e.first_frame_ns,
                    e.fingerprint,
                    e.fingerprint_frames,
                    e.skipped_frames as i64,
                    e.frames_through as i64,
                    e.continues,
                ],
            )?;
        }
        set_meta(&tx, "alerts_stale", "1")?;
        tx.commit()?;
        Ok(true)
    }
}

impl Store for SqliteStore {
    fn check_writable(&self) -> Result<()> {
        self.writable()
    }

    fn input(&self, content_hash: &str) -> Result<Option<InputRecord>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {INPUT_COLUMNS} FROM inputs WHERE content_hash = ?"),
                [content_hash],
                read_input,
            )
            .optional()?)
    }

    fn inputs(&self) -> Result<Vec<InputRecord>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {INPUT_COLUMNS} FROM inputs ORDER BY ingested_at, name"
        ))?;
        let rows = stmt.query_map([], read_input)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn commit_capture(
        &mut self,
        input: &InputRecord,
        agg: &Aggregate,
        derive: &dyn Derivation,
    ) -> Result<bool> {
        let result = self.commit_capture_tx(input, None, agg, derive);
        self.noting_corruption(result)
    }

    fn commit_capture_extent(
        &mut self,
        input: &InputRecord,
        extent: &CaptureExtent,
        agg: &Aggregate,
        derive: &dyn Derivation,
    ) -> Result<bool> {
        let result = self.commit_capture_tx(input, Some(extent), agg, derive);
        self.noting_corruption(result)
    }

    fn capture_extents_starting_at(&self, first_frame_ns: i64) -> Result<Vec<CaptureExtent>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {EXTENT_COLUMNS} FROM capture_extents WHERE first_frame_ns = ? ORDER BY frames_through DESC, content_hash"
        ))?;
        let rows = stmt.query_map([first_frame_ns], read_extent)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn capture_extent(&self, content_hash: &str) -> Result<Option<CaptureExtent>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {EXTENT_COLUMNS} FROM capture_extents WHERE content_hash = ?"),
                [content_hash],
                read_extent,
            )
            .optional()?)
    }

    fn inputs_overlapping(&self, first_ns: i64, last_ns: i64) -> Result<Vec<InputRecord>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {INPUT_COLUMNS} FROM inputs WHERE first_ns <= ? AND last_ns >= ? ORDER BY ingested_at, name"
        ))?;
        let rows = stmt.query_map(params![last_ns, first_ns], read_input)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn rederive(&mut self, derive: &dyn Derivation, since: Option<i64>) -> Result<Rederived> {
        self.check_writable()?;
        let mut report = Rederived::default();
        let since_ns = since.map(|s| s.saturating_mul(1_000_000_000));
        // Sources: the new label and attribution of each, then the rows that differ.
        let mut changed_sources = Vec::new();
        {
            let mut stmt = self.conn.prepare(
                "SELECT addr, counters, distinct_destinations, label, country, asn, as_name, team, data_version FROM sources
                 WHERE ?1 IS NULL OR last_ns >= ?1",
            )?;
            let mut rows = stmt.query([since_ns])?;
            while let Some(r) = rows.next()? {
                report.sources += 1;
                let key: String = r.get(0)?;
                let counters: SourceCounters =
                    serde_json::from_str(&r.get::<_, String>(1)?).map_err(corrupt)?;
                let distinct: i64 = r.get(2)?;
                let label: String = r.get(3)?;
                let stored = read_enrichment(r, 4)?;
                let new_label = derive.label(&counters, distinct.max(0) as u64);
                let new = derive.attribute(parse_addr(&key)?);
                if new_label.as_str() != label || new != stored {
                    changed_sources.push((key, new_label, new));
                }
            }
        }
        let mut changed_attacks = Vec::new();
        {
            let mut stmt = self.conn.prepare(
                "SELECT victim, start_ns, country, asn, as_name, team, data_version FROM attacks
                 WHERE ?1 IS NULL OR end_ns >= ?1",
            )?;
            let mut rows = stmt.query([since_ns])?;
            while let Some(r) = rows.next()? {
                report.attacks += 1;
                let victim: String = r.get(0)?;
                let start: i64 = r.get(1)?;
                let stored = read_enrichment(r, 2)?;
                let new = derive.attribute(parse_addr(&victim)?);
                if new != stored {
                    changed_attacks.push((victim, start, new));
                }
            }
        }
        // Events: the team each is routed to, by its source address, as the routing expert
        // gives it at ingest.
        let mut changed_events = Vec::new();
        {
            let mut stmt = self.conn.prepare(
                "SELECT id, source_ip, team, doc FROM events
                 WHERE source_ip IS NOT NULL AND (?1 IS NULL OR time >= ?1)",
            )?;
            let mut rows = stmt.query([since])?;
            while let Some(r) = rows.next()? {
                report.events += 1;
                let id: i64 = r.get(0)?;
                let Ok(addr) = r.get::<_, String>(1)?.parse::<IpAddr>() else {
                    continue;
                };
                let stored: Option<String> = r.get(2)?;
                let team = derive.attribute(addr).team;
                if team == stored {
                    continue;
                }
                let mut event =
                    Event::from_intelmq_json(&r.get::<_, String>(3)?).map_err(corrupt)?;
                match &team {
                    Some(t) => event
                        .set(firewatch_core::fields::EXTRA_TEAM, t.as_str())
                        .map_err(corrupt)?,
                    None => {
                        event.remove(firewatch_core::fields::EXTRA_TEAM);
                    }
                }
                changed_events.push((id, team, event.to_intelmq_json()));
            }
        }
        report.sources_changed = changed_sources.len() as u64;
        report.attacks_changed = changed_attacks.len() as u64;
        report.events_changed = changed_events.len() as u64;
        self.update_in_batches(
            &changed_events,
            "UPDATE events SET team = ?, doc = ? WHERE id = ?",
            |u, (id, team, doc)| u.execute(params![team, doc, id]),
        )?;
        self.update_in_batches(
            &changed_sources,
            "UPDATE sources SET label = ?, country = ?, asn = ?, as_name = ?, team = ?, data_version = ? WHERE addr = ?",
            |u, (key, label, a)| {
                u.execute(params![label.as_str(), a.country, a.asn, a.as_name, a.team, a.data_version, key])
            },
        )?;
        self.update_in_batches(
            &changed_attacks,
            "UPDATE attacks SET country = ?, asn = ?, as_name = ?, team = ?, data_version = ? WHERE victim = ? AND start_ns = ?",
            |u, (victim, start, a)| {
                u.execute(params![a.country, a.asn, a.as_name, a.team, a.data_version, victim, start])
            },
        )?;
        if !changed_sources.is_empty() {
            // The alerts' countries and teams come from their sources.
            let tx = self.write_tx()?;
            set_meta(&tx, "alerts_stale", "1")?;
            tx.commit()?;
        }
        Ok(report)
    }

    fn forget_input(&mut self, content_hash: &str) -> Result<Option<InputRecord>> {
        let tx = self.write_tx()?;
        let input = tx
            .query_row(
                &format!("SELECT {INPUT_COLUMNS} FROM inputs WHERE content_hash = ?"),
                [content_hash],
                read_input,
            )
            .optional()?;
        if input.is_some() {
            tx.execute(
                "DELETE FROM capture_extents WHERE content_hash = ?",
                [content_hash],
            )?;
            tx.execute("DELETE FROM inputs WHERE content_hash = ?", [content_hash])?;
        }
        tx.commit()?;
        Ok(input)
    }
    fn alert_candidates(
        &self,
        min_packets: u64,
        min_sources: u64,
    ) -> Result<Option<AlertCandidates>> {
        let Some((first, last, step)) = self.span()? else {
            return Ok(None);
        };
        let mut stmt = self.conn.prepare(
            "SELECT proto, port FROM port_intervals GROUP BY proto, port
             HAVING max(packets) >= ? OR max(unique_sources) >= ? ORDER BY proto, port",
        )?;
        let rows = stmt.query_map(params![min_packets as i64, min_sources as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(Some(AlertCandidates {
            first,
            last,
            step,
            ports: rows.collect::<rusqlite::Result<_>>()?,
        }))
    }

    fn dense_series(
        &self,
        proto: u8,
        port: u16,
        span: &AlertCandidates,
    ) -> Result<Vec<SeriesPoint>> {
        Ok(densify(
            &self.series_rows(proto, port)?,
            span.first,
            span.last,
            span.step,
        ))
    }

    fn episode_sources(
        &self,
        proto: u8,
        port: u16,
        episode: &Detection,
        span: &AlertCandidates,
    ) -> Result<Vec<(IpAddr, u64)>> {
        let mut sources =
            self.episode_sources_between(proto, port, episode, span.step, span.last)?;
        sources.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(sources)
    }

    fn episode_record(
        &self,
        proto: u8,
        port: u16,
        episode: &Detection,
        span: &AlertCandidates,
    ) -> Result<AlertRecord> {
        self.alert_record(proto, port, episode, span.step, span.last)
    }

    fn replace_alerts(&mut self, records: &[AlertRecord]) -> Result<()> {
        let result = self.replace_alerts_tx(records);
        self.noting_corruption(result)
    }

    fn alerts_stale(&self) -> Result<bool> {
        // A store that may not be written cannot store re-derived alerts: it shows the alerts
        // as they were last derived.
        if self.writable().is_err() {
            return Ok(false);
        }
        Ok(self.meta("alerts_stale")?.as_deref() == Some("1"))
    }

    fn top_ports(&self, range: &TimeRange, limit: usize) -> Result<Vec<PortTotal>> {
        let (since, until) = (range.since_or_min(), range.until_or_max());
        let mut stmt = self.conn.prepare(
            "SELECT proto, port, sum(packets), sum(bytes), max(unique_sources), count(*) FROM port_intervals
             WHERE interval_start BETWEEN ? AND ? GROUP BY proto, port ORDER BY sum(packets) DESC, proto, port LIMIT ?",
        )?;
        let rows = stmt.query_map(params![since, until, limit as i64], |r| {
            Ok((
                r.get::<_, u8>(0)?,
                r.get::<_, u16>(1)?,
                r.get::<_, i64>(2)? as u64,
                r.get::<_, i64>(3)? as u64,
                r.get::<_, i64>(4)? as u64,
                r.get::<_, i64>(5)? as u64,
            ))
        })?;
        let rows: Vec<_> = rows.collect::<rusqlite::Result<_>>()?;
        rows.into_iter()
            .map(|(proto, port, packets, bytes, peak, intervals)| {
                Ok(PortTotal {
                    proto: proto_name(proto),
                    port,
                    packets,
                    bytes,
                    unique_sources: self.sources_between(proto, port, since, until)?.len() as u64,
                    peak_interval_sources: peak,
                    intervals,
                })
            })
            .collect()
    }

    fn port_series(&self, proto: u8, port: u16, range: &TimeRange) -> Result<Vec<SeriesPoint>> {
        let Some((first, last, step)) = self.span()? else {
            return Ok(Vec::new());
        };
        let series = densify(&self.series_rows(proto, port)?, first, last, step);
        Ok(series
            .into_iter()
            .filter(|p| {
                p.interval_start >= range.since_or_min() && p.interval_start <= range.until_or_max()
            })
            .collect())
    }

    fn alert(&self, id: &str) -> Result<Option<AlertRecord>> {
        let record: Option<String> = self
            .conn
            .query_row("SELECT record FROM alerts WHERE id = ?", [id], |r| r.get(0))
            .optional()?;
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
        let mut sources = self.sources_between(proto.number(), alert.port, alert.start, last)?;
        sources.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut stmt = self
            .conn
            .prepare_cached("SELECT label, country, asn, team FROM sources WHERE addr = ?")?;
        let mut out = Vec::with_capacity(sources.len());
        for (addr, packets) in sources {
            let facts = stmt
                .query_row([addr.to_string()], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<u32>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                    ))
                })
                .optional()?;
            let (label, country, asn, routed) = match facts {
                Some((label, country, asn, routed)) => {
                    (Some(label.parse().map_err(corrupt)?), country, asn, routed)
                }
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
    }

    fn alerts(&self, q: &AlertQuery) -> Result<Vec<AlertRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT record FROM alerts WHERE (end IS NULL OR end >= ?1) AND start <= ?2
             AND (?3 IS NULL OR proto = ?3) AND (?4 IS NULL OR port = ?4) AND (?5 = 0 OR end IS NULL)
             ORDER BY start, proto, port LIMIT ?6",
        )?;
        // Team and country live inside the stored record: filter after reading, then limit.
        let filtered = q.team.is_some() || q.country.is_some();
        let sql_limit = if filtered {
            -1
        } else {
            q.limit.map(|l| l as i64).unwrap_or(-1)
        };
        let rows = stmt.query_map(
            params![
                q.range.since_or_min(),
                q.range.until_or_max(),
                q.proto,
                q.port,
                q.open_only,
                sql_limit
            ],
            |r| r.get::<_, String>(0),
        )?;
        let mut out = Vec::new();
        for r in rows {
            let a: AlertRecord = serde_json::from_str(&r?).map_err(corrupt)?;
            if q.admits(&a) {
                out.push(a);
            }
        }
        out.truncate(q.limit.unwrap_or(usize::MAX));
        Ok(out)
    }

    fn sources(&self, q: &SourceQuery) -> Result<Vec<SourceRecord>> {
        // A filter that is given is written as a plain equality, so that SQLite can walk its
        // index (`?3 IS NULL OR label = ?3` made it read every source in packet order, once
        // per label, when the findings of a capture were derived: 0.8 s at 200 k sources).
        let given = |given: bool, column: &str, n: u8| {
            if given {
                format!("{column} = ?{n}")
            } else {
                format!("?{n} IS NULL")
            }
        };
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {SOURCE_COLUMNS} FROM sources WHERE last_ns >= ?1 AND first_ns <= ?2 AND {}
             AND {} AND {} ORDER BY packets DESC, addr LIMIT ?4",
            given(q.label.is_some(), "label", 3),
            given(q.team.is_some(), "team", 5),
            given(q.country.is_some(), "country", 6),
        ))?;
        let mut rows = stmt.query(params![
            q.range.since_or_min().saturating_mul(NS),
            q.range.until_or_max().saturating_mul(NS),
            q.label.map(SourceLabel::as_str),
            q.limit.map(|l| l as i64).unwrap_or(-1),
            q.team,
            q.country
        ])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(read_source(r)?);
        }
        Ok(out)
    }

    fn source(&self, addr: IpAddr) -> Result<Option<SourceRecord>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {SOURCE_COLUMNS} FROM sources WHERE addr = ?"
        ))?;
        let mut rows = stmt.query([addr.to_string()])?;
        rows.next()?.map(read_source).transpose()
    }

    fn attacks(&self, q: &AttackQuery) -> Result<Vec<AttackRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT victim, start_ns, end_ns, packets, bytes, peak_per_minute, proto, ports,
             country, asn, as_name, team, data_version FROM attacks
             WHERE end_ns >= ?1 AND start_ns <= ?2 AND (?3 IS NULL OR victim = ?3)
             AND (?5 IS NULL OR team = ?5) AND (?6 IS NULL OR country = ?6)
             ORDER BY packets DESC, victim, start_ns LIMIT ?4",
        )?;
        let mut rows = stmt.query(params![
            q.range.since_or_min().saturating_mul(NS),
            q.range.until_or_max().saturating_mul(NS),
            q.victim.map(|v| v.to_string()),
            q.limit.map(|l| l as i64).unwrap_or(-1),
            q.team,
            q.country
        ])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(AttackRecord {
                victim: parse_addr(&r.get::<_, String>(0)?)?,
                start_ns: r.get(1)?,
                end_ns: r.get(2)?,
                packets: r.get::<_, i64>(3)? as u64,
                bytes: r.get::<_, i64>(4)? as u64,
                peak_per_minute: r.get::<_, i64>(5)? as u64,
                proto: proto_name(r.get(6)?),
                ports: ports_from_text(&r.get::<_, String>(7)?),
                attribution: read_enrichment(r, 8)?,
            });
        }
        Ok(out)
    }

    fn flowtuples(&self, range: &TimeRange, visit: &mut dyn FnMut(FlowtupleRecord)) -> Result<u64> {
        let mut stmt = self.conn.prepare(
            "SELECT interval_start, src, dst, sport, dport, proto, ttl, tcp_flags, ip_len, packets, spoofed, masscan
             FROM flowtuples WHERE interval_start BETWEEN ? AND ? ORDER BY interval_start, src, dst, sport, dport, proto",
        )?;
        let mut rows = stmt.query(params![range.since_or_min(), range.until_or_max()])?;
        let mut n = 0;
        while let Some(r) = rows.next()? {
            visit(FlowtupleRecord {
                interval_start: r.get(0)?,
                src: parse_addr(&r.get::<_, String>(1)?)?,
                dst: parse_addr(&r.get::<_, String>(2)?)?,
                sport: r.get(3)?,
                dport: r.get(4)?,
                proto: r.get(5)?,
                ttl: r.get(6)?,
                tcp_flags: r.get(7)?,
                ip_len: r.get(8)?,
                packets: r.get::<_, i64>(9)? as u64,
                spoofed: r.get(10)?,
                masscan: r.get(11)?,
            });
            n += 1;
        }
        Ok(n)
    }

    fn interval_secs(&self) -> Result<Option<u32>> {
        Ok(self.meta("interval_secs")?.and_then(|s| s.parse().ok()))
    }

    fn team_directory(&self) -> Result<Option<StoredDirectory>> {
        Ok(self
            .conn
            .query_row(
                "SELECT toml, origin, allow_nested_prefixes, imported_at FROM team_directory WHERE id = 1",
                [],
                |r| {
                    Ok(StoredDirectory {
                        toml: r.get(0)?,
                        origin: r.get(1)?,
                        allow_nested_prefixes: r.get(2)?,
                        imported_at: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    fn replace_team_directory(&mut self, d: &StoredDirectory) -> Result<()> {
        self.writable()?;
        self.conn.execute(
            "INSERT OR REPLACE INTO team_directory (id, toml, origin, allow_nested_prefixes, imported_at)
             VALUES (1, ?, ?, ?, ?)",
            params![d.toml, d.origin, d.allow_nested_prefixes, d.imported_at],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn densify_fills_zeros_and_keeps_values() {
        let d = densify(&[(60, 5, 2), (180, 7, 3)], 0, 240, 60);
        let got: Vec<_> = d
            .iter()
            .map(|p| (p.interval_start, p.packets, p.unique_sources))
            .collect();
        assert_eq!(
            got,
            vec![(0, 0, 0), (60, 5, 2), (120, 0, 0), (180, 7, 3), (240, 0, 0)]
        );
    }

    /// Events stored before visibility had columns get them from their documents.
    #[test]
    fn the_visibility_migration_fills_owner_and_recipients_from_documents() {
        use crate::{EventQuery, EventStore, EventVisibility};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let before = MIGRATIONS
            .iter()
            .position(|m| m.contains("CREATE TABLE event_recipients"))
            .expect("the migration");
        {
            let mut conn = Connection::open(&path).unwrap();
            let tx = conn.transaction().unwrap();
            for sql in &MIGRATIONS[..before] {
                tx.execute_batch(sql).unwrap();
            }
            tx.pragma_update(None, "user_version", before as i64)
                .unwrap();
            for (tlp, doc) in [
                (
                    "AMBER",
                    r#"{"tlp":"AMBER","extra.owner":"a","comment":"amber-a"}"#,
                ),
                (
                    "RED",
                    r#"{"tlp":"RED","extra.recipients":["b",7],"comment":"red-b"}"#,
                ),
                (
                    "AMBER",
                    r#"{"tlp":"AMBER","extra.owner":7,"comment":"amber-7"}"#,
                ),
            ] {
                tx.execute(
                    "INSERT INTO events (time, tlp, doc) VALUES (1, ?1, ?2)",
                    [tlp, doc],
                )
                .unwrap();
            }
            tx.commit().unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let seen = |team: &str| -> Vec<String> {
            let q = EventQuery {
                visibility: Some(EventVisibility::Team(team.into())),
                ..Default::default()
            };
            store
                .event_docs(&q)
                .unwrap()
                .into_iter()
                .map(|d| {
                    let doc: serde_json::Value = serde_json::from_str(&d.doc).unwrap();
                    doc["comment"].as_str().unwrap().to_owned()
                })
                .collect()
        };
        assert_eq!(seen("a"), ["amber-a"]);
        assert_eq!(seen("b"), ["red-b"]);
        assert!(seen("7").is_empty(), "numbers are not team names");
    }

    #[test]
    fn migrations_apply_once_and_refuse_newer_schemas() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/store.db");
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
        drop(s);
        let s = SqliteStore::open(&path).unwrap();
        s.conn.pragma_update(None, "user_version", 99).unwrap();
        drop(s);
        assert!(matches!(
            SqliteStore::open(&path),
            Err(StoreError::TooNew { found: 99, .. })
        ));
    }
}
