//! The population plan and the time-ordered event loop.

use std::cmp::Reverse;
use std::collections::binary_heap::PeekMut;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use firewatch_core::{Protocol, SourceLabel};

use crate::config::SynthConfig;
use crate::frame::{
    self, BUF_LEN, Ip4, Ip6, PROTO_ICMP, PROTO_TCP, PROTO_UDP, TCP_ACK, TCP_RST, TCP_SYN, Tcp,
};
use crate::rng::Rng;
use crate::{GroundTruth, TrueAttack, TrueBurst, TrueSpike};

const NS: i64 = 1_000_000_000;
const MIN_NS: f64 = 60e9;
/// The ZMap IPv4 identification constant.
const ZMAP_IP_ID: u16 = 54321;
/// Cap on packets of an "other" or spike source: stays under 60 distinct destinations.
const OTHER_MAX_PKTS: u32 = 50;
/// Size of the default scenario, the reference for scaling.
const REFERENCE_PACKETS: f64 = 1_500_000.0;

/// Background port mix of "other" sources: (protocol, port, weight). Port 0 = a random
/// unprivileged port. Weights follow the usual telescope top lists (Telnet, SSH, SMB, RDP,
/// HTTP(S), ADB, Redis, MSSQL, DNS, NTP, SSDP, SIP, SNMP, ICMP echo).
const OTHER_MIX: &[(u8, u16, f64)] = &[
    (PROTO_TCP, 23, 14.0),
    (PROTO_TCP, 22, 8.0),
    (PROTO_TCP, 445, 9.0),
    (PROTO_TCP, 80, 6.0),
    (PROTO_TCP, 443, 4.0),
    (PROTO_TCP, 3389, 5.0),
    (PROTO_TCP, 8080, 4.0),
    (PROTO_TCP, 1433, 2.0),
    (PROTO_TCP, 5555, 2.0),
    (PROTO_TCP, 81, 1.5),
    (PROTO_TCP, 8443, 1.5),
    (PROTO_TCP, 6379, 1.5),
    (PROTO_TCP, 2323, 2.0),
    (PROTO_TCP, 21, 1.0),
    (PROTO_TCP, 25, 1.0),
    (PROTO_TCP, 3306, 1.0),
    (PROTO_TCP, 5900, 1.0),
    (PROTO_TCP, 7547, 1.0),
    (PROTO_TCP, 8888, 0.8),
    (PROTO_TCP, 9200, 0.7),
    (PROTO_TCP, 0, 6.0),
    (PROTO_UDP, 53, 3.0),
    (PROTO_UDP, 123, 2.0),
    (PROTO_UDP, 1900, 2.0),
    (PROTO_UDP, 5060, 2.0),
    (PROTO_UDP, 161, 1.5),
    (PROTO_UDP, 0, 2.0),
    (PROTO_ICMP, 8, 8.0),
];

/// Ports fingerprint-less scanners pick 1–3 of (TCP).
const SCANNER_TCP: &[u16] = &[
    22, 80, 443, 23, 3389, 445, 8080, 21, 25, 3306, 1433, 6379, 9200, 8443, 5900, 2222, 8000, 110,
    143, 993,
];
/// Ports UDP scanners probe.
const SCANNER_UDP: &[u16] = &[53, 123, 161, 1900, 11211, 389];
/// Ports masscan port lists draw from (plus random ones).
const MASSCAN_POOL: &[u16] = &[
    21, 22, 23, 25, 53, 80, 81, 88, 110, 111, 135, 139, 143, 389, 443, 445, 465, 587, 636, 993,
    995, 1080, 1433, 1521, 1723, 2049, 2375, 2376, 3000, 3306, 3389, 4443, 5000, 5432, 5900, 5985,
    6379, 6443, 7001, 8000, 8008, 8081, 8088, 8443, 8888, 9000, 9090, 9200, 9443, 10000, 11211,
    27017,
];
/// Ports ZMap instances sweep (one each).
const ZMAP_PORTS: &[u16] = &[80, 443, 8080, 22, 443, 80, 3389, 21];
/// Service ports of DoS victims.
const VICTIM_PORTS: &[&[u16]] = &[
    &[80],
    &[443],
    &[80, 443],
    &[53],
    &[22],
    &[25],
    &[3389],
    &[8080],
    &[6667],
    &[443, 8443],
];
/// Service ports of small backscatter victims.
const SMALL_VICTIM_PORTS: &[u16] = &[80, 443, 53, 22, 25, 8080, 3389, 123, 27015, 6667];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Mirai,
    Masscan,
    Zmap,
    Scanner,
    Other,
    Spike,
    /// A single-source burst's scanner (tag = burst index).
    Burst,
    /// A DoS attack episode (tag = attack index).
    Attack,
    /// A small backscatter burst (mode = reply kind).
    SmallVictim,
    V6Other,
    V6Scanner,
    V6Victim,
}

/// Reply kinds of backscatter.
const R_SYNACK: u8 = 0;
const R_RST: u8 = 1;
const R_UNREACH: u8 = 2;
const R_ECHO: u8 = 3;
const R_TTL: u8 = 4;

#[derive(Debug, Clone)]
struct Src {
    kind: Kind,
    v4: u32,
    v6: u128,
    first: i64,
    end: i64,
    gap_ns: f64,
    remaining: u32,
    emitted: u32,
    ttl: u8,
    proto: u8,
    port: u16,
    sport: u16,
    window: u16,
    mss: bool,
    multi: bool,
    mode: u8,
    ports_at: u32,
    ports_len: u32,
    cursor: u64,
    stride: u64,
    tag: u32,
}

impl Src {
    fn new(kind: Kind, first: i64, end: i64, gap_ns: f64) -> Src {
        Src {
            kind,
            v4: 0,
            v6: 0,
            first,
            end,
            gap_ns,
            remaining: u32::MAX,
            emitted: 0,
            ttl: 64,
            proto: PROTO_TCP,
            port: 0,
            sport: 0,
            window: 0,
            mss: false,
            multi: false,
            mode: 0,
            ports_at: 0,
            ports_len: 0,
            cursor: 0,
            stride: 1,
            tag: u32::MAX,
        }
    }
}

