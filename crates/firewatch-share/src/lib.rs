//! Sharing with partners: Firewatch's findings as STIX 2.1 bundles and as a MISP feed, with
//! TLP kept all the way.
//!
//! A [`Finding`] is one stored event (a scanning source, an infected host, an attacked victim)
//! or one darknet port alert, in IntelMQ's field names. [`stix::Exporter`] turns findings into
//! STIX 2.1 objects — an identity for the producing team, indicators, observed-data and
//! sightings for sources, campaigns for port alerts, and the official TLP 2.0 marking
//! definitions ([`tlp`]) — with ids that depend only on the finding ([`ids`]), so the same
//! finding always gets the same id. [`misp::write_feed`] writes a MISP feed directory, with
//! each event's MISP distribution following its TLP ([`misp::distribution`]; TLP:RED is never
//! written). [`ShareConfig`] (`[share]` in firewatch.toml) names the producer of both.
//!
//! ```
//! use firewatch_core::Event;
//! use firewatch_share::{Finding, stix::Exporter};
//!
//! let mut event = Event::new();
//! event.set("source.ip", "192.0.2.1").unwrap();
//! event.set("classification.type", "scanner").unwrap();
//! event.set("time.source", "2026-01-01T00:00:00+00:00").unwrap();
//! event.set("tlp", "GREEN").unwrap();
//! let finding = Finding::from_event(event, 1_767_225_600);
//! let exporter = Exporter::new("CERT-Example");
//! let bundle = exporter.bundle(std::slice::from_ref(&finding));
//! let objects = bundle["objects"].as_array().unwrap();
//! assert!(objects.iter().any(|o| o["id"] == "ipv4-addr--8dded90c-40c0-545a-8027-5b212bb37e8e"));
//! assert!(objects.iter().any(|o| o["id"] == firewatch_share::tlp::marking_id(
//!     firewatch_core::TlpLevel::Green)));
//! // The same finding, the same bundle.
//! assert_eq!(bundle, exporter.bundle(&[finding]));
//! ```

pub mod case_stix;
pub mod config;
pub mod finding;
pub mod ids;
pub mod misp;
pub mod stix;
pub mod tlp;
pub mod told;

pub use config::{Producer, ShareConfig};
pub use finding::{Finding, FindingKind};
pub use told::team_alert_findings;
