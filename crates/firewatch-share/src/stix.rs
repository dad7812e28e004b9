//! STIX 2.1 export: findings as STIX objects and bundles.
//!
//! Per finding about an address (a [`FindingKind::Source`]):
//! - the address as `ipv4-addr`/`ipv6-addr` (and, when both ports and the transport are known,
//!   a `network-traffic`), with the ids STIX defines for observables;
//! - an `observed-data` (first/last observed, the observables) that carries the finding itself,
//!   in IntelMQ's field names, in Firewatch's property extension ([`FIREWATCH_EXTENSION`]), so
//!   that another Firewatch reads back exactly the event that was sent;
//! - an `indicator` (`[ipv4-addr:value = '…']`) and a `sighting` of it by the producing team,
//!   when the address is the actor (not for victims or vulnerable hosts).
//!
//! A port alert's source ([`Finding::from_alert_source`]) is such an address, whose indicator
//! `indicates` (a `relationship`) the alert's campaign.
//!
//! Per port alert: a `campaign` carrying the finding. Every object carries the TLP 2.0
//! marking of its finding; the bundle has the producer's identity, the marking definitions
//! used and the extension's definition.

use std::collections::BTreeMap;

use firewatch_core::TlpLevel;
use firewatch_feeds::stix::FIREWATCH_EXTENSION;
use serde_json::{Value as Json, json};

use crate::config::Producer;
use crate::finding::{Finding, FindingKind};
use crate::ids::{sco_id, sdo_id};
use crate::tlp;

/// The id of the identity that created Firewatch's extension definition (the project).
pub const FIREWATCH_PROJECT_IDENTITY: &str = "identity--fe12e8ec-9a3b-4be3-8ec5-5ab6a2fd19c3";

/// `created`/`modified` of the constant objects (the project identity, the extension
/// definition, producer identities): fixed so that their version never moves.
const CONSTANT_CREATED: &str = "2026-01-01T00:00:00.000Z";

/// One exported object with what TAXII needs to list it.
#[derive(Debug, Clone, PartialEq)]
pub struct StixObject {
    pub id: String,
    /// Unix seconds: the time of the (earliest) finding the object came from; TAXII's
    /// `date_added`.
    pub date_added: i64,
    /// The object's version: `modified`, else `created`, else the STIX timestamp of
    /// `date_added` (observables and marking definitions have no `modified`).
    pub version: String,
    /// The TLP the object is marked with (marking definitions and identities: CLEAR).
    pub tlp: TlpLevel,
    pub json: Json,
}

impl StixObject {
    /// The object's STIX type (`indicator`).
    pub fn object_type(&self) -> &str {
        self.id.split("--").next().unwrap_or_default()
    }
}

/// A STIX timestamp with millisecond precision (`2026-01-01T00:00:00.000Z`).
pub fn timestamp(secs: i64) -> String {
    let text = firewatch_core::time::format_unix(secs);
    match text.strip_suffix('Z') {
        Some(body) => format!("{body}.000Z"),
        None => text,
    }
}

/// Builds STIX objects for one producer (the exporting team or instance).
#[derive(Debug, Clone)]
pub struct Exporter {
    producer: Producer,
    identity_id: String,
}

impl Exporter {
    /// An exporter whose objects are created by the identity named `producer`.
    pub fn new(producer: &str) -> Exporter {
        Exporter::for_producer(&Producer::named(producer))
    }

    /// An exporter whose objects are created by `producer` (`[share]`: its name, sector and
    /// contact). The identity's id depends on the name only.
    pub fn for_producer(producer: &Producer) -> Exporter {
        Exporter {
            producer: producer.clone(),
            identity_id: sdo_id("identity", &format!("producer:{}", producer.name)),
        }
    }

    /// The producer's identity id.
    pub fn identity_id(&self) -> &str {
        &self.identity_id
    }

