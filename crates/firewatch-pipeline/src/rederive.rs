//! Deriving again what depended on data that changed: when the team directory, the registry
//! dataset or the label rules change, every stored source is labelled and attributed again, every
//! attack victim attributed again, every event routed again by its source address, and the
//! alerts (whose teams and countries come from their sources) derived again. Run by `teams import` and `data update`, and on demand by
//! `firewatch reattribute`; only what differs is written, so a second run changes nothing.

use crate::Context;
use crate::derivation::TelescopeDerivation;
use anyhow::Result;
use firewatch_store::Rederived;
use serde::Serialize;

/// What a re-derivation changed, and with which data.
#[derive(Debug, Clone, Serialize)]
pub struct Rederivation {
    /// The registry dataset and directory version now on every record (`data_version`).
    pub data_version: String,
    #[serde(flatten)]
    pub changed: Rederived,
}

/// Labels and attributes the stored telescope records again with the data and rules in force;
/// with `since` (Unix seconds), only those seen at or after it.
pub fn rederive(ctx: &Context, since: Option<i64>) -> Result<Rederivation> {
    let enricher = crate::attribution::directory_enricher(ctx)?;
    let data_version = enricher.version().to_owned();
    let derivation = TelescopeDerivation {
        labels: ctx.config.labels.clone(),
        attacks: ctx.config.attacks.clone(),
        enricher: Some(enricher),
    };
    let mut store = ctx.store()?;
    let mut changed = store.rederive(&derivation, since)?;
    // The telescope's one TLP and owner in force, on its findings stored before (docs/tlp.md).
    changed.findings_retagged = crate::findings::retag(ctx, store.as_mut())?;
    crate::alerts::refresh_if_stale(store.as_mut(), &ctx.config.detect)?;
    Ok(Rederivation {
        data_version,
        changed,
    })
}

/// One line for a person: what changed, and with which data.
pub fn summary(r: &Rederivation) -> String {
    let c = &r.changed;
    format!(
        "re-attributed with {}: {} of {} sources, {} of {} attacks and {} of {} events changed",
        r.data_version,
        c.sources_changed,
        c.sources,
        c.attacks_changed,
        c.attacks,
        c.events_changed,
        c.events
    )
}
