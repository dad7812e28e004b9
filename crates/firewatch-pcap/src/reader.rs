//! Capture reading: gzip, pcap and pcapng, detected by magic bytes.
//!
//! The reader keeps one large buffer and parses records in place, so delivering a frame costs
//! no allocation and no copy. Every record's byte offset is tracked for error messages.

use std::fmt;
use std::io::{self, Cursor, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::error::CaptureError;

/// Initial size of the read buffer; it grows if one record is larger.
const BUF_SIZE: usize = 1 << 20;
/// Largest captured length accepted for one packet (256 KiB, the libpcap maximum snaplen).
pub const MAX_CAPLEN: u32 = 256 * 1024;
/// Largest pcapng block accepted (packet blocks are further limited by [`MAX_CAPLEN`]).
const MAX_BLOCK_LEN: u32 = 16 * 1024 * 1024;

const PCAPNG_SHB: u32 = 0x0A0D_0D0A;
const PCAPNG_IDB: u32 = 1;
const PCAPNG_OPB: u32 = 2;
const PCAPNG_SPB: u32 = 3;
const PCAPNG_EPB: u32 = 6;
const PCAPNG_BOM: u32 = 0x1A2B_3C4D;

/// A link-layer header type: a `LINKTYPE_*` value as registered by tcpdump.org.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback (`DLT_NULL`): 4-byte address family in the capturing host's byte order.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II, with optional 802.1Q / QinQ tags.
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IP (`DLT_RAW` as found on some BSDs).
    pub const RAW_12: LinkType = LinkType(12);
    /// Raw IP (`DLT_RAW` as found on others).
    pub const RAW_14: LinkType = LinkType(14);
    /// Raw IP (`LINKTYPE_RAW`).
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback (`DLT_LOOP`): 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1 (16-byte header).
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux cooked capture v2 (20-byte header).
    pub const LINUX_SLL2: LinkType = LinkType(276);
}

/// One captured frame, borrowed from the reader's buffer.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Capture timestamp, nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// Link-layer header type of the interface the frame was captured on.
    pub link: LinkType,
    /// The captured bytes (possibly fewer than `wire_len`).
    pub data: &'a [u8],
    /// Original length of the packet on the wire.
    pub wire_len: u32,
    /// Byte offset of this record in the (decompressed) stream.
    pub offset: u64,
}

/// Counts of what [`Capture::for_each_frame`] delivered.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FrameStats {
    /// Frames delivered.
    pub frames: u64,
    /// Captured bytes delivered (sum of `data.len()`).
    pub bytes: u64,
}

/// The container format of a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// Classic libpcap format.
    Pcap,
    /// pcapng (byte order and resolution may change per section / interface).
    PcapNg,
}

/// What [`Capture::open`] detected from the magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureFormat {
    /// pcap or pcapng.
    pub container: Container,
    /// Big-endian file (for pcapng: of the first section).
    pub big_endian: bool,
    /// Nanosecond timestamps (pcap only; pcapng resolution is per interface).
    pub nanosecond: bool,
    /// The stream was gzip-compressed.
    pub gzip: bool,
    /// Link type from the pcap header (`None` for pcapng, where each interface has its own).
    pub link: Option<LinkType>,
    /// Snapshot length from the pcap header (0 for pcapng).
    pub snaplen: u32,
}

impl fmt::Display for CaptureFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let order = if self.big_endian {
            "big-endian"
        } else {
            "little-endian"
        };
        match self.container {
            Container::Pcap => {
                let res = if self.nanosecond {
                    "nanosecond"
                } else {
                    "microsecond"
                };
                write!(f, "pcap ({order}, {res}")?;
                if let Some(link) = self.link {
                    write!(f, ", linktype {}", link.0)?;
                }
                write!(f, ")")?;
            }
            Container::PcapNg => write!(f, "pcapng ({order})")?,
        }
        if self.gzip {
            write!(f, ", gzip")?;
        }
        Ok(())
    }
}

