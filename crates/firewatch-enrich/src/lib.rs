//! Attribution: every address to its country, network (ASN) and responsible team.
//!
//! - [`geo`]: IP → country and IP → ASN / AS name from registry data, in a compact
//!   longest-prefix table for IPv4 and IPv6, swappable while lookups run.
//! - [`directory`]: the team directory (teams, constituencies, contacts, keys, TLP caps).
//! - [`routing`]: which team an address belongs to, and why.
//! - [`attribute`]: country, ASN, AS name and team in one allocation-free lookup.

pub mod attribute;
pub mod directory;
pub mod geo;
pub mod routing;
