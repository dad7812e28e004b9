//! Feed events: IntelMQ events kept as JSON documents with a few indexed columns, deduplicated
//! on commit, queried with the `--where` filter language compiled to SQL.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use firewatch_core::filter::{self, CmpOp, Expr, Filter};
use firewatch_core::harmonization::{self, FieldType};
use firewatch_core::{Event, Value, fields};
use rusqlite::functions::FunctionFlags;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::{Result, SqliteStore, StoreError, TimeRange};

/// One committed feed input (a file or a download), with what became of its records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedInput {
    /// BLAKE3 of the input's bytes (hex); an input is committed at most once.
    pub content_hash: String,
    /// File name or URL.
    pub name: String,
    /// Parser format (`shadowserver`, `intelmq-jsonl`, …).
    pub format: String,
    /// Feed name, if known.
    pub feed: Option<String>,
    /// Unix seconds; also the time of events without `time.source` and `time.observation`.
    pub ingested_at: i64,
    /// Records read from the input.
    pub records: u64,
    /// Events the parser produced (the caller's count; normally the events handed to commit).
    pub events: u64,
    /// Events stored (set by [`EventStore::commit_events`]).
    pub inserted: u64,
    /// Events dropped as duplicates (set by [`EventStore::commit_events`]).
    pub duplicates: u64,
    /// Records the parser rejected.
    pub rejected: u64,
}

/// Which events count as the same: equal values (or both absent) in `fields`, and times at
/// most `window_secs` apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DedupeRule {
    pub fields: Vec<String>,
    pub window_secs: u64,
}

impl Default for DedupeRule {
    /// Feed, classification, both endpoints and transport; one day.
    fn default() -> Self {
        DedupeRule {
            fields: [
                "feed.name",
                "classification.type",
                "classification.identifier",
                "source.ip",
                "source.port",
                "destination.ip",
                "destination.port",
                "protocol.transport",
            ]
            .map(String::from)
            .to_vec(),
            window_secs: 86_400,
        }
    }
}

/// The fields that say whose an event is. Two events are never one across them, whatever a
/// rule's `fields` say: otherwise one provider's event (a partner's TAXII add, say) could make
/// another's a duplicate, which the first may not even read, and the second's team would never
/// get it.
pub const PROVENANCE_FIELDS: [&str; 2] = [fields::FEED_NAME, fields::EXTRA_OWNER];

impl DedupeRule {
    /// The dedupe key of `event`: BLAKE3 over each field's name and JSON value (or "absent"),
    /// length-prefixed, truncated to 128 bits. The [`PROVENANCE_FIELDS`] the rule does not
    /// name are hashed too when the event has them (so keys of events without them are as
    /// before).
    pub fn key(&self, event: &Event) -> [u8; 16] {
        let mut h = blake3::Hasher::new();
        let hash_field = |h: &mut blake3::Hasher, field: &str, value: Option<&Value>| {
            h.update(&(field.len() as u64).to_le_bytes());
            h.update(field.as_bytes());
            match value {
                None => {
                    h.update(&[0]);
                }
                Some(v) => {
                    let json = serde_json::to_vec(v).expect("event values serialise to JSON");
                    h.update(&[1]);
                    h.update(&(json.len() as u64).to_le_bytes());
                    h.update(&json);
                }
            }
        };
        for field in &self.fields {
            hash_field(&mut h, field, event.get(field));
        }
        for field in PROVENANCE_FIELDS {
            if !self.fields.iter().any(|f| f == field)
                && let Some(value) = event.get(field)
            {
                hash_field(&mut h, field, Some(value));
            }
        }
        let mut key = [0; 16];
        key.copy_from_slice(&h.finalize().as_bytes()[..16]);
        key
    }
}

/// What [`EventStore::commit_events`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EventCommit {
    /// The content hash was committed before; nothing changed.
    pub already_committed: bool,
    pub inserted: u64,
    pub duplicates: u64,
}

/// How far an input committed in batches ([`EventStore::commit_event_batch`]) got while its
/// last batch is not committed: kept in the batches' own transactions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct InputProgress {
    /// The ingest time of the first batch, kept for the rest (it is the time of events that
    /// carry none, so a restarted run gives them the same).
    pub ingested_at: i64,
    /// Batches committed.
    pub batches: u64,
    /// Events of the input stored so far.
    pub inserted: u64,
}

/// Which events to read. Results are ordered by (time, id), oldest first unless
/// `newest_first`; `after_id` continues after that event in the same order (keyset paging).
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub filter: Option<Filter>,
    /// Event time (unix seconds), both ends inclusive.
    pub range: TimeRange,
    pub limit: Option<usize>,
    pub after_id: Option<i64>,
    pub newest_first: bool,
    /// Only events this viewer may read under TLP 2.0; `None` reads everything (the CLI,
    /// which runs with the store owner's rights).
    pub visibility: Option<EventVisibility>,
}

pub use firewatch_core::access::EventVisibility;

/// An event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub id: i64,
    /// Unix seconds: `time.source`, else `time.observation`, else the ingest time.
    pub time: i64,
    pub event: Event,
}

/// An event as stored, in the IntelMQ JSON it was validated into when it was committed: for
/// callers that pass events on as JSON (the web API) and need not build them again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDoc {
    pub id: i64,
    /// Unix seconds, as in [`StoredEvent::time`].
    pub time: i64,
    /// One IntelMQ JSON object, keys sorted.
    pub doc: String,
}

/// One group of [`EventStore::event_stats`]: the values of the grouping fields (JSON `null`
/// when absent) and the number of events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventGroup {
    pub key: Vec<Json>,
    pub count: u64,
}

