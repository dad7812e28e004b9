//! Constituency routing: which team an address belongs to, and why.
//!
//! The most specific claim wins, level by level:
//!
//! 1. the longest prefix containing the address;
//! 2. the address's ASN (from the ASN data, passed in [`RouteHints::asn`]);
//! 3. the longest domain suffix of [`RouteHints::domain`] (a claim covers subdomains);
//! 4. the address's country ([`RouteHints::country`]);
//! 5. the regional coordinator of that country;
//! 6. the default team.
//!
//! When two teams make the same claim at the winning level (both claim `AS64500`, or both
//! claim country `KE`), the router does not pick one: the decision has no team, names the
//! rule and lists the conflicting teams, and its explanation says so. Lower levels are not
//! consulted, so a conflict is never hidden by a fallback.
//!
//! ```
//! use firewatch_enrich::directory::Directory;
//! use firewatch_enrich::routing::{Router, RouteHints, RouteRule};
//! let dir = Directory::from_toml_str(r#"
//! [[teams]]
//! id = "example-cert"
//! name = "Example CERT"
//! kind = "national-csirt"
//! max_tlp = "amber"
//! constituency = { prefixes = ["203.0.113.0/24"] }
//! "#, "teams.toml").unwrap();
//! let router = Router::new(&dir);
//! let hints = RouteHints { data_version: Some("ip-asn@abc123"), ..RouteHints::default() };
//! let d = router.route("203.0.113.7".parse().unwrap(), &hints);
//! assert_eq!(d.team.unwrap().as_str(), "example-cert");
//! assert!(matches!(d.rule, RouteRule::Prefix(_)));
//! assert_eq!(d.explain(),
//!     "203.0.113.7: prefix 203.0.113.0/24 claimed by team example-cert (dataset ip-asn@abc123)");
//! ```
//!
//! Routing allocates nothing: a [`RouteDecision`] borrows from the [`Router`], and the
//! explanation is only built when asked for ([`RouteDecision::explain`] or `Display`).

use crate::directory::{CountryCode, Directory, DirectoryError, TeamId, ValidationPolicy};
use arc_swap::ArcSwap;
use ipnet::IpNet;
use std::cmp::Ordering;
use std::fmt;
use std::net::IpAddr;
use std::ops::Range;
use std::sync::Arc;

/// What the caller knows about an address besides the address itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouteHints<'a> {
    /// The origin ASN of the address, from the ASN data.
    pub asn: Option<u32>,
    /// The country of the address, from the geolocation data.
    pub country: Option<CountryCode>,
    /// A DNS name tied to the event (the host name of a phishing URL, a reverse name...).
    pub domain: Option<&'a str>,
    /// The version of the data the hints came from (`ip-asn@abc123`), quoted in explanations.
    pub data_version: Option<&'a str>,
}

/// The rule that decided a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteRule<'a> {
    /// The longest prefix containing the address.
    Prefix(IpNet),
    /// The address's ASN.
    Asn(u32),
    /// A claimed domain that is the hint domain or one of its parents.
    Domain(&'a str),
    /// The address's country.
    Country(CountryCode),
    /// The regional coordinator for the address's country.
    RegionalCoordinator(CountryCode),
    /// The directory's default team.
    Default,
    /// No claim matched and there is no default team.
    Unclaimed,
}

/// Where an address goes, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteDecision<'a> {
    /// The address routed.
    pub addr: IpAddr,
    /// The hints used.
    pub hints: RouteHints<'a>,
    /// The responsible team; `None` when nothing matched or when the winning level is in
    /// conflict.
    pub team: Option<&'a TeamId>,
    /// The level and claim that decided.
    pub rule: RouteRule<'a>,
    /// Every team making the winning claim when there is more than one (then `team` is
    /// `None`); empty otherwise.
    pub conflicts: &'a [TeamId],
}

