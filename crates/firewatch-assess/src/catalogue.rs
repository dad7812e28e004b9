//! The X.1060 service catalogue as data: the nine categories and the services known by id and
//! short name.
//!
//! The built-in catalogue is embedded from `data/x1060/` (ids and short names only: facts
//! public without the Recommendation's text, see `docs/x1060.md`). A user entitled to the full
//! catalogue of 64 services (X.1060 Annex A, ISOG-J's sheets) brings it with
//! [`Catalogue::import`]; the nine categories stay the Recommendation's.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{AssessError, Place};

/// The embedded categories (version noted in the file's comment).
const CATEGORIES_TSV: &str = include_str!("../data/x1060/categories.tsv");
/// The embedded services, built from `shared/data/x1060/services-known.tsv`.
const SERVICES_TSV: &str = include_str!("../data/x1060/services.tsv");
/// The built-in catalogue's version: bump it with the data files.
pub const BUILTIN_VERSION: &str = "firewatch-x1060-public-1";

/// One of the nine X.1060 service categories (A–I).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    /// The letter, `A` to `I`.
    pub id: char,
    /// The category's name, as the JPCERT/CC matrices write it.
    pub name: String,
}

/// A service's id: its category letter, a dash and its number within the category (`A-13`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ServiceId {
    category: char,
    tail: String,
}

impl ServiceId {
    /// Reads `A-1` (the letter in any case); `None` when the text is not of that shape.
    pub fn parse(text: &str) -> Option<ServiceId> {
        let (head, tail) = text.trim().split_once('-')?;
        let mut letters = head.chars();
        let category = letters.next()?.to_ascii_uppercase();
        let well_formed = letters.next().is_none()
            && category.is_ascii_uppercase()
            && !tail.is_empty()
            && tail.chars().all(|c| c.is_ascii_alphanumeric() || c == '.');
        well_formed.then(|| ServiceId {
            category,
            tail: tail.to_owned(),
        })
    }

    /// The category letter its id names.
    pub fn category(&self) -> char {
        self.category
    }
}

impl Ord for ServiceId {
    /// `A-2` before `A-10`: numbers compare as numbers.
    fn cmp(&self, other: &Self) -> Ordering {
        let number = |id: &ServiceId| id.tail.parse::<u64>().unwrap_or(u64::MAX);
        (self.category, number(self), &self.tail).cmp(&(other.category, number(other), &other.tail))
    }
}

impl PartialOrd for ServiceId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.category, self.tail)
    }
}

impl TryFrom<String> for ServiceId {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        ServiceId::parse(&text).ok_or_else(|| format!("{text:?} is not a service id like A-1"))
    }
}

impl From<ServiceId> for String {
    fn from(id: ServiceId) -> String {
        id.to_string()
    }
}

/// What a cell assesses: a whole category or one service.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Item {
    /// A category, by letter.
    Category(char),
    /// A service, by id.
    Service(ServiceId),
}

impl Item {
    /// Reads `A` (a category) or `A-1` (a service); `None` for anything else.
    pub fn parse(text: &str) -> Option<Item> {
        let text = text.trim();
        let mut chars = text.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if c.is_ascii_alphabetic() => {
                Some(Item::Category(c.to_ascii_uppercase()))
            }
            _ => ServiceId::parse(text).map(Item::Service),
        }
    }

    /// The category the item is in.
    pub fn category(&self) -> char {
        match self {
            Item::Category(c) => *c,
            Item::Service(id) => id.category(),
        }
    }
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Category(c) => write!(f, "{c}"),
            Item::Service(id) => write!(f, "{id}"),
        }
    }
}

impl TryFrom<String> for Item {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Item::parse(&text)
            .ok_or_else(|| format!("{text:?} is neither a category (A) nor a service id (A-1)"))
    }
}

impl From<Item> for String {
    fn from(item: Item) -> String {
        item.to_string()
    }
}

/// One service of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// Its id, e.g. `A-1`.
    pub id: ServiceId,
    /// Its short name, e.g. "Risk management".
    pub name: String,
    /// Where the id and name were read, when the file says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// The formats a catalogue is imported from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogueFormat {
    /// Tab-separated, header `id, category, name[, source]` (as `services-known.tsv`).
    Tsv,
    /// Comma-separated, the same columns.
    Csv,
    /// `{"version": "...", "services": [{"id", "category", "name", "source"?}]}`.
    Json,
}

/// The categories and the services known, in id order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Catalogue {
    /// Which catalogue this is: [`BUILTIN_VERSION`], or what an imported file says
    /// (`# version: ...` in a TSV/CSV, `version` in JSON), else `imported`.
    pub version: String,
    categories: Vec<Category>,
    services: Vec<Service>,
}