    /// Every object for `findings`, each once, ordered by (date_added, id).
    pub fn objects(&self, findings: &[Finding]) -> Vec<StixObject> {
        let mut out: BTreeMap<String, StixObject> = BTreeMap::new();
        let first = findings.iter().map(|f| f.time).min().unwrap_or(0);
        let mut levels = Vec::new();
        for finding in findings {
            levels.push(finding.tlp());
            for object in self.finding_objects(finding) {
                add(&mut out, object);
            }
        }
        if !findings.is_empty() {
            levels.push(TlpLevel::Clear);
            for object in self.constant_objects(first) {
                add(&mut out, object);
            }
        }
        levels.sort();
        levels.dedup();
        for level in levels {
            add(
                &mut out,
                StixObject {
                    id: tlp::marking_id(level).to_owned(),
                    date_added: first,
                    version: tlp::TLP2_CREATED.to_owned(),
                    tlp: TlpLevel::Clear,
                    json: tlp::marking_object(level),
                },
            );
        }
        let mut objects: Vec<StixObject> = out.into_values().collect();
        objects.sort_by(|a, b| (a.date_added, &a.id).cmp(&(b.date_added, &b.id)));
        objects
    }

    /// A bundle of every object for `findings`; its id is derived from the objects and
    /// their versions, so the same findings give the same bundle.
    pub fn bundle(&self, findings: &[Finding]) -> Json {
        let objects = self.objects(findings);
        let mut name = String::from("bundle");
        for o in &objects {
            name.push('|');
            name.push_str(&o.id);
            name.push('@');
            name.push_str(&o.version);
        }
        let id = format!("bundle--{}", crate::ids::name_based_v4(&name));
        let mut bundle = json!({ "type": "bundle", "id": id });
        // STIX 2.1 §8: `objects` holds "one or more" objects; an empty bundle has none.
        if !objects.is_empty() {
            bundle["objects"] = objects.into_iter().map(|o| o.json).collect();
        }
        bundle
    }

    /// The producer's identity and the Firewatch project's (which defines the extensions),
    /// as every bundle carries them.
    pub fn identity_objects(&self) -> Vec<Json> {
        let clear = [tlp::marking_id(TlpLevel::Clear)];
        let mut producer = json!({
            "type": "identity", "spec_version": "2.1", "id": self.identity_id,
            "created": CONSTANT_CREATED, "modified": CONSTANT_CREATED,
            "name": self.producer.name, "identity_class": "organization",
            "description": "The team that produced these findings (exported by Firewatch).",
            "object_marking_refs": clear,
        });
        if let Some(sector) = &self.producer.sector {
            producer["sectors"] = json!([sector]);
        }
        if let Some(contact) = &self.producer.contact {
            producer["contact_information"] = json!(contact);
        }
        vec![
            producer,
            json!({
                "type": "identity", "spec_version": "2.1", "id": FIREWATCH_PROJECT_IDENTITY,
                "created": CONSTANT_CREATED, "modified": CONSTANT_CREATED,
                "name": "Firewatch", "identity_class": "system",
                "description": "Firewatch, a shared watchtower for CSIRT networks.",
                "object_marking_refs": clear,
            }),
        ]
    }

    fn constant_objects(&self, date_added: i64) -> Vec<StixObject> {
        let clear = [tlp::marking_id(TlpLevel::Clear)];
        let constant = |json: Json| StixObject {
            id: json["id"].as_str().unwrap_or_default().to_owned(),
            date_added,
            version: CONSTANT_CREATED.to_owned(),
            tlp: TlpLevel::Clear,
            json,
        };
        let mut objects: Vec<StixObject> =
            self.identity_objects().into_iter().map(constant).collect();
        objects.push(constant(json!({
                "type": "extension-definition", "spec_version": "2.1", "id": FIREWATCH_EXTENSION,
                "created_by_ref": FIREWATCH_PROJECT_IDENTITY,
                "created": CONSTANT_CREATED, "modified": CONSTANT_CREATED,
                "name": "Firewatch finding",
                "description": "The finding an object reports, as one IntelMQ event (flat dotted field names, IntelMQ harmonization) in the property intelmq_event.",
                "schema": "https://github.com/certtools/intelmq/blob/develop/intelmq/etc/harmonization.conf",
                "version": "1.0.0",
                "extension_types": ["property-extension"],
                "object_marking_refs": clear,
        })));
        objects
    }

