//! The FIRST CSIRT Services Framework as data: its five service areas, 21 services and 76
//! functions, by id and name (issue 21, item 5).
//!
//! The built-in framework is embedded from `data/first/framework.tsv`, derived from MISP's
//! galaxy cluster `first-csirt-services-framework.json` (CC0 1.0 or BSD-2-Clause; used under
//! CC0) by `data/first/make-framework-tsv.py`: ids, names, areas and the galaxy's uuids only,
//! not the descriptions. [`Framework::import`] reads the galaxy JSON itself, so a newer edition
//! can be brought as it is published.
//!
//! Ids are slugs of the names ([`slug`]): `information-security-incident-analysis`. A
//! function's id is unique within its service (FIRST has a service "Communication" and a
//! function "Communication" of another service).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::catalogue::{columns, header_line, reader};
use crate::error::{AssessError, Place};

/// The embedded framework (version in its `# version:` comment).
const FRAMEWORK_TSV: &str = include_str!("../data/first/framework.tsv");

/// The built-in framework's version: bump it with `data/first/framework.tsv`.
pub const FIRST_BUILTIN_VERSION: &str = "first-csirt-services-2.1-misp-galaxy-1";

/// One of the framework's five service areas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Area {
    /// Its id, a slug of its name: `information-security-event-management`.
    pub id: String,
    /// Its name: "Information Security Event Management".
    pub name: String,
}

/// One function of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Function {
    /// Its id, a slug of its name, unique within its service.
    pub id: String,
    /// Its name: "Log and sensor management".
    pub name: String,
    /// The galaxy's uuid, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
}

/// One service of the framework.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstService {
    /// Its id, a slug of its name: `monitoring-and-detection`.
    pub id: String,
    /// Its name: "Monitoring and detection".
    pub name: String,
    /// The id of its area.
    pub area: String,
    /// True when an imported galaxy listed a service the built-in framework does not know, so
    /// its area was taken from the service before it (the galaxy lists services area by area
    /// but does not name the areas).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub area_inferred: bool,
    /// The galaxy's uuid, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// Its functions, in the framework's order.
    pub functions: Vec<Function>,
}

/// The areas, services and functions of one edition of the framework.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Framework {
    /// Which edition: [`FIRST_BUILTIN_VERSION`], or what an imported galaxy says.
    pub version: String,
    areas: Vec<Area>,
    services: Vec<FirstService>,
}

/// An id from a name: lowercase ASCII letters and digits, every run of anything else one dash,
/// none at either end. "Vulnerability discovery / research" is `vulnerability-discovery-research`.
pub fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// The galaxy cluster as MISP writes it; only what we keep is read (descriptions, `meta` and
/// the rest are left alone).
#[derive(Deserialize)]
struct Galaxy {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<serde_json::Value>,
    values: Vec<GalaxyValue>,
}

#[derive(Deserialize)]
struct GalaxyValue {
    value: String,
    #[serde(default)]
    uuid: Option<String>,
    #[serde(default)]
    related: Vec<GalaxyRelation>,
}

#[derive(Deserialize)]
struct GalaxyRelation {
    #[serde(rename = "dest-uuid")]
    dest_uuid: String,
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

impl Framework {
    /// The embedded framework: 5 areas, 21 services, 76 functions.
    pub fn builtin() -> Framework {
        // Our own data, checked by unit tests: a failure here is a build defect.
        read_tsv(FRAMEWORK_TSV).expect("embedded data/first/framework.tsv")
    }

