//! `[metrics]` in firewatch.toml.

use serde::{Deserialize, Serialize};

/// How metrics are computed and published. Every field has a default, so `[metrics]` may be
/// left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Public output leaves out every daily cell with fewer unique addresses than this, and
    /// every figure derived from such a cell, so no small group of hosts can be singled out.
    pub suppression_threshold: u64,
    /// A day (`YYYY-MM-DD`) in the week whose value is 100 in the trend index; the ISO week
    /// (Monday to Sunday) containing it is the base. None: the first week with data.
    pub base_week: Option<String>,
    /// Request bandwidth an attacker sends to each reflector, Mbit/s: the DDoS potential is
    /// unique reflectors × amplification factor × this. See docs/metrics.md for the choice.
    pub bandwidth_per_device_mbps: f64,
    /// Amplification factor of open DNS resolvers: Rossow (NDSS 2014) measured 28.7 (open
    /// resolvers) to 54.6 (name servers); CyberGreen used 41.
    pub dns_amplification: f64,
    /// Publish aggregates of events of every TLP (after suppression), not only TLP:CLEAR ones.
    /// An explicit release by the data owner; off by default.
    pub release_all_tlp: bool,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            suppression_threshold: 10,
            base_week: None,
            bandwidth_per_device_mbps: 1.0,
            dns_amplification: crate::risk::rossow2014::DNS_CYBERGREEN,
            release_all_tlp: false,
        }
    }
}

impl MetricsConfig {
    /// Checks the values: a base week that is a date, a positive bandwidth and a DNS factor
    /// inside Rossow's measured range.
    pub fn validate(&self) -> Result<(), crate::MetricsError> {
        let bad = |m: String| Err(crate::MetricsError::Config(m));
        if let Some(w) = &self.base_week {
            crate::Day::parse(w).map_err(|_| {
                crate::MetricsError::Config(format!(
                    "[metrics] base_week: {w:?} is not a date (YYYY-MM-DD)"
                ))
            })?;
        }
        if !(self.bandwidth_per_device_mbps.is_finite() && self.bandwidth_per_device_mbps > 0.0) {
            return bad(format!(
                "[metrics] bandwidth_per_device_mbps: {} is not a positive number",
                self.bandwidth_per_device_mbps
            ));
        }
        let (lo, hi) = (
            crate::risk::rossow2014::DNS_OPEN_RESOLVER,
            crate::risk::rossow2014::DNS_NAME_SERVER,
        );
        if !(lo..=hi).contains(&self.dns_amplification) {
            return bad(format!(
                "[metrics] dns_amplification: {} is outside Rossow's measured {lo}–{hi}",
                self.dns_amplification
            ));
        }
        Ok(())
    }
}
