//! The crosswalk between X.1060 and the FIRST CSIRT Services Framework (issue 21, item 5): which
//! X.1060 categories and services match which FIRST services, and how, so a team's FIRST
//! self-description and a country's X.1060 map can be read together.
//!
//! The built-in crosswalk (`data/crosswalk/x1060-first.tsv`) is Firewatch's own reading of the
//! two public service lists, not an official mapping of ITU or FIRST; [`Crosswalk::import`]
//! takes a user's own in the same shape, checked against both catalogues.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::assessment::{Assessment, Granularity};
use crate::catalogue::{Catalogue, Item, columns, header_line, reader};
use crate::error::{AssessError, Place};
use crate::first::Framework;
use crate::kind::StakeholderKind;
use crate::views::heatmap;

/// The embedded crosswalk.
const CROSSWALK_TSV: &str = include_str!("../data/crosswalk/x1060-first.tsv");

/// The built-in crosswalk's version: bump it with `data/crosswalk/x1060-first.tsv`.
pub const CROSSWALK_BUILTIN_VERSION: &str = "firewatch-x1060-first-1";

/// How an X.1060 item stands to a FIRST service, read "the X.1060 item … the FIRST service".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Relation {
    /// Covers the same work.
    Equivalent,
    /// Is part of it: the X.1060 item is narrower.
    PartOf,
    /// Includes it: the FIRST service is part of the X.1060 item.
    Includes,
    /// Overlaps it or feeds it, without either containing the other.
    Related,
}

impl Relation {
    /// All four, in the order above.
    pub const ALL: [Relation; 4] = [
        Relation::Equivalent,
        Relation::PartOf,
        Relation::Includes,
        Relation::Related,
    ];

