//! Packet decoding: link layer, IPv4/IPv6 (with extension headers), TCP/UDP/ICMP/ICMPv6.
//!
//! The decoder is a lean, allocation-free path over `etherparse`'s header slices: it reads only
//! the fields the telescope needs. It never panics, on any bytes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use etherparse::{Ethernet2HeaderSlice, Ipv4HeaderSlice, Ipv6FragmentHeaderSlice, Ipv6HeaderSlice};

use crate::reader::{Frame, LinkType};

/// One packet's facts, as the telescope needs them. Plain data, `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketFacts {
    /// Capture timestamp, nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// IP source address.
    pub src: IpAddr,
    /// IP destination address.
    pub dst: IpAddr,
    /// IP protocol number of the transport (after skipping IPv6 extension headers).
    pub proto: u8,
    /// TCP/UDP source port; 0 otherwise or for a non-first fragment.
    pub sport: u16,
    /// TCP/UDP destination port; 0 otherwise.
    pub dport: u16,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 identification; 0 for IPv6.
    pub ip_id: u16,
    /// IPv4 total length, or IPv6 payload length + 40, from the header.
    pub ip_len: u16,
    /// TCP flags (FIN=0x01 SYN=0x02 RST=0x04 PSH=0x08 ACK=0x10 URG=0x20 ECE=0x40 CWR=0x80);
    /// 0 if not TCP.
    pub tcp_flags: u8,
    /// TCP sequence number; 0 if not TCP.
    pub tcp_seq: u32,
    /// TCP window; 0 if not TCP.
    pub tcp_window: u16,
    /// ICMP or ICMPv6 type; 0 otherwise.
    pub icmp_type: u8,
    /// ICMP or ICMPv6 code; 0 otherwise.
    pub icmp_code: u8,
    /// For ICMP/ICMPv6 error messages: the offending packet's header quoted inside.
    pub quoted: Option<QuotedHeader>,
    /// Whether this packet is an IP fragment, and which kind.
    pub fragment: Fragment,
    /// Captured length < original length (snaplen): whatever headers were complete are decoded.
    pub truncated: bool,
    /// Original length on the wire.
    pub wire_len: u32,
}

/// The header of the packet quoted inside an ICMP/ICMPv6 error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotedHeader {
    /// Transport protocol of the quoted packet.
    pub proto: u8,
    /// Source of the quoted packet (usually the address that sent the original packet).
    pub src: IpAddr,
    /// Destination of the quoted packet.
    pub dst: IpAddr,
    /// TCP/UDP source port of the quoted packet; 0 if absent.
    pub sport: u16,
    /// TCP/UDP destination port of the quoted packet; 0 if absent.
    pub dport: u16,
}

/// Whether a packet is an IP fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fragment {
    /// Not fragmented.
    Whole,
    /// First fragment (offset 0, more fragments follow): transport header present.
    First,
    /// A later fragment (offset > 0): no transport header.
    Later,
}

/// Why a frame yielded no [`PacketFacts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undecodable {
    /// A valid frame that does not carry IPv4 or IPv6 (ARP, LLDP, ...).
    NotIp,
    /// The link type (a `LINKTYPE_*` value) is not supported.
    UnsupportedLink(u32),
    /// Headers are inconsistent or cut before the end of the IP header.
    Malformed(&'static str),
}

impl std::fmt::Display for Undecodable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Undecodable::NotIp => write!(f, "not an IP packet"),
            Undecodable::UnsupportedLink(l) => write!(f, "unsupported link type {l}"),
            Undecodable::Malformed(why) => write!(f, "malformed: {why}"),
        }
    }
}

impl std::error::Error for Undecodable {}

/// Tally of decode outcomes for an ingest summary.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DecodeCounters {
    /// Frames seen (every outcome).
    pub frames: u64,
    /// Frames decoded to [`PacketFacts`].
    pub ip_packets: u64,
    /// [`Undecodable::NotIp`] outcomes.
    pub not_ip: u64,
    /// [`Undecodable::Malformed`] outcomes.
    pub malformed: u64,
    /// [`Undecodable::UnsupportedLink`] outcomes.
    pub unsupported_link: u64,
    /// Decoded packets whose frame was cut by the snaplen.
    pub truncated: u64,
    /// Decoded packets that were IP fragments (first or later).
    pub fragments: u64,
    /// Decoded packets that were IPv6.
    pub ipv6: u64,
}

