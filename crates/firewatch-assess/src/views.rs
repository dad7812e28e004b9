//! Pure computations over an assessment, each a serde-serialisable result for the CLI (`--json`),
//! the web API and the charts: the heatmap, gaps, concentration, the public/private split and
//! the comparison of two maps. The definitions are in `docs/x1060.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::assessment::{Assessment, Granularity, Score, rows};
use crate::catalogue::{Catalogue, Item};
use crate::error::AssessError;
use crate::kind::{Sector, StakeholderKind};

/// A row of a view: a category or a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The category or service.
    pub item: Item,
    /// Its name, when the catalogue knows it.
    pub name: Option<String>,
    /// Its category letter.
    pub category: char,
}

/// One cell of a heatmap. `score: None` is **no part**, distinct from `Some(0.0)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeatCell {
    /// The row's item.
    pub item: Item,
    /// The column's kind.
    pub kind: StakeholderKind,
    /// The score now, 0–10; `None`: no part. A category built from service cells holds their
    /// mean, so it may be fractional.
    pub score: Option<f64>,
    /// The target, 0–10, if one was set.
    pub target: Option<f64>,
}

/// Rows (categories or services) × the ten stakeholder kinds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heatmap {
    /// Whose map: the assessment's scope.
    pub scope: String,
    /// Rows of categories or of services.
    pub granularity: Granularity,
    /// The rows, in id order.
    pub rows: Vec<Row>,
    /// The columns, in the matrices' order.
    pub kinds: Vec<StakeholderKind>,
    /// `rows.len() × kinds.len()` cells, row by row.
    pub cells: Vec<HeatCell>,
}

impl Heatmap {
    /// The cell of a row and a kind.
    pub fn get(&self, item: &Item, kind: StakeholderKind) -> Option<&HeatCell> {
        let row = self.rows.iter().position(|r| &r.item == item)?;
        let column = self.kinds.iter().position(|k| *k == kind)?;
        self.cells.get(row * self.kinds.len() + column)
    }

    /// The cells of one row, in column order.
    pub fn row_cells(&self, index: usize) -> &[HeatCell] {
        let width = self.kinds.len();
        self.cells
            .get(index * width..(index + 1) * width)
            .unwrap_or(&[])
    }
}

fn row(catalogue: &Catalogue, item: Item) -> Row {
    Row {
        name: catalogue.name_of(&item).map(str::to_owned),
        category: item.category(),
        item,
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0u32), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / f64::from(n))
}

/// The heatmap of an assessment. A category row takes the category's own cell for a kind;
/// without one, the mean of that kind's service scores in the category (services with no part
/// left out); with neither, no part.
pub fn heatmap(
    assessment: &Assessment,
    catalogue: &Catalogue,
    granularity: Granularity,
) -> Heatmap {
    let items = rows(Some(assessment), catalogue, granularity);
    let as_f64 = |s: Option<Score>| s.map(|s| f64::from(s.get()));
    let mut cells = Vec::with_capacity(items.len() * StakeholderKind::ALL.len());
    for item in &items {
        for kind in StakeholderKind::ALL {
            let (score, target) = match (assessment.cell(item, kind), item) {
                (Some(cell), _) => (as_f64(cell.score), as_f64(cell.target)),
                (None, Item::Category(letter)) => {
                    let services = || {
                        assessment.cells.iter().filter(move |c| {
                            c.kind == kind
                                && matches!(&c.item, Item::Service(id) if id.category() == *letter)
                        })
                    };
                    (
                        mean(services().filter_map(|c| as_f64(c.score))),
                        mean(services().filter_map(|c| as_f64(c.target))),
                    )
                }
                (None, Item::Service(_)) => (None, None),
            };
            cells.push(HeatCell {
                item: item.clone(),
                kind,
                score,
                target,
            });
        }
    }
    Heatmap {
        scope: assessment.about.scope.clone(),
        granularity,
        rows: items.into_iter().map(|i| row(catalogue, i)).collect(),
        kinds: StakeholderKind::ALL.to_vec(),
        cells,
    }
}

/// How gaps are found and weighed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GapOptions {
    /// A row whose strongest carrier scores below this is carried only weakly (default 5).
    pub weak_below: f64,
    /// A weight per category letter (default 1 for each): how much a gap there matters.
    pub weights: BTreeMap<char, f64>,
}

impl Default for GapOptions {
    fn default() -> Self {
        GapOptions {
            weak_below: 5.0,
            weights: BTreeMap::new(),
        }
    }
}

/// Why a row is a gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GapStatus {
    /// No kind scores above 0.
    Uncovered,
    /// Carried, but the strongest carrier scores below [`GapOptions::weak_below`].
    Weak,
}

