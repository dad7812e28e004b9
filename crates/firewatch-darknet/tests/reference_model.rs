//! The aggregator against a model written for clarity, not speed: ordered maps filled one
//! packet at a time. Packets come in arbitrary order (late ones included), from IPv4 and IPv6
//! sources, and the aggregator runs with tiny buffers so that its partial results (early
//! interval summaries, many source batches) must merge back exactly.

use firewatch_darknet::fingerprint::{aggregation_port, traits_of};
use firewatch_darknet::{AggregationConfig, Aggregator, SourceCounters};
use firewatch_pcap::{Fragment, PacketFacts};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const INTERVAL: i64 = 60;
const NS: i64 = 1_000_000_000;
const BASE_NS: i64 = 1_700_000_000 * NS;

fn packet() -> impl Strategy<Value = PacketFacts> {
    (
        (0i64..400, 0u8..6, 0u8..4, 0u16..6, prop::bool::ANY),
        (
            prop::sample::select(vec![6u8, 17, 1, 58, 47]),
            any::<u8>(),
            0u8..3,
        ),
        (
            any::<u16>(),
            any::<u32>(),
            prop::bool::weighted(0.1),
            1u16..1500,
        ),
    )
        .prop_map(
            |((secs, src, dst, port, v6), (proto, flags, frag), (ip_id, seq, mirai, ip_len))| {
                let src_addr = if v6 {
                    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(src)))
                } else {
                    IpAddr::V4(Ipv4Addr::new(192, 0, 2, src))
                };
                let dst_v4 = Ipv4Addr::new(198, 18, 0, dst);
                let dst_addr = if v6 {
                    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, u16::from(dst)))
                } else {
                    IpAddr::V4(dst_v4)
                };
                PacketFacts {
                    ts_ns: BASE_NS + secs * NS + i64::from(seq % 1000),
                    src: src_addr,
                    dst: dst_addr,
                    proto,
                    sport: 40000,
                    dport: 20 + port,
                    ttl: flags % 4 + 60,
                    ip_id,
                    ip_len,
                    tcp_flags: if proto == 6 { flags } else { 0 },
                    tcp_seq: if mirai { u32::from(dst_v4) } else { seq },
                    tcp_window: 1024,
                    icmp_type: if matches!(proto, 1 | 58) {
                        flags % 20
                    } else {
                        0
                    },
                    icmp_code: 0,
                    quoted: None,
                    fragment: match frag {
                        0 | 1 => Fragment::Whole,
                        _ => Fragment::Later,
                    },
                    truncated: false,
                    wire_len: u32::from(ip_len) + 14,
                }
            },
        )
}

#[derive(Debug, Default, PartialEq)]
struct ModelCell {
    packets: u64,
    bytes: u64,
    destinations: BTreeSet<IpAddr>,
    sources: BTreeMap<IpAddr, u64>,
}

#[derive(Debug, Default, PartialEq)]
struct ModelSource {
    first_ns: i64,
    last_ns: i64,
    counters: SourceCounters,
    ttls: BTreeSet<u8>,
    destinations: BTreeSet<IpAddr>,
    ports: BTreeMap<u32, u64>,
}

/// Cells by (interval start, protocol, port).
type ModelCells = BTreeMap<(i64, u8, u16), ModelCell>;

