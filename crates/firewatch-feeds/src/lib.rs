//! Feed parsers for Firewatch: each turns one input format into harmonized events.
//!
//! - [`shadowserver`]: Shadowserver reports, schema-driven (compared with IntelMQ 3.5's parser
//!   field by field);
//! - [`cowrie`]: Cowrie honeypot JSON logs;
//! - [`intelmq_jsonl`]: IntelMQ's own JSON lines, read and written;
//! - [`csv_mapping`]: any CSV with a TOML column mapping;
//! - [`stix`]: partners' STIX 2.1 bundles;
//! - [`experts`]: rules, taxonomy, attribution and TLP over one event at a time.
//!
//! The event model they produce ([`firewatch_core::Event`]) and the sink they feed
//! ([`firewatch_core::EventSink`]) live in `firewatch-core`. Every parser streams: a bad
//! record is reported with its file, line and byte offset, and the parse goes on.
//!
//! ```
//! use firewatch_core::Collected;
//! let mut sink = Collected::default();
//! let input = &b"{\"source.ip\": \"192.0.2.1\", \"classification.type\": \"scanner\"}\nnot json\n"[..];
//! let summary = firewatch_feeds::intelmq_jsonl::parse(input, "events.jsonl", &mut sink).unwrap();
//! assert_eq!((summary.events, summary.rejected), (1, 1));
//! assert_eq!(sink.errors[0].location.line, 2);
//! ```

pub mod cowrie;
pub mod csv_mapping;
pub mod experts;
pub mod intelmq_jsonl;
mod lines;
pub mod shadowserver;
pub mod stix;