/// How to turn an interface's raw timestamp units into nanoseconds.
#[derive(Debug, Clone, Copy)]
enum TsScale {
    /// Multiply by this (resolution divides 10^9).
    Mul(u64),
    /// General case: units per second.
    Div(u64),
}

impl TsScale {
    fn from_units_per_sec(units: u64) -> TsScale {
        if units != 0 && units <= 1_000_000_000 && 1_000_000_000 % units == 0 {
            TsScale::Mul(1_000_000_000 / units)
        } else {
            TsScale::Div(units.max(1))
        }
    }

    #[inline(always)]
    fn to_ns(self, ts: u64, offset_s: i64) -> i64 {
        if let (TsScale::Mul(k), 0) = (self, offset_s)
            && let Some(ns) = ts.checked_mul(k).filter(|&n| n <= i64::MAX as u64)
        {
            return ns as i64;
        }
        let ns: i128 = match self {
            TsScale::Mul(k) => i128::from(ts) * i128::from(k),
            TsScale::Div(u) => i128::from(ts) * 1_000_000_000 / i128::from(u),
        };
        let total = ns + i128::from(offset_s) * 1_000_000_000;
        total.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }
}

/// Decodes `if_tsresol` into units per second (10^n, or 2^n if the top bit is set).
///
/// Done here rather than with `pcap_parser`'s helper, which rejects every power-of-two value.
fn units_per_second(tsresol: u8) -> Option<u64> {
    let n = u32::from(tsresol & 0x7f);
    if tsresol & 0x80 == 0 {
        10u64.checked_pow(n)
    } else {
        1u64.checked_shl(n).filter(|_| n < 64)
    }
}

/// One pcapng interface (from an IDB).
#[derive(Debug, Clone, Copy)]
struct Interface {
    link: LinkType,
    snaplen: u32,
    scale: TsScale,
    offset_s: i64,
}

#[derive(Debug)]
enum State {
    Pcap {
        big_endian: bool,
        nano: bool,
        link: LinkType,
    },
    PcapNg,
}

/// A capture being read: a pcap or pcapng stream, possibly gzip-compressed.
pub struct Capture {
    name: String,
    input: Box<dyn Read + Send>,
    gzip: bool,
    buf: Vec<u8>,
    /// Start of unparsed bytes in `buf`.
    pos: usize,
    /// End of valid bytes in `buf`.
    end: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    eof: bool,
    state: State,
    /// pcapng: byte order of the current section.
    ng_be: bool,
    /// pcapng: interfaces of the current section.
    ifaces: Vec<Interface>,
    format: CaptureFormat,
    failed: Option<CaptureError>,
}

impl fmt::Debug for Capture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Capture")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("offset", &(self.base + self.pos as u64))
            .finish_non_exhaustive()
    }
}

#[inline(always)]
fn rd32(d: &[u8], at: usize, be: bool) -> u32 {
    let b = [d[at], d[at + 1], d[at + 2], d[at + 3]];
    if be {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }
}

#[inline(always)]
fn rd16(d: &[u8], at: usize, be: bool) -> u16 {
    let b = [d[at], d[at + 1]];
    if be {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    }
}

impl Capture {
    /// Opens a capture file; `"-"` means standard input.
    ///
    /// Detects gzip by its magic bytes (`1f 8b`; multi-member streams are fine), then pcap (all
    /// four magics: both byte orders, micro- or nanosecond) or pcapng — never by file name.
    pub fn open(path: &Path) -> Result<Capture, CaptureError> {
        let name = path.display().to_string();
        if path.as_os_str() == "-" {
            return Capture::from_reader(name, Box::new(io::stdin()));
        }
        let file = std::fs::File::open(path)
            .map_err(|e| CaptureError::new(name.clone(), 0, format!("cannot open: {e}")))?;
        Capture::from_reader(name, Box::new(file))
    }

