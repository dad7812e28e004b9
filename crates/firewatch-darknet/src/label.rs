//! Source labels: which rule names a source, from the counts of what it sent.
//!
//! Rules, in order of precedence (the first that holds wins):
//! 1. **mirai** — at least `fingerprint_min_share` of its TCP SYNs have a sequence number equal
//!    to the destination IPv4 address (Antonakakis et al., USENIX Security 2017).
//! 2. **masscan** — that share of its TCP SYNs satisfy `ip_id = (dst ^ dport ^ seq) mod 2^16`
//!    (masscan's `templ-pkt.c`).
//! 3. **zmap** — that share of its IPv4 packets carry IP id 54321 (ZMap, USENIX Security 2013).
//! 4. **backscatter** — at least `backscatter_min_share` of its packets are unsolicited replies
//!    (SYN-ACK, RST, ICMP replies and errors): it is the victim of a spoofed attack (Moore et
//!    al., ACM TOCS 2006; corsaro's DoS plugin).
//! 5. **scanner** — it touched at least `scanner_min_addresses` distinct darknet addresses
//!    (Durumeric et al., USENIX Security 2014, use 100).
//! 6. **other** — everything else.
//!
//! A single fingerprint match by chance has odds of 2^-32 (Mirai) or 2^-16 (ZMap, Masscan) per
//! packet, so a share, not a single hit, is asked for.

use crate::config::LabelRules;
use firewatch_core::SourceLabel;
use serde::{Deserialize, Serialize};

/// What a source sent, counted. Summing two counters gives the counters of both captures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceCounters {
    pub packets: u64,
    pub bytes: u64,
    pub ipv4_packets: u64,
    /// TCP SYN without ACK.
    pub tcp_syn: u64,
    pub tcp_synack: u64,
    /// Any packet with RST set.
    pub tcp_rst: u64,
    pub tcp_fin: u64,
    /// ACK without SYN, RST or FIN.
    pub tcp_ack: u64,
    /// Any other flag combination (NULL, Xmas, PSH-only…).
    pub tcp_other: u64,
    pub udp: u64,
    pub icmp: u64,
    pub other_proto: u64,
    pub mirai: u64,
    pub masscan: u64,
    pub zmap: u64,
    pub backscatter: u64,
}

impl SourceCounters {
    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &SourceCounters) {
        self.packets += other.packets;
        self.bytes += other.bytes;
        self.ipv4_packets += other.ipv4_packets;
        self.tcp_syn += other.tcp_syn;
        self.tcp_synack += other.tcp_synack;
        self.tcp_rst += other.tcp_rst;
        self.tcp_fin += other.tcp_fin;
        self.tcp_ack += other.tcp_ack;
        self.tcp_other += other.tcp_other;
        self.udp += other.udp;
        self.icmp += other.icmp;
        self.other_proto += other.other_proto;
        self.mirai += other.mirai;
        self.masscan += other.masscan;
        self.zmap += other.zmap;
        self.backscatter += other.backscatter;
    }
}

fn share_at_least(part: u64, whole: u64, share: f64) -> bool {
    part > 0 && whole > 0 && part as f64 >= share * whole as f64
}

/// Names a source from its counters and the number of distinct darknet addresses it touched.
pub fn classify(c: &SourceCounters, distinct_addresses: u64, rules: &LabelRules) -> SourceLabel {
    let fp = rules.fingerprint_min_share;
    if share_at_least(c.mirai, c.tcp_syn, fp) {
        SourceLabel::Mirai
    } else if share_at_least(c.masscan, c.tcp_syn, fp) {
        SourceLabel::Masscan
    } else if share_at_least(c.zmap, c.ipv4_packets, fp) {
        SourceLabel::Zmap
    } else if share_at_least(c.backscatter, c.packets, rules.backscatter_min_share) {
        SourceLabel::Backscatter
    } else if distinct_addresses >= rules.scanner_min_addresses {
        SourceLabel::Scanner
    } else {
        SourceLabel::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_shares() {
        let rules = LabelRules::default();
        let mut c = SourceCounters {
            packets: 10,
            ipv4_packets: 10,
            tcp_syn: 10,
            mirai: 5,
            ..Default::default()
        };
        assert_eq!(classify(&c, 500, &rules), SourceLabel::Mirai);
        c.mirai = 4;
        assert_eq!(classify(&c, 500, &rules), SourceLabel::Scanner);
        assert_eq!(classify(&c, 99, &rules), SourceLabel::Other);
        c.zmap = 10;
        assert_eq!(classify(&c, 0, &rules), SourceLabel::Zmap);
        let b = SourceCounters {
            packets: 4,
            backscatter: 2,
            ..Default::default()
        };
        assert_eq!(classify(&b, 1, &rules), SourceLabel::Backscatter);
        assert_eq!(
            classify(&SourceCounters::default(), 0, &rules),
            SourceLabel::Other
        );
    }
}
