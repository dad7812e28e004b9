//! An independent re-implementation of the labelling rules over re-parsed frames.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use firewatch_core::SourceLabel;

/// What the tests need of one packet.
#[derive(Debug, Clone)]
pub struct Fact {
    pub ts: i64,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IANA protocol number.
    pub proto: u8,
    pub sport: u16,
    /// Destination port, or ICMP type.
    pub dport: u16,
    pub syn_only: bool,
    pub mirai: bool,
    pub masscan: bool,
    pub zmap: bool,
    pub backscatter: bool,
    /// For ICMP errors: the quoted (src, dst, dport).
    pub quoted: Option<(IpAddr, IpAddr, u16)>,
}

fn ones_sum_ok(data: &[u8]) -> bool {
    let mut acc: u64 = 0;
    for c in data.chunks(2) {
        acc += u64::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc == 0xffff
}

/// Parses one frame, checking lengths and every checksum.
pub fn parse(ts: i64, frame: &[u8]) -> Fact {
    assert!(frame.len() >= 60, "frame shorter than the Ethernet minimum");
    let p = SlicedPacket::from_ethernet(frame).expect("frame parses");
    let (src, dst, id, v4) = match p.net.as_ref().expect("network layer") {
        NetSlice::Ipv4(ip) => {
            let h = ip.header();
            assert_eq!(
                h.to_header().calc_header_checksum(),
                h.header_checksum(),
                "IPv4 header checksum"
            );
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                Some(h.identification()),
                Some((h.source(), h.destination())),
            )
        }
        NetSlice::Ipv6(ip) => {
            let h = ip.header();
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                None,
                None,
            )
        }
        NetSlice::Arp(_) => panic!("no ARP expected"),
    };
    let mut f = Fact {
        ts,
        src,
        dst,
        proto: 0,
        sport: 0,
        dport: 0,
        syn_only: false,
        mirai: false,
        masscan: false,
        zmap: id == Some(54321),
        backscatter: false,
        quoted: None,
    };
    let dst_u32 = match dst {
        IpAddr::V4(a) => u32::from(a),
        IpAddr::V6(_) => 0,
    };
    match p.transport.as_ref().expect("transport layer") {
        TransportSlice::Tcp(t) => {
            f.proto = 6;
            f.sport = t.source_port();
            f.dport = t.destination_port();
            let expect = match (v4, &p.net) {
                (Some((s, d)), _) => t.calc_checksum_ipv4(s, d).unwrap(),
                (None, Some(NetSlice::Ipv6(ip))) => t
                    .calc_checksum_ipv6(ip.header().source(), ip.header().destination())
                    .unwrap(),
                _ => unreachable!(),
            };
            assert_eq!(expect, t.checksum(), "TCP checksum");
            f.syn_only = t.syn() && !t.ack();
            f.backscatter = (t.syn() && t.ack()) || t.rst();
            if f.syn_only && v4.is_some() {
                f.mirai = t.sequence_number() == dst_u32;
                let rel = (dst_u32 ^ u32::from(f.dport) ^ t.sequence_number()) & 0xffff;
                f.masscan = id == Some(rel as u16);
            }
        }
        TransportSlice::Udp(u) => {
            f.proto = 17;
            f.sport = u.source_port();
            f.dport = u.destination_port();
            let (s, d) = v4.expect("UDP only over IPv4 here");
            assert_eq!(
                u.to_header()
                    .calc_checksum_ipv4_raw(s, d, u.payload())
                    .unwrap(),
                u.checksum(),
                "UDP checksum"
            );
        }
        TransportSlice::Icmpv4(i) => {
            f.proto = 1;
            f.dport = u16::from(i.type_u8());
            assert!(ones_sum_ok(i.slice()), "ICMP checksum");
            f.backscatter = matches!(i.type_u8(), 0 | 3 | 4 | 5 | 11 | 12 | 14 | 16 | 18);
            if matches!(i.type_u8(), 3 | 11) {
                let q = i.payload();
                assert!(q.len() >= 28, "ICMP error quotes header + 8 bytes");
                assert!(ones_sum_ok(&q[..20]), "quoted IPv4 header checksum");
                let qs = IpAddr::V4(Ipv4Addr::new(q[12], q[13], q[14], q[15]));
                let qd = IpAddr::V4(Ipv4Addr::new(q[16], q[17], q[18], q[19]));
                f.quoted = Some((qs, qd, u16::from_be_bytes([q[22], q[23]])));
            }
        }
        TransportSlice::Icmpv6(i) => {
            f.proto = 58;
            f.dport = u16::from(i.type_u8());
            f.backscatter = matches!(i.type_u8(), 1..=4 | 129);
        }
        other => panic!("unexpected transport {other:?}"),
    }
    f
}

