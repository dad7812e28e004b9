//! From daily cells to published figures: normalisation by announced address space, DDoS
//! potential, the trend index, ranks, and small-cell suppression.

use crate::{AddressSpace, DailyCell, Day, MetricsConfig, MetricsError, Risk, Scope};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Who the figures are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The team itself: every event, no suppression.
    Internal,
    /// Anyone: only publishable events (TLP:CLEAR unless `release_all_tlp`), and no daily cell
    /// under the suppression threshold, nor any figure computed from one.
    Public,
}

/// The figures of one risk in one country or ASN on one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    pub day: Day,
    pub scope: Scope,
    pub key: String,
    pub risk: Risk,
    /// Distinct IPv4 addresses that day.
    pub unique_ips: u64,
    /// IPv4 addresses the country or ASN announces (None when the registry data has none).
    pub announced_ipv4: Option<u64>,
    /// `unique_ips` per million announced addresses, rounded to 3 decimals.
    pub per_million_addresses: Option<f64>,
    /// `unique_ips` × amplification factor × bandwidth per device, Gbit/s, rounded to 4
    /// decimals; amplifiers only.
    pub ddos_potential_gbps: Option<f64>,
    /// This ISO week's mean daily count over the base week's, × 100, rounded to 1 decimal.
    pub trend_index: Option<f64>,
    /// 1 = most unique addresses among the countries (ASNs) that day for this risk; equal
    /// counts share a rank (1, 2, 2, 4).
    pub rank: u32,
}

/// One risk in one country or ASN over a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub scope: Scope,
    pub key: String,
    pub risk: Risk,
    /// Days of the period with a (published) cell.
    pub days: u32,
    /// Sum of the daily counts over the risk's reporting days in the period, rounded to 1 decimal.
    pub mean_unique_ips: f64,
    pub max_unique_ips: u64,
    pub announced_ipv4: Option<u64>,
    /// Of the mean, rounded to 3 decimals.
    pub per_million_addresses: Option<f64>,
    /// Of the mean, Gbit/s, rounded to 4 decimals.
    pub ddos_potential_gbps: Option<f64>,
    /// Of the last week of the period in which the risk was reported.
    pub trend_index: Option<f64>,
    /// By mean, 1 = most.
    pub rank: u32,
}

/// Everything derived from a set of daily cells.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// Sorted by scope, day, risk, rank, key.
    pub rows: Vec<MetricRow>,
    /// The Monday of the base week, if any data.
    pub base_week: Option<Day>,
    /// Days on which each (scope, risk) had any cell at all, published or not: the days a
    /// report (or telescope data) came in. Means divide by these.
    reporting: BTreeMap<(Scope, Risk), BTreeSet<Day>>,
    /// Reporting days per (scope, risk, week).
    reporting_per_week: FxHashMap<(Scope, Risk, Day), u32>,
    /// Breakdown keys by index (keys are interned: the year's cells repeat them millions of
    /// times).
    key_ids: FxHashMap<String, u32>,
    /// Sum of published daily counts per (scope, risk, key index, week).
    weekly: FxHashMap<(Scope, Risk, u32, Day), u64>,
    dns_amplification: f64,
    bandwidth_mbps: f64,
}

fn round(v: f64, decimals: i32) -> f64 {
    let k = 10f64.powi(decimals);
    (v * k).round() / k
}