    /// The kebab-case name, as the TSV writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Equivalent => "equivalent",
            Relation::PartOf => "part-of",
            Relation::Includes => "includes",
            Relation::Related => "related",
        }
    }

    /// Reads a name in any case, `_` or space for `-`.
    pub fn parse(text: &str) -> Option<Relation> {
        let text = text.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        Relation::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Whether a score on the X.1060 side says the FIRST service is carried: every relation
    /// but `related`, which only overlaps.
    pub fn carries(self) -> bool {
        self != Relation::Related
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of the crosswalk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The X.1060 category or service.
    pub x1060: Item,
    /// The FIRST service's id.
    pub first: String,
    /// How the X.1060 item stands to the FIRST service.
    pub relation: Relation,
    /// A one-line note: why.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// The links, in the order read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Crosswalk {
    /// [`CROSSWALK_BUILTIN_VERSION`], or a user file's `# version:` comment, else `imported`.
    pub version: String,
    /// The links.
    pub links: Vec<Link>,
}

impl Crosswalk {
    /// The embedded crosswalk, checked against the built-in catalogue and framework (a unit
    /// test keeps it so).
    pub fn builtin() -> Crosswalk {
        Crosswalk::import(CROSSWALK_TSV, &Catalogue::builtin(), &Framework::builtin())
            .expect("embedded data/crosswalk/x1060-first.tsv")
    }

    /// The embedded crosswalk's text, for a user to start their own from.
    pub fn builtin_tsv() -> &'static str {
        CROSSWALK_TSV
    }

    /// A crosswalk from TSV, header `x1060, first, relation[, note]` (`#` comments; a
    /// `# version:` comment names it). Checked: `x1060` is a category of the catalogue or a
    /// service it lists, `first` a service of the framework (its id, or its name in any case),
    /// `relation` one of equivalent, part-of, includes, related, and no pair twice. The first
    /// error is returned with its line and column.
    pub fn import(
        text: &str,
        catalogue: &Catalogue,
        framework: &Framework,
    ) -> Result<Crosswalk, AssessError> {
        let mut reader = reader(text, b'\t');
        let line = header_line(text);
        let headers = reader
            .headers()
            .map_err(|e| AssessError::from_csv(&e, line))?
            .clone();
        let cols = columns(&headers, line, &["x1060", "first", "relation"], &["note"])?;
        let mut seen: HashMap<(Item, String), u64> = HashMap::new();
        let mut links = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| AssessError::from_csv(&e, line))?;
            let at = record.position().map_or(line, csv::Position::line);
            let field = |name: &str| record.get(cols[name]).unwrap_or("");
            let place = |name: &str| Place::cell(at, cols[name] + 1);
            let x1060 = field("x1060");
            let item = catalogue
                .resolve(x1060)
                .map_err(|why| AssessError::NoCategory {
                    at: place("x1060"),
                    value: x1060.to_owned(),
                    why,
                })?;
            if let Item::Service(id) = &item
                && catalogue.service(id).is_none()
            {
                return Err(AssessError::BadValue {
                    at: place("x1060"),
                    column: "x1060".to_owned(),
                    value: x1060.to_owned(),
                    why: format!(
                        "is no service of the catalogue {} (import a fuller catalogue, or map its category {})",
                        catalogue.version,
                        id.category()
                    ),
                });
            }
            let first = field("first");
            let service = framework
                .service(first)
                .ok_or_else(|| AssessError::BadValue {
                    at: place("first"),
                    column: "first".to_owned(),
                    value: first.to_owned(),
                    why: format!(
                        "is no service of the FIRST framework {} (ids like monitoring-and-detection; `firewatch assess crosswalk` lists them)",
                        framework.version
                    ),
                })?;
            let relation_text = field("relation");
            let relation = Relation::parse(relation_text).ok_or_else(|| AssessError::BadValue {
                at: place("relation"),
                column: "relation".to_owned(),
                value: relation_text.to_owned(),
                why: "is not equivalent, part-of, includes or related".to_owned(),
            })?;
            let note = cols
                .get("note")
                .and_then(|&i| record.get(i))
                .unwrap_or("")
                .to_owned();
            if let Some(first_at) = seen.insert((item.clone(), service.id.clone()), at) {
                return Err(AssessError::Syntax {
                    at: Place::line(at),
                    why: format!(
                        "{item} ↔ {} is mapped twice (first at line {first_at})",
                        service.id
                    ),
                });
            }
            links.push(Link {
                x1060: item,
                first: service.id.clone(),
                relation,
                note,
            });
        }
        if links.is_empty() {
            return Err(AssessError::Empty { what: "crosswalk" });
        }
        let version = text
            .lines()
            .filter_map(|l| l.strip_prefix('#'))
            .find_map(|c| c.trim().strip_prefix("version:"))
            .map_or_else(|| "imported".to_owned(), |v| v.trim().to_owned());
        Ok(Crosswalk { version, links })
    }

    /// The crosswalk as TSV, the format it imports from.
    pub fn to_tsv(&self) -> String {
        let mut writer = csv::WriterBuilder::new()
            .delimiter(b'\t')
            .from_writer(Vec::new());
        // Writing to a Vec cannot fail.
        let _ = writer.write_record(["x1060", "first", "relation", "note"]);
        for link in &self.links {
            let _ = writer.write_record([
                link.x1060.to_string().as_str(),
                &link.first,
                link.relation.as_str(),
                &link.note,
            ]);
        }
        let body = String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default();
        format!(
            "# version: {}\n{body}",
            self.version.replace(['\n', '\r'], " ")
        )
    }

    /// The links to one FIRST service.
    pub fn links_to<'a>(&'a self, first: &'a str) -> impl Iterator<Item = &'a Link> {
        self.links.iter().filter(move |l| l.first == first)
    }
}

/// One line of the mapping table: a link with both sides' names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MappingRow {
    /// The X.1060 item.
    pub x1060: Item,
    /// Its name, when the catalogue knows it.
    pub x1060_name: Option<String>,
    /// How it stands to the FIRST service.
    pub relation: Relation,
    /// The FIRST service's id.
    pub first: String,
    /// Its name.
    pub first_name: String,
    /// Its area's id.
    pub area: String,
    /// The note.
    pub note: String,
}

/// The crosswalk as a table, FIRST's order, and what neither side maps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mapping {
    /// The crosswalk's version.
    pub crosswalk: String,
    /// The framework's version.
    pub framework: String,
    /// The catalogue's version.
    pub catalogue: String,
    /// The links, FIRST service by service in the framework's order, then as read.
    pub rows: Vec<MappingRow>,
    /// FIRST services no X.1060 item maps to.
    pub first_unmapped: Vec<String>,
    /// Catalogue categories and services mapped to no FIRST service.
    pub x1060_unmapped: Vec<Item>,
}

