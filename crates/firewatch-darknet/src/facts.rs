//! What the aggregation produces, per interval and per source: the fact types the store keeps,
//! and how two of them merge.

use crate::distinct::DistinctSet;
use crate::label::SourceCounters;
use crate::source_counts::SourceList;
use smallvec::SmallVec;
use std::net::IpAddr;

/// The TTLs (or hop limits) a source used, as a 256-bit set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TtlSet(pub [u64; 4]);

impl TtlSet {
    #[inline]
    pub fn insert(&mut self, ttl: u8) {
        self.0[usize::from(ttl >> 6)] |= 1 << (ttl & 63);
    }
    pub fn merge(&mut self, other: &TtlSet) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a |= b;
        }
    }
    /// The TTL values present, ascending.
    pub fn values(&self) -> Vec<u8> {
        (0..=255u8)
            .filter(|&t| self.0[usize::from(t >> 6)] & (1 << (t & 63)) != 0)
            .collect()
    }
    /// The 32-byte little-endian form kept in the store.
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(8).zip(self.0) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        out
    }
    /// Reads [`TtlSet::to_bytes`]; anything of the wrong length reads as empty.
    pub fn from_bytes(bytes: &[u8]) -> TtlSet {
        let mut set = TtlSet::default();
        if bytes.len() == 32 {
            for (word, chunk) in set.0.iter_mut().zip(bytes.chunks_exact(8)) {
                let mut b = [0u8; 8];
                b.copy_from_slice(chunk);
                *word = u64::from_le_bytes(b);
            }
        }
        set
    }
}

/// Most distinct (protocol, port) pairs a source may touch and still have each counted.
pub const TOP_PORTS: usize = 32;

/// Packets per (protocol, port) of one source, exact while it touched at most [`TOP_PORTS`]
/// pairs. Beyond that only the total is kept (`ports` empty, everything in `overflow`): which
/// pairs would be kept must not depend on packet order, or merging captures would change it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortTally {
    /// `((protocol << 16) | port, packets)`; the first two inline, as most sources touch one
    /// or two ports, so the common case costs no allocation and no pointer to chase.
    pub ports: SmallVec<[(u32, u64); 2]>,
    /// Packets not counted per pair (all of them once the source touched too many pairs).
    pub overflow: u64,
}

impl PortTally {
    fn total(&self) -> u64 {
        self.ports.iter().map(|p| p.1).sum::<u64>() + self.overflow
    }
}

/// Everything the telescope learned about one source address.
#[derive(Debug, Clone)]
pub struct SourceProfile {
    pub addr: IpAddr,
    pub first_ns: i64,
    pub last_ns: i64,
    pub counters: SourceCounters,
    pub ttls: TtlSet,
    /// Distinct darknet addresses touched.
    pub destinations: DistinctSet,
    /// Distinct `(protocol << 16) | port` pairs, kept only once the source touched more
    /// than [`TOP_PORTS`] pairs; until then `top_ports` is exact and cheaper.
    pub ports: Option<Box<DistinctSet>>,
    pub top_ports: PortTally,
}

/// The distinct set of a tally's pairs.
fn pairs_set(tally: &PortTally) -> DistinctSet {
    let mut set = DistinctSet::new();
    for &(k, _) in &tally.ports {
        set.insert(u128::from(k));
    }
    set
}

impl SourceProfile {
    pub(crate) fn new(addr: IpAddr, ts_ns: i64) -> Self {
        SourceProfile {
            addr,
            first_ns: ts_ns,
            last_ns: ts_ns,
            counters: SourceCounters::default(),
            ttls: TtlSet::default(),
            destinations: DistinctSet::new(),
            ports: None,
            top_ports: PortTally::default(),
        }
    }

