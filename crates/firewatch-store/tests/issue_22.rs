//! Issue 22: two writers at once (item 10), a store on read-only media (item 18), writes to
//! a store that failed its integrity check (item 19).

use firewatch_core::Event;
use firewatch_store::integrity::{self, corruption_mark};
use firewatch_store::{
    DedupeRule, EventQuery, EventStore, FeedInput, SqliteStore, StoreError, StoredDirectory,
};
use std::path::Path;

const T0: i64 = 1_714_564_800; // 2024-05-01T12:00:00Z

fn scan(ip: &str, time: i64) -> Event {
    let mut e = Event::new();
    e.set("feed.name", "scan-feed").unwrap();
    e.set("classification.type", "scanner").unwrap();
    e.set("source.ip", ip).unwrap();
    e.set(
        "time.source",
        jiff::Timestamp::from_second(time).unwrap().to_string(),
    )
    .unwrap();
    e
}

fn input(hash: &str) -> FeedInput {
    FeedInput {
        content_hash: hash.into(),
        name: format!("{hash}.csv"),
        format: "test".into(),
        feed: Some("scan-feed".into()),
        ingested_at: T0,
        ..Default::default()
    }
}

/// Commits input `tag` of `n` events, addresses distinct per input.
fn commit(store: &mut SqliteStore, tag: usize, n: usize) -> Result<(), StoreError> {
    let events: Vec<Event> = (0..n)
        .map(|i| {
            let ip = format!("10.{}.{}.{}", tag % 250, i / 250, i % 250 + 1);
            scan(&ip, T0 + i as i64)
        })
        .collect();
    store
        .commit_events(
            &input(&format!("input-{tag}")),
            &events,
            &DedupeRule::default(),
        )
        .map(|_| ())
}

#[test]
fn issue_22_item_10_two_writers_at_once_both_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    drop(SqliteStore::open(&path).unwrap());
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || -> Result<(), String> {
                // Each writer its own connection, as two processes would have.
                let mut store = SqliteStore::open(&path).map_err(|e| e.to_string())?;
                for i in 0..40 {
                    // A read first, as every commit does, so that a deferred transaction
                    // would hold a stale snapshot when it comes to write.
                    let _ = store.feed_inputs().map_err(|e| e.to_string())?;
                    commit(&mut store, w * 100 + i, 20).map_err(|e| format!("writer {w}: {e}"))?;
                }
                Ok(())
            })
        })
        .collect();
    // A third party holds the write lock for a while: the writers wait for it.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(500));
        conn.execute_batch("COMMIT").unwrap();
    }
    for w in writers {
        w.join().unwrap().unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.feed_inputs().unwrap().len(), 80);
    assert_eq!(store.count_events(&EventQuery::default()).unwrap(), 80 * 20);
}

#[test]
fn a_busy_store_is_a_transient_error_that_says_so() {
    let e = StoreError::from(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
        None,
    ));
    assert!(e.is_transient(), "{e:?}");
    assert!(firewatch_store::is_transient_message(&e.to_string()), "{e}");
    assert!(firewatch_store::is_transient(&e));
}

/// Sets the permission bits of `path` to `mode`.
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Read-only is judged by the permission bits, so this also holds when the tests run as root
/// (whom the kernel would let write anyway). A directory SQLite truly cannot create the WAL's
/// shared-memory file in is read through `immutable=1` (not reachable as root).
#[test]
fn issue_22_item_18_a_read_only_store_is_read_and_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("media");
    std::fs::create_dir(&data).unwrap();
    let path = data.join("s.db");
    {
        let mut store = SqliteStore::open(&path).unwrap();
        commit(&mut store, 1, 5).unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    for (file_mode, dir_mode) in [(0o444, 0o755), (0o644, 0o555), (0o444, 0o555)] {
        chmod(&path, file_mode);
        chmod(&data, dir_mode);
        let result = std::panic::catch_unwind(|| {
            let mut store = firewatch_store::open(&path).expect("a read-only store opens");
            assert_eq!(store.count_events(&EventQuery::default()).unwrap(), 5);
            assert_eq!(store.feed_inputs().unwrap().len(), 1);
            assert!(store.top_ports(&Default::default(), 10).unwrap().is_empty());
            assert!(!store.alerts_stale().unwrap());
            let e = store
                .commit_events(
                    &input("new"),
                    &[scan("192.0.2.9", T0)],
                    &DedupeRule::default(),
                )
                .unwrap_err();
            let text = e.to_string();
            assert!(matches!(e, StoreError::ReadOnly { .. }), "{e:?}");
            assert!(
                text.starts_with(&format!("the store {} is read-only: ", path.display())),
                "{text}"
            );
            let e = store
                .replace_team_directory(&StoredDirectory {
                    toml: String::new(),
                    origin: "x".into(),
                    allow_nested_prefixes: false,
                    imported_at: 0,
                })
                .unwrap_err();
            assert!(matches!(e, StoreError::ReadOnly { .. }), "{e:?}");
        });
        chmod(&data, 0o755);
        chmod(&path, 0o644);
        if let Err(panic) = result {
            std::panic::resume_unwind(panic);
        }
        assert!(
            std::fs::read(&path).unwrap() == before,
            "modes {file_mode:o}/{dir_mode:o}: the file changed"
        );
    }
}

