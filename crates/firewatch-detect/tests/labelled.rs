//! Labelled synthetic data: 200 seeded series with Poisson-like background of
//! varied rate and planted spikes of known start; measures precision/recall.

mod support;

use firewatch_detect::{DetectConfig, detect};
use support::{Rng, STEP, at, series};

/// A planted spike: start index and length in intervals.
struct Planted {
    start: usize,
    len: usize,
}

/// Packets rate λ in 0.2 … 500 (log-uniform), sources rate ≈ √λ (darknet
/// ports see a few sources sending many packets each). A planted spike
/// multiplies both by a ratio of 5–20. On near-silent ports the spike is
/// relative to a rate of at least 8 packets / 2 sources per interval: a 10×
/// jump from 0.2 to 2 packets is not an event anyone should be paged for, and
/// the absolute floors (`min_packets`, `min_sources`) deliberately ignore it.
fn generate(rng: &mut Rng, overdispersion: f64) -> (Vec<(u64, u64)>, Vec<Planted>) {
    let n = 2_000;
    let lambda = (0.2f64.ln() + rng.f64() * (500f64.ln() - 0.2f64.ln())).exp();
    let src_lambda = lambda.sqrt().min(lambda);
    let mut planted = Vec::new();
    let mut next = 60 + rng.range(0, 200) as usize;
    while next + 30 < n {
        let len = rng.range(5, 30) as usize;
        let ratio = 5.0 + rng.f64() * 15.0;
        planted.push((next, len, ratio));
        next += len + 60 + rng.range(0, 400) as usize;
    }
    let values = (0..n)
        .map(|i| {
            let spike = planted.iter().find(|&&(s, l, _)| (s..s + l).contains(&i));
            let (pl, sl) = match spike {
                Some(&(_, _, r)) => (lambda.max(8.0) * r, src_lambda.max(2.0) * r),
                None => (lambda, src_lambda),
            };
            // Log-normal rate noise turns Poisson into an overdispersed,
            // heavier-tailed count (0 = plain Poisson).
            let f = (overdispersion * rng.normal()).exp();
            let p = rng.poisson(pl * f);
            (p, rng.poisson(sl * f).min(p))
        })
        .collect();
    let planted = planted
        .into_iter()
        .map(|(start, len, _)| Planted { start, len })
        .collect();
    (values, planted)
}

/// Precision, recall, the largest start offset (in intervals) and the share
/// of matched alerts whose end is within 3 intervals of the true end, over
/// 200 generated series.
fn evaluate(seed: u64, overdispersion: f64) -> (f64, f64, i64, f64) {
    let cfg = DetectConfig::default();
    let mut rng = Rng::new(seed);
    let (mut tp, mut fp, mut planted_total, mut found) = (0usize, 0usize, 0usize, 0usize);
    let mut max_offset = 0i64;
    let mut end_ok = 0usize;
    for _ in 0..200 {
        let (values, planted) = generate(&mut rng, overdispersion);
        let s = series(values);
        let dets = detect(&s, STEP, &cfg);
        planted_total += planted.len();
        let mut matched = vec![false; planted.len()];
        for d in &dets {
            let hit = planted
                .iter()
                .position(|p| (d.start - at(p.start)).abs() <= STEP);
            match hit {
                Some(k) if !matched[k] => {
                    matched[k] = true;
                    tp += 1;
                    max_offset = max_offset.max((d.start - at(planted[k].start)).abs() / STEP);
                    let true_end = at(planted[k].start + planted[k].len);
                    if d.end.is_some_and(|e| (e - true_end).abs() <= 3 * STEP) {
                        end_ok += 1;
                    }
                }
                _ => fp += 1,
            }
        }
        found += matched.iter().filter(|&&m| m).count();
    }
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = found as f64 / planted_total.max(1) as f64;
    println!(
        "labelled data (overdispersion {overdispersion}): {planted_total} planted spikes in 200 series; {tp} true positives, \
         {fp} false positives; precision {precision:.4}, recall {recall:.4}; \
         largest start offset {max_offset} interval(s); {end_ok} of {tp} ends within 3 intervals"
    );
    let end_ok = end_ok as f64 / tp.max(1) as f64;
    (precision, recall, max_offset, end_ok)
}

#[test]
fn precision_and_recall_on_planted_spikes() {
    let (precision, recall, max_offset, end_ok) = evaluate(0x5EED_2026, 0.0);
    assert!(end_ok >= 0.95, "ends {end_ok}");
    assert!(recall >= 0.95, "recall {recall}");
    assert!(precision >= 0.9, "precision {precision}");
    assert!(max_offset <= 1);
}

/// Same, with a heavier-tailed background (rate × exp(0.3·N(0,1)) each
/// interval), closer to real telescope counts than plain Poisson.
#[test]
fn precision_and_recall_on_overdispersed_background() {
    let (precision, recall, max_offset, _) = evaluate(0xD15_2026, 0.3);
    assert!(recall >= 0.95, "recall {recall}");
    assert!(precision >= 0.9, "precision {precision}");
    assert!(max_offset <= 1);
}
