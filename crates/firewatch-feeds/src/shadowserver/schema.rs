//! The Shadowserver report schema (`intelmq.json`): which CSV column goes to which IntelMQ field,
//! through which conversion, for each of Shadowserver's report types.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use serde_json::Value as Json;

/// Why a schema file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The text is not JSON.
    #[error("{origin}: not valid JSON: {source}")]
    Json {
        origin: String,
        #[source]
        source: serde_json::Error,
    },
    /// The JSON does not have the shape of a Shadowserver schema.
    #[error("{origin}: report {report:?}: {reason}")]
    Shape {
        origin: String,
        report: String,
        reason: String,
    },
}

/// The IntelMQ side of one column mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A harmonized field such as `source.ip` (or `extra.something`).
    Field(String),
    /// `"extra."`: the value goes to `extra.<column>`.
    ExtraColumn,
    /// `false`: the column is read (and converted) but dropped.
    Ignore,
}

/// One `[intelmq_field, csv_column, conversion, pass_row]` entry of a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// Where the value goes.
    pub target: Target,
    /// The CSV column it comes from.
    pub column: String,
    /// The conversion function's name (`convert_int`, `validate_ip`, …), if any.
    pub conversion: Option<String>,
    /// Whether the conversion also receives the whole row (fourth element `true`).
    pub with_row: bool,
}

/// One report type of the schema.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// The key of the report in the schema file.
    pub key: String,
    /// The name Shadowserver puts in the report's file name (`scan_dns`, `event4_sinkhole`, …).
    pub file_name: String,
    /// IntelMQ's feed name (`DNS-Open-Resolvers`).
    pub feed_name: String,
    /// The report's documentation page, which IntelMQ puts in `feed.documentation`.
    pub url: Option<String>,
    /// Fields set to the same value in every event (classification, protocol), in schema order.
    pub constant_fields: Vec<(String, Json)>,
    /// Columns that must be present; a value that fails validation rejects the row.
    pub required_fields: Vec<Mapping>,
    /// Columns that may be absent; a value that fails validation goes to `extra.<column>`.
    pub optional_fields: Vec<Mapping>,
}

/// A loaded Shadowserver schema: all report types, found by file name as IntelMQ does.
///
/// ```
/// use firewatch_feeds::shadowserver::Schema;
/// let schema = Schema::from_json_str(r#"{"_meta": {"date_created": "x", "change_log": []},
///   "scan_dns": {"file_name": "scan_dns", "feed_name": "DNS-Open-Resolvers",
///     "constant_fields": {"classification.type": "vulnerable-system"},
///     "required_fields": [["source.ip", "ip", "validate_ip"]], "optional_fields": []}}"#).unwrap();
/// assert_eq!(schema.reports().len(), 1);
/// assert_eq!(schema.detect("2026-01-01-scan_dns-jp-geo.csv").unwrap().feed_name, "DNS-Open-Resolvers");
/// assert!(schema.detect("2026-01-01-scan_foo-jp-geo.csv").is_err());
/// ```
#[derive(Clone, Debug)]
pub struct Schema {
    reports: Vec<Report>,
    by_file_name: HashMap<String, usize>,
    by_key: HashMap<String, usize>,
    date_created: Option<String>,
}

/// A file name that names no report of the schema.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct UnknownReport {
    /// The file name as given.
    pub file: String,
    /// The report name read from the file name, if it has Shadowserver's shape at all.
    pub guessed: Option<String>,
    /// How many reports the schema knows.
    pub known: usize,
}

impl fmt::Display for UnknownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.guessed {
            Some(name) => write!(
                f,
                "no Shadowserver report {name:?} in the schema (file {}); {} reports known, see --list",
                self.file, self.known
            ),
            None => write!(
                f,
                "file name {:?} does not look like a Shadowserver report \
                 (expected DATE-REPORT-….csv, e.g. 2026-01-01-scan_dns-jp-geo.csv); \
                 {} reports known, see --list",
                self.file, self.known
            ),
        }
    }
}

