//! Internet-health metrics (docs/metrics.md): the event facts they are computed from, the daily
//! cells (unique addresses per risk and country or ASN), the announced address space, and the
//! published figures — TLP:CLEAR (or released) and suppressed — that the public page shows.
//!
//! The computation itself lives in `firewatch-metrics`; the store keeps plain records so that
//! the web service shows the published figures without recomputing or re-deciding anything.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::{Result, SqliteStore, StoreError, TimeRange};

/// The feed whose findings span days (`extra.last_seen`, `extra.end`).
use firewatch_core::telescope::DARKNET_FEED;

/// The classification types a health risk can come from (the `classification_type` index
/// narrows the scan to them).
pub(crate) const RISK_TYPES: &str = "('vulnerable-system', 'scanner', 'infected-system', 'ddos')";

/// The classification types of the telescope's findings about hosts.
pub(crate) const DARKNET_TYPES: &str = "('scanner', 'infected-system', 'ddos')";

/// The fields of one stored event that health metrics read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthEventFacts {
    /// Event time, Unix seconds.
    pub time: i64,
    /// For telescope findings: when the source was last seen (`extra.last_seen`) or the attack
    /// ended (`extra.end`), Unix seconds; the finding counts on every day in between.
    pub last_seen: Option<i64>,
    pub feed: Option<String>,
    pub classification_type: Option<String>,
    pub identifier: Option<String>,
    pub malware: Option<String>,
    pub source_ip: String,
    /// `source.geolocation.cc`.
    pub country: Option<String>,
    pub asn: Option<i64>,
    pub tlp: Option<String>,
}

/// Unique addresses of one risk in one country or ASN on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCellRecord {
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    /// `country` or `asn`.
    pub scope: String,
    pub key: String,
    pub risk: String,
    pub unique_ips: u64,
    /// Those seen in at least one publishable event.
    pub public_unique_ips: u64,
}

/// IPv4 addresses a country or ASN announces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressSpaceRecord {
    pub scope: String,
    pub key: String,
    pub ipv4_addresses: u64,
}

/// One published figure set: a day, a country or ASN, a risk (see docs/metrics.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthPublicRecord {
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    pub scope: String,
    pub key: String,
    pub risk: String,
    pub unique_ips: u64,
    pub announced_ipv4: Option<u64>,
    pub per_million_addresses: Option<f64>,
    pub ddos_potential_gbps: Option<f64>,
    pub trend_index: Option<f64>,
    pub rank: u32,
}

/// How the stored metrics were made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthMeta {
    /// Unix seconds.
    pub computed_at: i64,
    /// Cells under this many addresses were left out of the published figures.
    pub suppression_threshold: u64,
    /// The Monday of the trend index's base week, `YYYY-MM-DD`.
    pub base_week: Option<String>,
    /// Whether aggregates of non-CLEAR events were released (`[metrics] release_all_tlp`).
    pub release_all_tlp: bool,
    /// The registry dataset that gave the address space.
    pub data_version: String,
    /// Request bandwidth per reflector (Mbit/s) and DNS amplification factor used.
    pub bandwidth_per_device_mbps: f64,
    pub dns_amplification: f64,
}

/// Everything one `metrics compute` writes, committed in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthSnapshot {
    /// The days recomputed (inclusive): stored cells of these days are replaced by `cells`.
    pub days: (i64, i64),
    pub cells: Vec<HealthCellRecord>,
    /// Replaces the stored address space.
    pub address_space: Vec<AddressSpaceRecord>,
    /// Replaces every published figure (they depend on the whole history: base week, ranks).
    pub public: Vec<HealthPublicRecord>,
    pub meta: HealthMeta,
}

/// Days since 1970-01-01 of a Unix time.
fn day_of(secs: i64) -> i64 {
    secs.div_euclid(86_400)
}

fn parse_time(s: &str) -> Option<i64> {
    s.parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
}

fn to_u64(v: i64, what: &str) -> Result<u64> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} is negative: {v}")))
}

