//! The Firewatch store: what the telescope learned, kept so that it can be read back.
//!
//! [`Store`] is the interface every backend implements; [`SqliteStore`] is the embedded
//! default — one SQLite file in WAL mode with versioned migrations. Base facts (port cells,
//! source profiles, victim-minutes, flowtuples) are written per capture in one transaction
//! together with the capture's content hash, so a capture is either wholly in the store or
//! not at all, and the same capture is never counted twice. Everything else (labels, attacks,
//! attributions, alerts) is derived from the base facts by pure functions the store does not
//! hold: it asks its caller through [`Derivation`] while it merges a capture, and takes the
//! alerts whole ([`Store::replace_alerts`]); `firewatch-pipeline` implements both. So a run
//! killed at any moment and started again ends with the same data as one that never stopped,
//! and a second backend copies no rule.
//!
//! Beside its content hash a capture keeps its [`CaptureExtent`] (first frame, fingerprint of
//! its first frames, frames counted), by which the pipeline knows the same capture in other
//! bytes. Writes begin IMMEDIATE and wait for each other up to 30 s ([`StoreError::Busy`]
//! after that); a store whose file or directory is read-only is opened for reading
//! ([`StoreError::ReadOnly`] on a write), and one that failed its integrity check refuses
//! writes ([`integrity`], [`StoreError::KnownCorrupt`]).
//!
//! ```
//! use firewatch_store::{SqliteStore, Store, TimeRange};
//! let store = SqliteStore::open_in_memory().unwrap();
//! assert!(store.alerts(&Default::default()).unwrap().is_empty());
//! assert!(store.top_ports(&TimeRange::default(), 10).unwrap().is_empty());
//! ```

pub mod assess;
pub mod cases;
mod codec;
mod events;
pub mod health;
mod identity;
pub mod integrity;
mod location;
mod migrations;
pub mod outbox;
pub mod postgres;
pub mod records;
mod sessions;
mod sqlite;
pub mod stats;

pub use assess::{AssessmentStore, StoredAssessment, StoredCatalogue};
pub use cases::CaseStore;
pub use events::{
    DedupeRule, EventCommit, EventGroup, EventQuery, EventStore, EventVisibility, FeedInput,
    InputProgress, PROVENANCE_FIELDS, StoredDoc, StoredEvent,
};
pub use health::HealthStore;
pub use identity::{IdentityStore, TokenRecord, UserRecord};
pub use location::{StoreConfig, StoreLocation};
pub use outbox::OutboxStore;
pub use postgres::PgStore;
pub use records::*;
pub use sessions::{SessionRecord, SessionStore};
pub use sqlite::SqliteStore;
pub use stats::{StoreStats, StoreStatsReport, TableStats};

/// Everything a store keeps, as one object: what the pipeline, the web service and the
/// commands hold, so that only this crate and the wiring name a backend.
pub trait Backend:
    Store
    + EventStore
    + IdentityStore
    + SessionStore
    + OutboxStore
    + HealthStore
    + AssessmentStore
    + CaseStore
    + StoreStats
    + Send
{
}

impl<T> Backend for T where
    T: Store
        + EventStore
        + IdentityStore
        + SessionStore
        + OutboxStore
        + HealthStore
        + AssessmentStore
        + CaseStore
        + StoreStats
        + Send
{
}

/// Opens (creating and migrating) the store at `path`: the embedded SQLite file.
pub fn open(path: &std::path::Path) -> Result<Box<dyn Backend>> {
    Ok(Box::new(SqliteStore::open(path)?))
}

use firewatch_core::SourceLabel;
use firewatch_core::telescope::{AlertSource, Detection, SeriesPoint};
use firewatch_darknet::{Aggregate, BackscatterAttack, BackscatterMinute, SourceCounters};
use std::net::IpAddr;

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store database error: {0}")]
    Sqlite(#[source] rusqlite::Error),
    /// An error PostgreSQL reported (or the client met) that trying again will not cure.
    #[error("PostgreSQL store error: {}", crate::postgres::postgres_message(.0))]
    Postgres(#[source] ::postgres::Error),
    /// The PostgreSQL server could not be reached, went away, or aborted the transaction for
    /// a conflict with another one (serialization failure, deadlock, lock timeout): nothing
    /// of this transaction was written, and trying again later may well succeed.
    #[error(
        "the PostgreSQL store is unavailable or the transaction conflicted with another ({0}); nothing was written, try again"
    )]
    Unavailable(String),
    /// Another connection held the write lock longer than the store waits (30 s): nothing
    /// was written, and trying again later may well succeed.
    #[error(
        "the store is busy: another process kept it locked for writing longer than the 30 s this one waits ({0}); nothing was written, try again"
    )]
    Busy(String),
    /// The store may be read but not written: its file or directory is read-only.
    #[error(
        "the store {path} is read-only: {why}; it can be read, not written. hint: to add to it, copy it where it can be written"
    )]
    ReadOnly { path: String, why: String },
    /// The store failed its integrity check (or SQLite found it malformed), so writes are
    /// refused until it is restored or recovered (see [`integrity`]).
    #[error(
        "the store {path} failed its integrity check ({found}); writes are refused so as not to build on damaged data. hint: restore it from a backup, or recover it (`sqlite3 {path} .recover | sqlite3 recovered.db`) and use the recovered file; `firewatch store check` clears the mark once the store passes"
    )]
    KnownCorrupt { path: String, found: String },
    #[error("cannot create the store's directory {path}: {source}")]
    Directory {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the store holds {stored} s intervals but the configuration asks for {configured} s; use another --db or the stored interval"
    )]
    IntervalMismatch { stored: u32, configured: u32 },
    #[error(
        "the store was written by a newer Firewatch (schema version {found}, this one knows {known})"
    )]
    TooNew { found: i64, known: i64 },
    #[error("corrupt record in the store: {0}")]
    Corrupt(String),
    /// A query the store cannot answer as asked (unknown field, unknown page cursor).
    #[error("{0}")]
    InvalidQuery(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                StoreError::Busy(e.to_string())
            }
            _ => StoreError::Sqlite(e),
        }
    }
}