    fn finding_objects(&self, finding: &Finding) -> Vec<StixObject> {
        let level = finding.tlp();
        let marking = [tlp::marking_id(level)];
        let when = timestamp(finding.time);
        let mut objects = Vec::new();
        let mut push = |json: Json, version: &str| {
            objects.push(StixObject {
                id: json["id"].as_str().unwrap_or_default().to_owned(),
                date_added: finding.time,
                version: version.to_owned(),
                tlp: level,
                json,
            });
        };
        let extension = json!({
            FIREWATCH_EXTENSION: {
                "extension_type": "property-extension",
                "intelmq_event": finding.event.to_json_value(),
            }
        });
        let description = describe(finding);
        let common = |object_type: &str| {
            json!({
                "type": object_type,
                "spec_version": "2.1",
                "id": sdo_id(object_type, &finding.key),
                "created_by_ref": self.identity_id,
                "created": when,
                "modified": when,
                "object_marking_refs": marking,
            })
        };
        if finding.kind == FindingKind::PortAlert {
            let mut campaign = common("campaign");
            let port = finding.integer("destination.port").unwrap_or_default();
            let transport = finding.text("protocol.transport").unwrap_or("ip");
            let what = finding
                .text("classification.identifier")
                .unwrap_or("darknet-alert");
            extend(
                &mut campaign,
                json!({
                    "name": format!("{transport}/{port} {what}"),
                    "description": description,
                    "first_seen": when,
                    "objective": "Scanning of the Internet for the port, seen by the darknet telescope",
                    "extensions": extension,
                }),
            );
            push(campaign, &when);
            return objects;
        }

        // The observables: the address the finding is about (and its traffic).
        let mut refs = Vec::new();
        let mut pattern = None;
        let address = finding
            .text("source.ip")
            .map(|ip| ("source", ip))
            .or_else(|| finding.text("destination.ip").map(|ip| ("destination", ip)));
        if let Some((side, ip)) = address {
            let ip_type = if ip.contains(':') {
                "ipv6-addr"
            } else {
                "ipv4-addr"
            };
            let ip_id = sco_id(ip_type, &json!({ "value": ip }));
            push(
                json!({"type": ip_type, "spec_version": "2.1", "id": ip_id, "value": ip,
                       "object_marking_refs": marking}),
                &when,
            );
            refs.push(ip_id.clone());
            if side == "source" {
                pattern = Some(format!("[{ip_type}:value = '{ip}']"));
            }
            let ports = (
                finding.integer("source.port"),
                finding.integer("destination.port"),
                finding.text("protocol.transport"),
            );
            // stix2-validator (check 301) wants both ports; without them the event in the
            // extension still has what is known.
            if let (Some(src_port), Some(dst_port), Some(transport)) = ports
                && side == "source"
            {
                let contributing = json!({
                    "src_ref": ip_id, "src_port": src_port, "dst_port": dst_port,
                    "protocols": [transport],
                });
                let nt_id = sco_id("network-traffic", &contributing);
                let mut nt = json!({"type": "network-traffic", "spec_version": "2.1",
                                    "id": nt_id, "object_marking_refs": marking});
                extend(&mut nt, contributing);
                push(nt, &when);
                refs.push(nt_id);
            }
        } else if let Some(fqdn) = finding.text("source.fqdn") {
            let id = sco_id("domain-name", &json!({ "value": fqdn }));
            push(
                json!({"type": "domain-name", "spec_version": "2.1", "id": id, "value": fqdn,
                       "object_marking_refs": marking}),
                &when,
            );
            pattern = Some(format!("[domain-name:value = '{}']", pattern_quote(fqdn)));
            refs.push(id);
        } else if let Some(url) = finding.text("source.url") {
            let id = sco_id("url", &json!({ "value": url }));
            push(
                json!({"type": "url", "spec_version": "2.1", "id": id, "value": url,
                       "object_marking_refs": marking}),
                &when,
            );
            pattern = Some(format!("[url:value = '{}']", pattern_quote(url)));
            refs.push(id);
        }

        if refs.is_empty() {
            // Nothing observable: a note about the producer carries the finding.
            let mut note = common("note");
            extend(
                &mut note,
                json!({
                    "abstract": title(finding),
                    "content": description,
                    "object_refs": [self.identity_id],
                    "extensions": extension,
                }),
            );
            push(note, &when);
            return objects;
        }

        let mut observed = common("observed-data");
        extend(
            &mut observed,
            json!({
                "first_observed": when,
                "last_observed": when,
                "number_observed": 1,
                "object_refs": refs,
                "extensions": extension,
            }),
        );
        let observed_id = observed["id"].clone();
        push(observed, &when);

        if let (Some(pattern), Some(indicator_type)) = (pattern, indicator_type(finding)) {
            let mut indicator = common("indicator");
            extend(
                &mut indicator,
                json!({
                    "name": title(finding),
                    "description": description,
                    "indicator_types": [indicator_type],
                    "pattern": pattern,
                    "pattern_type": "stix",
                    "pattern_version": "2.1",
                    "valid_from": when,
                }),
            );
            let indicator_id = indicator["id"].clone();
            push(indicator, &when);
            let mut sighting = common("sighting");
            extend(
                &mut sighting,
                json!({
                    "first_seen": when,
                    "last_seen": when,
                    "count": 1,
                    "sighting_of_ref": indicator_id.clone(),
                    "observed_data_refs": [observed_id],
                    "where_sighted_refs": [self.identity_id],
                }),
            );
            push(sighting, &when);
            // A port alert's source: its indicator indicates the alert's campaign.
            if let Some(alert) = finding.text(crate::finding::DARKNET_ALERT) {
                let mut relationship = common("relationship");
                relationship["id"] = json!(sdo_id(
                    "relationship",
                    &format!("{}|indicates", finding.key)
                ));
                extend(
                    &mut relationship,
                    json!({
                        "relationship_type": "indicates",
                        "source_ref": indicator_id,
                        "target_ref": sdo_id("campaign", &format!("alert:{alert}")),
                    }),
                );
                push(relationship, &when);
            }
        }
        objects
    }
}

