//! Cross-border cases (issue 19, docs/cases.md): one incident coordinated across teams as
//! equal peers.
//!
//! A [`Case`] has a title, summary, [`Severity`], TLP and [`Pap`], a [`Status`] (new → in
//! progress → closed with a [`Determination`], and reopen), a coordinating team, parties (each
//! a team with a [`Role`] and a [`PartyStatus`], every change time-stamped), tasks per party,
//! linked findings by their stable keys, observables, and an append-only timeline of every
//! change and comment.
//!
//! The model is pure: every change is checked against the case as it stands ([`Case::apply`];
//! a refusal says why and changes nothing), and a case read back is its timeline replayed
//! through the same checks ([`Case::replay`]), so a stored case cannot hold a state the rules
//! forbid. [`party_figures`] reads each party's time to acknowledge and to resolve from the
//! timeline; [`Case::view_for`] is what one team may see (the TLP and party rule).
//! [`stored`] converts to and from the store's records and reads and writes through the
//! store's `CaseStore` trait: the crate names no backend and does no I/O of its own.
//!
//! ```
//! use firewatch_cases::*;
//! use firewatch_core::TlpLevel;
//! use jiff::Timestamp;
//!
//! let at = |s: i64| Stamp::at(Timestamp::from_second(1_800_000_000 + s).unwrap(), None);
//! let new = NewCase {
//!     title: "tcp/5555 spike".into(),
//!     summary: String::new(),
//!     severity: Severity::High,
//!     tlp: TlpLevel::Amber,
//!     pap: Pap::Amber,
//!     coordinator: "oic-example-coord".into(),
//! };
//! let mut case = Case::open(new, &at(0))?;
//! case.add_party("jp-example-cert", Role::Affected, &at(0))?;
//! case.observe(ObservableKind::Address, "192.0.2.7", Some("jp-example-cert"), &at(0))?;
//! case.set_party_status("jp-example-cert", PartyStatus::Notified, &at(60))?;
//! case.set_party_status("jp-example-cert", PartyStatus::Acknowledged, &at(960))?;
//! assert_eq!(case.status, Status::InProgress);
//! assert!(case.close(None, None, &at(1000)).is_err()); // a determination is required
//! case.close(Some(Determination::Blocked), None, &at(1000))?;
//! let jp = &party_figures(&case)[1];
//! assert_eq!(jp.time_to_acknowledge_secs, Some(900));
//! # Ok::<(), CaseError>(())
//! ```

mod case;
mod config;
mod error;
mod figures;
mod mail;
mod merge;
pub mod service;
pub mod stored;
mod view;
mod vocab;

pub use case::{Case, Change, Entry, Link, NewCase, Observable, Party, Stamp, StatusChange, Task};
pub use config::CasesConfig;
pub use error::CaseError;
pub use figures::{PartyFigures, party_figures};
pub use mail::{
    Delivered, MailRules, ReceivedMail, SignatureState, case_tag, excerpt, tagged_subject, take_in,
};
pub use merge::Absorbed;
pub use vocab::{
    Determination, FindingKind, MailDirection, ObservableKind, Pap, PartyStatus, Role, Severity,
    Status, TaskStatus,
};
