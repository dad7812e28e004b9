//! Assessments in and out: the JPCERT/CC matrix CSV (as the shared files are), a long CSV with
//! one cell a line (target, delivery and provenance too), and JSON.
//!
//! An import reads the whole text before it returns: the whole assessment or the first error,
//! never part of one, so a store that saves only `Ok` values keeps its old assessment.

use std::collections::HashMap;

use crate::assessment::{About, Assessment, Cell, Delivery, Granularity, Score, rows};
use crate::catalogue::{Catalogue, Item, columns, header_line, reader};
use crate::error::{AssessError, Place};
use crate::kind::StakeholderKind;

/// The formats an assessment is read from and written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssessmentFormat {
    /// One row per category (or service), one column per stakeholder kind, a score or empty
    /// ("no part"): `category,category_name,NCSC,National CSIRTs,...` as JPCERT/CC's matrices.
    /// Name columns (`category_name`, `service_name`, `name`) are read over.
    Matrix,
    /// One cell a line: `item,kind,score[,target,delivery,assessed_by,assessed_on,source]`.
    Cells,
    /// The [`Assessment`] as JSON (`{"about": {...}, "cells": [...]}`).
    Json,
}

/// The long CSV's columns, in the order an export writes them.
const CELL_COLUMNS: [&str; 8] = [
    "item",
    "kind",
    "score",
    "target",
    "delivery",
    "assessed_by",
    "assessed_on",
    "source",
];

/// Header names that label a matrix row and hold no kind.
const NAME_COLUMNS: [&str; 3] = ["category_name", "service_name", "name"];

impl AssessmentFormat {
    /// Guesses the format from the text: JSON starts with `{`; a CSV whose header has a `kind`
    /// column is [`AssessmentFormat::Cells`]; any other CSV is a matrix.
    pub fn sniff(text: &str) -> AssessmentFormat {
        let text = text.trim_start_matches('\u{feff}').trim_start();
        if text.starts_with('{') {
            return AssessmentFormat::Json;
        }
        let header = text
            .lines()
            .find(|l| !l.trim_start().starts_with('#'))
            .unwrap_or("");
        let has_kind = header
            .split(',')
            .any(|h| h.trim().trim_matches('"').eq_ignore_ascii_case("kind"));
        if has_kind {
            AssessmentFormat::Cells
        } else {
            AssessmentFormat::Matrix
        }
    }
}

impl Assessment {
    /// Reads an assessment, checked against `catalogue`; `about` fills what the text does not
    /// say (all of it for a CSV). Unknown stakeholder kinds, scores outside 0–10, a cell or row
    /// given twice and items in no category are refused with their line (and column).
    pub fn import(
        text: &str,
        format: AssessmentFormat,
        catalogue: &Catalogue,
        about: &About,
    ) -> Result<Assessment, AssessError> {
        match format {
            AssessmentFormat::Matrix => Ok(Assessment {
                about: about.clone(),
                cells: read_matrix(text, catalogue)?,
            }),
            AssessmentFormat::Cells => Ok(Assessment {
                about: about.clone(),
                cells: read_cells(text, catalogue)?,
            }),
            AssessmentFormat::Json => {
                let mut assessment: Assessment =
                    serde_json::from_str(text).map_err(|e| AssessError::from_json(&e))?;
                assessment.validate(catalogue)?;
                tidy(&mut assessment);
                assessment.about = assessment.about.or(about);
                Ok(assessment)
            }
        }
    }

    /// Writes the assessment in `format`. A matrix holds only the scores now of one
    /// granularity (every catalogue category, or every service known or assessed, against the
    /// ten kinds); the cells CSV and JSON hold everything but [`About`] (CSV) and read back equal.
    pub fn export(
        &self,
        format: AssessmentFormat,
        catalogue: &Catalogue,
        granularity: Granularity,
    ) -> String {
        match format {
            AssessmentFormat::Matrix => write_matrix(self, catalogue, granularity),
            AssessmentFormat::Cells => write_cells(self),
            // Plain data with string keys: serialising it cannot fail.
            AssessmentFormat::Json => serde_json::to_string_pretty(self).unwrap_or_default() + "\n",
        }
    }
}

/// Text as the CSV reader leaves it: trimmed, and nothing rather than an empty string, so a
/// JSON assessment writes to CSV and reads back the same.
fn tidy(assessment: &mut Assessment) {
    fn text(value: &mut Option<String>) {
        *value = value
            .take()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
    }
    let about = &mut assessment.about;
    about.scope = about.scope.trim().to_owned();
    text(&mut about.assessed_by);
    text(&mut about.source);
    for cell in &mut assessment.cells {
        text(&mut cell.assessed_by);
        text(&mut cell.source);
    }
}

/// The line a record starts on.
fn line_of(record: &csv::StringRecord, fallback: u64) -> u64 {
    record.position().map_or(fallback, csv::Position::line)
}