/// Per-source counters of the labelling rules.
#[derive(Debug, Default, Clone)]
pub struct SourceStats {
    pub packets: u64,
    pub v4: u64,
    pub syns: u64,
    pub mirai: u64,
    pub masscan: u64,
    pub zmap: u64,
    pub backscatter: u64,
    pub dsts: HashSet<IpAddr>,
    pub times: Vec<i64>,
}

impl SourceStats {
    /// The label under the analyser's rules, in precedence order.
    pub fn label(&self) -> SourceLabel {
        if self.syns > 0 && self.mirai * 2 >= self.syns {
            SourceLabel::Mirai
        } else if self.syns > 0 && self.masscan * 2 >= self.syns {
            SourceLabel::Masscan
        } else if self.v4 > 0 && self.zmap * 2 >= self.v4 {
            SourceLabel::Zmap
        } else if self.backscatter * 2 >= self.packets {
            SourceLabel::Backscatter
        } else if self.dsts.len() >= 100 {
            SourceLabel::Scanner
        } else {
            SourceLabel::Other
        }
    }
}

pub fn stats(facts: &[Fact]) -> HashMap<IpAddr, SourceStats> {
    let mut m: HashMap<IpAddr, SourceStats> = HashMap::new();
    for f in facts {
        let s = m.entry(f.src).or_default();
        s.packets += 1;
        s.v4 += u64::from(f.src.is_ipv4());
        s.syns += u64::from(f.syn_only);
        s.mirai += u64::from(f.mirai);
        s.masscan += u64::from(f.masscan);
        s.zmap += u64::from(f.zmap);
        s.backscatter += u64::from(f.backscatter);
        s.dsts.insert(f.dst);
        s.times.push(f.ts);
    }
    m
}

/// CAIDA corsaro-style DoS attacks over one victim's backscatter times (sorted):
/// split at gaps > 300 s; keep episodes with >= 25 packets, >= 60 s, peak >= 30 per minute.
pub fn corsaro_attacks(times: &[i64]) -> Vec<(i64, i64, u64)> {
    let mut out = vec![];
    let mut i = 0;
    while i < times.len() {
        let mut j = i;
        while j + 1 < times.len() && times[j + 1] - times[j] <= 300_000_000_000 {
            j += 1;
        }
        let ep = &times[i..=j];
        let mut per_min: BTreeMap<i64, u64> = BTreeMap::new();
        for t in ep {
            *per_min.entry(t.div_euclid(60_000_000_000)).or_default() += 1;
        }
        let peak = per_min.values().copied().max().unwrap_or(0);
        if ep.len() >= 25 && ep[ep.len() - 1] - ep[0] >= 60_000_000_000 && peak >= 30 {
            out.push((ep[0], ep[ep.len() - 1], ep.len() as u64));
        }
        i = j + 1;
    }
    out
}

/// Generates and parses a whole capture.
pub fn facts(cfg: &firewatch_synth::SynthConfig) -> (firewatch_synth::GroundTruth, Vec<Fact>) {
    let mut facts = Vec::new();
    let truth = firewatch_synth::generate(cfg, |ts, frame| facts.push(parse(ts, frame)));
    (truth, facts)
}
