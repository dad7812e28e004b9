//! What a darknet source is, as decided by the labelling rules in `firewatch-darknet`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The class of a source seen by the telescope.
///
/// Fingerprinted labels (Mirai, ZMap, Masscan) come from the tool's own packet signature;
/// backscatter from unsolicited replies; scanner from the breadth of addresses touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceLabel {
    /// Mirai-like bot: TCP SYN whose sequence number equals the destination IPv4 address.
    Mirai,
    /// ZMap scanner: IPv4 identification field fixed at 54321.
    Zmap,
    /// Masscan scanner: IP id = (destination address ^ destination port ^ sequence) mod 2^16.
    Masscan,
    /// Victim of a spoofed-source attack, seen through its replies (SYN-ACK, RST, ICMP errors).
    Backscatter,
    /// Touches many darknet addresses, without a known tool fingerprint.
    Scanner,
    /// Everything else (misconfiguration, low-volume probing).
    Other,
}

impl SourceLabel {
    /// All labels, in the order reports list them.
    pub const ALL: [SourceLabel; 6] = [
        SourceLabel::Mirai,
        SourceLabel::Zmap,
        SourceLabel::Masscan,
        SourceLabel::Backscatter,
        SourceLabel::Scanner,
        SourceLabel::Other,
    ];

    /// The lowercase name used in the CLI, JSON and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceLabel::Mirai => "mirai",
            SourceLabel::Zmap => "zmap",
            SourceLabel::Masscan => "masscan",
            SourceLabel::Backscatter => "backscatter",
            SourceLabel::Scanner => "scanner",
            SourceLabel::Other => "other",
        }
    }
}

impl fmt::Display for SourceLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A label name that is not one of [`SourceLabel::ALL`].
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown source label {0:?} (expected one of mirai, zmap, masscan, backscatter, scanner, other)"
)]
pub struct UnknownLabel(pub String);

impl FromStr for SourceLabel {
    type Err = UnknownLabel;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SourceLabel::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownLabel(s.to_string()))
    }
}