impl StoreError {
    /// True when trying again later may succeed: the store was busy with another writer.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Busy(_) | StoreError::Unavailable(_))
    }

    /// True when SQLite found the file malformed or not a database at all.
    pub fn is_corruption(&self) -> bool {
        matches!(self, StoreError::Sqlite(e) if matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
        ))
    }
}

/// True when `error` (or an error in its chain of causes) is a [`StoreError`] that may go
/// away if the same thing is tried again later (see [`StoreError::is_transient`]).
pub fn is_transient(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.downcast_ref::<StoreError>()
            .is_some_and(StoreError::is_transient)
        {
            return true;
        }
        cause = e.source();
    }
    false
}

/// True when an error's text (as reports carry it) is a [`StoreError::Busy`] or
/// [`StoreError::Unavailable`]: for callers that only have the message, e.g. to try an input
/// again on the next look.
pub fn is_transient_message(text: &str) -> bool {
    text.contains(BUSY_PREFIX) || text.contains(UNAVAILABLE_PREFIX)
}

/// How the message of [`StoreError::Unavailable`] begins.
const UNAVAILABLE_PREFIX: &str = "the PostgreSQL store is unavailable";

/// How the message of [`StoreError::Busy`] begins.
const BUSY_PREFIX: &str = "the store is busy: ";

/// Test hook for crash-recovery tests: when the environment variable `FIREWATCH_CRASH_AT`
/// names this point, the process aborts here at once (no destructors, no rollback), as it
/// would under SIGKILL. Points: `before-commit`, `mid-commit`, `after-commit`, `after-alerts`,
/// `events-mid-commit` (in every events transaction), and the feed pipeline's
/// `feeds-after-batch-N` (after the Nth batch of an input is committed, not the last).
pub fn crash_point(point: &str) {
    if std::env::var("FIREWATCH_CRASH_AT").is_ok_and(|p| p == point) {
        std::process::abort();
    }
}

/// Result alias of this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What the store asks of its caller while it merges a capture's facts with what it holds:
/// the label of a merged source profile, the attacks in a victim's merged minutes, and the
/// attribution of an address. The store keeps the answers beside the facts; the rules behind
/// them (labelling, attack thresholds, registry data and directory) are the pipeline's.
pub trait Derivation: Send + Sync {
    /// The label of a source with these merged counters and distinct destinations.
    fn label(&self, counters: &SourceCounters, distinct_destinations: u64) -> SourceLabel;
    /// The attacks in a victim's merged backscatter minutes, in time order.
    fn attacks(&self, minutes: &[BackscatterMinute]) -> Vec<BackscatterAttack>;
    /// The attribution of an address (empty when none is known).
    fn attribute(&self, addr: IpAddr) -> Attribution;
}

