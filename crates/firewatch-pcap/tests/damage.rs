//! Bad input: each error names the file and the right byte offset, and every frame before the
//! damage has been delivered.

mod common;

use common::*;
use firewatch_pcap::CaptureError;

fn three_records() -> (Vec<u8>, Vec<u64>) {
    let f = syn_frame();
    let bytes = pcap(
        false,
        false,
        1,
        65535,
        &[
            rec(1, 0, f.clone()),
            rec(2, 0, f.clone()),
            rec(3, 0, f.clone()),
        ],
    );
    let step = 16 + f.len() as u64;
    (bytes, vec![24, 24 + step, 24 + 2 * step])
}

fn expect_err(
    name: &str,
    bytes: Vec<u8>,
    frames_before: usize,
    offset: u64,
    words: &str,
) -> CaptureError {
    let (got, r) = read_all(name, bytes);
    let e = r.expect_err("expected damage to be reported");
    assert_eq!(
        got.len(),
        frames_before,
        "frames delivered before the damage: {e}"
    );
    assert_eq!(e.file(), name);
    assert_eq!(e.offset(), offset, "{e}");
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!("{name}: byte {offset}: ")),
        "{msg}"
    );
    assert!(msg.contains(words), "{msg:?} should mention {words:?}");
    e
}

#[test]
fn truncated_file_mid_record() {
    let (bytes, offs) = three_records();
    let cut = bytes[..bytes.len() - 5].to_vec();
    expect_err("cut.pcap", cut.clone(), 2, offs[2], "truncated");
    // Cut inside the record header.
    let cut2 = bytes[..offs[2] as usize + 7].to_vec();
    expect_err("cut2.pcap", cut2, 2, offs[2], "truncated");
    // Same through gzip.
    expect_err("cut.pcap.gz", gzip(&cut), 2, offs[2], "truncated");
    // File header cut.
    expect_err("hdr.pcap", bytes[..10].to_vec(), 0, 0, "header");
}

#[test]
fn wrong_magic() {
    expect_err("junk.pcap", b"GIF89a not a capture".to_vec(), 0, 0, "magic");
    expect_err("junk.pcap.gz", gzip(b"GIF89a not a capture"), 0, 0, "magic");
    expect_err("short.pcap", vec![0xd4, 0xc3], 0, 0, "too short");
}

#[test]
fn empty_file() {
    let e = expect_err("empty.pcap", Vec::new(), 0, 0, "empty");
    assert_eq!(e.to_string(), "empty.pcap: byte 0: file is empty");
    expect_err("empty.pcap.gz", gzip(&[]), 0, 0, "empty");
}

#[test]
fn zero_and_huge_captured_length() {
    for (be, caplen) in [
        (false, 0u32),
        (true, 0),
        (false, 300_000),
        (true, 0x7fff_ffff),
    ] {
        let (mut bytes, offs) = three_records();
        if be {
            // Rebuild big-endian.
            let f = syn_frame();
            bytes = pcap(
                true,
                false,
                1,
                65535,
                &[rec(1, 0, f.clone()), rec(2, 0, f.clone()), rec(3, 0, f)],
            );
        }
        let at = offs[1] as usize + 8;
        let v = if be {
            caplen.to_be_bytes()
        } else {
            caplen.to_le_bytes()
        };
        bytes[at..at + 4].copy_from_slice(&v);
        let words = if caplen == 0 { "zero" } else { "larger than" };
        expect_err("len.pcap", bytes, 1, offs[1], words);
    }
}

#[test]
fn corrupt_gzip_stream() {
    // Use a large enough capture that the corruption is well inside the stream.
    let mut recs = Vec::new();
    for i in 0..5000u32 {
        recs.push(rec(
            i,
            0,
            eth(
                0x0800,
                &ipv4(17, A, B, i as u16, 0, &udp(i as u16, 7, &i.to_le_bytes())),
            ),
        ));
    }
    let raw = pcap(false, false, 1, 65535, &recs);
    let mut gz = gzip(&raw);
    let mid = gz.len() / 2;
    for b in &mut gz[mid..mid + 16] {
        *b ^= 0x5a;
    }
    let (got, r) = read_all("bad.pcap.gz", gz);
    let e = r.expect_err("corruption must be reported");
    assert_eq!(e.file(), "bad.pcap.gz");
    assert!(e.to_string().starts_with("bad.pcap.gz: byte "), "{e}");
    // Deflate carries no per-block check: the damage shows either as a gzip error or as
    // garbage that breaks the capture structure (the CRC only comes at the end). Either way
    // the frames before the damage were delivered intact and in order.
    let intact = got
        .iter()
        .zip(&recs)
        .take_while(|(g, r)| g.data == r.data)
        .count();
    assert!(intact > 100, "only {intact} intact frames before {e}");
    assert!(got.len() < 5000, "{e}");
    let intact_end = 24
        + got[..intact]
            .iter()
            .map(|g| 16 + g.data.len() as u64)
            .sum::<u64>();
    assert!(e.offset() >= intact_end, "{e} vs {intact_end}");
    assert!(e.offset() < raw.len() as u64, "{e}");
    let structural = ["gzip", "captured length", "truncated"];
    assert!(structural.iter().any(|w| e.reason().contains(w)), "{e}");
}