/// The mapping table: every link with its names, and what is left unmapped on each side.
pub fn mapping(crosswalk: &Crosswalk, catalogue: &Catalogue, framework: &Framework) -> Mapping {
    let mut rows = Vec::new();
    for service in framework.services() {
        for link in crosswalk.links_to(&service.id) {
            rows.push(MappingRow {
                x1060: link.x1060.clone(),
                x1060_name: catalogue.name_of(&link.x1060).map(str::to_owned),
                relation: link.relation,
                first: service.id.clone(),
                first_name: service.name.clone(),
                area: service.area.clone(),
                note: link.note.clone(),
            });
        }
    }
    let first_unmapped = framework
        .services()
        .iter()
        .filter(|s| crosswalk.links_to(&s.id).next().is_none())
        .map(|s| s.id.clone())
        .collect();
    let items = catalogue
        .categories()
        .iter()
        .map(|c| Item::Category(c.id))
        .chain(
            catalogue
                .services()
                .iter()
                .map(|s| Item::Service(s.id.clone())),
        );
    let x1060_unmapped = items
        .filter(|i| !crosswalk.links.iter().any(|l| &l.x1060 == i))
        .collect();
    Mapping {
        crosswalk: crosswalk.version.clone(),
        framework: framework.version.clone(),
        catalogue: catalogue.version.clone(),
        rows,
        first_unmapped,
        x1060_unmapped,
    }
}

/// One stakeholder kind's score for a mapped X.1060 item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindScore {
    /// The kind.
    pub kind: StakeholderKind,
    /// The score now (a category built from its services holds their mean); `None`: a target
    /// only.
    pub score: Option<f64>,
    /// The target, if set.
    pub target: Option<f64>,
}

/// An X.1060 item mapped to a FIRST service, with the assessment's cells for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MappedItem {
    /// The X.1060 item.
    pub item: Item,
    /// Its name, when the catalogue knows it.
    pub name: Option<String>,
    /// How it stands to the FIRST service.
    pub relation: Relation,
    /// The crosswalk's note.
    pub note: String,
    /// The kinds with a part in it, in the matrices' column order (no part: not listed).
    pub scores: Vec<KindScore>,
    /// The strongest score now among them; `None` when no kind has a part.
    pub strongest: Option<f64>,
}

/// How far an assessment's X.1060 cells carry a FIRST service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Coverage {
    /// An item mapped as equivalent, part-of or includes has a kind scoring above 0.
    Covered,
    /// Only `related` items score above 0.
    RelatedOnly,
    /// Items are mapped, but none scores above 0.
    Uncovered,
    /// The crosswalk maps no X.1060 item to it.
    Unmapped,
}

impl Coverage {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Coverage::Covered => "covered",
            Coverage::RelatedOnly => "related-only",
            Coverage::Uncovered => "uncovered",
            Coverage::Unmapped => "unmapped",
        }
    }
}

/// One FIRST service with the X.1060 cells mapped to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirstRow {
    /// The FIRST service's id.
    pub first: String,
    /// Its name.
    pub name: String,
    /// Its area's id.
    pub area: String,
    /// The X.1060 items mapped to it, in the crosswalk's order.
    pub mapped: Vec<MappedItem>,
    /// The strongest score now over the items that carry it (all but `related`).
    pub strongest: Option<f64>,
    /// How far it is carried.
    pub coverage: Coverage,
}

/// An assessment read through the crosswalk, FIRST service by FIRST service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrosswalkView {
    /// Whose map.
    pub scope: String,
    /// The crosswalk's version.
    pub crosswalk: String,
    /// The framework's version.
    pub framework: String,
    /// The 21 services (or an imported edition's), in the framework's order.
    pub services: Vec<FirstRow>,
    /// The FIRST services no X.1060 cell carries: every one not [`Coverage::Covered`].
    pub not_covered: Vec<String>,
}

