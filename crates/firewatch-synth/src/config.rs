//! The scenario a capture is generated from.

use firewatch_core::Protocol;
use serde::{Deserialize, Serialize};

/// 2026-11-02T00:00:00Z, the default capture start.
pub const DEFAULT_START_UNIX: i64 = 1_793_577_600;

/// Everything that shapes a synthetic capture. Every field has a default
/// ([`SynthConfig::default`]); the population sizes are derived from `target_packets`, so a
/// bigger capture has proportionally more sources with the same per-source behaviour.
///
/// ```
/// let cfg = firewatch_synth::SynthConfig::with_packets(50_000);
/// assert_eq!(cfg.duration_secs, 6 * 3600);
/// assert_eq!(cfg.target_packets, 50_000);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SynthConfig {
    /// Seed of the generator: same seed and config, byte-identical capture and truth.
    pub seed: u64,
    /// Capture start, Unix seconds (default 2026-11-02T00:00:00Z).
    pub start_unix: i64,
    /// Capture length in seconds (default 6 hours).
    pub duration_secs: u64,
    /// IPv4 telescope prefix, CIDR (default `198.18.0.0/15`, RFC 2544 benchmarking space).
    pub telescope_v4: String,
    /// IPv6 telescope prefix, CIDR (default `2001:db8:f00::/48`, RFC 3849 documentation space).
    pub telescope_v6: String,
    /// Approximate total number of packets (default 1 500 000).
    pub target_packets: u64,
    /// Share of the packet budget (after DoS attacks) sent by Mirai bots.
    pub mirai_share: f64,
    /// Share of the packet budget sent by fingerprint-less scanners.
    pub scanner_share: f64,
    /// Share of the packet budget sent by masscan instances.
    pub masscan_share: f64,
    /// Share of the packet budget sent by ZMap instances.
    pub zmap_share: f64,
    /// Share of the packet budget sent by small (below-threshold) backscatter victims.
    pub small_backscatter_share: f64,
    /// Packets per second of one Mirai bot (steady, Poisson).
    pub mirai_pps: f64,
    /// Packets per second of one scanner (steady, Poisson; raised if needed so each scanner
    /// reaches at least 300 distinct destinations).
    pub scanner_pps: f64,
    /// Masscan instances per million target packets (at least one).
    pub masscan_per_million: f64,
    /// ZMap instances per million target packets (at least one).
    pub zmap_per_million: f64,
    /// Number of DoS victims with a real attack; the first one is attacked twice, more than an
    /// hour apart, when the capture is long enough.
    pub attack_victims: u32,
    /// Adds a few IPv6 sources (other, scanner, backscatter) aimed at `telescope_v6`.
    pub ipv6: bool,
    /// Planted rate changes (the spike detector's truth).
    pub spikes: Vec<SpikePlan>,
    /// Planted single-source bursts: one or two hosts hammering a port for a few minutes.
    pub bursts: Vec<BurstPlan>,
}

/// One planted single-source burst: `sources` scanners (1 or 2) send a port `factor` times its
/// expected background for a while, while the port's other sources go on as usual.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurstPlan {
    /// Transport protocol (TCP or UDP).
    pub proto: Protocol,
    /// Destination port; should not be a spike's.
    pub port: u16,
    /// Start, in seconds after the capture start.
    pub start_offset_secs: u64,
    /// Length in seconds.
    pub duration_secs: u64,
    /// Number of burst sources.
    pub sources: u32,
    /// Burst packets per minute (all its sources) as a multiple of the port's expected
    /// background per minute from "other" sources. Each source sends at least 300 packets, to
    /// as many distinct addresses, so it is a scanner.
    pub factor: f64,
}

/// One planted spike or new campaign.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpikePlan {
    /// Transport protocol (TCP or UDP).
    pub proto: Protocol,
    /// Destination port the spike sources aim at.
    pub port: u16,
    /// Start, in seconds after the capture start.
    pub start_offset_secs: u64,
    /// Length in seconds.
    pub duration_secs: u64,
    /// A port no other traffic in the capture ever uses (the port is reserved for the spike).
    pub new_campaign: bool,
    /// Spike packets per minute as a multiple of the port's expected background per minute.
    pub factor: f64,
    /// Minimum number of distinct spike sources at the default size (scaled up with
    /// `target_packets`, never down).
    pub min_sources: u32,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            seed: 0x6669_7265_7761_7463, // "firewatc"
            start_unix: DEFAULT_START_UNIX,
            duration_secs: 6 * 3600,
            telescope_v4: "198.18.0.0/15".to_string(),
            telescope_v6: "2001:db8:f00::/48".to_string(),
            target_packets: 1_500_000,
            mirai_share: 0.22,
            scanner_share: 0.26,
            masscan_share: 0.07,
            zmap_share: 0.06,
            small_backscatter_share: 0.02,
            mirai_pps: 0.05,
            scanner_pps: 0.07,
            masscan_per_million: 4.0,
            zmap_per_million: 3.4,
            attack_victims: 10,
            ipv6: true,
            spikes: vec![
                SpikePlan {
                    proto: Protocol::Tcp,
                    port: 5555,
                    start_offset_secs: 3 * 3600,
                    duration_secs: 20 * 60,
                    new_campaign: false,
                    factor: 9.0,
                    min_sources: 300,
                },
                SpikePlan {
                    proto: Protocol::Tcp,
                    port: 37215,
                    start_offset_secs: 4 * 3600 + 10 * 60,
                    duration_secs: 25 * 60,
                    new_campaign: true,
                    factor: 0.0,
                    min_sources: 250,
                },
                SpikePlan {
                    proto: Protocol::Udp,
                    port: 5060,
                    start_offset_secs: 5 * 3600,
                    duration_secs: 15 * 60,
                    new_campaign: false,
                    factor: 7.0,
                    min_sources: 200,
                },
            ],
            bursts: vec![
                BurstPlan {
                    proto: Protocol::Tcp,
                    port: 445,
                    start_offset_secs: 2 * 3600,
                    duration_secs: 8 * 60,
                    sources: 1,
                    factor: 8.0,
                },
                BurstPlan {
                    proto: Protocol::Tcp,
                    port: 3389,
                    start_offset_secs: 3 * 3600 + 40 * 60,
                    duration_secs: 6 * 60,
                    sources: 2,
                    factor: 10.0,
                },
            ],
        }
    }
}

impl SynthConfig {
    /// The default scenario (same time span, same behaviour) scaled to about `n` packets.
    pub fn with_packets(n: u64) -> Self {
        SynthConfig {
            target_packets: n,
            ..SynthConfig::default()
        }
    }

    /// The default scenario scaled to about `n` packets, with another seed.
    pub fn with_packets_and_seed(n: u64, seed: u64) -> Self {
        SynthConfig {
            seed,
            ..SynthConfig::with_packets(n)
        }
    }
}
