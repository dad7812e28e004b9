//! Constituency routing: a table of overlapping claims, conflicts, explanations, live reload,
//! and a property test that routing never panics.

use firewatch_enrich::directory::{
    Constituency, CountryCode, Directory, Team, TeamId, TeamKind, TlpLevel, ValidationPolicy,
};
use firewatch_enrich::routing::{LiveDirectory, RouteHints, RouteRule, Router};
use ipnet::IpNet;
use proptest::prelude::*;
use std::net::IpAddr;

const DIRECTORY: &str = r#"
[[teams]]
id = "national"
name = "National CSIRT"
kind = "national-csirt"
max_tlp = "amber"
constituency = { countries = ["KE"], asns = [64496], prefixes = ["203.0.113.0/24", "2001:db8::/32"], domains = ["example.ke"] }

[[teams]]
id = "campus"
name = "Campus CSIRT"
kind = "academia"
max_tlp = "green"
constituency = { prefixes = ["203.0.113.128/25", "2001:db8:1::/48"], asns = [64497], domains = ["uni.example.ke"] }

[[teams]]
id = "lab"
name = "Lab SOC"
kind = "soc"
max_tlp = "green"
constituency = { prefixes = ["203.0.113.192/26"] }

[[teams]]
id = "gov-a"
name = "Government CSIRT A"
kind = "ncsc"
max_tlp = "amber"
constituency = { countries = ["TZ"], asns = [64500] }

[[teams]]
id = "gov-b"
name = "Government CSIRT B"
kind = "national-csirt"
max_tlp = "amber"
constituency = { countries = ["TZ"], asns = [64500] }

[[teams]]
id = "coord"
name = "Regional Coordinator"
kind = "other"
max_tlp = "amber"
regional_coordinator_for = ["UG", "RW", "KE"]

[[teams]]
id = "catch-all"
name = "Catch-all"
kind = "soc"
max_tlp = "green"
default = true
"#;

fn directory() -> Directory {
    let policy = ValidationPolicy {
        allow_nested_prefixes: true,
    };
    Directory::from_toml_str_with(DIRECTORY, "routing.toml", &policy)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn cc(s: &str) -> Option<CountryCode> {
    Some(s.parse().unwrap())
}

/// (address, hints, expected team, expected rule, expected conflicts)
type Row = (
    &'static str,
    RouteHints<'static>,
    Option<&'static str>,
    &'static str,
    &'static [&'static str],
);

