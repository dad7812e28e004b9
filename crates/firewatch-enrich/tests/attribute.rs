//! `Attributor` (country + ASN + AS name + team in one lookup) must agree with
//! `GeoData::lookup` followed by `Router::route` with the geo ASN and country as hints: on the
//! embedded data with `examples/teams.toml` plus real-world claims, on random directories over
//! the embedded data, and on random small datasets with random directories.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use firewatch_enrich::attribute::Attributor;
use firewatch_enrich::directory::{
    Constituency, CountryCode, Directory, Team, TeamId, TeamKind, TlpLevel,
};
use firewatch_enrich::geo::{GeoBuilder, GeoData};
use firewatch_enrich::routing::{RouteHints, Router};
use ipnet::IpNet;
use proptest::prelude::*;

fn embedded() -> &'static GeoData {
    static G: OnceLock<GeoData> = OnceLock::new();
    G.get_or_init(|| GeoData::embedded().expect("embedded data loads"))
}

fn team(id: &str, c: Constituency, coord: &[&str], default: bool) -> Team {
    Team {
        id: TeamId::new(id),
        name: id.into(),
        kind: TeamKind::Other,
        country: None,
        constituency: c,
        contacts: vec![],
        openpgp: None,
        max_tlp: TlpLevel::Green,
        memberships: vec![],
        national_poc: false,
        regional_coordinator_for: coord.iter().map(|c| c.parse().unwrap()).collect(),
        default,
    }
}

fn ccs(list: &[&str]) -> Vec<CountryCode> {
    list.iter().map(|c| c.parse().unwrap()).collect()
}

fn nets(list: &[&str]) -> Vec<IpNet> {
    list.iter().map(|c| c.parse().unwrap()).collect()
}

/// `examples/teams.toml` plus claims that hit real data: prefixes (nested), ASNs, countries,
/// coordinators, and disputed claims (two teams on `DE`, two on AS3320).
fn example_directory() -> Directory {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/teams.toml");
    let mut dir = Directory::load_toml_file(&path).expect("examples/teams.toml loads");
    let c = |asns: &[u32], countries: &[&str], prefixes: &[&str]| Constituency {
        asns: asns.to_vec(),
        countries: ccs(countries),
        prefixes: nets(prefixes),
        domains: vec![],
    };
    dir.teams.extend([
        team(
            "google-psirt",
            c(&[15169], &[], &["8.8.8.0/24", "2001:4860::/32"]),
            &[],
            false,
        ),
        team(
            "dns-lab",
            c(&[], &[], &["8.8.8.8/32", "2001:4860:4860::8888/128"]),
            &[],
            false,
        ),
        team("us-cert", c(&[], &["US"], &["9.0.0.0/8"]), &[], false),
        team("jp-cert", c(&[2497], &["JP"], &[]), &[], false),
        team("de-a", c(&[3320], &["DE"], &[]), &[], false),
        team("de-b", c(&[3320], &["DE"], &[]), &[], false),
        team(
            "eu-coord",
            c(&[], &[], &[]),
            &["FR", "NL", "DE", "GB"],
            false,
        ),
        team("br-coord", c(&[], &[], &[]), &["BR", "AR"], false),
    ]);
    dir
}

fn reference_check(geo: &GeoData, router: &Router, at: &Attributor, addr: IpAddr) {
    let g = geo.lookup(addr);
    let hints = RouteHints {
        asn: g.asn,
        country: g.country.and_then(|c| CountryCode::new(c.bytes())),
        ..RouteHints::default()
    };
    let d = router.route(addr, &hints);
    let a = at.attribute(addr);
    assert_eq!(
        (a.country, a.asn, a.as_name),
        (g.country, g.asn, g.as_name),
        "geo differs for {addr}"
    );
    assert_eq!(a.team, d.team, "team differs for {addr}: {d}");
    assert_eq!(
        a.conflict,
        d.is_conflict(),
        "conflict differs for {addr}: {d}"
    );
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// First, last, middle address of each directory prefix, and the addresses just outside.
fn prefix_probes(dir: &Directory) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for t in &dir.teams {
        for net in &t.constituency.prefixes {
            match net.trunc() {
                IpNet::V4(n) => {
                    let (s, e) = (u32::from(n.network()), u32::from(n.broadcast()));
                    for x in [s.wrapping_sub(1), s, s + (e - s) / 2, e, e.wrapping_add(1)] {
                        out.push(IpAddr::V4(Ipv4Addr::from(x)));
                    }
                }
                IpNet::V6(n) => {
                    let (s, e) = (u128::from(n.network()), u128::from(n.broadcast()));
                    for x in [s.wrapping_sub(1), s, s + (e - s) / 2, e, e.wrapping_add(1)] {
                        out.push(IpAddr::V6(Ipv6Addr::from(x)));
                    }
                }
            }
        }
    }
    out
}