/// One service row before validation, wherever it came from.
struct RawService<'a> {
    at: Place,
    id: &'a str,
    category: &'a str,
    name: &'a str,
    source: Option<&'a str>,
}

/// A JSON catalogue as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonCatalogue {
    #[serde(default)]
    version: Option<String>,
    services: Vec<JsonService>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonService {
    id: String,
    category: String,
    name: String,
    #[serde(default)]
    source: Option<String>,
}

impl Catalogue {
    /// The embedded catalogue: nine categories, 27 of the 64 services.
    pub fn builtin() -> Catalogue {
        // Our own data, checked by a unit test: a failure here is a build defect.
        let categories = parse_categories(CATEGORIES_TSV).expect("embedded categories.tsv");
        let services =
            read_services(SERVICES_TSV, b'\t', &categories).expect("embedded services.tsv");
        Catalogue {
            version: BUILTIN_VERSION.to_owned(),
            categories,
            services,
        }
    }

    /// A fuller catalogue from a file a user is entitled to: every service id unique and of the
    /// form `A-1`, filed in one of the nine categories its id names. The category column may be
    /// the letter alone or the letter and a name (`A Strategic management of CDC`); the letter
    /// decides, since sources word the names differently.
    pub fn import(text: &str, format: CatalogueFormat) -> Result<Catalogue, AssessError> {
        let categories = Catalogue::builtin().categories;
        let (version, services) = match format {
            CatalogueFormat::Tsv => (
                comment_version(text),
                read_services(text, b'\t', &categories)?,
            ),
            CatalogueFormat::Csv => (
                comment_version(text),
                read_services(text, b',', &categories)?,
            ),
            CatalogueFormat::Json => {
                let json: JsonCatalogue =
                    serde_json::from_str(text).map_err(|e| AssessError::from_json(&e))?;
                let rows = json.services.iter().enumerate().map(|(i, s)| RawService {
                    at: Place::Entry { index: i + 1 },
                    id: &s.id,
                    category: &s.category,
                    name: &s.name,
                    source: s.source.as_deref(),
                });
                (json.version, validate_services(rows, &categories)?)
            }
        };
        Ok(Catalogue {
            version: version.unwrap_or_else(|| "imported".to_owned()),
            categories,
            services,
        })
    }

    /// The nine categories, A to I.
    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    /// The services, in id order.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// A category by letter.
    pub fn category(&self, id: char) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    /// A service by id.
    pub fn service(&self, id: &ServiceId) -> Option<&Service> {
        self.services.iter().find(|s| &s.id == id)
    }

    /// The services of one category, in id order.
    pub fn services_in(&self, category: char) -> impl Iterator<Item = &Service> {
        self.services
            .iter()
            .filter(move |s| s.id.category() == category)
    }

    /// The name of an item: a category's, or a service's when the catalogue knows it.
    pub fn name_of(&self, item: &Item) -> Option<&str> {
        match item {
            Item::Category(c) => self.category(*c).map(|c| c.name.as_str()),
            Item::Service(id) => self.service(id).map(|s| s.name.as_str()),
        }
    }

    /// Reads an item of an assessment: a category or a service in one of the catalogue's
    /// categories. A well-formed service id the catalogue does not list (`D-5` with only the
    /// built-in 27) is accepted by its category letter, so a country can be assessed service
    /// by service before the full catalogue is imported. `Err` says why it is in no category.
    pub fn resolve(&self, text: &str) -> Result<Item, String> {
        let item = Item::parse(text)
            .ok_or_else(|| "neither a category letter (A) nor a service id (A-1)".to_owned())?;
        if self.category(item.category()).is_none() {
            return Err(format!(
                "category {} is not one of {}",
                item.category(),
                self.letters()
            ));
        }
        Ok(item)
    }

    /// The service list as TSV, the format it imports from (quoted as CSV quotes, so any name
    /// reads back as it was).
    pub fn to_tsv(&self) -> String {
        let mut writer = csv::WriterBuilder::new()
            .delimiter(b'\t')
            .from_writer(Vec::new());
        // Writing to a Vec cannot fail.
        let _ = writer.write_record(["id", "category", "name", "source"]);
        for s in &self.services {
            let category = self
                .category(s.id.category())
                .map_or("", |c| c.name.as_str());
            let _ = writer.write_record([
                s.id.to_string(),
                format!("{} {category}", s.id.category()),
                s.name.clone(),
                s.source.clone().unwrap_or_default(),
            ]);
        }
        let body = String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default();
        format!(
            "# version: {}\n{body}",
            self.version.replace(['\n', '\r'], " ")
        )
    }

