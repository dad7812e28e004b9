//! PostgreSQL implementation of the events area (issue 17): [`EventStore`] for [`PgStore`],
//! with the SQLite backend's answers (src/events.rs) for the same calls.
//!
//! Tables (schema/002_events.sql) keep SQLite's columns, partitioned by month of event time.
//! A commit takes the schema's events lock (a transaction advisory lock), so that writers run
//! one at a time as SQLite's do: the windowed dedupe rule is decided in memory against the
//! stored events of the batch's keys and time span (a window is no unique constraint that
//! `ON CONFLICT` could hold), ids are the store's `max + 1` in batch order (SQLite's rowids,
//! hence the same paging cursors), and the kept rows go in by binary COPY (a month's first
//! events into a bare table of their own, attached as the month's partition). Everything one
//! call writes, partitions, an input's record and a batch's progress included, is one
//! transaction.

mod filter;

use std::collections::{BTreeSet, HashMap, HashSet};

use firewatch_core::{Event, Value, fields};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use postgres::{Client, GenericClient, Transaction};
use serde_json::Value as Json;

use self::filter::{
    Sql, check_field, cmp_keys, event_time, exact_column, invalid, ip_key_text, member,
    unrestricted_clause, visibility_branches, where_clause,
};
use super::PgStore;
use crate::events::text_of;
use crate::{
    DedupeRule, EventCommit, EventGroup, EventQuery, EventStore, FeedInput, InputProgress, Result,
    StoreError, StoredDoc,
};

// ---------------------------------------------------------------------------------------------
// Reads through `&self`

/// Runs `f` with one of the store's reader connections ([`PgStore::read`]).
fn read<T>(store: &PgStore, f: impl FnOnce(&mut Client) -> Result<T>) -> Result<T> {
    store.read(f)
}

// ---------------------------------------------------------------------------------------------
// Writes

/// Takes the events lock of this schema for the rest of the transaction: event writers run
/// one at a time (as SQLite's do), so the dedupe decision and the ids hold.
fn lock_events(tx: &mut Transaction<'_>) -> Result<()> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('firewatch-events:' || current_schema()))",
        &[],
    )?;
    Ok(())
}

/// First and last months with a partition of their own (2000-01 to 2099-12); other times go
/// to the two open-ended partitions of the schema.
const MONTHS_FROM: i64 = 946_684_800;
const MONTHS_UNTIL: i64 = 4_102_444_800;

/// The monthly partition holding `time`: (name, first second, first second of the next).
fn month_of(time: i64) -> Option<(String, i64, i64)> {
    if !(MONTHS_FROM..MONTHS_UNTIL).contains(&time) {
        return None;
    }
    let utc = jiff::tz::TimeZone::UTC;
    let day = jiff::Timestamp::from_second(time)
        .ok()?
        .to_zoned(utc.clone());
    let (y, m) = (day.year(), day.month());
    let start = jiff::civil::Date::new(y, m, 1).ok()?;
    let next = start.checked_add(jiff::Span::new().months(1)).ok()?;
    let secs = |d: jiff::civil::Date| {
        d.to_zoned(utc.clone())
            .ok()
            .map(|z| z.timestamp().as_second())
    };
    Some((format!("events_p{y:04}{m:02}"), secs(start)?, secs(next)?))
}

/// The months of `times` whose partition does not exist yet, with their bounds.
fn new_months(
    tx: &mut Transaction<'_>,
    times: impl Iterator<Item = i64>,
) -> Result<HashMap<String, (i64, i64)>> {
    let months: HashMap<String, (i64, i64)> = times
        .filter_map(month_of)
        .map(|(name, from, until)| (name, (from, until)))
        .collect();
    if months.is_empty() {
        return Ok(months);
    }
    let names: Vec<&str> = months.keys().map(String::as_str).collect();
    let missing: HashSet<String> = tx
        .query(
            "SELECT n FROM unnest($1::text[]) AS n
             WHERE to_regclass(format('%I.%I', current_schema(), n)) IS NULL",
            &[&names],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    Ok(months
        .into_iter()
        .filter(|(name, _)| missing.contains(name))
        .collect())
}

fn text_extra<'a>(event: &'a Event, field: &str) -> Option<&'a str> {
    match event.get(field) {
        Some(Value::Json(Json::String(s))) => Some(s),
        _ => None,
    }
}