#[test]
fn gzip_cut_short() {
    let (bytes, _) = three_records();
    let gz = gzip(&bytes);
    let (_, r) = read_all("cut.gz", gz[..gz.len() - 12].to_vec());
    let e = r.expect_err("cut gzip must be reported");
    assert_eq!(e.file(), "cut.gz");
}

fn ng_two_packets() -> (Ng, u64) {
    let mut ng = Ng::new();
    ng.shb(false)
        .idb(1, 65535, None)
        .epb(0, 1, &syn_frame(), 54);
    let third_block = ng.out.len() as u64;
    ng.epb(0, 2, &syn_frame(), 54);
    (ng, third_block)
}

#[test]
fn pcapng_bad_block_lengths() {
    let (ng, at) = ng_two_packets();
    let at_us = at as usize;
    // Length 7: shorter than a block header.
    let mut b = ng.bytes();
    b[at_us + 4..at_us + 8].copy_from_slice(&7u32.to_le_bytes());
    let e = expect_err("seven.pcapng", b, 1, at, "shorter than its header");
    assert_eq!(
        e.to_string(),
        format!("seven.pcapng: byte {at}: pcapng block length 7 is shorter than its header")
    );
    // Not a multiple of 4.
    let mut b = ng.bytes();
    b[at_us + 4..at_us + 8].copy_from_slice(&90u32.to_le_bytes());
    expect_err("odd.pcapng", b, 1, at, "multiple of 4");
    // Trailing length mismatch.
    let mut b = ng.bytes();
    let end = b.len();
    b[end - 4..].copy_from_slice(&12u32.to_le_bytes());
    expect_err("trail.pcapng", b, 1, at, "trailing length");
    // Huge.
    let mut b = ng.bytes();
    b[at_us + 4..at_us + 8].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    expect_err("huge.pcapng", b, 1, at, "large");
    // Cut mid-block.
    let b = ng.bytes();
    expect_err("cut.pcapng", b[..b.len() - 10].to_vec(), 1, at, "truncated");
    // Huge captured length inside a block.
    let mut b = ng.bytes();
    b[at_us + 20..at_us + 24].copy_from_slice(&1000u32.to_le_bytes());
    expect_err("cap.pcapng", b, 1, at, "overruns");
}

#[test]
fn pcapng_bad_section_and_interface() {
    // Bad byte-order magic in the first SHB.
    let (ng, at) = ng_two_packets();
    let mut b = ng.bytes();
    b[8] = 0;
    expect_err("bom.pcapng", b, 0, 0, "byte-order magic");
    // Packet for an undeclared interface.
    let mut b = ng.bytes();
    let at_us = at as usize;
    b[at_us + 8..at_us + 12].copy_from_slice(&3u32.to_le_bytes());
    expect_err("if.pcapng", b, 1, at, "interface 3");
    // A second section with a bad byte-order magic.
    let mut ng2 = Ng::new();
    ng2.shb(false)
        .idb(1, 65535, None)
        .epb(0, 1, &syn_frame(), 54);
    let sec2 = ng2.out.len() as u64;
    ng2.shb(true);
    let mut b = ng2.bytes();
    let s = sec2 as usize;
    b[s + 8..s + 12].copy_from_slice(&[9, 9, 9, 9]);
    expect_err("sec2.pcapng", b, 1, sec2, "byte-order magic");
}

#[test]
fn error_is_sticky() {
    let (bytes, offs) = three_records();
    let mut cap = firewatch_pcap::Capture::from_reader(
        "cut.pcap",
        Box::new(std::io::Cursor::new(bytes[..bytes.len() - 5].to_vec())),
    )
    .unwrap();
    let e1 = cap.for_each_frame(|_| {}).unwrap_err();
    let e2 = cap
        .for_each_frame(|_| panic!("no frames after damage"))
        .unwrap_err();
    assert_eq!(e1, e2);
    assert_eq!(e1.offset(), offs[2]);
}

#[test]
fn corrupt_gzip_checksum() {
    let (bytes, _) = three_records();
    let mut gz = gzip(&bytes);
    let crc_at = gz.len() - 8;
    gz[crc_at] ^= 0xff;
    let e = expect_err(
        "crc.pcap.gz",
        gz,
        3,
        bytes.len() as u64,
        "corrupt gzip stream",
    );
    assert!(e.reason().contains("gzip"));
}