    /// Same as [`Capture::open`], from any reader; `name` is used in error messages.
    pub fn from_reader(
        name: impl Into<String>,
        reader: Box<dyn Read + Send>,
    ) -> Result<Capture, CaptureError> {
        let mut cap = Capture {
            name: name.into(),
            input: reader,
            gzip: false,
            buf: vec![0; BUF_SIZE],
            pos: 0,
            end: 0,
            base: 0,
            eof: false,
            state: State::Pcap {
                big_endian: false,
                nano: false,
                link: LinkType(0),
            },
            format: CaptureFormat {
                container: Container::Pcap,
                big_endian: false,
                nanosecond: false,
                gzip: false,
                link: None,
                snaplen: 0,
            },
            failed: None,
            ng_be: false,
            ifaces: Vec::new(),
        };
        cap.fill(2)?;
        if cap.end >= 2 && cap.buf[0] == 0x1f && cap.buf[1] == 0x8b {
            // Re-wrap: the bytes already read go first, then the rest of the raw stream.
            let head = cap.buf[..cap.end].to_vec();
            let raw = std::mem::replace(&mut cap.input, Box::new(io::empty()));
            cap.input = Box::new(MultiGzDecoder::new(Cursor::new(head).chain(raw)));
            cap.gzip = true;
            cap.end = 0;
            cap.eof = false;
        }
        cap.read_file_header()?;
        Ok(cap)
    }

