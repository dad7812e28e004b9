//! Traffic Light Protocol 2.0 (FIRST, 2022): the levels, and the one reader of an event's `tlp`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Traffic Light Protocol 2.0 levels (FIRST TLP 2.0 standard), ordered from the least to the
/// most restrictive: `Clear < Green < Amber < AmberStrict < Red`.
///
/// Serialized as `clear`, `green`, `amber`, `amber+strict`, `red`; displayed with the
/// standard labels (`TLP:AMBER+STRICT`).
///
/// ```
/// use firewatch_core::TlpLevel;
/// assert!(TlpLevel::Red > TlpLevel::AmberStrict);
/// assert_eq!(TlpLevel::AmberStrict.to_string(), "TLP:AMBER+STRICT");
/// assert_eq!("tlp:amber+strict".parse::<TlpLevel>().unwrap(), TlpLevel::AmberStrict);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Tlp))]
pub enum TlpLevel {
    /// `TLP:CLEAR`: no limit on disclosure.
    #[serde(rename = "clear")]
    Clear,
    /// `TLP:GREEN`: the recipient's community.
    #[serde(rename = "green")]
    Green,
    /// `TLP:AMBER`: the recipient's organisation and its clients, need to know.
    #[serde(rename = "amber")]
    Amber,
    /// `TLP:AMBER+STRICT`: the recipient's organisation only.
    #[serde(rename = "amber+strict")]
    AmberStrict,
    /// `TLP:RED`: the named recipients only.
    #[serde(rename = "red")]
    Red,
}

impl TlpLevel {
    /// All levels, least restrictive first.
    pub const ALL: [TlpLevel; 5] = [
        TlpLevel::Clear,
        TlpLevel::Green,
        TlpLevel::Amber,
        TlpLevel::AmberStrict,
        TlpLevel::Red,
    ];

    /// The TLP 2.0 label, e.g. `"TLP:AMBER+STRICT"`.
    pub fn label(self) -> &'static str {
        match self {
            TlpLevel::Clear => "TLP:CLEAR",
            TlpLevel::Green => "TLP:GREEN",
            TlpLevel::Amber => "TLP:AMBER",
            TlpLevel::AmberStrict => "TLP:AMBER+STRICT",
            TlpLevel::Red => "TLP:RED",
        }
    }

    /// The value of an event's `tlp` field, as IntelMQ writes it, e.g. `"AMBER+STRICT"`.
    pub fn event_value(self) -> &'static str {
        match self {
            TlpLevel::Clear => "CLEAR",
            TlpLevel::Green => "GREEN",
            TlpLevel::Amber => "AMBER",
            TlpLevel::AmberStrict => "AMBER+STRICT",
            TlpLevel::Red => "RED",
        }
    }

    /// The short name used in TOML, JSON and the CLI, e.g. `"amber+strict"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TlpLevel::Clear => "clear",
            TlpLevel::Green => "green",
            TlpLevel::Amber => "amber",
            TlpLevel::AmberStrict => "amber+strict",
            TlpLevel::Red => "red",
        }
    }
}

impl fmt::Display for TlpLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Why a text is not a TLP level.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a TLP 2.0 level (clear, green, amber, amber+strict, red)")]
pub struct TlpLevelError(pub String);

impl FromStr for TlpLevel {
    type Err = TlpLevelError;

    /// Accepts the short name or the label, in any case (`amber`, `TLP:AMBER`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let short = t
            .get(..4)
            .filter(|p| p.eq_ignore_ascii_case("tlp:"))
            .map_or(t, |_| &t[4..]);
        TlpLevel::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(short))
            .ok_or_else(|| TlpLevelError(s.to_string()))
    }
}

/// An event's TLP level: its `tlp` field read as TLP 2.0. `None` when the event carries none or
/// a value that is not a level (the access rule counts both as RED).
///
/// This is the one place an event's `tlp` is read; everything that decides who sees an event
/// goes through it.
pub fn event_tlp(event: &crate::Event) -> Option<TlpLevel> {
    event
        .get(crate::fields::TLP)
        .and_then(|v| v.as_str())
        .and_then(|t| t.parse().ok())
}

/// An event's TLP level as the access rule applies it: absent or unknown counts as RED.
///
/// ```
/// use firewatch_core::{Event, TlpLevel, tlp::event_level};
/// let mut e = Event::new();
/// assert_eq!(event_level(&e), TlpLevel::Red);
/// e.set("tlp", "WHITE").unwrap(); // TLP 1.0's WHITE is stored as CLEAR
/// assert_eq!(event_level(&e), TlpLevel::Clear);
/// ```
pub fn event_level(event: &crate::Event) -> TlpLevel {
    event_tlp(event).unwrap_or(TlpLevel::Red)
}
