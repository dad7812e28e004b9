//! Feeds for Firewatch: the IntelMQ-compatible harmonized event model and its validation.
//!
//! Events use IntelMQ's field names, types and validation rules ([`harmonization`]) and the
//! RSIT classification ([`taxonomy`]), so that events can go back and forth between Firewatch and
//! IntelMQ as JSON lines with flat dotted keys.
//!
//! ```
//! use firewatch_feeds::Event;
//!
//! let mut event = Event::new();
//! event.set("source.ip", "192.0.2.1").unwrap();
//! event.set("source.asn", "AS64496").unwrap();
//! event.set("source.reverse_dns", "Scanner.Example.NET.").unwrap();
//! event.set("time.source", "2024-05-01 12:00:00").unwrap();
//! event.set("classification.type", "scanner").unwrap();
//! event.fill_taxonomy();
//! assert_eq!(
//!     event.to_intelmq_json(),
//!     concat!(
//!         r#"{"classification.taxonomy":"information-gathering","classification.type":"scanner","#,
//!         r#""source.asn":64496,"source.ip":"192.0.2.1","source.reverse_dns":"scanner.example.net","#,
//!         r#""time.source":"2024-05-01T12:00:00+00:00"}"#,
//!     ),
//! );
//! assert!(event.set("source.ip", "999.0.0.1").is_err());
//! ```

pub mod cowrie;
pub mod csv_mapping;
pub mod event;
pub mod experts;
pub mod filter;
pub mod harmonization;
pub mod input;
pub mod intelmq_jsonl;
mod sanitize;
pub mod shadowserver;
pub mod stix;
pub mod taxonomy;

pub use event::{Event, EventError, FieldError, Value};
pub use harmonization::{FieldSpec, FieldType};
pub use input::{Collected, EventSink, InputError, Location, ParseSummary};
