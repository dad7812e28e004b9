//! A MISP feed: `manifest.json`, `hashes.csv` and one event JSON per finding group, the layout
//! MISP reads when it subscribes to a feed ("Add feed", format "MISP Feed").
//!
//! Findings are grouped by feed, classification type, TLP and day; each group is one MISP
//! event tagged `tlp:<level>` (MISP's TLP taxonomy, with `tlp:clear` and `tlp:amber+strict`)
//! and `rsit:<taxonomy>="<type>"` (MISP's RSIT taxonomy). Its attributes are the addresses
//! (`ip-src` for actors, `ip-dst` for victims), domains, URLs and, for port alerts, ports.
//! Event and attribute uuids derive from the group and the finding, so exporting again
//! rewrites the same files.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use firewatch_core::TlpLevel;
use md5::{Digest, Md5};
use serde_json::{Value as Json, json};

use crate::finding::{Finding, FindingKind};
use crate::ids::name_based_v4;

/// One MISP event of the feed.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEvent {
    pub uuid: String,
    /// `{"Event": {...}}`, as MISP writes it.
    pub json: Json,
}

/// A whole feed, before it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Feed {
    /// `manifest.json`: event uuid → the event's summary.
    pub manifest: Json,
    /// `hashes.csv`: (MD5 of an attribute value, event uuid).
    pub hashes: Vec<(String, String)>,
    pub events: Vec<FeedEvent>,
}

/// The MISP tag of a TLP level (`tlp:amber+strict`).
pub fn tlp_tag(level: TlpLevel) -> String {
    format!("tlp:{}", level.as_str())
}

/// Builds the feed of `findings` as the organisation `producer`.
pub fn feed(producer: &str, findings: &[Finding]) -> Feed {
    let org = json!({
        "name": producer,
        "uuid": name_based_v4(&format!("misp-org|{producer}")).to_string(),
    });
    let mut groups: BTreeMap<(String, String, TlpLevel, String), Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        let day = crate::stix::timestamp(f.time)[..10].to_owned();
        let key = (
            f.text("feed.name").unwrap_or("Firewatch").to_owned(),
            f.text("classification.type")
                .unwrap_or("undetermined")
                .to_owned(),
            f.tlp(),
            day,
        );
        groups.entry(key).or_default().push(f);
    }
    let mut manifest = serde_json::Map::new();
    let mut hashes = Vec::new();
    let mut events = Vec::new();
    for ((feed_name, class_type, level, day), members) in groups {
        let group_key = format!("{feed_name}|{class_type}|{}|{day}", level.as_str());
        let uuid = name_based_v4(&format!("misp-event|{group_key}")).to_string();
        let timestamp = members
            .iter()
            .map(|f| f.time)
            .max()
            .unwrap_or(0)
            .to_string();
        let mut tags = vec![json!({"name": tlp_tag(level)})];
        if let Some(taxonomy) = members[0].text("classification.taxonomy") {
            tags.push(json!({"name": format!("rsit:{taxonomy}=\"{class_type}\"")}));
        }
        let info = format!(
            "{class_type} reported by {feed_name} on {day} ({})",
            level.label()
        );
        let mut attributes = Vec::new();
        for f in &members {
            for (ty, category, value, to_ids) in attribute_values(f) {
                let attr_uuid = name_based_v4(&format!(
                    "misp-attribute|{group_key}|{}|{ty}|{value}",
                    f.key
                ));
                hashes.push((md5_hex(&value), uuid.clone()));
                attributes.push(json!({
                    "uuid": attr_uuid.to_string(),
                    "type": ty,
                    "category": category,
                    "value": value,
                    "to_ids": to_ids,
                    "distribution": "5",
                    "timestamp": f.time.to_string(),
                    "comment": comment(f),
                }));
            }
        }
        let summary = json!({
            "Orgc": org,
            "Tag": tags,
            "info": info,
            "date": day,
            "analysis": "2",
            "threat_level_id": "3",
            "timestamp": timestamp,
        });
        manifest.insert(uuid.clone(), summary);
        let event = json!({"Event": {
            "uuid": uuid,
            "info": info,
            "date": day,
            "analysis": "2",
            "threat_level_id": "3",
            "distribution": "3",
            "published": true,
            "timestamp": timestamp,
            "publish_timestamp": timestamp,
            "Orgc": org,
            "Tag": tags,
            "Attribute": attributes,
        }});
        events.push(FeedEvent { uuid, json: event });
    }
    Feed {
        manifest: Json::Object(manifest),
        hashes,
        events,
    }
}

