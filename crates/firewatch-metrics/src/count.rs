//! Daily unique IPv4 addresses per risk, per country and per ASN.

use crate::{Day, RISKS, Risk};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::Ipv4Addr;

/// What a metric is broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// ISO 3166-1 alpha-2 country of the address (`source.geolocation.cc`).
    Country,
    /// Origin autonomous system (`source.asn`).
    Asn,
}

impl Scope {
    /// `country` or `asn`.
    pub fn id(self) -> &'static str {
        match self {
            Scope::Country => "country",
            Scope::Asn => "asn",
        }
    }

    /// The scope with this [`Scope::id`].
    pub fn from_id(id: &str) -> Option<Scope> {
        match id {
            "country" => Some(Scope::Country),
            "asn" => Some(Scope::Asn),
            _ => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One risky IPv4 address seen on one day, with its attribution and whether the event that
/// showed it may be published (TLP:CLEAR, or released by configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    pub day: Day,
    pub risk: Risk,
    pub ip: Ipv4Addr,
    /// ISO 3166-1 alpha-2, uppercase ASCII.
    pub country: Option<[u8; 2]>,
    pub asn: Option<u32>,
    pub public: bool,
}

/// Unique addresses of one risk in one country or ASN on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyCell {
    pub day: Day,
    pub scope: Scope,
    /// Country code (`JP`) or ASN in decimal (`2497`).
    pub key: String,
    pub risk: Risk,
    /// Distinct addresses seen that day.
    pub unique_ips: u64,
    /// Distinct addresses seen that day in at least one publishable event.
    pub public_unique_ips: u64,
}

/// Counts distinct addresses per (day, risk, country) and per (day, risk, ASN). An address
/// seen several times the same day counts once; an address whose events that day name two
/// countries (or ASNs) counts once in each. Observations without a country (ASN) are left out
/// of the country (ASN) cells only.
///
/// Cells come out sorted by scope, day, risk and key (countries by code, ASNs numerically).
///
/// ```
/// use firewatch_metrics::{Day, Observation, Risk, Scope, count_daily};
/// let o = |ip: &str, cc: &[u8; 2]| Observation {
///     day: Day(20_000), risk: Risk::OpenDns, ip: ip.parse().unwrap(),
///     country: Some(*cc), asn: Some(64_496), public: true,
/// };
/// let cells = count_daily(&[o("192.0.2.1", b"JP"), o("192.0.2.1", b"JP"), o("192.0.2.2", b"DE")]);
/// let jp = cells.iter().find(|c| c.scope == Scope::Country && c.key == "JP").unwrap();
/// assert_eq!(jp.unique_ips, 1);
/// let asn = cells.iter().find(|c| c.scope == Scope::Asn).unwrap();
/// assert_eq!((asn.key.as_str(), asn.unique_ips), ("64496", 2));
/// ```
pub fn count_daily(observations: &[Observation]) -> Vec<DailyCell> {
    // The two breakdowns are independent: count them on two threads.
    let (mut out, asn) = std::thread::scope(|s| {
        let asn = s.spawn(|| count_scope(observations, Scope::Asn));
        let country = count_scope(observations, Scope::Country);
        (country, asn.join())
    });
    match asn {
        Ok(cells) => out.extend(cells),
        Err(panic) => std::panic::resume_unwind(panic),
    }
    out
}

