//! The telescope's words, as its findings are named once they leave the capture.

/// The feed name every telescope finding stored as an event carries (`feed.name`).
pub const DARKNET_FEED: &str = "Firewatch-Darknet";

/// The `classification.identifier` prefix of telescope findings (`darknet-spike`,
/// `darknet-mirai`, …).
pub const IDENTIFIER_PREFIX: &str = "darknet-";
