//! Who is behind an address: the one attribution every crate speaks of (the store keeps it
//! beside sources and victims, the experts write it into events).

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Country of registration, network and responsible team of an address, and the data that
/// said so. Empty when no attribution data was at hand.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribution {
    /// ISO 3166-1 alpha-2 country code of registration.
    pub country: Option<String>,
    /// The origin AS.
    pub asn: Option<u32>,
    /// The AS's name.
    pub as_name: Option<String>,
    /// Id of the team whose constituency holds the address.
    pub team: Option<String>,
    /// The dataset (and directory) version that produced this attribution.
    pub data_version: Option<String>,
}

/// Looks addresses up. Implemented over registry data and a team directory by whoever has
/// them (the pipeline), so the crates that use attributions need not know where they come from.
pub trait Attribute: Send + Sync {
    /// The attribution of `addr`.
    fn attribute(&self, addr: IpAddr) -> Attribution;
}
