//! A MISP feed: `manifest.json`, `hashes.csv` and one event JSON per finding group, the layout
//! MISP reads when it subscribes to a feed ("Add feed", format "MISP Feed").
//!
//! Findings are grouped by feed, classification type, TLP and day; each group is one MISP
//! event tagged `tlp:<level>` (MISP's TLP taxonomy, with `tlp:clear` and `tlp:amber+strict`)
//! and `rsit:<taxonomy>="<type>"` (MISP's RSIT taxonomy). Its attributes are the addresses
//! (`ip-src` for actors, `ip-dst` for victims), domains, URLs and, for port alerts, ports.
//! Event and attribute uuids derive from the group and the finding, so exporting again
//! rewrites the same files.
//!
//! An event's `distribution` follows its TLP ([`distribution`]): a MISP instance that takes
//! the event in passes it on no further than the TLP allows, and a TLP:RED finding is never
//! written. Attributes inherit the event's distribution (5).

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use firewatch_core::TlpLevel;
use md5::{Digest, Md5};
use serde_json::{Value as Json, json};

use crate::config::Producer;
use crate::finding::{Finding, FindingKind};
use crate::ids::name_based_v4;

/// MISP's distribution levels: how far an instance passes an event or attribute on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Distribution {
    /// 0: "Your organisation only".
    OrganisationOnly,
    /// 1: "This community only".
    CommunityOnly,
    /// 2: "Connected communities".
    ConnectedCommunities,
    /// 3: "All communities".
    AllCommunities,
    /// 4: "Sharing group" (with the group's uuid).
    SharingGroup,
    /// 5: "Inherit event" (attributes only).
    Inherit,
}

impl Distribution {
    /// MISP's number for the level (`0`–`5`).
    pub fn code(self) -> u8 {
        match self {
            Distribution::OrganisationOnly => 0,
            Distribution::CommunityOnly => 1,
            Distribution::ConnectedCommunities => 2,
            Distribution::AllCommunities => 3,
            Distribution::SharingGroup => 4,
            Distribution::Inherit => 5,
        }
    }

    /// The number as MISP's JSON writes it (a string: `"3"`).
    pub fn as_json(self) -> Json {
        Json::String(self.code().to_string())
    }
}

/// The MISP distribution of an event at TLP `level`; `None` for TLP:RED, which is never
/// written into a feed. CLEAR may go to all communities, GREEN to the connected communities
/// (the community and its partners, not the public); AMBER and AMBER+STRICT stay in the
/// receiving organisation — or, when `sharing_group` is configured, in that sharing group.
pub fn distribution(level: TlpLevel, sharing_group: bool) -> Option<Distribution> {
    match level {
        TlpLevel::Clear => Some(Distribution::AllCommunities),
        TlpLevel::Green => Some(Distribution::ConnectedCommunities),
        TlpLevel::Amber | TlpLevel::AmberStrict if sharing_group => {
            Some(Distribution::SharingGroup)
        }
        TlpLevel::Amber | TlpLevel::AmberStrict => Some(Distribution::OrganisationOnly),
        TlpLevel::Red => None,
    }
}

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
    /// Findings not written because they are TLP:RED (or have no TLP).
    pub left_out_red: usize,
}

/// The MISP tag of a TLP level (`tlp:amber+strict`).
pub fn tlp_tag(level: TlpLevel) -> String {
    format!("tlp:{}", level.as_str())
}

