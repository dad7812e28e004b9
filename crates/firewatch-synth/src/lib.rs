//! Seeded, realistic synthetic darknet (network telescope) captures **with ground truth**.
//!
//! `firewatch-synth` feeds `firewatch demo`, the labelling and detection tests (precision and
//! recall against [`GroundTruth`]) and the benchmark capture. A capture is a pure function of
//! its [`SynthConfig`]: same seed, same bytes, same truth.
//!
//! ```
//! use firewatch_synth::{SynthConfig, generate};
//! let cfg = SynthConfig::with_packets(20_000);
//! let mut n = 0u64;
//! let truth = generate(&cfg, |_ts_ns, frame| { assert!(frame.len() >= 60); n += 1; });
//! assert_eq!(truth.packets, n);
//! assert!(!truth.attacks.is_empty());
//! ```
//!
//! # What the telescope sees
//!
//! Every packet is an Ethernet II frame (padded to the 60-byte minimum) carrying IPv4 or IPv6,
//! sent *to* an address of the telescope (`198.18.0.0/15` and `2001:db8:f00::/48` by default:
//! benchmarking and documentation space, never routed). Checksums are correct. Arrivals are
//! Poisson (exponential gaps), so per-minute counts carry realistic noise.
//!
//! | population (default: 1.5 M packets, 6 h, seed `"firewatc"`) | behaviour |
//! |---|---|
//! | ≈ 75 700 "other" sources | 1–50 packets each (heavy-tailed, mean ≈ 7), < 60 destinations; TCP SYN / UDP / ICMP echo over a heavy-tailed port mix (TCP 23, 445, 22, 80, 3389, 8080, 443, 2323, 5555, 1433, …; UDP 53, 123, 1900, 5060, 161; ICMP echo request); 20 % of them spray several ports |
//! | ≈ 250 scanners | steady 0.07 packets/s, ≥ 300 distinct destinations each (a full-period stride walk over the prefix, so every probe hits a new address); 1–3 TCP ports, or one UDP port, or ICMP echo |
//! | ≈ 290 Mirai bots | steady 0.05 packets/s, TCP SYN to 23 (90 %) / 2323 (10 %) |
//! | 6 masscan, 5 ZMap instances | steady, ≈ 0.8 packets/s (≈ 17 000 packets) each |
//! | 10 DoS victims, 11 attacks | backscatter (75 % SYN-ACK, 25 % RST-ACK) at 70–500 packets/min for 5–40 min |
//! | ≈ 3 170 small backscatter victims | 3–15 replies within 30 s (SYN-ACK, RST, ICMP unreachable / time exceeded quoting the probe, echo reply): backscatter, not attacks |
//! | 8 + 1 + 3 IPv6 sources | other / scanner / backscatter, to the v6 telescope |
//! | 3 planted spikes | TCP 5555 (≈ 470 sources), new campaign TCP 37215 (≈ 240 sources), UDP 5060 (≈ 275 sources) |
//! | 2 planted single-source bursts | TCP 445 (1 scanner, 8 min), TCP 3389 (2 scanners, 6 min) |
//!
//! Sizes scale linearly with [`SynthConfig::target_packets`] (per-source behaviour stays the
//! same; at least one instance of every kind). The 20 M-packet capture has ≈ 1 M sources.
//! Below ≈ 50 000 packets the fixed parts (11 attacks of ≥ 70 packets/min for ≥ 5 min, a few
//! hundred spike sources) dominate: 10 000 asked gives ≈ 16 000.
//!
//! Heavy sources (Mirai, scanners, masscan, ZMap) are active from the start or start within
//! the first 30 minutes and keep a steady rate to the end, so the only sudden rate changes on a
//! destination port are the planted spikes and bursts.
//!
//! # The labelling rules the truth obeys
//!
//! These are the rules of `firewatch-darknet`'s labeller, applied in this order of precedence:
//! Mirai, masscan, ZMap, backscatter, scanner, other. Every source in
//! [`GroundTruth::sources`] is unambiguous under them: fingerprinted tools match on **every**
//! packet, and the other sources' fields are re-drawn whenever they would match a fingerprint
//! by accident (an IP id of 54321, a sequence number equal to the destination, an IP id
//! satisfying masscan's relation).
//!
//! 1. **Mirai** — among a source's TCP SYNs (SYN set, ACK clear) at least half have
//!    `seq == destination IPv4 address` (Antonakakis et al., "Understanding the Mirai Botnet",
//!    USENIX Security 2017). Generated bots: SYN to 23 (90 %) or 2323 (10 %), `seq = dst`,
//!    random IP id, source port and window, TTL 30–64, no TCP options.
//! 2. **Masscan** — at least half of its SYNs have
//!    `ip_id == (dst_ipv4 ^ dport ^ seq) & 0xffff` (masscan's `src/templ-pkt.c`). Generated:
//!    window 1024, one MSS option of 1460, TTL 255 minus 5–20 hops, a fixed source port, a
//!    list of 10–100 ports sprayed over the telescope.
//! 3. **ZMap** — at least half of its IPv4 packets have `ip_id == 54321` (ZMap's constant,
//!    Durumeric et al., USENIX Security 2013). Generated: TCP SYN to one port (80, 443, 8080,
//!    22, 3389, 21), window 65535, TTL 240–255.
//! 4. **Backscatter** — at least half of its packets are replies: TCP SYN-ACK or any RST;
//!    ICMP types 0, 3, 4, 5, 11, 12, 14, 16, 18; ICMPv6 types 1–4 and 129 (Moore et al.,
//!    "Inferring Internet Denial-of-Service Activity", ACM TOCS 2006). Victims reply *from* the
//!    attacked service port (80, 443, 53, 22, 25, …) to a random telescope address and port;
//!    ICMP errors quote the "original" header (source = the spoofed telescope address,
//!    destination = victim and service port), RFC 792.
//! 5. **Scanner** — no fingerprint, touches at least 100 distinct telescope addresses
//!    (generated scanners touch ≥ 300).
//! 6. **Other** — everything else (generated with at most 50 packets, so < 60 destinations).
//!
//! # DoS attacks
//!
//! [`GroundTruth::attacks`] follows CAIDA corsaro's DoS thresholds: a victim's backscatter is
//! an attack when it has ≥ 25 packets, lasts ≥ 60 s and peaks at ≥ 30 packets/min; an attack
//! ends after 300 s without backscatter from the victim. Generated attacks are far above
//! (hundreds to thousands of packets at ≥ 70/min for 5–40 min, never a 300 s gap); the first
//! victim is attacked twice, more than an hour apart. Small victims (3–15 packets within 30 s)
//! are far below. Start, end, packet count and service ports (TCP source port of the replies)
//! of each attack are measured from the packets actually emitted.
//!
//! # Spikes
//!
//! [`GroundTruth::spikes`] lists the planted events ([`SpikePlan`]), all after at least 2.5
//! hours of history (defaults, offsets from the start): TCP 5555 at 3:00 for 20 min (packets
//! and unique sources ≈ 10× the port's background), a new campaign on TCP 37215 at 4:10 for
//! 25 min (250 planned sources; those that send at least once are counted; no other packet
//! in the capture uses port 37215, as destination or source), UDP 5060 at 5:00 for 15 min (≈ 8×). Spike sources are "other" sources (≤ 50
//! packets each). `start_unix`/`end_unix` are the seconds of the first and just after the last
//! spike packet.
//!
//! # Single-source bursts
//!
//! [`GroundTruth::bursts`] lists the planted bursts ([`BurstPlan`]): one or two sources that
//! hammer one port for a few minutes while its other sources go on as usual, the case a
//! port-wide alert must not be raised for. Defaults: one source on TCP 445 at 2:00 for 8 min
//! (8× the port's "other" background), two on TCP 3389 at 3:40 for 6 min (10×). Burst
//! sources probe a new address with every packet (≥ 300 each), so they are scanners.
//!
//! # Output
//!
//! [`write_capture`] writes pcap (either endianness, µs or ns) or pcapng through `pcap-file`,
//! optionally gzip-compressed. pcapng sections alternate little / big endian; each declares
//! `interfaces` Ethernet interfaces whose `if_tsresol` alternates 9 (ns, even interfaces) and 6
//! (µs, odd interfaces), and packets go round-robin over them. A pcapng reader must honour
//! `if_tsresol` (pcap-file 2.0's reader does not: it returns raw units as nanoseconds).

