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
//! ```
//! use firewatch_store::{SqliteStore, Store, TimeRange};
//! let store = SqliteStore::open_in_memory().unwrap();
//! assert!(store.alerts(&Default::default()).unwrap().is_empty());
//! assert!(store.top_ports(&TimeRange::default(), 10).unwrap().is_empty());
//! ```

mod events;
pub mod health;
mod identity;
mod migrations;
pub mod outbox;
pub mod records;
mod sessions;
mod sqlite;

pub use events::{
    DedupeRule, EventCommit, EventGroup, EventQuery, EventStore, EventVisibility, FeedInput,
    StoredDoc, StoredEvent,
};
pub use health::HealthStore;
pub use identity::{IdentityStore, TokenRecord, UserRecord};
pub use outbox::OutboxStore;
pub use records::*;
pub use sessions::{SessionRecord, SessionStore};
pub use sqlite::SqliteStore;

/// Everything a store keeps, as one object: what the pipeline, the web service and the
/// commands hold, so that only this crate and the wiring name a backend.
pub trait Backend:
    Store + EventStore + IdentityStore + SessionStore + OutboxStore + HealthStore + Send
{
}

impl<T> Backend for T where
    T: Store + EventStore + IdentityStore + SessionStore + OutboxStore + HealthStore + Send
{
}

/// Opens (creating and migrating) the store at `path`: the embedded SQLite file.
pub fn open(path: &std::path::Path) -> Result<Box<dyn Backend>> {
    Ok(Box::new(SqliteStore::open(path)?))
}

use firewatch_core::SourceLabel;
use firewatch_core::telescope::{Detection, SeriesPoint};
use firewatch_darknet::{Aggregate, BackscatterAttack, BackscatterMinute, SourceCounters};
use std::net::IpAddr;

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
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

/// Test hook for crash-recovery tests: when the environment variable `FIREWATCH_CRASH_AT`
/// names this point, the process aborts here at once (no destructors, no rollback), as it
/// would under SIGKILL. Points: `before-commit`, `mid-commit`, `after-commit`, `after-alerts`,
/// `events-mid-commit`.
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