/// A store of feed events. Implemented by [`SqliteStore`]; a PostgreSQL backend follows the
/// same contract.
///
/// ```
/// use firewatch_core::{Event, filter::Filter};
/// use firewatch_store::{DedupeRule, EventQuery, EventStore, FeedInput, SqliteStore};
///
/// let mut store = SqliteStore::open_in_memory().unwrap();
/// let mut event = Event::new();
/// event.set("classification.type", "scanner").unwrap();
/// event.set("source.ip", "192.0.2.1").unwrap();
/// event.set("source.geolocation.cc", "JP").unwrap();
/// event.set("time.source", "2024-05-01T12:00:00+00:00").unwrap();
/// let input = FeedInput { content_hash: "abc".into(), ..Default::default() };
/// let batch = [event.clone(), event];
/// let commit = store.commit_events(&input, &batch, &DedupeRule::default()).unwrap();
/// assert_eq!((commit.inserted, commit.duplicates), (1, 1));
/// assert!(store.commit_events(&input, &batch, &DedupeRule::default()).unwrap().already_committed);
///
/// let q = EventQuery {
///     filter: Some(Filter::parse("classification.type = scanner and source.ip = 192.0.2.0/24").unwrap()),
///     ..Default::default()
/// };
/// let found = store.events(&q).unwrap();
/// assert_eq!(found.len(), 1);
/// assert_eq!(found[0].time, 1_714_564_800);
/// ```
pub trait EventStore {
    /// The feed input committed under this content hash, if any.
    fn feed_input(&self, content_hash: &str) -> Result<Option<FeedInput>>;
    /// Every feed input committed, oldest first.
    fn feed_inputs(&self) -> Result<Vec<FeedInput>>;
    /// Stores `events` and the input record in one transaction, skipping events that duplicate
    /// a stored one (or an earlier one of the batch) under `dedupe`. Changes nothing and says
    /// `already_committed` if the content hash was committed before.
    fn commit_events(
        &mut self,
        input: &FeedInput,
        events: &[Event],
        dedupe: &DedupeRule,
    ) -> Result<EventCommit>;
    /// How far the input with this content hash got if some of its batches are committed and
    /// its last is not (a run stopped mid-way); `None` otherwise.
    fn feed_input_progress(&self, content_hash: &str) -> Result<Option<InputProgress>>;
    /// Commits one batch of an input's events in its own transaction, deduplicated as
    /// [`EventStore::commit_events`] does (against everything stored, earlier batches
    /// included), and notes the input's progress ([`EventStore::feed_input_progress`]). The
    /// `last` batch records the input, with `input.events` (every event handed over in all its
    /// batches) of which `inserted` are the input's events stored by all its batches, in any
    /// run, and the rest duplicates. A run stopped before its last batch leaves its batches
    /// and no record: the input is not done, and running it again from its first event stores
    /// what is missing (the events of committed batches are duplicates of themselves) and
    /// records it with the counts of an uninterrupted run. Changes nothing and says
    /// `already_committed` if the input was recorded before.
    fn commit_event_batch(
        &mut self,
        input: &FeedInput,
        events: &[Event],
        dedupe: &DedupeRule,
        last: bool,
    ) -> Result<EventCommit>;
    /// Removes what the committed batches of an input that is not recorded stored (an input
    /// that failed mid-way, so that it leaves nothing, as before batches). Returns the events
    /// removed; an input already recorded is left alone (0).
    fn abandon_feed_input(&mut self, content_hash: &str) -> Result<u64>;
    /// Brings every stored event of feed `feed` to TLP `tlp` (an event's `tlp` value, e.g.
    /// `AMBER+STRICT`) and owner `owner` (`extra.owner`; `None` removes it), with dedupe keys
    /// under `dedupe`, in one transaction: the telescope's findings after its one TLP setting
    /// changed. Returns how many events changed; a second run changes nothing.
    fn retag_feed(
        &mut self,
        feed: &str,
        tlp: &str,
        owner: Option<&str>,
        dedupe: &DedupeRule,
    ) -> Result<u64>;
    /// Events matching the query.
    fn events(&self, q: &EventQuery) -> Result<Vec<StoredEvent>> {
        self.event_docs(q)?
            .into_iter()
            .map(|d| {
                let event = Event::from_intelmq_json(&d.doc)
                    .map_err(|e| StoreError::Corrupt(format!("event {}: {e}", d.id)))?;
                Ok(StoredEvent {
                    id: d.id,
                    time: d.time,
                    event,
                })
            })
            .collect()
    }
    /// The same events as [`EventStore::events`], as their stored JSON.
    fn event_docs(&self, q: &EventQuery) -> Result<Vec<StoredDoc>>;
    /// The number of events matching the query's filter and range (ignoring limit and paging).
    fn count_events(&self, q: &EventQuery) -> Result<u64>;
    /// Events matching the query's filter and range grouped by the values of `by`, largest
    /// group first (ties by key), at most `limit` groups.
    fn event_stats(&self, by: &[String], q: &EventQuery, limit: usize) -> Result<Vec<EventGroup>>;
}

// ---------------------------------------------------------------------------------------------
// Helpers

pub(crate) fn invalid(msg: impl Into<String>) -> StoreError {
    StoreError::InvalidQuery(msg.into())
}

pub(crate) fn check_field(name: &str) -> Result<()> {
    if filter::is_known_field(name) {
        Ok(())
    } else {
        Err(invalid(filter::unknown_field_message(name)))
    }
}

/// Sortable fixed-width form of an address: family byte, then the address bytes.
pub(crate) fn ip_key(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => {
            let mut k = vec![4];
            k.extend_from_slice(&a.octets());
            k
        }
        IpAddr::V6(a) => {
            let mut k = vec![6];
            k.extend_from_slice(&a.octets());
            k
        }
    }
}

pub(crate) fn ip_key_text(s: &str) -> Option<Vec<u8>> {
    s.parse().ok().map(ip_key)
}

fn register_functions(conn: &Connection) -> Result<()> {
    conn.create_scalar_function(
        "fw_ip_key",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let key = match ctx.get_raw(0) {
                rusqlite::types::ValueRef::Text(t) => {
                    std::str::from_utf8(t).ok().and_then(ip_key_text)
                }
                _ => None,
            };
            Ok(key)
        },
    )?;
    Ok(())
}

pub(crate) fn event_time(event: &Event, fallback: i64) -> i64 {
    ["time.source", "time.observation"]
        .iter()
        .find_map(|f| {
            event
                .get(f)
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<jiff::Timestamp>().ok())
                .map(|t| t.as_second())
        })
        .unwrap_or(fallback)
}

pub(crate) fn text_of<'a>(event: &'a Event, field: &str) -> Option<&'a str> {
    event.get(field).and_then(Value::as_str)
}

fn json_path(field: &str) -> String {
    format!("$.\"{field}\"")
}

/// The column holding exactly the value of `field` (same type, NULL when absent), if any.
pub(crate) fn exact_column(field: &str) -> Option<&'static str> {
    Some(match field {
        "feed.name" => "feed",
        "classification.type" => "classification_type",
        "source.ip" => "source_ip",
        "source.asn" => "source_asn",
        "source.geolocation.cc" => "source_cc",
        "tlp" => "tlp",
        _ => return None,
    })
}

/// How values of a field look in Rust.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Integer,
    Float,
    Boolean,
    Json,
}