mod config;
mod engine;
mod frame;
mod rng;
mod write;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use firewatch_core::{Protocol, SourceLabel};
use serde::{Deserialize, Serialize};

pub use config::{BurstPlan, DEFAULT_START_UNIX, SpikePlan, SynthConfig};
pub use write::{pcapng_endianness, pcapng_tsresol};

/// Generates the capture in time order, calling `emit(ts_ns, ethernet_frame)` for each packet
/// (`ts_ns` in nanoseconds since the Unix epoch, non-decreasing). Deterministic for a config.
///
/// Malformed telescope prefixes fall back to the defaults; see [`SynthConfig::validate`].
pub fn generate(cfg: &SynthConfig, mut emit: impl FnMut(i64, &[u8])) -> GroundTruth {
    engine::Engine::plan(cfg).run(cfg, &mut emit)
}

impl SynthConfig {
    /// Checks the telescope prefixes (IPv4 /8–/24, IPv6 /16–/112).
    pub fn validate(&self) -> Result<(), String> {
        engine::check_prefixes(self)
    }
}

/// The file format of [`write_capture`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Classic libpcap format.
    Pcap {
        /// Big-endian header and records (little-endian otherwise).
        big_endian: bool,
        /// Nanosecond timestamps (magic `a1b23c4d`), microseconds otherwise.
        nanosecond: bool,
    },
    /// pcapng: `sections` sections of 1/`sections` of the packets each (a counting pass runs
    /// first), each declaring `interfaces` Ethernet interfaces; packets are spread round-robin
    /// over the interfaces. Sections alternate little / big endian ([`pcapng_endianness`]),
    /// interfaces alternate `if_tsresol` 9 and 6 ([`pcapng_tsresol`]).
    PcapNg {
        /// Number of sections (at least 1).
        sections: u32,
        /// Interfaces per section (at least 1).
        interfaces: u32,
    },
}

