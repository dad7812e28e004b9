//! Inputs committed in batches (issue 17, item 2): each batch its own transaction, the input
//! recorded by the last; a run stopped between batches and started again records the counts
//! of an uninterrupted run; a failed input's batches are taken away again.

use firewatch_core::Event;
use firewatch_store::{DedupeRule, EventQuery, EventStore, FeedInput, InputProgress, SqliteStore};

const T0: i64 = 1_714_564_800; // 2024-05-01T12:00:00Z

fn scan(ip: &str) -> Event {
    let mut e = Event::new();
    e.set("feed.name", "scan-feed").unwrap();
    e.set("classification.type", "scanner").unwrap();
    e.set("source.ip", ip).unwrap();
    e.set(
        "time.source",
        jiff::Timestamp::from_second(T0).unwrap().to_string(),
    )
    .unwrap();
    e
}

/// 12 events: 10 distinct, the last two repeating the first two.
fn input_events() -> Vec<Event> {
    (0..12)
        .map(|i| scan(&format!("192.0.2.{}", i % 10)))
        .collect()
}

fn record(ingested_at: i64) -> FeedInput {
    FeedInput {
        content_hash: "h".into(),
        name: "h.csv".into(),
        format: "test".into(),
        ingested_at,
        records: 12,
        events: 12,
        ..Default::default()
    }
}

fn stored(store: &SqliteStore) -> usize {
    store.events(&EventQuery::default()).unwrap().len()
}

#[test]
fn batches_record_the_input_with_the_last_and_a_resumed_run_the_same_counts() {
    let rule = DedupeRule::default();
    let events = input_events();

    // Uninterrupted: batches of 5, 5 and 2.
    let mut whole = SqliteStore::open_in_memory().unwrap();
    for (i, batch) in events.chunks(5).enumerate() {
        let last = i == 2;
        let c = whole
            .commit_event_batch(&record(T0), batch, &rule, last)
            .unwrap();
        assert!(!c.already_committed);
        if !last {
            assert!(whole.feed_input("h").unwrap().is_none(), "not done yet");
            assert_eq!(
                whole.feed_input_progress("h").unwrap(),
                Some(InputProgress {
                    ingested_at: T0,
                    batches: i as u64 + 1,
                    inserted: 5 * (i as u64 + 1),
                })
            );
        }
    }
    let done = whole.feed_input("h").unwrap().unwrap();
    assert_eq!((done.inserted, done.duplicates), (10, 2));
    assert_eq!(whole.feed_input_progress("h").unwrap(), None);
    assert_eq!(stored(&whole), 10);

    // Stopped after the first batch (its progress kept with it), then run again from the
    // start, with a later clock: the record is the uninterrupted run's.
    let mut resumed = SqliteStore::open_in_memory().unwrap();
    resumed
        .commit_event_batch(&record(T0), &events[..5], &rule, false)
        .unwrap();
    let progress = resumed.feed_input_progress("h").unwrap().unwrap();
    assert_eq!((progress.ingested_at, progress.inserted), (T0, 5));
    for (i, batch) in events.chunks(5).enumerate() {
        let c = resumed
            .commit_event_batch(&record(progress.ingested_at), batch, &rule, i == 2)
            .unwrap();
        if i == 0 {
            assert_eq!((c.inserted, c.duplicates), (0, 5), "already stored");
        }
    }
    let again = resumed.feed_input("h").unwrap().unwrap();
    assert_eq!(again, done);
    assert_eq!(stored(&resumed), 10);

    // Recorded: a further batch changes nothing.
    let c = resumed
        .commit_event_batch(&record(T0), &events[..1], &rule, true)
        .unwrap();
    assert!(c.already_committed);
    assert_eq!(
        resumed.abandon_feed_input("h").unwrap(),
        0,
        "recorded inputs stay"
    );
    assert_eq!(stored(&resumed), 10);
}

#[test]
fn an_abandoned_input_leaves_nothing() {
    let rule = DedupeRule::default();
    let mut store = SqliteStore::open_in_memory().unwrap();
    let other = FeedInput {
        content_hash: "other".into(),
        ..record(T0)
    };
    store
        .commit_events(&other, &[scan("198.51.100.1")], &rule)
        .unwrap();
    let events = input_events();
    store
        .commit_event_batch(&record(T0), &events[..5], &rule, false)
        .unwrap();
    store
        .commit_event_batch(&record(T0), &events[5..10], &rule, false)
        .unwrap();
    assert_eq!(stored(&store), 11);
    assert_eq!(store.abandon_feed_input("h").unwrap(), 10);
    assert_eq!(stored(&store), 1, "other inputs' events stay");
    assert_eq!(store.feed_input_progress("h").unwrap(), None);
    assert!(store.feed_input("h").unwrap().is_none());
}