/// A store of telescope data. Implemented by [`SqliteStore`]; a PostgreSQL backend follows
/// the same contract.
pub trait Store {
    /// Fails, saying why, when the store may not be written (read-only, or known to be
    /// corrupt): for a writer to learn before it does any work.
    fn check_writable(&self) -> Result<()>;
    /// The record of an input already committed under this content hash, if any.
    fn input(&self, content_hash: &str) -> Result<Option<InputRecord>>;
    /// Every input committed, oldest first.
    fn inputs(&self) -> Result<Vec<InputRecord>>;
    /// Commits one capture's aggregate and its input record atomically, merging with what is
    /// stored, and re-derives labels and attacks of the sources it touched. Returns `false`
    /// (and changes nothing) if the content hash was already committed.
    fn commit_capture(
        &mut self,
        input: &InputRecord,
        aggregate: &Aggregate,
        derive: &dyn Derivation,
    ) -> Result<bool>;
    /// Commits a capture as [`Store::commit_capture`] does, together with its extent (how it
    /// begins and how far it was counted; `extent.content_hash` is the input's). Returns
    /// `false` (and changes nothing) if the content hash was already committed.
    fn commit_capture_extent(
        &mut self,
        input: &InputRecord,
        extent: &CaptureExtent,
        aggregate: &Aggregate,
        derive: &dyn Derivation,
    ) -> Result<bool>;
    /// The extents of committed captures whose first frame has this timestamp: the
    /// candidates for being the same capture as one that starts there.
    fn capture_extents_starting_at(&self, first_frame_ns: i64) -> Result<Vec<CaptureExtent>>;
    /// The extent of one committed input, if it recorded one (inputs committed before extents
    /// were kept have none).
    fn capture_extent(&self, content_hash: &str) -> Result<Option<CaptureExtent>>;
    /// Inputs whose packet time range meets `first_ns..=last_ns`, oldest first.
    fn inputs_overlapping(&self, first_ns: i64, last_ns: i64) -> Result<Vec<InputRecord>>;
    /// Removes the record of one input (and its extent), so that the capture, or one that
    /// overlaps it, may be ingested again. What the input counted stays counted: port series,
    /// sources and attacks are merged sums that cannot be taken apart again. Returns the
    /// removed record, `None` if there was none.
    fn forget_input(&mut self, content_hash: &str) -> Result<Option<InputRecord>>;
    /// Labels and attributes every stored source, attributes every attack victim, and routes
    /// every stored event (by its `source.ip`, as the routing expert does at ingest) again with
    /// `derive` (after the team directory, the registry data or the label rules changed), one
    /// transaction per batch; marks the alerts stale when a source changed, so they are
    /// derived again. Changes only what differs: a second run changes nothing. With `since`
    /// (Unix seconds), only the records seen at or after it: sources last seen, attacks ended,
    /// events timed then or later.
    fn rederive(&mut self, derive: &dyn Derivation, since: Option<i64>) -> Result<Rederived>;
    /// The ports whose busiest interval reaches either floor (the others cannot alert), with
    /// the store's time span; `None` before the first capture.
    fn alert_candidates(
        &self,
        min_packets: u64,
        min_sources: u64,
    ) -> Result<Option<AlertCandidates>>;
    /// A candidate port's dense series over the whole span (zeros filled).
    fn dense_series(
        &self,
        proto: u8,
        port: u16,
        span: &AlertCandidates,
    ) -> Result<Vec<SeriesPoint>>;
    /// Every source of one detected episode with its packets to the port over the episode's
    /// intervals (those [`Store::episode_record`] describes), busiest first.
    fn episode_sources(
        &self,
        proto: u8,
        port: u16,
        episode: &Detection,
        span: &AlertCandidates,
    ) -> Result<Vec<(IpAddr, u64)>>;
    /// The stored record of one detected episode: its sources, label mix, countries and teams.
    fn episode_record(
        &self,
        proto: u8,
        port: u16,
        episode: &Detection,
        span: &AlertCandidates,
    ) -> Result<AlertRecord>;
    /// Replaces every stored alert with `records` in one transaction, and marks the alerts
    /// fresh.
    fn replace_alerts(&mut self, records: &[AlertRecord]) -> Result<()>;
    /// True when captures were committed since the alerts were last derived.
    fn alerts_stale(&self) -> Result<bool>;
    /// Ports by packets in a time range.
    fn top_ports(&self, range: &TimeRange, limit: usize) -> Result<Vec<PortTotal>>;
    /// A port's dense series (zeros filled) over the store's whole time span, clipped to range.
    fn port_series(&self, proto: u8, port: u16, range: &TimeRange) -> Result<Vec<SeriesPoint>>;
    /// Alerts overlapping a time range.
    fn alerts(&self, q: &AlertQuery) -> Result<Vec<AlertRecord>>;
    /// One stored alert by its id.
    fn alert(&self, id: &str) -> Result<Option<AlertRecord>>;
    /// Every source of `alert` (from its port's cells over its intervals), busiest first, with
    /// label and attribution; `team` keeps only the sources routed to that team.
    fn alert_sources(&self, alert: &AlertRecord, team: Option<&str>) -> Result<Vec<AlertSource>>;
    /// Sources active in a time range, optionally of one label, busiest first.
    fn sources(&self, q: &SourceQuery) -> Result<Vec<SourceRecord>>;
    /// One source's profile.
    fn source(&self, addr: IpAddr) -> Result<Option<SourceRecord>>;
    /// Backscatter attacks overlapping a time range, largest first.
    fn attacks(&self, q: &AttackQuery) -> Result<Vec<AttackRecord>>;
    /// Flowtuples in a time range, in key order, handed to `visit` one at a time.
    fn flowtuples(&self, range: &TimeRange, visit: &mut dyn FnMut(FlowtupleRecord)) -> Result<u64>;
    /// The aggregation interval the store was written with, if any data is stored.
    fn interval_secs(&self) -> Result<Option<u32>>;
    /// The team directory, if one was imported.
    fn team_directory(&self) -> Result<Option<StoredDirectory>>;
    /// Replaces the team directory in one step. The caller validates it first: a directory
    /// that fails validation never reaches the store, and the one already there stays.
    fn replace_team_directory(&mut self, directory: &StoredDirectory) -> Result<()>;
}