/// A row as long as the header, or a located complaint.
fn check_width(record: &csv::StringRecord, width: usize, line: u64) -> Result<(), AssessError> {
    if record.len() == width {
        return Ok(());
    }
    Err(AssessError::Syntax {
        at: Place::line(line),
        why: format!("{} fields where the header has {width}", record.len()),
    })
}

/// An item of the catalogue from a field.
fn item_at(catalogue: &Catalogue, value: &str, at: Place) -> Result<Item, AssessError> {
    catalogue
        .resolve(value)
        .map_err(|why| AssessError::NoCategory {
            at,
            value: value.to_owned(),
            why,
        })
}

/// A score field: empty is no part.
fn score_at(value: &str, what: &'static str, at: Place) -> Result<Option<Score>, AssessError> {
    if value.is_empty() {
        return Ok(None);
    }
    Score::parse(value)
        .map(Some)
        .ok_or_else(|| AssessError::BadScore {
            at,
            what,
            value: value.to_owned(),
        })
}

fn read_matrix(text: &str, catalogue: &Catalogue) -> Result<Vec<Cell>, AssessError> {
    let mut reader = reader(text, b',');
    let header = header_line(text);
    let headers = reader
        .headers()
        .map_err(|e| AssessError::from_csv(&e, header))?
        .clone();
    if headers.is_empty() || headers.iter().all(str::is_empty) {
        return Err(AssessError::Empty { what: "matrix" });
    }
    // Column 1 names the row; name columns are read over; every other column is a kind.
    let mut kinds: Vec<(usize, StakeholderKind)> = Vec::new();
    for (i, name) in headers.iter().enumerate().skip(1) {
        if NAME_COLUMNS.contains(&name.to_ascii_lowercase().as_str()) {
            continue;
        }
        let at = Place::cell(header, i + 1);
        let kind = StakeholderKind::parse(name).ok_or_else(|| AssessError::UnknownKind {
            at,
            value: name.to_owned(),
            known: StakeholderKind::known(),
        })?;
        if kinds.iter().any(|(_, k)| *k == kind) {
            return Err(AssessError::DuplicateColumn {
                at,
                column: name.to_owned(),
            });
        }
        kinds.push((i, kind));
    }
    let mut rows: HashMap<Item, Place> = HashMap::new();
    let mut cells = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| AssessError::from_csv(&e, header))?;
        let line = line_of(&record, header);
        check_width(&record, headers.len(), line)?;
        let value = record.get(0).unwrap_or("");
        let item = item_at(catalogue, value, Place::cell(line, 1))?;
        if let Some(first) = rows.insert(item.clone(), Place::line(line)) {
            return Err(AssessError::DuplicateRow {
                at: Place::line(line),
                first,
                item: item.to_string(),
            });
        }
        for &(i, kind) in &kinds {
            let value = record.get(i).unwrap_or("");
            if let Some(score) = score_at(value, "score", Place::cell(line, i + 1))? {
                cells.push(Cell::scored(item.clone(), kind, score));
            }
        }
    }
    if rows.is_empty() {
        return Err(AssessError::Empty { what: "matrix" });
    }
    Ok(cells)
}

fn read_cells(text: &str, catalogue: &Catalogue) -> Result<Vec<Cell>, AssessError> {
    let mut reader = reader(text, b',');
    let header = header_line(text);
    let headers = reader
        .headers()
        .map_err(|e| AssessError::from_csv(&e, header))?
        .clone();
    let cols = columns(&headers, header, &CELL_COLUMNS[..3], &CELL_COLUMNS[3..])?;
    let mut seen: HashMap<(Item, StakeholderKind), Place> = HashMap::new();
    let mut cells = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| AssessError::from_csv(&e, header))?;
        let line = line_of(&record, header);
        check_width(&record, headers.len(), line)?;
        // The field of a column and its place; absent optional columns read as empty.
        let field = |name: &str| -> (&str, Place) {
            cols.get(name).map_or(("", Place::line(line)), |&i| {
                (record.get(i).unwrap_or(""), Place::cell(line, i + 1))
            })
        };
        let (value, at) = field("item");
        let item = item_at(catalogue, value, at)?;
        let (value, at) = field("kind");
        let kind = StakeholderKind::parse(value).ok_or_else(|| AssessError::UnknownKind {
            at,
            value: value.to_owned(),
            known: StakeholderKind::known(),
        })?;
        let (value, at) = field("score");
        let score = score_at(value, "score", at)?;
        let (value, at) = field("target");
        let target = score_at(value, "target", at)?;
        let (value, at) = field("delivery");
        let delivery = match value {
            "" => None,
            _ => Some(Delivery::parse(value).ok_or_else(|| AssessError::BadValue {
                at,
                column: "delivery".to_owned(),
                value: value.to_owned(),
                why: "is neither in-house nor outsourced".to_owned(),
            })?),
        };
        let (value, at) = field("assessed_on");
        let assessed_on = match value {
            "" => None,
            _ => Some(value.parse().map_err(|_| AssessError::BadValue {
                at,
                column: "assessed_on".to_owned(),
                value: value.to_owned(),
                why: "is not a date (YYYY-MM-DD)".to_owned(),
            })?),
        };
        let text = |name: &str| Some(field(name).0.to_owned()).filter(|s| !s.is_empty());
        let here = Place::line(line);
        if let Some(first) = seen.insert((item.clone(), kind), here) {
            return Err(AssessError::DuplicateCell {
                at: here,
                first,
                item: item.to_string(),
                kind: kind.to_string(),
            });
        }
        cells.push(Cell {
            item,
            kind,
            score,
            target,
            delivery,
            assessed_by: text("assessed_by"),
            assessed_on,
            source: text("source"),
        });
    }
    Ok(cells)
}