    /// "A–I", for messages.
    fn letters(&self) -> String {
        match (self.categories.first(), self.categories.last()) {
            (Some(first), Some(last)) => format!("{}–{}", first.id, last.id),
            _ => "none".to_owned(),
        }
    }
}

/// `# version: X` in a comment line, if any.
fn comment_version(text: &str) -> Option<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix('#'))
        .find_map(|comment| comment.trim().strip_prefix("version:"))
        .map(|v| v.trim().to_owned())
}

/// A CSV/TSV reader as every import here uses it: `#` comments, trimmed fields, rows of any
/// length (checked with a better message than the reader's).
pub(crate) fn reader(text: &str, delimiter: u8) -> csv::Reader<&[u8]> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes())
}

/// The header's line: the first that is neither a `#` comment nor blank, as the reader skips
/// them (the reader gives a header record no position).
pub(crate) fn header_line(text: &str) -> u64 {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.split('\n')
        .position(|line| !line.starts_with('#') && !line.trim_end_matches('\r').is_empty())
        .map_or(1, |i| i as u64 + 1)
}

/// The column of each wanted header name (lowercase), and an error for a missing required one.
pub(crate) fn columns(
    headers: &csv::StringRecord,
    line: u64,
    required: &[&str],
    optional: &[&str],
) -> Result<HashMap<String, usize>, AssessError> {
    let mut found: HashMap<String, usize> = HashMap::new();
    let names: Vec<String> = headers.iter().map(|h| h.to_ascii_lowercase()).collect();
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            return Err(AssessError::DuplicateColumn {
                at: Place::cell(line, i + 1),
                column: name.clone(),
            });
        }
    }
    for wanted in required.iter().chain(optional) {
        if let Some(i) = names.iter().position(|n| n == wanted) {
            found.insert((*wanted).to_owned(), i);
        } else if required.contains(wanted) {
            return Err(AssessError::MissingColumn {
                at: Place::line(line),
                column: (*wanted).to_owned(),
                needed: required.join(", "),
            });
        }
    }
    Ok(found)
}

fn parse_categories(text: &str) -> Result<Vec<Category>, AssessError> {
    let mut reader = reader(text, b'\t');
    let line = header_line(text);
    let cols = columns(
        &reader
            .headers()
            .map_err(|e| AssessError::from_csv(&e, line))?
            .clone(),
        line,
        &["id", "name"],
        &[],
    )?;
    let mut categories = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| AssessError::from_csv(&e, line))?;
        let at = Place::line(record.position().map_or(line, csv::Position::line));
        let id = record.get(cols["id"]).unwrap_or("");
        let mut chars = id.chars();
        let (Some(letter), None) = (chars.next(), chars.next()) else {
            return Err(AssessError::NoCategory {
                at,
                value: id.to_owned(),
                why: "a category is one letter".to_owned(),
            });
        };
        categories.push(Category {
            id: letter.to_ascii_uppercase(),
            name: record.get(cols["name"]).unwrap_or("").to_owned(),
        });
    }
    Ok(categories)
}

/// Services from a TSV or CSV text, validated.
fn read_services(
    text: &str,
    delimiter: u8,
    categories: &[Category],
) -> Result<Vec<Service>, AssessError> {
    let mut reader = reader(text, delimiter);
    let line = header_line(text);
    let headers = reader
        .headers()
        .map_err(|e| AssessError::from_csv(&e, line))?
        .clone();
    let cols = columns(&headers, line, &["id", "category", "name"], &["source"])?;
    let mut records = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| AssessError::from_csv(&e, line))?;
        let at = record.position().map_or(line, csv::Position::line);
        records.push((at, record));
    }
    let rows = records.iter().map(|(at, record)| RawService {
        at: Place::line(*at),
        id: record.get(cols["id"]).unwrap_or(""),
        category: record.get(cols["category"]).unwrap_or(""),
        name: record.get(cols["name"]).unwrap_or(""),
        source: cols
            .get("source")
            .and_then(|&i| record.get(i))
            .filter(|s| !s.is_empty()),
    });
    validate_services(rows, categories)
}

