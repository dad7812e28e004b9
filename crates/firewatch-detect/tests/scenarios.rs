//! Hand-made series with a known answer.

mod support;

use firewatch_detect::{AlertKind, DetectConfig, Metric, baseline, detect};
use support::{Rng, STEP, at, series};

fn cfg() -> DetectConfig {
    DetectConfig::default()
}

/// Packets-only scenarios: spikes by the background's own 8–10 sources.
fn cfg_any_sources() -> DetectConfig {
    DetectConfig {
        packets_min_sources: 0,
        ..DetectConfig::default()
    }
}

#[test]
fn a_burst_from_a_handful_of_sources_is_not_a_port_alert() {
    // 3 sources send 10× the port's packets: their activity, not a port-wide event.
    let s = series((0..200).map(|i| {
        if (150..155).contains(&i) {
            (220, 3)
        } else {
            (20, 3)
        }
    }));
    assert!(detect(&s, STEP, &cfg()).is_empty());
    assert_eq!(detect(&s, STEP, &cfg_any_sources()).len(), 1);
}

/// Background of ~20 packets / 8 sources with a little deterministic wiggle.
fn background(i: usize) -> (u64, u64) {
    (20 + (i as u64 * 7) % 5, 8 + (i as u64 * 3) % 3)
}

#[test]
fn constant_background_gives_no_alert() {
    let s = series((0..5_000).map(|_| (20, 8)));
    assert!(detect(&s, STEP, &cfg()).is_empty());
    let s = series((0..5_000).map(background));
    assert!(detect(&s, STEP, &cfg()).is_empty());
}

#[test]
fn all_zero_and_empty_series_give_no_alert() {
    assert!(detect(&[], STEP, &cfg()).is_empty());
    assert!(baseline(&[], &cfg()).is_empty());
    let s = series((0..1_000).map(|_| (0, 0)));
    assert!(detect(&s, STEP, &cfg()).is_empty());
}

#[test]
fn ten_x_step_of_20_intervals_is_one_closed_spike() {
    let s = series((0..300).map(|i| {
        let (p, src) = background(i);
        if (100..120).contains(&i) {
            (p * 10, src * 10)
        } else {
            (p, src)
        }
    }));
    let d = detect(&s, STEP, &cfg());
    assert_eq!(d.len(), 1, "{d:#?}");
    let a = &d[0];
    assert_eq!(a.kind, AlertKind::Spike);
    assert_eq!(a.start, at(100));
    assert_eq!(a.end, Some(at(119) + STEP));
    assert!(!a.is_ongoing());
    assert_eq!(a.triggered_by, vec![Metric::Packets, Metric::UniqueSources]);
    assert!((20.0..=24.0).contains(&a.baseline_packets));
    assert!(a.magnitude > 8.0 && a.magnitude < 13.0, "{}", a.magnitude);
    assert!(a.score >= 6.0);
    assert!(a.peak_interval >= at(100) && a.peak_interval <= at(119));
    assert_eq!(a.peak_packets, 240);
}

#[test]
fn spike_running_to_the_end_is_ongoing() {
    let s = series((0..150).map(|i| {
        let (p, src) = background(i);
        if i >= 130 { (p * 10, src) } else { (p, src) }
    }));
    let d = detect(&s, STEP, &cfg_any_sources());
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].start, at(130));
    assert_eq!(d[0].end, None);
    assert!(d[0].is_ongoing());
    assert_eq!(d[0].triggered_by, vec![Metric::Packets]);
}

#[test]
fn short_lull_keeps_episode_open_long_quiet_gap_splits() {
    // Lull of 2 (< close_after = 3): one episode.
    let s = series((0..300).map(|i| {
        let (p, src) = background(i);
        let hot = (100..110).contains(&i) || (112..120).contains(&i);
        if hot { (p * 10, src) } else { (p, src) }
    }));
    let d = detect(&s, STEP, &cfg_any_sources());
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!((d[0].start, d[0].end), (at(100), Some(at(120))));

    // Two spikes with a long quiet gap: two episodes.
    let s = series((0..400).map(|i| {
        let (p, src) = background(i);
        let hot = (100..110).contains(&i) || (250..265).contains(&i);
        if hot { (p * 10, src) } else { (p, src) }
    }));
    let d = detect(&s, STEP, &cfg_any_sources());
    assert_eq!(d.len(), 2, "{d:#?}");
    assert_eq!((d[0].start, d[0].end), (at(100), Some(at(110))));
    assert_eq!((d[1].start, d[1].end), (at(250), Some(at(265))));
}

#[test]
fn spike_on_sources_only() {
    let s = series((0..200).map(|i| {
        let (p, src) = background(i);
        if (120..130).contains(&i) {
            (p, 60)
        } else {
            (p, src)
        }
    }));
    let d = detect(&s, STEP, &cfg());
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].kind, AlertKind::Spike);
    assert_eq!(d[0].triggered_by, vec![Metric::UniqueSources]);
    assert_eq!(d[0].peak_sources, 60);
    assert!(d[0].magnitude > 6.0);
}