/// A parsed IPv4 prefix.
#[derive(Debug, Clone, Copy)]
struct Net4 {
    base: u32,
    size: u64,
}

/// A parsed IPv6 prefix.
#[derive(Debug, Clone, Copy)]
struct Net6 {
    base: u128,
    host_bits: u32,
}

fn parse_v4(s: &str) -> Net4 {
    let (a, l) = s.split_once('/').unwrap_or((s, "32"));
    let addr: Ipv4Addr = a.trim().parse().unwrap_or(Ipv4Addr::new(198, 18, 0, 0));
    let len: u32 = l.trim().parse::<u32>().unwrap_or(15).min(32);
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Net4 {
        base: u32::from(addr) & mask,
        size: 1u64 << (32 - len),
    }
}

fn parse_v6(s: &str) -> Net6 {
    let (a, l) = s.split_once('/').unwrap_or((s, "128"));
    let addr: Ipv6Addr = a
        .trim()
        .parse()
        .unwrap_or(Ipv6Addr::new(0x2001, 0xdb8, 0xf00, 0, 0, 0, 0, 0));
    let len: u32 = l.trim().parse::<u32>().unwrap_or(48).min(128);
    let host_bits = 128 - len;
    let mask = if len == 0 { 0 } else { u128::MAX << host_bits };
    Net6 {
        base: u128::from(addr) & mask,
        host_bits,
    }
}

/// Validates the two telescope prefixes (used by [`crate::generate`] callers that want errors).
pub(crate) fn check_prefixes(cfg: &SynthConfig) -> Result<(), String> {
    let bad = |s: &str| format!("not a CIDR prefix: {s:?}");
    let (a, l) = cfg
        .telescope_v4
        .split_once('/')
        .ok_or_else(|| bad(&cfg.telescope_v4))?;
    a.parse::<Ipv4Addr>().map_err(|_| bad(&cfg.telescope_v4))?;
    match l.parse::<u32>() {
        Ok(8..=24) => {}
        _ => {
            return Err(format!(
                "IPv4 telescope prefix length must be 8..=24: {:?}",
                cfg.telescope_v4
            ));
        }
    }
    let (a, l) = cfg
        .telescope_v6
        .split_once('/')
        .ok_or_else(|| bad(&cfg.telescope_v6))?;
    a.parse::<Ipv6Addr>().map_err(|_| bad(&cfg.telescope_v6))?;
    match l.parse::<u32>() {
        Ok(16..=112) => Ok(()),
        _ => Err(format!(
            "IPv6 telescope prefix length must be 16..=112: {:?}",
            cfg.telescope_v6
        )),
    }
}

/// Addresses that must never be a source: special-purpose blocks and the telescope itself.
fn reserved_v4(a: u32, tele: Net4) -> bool {
    let o = a >> 24;
    let in_block = |base: u32, len: u32| (a ^ base) >> (32 - len) == 0;
    o == 0
        || o == 10
        || o == 127
        || o >= 224
        || in_block(0x6440_0000, 10) // 100.64/10
        || in_block(0xa9fe_0000, 16) // 169.254/16
        || in_block(0xac10_0000, 12) // 172.16/12
        || in_block(0xc000_0000, 24) // 192.0.0/24
        || in_block(0xc000_0200, 24) // 192.0.2/24
        || in_block(0xc0a8_0000, 16) // 192.168/16
        || in_block(0xc612_0000, 15) // 198.18/15
        || in_block(0xc633_6400, 24) // 198.51.100/24
        || in_block(0xcb00_7100, 24) // 203.0.113/24
        || (u64::from(a.wrapping_sub(tele.base)) < tele.size)
}

/// Expected packets of an "other" source: k = min(50, floor(3 u^(-2/3))), so
/// E[k] = sum over j of P(k >= j) = sum of min(1, (3/j)^1.5).
fn other_mean_packets() -> f64 {
    (1..=OTHER_MAX_PKTS)
        .map(|j| (3.0 / f64::from(j)).powf(1.5).min(1.0))
        .sum()
}

fn other_packets(rng: &mut Rng) -> u32 {
    let u = 1.0 - rng.f64();
    let k = (3.0 * u.powf(-1.0 / 1.5)).floor();
    (k as u32).clamp(1, OTHER_MAX_PKTS)
}

struct AttackAcc {
    victim: IpAddr,
    first: i64,
    last: i64,
    packets: u64,
    ports: BTreeSet<u16>,
}

struct SpikeAcc {
    proto: Protocol,
    port: u16,
    new_campaign: bool,
    first: i64,
    last: i64,
}

struct BurstAcc {
    proto: Protocol,
    port: u16,
    first: i64,
    last: i64,
    packets: u64,
}

/// Plans the population and runs the event loop.
pub(crate) struct Engine {
    rng: Rng,
    srcs: Vec<Src>,
    ports: Vec<u16>,
    tele4: Net4,
    tele6: Net6,
    reserved_ports: Vec<u16>,
    new_ports: Vec<u16>,
    used: HashSet<u32>,
    used6: HashSet<u128>,
    attacks: Vec<AttackAcc>,
    spikes: Vec<SpikeAcc>,
    bursts: Vec<BurstAcc>,
    buf: [u8; BUF_LEN],
    payloads: Payloads,
}

struct Payloads {
    dns: Vec<u8>,
    ntp: Vec<u8>,
    ssdp: Vec<u8>,
    sip: Vec<u8>,
    snmp: Vec<u8>,
    memcached: Vec<u8>,
}

