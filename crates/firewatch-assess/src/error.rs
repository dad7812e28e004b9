//! The crate's one error type: every rejection says where (line and column, or JSON entry) and
//! why, so a person can fix the file without reading our code.

use std::fmt;

/// Where in an imported text a problem sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A line of a CSV/TSV or JSON text (1-based), and the column when one is to blame (1-based).
    Line {
        /// The line, counted from 1 as an editor does.
        line: u64,
        /// The column (CSV field, or JSON character) counted from 1, when one is to blame.
        column: Option<u64>,
    },
    /// An entry of a JSON list (1-based): serde does not keep the line of a value it accepted.
    Entry {
        /// Which entry of the list, counted from 1.
        index: usize,
    },
}

impl Place {
    /// A whole line.
    pub(crate) fn line(line: u64) -> Self {
        Place::Line { line, column: None }
    }

    /// One field of a line.
    pub(crate) fn cell(line: u64, column: usize) -> Self {
        Place::Line {
            line,
            column: Some(column as u64),
        }
    }

    /// The line, if the place has one.
    pub fn line_number(self) -> Option<u64> {
        match self {
            Place::Line { line, .. } => Some(line),
            Place::Entry { .. } => None,
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Line { line, column: None } => write!(f, "line {line}"),
            Place::Line {
                line,
                column: Some(column),
            } => write!(f, "line {line}, column {column}"),
            Place::Entry { index } => write!(f, "entry {index}"),
        }
    }
}

/// Why a catalogue or an assessment was refused. Nothing is partly accepted: an import returns
/// the whole value or one of these.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AssessError {
    /// The text is not CSV, TSV or JSON of the expected shape.
    #[error("{at}: {why}")]
    Syntax {
        /// Where the reader stopped.
        at: Place,
        /// What the reader said.
        why: String,
    },
    /// The header lacks a column the format needs.
    #[error("{at}: no `{column}` column (the header needs {needed})")]
    MissingColumn {
        /// The header line.
        at: Place,
        /// The missing column.
        column: String,
        /// The columns the format needs, for the message.
        needed: String,
    },
    /// A header names the same column twice.
    #[error("{at}: column `{column}` appears twice in the header")]
    DuplicateColumn {
        /// The header field.
        at: Place,
        /// The repeated column.
        column: String,
    },
    /// A stakeholder kind we do not know.
    #[error("{at}: unknown stakeholder kind {value:?} (known: {known})")]
    UnknownKind {
        /// The field.
        at: Place,
        /// What was written.
        value: String,
        /// The kinds we know, for the message.
        known: String,
    },
    /// A score outside 0–10 or not a whole number.
    #[error("{at}: {what} {value:?} is not a whole number from 0 to 10")]
    BadScore {
        /// The field.
        at: Place,
        /// `score` or `target`.
        what: &'static str,
        /// What was written.
        value: String,
    },
    /// A value of another column that cannot be read (a date, in-house/outsourced, a TLP level).
    #[error("{at}: column `{column}`: {value:?} {why}")]
    BadValue {
        /// The field.
        at: Place,
        /// The column.
        column: String,
        /// What was written.
        value: String,
        /// Why it cannot be read.
        why: String,
    },
    /// The same (service or category, stakeholder kind) cell twice.
    #[error("{at}: {item} × {kind} is given twice (first at {first})")]
    DuplicateCell {
        /// The second occurrence.
        at: Place,
        /// The first occurrence.
        first: Place,
        /// The service or category.
        item: String,
        /// The stakeholder kind.
        kind: String,
    },
    /// A matrix row for the same service or category twice: every cell of it is duplicated.
    #[error(
        "{at}: the row for {item} is given twice (first at {first}): each of its cells would be duplicated"
    )]
    DuplicateRow {
        /// The second row.
        at: Place,
        /// The first row.
        first: Place,
        /// The service or category.
        item: String,
    },
    /// A service or category that belongs to no category of the catalogue.
    #[error("{at}: {value:?} is in no category of the catalogue ({why})")]
    NoCategory {
        /// The field.
        at: Place,
        /// What was written.
        value: String,
        /// Why: a category letter not in the catalogue, or not an id at all.
        why: String,
    },
    /// A service id given twice in a catalogue.
    #[error("{at}: service {id} is listed twice (first at {first})")]
    DuplicateService {
        /// The second occurrence.
        at: Place,
        /// The first occurrence.
        first: Place,
        /// The service id.
        id: String,
    },
    /// A service filed under one category while its id names another.
    #[error("{at}: service {id} is filed under category {category}, but its id names {named}")]
    WrongCategory {
        /// The line.
        at: Place,
        /// The service id.
        id: String,
        /// The category it is filed under.
        category: char,
        /// The category its id names.
        named: char,
    },
    /// A text with no records at all.
    #[error("the {what} is empty")]
    Empty {
        /// What was expected.
        what: &'static str,
    },
    /// Two views that cannot be compared (categories against services).
    #[error("cannot compare a {left} heatmap with a {right} heatmap")]
    Incomparable {
        /// The left granularity.
        left: &'static str,
        /// The right granularity.
        right: &'static str,
    },
}

impl AssessError {
    /// Where the problem sits, when it sits in a text.
    pub fn place(&self) -> Option<Place> {
        match self {
            AssessError::Syntax { at, .. }
            | AssessError::MissingColumn { at, .. }
            | AssessError::DuplicateColumn { at, .. }
            | AssessError::UnknownKind { at, .. }
            | AssessError::BadScore { at, .. }
            | AssessError::BadValue { at, .. }
            | AssessError::DuplicateCell { at, .. }
            | AssessError::DuplicateRow { at, .. }
            | AssessError::NoCategory { at, .. }
            | AssessError::DuplicateService { at, .. }
            | AssessError::WrongCategory { at, .. } => Some(*at),
            AssessError::Empty { .. } | AssessError::Incomparable { .. } => None,
        }
    }

    /// A CSV reader's complaint, placed on its line.
    pub(crate) fn from_csv(err: &csv::Error, fallback_line: u64) -> Self {
        let line = err.position().map_or(fallback_line, csv::Position::line);
        let why = match err.kind() {
            csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_owned(),
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => format!("{len} fields where the header has {expected_len}"),
            _ => err.to_string(),
        };
        AssessError::Syntax {
            at: Place::line(line),
            why,
        }
    }

    /// A JSON reader's complaint, placed on its line and column.
    pub(crate) fn from_json(err: &serde_json::Error) -> Self {
        let at = if err.line() == 0 {
            Place::line(1)
        } else {
            Place::Line {
                line: err.line() as u64,
                column: Some(err.column() as u64),
            }
        };
        // serde_json appends " at line L column C"; the place already says it.
        let text = err.to_string();
        let why = text
            .rsplit_once(" at line ")
            .map_or(text.as_str(), |(why, _)| why)
            .to_owned();
        AssessError::Syntax { at, why }
    }
}
