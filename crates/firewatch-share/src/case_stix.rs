//! A case as a STIX 2.1 bundle, and back (issue 19: exchange with other instances).
//!
//! What any STIX tool reads: an `incident` with the Incident Core Extension's fields where
//! they fit (determination, investigation status, criticality from the severity, the
//! observables as `other_object_refs`), the case's observables as cyber-observables
//! (`ipv4-addr`, `ipv6-addr`, `autonomous-system`, `domain-name`), each comment as a `note`,
//! and a `grouping` of them all, every object marked with the case's TLP.
//!
//! What another Firewatch reads: the whole timeline, entry by entry as the case model keeps it,
//! in Firewatch's case extension on the incident ([`CASE_EXTENSION`]). Importing replays it
//! through the model's rules, so a bundle cannot smuggle in a state the rules forbid.
//!
//! Everything is derived from the timeline and the producer: the incident's id from the
//! case's opening (coordinator, time, title), so the same case has the same id in every
//! instance that holds it, and export → import → export gives the same bytes.

use firewatch_cases::{Case, Change, Determination, Entry, ObservableKind, Severity, Status};
use firewatch_core::TlpLevel;
use serde_json::{Value as Json, json};

use crate::ids::{name_based_v4, sco_id, sdo_id};
use crate::stix::{Exporter, FIREWATCH_PROJECT_IDENTITY, timestamp};
use crate::tlp;

/// The Incident Core Extension of the STIX common objects (OASIS CTI TC).
pub const INCIDENT_CORE_EXTENSION: &str =
    "extension-definition--ef765651-680c-498d-9894-99799f2fa126";

/// Firewatch's case extension: the case's timeline, for another Firewatch.
pub const CASE_EXTENSION: &str = "extension-definition--eb96940d-5d06-4b99-b09f-a23275a8fa18";

/// `created`/`modified` of the extension's definition: fixed, so its version never moves.
const DEFINED: &str = "2026-12-07T00:00:00.000Z";

/// Why a bundle could not be read as a case.
#[derive(Debug, thiserror::Error)]
pub enum CaseBundleError {
    #[error("the bundle holds no incident with Firewatch's case extension ({CASE_EXTENSION})")]
    NoCase,
    #[error("the bundle holds {0} incidents with Firewatch's case extension; import one at a time")]
    SeveralCases(usize),
    #[error("the incident {id}: its case timeline, entry {index}: {why}")]
    Entry {
        id: String,
        index: usize,
        why: String,
    },
    #[error("the incident {id}: {why}")]
    Case { id: String, why: String },
}

/// The incident id of a case: from its opening, the same wherever the case is held.
pub fn incident_id(case: &Case) -> String {
    sdo_id(
        "incident",
        &format!(
            "case|{}|{}|{}",
            case.coordinator,
            case.opened_at.as_second(),
            case.title
        ),
    )
}

/// The case as a STIX 2.1 bundle, produced by `exporter`'s identity. Give it the view the
/// recipient may see ([`Case::view_for`]): the bundle holds what the case it is given holds.
pub fn export(case: &Case, exporter: &Exporter) -> Json {
    let incident = incident_id(case);
    let marking = json!([tlp::marking_id(case.tlp)]);
    let created = timestamp(case.opened_at.as_second());
    let modified = timestamp(case.updated_at.as_second().max(case.opened_at.as_second()));
    let mut objects = exporter.identity_objects();
    objects.push(extension_definition());
    for level in [TlpLevel::Clear, case.tlp] {
        let object = tlp::marking_object(level);
        if !objects.iter().any(|o| o["id"] == object["id"]) {
            objects.push(object);
        }
    }

    let mut observables = Vec::new();
    for o in &case.observables {
        if let Some(sco) = observable(o.kind, &o.value, &marking)
            && !observables.iter().any(|x: &Json| x["id"] == sco["id"])
        {
            observables.push(sco);
        }
    }
    let notes: Vec<Json> = case
        .timeline
        .iter()
        .filter_map(|entry| match &entry.change {
            Change::Comment { text } => {
                let at = timestamp(entry.at.as_second());
                let mut note = json!({
                    "type": "note", "spec_version": "2.1",
                    "id": sdo_id("note", &format!("{incident}|{}", entry.seq)),
                    "created_by_ref": exporter.identity_id(),
                    "created": at, "modified": at,
                    "content": text,
                    "object_refs": [incident],
                    "object_marking_refs": marking,
                });
                if let Some(actor) = &entry.actor {
                    note["authors"] = json!([actor]);
                }
                Some(note)
            }
            _ => None,
        })
        .collect();

    let mut core = json!({
        "extension_type": "property-extension",
        "determination": determination(case),
        "investigation_status": match case.status {
            Status::New => "new",
            Status::InProgress => "open",
            Status::Closed => "closed",
        },
        "criticality": criticality(case.severity),
    });
    if !observables.is_empty() {
        core["other_object_refs"] = observables.iter().map(|o| o["id"].clone()).collect();
    }
    let mut incident_object = json!({
        "type": "incident", "spec_version": "2.1", "id": incident,
        "created_by_ref": exporter.identity_id(),
        "created": created, "modified": modified,
        "name": case.title,
        "object_marking_refs": marking,
        "extensions": {
            INCIDENT_CORE_EXTENSION: core,
            CASE_EXTENSION: {
                "extension_type": "property-extension",
                "timeline": case.timeline,
            },
        },
    });
    if !case.summary.is_empty() {
        incident_object["description"] = json!(case.summary);
    }
    let mut grouped = vec![json!(incident)];
    grouped.extend(notes.iter().map(|n| n["id"].clone()));
    grouped.extend(observables.iter().map(|o| o["id"].clone()));
    let grouping = json!({
        "type": "grouping", "spec_version": "2.1",
        "id": sdo_id("grouping", &incident),
        "created_by_ref": exporter.identity_id(),
        "created": created, "modified": modified,
        "name": format!("Case: {}", case.title),
        "context": "suspicious-activity",
        "object_refs": grouped,
        "object_marking_refs": marking,
    });
    objects.push(incident_object);
    objects.push(grouping);
    objects.extend(notes);
    objects.extend(observables);

    let mut name = String::from("case-bundle");
    for o in &objects {
        name.push('|');
        name.push_str(o["id"].as_str().unwrap_or_default());
        name.push('@');
        name.push_str(o["modified"].as_str().unwrap_or_default());
    }
    json!({
        "type": "bundle",
        "id": format!("bundle--{}", name_based_v4(&name)),
        "objects": objects,
    })
}

