//! Hand-built captures: byte orders, resolutions, pcapng sections and interfaces, gzip.

mod common;

use common::*;
use firewatch_pcap::{Capture, Container, LinkType};

#[test]
fn pcap_all_four_magics() {
    for big_endian in [false, true] {
        for nano in [false, true] {
            let frac = if nano { 123_456_789 } else { 123_456 };
            let bytes = pcap(
                big_endian,
                nano,
                1,
                65535,
                &[
                    rec(1_700_000_000, frac, syn_frame()),
                    rec(1_700_000_001, 0, syn_frame()),
                ],
            );
            let cap = Capture::from_reader("t.pcap", Box::new(std::io::Cursor::new(bytes.clone())))
                .unwrap();
            let f = cap.format();
            assert_eq!(f.container, Container::Pcap);
            assert_eq!(f.big_endian, big_endian);
            assert_eq!(f.nanosecond, nano);
            assert_eq!(f.link, Some(LinkType::ETHERNET));
            assert_eq!(f.snaplen, 65535);
            assert!(!f.gzip);
            assert!(f.to_string().starts_with("pcap ("), "{f}");

            let (got, r) = read_all("t.pcap", bytes.clone());
            assert_eq!(r.unwrap(), 2);
            let want_ns = 1_700_000_000_000_000_000 + if nano { 123_456_789 } else { 123_456_000 };
            assert_eq!(got[0].ts_ns, want_ns);
            assert_eq!(got[1].ts_ns, 1_700_000_001_000_000_000);
            assert_eq!(got[0].offset, 24);
            assert_eq!(got[1].offset, 24 + 16 + syn_frame().len() as u64);
            let p = got[0].facts.unwrap();
            assert_eq!(
                (p.sport, p.dport, p.tcp_flags, p.tcp_seq),
                (40000, 23, 0x02, 7)
            );
            assert_eq!(p.ts_ns, want_ns);

            // Same through gzip.
            let (gz_got, r) = read_all("t.pcap.gz", gzip(&bytes));
            assert_eq!(r.unwrap(), 2);
            assert_eq!(gz_got[0].facts, got[0].facts);
            assert_eq!(gz_got[1].offset, got[1].offset);
        }
    }
}

#[test]
fn pcap_link_type_upper_bits_are_ignored() {
    // FCS-length bits in the upper part of the link type field.
    let bytes = pcap(false, false, 0x1000_0001, 65535, &[rec(1, 0, syn_frame())]);
    let (got, r) = read_all("fcs.pcap", bytes);
    assert_eq!(r.unwrap(), 1);
    assert_eq!(got[0].link, 1);
    assert!(got[0].facts.is_ok());
}