/// The Internet-health figures a store keeps: the facts of the events that can show a risk, the
/// daily cells, the address space and the published figures of the last computation.
pub trait HealthStore {
    /// Hands `visit` the facts of every event that can show a health risk and touches `range`:
    /// events in the range, and telescope findings that began earlier but were still seen in
    /// it. Returns the number of events visited.
    fn health_events(
        &self,
        range: &TimeRange,
        visit: &mut dyn FnMut(HealthEventFacts),
    ) -> Result<u64>;
    /// Stores one computation: replaces the cells of its days, the address space, every
    /// published figure and the metadata, in one transaction.
    fn commit_health(&mut self, snapshot: &HealthSnapshot) -> Result<()>;
    /// Stored cells of one scope (or all), days `from..=to` (days since 1970-01-01; None =
    /// open), ordered by scope, day, risk and key.
    fn health_cells(
        &self,
        scope: Option<&str>,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<Vec<HealthCellRecord>>;
    /// The stored address space.
    fn health_address_space(&self) -> Result<Vec<AddressSpaceRecord>>;
    /// Published figures of one scope, days `from..=to` (None = open), ordered by day, risk,
    /// rank and key.
    fn health_public(
        &self,
        scope: &str,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<Vec<HealthPublicRecord>>;
    /// How the stored metrics were made; None before the first `metrics compute`.
    fn health_meta(&self) -> Result<Option<HealthMeta>>;
}

impl HealthStore for SqliteStore {
    /// Hands `visit` the facts of every event that can show a health risk and touches `range`:
    /// events in the range, and telescope findings that began earlier but were still seen in
    /// it. Returns the number of events visited.
    fn health_events(
        &self,
        range: &TimeRange,
        visit: &mut dyn FnMut(HealthEventFacts),
    ) -> Result<u64> {
        let columns = "time, feed, classification_type,
            json_extract(doc, '$.\"classification.identifier\"'),
            json_extract(doc, '$.\"malware.name\"'),
            source_ip, source_cc, source_asn, tlp,
            CASE WHEN feed IS ?1 THEN COALESCE(json_extract(doc, '$.\"extra.last_seen\"'),
                                               json_extract(doc, '$.\"extra.end\"')) END";
        let (since, until) = (range.since_or_min(), range.until_or_max());
        let mut n = 0;
        let mut run = |sql: String, spanning_only: bool| -> Result<()> {
            let mut stmt = self.conn.prepare(&sql)?;
            let mut rows = stmt.query(params![DARKNET_FEED, since, until])?;
            while let Some(r) = rows.next()? {
                let last: Option<String> = r.get(9)?;
                let facts = HealthEventFacts {
                    time: r.get(0)?,
                    last_seen: last.as_deref().and_then(parse_time),
                    feed: r.get(1)?,
                    classification_type: r.get(2)?,
                    identifier: r.get(3)?,
                    malware: r.get(4)?,
                    source_ip: r.get(5)?,
                    country: r.get(6)?,
                    asn: r.get(7)?,
                    tlp: r.get(8)?,
                };
                if spanning_only && facts.last_seen.is_none_or(|l| l < since) {
                    continue;
                }
                n += 1;
                visit(facts);
            }
            Ok(())
        };
        run(
            format!(
                "SELECT {columns} FROM events WHERE classification_type IN {RISK_TYPES}
                 AND time BETWEEN ?2 AND ?3 AND source_ip IS NOT NULL"
            ),
            false,
        )?;
        if range.since.is_some() {
            run(
                // Only the telescope's kinds of finding, so the (classification_type, time)
                // index skips the reports; `?3` is bound to keep one parameter list.
                format!(
                    "SELECT {columns} FROM events WHERE classification_type IN {DARKNET_TYPES}
                     AND feed IS ?1 AND time < ?2 AND ?3 IS NOT NULL AND source_ip IS NOT NULL"
                ),
                true,
            )?;
        }
        Ok(n)
    }

    /// Stores one computation: replaces the cells of its days, the address space, every
    /// published figure and the metadata, in one transaction.
    fn commit_health(&mut self, snapshot: &HealthSnapshot) -> Result<()> {
        let tx = self.write_tx()?;
        tx.execute(
            "DELETE FROM health_cells WHERE day BETWEEN ?1 AND ?2",
            params![snapshot.days.0, snapshot.days.1],
        )?;
        {
            let mut insert = tx.prepare(
                "INSERT OR REPLACE INTO health_cells
                 (scope, key, risk, day, unique_ips, public_unique_ips) VALUES (?, ?, ?, ?, ?, ?)",
            )?;
            for c in &snapshot.cells {
                insert.execute(params![
                    c.scope,
                    c.key,
                    c.risk,
                    c.day,
                    c.unique_ips as i64,
                    c.public_unique_ips as i64
                ])?;
            }
            tx.execute("DELETE FROM health_address_space", [])?;
            let mut insert = tx.prepare(
                "INSERT OR REPLACE INTO health_address_space (scope, key, ipv4_addresses)
                 VALUES (?, ?, ?)",
            )?;
            for s in &snapshot.address_space {
                insert.execute(params![s.scope, s.key, s.ipv4_addresses as i64])?;
            }
            tx.execute("DELETE FROM health_public", [])?;
            let mut insert = tx.prepare(
                "INSERT OR REPLACE INTO health_public (scope, key, risk, day, unique_ips,
                    announced_ipv4, per_million_addresses, ddos_potential_gbps, trend_index, rank)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )?;
            for p in &snapshot.public {
                insert.execute(params![
                    p.scope,
                    p.key,
                    p.risk,
                    p.day,
                    p.unique_ips as i64,
                    p.announced_ipv4.map(|n| n as i64),
                    p.per_million_addresses,
                    p.ddos_potential_gbps,
                    p.trend_index,
                    p.rank
                ])?;
            }
        }
        let meta = serde_json::to_string(&snapshot.meta)
            .map_err(|e| StoreError::Corrupt(format!("health metadata: {e}")))?;
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('health', ?)",
            [meta],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Stored cells of one scope (or all), days `from..=to` (days since 1970-01-01; None =
    /// open), ordered by scope, day, risk and key.
    fn health_cells(
        &self,
        scope: Option<&str>,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<Vec<HealthCellRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT day, scope, key, risk, unique_ips, public_unique_ips FROM health_cells
             WHERE (?1 IS NULL OR scope = ?1) AND day BETWEEN ?2 AND ?3
             ORDER BY scope, day, risk, key",
        )?;
        let mut rows = stmt.query(params![
            scope,
            from.unwrap_or(i64::MIN),
            to.unwrap_or(i64::MAX)
        ])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(HealthCellRecord {
                day: r.get(0)?,
                scope: r.get(1)?,
                key: r.get(2)?,
                risk: r.get(3)?,
                unique_ips: to_u64(r.get(4)?, "unique_ips")?,
                public_unique_ips: to_u64(r.get(5)?, "public_unique_ips")?,
            });
        }
        Ok(out)
    }

    /// The stored address space.
    fn health_address_space(&self) -> Result<Vec<AddressSpaceRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT scope, key, ipv4_addresses FROM health_address_space ORDER BY scope, key",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(AddressSpaceRecord {
                scope: r.get(0)?,
                key: r.get(1)?,
                ipv4_addresses: to_u64(r.get(2)?, "ipv4_addresses")?,
            });
        }
        Ok(out)
    }

    /// Published figures of one scope, days `from..=to` (None = open), ordered by day, risk,
    /// rank and key.
    fn health_public(
        &self,
        scope: &str,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<Vec<HealthPublicRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT day, scope, key, risk, unique_ips, announced_ipv4, per_million_addresses,
                    ddos_potential_gbps, trend_index, rank
             FROM health_public WHERE scope = ?1 AND day BETWEEN ?2 AND ?3
             ORDER BY day, risk, rank, key",
        )?;
        let mut rows = stmt.query(params![
            scope,
            from.unwrap_or(i64::MIN),
            to.unwrap_or(i64::MAX)
        ])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let announced: Option<i64> = r.get(5)?;
            out.push(HealthPublicRecord {
                day: r.get(0)?,
                scope: r.get(1)?,
                key: r.get(2)?,
                risk: r.get(3)?,
                unique_ips: to_u64(r.get(4)?, "unique_ips")?,
                announced_ipv4: announced.map(|n| to_u64(n, "announced_ipv4")).transpose()?,
                per_million_addresses: r.get(6)?,
                ddos_potential_gbps: r.get(7)?,
                trend_index: r.get(8)?,
                rank: r.get(9)?,
            });
        }
        Ok(out)
    }

    /// How the stored metrics were made; None before the first `metrics compute`.
    fn health_meta(&self) -> Result<Option<HealthMeta>> {
        let text: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'health'", [], |r| {
                r.get(0)
            })
            .optional()?;
        text.map(|t| {
            serde_json::from_str(&t)
                .map_err(|e| StoreError::Corrupt(format!("health metadata: {e}")))
        })
        .transpose()
    }
}