const EVENT_COLUMNS: &str = "id, time, feed, classification_type, source_ip, source_ip_key, \
     source_asn, source_cc, tlp, team, owner, dedupe_key, input_hash, doc";

const EVENT_TYPES: [Type; 14] = [
    Type::INT8,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::BYTEA,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::BYTEA,
    Type::TEXT,
    Type::TEXT,
];

/// Stores `events` of `input` in `tx` (which holds the events lock), skipping those that
/// duplicate a stored one (or an earlier one of `events`) under the rule's key and window.
fn insert_events(
    tx: &mut Transaction<'_>,
    input: &FeedInput,
    events: &[Event],
    dedupe: &DedupeRule,
    window: i64,
) -> Result<EventCommit> {
    let mut commit = EventCommit::default();
    let times: Vec<i64> = events
        .iter()
        .map(|e| event_time(e, input.ingested_at))
        .collect();
    let keys: Vec<[u8; 16]> = events.iter().map(|e| dedupe.key(e)).collect();
    let (Some(lo), Some(hi)) = (times.iter().min(), times.iter().max()) else {
        return Ok(commit);
    };
    // The stored events that could make one of the batch a duplicate: its keys, its span.
    let mut near: HashMap<[u8; 16], BTreeSet<i64>> = HashMap::new();
    {
        let distinct: Vec<&[u8]> = keys
            .iter()
            .collect::<HashSet<_>>()
            .into_iter()
            .map(|k| &k[..])
            .collect();
        let rows = tx.query(
            "SELECT dedupe_key, time FROM events
             WHERE dedupe_key = ANY($1) AND time BETWEEN $2 AND $3",
            &[
                &distinct,
                &lo.saturating_sub(window),
                &hi.saturating_add(window),
            ],
        )?;
        for r in rows {
            let key: Vec<u8> = r.get(0);
            if let Ok(key) = <[u8; 16]>::try_from(key) {
                near.entry(key).or_default().insert(r.get(1));
            }
        }
    }
    // In batch order, as the SQLite backend decides: an event kept counts for later ones.
    let mut kept = Vec::new();
    for (i, (&key, &time)) in keys.iter().zip(&times).enumerate() {
        let stored = near.entry(key).or_default();
        let (lo, hi) = (time.saturating_sub(window), time.saturating_add(window));
        if stored.range(lo..=hi).next().is_some() {
            commit.duplicates += 1;
        } else {
            stored.insert(time);
            kept.push(i);
        }
    }
    commit.inserted = kept.len() as u64;
    if kept.is_empty() {
        return Ok(commit);
    }
    let base: i64 = tx
        .query_one("SELECT COALESCE(MAX(id), 0) FROM events", &[])?
        .get(0);
    // A month seen for the first time gets its partition in this transaction: a bare table
    // loaded by COPY, then attached, which builds its indexes in one sorted pass (about half
    // the time of a load through them) and, unlike CREATE TABLE ... PARTITION OF, does not
    // lock readers of the events table out until the commit. The table's CHECK spares the
    // attach a scan. Rows of months that have a partition go in through the parent table.
    let months = new_months(tx, kept.iter().map(|&i| times[i]))?;
    let mut tables: Vec<(Option<&str>, Vec<usize>)> = Vec::new();
    {
        let mut by_table: HashMap<Option<&str>, usize> = HashMap::new();
        for (n, &i) in kept.iter().enumerate() {
            let month = month_of(times[i]).map(|(name, ..)| name);
            let table = month
                .as_deref()
                .and_then(|m| months.get_key_value(m))
                .map(|(name, _)| name.as_str());
            let at = *by_table.entry(table).or_insert_with(|| {
                tables.push((table, Vec::new()));
                tables.len() - 1
            });
            tables[at].1.push(n);
        }
    }
    for (name, (from, until)) in &months {
        tx.batch_execute(&format!(
            "CREATE TABLE {name} (LIKE events INCLUDING DEFAULTS);
             ALTER TABLE {name} ADD CONSTRAINT {name}_month
                 CHECK (time >= {from} AND time < {until})"
        ))?;
    }
    let (mut teams, mut ids): (Vec<String>, Vec<i64>) = (Vec::new(), Vec::new());
    let half = kept.len() / 2;
    for (table, rows) in &tables {
        let sink = tx.copy_in(&format!(
            "COPY {} ({EVENT_COLUMNS}) FROM STDIN (FORMAT binary)",
            table.unwrap_or("events")
        ))?;
        let mut writer = BinaryCopyInWriter::new(sink, &EVENT_TYPES);
        for &n in rows {
            if n == half {
                crate::crash_point("events-mid-commit");
            }
            let i = kept[n];
            let event = &events[i];
            let id = base + 1 + n as i64;
            let source_ip = text_of(event, "source.ip");
            writer.write(&[
                &id,
                &times[i],
                &text_of(event, "feed.name"),
                &text_of(event, "classification.type"),
                &source_ip,
                &source_ip.and_then(ip_key_text),
                &event.get("source.asn").and_then(Value::as_i64),
                &text_of(event, "source.geolocation.cc"),
                &text_of(event, "tlp"),
                &text_extra(event, "extra.team"),
                &text_extra(event, "extra.owner"),
                &&keys[i][..],
                &input.content_hash,
                &event.to_intelmq_json(),
            ])?;
            if let Some(Value::Json(Json::Array(list))) = event.get("extra.recipients") {
                let mut once = HashSet::new();
                for team in list.iter().filter_map(Json::as_str) {
                    if once.insert(team) {
                        teams.push(team.to_owned());
                        ids.push(id);
                    }
                }
            }
        }
        writer.finish()?;
    }
    for (name, (from, until)) in &months {
        tx.batch_execute(&format!(
            "ALTER TABLE events ATTACH PARTITION {name} FOR VALUES FROM ({from}) TO ({until})"
        ))?;
    }
    if !teams.is_empty() {
        tx.execute(
            "INSERT INTO event_recipients (team, event_id)
             SELECT * FROM unnest($1::text[], $2::int8[]) ON CONFLICT DO NOTHING",
            &[&teams, &ids],
        )?;
    }
    Ok(commit)
}

