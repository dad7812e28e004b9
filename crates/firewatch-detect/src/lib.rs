//! Spike and new-campaign detection on per-port darknet time series.
//!
//! A darknet (network telescope) sees only unsolicited traffic, so a TCP/UDP
//! port whose packet count or number of distinct sources suddenly jumps is a
//! sign of a new scanning campaign, a worm, or a newly exploited service.
//! This crate turns a dense per-port series ([`SeriesPoint`] per interval)
//! into alert episodes ([`Detection`]). It is a pure library: no I/O, no
//! clock, deterministic.
//!
//! # Method
//!
//! For each interval and each metric (packets, unique sources) the baseline
//! is the **median** of the trailing [`DetectConfig::baseline_intervals`]
//! values before it, and the scale is `max(1.4826·MAD, √median, 1)`:
//! the MAD (median absolute deviation, scaled to estimate σ) is robust to the
//! past spikes a mean/σ baseline would swallow, while the floor stops a sparse
//! port (MAD = 0 because most intervals are 0) from alerting on one stray
//! packet — darknet counts are roughly Poisson, and a Poisson count with mean
//! λ has σ = √λ. The score is the robust z-score `z = (x − median)/scale`.
//!
//! An interval is **hot** on a metric when `z ≥ threshold`,
//! `x ≥ min_ratio × median` and `x ≥` the metric's absolute floor
//! (`min_packets` / `min_sources`). An **episode** opens on the first hot
//! interval and closes after `close_after` consecutive non-hot intervals.
//! While an episode is open the baseline is **frozen**: hot intervals never
//! enter the trailing window, so a long spike is not learnt as the new
//! normal. Overlapping packets and sources episodes are merged into one
//! [`Detection`]. A port that has been silent (≤
//! `new_campaign_max_prior_sources` sources in every earlier interval, for at
//! least `new_campaign_min_history` intervals) and suddenly shows
//! `new_campaign_min_sources` sources opens a [`AlertKind::NewCampaign`]
//! episode, even before `min_history` is reached.
//!
//! Which sources made an episode is not in the series: [`burst::classify`] tells a
//! packets-only spike made by one or a few hosts ([`AlertKind::SingleSourceBurst`]) from a
//! port-wide one, given the episode's per-source packets.
//!
//! The rationale (and the comparison with EWMA and ChangeFinder) is in
//! `docs/detection.md`.
//!
//! Cost: O(n · w) time for a series of n points and a window of w intervals,
//! O(w) memory besides the output.
//!
//! # Example
//!
//! ```
//! use firewatch_detect::{detect, AlertKind, DetectConfig, Metric, SeriesPoint};
//!
//! // One hour of quiet 60 s intervals on a port (about 10 packets from 4
//! // sources each), then a 20-interval burst ten times larger.
//! let series: Vec<SeriesPoint> = (0..100)
//!     .map(|i| {
//!         let burst = (60..80).contains(&i);
//!         SeriesPoint {
//!             interval_start: 1_700_000_000 + i * 60,
//!             packets: if burst { 100 } else { 10 + (i as u64 % 3) },
//!             unique_sources: if burst { 40 } else { 4 },
//!         }
//!     })
//!     .collect();
//!
//! let alerts = detect(&series, 60, &DetectConfig::default());
//! assert_eq!(alerts.len(), 1);
//! let a = &alerts[0];
//! assert_eq!(a.kind, AlertKind::Spike);
//! assert_eq!(a.triggered_by, vec![Metric::Packets, Metric::UniqueSources]);
//! assert_eq!(a.start, 1_700_000_000 + 60 * 60);
//! assert_eq!(a.end, Some(1_700_000_000 + 80 * 60));
//! assert!(a.magnitude >= 9.0);
//! ```

pub mod burst;
mod config;
mod window;

pub use config::{ConfigError, DetectConfig};
pub use firewatch_core::telescope::{AlertKind, Detection, Metric, SeriesPoint};

use serde::Serialize;
use window::Window;

/// The baseline in force at one interval, for plots: median and robust scale
/// of the trailing window (the window excludes alert-episode intervals, see
/// the crate docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Baseline {
    /// Start of the interval this baseline is compared against (Unix s).
    pub interval_start: i64,
    /// Median packets in the trailing window.
    pub packets_median: f64,
    /// Robust scale of packets: `max(1.4826·MAD, √median, 1)`.
    pub packets_scale: f64,
    /// Median unique sources in the trailing window.
    pub sources_median: f64,
    /// Robust scale of unique sources: `max(1.4826·MAD, √median, 1)`.
    pub sources_scale: f64,
}

