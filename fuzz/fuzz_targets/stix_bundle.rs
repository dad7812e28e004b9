#![no_main]
//! Any bytes as a STIX 2.1 bundle: no panic; every object is accounted for exactly once
//! (an event, used by others, kept raw, or rejected with its path).

use firewatch_core::Collected;
use firewatch_feeds::stix;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut sink = Collected::default();
    if let Ok(report) = stix::parse_report(data, "fuzz", &mut sink) {
        assert_eq!(report.summary.records as usize, report.objects.len());
        assert_eq!(report.summary.events as usize, sink.events.len());
        assert_eq!(report.summary.rejected as usize, sink.errors.len());
        for error in &sink.errors {
            assert!(error.reason.starts_with("objects["), "{error}");
        }
    }
});
