//! Detector parameters (`[detect]` in the user's TOML).

use serde::{Deserialize, Serialize};

/// Detector parameters; they live in the user's TOML under `[detect]`.
///
/// Every field has a default, so an empty `[detect]` table is valid and a
/// partial one only overrides what it names. Unknown keys are rejected so a
/// typo such as `treshold = 4` is reported instead of silently ignored.
///
/// ```
/// use firewatch_detect::DetectConfig;
/// let cfg: DetectConfig = toml::from_str("threshold = 8.0").unwrap();
/// assert_eq!(cfg.threshold, 8.0);
/// assert_eq!(cfg.baseline_intervals, 60);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Length, in intervals, of the trailing window the baseline (median and
    /// MAD) is computed from. Intervals that were part of an alert episode
    /// are left out of the window. Default 60.
    pub baseline_intervals: usize,
    /// Intervals of (non-alert) history the window must hold before any spike
    /// alert can open. Capped at `baseline_intervals`. Default 30.
    pub min_history: usize,
    /// Robust z-score `(x - median) / scale` at or above which an interval is
    /// hot. Default 6.0.
    pub threshold: f64,
    /// A hot interval must also be at least `min_ratio` times the baseline
    /// median (guards busy ports, where a few robust σ is a small change).
    /// Default 3.0.
    pub min_ratio: f64,
    /// Absolute floor for the packets metric: fewer packets than this in an
    /// interval are never hot. Default 30.
    pub min_packets: u64,
    /// Absolute floor for the unique-sources metric. Default 10.
    pub min_sources: u64,
    /// A packets spike also needs this many unique sources in the interval: a burst from a
    /// handful of hosts is those hosts' activity (see the source and attack listings), not a
    /// port-wide event. Default 10.
    pub packets_min_sources: u64,
    /// Consecutive non-hot intervals after which an open episode closes.
    /// A shorter lull keeps the episode open. Default 3.
    pub close_after: usize,
    /// A port that has never been seen (see `new_campaign_max_prior_sources`)
    /// opens a `NewCampaign` alert when one interval reaches this many unique
    /// sources. Default 20.
    pub new_campaign_min_sources: u64,
    /// "Never seen" means every earlier interval of the series had at most
    /// this many unique sources. Default 0 (true silence).
    pub new_campaign_max_prior_sources: u64,
    /// Intervals of silence that must precede a `NewCampaign` alert; it may
    /// fire before `min_history` is reached. Default 10.
    pub new_campaign_min_history: usize,
    /// A packets-only spike is a [`crate::AlertKind::SingleSourceBurst`] when its busiest
    /// this-many sources carry `burst_min_share` of its excess packets (see [`crate::burst`]).
    /// 1 to 3 (a larger group is a campaign worth an alert); 0 turns the rule off. Default 3.
    pub burst_max_sources: usize,
    /// Share of the episode's packets above the baseline that the busiest
    /// `burst_max_sources` sources must carry, in (0, 1]. Default 0.8.
    pub burst_min_share: f64,
}

impl Default for DetectConfig {
    fn default() -> Self {
        Self {
            baseline_intervals: 60,
            min_history: 30,
            threshold: 6.0,
            min_ratio: 3.0,
            min_packets: 30,
            min_sources: 10,
            packets_min_sources: 10,
            close_after: 3,
            new_campaign_min_sources: 20,
            new_campaign_max_prior_sources: 0,
            new_campaign_min_history: 10,
            burst_max_sources: 3,
            burst_min_share: 0.8,
        }
    }
}

/// A [`DetectConfig`] value that makes no sense.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// `baseline_intervals` is 0: there would be no baseline.
    #[error("detect.baseline_intervals must be at least 1")]
    EmptyWindow,
    /// `threshold` is not a finite number greater than 0.
    #[error("detect.threshold must be a finite number > 0, got {0}")]
    Threshold(f64),
    /// `min_ratio` is not a finite number ≥ 1.
    #[error("detect.min_ratio must be a finite number >= 1, got {0}")]
    MinRatio(f64),
    /// `close_after` is 0: an episode could never stay open across a lull.
    #[error("detect.close_after must be at least 1")]
    CloseAfter,
    /// `burst_max_sources` is over 3: more sources than that are a group, not a burst.
    #[error("detect.burst_max_sources must be 0 (off) to 3, got {0}")]
    BurstMaxSources(usize),
    /// `burst_min_share` is not a finite number in (0, 1].
    #[error("detect.burst_min_share must be a number > 0 and <= 1, got {0}")]
    BurstMinShare(f64),
}

impl DetectConfig {
    /// Checks the values for sense. [`crate::detect`] never panics on a bad
    /// config, but its results are only meaningful for a valid one; call this
    /// when loading the user's file.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.baseline_intervals == 0 {
            return Err(ConfigError::EmptyWindow);
        }
        if !(self.threshold.is_finite() && self.threshold > 0.0) {
            return Err(ConfigError::Threshold(self.threshold));
        }
        if !(self.min_ratio.is_finite() && self.min_ratio >= 1.0) {
            return Err(ConfigError::MinRatio(self.min_ratio));
        }
        if self.close_after == 0 {
            return Err(ConfigError::CloseAfter);
        }
        if self.burst_max_sources > crate::burst::MAX_BURST_SOURCES {
            return Err(ConfigError::BurstMaxSources(self.burst_max_sources));
        }
        if !(self.burst_min_share > 0.0 && self.burst_min_share <= 1.0) {
            return Err(ConfigError::BurstMinShare(self.burst_min_share));
        }
        Ok(())
    }

    /// `min_history`, capped at the window length (a window can never hold
    /// more than `baseline_intervals` values).
    pub(crate) fn effective_min_history(&self) -> usize {
        self.min_history.min(self.baseline_intervals)
    }
}