#[test]
fn never_seen_port_with_50_sources_is_new_campaign() {
    // 15 silent intervals: below min_history (30) but above
    // new_campaign_min_history (10).
    let s = series((0..40).map(|i| if i >= 15 { (400, 50) } else { (0, 0) }));
    let d = detect(&s, STEP, &cfg());
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].kind, AlertKind::NewCampaign);
    assert_eq!(d[0].start, at(15));
    assert_eq!(d[0].end, None);
    // Before min_history only the campaign rule (on sources) can fire.
    assert_eq!(d[0].triggered_by, vec![Metric::UniqueSources]);
    assert_eq!(d[0].baseline_sources, 0.0);
    assert_eq!(d[0].magnitude, 50.0);
    assert_eq!((d[0].peak_packets, d[0].peak_sources), (400, 50));

    // Closed campaign after a long silence, then later activity is a spike,
    // not a new campaign.
    let s = series((0..300).map(|i| match i {
        50..60 => (300, 50),
        200..210 => (300, 50),
        _ => (0, 0),
    }));
    let d = detect(&s, STEP, &cfg());
    assert_eq!(d.len(), 2, "{d:#?}");
    assert_eq!(d[0].kind, AlertKind::NewCampaign);
    assert_eq!((d[0].start, d[0].end), (at(50), Some(at(60))));
    assert_eq!(d[1].kind, AlertKind::Spike);
    assert_eq!(d[1].start, at(200));
}

#[test]
fn new_campaign_needs_silence_and_enough_sources() {
    // Too little silence before it.
    let s = series((0..40).map(|i| if i >= 5 { (400, 50) } else { (0, 0) }));
    assert!(detect(&s, STEP, &cfg()).is_empty());
    // Not enough sources (and too early for a spike).
    let s = series((0..25).map(|i| if i >= 15 { (400, 12) } else { (0, 0) }));
    assert!(detect(&s, STEP, &cfg()).is_empty());
    // The port was not silent before: it is an ordinary spike, or nothing.
    let s = series((0..25).map(|i| if i >= 15 { (400, 50) } else { (2, 1) }));
    assert!(detect(&s, STEP, &cfg()).is_empty());
}

#[test]
fn sparse_poisson_port_gives_no_alert() {
    let mut rng = Rng::new(7);
    let s = series((0..10_000).map(|_| {
        let p = rng.poisson(0.5);
        (p, p.min(rng.poisson(0.5)))
    }));
    assert!(detect(&s, STEP, &cfg()).is_empty());
    // The scale floor is what protects it: MAD is 0 there.
    let b = baseline(&s, &cfg());
    let last = b.last().unwrap().unwrap();
    assert_eq!(last.packets_scale, 1.0);
}

#[test]
fn long_spike_does_not_become_its_own_baseline() {
    // 10× for 500 intervals, far longer than the 60-interval window.
    let s = series((0..800).map(|i| {
        let (p, src) = background(i);
        if (100..600).contains(&i) {
            (p * 10, src * 10)
        } else {
            (p, src)
        }
    }));
    let d = detect(&s, STEP, &cfg());
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!((d[0].start, d[0].end), (at(100), Some(at(600))));
    let b = baseline(&s, &cfg());
    for i in [100, 300, 599] {
        let bi = b[i].unwrap();
        assert!(bi.packets_median < 30.0, "interval {i}: {bi:?}");
        assert!(bi.sources_median < 12.0, "interval {i}: {bi:?}");
    }
    // After the episode, the window is back on the background.
    assert!(b[700].unwrap().packets_median < 30.0);
}

#[test]
fn baseline_is_none_before_min_history() {
    let s = series((0..100).map(background));
    let b = baseline(&s, &cfg());
    assert_eq!(b.len(), 100);
    assert!(b[..30].iter().all(Option::is_none));
    assert!(b[30..].iter().all(Option::is_some));
    let b40 = b[40].unwrap();
    assert_eq!(b40.interval_start, at(40));
    assert!((20.0..=24.0).contains(&b40.packets_median));
    assert!(b40.packets_scale >= b40.packets_median.sqrt());
}

#[test]
fn busy_port_needs_the_ratio_not_just_z() {
    // λ = 1000 with low noise: +20% is many robust σ but below 3× median.
    let s = series((0..200).map(|i| {
        let p = 1000 + (i as u64 % 7);
        if i >= 150 { (1200, 100) } else { (p, 100) }
    }));
    assert!(detect(&s, STEP, &cfg()).is_empty());
}

#[test]
fn config_defaults_toml_and_validation() {
    let c: DetectConfig = toml::from_str("").unwrap();
    assert_eq!(c, DetectConfig::default());
    assert!(c.validate().is_ok());
    let c: DetectConfig = toml::from_str("threshold = 4.5\nclose_after = 5").unwrap();
    assert_eq!((c.threshold, c.close_after, c.min_history), (4.5, 5, 30));
    let err = toml::from_str::<DetectConfig>("treshold = 4.5").unwrap_err();
    assert!(err.to_string().contains("treshold"), "{err}");
    let bad = DetectConfig {
        baseline_intervals: 0,
        ..DetectConfig::default()
    };
    assert!(bad.validate().is_err());
    let bad = DetectConfig {
        threshold: f64::NAN,
        ..DetectConfig::default()
    };
    assert!(bad.validate().is_err());
    // Round trip through TOML.
    let text = toml::to_string(&DetectConfig::default()).unwrap();
    assert_eq!(
        toml::from_str::<DetectConfig>(&text).unwrap(),
        DetectConfig::default()
    );
}

#[test]
fn detection_serializes_with_snake_case_kinds() {
    let s = series((0..40).map(|i| if i >= 15 { (400, 50) } else { (0, 0) }));
    let d = detect(&s, STEP, &cfg());
    let json = serde_json::to_value(&d[0]).unwrap();
    assert_eq!(json["kind"], "new_campaign");
    assert_eq!(json["triggered_by"][0], "unique_sources");
    assert!(json["end"].is_null());
}