#[test]
fn pcapng_two_sections_two_interfaces_each() {
    let raw4 = ipv4(17, A, B, 9, 0, &udp(53, 999, b"x"));
    let raw6 = ipv6(6, v6addr(1), v6addr(2), &tcp(1, 2, 0x12, 3, 4));
    let mut ng = Ng::new();
    // Section 1, little-endian: Ethernet at microseconds (default), raw at nanoseconds.
    ng.shb(false)
        .idb(1, 65535, None)
        .idb(101, 65535, Some(9))
        .epb(
            0,
            1_600_000_000_000_001,
            &syn_frame(),
            syn_frame().len() as u32,
        )
        .block(0x0000_0BAD, b"custom block to skip")
        .epb(1, 1_600_000_000_000_000_002, &raw4, raw4.len() as u32);
    let sec2 = ng.out.len() as u64;
    // Section 2, big-endian: interface numbering restarts; SLL2 at ms, IPv6 raw at 2^-10 s.
    let mut sll2 = vec![
        0x86, 0xdd, 0, 0, 0, 0, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    sll2.extend_from_slice(&raw6);
    ng.shb(true)
        .idb(276, 65535, Some(3))
        .idb(229, 65535, Some(0x80 | 10))
        .epb(0, 1_600_000_000_123, &sll2, sll2.len() as u32)
        .epb(1, 1024 * 5 + 512, &raw6, raw6.len() as u32);
    let third_epb_offset = sec2 + 28 + 32 + 32;
    let bytes = ng.bytes();

    let cap =
        Capture::from_reader("t.pcapng", Box::new(std::io::Cursor::new(bytes.clone()))).unwrap();
    assert_eq!(cap.format().container, Container::PcapNg);
    assert!(!cap.format().big_endian);
    assert_eq!(cap.format().to_string(), "pcapng (little-endian)");

    let (got, r) = read_all("t.pcapng", bytes.clone());
    assert_eq!(r.unwrap(), 4);
    assert_eq!(
        got.iter().map(|g| g.link).collect::<Vec<_>>(),
        vec![1, 101, 276, 229]
    );
    assert_eq!(got[0].ts_ns, 1_600_000_000_000_001_000);
    assert_eq!(got[1].ts_ns, 1_600_000_000_000_000_002);
    assert_eq!(got[2].ts_ns, 1_600_000_000_123_000_000);
    assert_eq!(got[3].ts_ns, 5_500_000_000);
    assert_eq!(got[0].offset, 28 + 20 + 32);
    assert_eq!(got[2].offset, third_epb_offset);
    assert_eq!(got[1].facts.unwrap().sport, 53);
    let p = got[2].facts.unwrap();
    assert_eq!((p.proto, p.sport, p.dport, p.tcp_flags), (6, 1, 2, 0x12));
    assert_eq!(got[3].facts.unwrap(), {
        let mut q = p;
        q.ts_ns = 5_500_000_000;
        q.wire_len = raw6.len() as u32;
        q
    });

    let (gz, r) = read_all("t.pcapng.gz", gzip(&bytes));
    assert_eq!(r.unwrap(), 4);
    assert_eq!(gz[2].offset, third_epb_offset);
}

#[test]
fn pcapng_big_endian_first_and_simple_packet_blocks() {
    let mut ng = Ng::new();
    ng.shb(true).idb(1, 40, None).spb(&syn_frame());
    let bytes = ng.bytes();
    let cap =
        Capture::from_reader("spb.pcapng", Box::new(std::io::Cursor::new(bytes.clone()))).unwrap();
    assert!(cap.format().big_endian);
    let (got, r) = read_all("spb.pcapng", bytes);
    assert_eq!(r.unwrap(), 1);
    // Captured length limited by the interface snaplen.
    assert_eq!(got[0].data.len(), 40);
    assert_eq!(got[0].wire_len, syn_frame().len() as u32);
    let p = got[0].facts.unwrap();
    assert!(p.truncated);
    assert_eq!(p.sport, 40000);
}

#[test]
fn empty_capture_with_only_a_header_has_no_frames() {
    let (got, r) = read_all("h.pcap", pcap(false, false, 1, 65535, &[]));
    assert_eq!(r.unwrap(), 0);
    assert!(got.is_empty());
    let mut ng = Ng::new();
    ng.shb(false);
    let (got, r) = read_all("h.pcapng", ng.bytes());
    assert_eq!(r.unwrap(), 0);
    assert!(got.is_empty());
}

#[test]
fn large_capture_crosses_buffer_boundaries() {
    // Enough records of varying size to cross the 1 MiB buffer several times.
    let mut recs = Vec::new();
    for i in 0..40_000u32 {
        let pad = vec![0u8; (i % 97) as usize];
        let pkt = eth(
            0x0800,
            &ipv4(17, A, B, i as u16, 0, &udp(i as u16, 7, &pad)),
        );
        recs.push(rec(i, 0, pkt));
    }
    let bytes = pcap(false, false, 1, 65535, &recs);
    let (got, r) = read_all("big.pcap", bytes.clone());
    assert_eq!(r.unwrap(), 40_000);
    for (i, g) in got.iter().enumerate() {
        assert_eq!(g.facts.unwrap().sport, i as u16);
    }
    let (gz, r) = read_all("big.pcap.gz", gzip(&bytes));
    assert_eq!(r.unwrap(), 40_000);
    assert_eq!(gz.last().unwrap().offset, got.last().unwrap().offset);
}

#[test]
fn open_reads_files_and_reports_missing_ones() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.pcap");
    std::fs::write(&p, pcap(false, false, 1, 65535, &[rec(1, 0, syn_frame())])).unwrap();
    let mut cap = Capture::open(&p).unwrap();
    let stats = cap.for_each_frame(|_| {}).unwrap();
    assert_eq!(stats.frames, 1);
    assert_eq!(stats.bytes, syn_frame().len() as u64);
    // A second call finds nothing more.
    assert_eq!(cap.for_each_frame(|_| {}).unwrap().frames, 0);

    let missing = dir.path().join("missing.pcap");
    let e = Capture::open(&missing).unwrap_err();
    assert!(e.file().ends_with("missing.pcap"));
    assert_eq!(e.offset(), 0);
}