/// The day (since 1970-01-01) of every day a finding spanning `time..=last_seen` touches,
/// clipped to `range`; an event without `last_seen` touches its own day only.
pub fn health_days(facts: &HealthEventFacts, range: &TimeRange) -> std::ops::RangeInclusive<i64> {
    let first = day_of(facts.time.max(range.since_or_min()));
    let last = facts
        .last_seen
        .filter(|l| *l >= facts.time)
        .unwrap_or(facts.time)
        .min(range.until_or_max());
    first..=day_of(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DedupeRule, EventStore, FeedInput};
    use firewatch_core::Event;

    fn event(ip: &str, time: &str, feed: &str, ty: &str, id: &str) -> Event {
        let mut e = Event::new();
        e.set("feed.name", feed).unwrap();
        e.set("classification.type", ty).unwrap();
        e.set("classification.identifier", id).unwrap();
        e.set("source.ip", ip).unwrap();
        e.set("source.geolocation.cc", "JP").unwrap();
        e.set("source.asn", 2497).unwrap();
        e.set("time.source", time).unwrap();
        e.set("tlp", "CLEAR").unwrap();
        e
    }

    #[test]
    fn events_in_range_and_darknet_findings_still_seen_in_it_are_visited() {
        let mut store = SqliteStore::open_in_memory().unwrap();
        let mut bot = event(
            "192.0.2.7",
            "2026-01-01T10:00:00+00:00",
            DARKNET_FEED,
            "infected-system",
            "mirai",
        );
        bot.set("malware.name", "mirai").unwrap();
        bot.set("extra.last_seen", "2026-01-03T01:00:00+00:00")
            .unwrap();
        let events = [
            event(
                "192.0.2.1",
                "2026-01-02T10:00:00+00:00",
                "DNS-Open-Resolvers",
                "vulnerable-system",
                "dns-open-resolver",
            ),
            event(
                "192.0.2.2",
                "2025-12-01T10:00:00+00:00",
                "DNS-Open-Resolvers",
                "vulnerable-system",
                "dns-open-resolver",
            ),
            bot,
        ];
        let input = FeedInput {
            content_hash: "h".into(),
            ..Default::default()
        };
        store
            .commit_events(&input, &events, &DedupeRule::default())
            .unwrap();
        let since = parse_time("2026-01-02T00:00:00Z").unwrap();
        let range = TimeRange {
            since: Some(since),
            until: None,
        };
        let mut seen = Vec::new();
        let n = store.health_events(&range, &mut |f| seen.push(f)).unwrap();
        assert_eq!(n, 2);
        let bot = seen.iter().find(|f| f.source_ip == "192.0.2.7").unwrap();
        assert_eq!(bot.malware.as_deref(), Some("mirai"));
        assert_eq!(bot.asn, Some(2497));
        // Began on Jan 1, seen until Jan 3: counts on Jan 2 and 3 inside the range.
        let days = health_days(bot, &range);
        assert_eq!(days, day_of(since)..=day_of(since) + 1);
        let dns = seen.iter().find(|f| f.source_ip == "192.0.2.1").unwrap();
        assert_eq!(dns.identifier.as_deref(), Some("dns-open-resolver"));
        assert_eq!(health_days(dns, &range), day_of(since)..=day_of(since));
    }

    #[test]
    fn a_snapshot_replaces_its_days_and_every_published_figure() {
        let mut store = SqliteStore::open_in_memory().unwrap();
        assert_eq!(store.health_meta().unwrap(), None);
        let cell = |day, n| HealthCellRecord {
            day,
            scope: "country".into(),
            key: "JP".into(),
            risk: "open-dns".into(),
            unique_ips: n,
            public_unique_ips: n / 2,
        };
        let public = |day| HealthPublicRecord {
            day,
            scope: "country".into(),
            key: "JP".into(),
            risk: "open-dns".into(),
            unique_ips: 12,
            announced_ipv4: Some(1_000_000),
            per_million_addresses: Some(12.0),
            ddos_potential_gbps: Some(0.492),
            trend_index: None,
            rank: 1,
        };
        let meta = HealthMeta {
            computed_at: 1,
            suppression_threshold: 10,
            base_week: Some("2026-01-05".into()),
            release_all_tlp: false,
            data_version: "test".into(),
            bandwidth_per_device_mbps: 1.0,
            dns_amplification: 41.0,
        };
        let mut snapshot = HealthSnapshot {
            days: (10, 11),
            cells: vec![cell(10, 30), cell(11, 40)],
            address_space: vec![AddressSpaceRecord {
                scope: "country".into(),
                key: "JP".into(),
                ipv4_addresses: 1_000_000,
            }],
            public: vec![public(10), public(11)],
            meta: meta.clone(),
        };
        store.commit_health(&snapshot).unwrap();
        snapshot.days = (11, 12);
        snapshot.cells = vec![cell(12, 50)];
        snapshot.public = vec![public(12)];
        store.commit_health(&snapshot).unwrap();
        let days: Vec<_> = store
            .health_cells(Some("country"), None, None)
            .unwrap()
            .iter()
            .map(|c| (c.day, c.unique_ips, c.public_unique_ips))
            .collect();
        assert_eq!(days, [(10, 30, 15), (12, 50, 25)]);
        assert!(
            store
                .health_cells(Some("asn"), None, None)
                .unwrap()
                .is_empty()
        );
        let published = store.health_public("country", Some(0), None).unwrap();
        assert_eq!(published, [public(12)]);
        assert_eq!(store.health_meta().unwrap(), Some(meta));
        assert_eq!(store.health_address_space().unwrap().len(), 1);
    }
}