#[test]
fn routing_table() {
    let router = Router::new(&directory());
    let none = RouteHints::default();
    let table: Vec<Row> = vec![
        // Nested prefixes of different teams: the longest wins.
        (
            "203.0.113.7",
            none,
            Some("national"),
            "prefix 203.0.113.0/24",
            &[],
        ),
        (
            "203.0.113.130",
            none,
            Some("campus"),
            "prefix 203.0.113.128/25",
            &[],
        ),
        (
            "203.0.113.200",
            none,
            Some("lab"),
            "prefix 203.0.113.192/26",
            &[],
        ),
        (
            "203.0.113.255",
            none,
            Some("lab"),
            "prefix 203.0.113.192/26",
            &[],
        ),
        (
            "203.0.113.0",
            none,
            Some("national"),
            "prefix 203.0.113.0/24",
            &[],
        ),
        (
            "2001:db8:1::5",
            none,
            Some("campus"),
            "prefix 2001:db8:1::/48",
            &[],
        ),
        (
            "2001:db8:2::5",
            none,
            Some("national"),
            "prefix 2001:db8::/32",
            &[],
        ),
        // A prefix beats the ASN and the country.
        (
            "203.0.113.9",
            RouteHints {
                asn: Some(64497),
                country: cc("TZ"),
                ..none
            },
            Some("national"),
            "prefix 203.0.113.0/24",
            &[],
        ),
        // ASN beats country.
        (
            "198.51.100.1",
            RouteHints {
                asn: Some(64497),
                country: cc("KE"),
                ..none
            },
            Some("campus"),
            "asn 64497",
            &[],
        ),
        // Domain: the longest suffix wins, subdomains are covered, case does not matter.
        (
            "198.51.100.1",
            RouteHints {
                domain: Some("www.Uni.Example.KE."),
                country: cc("KE"),
                ..none
            },
            Some("campus"),
            "domain uni.example.ke",
            &[],
        ),
        (
            "198.51.100.1",
            RouteHints {
                domain: Some("mail.example.ke"),
                ..none
            },
            Some("national"),
            "domain example.ke",
            &[],
        ),
        (
            "198.51.100.1",
            RouteHints {
                domain: Some("notexample.ke"),
                country: cc("KE"),
                ..none
            },
            Some("national"),
            "country KE",
            &[],
        ),
        // Regional coordinator for a country nobody claims; a claimed country is not theirs.
        (
            "198.51.100.1",
            RouteHints {
                country: cc("UG"),
                ..none
            },
            Some("coord"),
            "coordinator UG",
            &[],
        ),
        (
            "198.51.100.1",
            RouteHints {
                country: cc("KE"),
                ..none
            },
            Some("national"),
            "country KE",
            &[],
        ),
        // Default for everything else.
        (
            "192.0.2.1",
            RouteHints {
                country: cc("FR"),
                asn: Some(64511),
                ..none
            },
            Some("catch-all"),
            "default",
            &[],
        ),
        ("::1", none, Some("catch-all"), "default", &[]),
        // Same claim by two teams: reported, no winner, no fallback.
        (
            "198.51.100.1",
            RouteHints {
                country: cc("TZ"),
                ..none
            },
            None,
            "country TZ",
            &["gov-a", "gov-b"],
        ),
        (
            "198.51.100.1",
            RouteHints {
                asn: Some(64500),
                country: cc("KE"),
                ..none
            },
            None,
            "asn 64500",
            &["gov-a", "gov-b"],
        ),
    ];
    for (addr, hints, team, rule, conflicts) in table {
        let d = router.route(addr.parse().unwrap(), &hints);
        let got_rule = match d.rule {
            RouteRule::Prefix(n) => format!("prefix {n}"),
            RouteRule::Asn(a) => format!("asn {a}"),
            RouteRule::Domain(x) => format!("domain {x}"),
            RouteRule::Country(c) => format!("country {c}"),
            RouteRule::RegionalCoordinator(c) => format!("coordinator {c}"),
            RouteRule::Default => "default".into(),
            RouteRule::Unclaimed => "unclaimed".into(),
        };
        let ctx = format!("{addr} {hints:?}: {}", d.explain());
        assert_eq!(d.team.map(TeamId::as_str), team, "{ctx}");
        assert_eq!(got_rule, rule, "{ctx}");
        let got: Vec<_> = d.conflicts.iter().map(TeamId::as_str).collect();
        assert_eq!(got, conflicts, "{ctx}");
    }
}

#[test]
fn explanations() {
    let router = Router::new(&directory());
    let v = Some("ip-asn@abc123");
    let ex = |addr: &str, hints: RouteHints| router.route(addr.parse().unwrap(), &hints).explain();
    assert_eq!(
        ex(
            "203.0.113.7",
            RouteHints {
                data_version: v,
                ..Default::default()
            }
        ),
        "203.0.113.7: prefix 203.0.113.0/24 claimed by team national (dataset ip-asn@abc123)"
    );
    assert_eq!(
        ex(
            "198.51.100.1",
            RouteHints {
                asn: Some(64497),
                ..Default::default()
            }
        ),
        "198.51.100.1: AS64497 claimed by team campus"
    );
    assert_eq!(
        ex(
            "198.51.100.1",
            RouteHints {
                domain: Some("www.uni.example.ke"),
                ..Default::default()
            }
        ),
        "198.51.100.1: domain www.uni.example.ke is under uni.example.ke, claimed by team campus"
    );
    assert_eq!(
        ex(
            "198.51.100.1",
            RouteHints {
                country: cc("TZ"),
                data_version: v,
                ..Default::default()
            }
        ),
        "198.51.100.1: country TZ claimed by 2 teams (gov-a, gov-b): conflict left unresolved, \
         no team chosen; fix the directory (dataset ip-asn@abc123)"
    );
    assert_eq!(
        ex(
            "198.51.100.1",
            RouteHints {
                country: cc("RW"),
                ..Default::default()
            }
        ),
        "198.51.100.1: no team claims country RW; regional coordinator for RW is team coord"
    );
    assert_eq!(
        ex("192.0.2.1", RouteHints::default()),
        "192.0.2.1: no team claims this address; default team catch-all"
    );
    let empty = Router::new(&Directory::default());
    let d = empty.route("192.0.2.1".parse().unwrap(), &RouteHints::default());
    assert_eq!(d.rule, RouteRule::Unclaimed);
    assert_eq!(
        d.explain(),
        "192.0.2.1: no team claims this address and the directory has no default team"
    );
}

