//! [`crate::Store::rederive`]: labels and attributions of stored sources, attributions of
//! attacks, and the routing of stored events, derived again; only what differs is written,
//! in transactions of at most [`BATCH`] rows, each one `UPDATE ... FROM unnest(...)`.

use super::{read_attribution, set_meta};
use crate::codec::{corrupt, parse_addr};
use crate::postgres::PgStore;
use crate::records::{Attribution, Rederived};
use crate::{Derivation, Result};
use firewatch_core::{Event, SourceLabel};
use firewatch_darknet::SourceCounters;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use std::net::IpAddr;

/// Rows per write transaction, as the SQLite backend batches them.
const BATCH: usize = 10_000;

pub(super) fn rederive(
    store: &mut PgStore,
    derive: &dyn Derivation,
    since: Option<i64>,
) -> Result<Rederived> {
    let mut report = Rederived::default();
    let since_ns = since.map(|s| s.saturating_mul(1_000_000_000));
    let c = &mut store.client;
    let mut changed_sources: Vec<(String, SourceLabel, Attribution)> = Vec::new();
    // Streamed, so that a store of millions of sources is not read into memory at once.
    let mut rows = c.query_raw(
        "SELECT addr, counters, distinct_destinations, label, country, asn, as_name, team, data_version
         FROM sources WHERE $1::bigint IS NULL OR last_ns >= $1",
        [&since_ns as &(dyn ToSql + Sync)],
    )?;
    while let Some(r) = rows.next()? {
        report.sources += 1;
        let key: String = r.try_get(0)?;
        let counters: SourceCounters =
            serde_json::from_str(r.try_get::<_, &str>(1)?).map_err(corrupt)?;
        let distinct: i64 = r.try_get(2)?;
        let label: &str = r.try_get(3)?;
        let stored = read_attribution(&r, 4)?;
        let new_label = derive.label(&counters, distinct.max(0) as u64);
        let new = derive.attribute(parse_addr(&key)?);
        if new_label.as_str() != label || new != stored {
            changed_sources.push((key, new_label, new));
        }
    }
    drop(rows);
    let mut changed_attacks: Vec<(String, i64, Attribution)> = Vec::new();
    let mut rows = c.query_raw(
        "SELECT victim, start_ns, country, asn, as_name, team, data_version FROM attacks
         WHERE $1::bigint IS NULL OR end_ns >= $1",
        [&since_ns as &(dyn ToSql + Sync)],
    )?;
    while let Some(r) = rows.next()? {
        report.attacks += 1;
        let victim: String = r.try_get(0)?;
        let start: i64 = r.try_get(1)?;
        let stored = read_attribution(&r, 2)?;
        let new = derive.attribute(parse_addr(&victim)?);
        if new != stored {
            changed_attacks.push((victim, start, new));
        }
    }
    drop(rows);
    // Events: the team each is routed to, by its source address, as the routing expert gives
    // it at ingest.
    let mut changed_events: Vec<(i64, i64, Option<String>, String)> = Vec::new();
    let mut rows = c.query_raw(
        "SELECT id, time, source_ip, team, doc FROM events
         WHERE source_ip IS NOT NULL AND ($1::bigint IS NULL OR time >= $1)",
        [&since as &(dyn ToSql + Sync)],
    )?;
    while let Some(r) = rows.next()? {
        report.events += 1;
        let Ok(addr) = r.try_get::<_, &str>(2)?.parse::<IpAddr>() else {
            continue;
        };
        let stored: Option<&str> = r.try_get(3)?;
        let team = derive.attribute(addr).team;
        if team.as_deref() == stored {
            continue;
        }
        let mut event = Event::from_intelmq_json(r.try_get(4)?).map_err(corrupt)?;
        match &team {
            Some(t) => event
                .set(firewatch_core::fields::EXTRA_TEAM, t.as_str())
                .map_err(corrupt)?,
            None => {
                event.remove(firewatch_core::fields::EXTRA_TEAM);
            }
        }
        changed_events.push((r.try_get(0)?, r.try_get(1)?, team, event.to_intelmq_json()));
    }
    drop(rows);
    report.sources_changed = changed_sources.len() as u64;
    report.attacks_changed = changed_attacks.len() as u64;
    report.events_changed = changed_events.len() as u64;

    for batch in changed_events.chunks(BATCH) {
        let ids: Vec<i64> = batch.iter().map(|e| e.0).collect();
        let times: Vec<i64> = batch.iter().map(|e| e.1).collect();
        let teams: Vec<Option<&str>> = batch.iter().map(|e| e.2.as_deref()).collect();
        let docs: Vec<&str> = batch.iter().map(|e| e.3.as_str()).collect();
        update(
            store,
            "UPDATE events e SET team = u.team, doc = u.doc
             FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) AS u (id, time, team, doc)
             WHERE e.id = u.id AND e.time = u.time",
            &[&ids, &times, &teams, &docs],
        )?;
    }
    for batch in changed_sources.chunks(BATCH) {
        let keys: Vec<&str> = batch.iter().map(|s| s.0.as_str()).collect();
        let labels: Vec<&str> = batch.iter().map(|s| s.1.as_str()).collect();
        let [countries, as_names, teams, versions] = text_columns(batch.iter().map(|s| &s.2));
        let asns: Vec<Option<i64>> = batch.iter().map(|s| s.2.asn.map(i64::from)).collect();
        update(
            store,
            "UPDATE sources s SET label = u.label, country = u.country, asn = u.asn,
             as_name = u.as_name, team = u.team, data_version = u.data_version
             FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[])
                  AS u (addr, label, country, asn, as_name, team, data_version)
             WHERE s.addr = u.addr",
            &[&keys, &labels, &countries, &asns, &as_names, &teams, &versions],
        )?;
    }
    for batch in changed_attacks.chunks(BATCH) {
        let victims: Vec<&str> = batch.iter().map(|a| a.0.as_str()).collect();
        let starts: Vec<i64> = batch.iter().map(|a| a.1).collect();
        let [countries, as_names, teams, versions] = text_columns(batch.iter().map(|a| &a.2));
        let asns: Vec<Option<i64>> = batch.iter().map(|a| a.2.asn.map(i64::from)).collect();
        update(
            store,
            "UPDATE attacks a SET country = u.country, asn = u.asn, as_name = u.as_name,
             team = u.team, data_version = u.data_version
             FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[])
                  AS u (victim, start_ns, country, asn, as_name, team, data_version)
             WHERE a.victim = u.victim AND a.start_ns = u.start_ns",
            &[&victims, &starts, &countries, &asns, &as_names, &teams, &versions],
        )?;
    }
    if !changed_sources.is_empty() {
        // The alerts' countries and teams come from their sources.
        let mut tx = store.write_tx()?;
        set_meta(&mut tx, "alerts_stale", "1")?;
        tx.commit()?;
    }
    Ok(report)
}

/// Country, AS name, team and data version of each attribution, as columns.
fn text_columns<'a>(rows: impl Iterator<Item = &'a Attribution>) -> [Vec<Option<&'a str>>; 4] {
    let mut out: [Vec<Option<&str>>; 4] = Default::default();
    for a in rows {
        out[0].push(a.country.as_deref());
        out[1].push(a.as_name.as_deref());
        out[2].push(a.team.as_deref());
        out[3].push(a.data_version.as_deref());
    }
    out
}

/// Runs one batch's update in its own transaction.
fn update(store: &mut PgStore, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<()> {
    let mut tx = store.write_tx()?;
    tx.execute(sql, params)?;
    tx.commit()?;
    Ok(())
}