/// The catalogue's rules, the same for every format.
fn validate_services<'a>(
    rows: impl Iterator<Item = RawService<'a>>,
    categories: &[Category],
) -> Result<Vec<Service>, AssessError> {
    let mut seen: HashMap<ServiceId, Place> = HashMap::new();
    let mut services = Vec::new();
    for row in rows {
        let id = ServiceId::parse(row.id).ok_or_else(|| AssessError::NoCategory {
            at: row.at,
            value: row.id.to_owned(),
            why: "not a service id like A-1".to_owned(),
        })?;
        let letter = row
            .category
            .trim()
            .chars()
            .next()
            .map(|c| c.to_ascii_uppercase());
        let category = letter
            .filter(|l| categories.iter().any(|c| c.id == *l))
            .ok_or_else(|| AssessError::NoCategory {
                at: row.at,
                value: row.category.to_owned(),
                why: "the category must start with a letter A–I".to_owned(),
            })?;
        if category != id.category() {
            return Err(AssessError::WrongCategory {
                at: row.at,
                id: id.to_string(),
                category,
                named: id.category(),
            });
        }
        if row.name.trim().is_empty() {
            return Err(AssessError::BadValue {
                at: row.at,
                column: "name".to_owned(),
                value: row.name.to_owned(),
                why: "is empty: every service needs its short name".to_owned(),
            });
        }
        if let Some(first) = seen.get(&id) {
            return Err(AssessError::DuplicateService {
                at: row.at,
                first: *first,
                id: id.to_string(),
            });
        }
        seen.insert(id.clone(), row.at);
        services.push(Service {
            id,
            name: row.name.trim().to_owned(),
            source: row.source.map(str::to_owned),
        });
    }
    if services.is_empty() {
        return Err(AssessError::Empty {
            what: "service catalogue",
        });
    }
    services.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(services)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_has_nine_categories_and_27_services() {
        let catalogue = Catalogue::builtin();
        let letters: String = catalogue.categories().iter().map(|c| c.id).collect();
        assert_eq!(letters, "ABCDEFGHI");
        assert_eq!(catalogue.services().len(), 27);
        assert_eq!(catalogue.services_in('A').count(), 13);
        let a13 = ServiceId::parse("a-13").unwrap();
        assert_eq!(catalogue.service(&a13).unwrap().name, "Certification");
        // Numbers order as numbers.
        assert_eq!(catalogue.services()[1].id.to_string(), "A-2");
        assert_eq!(catalogue.services()[12].id.to_string(), "A-13");
    }

    #[test]
    fn tsv_export_imports_back() {
        let catalogue = Catalogue::builtin();
        let back = Catalogue::import(&catalogue.to_tsv(), CatalogueFormat::Tsv).unwrap();
        assert_eq!(back, catalogue);
    }

    #[test]
    fn rejections_name_the_line() {
        let dup = "# version: test\nid,category,name\nA-1,A,Risk management\nA-1,A,Again\n";
        let err = Catalogue::import(dup, CatalogueFormat::Csv).unwrap_err();
        assert_eq!(err.place(), Some(Place::line(4)), "{err}");
        assert!(
            err.to_string().contains("listed twice (first at line 3)"),
            "{err}"
        );

        let nowhere = "id,category,name\nZ-1,Z,Zebra service\n";
        let err = Catalogue::import(nowhere, CatalogueFormat::Csv).unwrap_err();
        assert_eq!(err.place(), Some(Place::line(2)), "{err}");
        assert!(matches!(err, AssessError::NoCategory { .. }), "{err}");

        let crossed = "id,category,name\nB-3,A,Misfiled\n";
        let err = Catalogue::import(crossed, CatalogueFormat::Csv).unwrap_err();
        assert!(matches!(err, AssessError::WrongCategory { .. }), "{err}");

        let missing = "id,name\nA-1,Risk management\n";
        let err = Catalogue::import(missing, CatalogueFormat::Csv).unwrap_err();
        assert!(matches!(err, AssessError::MissingColumn { .. }), "{err}");
    }

    #[test]
    fn a_header_after_comments_is_placed_on_its_line() {
        let err = Catalogue::import("# a\n# b\nid,name", CatalogueFormat::Csv).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3: no `category` column (the header needs id, category, name)"
        );
    }

    #[test]
    fn json_catalogue_entries_are_placed() {
        let json = r#"{"version": "X.1060 full", "services": [
            {"id": "A-1", "category": "A", "name": "Risk management"},
            {"id": "A-1", "category": "A", "name": "Twice"}]}"#;
        let err = Catalogue::import(json, CatalogueFormat::Json).unwrap_err();
        assert_eq!(err.place(), Some(Place::Entry { index: 2 }), "{err}");
        let ok = r#"{"version": "v2", "services": [{"id": "D-2", "category": "D", "name": "Incident analysis"}]}"#;
        let catalogue = Catalogue::import(ok, CatalogueFormat::Json).unwrap();
        assert_eq!(catalogue.version, "v2");
        assert_eq!(catalogue.services().len(), 1);
    }
}
