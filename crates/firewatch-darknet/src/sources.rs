//! The source side of aggregation: every packet's source profile, built in a second pass over
//! records partitioned by source address.
//!
//! Why two passes: a telescope sees about a million sources a day, and a profile is a few
//! hundred bytes, so updating profiles in packet order misses the cache on nearly every packet
//! and is bound by memory traffic. The first pass (`Aggregator::observe`) writes a compact
//! [`SourceRecord`] per packet into one of [`PARTITIONS`] buffers chosen by a hash of the
//! source address; this pass then takes one partition at a time, whose profiles and look-up
//! table (a 256th of the whole) stay in the CPU's cache while its records stream through.
//! This is the radix-partitioned aggregation of analytical databases (Manegold, Boncz and
//! Kersten, "Optimizing Main-Memory Join on Modern Hardware", IEEE TKDE 2002).

use crate::distinct::DistinctSet;
use crate::facts::{BATCH_RECORDS, SourceProfile, SourceProfiles};
use rustc_hash::FxHashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// log2 of the number of source partitions. With 256, a partition of a million-source capture
/// (about 4,000 profiles, 1.5 MB) fits a core's 2 MiB L2 cache; 1,024 measured no faster, with
/// four times as many lists written in turn by the first pass.
const PARTITION_BITS: u32 = 8;
/// Number of source partitions.
pub(crate) const PARTITIONS: usize = 1 << PARTITION_BITS;

/// What one packet contributes to its source's profile; 32 bytes for an IPv4 source.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SourceRecord<K> {
    pub ts_ns: i64,
    /// The destination's distinct-set hash, computed once for the port cell and the source.
    pub dst_hash: u64,
    pub src: K,
    pub ip_len: u16,
    /// Aggregation port (meaningful only with [`marks::HAS_PORT`]).
    pub port: u16,
    pub proto: u8,
    pub ttl: u8,
    pub kind: PacketKind,
    /// [`marks`] bits.
    pub marks: u8,
}

/// Which per-source counter a packet adds to (its flag class or protocol).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PacketKind {
    TcpSyn,
    TcpSynAck,
    TcpRst,
    TcpFin,
    TcpAck,
    TcpOther,
    Udp,
    Icmp,
    OtherProto,
}

/// Per-packet fingerprint and backscatter bits of [`SourceRecord::marks`].
pub(crate) mod marks {
    pub const MIRAI: u8 = 1;
    pub const MASSCAN: u8 = 2;
    pub const ZMAP: u8 = 4;
    pub const BACKSCATTER: u8 = 8;
    /// The packet has an aggregation port (it is not a later fragment).
    pub const HAS_PORT: u8 = 16;
}

/// A source address as the partitions key it: `u32` for IPv4, `u128` for IPv6.
pub(crate) trait SourceKey: Copy + Eq + Hash + Ord {
    const IPV4: bool;
    fn addr(self) -> IpAddr;
    /// The partition owning this address: Fibonacci hashing of the address bits, so that
    /// neighbouring addresses (one scanner's /24) spread over all partitions.
    fn partition(self) -> usize;
}

impl SourceKey for u32 {
    const IPV4: bool = true;
    #[inline]
    fn addr(self) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(self))
    }
    #[inline]
    fn partition(self) -> usize {
        (self.wrapping_mul(0x9e37_79b1) >> (32 - PARTITION_BITS)) as usize
    }
}

impl SourceKey for u128 {
    const IPV4: bool = false;
    #[inline]
    fn addr(self) -> IpAddr {
        IpAddr::V6(Ipv6Addr::from(self))
    }
    #[inline]
    fn partition(self) -> usize {
        let folded = (self as u64) ^ ((self >> 64) as u64);
        (folded.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - PARTITION_BITS)) as usize
    }
}

/// Records not yet folded into profiles, one list per partition and address family.
pub(crate) struct RecordBuffer {
    v4: Vec<Vec<SourceRecord<u32>>>,
    v6: Vec<Vec<SourceRecord<u128>>>,
    len: usize,
}

