//! An assessment: for one country or organisation, how much each kind of stakeholder carries
//! each X.1060 service or category, now and as a target.
//!
//! A cell absent from [`Assessment::cells`], or present with no score, means the kind plays
//! **no part**; a score of 0 means it has a part and carries nothing of it yet. The two are
//! kept apart everywhere (the matrices leave "no part" empty).

use std::collections::HashMap;
use std::fmt;

use firewatch_core::TlpLevel;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::catalogue::{Catalogue, Item};
use crate::error::{AssessError, Place};
use crate::kind::StakeholderKind;

/// A score from 0 (a part, carrying nothing yet) to 10 (carries it fully).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Score(u8);

impl Score {
    /// The highest score.
    pub const MAX: u8 = 10;

    /// A score, if `value` is at most 10.
    pub fn new(value: u8) -> Option<Score> {
        (value <= Score::MAX).then_some(Score(value))
    }

    /// The score's value.
    pub fn get(self) -> u8 {
        self.0
    }

    /// Reads a whole number from 0 to 10 as written in a CSV field.
    pub fn parse(text: &str) -> Option<Score> {
        text.trim().parse::<u8>().ok().and_then(Score::new)
    }
}

impl TryFrom<u8> for Score {
    type Error = String;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Score::new(value).ok_or_else(|| format!("score {value} is not from 0 to 10"))
    }
}

impl From<Score> for u8 {
    fn from(score: Score) -> u8 {
        score.0
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Whether the stakeholder does the work itself or buys it (ISOG-J's sheets ask this).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Delivery {
    /// Done by its own staff.
    InHouse,
    /// Bought from a provider.
    Outsourced,
}

impl Delivery {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::InHouse => "in-house",
            Delivery::Outsourced => "outsourced",
        }
    }

    /// Reads `in-house` / `inhouse` / `in house` or `outsourced`, in any case.
    pub fn parse(text: &str) -> Option<Delivery> {
        let key: String = text
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match key.as_str() {
            "inhouse" => Some(Delivery::InHouse),
            "outsourced" => Some(Delivery::Outsourced),
            _ => None,
        }
    }
}

/// Who assessed what, when, from what, and who may read it. For a CSV import the caller gives
/// it (the matrices carry none); a JSON assessment carries its own, the caller's filling blanks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct About {
    /// The country (ISO 3166 code, e.g. `JP`) or organisation assessed.
    #[serde(default)]
    pub scope: String,
    /// Who assessed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessed_by: Option<String>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessed_on: Option<Date>,
    /// From what (a report, a workshop, a survey).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Who may read it; `None` reads as TLP:RED under core's access rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tlp: Option<TlpLevel>,
}

impl About {
    /// `self`, its blanks filled from `fallback`.
    pub fn or(self, fallback: &About) -> About {
        About {
            scope: if self.scope.trim().is_empty() {
                fallback.scope.clone()
            } else {
                self.scope
            },
            assessed_by: self.assessed_by.or_else(|| fallback.assessed_by.clone()),
            assessed_on: self.assessed_on.or(fallback.assessed_on),
            source: self.source.or_else(|| fallback.source.clone()),
            tlp: self.tlp.or(fallback.tlp),
        }
    }
}

/// One cell: how much one kind of stakeholder carries one service or category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cell {
    /// The service or category.
    pub item: Item,
    /// The kind of stakeholder.
    pub kind: StakeholderKind,
    /// 0–10 now; `None`: no part (a target or a note may still be recorded).
    #[serde(default)]
    pub score: Option<Score>,
    /// 0–10 wanted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Score>,
    /// In-house or outsourced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
    /// Who assessed this cell, when not the assessment's assessor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessed_by: Option<String>,
    /// When this cell was assessed, when not the assessment's date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessed_on: Option<Date>,
    /// This cell's source, when not the assessment's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Cell {
    /// A cell with a score now and nothing else.
    pub fn scored(item: Item, kind: StakeholderKind, score: Score) -> Cell {
        Cell {
            item,
            kind,
            score: Some(score),
            target: None,
            delivery: None,
            assessed_by: None,
            assessed_on: None,
            source: None,
        }
    }
}

/// Rows of services or of categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Granularity {
    /// The nine categories.
    Categories,
    /// The services.
    Services,
}

impl Granularity {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Categories => "categories",
            Granularity::Services => "services",
        }
    }
}

/// One country's or organisation's map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assessment {
    /// Who, what, when and TLP.
    pub about: About,
    /// The cells, at most one per (item, kind), in the order read.
    pub cells: Vec<Cell>,
}

impl Assessment {
    /// Checks what JSON or code can get wrong that the types cannot: every item in a category
    /// of the catalogue and no (item, kind) twice. Places are the cells' entries (from 1).
    pub fn validate(&self, catalogue: &Catalogue) -> Result<(), AssessError> {
        let mut seen: HashMap<(&Item, StakeholderKind), usize> = HashMap::new();
        for (i, cell) in self.cells.iter().enumerate() {
            let at = Place::Entry { index: i + 1 };
            catalogue
                .resolve(&cell.item.to_string())
                .map_err(|why| AssessError::NoCategory {
                    at,
                    value: cell.item.to_string(),
                    why,
                })?;
            if let Some(first) = seen.insert((&cell.item, cell.kind), i + 1) {
                return Err(AssessError::DuplicateCell {
                    at,
                    first: Place::Entry { index: first },
                    item: cell.item.to_string(),
                    kind: cell.kind.to_string(),
                });
            }
        }
        Ok(())
    }

    /// The cell of one item and kind, if recorded.
    pub fn cell(&self, item: &Item, kind: StakeholderKind) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| &c.item == item && c.kind == kind)
    }

    /// The score now of one item and kind; `None`: no part.
    pub fn score(&self, item: &Item, kind: StakeholderKind) -> Option<u8> {
        self.cell(item, kind).and_then(|c| c.score).map(Score::get)
    }
}

/// The rows of a granularity: the catalogue's categories, or its services and any other
/// service the assessment scores, in id order.
pub(crate) fn rows(
    assessment: Option<&Assessment>,
    catalogue: &Catalogue,
    granularity: Granularity,
) -> Vec<Item> {
    match granularity {
        Granularity::Categories => catalogue
            .categories()
            .iter()
            .map(|c| Item::Category(c.id))
            .collect(),
        Granularity::Services => {
            let mut items: Vec<Item> = catalogue
                .services()
                .iter()
                .map(|s| Item::Service(s.id.clone()))
                .collect();
            for cell in assessment.map_or(&[][..], |a| &a.cells) {
                if matches!(cell.item, Item::Service(_)) && !items.contains(&cell.item) {
                    items.push(cell.item.clone());
                }
            }
            items.sort();
            items
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_is_zero_to_ten() {
        assert_eq!(Score::parse(" 10 ").map(Score::get), Some(10));
        assert_eq!(Score::parse("0").map(Score::get), Some(0));
        assert_eq!(Score::parse("11"), None);
        assert_eq!(Score::parse("-1"), None);
        assert_eq!(Score::parse("5.5"), None);
    }

    #[test]
    fn validate_places_a_duplicate_entry() {
        let item = Item::parse("A").unwrap();
        let cell = Cell::scored(item, StakeholderKind::Ncsc, Score(3));
        let assessment = Assessment {
            about: About::default(),
            cells: vec![cell.clone(), cell],
        };
        let err = assessment.validate(&Catalogue::builtin()).unwrap_err();
        assert_eq!(err.place(), Some(Place::Entry { index: 2 }));
    }
}
