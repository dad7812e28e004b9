//! Tell the responsible team: OpenPGP-signed e-mail digests and HMAC-signed webhooks, through
//! an outbox, exactly once.
//!
//! The flow: [`plan::Planner`] reads the store (events routed to a team, darknet alerts of
//! its sources), applies each team's policy ([`config::TeamPolicy`]: filter, severity floor,
//! schedule, rate limit) and TLP cap, and builds finished notices — a PGP/MIME e-mail
//! ([`mail`], signed with the sender team's key and optionally encrypted to the recipient's,
//! [`openpgp`]) or a webhook JSON body ([`webhook`]). [`plan::queue`] records them in the
//! store's outbox before anything is sent; [`deliver::Courier`] sends what is due, marks each
//! notice sent once the server accepted it, and retries failures with backoff. Mail coming
//! back is read, and its signature checked against the sender team's key, by [`inbound`].
//!
//! ```
//! use firewatch_notify::webhook;
//! // A receiver checks each request with the shared secret:
//! let body = br#"{"id":"0f3a","tlp":"TLP:GREEN","items":[]}"#;
//! let sig = webhook::signature(b"shared secret", 1_763_900_000, body);
//! let headers = webhook::Headers { timestamp: "1763900000", signature: &sig, idempotency_key: "0f3a" };
//! let mut seen = webhook::ReplayGuard::default();
//! assert!(webhook::verify(b"shared secret", &headers, body, 1_763_900_030, 300, &mut seen).is_ok());
//! assert!(webhook::verify(b"shared secret", &headers, body, 1_763_900_031, 300, &mut seen).is_err());
//! ```

pub mod case_mail;
pub mod config;
pub mod deliver;
pub mod inbound;
pub mod item;
pub mod mail;
pub mod openpgp;
pub mod plan;
pub mod smtp;
pub mod template;
pub mod webhook;

pub use config::NotifyConfig;
pub use deliver::{Courier, DeliveryReport};
pub use plan::{Plan, PlannedNotice, Planner, queue};

/// Why a notice could not be planned, built or recorded.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("[notify]: {0}")]
    Config(String),
    #[error("OpenPGP: {0}")]
    OpenPgp(String),
    #[error("template: {0}")]
    Template(String),
    #[error("MIME: {0}")]
    Mime(String),
    #[error(transparent)]
    Store(#[from] firewatch_store::StoreError),
}