    /// Adds another view of the same source.
    pub fn merge(&mut self, other: &SourceProfile) {
        self.first_ns = self.first_ns.min(other.first_ns);
        self.last_ns = self.last_ns.max(other.last_ns);
        self.counters.add(&other.counters);
        self.ttls.merge(&other.ttls);
        self.destinations.merge(&other.destinations);
        let mut keys: Vec<u32> = self
            .top_ports
            .ports
            .iter()
            .chain(&other.top_ports.ports)
            .map(|p| p.0)
            .collect();
        keys.sort_unstable();
        keys.dedup();
        if self.ports.is_some() || other.ports.is_some() || keys.len() > TOP_PORTS {
            let total = self.top_ports.total() + other.top_ports.total();
            let mut set = self
                .ports
                .take()
                .unwrap_or_else(|| Box::new(pairs_set(&self.top_ports)));
            match &other.ports {
                Some(theirs) => set.merge(theirs),
                None => set.merge(&pairs_set(&other.top_ports)),
            }
            self.ports = Some(set);
            self.top_ports = PortTally {
                ports: SmallVec::new(),
                overflow: total,
            };
        } else {
            for &(k, n) in &other.top_ports.ports {
                match self.top_ports.ports.iter_mut().find(|e| e.0 == k) {
                    Some(e) => e.1 += n,
                    None => self.top_ports.ports.push((k, n)),
                }
            }
        }
    }

    /// Counts one packet to a `(protocol << 16) | port` pair.
    #[inline]
    pub(crate) fn add_port(&mut self, pair: u32) {
        if let Some(set) = &mut self.ports {
            set.insert(u128::from(pair));
            self.top_ports.overflow += 1;
        } else if let Some(e) = self.top_ports.ports.iter_mut().find(|e| e.0 == pair) {
            e.1 += 1;
        } else if self.top_ports.ports.len() < TOP_PORTS {
            self.top_ports.ports.push((pair, 1));
        } else {
            let mut set = pairs_set(&self.top_ports);
            set.insert(u128::from(pair));
            self.ports = Some(Box::new(set));
            self.top_ports = PortTally {
                ports: SmallVec::new(),
                overflow: self.top_ports.total() + 1,
            };
        }
    }

    /// Distinct (protocol, port) pairs touched.
    pub fn distinct_ports(&self) -> u64 {
        match &self.ports {
            Some(set) => set.count(),
            None => self.top_ports.ports.len() as u64,
        }
    }
}

/// One (interval, protocol, port) of the port time series.
#[derive(Debug, Clone, Default)]
pub struct PortCell {
    /// Unix seconds of the interval's start.
    pub interval_start: i64,
    pub proto: u8,
    /// Destination port (TCP/UDP), message type (ICMP), or 0.
    pub port: u16,
    pub packets: u64,
    /// IP bytes (the IP header's length field).
    pub bytes: u64,
    pub destinations: DistinctSet,
    /// Packets per source, sorted by address: unique sources are its length.
    pub sources: SourceList,
}

/// Every source's profile, kept in the partitions they were built in (see module `sources`)
/// rather than copied into one list: a million profiles are a few hundred megabytes.
#[derive(Debug, Default)]
pub struct SourceProfiles {
    parts: Vec<Vec<SourceProfile>>,
    len: usize,
}

impl SourceProfiles {
    pub(crate) fn from_parts(parts: Vec<Vec<SourceProfile>>) -> Self {
        let len = parts.iter().map(Vec::len).sum();
        SourceProfiles { parts, len }
    }

    /// Number of sources.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no source was seen.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every profile, IPv4 sources first.
    pub fn iter(&self) -> impl Iterator<Item = &SourceProfile> {
        self.parts.iter().flatten()
    }
}

impl<'a> IntoIterator for &'a SourceProfiles {
    type Item = &'a SourceProfile;
    type IntoIter = std::iter::Flatten<std::slice::Iter<'a, Vec<SourceProfile>>>;
    fn into_iter(self) -> Self::IntoIter {
        self.parts.iter().flatten()
    }
}

/// Records buffered before the second pass folds them into source profiles (32 bytes per
/// IPv4 record: 64 MiB). Larger batches bring each partition's profiles into cache for more
/// packets, but measured on 20 M packets from a million sources, 2 Mi to 16 Mi records took
/// the same time, and the smallest saved 440 MiB.
pub(crate) const BATCH_RECORDS: usize = 2 << 20;
