//! The telescope's findings as harmonized events, so that one query, one export and one
//! notification path cover darknet and feeds alike: every labelled source (except `other`),
//! every backscatter attack (its victim) and every port alert becomes an event of the feed
//! `Firewatch-Darknet`.
//!
//! Each event's time is when the finding began (first seen, attack start, alert start), which
//! does not move as later captures extend it, so deriving again finds the same events and the
//! store's deduplication keeps one of each.

use crate::Context;
use anyhow::{Context as _, Result};
use firewatch_core::Event;
use firewatch_core::SourceLabel;
use firewatch_core::fields::EXTRA_TEAM;
use firewatch_feeds::experts::Experts;
use firewatch_store::{
    AlertQuery, AttackQuery, AttackRecord, Attribution, EventCommit, EventStore, FeedInput,
    SourceQuery, SourceRecord, Store, TimeRange,
};

use firewatch_core::telescope::{DARKNET_FEED, alert_event};

fn base(time_ns_or_s: i64, is_ns: bool) -> Result<Event> {
    let secs = if is_ns {
        time_ns_or_s.div_euclid(1_000_000_000)
    } else {
        time_ns_or_s
    };
    let mut e = Event::new();
    e.set(firewatch_core::fields::FEED_NAME, DARKNET_FEED)?;
    e.set("feed.provider", "Firewatch")?;
    e.set("time.source", firewatch_core::time::format_unix(secs))?;
    Ok(e)
}

fn attribute(e: &mut Event, side: &str, a: &Attribution) -> Result<()> {
    if let Some(cc) = &a.country {
        e.set(&format!("{side}.geolocation.cc"), cc.as_str())?;
    }
    if let Some(asn) = a.asn {
        e.set(&format!("{side}.asn"), asn)?;
    }
    if let Some(name) = &a.as_name {
        e.set(&format!("{side}.as_name"), name.as_str())?;
    }
    if let (Some(team), "source") = (&a.team, side) {
        e.set(EXTRA_TEAM, team.as_str())?;
    }
    Ok(())
}

/// A labelled source: scanners and scanning tools are `scanner`, Mirai-like bots are
/// `infected-system`; backscatter senders are reported through their attacks instead.
pub fn source_event(s: &SourceRecord) -> Result<Option<Event>> {
    let (ty, identifier, malware) = match s.label {
        SourceLabel::Mirai => ("infected-system", "mirai", Some("mirai")),
        SourceLabel::Zmap => ("scanner", "zmap", None),
        SourceLabel::Masscan => ("scanner", "masscan", None),
        SourceLabel::Scanner => ("scanner", "darknet-scanner", None),
        SourceLabel::Backscatter | SourceLabel::Other => return Ok(None),
    };
    let mut e = base(s.first_seen_ns, true)?;
    e.set("classification.type", ty)?;
    e.set("classification.identifier", identifier)?;
    if let Some(m) = malware {
        e.set("malware.name", m)?;
    }
    e.set("source.ip", s.addr.to_string())?;
    attribute(&mut e, "source", &s.attribution)?;
    if let Some((proto, port, _)) = s.top_ports.first() {
        e.set("destination.port", *port)?;
        if proto == "tcp" || proto == "udp" {
            e.set("protocol.transport", proto.as_str())?;
        }
    }
    e.set("extra.label", s.label.to_string())?;
    e.set("extra.packets", s.packets)?;
    e.set("extra.darknet_addresses", s.distinct_destinations)?;
    e.set("extra.ports", s.distinct_ports)?;
    e.set(
        "extra.last_seen",
        firewatch_core::time::format_unix(s.last_seen_ns.div_euclid(1_000_000_000)),
    )?;
    e.fill_taxonomy();
    Ok(Some(e))
}

/// A DoS attack seen through its backscatter: the victim is the address the report is about.
pub fn attack_event(a: &AttackRecord) -> Result<Event> {
    let mut e = base(a.start_ns, true)?;
    e.set("classification.type", "ddos")?;
    e.set("classification.identifier", "backscatter")?;
    e.set("source.ip", a.victim.to_string())?;
    attribute(&mut e, "source", &a.attribution)?;
    if a.proto == "tcp" || a.proto == "udp" {
        e.set("protocol.transport", a.proto.as_str())?;
    }
    if let [port] = a.ports.as_slice() {
        e.set("source.port", *port)?;
    }
    e.set("extra.role", "victim")?;
    e.set("extra.packets", a.packets)?;
    e.set("extra.peak_per_minute", a.peak_per_minute)?;
    e.set("extra.ports", serde_json::json!(a.ports))?;
    e.set(
        "extra.end",
        firewatch_core::time::format_unix(a.end_ns.div_euclid(1_000_000_000)),
    )?;
    e.fill_taxonomy();
    Ok(e)
}

