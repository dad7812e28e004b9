//! The aggregator: every packet updates a port cell, a source profile and, for backscatter, a
//! victim-minute. Kept allocation-free per packet; merged across threads at the end.

use crate::backscatter::{self, BackscatterMinute};
use crate::config::AggregationConfig;
use crate::distinct::{DistinctSet, addr_key};
use crate::fingerprint::{aggregation_port, is_unroutable_source, traits_of, victim_port};
use crate::flowtuple::FlowTuple;
use crate::label::SourceCounters;
use firewatch_pcap::{DecodeCounters, PacketFacts, Undecodable};
use rustc_hash::FxHashMap;
use smallvec::SmallVec;
use std::net::IpAddr;

const NS_PER_S: i64 = 1_000_000_000;

/// Asks the CPU to bring a value's cache lines in ahead of use. A hint only: it
/// never faults and changes no result.
#[inline(always)]
fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let ptr = (value as *const T).cast::<i8>();
        // SAFETY: prefetching is a hint on a valid reference's address; it reads nothing.
        for line in (0..std::mem::size_of::<T>()).step_by(64) {
            unsafe { _mm_prefetch(ptr.wrapping_add(line), _MM_HINT_T0) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

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
    fn new(addr: IpAddr, ts_ns: i64) -> Self {
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
    fn add_port(&mut self, pair: u32) {
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
#[derive(Debug, Clone)]
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
    pub sources: Vec<(IpAddr, u64)>,
}

/// The result of aggregating one or more captures.
#[derive(Debug, Default)]
pub struct Aggregate {
    pub interval_secs: u32,
    pub counters: DecodeCounters,
    /// Earliest and latest packet timestamps (ns), if any packet was seen.
    pub time_range: Option<(i64, i64)>,
    pub sources: Vec<SourceProfile>,
    pub cells: Vec<PortCell>,
    pub backscatter: Vec<BackscatterMinute>,
    /// `(flowtuple, packets)`, only when [`AggregationConfig::flowtuples`] is on.
    pub flowtuples: Vec<(FlowTuple, u64)>,
}

struct CellAcc {
    interval_start: i64,
    proto: u8,
    port: u16,
    packets: u64,
    bytes: u64,
    destinations: DistinctSet,
    /// `(source, packets)` moved out of the live map once the interval is past; may hold a
    /// source twice if late packets arrive after the flush (summed in `finish`).
    flushed: Vec<(u32, u64)>,
}

/// Accumulates packets; [`Aggregator::finish`] hands out the [`Aggregate`].
pub struct Aggregator {
    interval_secs: i64,
    flowtuples_on: bool,
    counters: DecodeCounters,
    time_range: Option<(i64, i64)>,
    v4_sources: FxHashMap<u32, u32>,
    v6_sources: FxHashMap<u128, u32>,
    sources: Vec<SourceProfile>,
    cell_index: FxHashMap<u64, u32>,
    cells: Vec<CellAcc>,
    /// `(cell << 32) | source` → packets, for recent intervals only: older ones are flushed
    /// into their cell so this map stays small enough for the cache.
    cell_sources: FxHashMap<u64, u64>,
    /// Latest interval start seen, and the one up to which `cell_sources` was last flushed.
    newest_interval: i64,
    flushed_before: i64,
    /// `(source << 32) | minute number` → the victim-minute.
    backscatter: FxHashMap<u64, BackscatterMinute>,
    flowtuples: FxHashMap<FlowTuple, u64>,
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new(cfg: AggregationConfig) -> Self {
        Aggregator {
            interval_secs: i64::from(cfg.interval_secs.max(1)),
            flowtuples_on: cfg.flowtuples,
            counters: DecodeCounters::default(),
            time_range: None,
            v4_sources: FxHashMap::default(),
            v6_sources: FxHashMap::default(),
            sources: Vec::new(),
            cell_index: FxHashMap::default(),
            cells: Vec::new(),
            cell_sources: FxHashMap::default(),
            newest_interval: i64::MIN,
            flushed_before: i64::MIN,
            backscatter: FxHashMap::default(),
            flowtuples: FxHashMap::default(),
        }
    }

    /// Counts one decode outcome and aggregates it if it is an IP packet.
    #[inline]
    pub fn observe_outcome(&mut self, outcome: &Result<PacketFacts, Undecodable>) {
        self.counters.record(outcome);
        if let Ok(p) = outcome {
            self.observe(p);
        }
    }

    #[inline]
    fn source_index(&mut self, addr: IpAddr, ts_ns: i64) -> usize {
        let next = self.sources.len() as u32;
        let idx = match addr {
            IpAddr::V4(a) => *self.v4_sources.entry(u32::from(a)).or_insert(next),
            IpAddr::V6(a) => *self.v6_sources.entry(u128::from(a)).or_insert(next),
        };
        if idx == next {
            self.sources.push(SourceProfile::new(addr, ts_ns));
        }
        idx as usize
    }

    #[inline]
    fn cell(&mut self, interval_start: i64, proto: u8, port: u16) -> u32 {
        // 40 bits of interval number cover any capture timestamp (pcap's are 32-bit seconds).
        let number = (interval_start.div_euclid(self.interval_secs) as u64) & ((1 << 40) - 1);
        let key = number << 24 | u64::from(proto) << 16 | u64::from(port);
        let next = self.cells.len() as u32;
        let idx = *self.cell_index.entry(key).or_insert(next);
        if idx == next {
            self.cells.push(CellAcc {
                interval_start,
                proto,
                port,
                packets: 0,
                bytes: 0,
                destinations: DistinctSet::new(),
                flushed: Vec::new(),
            });
        }
        idx
    }

    /// Aggregates one packet.
    #[inline]
    pub fn observe(&mut self, p: &PacketFacts) {
        let src = self.source_index(p.src, p.ts_ns);
        self.observe_from(p, src);
    }

    /// Aggregates a batch of IP packets (counted as decoded), faster than one at a time: the
    /// source look-ups of the whole batch run first, so their cache misses overlap, and every
    /// source profile is prefetched before its packet is folded in.
    pub fn observe_batch(&mut self, batch: &[PacketFacts]) {
        const CHUNK: usize = 64;
        let mut index = [0usize; CHUNK];
        for chunk in batch.chunks(CHUNK) {
            for (slot, p) in index.iter_mut().zip(chunk) {
                *slot = self.source_index(p.src, p.ts_ns);
            }
            for &i in &index[..chunk.len()] {
                prefetch(&self.sources[i]);
            }
            for (p, &i) in chunk.iter().zip(&index) {
                self.counters.record(&Ok(*p));
                self.observe_from(p, i);
            }
        }
    }

    #[inline]
    fn observe_from(&mut self, p: &PacketFacts, src: usize) {
        let t = traits_of(p);
        let ts = p.ts_ns;
        self.time_range = Some(match self.time_range {
            Some((lo, hi)) => (lo.min(ts), hi.max(ts)),
            None => (ts, ts),
        });
        let interval_start =
            ts.div_euclid(NS_PER_S).div_euclid(self.interval_secs) * self.interval_secs;
        if interval_start > self.newest_interval {
            self.newest_interval = interval_start;
            self.flush_old_cell_sources();
        }
        let dst_key = addr_key(p.dst);
        let ip_bytes = u64::from(p.ip_len);
        let port = aggregation_port(p);

        let s = &mut self.sources[src];
        s.first_ns = s.first_ns.min(ts);
        s.last_ns = s.last_ns.max(ts);
        let c = &mut s.counters;
        c.packets += 1;
        c.bytes += ip_bytes;
        c.ipv4_packets += u64::from(p.src.is_ipv4());
        match p.proto {
            6 => {
                let f = p.tcp_flags;
                if t.syn {
                    c.tcp_syn += 1;
                } else if f & 0x12 == 0x12 {
                    c.tcp_synack += 1;
                } else if f & 0x04 != 0 {
                    c.tcp_rst += 1;
                } else if f & 0x01 != 0 {
                    c.tcp_fin += 1;
                } else if f & 0x10 != 0 {
                    c.tcp_ack += 1;
                } else {
                    c.tcp_other += 1;
                }
            }
            17 => c.udp += 1,
            1 | 58 => c.icmp += 1,
            _ => c.other_proto += 1,
        }
        c.mirai += u64::from(t.mirai);
        c.masscan += u64::from(t.masscan);
        c.zmap += u64::from(t.zmap);
        c.backscatter += u64::from(t.backscatter);
        s.ttls.insert(p.ttl);
        s.destinations.insert(dst_key);

        if let Some(port) = port {
            let pair = u32::from(p.proto) << 16 | u32::from(port);
            s.add_port(pair);
            let cell = self.cell(interval_start, p.proto, port);
            let acc = &mut self.cells[cell as usize];
            acc.packets += 1;
            acc.bytes += ip_bytes;
            acc.destinations.insert(dst_key);
            *self
                .cell_sources
                .entry(u64::from(cell) << 32 | src as u64)
                .or_insert(0) += 1;
        }

        if t.backscatter {
            let minute = ts.div_euclid(NS_PER_S).div_euclid(60);
            let key = (src as u64) << 32 | (minute as u64 & 0xffff_ffff);
            let m = self
                .backscatter
                .entry(key)
                .or_insert_with(|| BackscatterMinute {
                    victim: p.src,
                    minute: minute * 60,
                    packets: 0,
                    bytes: 0,
                    first_ns: ts,
                    last_ns: ts,
                    proto: p.proto,
                    ports: Vec::new(),
                });
            m.packets += 1;
            m.bytes += ip_bytes;
            m.first_ns = m.first_ns.min(ts);
            m.last_ns = m.last_ns.max(ts);
            if let Some(vp) = victim_port(p) {
                backscatter::add_port(&mut m.ports, vp);
            }
        }

        if self.flowtuples_on {
            let key = FlowTuple {
                interval_start,
                src: p.src,
                dst: p.dst,
                sport: p.sport,
                dport: p.dport,
                proto: p.proto,
                ttl: p.ttl,
                tcp_flags: p.tcp_flags,
                ip_len: p.ip_len,
                spoofed: is_unroutable_source(p.src),
                masscan: t.masscan,
            };
            *self.flowtuples.entry(key).or_insert(0) += 1;
        }
    }

    /// Moves the (cell, source) counts of intervals two or more behind the newest into their
    /// cells. Captures are nearly in time order, so the live map holds about two intervals.
    fn flush_old_cell_sources(&mut self) {
        let before = self.newest_interval.saturating_sub(self.interval_secs);
        if before <= self.flushed_before {
            return;
        }
        self.flushed_before = before;
        let cells = &mut self.cells;
        self.cell_sources.retain(|&key, &mut n| {
            let cell = &mut cells[(key >> 32) as usize];
            if cell.interval_start < before {
                cell.flushed.push(((key & 0xffff_ffff) as u32, n));
                false
            } else {
                true
            }
        });
        // Old cells leave the index too; a late packet for one makes a second cell with the
        // same key, which `finish` folds back in.
        self.cell_index
            .retain(|_, &mut idx| cells[idx as usize].interval_start >= before);
    }

    /// Folds another aggregator (say, another thread's) into this one.
    pub fn merge(&mut self, other: Aggregator) {
        self.counters.merge(&other.counters);
        if let Some((lo, hi)) = other.time_range {
            self.time_range = Some(match self.time_range {
                Some((a, b)) => (a.min(lo), b.max(hi)),
                None => (lo, hi),
            });
        }
        let source_map: Vec<u32> = other
            .sources
            .iter()
            .map(|s| {
                let idx = self.source_index(s.addr, s.first_ns);
                self.sources[idx].merge(s);
                idx as u32
            })
            .collect();
        // Cells are appended, not looked up: `finish` folds cells that share a key, so a merge
        // costs no hashing per cell (workers sharded by port never share one anyway).
        let base = self.cells.len() as u32;
        let cell_map: Vec<u32> = (0..other.cells.len() as u32).map(|i| base + i).collect();
        self.cells.extend(other.cells.into_iter().map(|mut c| {
            for entry in &mut c.flushed {
                entry.0 = source_map[entry.0 as usize];
            }
            c
        }));
        for (key, n) in other.cell_sources {
            let cell = cell_map[(key >> 32) as usize];
            let src = source_map[(key & 0xffff_ffff) as usize];
            *self
                .cell_sources
                .entry(u64::from(cell) << 32 | u64::from(src))
                .or_insert(0) += n;
        }
        for (key, m) in other.backscatter {
            let src = source_map[(key >> 32) as usize];
            let key = u64::from(src) << 32 | (key & 0xffff_ffff);
            match self.backscatter.get_mut(&key) {
                Some(mine) => mine.merge(&m),
                None => {
                    self.backscatter.insert(key, m);
                }
            }
        }
        for (k, n) in other.flowtuples {
            *self.flowtuples.entry(k).or_insert(0) += n;
        }
    }

    /// Ends aggregation and returns the results, with each cell's sources sorted.
    pub fn finish(self) -> Aggregate {
        let mut cells_acc = self.cells;
        for (key, n) in self.cell_sources {
            cells_acc[(key >> 32) as usize]
                .flushed
                .push(((key & 0xffff_ffff) as u32, n));
        }
        let sources_of = &self.sources;
        cells_acc.sort_by_key(|c| (c.interval_start, c.proto, c.port));
        let mut folded: Vec<CellAcc> = Vec::with_capacity(cells_acc.len());
        for c in cells_acc {
            match folded.last_mut() {
                Some(last)
                    if (last.interval_start, last.proto, last.port)
                        == (c.interval_start, c.proto, c.port) =>
                {
                    last.packets += c.packets;
                    last.bytes += c.bytes;
                    last.destinations.merge(&c.destinations);
                    last.flushed.extend(c.flushed);
                }
                _ => folded.push(c),
            }
        }
        let cells = folded
            .into_iter()
            .map(|c| {
                let mut sources: Vec<(IpAddr, u64)> = c
                    .flushed
                    .iter()
                    .map(|&(src, n)| (sources_of[src as usize].addr, n))
                    .collect();
                sources.sort_unstable();
                // A source flushed and then seen again late appears twice: sum its counts.
                sources.dedup_by(|later, kept| {
                    if later.0 == kept.0 {
                        kept.1 += later.1;
                        true
                    } else {
                        false
                    }
                });
                PortCell {
                    interval_start: c.interval_start,
                    proto: c.proto,
                    port: c.port,
                    packets: c.packets,
                    bytes: c.bytes,
                    destinations: c.destinations,
                    sources,
                }
            })
            .collect();
        let mut flowtuples: Vec<(FlowTuple, u64)> = self.flowtuples.into_iter().collect();
        flowtuples.sort_unstable();
        Aggregate {
            interval_secs: self.interval_secs as u32,
            counters: self.counters,
            time_range: self.time_range,
            sources: self.sources,
            cells,
            backscatter: self.backscatter.into_values().collect(),
            flowtuples,
        }
    }
}

impl Aggregate {
    /// Number of IP packets aggregated.
    pub fn packets(&self) -> u64 {
        self.counters.ip_packets
    }
}