/// The baseline in force at every interval of `series` (same length and
/// order). An entry is `None` until both metrics have `min_history`
/// intervals of (non-alert) history.
///
/// During an alert episode the baseline stays frozen at its value from
/// before the episode, exactly as [`detect`] uses it.
pub fn baseline(series: &[SeriesPoint], cfg: &DetectConfig) -> Vec<Option<Baseline>> {
    let mut out = Vec::with_capacity(series.len());
    run(series, cfg, Some(&mut out));
    out
}

/// Finds spike and new-campaign episodes in a dense per-port series.
///
/// `interval_secs` is the interval length, used for [`Detection::end`].
/// Returns one [`Detection`] per episode, sorted by start. Never panics, even
/// on an invalid config or a non-dense series (results are then meaningless;
/// see [`DetectConfig::validate`]).
pub fn detect(series: &[SeriesPoint], interval_secs: i64, cfg: &DetectConfig) -> Vec<Detection> {
    let episodes = run(series, cfg, None);
    merge(series, interval_secs, episodes)
}

/// One metric's episode, before merging packets with sources.
#[derive(Debug, Clone)]
struct Episode {
    metric: Metric,
    kind: AlertKind,
    start: usize,
    last_hot: usize,
    ongoing: bool,
    peak_idx: usize,
    peak_z: f64,
    peak_value: u64,
    /// This metric's median at the start.
    own_base: f64,
    base_packets: f64,
    base_sources: f64,
}

/// Baseline and episode state of one metric.
struct MetricState {
    metric: Metric,
    floor: u64,
    window: Window,
    open: Option<Episode>,
    /// Consecutive non-hot intervals in the open episode.
    gap: usize,
    /// Non-hot values seen while the episode was open; they join the window
    /// when it closes (only hot intervals are kept out for good).
    pending: Vec<u64>,
    done: Vec<Episode>,
}

/// What one interval looks like to one metric.
struct Obs {
    i: usize,
    x: u64,
    med: f64,
    scale: f64,
    eligible: bool,
    campaign: bool,
    base_packets: f64,
    base_sources: f64,
}

impl MetricState {
    fn new(metric: Metric, floor: u64, cfg: &DetectConfig) -> Self {
        Self {
            metric,
            floor,
            window: Window::new(cfg.baseline_intervals),
            open: None,
            gap: 0,
            pending: Vec::new(),
            done: Vec::new(),
        }
    }

    fn step(&mut self, o: &Obs, cfg: &DetectConfig) {
        let xf = o.x as f64;
        let z = (xf - o.med) / o.scale;
        let in_campaign = matches!(&self.open, Some(e) if e.kind == AlertKind::NewCampaign);
        let rule = z >= cfg.threshold && xf >= cfg.min_ratio * o.med && o.x >= self.floor;
        let campaign = o.campaign && self.open.is_none();
        let hot = (rule && (o.eligible || in_campaign)) || campaign;
        if hot {
            self.gap = 0;
            match &mut self.open {
                Some(e) => {
                    e.last_hot = o.i;
                    if z > e.peak_z {
                        e.peak_z = z;
                        e.peak_idx = o.i;
                    }
                    e.peak_value = e.peak_value.max(o.x);
                }
                None => {
                    self.open = Some(Episode {
                        metric: self.metric,
                        kind: if campaign {
                            AlertKind::NewCampaign
                        } else {
                            AlertKind::Spike
                        },
                        start: o.i,
                        last_hot: o.i,
                        ongoing: false,
                        peak_idx: o.i,
                        peak_z: z,
                        peak_value: o.x,
                        own_base: o.med,
                        base_packets: o.base_packets,
                        base_sources: o.base_sources,
                    });
                }
            }
        } else if self.open.is_some() {
            self.gap += 1;
            self.pending.push(o.x);
            if self.gap >= cfg.close_after
                && let Some(e) = self.open.take()
            {
                self.done.push(e);
                self.gap = 0;
                for v in self.pending.drain(..) {
                    self.window.push(v);
                }
            }
        } else {
            self.window.push(o.x);
        }
    }

    fn finish(mut self) -> Vec<Episode> {
        if let Some(mut e) = self.open.take() {
            e.ongoing = true;
            self.done.push(e);
        }
        self.done
    }
}