impl RouteDecision<'_> {
    /// Whether the winning claim is disputed by several teams.
    pub fn is_conflict(&self) -> bool {
        !self.conflicts.is_empty()
    }

    /// A sentence for people: `203.0.113.7: prefix 203.0.113.0/24 claimed by team
    /// example-cert (dataset ip-asn@abc123)`.
    pub fn explain(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for RouteDecision<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.addr)?;
        match self.rule {
            RouteRule::Prefix(net) => write!(f, "prefix {net}")?,
            RouteRule::Asn(asn) => write!(f, "AS{asn}")?,
            RouteRule::Domain(d) => match self.hints.domain {
                Some(h) if !h.trim_end_matches('.').eq_ignore_ascii_case(d) => {
                    write!(f, "domain {h} is under {d},")?
                }
                _ => write!(f, "domain {d}")?,
            },
            RouteRule::Country(cc) => write!(f, "country {cc}")?,
            RouteRule::RegionalCoordinator(cc) => write!(
                f,
                "no team claims country {cc}; regional coordinator for {cc} is"
            )?,
            RouteRule::Default => write!(f, "no team claims this address; default")?,
            RouteRule::Unclaimed => {
                f.write_str("no team claims this address and the directory has no default team")?
            }
        }
        if !self.conflicts.is_empty() {
            write!(f, " claimed by {} teams (", self.conflicts.len())?;
            for (i, t) in self.conflicts.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{t}")?;
            }
            f.write_str("): conflict left unresolved, no team chosen; fix the directory")?;
        } else if let Some(team) = self.team {
            match self.rule {
                RouteRule::RegionalCoordinator(_) | RouteRule::Default => {
                    write!(f, " team {team}")?
                }
                _ => write!(f, " claimed by team {team}")?,
            }
        }
        if let Some(v) = self.hints.data_version {
            write!(f, " (dataset {v})")?;
        }
        Ok(())
    }
}

/// One claim that matches an address, at any level (see [`Router::candidates`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// The claim.
    pub rule: RouteRule<'a>,
    /// Every team making it.
    pub teams: &'a [TeamId],
}

/// Claims of one kind: sorted unique keys, each with the range of its teams in
/// [`Router::claimants`].
#[derive(Debug, Clone)]
struct ClaimIndex<K> {
    keys: Vec<K>,
    teams: Vec<Range<u32>>,
}

impl<K> Default for ClaimIndex<K> {
    fn default() -> Self {
        ClaimIndex {
            keys: Vec::new(),
            teams: Vec::new(),
        }
    }
}

impl<K: Ord + Clone> ClaimIndex<K> {
    fn build(mut pairs: Vec<(K, usize)>, ids: &[TeamId], claimants: &mut Vec<TeamId>) -> Self {
        pairs.sort();
        pairs.dedup();
        let mut index = ClaimIndex::default();
        for (key, team) in pairs {
            if index.keys.last() != Some(&key) {
                index.keys.push(key);
                let at = claimants.len() as u32;
                index.teams.push(at..at);
            }
            claimants.push(ids[team].clone());
            if let Some(r) = index.teams.last_mut() {
                r.end += 1;
            }
        }
        index
    }

    fn find_by(&self, f: impl FnMut(&K) -> Ordering) -> Option<(&K, Range<u32>)> {
        let i = self.keys.binary_search_by(f).ok()?;
        Some((&self.keys[i], self.teams[i].clone()))
    }
}

/// A longest-prefix table for one address family, flattened into disjoint ranges: `starts[i]`
/// begins a run of addresses whose most specific prefix is `groups[values[i]]` (or none).
/// Lookup is one binary search.
#[derive(Debug, Clone, Default)]
struct PrefixTable {
    groups: Vec<PrefixGroup>,
    starts: Vec<u128>,
    values: Vec<u32>,
}

#[derive(Debug, Clone)]
struct PrefixGroup {
    net: IpNet,
    last: u128,
    teams: Range<u32>,
    parent: u32,
}