/// Every darknet finding in `range` as events.
pub fn findings(store: &(impl Store + ?Sized), range: &TimeRange) -> Result<Vec<Event>> {
    let mut events = Vec::new();
    // Label by label: most sources of a telescope are unlabelled and need no event.
    for label in [
        SourceLabel::Mirai,
        SourceLabel::Zmap,
        SourceLabel::Masscan,
        SourceLabel::Scanner,
    ] {
        for s in &store.sources(&SourceQuery {
            range: *range,
            label: Some(label),
            team: None,
            country: None,
            limit: None,
        })? {
            events.extend(source_event(s)?);
        }
    }
    for a in store.attacks(&AttackQuery {
        range: *range,
        victim: None,
        team: None,
        country: None,
        limit: None,
    })? {
        events.push(attack_event(&a)?);
    }
    for a in store.alerts(&AlertQuery {
        range: *range,
        ..AlertQuery::default()
    })? {
        events.push(alert_event(&a));
    }
    Ok(events)
}

/// Turns the findings in `range` into stored events (through the experts, for TLP and rules),
/// as one input named after the range. Returns what the store did.
pub fn derive(ctx: &Context, range: &TimeRange) -> Result<EventCommit> {
    let mut store = ctx.fresh_store()?;
    let experts =
        Experts::new(&ctx.config.feeds.experts(), None).context("invalid [feeds] configuration")?;
    let mut events = findings(store.as_ref(), range)?;
    // The telescope's one TLP and owner, not a feed default: its findings read as its records.
    let telescope = &ctx.config.telescope;
    for e in &mut events {
        e.set(firewatch_core::fields::TLP, telescope.tlp.event_value())?;
        if let Some(owner) = &telescope.owner {
            e.set(firewatch_core::fields::EXTRA_OWNER, owner.as_str())?;
        }
        experts.process(e)?;
    }
    // The batch's identity is its content: the same findings give the same hash (a no-op).
    let mut hasher = blake3::Hasher::new();
    for e in &events {
        hasher.update(e.to_intelmq_json().as_bytes());
        hasher.update(b"\n");
    }
    let record = FeedInput {
        content_hash: hasher.finalize().to_hex().to_string(),
        name: format!(
            "darknet findings {}..{}",
            range
                .since
                .map_or("start".into(), firewatch_core::time::format_unix),
            range
                .until
                .map_or("end".into(), firewatch_core::time::format_unix)
        ),
        format: "darknet".to_owned(),
        feed: Some(DARKNET_FEED.to_owned()),
        ingested_at: jiff::Timestamp::now().as_second(),
        records: events.len() as u64,
        events: events.len() as u64,
        inserted: 0,
        duplicates: 0,
        rejected: 0,
    };
    Ok(store.commit_events(&record, &events, &dedupe_rule(ctx))?)
}

/// The deduplication of the telescope's findings: `[feeds.dedupe]` and the finding's start
/// time, which is part of its identity (two attacks on one victim the same day are two
/// attacks, while deriving the same finding again matches it exactly).
pub fn dedupe_rule(ctx: &Context) -> firewatch_store::DedupeRule {
    let mut dedupe = ctx.config.feeds.dedupe.rule();
    dedupe.fields.push("time.source".to_owned());
    dedupe
}

/// Brings the findings already stored as events to the telescope's TLP and owner in force
/// (`[web] darknet_tlp`, `darknet_owner`), as [`derive`] writes new ones: a stricter setting
/// applies to what was stored before it, too. Returns how many events changed.
pub fn retag(ctx: &Context, store: &mut (impl EventStore + ?Sized)) -> Result<u64> {
    let telescope = &ctx.config.telescope;
    Ok(store.retag_feed(
        DARKNET_FEED,
        telescope.tlp.event_value(),
        telescope.owner.as_deref(),
        &dedupe_rule(ctx),
    )?)
}