/// What [`write_feed`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedSummary {
    pub events: usize,
    pub attributes: usize,
}

/// Writes the feed of `findings` into `dir` (created if missing): `manifest.json`,
/// `hashes.csv` and `<uuid>.json` per event. Each file is written to a temporary name and
/// renamed, so a subscriber never reads half a file.
pub fn write_feed(dir: &Path, producer: &str, findings: &[Finding]) -> io::Result<FeedSummary> {
    let feed = feed(producer, findings);
    std::fs::create_dir_all(dir)?;
    for event in &feed.events {
        write_atomic(
            &dir.join(format!("{}.json", event.uuid)),
            &serde_json::to_vec_pretty(&event.json)?,
        )?;
    }
    let mut csv = String::new();
    for (hash, uuid) in &feed.hashes {
        csv.push_str(&format!("{hash},{uuid}\n"));
    }
    write_atomic(&dir.join("hashes.csv"), csv.as_bytes())?;
    write_atomic(
        &dir.join("manifest.json"),
        &serde_json::to_vec_pretty(&feed.manifest)?,
    )?;
    Ok(FeedSummary {
        events: feed.events.len(),
        attributes: feed.hashes.len(),
    })
}

fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

fn md5_hex(value: &str) -> String {
    Md5::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The MISP attributes of a finding: (type, category, value, to_ids).
fn attribute_values(f: &Finding) -> Vec<(&'static str, &'static str, String, bool)> {
    let mut out = Vec::new();
    if f.kind == FindingKind::PortAlert {
        if let Some(port) = f.integer("destination.port") {
            out.push(("port", "Network activity", port.to_string(), false));
        }
        return out;
    }
    let victim = f.text("extra.role") == Some("victim")
        || matches!(
            f.text("classification.taxonomy"),
            Some("vulnerable" | "availability")
        );
    if let Some(ip) = f.text("source.ip") {
        let ty = if victim { "ip-dst" } else { "ip-src" };
        out.push((ty, "Network activity", ip.to_owned(), !victim));
    }
    if let Some(fqdn) = f.text("source.fqdn") {
        out.push(("domain", "Network activity", fqdn.to_owned(), !victim));
    }
    if let Some(url) = f.text("source.url") {
        out.push(("url", "Network activity", url.to_owned(), !victim));
    }
    out
}

fn comment(f: &Finding) -> String {
    let mut parts = vec![crate::stix::timestamp(f.time)];
    if let Some(port) = f.integer("destination.port") {
        let transport = f.text("protocol.transport").unwrap_or("ip");
        parts.push(format!("to {transport}/{port}"));
    }
    if let Some(id) = f.text("classification.identifier") {
        parts.push(id.to_owned());
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use firewatch_core::Event;

    #[test]
    fn groups_by_feed_type_tlp_and_day() {
        let mk = |ip: &str, tlp: &str, time: &str| {
            let mut e = Event::new();
            e.set("source.ip", ip).unwrap();
            e.set("feed.name", "scan").unwrap();
            e.set("classification.type", "scanner").unwrap();
            e.set("tlp", tlp).unwrap();
            e.set("time.source", time).unwrap();
            e.fill_taxonomy();
            let t = time.parse::<jiff::Timestamp>().unwrap().as_second();
            Finding::from_event(e, t)
        };
        let findings = [
            mk("192.0.2.1", "GREEN", "2026-01-01T01:00:00Z"),
            mk("192.0.2.2", "GREEN", "2026-01-01T02:00:00Z"),
            mk("192.0.2.3", "AMBER", "2026-01-01T02:00:00Z"),
            mk("192.0.2.4", "GREEN", "2026-01-02T02:00:00Z"),
        ];
        let feed = feed("CERT-X", &findings);
        assert_eq!(feed.events.len(), 3);
        assert_eq!(feed.hashes.len(), 4);
        assert_eq!(feed.hashes[0].0, md5_hex("192.0.2.1"));
        let tags = &feed.events[0].json["Event"]["Tag"];
        assert!(
            tags.as_array()
                .unwrap()
                .iter()
                .any(|t| t["name"] == "rsit:information-gathering=\"scanner\"")
        );
        assert_eq!(feed, super::feed("CERT-X", &findings));
        assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
    }
}