    /// The framework from MISP's galaxy cluster JSON (`first-csirt-services-framework.json`,
    /// as published or newer). Values named `Service: …` are services, `Function: …` functions,
    /// each function `part-of` exactly one service of the file (by uuid). A service's area is the
    /// built-in framework's for the same uuid or name; for a service it does not know, the area
    /// of the service listed before it (the galaxy lists them area by area), marked
    /// [`FirstService::area_inferred`]. Refusals name the entry of `values` (from 1) and why.
    pub fn import(json: &str) -> Result<Framework, AssessError> {
        let galaxy: Galaxy = serde_json::from_str(json).map_err(|e| AssessError::from_json(&e))?;
        let builtin = Framework::builtin();
        let mut services: Vec<FirstService> = Vec::new();
        let mut service_at: HashMap<String, (usize, Place)> = HashMap::new();
        let mut uuids: HashMap<String, Place> = HashMap::new();
        let mut functions: Vec<(Place, String, Option<String>, &GalaxyValue)> = Vec::new();
        let bad = |at: Place, column: &str, value: &str, why: String| AssessError::BadValue {
            at,
            column: column.to_owned(),
            value: value.to_owned(),
            why,
        };
        for (i, value) in galaxy.values.iter().enumerate() {
            let at = Place::Entry { index: i + 1 };
            if let Some(uuid) = &value.uuid {
                let uuid = uuid.trim().to_ascii_lowercase();
                if let Some(first) = uuids.insert(uuid.clone(), at) {
                    return Err(bad(
                        at,
                        "uuid",
                        &uuid,
                        format!("is given twice (first at {first})"),
                    ));
                }
            }
            let uuid = value.uuid.as_ref().map(|u| u.trim().to_ascii_lowercase());
            let (kind, name) = value
                .value
                .split_once(':')
                .map(|(k, n)| (k.trim(), n.trim()))
                .ok_or_else(|| {
                    bad(
                        at,
                        "value",
                        &value.value,
                        "is neither \"Service: …\" nor \"Function: …\"".to_owned(),
                    )
                })?;
            let id = slug(name);
            if id.is_empty() {
                return Err(bad(at, "value", &value.value, "has no name".to_owned()));
            }
            match kind.to_ascii_lowercase().as_str() {
                "service" => {
                    if let Some((_, first)) = service_at.get(&id) {
                        return Err(bad(
                            at,
                            "value",
                            &value.value,
                            format!("names the service {id} twice (first at {first})"),
                        ));
                    }
                    let known = builtin
                        .services
                        .iter()
                        .find(|s| s.uuid.is_some() && s.uuid == uuid)
                        .or_else(|| builtin.service(&id));
                    let (area, area_inferred) = match (known, services.last()) {
                        (Some(known), _) => (known.area.clone(), false),
                        (None, Some(before)) => (before.area.clone(), true),
                        (None, None) => {
                            return Err(bad(
                                at,
                                "value",
                                &value.value,
                                "is a service the built-in framework does not know, listed first, so its area cannot be told".to_owned(),
                            ));
                        }
                    };
                    service_at.insert(id.clone(), (services.len(), at));
                    services.push(FirstService {
                        id,
                        name: name.to_owned(),
                        area,
                        area_inferred,
                        uuid,
                        functions: Vec::new(),
                    });
                }
                "function" => functions.push((at, name.to_owned(), uuid, value)),
                _ => {
                    return Err(bad(
                        at,
                        "value",
                        &value.value,
                        "is neither \"Service: …\" nor \"Function: …\"".to_owned(),
                    ));
                }
            }
        }
        let by_uuid: HashMap<String, usize> = services
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((s.uuid.clone()?, i)))
            .collect();
        for (at, name, uuid, value) in functions {
            let parents: Vec<&GalaxyRelation> = value
                .related
                .iter()
                .filter(|r| r.kind.as_deref().map(str::trim) == Some("part-of"))
                .collect();
            let [parent] = parents.as_slice() else {
                return Err(bad(
                    at,
                    "related",
                    &value.value,
                    format!(
                        "has {} `part-of` relations: a function is part of exactly one service",
                        parents.len()
                    ),
                ));
            };
            let dest = parent.dest_uuid.trim().to_ascii_lowercase();
            let index = *by_uuid.get(&dest).ok_or_else(|| {
                bad(
                    at,
                    "related",
                    &value.value,
                    format!("is part of {dest}, which is no service of the file"),
                )
            })?;
            let service = &mut services[index];
            let id = slug(&name);
            if service.functions.iter().any(|f| f.id == id) {
                return Err(bad(
                    at,
                    "value",
                    &value.value,
                    format!("is listed twice in the service {}", service.id),
                ));
            }
            service.functions.push(Function { id, name, uuid });
        }
        if services.is_empty() {
            return Err(AssessError::Empty {
                what: "FIRST services framework (no \"Service: …\" value)",
            });
        }
        let areas = builtin
            .areas
            .into_iter()
            .filter(|a| services.iter().any(|s| s.area == a.id))
            .collect();
        let version = match (galaxy.name, galaxy.version) {
            (name, Some(version)) => format!(
                "{}, MISP galaxy version {}",
                name.as_deref().unwrap_or("imported"),
                version
                    .as_str()
                    .map_or_else(|| version.to_string(), str::to_owned)
            ),
            (Some(name), None) => name,
            (None, None) => "imported".to_owned(),
        };
        Ok(Framework {
            version,
            areas,
            services,
        })
    }

