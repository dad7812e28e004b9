//! Directory rules, and locating each problem on its line in the TOML source.

use super::{Directory, TeamId, line_col};
use ipnet::IpNet;
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::net::IpAddr;
use toml::Spanned;

/// Options of validation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ValidationPolicy {
    /// Accept a prefix of one team nested inside a prefix of another team (a national CSIRT
    /// with `203.0.113.0/24` and a university CSIRT with `203.0.113.128/25`); routing then
    /// gives each address to the longest prefix. Off by default: an overlap is refused with an
    /// error naming both teams, so that a delegation is always a deliberate choice. Two teams
    /// claiming the very same prefix are refused either way.
    pub allow_nested_prefixes: bool,
}

/// Which part of a team a problem is about (indices are positions in the team's lists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The team as a whole.
    Team,
    /// `id`.
    Id,
    /// `name`.
    Name,
    /// `country`.
    Country,
    /// `constituency.countries[i]`.
    ConstituencyCountry(usize),
    /// `constituency.asns[i]`.
    Asn(usize),
    /// `constituency.prefixes[i]`.
    Prefix(usize),
    /// `constituency.domains[i]`.
    Domain(usize),
    /// `contacts[i]`.
    Contact(usize),
    /// `openpgp.fingerprint`.
    Fingerprint,
    /// `openpgp.armored`.
    Armored,
    /// `regional_coordinator_for[i]`.
    Coordinator(usize),
    /// `default`.
    Default,
}

/// One broken rule in a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Position of the team in [`Directory::teams`].
    pub team_index: usize,
    /// The team's id as written.
    pub team: TeamId,
    /// The part of the team at fault.
    pub field: Field,
    /// 1-based line in the source, when the source is TOML.
    pub line: Option<usize>,
    /// The other team and field involved (duplicate id, overlapping prefix, second default).
    pub related: Option<(usize, Field)>,
    /// The line of `related`, when known.
    pub related_line: Option<usize>,
    /// What is wrong, in words.
    pub message: String,
}

impl Problem {
    fn new(team_index: usize, team: &TeamId, field: Field, message: String) -> Problem {
        Problem {
            team_index,
            team: team.clone(),
            field,
            line: None,
            related: None,
            related_line: None,
            message,
        }
    }

    /// `origin:line: team `id`: message (see line N)`.
    pub fn render(&self, origin: &str) -> String {
        let at = match self.line {
            Some(line) => format!("{origin}:{line}"),
            None => format!("{origin}: team #{}", self.team_index + 1),
        };
        let see = match self.related_line {
            Some(l) => format!(" (see line {l})"),
            None => String::new(),
        };
        format!("{at}: team `{}`: {}{see}", self.team, self.message)
    }
}

fn addr_bits(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// `(is_v6, first, last)` of a network.
pub(crate) fn net_range(net: &IpNet) -> (bool, u128, u128) {
    (
        matches!(net, IpNet::V6(_)),
        addr_bits(net.network()),
        addr_bits(net.broadcast()),
    )
}

/// Shape of an ASCII-armored OpenPGP public key (RFC 9580 section 6.2), no cryptography.
pub(crate) fn armored_key_problem(text: &str) -> Option<&'static str> {
    const BEGIN: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
    const END: &str = "-----END PGP PUBLIC KEY BLOCK-----";
    let t = text.trim();
    if t.starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----") {
        return Some("this is a PRIVATE key block; publish only the public key");
    }
    if !t.starts_with(BEGIN) {
        return Some("an armored public key starts with -----BEGIN PGP PUBLIC KEY BLOCK-----");
    }
    if !t.ends_with(END) {
        return Some("an armored public key ends with -----END PGP PUBLIC KEY BLOCK-----");
    }
    let body = &t[BEGIN.len()..t.len() - END.len()];
    let base64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=');
    let mut data_lines = 0;
    for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.contains(": ") {
            continue; // armor header such as "Comment: ..."
        }
        if !line.chars().all(base64) {
            return Some("the armored key body holds characters that are not base64");
        }
        data_lines += 1;
    }
    if data_lines == 0 {
        return Some("the armored key block is empty");
    }
    None
}

pub(crate) fn fingerprint_problem(fp: &str) -> Option<String> {
    if fp.len() == 40 && fp.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let hint = if fp.contains(' ') {
        "; write it without spaces"
    } else {
        ""
    };
    Some(format!(
        "OpenPGP fingerprint `{fp}` is not 40 hexadecimal characters{hint}"
    ))
}

pub(crate) fn domain_problem(d: &str) -> Option<String> {
    let name = d.strip_suffix('.').unwrap_or(d);
    if let Some(parent) = name.strip_prefix("*.") {
        return Some(format!(
            "domain `{d}`: write `{parent}`; a domain claim already covers its subdomains"
        ));
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
        return Some(format!("`{d}` is not a DNS domain name (like example.org)"));
    }
    None
}