/// A service or category nobody carries, or only weakly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gap {
    /// The row.
    pub row: Row,
    /// Uncovered or weak.
    pub status: GapStatus,
    /// The strongest score (`None`: no kind has a part).
    pub strongest: Option<f64>,
    /// The kind with the strongest score (the first in column order on a tie).
    pub strongest_kind: Option<StakeholderKind>,
    /// How many kinds score above 0.
    pub carriers: usize,
    /// The category's weight.
    pub weight: f64,
    /// `weight × (10 − strongest) / 10`, no part counted as 0: 0 is fully carried.
    pub severity: f64,
}

/// The strongest cell of a row: its score and kind (first in column order on a tie).
fn strongest(cells: &[HeatCell]) -> Option<(f64, StakeholderKind)> {
    cells
        .iter()
        .filter_map(|c| c.score.map(|s| (s, c.kind)))
        .fold(None, |best, (s, k)| match best {
            Some((b, _)) if b >= s => best,
            _ => Some((s, k)),
        })
}

/// The gaps of a heatmap, most severe first (ties in row order).
pub fn gaps(heatmap: &Heatmap, options: &GapOptions) -> Vec<Gap> {
    let mut found = Vec::new();
    for (index, row) in heatmap.rows.iter().enumerate() {
        let cells = heatmap.row_cells(index);
        let best = strongest(cells);
        let carriers = cells.iter().filter(|c| c.score > Some(0.0)).count();
        let top = best.map_or(0.0, |(s, _)| s);
        let status = if carriers == 0 {
            GapStatus::Uncovered
        } else if top < options.weak_below {
            GapStatus::Weak
        } else {
            continue;
        };
        let weight = options.weights.get(&row.category).copied().unwrap_or(1.0);
        found.push(Gap {
            row: row.clone(),
            status,
            strongest: best.map(|(s, _)| s),
            strongest_kind: best.map(|(_, k)| k),
            carriers,
            weight,
            severity: weight * (f64::from(Score::MAX) - top) / f64::from(Score::MAX),
        });
    }
    found.sort_by(|a, b| b.severity.total_cmp(&a.severity));
    found
}

/// How concentrated one row is on few kinds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Concentration {
    /// The row.
    pub row: Row,
    /// The sum of the kinds' scores (no part counted as 0).
    pub total: f64,
    /// How many kinds score above 0.
    pub carriers: usize,
    /// The kind with the largest score (first in column order on a tie); `None` if total is 0.
    pub top_kind: Option<StakeholderKind>,
    /// The top kind's score over the total.
    pub top_share: Option<f64>,
    /// Herfindahl–Hirschman index: the sum of the squared shares, from 1/carriers (even) to
    /// 1.0 (one kind alone).
    pub hhi: Option<f64>,
    /// `1 / hhi`: how many equal carriers would give the same index.
    pub effective_carriers: Option<f64>,
}

/// Concentration per row of a heatmap (per category on a category heatmap).
pub fn concentration(heatmap: &Heatmap) -> Vec<Concentration> {
    heatmap
        .rows
        .iter()
        .enumerate()
        .map(|(index, row)| {
            let cells = heatmap.row_cells(index);
            let total: f64 = cells.iter().filter_map(|c| c.score).sum();
            let carriers = cells.iter().filter(|c| c.score > Some(0.0)).count();
            let (top_kind, top_share, hhi) = if total > 0.0 {
                let hhi = cells
                    .iter()
                    .filter_map(|c| c.score)
                    .map(|s| (s / total).powi(2))
                    .sum::<f64>();
                let best = strongest(cells);
                (
                    best.map(|(_, k)| k),
                    best.map(|(s, _)| s / total),
                    Some(hhi),
                )
            } else {
                (None, None, None)
            };
            Concentration {
                row: row.clone(),
                total,
                carriers,
                top_kind,
                top_share,
                hhi,
                effective_carriers: hhi.map(|h| 1.0 / h),
            }
        })
        .collect()
}

/// The shares of the public, private and academic sectors in a total of scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectorShares {
    /// The sum of the scores (no part counted as 0).
    pub total: f64,
    /// Public kinds' share (see [`StakeholderKind::sector`]); `None` when the total is 0.
    pub public: Option<f64>,
    /// Private kinds' share.
    pub private: Option<f64>,
    /// Academia's share.
    pub academic: Option<f64>,
}

impl SectorShares {
    fn of<'a>(cells: impl Iterator<Item = &'a HeatCell>) -> SectorShares {
        let mut sums = [0.0f64; 3];
        for cell in cells {
            let slot = match cell.kind.sector() {
                Sector::Public => 0,
                Sector::Private => 1,
                Sector::Academic => 2,
            };
            sums[slot] += cell.score.unwrap_or(0.0);
        }
        let total: f64 = sums.iter().sum();
        let share = |s: f64| (total > 0.0).then(|| s / total);
        SectorShares {
            total,
            public: share(sums[0]),
            private: share(sums[1]),
            academic: share(sums[2]),
        }
    }
}

/// One row's split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitRow {
    /// The row.
    pub row: Row,
    /// Its sectors' shares.
    pub shares: SectorShares,
}

