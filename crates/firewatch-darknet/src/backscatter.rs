//! DoS backscatter: a victim's replies to spoofed packets, bucketed per minute, and the attacks
//! they reveal.
//!
//! Following CAIDA corsaro's DoS plugin (after Moore et al., "Inferring Internet
//! Denial-of-Service Activity", ACM TOCS 2006): a victim's backscatter is one attack while the
//! gaps between its packets stay under `gap_secs`; an attack is reported when it has at least
//! `min_packets` packets, lasts `min_duration_secs`, and peaks at `min_peak_per_minute` packets
//! in one minute. Minutes are calendar minutes (UTC), so the peak is the largest per-minute
//! count of the attack; per-minute buckets make the result independent of how captures were
//! split into files.

use crate::config::AttackThresholds;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Most distinct service ports remembered per victim-minute.
pub const MAX_PORTS: usize = 16;

/// Backscatter from one victim during one minute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackscatterMinute {
    pub victim: IpAddr,
    /// Unix seconds of the minute's start.
    pub minute: i64,
    pub packets: u64,
    pub bytes: u64,
    pub first_ns: i64,
    pub last_ns: i64,
    /// Protocol of the replies seen most (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6).
    pub proto: u8,
    /// The victim's attacked service ports, sorted, at most [`MAX_PORTS`].
    pub ports: Vec<u16>,
}

impl BackscatterMinute {
    /// Adds another capture's view of the same victim and minute.
    pub fn merge(&mut self, other: &BackscatterMinute) {
        self.packets += other.packets;
        self.bytes += other.bytes;
        self.first_ns = self.first_ns.min(other.first_ns);
        self.last_ns = self.last_ns.max(other.last_ns);
        for &p in &other.ports {
            add_port(&mut self.ports, p);
        }
    }
}

/// Adds a port to a sorted, capped port list.
pub fn add_port(ports: &mut Vec<u16>, port: u16) {
    if let Err(at) = ports.binary_search(&port)
        && ports.len() < MAX_PORTS
    {
        ports.insert(at, port);
    }
}

/// One DoS attack on one victim, inferred from its backscatter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackscatterAttack {
    pub victim: IpAddr,
    pub start_ns: i64,
    pub end_ns: i64,
    pub packets: u64,
    pub bytes: u64,
    /// Largest number of backscatter packets in one minute.
    pub peak_per_minute: u64,
    pub proto: u8,
    pub ports: Vec<u16>,
}

/// Finds the attacks in one victim's minutes (any order). Minutes of other victims are ignored
/// by grouping: pass one victim's minutes at a time.
pub fn derive_attacks(
    minutes: &[BackscatterMinute],
    t: &AttackThresholds,
) -> Vec<BackscatterAttack> {
    let mut sorted: Vec<&BackscatterMinute> = minutes.iter().collect();
    sorted.sort_by_key(|m| (m.victim, m.minute));
    let gap_ns = (t.gap_secs as i64).saturating_mul(1_000_000_000);
    let mut out = Vec::new();
    let mut current: Option<BackscatterAttack> = None;
    for m in sorted {
        match current.as_mut() {
            Some(a) if a.victim == m.victim && m.first_ns.saturating_sub(a.end_ns) <= gap_ns => {
                a.end_ns = a.end_ns.max(m.last_ns);
                a.packets += m.packets;
                a.bytes += m.bytes;
                a.peak_per_minute = a.peak_per_minute.max(m.packets);
                for &p in &m.ports {
                    add_port(&mut a.ports, p);
                }
            }
            _ => {
                if let Some(done) = current.take() {
                    keep_if_attack(done, t, &mut out);
                }
                current = Some(BackscatterAttack {
                    victim: m.victim,
                    start_ns: m.first_ns,
                    end_ns: m.last_ns,
                    packets: m.packets,
                    bytes: m.bytes,
                    peak_per_minute: m.packets,
                    proto: m.proto,
                    ports: m.ports.clone(),
                });
            }
        }
    }
    if let Some(done) = current {
        keep_if_attack(done, t, &mut out);
    }
    out
}

fn keep_if_attack(a: BackscatterAttack, t: &AttackThresholds, out: &mut Vec<BackscatterAttack>) {
    let duration_ns = a.end_ns.saturating_sub(a.start_ns);
    if a.packets >= t.min_packets
        && duration_ns >= (t.min_duration_secs as i64).saturating_mul(1_000_000_000)
        && a.peak_per_minute >= t.min_peak_per_minute
    {
        out.push(a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minute(victim: &str, minute: i64, packets: u64) -> BackscatterMinute {
        BackscatterMinute {
            victim: victim.parse().unwrap(),
            minute: minute * 60,
            packets,
            bytes: packets * 60,
            first_ns: minute * 60_000_000_000,
            last_ns: minute * 60_000_000_000 + 59_000_000_000,
            proto: 6,
            ports: vec![80],
        }
    }

    #[test]
    fn corsaro_thresholds_and_gaps() {
        let t = AttackThresholds::default();
        // Three busy minutes: an attack.
        let a: Vec<_> = (0..3).map(|i| minute("192.0.2.1", i, 40)).collect();
        let found = derive_attacks(&a, &t);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].packets, 120);
        assert_eq!(found[0].peak_per_minute, 40);
        // Too slow: 29 per minute never reaches the peak threshold.
        let slow: Vec<_> = (0..5).map(|i| minute("192.0.2.2", i, 29)).collect();
        assert!(derive_attacks(&slow, &t).is_empty());
        // Too short: one minute only spans 59 s.
        assert!(derive_attacks(&[minute("192.0.2.3", 0, 100)], &t).is_empty());
        // A gap over 300 s splits one victim's backscatter into two attacks.
        let mut two: Vec<_> = (0..2).map(|i| minute("192.0.2.4", i, 40)).collect();
        two.extend((20..22).map(|i| minute("192.0.2.4", i, 40)));
        assert_eq!(derive_attacks(&two, &t).len(), 2);
    }
}