/// The single pass behind [`detect`] and [`baseline`].
fn run(
    series: &[SeriesPoint],
    cfg: &DetectConfig,
    mut baselines: Option<&mut Vec<Option<Baseline>>>,
) -> Vec<Episode> {
    let min_hist = cfg.effective_min_history();
    let mut packets = MetricState::new(Metric::Packets, cfg.min_packets, cfg);
    let mut sources = MetricState::new(Metric::UniqueSources, cfg.min_sources, cfg);
    let mut max_prior_sources = 0u64;
    for (i, p) in series.iter().enumerate() {
        let (pm, psc) = packets.window.stats();
        let (sm, ssc) = sources.window.stats();
        let p_ok = packets.window.len() >= min_hist;
        let s_ok = sources.window.len() >= min_hist;
        if let Some(out) = baselines.as_deref_mut() {
            out.push((p_ok && s_ok).then_some(Baseline {
                interval_start: p.interval_start,
                packets_median: pm,
                packets_scale: psc,
                sources_median: sm,
                sources_scale: ssc,
            }));
        }
        let campaign = i >= cfg.new_campaign_min_history
            && max_prior_sources <= cfg.new_campaign_max_prior_sources
            && p.unique_sources >= cfg.new_campaign_min_sources;
        let obs = |x, med, scale, eligible, campaign| Obs {
            i,
            x,
            med,
            scale,
            eligible,
            campaign,
            base_packets: pm,
            base_sources: sm,
        };
        let p_eligible = p_ok && p.unique_sources >= cfg.packets_min_sources;
        packets.step(&obs(p.packets, pm, psc, p_eligible, false), cfg);
        sources.step(&obs(p.unique_sources, sm, ssc, s_ok, campaign), cfg);
        max_prior_sources = max_prior_sources.max(p.unique_sources);
    }
    let mut all = packets.finish();
    all.extend(sources.finish());
    all.sort_by_key(|e| (e.start, e.metric != Metric::Packets));
    all
}

/// Merges time-overlapping packets/sources episodes into detections.
fn merge(series: &[SeriesPoint], interval_secs: i64, episodes: Vec<Episode>) -> Vec<Detection> {
    let mut out = Vec::new();
    let mut iter = episodes.into_iter().peekable();
    while let Some(first) = iter.next() {
        let mut group = vec![first];
        let mut reach = reach_of(&group[0]);
        while let Some(next) = iter.next_if(|e| e.start <= reach) {
            reach = reach.max(reach_of(&next));
            group.push(next);
        }
        out.push(to_detection(series, interval_secs, &group));
    }
    out
}

/// Last index an episode covers, for overlap tests (an ongoing one runs to
/// the end of the series).
fn reach_of(e: &Episode) -> usize {
    if e.ongoing { usize::MAX } else { e.last_hot }
}

fn to_detection(series: &[SeriesPoint], interval_secs: i64, group: &[Episode]) -> Detection {
    let first = &group[0];
    let start = first.start;
    let last_hot = group.iter().map(|e| e.last_hot).max().unwrap_or(start);
    let ongoing = group.iter().any(|e| e.ongoing);
    let kind = if group.iter().any(|e| e.kind == AlertKind::NewCampaign) {
        AlertKind::NewCampaign
    } else {
        AlertKind::Spike
    };
    let mut triggered_by = Vec::with_capacity(2);
    for m in [Metric::Packets, Metric::UniqueSources] {
        if group.iter().any(|e| e.metric == m) {
            triggered_by.push(m);
        }
    }
    let peak = group.iter().fold(
        first,
        |best, e| if e.peak_z > best.peak_z { e } else { best },
    );
    let magnitude = group
        .iter()
        .map(|e| e.peak_value as f64 / e.own_base.max(1.0))
        .fold(0.0, f64::max);
    let span = &series[start..=last_hot];
    Detection {
        kind,
        triggered_by,
        start: series[start].interval_start,
        end: (!ongoing).then(|| {
            series[last_hot]
                .interval_start
                .saturating_add(interval_secs)
        }),
        peak_interval: series[peak.peak_idx].interval_start,
        peak_packets: span.iter().map(|p| p.packets).max().unwrap_or(0),
        peak_sources: span.iter().map(|p| p.unique_sources).max().unwrap_or(0),
        baseline_packets: first.base_packets,
        baseline_sources: first.base_sources,
        magnitude,
        score: peak.peak_z,
    }
}
