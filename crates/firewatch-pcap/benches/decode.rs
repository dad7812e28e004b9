//! Frame iteration and decode speed.
//!
//! Run with `cargo bench -p firewatch-pcap --bench decode`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::LazyLock;

use divan::counter::ItemsCount;
use divan::{Bencher, black_box};
use firewatch_pcap::{Capture, DecodeCounters, Frame, LinkType, decode};

fn main() {
    divan::main();
}

const FRAMES: usize = 1_000_000;

/// An Ethernet/IPv4/TCP SYN of 54 bytes.
fn syn(i: u32) -> Vec<u8> {
    let mut v = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
    v.extend_from_slice(&[0x45, 0, 0, 40, 0, 1, 0, 0, 57, 6, 0, 0]);
    v.extend_from_slice(&i.to_be_bytes());
    v.extend_from_slice(&[198, 51, 100, 7]);
    v.extend_from_slice(&(i as u16).to_be_bytes());
    v.extend_from_slice(&[0, 23, 0, 0, 0, 7, 0, 0, 0, 0, 0x50, 0x02, 4, 0, 0, 0, 0, 0]);
    v
}

struct Files {
    _dir: tempfile::TempDir,
    pcap: PathBuf,
    pcapng: PathBuf,
}

/// A page-cached pcap and pcapng of `FRAMES` SYN frames.
static FILES: LazyLock<Files> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("tempdir");
    let pcap = dir.path().join("bench.pcap");
    let pcapng = dir.path().join("bench.pcapng");
    let mut a = Vec::with_capacity(FRAMES * 70 + 24);
    a.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    a.extend_from_slice(&[
        2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
    ]);
    let mut b = Vec::with_capacity(FRAMES * 90 + 48);
    let shb: [u32; 7] = [
        0x0A0D_0D0A,
        28,
        0x1A2B_3C4D,
        1,
        0xffff_ffff,
        0xffff_ffff,
        28,
    ];
    for w in shb {
        b.extend_from_slice(&w.to_le_bytes());
    }
    // shb's version field is two u16 (1, 0): the word 1 in little-endian encodes exactly that.
    for w in [1u32, 20, 1, 0xffff, 20] {
        b.extend_from_slice(&w.to_le_bytes());
    }
    for i in 0..FRAMES as u32 {
        let f = syn(i);
        for w in [
            1_700_000_000 + i / 1000,
            i % 1_000_000,
            f.len() as u32,
            f.len() as u32,
        ] {
            a.extend_from_slice(&w.to_le_bytes());
        }
        a.extend_from_slice(&f);
        let padded = f.len().div_ceil(4) * 4;
        let len = (32 + padded) as u32;
        let ts = 1_700_000_000_000_000u64 + u64::from(i);
        for w in [
            6,
            len,
            0,
            (ts >> 32) as u32,
            ts as u32,
            f.len() as u32,
            f.len() as u32,
        ] {
            b.extend_from_slice(&w.to_le_bytes());
        }
        b.extend_from_slice(&f);
        b.resize(b.len() + padded - f.len(), 0);
        b.extend_from_slice(&len.to_le_bytes());
    }
    std::fs::File::create(&pcap)
        .and_then(|mut f| f.write_all(&a))
        .expect("write pcap");
    std::fs::File::create(&pcapng)
        .and_then(|mut f| f.write_all(&b))
        .expect("write pcapng");
    Files {
        _dir: dir,
        pcap,
        pcapng,
    }
});

#[divan::bench(args = ["pcap", "pcapng"])]
fn iterate_frames(bencher: Bencher, kind: &str) {
    let path = if kind == "pcap" {
        &FILES.pcap
    } else {
        &FILES.pcapng
    };
    bencher.counter(ItemsCount::new(FRAMES)).bench(|| {
        let mut cap = Capture::open(path).expect("open");
        let mut n = 0u64;
        cap.for_each_frame(|f| n += f.data.len() as u64)
            .expect("read");
        n
    });
}

#[divan::bench]
fn iterate_and_decode(bencher: Bencher) {
    bencher.counter(ItemsCount::new(FRAMES)).bench(|| {
        let mut cap = Capture::open(&FILES.pcap).expect("open");
        let mut c = DecodeCounters::default();
        let mut ports = 0u64;
        cap.for_each_frame(|f| {
            let o = decode(f);
            if let Ok(p) = &o {
                ports += u64::from(p.sport);
            }
            c.record(&o);
        })
        .expect("read");
        (c, ports)
    });
}

#[divan::bench]
fn decode_eth_ipv4_tcp(bencher: Bencher) {
    let data = syn(0x0a00_0001);
    bencher.bench(|| {
        let frame = Frame {
            ts_ns: 1,
            link: LinkType::ETHERNET,
            data: black_box(&data),
            wire_len: 54,
            offset: 0,
        };
        decode(black_box(&frame))
    });
}

#[divan::bench]
fn decode_real_capture_mix(bencher: Bencher) {
    let dir = std::env::var_os("FIREWATCH_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"))
        });
    let mut frames: Vec<(u32, Vec<u8>, u32)> = Vec::new();
    for name in [
        "amp.TCP.reflection.SYNACK.pcap",
        "amp.UDP.snmp.src161.pcapng",
    ] {
        if let Ok(mut cap) = Capture::open(&dir.join("captures").join(name)) {
            let _ = cap.for_each_frame(|f| frames.push((f.link.0, f.data.to_vec(), f.wire_len)));
        }
    }
    bencher.counter(ItemsCount::new(frames.len())).bench(|| {
        let mut c = DecodeCounters::default();
        for (link, data, wire_len) in &frames {
            let f = Frame {
                ts_ns: 0,
                link: LinkType(*link),
                data,
                wire_len: *wire_len,
                offset: 0,
            };
            c.record(&decode(black_box(&f)));
        }
        c
    });
}
