//! Port cells: packets, bytes, distinct destinations and per-source packets for each
//! (interval, protocol, port).
//!
//! A packet is not looked up in a table of cells: it is appended, as a 24-byte record, to the
//! list of its interval. When an interval is closed (two intervals behind the newest packet,
//! so slightly late packets still find it open) its list is sorted by (protocol, port,
//! source) and read once, in order: each cell's packets are then adjacent, and within them
//! each source's. Appending costs a few nanoseconds; a per-packet look-up in thousands of
//! cells of a few hundred bytes each missed the cache on most packets.

use crate::facts::PortCell;
use crate::source_counts::{self, SourceList};
use std::net::IpAddr;

/// Records an open interval may hold before it is summarised early (its remaining packets
/// then make a second cell for the same key, folded in by [`CellBuilder::finish`]). Bounds
/// memory on very busy telescopes: 4 Mi records are 96 MiB.
pub(crate) const MAX_OPEN_RECORDS: usize = 4 << 20;

/// Open intervals kept before late ones (those already due to close) are summarised: packets
/// far out of time order, say a capture in reverse, must not pile up open intervals that every
/// packet would then search.
const MAX_OPEN_INTERVALS: usize = 8;

/// One packet of an IPv4 source: `key` is `(protocol << 16 | port) << 32 | source`, so
/// sorting by it groups cells, and sources within them.
#[derive(Debug, Clone, Copy)]
struct V4Record {
    key: u64,
    dst_hash: u64,
    ip_len: u16,
}

/// One packet of an IPv6 source.
#[derive(Debug, Clone, Copy)]
struct V6Record {
    src: u128,
    dst_hash: u64,
    pair: u32,
    ip_len: u16,
}

/// The packets of one open interval.
#[derive(Debug, Default)]
struct OpenInterval {
    start: i64,
    v4: Vec<V4Record>,
    v6: Vec<V6Record>,
}

impl OpenInterval {
    fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }
}

/// Builds the port cells of a capture.
#[derive(Debug)]
pub(crate) struct CellBuilder {
    interval_secs: i64,
    max_open_records: usize,
    /// Open intervals; nearly always one or two. The last is the one most packets go to.
    open: Vec<OpenInterval>,
    /// Emptied interval lists, kept with their capacity to be reused.
    spare: Vec<OpenInterval>,
    /// The newest interval start seen.
    newest: i64,
    /// Summarised cells, in key order except around late packets.
    cells: Vec<PortCell>,
}

impl CellBuilder {
    pub fn new(interval_secs: i64, max_open_records: usize) -> Self {
        CellBuilder {
            interval_secs,
            max_open_records: max_open_records.max(1),
            open: Vec::new(),
            spare: Vec::new(),
            newest: i64::MIN,
            cells: Vec::new(),
        }
    }

    /// Adds one packet to cell (`interval_start`, `proto`, `port`).
    #[inline]
    pub fn add(
        &mut self,
        interval_start: i64,
        proto: u8,
        port: u16,
        src: IpAddr,
        dst_hash: u64,
        ip_len: u16,
    ) {
        if interval_start > self.newest {
            self.newest = interval_start;
            self.close_before(interval_start.saturating_sub(self.interval_secs));
        }
        let at = match self.open.last() {
            Some(last) if last.start == interval_start => self.open.len() - 1,
            _ => self.open_interval(interval_start),
        };
        let interval = &mut self.open[at];
        let pair = u32::from(proto) << 16 | u32::from(port);
        match src {
            IpAddr::V4(a) => interval.v4.push(V4Record {
                key: u64::from(pair) << 32 | u64::from(u32::from(a)),
                dst_hash,
                ip_len,
            }),
            IpAddr::V6(a) => interval.v6.push(V6Record {
                src: u128::from(a),
                dst_hash,
                pair,
                ip_len,
            }),
        }
        if interval.len() >= self.max_open_records {
            let mut full = self.open.remove(at);
            self.summarise(&mut full);
            self.open.insert(at, full);
        }
        if self.open.len() > MAX_OPEN_INTERVALS {
            self.close_before(self.newest.saturating_sub(self.interval_secs));
        }
    }

    /// The index of the open interval starting at `start`, opened if need be; it is moved
    /// last, where the next packets will look first.
    #[cold]
    fn open_interval(&mut self, start: i64) -> usize {
        let interval = match self.open.iter().position(|o| o.start == start) {
            Some(i) => self.open.remove(i),
            None => {
                let mut fresh = self.spare.pop().unwrap_or_default();
                fresh.start = start;
                fresh
            }
        };
        self.open.push(interval);
        self.open.len() - 1
    }

    /// Summarises every open interval that starts before `before`.
    fn close_before(&mut self, before: i64) {
        let mut i = 0;
        while i < self.open.len() {
            if self.open[i].start < before {
                let mut closed = self.open.remove(i);
                self.summarise(&mut closed);
                self.spare.push(closed);
            } else {
                i += 1;
            }
        }
    }