impl Payloads {
    fn new() -> Payloads {
        let mut dns = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in ["example", "com"] {
            dns.push(label.len() as u8);
            dns.extend_from_slice(label.as_bytes());
        }
        dns.extend_from_slice(&[0, 0, 0xff, 0, 1]); // ANY, IN
        let mut ntp = vec![0u8; 48];
        ntp[0] = 0x23; // v4, client
        Payloads {
            dns,
            ntp,
            ssdp: b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n".to_vec(),
            sip: b"OPTIONS sip:100@198.18.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP x;branch=z9hG4bK1\r\nMax-Forwards: 70\r\nCSeq: 1 OPTIONS\r\n\r\n"
                .to_vec(),
            snmp: vec![
                0x30, 0x26, 0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xa0, 0x19, 0x02, 0x04, 0x12, 0x34, 0x56,
                0x78, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0b, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x05, 0x00,
            ],
            memcached: b"\0\x01\0\0\0\x01\0\0stats\r\n".to_vec(),
        }
    }

    fn for_port(&self, port: u16) -> &[u8] {
        match port {
            53 => &self.dns,
            123 => &self.ntp,
            1900 => &self.ssdp,
            5060 => &self.sip,
            161 => &self.snmp,
            11211 => &self.memcached,
            _ => &[],
        }
    }
}

impl Engine {
    pub(crate) fn plan(cfg: &SynthConfig) -> Engine {
        let mut e = Engine {
            rng: Rng::new(cfg.seed),
            srcs: Vec::new(),
            ports: Vec::new(),
            tele4: parse_v4(&cfg.telescope_v4),
            tele6: parse_v6(&cfg.telescope_v6),
            reserved_ports: cfg.spikes.iter().map(|s| s.port).collect(),
            new_ports: cfg
                .spikes
                .iter()
                .filter(|s| s.new_campaign)
                .map(|s| s.port)
                .collect(),
            used: HashSet::new(),
            used6: HashSet::new(),
            attacks: Vec::new(),
            spikes: Vec::new(),
            bursts: Vec::new(),
            buf: [0; BUF_LEN],
            payloads: Payloads::new(),
        };
        e.populate(cfg);
        // Sources active at the same time sit next to each other in memory: the event loop
        // touches a sliding window of the vector, not random places in it.
        e.srcs.sort_by_key(|s| s.first);
        e
    }

    fn fresh_v4(&mut self) -> u32 {
        loop {
            let a = self.rng.u32();
            if !reserved_v4(a, self.tele4) && self.used.insert(a) {
                return a;
            }
        }
    }

    fn fresh_v6(&mut self) -> u128 {
        loop {
            // Global unicast under 2400::/6-ish, as many real v6 scanners are.
            let hi = 0x2400u128 + u128::from(self.rng.u16() % 0x0800);
            let a = (hi << 112)
                | (u128::from(self.rng.next_u64()) << 48 >> 16)
                | u128::from(self.rng.u32() >> 16);
            if self.used6.insert(a) {
                return a;
            }
        }
    }

    fn is_reserved_port(&self, p: u16) -> bool {
        self.reserved_ports.contains(&p)
    }

    /// A random port in `lo..=65535` that no spike uses.
    fn free_port(&mut self, lo: u16) -> u16 {
        loop {
            let p = self.rng.range(u64::from(lo), 65535) as u16;
            if !self.is_reserved_port(p) {
                return p;
            }
        }
    }

    fn push_ports(&mut self, ports: &[u16]) -> (u32, u32) {
        let at = self.ports.len() as u32;
        self.ports.extend_from_slice(ports);
        (at, ports.len() as u32)
    }

    fn common_ttl(&mut self) -> u8 {
        let init = self.rng.pick(&[64u8, 64, 128, 255]);
        init - self.rng.range(4, 25) as u8
    }

    fn common_window(&mut self) -> u16 {
        self.rng
            .pick(&[64240u16, 65535, 29200, 14600, 8192, 5840, 42340])
    }

