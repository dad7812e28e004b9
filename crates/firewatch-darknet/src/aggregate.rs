//! The aggregator: every packet updates a port cell, a source profile and, for backscatter, a
//! victim-minute. Kept allocation-free per packet; merged across threads at the end.

use crate::backscatter::{self, BackscatterMinute};
use crate::cells::{CellBuilder, MAX_OPEN_RECORDS};
use crate::config::AggregationConfig;
use crate::distinct::addr_key;
use crate::fingerprint::{
    PacketTraits, aggregation_port, is_unroutable_source, traits_of, victim_port,
};
use crate::flowtuple::FlowTuple;
use crate::sources::{
    self, PARTITIONS, PacketKind, RecordBuffer, SourceKey, SourceRecord, SourceTable, marks,
};
use firewatch_pcap::{DecodeCounters, PacketFacts, Undecodable};
use rustc_hash::FxHashMap;
use std::net::IpAddr;

const NS_PER_S: i64 = 1_000_000_000;

pub(crate) use crate::facts::BATCH_RECORDS;
pub use crate::facts::{PortCell, PortTally, SourceProfile, SourceProfiles, TtlSet};

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
