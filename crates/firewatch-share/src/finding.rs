//! What is shared: one finding, in IntelMQ's field names, with a key that names it stably.

use firewatch_core::TlpLevel;
use firewatch_core::telescope::{AlertRecord, AlertSource};
use firewatch_core::{Event, SourceLabel, Value};

/// What a finding is about, which decides its STIX shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingKind {
    /// An address: a scanning source, an infected host, an attacked victim (indicator,
    /// observed-data and sighting).
    Source,
    /// A port spike or a new scanning campaign on a port (a campaign).
    PortAlert,
}

/// The field of an alert source's finding that names its alert ([`Finding::from_alert_source`]).
pub const DARKNET_ALERT: &str = "extra.darknet_alert";

/// One finding: a stored event or a darknet port alert as an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Stable name of the finding, the input of every id derived from it: `alert:<alert id>`
    /// for port alerts (an alert keeps its id as it grows), else `event:` and a hash of the
    /// event's IntelMQ JSON (an event never changes once stored).
    pub key: String,
    /// Unix seconds: when the finding began.
    pub time: i64,
    /// The finding in IntelMQ's field names, with `tlp` and the ownership fields of the web
    /// API's rule (`extra.owner`, `extra.team`, `extra.recipients`).
    pub event: Event,
    pub kind: FindingKind,
}

impl Finding {
    /// A stored event as a finding; events carrying `extra.alert_id` (written by
    /// `firewatch events from-darknet`) are port alerts.
    ///
    /// ```
    /// let mut e = firewatch_core::Event::new();
    /// e.set("source.ip", "192.0.2.1").unwrap();
    /// let f = firewatch_share::Finding::from_event(e.clone(), 0);
    /// assert_eq!(f.key, firewatch_share::Finding::from_event(e, 99).key);
    /// assert_eq!(f.kind, firewatch_share::FindingKind::Source);
    /// ```
    pub fn from_event(event: Event, time: i64) -> Finding {
        let (key, kind) = match event.get("extra.alert_id").map(Value::to_json) {
            Some(serde_json::Value::String(id)) => (format!("alert:{id}"), FindingKind::PortAlert),
            _ => {
                let hash = blake3::hash(event.to_intelmq_json().as_bytes());
                (
                    format!("event:{}", &hash.to_hex()[..32]),
                    FindingKind::Source,
                )
            }
        };
        Finding {
            key,
            time,
            event,
            kind,
        }
    }

    /// A darknet port alert as a finding of the telescope's TLP and owner.
    pub fn from_alert(alert: &AlertRecord, tlp: TlpLevel, owner: Option<&str>) -> Finding {
        let mut e = firewatch_core::telescope::alert_event(alert);
        // The level's own spelling and a team id are always valid values of their fields.
        let _ = e.set(firewatch_core::fields::TLP, tlp.event_value());
        if let Some(owner) = owner {
            let _ = e.set(firewatch_core::fields::EXTRA_OWNER, owner);
        }
        Finding {
            key: format!("alert:{}", alert.id),
            time: alert.start,
            event: e,
            kind: FindingKind::PortAlert,
        }
    }

