//! [`PrefixTable`]: inclusive address ranges → value, for IPv4 and IPv6, with a direct first-level
//! index so that a lookup touches a few cache lines and never allocates.
//!
//! # Layout
//! Each family keeps the whole address space as a sorted list of disjoint segments: `starts[i]` is
//! the first address of segment `i`, `vals[i]` its value (`None` for a gap). Segment 0 always starts
//! at address 0 and the last one runs to the top of the space, so every address falls in exactly
//! one segment. Adjacent segments never carry the same value (they are merged).
//!
//! A first-level index maps the top 16 bits of an address (a /16 for IPv4, a /16 for IPv6) to the
//! segment that contains the first address of that block. The segments that can hold an address
//! are then `index[b] ..= index[b + 1]`, found with a short binary search on `starts`.
//!
//! # Overlaps
//! Ranges may overlap (for example a /16 and a /24 inside it). The **narrower** range wins for the
//! addresses it covers; between ranges of the **same width**, the one given **later** wins.

use std::collections::BTreeSet;
use std::net::IpAddr;

/// An address key: `u32` for IPv4, `u128` for IPv6.
pub trait Key: Copy + Ord + std::fmt::Debug {
    /// The highest address.
    const MAX: Self;
    /// Zero.
    const ZERO: Self;
    /// `self + 1`, or `None` at [`Key::MAX`].
    fn succ(self) -> Option<Self>;
    /// `self - 1`, or `None` at zero.
    fn pred(self) -> Option<Self>;
    /// The number of addresses in `start..=end` minus one (the width used for "narrower wins").
    fn span(start: Self, end: Self) -> u128;
    /// The top 16 bits, the first-level index bucket.
    fn bucket(self) -> usize;
    /// The first address of bucket `b`.
    fn bucket_start(b: usize) -> Self;
}

impl Key for u32 {
    const MAX: Self = u32::MAX;
    const ZERO: Self = 0;
    #[inline]
    fn succ(self) -> Option<Self> {
        self.checked_add(1)
    }
    #[inline]
    fn pred(self) -> Option<Self> {
        self.checked_sub(1)
    }
    #[inline]
    fn span(start: Self, end: Self) -> u128 {
        u128::from(end - start)
    }
    #[inline]
    fn bucket(self) -> usize {
        (self >> 16) as usize
    }
    #[inline]
    fn bucket_start(b: usize) -> Self {
        (b as u32) << 16
    }
}

impl Key for u128 {
    const MAX: Self = u128::MAX;
    const ZERO: Self = 0;
    #[inline]
    fn succ(self) -> Option<Self> {
        self.checked_add(1)
    }
    #[inline]
    fn pred(self) -> Option<Self> {
        self.checked_sub(1)
    }
    #[inline]
    fn span(start: Self, end: Self) -> u128 {
        end - start
    }
    #[inline]
    fn bucket(self) -> usize {
        (self >> 112) as usize
    }
    #[inline]
    fn bucket_start(b: usize) -> Self {
        (b as u128) << 112
    }
}

const BUCKETS: usize = 1 << 16;

/// Resolves overlaps among inclusive `(start, end, value)` ranges: returns sorted, disjoint,
/// covered-only segments where each address carries the value of the narrowest range covering it
/// (later range wins a tie of equal width). Adjacent segments with equal values are merged.
/// Ranges with `start > end` are ignored.
pub fn flatten<K: Key, V: Copy + PartialEq>(ranges: &[(K, K, V)]) -> Vec<(K, K, V)> {
    // Events at each boundary: ranges that start there and ranges that end just before it.
    let mut events: Vec<(K, bool, usize)> = Vec::with_capacity(ranges.len() * 2);
    for (i, &(s, e, _)) in ranges.iter().enumerate() {
        if s > e {
            continue;
        }
        events.push((s, true, i));
        if let Some(after) = e.succ() {
            events.push((after, false, i));
        }
    }
    events.sort_unstable_by_key(|e| e.0);
    // Active ranges ordered narrowest first, then latest first.
    let mut active: BTreeSet<(u128, std::cmp::Reverse<usize>)> = BTreeSet::new();
    let mut out: Vec<(K, K, V)> = Vec::new();
    let mut i = 0;
    while i < events.len() {
        let pos = events[i].0;
        while i < events.len() && events[i].0 == pos {
            let (_, start, idx) = events[i];
            let (s, e, _) = ranges[idx];
            let key = (K::span(s, e), std::cmp::Reverse(idx));
            if start {
                active.insert(key);
            } else {
                active.remove(&key);
            }
            i += 1;
        }
        let Some(&(_, std::cmp::Reverse(winner))) = active.first() else {
            continue;
        };
        let value = ranges[winner].2;
        // This segment runs until the next boundary (exclusive) or the top of the space.
        let end = if i < events.len() {
            events[i].0.pred().unwrap_or(K::ZERO)
        } else {
            K::MAX
        };
        if let Some(last) = out.last_mut()
            && last.2 == value
            && last.1.succ() == Some(pos)
        {
            last.1 = end;
            continue;
        }
        out.push((pos, end, value));
    }
    out
}

/// One address family's segments and first-level index.
#[derive(Debug, Clone)]
struct Family<K, V> {
    starts: Vec<K>,
    vals: Vec<Option<V>>,
    /// `index[b]` = the segment holding the first address of bucket `b`; `index[BUCKETS]` = last.
    index: Vec<u32>,
}