/// Builds the feed of `findings` as `producer`'s MISP organisation (`Orgc`), leaving out
/// TLP:RED findings.
pub fn feed(producer: &Producer, findings: &[Finding]) -> Feed {
    let org = json!({
        "name": producer.misp_org_name,
        "uuid": producer.misp_org_uuid,
    });
    let sharing_group = producer.misp_sharing_group_uuid.as_deref();
    let mut groups: BTreeMap<(String, String, TlpLevel, String), Vec<&Finding>> = BTreeMap::new();
    let mut left_out_red = 0;
    for f in findings {
        if distribution(f.tlp(), sharing_group.is_some()).is_none() {
            left_out_red += 1;
            continue;
        }
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
        // TLP:RED has no distribution: its findings were left out above.
        let Some(event_distribution) = distribution(level, sharing_group.is_some()) else {
            continue;
        };
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
                    "distribution": Distribution::Inherit.as_json(),
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
        let mut event = json!({"Event": {
            "uuid": uuid,
            "info": info,
            "date": day,
            "analysis": "2",
            "threat_level_id": "3",
            "distribution": event_distribution.as_json(),
            "published": true,
            "timestamp": timestamp,
            "publish_timestamp": timestamp,
            "Orgc": org,
            "Tag": tags,
            "Attribute": attributes,
        }});
        if let (Distribution::SharingGroup, Some(group)) = (event_distribution, sharing_group) {
            // As MISP's own feeds write it (PyMISP `to_feed(with_distribution=True)`): the
            // group by uuid, which the receiving instance resolves to its local id.
            event["Event"]["SharingGroup"] = json!({ "uuid": group });
        }
        events.push(FeedEvent { uuid, json: event });
    }
    Feed {
        manifest: Json::Object(manifest),
        hashes,
        events,
        left_out_red,
    }
}

/// What [`write_feed`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedSummary {
    pub events: usize,
    pub attributes: usize,
    /// Findings left out because they are TLP:RED (or have no TLP).
    pub left_out_red: usize,
}