    /// One source of a port alert as a finding about its address: a scanner of the alert's
    /// port (a Mirai-like bot: an infected system) at the telescope's TLP and owner, routed to
    /// the source's team (`extra.team`). Its key names the alert and the address
    /// (`alert:<alert id>:source:<address>`), and `extra.darknet_alert` the alert, whose
    /// campaign the STIX export says the address's indicator indicates.
    ///
    /// ```
    /// # let alert: firewatch_core::telescope::AlertRecord = serde_json::from_value(serde_json::json!({
    /// #     "id": "tcp-23-spike-1767225600", "kind": "spike", "proto": "tcp", "port": 23,
    /// #     "start": 1_767_225_600, "end": null, "triggered_by": [], "peak_interval": 0,
    /// #     "peak_packets": 0, "peak_sources": 0, "baseline_packets": 0.0,
    /// #     "baseline_sources": 0.0, "magnitude": 1.0, "score": 1.0, "packets": 10,
    /// #     "unique_sources": 1, "top_sources": [], "label_mix": [], "top_countries": null,
    /// #     "top_teams": []})).unwrap();
    /// use firewatch_core::telescope::AlertSource;
    /// let source = AlertSource { addr: "192.0.2.9".parse().unwrap(), packets: 7, label: None,
    ///     country: Some("KE".into()), asn: Some(64496), team: Some("ke-cirt".into()) };
    /// let f = firewatch_share::Finding::from_alert_source(
    ///     &alert, &source, firewatch_core::TlpLevel::Green, None);
    /// assert_eq!(f.key, "alert:tcp-23-spike-1767225600:source:192.0.2.9");
    /// assert_eq!(f.text("source.ip"), Some("192.0.2.9"));
    /// assert_eq!(f.text("extra.team"), Some("ke-cirt"));
    /// assert_eq!(f.kind, firewatch_share::FindingKind::Source);
    /// ```
    pub fn from_alert_source(
        alert: &AlertRecord,
        source: &AlertSource,
        tlp: TlpLevel,
        owner: Option<&str>,
    ) -> Finding {
        use firewatch_core::fields;
        let mut e = Event::new();
        // Every value below is valid for its field (an address, a code, a level's spelling);
        // a field the harmonization refused would only be missing from the finding.
        let mut set = |field: &str, value: serde_json::Value| {
            let _ = e.set(field, value);
        };
        set(
            fields::FEED_NAME,
            firewatch_core::telescope::DARKNET_FEED.into(),
        );
        set("feed.provider", "Firewatch".into());
        set(
            fields::TIME_SOURCE,
            firewatch_core::time::format_unix(alert.start).into(),
        );
        let (ty, identifier) = match source.label {
            Some(SourceLabel::Mirai) => ("infected-system", "mirai"),
            Some(SourceLabel::Zmap) => ("scanner", "zmap"),
            Some(SourceLabel::Masscan) => ("scanner", "masscan"),
            _ => ("scanner", "darknet-scanner"),
        };
        set(fields::CLASSIFICATION_TYPE, ty.into());
        set(fields::CLASSIFICATION_IDENTIFIER, identifier.into());
        if source.label == Some(SourceLabel::Mirai) {
            set("malware.name", "mirai".into());
        }
        set("source.ip", source.addr.to_string().into());
        if let Some(asn) = source.asn {
            set("source.asn", asn.into());
        }
        if let Some(cc) = &source.country {
            set("source.geolocation.cc", cc.as_str().into());
        }
        set("destination.port", alert.port.into());
        if alert.proto == "tcp" || alert.proto == "udp" {
            set("protocol.transport", alert.proto.as_str().into());
        }
        set(fields::TLP, tlp.event_value().into());
        if let Some(owner) = owner {
            set(fields::EXTRA_OWNER, owner.into());
        }
        if let Some(team) = &source.team {
            set(fields::EXTRA_TEAM, team.as_str().into());
        }
        set(DARKNET_ALERT, alert.id.as_str().into());
        set("extra.packets", source.packets.into());
        if let Some(label) = source.label {
            set("extra.label", label.as_str().into());
        }
        e.fill_taxonomy();
        Finding {
            key: format!("alert:{}:source:{}", alert.id, source.addr),
            time: alert.start,
            event: e,
            kind: FindingKind::Source,
        }
    }

    /// The finding's TLP level (RED when it has none).
    pub fn tlp(&self) -> TlpLevel {
        firewatch_core::tlp::event_level(&self.event)
    }