impl<K: Key, V: Copy + PartialEq> Family<K, V> {
    fn from_disjoint(segments: &[(K, K, V)]) -> Self {
        let mut starts: Vec<K> = Vec::with_capacity(segments.len() * 2 + 1);
        let mut vals: Vec<Option<V>> = Vec::with_capacity(segments.len() * 2 + 1);
        let push = |s: K, v: Option<V>, starts: &mut Vec<K>, vals: &mut Vec<Option<V>>| {
            if vals.last() == Some(&v) {
                return;
            }
            starts.push(s);
            vals.push(v);
        };
        let mut cursor = Some(K::ZERO);
        for &(s, e, v) in segments {
            let Some(c) = cursor else { break };
            if s < c || s > e {
                // Not disjoint and sorted: skip defensively (flatten never produces this).
                continue;
            }
            if s > c {
                push(c, None, &mut starts, &mut vals);
            }
            push(s, Some(v), &mut starts, &mut vals);
            cursor = e.succ();
        }
        if let Some(c) = cursor {
            push(c, None, &mut starts, &mut vals);
        }
        let mut index = Vec::with_capacity(BUCKETS + 1);
        for b in 0..BUCKETS {
            let first = K::bucket_start(b);
            index.push((starts.partition_point(|&s| s <= first) - 1) as u32);
        }
        index.push((starts.len() - 1) as u32);
        starts.shrink_to_fit();
        vals.shrink_to_fit();
        Family {
            starts,
            vals,
            index,
        }
    }

    #[inline]
    fn get(&self, k: K) -> Option<V> {
        let b = k.bucket();
        let lo = self.index[b] as usize;
        let hi = self.index[b + 1] as usize;
        let i = lo + self.starts[lo + 1..=hi.max(lo)].partition_point(|&s| s <= k);
        self.vals[i]
    }

    fn segments(&self) -> impl Iterator<Item = (K, K, V)> + '_ {
        (0..self.starts.len()).filter_map(move |i| {
            let v = self.vals[i]?;
            let end = match self.starts.get(i + 1) {
                Some(&next) => next.pred().unwrap_or(K::ZERO),
                None => K::MAX,
            };
            Some((self.starts[i], end, v))
        })
    }

    fn memory_bytes(&self) -> usize {
        self.starts.capacity() * std::mem::size_of::<K>()
            + self.vals.capacity() * std::mem::size_of::<Option<V>>()
            + self.index.capacity() * 4
    }
}

/// Inclusive address ranges → `V`, for IPv4 and IPv6; lookups are allocation-free.
///
/// Overlapping ranges are resolved at build time: the **narrower** range wins, and of two ranges
/// of equal width the one given **later** wins.
///
/// ```
/// use firewatch_enrich::geo::PrefixTable;
/// use std::net::IpAddr;
///
/// let v4 = [(0x0a00_0000, 0x0aff_ffff, 1u8), (0x0a01_0000, 0x0a01_00ff, 2)];
/// let t = PrefixTable::new(&v4, &[]);
/// assert_eq!(t.get("10.0.0.1".parse::<IpAddr>().unwrap()), Some(1));
/// assert_eq!(t.get("10.1.0.7".parse::<IpAddr>().unwrap()), Some(2));
/// assert_eq!(t.get("11.0.0.0".parse::<IpAddr>().unwrap()), None);
/// ```
#[derive(Debug, Clone)]
pub struct PrefixTable<V> {
    v4: Family<u32, V>,
    v6: Family<u128, V>,
}

impl<V: Copy + PartialEq> PrefixTable<V> {
    /// Builds from inclusive `(start, end, value)` ranges (IPv4 as `u32`, IPv6 as `u128`).
    /// Ranges with `start > end` are ignored; overlaps resolve narrower-wins, then later-wins.
    pub fn new(v4: &[(u32, u32, V)], v6: &[(u128, u128, V)]) -> Self {
        Self::from_disjoint(&flatten(v4), &flatten(v6))
    }

    /// Builds from ranges already sorted and disjoint (as [`flatten`] returns); a range that
    /// overlaps or precedes the previous one is skipped.
    pub fn from_disjoint(v4: &[(u32, u32, V)], v6: &[(u128, u128, V)]) -> Self {
        PrefixTable {
            v4: Family::from_disjoint(v4),
            v6: Family::from_disjoint(v6),
        }
    }

    /// The value for `addr`, if a range covers it. No allocation; a few cache lines.
    #[inline]
    pub fn get(&self, addr: IpAddr) -> Option<V> {
        match addr {
            IpAddr::V4(a) => self.v4.get(u32::from(a)),
            IpAddr::V6(a) => self.v6.get(u128::from(a)),
        }
    }

    /// The value for an IPv4 address as a `u32`.
    #[inline]
    pub fn get_v4(&self, addr: u32) -> Option<V> {
        self.v4.get(addr)
    }

    /// The value for an IPv6 address as a `u128`.
    #[inline]
    pub fn get_v6(&self, addr: u128) -> Option<V> {
        self.v6.get(addr)
    }

    /// The covered IPv4 segments, sorted and disjoint, adjacent equal values merged.
    pub fn segments_v4(&self) -> impl Iterator<Item = (u32, u32, V)> + '_ {
        self.v4.segments()
    }

    /// The covered IPv6 segments, sorted and disjoint, adjacent equal values merged.
    pub fn segments_v6(&self) -> impl Iterator<Item = (u128, u128, V)> + '_ {
        self.v6.segments()
    }

    /// Number of stored segments (gaps included) for IPv4 and IPv6.
    pub fn segment_counts(&self) -> (usize, usize) {
        (self.v4.starts.len(), self.v6.starts.len())
    }

    /// Heap bytes held by the table (segments, values and both first-level indexes).
    pub fn memory_bytes(&self) -> usize {
        self.v4.memory_bytes() + self.v6.memory_bytes()
    }
}
