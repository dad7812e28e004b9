//! Shared vocabulary of Firewatch: the words every other crate uses.
//!
//! Crates depend downwards only; this one depends on nothing of ours.
//!
//! ```
//! use firewatch_core::{SourceLabel, Protocol};
//! assert_eq!("mirai".parse::<SourceLabel>().unwrap(), SourceLabel::Mirai);
//! assert_eq!(Protocol::from_number(6), Protocol::Tcp);
//! assert_eq!(Protocol::Tcp.to_string(), "tcp");
//! ```

pub mod label;
pub mod protocol;
pub mod time;

pub use label::SourceLabel;
pub use protocol::Protocol;