const FEED_INPUT_COLUMNS: &str = "content_hash, name, format, feed, ingested_at, records, events, inserted, duplicates, rejected";

fn row_to_feed_input(r: &postgres::Row) -> FeedInput {
    FeedInput {
        content_hash: r.get(0),
        name: r.get(1),
        format: r.get(2),
        feed: r.get(3),
        ingested_at: r.get(4),
        records: r.get::<_, i64>(5) as u64,
        events: r.get::<_, i64>(6) as u64,
        inserted: r.get::<_, i64>(7) as u64,
        duplicates: r.get::<_, i64>(8) as u64,
        rejected: r.get::<_, i64>(9) as u64,
    }
}

fn recorded(c: &mut impl GenericClient, content_hash: &str) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM feed_inputs WHERE content_hash = $1",
        &[&content_hash],
    )?
    .is_some())
}

/// Commits `events` of `input` in one transaction: the whole input (`batch` None) or one of
/// its batches (`Some(last)`), as the SQLite backend's `commit_events_tx` does.
fn commit(
    store: &mut PgStore,
    input: &FeedInput,
    events: &[Event],
    dedupe: &DedupeRule,
    batch: Option<bool>,
) -> Result<EventCommit> {
    for f in &dedupe.fields {
        check_field(f)?;
    }
    let window = i64::try_from(dedupe.window_secs).unwrap_or(i64::MAX);
    let mut tx = store.write_tx()?;
    lock_events(&mut tx)?;
    if recorded(&mut tx, &input.content_hash)? {
        return Ok(EventCommit {
            already_committed: true,
            ..Default::default()
        });
    }
    let commit = insert_events(&mut tx, input, events, dedupe, window)?;
    let (inserted, duplicates) = match batch {
        None => (commit.inserted, commit.duplicates),
        Some(last) => {
            let before: Option<i64> = tx
                .query_opt(
                    "SELECT inserted FROM feed_input_progress WHERE content_hash = $1",
                    &[&input.content_hash],
                )?
                .map(|r| r.get(0));
            let total = before.unwrap_or(0) as u64 + commit.inserted;
            if !last {
                tx.execute(
                    "INSERT INTO feed_input_progress (content_hash, ingested_at, batches, inserted)
                     VALUES ($1, $2, 1, $3)
                     ON CONFLICT (content_hash) DO UPDATE
                     SET batches = feed_input_progress.batches + 1, inserted = excluded.inserted",
                    &[&input.content_hash, &input.ingested_at, &(total as i64)],
                )?;
                tx.commit()?;
                return Ok(commit);
            }
            tx.execute(
                "DELETE FROM feed_input_progress WHERE content_hash = $1",
                &[&input.content_hash],
            )?;
            (total, input.events.saturating_sub(total))
        }
    };
    tx.execute(
        &format!(
            "INSERT INTO feed_inputs ({FEED_INPUT_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ),
        &[
            &input.content_hash,
            &input.name,
            &input.format,
            &input.feed,
            &input.ingested_at,
            &(input.records as i64),
            &(input.events as i64),
            &(inserted as i64),
            &(duplicates as i64),
            &(input.rejected as i64),
        ],
    )?;
    tx.commit()?;
    Ok(commit)
}

// ---------------------------------------------------------------------------------------------
// Reads

fn event_docs(c: &mut Client, q: &EventQuery) -> Result<Vec<StoredDoc>> {
    let mut sql = Sql::default();
    unrestricted_clause(&mut sql, q)?;
    let (cmp, dir) = if q.newest_first {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some(after) = q.after_id {
        let time: i64 = c
            .query_opt("SELECT time FROM events WHERE id = $1 LIMIT 1", &[&after])?
            .map(|r| r.get(0))
            .ok_or_else(|| invalid(format!("no event with id {after} to page after")))?;
        let (t, i) = (sql.param(time, "int8"), sql.param(after, "int8"));
        sql.push(&format!(" AND (time, id) {cmp} ({t}, {i})"));
    }
    // As SQLite reads its LIMIT: a negative one (a usize beyond i64) is none.
    let limit = match q.limit.map(|l| l as i64) {
        Some(l) if l >= 0 => l.to_string(),
        _ => "ALL".to_owned(),
    };
    let order = format!("ORDER BY time {dir}, id {dir} LIMIT {limit}");
    let clause = std::mem::take(&mut sql.text);
    sql.text = match &q.visibility {
        None => format!("SELECT id, time, doc FROM events WHERE {clause} {order}"),
        // Each way of being allowed to read walks its own index for at most one page; the
        // page is the first `limit` of their union (UNION: an event met twice counts once).
        Some(v) => {
            let branches: Vec<String> = visibility_branches(&mut sql, v)
                .into_iter()
                .enumerate()
                .map(|(i, b)| {
                    format!(
                        "SELECT * FROM (SELECT id, time FROM events WHERE {clause} AND {b} {order}) AS b{i}"
                    )
                })
                .collect();
            format!(
                "SELECT e.id, e.time, e.doc FROM ({} {order}) AS v \
                 JOIN events AS e ON e.id = v.id AND e.time = v.time \
                 ORDER BY v.time {dir}, v.id {dir}",
                branches.join(" UNION ")
            )
        }
    };
    Ok(c.query(&sql.text, &sql.refs())?
        .iter()
        .map(|r| StoredDoc {
            id: r.get(0),
            time: r.get(1),
            doc: r.get(2),
        })
        .collect())
}

fn count_events(c: &mut Client, q: &EventQuery) -> Result<u64> {
    let mut sql = Sql::default();
    where_clause(&mut sql, q)?;
    let text = format!("SELECT COUNT(*) FROM events WHERE {}", sql.text);
    let n: i64 = c.query_one(&text, &sql.refs())?.get(0);
    Ok(n as u64)
}

/// How a grouping field is read back: a text or integer column, or a member's JSON text.
#[derive(Clone, Copy)]
enum GroupColumn {
    Text,
    Integer,
    JsonText,
}

fn event_stats(
    c: &mut Client,
    by: &[String],
    q: &EventQuery,
    limit: usize,
) -> Result<Vec<EventGroup>> {
    if by.is_empty() {
        return Err(invalid("group by at least one field"));
    }
    for f in by {
        check_field(f)?;
    }
    let mut sql = Sql::default();
    where_clause(&mut sql, q)?;
    let mut select = Vec::new();
    let mut kinds = Vec::new();
    for f in by {
        match exact_column(f) {
            Some("source_asn") => {
                select.push("source_asn".to_owned());
                kinds.push(GroupColumn::Integer);
            }
            Some(col) => {
                select.push(col.to_owned());
                kinds.push(GroupColumn::Text);
            }
            // Grouped by the JSON text, as SQLite's `doc -> path` groups (1 and 1.0 apart).
            None => {
                select.push(format!("{}::text", member(f)));
                kinds.push(GroupColumn::JsonText);
            }
        }
    }
    let groups = (1..=by.len())
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let text = format!(
        "SELECT {}, COUNT(*) FROM events WHERE {} GROUP BY {groups}",
        select.join(", "),
        sql.text
    );
    let mut out = Vec::new();
    for r in c.query(&text, &sql.refs())? {
        let mut key = Vec::with_capacity(by.len());
        for (i, kind) in kinds.iter().enumerate() {
            key.push(match kind {
                GroupColumn::Text => r
                    .get::<_, Option<String>>(i)
                    .map_or(Json::Null, Json::String),
                GroupColumn::Integer => r.get::<_, Option<i64>>(i).map_or(Json::Null, Json::from),
                GroupColumn::JsonText => match r.get::<_, Option<String>>(i) {
                    None => Json::Null,
                    Some(s) => serde_json::from_str(&s)
                        .map_err(|e| StoreError::Corrupt(format!("event document member: {e}")))?,
                },
            });
        }
        let count: i64 = r.get(by.len());
        out.push(EventGroup {
            key,
            count: count as u64,
        });
    }
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| cmp_keys(&a.key, &b.key)));
    out.truncate(limit);
    Ok(out)
}

