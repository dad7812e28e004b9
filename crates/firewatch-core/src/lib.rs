//! The words of Firewatch: what every other crate means by an event, a filter, a TLP level, a
//! reader, a time range and a telescope finding.
//!
//! - [`event`]: the IntelMQ-compatible harmonized event ([`Event`], [`Value`]), validated field
//!   by field against [`harmonization`] (IntelMQ 3.5's field table) and classified by the RSIT
//!   [`taxonomy`]; [`fields`] names the fields Firewatch reads itself.
//! - [`filter`]: the `--where` language over events.
//! - [`input`]: where a record came from ([`Location`]) and the [`EventSink`] parsers feed.
//! - [`tlp`] and [`access`]: TLP 2.0, and the one rule of who may read what.
//! - [`time`], [`label`], [`protocol`], [`telescope`]: time ranges and the telescope vocabulary.
//!
//! Core depends on no other Firewatch crate and does no I/O; every crate may depend on it.
//!
//! ```
//! use firewatch_core::{Event, SourceLabel, Protocol};
//! assert_eq!("mirai".parse::<SourceLabel>().unwrap(), SourceLabel::Mirai);
//! assert_eq!(Protocol::from_number(6), Protocol::Tcp);
//! assert_eq!(Protocol::Tcp.to_string(), "tcp");
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

pub mod access;
pub mod attribution;
pub mod event;
pub mod fields;
pub mod filter;
pub mod harmonization;
pub mod input;
pub mod label;
pub mod protocol;
pub mod sanitize;
pub mod taxonomy;
pub mod telescope;
pub mod time;
pub mod tlp;
pub mod value;

pub use event::{Event, EventError, FieldError, Value};
pub use harmonization::{FieldSpec, FieldType};
pub use input::{Collected, EventSink, InputError, Location, ParseSummary};
pub use label::SourceLabel;
pub use protocol::Protocol;
pub use time::TimeRange;
pub use tlp::TlpLevel;
