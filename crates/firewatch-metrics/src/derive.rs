//! From daily cells to published figures: normalisation by announced address space, DDoS
//! potential, the trend index, ranks, and small-cell suppression.

use crate::{AddressSpace, DailyCell, Day, MetricsConfig, MetricsError, Risk, Scope};
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
    /// Sum of published daily counts per (scope, risk, key, week).
    weekly: HashMap<(Scope, Risk, String, Day), u64>,
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
        let mut reporting: BTreeMap<(Scope, Risk), BTreeSet<Day>> = BTreeMap::new();
        for c in cells {
            reporting
                .entry((c.scope, c.risk))
                .or_default()
                .insert(c.day);
        }
        let floor = match audience {
            Audience::Internal => 1,
            Audience::Public => config.suppression_threshold.max(1),
        };
        let value = |c: &DailyCell| match audience {
            Audience::Public if !config.release_all_tlp => c.public_unique_ips,
            _ => c.unique_ips,
        };
        let kept: Vec<(&DailyCell, u64)> = cells
            .iter()
            .map(|c| (c, value(c)))
            .filter(|(_, v)| *v >= floor)
            .collect();
        let mut weekly: HashMap<(Scope, Risk, String, Day), u64> = HashMap::new();
        for (c, v) in &kept {
            *weekly
                .entry((c.scope, c.risk, c.key.clone(), c.day.week_start()))
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
            weekly,
            dns_amplification: config.dns_amplification,
            bandwidth_mbps: config.bandwidth_per_device_mbps,
        };
        // Rank within (scope, day, risk): most first, ties share the rank.
        let mut groups: BTreeMap<(Scope, Day, Risk), Vec<(&DailyCell, u64)>> = BTreeMap::new();
        for (c, v) in kept {
            groups
                .entry((c.scope, c.day, c.risk))
                .or_default()
                .push((c, v));
        }
        for ((scope, day, risk), mut members) in groups {
            members.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.key.cmp(&b.0.key)));
            let mut rank = 0;
            let mut previous = None;
            for (i, (c, v)) in members.into_iter().enumerate() {
                if previous != Some(v) {
                    rank = i as u32 + 1;
                    previous = Some(v);
                }
                let announced = space.get(scope, &c.key);
                metrics.rows.push(MetricRow {
                    day,
                    scope,
                    key: c.key.clone(),
                    risk,
                    unique_ips: v,
                    announced_ipv4: announced,
                    per_million_addresses: metrics.per_million(v as f64, announced),
                    ddos_potential_gbps: metrics.ddos(risk, v as f64),
                    trend_index: metrics.trend(scope, risk, &c.key, day.week_start()),
                    rank,
                });
            }
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

    /// Mean daily published count of `key` in `week` over the risk's reporting days.
    fn week_mean(&self, scope: Scope, risk: Risk, key: &str, week: Day) -> Option<f64> {
        let days = self
            .reporting
            .get(&(scope, risk))?
            .range(week..Day(week.0 + 7))
            .count();
        if days == 0 {
            return None;
        }
        let sum = self
            .weekly
            .get(&(scope, risk, key.to_owned(), week))
            .copied()
            .unwrap_or(0);
        Some(sum as f64 / days as f64)
    }

    /// The trend index of `key` in `week`: None without a base (no data that week, or zero).
    pub fn trend(&self, scope: Scope, risk: Risk, key: &str, week: Day) -> Option<f64> {
        let base = self.week_mean(scope, risk, key, self.base_week?)?;
        let now = self.week_mean(scope, risk, key, week)?;
        (base > 0.0).then(|| round(100.0 * now / base, 1))
    }

    /// One line per (scope, key, risk) with a published cell between `from` and `to`
    /// (inclusive; None = open), ranked by mean within (scope, risk).
    pub fn summary(&self, from: Option<Day>, to: Option<Day>) -> Vec<Summary> {
        let inside = |d: Day| from.is_none_or(|f| d >= f) && to.is_none_or(|t| d <= t);
        let mut acc: BTreeMap<(Scope, Risk, &str), (u32, u64, u64, Option<u64>)> = BTreeMap::new();
        for r in self.rows.iter().filter(|r| inside(r.day)) {
            let e =
                acc.entry((r.scope, r.risk, r.key.as_str()))
                    .or_insert((0, 0, 0, r.announced_ipv4));
            e.0 += 1;
            e.1 += r.unique_ips;
            e.2 = e.2.max(r.unique_ips);
        }
        let mut out: Vec<Summary> = Vec::with_capacity(acc.len());
        for ((scope, risk, key), (days, sum, max, announced)) in acc {
            let reported: Vec<Day> = self
                .reporting
                .get(&(scope, risk))
                .map(|s| s.iter().copied().filter(|d| inside(*d)).collect())
                .unwrap_or_default();
            let mean = sum as f64 / reported.len().max(1) as f64;
            let last_week = reported.last().map(|d| d.week_start());
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