impl EventStore for PgStore {
    fn feed_input(&self, content_hash: &str) -> Result<Option<FeedInput>> {
        read(self, |c| {
            Ok(c.query_opt(
                &format!("SELECT {FEED_INPUT_COLUMNS} FROM feed_inputs WHERE content_hash = $1"),
                &[&content_hash],
            )?
            .as_ref()
            .map(row_to_feed_input))
        })
    }

    fn feed_inputs(&self) -> Result<Vec<FeedInput>> {
        read(self, |c| {
            Ok(c.query(
                &format!("SELECT {FEED_INPUT_COLUMNS} FROM feed_inputs ORDER BY ingested_at, seq"),
                &[],
            )?
            .iter()
            .map(row_to_feed_input)
            .collect())
        })
    }

    fn commit_events(
        &mut self,
        input: &FeedInput,
        events: &[Event],
        dedupe: &DedupeRule,
    ) -> Result<EventCommit> {
        commit(self, input, events, dedupe, None)
    }

    fn feed_input_progress(&self, content_hash: &str) -> Result<Option<InputProgress>> {
        read(self, |c| {
            Ok(c.query_opt(
                "SELECT ingested_at, batches, inserted FROM feed_input_progress
                     WHERE content_hash = $1",
                &[&content_hash],
            )?
            .map(|r| InputProgress {
                ingested_at: r.get(0),
                batches: r.get::<_, i64>(1) as u64,
                inserted: r.get::<_, i64>(2) as u64,
            }))
        })
    }