/// [`count_daily`] for one breakdown.
fn count_scope(observations: &[Observation], scope: Scope) -> Vec<DailyCell> {
    let mut out = Vec::new();
    {
        let mut packed: Vec<u128> = observations
            .iter()
            .filter_map(|o| {
                let key = match scope {
                    Scope::Country => o.country.map(|c| u32::from(u16::from_be_bytes(c)))?,
                    Scope::Asn => o.asn?,
                };
                Some(pack(o.day, o.risk, key, o.ip, o.public))
            })
            .collect();
        // Sorting puts each (day, risk, key, address) together; the public bit is lowest, so
        // the last of a run says whether any of its events was publishable.
        packed.sort_unstable();
        let mut i = 0;
        while i < packed.len() {
            let cell = packed[i] >> 33;
            let mut unique = 0u64;
            let mut public = 0u64;
            while i < packed.len() && packed[i] >> 33 == cell {
                let addr = packed[i] >> 1;
                let mut any_public = false;
                while i < packed.len() && packed[i] >> 1 == addr {
                    any_public |= packed[i] & 1 == 1;
                    i += 1;
                }
                unique += 1;
                public += u64::from(any_public);
            }
            let (day, risk, key) = unpack(cell);
            out.push(DailyCell {
                day,
                scope,
                key: match scope {
                    Scope::Country => {
                        let [a, b] = (key as u16).to_be_bytes();
                        String::from_utf8_lossy(&[a, b]).into_owned()
                    }
                    Scope::Asn => key.to_string(),
                },
                risk,
                unique_ips: unique,
                public_unique_ips: public,
            });
        }
    }
    out
}

/// Day (32 bits, offset so that order is kept) | risk (8) | key (32) | address (32) | public (1).
fn pack(day: Day, risk: Risk, key: u32, ip: Ipv4Addr, public: bool) -> u128 {
    let day = (day.0 as u32 ^ 0x8000_0000) as u128;
    day << 73
        | (risk as u8 as u128) << 65
        | (key as u128) << 33
        | (u32::from(ip) as u128) << 1
        | u128::from(public)
}

fn unpack(cell: u128) -> (Day, Risk, u32) {
    let key = (cell & 0xffff_ffff) as u32;
    let risk = RISKS[((cell >> 32) & 0xff) as usize];
    let day = Day(((cell >> 40) as u32 ^ 0x8000_0000) as i32);
    (day, risk, key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    fn naive(obs: &[Observation], scope: Scope) -> BTreeMap<(Day, Risk, String), (u64, u64)> {
        let mut sets: BTreeMap<(Day, Risk, String), BTreeMap<Ipv4Addr, bool>> = BTreeMap::new();
        for o in obs {
            let key = match scope {
                Scope::Country => o.country.map(|c| String::from_utf8_lossy(&c).into_owned()),
                Scope::Asn => o.asn.map(|a| a.to_string()),
            };
            if let Some(key) = key {
                *sets
                    .entry((o.day, o.risk, key))
                    .or_default()
                    .entry(o.ip)
                    .or_default() |= o.public;
            }
        }
        sets.into_iter()
            .map(|(k, ips)| {
                let public = ips.values().filter(|p| **p).count() as u64;
                (k, (ips.len() as u64, public))
            })
            .collect()
    }

    fn observation() -> impl Strategy<Value = Observation> {
        (
            -3i32..3,
            0usize..RISKS.len(),
            0u32..6,
            prop::option::of(prop::sample::select(vec![*b"JP", *b"DE", *b"US"])),
            prop::option::of(prop::sample::select(vec![1u32, 64_496, u32::MAX])),
            any::<bool>(),
        )
            .prop_map(|(day, risk, ip, country, asn, public)| Observation {
                day: Day(19_000 + day),
                risk: RISKS[risk],
                ip: Ipv4Addr::from(0xC000_0200 + ip),
                country,
                asn,
                public,
            })
    }

    proptest! {
        #[test]
        fn matches_a_naive_count(obs in prop::collection::vec(observation(), 0..200)) {
            let cells = count_daily(&obs);
            for scope in [Scope::Country, Scope::Asn] {
                let got: BTreeMap<_, _> = cells
                    .iter()
                    .filter(|c| c.scope == scope)
                    .map(|c| ((c.day, c.risk, c.key.clone()), (c.unique_ips, c.public_unique_ips)))
                    .collect();
                prop_assert_eq!(got, naive(&obs, scope));
            }
            let keys: BTreeSet<_> = cells.iter().map(|c| (c.scope, c.day, c.risk, c.key.clone())).collect();
            prop_assert_eq!(keys.len(), cells.len());
        }
    }
}