/// Adds an object, once: an observable shared by findings of different TLP keeps the least
/// restrictive marking (the other finding discloses the same value at that level) and the
/// earliest date.
fn add(out: &mut BTreeMap<String, StixObject>, object: StixObject) {
    match out.get_mut(&object.id) {
        None => {
            out.insert(object.id.clone(), object);
        }
        Some(kept) => {
            if object.tlp < kept.tlp {
                kept.tlp = object.tlp;
                kept.json["object_marking_refs"] = json!([tlp::marking_id(object.tlp)]);
            }
            if object.date_added < kept.date_added {
                kept.date_added = object.date_added;
            }
        }
    }
}

fn extend(object: &mut Json, more: Json) {
    if let (Json::Object(target), Json::Object(more)) = (object, more) {
        target.extend(more);
    }
}

/// Quotes a value for a STIX pattern string literal (backslash and quote escaped).
fn pattern_quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "\\'")
}

/// The STIX indicator type of an actor's address, by RSIT taxonomy; `None` when the address
/// is not the actor (victims, vulnerable or misconfigured hosts), which gets no indicator.
fn indicator_type(finding: &Finding) -> Option<&'static str> {
    if finding.text("extra.role") == Some("victim") {
        return None;
    }
    Some(match finding.text("classification.taxonomy")? {
        "information-gathering" => "anomalous-activity",
        "malicious-code" => "compromised",
        "intrusion-attempts" | "intrusions" | "abusive-content" | "fraud" => "malicious-activity",
        "other" => "unknown",
        _ => return None,
    })
}

fn title(finding: &Finding) -> String {
    let what = finding.text("classification.type").unwrap_or("finding");
    match finding
        .text("source.ip")
        .or_else(|| finding.text("destination.ip"))
        .or_else(|| finding.text("source.fqdn"))
        .or_else(|| finding.text("source.url"))
    {
        Some(subject) => format!("{what} {subject}"),
        None => what.to_owned(),
    }
}