pub(crate) fn contact_problem(kind: super::ContactKind, value: &str) -> Option<String> {
    use super::ContactKind::*;
    let v = value.trim();
    let ok = match kind {
        Email => v.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !v.contains(char::is_whitespace)
        }),
        Phone => {
            v.bytes().filter(u8::is_ascii_digit).count() >= 3
                && v.chars()
                    .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        }
        Url => (v.starts_with("https://") || v.starts_with("http://")) && v.len() > 8,
    };
    if ok {
        None
    } else {
        let what = match kind {
            Email => "an e-mail address",
            Phone => "a phone number (digits, spaces, + - ( ) .)",
            Url => "an http(s) URL",
        };
        Some(format!("contact `{value}` is not {what}"))
    }
}

pub(crate) fn check(dir: &Directory, policy: &ValidationPolicy) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut seen_ids: std::collections::HashMap<&str, usize> = Default::default();
    let mut first_default: Option<usize> = None;

    for (ti, team) in dir.teams.iter().enumerate() {
        let id = &team.id;
        let mut p = |field, message: String| out.push(Problem::new(ti, id, field, message));
        if !id.is_slug() {
            p(
                Field::Id,
                format!("id `{id}` is not a slug (lower-case letters, digits and `-`, at most 64)"),
            );
        }
        if team.name.trim().is_empty() {
            p(Field::Name, "name is empty".to_string());
        }
        let unassigned = |cc: &super::CountryCode| {
            format!("`{cc}` is not an assigned ISO 3166-1 alpha-2 country code")
        };
        if let Some(cc) = &team.country
            && !cc.is_assigned()
        {
            p(Field::Country, unassigned(cc));
        }
        for (i, cc) in team.constituency.countries.iter().enumerate() {
            if !cc.is_assigned() {
                p(Field::ConstituencyCountry(i), unassigned(cc));
            }
        }
        for (i, cc) in team.regional_coordinator_for.iter().enumerate() {
            if !cc.is_assigned() {
                p(Field::Coordinator(i), unassigned(cc));
            }
        }
        for (i, asn) in team.constituency.asns.iter().enumerate() {
            if *asn == 0 || *asn == 23456 || *asn == u32::MAX {
                p(
                    Field::Asn(i),
                    format!(
                        "AS{asn} is reserved and cannot be claimed (RFC 7607, RFC 6793, RFC 7300)"
                    ),
                );
            }
        }
        for (i, net) in team.constituency.prefixes.iter().enumerate() {
            if net.trunc() != *net {
                p(
                    Field::Prefix(i),
                    format!(
                        "prefix `{net}` has host bits set; did you mean `{}`?",
                        net.trunc()
                    ),
                );
            }
        }
        for (i, d) in team.constituency.domains.iter().enumerate() {
            if let Some(m) = domain_problem(d) {
                p(Field::Domain(i), m);
            }
        }
        for (i, c) in team.contacts.iter().enumerate() {
            if let Some(m) = contact_problem(c.kind, &c.value) {
                p(Field::Contact(i), m);
            }
        }
        if let Some(key) = &team.openpgp {
            if let Some(m) = fingerprint_problem(&key.fingerprint) {
                p(Field::Fingerprint, m);
            }
            if let Some(m) = key.armored.as_deref().and_then(armored_key_problem) {
                p(Field::Armored, m.to_string());
            }
        }
        if let Some(&first) = seen_ids.get(id.as_str()) {
            let mut pr = Problem::new(
                ti,
                id,
                Field::Id,
                format!(
                    "duplicate team id `{id}`, already used by team #{}",
                    first + 1
                ),
            );
            pr.related = Some((first, Field::Id));
            out.push(pr);
        } else {
            seen_ids.insert(id.as_str(), ti);
        }
        if team.default {
            if let Some(first) = first_default {
                let mut pr = Problem::new(
                    ti,
                    id,
                    Field::Default,
                    format!(
                        "a second default team; team `{}` is already the default (at most one)",
                        dir.teams[first].id
                    ),
                );
                pr.related = Some((first, Field::Default));
                out.push(pr);
            } else {
                first_default = Some(ti);
            }
        }
    }
    check_overlaps(dir, policy, &mut out);
    // File order: by team, then overlaps after the team's own field problems.
    out.sort_by_key(|p| p.team_index);
    out
}