    fn populate(&mut self, cfg: &SynthConfig) {
        let dur = cfg.duration_secs.max(60) as i64 * NS;
        let t0 = cfg.start_unix * NS;
        let end = t0 + dur - 1;
        let dur_min = dur as f64 / MIN_NS;
        let scale = (cfg.target_packets as f64 / REFERENCE_PACKETS).max(1e-3);
        let half_hour = (30 * 60 * NS).min(dur / 4);

        // --- DoS attacks (planned first: they are taken off the budget). ---
        let mut attack_expected = 0.0;
        for v in 0..cfg.attack_victims {
            let victim = self.fresh_v4();
            let ports: Vec<u16> = self.rng.pick(VICTIM_PORTS).to_vec();
            let (pa, pl) = self.push_ports(&ports);
            let ttl = self.rng.pick(&[64u8, 128, 255]) - self.rng.range(6, 22) as u8;
            let mut episodes = vec![];
            let len = ((300.0 + self.rng.f64() * 2100.0 * (scale * 20.0).min(1.0)) * 1e9) as i64;
            let len = len.min(dur / 3);
            if v == 0 {
                let s1 = t0 + ((20.0 + self.rng.f64() * 40.0) * MIN_NS) as i64;
                episodes.push((s1, len.min(20 * 60 * NS)));
                let s2 =
                    s1 + len.min(20 * 60 * NS) + ((75.0 + self.rng.f64() * 30.0) * MIN_NS) as i64;
                let len2 = ((300.0 + self.rng.f64() * 900.0) * 1e9) as i64;
                if s2 + len2 < end {
                    episodes.push((s2, len2));
                }
            } else {
                let lo = t0 + 10 * 60 * NS;
                let hi = (end - len - 5 * 60 * NS).max(lo + 1);
                episodes.push((lo + self.rng.below((hi - lo) as u64) as i64, len));
            }
            for (start, len) in episodes {
                let ppm = 70.0 + self.rng.f64() * 430.0 * scale;
                let mut s = Src::new(Kind::Attack, start, (start + len).min(end), MIN_NS / ppm);
                attack_expected += ppm * len as f64 / MIN_NS;
                s.v4 = victim;
                s.ttl = ttl;
                s.ports_at = pa;
                s.ports_len = pl;
                s.tag = self.attacks.len() as u32;
                self.attacks.push(AttackAcc {
                    victim: IpAddr::V4(Ipv4Addr::from(victim)),
                    first: 0,
                    last: 0,
                    packets: 0,
                    ports: BTreeSet::new(),
                });
                self.srcs.push(s);
            }
        }
        let budget =
            (cfg.target_packets as f64 - attack_expected).max(cfg.target_packets as f64 * 0.3);
        let active = dur as f64 / 1e9;

        // --- Steady heavy sources: active from the start or from within the first 30 minutes. ---
        let steady_start = |rng: &mut Rng| {
            if rng.chance(0.7) {
                t0
            } else {
                t0 + rng.below(half_hour as u64) as i64
            }
        };

        let mirai_n = ((budget * cfg.mirai_share) / (cfg.mirai_pps * active))
            .round()
            .max(2.0) as usize;
        for _ in 0..mirai_n {
            let start = steady_start(&mut self.rng);
            let gap = 1e9 / cfg.mirai_pps;
            let mut s = Src::new(Kind::Mirai, start + self.rng.exp(gap) as i64, end, gap);
            s.v4 = self.fresh_v4();
            s.ttl = self.rng.range(30, 64) as u8;
            self.srcs.push(s);
        }

        let scanner_pps = cfg.scanner_pps.max(300.0 / active);
        let scanner_n = ((budget * cfg.scanner_share) / (scanner_pps * active))
            .round()
            .max(2.0) as usize;
        for _ in 0..scanner_n {
            let start = steady_start(&mut self.rng);
            let gap = 1e9 / scanner_pps;
            let mut s = Src::new(Kind::Scanner, start + self.rng.exp(gap) as i64, end, gap);
            s.v4 = self.fresh_v4();
            s.ttl = self.common_ttl();
            s.window = self.common_window();
            s.mss = self.rng.chance(0.5);
            let r = self.rng.f64();
            let ports: Vec<u16> = if r < 0.85 {
                s.proto = PROTO_TCP;
                let n = self.rng.range(1, 3) as usize;
                (0..n).map(|_| self.pick_free(SCANNER_TCP)).collect()
            } else if r < 0.95 {
                s.proto = PROTO_UDP;
                vec![self.pick_free(SCANNER_UDP)]
            } else {
                s.proto = PROTO_ICMP;
                vec![8]
            };
            (s.ports_at, s.ports_len) = self.push_ports(&ports);
            s.cursor = self.rng.below(self.tele4.size);
            s.stride = (self.rng.below(self.tele4.size / 2) * 2 + 1) % self.tele4.size.max(2);
            s.sport = self.free_port(1024);
            self.srcs.push(s);
        }

        let masscan_n = (cfg.masscan_per_million * cfg.target_packets as f64 / 1e6)
            .round()
            .max(1.0) as usize;
        let masscan_pps = budget * cfg.masscan_share / (masscan_n as f64 * active);
        for _ in 0..masscan_n {
            let start = steady_start(&mut self.rng);
            let gap = 1e9 / masscan_pps;
            let mut s = Src::new(Kind::Masscan, start + self.rng.exp(gap) as i64, end, gap);
            s.v4 = self.fresh_v4();
            s.ttl = 255 - self.rng.range(5, 20) as u8;
            let n = self.rng.range(10, 100) as usize;
            let mut ports = BTreeSet::new();
            while ports.len() < n {
                let p = if self.rng.chance(0.7) {
                    self.rng.pick(MASSCAN_POOL)
                } else {
                    self.free_port(1)
                };
                if !self.is_reserved_port(p) {
                    ports.insert(p);
                }
            }
            (s.ports_at, s.ports_len) = self.push_ports(&ports.into_iter().collect::<Vec<_>>());
            s.sport = self.free_port(40000);
            self.srcs.push(s);
        }

        let zmap_n = (cfg.zmap_per_million * cfg.target_packets as f64 / 1e6)
            .round()
            .max(1.0) as usize;
        let zmap_pps = budget * cfg.zmap_share / (zmap_n as f64 * active);
        for _ in 0..zmap_n {
            let start = steady_start(&mut self.rng);
            let gap = 1e9 / zmap_pps;
            let mut s = Src::new(Kind::Zmap, start + self.rng.exp(gap) as i64, end, gap);
            s.v4 = self.fresh_v4();
            s.ttl = 255 - self.rng.range(0, 15) as u8;
            s.port = self.pick_free(ZMAP_PORTS);
            self.srcs.push(s);
        }

        // --- Small backscatter victims: 3–15 replies within 30 s, never an attack. ---
        let small_n = ((budget * cfg.small_backscatter_share) / 9.0)
            .round()
            .max(5.0) as usize;
        for _ in 0..small_n {
            let start = t0 + self.rng.below((dur - 31 * NS).max(1) as u64) as i64;
            let k = self.rng.range(3, 15) as u32;
            let mut s = Src::new(
                Kind::SmallVictim,
                start,
                start + 30 * NS,
                25e9 / f64::from(k),
            );
            s.remaining = k;
            s.v4 = self.fresh_v4();
            s.ttl = self.common_ttl();
            s.port = self.rng.pick(SMALL_VICTIM_PORTS);
            let r = self.rng.f64();
            s.mode = if r < 0.45 {
                R_SYNACK
            } else if r < 0.70 {
                R_RST
            } else if r < 0.88 {
                R_UNREACH
            } else if r < 0.95 {
                R_ECHO
            } else {
                R_TTL
            };
            self.srcs.push(s);
        }

        // --- Background "other" sources. ---
        let used_share = cfg.mirai_share
            + cfg.scanner_share
            + cfg.masscan_share
            + cfg.zmap_share
            + cfg.small_backscatter_share;
        let other_budget = budget * (1.0 - used_share).max(0.05);
        let other_n = (other_budget / other_mean_packets()).round().max(20.0) as usize;
        let total_w: f64 = OTHER_MIX.iter().map(|m| m.2).sum();
        for _ in 0..other_n {
            let start = t0 + self.rng.below(dur as u64) as i64;
            let mut s = Src::new(Kind::Other, start, end, 20e9);
            s.remaining = other_packets(&mut self.rng);
            s.v4 = self.fresh_v4();
            s.ttl = self.common_ttl();
            s.window = self.common_window();
            s.mss = self.rng.chance(0.4);
            s.multi = self.rng.chance(0.2);
            let (proto, port) = self.draw_mix(total_w);
            s.proto = proto;
            s.port = port;
            self.srcs.push(s);
        }

        // --- IPv6 sources. ---
        if cfg.ipv6 {
            for i in 0..8 {
                let start = t0 + self.rng.below(dur as u64 / 2) as i64;
                let mut s = Src::new(Kind::V6Other, start, end, 40e9);
                s.v6 = self.fresh_v6();
                s.remaining = self.rng.range(3, 30) as u32;
                s.ttl = self.common_ttl();
                s.proto = if i % 2 == 0 {
                    frame::PROTO_ICMPV6
                } else {
                    PROTO_TCP
                };
                s.port = self.rng.pick(&[22u16, 80, 443]);
                self.srcs.push(s);
            }
            let gap = active * 1e9 / 400.0;
            let mut s = Src::new(Kind::V6Scanner, t0 + self.rng.exp(gap) as i64, end, gap);
            s.v6 = self.fresh_v6();
            s.ttl = 58;
            s.port = 443;
            s.cursor = self.rng.below(1 << 16);
            self.srcs.push(s);
            for i in 0..3 {
                let start = t0 + self.rng.below((dur - 31 * NS) as u64) as i64;
                let mut s = Src::new(Kind::V6Victim, start, start + 30 * NS, 4e9);
                s.v6 = self.fresh_v6();
                s.remaining = self.rng.range(3, 8) as u32;
                s.ttl = 57;
                s.port = 443;
                s.mode = if i == 1 { R_ECHO } else { R_SYNACK };
                self.srcs.push(s);
            }
        }

        // --- Planted spikes. ---
        for plan in &cfg.spikes {
            let w0 = t0 + plan.start_offset_secs as i64 * NS;
            let w1 = (w0 + plan.duration_secs as i64 * NS).min(end);
            if w0 >= end || w1 <= w0 {
                continue;
            }
            let proto = match plan.proto {
                Protocol::Udp => PROTO_UDP,
                _ => PROTO_TCP,
            };
            let window_min = (w1 - w0) as f64 / MIN_NS;
            let weight: f64 = OTHER_MIX
                .iter()
                .filter(|m| m.0 == proto && m.1 == plan.port)
                .map(|m| m.2)
                .sum();
            let baseline_ppm = if plan.new_campaign {
                0.0
            } else {
                other_budget * weight / total_w / dur_min
            };
            let min_src = (f64::from(plan.min_sources) * scale.max(1.0)).round();
            let total = (plan.factor * baseline_ppm * window_min).max(min_src * 3.0);
            let n = min_src.max((total / 12.0).ceil()) as usize;
            let per_src = (total / n as f64).max(1.0);
            let tag = self.spikes.len() as u32;
            self.spikes.push(SpikeAcc {
                proto: plan.proto,
                port: plan.port,
                new_campaign: plan.new_campaign,
                first: i64::MAX,
                last: 0,
            });
            let gap = (w1 - w0) as f64 / per_src;
            for _ in 0..n {
                let mut s = Src::new(Kind::Spike, w0 + self.rng.exp(gap) as i64, w1, gap);
                s.remaining = OTHER_MAX_PKTS;
                s.v4 = self.fresh_v4();
                s.ttl = self.common_ttl();
                s.window = self.common_window();
                s.mss = self.rng.chance(0.4);
                s.proto = proto;
                s.port = plan.port;
                s.tag = tag;
                self.srcs.push(s);
            }
        }
        self.plant_bursts(cfg, other_budget);
    }