    /// Describes what was detected: pcap or pcapng, byte order, resolution, gzip.
    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// The name used in error messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn err(&self, offset: u64, reason: impl Into<String>) -> CaptureError {
        CaptureError::new(self.name.clone(), offset, reason)
    }

    /// Ensures at least `need` unparsed bytes are buffered. Returns `Ok(false)` if the stream
    /// ended first (whatever was there stays buffered).
    fn fill(&mut self, need: usize) -> Result<bool, CaptureError> {
        if self.end - self.pos >= need {
            return Ok(true);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
        }
        if need > self.buf.len() {
            self.buf.resize(need.max(BUF_SIZE), 0);
        }
        while self.end < need && !self.eof {
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let at = self.base + self.end as u64;
                    let why = if self.gzip {
                        format!("corrupt gzip stream: {e}")
                    } else {
                        format!("read error: {e}")
                    };
                    return Err(self.err(at, why));
                }
            }
        }
        Ok(self.end >= need)
    }

    fn read_file_header(&mut self) -> Result<(), CaptureError> {
        let z = if self.gzip {
            " (after gzip decompression)"
        } else {
            ""
        };
        if !self.fill(4)? {
            let why = if self.end == 0 {
                format!("file is empty{z}")
            } else {
                format!(
                    "file is too short ({} bytes) for a capture header{z}",
                    self.end
                )
            };
            return Err(self.err(0, why));
        }
        let magic = rd32(&self.buf, 0, false);
        match magic {
            0xa1b2_c3d4 | 0xa1b2_3c4d | 0xd4c3_b2a1 | 0x4d3c_b2a1 => {
                if !self.fill(24)? {
                    return Err(self.err(
                        0,
                        format!("pcap file header cut short ({} of 24 bytes)", self.end),
                    ));
                }
                let hdr = match pcap_parser::parse_pcap_header(&self.buf[..24]) {
                    Ok((_, h)) => h,
                    Err(e) => return Err(self.err(0, format!("bad pcap file header: {e:?}"))),
                };
                let big_endian = hdr.is_bigendian();
                let nano = hdr.is_nanosecond_precision();
                // The upper bits may carry FCS information; the link type is the low 16 bits.
                let link = LinkType((hdr.network.0 as u32) & 0xffff);
                self.state = State::Pcap {
                    big_endian,
                    nano,
                    link,
                };
                self.format = CaptureFormat {
                    container: Container::Pcap,
                    big_endian,
                    nanosecond: nano,
                    gzip: self.gzip,
                    link: Some(link),
                    snaplen: hdr.snaplen,
                };
                self.pos = 24;
                Ok(())
            }
            PCAPNG_SHB => {
                self.state = State::PcapNg;
                self.read_shb()?;
                let big_endian = self.ng_be;
                self.format = CaptureFormat {
                    container: Container::PcapNg,
                    big_endian,
                    nanosecond: false,
                    gzip: self.gzip,
                    link: None,
                    snaplen: 0,
                };
                Ok(())
            }
            0xa1b2_cd34 | 0x34cd_b2a1 => Err(self.err(
                0,
                "modified (Kuznetsov) pcap format is not supported".to_string(),
            )),
            _ => {
                let b = &self.buf[..4];
                Err(self.err(
                    0,
                    format!(
                        "unknown magic {:02x} {:02x} {:02x} {:02x}{z}: not pcap, pcapng or gzip",
                        b[0], b[1], b[2], b[3]
                    ),
                ))
            }
        }
    }

    /// Reads a Section Header Block at `pos`, switching byte order and resetting interfaces.
    fn read_shb(&mut self) -> Result<(), CaptureError> {
        let at = self.base + self.pos as u64;
        if !self.fill(12)? {
            return Err(self.err(at, "pcapng section header block cut short"));
        }
        let p = self.pos;
        let bom_le = rd32(&self.buf, p + 8, false);
        let big_endian = match bom_le {
            PCAPNG_BOM => false,
            0x4D3C_2B1A => true,
            other => {
                return Err(self.err(
                    at,
                    format!("pcapng section header has bad byte-order magic 0x{other:08x}"),
                ));
            }
        };
        let len = rd32(&self.buf, p + 4, big_endian);
        if len < 28 {
            return Err(self.err(
                at,
                format!("pcapng block length {len} is shorter than a section header (28)"),
            ));
        }
        self.check_block_len(at, len)?;
        self.block(at, len, big_endian)?;
        let block = &self.buf[self.pos..self.pos + len as usize];
        let parsed = if big_endian {
            pcap_parser::pcapng::parse_sectionheaderblock_be(block)
        } else {
            pcap_parser::pcapng::parse_sectionheaderblock_le(block)
        };
        if let Err(e) = parsed {
            return Err(self.err(at, format!("malformed pcapng section header block: {e:?}")));
        }
        self.ng_be = big_endian;
        self.ifaces.clear();
        self.pos += len as usize;
        Ok(())
    }

    fn check_block_len(&self, at: u64, len: u32) -> Result<(), CaptureError> {
        if len < 12 {
            return Err(self.err(
                at,
                format!("pcapng block length {len} is shorter than its header"),
            ));
        }
        if !len.is_multiple_of(4) {
            return Err(self.err(
                at,
                format!("pcapng block length {len} is not a multiple of 4"),
            ));
        }
        if len > MAX_BLOCK_LEN {
            return Err(self.err(
                at,
                format!("pcapng block length {len} is implausibly large (over {MAX_BLOCK_LEN})"),
            ));
        }
        Ok(())
    }

    /// Buffers a whole block of `len` bytes at `pos` and checks its trailing length.
    fn block(&mut self, at: u64, len: u32, be: bool) -> Result<(), CaptureError> {
        let n = len as usize;
        if !self.fill(n)? {
            return Err(self.err(
                at,
                format!(
                    "truncated file: pcapng block of {len} bytes, only {} remain",
                    self.end - self.pos
                ),
            ));
        }
        let trailer = rd32(&self.buf, self.pos + n - 4, be);
        if trailer != len {
            return Err(self.err(
                at,
                format!("pcapng block length {len} does not match trailing length {trailer}"),
            ));
        }
        Ok(())
    }

    /// Calls `on_frame` for every frame, in order.
    ///
    /// On damage (truncated file, bad block length, zero or huge captured length, corrupt gzip,
    /// ...) stops and returns an error naming the file and byte offset; every frame before the
    /// damage has been delivered by then. Calling again after the end returns empty stats; after
    /// an error, returns the same error.
    ///
    /// In legacy pcap a captured length of zero or above [`MAX_CAPLEN`] is treated as damage
    /// (it almost always means the reader is out of step with the records). Deflate has no
    /// per-block check, so a corrupt gzip stream may first show as garbage that breaks the
    /// capture structure rather than as a gzip error; frames decoded from such garbage before
    /// the error can have been delivered.
    pub fn for_each_frame(
        &mut self,
        mut on_frame: impl FnMut(&Frame<'_>),
    ) -> Result<FrameStats, CaptureError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let mut stats = FrameStats::default();
        let res = match self.state {
            State::Pcap {
                big_endian: false,
                nano,
                link,
            } => self.run_pcap::<false>(nano, link, &mut stats, &mut on_frame),
            State::Pcap {
                big_endian: true,
                nano,
                link,
            } => self.run_pcap::<true>(nano, link, &mut stats, &mut on_frame),
            State::PcapNg => self.run_pcapng(&mut stats, &mut on_frame),
        };
        match res {
            Ok(()) => Ok(stats),
            Err(e) => {
                self.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    fn run_pcap<const BE: bool>(
        &mut self,
        nano: bool,
        link: LinkType,
        stats: &mut FrameStats,
        on_frame: &mut impl FnMut(&Frame<'_>),
    ) -> Result<(), CaptureError> {
        let frac_mul: i64 = if nano { 1 } else { 1000 };
        loop {
            let avail = self.end - self.pos;
            if avail < 16 {
                if !self.fill(16)? {
                    if self.end == self.pos {
                        return Ok(());
                    }
                    let at = self.base + self.pos as u64;
                    return Err(self.err(
                        at,
                        format!(
                            "truncated file: record header cut short ({} of 16 bytes)",
                            self.end - self.pos
                        ),
                    ));
                }
                continue;
            }
            let p = self.pos;
            let h = &self.buf[p..p + 16];
            let caplen = rd32(h, 8, BE);
            if caplen == 0 || caplen > MAX_CAPLEN {
                let at = self.base + p as u64;
                return Err(self.err(
                    at,
                    format!(
                        "pcap record captured length {caplen} is {}",
                        if caplen == 0 {
                            "zero".to_string()
                        } else {
                            format!("larger than {MAX_CAPLEN}")
                        }
                    ),
                ));
            }
            let total = 16 + caplen as usize;
            if avail < total {
                if !self.fill(total)? {
                    let at = self.base + self.pos as u64;
                    return Err(self.err(
                        at,
                        format!(
                            "truncated file: record of {caplen} captured bytes, only {} remain",
                            self.end - self.pos - 16
                        ),
                    ));
                }
                continue;
            }
            let sec = rd32(h, 0, BE);
            let frac = rd32(h, 4, BE);
            let wire_len = rd32(h, 12, BE);
            let frame = Frame {
                ts_ns: i64::from(sec) * 1_000_000_000 + i64::from(frac) * frac_mul,
                link,
                data: &self.buf[p + 16..p + total],
                wire_len,
                offset: self.base + p as u64,
            };
            on_frame(&frame);
            stats.frames += 1;
            stats.bytes += u64::from(caplen);
            self.pos = p + total;
        }
    }

    fn run_pcapng(
        &mut self,
        stats: &mut FrameStats,
        on_frame: &mut impl FnMut(&Frame<'_>),
    ) -> Result<(), CaptureError> {
        loop {
            if let Some(done) = self.fast_epb(stats, on_frame) {
                self.pos += done;
                continue;
            }
            let at = self.base + self.pos as u64;
            if !self.fill(8)? {
                if self.end == self.pos {
                    return Ok(());
                }
                return Err(self.err(
                    at,
                    format!(
                        "truncated file: pcapng block header cut short ({} of 8 bytes)",
                        self.end - self.pos
                    ),
                ));
            }
            let be = self.ng_be;
            let btype = rd32(&self.buf, self.pos, be);
            if btype == PCAPNG_SHB {
                self.read_shb()?;
                continue;
            }
            let len = rd32(&self.buf, self.pos + 4, be);
            self.check_block_len(at, len)?;
            self.block(at, len, be)?;
            let p = self.pos;
            let n = len as usize;
            match btype {
                PCAPNG_EPB | PCAPNG_OPB => {
                    if n < 32 {
                        return Err(self.err(
                            at,
                            format!("pcapng packet block length {len} is shorter than 32"),
                        ));
                    }
                    let b = &self.buf[p..p + n];
                    let if_id = if btype == PCAPNG_EPB {
                        rd32(b, 8, be)
                    } else {
                        u32::from(rd16(b, 8, be))
                    };
                    let ts = (u64::from(rd32(b, 12, be)) << 32) | u64::from(rd32(b, 16, be));
                    let caplen = rd32(b, 20, be);
                    let wire_len = rd32(b, 24, be);
                    if caplen > MAX_CAPLEN {
                        return Err(self.err(
                            at,
                            format!("pcapng captured length {caplen} is larger than {MAX_CAPLEN}"),
                        ));
                    }
                    if 28 + caplen as usize > n - 4 {
                        return Err(self.err(
                            at,
                            format!(
                                "pcapng captured length {caplen} overruns its block of {len} bytes"
                            ),
                        ));
                    }
                    let Some(iface) = self.interface(if_id) else {
                        return Err(self.err(
                            at,
                            format!("pcapng packet refers to undeclared interface {if_id}"),
                        ));
                    };
                    let frame = Frame {
                        ts_ns: iface.scale.to_ns(ts, iface.offset_s),
                        link: iface.link,
                        data: &self.buf[p + 28..p + 28 + caplen as usize],
                        wire_len,
                        offset: at,
                    };
                    on_frame(&frame);
                    stats.frames += 1;
                    stats.bytes += u64::from(caplen);
                }
                PCAPNG_SPB => {
                    if n < 16 {
                        return Err(self.err(
                            at,
                            format!("pcapng simple packet block length {len} is shorter than 16"),
                        ));
                    }
                    let Some(iface) = self.interface(0) else {
                        return Err(self.err(
                            at,
                            "pcapng simple packet block before any interface description",
                        ));
                    };
                    let wire_len = rd32(&self.buf, p + 8, be);
                    let mut caplen = wire_len.min(len - 16);
                    if iface.snaplen != 0 {
                        caplen = caplen.min(iface.snaplen);
                    }
                    if caplen > MAX_CAPLEN {
                        return Err(self.err(
                            at,
                            format!("pcapng captured length {caplen} is larger than {MAX_CAPLEN}"),
                        ));
                    }
                    let frame = Frame {
                        ts_ns: 0,
                        link: iface.link,
                        data: &self.buf[p + 12..p + 12 + caplen as usize],
                        wire_len,
                        offset: at,
                    };
                    on_frame(&frame);
                    stats.frames += 1;
                    stats.bytes += u64::from(caplen);
                }
                PCAPNG_IDB => {
                    let iface = self.parse_idb(at, p, n, be)?;
                    self.ifaces.push(iface);
                }
                _ => {}
            }
            self.pos = p + n;
        }
    }

    /// Delivers a fully buffered, well-formed Enhanced Packet Block at `pos` without any of the
    /// slow path's checks-with-messages; returns its length, or `None` to take the slow path.
    #[inline(always)]
    fn fast_epb(
        &self,
        stats: &mut FrameStats,
        on_frame: &mut impl FnMut(&Frame<'_>),
    ) -> Option<usize> {
        let be = self.ng_be;
        let b = self.buf.get(self.pos..self.end)?;
        if b.len() < 32 || rd32(b, 0, be) != PCAPNG_EPB {
            return None;
        }
        let len = rd32(b, 4, be) as usize;
        let caplen = rd32(b, 20, be);
        if !len.is_multiple_of(4)
            || len > b.len()
            || caplen > MAX_CAPLEN
            || 32 + caplen as usize > len
            || rd32(b, len - 4, be) as usize != len
        {
            return None;
        }
        let iface = self.ifaces.get(rd32(b, 8, be) as usize)?;
        let ts = (u64::from(rd32(b, 12, be)) << 32) | u64::from(rd32(b, 16, be));
        let frame = Frame {
            ts_ns: iface.scale.to_ns(ts, iface.offset_s),
            link: iface.link,
            data: &b[28..28 + caplen as usize],
            wire_len: rd32(b, 24, be),
            offset: self.base + self.pos as u64,
        };
        on_frame(&frame);
        stats.frames += 1;
        stats.bytes += u64::from(caplen);
        Some(len)
    }

    #[inline]
    fn interface(&self, id: u32) -> Option<Interface> {
        self.ifaces.get(id as usize).copied()
    }

    fn parse_idb(&self, at: u64, p: usize, n: usize, be: bool) -> Result<Interface, CaptureError> {
        let block = &self.buf[p..p + n];
        let parsed = if be {
            pcap_parser::pcapng::parse_interfacedescriptionblock_be(block)
        } else {
            pcap_parser::pcapng::parse_interfacedescriptionblock_le(block)
        };
        let idb = match parsed {
            Ok((_, idb)) => idb,
            Err(e) => {
                return Err(self.err(
                    at,
                    format!("malformed pcapng interface description block: {e:?}"),
                ));
            }
        };
        let Some(units) = units_per_second(idb.if_tsresol) else {
            return Err(self.err(
                at,
                format!("pcapng interface has invalid if_tsresol {}", idb.if_tsresol),
            ));
        };
        Ok(Interface {
            link: LinkType((idb.linktype.0 as u32) & 0xffff),
            snaplen: idb.snaplen,
            scale: TsScale::from_units_per_sec(units),
            offset_s: idb.ts_offset(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<Capture>();
        assert_send::<CaptureError>();
    }

    #[test]
    fn tsresol_decoding() {
        assert_eq!(units_per_second(6), Some(1_000_000));
        assert_eq!(units_per_second(9), Some(1_000_000_000));
        assert_eq!(units_per_second(0x80 | 10), Some(1024));
        assert_eq!(units_per_second(19), Some(10u64.pow(19)));
        assert_eq!(units_per_second(20), None);
        assert_eq!(units_per_second(0x80 | 64), None);
        assert_eq!(units_per_second(0xff), None);
    }

    #[test]
    fn timestamp_scaling() {
        let us = TsScale::from_units_per_sec(1_000_000);
        assert_eq!(us.to_ns(1_500_000, 0), 1_500_000_000);
        assert_eq!(us.to_ns(1, 10), 10_000_001_000);
        let bin = TsScale::from_units_per_sec(1024);
        assert_eq!(bin.to_ns(512, 0), 500_000_000);
        let ps = TsScale::from_units_per_sec(1_000_000_000_000);
        assert_eq!(ps.to_ns(2_000_000_000_000, 0), 2_000_000_000);
        // Saturates instead of overflowing.
        assert_eq!(us.to_ns(u64::MAX, i64::MAX), i64::MAX);
    }

    #[test]
    fn format_display() {
        let f = CaptureFormat {
            container: Container::Pcap,
            big_endian: true,
            nanosecond: true,
            gzip: true,
            link: Some(LinkType::RAW),
            snaplen: 65535,
        };
        assert_eq!(
            f.to_string(),
            "pcap (big-endian, nanosecond, linktype 101), gzip"
        );
    }
}
