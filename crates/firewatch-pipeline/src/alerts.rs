//! Port alerts: every candidate port's series through the detector, each episode's kind told
//! from its sources (a single-source burst or not), the episodes described from the stored
//! facts and stored in place of the old alerts.

use anyhow::Result;
use firewatch_detect::{AlertKind, DetectConfig, burst, detect};
use firewatch_store::Store;

/// Re-derives every port alert from the port series (idempotent); returns how many there are.
pub fn refresh_alerts(store: &mut (impl Store + ?Sized), cfg: &DetectConfig) -> Result<usize> {
    let mut records = Vec::new();
    // A port whose busiest interval is under every floor cannot alert: the store skips it.
    let floor_sources = cfg.min_sources.min(cfg.new_campaign_min_sources);
    if let Some(span) = store.alert_candidates(cfg.min_packets, floor_sources)? {
        for &(proto, port) in &span.ports {
            let series = store.dense_series(proto, port, &span)?;
            for mut episode in detect(&series, span.step, cfg) {
                if episode.kind == AlertKind::Spike {
                    let packets: Vec<u64> = store
                        .episode_sources(proto, port, &episode, &span)?
                        .into_iter()
                        .map(|(_, packets)| packets)
                        .collect();
                    let intervals = burst::episode_intervals(&episode, span.step, span.last);
                    episode.kind = burst::classify(&episode, intervals, &packets, cfg);
                }
                records.push(store.episode_record(proto, port, &episode, &span)?);
            }
        }
    }
    store.replace_alerts(&records)?;
    Ok(records.len())
}

/// Re-derives the alerts if captures came in since they were last derived (e.g. an ingest was
/// killed between its commit and its alert refresh).
pub fn refresh_if_stale(store: &mut (impl Store + ?Sized), cfg: &DetectConfig) -> Result<()> {
    if store.alerts_stale()? {
        refresh_alerts(store, cfg)?;
    }
    Ok(())
}