pub(crate) fn kind_of(field: &str) -> Kind {
    match harmonization::event_field(field).map(|s| s.ty) {
        None | Some(FieldType::JsonDict) => Kind::Json,
        Some(FieldType::Integer | FieldType::Asn) => Kind::Integer,
        Some(FieldType::Float | FieldType::Accuracy) => Kind::Float,
        Some(FieldType::Boolean) => Kind::Boolean,
        Some(_) => Kind::Text,
    }
}

// ---------------------------------------------------------------------------------------------
// Filter → SQL

#[derive(Default, Clone)]
struct Sql {
    text: String,
    params: Vec<SqlValue>,
}

impl Sql {
    fn new(text: &str) -> Sql {
        Sql {
            text: text.to_owned(),
            params: Vec::new(),
        }
    }
    /// Appends another fragment with its parameters.
    fn append(&mut self, other: Sql) -> &mut Self {
        self.text.push_str(&other.text);
        self.params.extend(other.params);
        self
    }
    fn bind(&mut self, v: impl Into<SqlValue>) -> &mut Self {
        self.text.push('?');
        self.params.push(v.into());
        self
    }
    fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }
    /// `json_extract(doc, ?)` for `field`.
    fn extract(&mut self, field: &str) -> &mut Self {
        self.push("json_extract(doc, ")
            .bind(json_path(field))
            .push(")")
    }
    fn json_type(&mut self, field: &str) -> &mut Self {
        self.push("json_type(doc, ")
            .bind(json_path(field))
            .push(")")
    }
}

fn scalar(v: &Value) -> Option<SqlValue> {
    Some(match v {
        Value::Text(s) => SqlValue::Text(s.clone()),
        Value::Integer(i) => SqlValue::Integer(*i),
        Value::Float(x) => SqlValue::Real(*x),
        Value::Boolean(b) => SqlValue::Integer(i64::from(*b)),
        Value::Json(Json::String(s)) => SqlValue::Text(s.clone()),
        Value::Json(Json::Bool(b)) => SqlValue::Integer(i64::from(*b)),
        Value::Json(Json::Number(n)) => match n.as_i64() {
            Some(i) => SqlValue::Integer(i),
            None => SqlValue::Real(n.as_f64()?),
        },
        Value::Json(_) => return None,
    })
}

/// SQL true when `field` holds a value of the same type as `c` and `op` holds; NULL or false
/// otherwise (never true when the field is absent).
fn compile_compare(out: &mut Sql, field: &str, op: &str, c: &Value) {
    let Some(bound) = scalar(c) else {
        out.push("0");
        return;
    };
    let kind = kind_of(field);
    if kind == Kind::Json {
        // Typed comparison on a JSON member: only values of the same JSON type compare.
        let types = match c {
            Value::Json(Json::String(_)) => "('text')",
            Value::Json(Json::Number(_)) => "('integer', 'real')",
            Value::Json(Json::Bool(_)) => "('true', 'false')",
            _ => {
                out.push("0");
                return;
            }
        };
        if field == "extra.team" && matches!(c, Value::Json(Json::String(_))) {
            // The team column holds extra.team exactly when it is a string.
            out.push("(team ").push(op).push(" ").bind(bound).push(")");
            return;
        }
        out.push("(");
        out.json_type(field).push(" IN ").push(types).push(" AND ");
        out.extract(field)
            .push(" ")
            .push(op)
            .push(" ")
            .bind(bound)
            .push(")");
        return;
    }
    let same_kind = matches!(
        (kind, c),
        (Kind::Text, Value::Text(_))
            | (Kind::Integer, Value::Integer(_))
            | (Kind::Float, Value::Float(_))
            | (Kind::Boolean, Value::Boolean(_))
    );
    if !same_kind {
        out.push("0");
        return;
    }
    if field == "source.ip"
        && op == "="
        && let Value::Text(s) = c
        && let Some(key) = ip_key_text(s)
    {
        out.push("(source_ip_key = ").bind(key).push(")");
        return;
    }
    out.push("(");
    match exact_column(field) {
        Some(col) => out.push(col),
        None => out.extract(field),
    };
    out.push(" ").push(op).push(" ").bind(bound).push(")");
}

fn compile_exists(out: &mut Sql, field: &str) {
    match exact_column(field) {
        Some(col) => out.push("(").push(col).push(" IS NOT NULL)"),
        None => out.push("(").json_type(field).push(" IS NOT NULL)"),
    };
}

/// Compiles `expr` (negated when `neg`) in negation normal form: NOTs only around leaves, each
/// wrapped so that NULL counts as false, so that a NULL leaf is false everywhere.
fn compile(out: &mut Sql, expr: &Expr, neg: bool) {
    match expr {
        Expr::And(list) | Expr::Or(list) => {
            let is_and = matches!(expr, Expr::And(_)) != neg;
            if list.is_empty() {
                out.push(if is_and { "1" } else { "0" });
                return;
            }
            let op = if is_and { " AND " } else { " OR " };
            out.push("(");
            balanced(out, list, op, &mut |out, e| compile(out, e, neg));
            out.push(")");
        }
        Expr::Not(e) => compile(out, e, !neg),
        leaf => {
            if neg {
                out.push("NOT COALESCE(");
                compile_leaf(out, leaf);
                out.push(", 0)");
            } else {
                compile_leaf(out, leaf);
            }
        }
    }
}

/// Joins `items` with `op` as a balanced tree of parenthesised halves, so the SQL expression's
/// depth grows with the logarithm of their number: SQLite refuses expressions deeper than
/// 1,000, and a flat `a OR b OR …` is as deep as it is long. Writes nothing for no items.
fn balanced<T>(out: &mut Sql, items: &[T], op: &str, each: &mut dyn FnMut(&mut Sql, &T)) {
    match items {
        [] => {}
        [one] => each(out, one),
        _ => {
            let (left, right) = items.split_at(items.len() / 2);
            out.push("(");
            balanced(out, left, op, each);
            out.push(op);
            balanced(out, right, op, each);
            out.push(")");
        }
    }
}

