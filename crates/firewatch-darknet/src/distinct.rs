//! Mergeable distinct counts: exact for small sets, HyperLogLog beyond.

use cardinality_estimator::CardinalityEstimator;
use std::fmt;

/// Distinct addresses or ports of one source or one port cell.
///
/// Backed by Cloudflare's `cardinality-estimator`: exact up to 128 items (it keeps the items'
/// hashes), then a HyperLogLog with 4,096 registers (standard error ≈ 1.6 %). Merging two sets
/// gives the same result as inserting everything into one, so counts do not depend on how a
/// capture was split into files or threads.
#[derive(Clone, Default)]
pub struct DistinctSet(CardinalityEstimator<u128>);

/// A stored distinct set that could not be read back.
#[derive(Debug, thiserror::Error)]
#[error("corrupt distinct-count blob: {0}")]
pub struct CorruptDistinctSet(String);

impl DistinctSet {
    /// An empty set.
    pub fn new() -> Self {
        DistinctSet(CardinalityEstimator::new())
    }

    /// Adds one item (an address as `u128`, or a `(protocol << 16) | port`).
    #[inline]
    pub fn insert(&mut self, item: u128) {
        self.0.insert(&item);
    }

    /// The number of distinct items (exact below 129).
    pub fn count(&self) -> u64 {
        self.0.estimate() as u64
    }

    /// Adds every item of `other`.
    pub fn merge(&mut self, other: &DistinctSet) {
        self.0.merge(&other.0);
    }

    /// Compact binary form for the store.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising an in-memory estimator cannot fail.
        postcard::to_stdvec(&self.0).unwrap_or_default()
    }

    /// Reads the form written by [`DistinctSet::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CorruptDistinctSet> {
        if bytes.is_empty() {
            return Ok(DistinctSet::new());
        }
        postcard::from_bytes(bytes).map(DistinctSet).map_err(|e| CorruptDistinctSet(e.to_string()))
    }
}

impl fmt::Debug for DistinctSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DistinctSet({})", self.count())
    }
}

/// The `u128` form of an address used as a distinct-set item.
#[inline]
pub fn addr_key(addr: std::net::IpAddr) -> u128 {
    match addr {
        std::net::IpAddr::V4(a) => u128::from(u32::from(a)),
        std::net::IpAddr::V6(a) => u128::from(a) | v6_tag(a),
    }
}

#[inline]
fn v6_tag(a: std::net::Ipv6Addr) -> u128 {
    // IPv4 keys live below 2^32; keep IPv6 keys (even ::a.b.c.d) apart with a tag bit
    // in the otherwise unused position of IPv4-compatible addresses.
    if u128::from(a) >> 32 == 0 { 1 << 96 } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exact_when_small_and_close_when_large() {
        let mut s = DistinctSet::new();
        for i in 0..100u128 {
            s.insert(i);
            s.insert(i);
        }
        assert_eq!(s.count(), 100);
        for i in 0..100_000u128 {
            s.insert(i);
        }
        let c = s.count() as f64;
        assert!((c - 100_000.0).abs() / 100_000.0 < 0.05, "estimate {c}");
    }

    proptest! {
        #[test]
        fn merge_equals_union_and_bytes_round_trip(a in proptest::collection::vec(0u128..5000, 0..400),
                                                   b in proptest::collection::vec(0u128..5000, 0..400)) {
            let mut sa = DistinctSet::new();
            a.iter().for_each(|&x| sa.insert(x));
            let mut sb = DistinctSet::new();
            b.iter().for_each(|&x| sb.insert(x));
            let mut all = DistinctSet::new();
            a.iter().chain(&b).for_each(|&x| all.insert(x));
            sa.merge(&sb);
            prop_assert_eq!(sa.count(), all.count());
            let back = DistinctSet::from_bytes(&sa.to_bytes()).unwrap();
            prop_assert_eq!(back.count(), sa.count());
        }
    }

    #[test]
    fn corrupt_bytes_are_an_error_not_a_panic() {
        assert!(DistinctSet::from_bytes(&[0xff, 0xff, 0xff]).is_err());
    }
}