const NONE: u32 = u32::MAX;

impl PrefixTable {
    /// `claims` are (network first address, prefix length, net, team) of one family.
    fn build(
        mut claims: Vec<(u128, u8, IpNet, usize)>,
        ids: &[TeamId],
        claimants: &mut Vec<TeamId>,
    ) -> PrefixTable {
        claims.sort_by_key(|c| (c.0, c.1, c.3));
        claims.dedup_by_key(|c| (c.0, c.1, c.3));
        let mut t = PrefixTable::default();
        let mut stack: Vec<u32> = Vec::new();
        let mut bounds: Vec<(u128, u32)> = Vec::new();
        let mut i = 0;
        while i < claims.len() {
            let (first, len, net, _) = claims[i];
            let at = claimants.len() as u32;
            while i < claims.len() && claims[i].0 == first && claims[i].1 == len {
                claimants.push(ids[claims[i].3].clone());
                i += 1;
            }
            let last = crate::directory::net_last(&net);
            // Close the enclosing prefixes that end before this one starts.
            while let Some(&top) = stack.last() {
                let g = &t.groups[top as usize];
                if g.last >= first {
                    break;
                }
                stack.pop();
                bounds.push((g.last + 1, stack.last().copied().unwrap_or(NONE)));
            }
            let gi = t.groups.len() as u32;
            t.groups.push(PrefixGroup {
                net,
                last,
                teams: at..claimants.len() as u32,
                parent: stack.last().copied().unwrap_or(NONE),
            });
            bounds.push((first, gi));
            stack.push(gi);
        }
        while let Some(top) = stack.pop() {
            let last = t.groups[top as usize].last;
            if let Some(next) = last.checked_add(1) {
                bounds.push((next, stack.last().copied().unwrap_or(NONE)));
            }
        }
        // Several bounds at one address: the last pushed is the right one.
        for (start, value) in bounds {
            if t.starts.last() == Some(&start) {
                if let Some(v) = t.values.last_mut() {
                    *v = value;
                }
            } else {
                t.starts.push(start);
                t.values.push(value);
            }
        }
        t
    }

    /// Index of the most specific group containing `addr`.
    fn lookup(&self, addr: u128) -> Option<u32> {
        let i = self.starts.partition_point(|&s| s <= addr);
        let v = *self.values.get(i.checked_sub(1)?)?;
        (v != NONE).then_some(v)
    }
}

/// Answers "which team?" for addresses, built once from a [`Directory`].
///
/// The router owns what it needs (ids and claims), so it can be shared between threads and
/// swapped whole when the directory changes ([`LiveDirectory`]). It accepts any directory,
/// validated or not: identical claims become reported conflicts, nested prefixes resolve to
/// the longest.
#[derive(Debug, Clone, Default)]
pub struct Router {
    claimants: Vec<TeamId>,
    v4: PrefixTable,
    v6: PrefixTable,
    asns: ClaimIndex<u32>,
    domains: ClaimIndex<Box<str>>,
    countries: ClaimIndex<CountryCode>,
    coordinators: ClaimIndex<CountryCode>,
    defaults: Range<u32>,
}

/// Compares a stored (lower-case) domain with a query, ignoring ASCII case, without
/// allocating.
fn cmp_domain(stored: &str, query: &str) -> Ordering {
    stored
        .bytes()
        .cmp(query.bytes().map(|b| b.to_ascii_lowercase()))
}

