#![no_main]
//! Any text as a `--where` filter: parsing never panics, parsing is deterministic, a parsed
//! filter evaluates on an empty event and on a typical one without panicking, and its SQL runs
//! in SQLite (no expression too deep, no parameter too many: a filter that parses never makes
//! the API answer 500). The corpus seeds deep and wide expressions (issue 22).

use firewatch_core::Event;
use firewatch_core::filter::Filter;
use firewatch_store::{EventQuery, EventStore, SqliteStore};
use libfuzzer_sys::fuzz_target;

thread_local! {
    /// One empty store for every input: the query is compiled and run, the answer is 0.
    static STORE: SqliteStore = SqliteStore::open_in_memory().expect("in-memory store");
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(filter) = Filter::parse(text) {
        let again = Filter::parse(&filter.to_string()).expect("the same text parses again");
        assert_eq!(again.expr(), filter.expr());
        let _ = filter.matches(&Event::new());
        let mut event = Event::new();
        for (field, value) in [
            ("source.ip", "192.0.2.1"),
            ("source.asn", "64496"),
            ("source.geolocation.cc", "JP"),
            ("classification.type", "scanner"),
            ("extra.note", "x"),
        ] {
            event.set(field, value).expect("valid sample value");
        }
        let _ = filter.matches(&event);
        let counted = STORE.with(|store| {
            store.count_events(&EventQuery {
                filter: Some(filter.clone()),
                ..EventQuery::default()
            })
        });
        assert_eq!(counted.expect("a parsed filter runs in SQLite"), 0);
    }
});
