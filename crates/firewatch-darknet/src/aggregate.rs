//! The aggregator: every packet updates a port cell, a source profile and, for backscatter, a
//! victim-minute. Kept allocation-free per packet; merged across threads at the end.

use crate::backscatter::{self, BackscatterMinute};
use crate::cells::{CellBuilder, MAX_OPEN_RECORDS};
use crate::config::AggregationConfig;
use crate::distinct::{DistinctSet, addr_key};
use crate::fingerprint::{
    PacketTraits, aggregation_port, is_unroutable_source, traits_of, victim_port,
};
use crate::flowtuple::FlowTuple;
use crate::label::SourceCounters;
use crate::source_counts::SourceList;
use crate::sources::{
    self, PARTITIONS, PacketKind, RecordBuffer, SourceKey, SourceRecord, SourceTable, marks,
};
use firewatch_pcap::{DecodeCounters, PacketFacts, Undecodable};
use rustc_hash::FxHashMap;
use smallvec::SmallVec;
use std::net::IpAddr;

const NS_PER_S: i64 = 1_000_000_000;

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

/// The result of aggregating one or more captures.
#[derive(Debug, Default)]
pub struct Aggregate {
    pub interval_secs: u32,
    pub counters: DecodeCounters,
    /// Earliest and latest packet timestamps (ns), if any packet was seen.
    pub time_range: Option<(i64, i64)>,
    pub sources: SourceProfiles,
    pub cells: Vec<PortCell>,
    pub backscatter: Vec<BackscatterMinute>,
    /// `(flowtuple, packets)`, only when [`AggregationConfig::flowtuples`] is on.
    pub flowtuples: Vec<(FlowTuple, u64)>,
}

/// Records buffered before the second pass folds them into source profiles (32 bytes per
/// IPv4 record: 64 MiB). Larger batches bring each partition's profiles into cache for more
/// packets, but measured on 20 M packets from a million sources, 2 Mi to 16 Mi records took
/// the same time, and the smallest saved 440 MiB.
pub(crate) const BATCH_RECORDS: usize = 2 << 20;

/// A worker thread that folds record batches into its own [`SourceTable`]: it takes a full
/// buffer and gives back an empty one.
pub(crate) type TableWorker = Box<dyn FnMut(RecordBuffer) -> RecordBuffer + Send>;

/// Where full record batches go.
enum TableSink {
    /// Folded on this thread, into one table.
    Local(SourceTable),
    /// Handed to workers, each owning a contiguous range of partitions.
    Workers(Vec<TableWorker>),
}

/// Accumulates packets; [`Aggregator::finish`] hands out the [`Aggregate`].
///
/// Each packet updates its victim-minute and flowtuple at once. For its port cell and its
/// source it is only appended to two lists: its interval's, summarised into port cells when
/// the interval closes (module `cells`), and its source partition's, folded into source
/// profiles a batch at a time (module `sources`).
pub struct Aggregator {
    interval_secs: i64,
    flowtuples_on: bool,
    counters: DecodeCounters,
    time_range: Option<(i64, i64)>,
    /// The previous packet's interval as `[start ns, end ns)` and its start in seconds:
    /// most packets fall in it and skip two divisions.
    current_interval: (i64, i64, i64),
    cells: CellBuilder,
    /// `(victim address key, minute number)` → the victim-minute.
    backscatter: FxHashMap<(u128, i64), BackscatterMinute>,
    flowtuples: FxHashMap<FlowTuple, u64>,
    /// Records waiting for the second pass, one buffer per table shard.
    pending: Vec<RecordBuffer>,
    pending_len: usize,
    batch_records: usize,
    sink: TableSink,
}

impl Aggregator {
    /// An empty aggregator that does all its work on the calling thread.
    pub fn new(cfg: AggregationConfig) -> Self {
        Self::with_buffer_limits(cfg, BATCH_RECORDS, MAX_OPEN_RECORDS)
    }