impl RecordBuffer {
    pub fn new() -> Self {
        RecordBuffer {
            v4: (0..PARTITIONS).map(|_| Vec::new()).collect(),
            v6: (0..PARTITIONS).map(|_| Vec::new()).collect(),
            len: 0,
        }
    }

    /// A buffer with no partition lists, a placeholder while the real one is away.
    pub fn empty() -> Self {
        RecordBuffer {
            v4: Vec::new(),
            v6: Vec::new(),
            len: 0,
        }
    }

    /// Records held.
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn push_v4(&mut self, r: SourceRecord<u32>) {
        push_prefetched(&mut self.v4[r.src.partition()], r);
        self.len += 1;
    }

    #[inline]
    pub fn push_v6(&mut self, r: SourceRecord<u128>) {
        push_prefetched(&mut self.v6[r.src.partition()], r);
        self.len += 1;
    }
}

/// Records a partition list first reserves room for: twice its share of a full batch, so
/// that it rarely grows (and copies) later.
const FIRST_RESERVE: usize = 2 * BATCH_RECORDS / PARTITIONS;

/// Appends to one of 256 lists written in turn. Each list's next cache lines are requested
/// ahead of time: 256 write streams are more than the CPU's prefetchers follow, and each write
/// to a line not yet in cache would otherwise wait for memory.
#[inline]
fn push_prefetched<T>(list: &mut Vec<T>, item: T) {
    if list.capacity() == 0 {
        list.reserve(FIRST_RESERVE);
    }
    list.push(item);
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // Eight records (256 bytes for IPv4) ahead: a few lines before they are written.
        let ahead = list.as_ptr().wrapping_add(list.len() + 8).cast::<i8>();
        // SAFETY: a prefetch is a hint on an address; it never faults and reads nothing.
        unsafe { _mm_prefetch(ahead, _MM_HINT_T0) };
    }
}

/// Profiles per chunk of a partition. Profiles live in fixed-size chunks rather than one
/// growing vector: its doublings copied every profile again into freshly faulted-in memory,
/// 7 % of a one-core run over 20 M packets from a million sources.
const CHUNK: usize = 256;

/// The sources of one partition.
struct Partition<K> {
    index: FxHashMap<K, u32>,
    /// Each profile's address as a key, by local index.
    keys: Vec<K>,
    /// Profiles by local index, [`CHUNK`] to a chunk.
    chunks: Vec<Vec<SourceProfile>>,
}

impl<K> Default for Partition<K> {
    fn default() -> Self {
        Partition {
            index: FxHashMap::default(),
            keys: Vec::new(),
            chunks: Vec::new(),
        }
    }
}

impl<K: SourceKey> Partition<K> {
    /// The local index of `key`'s profile, made with `new` if the key is new.
    #[inline]
    fn slot(&mut self, key: K, new: impl FnOnce() -> SourceProfile) -> usize {
        let next = self.keys.len() as u32;
        let local = *self.index.entry(key).or_insert(next);
        if local == next {
            match self.chunks.last_mut() {
                Some(chunk) if chunk.len() < CHUNK => chunk.push(new()),
                _ => {
                    let mut chunk = Vec::with_capacity(CHUNK);
                    chunk.push(new());
                    self.chunks.push(chunk);
                }
            }
            self.keys.push(key);
        }
        local as usize
    }

    #[inline]
    fn profile_mut(&mut self, local: usize) -> &mut SourceProfile {
        &mut self.chunks[local / CHUNK][local % CHUNK]
    }

    /// Folds records (in packet order) into profiles.
    fn absorb(&mut self, records: &[SourceRecord<K>]) {
        for r in records {
            let local = self.slot(r.src, || SourceProfile::new(r.src.addr(), r.ts_ns));
            self.profile_mut(local).fold(r, K::IPV4);
        }
    }

