//! Country, ASN, AS name **and** responsible team for an address, in one allocation-free call.
//!
//! [`Attributor`] is built once from a [`GeoData`] and a [`Directory`]. It precomputes, for
//! every address range, both the geo answer and the routing decision, in one combined
//! [`PrefixTable`]: the geo ranges are split at every team-prefix boundary, and for each piece the
//! decision of [`Router::route`] (longest prefix > ASN > country > regional coordinator >
//! default, with conflicts) is computed at build time with that piece's ASN and country as
//! hints. A lookup is then one table probe; the team is the same as
//!
//! ```text
//! let g = geo.lookup(addr);
//! router.route(addr, &RouteHints { asn: g.asn, country: g.country (as directory code), domain: None, .. })
//! ```
//!
//! Domain claims are not used (an address alone has no domain): for events that carry a host
//! name, call [`Router::route`] (available as [`Attributor::router`]) with the domain hint.
//!
//! The one exception to "one probe" is IPv6 with the `iptocc` country fallback
//! ([`crate::geo::GeoBuilder::iptocc_countries`]): where the table has no IPv6 country, the
//! country is asked of `iptocc` per address (as [`GeoData::lookup`] does), and when that country
//! can change the team (no prefix or ASN claim decided it) the router is consulted for it.
//!
//! ```
//! use firewatch_enrich::attribute::Attributor;
//! use firewatch_enrich::directory::Directory;
//! use firewatch_enrich::geo::GeoBuilder;
//!
//! let mut b = GeoBuilder::new();
//! b.add_ip_asn_tsv_bytes("t.tsv", b"198.51.100.0\t198.51.100.255\t64500\tJP\tExample JP\n")
//!     .unwrap();
//! let geo = b.build();
//! let dir = Directory::from_toml_str(r#"
//! [[teams]]
//! id = "jp-team"
//! name = "JP team"
//! kind = "national-csirt"
//! max_tlp = "amber"
//! constituency = { countries = ["JP"] }
//! "#, "teams.toml").unwrap();
//! let at = Attributor::new(&geo, &dir);
//! let a = at.attribute("198.51.100.7".parse().unwrap());
//! assert_eq!(a.asn, Some(64500));
//! assert_eq!(a.as_name, Some("Example JP"));
//! assert_eq!(a.country.unwrap().as_str(), "JP");
//! assert_eq!(a.team.unwrap().as_str(), "jp-team");
//! assert!(!a.conflict);
//! ```

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;

use crate::directory::{self, Directory, TeamId};
use crate::geo::{self, GeoData, GeoValue, Key, PrefixTable};
use crate::routing::{RouteHints, RouteRule, Router};

/// What [`Attributor::attribute`] says about an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Attributed<'a> {
    /// Country of registration.
    pub country: Option<geo::CountryCode>,
    /// Origin autonomous system number.
    pub asn: Option<u32>,
    /// The AS organisation name.
    pub as_name: Option<&'a str>,
    /// The responsible team; `None` when no claim matched (and no default team) or when the
    /// winning claim is disputed (`conflict`).
    pub team: Option<&'a TeamId>,
    /// Several teams make the winning claim; no team is chosen (see [`crate::routing`]).
    pub conflict: bool,
}

/// Team field of a [`Cell`]: low 28 bits = index in `Attributor::teams` or [`NO_TEAM`]; bit 28
/// is always set (so the field is never zero and `Option<Cell>` stays 16 bytes); the top three
/// bits are [`CONFLICT`], [`LATE_COUNTRY`] and [`REROUTE`].
const TEAM_MASK: u32 = (1 << 28) - 1;
const PRESENT: u32 = 1 << 28;
const NO_TEAM: u32 = TEAM_MASK;
/// The winning claim is disputed.
const CONFLICT: u32 = 1 << 31;
/// IPv6 only: the table has no country here and `iptocc` is to be asked per address.
const LATE_COUNTRY: u32 = 1 << 30;
/// With [`LATE_COUNTRY`]: the stored team was decided without a country and no prefix or ASN
/// claim decided it, so a country from `iptocc` may change it: ask the router.
const REROUTE: u32 = 1 << 29;

/// The combined table's value: the geo answer and the team decision, 16 bytes inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cell {
    geo: GeoValue,
    team: NonZeroU32,
}