fn write_matrix(
    assessment: &Assessment,
    catalogue: &Catalogue,
    granularity: Granularity,
) -> String {
    let (id, name) = match granularity {
        Granularity::Categories => ("category", "category_name"),
        Granularity::Services => ("service", "service_name"),
    };
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec![id, name];
    header.extend(StakeholderKind::ALL.map(StakeholderKind::label));
    let mut records = vec![header.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()];
    for item in rows(Some(assessment), catalogue, granularity) {
        let mut record = vec![
            item.to_string(),
            catalogue.name_of(&item).unwrap_or("").to_owned(),
        ];
        record.extend(StakeholderKind::ALL.map(|kind| {
            assessment
                .score(&item, kind)
                .map_or_else(String::new, |s| s.to_string())
        }));
        records.push(record);
    }
    for record in records {
        // Writing to a Vec cannot fail.
        let _ = writer.write_record(&record);
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn write_cells(assessment: &Assessment) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(CELL_COLUMNS);
    for cell in &assessment.cells {
        let opt = |v: Option<String>| v.unwrap_or_default();
        let _ = writer.write_record([
            cell.item.to_string(),
            cell.kind.to_string(),
            opt(cell.score.map(|s| s.to_string())),
            opt(cell.target.map(|s| s.to_string())),
            opt(cell.delivery.map(|d| d.as_str().to_owned())),
            opt(cell.assessed_by.clone()),
            opt(cell.assessed_on.map(|d| d.to_string())),
            opt(cell.source.clone()),
        ]);
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> Catalogue {
        Catalogue::builtin()
    }

    const MATRIX: &str = "category,category_name,NCSC,PSIRT\nA,Strategic,10,\nB,Real-time,0,4\n";

    #[test]
    fn matrix_keeps_no_part_apart_from_zero() {
        let a = Assessment::import(
            MATRIX,
            AssessmentFormat::Matrix,
            &catalogue(),
            &About::default(),
        )
        .unwrap();
        let b = Item::Category('B');
        assert_eq!(a.score(&Item::Category('A'), StakeholderKind::Psirt), None);
        assert_eq!(a.score(&b, StakeholderKind::Ncsc), Some(0));
        assert_eq!(a.cells.len(), 3);
    }

    #[test]
    fn cells_csv_round_trips() {
        let text = "item,kind,score,target,delivery,assessed_by,assessed_on,source\n\
                    A-1,ncsc,7,9,in-house,NISC,2024-02-01,workshop\n\
                    D,private-soc,,5,outsourced,,,\n";
        let about = About {
            scope: "JP".to_owned(),
            ..About::default()
        };
        let a = Assessment::import(text, AssessmentFormat::Cells, &catalogue(), &about).unwrap();
        assert_eq!(a.cells[1].score, None);
        assert_eq!(a.cells[1].target, Score::new(5));
        let out = a.export(AssessmentFormat::Cells, &catalogue(), Granularity::Services);
        assert_eq!(out, text);
        let json = a.export(AssessmentFormat::Json, &catalogue(), Granularity::Services);
        let back = Assessment::import(
            &json,
            AssessmentFormat::Json,
            &catalogue(),
            &About::default(),
        )
        .unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn sniffs_formats() {
        assert_eq!(AssessmentFormat::sniff(MATRIX), AssessmentFormat::Matrix);
        assert_eq!(
            AssessmentFormat::sniff("item,kind,score\n"),
            AssessmentFormat::Cells
        );
        assert_eq!(
            AssessmentFormat::sniff(" {\"about\":{}}"),
            AssessmentFormat::Json
        );
    }

    #[test]
    fn json_score_of_eleven_is_placed() {
        let json = "{\"about\": {\"scope\": \"JP\"},\n \"cells\": [\n  {\"item\": \"A\", \"kind\": \"ncsc\", \"score\": 11}]}";
        let err = Assessment::import(
            json,
            AssessmentFormat::Json,
            &catalogue(),
            &About::default(),
        )
        .unwrap_err();
        assert_eq!(err.place().and_then(|p| p.line_number()), Some(3), "{err}");
        assert!(
            err.to_string().contains("score 11 is not from 0 to 10"),
            "{err}"
        );
    }

    #[test]
    fn a_short_row_is_refused() {
        let text = "category,NCSC,PSIRT\nA,1\n";
        let err = Assessment::import(
            text,
            AssessmentFormat::Matrix,
            &catalogue(),
            &About::default(),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "line 2: 2 fields where the header has 3");
    }
}
