//! Deriving again what depended on data that changed: when the team directory, the registry
//! dataset or the label rules change, every stored source is labelled and attributed again, every
//! attack victim attributed again, every event routed again by its source address, and the
//! alerts (whose teams and countries come from their sources) derived again. Run by `teams import` and `data update`, and on demand by
//! `firewatch reattribute`; only what differs is written, so a second run changes nothing.

use crate::Context;
use crate::derivation::TelescopeDerivation;
use anyhow::Result;
use firewatch_store::Rederived;

/// Labels and attributes the stored telescope records again with the data and rules in force.
pub fn rederive(ctx: &Context) -> Result<Rederived> {
    let derivation = TelescopeDerivation {
        labels: ctx.config.labels.clone(),
        attacks: ctx.config.attacks.clone(),
        enricher: Some(crate::attribution::enricher(ctx)?),
    };
    let mut store = ctx.store()?;
    let report = store.rederive(&derivation)?;
    crate::alerts::refresh_if_stale(store.as_mut(), &ctx.config.detect)?;
    Ok(report)
}

/// One line for a person: what changed.
pub fn summary(r: &Rederived) -> String {
    format!(
        "re-attributed with the data in force: {} of {} sources, {} of {} attacks and {} of {} events changed",
        r.sources_changed, r.sources, r.attacks_changed, r.attacks, r.events_changed, r.events
    )
}
