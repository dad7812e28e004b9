//! The compact binary list of (source address, packets) kept for each port cell, so that unique
//! sources and top sources stay exact when cells from several captures are merged.
//!
//! Format: entries sorted by address; each is a family byte (4 or 6), the address in network
//! order (4 or 16 bytes) and the packet count as a LEB128 varint.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A stored list that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("corrupt source list at byte {offset}: {why}")]
pub struct CorruptSourceList {
    pub offset: usize,
    pub why: &'static str,
}

/// Encodes `(address, packets)` pairs, which must be sorted by address without repeats.
pub fn encode(entries: &[(IpAddr, u64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 7);
    for (addr, count) in entries {
        match addr {
            IpAddr::V4(a) => {
                out.push(4);
                out.extend_from_slice(&a.octets());
            }
            IpAddr::V6(a) => {
                out.push(6);
                out.extend_from_slice(&a.octets());
            }
        }
        push_varint(&mut out, *count);
    }
    out
}

/// Decodes a list written by [`encode`].
pub fn decode(bytes: &[u8]) -> Result<Vec<(IpAddr, u64)>, CorruptSourceList> {
    let mut out = Vec::new();
    let mut i = 0;
    let corrupt = |offset, why| CorruptSourceList { offset, why };
    while i < bytes.len() {
        let (addr, len) = match bytes[i] {
            4 => {
                let b: [u8; 4] = bytes
                    .get(i + 1..i + 5)
                    .and_then(|s| s.try_into().ok())
                    .ok_or(corrupt(i, "short IPv4 address"))?;
                (IpAddr::V4(Ipv4Addr::from(b)), 5)
            }
            6 => {
                let b: [u8; 16] = bytes
                    .get(i + 1..i + 17)
                    .and_then(|s| s.try_into().ok())
                    .ok_or(corrupt(i, "short IPv6 address"))?;
                (IpAddr::V6(Ipv6Addr::from(b)), 17)
            }
            _ => return Err(corrupt(i, "unknown address family")),
        };
        i += len;
        let mut count = 0u64;
        let mut shift = 0;
        loop {
            let byte = *bytes.get(i).ok_or(corrupt(i, "short count"))?;
            i += 1;
            if shift > 63 {
                return Err(corrupt(i, "count too long"));
            }
            count |= u64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        out.push((addr, count));
    }
    Ok(out)
}

/// One port cell's `(source address, packets)` list, sorted by address, held in the stored
/// form of [`encode`]: about six bytes per IPv4 source instead of 32 for a decoded pair, which
/// matters at millions of (cell, source) pairs per capture.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SourceList {
    bytes: Vec<u8>,
    len: usize,
}

impl SourceList {
    /// A list of `(address, packets)` pairs, which must be sorted by address without repeats.
    pub fn from_sorted(entries: &[(IpAddr, u64)]) -> Self {
        SourceList {
            bytes: encode(entries),
            len: entries.len(),
        }
    }

    /// Appends one IPv4 source, which must sort after every source already in the list.
    pub(crate) fn push_v4(&mut self, addr: u32, packets: u64) {
        self.bytes.push(4);
        self.bytes.extend_from_slice(&addr.to_be_bytes());
        push_varint(&mut self.bytes, packets);
        self.len += 1;
    }

    /// Appends one IPv6 source, which must sort after every source already in the list.
    pub(crate) fn push_v6(&mut self, addr: u128, packets: u64) {
        self.bytes.push(6);
        self.bytes.extend_from_slice(&addr.to_be_bytes());
        push_varint(&mut self.bytes, packets);
        self.len += 1;
    }

    /// Makes room for `bytes` more bytes of entries.
    pub(crate) fn reserve(&mut self, bytes: usize) {
        self.bytes.reserve_exact(bytes);
    }

    /// Number of distinct sources.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no source is listed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The stored form, as [`encode`] writes it.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The pairs, decoded.
    pub fn to_vec(&self) -> Vec<(IpAddr, u64)> {
        // The bytes were written by this type, so they always decode.
        decode(&self.bytes).unwrap_or_default()
    }
}

impl std::fmt::Debug for SourceList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.to_vec()).finish()
    }
}

fn push_varint(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Merges two sorted lists, adding the counts of addresses found in both.
pub fn merge(a: &[(IpAddr, u64)], b: &[(IpAddr, u64)]) -> Vec<(IpAddr, u64)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push((a[i].0, a[i].1 + b[j].1));
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_addr() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<u32>().prop_map(|v| IpAddr::V4(v.into())),
            any::<u128>().prop_map(|v| IpAddr::V6(v.into()))
        ]
    }

    proptest! {
        #[test]
        fn round_trip_and_merge(a in proptest::collection::btree_map(arb_addr(), 1u64..u64::MAX / 4, 0..50),
                                b in proptest::collection::btree_map(arb_addr(), 1u64..u64::MAX / 4, 0..50)) {
            let va: Vec<_> = a.clone().into_iter().collect();
            let vb: Vec<_> = b.clone().into_iter().collect();
            prop_assert_eq!(decode(&encode(&va)).unwrap(), va.clone());
            let mut pushed = SourceList::default();
            for &(addr, n) in &va {
                match addr {
                    IpAddr::V4(a) => pushed.push_v4(u32::from(a), n),
                    IpAddr::V6(a) => pushed.push_v6(u128::from(a), n),
                }
            }
            prop_assert_eq!(&pushed, &SourceList::from_sorted(&va));
            prop_assert_eq!(pushed.to_vec(), va.clone());
            prop_assert_eq!(pushed.len(), va.len());
            let merged = merge(&va, &vb);
            let mut expect = a;
            for (k, v) in b { *expect.entry(k).or_default() += v; }
            prop_assert_eq!(merged, expect.into_iter().collect::<Vec<_>>());
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&bytes);
        }
    }
}