    /// A text field of the event (`extra.*` members too, which are JSON values).
    pub fn text(&self, field: &str) -> Option<&str> {
        match self.event.get(field)? {
            Value::Text(s) => Some(s),
            Value::Json(serde_json::Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// An integer field of the event.
    pub fn integer(&self, field: &str) -> Option<i64> {
        self.event.get(field).and_then(Value::as_i64)
    }
}

/// Stored events and port alerts as one list of findings, ordered by (time, key); an alert
/// already stored as an event (by `events from-darknet`) appears once.
pub fn merge(events: Vec<Finding>, alerts: Vec<Finding>) -> Vec<Finding> {
    let mut seen: std::collections::HashSet<String> =
        events.iter().map(|f| f.key.clone()).collect();
    let mut all = events;
    for a in alerts {
        if seen.insert(a.key.clone()) {
            all.push(a);
        }
    }
    all.sort_by(|a, b| (a.time, &a.key).cmp(&(b.time, &b.key)));
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stix::Exporter;

    fn alert() -> AlertRecord {
        serde_json::from_value(serde_json::json!({
            "id": "tcp-23-new_campaign-1767225600", "kind": "new_campaign", "proto": "tcp",
            "port": 23, "start": 1_767_225_600, "end": null, "triggered_by": [],
            "peak_interval": 1_767_225_600, "peak_packets": 900, "peak_sources": 40,
            "baseline_packets": 1.0, "baseline_sources": 1.0, "magnitude": 12.34, "score": 5.0,
            "packets": 5000, "unique_sources": 120, "top_sources": [], "label_mix": [],
            "top_countries": null, "top_teams": []
        }))
        .expect("an alert record")
    }

    #[test]
    fn a_port_alert_becomes_a_campaign_at_the_telescope_tlp() {
        let f = Finding::from_alert(&alert(), TlpLevel::Amber, Some("cert-a"));
        assert_eq!(f.key, "alert:tcp-23-new_campaign-1767225600");
        assert_eq!(f.tlp(), TlpLevel::Amber);
        assert_eq!(
            f.text("classification.identifier"),
            Some("darknet-new-campaign")
        );
        assert_eq!(f.text("extra.owner"), Some("cert-a"));
        let objects = Exporter::new("CERT-A").objects(std::slice::from_ref(&f));
        let campaign = objects
            .iter()
            .find(|o| o.object_type() == "campaign")
            .expect("a campaign");
        assert_eq!(campaign.json["name"], "tcp/23 darknet-new-campaign");
        assert!(!objects.iter().any(|o| o.object_type() == "indicator"));
        // Stored as an event by `events from-darknet`, the same alert is the same finding.
        let stored = Finding::from_event(f.event.clone(), f.time);
        assert_eq!(stored.key, f.key);
        assert_eq!(merge(vec![stored], vec![f]).len(), 1);
    }

    #[test]
    fn an_alert_source_indicates_the_alert_campaign() {
        let a = alert();
        let source = AlertSource {
            addr: "192.0.2.9".parse().unwrap(),
            packets: 12,
            label: Some(SourceLabel::Mirai),
            country: Some("KE".into()),
            asn: Some(64496),
            team: Some("ke-cirt".into()),
        };
        let f = Finding::from_alert_source(&a, &source, TlpLevel::Green, Some("cert-a"));
        assert_eq!(f.text("classification.type"), Some("infected-system"));
        assert_eq!(f.integer("destination.port"), Some(23));
        assert_eq!(f.text("extra.owner"), Some("cert-a"));
        assert_eq!(f.tlp(), TlpLevel::Green);
        let campaign = Finding::from_alert(&a, TlpLevel::Green, Some("cert-a"));
        let objects = Exporter::new("CERT-A").objects(&[campaign, f]);
        let campaign_id = &objects
            .iter()
            .find(|o| o.object_type() == "campaign")
            .expect("the campaign")
            .id;
        let indicator_id = &objects
            .iter()
            .find(|o| o.object_type() == "indicator")
            .expect("the source's indicator")
            .id;
        let rel = objects
            .iter()
            .find(|o| o.object_type() == "relationship")
            .expect("a relationship");
        assert_eq!(rel.json["relationship_type"], "indicates");
        assert_eq!(rel.json["source_ref"], indicator_id.as_str());
        assert_eq!(rel.json["target_ref"], campaign_id.as_str());
    }
}