    /// The areas, in the framework's order.
    pub fn areas(&self) -> &[Area] {
        &self.areas
    }

    /// The services, area by area in the framework's order.
    pub fn services(&self) -> &[FirstService] {
        &self.services
    }

    /// An area by id.
    pub fn area(&self, id: &str) -> Option<&Area> {
        self.areas.iter().find(|a| a.id == id)
    }

    /// A service by id, or by its name in any case and spacing (its slug).
    pub fn service(&self, id_or_name: &str) -> Option<&FirstService> {
        let id = slug(id_or_name);
        self.services.iter().find(|s| s.id == id)
    }

    /// How many functions, over all services.
    pub fn function_count(&self) -> usize {
        self.services.iter().map(|s| s.functions.len()).sum()
    }
}

/// The embedded TSV: `kind, id, name, parent, uuid`, areas before their services, services
/// before their functions.
fn read_tsv(text: &str) -> Result<Framework, AssessError> {
    let mut reader = reader(text, b'\t');
    let line = header_line(text);
    let headers = reader
        .headers()
        .map_err(|e| AssessError::from_csv(&e, line))?
        .clone();
    let cols = columns(&headers, line, &["kind", "id", "name", "parent"], &["uuid"])?;
    let mut areas: Vec<Area> = Vec::new();
    let mut services: Vec<FirstService> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| AssessError::from_csv(&e, line))?;
        let at = Place::line(record.position().map_or(line, csv::Position::line));
        let field = |name: &str| record.get(cols[name]).unwrap_or("").to_owned();
        let uuid = cols
            .get("uuid")
            .and_then(|&i| record.get(i))
            .filter(|u| !u.is_empty())
            .map(str::to_owned);
        let (id, name, parent) = (field("id"), field("name"), field("parent"));
        let bad = |why: &str| AssessError::BadValue {
            at,
            column: "parent".to_owned(),
            value: parent.clone(),
            why: why.to_owned(),
        };
        match field("kind").as_str() {
            "area" => areas.push(Area { id, name }),
            "service" => {
                if !areas.iter().any(|a| a.id == parent) {
                    return Err(bad("is no area listed above"));
                }
                services.push(FirstService {
                    id,
                    name,
                    area: parent,
                    area_inferred: false,
                    uuid,
                    functions: Vec::new(),
                });
            }
            "function" => {
                let service = services
                    .iter_mut()
                    .rfind(|s| s.id == parent)
                    .ok_or_else(|| bad("is no service listed above"))?;
                service.functions.push(Function { id, name, uuid });
            }
            other => {
                return Err(AssessError::BadValue {
                    at,
                    column: "kind".to_owned(),
                    value: other.to_owned(),
                    why: "is not area, service or function".to_owned(),
                });
            }
        }
    }
    Ok(Framework {
        version: FIRST_BUILTIN_VERSION.to_owned(),
        areas,
        services,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// `$FIREWATCH_SHARED_DATA`, else `../shared/data` beside the repository.
    fn shared_data() -> PathBuf {
        std::env::var_os("FIREWATCH_SHARED_DATA").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
            PathBuf::from,
        )
    }

    fn galaxy_json() -> String {
        let path = shared_data().join("first-csirt-services/first-csirt-services-framework.json");
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (set FIREWATCH_SHARED_DATA)", path.display()))
    }

    #[test]
    fn builtin_has_5_areas_21_services_76_functions() {
        let first = Framework::builtin();
        assert_eq!(first.version, FIRST_BUILTIN_VERSION);
        assert!(FRAMEWORK_TSV.contains(&format!("# version: {FIRST_BUILTIN_VERSION}\n")));
        assert_eq!(first.areas().len(), 5);
        assert_eq!(first.services().len(), 21);
        assert_eq!(first.function_count(), 76);
        let per_area: Vec<usize> = first
            .areas()
            .iter()
            .map(|a| first.services().iter().filter(|s| s.area == a.id).count())
            .collect();
        assert_eq!(per_area, [2, 6, 6, 3, 4]);
        let analysis = first
            .service("Information security incident analysis")
            .unwrap();
        assert_eq!(analysis.id, "information-security-incident-analysis");
        assert_eq!(analysis.functions.len(), 5);
        assert!(first.services().iter().all(|s| !s.functions.is_empty()));
    }

    #[test]
    fn builtin_matches_the_galaxy_json() {
        let imported = Framework::import(&galaxy_json()).unwrap();
        let builtin = Framework::builtin();
        assert_eq!(imported.areas(), builtin.areas());
        assert_eq!(imported.services(), builtin.services());
        assert_eq!(
            imported.version,
            "FIRST CSIRT Services Framework, MISP galaxy version 1"
        );
    }

    #[test]
    fn slugs() {
        assert_eq!(
            slug("Vulnerability discovery / research"),
            "vulnerability-discovery-research"
        );
        assert_eq!(
            slug(" Event detection (through alerting and/or hunting) "),
            "event-detection-through-alerting-and-or-hunting"
        );
        assert_eq!(slug("--"), "");
    }

    #[test]
    fn import_refusals_name_the_entry() {
        let err =
            Framework::import(r#"{"values": [{"value": "Sevrice: X", "uuid": "1"}]}"#).unwrap_err();
        assert_eq!(err.place(), Some(Place::Entry { index: 1 }), "{err}");

        let orphan = r#"{"values": [
            {"value": "Service: Exercises", "uuid": "a"},
            {"value": "Function: Drill", "uuid": "b", "related": [{"dest-uuid": "zz", "type": "part-of"}]}]}"#;
        let err = Framework::import(orphan).unwrap_err();
        assert_eq!(err.place(), Some(Place::Entry { index: 2 }), "{err}");
        assert!(err.to_string().contains("no service of the file"), "{err}");

        let twice = r#"{"values": [
            {"value": "Service: Exercises", "uuid": "a"},
            {"value": "Service: exercises", "uuid": "b"}]}"#;
        let err = Framework::import(twice).unwrap_err();
        assert_eq!(err.place(), Some(Place::Entry { index: 2 }), "{err}");

        let unknown_first = r#"{"values": [{"value": "Service: Brand new", "uuid": "n"}]}"#;
        let err = Framework::import(unknown_first).unwrap_err();
        assert!(err.to_string().contains("area cannot be told"), "{err}");

        let err = Framework::import(r#"{"values": []}"#).unwrap_err();
        assert!(matches!(err, AssessError::Empty { .. }), "{err}");
        let err = Framework::import("{\n \"values\": 3}").unwrap_err();
        assert_eq!(err.place().and_then(Place::line_number), Some(2), "{err}");
    }

    #[test]
    fn a_new_service_takes_the_area_before_it() {
        let json = r#"{"name": "FIRST", "version": 2, "values": [
            {"value": "Service: Exercises", "uuid": "x"},
            {"value": "Service: Tabletop games", "uuid": "y"}]}"#;
        let first = Framework::import(json).unwrap();
        let new = first.service("tabletop-games").unwrap();
        assert_eq!(new.area, "knowledge-transfer");
        assert!(new.area_inferred);
        assert_eq!(first.areas().len(), 1);
        assert_eq!(first.version, "FIRST, MISP galaxy version 2");
    }
}