    /// Plants the single-source bursts (after everything else, so the other sources are drawn
    /// as without them).
    fn plant_bursts(&mut self, cfg: &SynthConfig, other_budget: f64) {
        let dur = cfg.duration_secs.max(60) as i64 * NS;
        let t0 = cfg.start_unix * NS;
        let end = t0 + dur - 1;
        let total_w: f64 = OTHER_MIX.iter().map(|m| m.2).sum();
        for plan in &cfg.bursts {
            let w0 = t0 + plan.start_offset_secs as i64 * NS;
            let w1 = (w0 + plan.duration_secs as i64 * NS).min(end);
            if w0 >= end || w1 <= w0 || plan.sources == 0 {
                continue;
            }
            let proto = match plan.proto {
                Protocol::Udp => PROTO_UDP,
                _ => PROTO_TCP,
            };
            let weight: f64 = OTHER_MIX
                .iter()
                .filter(|m| m.0 == proto && m.1 == plan.port)
                .map(|m| m.2)
                .sum();
            let baseline_ppm = other_budget * weight / total_w / (dur as f64 / MIN_NS);
            let window_min = (w1 - w0) as f64 / MIN_NS;
            let total = plan.factor * baseline_ppm * window_min;
            // At least 300 probes each: a scanner by the labelling rules.
            let per_src = (total / f64::from(plan.sources)).max(300.0);
            let tag = self.bursts.len() as u32;
            self.bursts.push(BurstAcc {
                proto: plan.proto,
                port: plan.port,
                first: i64::MAX,
                last: 0,
                packets: 0,
            });
            let (ports_at, ports_len) = self.push_ports(&[plan.port]);
            let gap = (w1 - w0) as f64 / per_src;
            for _ in 0..plan.sources {
                let mut s = Src::new(Kind::Burst, w0 + self.rng.exp(gap) as i64, w1, gap);
                s.v4 = self.fresh_v4();
                s.ttl = self.common_ttl();
                s.window = self.common_window();
                s.mss = self.rng.chance(0.5);
                s.proto = proto;
                (s.ports_at, s.ports_len) = (ports_at, ports_len);
                s.cursor = self.rng.below(self.tele4.size);
                s.stride = (self.rng.below(self.tele4.size / 2) * 2 + 1) % self.tele4.size.max(2);
                s.sport = self.free_port(1024);
                s.tag = tag;
                self.srcs.push(s);
            }
        }
    }

