//! Property tests: `PrefixTable` against a naive linear scan over random overlapping ranges.

use std::net::IpAddr;

use firewatch_enrich::geo::PrefixTable;
use proptest::prelude::*;

/// The reference: narrowest covering range wins, later wins a tie.
fn naive<K: Copy + Ord + Into<u128>>(ranges: &[(K, K, u16)], k: K) -> Option<u16> {
    let mut best: Option<(u128, usize)> = None;
    for (i, &(s, e, _)) in ranges.iter().enumerate() {
        if s <= k && k <= e {
            let w = e.into() - s.into();
            if best.is_none_or(|(bw, _)| w <= bw) {
                best = Some((w, i));
            }
        }
    }
    best.map(|(_, i)| ranges[i].2)
}

/// Ranges clustered in a few areas so they overlap and share /16 buckets, plus some wide ones.
fn v4_ranges() -> impl Strategy<Value = Vec<(u32, u32, u16)>> {
    prop::collection::vec(
        (
            prop::sample::select(vec![
                0u32,
                0x0a00_0000,
                0x0a01_0000,
                0xffff_0000,
                0x8000_0000,
            ]),
            0u32..0x3_0000,
            prop::sample::select(vec![0u32, 1, 15, 255, 4095, 0x1_ffff, 0x0fff_ffff]),
            0u16..6,
        )
            .prop_map(|(base, off, len, v)| {
                let s = base.saturating_add(off);
                (s, s.saturating_add(len), v)
            }),
        0..40,
    )
}

fn v6_ranges() -> impl Strategy<Value = Vec<(u128, u128, u16)>> {
    prop::collection::vec(
        (
            prop::sample::select(vec![
                0u128,
                0x2001_0db8 << 96,
                0x2a00 << 112,
                u128::MAX << 120,
            ]),
            0u128..0x3_0000,
            prop::sample::select(vec![0u128, 1, 255, 0xffff, 1 << 80, u128::MAX >> 8]),
            0u16..6,
        )
            .prop_map(|(base, off, len, v)| {
                let s = base.saturating_add(off << 64);
                (s, s.saturating_add(len), v)
            }),
        0..40,
    )
}

fn probes_v4(ranges: &[(u32, u32, u16)], extra: &[u32]) -> Vec<u32> {
    let mut p = vec![0, u32::MAX];
    for &(s, e, _) in ranges {
        p.extend([s, e, s.wrapping_sub(1), e.wrapping_add(1), s / 2 + e / 2]);
    }
    p.extend_from_slice(extra);
    p
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn v4_matches_naive(ranges in v4_ranges(), extra in prop::collection::vec(any::<u32>(), 20)) {
        let t = PrefixTable::new(&ranges, &[]);
        for k in probes_v4(&ranges, &extra) {
            prop_assert_eq!(t.get(IpAddr::from(std::net::Ipv4Addr::from(k))), naive(&ranges, k), "addr {:#x}", k);
        }
    }

    #[test]
    fn v6_matches_naive(ranges in v6_ranges(), extra in prop::collection::vec(any::<u128>(), 20)) {
        let t = PrefixTable::new(&[], &ranges);
        let mut p = vec![0u128, u128::MAX];
        for &(s, e, _) in &ranges {
            p.extend([s, e, s.wrapping_sub(1), e.wrapping_add(1), s / 2 + e / 2]);
        }
        p.extend_from_slice(&extra);
        for k in p {
            prop_assert_eq!(t.get(IpAddr::from(std::net::Ipv6Addr::from(k))), naive(&ranges, k), "addr {:#x}", k);
            prop_assert_eq!(t.get_v6(k), naive(&ranges, k));
        }
        // Segments re-built give the same table.
        let segs: Vec<_> = t.segments_v6().collect();
        let t2 = PrefixTable::from_disjoint(&[], &segs);
        prop_assert_eq!(t2.segment_counts(), t.segment_counts());
    }
}

#[test]
fn whole_space_and_empty() {
    let t: PrefixTable<u8> = PrefixTable::new(&[], &[]);
    assert_eq!(t.get("1.2.3.4".parse().unwrap()), None);
    assert_eq!(t.get("::".parse().unwrap()), None);
    let t = PrefixTable::new(&[(0, u32::MAX, 7u8)], &[(0, u128::MAX, 9u8)]);
    assert_eq!(t.get("255.255.255.255".parse().unwrap()), Some(7));
    assert_eq!(t.get("ffff::1".parse().unwrap()), Some(9));
    assert!(t.memory_bytes() > 0);
}
