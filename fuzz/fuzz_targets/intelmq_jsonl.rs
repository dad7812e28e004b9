#![no_main]
//! Any bytes as IntelMQ JSON lines: no panic, and every event read writes and reads back equal.

use firewatch_core::Collected;
use firewatch_feeds::intelmq_jsonl;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut sink = Collected::default();
    let summary = intelmq_jsonl::parse(data, "fuzz", &mut sink).unwrap();
    assert_eq!(summary.events as usize, sink.events.len());
    let mut out = Vec::new();
    intelmq_jsonl::write(sink.events.iter().map(|(e, _)| e), &mut out).unwrap();
    let mut again = Collected::default();
    intelmq_jsonl::parse(&out[..], "fuzz-out", &mut again).unwrap();
    assert!(again.errors.is_empty(), "{:?}", again.errors);
    assert_eq!(again.events.len(), sink.events.len());
    for ((a, _), (b, _)) in sink.events.iter().zip(&again.events) {
        assert_eq!(a, b);
    }
});