const MISS: Cell = Cell {
    geo: GeoValue::EMPTY,
    team: NonZeroU32::new(NO_TEAM | PRESENT).unwrap(),
};

/// Index of a country code (two uppercase ASCII letters) in [`Attributor::by_country`].
#[inline]
fn country_slot(c: geo::CountryCode) -> usize {
    let [a, b] = c.bytes();
    usize::from(a.wrapping_sub(b'A')) * 26 + usize::from(b.wrapping_sub(b'A'))
}

/// Country, ASN, AS name and team in one lookup; see the [module documentation](self).
///
/// Owns everything it needs (a copy of the AS-name arena, the team ids, a [`Router`]), so it
/// can be shared between threads and rebuilt and swapped whole when either the geo data or the
/// directory changes.
#[derive(Debug, Clone)]
pub struct Attributor {
    table: PrefixTable<Cell>,
    arena: String,
    teams: Vec<TeamId>,
    router: Router,
    /// For [`REROUTE`] cells: the team field decided by the country alone (country claim >
    /// regional coordinator > default), per [`country_slot`]; empty when no cell needs it.
    by_country: Vec<u32>,
    geo_version: String,
}

fn dir_country(c: Option<geo::CountryCode>) -> Option<directory::CountryCode> {
    c.and_then(|c| directory::CountryCode::new(c.bytes()))
}

/// Every first address and every last-address-plus-one of the team prefixes of one family.
fn claim_cuts(dir: &Directory, v6: bool) -> Vec<u128> {
    let mut cuts = Vec::new();
    for team in &dir.teams {
        for net in &team.constituency.prefixes {
            let net = net.trunc();
            let (first, last, is_v6) = match net {
                ipnet::IpNet::V4(n) => (
                    u128::from(u32::from(n.network())),
                    u128::from(u32::from(n.broadcast())),
                    false,
                ),
                ipnet::IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast()), true),
            };
            if is_v6 == v6 {
                cuts.push(first);
                if let Some(n) = last.checked_add(1) {
                    cuts.push(n);
                }
            }
        }
    }
    cuts
}

