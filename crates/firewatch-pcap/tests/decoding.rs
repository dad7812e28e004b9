//! Decoding: every supported link type, VLAN/QinQ, IPv6 extension headers, fragments,
//! ICMP errors, truncated frames.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use common::*;
use firewatch_pcap::{
    DecodeCounters, Fragment, Frame, LinkType, PacketFacts, QuotedHeader, Undecodable, decode,
};

fn dec(link: u32, data: &[u8]) -> Result<PacketFacts, Undecodable> {
    dec_wire(link, data, data.len() as u32)
}

fn dec_wire(link: u32, data: &[u8], wire_len: u32) -> Result<PacketFacts, Undecodable> {
    decode(&Frame {
        ts_ns: 42,
        link: LinkType(link),
        data,
        wire_len,
        offset: 0,
    })
}

fn v4(a: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}

fn v6(a: [u8; 16]) -> IpAddr {
    IpAddr::V6(Ipv6Addr::from(a))
}

fn ip4_udp() -> Vec<u8> {
    ipv4(17, A, B, 0x1234, 0, &udp(161, 5555, b"hello"))
}

fn ip6_tcp() -> Vec<u8> {
    ipv6(6, v6addr(1), v6addr(2), &tcp(443, 5000, 0x14, 99, 0))
}

fn check_v4(p: &PacketFacts) {
    assert_eq!(p.src, v4(A));
    assert_eq!(p.dst, v4(B));
    assert_eq!((p.proto, p.sport, p.dport), (17, 161, 5555));
    assert_eq!((p.ttl, p.ip_id, p.ip_len), (57, 0x1234, 33));
    assert_eq!(p.fragment, Fragment::Whole);
    assert_eq!(p.ts_ns, 42);
    assert!(!p.truncated);
}

fn check_v6(p: &PacketFacts) {
    assert_eq!(p.src, v6(v6addr(1)));
    assert_eq!(p.dst, v6(v6addr(2)));
    assert_eq!(
        (p.proto, p.sport, p.dport, p.tcp_flags),
        (6, 443, 5000, 0x14)
    );
    assert_eq!((p.ttl, p.ip_id, p.ip_len), (33, 0, 60));
}

#[test]
fn ethernet_ipv4_tcp_fields() {
    let p = dec(1, &syn_frame()).unwrap();
    assert_eq!(
        (p.sport, p.dport, p.tcp_flags, p.tcp_seq, p.tcp_window),
        (40000, 23, 2, 7, 1024)
    );
    assert_eq!(p.wire_len, syn_frame().len() as u32);
    assert_eq!((p.icmp_type, p.icmp_code, p.quoted), (0, 0, None));
}