fn compile_leaf(out: &mut Sql, leaf: &Expr) {
    match leaf {
        Expr::Exists { field } => compile_exists(out, field),
        Expr::Compare { field, op, value } => match op {
            CmpOp::Ne => {
                out.push("(");
                compile_exists(out, field);
                out.push(" AND NOT COALESCE(");
                compile_compare(out, field, "=", value);
                out.push(", 0))");
            }
            op => compile_compare(out, field, op.as_str(), value),
        },
        Expr::In { field, values } => {
            out.push("(");
            if values.is_empty() {
                out.push("0");
            }
            balanced(out, values, " OR ", &mut |out, v| {
                compile_compare(out, field, "=", v)
            });
            out.push(")");
        }
        Expr::Contains { field, needle } => match kind_of(field) {
            Kind::Text => {
                out.push("(instr(lower(");
                match exact_column(field) {
                    Some(col) => out.push(col),
                    None => out.extract(field),
                };
                out.push("), ").bind(needle.clone()).push(") > 0)");
            }
            Kind::Integer => {
                out.push("(instr(CAST(");
                match exact_column(field) {
                    Some(col) => out.push(col),
                    None => out.extract(field),
                };
                out.push(" AS TEXT), ").bind(needle.clone()).push(") > 0)");
            }
            Kind::Json => {
                out.push("(");
                out.json_type(field).push(" = 'text' AND instr(lower(");
                out.extract(field)
                    .push("), ")
                    .bind(needle.clone())
                    .push(") > 0)");
            }
            Kind::Float | Kind::Boolean => {
                out.push("0");
            }
        },
        Expr::InNetwork { field, network } => {
            let lo = ip_key(network.network());
            let hi = ip_key(network.broadcast());
            if field == "source.ip" {
                out.push("(source_ip_key BETWEEN ");
            } else {
                out.push("(fw_ip_key(");
                out.extract(field).push(") BETWEEN ");
            }
            out.bind(lo).push(" AND ").bind(hi).push(")");
        }
        Expr::And(_) | Expr::Or(_) | Expr::Not(_) => unreachable!("handled by compile"),
    }
}

fn uses_ip_function(expr: &Expr) -> bool {
    match expr {
        Expr::And(l) | Expr::Or(l) => l.iter().any(uses_ip_function),
        Expr::Not(e) => uses_ip_function(e),
        Expr::InNetwork { field, .. } => field != "source.ip",
        _ => false,
    }
}

pub(crate) fn validate_expr(expr: &Expr) -> Result<()> {
    match expr {
        Expr::And(l) | Expr::Or(l) => l.iter().try_for_each(validate_expr),
        Expr::Not(e) => validate_expr(e),
        Expr::Exists { field }
        | Expr::Compare { field, .. }
        | Expr::Contains { field, .. }
        | Expr::In { field, .. }
        | Expr::InNetwork { field, .. } => check_field(field),
    }
}

/// The WHERE clause (without paging) for a query.
fn where_clause(conn: &Connection, q: &EventQuery) -> Result<Sql> {
    let mut sql = unrestricted_clause(conn, q)?;
    if let Some(v) = &q.visibility {
        sql.push(" AND ");
        compile_visibility(&mut sql, v);
    }
    Ok(sql)
}

/// The WHERE clause of a query's range and filter, without its visibility or paging.
fn unrestricted_clause(conn: &Connection, q: &EventQuery) -> Result<Sql> {
    let mut sql = Sql::default();
    // Open ends add no condition, so that the planner is free to pick a filter's index.
    sql.push("1");
    if let Some(since) = q.range.since {
        sql.push(" AND time >= ").bind(since);
    }
    if let Some(until) = q.range.until {
        sql.push(" AND time <= ").bind(until);
    }
    if let Some(f) = &q.filter {
        validate_expr(f.expr())?;
        if uses_ip_function(f.expr()) {
            register_functions(conn)?;
        }
        sql.push(" AND ");
        compile(&mut sql, f.expr(), false);
    }
    Ok(sql)
}

/// The TLP 2.0 rule for `v` (see [`EventVisibility`]) as conditions on columns, one per way of
/// being allowed to read an event: an event is readable when one of them holds (an AMBER event
/// owned by and routed to the viewer's team meets two). Each is an equality prefix of an index
/// that yields its events in time order (`events_by_tlp_*`, the recipients table), so a page is
/// the merge of short index walks however much or little the viewer may read.
fn visibility_branches(v: &EventVisibility) -> Vec<Sql> {
    let team = match v {
        EventVisibility::Anonymous => return vec![Sql::new("tlp = 'CLEAR'")],
        EventVisibility::Team(t) => t.as_str(),
    };
    let mut owner = Sql::new("tlp = 'AMBER' AND owner = ");
    owner.bind(team.to_owned());
    let mut routed = Sql::new("tlp = 'AMBER' AND team = ");
    routed.bind(team.to_owned());
    let mut strict = Sql::new("tlp = 'AMBER+STRICT' AND owner = ");
    strict.bind(team.to_owned());
    let mut named = Sql::new(
        "(tlp IS NULL OR tlp = 'RED') AND id IN (SELECT event_id FROM event_recipients WHERE team = ",
    );
    named.bind(team.to_owned()).push(")");
    vec![
        Sql::new("tlp = 'CLEAR'"),
        Sql::new("tlp = 'GREEN'"),
        owner,
        routed,
        strict,
        named,
    ]
}

/// The whole TLP predicate for `v`: the disjunction of its branches; never NULL.
fn compile_visibility(sql: &mut Sql, v: &EventVisibility) {
    sql.push("(");
    for (i, branch) in visibility_branches(v).into_iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        sql.push("(").append(branch).push(")");
    }
    sql.push(")");
}

/// The SQL a filter compiles to, with its parameters.
#[cfg(test)]
fn filter_sql(filter: &Filter) -> (String, Vec<SqlValue>) {
    let mut sql = Sql::default();
    compile(&mut sql, filter.expr(), false);
    (sql.text, sql.params)
}

// ---------------------------------------------------------------------------------------------
// Stats keys

pub(crate) fn json_rank(v: &Json) -> u8 {
    match v {
        Json::Null => 0,
        Json::Bool(_) => 1,
        Json::Number(_) => 2,
        Json::String(_) => 3,
        Json::Array(_) => 4,
        Json::Object(_) => 5,
    }
}

pub(crate) fn cmp_json(a: &Json, b: &Json) -> Ordering {
    match (a, b) {
        (Json::Bool(x), Json::Bool(y)) => x.cmp(y),
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i.cmp(&j),
            _ => x
                .as_f64()
                .unwrap_or(0.0)
                .total_cmp(&y.as_f64().unwrap_or(0.0)),
        },
        (Json::String(x), Json::String(y)) => x.cmp(y),
        _ => json_rank(a)
            .cmp(&json_rank(b))
            .then_with(|| a.to_string().cmp(&b.to_string())),
    }
}

pub(crate) fn cmp_keys(a: &[Json], b: &[Json]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| cmp_json(x, y))
        .find(|o| o.is_ne())
        .unwrap_or_else(|| a.len().cmp(&b.len()))
}