impl Schema {
    /// Loads the schema from a JSON file (IntelMQ's `shadowserver-schema.json` / the
    /// report_schema repository's `intelmq.json`).
    pub fn from_path(path: &Path) -> Result<Schema, SchemaError> {
        let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Loads the schema from JSON text.
    pub fn from_json_str(text: &str) -> Result<Schema, SchemaError> {
        Self::parse(text, "schema")
    }

    fn parse(text: &str, origin: &str) -> Result<Schema, SchemaError> {
        let json: Json = serde_json::from_str(text).map_err(|source| SchemaError::Json {
            origin: origin.to_owned(),
            source,
        })?;
        let shape = |report: &str, reason: String| SchemaError::Shape {
            origin: origin.to_owned(),
            report: report.to_owned(),
            reason,
        };
        let Json::Object(map) = json else {
            return Err(shape("", "the schema is not a JSON object".into()));
        };
        let mut schema = Schema {
            reports: Vec::new(),
            by_file_name: HashMap::new(),
            by_key: HashMap::new(),
            date_created: None,
        };
        for (key, spec) in &map {
            if key == "_meta" {
                schema.date_created = spec
                    .get("date_created")
                    .and_then(Json::as_str)
                    .map(str::to_owned);
                continue;
            }
            let report = parse_report(key, spec).map_err(|reason| shape(key, reason))?;
            let index = schema.reports.len();
            // As in IntelMQ, a later report with the same file name wins.
            schema.by_file_name.insert(report.file_name.clone(), index);
            schema.by_key.insert(key.clone(), index);
            schema.reports.push(report);
        }
        Ok(schema)
    }

    /// All reports, in schema order.
    pub fn reports(&self) -> &[Report] {
        &self.reports
    }

    /// The schema's `_meta.date_created`, if given.
    pub fn date_created(&self) -> Option<&str> {
        self.date_created.as_deref()
    }

    /// The report with this file name (`scan_dns`), or else with this schema key.
    pub fn report(&self, name: &str) -> Option<&Report> {
        self.by_file_name
            .get(name)
            .or_else(|| self.by_key.get(name))
            .map(|&i| &self.reports[i])
    }

    /// Finds the report a Shadowserver file is, from its file name, with IntelMQ's rule: an
    /// optional `YYYY-MM-DD-` prefix, then the report name (letters, digits and `_`), then any
    /// number of `-part`s, then `.csv`. Directories in `file_name` are ignored.
    pub fn detect(&self, file_name: &str) -> Result<&Report, UnknownReport> {
        let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
        let guessed = report_name_of(base);
        match guessed.and_then(|name| self.by_file_name.get(name)) {
            Some(&i) => Ok(&self.reports[i]),
            None => Err(UnknownReport {
                file: file_name.to_owned(),
                guessed: guessed.map(str::to_owned),
                known: self.reports.len(),
            }),
        }
    }
}

/// The report name in a Shadowserver file name, following IntelMQ's pattern
/// `^(?:\d{4}-\d{2}-\d{2}-)?(\w+)(-\w+)*\.csv$`.
pub(crate) fn report_name_of(base: &str) -> Option<&str> {
    let stem = base.strip_suffix(".csv")?;
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
    let parts: Vec<&str> = stem.split('-').collect();
    if !parts.iter().all(|p| word(p)) {
        return None;
    }
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if parts.len() >= 4 && digits(parts[0], 4) && digits(parts[1], 2) && digits(parts[2], 2) {
        Some(parts[3])
    } else {
        Some(parts[0])
    }
}

fn parse_report(key: &str, spec: &Json) -> Result<Report, String> {
    let text = |name: &str| -> Result<String, String> {
        spec.get(name)
            .and_then(Json::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("{name} is missing or not a string"))
    };
    let constant_fields = match spec.get("constant_fields") {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Object(map)) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Some(_) => return Err("constant_fields is not an object".into()),
    };
    Ok(Report {
        key: key.to_owned(),
        file_name: text("file_name")?,
        feed_name: text("feed_name")?,
        url: spec.get("url").and_then(Json::as_str).map(str::to_owned),
        constant_fields,
        required_fields: mappings(spec.get("required_fields"), "required_fields")?,
        optional_fields: mappings(spec.get("optional_fields"), "optional_fields")?,
    })
}

fn mappings(list: Option<&Json>, what: &str) -> Result<Vec<Mapping>, String> {
    let items = match list {
        None | Some(Json::Null) => return Ok(Vec::new()),
        Some(Json::Array(items)) => items,
        Some(_) => return Err(format!("{what} is not a list")),
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let bad = |why: &str| format!("{what}[{i}]: {why}");
            let Json::Array(parts) = item else {
                return Err(bad("not a list"));
            };
            let target = match parts.first() {
                Some(Json::String(s)) if s == "extra." => Target::ExtraColumn,
                Some(Json::String(s)) => Target::Field(s.clone()),
                Some(Json::Bool(false)) | Some(Json::Null) => Target::Ignore,
                _ => return Err(bad("the IntelMQ field is not a string or false")),
            };
            let Some(Json::String(column)) = parts.get(1) else {
                return Err(bad("the CSV column is not a string"));
            };
            let conversion = match parts.get(2) {
                None | Some(Json::Null) => None,
                Some(Json::String(s)) => Some(s.clone()),
                Some(_) => return Err(bad("the conversion is not a string")),
            };
            let with_row = matches!(parts.get(3), Some(Json::Bool(true)));
            Ok(Mapping {
                target,
                column: column.clone(),
                conversion,
                with_row,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::report_name_of;

    #[test]
    fn file_name_rule() {
        assert_eq!(
            report_name_of("2026-01-01-scan_dns-jp-geo.csv"),
            Some("scan_dns")
        );
        assert_eq!(report_name_of("scan_dns.csv"), Some("scan_dns"));
        assert_eq!(report_name_of("2026-01-01.csv"), Some("2026"));
        assert_eq!(report_name_of("2026-01-01-scan dns.csv"), None);
        assert_eq!(report_name_of("2026-01-01-scan_dns.txt"), None);
        assert_eq!(report_name_of("2026-01-01--x.csv"), None);
    }
}