#[test]
fn every_link_type() {
    let ip4 = ip4_udp();
    let ip6 = ip6_tcp();
    let with = |prefix: &[u8], ip: &[u8]| {
        let mut v = prefix.to_vec();
        v.extend_from_slice(ip);
        v
    };
    let sll = |proto: u16| {
        let mut h = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];
        h.extend_from_slice(&proto.to_be_bytes());
        h
    };
    let sll2 = |proto: u16| {
        let mut h = proto.to_be_bytes().to_vec();
        h.extend_from_slice(&[0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
        h
    };
    for raw in [101u32, 12, 14] {
        check_v4(&dec(raw, &ip4).unwrap());
        check_v6(&dec(raw, &ip6).unwrap());
    }
    check_v4(&dec(228, &ip4).unwrap());
    check_v6(&dec(229, &ip6).unwrap());
    assert!(matches!(dec(228, &ip6), Err(Undecodable::Malformed(_))));
    assert!(matches!(dec(229, &ip4), Err(Undecodable::Malformed(_))));
    check_v4(&dec(1, &eth(0x0800, &ip4)).unwrap());
    check_v6(&dec(1, &eth(0x86dd, &ip6)).unwrap());
    check_v4(&dec(113, &with(&sll(0x0800), &ip4)).unwrap());
    check_v6(&dec(113, &with(&sll(0x86dd), &ip6)).unwrap());
    check_v4(&dec(276, &with(&sll2(0x0800), &ip4)).unwrap());
    check_v6(&dec(276, &with(&sll2(0x86dd), &ip6)).unwrap());
    // DLT_NULL: host byte order, either.
    check_v4(&dec(0, &with(&2u32.to_le_bytes(), &ip4)).unwrap());
    check_v4(&dec(0, &with(&2u32.to_be_bytes(), &ip4)).unwrap());
    for af in [24u32, 28, 30] {
        check_v6(&dec(0, &with(&af.to_le_bytes(), &ip6)).unwrap());
        check_v6(&dec(0, &with(&af.to_be_bytes(), &ip6)).unwrap());
        check_v6(&dec(108, &with(&af.to_be_bytes(), &ip6)).unwrap());
    }
    // DLT_LOOP: network byte order.
    check_v4(&dec(108, &with(&2u32.to_be_bytes(), &ip4)).unwrap());
    assert_eq!(
        dec(0, &with(&7u32.to_le_bytes(), &ip4)),
        Err(Undecodable::NotIp)
    );
    // Unsupported link and non-IP payloads.
    assert_eq!(dec(105, &ip4), Err(Undecodable::UnsupportedLink(105)));
    assert_eq!(dec(1, &eth(0x0806, &[0; 28])), Err(Undecodable::NotIp));
    assert_eq!(
        dec(113, &with(&sll(0x0806), &[0; 28])),
        Err(Undecodable::NotIp)
    );
}

#[test]
fn vlan_and_qinq() {
    let ip4 = ip4_udp();
    check_v4(&dec(1, &eth_tagged(&[0x8100], 0x0800, &ip4)).unwrap());
    check_v4(&dec(1, &eth_tagged(&[0x88a8, 0x8100], 0x0800, &ip4)).unwrap());
    check_v4(&dec(1, &eth_tagged(&[0x9100, 0x8100], 0x0800, &ip4)).unwrap());
    check_v6(&dec(1, &eth_tagged(&[0x8100], 0x86dd, &ip6_tcp())).unwrap());
    // A tag cut short.
    let mut cut = eth_tagged(&[0x8100], 0x0800, &[]);
    cut.truncate(16);
    assert!(matches!(dec(1, &cut), Err(Undecodable::Malformed(_))));
}

#[test]
fn ipv6_hop_by_hop_and_fragment_headers() {
    // HBH (8 bytes, next = fragment) + fragment header (first, M=1, next = UDP) + UDP.
    let mut payload = vec![44, 0, 5, 2, 0, 0, 1, 0];
    payload.extend_from_slice(&[17, 0, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef]);
    payload.extend_from_slice(&udp(53, 4444, b"q"));
    let pkt = ipv6(0, v6addr(9), v6addr(8), &payload);
    let p = dec(101, &pkt).unwrap();
    assert_eq!((p.proto, p.sport, p.dport), (17, 53, 4444));
    assert_eq!(p.fragment, Fragment::First);
    assert_eq!(p.ip_len, pkt.len() as u16);

    // Later fragment (offset 185 * 8): no ports.
    let mut payload = vec![44, 0, 5, 2, 0, 0, 1, 0];
    payload.extend_from_slice(&[17, 0, 0x05, 0xc8, 0xde, 0xad, 0xbe, 0xef]);
    payload.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    let p = dec(101, &ipv6(0, v6addr(9), v6addr(8), &payload)).unwrap();
    assert_eq!((p.proto, p.sport, p.dport), (17, 0, 0));
    assert_eq!(p.fragment, Fragment::Later);

    // Routing + destination options + AH + TCP.
    let mut payload = vec![60, 0, 0, 0, 0, 0, 0, 0]; // routing, 8 bytes, next = dst opts
    payload.extend_from_slice(&[51, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // dst opts, 16
    payload.extend_from_slice(&[6, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // AH (1+2)*4 = 12
    payload.extend_from_slice(&tcp(22, 33, 0x02, 1, 2));
    let p = dec(101, &ipv6(43, v6addr(9), v6addr(8), &payload)).unwrap();
    assert_eq!(
        (p.proto, p.sport, p.dport, p.fragment),
        (6, 22, 33, Fragment::Whole)
    );

    // An extension header cut short in an untruncated frame is malformed.
    let pkt = ipv6(0, v6addr(9), v6addr(8), &[6, 3, 0, 0]);
    assert!(matches!(dec(101, &pkt), Err(Undecodable::Malformed(_))));
}

#[test]
fn ipv4_fragments() {
    // First: MF set, offset 0 -> ports present.
    let first = ipv4(17, A, B, 7, 0x2000, &udp(123, 9, &[0; 16]));
    let p = dec(101, &first).unwrap();
    assert_eq!((p.fragment, p.sport, p.dport), (Fragment::First, 123, 9));
    // Later: offset > 0 (MF set or not) -> no ports, proto kept.
    for frag in [0x2003u16, 0x0003] {
        let later = ipv4(17, A, B, 7, frag, &udp(123, 9, &[0; 16]));
        let p = dec(101, &later).unwrap();
        assert_eq!(
            (p.fragment, p.sport, p.dport, p.proto),
            (Fragment::Later, 0, 0, 17)
        );
    }
    // DF alone is not a fragment.
    let df = ipv4(17, A, B, 7, 0x4000, &udp(123, 9, &[]));
    assert_eq!(dec(101, &df).unwrap().fragment, Fragment::Whole);
    let mut c = DecodeCounters::default();
    c.record(&dec(101, &first));
    c.record(&dec(101, &df));
    assert_eq!(c.fragments, 1);
}

#[test]
fn icmp_error_with_quoted_header() {
    // Port unreachable quoting B:5353 -> A:161 UDP.
    let quoted = ipv4(17, B, A, 1, 0, &udp(5353, 161, b"abcdefgh"));
    let pkt = ipv4(1, A, B, 2, 0, &icmp(3, 3, &quoted));
    let p = dec(101, &pkt).unwrap();
    assert_eq!((p.proto, p.icmp_type, p.icmp_code), (1, 3, 3));
    assert_eq!(
        p.quoted,
        Some(QuotedHeader {
            proto: 17,
            src: v4(B),
            dst: v4(A),
            sport: 5353,
            dport: 161
        })
    );
    // Time exceeded quoting only the IP header: ports 0.
    let quoted = ipv4(6, B, A, 1, 0, &[]);
    let p = dec(101, &ipv4(1, A, B, 2, 0, &icmp(11, 0, &quoted[..20]))).unwrap();
    assert_eq!(p.quoted.map(|q| (q.proto, q.sport)), Some((6, 0)));
    // Too short to quote anything.
    let p = dec(101, &ipv4(1, A, B, 2, 0, &icmp(3, 1, &[0x45, 0]))).unwrap();
    assert_eq!(p.quoted, None);
    // Echo request is not an error: no quote.
    let p = dec(101, &ipv4(1, A, B, 2, 0, &icmp(8, 0, &quoted))).unwrap();
    assert_eq!((p.icmp_type, p.quoted), (8, None));
}

#[test]
fn icmpv6_echo_and_error() {
    let p = dec(101, &ipv6(58, v6addr(1), v6addr(2), &icmp(128, 0, b"ping"))).unwrap();
    assert_eq!(
        (p.proto, p.icmp_type, p.icmp_code, p.quoted),
        (58, 128, 0, None)
    );
    // Destination unreachable quoting a TCP SYN.
    let inner = ipv6(6, v6addr(2), v6addr(3), &tcp(1234, 80, 0x02, 0, 0));
    let p = dec(101, &ipv6(58, v6addr(1), v6addr(2), &icmp(1, 4, &inner))).unwrap();
    assert_eq!((p.icmp_type, p.icmp_code), (1, 4));
    assert_eq!(
        p.quoted,
        Some(QuotedHeader {
            proto: 6,
            src: v6(v6addr(2)),
            dst: v6(v6addr(3)),
            sport: 1234,
            dport: 80
        })
    );
}

#[test]
fn truncated_frames() {
    // Ethernet + IPv4 + 20 bytes of a TCP header with options, cut at 54 bytes.
    let mut seg = tcp(1000, 2000, 0x02, 5, 6);
    seg[12] = 8 << 4; // 32-byte header with options
    seg.extend_from_slice(&[1; 12]);
    let full = eth(0x0800, &ipv4(6, A, B, 3, 0, &seg));
    let p = dec_wire(1, &full[..54], full.len() as u32).unwrap();
    assert!(p.truncated);
    assert_eq!(
        (p.sport, p.dport, p.tcp_flags, p.tcp_seq),
        (1000, 2000, 0x02, 5)
    );
    assert_eq!(p.ip_len, 52);
    assert_eq!(p.wire_len, full.len() as u32);
    // Cut inside the TCP header: ports only.
    let p = dec_wire(1, &full[..38], full.len() as u32).unwrap();
    assert!(p.truncated);
    assert_eq!((p.sport, p.dport, p.tcp_flags), (1000, 2000, 0));
    // Cut inside the IP header: malformed.
    assert!(matches!(
        dec_wire(1, &full[..30], full.len() as u32),
        Err(Undecodable::Malformed(_))
    ));
    // The same cut without a snaplen excuse is malformed.
    assert!(matches!(
        dec(1, &full[..38]),
        Err(Undecodable::Malformed(_))
    ));
    let mut c = DecodeCounters::default();
    c.record(&dec_wire(1, &full[..54], full.len() as u32));
    c.record(&dec_wire(1, &full[..30], full.len() as u32));
    assert_eq!(
        (c.frames, c.ip_packets, c.truncated, c.malformed),
        (2, 1, 1, 1)
    );
}

#[test]
fn ethernet_padding_is_ignored() {
    // A 40-byte IPv4/TCP packet padded to the 60-byte Ethernet minimum.
    let mut f = eth(0x0800, &ipv4(6, A, B, 3, 0, &tcp(1, 2, 0x04, 0, 0)));
    f.extend_from_slice(&[0xee; 6]);
    let p = dec(1, &f).unwrap();
    assert_eq!((p.ip_len, p.tcp_flags), (40, 0x04));
}

#[test]
fn malformed_headers() {
    assert!(matches!(dec(1, &[0; 10]), Err(Undecodable::Malformed(_))));
    assert!(matches!(dec(101, &[]), Err(Undecodable::Malformed(_))));
    assert!(matches!(
        dec(101, &[0x55; 40]),
        Err(Undecodable::Malformed(_))
    ));
    // IHL < 5.
    let mut bad = ip4_udp();
    bad[0] = 0x44;
    assert!(matches!(dec(101, &bad), Err(Undecodable::Malformed(_))));
    // Total length shorter than the header.
    let mut bad = ip4_udp();
    bad[2] = 0;
    bad[3] = 10;
    assert!(matches!(dec(101, &bad), Err(Undecodable::Malformed(_))));
}

#[test]
fn counters_record_and_merge() {
    let mut a = DecodeCounters::default();
    a.record(&dec(101, &ip6_tcp()));
    a.record(&Err(Undecodable::NotIp));
    a.record(&Err(Undecodable::UnsupportedLink(9)));
    a.record(&Err(Undecodable::Malformed("x")));
    let mut b = a;
    b.merge(&a);
    assert_eq!(
        b,
        DecodeCounters {
            frames: 8,
            ip_packets: 2,
            not_ip: 2,
            malformed: 2,
            unsupported_link: 2,
            truncated: 0,
            fragments: 0,
            ipv6: 2
        }
    );
}