fn describe(finding: &Finding) -> String {
    let mut text = title(finding);
    if let Some(taxonomy) = finding.text("classification.taxonomy") {
        text.push_str(&format!(" (RSIT {taxonomy})"));
    }
    if let Some(port) = finding.integer("destination.port") {
        let transport = finding.text("protocol.transport").unwrap_or("ip");
        text.push_str(&format!(", to {transport}/{port}"));
    }
    if let Some(feed) = finding.text("feed.name") {
        text.push_str(&format!(", reported by the feed {feed}"));
    }
    text.push_str(&format!(", {}.", finding.tlp().label()));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use firewatch_core::Event;

    fn scanner(ip: &str, tlp: &str) -> Finding {
        let mut e = Event::new();
        e.set("source.ip", ip).unwrap();
        e.set("source.port", 40000).unwrap();
        e.set("destination.port", 23).unwrap();
        e.set("protocol.transport", "tcp").unwrap();
        e.set("classification.type", "scanner").unwrap();
        e.set("time.source", "2026-01-01T00:00:00+00:00").unwrap();
        e.set("tlp", tlp).unwrap();
        e.fill_taxonomy();
        Finding::from_event(e, 1_767_225_600)
    }

    #[test]
    fn a_source_becomes_indicator_observation_and_sighting() {
        let objects = Exporter::new("CERT-X").objects(&[scanner("192.0.2.1", "AMBER")]);
        let types: Vec<&str> = objects.iter().map(StixObject::object_type).collect();
        for t in [
            "ipv4-addr",
            "network-traffic",
            "observed-data",
            "indicator",
            "sighting",
            "identity",
            "extension-definition",
            "marking-definition",
        ] {
            assert!(types.contains(&t), "{t} missing from {types:?}");
        }
        let amber = tlp::marking_id(TlpLevel::Amber);
        for o in &objects {
            if !matches!(
                o.object_type(),
                "identity" | "extension-definition" | "marking-definition"
            ) {
                assert_eq!(o.json["object_marking_refs"], json!([amber]), "{}", o.id);
            }
        }
        let nt = objects
            .iter()
            .find(|o| o.object_type() == "network-traffic")
            .unwrap();
        assert_eq!(
            nt.id,
            "network-traffic--c5ebd5fb-4cef-5b69-88d0-e1bd52a6003b"
        );
    }

    #[test]
    fn a_shared_observable_keeps_the_least_restrictive_marking() {
        let objects = Exporter::new("CERT-X")
            .objects(&[scanner("192.0.2.1", "RED"), scanner("192.0.2.1", "GREEN")]);
        let ip = objects
            .iter()
            .find(|o| o.object_type() == "ipv4-addr")
            .unwrap();
        assert_eq!(ip.tlp, TlpLevel::Green);
        assert_eq!(
            objects
                .iter()
                .filter(|o| o.object_type() == "indicator")
                .count(),
            2
        );
    }

    #[test]
    fn victims_get_no_indicator() {
        let mut f = scanner("192.0.2.9", "GREEN");
        f.event.set("extra.role", "victim").unwrap();
        let objects = Exporter::new("CERT-X").objects(&[f]);
        assert!(objects.iter().any(|o| o.object_type() == "observed-data"));
        assert!(!objects.iter().any(|o| o.object_type() == "indicator"));
        assert!(!objects.iter().any(|o| o.object_type() == "sighting"));
    }

    #[test]
    fn the_producer_identity_has_the_configured_sector_and_contact() {
        let producer = crate::ShareConfig {
            producer_name: Some("Example CERT".into()),
            producer_sector: Some("government".into()),
            producer_contact: Some("cert@example.org".into()),
            ..crate::ShareConfig::default()
        }
        .producer(None, None);
        let exporter = Exporter::for_producer(&producer);
        let objects = exporter.objects(&[scanner("192.0.2.1", "GREEN")]);
        let identity = objects
            .iter()
            .find(|o| o.id == exporter.identity_id())
            .unwrap();
        assert_eq!(identity.json["name"], "Example CERT");
        assert_eq!(identity.json["sectors"], json!(["government"]));
        assert_eq!(identity.json["contact_information"], "cert@example.org");
        assert_eq!(
            exporter.identity_id(),
            Exporter::new("Example CERT").identity_id()
        );
        let plain = Exporter::new("Example CERT").objects(&[scanner("192.0.2.1", "GREEN")]);
        let plain = plain.iter().find(|o| o.id == identity.id).unwrap();
        assert!(plain.json.get("sectors").is_none());
        assert!(plain.json.get("contact_information").is_none());
    }

    #[test]
    fn an_empty_bundle_has_no_objects_list() {
        let bundle = Exporter::new("CERT-X").bundle(&[]);
        assert_eq!(bundle["type"], "bundle");
        assert!(bundle.get("objects").is_none());
    }

    #[test]
    fn timestamps_have_milliseconds() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
    }
}
