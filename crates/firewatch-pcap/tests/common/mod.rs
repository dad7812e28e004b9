//! Hand-built captures and packets for tests.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;

use firewatch_pcap::{Capture, CaptureError, PacketFacts, Undecodable, decode};

/// Where the shared sample data lives.
pub fn shared_data() -> PathBuf {
    match std::env::var_os("FIREWATCH_SHARED_DATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data")),
    }
}

/// One decoded frame, owned.
#[derive(Debug, Clone)]
pub struct Got {
    pub ts_ns: i64,
    pub link: u32,
    pub data: Vec<u8>,
    pub wire_len: u32,
    pub offset: u64,
    pub facts: Result<PacketFacts, Undecodable>,
}

/// Reads every frame of `bytes`; returns the frames delivered and the final result.
pub fn read_all(name: &str, bytes: Vec<u8>) -> (Vec<Got>, Result<u64, CaptureError>) {
    let mut got = Vec::new();
    let mut cap = match Capture::from_reader(name, Box::new(std::io::Cursor::new(bytes))) {
        Ok(c) => c,
        Err(e) => return (got, Err(e)),
    };
    let r = cap.for_each_frame(|f| {
        got.push(Got {
            ts_ns: f.ts_ns,
            link: f.link.0,
            data: f.data.to_vec(),
            wire_len: f.wire_len,
            offset: f.offset,
            facts: decode(f),
        })
    });
    (got, r.map(|s| s.frames))
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// A classic pcap file.
pub fn pcap(big_endian: bool, nano: bool, link: u32, snaplen: u32, recs: &[Rec]) -> Vec<u8> {
    let magic: u32 = if nano { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
    let mut out = Vec::new();
    let w32 = |out: &mut Vec<u8>, v: u32| {
        if big_endian {
            out.extend_from_slice(&v.to_be_bytes())
        } else {
            out.extend_from_slice(&v.to_le_bytes())
        }
    };
    let w16 = |out: &mut Vec<u8>, v: u16| {
        if big_endian {
            out.extend_from_slice(&v.to_be_bytes())
        } else {
            out.extend_from_slice(&v.to_le_bytes())
        }
    };
    w32(&mut out, magic);
    w16(&mut out, 2);
    w16(&mut out, 4);
    w32(&mut out, 0);
    w32(&mut out, 0);
    w32(&mut out, snaplen);
    w32(&mut out, link);
    for r in recs {
        w32(&mut out, r.sec);
        w32(&mut out, r.frac);
        w32(&mut out, r.data.len() as u32);
        w32(&mut out, r.wire_len);
        out.extend_from_slice(&r.data);
    }
    out
}

/// One pcap record.
#[derive(Clone)]
pub struct Rec {
    pub sec: u32,
    pub frac: u32,
    pub data: Vec<u8>,
    pub wire_len: u32,
}

pub fn rec(sec: u32, frac: u32, data: Vec<u8>) -> Rec {
    let wire_len = data.len() as u32;
    Rec {
        sec,
        frac,
        data,
        wire_len,
    }
}

/// A pcapng writer.
pub struct Ng {
    pub out: Vec<u8>,
    be: bool,
}

impl Ng {
    pub fn new() -> Ng {
        Ng {
            out: Vec::new(),
            be: false,
        }
    }

    fn w32(&mut self, v: u32) {
        if self.be {
            self.out.extend_from_slice(&v.to_be_bytes())
        } else {
            self.out.extend_from_slice(&v.to_le_bytes())
        }
    }

    fn w16(&mut self, v: u16) {
        if self.be {
            self.out.extend_from_slice(&v.to_be_bytes())
        } else {
            self.out.extend_from_slice(&v.to_le_bytes())
        }
    }

    /// A generic block with a body (padded to 4).
    pub fn block(&mut self, btype: u32, body: &[u8]) -> &mut Self {
        let padded = body.len().div_ceil(4) * 4;
        let len = 12 + padded as u32;
        self.w32(btype);
        self.w32(len);
        self.out.extend_from_slice(body);
        self.out.resize(self.out.len() + padded - body.len(), 0);
        self.w32(len);
        self
    }

    pub fn shb(&mut self, big_endian: bool) -> &mut Self {
        self.be = big_endian;
        self.w32(0x0A0D_0D0A);
        self.w32(28);
        self.w32(0x1A2B_3C4D);
        self.w16(1);
        self.w16(0);
        self.w32(0xffff_ffff);
        self.w32(0xffff_ffff);
        self.w32(28);
        self
    }

    pub fn idb(&mut self, link: u16, snaplen: u32, tsresol: Option<u8>) -> &mut Self {
        let mut body = Vec::new();
        let e16 = |v: u16, be: bool| if be { v.to_be_bytes() } else { v.to_le_bytes() };
        let e32 = |v: u32, be: bool| if be { v.to_be_bytes() } else { v.to_le_bytes() };
        body.extend_from_slice(&e16(link, self.be));
        body.extend_from_slice(&e16(0, self.be));
        body.extend_from_slice(&e32(snaplen, self.be));
        if let Some(r) = tsresol {
            body.extend_from_slice(&e16(9, self.be));
            body.extend_from_slice(&e16(1, self.be));
            body.extend_from_slice(&[r, 0, 0, 0]);
            body.extend_from_slice(&e16(0, self.be));
            body.extend_from_slice(&e16(0, self.be));
        }
        self.block(1, &body)
    }

    pub fn epb(&mut self, if_id: u32, ts: u64, data: &[u8], wire_len: u32) -> &mut Self {
        let be = self.be;
        let e32 = |v: u32| if be { v.to_be_bytes() } else { v.to_le_bytes() };
        let mut body = Vec::new();
        body.extend_from_slice(&e32(if_id));
        body.extend_from_slice(&e32((ts >> 32) as u32));
        body.extend_from_slice(&e32(ts as u32));
        body.extend_from_slice(&e32(data.len() as u32));
        body.extend_from_slice(&e32(wire_len));
        body.extend_from_slice(data);
        self.block(6, &body)
    }

    pub fn spb(&mut self, data: &[u8]) -> &mut Self {
        let be = self.be;
        let mut body = Vec::new();
        let l = data.len() as u32;
        body.extend_from_slice(&if be { l.to_be_bytes() } else { l.to_le_bytes() });
        body.extend_from_slice(data);
        self.block(3, &body)
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.out.clone()
    }
}

// ---- packets ----

pub fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
    v.extend_from_slice(&ethertype.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

pub fn eth_tagged(tags: &[u16], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
    for (i, t) in tags.iter().enumerate() {
        v.extend_from_slice(&t.to_be_bytes());
        v.extend_from_slice(&(100 + i as u16).to_be_bytes());
    }
    v.extend_from_slice(&ethertype.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// IPv4 header + payload. `frag` is the raw flags+offset field.
pub fn ipv4(proto: u8, src: [u8; 4], dst: [u8; 4], id: u16, frag: u16, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut v = vec![0x45, 0];
    v.extend_from_slice(&total.to_be_bytes());
    v.extend_from_slice(&id.to_be_bytes());
    v.extend_from_slice(&frag.to_be_bytes());
    v.push(57);
    v.push(proto);
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&src);
    v.extend_from_slice(&dst);
    v.extend_from_slice(payload);
    v
}

/// IPv6 header + payload (payload includes any extension headers).
pub fn ipv6(next: u8, src: [u8; 16], dst: [u8; 16], payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x60, 0, 0, 0];
    v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    v.push(next);
    v.push(33);
    v.extend_from_slice(&src);
    v.extend_from_slice(&dst);
    v.extend_from_slice(payload);
    v
}

pub fn tcp(sport: u16, dport: u16, flags: u8, seq: u32, window: u16) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&0u32.to_be_bytes());
    v.push(5 << 4);
    v.push(flags);
    v.extend_from_slice(&window.to_be_bytes());
    v.extend_from_slice(&[0, 0, 0, 0]);
    v
}

pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(payload);
    v
}

pub fn icmp(ty: u8, code: u8, rest: &[u8]) -> Vec<u8> {
    let mut v = vec![ty, code, 0, 0, 0, 0, 0, 0];
    v.extend_from_slice(rest);
    v
}

pub const A: [u8; 4] = [192, 0, 2, 1];
pub const B: [u8; 4] = [198, 51, 100, 7];

pub fn v6addr(last: u8) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[0] = 0x20;
    a[1] = 0x01;
    a[2] = 0x0d;
    a[3] = 0xb8;
    a[15] = last;
    a
}

/// A small valid Ethernet/IPv4/TCP SYN frame.
pub fn syn_frame() -> Vec<u8> {
    eth(0x0800, &ipv4(6, A, B, 1, 0, &tcp(40000, 23, 0x02, 7, 1024)))
}
