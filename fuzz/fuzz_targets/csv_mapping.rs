#![no_main]
//! Any bytes as CSV under a fixed mapping (header, comments, a formatted time column): no
//! panic, counts add up, and a fatal error only for the header.

use std::sync::OnceLock;

use firewatch_core::Collected;
use firewatch_feeds::csv_mapping::{self, CsvMapping};
use libfuzzer_sys::fuzz_target;

fn mapping() -> &'static CsvMapping {
    static MAPPING: OnceLock<CsvMapping> = OnceLock::new();
    MAPPING.get_or_init(|| {
        CsvMapping::from_toml_str(
            r##"
            name = "fuzz"
            skip_lines = 1
            comment = "#"
            [columns]
            "source.ip" = "ip"
            "source.port" = 2
            "time.source" = { column = "seen", format = "%Y-%m-%d %H:%M:%S" }
            "extra.note" = "note"
            [constants]
            "classification.type" = "scanner"
            "##,
        )
        .expect("the fuzz mapping is valid")
    })
}

fuzz_target!(|data: &[u8]| {
    let mut sink = Collected::default();
    if let Ok(summary) = csv_mapping::parse(data, "fuzz", mapping(), &mut sink) {
        assert_eq!(summary.events as usize, sink.events.len());
        assert_eq!(summary.rejected as usize, sink.errors.len());
        assert_eq!(summary.records, summary.events + summary.rejected);
    }
});
