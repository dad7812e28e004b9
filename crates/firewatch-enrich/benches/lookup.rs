//! Lookups per second: Firewatch `GeoData` (one lookup → country + ASN + AS name) against the
//! `maxminddb` reader on an MMDB written from the same data, and `iptocc` for country alone; and
//! the combined country + ASN + AS name + team lookup (`Attributor::attribute`) against the
//! two-step `GeoData::lookup` + `Router::route` it replaces, with `examples/teams.toml` plus
//! claims on real networks (prefixes, ASNs, countries, regional coordinators, a default team).
//!
//! Run: `cargo bench -p firewatch-enrich --bench lookup`. Each benchmark does `BATCH` (4096)
//! lookups per iteration (1 Mi for `random_v4_1Mi`); divan reports items/s (lookups/s, one core).

use std::net::IpAddr;
use std::sync::OnceLock;

use divan::Bencher;
use divan::counter::ItemsCount;
use firewatch_enrich::attribute::Attributor;
use firewatch_enrich::directory::{CountryCode, Directory};
use firewatch_enrich::geo::GeoData;
use firewatch_enrich::routing::{RouteHints, Router};

const BATCH: usize = 4096;

fn main() {
    let g = geo();
    let (s4, s6) = g.table().segment_counts();
    eprintln!(
        "GeoData: {} v4 + {} v6 segments, {} AS names, {:.1} MiB; MMDB: {:.1} MiB; version {}",
        s4,
        s6,
        g.name_count(),
        g.memory_bytes() as f64 / 1048576.0,
        mmdb_bytes().len() as f64 / 1048576.0,
        g.version()
    );
    let at = attributor();
    let (a4, a6) = at.segment_counts();
    eprintln!(
        "Attributor: {} teams, {} v4 + {} v6 segments, {:.1} MiB",
        directory().teams.len(),
        a4,
        a6,
        at.memory_bytes() as f64 / 1048576.0
    );
    divan::main();
}

/// `examples/teams.toml` plus teams claiming real networks, countries and regions.
fn directory() -> &'static Directory {
    static D: OnceLock<Directory> = OnceLock::new();
    D.get_or_init(|| {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/teams.toml");
        let mut text = std::fs::read_to_string(path).expect("examples/teams.toml");
        let extra: &[(&str, &str, &str)] = &[
            ("us-cert", "countries = [\"US\"], asns = [15169, 16509]", ""),
            ("jp-cert", "countries = [\"JP\"], prefixes = [\"133.0.0.0/8\"]", ""),
            ("de-cert", "countries = [\"DE\"], asns = [3320]", ""),
            ("cn-cert", "countries = [\"CN\"], asns = [4134, 4837]", ""),
            ("br-cert", "countries = [\"BR\"]", ""),
            ("eu-coord", "prefixes = [\"2a00::/12\"]", "regional_coordinator_for = [\"FR\", \"NL\", \"GB\", \"IT\", \"ES\"]"),
            ("cloud-psirt", "asns = [13335, 8075], prefixes = [\"1.1.1.0/24\", \"2606:4700::/32\"]", ""),
        ];
        for (id, constituency, more) in extra {
            text.push_str(&format!(
                "\n[[teams]]\nid = \"{id}\"\nname = \"{id}\"\nkind = \"other\"\nmax_tlp = \"green\"\n{more}\nconstituency = {{ {constituency} }}\n"
            ));
        }
        let policy = firewatch_enrich::directory::ValidationPolicy {
            allow_nested_prefixes: true,
        };
        Directory::from_toml_str_with(&text, "bench-teams.toml", &policy).expect("directory")
    })
}

fn attributor() -> &'static Attributor {
    static A: OnceLock<Attributor> = OnceLock::new();
    A.get_or_init(|| {
        let t = std::time::Instant::now();
        let a = Attributor::new(geo(), directory());
        eprintln!("Attributor::new: {:.2} s", t.elapsed().as_secs_f64());
        a
    })
}

fn router() -> &'static Router {
    static R: OnceLock<Router> = OnceLock::new();
    R.get_or_init(|| Router::new(directory()))
}

fn geo() -> &'static GeoData {
    static G: OnceLock<GeoData> = OnceLock::new();
    G.get_or_init(|| GeoData::embedded().expect("embedded data"))
}

fn mmdb_bytes() -> &'static [u8] {
    static M: OnceLock<Vec<u8>> = OnceLock::new();
    M.get_or_init(|| geo().to_mmdb())
}