impl Attributor {
    /// Precomputes the combined table. Takes about as long as a few hundred thousand routing
    /// decisions per family (well under a second on the embedded dataset, release build).
    pub fn new(geo: &GeoData, dir: &Directory) -> Attributor {
        let router = Router::new(dir);
        let teams: Vec<TeamId> = dir.teams.iter().map(|t| t.id.clone()).collect();
        let mut index: HashMap<&str, u32> = HashMap::with_capacity(teams.len());
        for (i, t) in teams.iter().enumerate() {
            index.entry(t.as_str()).or_insert(i as u32);
        }
        assert!(teams.len() < NO_TEAM as usize, "too many teams");
        const _: () = assert!(std::mem::size_of::<Option<Cell>>() == 16);
        let fallback = geo.iptocc_v6_fallback();
        let encode = |d: &crate::routing::RouteDecision<'_>| -> u32 {
            let mut team = d
                .team
                .and_then(|t| index.get(t.as_str()).copied())
                .unwrap_or(NO_TEAM)
                | PRESENT;
            if d.is_conflict() {
                team |= CONFLICT;
            }
            team
        };
        let by_country: RefCell<Vec<u32>> = RefCell::new(Vec::new());
        let cell_at = |addr: IpAddr, v: Option<GeoValue>| -> Cell {
            let gv = v.unwrap_or(GeoValue::EMPTY);
            let a = geo::decode("", gv);
            let hints = RouteHints {
                asn: a.asn,
                country: dir_country(a.country),
                ..RouteHints::default()
            };
            let d = router.route(addr, &hints);
            let mut team = encode(&d);
            if fallback && addr.is_ipv6() && a.country.is_none() {
                team |= LATE_COUNTRY;
                // The country only matters below the prefix and ASN levels.
                if !matches!(d.rule, RouteRule::Prefix(_) | RouteRule::Asn(_)) {
                    team |= REROUTE;
                    // Here no prefix and no ASN claim matched, so routing this address with
                    // each country gives the country-level decision, the same everywhere.
                    let mut bc = by_country.borrow_mut();
                    if bc.is_empty() {
                        for x in b'A'..=b'Z' {
                            for y in b'A'..=b'Z' {
                                let h = RouteHints {
                                    asn: a.asn,
                                    country: directory::CountryCode::new([x, y]),
                                    ..RouteHints::default()
                                };
                                bc.push(encode(&router.route(addr, &h)));
                            }
                        }
                    }
                }
            }
            Cell {
                geo: gv,
                team: NonZeroU32::new(team).unwrap_or(MISS.team),
            }
        };
        let v4 = combine(
            geo.table().segments_v4(),
            claim_cuts(dir, false)
                .into_iter()
                .map(|c| c as u32)
                .collect(),
            |k| {
                cell_at(
                    IpAddr::from(std::net::Ipv4Addr::from(k)),
                    geo.table().get_v4(k),
                )
            },
        );
        let v6 = combine(geo.table().segments_v6(), claim_cuts(dir, true), |k| {
            cell_at(
                IpAddr::from(std::net::Ipv6Addr::from(k)),
                geo.table().get_v6(k),
            )
        });
        Attributor {
            table: PrefixTable::from_disjoint(&v4, &v6),
            arena: geo.arena().to_string(),
            teams,
            router,
            by_country: by_country.into_inner(),
            geo_version: geo.version().to_string(),
        }
    }

    /// Country, ASN, AS name and team for `addr`: one table probe, no allocation. The team is
    /// the one [`Router::route`] gives with the ASN and country of [`GeoData::lookup`] as hints
    /// and no domain.
    #[inline]
    pub fn attribute(&self, addr: IpAddr) -> Attributed<'_> {
        let cell = self.table.get(addr).unwrap_or(MISS);
        let g = geo::decode(&self.arena, cell.geo);
        let code = cell.team.get();
        let mut out = Attributed {
            country: g.country,
            asn: g.asn,
            as_name: g.as_name,
            team: self.teams.get((code & TEAM_MASK) as usize),
            conflict: code & CONFLICT != 0,
        };
        if code & LATE_COUNTRY != 0 {
            self.late_country(addr, code, &mut out);
        }
        out
    }

    /// IPv6 where the table has no country: ask `iptocc` (as [`GeoData::lookup`] does) and,
    /// where the country can change the team, take the country-level decision.
    #[inline(never)]
    fn late_country<'a>(&'a self, addr: IpAddr, code: u32, out: &mut Attributed<'a>) {
        let IpAddr::V6(a) = addr else { return };
        out.country = iptocc::country_code(a).and_then(geo::CountryCode::new);
        if code & REROUTE != 0
            && let Some(c) = out.country
            && let Some(&t) = self.by_country.get(country_slot(c))
        {
            out.team = self.teams.get((t & TEAM_MASK) as usize);
            out.conflict = t & CONFLICT != 0;
        }
    }

    /// The router built from the same directory (for domain hints and explanations).
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The [`GeoData::version`] of the data this was built from.
    pub fn geo_version(&self) -> &str {
        &self.geo_version
    }

    /// Stored segments (gaps included) for IPv4 and IPv6.
    pub fn segment_counts(&self) -> (usize, usize) {
        self.table.segment_counts()
    }

    /// Heap bytes of the combined table and the AS-name arena (not the router).
    pub fn memory_bytes(&self) -> usize {
        self.table.memory_bytes() + self.arena.capacity()
    }
}

/// Cuts the whole space of one family at every geo segment boundary and every claim boundary,
/// and gives each piece the cell computed at its first address (`cell`); adjacent equal cells
/// merge in the table.
fn combine<K: Key>(
    segments: impl Iterator<Item = (K, K, GeoValue)>,
    mut cuts: Vec<K>,
    cell: impl Fn(K) -> Cell,
) -> Vec<(K, K, Cell)> {
    cuts.push(K::ZERO);
    for (s, e, _) in segments {
        cuts.push(s);
        if let Some(n) = e.succ() {
            cuts.push(n);
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut out: Vec<(K, K, Cell)> = Vec::with_capacity(cuts.len());
    for (i, &pos) in cuts.iter().enumerate() {
        let end = match cuts.get(i + 1) {
            Some(n) => n.pred().unwrap_or(K::ZERO),
            None => K::MAX,
        };
        let c = cell(pos);
        if let Some(last) = out.last_mut()
            && last.2 == c
        {
            last.1 = end;
            continue;
        }
        out.push((pos, end, c));
    }
    out
}