    fn draw_mix(&mut self, total_w: f64) -> (u8, u16) {
        loop {
            let mut x = self.rng.f64() * total_w;
            for &(proto, port, w) in OTHER_MIX {
                if x < w {
                    if proto != PROTO_ICMP && self.new_ports.contains(&port) {
                        break;
                    }
                    let port = if port == 0 {
                        self.free_port(1024)
                    } else {
                        port
                    };
                    return (proto, port);
                }
                x -= w;
            }
        }
    }

    /// A port of `list` that no spike uses (a random free port if the list has none).
    fn pick_free(&mut self, list: &[u16]) -> u16 {
        for _ in 0..64 {
            let p = self.rng.pick(list);
            if !self.is_reserved_port(p) {
                return p;
            }
        }
        self.free_port(1024)
    }

    #[inline]
    fn dst4(&mut self) -> u32 {
        self.tele4
            .base
            .wrapping_add(self.rng.below(self.tele4.size) as u32)
    }

    #[inline]
    fn dst6(&mut self) -> u128 {
        let host = (u128::from(self.rng.next_u64()) << 64 | u128::from(self.rng.next_u64()))
            & ((1u128 << self.tele6.host_bits) - 1);
        self.tele6.base | host
    }

    /// An IP id that matches no fingerprint (ZMap's constant, masscan's relation).
    #[inline]
    fn clean_id(&mut self, dst: u32, dport: u16, seq: u32, syn: bool) -> u16 {
        loop {
            let id = self.rng.u16();
            let masscan = syn && id == ((dst ^ u32::from(dport) ^ seq) & 0xffff) as u16;
            if id != ZMAP_IP_ID && !masscan {
                return id;
            }
        }
    }

    /// A TCP sequence number different from `dst` (so never Mirai's fingerprint).
    #[inline]
    fn clean_seq(&mut self, dst: u32) -> u32 {
        loop {
            let s = self.rng.u32();
            if s != dst {
                return s;
            }
        }
    }

    /// A fingerprint-less TCP SYN / UDP probe / ICMP echo request.
    fn probe(&mut self, s: &Light, dst: u32, proto: u8, dport: u16) -> usize {
        let (src, ttl, window, mss) = (s.v4, s.ttl, s.window, s.mss);
        match proto {
            PROTO_TCP => {
                let seq = self.clean_seq(dst);
                let id = self.clean_id(dst, dport, seq, true);
                let sport = self.free_port(1024);
                let ip = Ip4 { src, dst, ttl, id };
                let t = Tcp {
                    sport,
                    dport,
                    seq,
                    ack: 0,
                    flags: TCP_SYN,
                    window,
                    mss: mss.then_some(1460),
                };
                frame::tcp_v4(&mut self.buf, &ip, &t)
            }
            PROTO_UDP => {
                let id = self.clean_id(dst, dport, 0, false);
                let sport = self.free_port(1024);
                let ip = Ip4 { src, dst, ttl, id };
                let payload = self.payloads.for_port(dport);
                frame::udp_v4(&mut self.buf, &ip, sport, dport, payload)
            }
            _ => {
                let id = self.clean_id(dst, 0, 0, false);
                let ip = Ip4 { src, dst, ttl, id };
                let rest = self.rng.u32();
                frame::icmp_v4(&mut self.buf, &ip, 8, 0, rest, &[0x5a; 8])
            }
        }
    }