impl DecodeCounters {
    /// Counts one outcome of [`decode`].
    #[inline]
    pub fn record(&mut self, outcome: &Result<PacketFacts, Undecodable>) {
        self.frames += 1;
        match outcome {
            Ok(p) => {
                self.ip_packets += 1;
                self.truncated += u64::from(p.truncated);
                self.fragments += u64::from(p.fragment != Fragment::Whole);
                self.ipv6 += u64::from(p.src.is_ipv6());
            }
            Err(Undecodable::NotIp) => self.not_ip += 1,
            Err(Undecodable::Malformed(_)) => self.malformed += 1,
            Err(Undecodable::UnsupportedLink(_)) => self.unsupported_link += 1,
        }
    }

    /// Adds another tally to this one.
    pub fn merge(&mut self, other: &DecodeCounters) {
        self.frames += other.frames;
        self.ip_packets += other.ip_packets;
        self.not_ip += other.not_ip;
        self.malformed += other.malformed;
        self.unsupported_link += other.unsupported_link;
        self.truncated += other.truncated;
        self.fragments += other.fragments;
        self.ipv6 += other.ipv6;
    }
}

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
const PROTO_ICMP: u8 = 1;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const PROTO_ICMPV6: u8 = 58;

#[inline(always)]
fn be16(d: &[u8], at: usize) -> Option<u16> {
    match d.get(at..at + 2) {
        Some(&[a, b]) => Some(u16::from_be_bytes([a, b])),
        _ => None,
    }
}

#[inline(always)]
fn be32(d: &[u8], at: usize) -> Option<u32> {
    match d.get(at..at + 4) {
        Some(&[a, b, c, e]) => Some(u32::from_be_bytes([a, b, c, e])),
        _ => None,
    }
}

/// The network layer found after the link header.
enum Net<'a> {
    V4(&'a [u8]),
    V6(&'a [u8]),
    ByVersion(&'a [u8]),
}

/// Decodes the link, network and transport headers of one frame. Never panics, on any bytes.
///
/// ```
/// use firewatch_pcap::{decode, Frame, LinkType, Fragment};
/// // Raw IPv4 + UDP 10.0.0.1:53 -> 10.0.0.2:4444
/// let pkt = [
///     0x45, 0, 0, 28, 0x12, 0x34, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
///     0, 53, 0x11, 0x5c, 0, 8, 0, 0,
/// ];
/// let frame = Frame { ts_ns: 0, link: LinkType::RAW, data: &pkt, wire_len: 28, offset: 0 };
/// let facts = decode(&frame).unwrap();
/// assert_eq!((facts.proto, facts.sport, facts.dport), (17, 53, 4444));
/// assert_eq!(facts.fragment, Fragment::Whole);
/// ```
#[inline]
pub fn decode(frame: &Frame<'_>) -> Result<PacketFacts, Undecodable> {
    let d = frame.data;
    let net = match frame.link {
        LinkType::ETHERNET => ethernet(d)?,
        LinkType::RAW | LinkType::RAW_12 | LinkType::RAW_14 => Net::ByVersion(d),
        LinkType::IPV4 => Net::V4(d),
        LinkType::IPV6 => Net::V6(d),
        LinkType::LINUX_SLL => {
            let proto = be16(d, 14).ok_or(Undecodable::Malformed("linux sll header cut short"))?;
            by_ethertype(proto, &d[16..])?
        }
        LinkType::LINUX_SLL2 => {
            let proto = be16(d, 0).ok_or(Undecodable::Malformed("linux sll2 header cut short"))?;
            let rest = d
                .get(20..)
                .ok_or(Undecodable::Malformed("linux sll2 header cut short"))?;
            by_ethertype(proto, rest)?
        }
        LinkType::NULL | LinkType::LOOP => {
            let Some(&[a, b, c, e]) = d.get(..4) else {
                return Err(Undecodable::Malformed("loopback header cut short"));
            };
            let family = if frame.link == LinkType::LOOP {
                u32::from_be_bytes([a, b, c, e])
            } else {
                // Host byte order of the capturing machine: accept either.
                let le = u32::from_le_bytes([a, b, c, e]);
                if le <= 0xffff {
                    le
                } else {
                    u32::from_be_bytes([a, b, c, e])
                }
            };
            match family {
                2 => Net::V4(&d[4..]),
                24 | 28 | 30 => Net::V6(&d[4..]),
                _ => return Err(Undecodable::NotIp),
            }
        }
        LinkType(other) => return Err(Undecodable::UnsupportedLink(other)),
    };
    let truncated = (d.len() as u64) < u64::from(frame.wire_len);
    let ip = match net {
        Net::V4(ip) => ip,
        Net::V6(ip) => ip,
        Net::ByVersion(ip) => ip,
    };
    let version = match ip.first() {
        Some(b) => b >> 4,
        None => return Err(Undecodable::Malformed("ip header cut short")),
    };
    match (net, version) {
        (Net::V4(_) | Net::ByVersion(_), 4) => ipv4(ip, frame, truncated),
        (Net::V6(_) | Net::ByVersion(_), 6) => ipv6(ip, frame, truncated),
        _ => Err(Undecodable::Malformed("unexpected ip version")),
    }
}

#[inline(always)]
fn by_ethertype(ethertype: u16, rest: &[u8]) -> Result<Net<'_>, Undecodable> {
    match ethertype {
        ETH_IPV4 => Ok(Net::V4(rest)),
        ETH_IPV6 => Ok(Net::V6(rest)),
        _ => Err(Undecodable::NotIp),
    }
}

#[inline(always)]
fn ethernet(d: &[u8]) -> Result<Net<'_>, Undecodable> {
    let eth = Ethernet2HeaderSlice::from_slice(d)
        .map_err(|_| Undecodable::Malformed("ethernet header cut short"))?;
    let mut ethertype = eth.ether_type().0;
    let mut at = 14;
    // 802.1Q, 802.1ad (QinQ) and the old 0x9100 tag, possibly stacked.
    while matches!(ethertype, 0x8100 | 0x88a8 | 0x9100) {
        ethertype = be16(d, at + 2).ok_or(Undecodable::Malformed("vlan tag cut short"))?;
        at += 4;
    }
    by_ethertype(ethertype, d.get(at..).unwrap_or(&[]))
}