/// Writes the feed of `findings` into `dir` (created if missing): `manifest.json`,
/// `hashes.csv` and `<uuid>.json` per event; TLP:RED findings are left out. Each file is
/// written to a temporary name and renamed, so a subscriber never reads half a file.
pub fn write_feed(
    dir: &Path,
    producer: &Producer,
    findings: &[Finding],
) -> io::Result<FeedSummary> {
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
        left_out_red: feed.left_out_red,
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

    fn mk(ip: &str, tlp: &str, time: &str) -> Finding {
        let mut e = Event::new();
        e.set("source.ip", ip).unwrap();
        e.set("feed.name", "scan").unwrap();
        e.set("classification.type", "scanner").unwrap();
        e.set("tlp", tlp).unwrap();
        e.set("time.source", time).unwrap();
        e.fill_taxonomy();
        let t = time.parse::<jiff::Timestamp>().unwrap().as_second();
        Finding::from_event(e, t)
    }

    /// The TLP → MISP distribution table of docs/sharing.md, written out: (level, without a
    /// sharing group, with one).
    #[test]
    fn distribution_follows_tlp() {
        let table = [
            (TlpLevel::Clear, Some(3), Some(3)),
            (TlpLevel::Green, Some(2), Some(2)),
            (TlpLevel::Amber, Some(0), Some(4)),
            (TlpLevel::AmberStrict, Some(0), Some(4)),
            (TlpLevel::Red, None, None),
        ];
        for (level, alone, grouped) in table {
            assert_eq!(
                distribution(level, false).map(Distribution::code),
                alone,
                "{level:?}"
            );
            assert_eq!(
                distribution(level, true).map(Distribution::code),
                grouped,
                "{level:?}"
            );
        }
        assert_eq!(Distribution::Inherit.as_json(), json!("5"));
        assert_eq!(Distribution::SharingGroup.as_json(), json!("4"));
    }

    fn event_of<'a>(feed: &'a Feed, tlp_tag: &str) -> &'a Json {
        &feed
            .events
            .iter()
            .find(|e| {
                e.json["Event"]["Tag"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t["name"] == tlp_tag)
            })
            .unwrap_or_else(|| panic!("no event tagged {tlp_tag}"))
            .json["Event"]
    }

    #[test]
    fn events_carry_their_distribution_and_red_is_left_out() {
        let findings = [
            mk("192.0.2.1", "CLEAR", "2026-01-01T01:00:00Z"),
            mk("192.0.2.2", "GREEN", "2026-01-01T01:00:00Z"),
            mk("192.0.2.3", "AMBER", "2026-01-01T01:00:00Z"),
            mk("192.0.2.4", "AMBER+STRICT", "2026-01-01T01:00:00Z"),
            mk("192.0.2.5", "RED", "2026-01-01T01:00:00Z"),
        ];
        let feed = feed(&Producer::named("CERT-X"), &findings);
        assert_eq!(feed.events.len(), 4);
        assert_eq!(feed.left_out_red, 1);
        assert!(!feed.hashes.iter().any(|(h, _)| *h == md5_hex("192.0.2.5")));
        for (tag, expected) in [
            ("tlp:clear", "3"),
            ("tlp:green", "2"),
            ("tlp:amber", "0"),
            ("tlp:amber+strict", "0"),
        ] {
            let event = event_of(&feed, tag);
            assert_eq!(event["distribution"], expected, "{tag}");
            assert!(event.get("SharingGroup").is_none(), "{tag}");
            for a in event["Attribute"].as_array().unwrap() {
                assert_eq!(a["distribution"], "5", "{tag}");
            }
        }
        assert!(
            !serde_json::to_string(&feed.manifest)
                .unwrap()
                .contains("tlp:red")
        );
    }

    #[test]
    fn a_sharing_group_takes_the_amber_levels() {
        let group = "5d4e9a52-0000-4000-8000-00000000000b";
        let producer = Producer {
            misp_sharing_group_uuid: Some(group.to_owned()),
            ..Producer::named("CERT-X")
        };
        let findings = [
            mk("192.0.2.1", "CLEAR", "2026-01-01T01:00:00Z"),
            mk("192.0.2.2", "GREEN", "2026-01-01T01:00:00Z"),
            mk("192.0.2.3", "AMBER", "2026-01-01T01:00:00Z"),
            mk("192.0.2.4", "AMBER+STRICT", "2026-01-01T01:00:00Z"),
            mk("192.0.2.5", "RED", "2026-01-01T01:00:00Z"),
        ];
        let feed = feed(&producer, &findings);
        assert_eq!(feed.left_out_red, 1);
        for tag in ["tlp:amber", "tlp:amber+strict"] {
            let event = event_of(&feed, tag);
            assert_eq!(event["distribution"], "4", "{tag}");
            assert_eq!(event["SharingGroup"], json!({ "uuid": group }), "{tag}");
        }
        assert_eq!(event_of(&feed, "tlp:clear")["distribution"], "3");
        assert_eq!(event_of(&feed, "tlp:green")["distribution"], "2");
        assert!(event_of(&feed, "tlp:green").get("SharingGroup").is_none());
    }

    #[test]
    fn the_organisation_comes_from_the_producer() {
        let producer = crate::ShareConfig {
            producer_name: Some("Example CERT".into()),
            misp: crate::config::MispShareConfig {
                org_name: Some("Example CERT (MISP)".into()),
                org_uuid: Some("5d4e9a52-0000-4000-8000-00000000000a".into()),
                sharing_group_uuid: None,
            },
            ..crate::ShareConfig::default()
        }
        .producer(None, None);
        let feed = feed(
            &producer,
            &[mk("192.0.2.1", "GREEN", "2026-01-01T01:00:00Z")],
        );
        let orgc =
            json!({"name": "Example CERT (MISP)", "uuid": "5d4e9a52-0000-4000-8000-00000000000a"});
        assert_eq!(feed.events[0].json["Event"]["Orgc"], orgc);
        assert_eq!(feed.manifest[&feed.events[0].uuid]["Orgc"], orgc);
    }

    #[test]
    fn groups_by_feed_type_tlp_and_day() {
        let findings = [
            mk("192.0.2.1", "GREEN", "2026-01-01T01:00:00Z"),
            mk("192.0.2.2", "GREEN", "2026-01-01T02:00:00Z"),
            mk("192.0.2.3", "AMBER", "2026-01-01T02:00:00Z"),
            mk("192.0.2.4", "GREEN", "2026-01-02T02:00:00Z"),
        ];
        let feed = feed(&Producer::named("CERT-X"), &findings);
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
        assert_eq!(feed, super::feed(&Producer::named("CERT-X"), &findings));
        assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
    }
}