/// Finds identical or nested prefixes claimed by different teams. CIDR blocks either nest or
/// are disjoint, so after sorting by (first address, length) a stack of the enclosing blocks
/// gives, for each prefix, every earlier prefix that contains it.
fn check_overlaps(dir: &Directory, policy: &ValidationPolicy, out: &mut Vec<Problem>) {
    struct Claim {
        v6: bool,
        first: u128,
        last: u128,
        len: u8,
        team: usize,
        index: usize,
        net: IpNet,
    }
    let mut claims: Vec<Claim> = Vec::new();
    for (ti, team) in dir.teams.iter().enumerate() {
        for (pi, net) in team.constituency.prefixes.iter().enumerate() {
            let net = net.trunc();
            let (v6, first, last) = net_range(&net);
            claims.push(Claim {
                v6,
                first,
                last,
                len: net.prefix_len(),
                team: ti,
                index: pi,
                net,
            });
        }
    }
    claims.sort_by_key(|c| (c.v6, c.first, c.len, c.team, c.index));
    let mut stack: Vec<usize> = Vec::new();
    for (ci, c) in claims.iter().enumerate() {
        while let Some(&top) = stack.last() {
            let t = &claims[top];
            if t.v6 == c.v6 && t.first <= c.first && c.last <= t.last {
                break;
            }
            stack.pop();
        }
        let other_team = |s: &&usize| claims[**s].team != c.team;
        let same = stack
            .iter()
            .rev()
            .filter(other_team)
            .find(|&&s| claims[s].len == c.len);
        let conflict = match same {
            Some(&s) => Some((
                s,
                format!(
                    "prefix `{}` is also claimed by team `{}`; two teams cannot claim the same prefix",
                    c.net, dir.teams[claims[s].team].id
                ),
            )),
            None if !policy.allow_nested_prefixes => stack.iter().rev().find(other_team).map(|&s| {
                (
                    s,
                    format!(
                        "prefix `{}` overlaps `{}` claimed by team `{}` (nested claims of different teams are refused; \
                         if the delegation is intended, load with nested prefixes allowed and the longest prefix wins)",
                        c.net,
                        claims[s].net,
                        dir.teams[claims[s].team].id
                    ),
                )
            }),
            None => None,
        };
        if let Some((s, message)) = conflict {
            let team = &dir.teams[c.team].id;
            let mut p = Problem::new(c.team, team, Field::Prefix(c.index), message);
            p.related = Some((claims[s].team, Field::Prefix(claims[s].index)));
            out.push(p);
        }
        stack.push(ci);
    }
}

// Shadow of the directory that only records where things are in the TOML text. Unknown
// fields are ignored here; the real parse already refused them.
#[derive(Deserialize)]
struct LocDirectory {
    #[serde(default)]
    teams: Vec<LocTeam>,
}

type At = Option<Spanned<IgnoredAny>>;

#[derive(Deserialize)]
struct LocTeam {
    id: At,
    name: At,
    country: At,
    constituency: Option<LocConstituency>,
    contacts: Option<Vec<Spanned<IgnoredAny>>>,
    openpgp: Option<LocKey>,
    regional_coordinator_for: Option<Vec<Spanned<IgnoredAny>>>,
    default: At,
}

#[derive(Deserialize)]
struct LocConstituency {
    countries: Option<Vec<Spanned<IgnoredAny>>>,
    asns: Option<Vec<Spanned<IgnoredAny>>>,
    prefixes: Option<Vec<Spanned<IgnoredAny>>>,
    domains: Option<Vec<Spanned<IgnoredAny>>>,
}

#[derive(Deserialize)]
struct LocKey {
    fingerprint: At,
    armored: At,
}

impl LocTeam {
    fn start(&self, field: Field) -> Option<usize> {
        let one = |a: &At| a.as_ref().map(|s| s.span().start);
        let nth = |v: &Option<Vec<Spanned<IgnoredAny>>>, i: usize| {
            v.as_ref().and_then(|v| v.get(i)).map(|s| s.span().start)
        };
        let c = self.constituency.as_ref();
        let found = match field {
            Field::Team | Field::Id => None,
            Field::Name => one(&self.name),
            Field::Country => one(&self.country),
            Field::ConstituencyCountry(i) => c.and_then(|c| nth(&c.countries, i)),
            Field::Asn(i) => c.and_then(|c| nth(&c.asns, i)),
            Field::Prefix(i) => c.and_then(|c| nth(&c.prefixes, i)),
            Field::Domain(i) => c.and_then(|c| nth(&c.domains, i)),
            Field::Contact(i) => nth(&self.contacts, i),
            Field::Fingerprint => self.openpgp.as_ref().and_then(|k| one(&k.fingerprint)),
            Field::Armored => self.openpgp.as_ref().and_then(|k| one(&k.armored)),
            Field::Coordinator(i) => nth(&self.regional_coordinator_for, i),
            Field::Default => one(&self.default),
        };
        // Fall back to the team's id, which every team has.
        found.or_else(|| one(&self.id))
    }
}

/// Fills `line` and `related_line` of each problem from the TOML source, then orders the
/// problems by line.
pub(crate) fn locate_in_toml(text: &str, problems: &mut [Problem]) {
    let Ok(loc) = toml::from_str::<LocDirectory>(text) else {
        return;
    };
    let line_of = |team: usize, field: Field| {
        loc.teams
            .get(team)
            .and_then(|t| t.start(field))
            .map(|off| line_col(text, off).0)
    };
    for p in problems.iter_mut() {
        p.line = line_of(p.team_index, p.field);
        p.related_line = p.related.and_then(|(t, f)| line_of(t, f));
    }
    problems.sort_by_key(|p| (p.line, p.team_index));
}