fn sql_to_json(v: SqlValue, from_json_text: bool) -> Result<Json> {
    Ok(match v {
        SqlValue::Null => Json::Null,
        SqlValue::Integer(i) => Json::from(i),
        SqlValue::Real(x) => Json::from(x),
        SqlValue::Text(s) if from_json_text => serde_json::from_str(&s)
            .map_err(|e| StoreError::Corrupt(format!("event document member: {e}")))?,
        SqlValue::Text(s) => Json::String(s),
        SqlValue::Blob(_) => return Err(StoreError::Corrupt("blob in event column".into())),
    })
}

// ---------------------------------------------------------------------------------------------
// The SQLite implementation

fn row_to_feed_input(r: &rusqlite::Row<'_>) -> rusqlite::Result<FeedInput> {
    Ok(FeedInput {
        content_hash: r.get(0)?,
        name: r.get(1)?,
        format: r.get(2)?,
        feed: r.get(3)?,
        ingested_at: r.get(4)?,
        records: r.get::<_, i64>(5)? as u64,
        events: r.get::<_, i64>(6)? as u64,
        inserted: r.get::<_, i64>(7)? as u64,
        duplicates: r.get::<_, i64>(8)? as u64,
        rejected: r.get::<_, i64>(9)? as u64,
    })
}

const FEED_INPUT_COLUMNS: &str = "content_hash, name, format, feed, ingested_at, records, events, inserted, duplicates, rejected";

#[cfg(test)]
thread_local! {
    /// Tests force the per-event index lookups to check both dedupe paths.
    static FORCE_INDEX_LOOKUP: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether to deduplicate in memory, given the stored events near the batch's time span.
fn dedupe_in_memory(stored_near: usize, batch: usize) -> bool {
    #[cfg(test)]
    if FORCE_INDEX_LOOKUP.get() {
        return false;
    }
    stored_near <= batch.max(4096) * 4
}

/// Batches at least this large may drop and rebuild the events indexes (see commit).
const BULK_MIN_EVENTS: usize = if cfg!(test) { 8 } else { 50_000 };

/// Pages of SQLite cache (negative: KiB) while committing a large batch.
const COMMIT_CACHE_KIB: i64 = -262_144;

/// Pages of SQLite cache (negative: KiB) while committing one batch of an input committed in
/// batches: enough for the dedupe index of a few million events, and bounded.
const BATCH_CACHE_KIB: i64 = -65_536;

impl SqliteStore {
    /// Commits `events` of `input` in one transaction: the whole input (`batch` None) or one
    /// of its batches (`Some(last)`). Returns the commit and the input's events stored in all.
    fn commit_events_tx(
        &mut self,
        input: &FeedInput,
        events: &[Event],
        dedupe: &DedupeRule,
        window: i64,
        batch: Option<bool>,
    ) -> Result<(EventCommit, u64)> {
        let tx = self.write_tx()?;
        let done: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM feed_inputs WHERE content_hash = ?",
                [&input.content_hash],
                |r| r.get(0),
            )
            .optional()?;
        if done.is_some() {
            return Ok((
                EventCommit {
                    already_committed: true,
                    ..Default::default()
                },
                0,
            ));
        }
        let commit = insert_events(&tx, input, events, dedupe, window)?;
        let (inserted, duplicates) = match batch {
            None => (commit.inserted, commit.duplicates),
            Some(last) => {
                let before: Option<i64> = tx
                    .query_row(
                        "SELECT inserted FROM feed_input_progress WHERE content_hash = ?",
                        [&input.content_hash],
                        |r| r.get(0),
                    )
                    .optional()?;
                let total = before.unwrap_or(0) as u64 + commit.inserted;
                if !last {
                    tx.execute(
                        "INSERT INTO feed_input_progress (content_hash, ingested_at, batches, inserted)
                         VALUES (?1, ?2, 1, ?3)
                         ON CONFLICT (content_hash) DO UPDATE
                         SET batches = batches + 1, inserted = excluded.inserted",
                        params![input.content_hash, input.ingested_at, total as i64],
                    )?;
                    tx.commit()?;
                    return Ok((commit, total));
                }
                tx.execute(
                    "DELETE FROM feed_input_progress WHERE content_hash = ?",
                    [&input.content_hash],
                )?;
                (total, input.events.saturating_sub(total))
            }
        };
        tx.execute(
            &format!(
                "INSERT INTO feed_inputs ({FEED_INPUT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            params![
                input.content_hash,
                input.name,
                input.format,
                input.feed,
                input.ingested_at,
                input.records as i64,
                input.events as i64,
                inserted as i64,
                duplicates as i64,
                input.rejected as i64,
            ],
        )?;
        tx.commit()?;
        Ok((commit, inserted))
    }

    /// Runs one commit of events with the page cache and statistics it wants.
    fn commit_with(
        &mut self,
        input: &FeedInput,
        events: &[Event],
        dedupe: &DedupeRule,
        batch: Option<bool>,
    ) -> Result<EventCommit> {
        for f in &dedupe.fields {
            check_field(f)?;
        }
        let window = i64::try_from(dedupe.window_secs).unwrap_or(i64::MAX);
        // Large batches touch every index page; a bigger page cache for the commit keeps the
        // random-keyed dedupe index in memory. Restored afterwards. An input committed in
        // batches gets a bounded one, so that memory does not grow with the input.
        let cache: i64 = self
            .conn
            .pragma_query_value(None, "cache_size", |r| r.get(0))?;
        if batch.is_some() {
            self.conn
                .pragma_update(None, "cache_size", BATCH_CACHE_KIB)?;
        } else if events.len() > 10_000 {
            self.conn
                .pragma_update(None, "cache_size", COMMIT_CACHE_KIB)?;
        }
        let result = self.commit_events_tx(input, events, dedupe, window, batch);
        let result = self.noting_corruption(result);
        let stored = match (&result, batch) {
            (Ok((c, _)), None) => c.inserted,
            (Ok((_, total)), Some(true)) => *total,
            _ => 0,
        };
        let analyzed = if stored as usize >= BULK_MIN_EVENTS {
            // Refresh the planner's statistics (sampled, so quick) after a large load, so that
            // it prefers a selective index (source_ip_key) over a common value (source_cc).
            // Still under the commit's cache (bounded for batches).
            self.conn.execute_batch(
                "PRAGMA analysis_limit = 100000; ANALYZE events; PRAGMA analysis_limit = 0;",
            )
        } else {
            Ok(())
        };
        self.conn.pragma_update(None, "cache_size", cache)?;
        analyzed?;
        result.map(|(c, _)| c)
    }
}