/// Transport fields parsed from the bytes after the IP header(s).
#[derive(Default)]
struct L4 {
    sport: u16,
    dport: u16,
    tcp_flags: u8,
    tcp_seq: u32,
    tcp_window: u16,
    icmp_type: u8,
    icmp_code: u8,
    quoted: Option<QuotedHeader>,
}

#[inline(always)]
fn ipv4(ip: &[u8], frame: &Frame<'_>, truncated: bool) -> Result<PacketFacts, Undecodable> {
    let h = Ipv4HeaderSlice::from_slice(ip).map_err(|e| match e {
        etherparse::err::ipv4::HeaderSliceError::Len(_) => {
            Undecodable::Malformed("ipv4 header cut short")
        }
        etherparse::err::ipv4::HeaderSliceError::Content(_) => {
            Undecodable::Malformed("bad ipv4 header length")
        }
    })?;
    let hlen = usize::from(h.ihl()) * 4;
    let total = usize::from(h.total_len());
    // Ethernet padding may follow the packet; a zero total length (TSO) means "what is there".
    let end = if total == 0 {
        ip.len()
    } else if total < hlen {
        return Err(Undecodable::Malformed(
            "ipv4 total length shorter than header",
        ));
    } else {
        total.min(ip.len())
    };
    let payload = ip.get(hlen..end).unwrap_or(&[]);
    let proto = h.protocol().0;
    let frag_off = h.fragments_offset().value();
    let fragment = if frag_off > 0 {
        Fragment::Later
    } else if h.more_fragments() {
        Fragment::First
    } else {
        Fragment::Whole
    };
    let l4 = if fragment == Fragment::Later {
        L4::default()
    } else {
        transport(proto, payload, truncated)?
    };
    Ok(facts(
        frame,
        IpAddr::V4(h.source_addr()),
        IpAddr::V4(h.destination_addr()),
        proto,
        h.ttl(),
        h.identification(),
        h.total_len(),
        fragment,
        truncated,
        l4,
    ))
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn facts(
    frame: &Frame<'_>,
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    ttl: u8,
    ip_id: u16,
    ip_len: u16,
    fragment: Fragment,
    truncated: bool,
    l4: L4,
) -> PacketFacts {
    PacketFacts {
        ts_ns: frame.ts_ns,
        src,
        dst,
        proto,
        sport: l4.sport,
        dport: l4.dport,
        ttl,
        ip_id,
        ip_len,
        tcp_flags: l4.tcp_flags,
        tcp_seq: l4.tcp_seq,
        tcp_window: l4.tcp_window,
        icmp_type: l4.icmp_type,
        icmp_code: l4.icmp_code,
        quoted: l4.quoted,
        fragment,
        truncated,
        wire_len: frame.wire_len,
    }
}

/// Result of walking IPv6 extension headers.
struct V6Walk<'a> {
    proto: u8,
    payload: &'a [u8],
    fragment: Fragment,
    /// The chain was cut before the transport header.
    cut: bool,
}

