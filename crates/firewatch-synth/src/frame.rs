//! Hand-filled Ethernet / IPv4 / IPv6 / TCP / UDP / ICMP frames with correct checksums.
//!
//! Frames are written into a reusable buffer (no allocation per packet) and padded with zeros
//! to the 60-byte Ethernet minimum (the 4-byte FCS is not captured, as with most capture cards).

/// Size of the reusable frame buffer; larger than any frame this crate builds.
pub(crate) const BUF_LEN: usize = 256;
/// Minimum Ethernet frame length without FCS.
const MIN_FRAME: usize = 60;
/// Destination MAC: the telescope's capture interface (locally administered address).
const ETH_DST: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x01];
/// Source MAC: the upstream router (locally administered address).
const ETH_SRC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0xfe];

pub(crate) const TCP_SYN: u8 = 0x02;
pub(crate) const TCP_RST: u8 = 0x04;
pub(crate) const TCP_ACK: u8 = 0x10;

pub(crate) const PROTO_ICMP: u8 = 1;
pub(crate) const PROTO_TCP: u8 = 6;
pub(crate) const PROTO_UDP: u8 = 17;
pub(crate) const PROTO_ICMPV6: u8 = 58;

/// The IPv4 fields a generator chooses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ip4 {
    pub src: u32,
    pub dst: u32,
    pub ttl: u8,
    pub id: u16,
}

/// The IPv6 fields a generator chooses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ip6 {
    pub src: u128,
    pub dst: u128,
    pub hop: u8,
}

/// The TCP fields a generator chooses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tcp {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    /// Adds a single MSS option (4 bytes) when set.
    pub mss: Option<u16>,
}

#[inline]
fn put16(buf: &mut [u8], at: usize, v: u16) {
    buf[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

#[inline]
fn put32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

/// Adds 16-bit big-endian words of `data` to `acc` (odd tail padded with zero).
#[inline]
fn sum(data: &[u8], mut acc: u64) -> u64 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u64::from(*last) << 8;
    }
    acc
}

#[inline]
fn fold(mut acc: u64) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// Internet checksum of `data`.
#[inline]
pub(crate) fn checksum(data: &[u8]) -> u16 {
    fold(sum(data, 0))
}

#[inline]
fn eth(buf: &mut [u8], ethertype: u16) {
    buf[0..6].copy_from_slice(&ETH_DST);
    buf[6..12].copy_from_slice(&ETH_SRC);
    put16(buf, 12, ethertype);
}

/// Writes a 20-byte IPv4 header (no options, DF clear) at `at` with its checksum.
#[inline]
pub(crate) fn ipv4_header(buf: &mut [u8], at: usize, ip: &Ip4, proto: u8, payload_len: usize) {
    let h = &mut buf[at..at + 20];
    h[0] = 0x45;
    h[1] = 0;
    put16(h, 2, (20 + payload_len) as u16);
    put16(h, 4, ip.id);
    put16(h, 6, 0);
    h[8] = ip.ttl;
    h[9] = proto;
    put16(h, 10, 0);
    put32(h, 12, ip.src);
    put32(h, 16, ip.dst);
    let c = checksum(h);
    put16(h, 10, c);
}

#[inline]
fn pseudo4(ip: &Ip4, proto: u8, len: usize) -> u64 {
    let mut acc = 0u64;
    acc += u64::from(ip.src >> 16) + u64::from(ip.src & 0xffff);
    acc += u64::from(ip.dst >> 16) + u64::from(ip.dst & 0xffff);
    acc += u64::from(proto) + len as u64;
    acc
}

#[inline]
fn pseudo6(ip: &Ip6, proto: u8, len: usize) -> u64 {
    let mut acc = sum(&ip.src.to_be_bytes(), 0);
    acc = sum(&ip.dst.to_be_bytes(), acc);
    acc + u64::from(proto) + len as u64
}

/// Zero-pads the frame to the Ethernet minimum and returns its captured length.
#[inline]
fn finish(buf: &mut [u8], len: usize) -> usize {
    if len < MIN_FRAME {
        buf[len..MIN_FRAME].fill(0);
        MIN_FRAME
    } else {
        len
    }
}

/// Writes a TCP header at `at`; returns its length. The checksum is left zero.
#[inline]
fn tcp_header(buf: &mut [u8], at: usize, t: &Tcp) -> usize {
    let hl = if t.mss.is_some() { 24 } else { 20 };
    let h = &mut buf[at..at + hl];
    put16(h, 0, t.sport);
    put16(h, 2, t.dport);
    put32(h, 4, t.seq);
    put32(h, 8, t.ack);
    h[12] = ((hl / 4) as u8) << 4;
    h[13] = t.flags;
    put16(h, 14, t.window);
    put16(h, 16, 0);
    put16(h, 18, 0);
    if let Some(mss) = t.mss {
        h[20] = 2;
        h[21] = 4;
        put16(h, 22, mss);
    }
    hl
}

/// Ethernet + IPv4 + TCP (no payload). Returns the frame length.
pub(crate) fn tcp_v4(buf: &mut [u8; BUF_LEN], ip: &Ip4, t: &Tcp) -> usize {
    eth(buf, 0x0800);
    let hl = tcp_header(buf, 34, t);
    ipv4_header(buf, 14, ip, PROTO_TCP, hl);
    let c = fold(sum(&buf[34..34 + hl], pseudo4(ip, PROTO_TCP, hl)));
    put16(buf, 34 + 16, c);
    finish(buf, 34 + hl)
}