/// Random addresses: uniform IPv4, IPv6 inside random segments of the data, uniform IPv6.
fn random_probes(geo: &GeoData, seed: u64, n: usize) -> Vec<IpAddr> {
    let v6: Vec<(u128, u128)> = geo.table().segments_v6().map(|(s, e, _)| (s, e)).collect();
    let mut r = Rng(seed | 1);
    (0..n)
        .map(|i| match i % 4 {
            0 | 1 => IpAddr::V4(Ipv4Addr::from(r.next() as u32)),
            2 if !v6.is_empty() => {
                let (s, e) = v6[r.next() as usize % v6.len()];
                let off = (u128::from(r.next()) << 64 | u128::from(r.next())) % (e - s).max(1);
                IpAddr::V6(Ipv6Addr::from(s + off))
            }
            _ => IpAddr::V6(Ipv6Addr::from(
                u128::from(r.next()) << 64 | u128::from(r.next()),
            )),
        })
        .collect()
}

#[test]
fn embedded_data_with_example_directory_agrees_with_geo_plus_router() {
    let geo = embedded();
    let dir = example_directory();
    let router = Router::new(&dir);
    let at = Attributor::new(geo, &dir);
    assert_eq!(at.geo_version(), geo.version());
    for addr in prefix_probes(&dir) {
        reference_check(geo, &router, &at, addr);
    }
    for addr in random_probes(geo, 0x5eed, 200_000) {
        reference_check(geo, &router, &at, addr);
    }
    // Known answers.
    let get = |s: &str| at.attribute(s.parse().unwrap());
    assert_eq!(get("8.8.8.8").team.unwrap().as_str(), "dns-lab");
    assert_eq!(get("8.8.8.9").team.unwrap().as_str(), "google-psirt");
    let a = get("8.8.4.4");
    assert_eq!(
        (a.asn, a.team.unwrap().as_str()),
        (Some(15169), "google-psirt")
    );
    assert_eq!(a.as_name, Some("Google LLC"));
    assert_eq!(
        get("2001:4860:4860::8888").team.unwrap().as_str(),
        "dns-lab"
    );
    assert_eq!(get("192.0.2.1").team.unwrap().as_str(), "ke-example-cirt");
    // Disputed claims: no team, conflict reported.
    let a = at.attribute(
        random_probes(geo, 7, 1_000_000)
            .into_iter()
            .find(|&x| geo.lookup(x).asn == Some(3320))
            .expect("some AS3320 address"),
    );
    assert!(a.conflict && a.team.is_none(), "{a:?}");
}

#[test]
fn ipv6_country_from_iptocc_can_route() {
    // The embedded data has no IPv6 countries in the table: they come from iptocc per address,
    // and a country claim must still decide the team.
    let geo = embedded();
    let dir = Directory {
        teams: vec![
            team(
                "jp",
                Constituency {
                    countries: ccs(&["JP"]),
                    ..Default::default()
                },
                &[],
                false,
            ),
            team("fallback", Constituency::default(), &[], true),
        ],
    };
    let router = Router::new(&dir);
    let at = Attributor::new(geo, &dir);
    let mut jp = 0;
    for addr in random_probes(geo, 99, 100_000) {
        reference_check(geo, &router, &at, addr);
        if at.attribute(addr).team.is_some_and(|t| t.as_str() == "jp") && addr.is_ipv6() {
            jp += 1;
        }
    }
    assert!(jp > 0, "no IPv6 address routed by its iptocc country");
}

#[test]
fn empty_directory_and_empty_data() {
    let dir = Directory::default();
    let at = Attributor::new(&GeoBuilder::new().build(), &dir);
    let a = at.attribute("1.2.3.4".parse().unwrap());
    assert_eq!(a, Default::default());
    let at = Attributor::new(embedded(), &dir);
    let a = at.attribute("8.8.8.8".parse().unwrap());
    assert_eq!((a.asn, a.team, a.conflict), (Some(15169), None, false));
}

// ---------------------------------------------------------------------------------------------
// Random directories.

const COUNTRIES: &[&str] = &["KE", "JP", "US", "DE", "FR", "BR", "ZZ"];

/// Nets concentrated around 10.0.0.0/16 and 2001:db8::/48 (where the small datasets live) so
/// that claims nest, collide and cut data ranges; plus anywhere.
fn arb_net() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (any::<u16>(), 12u8..=32).prop_map(|(b, len)| {
            let a = Ipv4Addr::from(0x0a00_0000 | u32::from(b));
            IpNet::new(IpAddr::V4(a), len).unwrap()
        }),
        (any::<u32>(), 0u8..=32)
            .prop_map(|(a, len)| IpNet::new(IpAddr::V4(a.into()), len).unwrap()),
        (any::<u16>(), 32u8..=128).prop_map(|(b, len)| {
            let a = Ipv6Addr::from(0x2001_0db8_u128 << 96 | u128::from(b) << 64);
            IpNet::new(IpAddr::V6(a), len).unwrap()
        }),
        (any::<u128>(), 0u8..=128)
            .prop_map(|(a, len)| IpNet::new(IpAddr::V6(a.into()), len).unwrap()),
    ]
}