/// Stores `events` of `input` in `tx`, skipping those that duplicate a stored one (or an
/// earlier one of `events`).
fn insert_events(
    tx: &rusqlite::Transaction<'_>,
    input: &FeedInput,
    events: &[Event],
    dedupe: &DedupeRule,
    window: i64,
) -> Result<EventCommit> {
    let mut commit = EventCommit::default();
    {
        let mut seen = tx.prepare_cached(
            "SELECT 1 FROM events WHERE dedupe_key = ?1 AND time BETWEEN ?2 AND ?3 LIMIT 1",
        )?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO events (time, feed, classification_type, source_ip, source_ip_key,
                    source_asn, source_cc, tlp, team, owner, dedupe_key, input_hash, doc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?;
        let mut recipient = tx.prepare_cached(
            "INSERT OR IGNORE INTO event_recipients (team, event_id) VALUES (?1, ?2)",
        )?;
        let times: Vec<i64> = events
            .iter()
            .map(|e| event_time(e, input.ingested_at))
            .collect();
        // When the stored events near the batch's time span are few, load their keys and
        // deduplicate in memory; otherwise ask the (dedupe_key, time) index per event.
        let mut near: Option<HashMap<[u8; 16], BTreeSet<i64>>> = None;
        if let (Some(lo), Some(hi)) = (times.iter().min(), times.iter().max()) {
            let (lo, hi) = (lo.saturating_sub(window), hi.saturating_add(window));
            // Counted up to just past the in-memory threshold: an input committed in
            // batches asks once per batch, and a full count would grow with the store.
            let cap = events.len().max(4096).saturating_mul(4).saturating_add(1);
            let stored: i64 = tx.query_row(
                "SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE time BETWEEN ?1 AND ?2 LIMIT ?3)",
                params![lo, hi, cap as i64],
                |r| r.get(0),
            )?;
            if dedupe_in_memory(stored as usize, events.len()) {
                let mut map: HashMap<[u8; 16], BTreeSet<i64>> = HashMap::new();
                let mut stmt = tx.prepare_cached(
                    "SELECT dedupe_key, time FROM events WHERE time BETWEEN ?1 AND ?2",
                )?;
                let mut rows = stmt.query(params![lo, hi])?;
                while let Some(r) = rows.next()? {
                    let key: Option<Vec<u8>> = r.get(0)?;
                    if let Some(key) = key.and_then(|k| <[u8; 16]>::try_from(k).ok()) {
                        map.entry(key).or_default().insert(r.get(1)?);
                    }
                }
                near = Some(map);
            }
        }
        // A bulk load into a table no larger than the batch: build the indexes once at the
        // end (sorting) rather than row by row. Same transaction, so a crash loses nothing.
        let mut rebuild: Vec<(String, String)> = Vec::new();
        if near.is_some() && events.len() >= BULK_MIN_EVENTS {
            let stored: i64 =
                tx.query_row("SELECT COALESCE(MAX(id), 0) FROM events", [], |r| r.get(0))?;
            if (stored as usize).saturating_mul(2) <= events.len() {
                let mut stmt = tx.prepare(
                    "SELECT name, sql FROM sqlite_schema
                         WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL",
                )?;
                rebuild = stmt
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                for (name, _) in &rebuild {
                    tx.execute_batch(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")))?;
                }
            }
        }
        let half = events.len() / 2;
        for (i, (event, &time)) in events.iter().zip(&times).enumerate() {
            if i == half {
                crate::crash_point("events-mid-commit");
            }
            let key = dedupe.key(event);
            let dup = match &mut near {
                Some(map) => {
                    let stored = map.entry(key).or_default();
                    let (lo, hi) = (time.saturating_sub(window), time.saturating_add(window));
                    let dup = stored.range(lo..=hi).next().is_some();
                    if !dup {
                        stored.insert(time);
                    }
                    dup
                }
                None => seen.exists(params![
                    &key[..],
                    time.saturating_sub(window),
                    time.saturating_add(window)
                ])?,
            };
            if dup {
                commit.duplicates += 1;
                continue;
            }
            let source_ip = text_of(event, "source.ip");
            let text_extra = |field| match event.get(field) {
                Some(Value::Json(Json::String(s))) => Some(s.as_str()),
                _ => None,
            };
            insert.execute(params![
                time,
                text_of(event, "feed.name"),
                text_of(event, "classification.type"),
                source_ip,
                source_ip.and_then(ip_key_text),
                event.get("source.asn").and_then(Value::as_i64),
                text_of(event, "source.geolocation.cc"),
                text_of(event, "tlp"),
                text_extra("extra.team"),
                text_extra("extra.owner"),
                &key[..],
                &input.content_hash,
                event.to_intelmq_json(),
            ])?;
            if let Some(Value::Json(Json::Array(teams))) = event.get("extra.recipients") {
                let id = tx.last_insert_rowid();
                for team in teams.iter().filter_map(Json::as_str) {
                    recipient.execute(params![team, id])?;
                }
            }
            commit.inserted += 1;
        }
        for (_, sql) in &rebuild {
            tx.execute_batch(sql)?;
        }
    }
    Ok(commit)
}

impl EventStore for SqliteStore {
    fn feed_input(&self, content_hash: &str) -> Result<Option<FeedInput>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {FEED_INPUT_COLUMNS} FROM feed_inputs WHERE content_hash = ?"),
                [content_hash],
                row_to_feed_input,
            )
            .optional()?)
    }

    fn feed_inputs(&self) -> Result<Vec<FeedInput>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {FEED_INPUT_COLUMNS} FROM feed_inputs ORDER BY ingested_at, rowid"
        ))?;
        let rows = stmt.query_map([], row_to_feed_input)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn commit_events(
        &mut self,
        input: &FeedInput,
        events: &[Event],
        dedupe: &DedupeRule,
    ) -> Result<EventCommit> {
        self.commit_with(input, events, dedupe, None)
    }

    fn feed_input_progress(&self, content_hash: &str) -> Result<Option<InputProgress>> {
        Ok(self
            .conn
            .query_row(
                "SELECT ingested_at, batches, inserted FROM feed_input_progress
                 WHERE content_hash = ?",
                [content_hash],
                |r| {
                    Ok(InputProgress {
                        ingested_at: r.get(0)?,
                        batches: r.get::<_, i64>(1)? as u64,
                        inserted: r.get::<_, i64>(2)? as u64,
                    })
                },
            )
            .optional()?)
    }

    fn commit_event_batch(
        &mut self,
        input: &FeedInput,
        events: &[Event],
        dedupe: &DedupeRule,
        last: bool,
    ) -> Result<EventCommit> {
        self.commit_with(input, events, dedupe, Some(last))
    }

    fn abandon_feed_input(&mut self, content_hash: &str) -> Result<u64> {
        let result = (|| {
            let tx = self.write_tx()?;
            let done: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM feed_inputs WHERE content_hash = ?",
                    [content_hash],
                    |r| r.get(0),
                )
                .optional()?;
            if done.is_some() {
                return Ok(0);
            }
            tx.execute(
                "DELETE FROM event_recipients
                 WHERE event_id IN (SELECT id FROM events WHERE input_hash = ?)",
                [content_hash],
            )?;
            let removed = tx.execute("DELETE FROM events WHERE input_hash = ?", [content_hash])?;
            tx.execute(
                "DELETE FROM feed_input_progress WHERE content_hash = ?",
                [content_hash],
            )?;
            tx.commit()?;
            Ok(removed as u64)
        })();
        self.noting_corruption(result)
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
        let tx = self.write_tx()?;
        let mut changed = Vec::new();
        {
            let mut stmt = tx.prepare(
                "SELECT id, doc FROM events WHERE feed = ?1
                 AND (tlp IS NOT ?2 OR owner IS NOT ?3)",
            )?;
            let mut rows = stmt.query(params![feed, tlp, owner])?;
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                let mut event = Event::from_intelmq_json(&r.get::<_, String>(1)?)
                    .map_err(|e| StoreError::Corrupt(format!("event {id}: {e}")))?;
                let invalid = |e: &dyn std::fmt::Display| {
                    StoreError::InvalidQuery(format!("event {id}: {e}"))
                };
                event.set(fields::TLP, tlp).map_err(|e| invalid(&e))?;
                match owner {
                    Some(o) => event.set(fields::EXTRA_OWNER, o).map_err(|e| invalid(&e))?,
                    None => {
                        event.remove(fields::EXTRA_OWNER);
                    }
                }
                changed.push((id, dedupe.key(&event), event.to_intelmq_json()));
            }
        }
        {
            let mut update = tx.prepare(
                "UPDATE events SET tlp = ?1, owner = ?2, dedupe_key = ?3, doc = ?4 WHERE id = ?5",
            )?;
            for (id, key, doc) in &changed {
                update.execute(params![tlp, owner, &key[..], doc, id])?;
            }
        }
        tx.commit()?;
        Ok(changed.len() as u64)
    }

    fn event_docs(&self, q: &EventQuery) -> Result<Vec<StoredDoc>> {
        let mut sql = unrestricted_clause(&self.conn, q)?;
        let (cmp, dir) = if q.newest_first {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        if let Some(after) = q.after_id {
            let time: i64 = self
                .conn
                .query_row("SELECT time FROM events WHERE id = ?", [after], |r| {
                    r.get(0)
                })
                .optional()?
                .ok_or_else(|| invalid(format!("no event with id {after} to page after")))?;
            sql.push(" AND (time, id) ")
                .push(cmp)
                .push(" (")
                .bind(time)
                .push(", ")
                .bind(after)
                .push(")");
        }
        let limit = q.limit.map(|l| l as i64).unwrap_or(-1);
        let order = format!("ORDER BY time {dir}, id {dir} LIMIT {limit}");
        let sql = match &q.visibility {
            None => {
                let mut all = Sql::new("SELECT id, time, doc FROM events WHERE ");
                all.append(sql).push(" ").push(&order);
                all
            }
            // Each way of being allowed to read walks its own index for at most one page; the
            // page is the first `limit` of their union (UNION: an event met twice counts once).
            Some(v) => {
                let mut union = Sql::new("SELECT e.id, e.time, e.doc FROM (");
                for (i, branch) in visibility_branches(v).into_iter().enumerate() {
                    if i > 0 {
                        union.push(" UNION ");
                    }
                    union
                        .push("SELECT * FROM (SELECT id, time FROM events WHERE ")
                        .append(sql.clone())
                        .push(" AND ")
                        .append(branch)
                        .push(" ")
                        .push(&order)
                        .push(")");
                }
                union
                    .push(" ")
                    .push(&order)
                    .push(") AS v JOIN events AS e ON e.id = v.id ")
                    .push(&format!("ORDER BY v.time {dir}, v.id {dir}"));
                union
            }
        };
        let mut stmt = self.conn.prepare_cached(&sql.text)?;
        let mut rows = stmt.query(params_from_iter(sql.params.iter()))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(StoredDoc {
                id: r.get(0)?,
                time: r.get(1)?,
                doc: r.get(2)?,
            });
        }
        Ok(out)
    }

    fn count_events(&self, q: &EventQuery) -> Result<u64> {
        let sql = where_clause(&self.conn, q)?;
        let n: i64 = self.conn.query_row(
            &format!("SELECT COUNT(*) FROM events WHERE {}", sql.text),
            params_from_iter(sql.params.iter()),
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    fn event_stats(&self, by: &[String], q: &EventQuery, limit: usize) -> Result<Vec<EventGroup>> {
        if by.is_empty() {
            return Err(invalid("group by at least one field"));
        }
        for f in by {
            check_field(f)?;
        }
        let filter = where_clause(&self.conn, q)?;
        let mut sql = Sql::default();
        sql.push("SELECT ");
        let mut from_json = Vec::new();
        for f in by {
            match exact_column(f) {
                Some(col) => {
                    sql.push(col);
                    from_json.push(false);
                }
                None => {
                    sql.push("doc -> ").bind(json_path(f));
                    from_json.push(true);
                }
            }
            sql.push(", ");
        }
        sql.push("COUNT(*) FROM events WHERE ");
        sql.text.push_str(&filter.text);
        sql.params.extend(filter.params);
        sql.push(" GROUP BY ");
        let groups = (1..=by.len())
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        sql.push(&groups);
        let mut stmt = self.conn.prepare(&sql.text)?;
        let mut rows = stmt.query(params_from_iter(sql.params.iter()))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let mut key = Vec::with_capacity(by.len());
            for (i, j) in from_json.iter().enumerate() {
                key.push(sql_to_json(r.get(i)?, *j)?);
            }
            let count: i64 = r.get(by.len())?;
            out.push(EventGroup {
                key,
                count: count as u64,
            });
        }
        out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| cmp_keys(&a.key, &b.key)));
        out.truncate(limit);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipnet::IpNet;

    fn scan(ip: &str, time: i64) -> Event {
        let mut e = Event::new();
        e.set("classification.type", "scanner").unwrap();
        e.set("source.ip", ip).unwrap();
        e.set(
            "time.source",
            jiff::Timestamp::from_second(time).unwrap().to_string(),
        )
        .unwrap();
        e
    }

    #[test]
    fn both_dedupe_paths_agree() {
        let t = 1_700_000_000;
        let batches = [
            vec![
                scan("192.0.2.1", t),
                scan("192.0.2.1", t + 100),
                scan("192.0.2.1", t + 86_401),
                scan("192.0.2.2", t),
            ],
            vec![
                scan("192.0.2.1", t - 86_400),
                scan("192.0.2.1", t - 86_401),
                scan("192.0.2.2", t + 86_401),
                scan("192.0.2.2", t + 86_402),
            ],
        ];
        let mut results = Vec::new();
        for force in [false, true] {
            FORCE_INDEX_LOOKUP.set(force);
            let mut store = SqliteStore::open_in_memory().unwrap();
            let mut counts = Vec::new();
            for (i, batch) in batches.iter().enumerate() {
                let input = FeedInput {
                    content_hash: i.to_string(),
                    ..Default::default()
                };
                let c = store
                    .commit_events(&input, batch, &DedupeRule::default())
                    .unwrap();
                counts.push((c.inserted, c.duplicates));
            }
            results.push(counts);
        }
        FORCE_INDEX_LOOKUP.set(false);
        assert_eq!(results[0], [(3, 1), (2, 2)]);
        assert_eq!(results[0], results[1]);
    }

    #[test]
    fn bulk_loads_rebuild_the_indexes_in_the_same_transaction() {
        let mut store = SqliteStore::open_in_memory().unwrap();
        let indexes = |s: &SqliteStore| -> i64 {
            s.conn
                .query_row(
                    "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'events'",
                    [],
                    |r| r.get(0),
                )
                .unwrap()
        };
        let before = indexes(&store);
        let t = 1_700_000_000;
        let batch: Vec<Event> = (0..20)
            .map(|i| scan(&format!("192.0.2.{}", i % 10), t + i))
            .collect();
        let input = FeedInput {
            content_hash: "bulk".into(),
            ..Default::default()
        };
        let c = store
            .commit_events(&input, &batch, &DedupeRule::default())
            .unwrap();
        assert_eq!((c.inserted, c.duplicates), (10, 10));
        assert_eq!(indexes(&store), before);
        let q = EventQuery {
            filter: Some(Filter::parse("source.ip = 192.0.2.3").unwrap()),
            ..Default::default()
        };
        assert_eq!(store.count_events(&q).unwrap(), 1);
    }

    /// A feed's stored events brought to another TLP and owner: columns, document and dedupe
    /// key alike (the same event stored again is a duplicate); other feeds untouched; a second
    /// run changes nothing.
    #[test]
    fn retag_feed_moves_a_feeds_events_to_a_new_level_and_owner() {
        let mut store = SqliteStore::open_in_memory().unwrap();
        let t = 1_700_000_000;
        let of = |feed: &str, ip: &str| {
            let mut e = scan(ip, t);
            e.set("feed.name", feed).unwrap();
            e.set("tlp", "GREEN").unwrap();
            e
        };
        let batch = [
            of("scope", "192.0.2.1"),
            of("scope", "192.0.2.2"),
            of("other", "192.0.2.3"),
        ];
        let input = FeedInput {
            content_hash: "a".into(),
            ..Default::default()
        };
        let rule = DedupeRule::default();
        store.commit_events(&input, &batch, &rule).unwrap();
        assert_eq!(
            store
                .retag_feed("scope", "AMBER+STRICT", Some("a"), &rule)
                .unwrap(),
            2
        );
        assert_eq!(
            store
                .retag_feed("scope", "AMBER+STRICT", Some("a"), &rule)
                .unwrap(),
            0
        );
        let seen = |store: &SqliteStore, team: &str| {
            store
                .events(&EventQuery {
                    visibility: Some(EventVisibility::Team(team.into())),
                    ..Default::default()
                })
                .unwrap()
                .into_iter()
                .map(|e| {
                    let text = |f: &str| match e.event.get(f).map(Value::to_json) {
                        Some(Json::String(s)) => Some(s),
                        _ => None,
                    };
                    (text("source.ip").unwrap(), text("tlp"), text("extra.owner"))
                })
                .collect::<Vec<_>>()
        };
        let strict = |ip: &str| {
            (
                ip.to_owned(),
                Some("AMBER+STRICT".to_owned()),
                Some("a".to_owned()),
            )
        };
        let green = ("192.0.2.3".to_owned(), Some("GREEN".to_owned()), None);
        assert_eq!(
            seen(&store, "a"),
            [strict("192.0.2.1"), strict("192.0.2.2"), green.clone()]
        );
        assert_eq!(seen(&store, "b"), [green]);
        // Derived again at the new level, the findings are the stored ones.
        let mut again = batch[..2].to_vec();
        for e in &mut again {
            e.set("tlp", "AMBER+STRICT").unwrap();
            e.set("extra.owner", "a").unwrap();
        }
        let input = FeedInput {
            content_hash: "b".into(),
            ..Default::default()
        };
        let c = store.commit_events(&input, &again, &rule).unwrap();
        assert_eq!((c.inserted, c.duplicates), (0, 2));
        // Back to no owner.
        assert_eq!(store.retag_feed("scope", "GREEN", None, &rule).unwrap(), 2);
        assert_eq!(seen(&store, "b").len(), 3);
    }

    #[test]
    fn ip_keys_sort_within_family() {
        let a = ip_key("10.0.0.1".parse().unwrap());
        let b = ip_key("10.0.1.0".parse().unwrap());
        assert!(a < b);
        let net: IpNet = "10.0.0.0/24".parse().unwrap();
        assert!(ip_key(net.network()) <= a && a <= ip_key(net.broadcast()));
        assert!(b > ip_key(net.broadcast()));
    }

    #[test]
    fn filters_compile_with_bound_values() {
        let f = Filter::parse("source.geolocation.cc = JP and not extra.team ~ 'x'").unwrap();
        let (sql, params) = filter_sql(&f);
        assert!(!sql.contains("JP"), "{sql}");
        assert_eq!(params.len(), 4, "{sql}");
    }

    #[test]
    fn dedupe_key_distinguishes_absent_from_empty_and_shifted_values() {
        let rule = DedupeRule {
            fields: vec!["extra.a".into(), "extra.b".into()],
            window_secs: 1,
        };
        let mut x = Event::new();
        x.set("extra.a", "1").unwrap();
        let mut y = Event::new();
        y.set("extra.b", "1").unwrap();
        assert_ne!(rule.key(&x), rule.key(&y));
        assert_ne!(rule.key(&x), rule.key(&Event::new()));
    }
}
