//! Property tests: `detect` and `baseline` never panic and keep their
//! invariants on arbitrary series and configs.

use firewatch_detect::{DetectConfig, SeriesPoint, baseline, detect};
use proptest::prelude::*;

fn arb_series() -> impl Strategy<Value = (Vec<SeriesPoint>, i64)> {
    (
        -1_000_000_000i64..2_000_000_000,
        prop_oneof![Just(1i64), Just(60), Just(300), Just(3600)],
        prop::collection::vec(
            prop_oneof![
                3 => (0u64..5, 0u64..3),
                2 => (0u64..2_000, 0u64..200),
                1 => (any::<u64>(), any::<u64>()),
            ],
            0..400,
        ),
    )
        .prop_map(|(t0, step, values)| {
            let s = values
                .into_iter()
                .enumerate()
                .map(|(i, (packets, unique_sources))| SeriesPoint {
                    interval_start: t0 + i as i64 * step,
                    packets,
                    unique_sources,
                })
                .collect();
            (s, step)
        })
}

fn arb_config() -> impl Strategy<Value = DetectConfig> {
    (
        0usize..80,
        0usize..80,
        prop_oneof![Just(f64::NAN), -1.0f64..20.0],
        0.0f64..10.0,
        0u64..50,
        0u64..50,
        0usize..6,
        0u64..50,
        0u64..5,
        0usize..20,
    )
        .prop_map(|(bi, mh, th, mr, mp, ms, ca, ncs, ncp, nch)| DetectConfig {
            baseline_intervals: bi,
            min_history: mh,
            threshold: th,
            min_ratio: mr,
            min_packets: mp,
            min_sources: ms,
            packets_min_sources: ms,
            close_after: ca,
            new_campaign_min_sources: ncs,
            new_campaign_max_prior_sources: ncp,
            new_campaign_min_history: nch,
            ..DetectConfig::default()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn detections_are_sane((s, step) in arb_series(), cfg in arb_config()) {
        let dets = detect(&s, step, &cfg);
        let b = baseline(&s, &cfg);
        prop_assert_eq!(b.len(), s.len());
        if s.is_empty() {
            prop_assert!(dets.is_empty());
        }
        for w in dets.windows(2) {
            prop_assert!(w[0].start < w[1].start, "not sorted: {:?}", dets);
            // Episodes do not overlap.
            prop_assert!(w[0].end.is_some_and(|e| e <= w[1].start), "{:?}", dets);
        }
        for (k, d) in dets.iter().enumerate() {
            let first = s[0].interval_start;
            let last = s[s.len() - 1].interval_start;
            prop_assert!(d.start >= first && d.start <= last);
            prop_assert!(d.peak_interval >= d.start && d.peak_interval <= last);
            if let Some(end) = d.end {
                prop_assert!(end >= d.start);
                prop_assert!(end <= last + step);
                prop_assert!(d.peak_interval < end);
            } else {
                prop_assert_eq!(k, dets.len() - 1, "only the last episode can be ongoing");
            }
            prop_assert!(!d.triggered_by.is_empty());
            prop_assert!(d.score.is_finite() && d.magnitude.is_finite());
        }
    }

    #[test]
    fn default_config_gives_sane_scores((s, step) in arb_series()) {
        let cfg = DetectConfig::default();
        for d in detect(&s, step, &cfg) {
            prop_assert!(d.score >= cfg.threshold || d.kind == firewatch_detect::AlertKind::NewCampaign);
            prop_assert!(d.end.is_none_or(|e| e > d.start));
        }
        for b in baseline(&s, &cfg).into_iter().flatten() {
            prop_assert!(b.packets_scale >= 1.0 && b.sources_scale >= 1.0);
            prop_assert!(b.packets_scale >= b.packets_median.sqrt());
        }
    }
}
