//! Determinism and capture formats.

use std::fs::File;
use std::io::{BufReader, Read};

use firewatch_synth::{
    GroundTruth, OutputFormat, SynthConfig, generate, pcapng_tsresol, write_capture,
};
use flate2::read::GzDecoder;
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::{Endianness, TsResolution};

fn capture(cfg: &SynthConfig) -> (GroundTruth, Vec<(i64, Vec<u8>)>) {
    let mut v = Vec::new();
    let t = generate(cfg, |ts, f| v.push((ts, f.to_vec())));
    (t, v)
}

#[test]
fn same_seed_same_capture_other_seed_other_capture() {
    let cfg = SynthConfig::with_packets(30_000);
    let (t1, p1) = capture(&cfg);
    let (t2, p2) = capture(&cfg);
    assert_eq!(t1, t2);
    assert!(p1 == p2, "same bytes");
    let (t3, p3) = capture(&SynthConfig { seed: 7, ..cfg });
    assert_ne!(t1.sources, t3.sources);
    assert!(p1 != p3);
    let json = serde_json_roundtrip(&t1);
    assert_eq!(json, t1);
}

fn serde_json_roundtrip(t: &GroundTruth) -> GroundTruth {
    serde_json::from_str(&serde_json::to_string(t).unwrap()).unwrap()
}

fn open(path: &std::path::Path, gz: bool) -> Box<dyn Read> {
    let f = BufReader::new(File::open(path).unwrap());
    if gz {
        Box::new(GzDecoder::new(f))
    } else {
        Box::new(f)
    }
}

#[test]
fn pcap_both_endians_and_resolutions_read_back() {
    let cfg = SynthConfig::with_packets(20_000);
    let (truth, packets) = capture(&cfg);
    let dir = tempfile::tempdir().unwrap();
    for (big_endian, nanosecond, gzip) in [
        (false, false, false),
        (true, true, false),
        (false, true, true),
        (true, false, true),
    ] {
        let path = dir.path().join(format!(
            "c{big_endian}{nanosecond}.pcap{}",
            if gzip { ".gz" } else { "" }
        ));
        let t = write_capture(
            &cfg,
            &path,
            OutputFormat::Pcap {
                big_endian,
                nanosecond,
            },
            gzip,
        )
        .unwrap();
        assert_eq!(t, truth);
        let mut r = PcapReader::new(open(&path, gzip)).unwrap();
        let h = r.header();
        assert_eq!(
            h.endianness,
            if big_endian {
                Endianness::Big
            } else {
                Endianness::Little
            }
        );
        assert_eq!(
            h.ts_resolution,
            if nanosecond {
                TsResolution::NanoSecond
            } else {
                TsResolution::MicroSecond
            }
        );
        let mut n = 0;
        while let Some(p) = r.next_packet() {
            let p = p.unwrap();
            let (ts, data) = &packets[n];
            let want = if nanosecond { *ts } else { ts / 1000 * 1000 };
            assert_eq!(p.timestamp.as_nanos() as i64, want);
            assert_eq!(&p.data[..], &data[..]);
            n += 1;
        }
        assert_eq!(n, packets.len());
    }
}

#[test]
fn pcapng_sections_and_interfaces_read_back() {
    let cfg = SynthConfig::with_packets(20_000);
    let (_, packets) = capture(&cfg);
    let dir = tempfile::tempdir().unwrap();
    for (sections, interfaces, gzip) in [(1u32, 1u32, false), (3, 2, false), (4, 3, true)] {
        let path = dir.path().join(format!("c{sections}{interfaces}.pcapng"));
        write_capture(
            &cfg,
            &path,
            OutputFormat::PcapNg {
                sections,
                interfaces,
            },
            gzip,
        )
        .unwrap();
        let mut r = PcapNgReader::new(open(&path, gzip)).unwrap();
        let (mut shb, mut idb, mut n) = (1u32, 0u32, 0usize);
        let mut per_section = vec![0usize];
        let mut resol = vec![];
        let mut endian = vec![r.section().endianness];
        while let Some(b) = r.next_block() {
            match b.unwrap() {
                Block::SectionHeader(s) => {
                    shb += 1;
                    per_section.push(0);
                    resol.clear();
                    endian.push(s.endianness);
                }
                Block::InterfaceDescription(i) => {
                    idb += 1;
                    let tsresol = i.options.iter().find_map(|o| match o {
                        pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption::IfTsResol(r) => Some(*r),
                        _ => None,
                    });
                    assert_eq!(tsresol, Some(pcapng_tsresol(resol.len() as u32)));
                    resol.push(tsresol.unwrap());
                }
                Block::EnhancedPacket(e) => {
                    let (ts, data) = &packets[n];
                    assert_eq!(e.interface_id as usize, n % interfaces as usize);
                    // pcap-file 2.0 returns the raw counter as nanoseconds; scale by if_tsresol.
                    let raw = e.timestamp.as_nanos() as i64;
                    let got = if resol[e.interface_id as usize] == 9 {
                        raw
                    } else {
                        raw * 1000
                    };
                    let want = if resol[e.interface_id as usize] == 9 {
                        *ts
                    } else {
                        ts / 1000 * 1000
                    };
                    assert_eq!(got, want);
                    assert_eq!(&e.data[..], &data[..]);
                    *per_section.last_mut().unwrap() += 1;
                    n += 1;
                }
                other => panic!("unexpected block {other:?}"),
            }
        }
        assert_eq!(n, packets.len());
        assert_eq!(shb, sections);
        assert_eq!(idb, sections * interfaces);
        if sections > 1 {
            assert!(endian.contains(&Endianness::Big) && endian.contains(&Endianness::Little));
            for (k, c) in per_section.iter().enumerate() {
                let k = k as u64;
                let (n, s) = (n as u64, u64::from(sections));
                let want = ((k + 1) * n).div_ceil(s) - (k * n).div_ceil(s);
                assert_eq!(
                    *c as u64, want,
                    "section {k} holds 1/{sections} of the packets"
                );
            }
        }
    }
}
