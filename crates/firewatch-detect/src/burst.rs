//! Single-source bursts: a packets spike that one or a few hosts made on their own.
//!
//! The detector sees only per-interval totals, so one scanner hammering a port for a few
//! minutes looks like a port-wide spike. Given the sources behind an episode, the rule is:
//! an episode that the **packets metric alone** opened (its unique sources stayed normal) is
//! a [`AlertKind::SingleSourceBurst`] when its busiest `burst_max_sources` sources carry at
//! least `burst_min_share` of its **excess** packets, the packets above the frozen baseline
//! (`baseline_packets × intervals`). The excess, not the total, is what made the alert: on a
//! busy port the background's own sources would otherwise dilute the burster's share. A new
//! campaign, or an episode the unique sources also triggered, is never a burst: many new
//! sources are a campaign whoever sends the most packets.
//!
//! ```
//! use firewatch_detect::{AlertKind, DetectConfig, Detection, Metric, burst};
//! let d = Detection {
//!     kind: AlertKind::Spike,
//!     triggered_by: vec![Metric::Packets],
//!     start: 0, end: Some(300), peak_interval: 60, peak_packets: 387, peak_sources: 14,
//!     baseline_packets: 40.0, baseline_sources: 12.0, magnitude: 9.7, score: 40.0,
//! };
//! // 5 intervals, 200 background packets; one scanner sent 1 000 more.
//! let mut sources = vec![1_000];
//! sources.extend(std::iter::repeat_n(10, 20));
//! assert_eq!(burst::classify(&d, 5, &sources, &DetectConfig::default()), AlertKind::SingleSourceBurst);
//! // The same excess spread over 100 sources is a spike.
//! let spread = vec![12; 100];
//! assert_eq!(burst::classify(&d, 5, &spread, &DetectConfig::default()), AlertKind::Spike);
//! ```

use crate::{AlertKind, DetectConfig, Detection, Metric};

/// The largest `burst_max_sources` allowed: more sources than this are a group.
pub const MAX_BURST_SOURCES: usize = 3;

/// The kind an episode is reported as, given `source_packets`: each source's packets to the
/// port over the episode's `intervals` intervals (any order; their sum is the episode's
/// packets). The detector's kind unless the burst rule (module docs) applies.
pub fn classify(
    episode: &Detection,
    intervals: u64,
    source_packets: &[u64],
    cfg: &DetectConfig,
) -> AlertKind {
    let qualifies = episode.kind == AlertKind::Spike
        && episode.triggered_by == [Metric::Packets]
        && cfg.burst_max_sources > 0;
    let burst = qualifies
        && excess_share(episode, intervals, source_packets, cfg.burst_max_sources)
            .is_some_and(|s| s >= cfg.burst_min_share);
    if burst {
        AlertKind::SingleSourceBurst
    } else {
        episode.kind
    }
}

/// Share of the episode's excess packets (above `baseline_packets × intervals`) that its
/// busiest `k` sources sent; above 1 when they sent more than the excess. `None` when there
/// is no excess.
pub fn excess_share(
    episode: &Detection,
    intervals: u64,
    source_packets: &[u64],
    k: usize,
) -> Option<f64> {
    let total: u64 = source_packets.iter().sum();
    let excess = total as f64 - episode.baseline_packets.max(0.0) * intervals as f64;
    if excess <= 0.0 {
        return None;
    }
    let mut sorted = source_packets.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let top: u64 = sorted.iter().take(k).sum();
    Some(top as f64 / excess)
}