    /// Builds the next frame of source `i` into `self.buf`; returns (length, service port of a
    /// backscatter reply if any).
    fn build(&mut self, i: usize) -> (usize, Option<u16>) {
        let s = self.srcs[i].clone_light();
        match s.kind {
            Kind::Mirai => {
                let dst = self.dst4();
                let dport = if self.rng.below(10) == 0 { 2323 } else { 23 };
                let ip = Ip4 {
                    src: s.v4,
                    dst,
                    ttl: s.ttl,
                    id: self.rng.u16(),
                };
                let t = Tcp {
                    sport: self.free_port(1024),
                    dport,
                    seq: dst,
                    ack: 0,
                    flags: TCP_SYN,
                    window: self.rng.range(1, 65535) as u16,
                    mss: None,
                };
                (frame::tcp_v4(&mut self.buf, &ip, &t), None)
            }
            Kind::Masscan => {
                let dst = self.dst4();
                let dport = self.ports
                    [s.ports_at as usize + self.rng.below(u64::from(s.ports_len)) as usize];
                let seq = self.clean_seq(dst);
                let id = ((dst ^ u32::from(dport) ^ seq) & 0xffff) as u16;
                let ip = Ip4 {
                    src: s.v4,
                    dst,
                    ttl: s.ttl,
                    id,
                };
                let t = Tcp {
                    sport: s.sport,
                    dport,
                    seq,
                    ack: 0,
                    flags: TCP_SYN,
                    window: 1024,
                    mss: Some(1460),
                };
                (frame::tcp_v4(&mut self.buf, &ip, &t), None)
            }
            Kind::Zmap => {
                let dst = self.dst4();
                let seq = loop {
                    let seq = self.clean_seq(dst);
                    if ((dst ^ u32::from(s.port) ^ seq) & 0xffff) as u16 != ZMAP_IP_ID {
                        break seq;
                    }
                };
                let ip = Ip4 {
                    src: s.v4,
                    dst,
                    ttl: s.ttl,
                    id: ZMAP_IP_ID,
                };
                let sport = self.free_port(32768);
                let t = Tcp {
                    sport,
                    dport: s.port,
                    seq,
                    ack: 0,
                    flags: TCP_SYN,
                    window: 65535,
                    mss: None,
                };
                (frame::tcp_v4(&mut self.buf, &ip, &t), None)
            }
            Kind::Scanner | Kind::Burst => {
                let c = &mut self.srcs[i];
                let dst = self
                    .tele4
                    .base
                    .wrapping_add((c.cursor & (self.tele4.size - 1)) as u32);
                c.cursor = (c.cursor + c.stride) & (self.tele4.size - 1);
                let dport = self.ports
                    [s.ports_at as usize + self.rng.below(u64::from(s.ports_len)) as usize];
                (self.probe(&s, dst, s.proto, dport), None)
            }
            Kind::Other | Kind::Spike => {
                let dst = self.dst4();
                let (proto, port) = if s.multi && self.rng.chance(0.7) {
                    let total: f64 = OTHER_MIX.iter().map(|m| m.2).sum();
                    self.draw_mix(total)
                } else {
                    (s.proto, s.port)
                };
                (self.probe(&s, dst, proto, port), None)
            }
            Kind::Attack => {
                let port = self.ports
                    [s.ports_at as usize + self.rng.below(u64::from(s.ports_len)) as usize];
                let mode = if self.rng.chance(0.75) {
                    R_SYNACK
                } else {
                    R_RST
                };
                (self.reply_v4(&s, port, mode), Some(port))
            }
            Kind::SmallVictim => (self.reply_v4(&s, s.port, s.mode), None),
            Kind::V6Other => {
                let ip = Ip6 {
                    src: s.v6,
                    dst: self.dst6(),
                    hop: s.ttl,
                };
                if s.proto == frame::PROTO_ICMPV6 {
                    let rest = self.rng.u32();
                    (
                        frame::icmp_v6(&mut self.buf, &ip, 128, 0, rest, &[0x5a; 8]),
                        None,
                    )
                } else {
                    let t = Tcp {
                        sport: self.free_port(1024),
                        dport: s.port,
                        seq: self.rng.u32(),
                        ack: 0,
                        flags: TCP_SYN,
                        window: 64800,
                        mss: Some(1440),
                    };
                    (frame::tcp_v6(&mut self.buf, &ip, &t), None)
                }
            }
            Kind::V6Scanner => {
                let c = &mut self.srcs[i];
                // Low-byte interface identifiers in random /64s, distinct by construction.
                let subnet_bits = self.tele6.host_bits.saturating_sub(64).min(16);
                let subnet = (c.cursor & ((1 << subnet_bits) - 1)) as u128;
                let iid = u128::from(c.cursor >> 16) + 1;
                c.cursor += (1 << 16) + 1;
                let dst = self.tele6.base | (subnet << 64) | iid;
                let ip = Ip6 {
                    src: s.v6,
                    dst,
                    hop: s.ttl,
                };
                let t = Tcp {
                    sport: self.free_port(1024),
                    dport: s.port,
                    seq: self.rng.u32(),
                    ack: 0,
                    flags: TCP_SYN,
                    window: 65535,
                    mss: None,
                };
                (frame::tcp_v6(&mut self.buf, &ip, &t), None)
            }
            Kind::V6Victim => {
                let ip = Ip6 {
                    src: s.v6,
                    dst: self.dst6(),
                    hop: s.ttl,
                };
                if s.mode == R_ECHO {
                    let rest = self.rng.u32();
                    (
                        frame::icmp_v6(&mut self.buf, &ip, 129, 0, rest, &[0xa5; 8]),
                        None,
                    )
                } else {
                    let t = Tcp {
                        sport: s.port,
                        dport: self.free_port(1024),
                        seq: self.rng.u32(),
                        ack: self.rng.u32(),
                        flags: TCP_SYN | TCP_ACK,
                        window: 64800,
                        mss: Some(1440),
                    };
                    (frame::tcp_v6(&mut self.buf, &ip, &t), None)
                }
            }
        }
    }

    /// A backscatter reply of an IPv4 victim to a spoofed darknet address.
    fn reply_v4(&mut self, s: &Light, port: u16, mode: u8) -> usize {
        let dst = self.dst4();
        let id = self.clean_id(dst, 0, 0, false);
        let ip = Ip4 {
            src: s.v4,
            dst,
            ttl: s.ttl,
            id,
        };
        let peer_port = self.free_port(1024);
        match mode {
            R_SYNACK | R_RST => {
                let (flags, window) = if mode == R_SYNACK {
                    (TCP_SYN | TCP_ACK, 29200)
                } else {
                    (TCP_RST | TCP_ACK, 0)
                };
                let t = Tcp {
                    sport: port,
                    dport: peer_port,
                    seq: if mode == R_SYNACK { self.rng.u32() } else { 0 },
                    ack: self.rng.u32(),
                    flags,
                    window,
                    mss: (mode == R_SYNACK).then_some(1460),
                };
                frame::tcp_v4(&mut self.buf, &ip, &t)
            }
            R_UNREACH | R_TTL => {
                let (proto, code) = if port == 53 || port == 123 || port == 27015 {
                    (PROTO_UDP, 3)
                } else {
                    (PROTO_TCP, 13)
                };
                let orig = Ip4 {
                    src: dst,
                    dst: s.v4,
                    ttl: self.rng.range(20, 60) as u8,
                    id: self.rng.u16(),
                };
                let extra = if proto == PROTO_UDP {
                    8 << 16
                } else {
                    self.rng.u32()
                };
                let quote = frame::quote_v4(&orig, proto, peer_port, port, extra);
                let (typ, code) = if mode == R_TTL { (11, 0) } else { (3, code) };
                frame::icmp_v4(&mut self.buf, &ip, typ, code, 0, &quote)
            }
            _ => {
                let rest = self.rng.u32();
                frame::icmp_v4(&mut self.buf, &ip, 0, 0, rest, &[0x5a; 8])
            }
        }
    }

