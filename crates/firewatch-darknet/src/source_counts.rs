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
        let mut n = *count;
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
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