fn model(packets: &[PacketFacts]) -> (ModelCells, BTreeMap<IpAddr, ModelSource>) {
    let mut cells = ModelCells::new();
    let mut sources: BTreeMap<IpAddr, ModelSource> = BTreeMap::new();
    for p in packets {
        let t = traits_of(p);
        let interval = p.ts_ns.div_euclid(NS).div_euclid(INTERVAL) * INTERVAL;
        let s = sources.entry(p.src).or_insert_with(|| ModelSource {
            first_ns: p.ts_ns,
            last_ns: p.ts_ns,
            ..ModelSource::default()
        });
        s.first_ns = s.first_ns.min(p.ts_ns);
        s.last_ns = s.last_ns.max(p.ts_ns);
        let c = &mut s.counters;
        c.packets += 1;
        c.bytes += u64::from(p.ip_len);
        c.ipv4_packets += u64::from(p.src.is_ipv4());
        let f = p.tcp_flags;
        match p.proto {
            6 if t.syn => c.tcp_syn += 1,
            6 if f & 0x12 == 0x12 => c.tcp_synack += 1,
            6 if f & 0x04 != 0 => c.tcp_rst += 1,
            6 if f & 0x01 != 0 => c.tcp_fin += 1,
            6 if f & 0x10 != 0 => c.tcp_ack += 1,
            6 => c.tcp_other += 1,
            17 => c.udp += 1,
            1 | 58 => c.icmp += 1,
            _ => c.other_proto += 1,
        }
        c.mirai += u64::from(t.mirai);
        c.masscan += u64::from(t.masscan);
        c.zmap += u64::from(t.zmap);
        c.backscatter += u64::from(t.backscatter);
        s.ttls.insert(p.ttl);
        s.destinations.insert(p.dst);
        if let Some(port) = aggregation_port(p) {
            *s.ports
                .entry(u32::from(p.proto) << 16 | u32::from(port))
                .or_default() += 1;
            let cell = cells.entry((interval, p.proto, port)).or_default();
            cell.packets += 1;
            cell.bytes += u64::from(p.ip_len);
            cell.destinations.insert(p.dst);
            *cell.sources.entry(p.src).or_default() += 1;
        }
    }
    (cells, sources)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn aggregator_equals_the_model(
        mut packets in prop::collection::vec(packet(), 0..600),
        shuffle in prop::bool::ANY,
        batch in 1usize..40,
        open in 1usize..40,
    ) {
        // Mostly in time order, as captures are, or not at all.
        if !shuffle {
            packets.sort_by_key(|p| p.ts_ns);
        }
        let (want_cells, want_sources) = model(&packets);
        for (batch, open) in [(batch, open), (1 << 20, 1 << 20)] {
            let mut agg = Aggregator::with_buffer_limits(AggregationConfig::default(), batch, open);
            agg.observe_batch(&packets);
            let out = agg.finish();
            prop_assert_eq!(out.packets(), packets.len() as u64);

            let keys: Vec<_> = out.cells.iter().map(|c| (c.interval_start, c.proto, c.port)).collect();
            prop_assert_eq!(keys, want_cells.keys().copied().collect::<Vec<_>>(), "cells in key order, once each");
            for cell in &out.cells {
                let want = &want_cells[&(cell.interval_start, cell.proto, cell.port)];
                prop_assert_eq!(cell.packets, want.packets);
                prop_assert_eq!(cell.bytes, want.bytes);
                prop_assert_eq!(cell.destinations.count(), want.destinations.len() as u64);
                prop_assert_eq!(cell.sources.len(), want.sources.len());
                prop_assert_eq!(cell.sources.to_vec(), want.sources.clone().into_iter().collect::<Vec<_>>());
            }

            prop_assert_eq!(out.sources.len(), want_sources.len());
            for s in &out.sources {
                let want = &want_sources[&s.addr];
                prop_assert_eq!(s.first_ns, want.first_ns);
                prop_assert_eq!(s.last_ns, want.last_ns);
                prop_assert_eq!(s.counters, want.counters);
                prop_assert_eq!(s.ttls.values(), want.ttls.iter().copied().collect::<Vec<_>>());
                prop_assert_eq!(s.destinations.count(), want.destinations.len() as u64);
                prop_assert_eq!(s.distinct_ports(), want.ports.len() as u64);
                let mut tally: Vec<(u32, u64)> = s.top_ports.ports.to_vec();
                tally.sort_unstable();
                prop_assert_eq!(tally, want.ports.clone().into_iter().collect::<Vec<_>>());
            }
        }
    }
}
