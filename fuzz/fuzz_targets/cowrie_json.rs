#![no_main]
//! Any bytes as a Cowrie JSON log: the parser must not panic, and its counts must add up.

use firewatch_core::Collected;
use firewatch_feeds::cowrie::{self, CowrieOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut sink = Collected::default();
    let summary = cowrie::parse(data, "fuzz", &CowrieOptions::default(), &mut sink).unwrap();
    assert_eq!(summary.events as usize, sink.events.len());
    assert_eq!(summary.rejected as usize, sink.errors.len());
});