/// A case read from a bundle: its incident's id and its timeline, numbered from 1 (a party's
/// view leaves out other parties' entries: the numbers close up).
#[derive(Debug, Clone)]
pub struct CaseBundle {
    /// The incident's STIX id.
    pub incident: String,
    /// The timeline, ready for [`Case::replay`].
    pub timeline: Vec<Entry>,
}

impl CaseBundle {
    /// The case the timeline describes (number 0: not stored yet), every entry checked by the
    /// model's rules.
    pub fn case(&self) -> Result<Case, CaseBundleError> {
        Case::replay(0, self.timeline.clone()).map_err(|e| CaseBundleError::Case {
            id: self.incident.clone(),
            why: e.to_string(),
        })
    }
}

/// Reads the one case a bundle carries in Firewatch's case extension.
pub fn read(bundle: &Json) -> Result<CaseBundle, CaseBundleError> {
    let incidents: Vec<&Json> = bundle["objects"]
        .as_array()
        .map(|objects| {
            objects
                .iter()
                .filter(|o| o["type"] == "incident" && !o["extensions"][CASE_EXTENSION].is_null())
                .collect()
        })
        .unwrap_or_default();
    let incident = match incidents.as_slice() {
        [] => return Err(CaseBundleError::NoCase),
        [one] => *one,
        many => return Err(CaseBundleError::SeveralCases(many.len())),
    };
    let id = incident["id"].as_str().unwrap_or_default().to_owned();
    let entries = incident["extensions"][CASE_EXTENSION]["timeline"]
        .as_array()
        .ok_or_else(|| CaseBundleError::Case {
            id: id.clone(),
            why: "its case extension has no timeline list".into(),
        })?;
    let mut timeline = Vec::with_capacity(entries.len());
    for (index, value) in entries.iter().enumerate() {
        let mut entry: Entry =
            serde_json::from_value(value.clone()).map_err(|e| CaseBundleError::Entry {
                id: id.clone(),
                index: index + 1,
                why: e.to_string(),
            })?;
        entry.seq = index as u64 + 1;
        timeline.push(entry);
    }
    Ok(CaseBundle {
        incident: id,
        timeline,
    })
}

/// The definition of [`CASE_EXTENSION`], created by the Firewatch project.
fn extension_definition() -> Json {
    json!({
        "type": "extension-definition", "spec_version": "2.1", "id": CASE_EXTENSION,
        "created_by_ref": FIREWATCH_PROJECT_IDENTITY,
        "created": DEFINED, "modified": DEFINED,
        "name": "Firewatch case",
        "description": "A cross-border case's timeline (every change and comment, in order, with when it happened, when it was recorded and who made it), as Firewatch keeps it, in the property timeline.",
        "schema": "https://example.invalid/firewatch/docs/cases.md",
        "version": "1.0.0",
        "extension_types": ["property-extension"],
        "object_marking_refs": [tlp::marking_id(TlpLevel::Clear)],
    })
}

/// A case observable as a STIX cyber-observable, where STIX has one (ports have none: they
/// stay in the timeline).
fn observable(kind: ObservableKind, value: &str, marking: &Json) -> Option<Json> {
    let (object_type, contributing) = match kind {
        ObservableKind::Address => {
            let addr: std::net::IpAddr = value.parse().ok()?;
            let object_type = if addr.is_ipv4() {
                "ipv4-addr"
            } else {
                "ipv6-addr"
            };
            (object_type, json!({ "value": value }))
        }
        ObservableKind::Asn => (
            "autonomous-system",
            json!({ "number": value.trim_start_matches("AS").parse::<u64>().ok()? }),
        ),
        ObservableKind::Domain => ("domain-name", json!({ "value": value })),
        ObservableKind::Port => return None,
    };
    let mut object = contributing.clone();
    object["type"] = json!(object_type);
    object["spec_version"] = json!("2.1");
    object["id"] = json!(sco_id(object_type, &contributing));
    object["object_marking_refs"] = marking.clone();
    Some(object)
}

/// The Incident Core Extension's determination: the case's, once closed; until then
/// `suspected` (the extension requires one).
fn determination(case: &Case) -> &'static str {
    match case.determination {
        Some(Determination::Confirmed) => "confirmed",
        Some(Determination::Suspected) | None => "suspected",
        Some(Determination::FalsePositive) => "false-positive",
        Some(Determination::Blocked) => "blocked",
        Some(Determination::FailedAttempt) => "failed-attempt",
    }
}

/// The extension's criticality (0–100) of a severity.
fn criticality(severity: Severity) -> u8 {
    match severity {
        Severity::Low => 25,
        Severity::Medium => 50,
        Severity::High => 75,
        Severity::Critical => 100,
    }
}
