//! Arbitrary bytes never make the reader or decoder panic.

mod common;

use common::*;
use firewatch_pcap::{Capture, DecodeCounters, Frame, LinkType, decode};
use proptest::prelude::*;

fn run(bytes: Vec<u8>) {
    let Ok(mut cap) = Capture::from_reader("fuzz", Box::new(std::io::Cursor::new(bytes))) else {
        return;
    };
    let mut c = DecodeCounters::default();
    let _ = cap.for_each_frame(|f| c.record(&decode(f)));
}

const LINKS: [u32; 12] = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 105, 0xffff];

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        run(bytes.clone());
        run(gzip(&bytes));
    }

    #[test]
    fn arbitrary_bytes_after_pcap_header(
        be in any::<bool>(), nano in any::<bool>(), link in 0usize..LINKS.len(),
        tail in proptest::collection::vec(any::<u8>(), 0..1024),
    ) {
        let mut bytes = pcap(be, nano, LINKS[link], 65535, &[rec(1, 2, syn_frame())]);
        bytes.extend_from_slice(&tail);
        run(bytes);
    }

    #[test]
    fn arbitrary_bytes_after_pcapng_header(
        be in any::<bool>(), tail in proptest::collection::vec(any::<u8>(), 0..1024),
    ) {
        let mut ng = Ng::new();
        ng.shb(be).idb(1, 65535, None);
        let mut bytes = ng.bytes();
        bytes.extend_from_slice(&tail);
        run(bytes);
    }

    #[test]
    fn decode_arbitrary_frames(
        link in 0usize..LINKS.len(), data in proptest::collection::vec(any::<u8>(), 0..200),
        wire_extra in 0u32..100,
    ) {
        let f = Frame { ts_ns: 0, link: LinkType(LINKS[link]), data: &data, wire_len: data.len() as u32 + wire_extra, offset: 0 };
        let _ = decode(&f);
    }

    #[test]
    fn decode_mutated_valid_packets(
        which in 0usize..4, pos in any::<prop::sample::Index>(), val in any::<u8>(), cut in any::<prop::sample::Index>(),
    ) {
        let quoted = ipv4(17, B, A, 1, 0, &udp(5, 6, b"12345678"));
        let frames = [
            syn_frame(),
            eth(0x0800, &ipv4(1, A, B, 2, 0, &icmp(3, 3, &quoted))),
            eth(0x86dd, &ipv6(0, v6addr(1), v6addr(2), &[44, 0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 2, 0, 8, 0, 0])),
            eth(0x86dd, &ipv6(58, v6addr(1), v6addr(2), &icmp(1, 0, &ipv6(6, v6addr(2), v6addr(3), &tcp(1, 2, 2, 0, 0))))),
        ];
        let mut data = frames[which].clone();
        let i = pos.index(data.len());
        data[i] = val;
        let n = cut.index(data.len() + 1);
        let f = Frame { ts_ns: 0, link: LinkType::ETHERNET, data: &data[..n], wire_len: data.len() as u32, offset: 0 };
        let _ = decode(&f);
    }
}