/// Skips IPv6 extension headers (hop-by-hop, routing, fragment, destination options, AH).
fn walk_v6_exts(mut next: u8, mut rest: &[u8]) -> V6Walk<'_> {
    let mut fragment = Fragment::Whole;
    loop {
        let len = match next {
            0 | 43 | 60 => match rest.get(1) {
                Some(&l) => (usize::from(l) + 1) * 8,
                None => usize::MAX,
            },
            51 => match rest.get(1) {
                Some(&l) => (usize::from(l) + 2) * 4,
                None => usize::MAX,
            },
            44 => {
                let Ok(f) = Ipv6FragmentHeaderSlice::from_slice(rest) else {
                    return V6Walk {
                        proto: next,
                        payload: &[],
                        fragment,
                        cut: true,
                    };
                };
                let off = f.fragment_offset().value();
                let more = f.more_fragments();
                next = f.next_header().0;
                rest = rest.get(8..).unwrap_or(&[]);
                if off > 0 {
                    return V6Walk {
                        proto: next,
                        payload: &[],
                        fragment: Fragment::Later,
                        cut: false,
                    };
                }
                if more {
                    fragment = Fragment::First;
                }
                continue;
            }
            _ => {
                return V6Walk {
                    proto: next,
                    payload: rest,
                    fragment,
                    cut: false,
                };
            }
        };
        match rest.get(len..) {
            Some(after) => {
                next = rest.first().copied().unwrap_or(59);
                rest = after;
            }
            None => {
                return V6Walk {
                    proto: next,
                    payload: &[],
                    fragment,
                    cut: true,
                };
            }
        }
    }
}

#[inline(always)]
fn ipv6(ip: &[u8], frame: &Frame<'_>, truncated: bool) -> Result<PacketFacts, Undecodable> {
    let h = Ipv6HeaderSlice::from_slice(ip).map_err(|e| match e {
        etherparse::err::ipv6::HeaderSliceError::Len(_) => {
            Undecodable::Malformed("ipv6 header cut short")
        }
        etherparse::err::ipv6::HeaderSliceError::Content(_) => {
            Undecodable::Malformed("bad ipv6 header")
        }
    })?;
    let plen = usize::from(h.payload_length());
    let body = ip.get(40..).unwrap_or(&[]);
    // Jumbograms (payload length 0) and padding: take what is there, up to the stated length.
    let body = if plen == 0 {
        body
    } else {
        body.get(..plen).unwrap_or(body)
    };
    let walk = walk_v6_exts(h.next_header().0, body);
    if walk.cut && !truncated {
        return Err(Undecodable::Malformed("ipv6 extension header cut short"));
    }
    let l4 = if walk.fragment == Fragment::Later || walk.cut {
        L4::default()
    } else {
        transport(walk.proto, walk.payload, truncated)?
    };
    Ok(facts(
        frame,
        IpAddr::V6(h.source_addr()),
        IpAddr::V6(h.destination_addr()),
        walk.proto,
        h.hop_limit(),
        0,
        h.payload_length().saturating_add(40),
        walk.fragment,
        truncated,
        l4,
    ))
}

