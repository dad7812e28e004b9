//! Capture reading and packet decoding for the Firewatch darknet (network telescope) pipeline.
//!
//! [`Capture`] reads pcap and pcapng streams, gzip-compressed or not, detected by magic bytes,
//! and hands out [`Frame`]s borrowed from one large buffer (no per-frame allocation).
//! [`decode`] turns a frame into [`PacketFacts`]: addresses, ports, TCP flags, ICMP type and
//! the header quoted in ICMP errors, fragment and truncation state. Damage in a capture stops
//! reading with a [`CaptureError`] naming the file and byte offset.
//!
//! ```no_run
//! use firewatch_pcap::{decode, Capture, DecodeCounters};
//!
//! # fn main() -> Result<(), firewatch_pcap::CaptureError> {
//! let mut capture = Capture::open(std::path::Path::new("darknet.pcap.gz"))?;
//! println!("format: {}", capture.format());
//! let mut counters = DecodeCounters::default();
//! let mut syns = 0u64;
//! let stats = capture.for_each_frame(|frame| {
//!     let outcome = decode(frame);
//!     if let Ok(p) = &outcome {
//!         if p.tcp_flags & 0x12 == 0x02 {
//!             syns += 1;
//!         }
//!     }
//!     counters.record(&outcome);
//! })?;
//! println!("{} frames, {} SYN, {:?}", stats.frames, syns, counters);
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod decode;
mod error;
mod reader;

pub use decode::{DecodeCounters, Fragment, PacketFacts, QuotedHeader, Undecodable, decode};
pub use error::CaptureError;
pub use reader::{Capture, CaptureFormat, Container, Frame, FrameStats, LinkType, MAX_CAPLEN};