fn arb_team(i: usize, asns: Vec<u32>) -> impl Strategy<Value = Team> {
    (
        proptest::collection::vec(arb_net(), 0..4),
        proptest::collection::vec(proptest::sample::select(asns), 0..3),
        proptest::collection::vec(proptest::sample::select(COUNTRIES), 0..2),
        proptest::collection::vec(proptest::sample::select(COUNTRIES), 0..2),
        proptest::bool::weighted(0.2),
    )
        .prop_map(move |(prefixes, asns, countries, coord, default)| {
            team(
                &format!("t{i}"),
                Constituency {
                    countries: ccs(&countries),
                    asns,
                    prefixes,
                    domains: vec!["example.org".into()],
                },
                &coord,
                default,
            )
        })
}

fn arb_directory(asns: Vec<u32>) -> impl Strategy<Value = Directory> {
    (0usize..7)
        .prop_flat_map(move |n| {
            (0..n)
                .map(|i| arb_team(i, asns.clone()))
                .collect::<Vec<_>>()
        })
        .prop_map(|teams| Directory { teams })
}

/// A small random dataset as TSV rows in 10.0.0.0/16 and 2001:db8::/48, ASNs 64496..64504.
fn arb_tsv() -> impl Strategy<Value = String> {
    let row = (
        any::<bool>(),
        any::<u16>(),
        0u32..4096,
        64495u32..64504, // 64495 stands for ASN 0 (not routed)
        proptest::sample::select(COUNTRIES),
    )
        .prop_map(|(v6, start, len, asn, cc)| {
            let asn = if asn == 64495 { 0 } else { asn };
            let cc = if cc == "ZZ" { "None" } else { cc };
            if v6 {
                let s = 0x2001_0db8_u128 << 96 | u128::from(start) << 64;
                let e = s + (u128::from(len) << 60);
                format!(
                    "{}\t{}\t{asn}\t{cc}\tAS{asn} org\n",
                    Ipv6Addr::from(s),
                    Ipv6Addr::from(e)
                )
            } else {
                let s = 0x0a00_0000 | u32::from(start);
                let e = s.saturating_add(len);
                format!(
                    "{}\t{}\t{asn}\t{cc}\tAS{asn} org\n",
                    Ipv4Addr::from(s),
                    Ipv4Addr::from(e)
                )
            }
        });
    proptest::collection::vec(row, 0..24).prop_map(|rows| rows.concat())
}

fn small_probes(dir: &Directory, seed: u64) -> Vec<IpAddr> {
    let mut r = Rng(seed | 1);
    let mut out = prefix_probes(dir);
    for i in 0..400 {
        out.push(match i % 4 {
            0 => IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (r.next() as u32 & 0x1_ffff))),
            1 => IpAddr::V4(Ipv4Addr::from(r.next() as u32)),
            2 => IpAddr::V6(Ipv6Addr::from(
                0x2001_0db8_u128 << 96 | u128::from(r.next() as u32) << 60 | u128::from(r.next()),
            )),
            _ => IpAddr::V6(Ipv6Addr::from(
                u128::from(r.next()) << 64 | u128::from(r.next()),
            )),
        });
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_data_and_directories_agree(
        tsv in arb_tsv(),
        dir in arb_directory((64496u32..64504).collect()),
        seed in any::<u64>(),
    ) {
        let mut b = GeoBuilder::new();
        b.add_ip_asn_tsv_bytes("r.tsv", tsv.as_bytes()).unwrap();
        let geo = b.build();
        let router = Router::new(&dir);
        let at = Attributor::new(&geo, &dir);
        for addr in small_probes(&dir, seed) {
            reference_check(&geo, &router, &at, addr);
        }
    }
}

fn embedded_asns() -> Vec<u32> {
    let g = embedded();
    let mut v: Vec<u32> = g
        .table()
        .segments_v4()
        .step_by(997)
        .filter_map(|(_, _, v)| g.attribution(v).asn)
        .take(40)
        .collect();
    v.extend([15169, 3320, 13335]);
    v
}

proptest! {
    // Each case builds the combined table over the whole embedded dataset.
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn random_directories_on_embedded_data_agree(
        dir in arb_directory(embedded_asns()),
        seed in any::<u64>(),
    ) {
        let geo = embedded();
        let router = Router::new(&dir);
        let at = Attributor::new(geo, &dir);
        for addr in prefix_probes(&dir).into_iter().chain(random_probes(geo, seed, 20_000)) {
            reference_check(geo, &router, &at, addr);
        }
    }
}