/// Parses the transport header. If it is cut short and the frame was not truncated by the
/// snaplen, the packet is malformed; if it was truncated, whatever is there is used.
#[inline(always)]
fn transport(proto: u8, p: &[u8], truncated: bool) -> Result<L4, Undecodable> {
    let mut l4 = L4::default();
    match proto {
        PROTO_TCP => {
            // Read the fixed 20 bytes by hand: with a small snaplen the options are often cut,
            // and the ports and flags are still worth having.
            if p.len() >= 20 {
                l4.sport = be16(p, 0).unwrap_or(0);
                l4.dport = be16(p, 2).unwrap_or(0);
                l4.tcp_seq = be32(p, 4).unwrap_or(0);
                l4.tcp_flags = p[13];
                l4.tcp_window = be16(p, 14).unwrap_or(0);
            } else if truncated {
                l4.sport = be16(p, 0).unwrap_or(0);
                l4.dport = be16(p, 2).unwrap_or(0);
            } else {
                return Err(Undecodable::Malformed("tcp header cut short"));
            }
        }
        PROTO_UDP => {
            if let Ok(u) = etherparse::UdpHeaderSlice::from_slice(p) {
                l4.sport = u.source_port();
                l4.dport = u.destination_port();
            } else if truncated {
                l4.sport = be16(p, 0).unwrap_or(0);
                l4.dport = be16(p, 2).unwrap_or(0);
            } else {
                return Err(Undecodable::Malformed("udp header cut short"));
            }
        }
        PROTO_ICMP | PROTO_ICMPV6 => {
            if p.len() < 2 {
                if truncated {
                    return Ok(l4);
                }
                return Err(Undecodable::Malformed("icmp header cut short"));
            }
            l4.icmp_type = p[0];
            l4.icmp_code = p[1];
            let is_error = if proto == PROTO_ICMP {
                matches!(l4.icmp_type, 3 | 4 | 5 | 11 | 12)
            } else {
                matches!(l4.icmp_type, 1..=4)
            };
            if is_error {
                l4.quoted = p.get(8..).and_then(|q| {
                    if proto == PROTO_ICMP {
                        quoted_v4(q)
                    } else {
                        quoted_v6(q)
                    }
                });
            }
        }
        _ => {}
    }
    Ok(l4)
}

/// Ports from the first 4 bytes of a quoted transport header (TCP/UDP only).
fn quoted_ports(proto: u8, p: &[u8]) -> (u16, u16) {
    if matches!(proto, PROTO_TCP | PROTO_UDP) {
        (be16(p, 0).unwrap_or(0), be16(p, 2).unwrap_or(0))
    } else {
        (0, 0)
    }
}

fn quoted_v4(q: &[u8]) -> Option<QuotedHeader> {
    let h = Ipv4HeaderSlice::from_slice(q).ok()?;
    let proto = h.protocol().0;
    let rest = q.get(usize::from(h.ihl()) * 4..).unwrap_or(&[]);
    let (sport, dport) = if h.fragments_offset().value() > 0 {
        (0, 0)
    } else {
        quoted_ports(proto, rest)
    };
    Some(QuotedHeader {
        proto,
        src: IpAddr::V4(Ipv4Addr::from(h.source())),
        dst: IpAddr::V4(Ipv4Addr::from(h.destination())),
        sport,
        dport,
    })
}

fn quoted_v6(q: &[u8]) -> Option<QuotedHeader> {
    let h = Ipv6HeaderSlice::from_slice(q).ok()?;
    let walk = walk_v6_exts(h.next_header().0, q.get(40..).unwrap_or(&[]));
    let (sport, dport) = if walk.cut || walk.fragment == Fragment::Later {
        (0, 0)
    } else {
        quoted_ports(walk.proto, walk.payload)
    };
    Some(QuotedHeader {
        proto: walk.proto,
        src: IpAddr::V6(Ipv6Addr::from(h.source())),
        dst: IpAddr::V6(Ipv6Addr::from(h.destination())),
        sport,
        dport,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_walk_stops_at_transport() {
        // HBH (8) -> dst opts (16) -> TCP
        let mut b = vec![60, 0, 0, 0, 0, 0, 0, 0];
        b.extend_from_slice(&[6, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        b.extend_from_slice(&[0xaa; 20]);
        let w = walk_v6_exts(0, &b);
        assert_eq!((w.proto, w.payload.len(), w.cut), (6, 20, false));
        assert_eq!(w.fragment, Fragment::Whole);
    }

    #[test]
    fn extension_walk_reports_cut_chain() {
        let w = walk_v6_exts(43, &[6, 2, 0, 0]);
        assert!(w.cut);
        let w = walk_v6_exts(44, &[6, 0, 0]);
        assert!(w.cut);
        let w = walk_v6_exts(51, &[]);
        assert!(w.cut);
    }

    #[test]
    fn no_next_header_is_a_transport() {
        let w = walk_v6_exts(59, &[1, 2, 3]);
        assert_eq!((w.proto, w.cut), (59, false));
    }

    #[test]
    fn undecodable_display() {
        assert_eq!(
            Undecodable::UnsupportedLink(9).to_string(),
            "unsupported link type 9"
        );
        assert_eq!(Undecodable::Malformed("x").to_string(), "malformed: x");
    }
}