/// Damages the page header of index `index` in the (checkpointed) store file.
fn damage_index(path: &Path, index: &str) {
    let (root, page_size): (i64, i64) = {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
        let root = conn
            .query_row(
                "SELECT rootpage FROM sqlite_schema WHERE name = ?",
                [index],
                |r| r.get(0),
            )
            .unwrap();
        let size = conn
            .pragma_query_value(None, "page_size", |r| r.get(0))
            .unwrap();
        (root, size)
    };
    let mut bytes = std::fs::read(path).unwrap();
    let at = ((root - 1) * page_size) as usize;
    bytes[at] = 0x7f; // not a b-tree page type
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn issue_22_item_19_writes_refuse_a_store_that_failed_its_integrity_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    {
        let mut store = SqliteStore::open(&path).unwrap();
        commit(&mut store, 1, 400).unwrap();
    }
    let sound = std::fs::read(&path).unwrap();
    damage_index(&path, "events_by_time");

    let report = integrity::check(&path, false).unwrap();
    assert!(!report.ok && !report.problems.is_empty(), "{report:?}");
    assert!(corruption_mark(&path).is_some());
    let damaged = std::fs::read(&path).unwrap();

    // Every write refuses, before it touches the file; the error says why and the way out.
    let mut store = firewatch_store::open(&path).unwrap();
    let e = commit_boxed(store.as_mut(), 2).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, StoreError::KnownCorrupt { .. }), "{e:?}");
    assert!(text.contains("failed its integrity check"), "{text}");
    assert!(
        text.contains(".recover") && text.contains("store check"),
        "{text}"
    );
    assert!(matches!(
        store.replace_alerts(&[]),
        Err(StoreError::KnownCorrupt { .. })
    ));
    drop(store);
    assert!(
        std::fs::read(&path).unwrap() == damaged,
        "a refused write changed the file"
    );

    // Restored from a backup: the check passes, removes the mark, and writes work again.
    std::fs::write(&path, &sound).unwrap();
    let report = integrity::check(&path, true).unwrap();
    assert!(report.ok && report.was_marked, "{report:?}");
    assert!(corruption_mark(&path).is_none());
    let mut store = firewatch_store::open(&path).unwrap();
    commit_boxed(store.as_mut(), 3).unwrap();
}

/// A write that runs into a malformed page marks the store, so the next write is refused
/// before it touches anything, even though nobody ran the check.
#[test]
fn a_write_that_meets_a_malformed_page_marks_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    {
        let mut store = SqliteStore::open(&path).unwrap();
        commit(&mut store, 1, 400).unwrap();
    }
    damage_index(&path, "events_by_time");
    let mut store = SqliteStore::open(&path).unwrap();
    let first = commit(&mut store, 2, 50).unwrap_err();
    assert!(first.is_corruption(), "{first:?}");
    assert!(corruption_mark(&path).is_some());
    let second = commit(&mut store, 3, 50).unwrap_err();
    assert!(
        matches!(second, StoreError::KnownCorrupt { .. }),
        "{second:?}"
    );
}

fn commit_boxed(store: &mut dyn firewatch_store::Backend, tag: usize) -> Result<(), StoreError> {
    store
        .commit_events(
            &input(&format!("boxed-{tag}")),
            &[scan("198.51.100.1", T0 + tag as i64)],
            &DedupeRule::default(),
        )
        .map(|_| ())
}
