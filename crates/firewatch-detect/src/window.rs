//! A bounded window of counts with O(log w + w) insert/evict and O(w)
//! median/MAD, allocation-free after warm-up.

use std::collections::VecDeque;

/// Consistency constant that turns a MAD into an estimate of σ for normal data.
pub(crate) const MAD_SCALE: f64 = 1.4826;

/// The last `cap` accepted values, kept both in arrival order (for eviction)
/// and sorted (for order statistics).
#[derive(Debug, Clone)]
pub(crate) struct Window {
    cap: usize,
    order: VecDeque<u64>,
    sorted: Vec<u64>,
}

impl Window {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            cap,
            order: VecDeque::with_capacity(cap + 1),
            sorted: Vec::with_capacity(cap + 1),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Adds a value, evicting the oldest when full. A zero-capacity window
    /// stays empty.
    pub(crate) fn push(&mut self, x: u64) {
        if self.cap == 0 {
            return;
        }
        if self.order.len() == self.cap
            && let Some(old) = self.order.pop_front()
            && let Ok(i) = self.sorted.binary_search(&old)
        {
            self.sorted.remove(i);
        }
        self.order.push_back(x);
        let i = self.sorted.partition_point(|&v| v < x);
        self.sorted.insert(i, x);
    }

    /// Median and robust scale `max(1.4826·MAD, √median, 1)`.
    /// An empty window gives `(0, 1)`.
    pub(crate) fn stats(&self) -> (f64, f64) {
        let a = &self.sorted;
        let n = a.len();
        if n == 0 {
            return (0.0, 1.0);
        }
        let med = if n % 2 == 1 {
            a[n / 2] as f64
        } else {
            (a[n / 2 - 1] as f64 + a[n / 2] as f64) / 2.0
        };
        let mad = mad_sorted(a, med);
        let scale = (MAD_SCALE * mad).max(med.sqrt()).max(1.0);
        (med, scale)
    }
}

/// Median absolute deviation of a sorted slice around `med`, in O(n) by
/// merging the two already-sorted runs of deviations (left of the median
/// going down, right of it going up).
fn mad_sorted(a: &[u64], med: f64) -> f64 {
    let n = a.len();
    let split = a.partition_point(|&v| (v as f64) < med);
    // Left run: a[split-1], a[split-2], ... ; right run: a[split], a[split+1], ...
    let mut l = split; // next left element is a[l-1]
    let mut r = split;
    let lo_rank = (n - 1) / 2;
    let hi_rank = n / 2;
    let mut lo = 0.0;
    for rank in 0..=hi_rank {
        let dl = if l > 0 {
            Some(med - a[l - 1] as f64)
        } else {
            None
        };
        let dr = if r < n { Some(a[r] as f64 - med) } else { None };
        let d = match (dl, dr) {
            (Some(x), Some(y)) if x <= y => {
                l -= 1;
                x
            }
            (Some(_), Some(y)) => {
                r += 1;
                y
            }
            (Some(x), None) => {
                l -= 1;
                x
            }
            (None, Some(y)) => {
                r += 1;
                y
            }
            (None, None) => break,
        };
        if rank == lo_rank {
            lo = d;
        }
        if rank == hi_rank {
            return (lo + d) / 2.0;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(values: &[u64]) -> (f64, f64) {
        let median = |v: &mut Vec<f64>| {
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
            let n = v.len();
            if n % 2 == 1 {
                v[n / 2]
            } else {
                (v[n / 2 - 1] + v[n / 2]) / 2.0
            }
        };
        let mut v: Vec<f64> = values.iter().map(|&x| x as f64).collect();
        let med = median(&mut v);
        let mut dev: Vec<f64> = values.iter().map(|&x| (x as f64 - med).abs()).collect();
        let mad = median(&mut dev);
        (med, (MAD_SCALE * mad).max(med.sqrt()).max(1.0))
    }

    #[test]
    fn matches_naive_median_and_mad() {
        let mut state = 12345u64;
        for cap in [1usize, 2, 3, 7, 60] {
            let mut w = Window::new(cap);
            let mut all = Vec::new();
            for _ in 0..500 {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let x = (state >> 33) % 50;
                w.push(x);
                all.push(x);
                let tail = &all[all.len().saturating_sub(cap)..];
                assert_eq!(w.stats(), naive(tail), "cap {cap} tail {tail:?}");
            }
        }
    }

    #[test]
    fn empty_and_zero_capacity() {
        let mut w = Window::new(0);
        w.push(5);
        assert_eq!(w.len(), 0);
        assert_eq!(w.stats(), (0.0, 1.0));
    }
}