#[test]
fn candidates_list_every_matching_claim() {
    let router = Router::new(&directory());
    let hints = RouteHints {
        asn: Some(64496),
        country: cc("KE"),
        domain: Some("a.uni.example.ke"),
        data_version: None,
    };
    let c = router.candidates("203.0.113.250".parse().unwrap(), &hints);
    let rules: Vec<String> = c
        .iter()
        .map(|c| format!("{:?}:{}", c.rule, c.teams[0]))
        .collect();
    assert_eq!(
        rules,
        [
            "Prefix(203.0.113.192/26):lab",
            "Prefix(203.0.113.128/25):campus",
            "Prefix(203.0.113.0/24):national",
            "Asn(64496):national",
            "Domain(\"uni.example.ke\"):campus",
            "Domain(\"example.ke\"):national",
            "Country(CountryCode(\"KE\")):national",
            "RegionalCoordinator(CountryCode(\"KE\")):coord",
            "Default:catch-all",
        ]
        .map(String::from)
        .to_vec()
        .iter()
        .map(|s| s.replace("CountryCode(\"KE\")", &format!("{:?}", cc("KE").unwrap())))
        .collect::<Vec<_>>()
    );
}

#[test]
fn unvalidated_same_prefix_is_a_reported_conflict() {
    let mk = |id: &str| Team {
        id: TeamId::new(id),
        name: id.into(),
        kind: TeamKind::Other,
        country: None,
        constituency: Constituency {
            prefixes: vec!["192.0.2.0/24".parse().unwrap()],
            ..Default::default()
        },
        contacts: vec![],
        openpgp: None,
        max_tlp: TlpLevel::Green,
        memberships: vec![],
        national_poc: false,
        regional_coordinator_for: vec![],
        default: false,
    };
    let dir = Directory {
        teams: vec![mk("x"), mk("y")],
    };
    assert!(dir.validate(&ValidationPolicy::default()).is_err());
    let router = Router::new(&dir);
    let d = router.route("192.0.2.99".parse().unwrap(), &RouteHints::default());
    assert_eq!(d.team, None);
    assert!(d.is_conflict());
    assert_eq!(d.conflicts.len(), 2);
}

#[test]
fn failed_reload_keeps_the_loaded_directory() {
    let live = LiveDirectory::new(directory(), "routing.toml");
    let bad = format!(
        "{DIRECTORY}\n[[teams]]\nid = \"intruder\"\nname = \"X\"\nkind = \"soc\"\nmax_tlp = \"green\"\nconstituency = {{ prefixes = [\"203.0.113.0/24\"] }}\n"
    );
    let policy = ValidationPolicy {
        allow_nested_prefixes: true,
    };
    let err = live
        .reload_toml(&bad, "routing.toml", &policy)
        .unwrap_err()
        .to_string();
    assert!(err.contains("routing.toml:56: team `intruder`"), "{err}");
    assert!(err.contains("also claimed by team `national`"), "{err}");
    let snap = live.snapshot();
    assert_eq!(snap.directory.teams.len(), 7);
    let d = snap
        .router
        .route("203.0.113.1".parse().unwrap(), &RouteHints::default());
    assert_eq!(d.team.unwrap().as_str(), "national");

    let good = DIRECTORY.replace("\"lab\"", "\"lab2\"");
    live.reload_toml(&good, "routing.toml", &policy).unwrap();
    let snap = live.snapshot();
    let d = snap
        .router
        .route("203.0.113.200".parse().unwrap(), &RouteHints::default());
    assert_eq!(d.team.unwrap().as_str(), "lab2");
}

