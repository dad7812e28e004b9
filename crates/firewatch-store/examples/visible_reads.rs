//! The cost of TLP on reads: one page (100 events, newest first) and one count per viewer, on
//! a store where almost everything is AMBER of one team. The other teams and the public can
//! read almost nothing, which is the worst case for a predicate checked row by row.
//!
//! `cargo run --release -p firewatch-store --example visible_reads -- [N]` (default 1,000,000).
//! Prints the median of 15 runs per query, in milliseconds.

use firewatch_core::Event;
use firewatch_store::{
    DedupeRule, EventQuery, EventStore, EventVisibility, FeedInput, SqliteStore,
};
use std::time::Instant;

const T0: i64 = 1_714_564_800; // 2024-05-01T12:00:00Z

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u32 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let mut events = Vec::with_capacity(n as usize);
    for i in 0..n {
        let mut e = Event::new();
        e.set("feed.name", "bench")?;
        e.set("classification.type", "scanner")?;
        e.set("source.geolocation.cc", "JP")?;
        e.set(
            "source.ip",
            std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string(),
        )?;
        e.set(
            "time.source",
            jiff::Timestamp::from_second(T0 + i64::from(i))?.to_string(),
        )?;
        // One in a thousand is GREEN; the rest AMBER owned by cert-a, routed to cert-a.
        e.set("tlp", if i % 1000 == 0 { "GREEN" } else { "AMBER" })?;
        e.set("extra.owner", "cert-a")?;
        e.set("extra.team", "cert-a")?;
        events.push(e);
    }
    let dir = tempfile::tempdir()?;
    let mut store = SqliteStore::open(&dir.path().join("bench.db"))?;
    let input = FeedInput {
        content_hash: "bench".into(),
        name: "bench".into(),
        format: "bench".into(),
        ingested_at: T0,
        ..Default::default()
    };
    let start = Instant::now();
    store.commit_events(&input, &events, &DedupeRule::default())?;
    println!(
        "{n} events committed in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    drop(events);

    for (name, visibility) in [
        ("owner cert-a", EventVisibility::Team("cert-a".into())),
        ("other team", EventVisibility::Team("cert-b".into())),
        ("anonymous", EventVisibility::Anonymous),
    ] {
        let page = EventQuery {
            limit: Some(100),
            newest_first: true,
            visibility: Some(visibility),
            ..Default::default()
        };
        let (page_ms, got) = median_ms(|| store.event_docs(&page).map(|d| d.len()))?;
        let count = EventQuery {
            limit: None,
            ..page.clone()
        };
        let (count_ms, total) = median_ms(|| store.count_events(&count).map(|c| c as usize))?;
        println!(
            "{name:>12}: page of {got:>3} in {page_ms:8.3} ms; count {total:>7} in {count_ms:8.3} ms"
        );
    }
    Ok(())
}

/// The median wall time of 15 runs and the last result.
fn median_ms<T>(
    mut run: impl FnMut() -> firewatch_store::Result<T>,
) -> Result<(f64, T), Box<dyn std::error::Error>> {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..15 {
        let start = Instant::now();
        last = Some(run()?);
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], last.expect("ran")))
}
