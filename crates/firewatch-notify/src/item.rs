//! One record of a notice — a feed event or a darknet alert — in the shape templates,
//! attachments and webhooks read.

use firewatch_core::TlpLevel;
use firewatch_core::{Event, Value};
use firewatch_store::{AlertRecord, StoredEvent};
use serde::Serialize;
use serde_json::Value as Json;

use crate::config::Severity;

/// What a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    /// A harmonized feed event.
    Event,
    /// A darknet port alert (spike or new campaign).
    Alert,
}

/// One record of a notice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoticeItem {
    /// `event:<store id>` or `alert:<alert id>`: what the outbox remembers as told.
    pub key: String,
    pub kind: ItemKind,
    /// RFC 3339, UTC.
    pub time: String,
    /// The record's TLP label (`TLP:AMBER`); records without one count as RED.
    pub tlp: String,
    #[serde(skip)]
    pub tlp_level: TlpLevel,
    pub severity: Severity,
    /// The affected addresses of the team (one for an event).
    pub addresses: Vec<String>,
    /// `classification.type` of an event, `spike` / `new-campaign` of an alert.
    pub classification: Option<String>,
    /// `classification.identifier` of an event; the port of an alert (`tcp/23`).
    pub identifier: Option<String>,
    pub port: Option<i64>,
    pub asn: Option<i64>,
    pub feed: Option<String>,
    /// One line for people.
    pub summary: String,
    /// The whole record: the event's IntelMQ JSON, or the alert.
    pub record: Json,
}

use firewatch_core::tlp::event_level;

fn text(event: &Event, field: &str) -> Option<String> {
    match event.get(field)? {
        Value::Json(Json::String(s)) => Some(s.clone()),
        v => v.as_str().map(String::from),
    }
}

impl NoticeItem {
    /// The record of a stored event.
    pub fn from_event(stored: &StoredEvent) -> NoticeItem {
        let e = &stored.event;
        let tlp = event_level(e);
        let severity = text(e, "severity")
            .map(|s| Severity::from_intelmq(&s))
            .unwrap_or_default();
        let address = text(e, "source.ip");
        let classification = text(e, "classification.type");
        let identifier = text(e, "classification.identifier");
        let port = e.get("source.port").and_then(Value::as_i64);
        let summary = [
            classification.clone(),
            identifier.clone(),
            address.clone(),
            port.map(|p| format!("port {p}")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        NoticeItem {
            key: format!("event:{}", stored.id),
            kind: ItemKind::Event,
            time: time_text(stored.time),
            tlp: tlp.label().to_string(),
            tlp_level: tlp,
            severity,
            addresses: address.into_iter().collect(),
            classification,
            identifier,
            port,
            asn: e.get("source.asn").and_then(Value::as_i64),
            feed: text(e, "feed.name"),
            summary,
            record: e.to_json_value(),
        }
    }

    /// The record of a darknet alert, naming only `addresses` (the team's own sources).
    pub fn from_alert(alert: &AlertRecord, tlp: TlpLevel, addresses: Vec<String>) -> NoticeItem {
        use firewatch_core::telescope::AlertKind;
        let (classification, severity) = match alert.kind {
            AlertKind::Spike => ("spike", Severity::Medium),
            AlertKind::NewCampaign => ("new-campaign", Severity::High),
            AlertKind::SingleSourceBurst => ("single-source-burst", Severity::Low),
        };
        let port = format!("{}/{}", alert.proto, alert.port);
        NoticeItem {
            key: format!("alert:{}", alert.id),
            kind: ItemKind::Alert,
            time: time_text(alert.start),
            tlp: tlp.label().to_string(),
            tlp_level: tlp,
            severity,
            summary: format!(
                "{classification} on {port}: {} packets from {} sources ({} of yours)",
                alert.packets,
                alert.unique_sources,
                addresses.len()
            ),
            addresses,
            classification: Some(classification.into()),
            identifier: Some(port),
            port: Some(i64::from(alert.port)),
            asn: None,
            feed: Some(firewatch_core::telescope::DARKNET_FEED.into()),
            record: serde_json::to_value(alert).unwrap_or(Json::Null),
        }
    }
}

/// Unix seconds as RFC 3339 UTC (`2026-11-23T10:00:00Z`).
pub fn time_text(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| secs.to_string())
}

/// The attachment of affected addresses: one row per record and address.
pub fn attachment_csv(items: &[NoticeItem]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "time",
        "address",
        "port",
        "asn",
        "classification",
        "identifier",
        "severity",
        "tlp",
        "feed",
        "record",
    ])?;
    for item in items {
        for addr in &item.addresses {
            w.write_record([
                item.time.as_str(),
                addr,
                &item.port.map(|p| p.to_string()).unwrap_or_default(),
                &item.asn.map(|a| a.to_string()).unwrap_or_default(),
                item.classification.as_deref().unwrap_or(""),
                item.identifier.as_deref().unwrap_or(""),
                item.severity.as_str(),
                &item.tlp,
                item.feed.as_deref().unwrap_or(""),
                &item.key,
            ])?;
        }
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// The same rows as [`attachment_csv`], as a JSON array.
pub fn attachment_json(items: &[NoticeItem]) -> Vec<u8> {
    let rows: Vec<Json> = items
        .iter()
        .flat_map(|item| {
            item.addresses.iter().map(move |addr| {
                serde_json::json!({
                    "time": item.time,
                    "address": addr,
                    "port": item.port,
                    "asn": item.asn,
                    "classification": item.classification,
                    "identifier": item.identifier,
                    "severity": item.severity,
                    "tlp": item.tlp,
                    "feed": item.feed,
                    "record": item.key,
                })
            })
        })
        .collect();
    serde_json::to_vec_pretty(&rows).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_without_a_tlp_count_as_red_and_white_as_clear() {
        let mut e = Event::new();
        assert_eq!(event_level(&e), TlpLevel::Red);
        e.set("tlp", "AMBER+STRICT").unwrap();
        assert_eq!(event_level(&e), TlpLevel::AmberStrict);
        e.set("tlp", "WHITE").unwrap();
        assert_eq!(event_level(&e), TlpLevel::Clear);
    }

    #[test]
    fn the_csv_lists_every_address_and_quotes_what_needs_it() {
        let mut e = Event::new();
        e.set("source.ip", "192.0.2.7").unwrap();
        e.set("classification.type", "scanner").unwrap();
        e.set("classification.identifier", "a,b").unwrap();
        e.set("tlp", "GREEN").unwrap();
        let item = NoticeItem::from_event(&StoredEvent {
            id: 3,
            time: 0,
            event: e,
        });
        let csv = String::from_utf8(attachment_csv(&[item]).unwrap()).unwrap();
        let mut lines = csv.lines();
        assert!(lines.next().unwrap().starts_with("time,address,"));
        assert_eq!(
            lines.next().unwrap(),
            "1970-01-01T00:00:00Z,192.0.2.7,,,scanner,\"a,b\",undefined,TLP:GREEN,,event:3"
        );
    }
}
