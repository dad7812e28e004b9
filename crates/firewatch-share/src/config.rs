//! `[share]` in firewatch.toml: who the exports say produced them, and how far a MISP instance
//! may pass Firewatch's events on.
//!
//! ```toml
//! [share]
//! producer_name = "Example CERT"          # default: [notify] sender_team, else "Firewatch"
//! producer_sector = "government"          # STIX identity `sectors`
//! producer_contact = "cert@example.org"   # STIX identity `contact_information`
//!
//! [share.misp]
//! org_name = "Example CERT"               # the events' Orgc (default: producer_name)
//! org_uuid = "…"                          # default: derived from org_name, stable
//! sharing_group_uuid = "…"                # TLP:AMBER levels go to this sharing group
//! ```
//!
//! The config is only read here; [`ShareConfig::producer`] builds the resolved [`Producer`]
//! that [`crate::stix::Exporter`] and [`crate::misp`] use.

use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::ids::name_based_v4;

/// The name of the producer when neither `[share] producer_name` nor a notify sender team is
/// configured.
pub const DEFAULT_PRODUCER: &str = "Firewatch";

/// `[share]`: the producing identity of STIX and MISP output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShareConfig {
    /// The producing team's name (STIX identity `name`; MISP Orgc unless `[share.misp]
    /// org_name`). Default: `[notify] sender_team`, else "Firewatch".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub producer_name: Option<String>,
    /// The STIX identity's `sectors` (one entry of STIX's industry-sector vocabulary, e.g.
    /// `government`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub producer_sector: Option<String>,
    /// The STIX identity's `contact_information` (an address, a web page).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub producer_contact: Option<String>,
    /// `[share.misp]`: the MISP organisation and sharing group.
    pub misp: MispShareConfig,
}

/// `[share.misp]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MispShareConfig {
    /// The events' creator organisation (`Orgc.name`). Default: the producer's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_name: Option<String>,
    /// `Orgc.uuid`, as the organisation is known to the partners' MISP instances. Default: a
    /// uuid derived from the organisation's name (the same name always gives the same uuid).
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some_uuid"
    )]
    pub org_uuid: Option<String>,
    /// A MISP sharing group: TLP:AMBER and TLP:AMBER+STRICT events get distribution 4
    /// ("sharing group") with this group instead of 0 ("your organisation only").
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some_uuid"
    )]
    pub sharing_group_uuid: Option<String>,
}

/// A uuid in its lowercase hyphenated form; refuses anything else with the value in the
/// message.
fn some_uuid<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text = String::deserialize(d)?;
    Uuid::parse_str(&text)
        .map(|u| Some(u.hyphenated().to_string()))
        .map_err(|e| serde::de::Error::custom(format!("{text:?} is not a uuid: {e}")))
}

/// The resolved producing identity, as the exporters use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Producer {
    /// STIX identity `name`.
    pub name: String,
    /// STIX identity `sectors` (one entry).
    pub sector: Option<String>,
    /// STIX identity `contact_information`.
    pub contact: Option<String>,
    /// MISP `Orgc.name`.
    pub misp_org_name: String,
    /// MISP `Orgc.uuid`.
    pub misp_org_uuid: String,
    /// MISP sharing group for the AMBER levels.
    pub misp_sharing_group_uuid: Option<String>,
}

impl Producer {
    /// A producer known only by its name: no sector or contact, the MISP organisation of that
    /// name with its derived uuid, no sharing group.
    pub fn named(name: &str) -> Producer {
        Producer {
            name: name.to_owned(),
            sector: None,
            contact: None,
            misp_org_name: name.to_owned(),
            misp_org_uuid: misp_org_uuid(name),
            misp_sharing_group_uuid: None,
        }
    }
}

/// The MISP organisation uuid derived from its name (stable: the same name, the same uuid).
pub fn misp_org_uuid(name: &str) -> String {
    name_based_v4(&format!("misp-org|{name}")).to_string()
}

impl ShareConfig {
    /// The producer of an export: `name` when given (a command's `--producer`), else
    /// `producer_name`, else `fallback` (the notify sender team), else "Firewatch".
    pub fn producer(&self, name: Option<&str>, fallback: Option<&str>) -> Producer {
        let name = name
            .or(self.producer_name.as_deref())
            .or(fallback)
            .unwrap_or(DEFAULT_PRODUCER);
        let org_name = self.misp.org_name.as_deref().unwrap_or(name);
        Producer {
            name: name.to_owned(),
            sector: self.producer_sector.clone(),
            contact: self.producer_contact.clone(),
            misp_org_name: org_name.to_owned(),
            misp_org_uuid: self
                .misp
                .org_uuid
                .clone()
                .unwrap_or_else(|| misp_org_uuid(org_name)),
            misp_sharing_group_uuid: self.misp.sharing_group_uuid.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_comes_from_the_flag_then_the_config_then_the_sender_team() {
        let empty = ShareConfig::default();
        assert_eq!(empty.producer(None, None).name, "Firewatch");
        assert_eq!(empty.producer(None, Some("cert-x")).name, "cert-x");
        let named = ShareConfig {
            producer_name: Some("Example CERT".into()),
            ..ShareConfig::default()
        };
        assert_eq!(named.producer(None, Some("cert-x")).name, "Example CERT");
        assert_eq!(
            named.producer(Some("CERT-A"), Some("cert-x")).name,
            "CERT-A"
        );
    }

    #[test]
    fn the_misp_organisation_defaults_to_the_producer_with_a_stable_uuid() {
        let p = ShareConfig::default().producer(Some("Example CERT"), None);
        assert_eq!(p.misp_org_name, "Example CERT");
        assert_eq!(p.misp_org_uuid, misp_org_uuid("Example CERT"));
        assert_eq!(p, Producer::named("Example CERT"));
        assert_ne!(p.misp_org_uuid, misp_org_uuid("Other CERT"));
        // Written out, so that a change to the derivation shows: partners' MISP instances
        // know the organisation by this uuid.
        assert_eq!(
            misp_org_uuid("CERT-Example"),
            name_based_v4("misp-org|CERT-Example").to_string()
        );
    }

    #[test]
    fn uuids_are_checked_and_unknown_keys_refused() {
        let config: ShareConfig = serde_json::from_str(
            r#"{"producer_name": "Example CERT", "misp": {"org_uuid": "5D4E9A52-0000-4000-8000-00000000000A", "sharing_group_uuid": "5d4e9a52-0000-4000-8000-00000000000b"}}"#,
        )
        .unwrap();
        assert_eq!(
            config.misp.org_uuid.as_deref(),
            Some("5d4e9a52-0000-4000-8000-00000000000a")
        );
        let p = config.producer(None, None);
        assert_eq!(p.misp_org_uuid, "5d4e9a52-0000-4000-8000-00000000000a");
        assert_eq!(
            p.misp_sharing_group_uuid.as_deref(),
            Some("5d4e9a52-0000-4000-8000-00000000000b")
        );
        let err = serde_json::from_str::<ShareConfig>(r#"{"misp": {"sharing_group_uuid": "x"}}"#)
            .unwrap_err();
        assert!(err.to_string().contains("is not a uuid"), "{err}");
        assert!(serde_json::from_str::<ShareConfig>(r#"{"producer": "x"}"#).is_err());
        assert!(serde_json::from_str::<ShareConfig>(r#"{"misp": {"org": "x"}}"#).is_err());
    }
}
