#![no_main]
//! Any bytes as each registry-data format `firewatch data update` reads (MaxMind DB, iptoasn CSV
//! and TSV, RIR delegated statistics): each parser must refuse or read them without a panic and
//! in bounded time and memory (a damaged .mmdb once sent the walk into an endless loop), and
//! every row it keeps must be a well-formed range.

use firewatch_enrich::geo::{self as load, Range};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = load::parse_mmdb("fuzz.mmdb", data) {
        for row in &parsed.rows {
            let ordered = match row.range {
                Range::V4(start, end) => start <= end,
                Range::V6(start, end) => start <= end,
            };
            assert!(ordered, "{:?}", row.range);
        }
    }
    let _ = load::parse_ip_asn_csv("fuzz.csv", data);
    let _ = load::parse_ip_asn_tsv("fuzz.tsv", data);
    let _ = load::parse_rir_delegated("fuzz.txt", data);
});
