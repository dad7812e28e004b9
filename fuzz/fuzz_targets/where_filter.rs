#![no_main]
//! Any text as a `--where` filter: parsing never panics, parsing is deterministic, and a parsed
//! filter evaluates on an empty event and on a typical one without panicking.

use firewatch_feeds::Event;
use firewatch_feeds::filter::Filter;
use libfuzzer_sys::fuzz_target;

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
    }
});