/// Ethernet + IPv4 + UDP with `payload`. Returns the frame length.
pub(crate) fn udp_v4(
    buf: &mut [u8; BUF_LEN],
    ip: &Ip4,
    sport: u16,
    dport: u16,
    payload: &[u8],
) -> usize {
    eth(buf, 0x0800);
    let len = 8 + payload.len();
    ipv4_header(buf, 14, ip, PROTO_UDP, len);
    put16(buf, 34, sport);
    put16(buf, 36, dport);
    put16(buf, 38, len as u16);
    put16(buf, 40, 0);
    buf[42..42 + payload.len()].copy_from_slice(payload);
    let mut c = fold(sum(&buf[34..34 + len], pseudo4(ip, PROTO_UDP, len)));
    if c == 0 {
        c = 0xffff;
    }
    put16(buf, 40, c);
    finish(buf, 34 + len)
}

/// Ethernet + IPv4 + ICMP (`rest` = bytes 4..8 of the ICMP header) with `payload`.
pub(crate) fn icmp_v4(
    buf: &mut [u8; BUF_LEN],
    ip: &Ip4,
    typ: u8,
    code: u8,
    rest: u32,
    payload: &[u8],
) -> usize {
    eth(buf, 0x0800);
    let len = 8 + payload.len();
    ipv4_header(buf, 14, ip, PROTO_ICMP, len);
    buf[34] = typ;
    buf[35] = code;
    put16(buf, 36, 0);
    put32(buf, 38, rest);
    buf[42..42 + payload.len()].copy_from_slice(payload);
    let c = checksum(&buf[34..34 + len]);
    put16(buf, 36, c);
    finish(buf, 34 + len)
}

#[inline]
fn ipv6_header(buf: &mut [u8], ip: &Ip6, next: u8, payload_len: usize) {
    put32(buf, 14, 0x6000_0000);
    put16(buf, 18, payload_len as u16);
    buf[20] = next;
    buf[21] = ip.hop;
    buf[22..38].copy_from_slice(&ip.src.to_be_bytes());
    buf[38..54].copy_from_slice(&ip.dst.to_be_bytes());
}

/// Ethernet + IPv6 + TCP (no payload).
pub(crate) fn tcp_v6(buf: &mut [u8; BUF_LEN], ip: &Ip6, t: &Tcp) -> usize {
    eth(buf, 0x86dd);
    let hl = tcp_header(buf, 54, t);
    ipv6_header(buf, ip, PROTO_TCP, hl);
    let c = fold(sum(&buf[54..54 + hl], pseudo6(ip, PROTO_TCP, hl)));
    put16(buf, 54 + 16, c);
    finish(buf, 54 + hl)
}

/// Ethernet + IPv6 + ICMPv6 with `payload`.
pub(crate) fn icmp_v6(
    buf: &mut [u8; BUF_LEN],
    ip: &Ip6,
    typ: u8,
    code: u8,
    rest: u32,
    payload: &[u8],
) -> usize {
    eth(buf, 0x86dd);
    let len = 8 + payload.len();
    ipv6_header(buf, ip, PROTO_ICMPV6, len);
    buf[54] = typ;
    buf[55] = code;
    put16(buf, 56, 0);
    put32(buf, 58, rest);
    buf[62..62 + payload.len()].copy_from_slice(payload);
    let c = fold(sum(&buf[54..54 + len], pseudo6(ip, PROTO_ICMPV6, len)));
    put16(buf, 56, c);
    finish(buf, 54 + len)
}

/// The 28 bytes an ICMP error quotes: the "original" IPv4 header plus 8 bytes of its
/// transport header (RFC 792).
pub(crate) fn quote_v4(orig: &Ip4, proto: u8, sport: u16, dport: u16, seq_or_len: u32) -> [u8; 28] {
    let mut q = [0u8; 28];
    ipv4_header(
        &mut q,
        0,
        orig,
        proto,
        if proto == PROTO_UDP { 8 } else { 20 },
    );
    put16(&mut q, 20, sport);
    put16(&mut q, 22, dport);
    put32(&mut q, 24, seq_or_len);
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_rfc1071_example() {
        // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2; checksum = !ddf2.
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2
        );
    }

    #[test]
    fn frames_are_padded_and_self_consistent() {
        let mut buf = [0xee; BUF_LEN];
        let ip = Ip4 {
            src: 0x0102_0304,
            dst: 0xc612_0001,
            ttl: 50,
            id: 7,
        };
        let t = Tcp {
            sport: 1,
            dport: 23,
            seq: 0xc612_0001,
            ack: 0,
            flags: TCP_SYN,
            window: 5,
            mss: None,
        };
        let n = tcp_v4(&mut buf, &ip, &t);
        assert_eq!(n, 60);
        assert!(buf[54..60].iter().all(|b| *b == 0), "padding is zeroed");
        assert_eq!(checksum(&buf[14..34]), 0, "IPv4 header sums to zero");
        let q = quote_v4(&ip, PROTO_UDP, 9, 53, 8 << 16);
        assert_eq!(checksum(&q[..20]), 0);
        assert_eq!(u16::from_be_bytes([q[22], q[23]]), 53);
    }
}