/// The public/private split per row and over the whole map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Split {
    /// Each row's shares.
    pub rows: Vec<SplitRow>,
    /// The shares over every cell of the map.
    pub overall: SectorShares,
}

/// Who carries the map: the public sector's, the private sector's and academia's shares of the
/// scores, per row and overall.
pub fn split(heatmap: &Heatmap) -> Split {
    Split {
        rows: heatmap
            .rows
            .iter()
            .enumerate()
            .map(|(i, row)| SplitRow {
                row: row.clone(),
                shares: SectorShares::of(heatmap.row_cells(i).iter()),
            })
            .collect(),
        overall: SectorShares::of(heatmap.cells.iter()),
    }
}

/// One cell of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffCell {
    /// The row's item.
    pub item: Item,
    /// The column's kind.
    pub kind: StakeholderKind,
    /// The left map's score (`None`: no part).
    pub left: Option<f64>,
    /// The right map's score (`None`: no part).
    pub right: Option<f64>,
    /// `right − left`, no part counted as 0; `None` when neither has a part.
    pub difference: Option<f64>,
}

/// Two maps side by side, cell by cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The left map's scope.
    pub left: String,
    /// The right map's scope.
    pub right: String,
    /// Rows of categories or of services.
    pub granularity: Granularity,
    /// The left map's rows, then any the right map adds.
    pub rows: Vec<Row>,
    /// The columns.
    pub kinds: Vec<StakeholderKind>,
    /// `rows.len() × kinds.len()` cells, row by row.
    pub cells: Vec<DiffCell>,
}

impl Comparison {
    /// The cell of a row and a kind.
    pub fn get(&self, item: &Item, kind: StakeholderKind) -> Option<&DiffCell> {
        let row = self.rows.iter().position(|r| &r.item == item)?;
        let column = self.kinds.iter().position(|k| *k == kind)?;
        self.cells.get(row * self.kinds.len() + column)
    }
}

/// The per-cell difference of two heatmaps of the same granularity.
pub fn compare(left: &Heatmap, right: &Heatmap) -> Result<Comparison, AssessError> {
    if left.granularity != right.granularity {
        return Err(AssessError::Incomparable {
            left: left.granularity.as_str(),
            right: right.granularity.as_str(),
        });
    }
    let mut all_rows = left.rows.clone();
    for row in &right.rows {
        if !all_rows.iter().any(|r| r.item == row.item) {
            all_rows.push(row.clone());
        }
    }
    let kinds = StakeholderKind::ALL.to_vec();
    let mut cells = Vec::with_capacity(all_rows.len() * kinds.len());
    for row in &all_rows {
        for &kind in &kinds {
            let score = |map: &Heatmap| map.get(&row.item, kind).and_then(|c| c.score);
            let (l, r) = (score(left), score(right));
            let difference =
                (l.is_some() || r.is_some()).then(|| r.unwrap_or(0.0) - l.unwrap_or(0.0));
            cells.push(DiffCell {
                item: row.item.clone(),
                kind,
                left: l,
                right: r,
                difference,
            });
        }
    }
    Ok(Comparison {
        left: left.scope.clone(),
        right: right.scope.clone(),
        granularity: left.granularity,
        rows: all_rows,
        kinds,
        cells,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assessment::{About, Cell};
    use crate::catalogue::ServiceId;

    fn service(id: &str) -> Item {
        Item::Service(ServiceId::parse(id).unwrap())
    }

    #[test]
    fn category_rows_take_the_mean_of_their_services() {
        let cells = vec![
            Cell::scored(
                service("A-1"),
                StakeholderKind::Ncsc,
                Score::new(4).unwrap(),
            ),
            Cell::scored(
                service("A-2"),
                StakeholderKind::Ncsc,
                Score::new(8).unwrap(),
            ),
            Cell::scored(
                service("B-1"),
                StakeholderKind::Psirt,
                Score::new(0).unwrap(),
            ),
        ];
        let assessment = Assessment {
            about: About::default(),
            cells,
        };
        let map = heatmap(&assessment, &Catalogue::builtin(), Granularity::Categories);
        let a = Item::Category('A');
        let b = Item::Category('B');
        // (4 + 8) / 2 = 6
        assert_eq!(map.get(&a, StakeholderKind::Ncsc).unwrap().score, Some(6.0));
        assert_eq!(map.get(&a, StakeholderKind::Psirt).unwrap().score, None);
        // A 0 is a part: B is uncovered (no one above 0) but PSIRT has a part.
        assert_eq!(
            map.get(&b, StakeholderKind::Psirt).unwrap().score,
            Some(0.0)
        );
        let found = gaps(&map, &GapOptions::default());
        let b_gap = found.iter().find(|g| g.row.item == b).unwrap();
        assert_eq!(b_gap.status, GapStatus::Uncovered);
        assert_eq!(b_gap.strongest, Some(0.0));
        // A is carried at 6 ≥ 5: no gap.
        assert!(found.iter().all(|g| g.row.item != a));
    }
}
