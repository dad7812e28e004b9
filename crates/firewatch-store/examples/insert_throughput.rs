//! Throughput of `commit_events` on a file-backed store: inserting N small events, committing
//! them again (all duplicates), and a CIDR + country count over them.
//!
//! `cargo run --release -p firewatch-store --example insert_throughput -- [N]` (default 1,000,000).

use firewatch_core::Event;
use firewatch_core::filter::Filter;
use firewatch_store::{DedupeRule, EventQuery, EventStore, FeedInput, SqliteStore};
use std::time::Instant;

const T0: i64 = 1_714_564_800; // 2024-05-01T12:00:00Z

fn input(hash: &str) -> FeedInput {
    FeedInput {
        content_hash: hash.into(),
        name: format!("{hash}.csv"),
        format: "bench".into(),
        feed: Some("bench".into()),
        ingested_at: T0,
        ..Default::default()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u32 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let mut template = Event::new();
    for (field, value) in [
        ("feed.name", "bench"),
        ("classification.type", "scanner"),
        ("source.asn", "64496"),
        ("source.geolocation.cc", "JP"),
        ("destination.port", "23"),
        ("protocol.transport", "tcp"),
        ("extra.team", "cert-a"),
    ] {
        template.set(field, value)?;
    }
    let mut events = Vec::with_capacity(n as usize);
    for i in 0..n {
        let mut e = template.clone();
        e.set(
            "source.ip",
            std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string(),
        )?;
        let time = jiff::Timestamp::from_second(T0 + i64::from(i % 86_400))?;
        e.set("time.source", time.to_string())?;
        events.push(e);
    }
    let dir = tempfile::tempdir()?;
    let mut store = SqliteStore::open(&dir.path().join("bench.db"))?;

    let start = Instant::now();
    let c = store.commit_events(&input("bench"), &events, &DedupeRule::default())?;
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(c.inserted, u64::from(n));
    println!(
        "inserted {n} events in {secs:.2} s: {:.0} events/s",
        f64::from(n) / secs
    );

    let start = Instant::now();
    let again = store.commit_events(&input("bench2"), &events, &DedupeRule::default())?;
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(again.duplicates, u64::from(n));
    println!(
        "deduplicated {n} events in {secs:.2} s: {:.0} events/s",
        f64::from(n) / secs
    );

    let start = Instant::now();
    let q = EventQuery {
        filter: Some(Filter::parse(
            "source.ip = 10.0.0.0/24 and source.geolocation.cc = JP",
        )?),
        ..Default::default()
    };
    let count = store.count_events(&q)?;
    println!(
        "CIDR + country count ({count} events): {:?}",
        start.elapsed()
    );
    Ok(())
}