    fn commit_event_batch(
        &mut self,
        input: &FeedInput,
        events: &[Event],
        dedupe: &DedupeRule,
        last: bool,
    ) -> Result<EventCommit> {
        commit(self, input, events, dedupe, Some(last))
    }

    fn abandon_feed_input(&mut self, content_hash: &str) -> Result<u64> {
        let mut tx = self.write_tx()?;
        lock_events(&mut tx)?;
        if recorded(&mut tx, content_hash)? {
            return Ok(0);
        }
        tx.execute(
            "DELETE FROM event_recipients
             WHERE event_id IN (SELECT id FROM events WHERE input_hash = $1)",
            &[&content_hash],
        )?;
        let removed = tx.execute("DELETE FROM events WHERE input_hash = $1", &[&content_hash])?;
        tx.execute(
            "DELETE FROM feed_input_progress WHERE content_hash = $1",
            &[&content_hash],
        )?;
        tx.commit()?;
        Ok(removed)
    }

    fn retag_feed(
        &mut self,
        feed: &str,
        tlp: &str,
        owner: Option<&str>,
        dedupe: &DedupeRule,
    ) -> Result<u64> {
        for f in &dedupe.fields {
            check_field(f)?;
        }
        let mut tx = self.write_tx()?;
        lock_events(&mut tx)?;
        let (mut ids, mut times, mut keys, mut docs) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for r in tx.query(
            "SELECT id, time, doc FROM events WHERE feed = $1
             AND (tlp IS DISTINCT FROM $2 OR owner IS DISTINCT FROM $3)",
            &[&feed, &tlp, &owner],
        )? {
            let id: i64 = r.get(0);
            let mut event = Event::from_intelmq_json(r.get::<_, &str>(2))
                .map_err(|e| StoreError::Corrupt(format!("event {id}: {e}")))?;
            let bad =
                |e: &dyn std::fmt::Display| StoreError::InvalidQuery(format!("event {id}: {e}"));
            event.set(fields::TLP, tlp).map_err(|e| bad(&e))?;
            match owner {
                Some(o) => event.set(fields::EXTRA_OWNER, o).map_err(|e| bad(&e))?,
                None => {
                    event.remove(fields::EXTRA_OWNER);
                }
            }
            ids.push(id);
            times.push(r.get::<_, i64>(1));
            keys.push(dedupe.key(&event).to_vec());
            docs.push(event.to_intelmq_json());
        }
        if !ids.is_empty() {
            tx.execute(
                "UPDATE events AS e SET tlp = $1, owner = $2, dedupe_key = u.k, doc = u.d
                 FROM unnest($3::int8[], $4::int8[], $5::bytea[], $6::text[]) AS u (i, t, k, d)
                 WHERE e.id = u.i AND e.time = u.t",
                &[&tlp, &owner, &ids, &times, &keys, &docs],
            )?;
        }
        tx.commit()?;
        Ok(ids.len() as u64)
    }

    fn event_docs(&self, q: &EventQuery) -> Result<Vec<StoredDoc>> {
        read(self, |c| event_docs(c, q))
    }

    fn count_events(&self, q: &EventQuery) -> Result<u64> {
        read(self, |c| count_events(c, q))
    }

    fn event_stats(&self, by: &[String], q: &EventQuery, limit: usize) -> Result<Vec<EventGroup>> {
        read(self, |c| event_stats(c, by, q, limit))
    }
}
