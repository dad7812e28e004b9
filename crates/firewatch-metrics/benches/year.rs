//! A year of daily data: 365 days × 60,000 observations a day (21.9 M: the daily Shadowserver
//! scan reports and darknet findings of a large national constituency), 400,000 distinct hosts
//! that reappear day after day, 200 countries and 3,000 ASNs, a tenth of the events TLP:CLEAR.
//!
//! `cargo bench -p firewatch-metrics --bench year`

use divan::Bencher;
use firewatch_metrics::{
    AddressSpace, Audience, DailyCell, Day, Metrics, MetricsConfig, Observation, RISKS, Scope,
    count_daily,
};
use std::net::Ipv4Addr;
use std::sync::LazyLock;

fn main() {
    divan::main();
}

const DAYS: i32 = 365;
const PER_DAY: usize = 60_000;
const HOSTS: u64 = 400_000;
const COUNTRIES: u64 = 200;
const ASNS: u64 = 3_000;

/// Xorshift: deterministic values without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A host's fixed attribution and risk: hosts are skewed towards a few large countries and
/// networks, as real populations are.
fn host(h: u64) -> (Ipv4Addr, [u8; 2], u32, usize) {
    let mut r = Rng(h.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let skew = |n: u64, r: &mut Rng| {
        let a = r.next() % n;
        let b = r.next() % n;
        a.min(b)
    };
    let c = skew(COUNTRIES, &mut r) as u8;
    let cc = [b'A' + c / 26, b'A' + c % 26];
    let asn = 1_000 + skew(ASNS, &mut r) as u32;
    let risk = (r.next() % RISKS.len() as u64) as usize;
    (
        Ipv4Addr::from(0x0100_0000u32 + (h as u32) * 37),
        cc,
        asn,
        risk,
    )
}

static YEAR: LazyLock<Vec<Observation>> = LazyLock::new(|| {
    let mut r = Rng(0x2026);
    let first = Day::parse("2026-01-01").unwrap();
    let mut out = Vec::with_capacity(DAYS as usize * PER_DAY);
    for d in 0..DAYS {
        for _ in 0..PER_DAY {
            let (ip, cc, asn, risk) = host(r.next() % HOSTS);
            out.push(Observation {
                day: Day(first.0 + d),
                risk: RISKS[risk],
                ip,
                country: Some(cc),
                asn: Some(asn),
                public: r.next().is_multiple_of(10),
            });
        }
    }
    out
});

static CELLS: LazyLock<Vec<DailyCell>> = LazyLock::new(|| count_daily(&YEAR));

static SPACE: LazyLock<AddressSpace> = LazyLock::new(|| {
    let mut entries = Vec::new();
    for c in 0..COUNTRIES as u8 {
        let cc = String::from_utf8(vec![b'A' + c / 26, b'A' + c % 26]).unwrap();
        entries.push((Scope::Country, cc, 1_000_000 + u64::from(c) * 50_000));
    }
    for a in 0..ASNS {
        entries.push((Scope::Asn, (1_000 + a).to_string(), 4_096 + a * 256));
    }
    AddressSpace::from_entries(entries)
});

/// Daily unique addresses per risk, country and ASN for the whole year, from observations.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn count_year(b: Bencher) {
    let year = &*YEAR;
    b.counter(divan::counter::ItemsCount::new(year.len()))
        .bench(|| count_daily(divan::black_box(year)).len());
}

/// Normalisation, DDoS potential, trend index, ranks for the year's cells, internal view.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn derive_year_internal(b: Bencher) {
    let cells = &*CELLS;
    b.counter(divan::counter::ItemsCount::new(cells.len()))
        .bench(|| {
            Metrics::derive(cells, &SPACE, &MetricsConfig::default(), Audience::Internal)
                .unwrap()
                .rows
                .len()
        });
}

/// The same for the public view (suppression), plus the year's ranking summary.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn derive_year_public_and_summary(b: Bencher) {
    let cells = &*CELLS;
    b.counter(divan::counter::ItemsCount::new(cells.len()))
        .bench(|| {
            let m = Metrics::derive(cells, &SPACE, &MetricsConfig::default(), Audience::Public)
                .unwrap();
            m.summary(None, None).len()
        });
}