fn mmdb() -> &'static maxminddb::Reader<&'static [u8]> {
    static R: OnceLock<maxminddb::Reader<&'static [u8]>> = OnceLock::new();
    R.get_or_init(|| maxminddb::Reader::from_source(mmdb_bytes()).expect("mmdb"))
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Uniform random IPv4 addresses (most of the space is allocated).
fn random_v4(n: usize) -> Vec<IpAddr> {
    let mut r = Rng(0x1234_5678_9abc_def1);
    (0..n)
        .map(|_| IpAddr::from(std::net::Ipv4Addr::from(r.next() as u32)))
        .collect()
}

/// Skewed "real-world" mix: 80 % IPv4, 20 % IPv6; the range is chosen with a power law over the
/// table's segments (index = n·u⁴, so low-numbered networks are hot), the address uniformly
/// inside it.
fn skewed() -> Vec<IpAddr> {
    let g = geo();
    let v4: Vec<(u32, u32)> = g.table().segments_v4().map(|(s, e, _)| (s, e)).collect();
    let v6: Vec<(u128, u128)> = g.table().segments_v6().map(|(s, e, _)| (s, e)).collect();
    let mut r = Rng(0xdead_beef_cafe_f00d);
    (0..BATCH)
        .map(|i| {
            let u = r.unit().powi(4);
            if i % 5 == 4 {
                let (s, e) = v6[(u * v6.len() as f64) as usize % v6.len()];
                let off = (u128::from(r.next()) << 64 | u128::from(r.next())) % (e - s).max(1);
                IpAddr::from(std::net::Ipv6Addr::from(s + off))
            } else {
                let (s, e) = v4[(u * v4.len() as f64) as usize % v4.len()];
                let off = r.next() as u32 % (e - s).max(1);
                IpAddr::from(std::net::Ipv4Addr::from(s + off))
            }
        })
        .collect()
}

fn addrs(set: &str) -> Vec<IpAddr> {
    match set {
        "random_v4" => random_v4(BATCH),
        // 1 Mi distinct addresses per iteration: working set far larger than the caches hold.
        "random_v4_1Mi" => random_v4(1 << 20),
        _ => skewed(),
    }
}

const SETS: &[&str] = &["random_v4", "random_v4_1Mi", "skewed_v4_v6"];

/// Firewatch: country + ASN + AS name in one lookup.
#[divan::bench(args = SETS)]
fn firewatch_geo(b: Bencher, set: &str) {
    let g = geo();
    let a = addrs(set);
    b.counter(ItemsCount::new(a.len())).bench(|| {
        let mut n = 0u64;
        for &x in &a {
            let r = g.lookup(divan::black_box(x));
            n += u64::from(r.asn.unwrap_or(0))
                + u64::from(r.country.map_or(0, |c| c.bytes()[0]))
                + r.as_name.map_or(0, |s| s.len() as u64);
        }
        n
    });
}

/// `maxminddb` on an MMDB written from the same data: country + ASN + AS name in one lookup.
#[divan::bench(args = SETS)]
fn maxminddb_same_data(b: Bencher, set: &str) {
    #[derive(serde::Deserialize)]
    struct C<'a> {
        iso_code: Option<&'a str>,
    }
    #[derive(serde::Deserialize)]
    struct R<'a> {
        #[serde(borrow)]
        country: Option<C<'a>>,
        autonomous_system_number: Option<u32>,
        autonomous_system_organization: Option<&'a str>,
    }
    let m = mmdb();
    let a = addrs(set);
    b.counter(ItemsCount::new(a.len())).bench(|| {
        let mut n = 0u64;
        for &x in &a {
            if let Ok(Some(r)) = m.lookup::<R>(divan::black_box(x)) {
                n += u64::from(r.autonomous_system_number.unwrap_or(0))
                    + r.country
                        .and_then(|c| c.iso_code)
                        .map_or(0, |c| c.len() as u64)
                    + r.autonomous_system_organization
                        .map_or(0, |s| s.len() as u64);
            }
        }
        n
    });
}

/// `iptocc`: country only.
#[divan::bench(args = SETS)]
fn iptocc_country_only(b: Bencher, set: &str) {
    let a = addrs(set);
    b.counter(ItemsCount::new(a.len())).bench(|| {
        let mut n = 0u64;
        for &x in &a {
            n += iptocc::country_code(divan::black_box(x)).map_or(0, |c| c.len() as u64);
        }
        n
    });
}

/// Firewatch: country + ASN + AS name + team in one `Attributor::attribute` call.
#[divan::bench(args = SETS)]
fn firewatch_attribute(b: Bencher, set: &str) {
    let at = attributor();
    let a = addrs(set);
    b.counter(ItemsCount::new(a.len())).bench(|| {
        let mut n = 0u64;
        for &x in &a {
            let r = at.attribute(divan::black_box(x));
            n += u64::from(r.asn.unwrap_or(0))
                + u64::from(r.country.map_or(0, |c| c.bytes()[0]))
                + r.as_name.map_or(0, |s| s.len() as u64)
                + r.team.map_or(0, |t| t.as_str().len() as u64)
                + u64::from(r.conflict);
        }
        n
    });
}

/// The two-step equivalent: `GeoData::lookup`, then `Router::route` with its ASN and country.
#[divan::bench(args = SETS)]
fn geo_then_router(b: Bencher, set: &str) {
    let g = geo();
    let router = router();
    let a = addrs(set);
    b.counter(ItemsCount::new(a.len())).bench(|| {
        let mut n = 0u64;
        for &x in &a {
            let x = divan::black_box(x);
            let r = g.lookup(x);
            let hints = RouteHints {
                asn: r.asn,
                country: r.country.and_then(|c| CountryCode::new(c.bytes())),
                ..RouteHints::default()
            };
            let d = router.route(x, &hints);
            n += u64::from(r.asn.unwrap_or(0))
                + u64::from(r.country.map_or(0, |c| c.bytes()[0]))
                + r.as_name.map_or(0, |s| s.len() as u64)
                + d.team.map_or(0, |t| t.as_str().len() as u64)
                + u64::from(d.is_conflict());
        }
        n
    });
}
