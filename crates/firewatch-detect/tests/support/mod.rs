//! Deterministic test data: a tiny PRNG and Poisson-like sampling.
#![allow(dead_code)]

use firewatch_detect::SeriesPoint;

/// SplitMix64: small, fast, good enough for test data, fully reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform integer in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.f64().max(f64::MIN_POSITIVE);
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Poisson(λ): exact (Knuth) for small λ, rounded normal approximation
    /// for λ ≥ 30.
    pub fn poisson(&mut self, lambda: f64) -> u64 {
        if lambda <= 0.0 {
            return 0;
        }
        if lambda < 30.0 {
            let l = (-lambda).exp();
            let mut k = 0u64;
            let mut p = 1.0;
            loop {
                p *= self.f64();
                if p <= l {
                    return k;
                }
                k += 1;
            }
        }
        (lambda + lambda.sqrt() * self.normal()).round().max(0.0) as u64
    }
}

pub const T0: i64 = 1_700_000_000;
pub const STEP: i64 = 60;

/// Builds a dense series from (packets, sources) pairs, 60 s apart.
pub fn series(values: impl IntoIterator<Item = (u64, u64)>) -> Vec<SeriesPoint> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, (packets, unique_sources))| SeriesPoint {
            interval_start: T0 + i as i64 * STEP,
            packets,
            unique_sources,
        })
        .collect()
}

/// Interval start of index `i` in a [`series`].
pub fn at(i: usize) -> i64 {
    T0 + i as i64 * STEP
}
