//! Per-packet traits: tool fingerprints and backscatter, decided from one packet alone.

use firewatch_pcap::PacketFacts;
use std::net::IpAddr;

/// TCP flag bits as they appear in the header.
pub mod tcp {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const ACK: u8 = 0x10;
}

const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const PROTO_ICMP: u8 = 1;
const PROTO_ICMPV6: u8 = 58;

/// The IP identification ZMap writes into every probe (ZMap's packet module; Durumeric,
/// Wustrow and Halderman, "ZMap: Fast Internet-wide Scanning", USENIX Security 2013).
pub const ZMAP_IP_ID: u16 = 54321;

/// What one packet tells about its sender.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacketTraits {
    /// A connection opening: TCP SYN without ACK.
    pub syn: bool,
    /// Mirai's scanner sets the SYN's sequence number to the destination IPv4 address
    /// (Antonakakis et al., "Understanding the Mirai Botnet", USENIX Security 2017).
    pub mirai: bool,
    /// Masscan writes `ip_id = dst_ip ^ dst_port ^ seq` (truncated to 16 bits) into its SYNs
    /// (masscan, `templ-pkt.c`), with a window of 1024 by default.
    pub masscan: bool,
    /// IPv4 identification 54321: ZMap.
    pub zmap: bool,
    /// A reply nobody in the darknet asked for: TCP SYN-ACK or RST, ICMP echo/timestamp/
    /// information/mask replies and ICMP errors (v4 types 0, 3, 4, 5, 11, 12, 14, 16, 18;
    /// v6 types 1–4 and 129): its sender is the victim of a spoofed attack (corsaro's DoS
    /// plugin; Moore et al. 2006).
    pub backscatter: bool,
}

/// Reads the traits of one packet. Fingerprints are IPv4-only, as the tools' are.
#[inline]
pub fn traits_of(p: &PacketFacts) -> PacketTraits {
    let mut t = PacketTraits::default();
    match p.proto {
        PROTO_TCP => {
            let f = p.tcp_flags;
            t.syn = f & (tcp::SYN | tcp::ACK) == tcp::SYN;
            t.backscatter = f & (tcp::SYN | tcp::ACK) == (tcp::SYN | tcp::ACK) || f & tcp::RST != 0;
            if t.syn
                && let IpAddr::V4(dst) = p.dst
            {
                let dst = u32::from(dst);
                t.mirai = p.tcp_seq == dst;
                t.masscan = p.ip_id == (dst ^ u32::from(p.dport) ^ p.tcp_seq) as u16;
            }
        }
        PROTO_ICMP => t.backscatter = matches!(p.icmp_type, 0 | 3 | 4 | 5 | 11 | 12 | 14 | 16 | 18),
        PROTO_ICMPV6 => t.backscatter = matches!(p.icmp_type, 1..=4 | 129),
        _ => {}
    }
    t.zmap = p.src.is_ipv4() && p.ip_id == ZMAP_IP_ID;
    t
}

/// The "port" a packet is aggregated under: TCP/UDP destination port, ICMP/ICMPv6 type,
/// 0 for other protocols. Later fragments carry no port: `None`.
#[inline]
pub fn aggregation_port(p: &PacketFacts) -> Option<u16> {
    if p.fragment == firewatch_pcap::Fragment::Later {
        return None;
    }
    Some(match p.proto {
        PROTO_TCP | PROTO_UDP => p.dport,
        PROTO_ICMP | PROTO_ICMPV6 => u16::from(p.icmp_type),
        _ => 0,
    })
}

/// The victim's service port for a backscatter packet: the TCP/UDP source port of its reply,
/// or the destination port of the packet quoted in its ICMP error.
#[inline]
pub fn victim_port(p: &PacketFacts) -> Option<u16> {
    match p.proto {
        PROTO_TCP | PROTO_UDP => Some(p.sport),
        _ => p.quoted.map(|q| q.dport),
    }
}

/// True for source addresses that cannot be genuine on the Internet (RFC 6890 special-purpose
/// blocks, multicast, reserved): such a packet was spoofed. Used for the flowtuple flag.
pub fn is_unroutable_source(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => {
            let o = a.octets();
            a.is_unspecified()
                || a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.is_multicast()
                || a.is_broadcast()
                || a.is_documentation()
                || o[0] == 0
                || o[0] >= 240
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            (s[0] & 0xe000) != 0x2000 || (s[0] == 0x2001 && s[1] == 0x0db8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use firewatch_pcap::Fragment;
    use std::net::Ipv4Addr;

    fn syn(dst: Ipv4Addr, dport: u16, seq: u32, ip_id: u16) -> PacketFacts {
        PacketFacts {
            ts_ns: 0,
            src: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)),
            dst: IpAddr::V4(dst),
            proto: 6,
            sport: 1234,
            dport,
            ttl: 64,
            ip_id,
            ip_len: 40,
            tcp_flags: tcp::SYN,
            tcp_seq: seq,
            tcp_window: 1024,
            icmp_type: 0,
            icmp_code: 0,
            quoted: None,
            fragment: Fragment::Whole,
            truncated: false,
            wire_len: 60,
        }
    }

    #[test]
    fn fingerprints_follow_their_published_rules() {
        let dst = Ipv4Addr::new(198, 18, 3, 4);
        assert!(traits_of(&syn(dst, 23, u32::from(dst), 1)).mirai);
        assert!(!traits_of(&syn(dst, 23, u32::from(dst) + 1, 1)).mirai);
        let seq = 0xdead_beef;
        let id = (u32::from(dst) ^ 8080 ^ seq) as u16;
        assert!(traits_of(&syn(dst, 8080, seq, id)).masscan);
        assert!(!traits_of(&syn(dst, 8081, seq, id)).masscan);
        assert!(traits_of(&syn(dst, 443, 5, ZMAP_IP_ID)).zmap);
        let mut synack = syn(dst, 80, 1, 2);
        synack.tcp_flags = tcp::SYN | tcp::ACK;
        let t = traits_of(&synack);
        assert!(t.backscatter && !t.syn && !t.mirai);
    }

    #[test]
    fn unroutable_sources() {
        assert!(is_unroutable_source("10.1.2.3".parse().unwrap()));
        assert!(is_unroutable_source("198.19.0.1".parse().unwrap()));
        assert!(is_unroutable_source("240.0.0.1".parse().unwrap()));
        assert!(!is_unroutable_source("8.8.8.8".parse().unwrap()));
        assert!(!is_unroutable_source("2001:200::1".parse().unwrap()));
        assert!(is_unroutable_source("fe80::1".parse().unwrap()));
    }
}