/// How many intervals an episode covers: from its start to its end, or to
/// `last_interval_start` (the series' last) while it is ongoing.
pub fn episode_intervals(episode: &Detection, interval_secs: i64, last_interval_start: i64) -> u64 {
    let step = interval_secs.max(1);
    let last = episode
        .end
        .map_or(last_interval_start, |end| end.saturating_sub(step));
    (last.saturating_sub(episode.start) / step + 1).max(1) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spike(triggered_by: Vec<Metric>, baseline_packets: f64) -> Detection {
        Detection {
            kind: AlertKind::Spike,
            triggered_by,
            start: 600,
            end: Some(900),
            peak_interval: 660,
            peak_packets: 400,
            peak_sources: 15,
            baseline_packets,
            baseline_sources: 12.0,
            magnitude: 10.0,
            score: 30.0,
        }
    }

    /// `background` packets spread over 12-packet sources, plus the given heavy sources.
    fn sources(heavy: &[u64], background: u64) -> Vec<u64> {
        let mut v = heavy.to_vec();
        v.extend(std::iter::repeat_n(12, (background / 12) as usize));
        v
    }

    #[test]
    fn one_scanner_making_the_excess_is_a_burst() {
        // The issue's case: 276 of an interval's 387 packets from one scanner, baseline ≈ 110.
        let d = spike(vec![Metric::Packets], 110.0);
        let s = sources(&[276], 108);
        let share = excess_share(&d, 1, &s, 1).unwrap();
        assert!((share - 276.0 / 274.0).abs() < 1e-9, "{share}");
        let cfg = DetectConfig::default();
        assert_eq!(classify(&d, 1, &s, &cfg), AlertKind::SingleSourceBurst);
        // Two bursters share it just as well.
        let s = sources(&[900, 700], 3 * 110);
        assert_eq!(classify(&d, 3, &s, &cfg), AlertKind::SingleSourceBurst);
    }

    #[test]
    fn excess_from_many_sources_stays_a_spike() {
        let d = spike(vec![Metric::Packets], 40.0);
        // 5 intervals: 200 expected, 1 400 seen from 116 sources of 12 packets.
        let s = sources(&[], 1_400);
        let cfg = DetectConfig::default();
        assert!(excess_share(&d, 5, &s, 3).unwrap() < 0.1);
        assert_eq!(classify(&d, 5, &s, &cfg), AlertKind::Spike);
        // Three sources with about 70 % of the excess: under the 0.8 share.
        let s = sources(&[300, 300, 240], 200 + 360);
        let share = excess_share(&d, 5, &s, 3).unwrap();
        assert!((0.65..0.75).contains(&share), "{share}");
        assert_eq!(classify(&d, 5, &s, &cfg), AlertKind::Spike);
        // A fourth big source does not count with the default k = 3.
        let s = sources(&[400, 400, 400, 400], 200);
        assert!(excess_share(&d, 5, &s, 3).unwrap() < 0.8);
        assert_eq!(classify(&d, 5, &s, &cfg), AlertKind::Spike);
    }

    #[test]
    fn only_packets_only_spikes_qualify() {
        let s = sources(&[1_000], 200);
        let cfg = DetectConfig::default();
        let both = spike(vec![Metric::Packets, Metric::UniqueSources], 40.0);
        assert_eq!(classify(&both, 5, &s, &cfg), AlertKind::Spike);
        let mut campaign = spike(vec![Metric::Packets], 0.0);
        campaign.kind = AlertKind::NewCampaign;
        assert_eq!(classify(&campaign, 5, &s, &cfg), AlertKind::NewCampaign);
        let off = DetectConfig {
            burst_max_sources: 0,
            ..cfg.clone()
        };
        let d = spike(vec![Metric::Packets], 40.0);
        assert_eq!(classify(&d, 5, &s, &off), AlertKind::Spike);
        assert_eq!(classify(&d, 5, &s, &cfg), AlertKind::SingleSourceBurst);
    }

    #[test]
    fn no_excess_no_burst() {
        let d = spike(vec![Metric::Packets], 100.0);
        assert_eq!(excess_share(&d, 5, &[300, 100], 3), None);
        assert_eq!(excess_share(&d, 5, &[], 3), None);
        let cfg = DetectConfig::default();
        assert_eq!(classify(&d, 5, &[300, 100], &cfg), AlertKind::Spike);
    }

    #[test]
    fn config_is_validated() {
        let cfg = DetectConfig::default();
        let with = |k, share| DetectConfig {
            burst_max_sources: k,
            burst_min_share: share,
            ..cfg.clone()
        };
        assert!(with(0, 0.8).validate().is_ok());
        assert!(with(3, 1.0).validate().is_ok());
        assert!(with(4, 0.8).validate().is_err());
        for share in [0.0, 1.5, f64::NAN] {
            assert!(with(1, share).validate().is_err(), "{share}");
        }
        let text = "burst_max_sources = 1\nburst_min_share = 0.9";
        let parsed: DetectConfig = toml::from_str(text).unwrap();
        assert_eq!(parsed, with(1, 0.9));
    }

    #[test]
    fn intervals_of_closed_and_ongoing_episodes() {
        let mut d = spike(vec![Metric::Packets], 1.0);
        assert_eq!(episode_intervals(&d, 60, 6000), 5);
        d.end = None;
        assert_eq!(episode_intervals(&d, 60, 600), 1);
        assert_eq!(episode_intervals(&d, 60, 1200), 11);
    }
}