/// A brute-force router: the expected answer, by scanning every claim.
fn brute_force(dir: &Directory, addr: IpAddr) -> (Option<IpNet>, Vec<String>) {
    let mut best: Option<IpNet> = None;
    for t in &dir.teams {
        for n in &t.constituency.prefixes {
            let n = n.trunc();
            if n.contains(&addr) && best.is_none_or(|b| n.prefix_len() > b.prefix_len()) {
                best = Some(n);
            }
        }
    }
    let mut teams: Vec<String> = dir
        .teams
        .iter()
        .filter(|t| best.is_some_and(|b| t.constituency.prefixes.iter().any(|n| n.trunc() == b)))
        .map(|t| t.id.to_string())
        .collect();
    teams.sort();
    teams.dedup();
    (best, teams)
}

fn arb_net() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        // Concentrated in a small space so that claims nest and collide.
        (any::<u8>(), 16u8..=32).prop_map(|(b, len)| {
            let a = std::net::Ipv4Addr::new(198, 51, 100, b);
            IpNet::new(IpAddr::V4(a), len).unwrap()
        }),
        (any::<u32>(), 0u8..=32)
            .prop_map(|(a, len)| { IpNet::new(IpAddr::V4(a.into()), len).unwrap() }),
        (any::<u128>(), 0u8..=128)
            .prop_map(|(a, len)| { IpNet::new(IpAddr::V6(a.into()), len).unwrap() }),
    ]
}

fn arb_team(i: usize) -> impl Strategy<Value = Team> {
    (
        proptest::collection::vec(arb_net(), 0..4),
        proptest::collection::vec(64496u32..64500, 0..2),
        proptest::collection::vec(prop_oneof![Just("KE"), Just("JP"), Just("ZZ")], 0..2),
        any::<bool>(),
    )
        .prop_map(move |(prefixes, asns, countries, default)| Team {
            id: TeamId::new(format!("t{i}")),
            name: format!("Team {i}"),
            kind: TeamKind::Other,
            country: None,
            constituency: Constituency {
                countries: countries.iter().map(|c| c.parse().unwrap()).collect(),
                asns,
                prefixes,
                domains: vec!["example.org".into()],
            },
            contacts: vec![],
            openpgp: None,
            max_tlp: TlpLevel::Green,
            memberships: vec![],
            national_poc: false,
            regional_coordinator_for: countries.iter().map(|c| c.parse().unwrap()).collect(),
            default,
        })
}

fn arb_directory() -> impl Strategy<Value = Directory> {
    (0usize..6)
        .prop_flat_map(|n| (0..n).map(arb_team).collect::<Vec<_>>())
        .prop_map(|teams| Directory { teams })
}

fn arb_addr() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u8>().prop_map(|b| IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, b))),
        any::<u32>().prop_map(|a| IpAddr::V4(a.into())),
        any::<u128>().prop_map(|a| IpAddr::V6(a.into())),
        Just(IpAddr::V4(std::net::Ipv4Addr::BROADCAST)),
        Just(IpAddr::V6(std::net::Ipv6Addr::from(u128::MAX))),
    ]
}

proptest! {
    #[test]
    fn route_never_panics_and_matches_brute_force(
        dir in arb_directory(),
        addrs in proptest::collection::vec(arb_addr(), 1..16),
        asn in proptest::option::of(64490u32..64502),
        domain in proptest::option::of(prop_oneof![Just("a.example.org"), Just("example.org."), Just(""), Just("."), Just("x")]),
    ) {
        let router = Router::new(&dir);
        let _ = dir.validate(&ValidationPolicy::default());
        for addr in addrs {
            let hints = RouteHints { asn, country: "KE".parse().ok(), domain, data_version: Some("v") };
            let d = router.route(addr, &hints);
            let _ = d.explain();
            let _ = router.candidates(addr, &hints);
            let (best, teams) = brute_force(&dir, addr);
            match best {
                Some(net) => {
                    prop_assert_eq!(d.rule, RouteRule::Prefix(net));
                    let got: Vec<String> = match d.team {
                        Some(t) => vec![t.to_string()],
                        None => d.conflicts.iter().map(|t| t.to_string()).collect(),
                    };
                    prop_assert_eq!(got, teams);
                }
                None => prop_assert!(!matches!(d.rule, RouteRule::Prefix(_))),
            }
            prop_assert!(d.team.is_none() || d.conflicts.is_empty());
        }
    }
}