impl Default for OutputFormat {
    fn default() -> Self {
        OutputFormat::Pcap {
            big_endian: false,
            nanosecond: true,
        }
    }
}

/// Writes the capture to `path` (gzip-compressed if `gzip`) and returns its truth.
///
/// ```no_run
/// use firewatch_synth::{OutputFormat, SynthConfig, write_capture};
/// let truth = write_capture(&SynthConfig::default(), "demo.pcap.gz".as_ref(), OutputFormat::default(), true)?;
/// println!("{} packets", truth.packets);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_capture(
    cfg: &SynthConfig,
    path: &Path,
    format: OutputFormat,
    gzip: bool,
) -> std::io::Result<GroundTruth> {
    write::write_capture(cfg, path, format, gzip)
}

/// Writes the capture to any writer (uncompressed) and returns its truth and the writer.
pub fn write_capture_to<W: std::io::Write>(
    cfg: &SynthConfig,
    out: W,
    format: OutputFormat,
) -> std::io::Result<(GroundTruth, W)> {
    write::write_to(cfg, out, format)
}

/// What was generated: the answer key of the labelling, attack and spike tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroundTruth {
    /// Number of packets emitted.
    pub packets: u64,
    /// Capture start, Unix seconds.
    pub start_unix: i64,
    /// Capture end (exclusive), Unix seconds.
    pub end_unix: i64,
    /// IPv4 telescope prefix (CIDR).
    pub telescope_v4: String,
    /// IPv6 telescope prefix (CIDR).
    pub telescope_v6: String,
    /// The intended label of every source that sent at least one packet.
    pub sources: BTreeMap<IpAddr, SourceLabel>,
    /// The DoS attacks, measured from the emitted backscatter, in planning order.
    pub attacks: Vec<TrueAttack>,
    /// The planted spikes and new campaigns.
    pub spikes: Vec<TrueSpike>,
    /// The planted single-source bursts (absent from truth files of older versions).
    #[serde(default)]
    pub bursts: Vec<TrueBurst>,
}

impl GroundTruth {
    /// Number of sources per label (labels with no source are absent).
    pub fn label_counts(&self) -> BTreeMap<SourceLabel, u64> {
        let mut counts = BTreeMap::new();
        for label in self.sources.values() {
            *counts.entry(*label).or_insert(0) += 1;
        }
        counts
    }

    /// The intended label of `ip`, if it sent anything.
    pub fn label_of(&self, ip: &IpAddr) -> Option<SourceLabel> {
        self.sources.get(ip).copied()
    }
}

/// One DoS attack, seen through its victim's backscatter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrueAttack {
    /// The attacked host (source of the backscatter).
    pub victim: IpAddr,
    /// Timestamp of its first backscatter packet, ns since the epoch.
    pub start_ns: i64,
    /// Timestamp of its last backscatter packet, ns since the epoch.
    pub end_ns: i64,
    /// Backscatter packets emitted.
    pub packets: u64,
    /// The attacked service ports (TCP source port of the replies), ascending.
    pub ports: Vec<u16>,
}

/// One planted rate change on a destination port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrueSpike {
    /// Transport protocol.
    pub proto: Protocol,
    /// Destination port.
    pub port: u16,
    /// Second of the first spike packet, Unix seconds.
    pub start_unix: i64,
    /// One second past the last spike packet, Unix seconds.
    pub end_unix: i64,
    /// The port is used by nothing else in the capture.
    pub new_campaign: bool,
    /// Distinct spike sources that sent at least one packet.
    pub sources: u64,
}

/// One planted single-source burst: a few scanners' packets, not a port-wide event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrueBurst {
    /// Transport protocol.
    pub proto: Protocol,
    /// Destination port.
    pub port: u16,
    /// Second of the first burst packet, Unix seconds.
    pub start_unix: i64,
    /// One second past the last burst packet, Unix seconds.
    pub end_unix: i64,
    /// The burst's sources (labelled scanner in [`GroundTruth::sources`]).
    pub sources: Vec<IpAddr>,
    /// Burst packets sent.
    pub packets: u64,
}
