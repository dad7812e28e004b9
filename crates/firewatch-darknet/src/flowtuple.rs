//! Corsaro-style flowtuples: per interval, one record per distinct packet shape with its count.
//!
//! The key is CAIDA corsaro's flowtuple key (source, destination, ports, protocol, TTL, TCP
//! flags, IP length); we add the two flags corsaro's later versions carry: spoofed (the source
//! cannot be genuine, [`crate::fingerprint::is_unroutable_source`]) and masscan.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// One flowtuple: packets of one shape during one interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FlowTuple {
    /// Unix seconds of the interval's start.
    pub interval_start: i64,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
    pub ttl: u8,
    pub tcp_flags: u8,
    pub ip_len: u16,
    pub spoofed: bool,
    pub masscan: bool,
}
