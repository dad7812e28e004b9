//! A minimal MaxMind DB writer (format 2.0): an IPv6 search tree with 32-bit records, IPv4 under
//! `::/96`, no aliases; one data map per distinct (country, ASN, name) record. Used to export a
//! [`GeoData`] for other tools and to benchmark the `maxminddb` reader on the same data.

use std::collections::HashMap;

use super::{Attribution, GeoData, GeoValue};

const EMPTY: u32 = u32::MAX;
const DATA_BIT: u32 = 1 << 31;

fn ctrl(out: &mut Vec<u8>, kind: u8, size: usize) {
    let mut first = if kind <= 7 { kind << 5 } else { 0 };
    let (size_bits, extra): (u8, Vec<u8>) = if size < 29 {
        (size as u8, vec![])
    } else if size < 285 {
        (29, vec![(size - 29) as u8])
    } else if size < 65_821 {
        (30, ((size - 285) as u16).to_be_bytes().to_vec())
    } else {
        (31, ((size - 65_821) as u32).to_be_bytes()[1..].to_vec())
    };
    first |= size_bits;
    out.push(first);
    if kind > 7 {
        out.push(kind - 7);
    }
    out.extend_from_slice(&extra);
}

fn uint(out: &mut Vec<u8>, kind: u8, v: u64) {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    ctrl(out, kind, 8 - skip);
    out.extend_from_slice(&bytes[skip..]);
}

fn string(out: &mut Vec<u8>, s: &str) {
    ctrl(out, 2, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn encode_rec(out: &mut Vec<u8>, rec: &Attribution<'_>) {
    let name = rec.as_name;
    let pairs = usize::from(rec.asn.is_some())
        + usize::from(name.is_some())
        + usize::from(rec.country.is_some());
    ctrl(out, 7, pairs);
    if let Some(asn) = rec.asn {
        string(out, "autonomous_system_number");
        uint(out, 6, u64::from(asn));
    }
    if let Some(n) = name {
        string(out, "autonomous_system_organization");
        string(out, n);
    }
    if let Some(c) = rec.country {
        string(out, "country");
        ctrl(out, 7, 1);
        string(out, "iso_code");
        string(out, c.as_str());
    }
}

/// Splits `s..=e` into CIDR blocks `(start, prefix_len)` on a 128-bit space.
fn cidrs(mut s: u128, e: u128, out: &mut Vec<(u128, u8)>) {
    loop {
        let align = if s == 0 { 128 } else { s.trailing_zeros() };
        let room = e - s; // addresses after s
        let fit = if room == u128::MAX {
            128
        } else {
            127 - (room + 1).leading_zeros()
        };
        let bits = align.min(fit);
        out.push((s, (128 - bits) as u8));
        if bits == 128 {
            return;
        }
        match s.checked_add(1u128 << bits) {
            Some(n) if n <= e => s = n,
            _ => return,
        }
    }
}

struct Tree {
    nodes: Vec<[u32; 2]>,
}

impl Tree {
    fn insert(&mut self, addr: u128, len: u8, rec: u32) {
        if len == 0 {
            return; // a whole-space record cannot sit above the root; not produced by our data
        }
        let mut node = 0usize;
        for depth in 0..len {
            let bit = ((addr >> (127 - depth)) & 1) as usize;
            if depth == len - 1 {
                self.nodes[node][bit] = DATA_BIT | rec;
                return;
            }
            let slot = self.nodes[node][bit];
            if slot == EMPTY || slot & DATA_BIT != 0 {
                let fill = slot;
                self.nodes.push([fill, fill]);
                let n = (self.nodes.len() - 1) as u32;
                self.nodes[node][bit] = n;
                node = n as usize;
            } else {
                node = slot as usize;
            }
        }
    }
}

pub(super) fn write(geo: &GeoData) -> Vec<u8> {
    // Data section: one map per distinct value, in first-seen order; ids index `offsets`.
    let mut data = Vec::new();
    let mut offsets: Vec<u32> = Vec::new();
    let mut ids: HashMap<GeoValue, u32> = HashMap::new();
    let mut id_of = |v: GeoValue| -> u32 {
        *ids.entry(v).or_insert_with(|| {
            offsets.push(data.len() as u32);
            encode_rec(&mut data, &geo.attribution(v));
            (offsets.len() - 1) as u32
        })
    };
    let mut tree = Tree {
        nodes: vec![[EMPTY, EMPTY]],
    };
    let mut blocks = Vec::new();
    for (s, e, v) in geo.table.segments_v4() {
        let rec = id_of(v);
        blocks.clear();
        cidrs(u128::from(s), u128::from(e), &mut blocks);
        for &(a, l) in &blocks {
            tree.insert(a, l, rec);
        }
    }
    for (s, e, v) in geo.table.segments_v6() {
        if s >> 32 == 0 {
            continue; // ::/96 holds IPv4
        }
        let rec = id_of(v);
        blocks.clear();
        cidrs(s, e, &mut blocks);
        for &(a, l) in &blocks {
            tree.insert(a, l, rec);
        }
    }
    let node_count = tree.nodes.len() as u32;
    let mut out = Vec::with_capacity(tree.nodes.len() * 8 + data.len() + 512);
    for pair in &tree.nodes {
        for &slot in pair {
            let v = if slot == EMPTY {
                node_count
            } else if slot & DATA_BIT != 0 {
                node_count + 16 + offsets[(slot & !DATA_BIT) as usize]
            } else {
                slot
            };
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
    out.extend_from_slice(&[0u8; 16]);
    out.extend_from_slice(&data);
    out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
    let m = &mut out;
    ctrl(m, 7, 9);
    string(m, "binary_format_major_version");
    uint(m, 5, 2);
    string(m, "binary_format_minor_version");
    uint(m, 5, 0);
    string(m, "build_epoch");
    uint(m, 9, 0);
    string(m, "database_type");
    string(m, "Firewatch-GeoData");
    string(m, "description");
    ctrl(m, 7, 1);
    string(m, "en");
    string(m, geo.version());
    string(m, "ip_version");
    uint(m, 5, 6);
    string(m, "languages");
    ctrl(m, 11, 1);
    string(m, "en");
    string(m, "node_count");
    uint(m, 6, u64::from(node_count));
    string(m, "record_size");
    uint(m, 5, 32);
    out
}