    /// [`Aggregator::new`] with other buffer sizes: records held before source profiles are
    /// updated, and per open interval before its cells are summarised. Results do not depend
    /// on them; tests use tiny ones to exercise the merging of partial results.
    #[doc(hidden)]
    pub fn with_buffer_limits(
        cfg: AggregationConfig,
        batch_records: usize,
        open_records: usize,
    ) -> Self {
        let mut agg = Self::with_sink(cfg, TableSink::Local(SourceTable::new()), 1, batch_records);
        agg.cells = CellBuilder::new(agg.interval_secs, open_records);
        agg
    }

    /// An aggregator whose source profiles are built by `workers`, each owning an equal
    /// contiguous range of source partitions; finish it with [`Aggregator::finish_with`].
    pub(crate) fn with_workers(cfg: AggregationConfig, workers: Vec<TableWorker>) -> Self {
        let shards = workers.len().max(1);
        Self::with_sink(cfg, TableSink::Workers(workers), shards, BATCH_RECORDS)
    }

    fn with_sink(
        cfg: AggregationConfig,
        sink: TableSink,
        shards: usize,
        batch_records: usize,
    ) -> Self {
        Aggregator {
            interval_secs: i64::from(cfg.interval_secs.max(1)),
            flowtuples_on: cfg.flowtuples,
            counters: DecodeCounters::default(),
            time_range: None,
            current_interval: (0, 0, 0),
            cells: CellBuilder::new(i64::from(cfg.interval_secs.max(1)), MAX_OPEN_RECORDS),
            backscatter: FxHashMap::default(),
            flowtuples: FxHashMap::default(),
            pending: (0..shards).map(|_| RecordBuffer::new()).collect(),
            pending_len: 0,
            batch_records: batch_records.max(1),
            sink,
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

    /// Counts and aggregates a batch of IP packets.
    pub fn observe_batch(&mut self, batch: &[PacketFacts]) {
        for p in batch {
            self.counters.record(&Ok(*p));
            self.observe(p);
        }
    }

    /// Unix seconds of the start of the interval holding `ts_ns`.
    #[inline]
    fn interval_of(&mut self, ts_ns: i64) -> i64 {
        let (lo, hi, start) = self.current_interval;
        if ts_ns >= lo && ts_ns < hi {
            return start;
        }
        let start = ts_ns.div_euclid(NS_PER_S).div_euclid(self.interval_secs) * self.interval_secs;
        self.current_interval = (
            start.saturating_mul(NS_PER_S),
            (start.saturating_add(self.interval_secs)).saturating_mul(NS_PER_S),
            start,
        );
        start
    }

    /// Aggregates one packet (without counting it in the decode counters).
    #[inline]
    pub fn observe(&mut self, p: &PacketFacts) {
        let t = traits_of(p);
        let ts = p.ts_ns;
        self.time_range = Some(match self.time_range {
            Some((lo, hi)) => (lo.min(ts), hi.max(ts)),
            None => (ts, ts),
        });
        let interval_start = self.interval_of(ts);
        let dst_hash = sources::dst_hash(p.dst);
        let port = aggregation_port(p);
        if let Some(port) = port {
            self.cells
                .add(interval_start, p.proto, port, p.src, dst_hash, p.ip_len);
        }
        self.push_record(p, &t, dst_hash, port);
        if t.backscatter {
            self.observe_backscatter(p);
        }
        if self.flowtuples_on {
            self.observe_flowtuple(p, interval_start, t.masscan);
        }
        if self.pending_len >= self.batch_records {
            self.flush_pending();
        }
    }

    #[inline]
    fn push_record(&mut self, p: &PacketFacts, t: &PacketTraits, dst_hash: u64, port: Option<u16>) {
        let bit = |on: bool, mark: u8| if on { mark } else { 0 };
        let marks = bit(t.mirai, marks::MIRAI)
            | bit(t.masscan, marks::MASSCAN)
            | bit(t.zmap, marks::ZMAP)
            | bit(t.backscatter, marks::BACKSCATTER)
            | bit(port.is_some(), marks::HAS_PORT);
        let port = port.unwrap_or(0);
        let kind = packet_kind(p, t);
        let shards = self.pending.len();
        macro_rules! record {
            ($src:expr) => {
                SourceRecord {
                    ts_ns: p.ts_ns,
                    dst_hash,
                    src: $src,
                    ip_len: p.ip_len,
                    port,
                    proto: p.proto,
                    ttl: p.ttl,
                    kind,
                    marks,
                }
            };
        }
        match p.src {
            IpAddr::V4(a) => {
                let r = record!(u32::from(a));
                let shard = r.src.partition() * shards / PARTITIONS;
                self.pending[shard].push_v4(r);
            }
            IpAddr::V6(a) => {
                let r = record!(u128::from(a));
                let shard = r.src.partition() * shards / PARTITIONS;
                self.pending[shard].push_v6(r);
            }
        }
        self.pending_len += 1;
    }

    fn observe_backscatter(&mut self, p: &PacketFacts) {
        let ts = p.ts_ns;
        let minute = ts.div_euclid(NS_PER_S).div_euclid(60);
        let m = self
            .backscatter
            .entry((addr_key(p.src), minute))
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
        m.bytes += u64::from(p.ip_len);
        m.first_ns = m.first_ns.min(ts);
        m.last_ns = m.last_ns.max(ts);
        if let Some(vp) = victim_port(p) {
            backscatter::add_port(&mut m.ports, vp);
        }
    }

    fn observe_flowtuple(&mut self, p: &PacketFacts, interval_start: i64, masscan: bool) {
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
            masscan,
        };
        *self.flowtuples.entry(key).or_insert(0) += 1;
    }

    /// Sends the buffered records to the second pass.
    pub(crate) fn flush_pending(&mut self) {
        if self.pending_len == 0 {
            return;
        }
        match &mut self.sink {
            TableSink::Local(table) => {
                for buffer in &mut self.pending {
                    table.absorb(buffer);
                }
            }
            TableSink::Workers(workers) => {
                for (worker, buffer) in workers.iter_mut().zip(&mut self.pending) {
                    if buffer.len() > 0 {
                        let full = std::mem::replace(buffer, RecordBuffer::empty());
                        *buffer = worker(full);
                    }
                }
            }
        }
        self.pending_len = 0;
    }

    /// Sends the last records to the workers and lets them go (dropping their channels), so
    /// they can return their tables.
    pub(crate) fn release_workers(&mut self) {
        self.flush_pending();
        self.sink = TableSink::Workers(Vec::new());
    }

    /// Ends aggregation and returns the results, with each cell's sources sorted.
    pub fn finish(mut self) -> Aggregate {
        self.flush_pending();
        let table = match std::mem::replace(&mut self.sink, TableSink::Workers(Vec::new())) {
            TableSink::Local(table) => table,
            // Only `aggregate_capture` makes workers, and it ends with `finish_with` and the
            // workers' tables; this arm is never taken.
            TableSink::Workers(_) => SourceTable::new(),
        };
        self.finish_with(table)
    }

    /// Ends aggregation with the source table built elsewhere (by the workers).
    pub(crate) fn finish_with(self, table: SourceTable) -> Aggregate {
        let cells = self.cells.finish();
        let mut flowtuples: Vec<(FlowTuple, u64)> = self.flowtuples.into_iter().collect();
        flowtuples.sort_unstable();
        Aggregate {
            interval_secs: self.interval_secs as u32,
            counters: self.counters,
            time_range: self.time_range,
            sources: table.into_profiles(),
            cells,
            backscatter: self.backscatter.into_values().collect(),
            flowtuples,
        }
    }
}

/// The per-source counter a packet adds to.
#[inline]
fn packet_kind(p: &PacketFacts, t: &PacketTraits) -> PacketKind {
    match p.proto {
        6 => {
            let f = p.tcp_flags;
            if t.syn {
                PacketKind::TcpSyn
            } else if f & 0x12 == 0x12 {
                PacketKind::TcpSynAck
            } else if f & 0x04 != 0 {
                PacketKind::TcpRst
            } else if f & 0x01 != 0 {
                PacketKind::TcpFin
            } else if f & 0x10 != 0 {
                PacketKind::TcpAck
            } else {
                PacketKind::TcpOther
            }
        }
        17 => PacketKind::Udp,
        1 | 58 => PacketKind::Icmp,
        _ => PacketKind::OtherProto,
    }
}

impl Aggregate {
    /// Number of IP packets aggregated.
    pub fn packets(&self) -> u64 {
        self.counters.ip_packets
    }
}