impl Metrics {
    /// Derives the figures of `cells` for `audience`.
    ///
    /// ```
    /// use firewatch_metrics::*;
    /// let cell = |day, key: &str, n, public| DailyCell {
    ///     day: Day(day), scope: Scope::Country, key: key.into(), risk: Risk::OpenNtp,
    ///     unique_ips: n, public_unique_ips: public,
    /// };
    /// let cells = [cell(20_458, "JP", 20, 20), cell(20_458, "DE", 3, 3), cell(20_465, "JP", 30, 30)];
    /// let space = AddressSpace::from_entries([(Scope::Country, "JP".into(), 2_000_000)]);
    /// let m = Metrics::derive(&cells, &space, &MetricsConfig::default(), Audience::Public).unwrap();
    /// // DE's 3 hosts are under the threshold of 10: not published at all.
    /// assert!(m.rows.iter().all(|r| r.key == "JP"));
    /// let first = &m.rows[0];
    /// assert_eq!(first.per_million_addresses, Some(10.0)); // 20 / 2,000,000 × 10⁶
    /// assert_eq!(first.ddos_potential_gbps, Some(11.138)); // 20 × 556.9 × 1 Mbit/s
    /// assert_eq!(m.rows[1].trend_index, Some(150.0)); // the next week: 30 against 20
    /// ```
    pub fn derive(
        cells: &[DailyCell],
        space: &AddressSpace,
        config: &MetricsConfig,
        audience: Audience,
    ) -> Result<Metrics, MetricsError> {
        config.validate()?;
        // Keys are interned (the year's cells repeat them millions of times), with ids in key
        // order so that ties rank alphabetically by comparing ids.
        let mut first_ids: FxHashMap<&str, u32> = FxHashMap::default();
        let mut ids: Vec<u32> = Vec::with_capacity(cells.len());
        let mut days_seen: FxHashSet<(Scope, Risk, Day)> = FxHashSet::default();
        for c in cells {
            let next = first_ids.len() as u32;
            ids.push(*first_ids.entry(c.key.as_str()).or_insert(next));
            days_seen.insert((c.scope, c.risk, c.day));
        }
        let mut sorted: Vec<(&str, u32)> = first_ids.iter().map(|(k, i)| (*k, *i)).collect();
        sorted.sort_unstable();
        let mut order = vec![0u32; sorted.len()];
        for (position, (_, first)) in sorted.iter().enumerate() {
            order[*first as usize] = position as u32;
        }
        for id in &mut ids {
            *id = order[*id as usize];
        }
        let key_ids: FxHashMap<String, u32> = sorted
            .iter()
            .enumerate()
            .map(|(i, (k, _))| ((*k).to_owned(), i as u32))
            .collect();
        let mut reporting: BTreeMap<(Scope, Risk), BTreeSet<Day>> = BTreeMap::new();
        let mut reporting_per_week: FxHashMap<(Scope, Risk, Day), u32> = FxHashMap::default();
        for (scope, risk, day) in days_seen {
            reporting.entry((scope, risk)).or_default().insert(day);
            *reporting_per_week
                .entry((scope, risk, day.week_start()))
                .or_default() += 1;
        }
        let floor = match audience {
            Audience::Internal => 1,
            Audience::Public => config.suppression_threshold.max(1),
        };
        let value = |c: &DailyCell| match audience {
            Audience::Public if !config.release_all_tlp => c.public_unique_ips,
            _ => c.unique_ips,
        };
        // (order, cell index, value) of the cells kept; the order packs scope, day, risk,
        // value (most first) and key id, so that one sort groups and ranks.
        let mut kept: Vec<(u128, usize, u64)> = cells
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let v = value(c);
                (v >= floor).then(|| {
                    let order = (c.scope as u128) << 120
                        | u128::from(c.day.0 as u32 ^ 0x8000_0000) << 88
                        | (c.risk as u128) << 80
                        | u128::from(u32::MAX - v.min(u64::from(u32::MAX)) as u32) << 32
                        | u128::from(ids[i]);
                    (order, i, v)
                })
            })
            .collect();
        let mut weekly: FxHashMap<(Scope, Risk, u32, Day), u64> = FxHashMap::default();
        for &(_, i, v) in &kept {
            let c = &cells[i];
            *weekly
                .entry((c.scope, c.risk, ids[i], c.day.week_start()))
                .or_default() += v;
        }
        let base_week = match &config.base_week {
            Some(d) => Some(Day::parse(d)?.week_start()),
            None => cells.iter().map(|c| c.day).min().map(Day::week_start),
        };
        let mut metrics = Metrics {
            rows: Vec::with_capacity(kept.len()),
            base_week,
            reporting,
            reporting_per_week,
            key_ids,
            weekly,
            dns_amplification: config.dns_amplification,
            bandwidth_mbps: config.bandwidth_per_device_mbps,
        };
        // Rank within (scope, day, risk): most first, ties share the rank.
        kept.sort_unstable_by_key(|k| k.0);
        let mut group = None;
        let (mut rank, mut previous, mut position) = (0u32, None, 0u32);
        for (_, i, v) in kept {
            let c = &cells[i];
            if group != Some((c.scope, c.day, c.risk)) {
                group = Some((c.scope, c.day, c.risk));
                (position, previous) = (0, None);
            }
            position += 1;
            if previous != Some(v) {
                rank = position;
                previous = Some(v);
            }
            let announced = space.get(c.scope, &c.key);
            let row = MetricRow {
                day: c.day,
                scope: c.scope,
                key: c.key.clone(),
                risk: c.risk,
                unique_ips: v,
                announced_ipv4: announced,
                per_million_addresses: metrics.per_million(v as f64, announced),
                ddos_potential_gbps: metrics.ddos(c.risk, v as f64),
                trend_index: metrics.trend_of(c.scope, c.risk, ids[i], c.day.week_start()),
                rank,
            };
            metrics.rows.push(row);
        }
        Ok(metrics)
    }

    fn per_million(&self, v: f64, announced: Option<u64>) -> Option<f64> {
        announced
            .filter(|n| *n > 0)
            .map(|n| round(v * 1e6 / n as f64, 3))
    }

    fn ddos(&self, risk: Risk, v: f64) -> Option<f64> {
        risk.amplification(self.dns_amplification)
            .map(|f| round(v * f * self.bandwidth_mbps / 1000.0, 4))
    }

    /// Mean daily published count of key `id` in `week` over the risk's reporting days.
    fn week_mean(&self, scope: Scope, risk: Risk, id: u32, week: Day) -> Option<f64> {
        let days = *self.reporting_per_week.get(&(scope, risk, week))?;
        let sum = self
            .weekly
            .get(&(scope, risk, id, week))
            .copied()
            .unwrap_or(0);
        Some(sum as f64 / f64::from(days.max(1)))
    }

    fn trend_of(&self, scope: Scope, risk: Risk, id: u32, week: Day) -> Option<f64> {
        let base = self.week_mean(scope, risk, id, self.base_week?)?;
        let now = self.week_mean(scope, risk, id, week)?;
        (base > 0.0).then(|| round(100.0 * now / base, 1))
    }

    /// The trend index of `key` in the week starting `week` (a Monday): None without a base
    /// (no reporting day in the base week, or nothing there).
    pub fn trend(&self, scope: Scope, risk: Risk, key: &str, week: Day) -> Option<f64> {
        let id = *self.key_ids.get(key)?;
        self.trend_of(scope, risk, id, week)
    }

    /// One line per (scope, key, risk) with a published cell between `from` and `to`
    /// (inclusive; None = open), ranked by mean within (scope, risk).
    pub fn summary(&self, from: Option<Day>, to: Option<Day>) -> Vec<Summary> {
        let inside = |d: Day| from.is_none_or(|f| d >= f) && to.is_none_or(|t| d <= t);
        // (days, sum, max, announced) per (scope, risk, key).
        type Totals = (u32, u64, u64, Option<u64>);
        let mut acc: BTreeMap<(Scope, Risk, &str), Totals> = BTreeMap::new();
        for r in self.rows.iter().filter(|r| inside(r.day)) {
            let e =
                acc.entry((r.scope, r.risk, r.key.as_str()))
                    .or_insert((0, 0, 0, r.announced_ipv4));
            e.0 += 1;
            e.1 += r.unique_ips;
            e.2 = e.2.max(r.unique_ips);
        }
        // Per (scope, risk): reporting days in the period, and the last one's week.
        let reported: HashMap<(Scope, Risk), (usize, Option<Day>)> = self
            .reporting
            .iter()
            .map(|(k, days)| {
                let inside: Vec<Day> = days.iter().copied().filter(|d| inside(*d)).collect();
                (*k, (inside.len(), inside.last().map(|d| d.week_start())))
            })
            .collect();
        let mut out: Vec<Summary> = Vec::with_capacity(acc.len());
        for ((scope, risk, key), (days, sum, max, announced)) in acc {
            let (reporting_days, last_week) =
                reported.get(&(scope, risk)).copied().unwrap_or((0, None));
            let mean = sum as f64 / reporting_days.max(1) as f64;
            out.push(Summary {
                scope,
                key: key.to_owned(),
                risk,
                days,
                mean_unique_ips: round(mean, 1),
                max_unique_ips: max,
                announced_ipv4: announced,
                per_million_addresses: self.per_million(mean, announced),
                ddos_potential_gbps: self.ddos(risk, mean),
                trend_index: last_week.and_then(|w| self.trend(scope, risk, key, w)),
                rank: 0,
            });
        }
        out.sort_by(|a, b| {
            (a.scope, a.risk)
                .cmp(&(b.scope, b.risk))
                .then(b.mean_unique_ips.total_cmp(&a.mean_unique_ips))
                .then_with(|| a.key.cmp(&b.key))
        });
        let mut i = 0;
        while i < out.len() {
            let group = (out[i].scope, out[i].risk);
            let (mut rank, mut previous, start) = (0, None, i);
            while i < out.len() && (out[i].scope, out[i].risk) == group {
                if previous != Some(out[i].mean_unique_ips) {
                    rank = (i - start) as u32 + 1;
                    previous = Some(out[i].mean_unique_ips);
                }
                out[i].rank = rank;
                i += 1;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(day: i32, key: &str, risk: Risk, all: u64, public: u64) -> DailyCell {
        DailyCell {
            day: Day(day),
            scope: Scope::Country,
            key: key.into(),
            risk,
            unique_ips: all,
            public_unique_ips: public,
        }
    }

    // 2026-01-05 is a Monday: Day(20458).
    const MON: i32 = 20_458;

    #[test]
    fn suppression_removes_small_cells_and_everything_derived_from_them() {
        let cells = [
            cell(MON, "JP", Risk::OpenDns, 50, 12),
            cell(MON, "DE", Risk::OpenDns, 40, 9),
            cell(MON, "FR", Risk::OpenDns, 9, 9),
        ];
        let cfg = MetricsConfig::default();
        let space = AddressSpace::default();
        let public = Metrics::derive(&cells, &space, &cfg, Audience::Public).unwrap();
        // Only JP's 12 CLEAR hosts reach 10.
        assert_eq!(public.rows.len(), 1);
        assert_eq!(
            (public.rows[0].key.as_str(), public.rows[0].unique_ips),
            ("JP", 12)
        );
        assert_eq!(public.rows[0].rank, 1);
        let summary = public.summary(None, None);
        assert_eq!(summary.len(), 1);
        let internal = Metrics::derive(&cells, &space, &cfg, Audience::Internal).unwrap();
        let ranks: Vec<_> = internal
            .rows
            .iter()
            .map(|r| (r.key.as_str(), r.rank))
            .collect();
        assert_eq!(ranks, [("JP", 1), ("DE", 2), ("FR", 3)]);
        let released = MetricsConfig {
            release_all_tlp: true,
            ..cfg
        };
        let public = Metrics::derive(&cells, &space, &released, Audience::Public).unwrap();
        assert_eq!(public.rows.len(), 2);
    }

    #[test]
    fn ties_share_a_rank() {
        let cells = [
            cell(MON, "AA", Risk::Scanner, 5, 0),
            cell(MON, "BB", Risk::Scanner, 7, 0),
            cell(MON, "CC", Risk::Scanner, 5, 0),
            cell(MON, "DD", Risk::Scanner, 1, 0),
        ];
        let m = Metrics::derive(
            &cells,
            &AddressSpace::default(),
            &MetricsConfig::default(),
            Audience::Internal,
        )
        .unwrap();
        let ranks: Vec<_> = m.rows.iter().map(|r| (r.key.as_str(), r.rank)).collect();
        assert_eq!(ranks, [("BB", 1), ("AA", 2), ("CC", 2), ("DD", 4)]);
    }

    #[test]
    fn trend_index_uses_the_mean_over_reporting_days() {
        // Base week: JP 10 on Monday and 20 on Tuesday (reports both days) → mean 15.
        // Next week: a report only on Monday, with 30 → mean 30 → index 200.
        // DE only reported on Tuesday of the base week with 6: its mean is 6 / 2 days = 3.
        let cells = [
            cell(MON, "JP", Risk::OpenSsdp, 10, 10),
            cell(MON + 1, "JP", Risk::OpenSsdp, 20, 20),
            cell(MON + 1, "DE", Risk::OpenSsdp, 6, 6),
            cell(MON + 7, "JP", Risk::OpenSsdp, 30, 30),
            cell(MON + 7, "DE", Risk::OpenSsdp, 3, 3),
        ];
        let cfg = MetricsConfig {
            base_week: Some("2026-01-07".into()),
            ..Default::default()
        };
        let m =
            Metrics::derive(&cells, &AddressSpace::default(), &cfg, Audience::Internal).unwrap();
        let jp: Vec<_> = m
            .rows
            .iter()
            .filter(|r| r.key == "JP")
            .map(|r| r.trend_index)
            .collect();
        assert_eq!(jp, [Some(100.0), Some(100.0), Some(200.0)]);
        let de = m
            .rows
            .iter()
            .find(|r| r.key == "DE" && r.day == Day(MON + 7))
            .unwrap();
        assert_eq!(de.trend_index, Some(100.0)); // 3 / 3
        let s = m.summary(Some(Day(MON)), Some(Day(MON + 6)));
        let jp = s.iter().find(|s| s.key == "JP").unwrap();
        assert_eq!(
            (jp.mean_unique_ips, jp.max_unique_ips, jp.days),
            (15.0, 20, 2)
        );
        // 15 × 30.8 × 1 Mbit/s = 462 Mbit/s.
        assert_eq!(jp.ddos_potential_gbps, Some(0.462));
        assert_eq!(jp.trend_index, Some(100.0));
        let whole = m.summary(None, None);
        let jp = whole.iter().find(|s| s.key == "JP").unwrap();
        // 60 hosts over 3 reporting days; the last week's index is 200.
        assert_eq!(
            (jp.mean_unique_ips, jp.trend_index, jp.rank),
            (20.0, Some(200.0), 1)
        );
    }

    #[test]
    fn a_bad_configuration_is_refused_with_its_key() {
        let cfg = MetricsConfig {
            dns_amplification: 100.0,
            ..Default::default()
        };
        let e = Metrics::derive(&[], &AddressSpace::default(), &cfg, Audience::Internal)
            .unwrap_err()
            .to_string();
        assert!(e.contains("dns_amplification"), "{e}");
    }
}
