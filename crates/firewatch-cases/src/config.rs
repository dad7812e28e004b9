//! `[cases]` of firewatch.toml: how this instance's case mail reads.

use serde::{Deserialize, Serialize};

/// `[cases]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CasesConfig {
    /// The tag in case mail subjects: `Firewatch` makes `[Firewatch #42]`.
    pub mail_tag: String,
    /// The team that coordinates cases opened from reports that match no case (default: the
    /// notify sender team).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desk: Option<String>,
    /// The largest message `mail receive` takes in, in bytes.
    pub max_mail_bytes: usize,
    /// `[cases.service_levels]`: how soon parties should acknowledge and resolve, per
    /// severity.
    pub service_levels: crate::service::ServiceLevels,
}

impl Default for CasesConfig {
    fn default() -> Self {
        CasesConfig {
            mail_tag: "Firewatch".to_owned(),
            desk: None,
            max_mail_bytes: 10 * 1024 * 1024,
            service_levels: Default::default(),
        }
    }
}
