#![no_main]
//! Any text as a metrics day (`--since` dates, `[metrics] base_week`): parsing never panics, a
//! parsed day prints back to the same day, its ISO week starts on a Monday at most six days
//! before it, and configuration with it as base week either validates or says which key.

use firewatch_metrics::{Day, MetricsConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(day) = Day::parse(text) {
        assert_eq!(Day::parse(&day.to_string()).ok(), Some(day));
        let week = day.week_start();
        assert!(week <= day && day.0 - week.0 < 7);
    }
    let cfg = MetricsConfig {
        base_week: Some(text.to_owned()),
        ..MetricsConfig::default()
    };
    if let Err(e) = cfg.validate() {
        assert!(e.to_string().contains("base_week"));
    }
});