    /// Adds another partition's view of the same addresses.
    fn merge(&mut self, other: Partition<K>) {
        if self.keys.is_empty() {
            *self = other;
            return;
        }
        for (key, theirs) in other
            .keys
            .into_iter()
            .zip(other.chunks.into_iter().flatten())
        {
            match self.index.get(&key) {
                Some(&local) => self.profile_mut(local as usize).merge(&theirs),
                None => {
                    self.slot(key, || theirs);
                }
            }
        }
    }
}

/// Every source profile, partitioned by source address.
pub(crate) struct SourceTable {
    v4: Vec<Partition<u32>>,
    v6: Vec<Partition<u128>>,
}

impl SourceTable {
    pub fn new() -> Self {
        SourceTable {
            v4: (0..PARTITIONS).map(|_| Partition::default()).collect(),
            v6: (0..PARTITIONS).map(|_| Partition::default()).collect(),
        }
    }

    /// Folds every buffered record in, one partition at a time, and empties the buffer
    /// (keeping its capacity for the next batch).
    pub fn absorb(&mut self, buffer: &mut RecordBuffer) {
        for (part, records) in self.v4.iter_mut().zip(&mut buffer.v4) {
            if !records.is_empty() {
                part.absorb(records);
                records.clear();
            }
        }
        for (part, records) in self.v6.iter_mut().zip(&mut buffer.v6) {
            if !records.is_empty() {
                part.absorb(records);
                records.clear();
            }
        }
        buffer.len = 0;
    }

    /// Adds another table (another worker's partitions).
    pub fn merge(&mut self, other: SourceTable) {
        for (mine, theirs) in self.v4.iter_mut().zip(other.v4) {
            mine.merge(theirs);
        }
        for (mine, theirs) in self.v6.iter_mut().zip(other.v6) {
            mine.merge(theirs);
        }
    }
}

impl SourceProfile {
    /// Adds one packet's record.
    #[inline]
    fn fold<K>(&mut self, r: &SourceRecord<K>, ipv4: bool) {
        self.first_ns = self.first_ns.min(r.ts_ns);
        self.last_ns = self.last_ns.max(r.ts_ns);
        let c = &mut self.counters;
        c.packets += 1;
        c.bytes += u64::from(r.ip_len);
        c.ipv4_packets += u64::from(ipv4);
        match r.kind {
            PacketKind::TcpSyn => c.tcp_syn += 1,
            PacketKind::TcpSynAck => c.tcp_synack += 1,
            PacketKind::TcpRst => c.tcp_rst += 1,
            PacketKind::TcpFin => c.tcp_fin += 1,
            PacketKind::TcpAck => c.tcp_ack += 1,
            PacketKind::TcpOther => c.tcp_other += 1,
            PacketKind::Udp => c.udp += 1,
            PacketKind::Icmp => c.icmp += 1,
            PacketKind::OtherProto => c.other_proto += 1,
        }
        c.mirai += u64::from(r.marks & marks::MIRAI != 0);
        c.masscan += u64::from(r.marks & marks::MASSCAN != 0);
        c.zmap += u64::from(r.marks & marks::ZMAP != 0);
        c.backscatter += u64::from(r.marks & marks::BACKSCATTER != 0);
        self.ttls.insert(r.ttl);
        self.destinations.insert_hash(r.dst_hash);
        if r.marks & marks::HAS_PORT != 0 {
            self.add_port(u32::from(r.proto) << 16 | u32::from(r.port));
        }
    }
}

impl SourceTable {
    /// Every source profile, still in partitions.
    pub fn into_profiles(self) -> SourceProfiles {
        SourceProfiles::from_parts(
            self.v4
                .into_iter()
                .flat_map(|p| p.chunks)
                .chain(self.v6.into_iter().flat_map(|p| p.chunks))
                .filter(|p| !p.is_empty())
                .collect(),
        )
    }
}

/// Distinct-set hashing is shared by the first pass (for port cells) and this one.
#[inline]
pub(crate) fn dst_hash(dst: IpAddr) -> u64 {
    DistinctSet::hash_of(crate::distinct::addr_key(dst))
}