    /// Turns an interval's records into cells and empties it (keeping its capacity).
    fn summarise(&mut self, interval: &mut OpenInterval) {
        interval.v4.sort_unstable_by_key(|r| r.key);
        interval.v6.sort_unstable_by_key(|r| (r.pair, r.src));
        let (v4, v6) = (&interval.v4, &interval.v6);
        let (mut i, mut j) = (0, 0);
        while i < v4.len() || j < v6.len() {
            let pair = match (v4.get(i), v6.get(j)) {
                (Some(a), Some(b)) => ((a.key >> 32) as u32).min(b.pair),
                (Some(a), None) => (a.key >> 32) as u32,
                (None, Some(b)) => b.pair,
                (None, None) => break,
            };
            let mut cell = PortCell {
                interval_start: interval.start,
                proto: (pair >> 16) as u8,
                port: pair as u16,
                ..PortCell::default()
            };
            let run4 = run_len(&v4[i..], |r| (r.key >> 32) as u32 == pair);
            let run6 = run_len(&v6[j..], |r| r.pair == pair);
            add_run(
                &mut cell,
                &v4[i..i + run4],
                |r| r.key as u32,
                SourceList::push_v4,
            );
            add_run(&mut cell, &v6[j..j + run6], |r| r.src, SourceList::push_v6);
            (i, j) = (i + run4, j + run6);
            self.cells.push(cell);
        }
        interval.v4.clear();
        interval.v6.clear();
    }

    /// Summarises what is still open and returns every cell in key order, cells that share a
    /// key (late packets, early summaries) folded together.
    pub fn finish(mut self) -> Vec<PortCell> {
        self.close_before(i64::MAX);
        let mut cells = self.cells;
        let key = |c: &PortCell| (c.interval_start, c.proto, c.port);
        // Cells come out of `summarise` in order but for late packets: sort (key, index)
        // pairs, then move each cell once.
        let sorted = cells.windows(2).all(|w| key(&w[0]) <= key(&w[1]));
        if !sorted {
            let mut order: Vec<((i64, u8, u16), u32)> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| (key(c), i as u32))
                .collect();
            order.sort_unstable();
            let perm: Vec<u32> = order.into_iter().map(|(_, i)| i).collect();
            permute_in_place(&mut cells, &perm);
        }
        cells.dedup_by(|later, kept| {
            let same = key(later) == key(kept);
            if same {
                kept.packets += later.packets;
                kept.bytes += later.bytes;
                kept.destinations.merge(&later.destinations);
                let merged = source_counts::merge(&kept.sources.to_vec(), &later.sources.to_vec());
                kept.sources = SourceList::from_sorted(&merged);
            }
            same
        });
        cells
    }
}

/// Length of the leading run of `items` for which `same` holds.
#[inline]
fn run_len<T>(items: &[T], same: impl Fn(&T) -> bool) -> usize {
    items.iter().position(|r| !same(r)).unwrap_or(items.len())
}

/// Records with the payload of [`V4Record`] and [`V6Record`].
trait CellPacket {
    fn dst_hash(&self) -> u64;
    fn ip_len(&self) -> u16;
}

impl CellPacket for V4Record {
    fn dst_hash(&self) -> u64 {
        self.dst_hash
    }
    fn ip_len(&self) -> u16 {
        self.ip_len
    }
}

impl CellPacket for V6Record {
    fn dst_hash(&self) -> u64 {
        self.dst_hash
    }
    fn ip_len(&self) -> u16 {
        self.ip_len
    }
}

/// Adds one cell's packets of one address family, sorted by source, to `cell`.
fn add_run<R: CellPacket, K: PartialEq + Copy>(
    cell: &mut PortCell,
    run: &[R],
    source: impl Fn(&R) -> K,
    push: fn(&mut SourceList, K, u64),
) {
    if run.is_empty() {
        return;
    }
    let distinct = 1 + run
        .windows(2)
        .filter(|w| source(&w[0]) != source(&w[1]))
        .count();
    // An entry is a family byte, the address and (mostly) a one-byte count.
    cell.sources
        .reserve(distinct * (2 + std::mem::size_of::<K>()));
    let mut k = 0;
    while k < run.len() {
        let src = source(&run[k]);
        let from = k;
        while k < run.len() && source(&run[k]) == src {
            let r = &run[k];
            cell.packets += 1;
            cell.bytes += u64::from(r.ip_len());
            cell.destinations.insert_hash(r.dst_hash());
            k += 1;
        }
        push(&mut cell.sources, src, (k - from) as u64);
    }
}

/// Reorders `items` so that position `k` holds what was at `perm[k]`, moving each item once
/// (cycle by cycle) instead of copying them all into a new vector.
fn permute_in_place<T: Default>(items: &mut [T], perm: &[u32]) {
    let mut placed = vec![false; items.len()];
    for start in 0..items.len() {
        if placed[start] {
            continue;
        }
        let held = std::mem::take(&mut items[start]);
        let mut at = start;
        loop {
            placed[at] = true;
            let from = perm[at] as usize;
            if from == start {
                items[at] = held;
                break;
            }
            items[at] = std::mem::take(&mut items[from]);
            at = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn packets_in_reverse_time_order_keep_few_intervals_open() {
        let mut cells = CellBuilder::new(60, MAX_OPEN_RECORDS);
        let src = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        for minute in (0..5_000i64).rev() {
            cells.add(minute * 60, 6, 23, src, 7, 40);
            assert!(cells.open.len() <= MAX_OPEN_INTERVALS + 1);
        }
        let out = cells.finish();
        assert_eq!(out.len(), 5_000);
        assert!(
            out.windows(2)
                .all(|w| w[0].interval_start < w[1].interval_start)
        );
        assert!(out.iter().all(|c| c.packets == 1 && c.sources.len() == 1));
    }
}
