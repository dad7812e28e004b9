//! Announced IPv4 address space per country and per ASN, the denominator of normalised rates.

use crate::Scope;
use rustc_hash::FxHashMap as HashMap;

/// IPv4 addresses announced (routed) per country and per ASN.
///
/// Built from the disjoint ranges of the registry data in force (the ip→ASN table: RouteViews
/// prefix-to-AS, RIR and DB-IP data; countries of registration from the RIRs' delegated
/// statistics): a range counts towards an ASN when it has an origin AS, and towards a country
/// when it has both an origin AS (it is announced) and a country. IPv6 is not counted.
///
/// ```
/// use firewatch_metrics::{AddressSpace, Scope};
/// let space = AddressSpace::from_ranges([
///     (0x0A00_0000, 0x0A00_00FF, Some(*b"JP"), Some(64_496)), // a /24
///     (0x0A00_0100, 0x0A00_01FF, Some(*b"JP"), None),         // registered, not announced
/// ]);
/// assert_eq!(space.get(Scope::Country, "JP"), Some(256));
/// assert_eq!(space.get(Scope::Asn, "64496"), Some(256));
/// assert_eq!(space.get(Scope::Asn, "1"), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressSpace {
    countries: HashMap<String, u64>,
    asns: HashMap<String, u64>,
}

impl AddressSpace {
    /// Sums inclusive `(first, last, country, asn)` IPv4 ranges, which must not overlap.
    pub fn from_ranges(
        ranges: impl IntoIterator<Item = (u32, u32, Option<[u8; 2]>, Option<u32>)>,
    ) -> AddressSpace {
        let mut space = AddressSpace::default();
        for (first, last, country, asn) in ranges {
            if last < first {
                continue;
            }
            let Some(asn) = asn else { continue };
            let n = u64::from(last - first) + 1;
            *space.asns.entry(asn.to_string()).or_default() += n;
            if let Some(cc) = country {
                let cc = String::from_utf8_lossy(&cc).to_ascii_uppercase();
                *space.countries.entry(cc).or_default() += n;
            }
        }
        space
    }

    /// Builds from stored `(scope, key, addresses)` entries.
    pub fn from_entries(entries: impl IntoIterator<Item = (Scope, String, u64)>) -> AddressSpace {
        let mut space = AddressSpace::default();
        for (scope, key, n) in entries {
            space.map_mut(scope).insert(key, n);
        }
        space
    }

    /// Every `(scope, key, addresses)` entry, sorted.
    pub fn entries(&self) -> Vec<(Scope, String, u64)> {
        let mut out: Vec<_> = [Scope::Country, Scope::Asn]
            .into_iter()
            .flat_map(|s| self.map(s).iter().map(move |(k, n)| (s, k.clone(), *n)))
            .collect();
        out.sort();
        out
    }

    /// Addresses announced by this country or ASN.
    pub fn get(&self, scope: Scope, key: &str) -> Option<u64> {
        self.map(scope).get(key).copied()
    }

    fn map(&self, scope: Scope) -> &HashMap<String, u64> {
        match scope {
            Scope::Country => &self.countries,
            Scope::Asn => &self.asns,
        }
    }

    fn map_mut(&mut self, scope: Scope) -> &mut HashMap<String, u64> {
        match scope {
            Scope::Country => &mut self.countries,
            Scope::Asn => &mut self.asns,
        }
    }
}
