//! Conformance checks of the accounts areas (see main.rs): identities and sessions, the
//! notification outbox, cases, Internet-health metrics and X.1060 assessments. Each check
//! carries the meaning of the SQLite unit tests of its area, and more of the edges.

mod assess;
mod cases;
mod health;
mod identity;
mod outbox;