    /// Runs the event loop; returns the ground truth.
    pub(crate) fn run(
        mut self,
        cfg: &SynthConfig,
        emit: &mut impl FnMut(i64, &[u8]),
    ) -> GroundTruth {
        let mut pending: Vec<(i64, u32)> = self
            .srcs
            .iter()
            .enumerate()
            .filter(|(_, s)| s.first <= s.end)
            .map(|(i, s)| (s.first, i as u32))
            .collect();
        pending.sort_unstable_by(|a, b| b.cmp(a));
        let mut heap: BinaryHeap<Reverse<(i64, u32)>> = BinaryHeap::with_capacity(4096);
        let mut packets = 0u64;
        loop {
            let from_pending = match (pending.last(), heap.peek()) {
                (Some(p), Some(Reverse(h))) => p < h,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            packets += 1;
            if from_pending {
                let Some((ts, idx)) = pending.pop() else {
                    break;
                };
                if let Some(next) = self.fire(ts, idx as usize, emit) {
                    heap.push(Reverse((next, idx)));
                }
            } else {
                let Some(mut top) = heap.peek_mut() else {
                    break;
                };
                let Reverse((ts, idx)) = *top;
                match self.fire(ts, idx as usize, emit) {
                    Some(next) => *top = Reverse((next, idx)),
                    None => {
                        PeekMut::pop(top);
                    }
                }
            }
        }
        self.truth(cfg, packets)
    }

    /// Emits one packet of source `i` at `ts`; returns the time of its next packet, if any.
    #[inline]
    fn fire(&mut self, ts: i64, i: usize, emit: &mut impl FnMut(i64, &[u8])) -> Option<i64> {
        let (len, service) = self.build(i);
        emit(ts, &self.buf[..len]);
        let s = &mut self.srcs[i];
        s.emitted += 1;
        s.remaining = s.remaining.saturating_sub(1);
        match s.kind {
            Kind::Attack => {
                let a = &mut self.attacks[s.tag as usize];
                if a.packets == 0 {
                    a.first = ts;
                }
                a.last = ts;
                a.packets += 1;
                if let Some(p) = service {
                    a.ports.insert(p);
                }
            }
            Kind::Spike => {
                let sp = &mut self.spikes[s.tag as usize];
                sp.first = sp.first.min(ts);
                sp.last = sp.last.max(ts);
            }
            Kind::Burst => {
                let b = &mut self.bursts[s.tag as usize];
                b.first = b.first.min(ts);
                b.last = b.last.max(ts);
                b.packets += 1;
            }
            _ => {}
        }
        let s = &self.srcs[i];
        if s.remaining == 0 {
            return None;
        }
        let gap = s.gap_ns;
        let next = ts + (self.rng.exp(gap) as i64).max(1);
        (next <= self.srcs[i].end).then_some(next)
    }

    fn truth(self, cfg: &SynthConfig, packets: u64) -> GroundTruth {
        let mut sources = Vec::with_capacity(self.srcs.len());
        let mut spike_sources = vec![0u64; self.spikes.len()];
        for s in self.srcs.iter().filter(|s| s.emitted > 0) {
            let label = match s.kind {
                Kind::Mirai => SourceLabel::Mirai,
                Kind::Masscan => SourceLabel::Masscan,
                Kind::Zmap => SourceLabel::Zmap,
                Kind::Scanner | Kind::V6Scanner | Kind::Burst => SourceLabel::Scanner,
                Kind::Other | Kind::V6Other => SourceLabel::Other,
                Kind::Spike => {
                    spike_sources[s.tag as usize] += 1;
                    SourceLabel::Other
                }
                Kind::Attack | Kind::SmallVictim | Kind::V6Victim => SourceLabel::Backscatter,
            };
            let ip = match s.kind {
                Kind::V6Other | Kind::V6Scanner | Kind::V6Victim => {
                    IpAddr::V6(Ipv6Addr::from(s.v6))
                }
                _ => IpAddr::V4(Ipv4Addr::from(s.v4)),
            };
            sources.push((ip, label));
        }
        // Bulk construction (sort, then build) is much faster than a million inserts.
        let sources: BTreeMap<IpAddr, SourceLabel> = sources.into_iter().collect();
        let attacks = self
            .attacks
            .into_iter()
            .filter(|a| a.packets > 0)
            .map(|a| TrueAttack {
                victim: a.victim,
                start_ns: a.first,
                end_ns: a.last,
                packets: a.packets,
                ports: a.ports.into_iter().collect(),
            })
            .collect();
        let mut burst_sources = vec![Vec::new(); self.bursts.len()];
        for s in self
            .srcs
            .iter()
            .filter(|s| s.kind == Kind::Burst && s.emitted > 0)
        {
            burst_sources[s.tag as usize].push(IpAddr::V4(Ipv4Addr::from(s.v4)));
        }
        let bursts = self
            .bursts
            .into_iter()
            .zip(burst_sources)
            .filter(|(b, _)| b.packets > 0)
            .map(|(b, mut sources)| {
                sources.sort();
                TrueBurst {
                    proto: b.proto,
                    port: b.port,
                    start_unix: b.first.div_euclid(NS),
                    end_unix: b.last.div_euclid(NS) + 1,
                    sources,
                    packets: b.packets,
                }
            })
            .collect();
        let spikes = self
            .spikes
            .into_iter()
            .zip(spike_sources)
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| TrueSpike {
                proto: s.proto,
                port: s.port,
                start_unix: s.first.div_euclid(NS),
                end_unix: s.last.div_euclid(NS) + 1,
                new_campaign: s.new_campaign,
                sources: n,
            })
            .collect();
        GroundTruth {
            packets,
            start_unix: cfg.start_unix,
            end_unix: cfg.start_unix + cfg.duration_secs.max(60) as i64,
            telescope_v4: cfg.telescope_v4.clone(),
            telescope_v6: cfg.telescope_v6.clone(),
            sources,
            attacks,
            spikes,
            bursts,
        }
    }
}

/// The per-packet read-only fields of a source (copied out to free `self` for building).
#[derive(Debug, Clone, Copy)]
struct Light {
    kind: Kind,
    v4: u32,
    v6: u128,
    ttl: u8,
    proto: u8,
    port: u16,
    sport: u16,
    window: u16,
    mss: bool,
    multi: bool,
    mode: u8,
    ports_at: u32,
    ports_len: u32,
}

impl Src {
    #[inline]
    fn clone_light(&self) -> Light {
        Light {
            kind: self.kind,
            v4: self.v4,
            v6: self.v6,
            ttl: self.ttl,
            proto: self.proto,
            port: self.port,
            sport: self.sport,
            window: self.window,
            mss: self.mss,
            multi: self.multi,
            mode: self.mode,
            ports_at: self.ports_at,
            ports_len: self.ports_len,
        }
    }
}