/// Per FIRST service, the X.1060 items the crosswalk maps to it with the assessment's scores
/// per stakeholder kind (a category's as the category heatmap gives it: its own cell, else the
/// mean of its services'), and the FIRST services no X.1060 cell covers.
pub fn crosswalk_view(
    assessment: &Assessment,
    crosswalk: &Crosswalk,
    framework: &Framework,
    catalogue: &Catalogue,
) -> CrosswalkView {
    let categories = heatmap(assessment, catalogue, Granularity::Categories);
    let services = heatmap(assessment, catalogue, Granularity::Services);
    let scores_of = |item: &Item| -> Vec<KindScore> {
        let map = match item {
            Item::Category(_) => &categories,
            Item::Service(_) => &services,
        };
        StakeholderKind::ALL
            .into_iter()
            .filter_map(|kind| map.get(item, kind))
            .filter(|c| c.score.is_some() || c.target.is_some())
            .map(|c| KindScore {
                kind: c.kind,
                score: c.score,
                target: c.target,
            })
            .collect()
    };
    let max = |values: &mut dyn Iterator<Item = f64>| {
        values.fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
    };
    let mut rows = Vec::new();
    for service in framework.services() {
        let mapped: Vec<MappedItem> = crosswalk
            .links_to(&service.id)
            .map(|link| {
                let scores = scores_of(&link.x1060);
                MappedItem {
                    item: link.x1060.clone(),
                    name: catalogue.name_of(&link.x1060).map(str::to_owned),
                    relation: link.relation,
                    note: link.note.clone(),
                    strongest: max(&mut scores.iter().filter_map(|s| s.score)),
                    scores,
                }
            })
            .collect();
        let strongest = max(&mut mapped
            .iter()
            .filter(|m| m.relation.carries())
            .filter_map(|m| m.strongest));
        let related = max(&mut mapped.iter().filter_map(|m| m.strongest));
        let coverage = if mapped.is_empty() {
            Coverage::Unmapped
        } else if strongest.is_some_and(|s| s > 0.0) {
            Coverage::Covered
        } else if related.is_some_and(|s| s > 0.0) {
            Coverage::RelatedOnly
        } else {
            Coverage::Uncovered
        };
        rows.push(FirstRow {
            first: service.id.clone(),
            name: service.name.clone(),
            area: service.area.clone(),
            mapped,
            strongest,
            coverage,
        });
    }
    CrosswalkView {
        scope: assessment.about.scope.clone(),
        crosswalk: crosswalk.version.clone(),
        framework: framework.version.clone(),
        not_covered: rows
            .iter()
            .filter(|r| r.coverage != Coverage::Covered)
            .map(|r| r.first.clone())
            .collect(),
        services: rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assessment::About;
    use crate::import::AssessmentFormat;

    #[test]
    fn builtin_resolves_against_both_catalogues() {
        let crosswalk = Crosswalk::builtin();
        assert_eq!(crosswalk.version, CROSSWALK_BUILTIN_VERSION);
        let (catalogue, first) = (Catalogue::builtin(), Framework::builtin());
        for link in &crosswalk.links {
            assert!(first.service(&link.first).is_some(), "{}", link.first);
            assert!(catalogue.name_of(&link.x1060).is_some(), "{}", link.x1060);
            assert!(!link.note.is_empty(), "{} ↔ {}", link.x1060, link.first);
        }
        // Every category is mapped; the equivalences are the two services named alike.
        let letters: String = catalogue
            .categories()
            .iter()
            .map(|c| c.id)
            .filter(|c| {
                crosswalk
                    .links
                    .iter()
                    .any(|l| l.x1060 == Item::Category(*c))
            })
            .collect();
        assert_eq!(letters, "ABCDEFGHI");
        let map = mapping(&crosswalk, &catalogue, &first);
        assert_eq!(
            map.first_unmapped,
            ["vulnerability-report-intake", "vulnerability-analysis"]
        );
        let unmapped: Vec<String> = map.x1060_unmapped.iter().map(Item::to_string).collect();
        assert_eq!(unmapped, ["A-7", "A-11", "A-12", "A-13", "G-1"]);
        // It writes back as it reads.
        let again = Crosswalk::import(&crosswalk.to_tsv(), &catalogue, &first).unwrap();
        assert_eq!(again, crosswalk);
    }

    fn import(text: &str) -> Result<Crosswalk, AssessError> {
        Crosswalk::import(text, &Catalogue::builtin(), &Framework::builtin())
    }

    #[test]
    fn a_bad_line_is_refused_with_its_line() {
        let head =
            "# my map\nx1060\tfirst\trelation\tnote\nD\tmitigation-and-recovery\tincludes\tok\n";
        let err = import(&format!("{head}Z\texercises\trelated\tno such category\n")).unwrap_err();
        assert_eq!(
            err.to_string().split(':').next(),
            Some("line 4, column 1"),
            "{err}"
        );

        let err = import(&format!("{head}D-9\texercises\trelated\t\n")).unwrap_err();
        assert_eq!(err.place(), Some(Place::cell(4, 1)), "{err}");
        assert!(
            err.to_string().contains("no service of the catalogue"),
            "{err}"
        );

        let err = import(&format!("{head}D\tincident-handling\trelated\t\n")).unwrap_err();
        assert_eq!(err.place(), Some(Place::cell(4, 2)), "{err}");
        assert!(
            err.to_string()
                .contains("no service of the FIRST framework"),
            "{err}"
        );

        let err = import(&format!("{head}D\texercises\tsame-as\t\n")).unwrap_err();
        assert_eq!(err.place(), Some(Place::cell(4, 3)), "{err}");

        let err = import(&format!("{head}d\tMitigation and Recovery\tpart of\t\n")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 4: D ↔ mitigation-and-recovery is mapped twice (first at line 3)"
        );

        let err = import("x1060\tfirst\n").unwrap_err();
        assert!(matches!(err, AssessError::MissingColumn { .. }), "{err}");
        let err = import("x1060\tfirst\trelation\n").unwrap_err();
        assert!(matches!(err, AssessError::Empty { .. }), "{err}");

        // Names and spellings are read leniently.
        let ok = import("x1060\tfirst\trelation\nI-1\tAwareness building\tEquivalent\n").unwrap();
        assert_eq!(ok.links[0].first, "awareness-building");
        assert_eq!(ok.version, "imported");
    }

    #[test]
    fn the_view_reads_the_matrix_through_the_crosswalk() {
        let catalogue = Catalogue::builtin();
        let matrix = "category,NCSC,National CSIRTs,PSIRT,Academia\nD,5,10,,\nC,,,0,\nI,,,,0\n";
        let about = About {
            scope: "XX".into(),
            ..About::default()
        };
        let xx = Assessment::import(matrix, AssessmentFormat::Matrix, &catalogue, &about).unwrap();
        let view = crosswalk_view(
            &xx,
            &Crosswalk::builtin(),
            &Framework::builtin(),
            &catalogue,
        );
        assert_eq!(view.services.len(), 21);
        let row = |id: &str| view.services.iter().find(|r| r.first == id).unwrap();
        let acceptance = row("information-security-incident-report-acceptance");
        assert_eq!(acceptance.coverage, Coverage::Covered);
        assert_eq!(acceptance.strongest, Some(10.0));
        let d = acceptance
            .mapped
            .iter()
            .find(|m| m.item == Item::Category('D'))
            .unwrap();
        let kinds: Vec<_> = d.scores.iter().map(|s| (s.kind, s.score)).collect();
        assert_eq!(
            kinds,
            [
                (StakeholderKind::Ncsc, Some(5.0)),
                (StakeholderKind::NationalCsirt, Some(10.0))
            ]
        );
        // D-1 has no cell of its own: no part, not its category's score.
        let d1 = acceptance
            .mapped
            .iter()
            .find(|m| m.item.to_string() == "D-1")
            .unwrap();
        assert!(d1.scores.is_empty() && d1.strongest.is_none());
        // C scored 0 by PSIRTs: a part carrying nothing, so forensics is uncovered.
        let forensics = row("artifact-and-forensic-evidence-analysis");
        assert_eq!(forensics.strongest, Some(0.0));
        assert_eq!(forensics.coverage, Coverage::Uncovered);
        // Crisis management support is only related to D.
        assert_eq!(
            row("crisis-management-support").coverage,
            Coverage::RelatedOnly
        );
        assert_eq!(row("vulnerability-analysis").coverage, Coverage::Unmapped);
        assert!(
            view.not_covered
                .contains(&"vulnerability-analysis".to_owned())
        );
        assert!(
            !view
                .not_covered
                .contains(&"mitigation-and-recovery".to_owned())
        );
    }
}
