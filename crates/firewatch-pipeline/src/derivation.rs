//! What the store keeps beside a capture's facts, derived here: each merged source profile's
//! label (the labelling rules), each victim's attacks (the attack thresholds), and the
//! attribution of both (registry data and directory).

use firewatch_core::SourceLabel;
use firewatch_core::attribution::{Attribute, Attribution};
use firewatch_darknet::{
    AttackThresholds, BackscatterAttack, BackscatterMinute, LabelRules, SourceCounters, classify,
    derive_attacks,
};
use firewatch_store::Derivation;
use std::net::IpAddr;
use std::sync::Arc;

/// The telescope's rules, as the store asks for them while it commits a capture.
#[derive(Clone, Default)]
pub struct TelescopeDerivation {
    /// `[labels]`: how a source's counters make its label.
    pub labels: LabelRules,
    /// `[attacks]`: when backscatter minutes make an attack.
    pub attacks: AttackThresholds,
    /// Attribution of sources and victims; none leaves those fields empty.
    pub enricher: Option<Arc<dyn Attribute>>,
}

impl Derivation for TelescopeDerivation {
    fn label(&self, counters: &SourceCounters, distinct_destinations: u64) -> SourceLabel {
        classify(counters, distinct_destinations, &self.labels)
    }

    fn attacks(&self, minutes: &[BackscatterMinute]) -> Vec<BackscatterAttack> {
        derive_attacks(minutes, &self.attacks)
    }

    fn attribute(&self, addr: IpAddr) -> Attribution {
        self.enricher
            .as_ref()
            .map(|e| e.attribute(addr))
            .unwrap_or_default()
    }
}

impl std::fmt::Debug for TelescopeDerivation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelescopeDerivation")
            .field("labels", &self.labels)
            .field("attacks", &self.attacks)
            .field("enricher", &self.enricher.is_some())
            .finish()
    }
}
