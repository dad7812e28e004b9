//! Writing a generated capture as pcap or pcapng, optionally gzip-compressed.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::section_header::SectionHeaderBlock;
use pcap_file::{DataLink, Endianness, TsResolution};

use crate::{GroundTruth, OutputFormat, SynthConfig, generate};

const SNAPLEN: u32 = 65535;

fn to_io(e: pcap_file::PcapError) -> io::Error {
    match e {
        pcap_file::PcapError::IoError(e) => e,
        other => io::Error::other(other.to_string()),
    }
}

/// The `if_tsresol` of interface `i` in a pcapng section: even interfaces count nanoseconds
/// (`9`), odd ones microseconds (`6`).
pub fn pcapng_tsresol(interface: u32) -> u8 {
    if interface.is_multiple_of(2) { 9 } else { 6 }
}

/// The endianness of pcapng section `s`: even sections little-endian, odd ones big-endian.
pub fn pcapng_endianness(section: u32) -> Endianness {
    if section.is_multiple_of(2) {
        Endianness::Little
    } else {
        Endianness::Big
    }
}

fn section_header(section: u32) -> SectionHeaderBlock<'static> {
    SectionHeaderBlock {
        endianness: pcapng_endianness(section),
        ..Default::default()
    }
}

fn interface(section: u32, i: u32) -> InterfaceDescriptionBlock<'static> {
    InterfaceDescriptionBlock {
        linktype: DataLink::ETHERNET,
        snaplen: SNAPLEN,
        options: vec![
            InterfaceDescriptionOption::IfName(Cow::Owned(format!("telescope{section}.{i}"))),
            InterfaceDescriptionOption::IfTsResol(pcapng_tsresol(i)),
        ],
    }
}

pub(crate) fn write_capture(
    cfg: &SynthConfig,
    path: &Path,
    format: OutputFormat,
    gzip: bool,
) -> io::Result<GroundTruth> {
    let file = BufWriter::with_capacity(1 << 20, File::create(path)?);
    if gzip {
        let gz = GzEncoder::new(file, Compression::fast());
        let (truth, gz) = write_to(cfg, gz, format)?;
        gz.finish()?.flush()?;
        Ok(truth)
    } else {
        let (truth, mut file) = write_to(cfg, file, format)?;
        file.flush()?;
        Ok(truth)
    }
}

/// Writes the capture to any writer; returns the truth and the writer.
pub(crate) fn write_to<W: Write>(
    cfg: &SynthConfig,
    out: W,
    format: OutputFormat,
) -> io::Result<(GroundTruth, W)> {
    let mut failed: Option<io::Error> = None;
    match format {
        OutputFormat::Pcap {
            big_endian,
            nanosecond,
        } => {
            let header = PcapHeader {
                version_major: 2,
                version_minor: 4,
                ts_correction: 0,
                ts_accuracy: 0,
                snaplen: SNAPLEN,
                datalink: DataLink::ETHERNET,
                ts_resolution: if nanosecond {
                    TsResolution::NanoSecond
                } else {
                    TsResolution::MicroSecond
                },
                endianness: if big_endian {
                    Endianness::Big
                } else {
                    Endianness::Little
                },
            };
            let mut w = PcapWriter::with_header(out, header).map_err(to_io)?;
            let truth = generate(cfg, |ts, frame| {
                if failed.is_some() {
                    return;
                }
                let ts = Duration::from_nanos(ts.max(0) as u64);
                if let Err(e) = w.write_packet(&PcapPacket::new(ts, frame.len() as u32, frame)) {
                    failed = Some(to_io(e));
                }
            });
            match failed {
                Some(e) => Err(e),
                None => Ok((truth, w.into_writer())),
            }
        }
        OutputFormat::PcapNg {
            sections,
            interfaces,
        } => {
            let sections = sections.max(1);
            let interfaces = interfaces.max(1);
            let mut w = PcapNgWriter::with_section_header(out, section_header(0)).map_err(to_io)?;
            for i in 0..interfaces {
                w.write_pcapng_block(interface(0, i)).map_err(to_io)?;
            }
            // A first, counting pass (generation is deterministic and fast) so every section
            // holds 1/sections of the packets.
            let total = if sections > 1 {
                let mut total = 0u64;
                generate(cfg, |_, _| total += 1);
                total.max(1)
            } else {
                1
            };
            let mut section = 0u32;
            let mut n = 0u64;
            let truth = generate(cfg, |ts, frame| {
                if failed.is_some() {
                    return;
                }
                let res = (|| {
                    let want = (u128::from(n) * u128::from(sections) / u128::from(total))
                        .min(u128::from(sections - 1)) as u32;
                    while section < want {
                        section += 1;
                        w.write_pcapng_block(section_header(section))?;
                        for i in 0..interfaces {
                            w.write_pcapng_block(interface(section, i))?;
                        }
                    }
                    let iface = (n % u64::from(interfaces)) as u32;
                    n += 1;
                    let ts = ts.max(0) as u64;
                    let units = if pcapng_tsresol(iface) == 9 {
                        ts
                    } else {
                        ts / 1000
                    };
                    // pcap-file 2.0 writes `timestamp.as_nanos()` verbatim as the raw 64-bit
                    // counter, so the Duration carries the count of if_tsresol units.
                    let epb = EnhancedPacketBlock {
                        interface_id: iface,
                        timestamp: Duration::from_nanos(units),
                        original_len: frame.len() as u32,
                        data: Cow::Borrowed(frame),
                        options: vec![],
                    };
                    w.write_pcapng_block(epb).map(|_| ())
                })();
                if let Err(e) = res {
                    failed = Some(to_io(e));
                }
            });
            // Trailing sections (only when there are fewer packets than sections), so a capture
            // always has exactly `sections` sections.
            if failed.is_none() {
                while section + 1 < sections {
                    section += 1;
                    w.write_pcapng_block(section_header(section))
                        .map_err(to_io)?;
                    for i in 0..interfaces {
                        w.write_pcapng_block(interface(section, i)).map_err(to_io)?;
                    }
                }
            }
            match failed {
                Some(e) => Err(e),
                None => Ok((truth, w.into_inner())),
            }
        }
    }
}