fn bits(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

impl Router {
    /// Builds the routing tables from a directory.
    pub fn new(dir: &Directory) -> Router {
        let ids: Vec<TeamId> = dir.teams.iter().map(|t| t.id.clone()).collect();
        let mut claimants = Vec::new();
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        let (mut asns, mut domains, mut countries, mut coords) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (ti, team) in dir.teams.iter().enumerate() {
            let c = &team.constituency;
            for net in &c.prefixes {
                let net = net.trunc();
                let first = bits(net.network());
                match net {
                    IpNet::V4(_) => v4.push((first, net.prefix_len(), net, ti)),
                    IpNet::V6(_) => v6.push((first, net.prefix_len(), net, ti)),
                }
            }
            asns.extend(c.asns.iter().map(|a| (*a, ti)));
            domains.extend(c.domains.iter().map(|d| {
                let d = d.trim().trim_end_matches('.').to_ascii_lowercase();
                (d.into_boxed_str(), ti)
            }));
            countries.extend(c.countries.iter().map(|cc| (*cc, ti)));
            coords.extend(team.regional_coordinator_for.iter().map(|cc| (*cc, ti)));
        }
        let v4 = PrefixTable::build(v4, &ids, &mut claimants);
        let v6 = PrefixTable::build(v6, &ids, &mut claimants);
        let asns = ClaimIndex::build(asns, &ids, &mut claimants);
        let domains = ClaimIndex::build(domains, &ids, &mut claimants);
        let countries = ClaimIndex::build(countries, &ids, &mut claimants);
        let coordinators = ClaimIndex::build(coords, &ids, &mut claimants);
        let at = claimants.len() as u32;
        claimants.extend(dir.teams.iter().filter(|t| t.default).map(|t| t.id.clone()));
        let defaults = at..claimants.len() as u32;
        Router {
            claimants,
            v4,
            v6,
            asns,
            domains,
            countries,
            coordinators,
            defaults,
        }
    }

    fn table(&self, addr: IpAddr) -> &PrefixTable {
        match addr {
            IpAddr::V4(_) => &self.v4,
            IpAddr::V6(_) => &self.v6,
        }
    }

    fn slice(&self, r: Range<u32>) -> &[TeamId] {
        &self.claimants[r.start as usize..r.end as usize]
    }

    /// The longest claimed domain equal to `domain` or a parent of it.
    fn domain_claim(&self, domain: &str) -> Option<(&str, Range<u32>)> {
        let mut rest = domain.trim().trim_end_matches('.');
        while !rest.is_empty() {
            if let Some((k, r)) = self.domains.find_by(|k| cmp_domain(k, rest)) {
                return Some((k, r));
            }
            rest = rest.split_once('.').map_or("", |(_, parent)| parent);
        }
        None
    }

    /// Routes one address. Allocation-free; see the module documentation for the order of
    /// the rules and how conflicts are reported.
    pub fn route<'a>(&'a self, addr: IpAddr, hints: &RouteHints<'a>) -> RouteDecision<'a> {
        let decide = |rule: RouteRule<'a>, teams: &'a [TeamId]| {
            let (team, conflicts) = match teams {
                [one] => (Some(one), &[][..]),
                _ => (None, teams),
            };
            RouteDecision {
                addr,
                hints: *hints,
                team,
                rule,
                conflicts,
            }
        };
        let table = self.table(addr);
        if let Some(g) = table.lookup(bits(addr)) {
            let g = &table.groups[g as usize];
            return decide(RouteRule::Prefix(g.net), self.slice(g.teams.clone()));
        }
        if let Some(asn) = hints.asn
            && let Some((_, r)) = self.asns.find_by(|k| k.cmp(&asn))
        {
            return decide(RouteRule::Asn(asn), self.slice(r));
        }
        if let Some(domain) = hints.domain
            && let Some((d, r)) = self.domain_claim(domain)
        {
            return decide(RouteRule::Domain(d), self.slice(r));
        }
        if let Some(cc) = hints.country {
            if let Some((_, r)) = self.countries.find_by(|k| k.cmp(&cc)) {
                return decide(RouteRule::Country(cc), self.slice(r));
            }
            if let Some((_, r)) = self.coordinators.find_by(|k| k.cmp(&cc)) {
                return decide(RouteRule::RegionalCoordinator(cc), self.slice(r));
            }
        }
        if !self.defaults.is_empty() {
            return decide(RouteRule::Default, self.slice(self.defaults.clone()));
        }
        decide(RouteRule::Unclaimed, &[])
    }

    /// Every claim matching the address, most specific first (all enclosing prefixes, the
    /// ASN, the domain and its claimed parents, country, coordinator, default). For
    /// `firewatch route --explain` and for people checking a directory; allocates.
    pub fn candidates<'a>(&'a self, addr: IpAddr, hints: &RouteHints<'a>) -> Vec<Candidate<'a>> {
        let mut out = Vec::new();
        let table = self.table(addr);
        let mut g = table.lookup(bits(addr)).unwrap_or(NONE);
        while g != NONE {
            let group = &table.groups[g as usize];
            out.push(Candidate {
                rule: RouteRule::Prefix(group.net),
                teams: self.slice(group.teams.clone()),
            });
            g = group.parent;
        }
        if let Some(asn) = hints.asn
            && let Some((_, r)) = self.asns.find_by(|k| k.cmp(&asn))
        {
            out.push(Candidate {
                rule: RouteRule::Asn(asn),
                teams: self.slice(r),
            });
        }
        if let Some(domain) = hints.domain {
            let mut rest = domain.trim().trim_end_matches('.');
            while !rest.is_empty() {
                if let Some((d, r)) = self.domains.find_by(|k| cmp_domain(k, rest)) {
                    out.push(Candidate {
                        rule: RouteRule::Domain(d),
                        teams: self.slice(r),
                    });
                }
                rest = rest.split_once('.').map_or("", |(_, parent)| parent);
            }
        }
        if let Some(cc) = hints.country {
            if let Some((_, r)) = self.countries.find_by(|k| k.cmp(&cc)) {
                out.push(Candidate {
                    rule: RouteRule::Country(cc),
                    teams: self.slice(r),
                });
            }
            if let Some((_, r)) = self.coordinators.find_by(|k| k.cmp(&cc)) {
                out.push(Candidate {
                    rule: RouteRule::RegionalCoordinator(cc),
                    teams: self.slice(r),
                });
            }
        }
        if !self.defaults.is_empty() {
            out.push(Candidate {
                rule: RouteRule::Default,
                teams: self.slice(self.defaults.clone()),
            });
        }
        out
    }
}

/// A directory and its router, as one consistent snapshot.
#[derive(Debug)]
pub struct Loaded {
    /// The directory.
    pub directory: Directory,
    /// Its router.
    pub router: Router,
    /// Where it came from (file name).
    pub origin: String,
}

/// The directory in use, swappable while lookups run.
///
/// A reload that fails validation changes nothing: the error is returned and lookups keep
/// using the directory already loaded. This is the contract for `firewatch` and the web app
/// when someone edits `teams.toml` with a mistake in it.
#[derive(Debug)]
pub struct LiveDirectory {
    current: ArcSwap<Loaded>,
}

impl LiveDirectory {
    /// Starts with a directory (already validated by the caller).
    pub fn new(directory: Directory, origin: &str) -> LiveDirectory {
        let router = Router::new(&directory);
        LiveDirectory {
            current: ArcSwap::from_pointee(Loaded {
                directory,
                router,
                origin: origin.to_string(),
            }),
        }
    }

    /// The current snapshot; hold it for the duration of a batch of lookups.
    pub fn snapshot(&self) -> Arc<Loaded> {
        self.current.load_full()
    }

    /// Parses and validates `text`; on success routes use it from now on, on error the
    /// previous directory stays in use and the error lists every problem with its line.
    pub fn reload_toml(
        &self,
        text: &str,
        origin: &str,
        policy: &ValidationPolicy,
    ) -> Result<(), DirectoryError> {
        let directory = Directory::from_toml_str_with(text, origin, policy)?;
        let router = Router::new(&directory);
        self.current.store(Arc::new(Loaded {
            directory,
            router,
            origin: origin.to_string(),
        }));
        Ok(())
    }
}
