//! The heatmap and the difference heatmap as SVG: our product's own chart, hand-written so each
//! cell is one `<rect class="cell">` carrying its data (`data-item`, `data-kind`, `data-score`)
//! for tests, the web page and screen readers (`<title>`).
//!
//! "No part" is drawn hatched grey ([`NO_PART_FILL`]), never as the colour of 0.

use std::fmt::Write as _;

use crate::kind::StakeholderKind;
use crate::views::{Comparison, Heatmap, Row};

/// The fill of a "no part" cell: a hatched grey pattern defined in each chart.
pub const NO_PART_FILL: &str = "url(#no-part)";

const LABEL_WIDTH: u32 = 380;
const CELL_WIDTH: u32 = 60;
const CELL_HEIGHT: u32 = 28;
const TITLE_HEIGHT: u32 = 30;
const HEADER_HEIGHT: u32 = 110;
const LEGEND_HEIGHT: u32 = 46;

/// 0 → pale blue, 10 → dark blue (ColorBrewer "Blues" ends, readable in print and on screen).
const SCALE_LOW: (u8, u8, u8) = (0xf7, 0xfb, 0xff);
const SCALE_HIGH: (u8, u8, u8) = (0x08, 0x30, 0x6b);
/// Differences: red where the right map carries less, blue where more (ColorBrewer "RdBu").
const DIFF_ZERO: (u8, u8, u8) = (0xf7, 0xf7, 0xf7);
const DIFF_LESS: (u8, u8, u8) = (0xb2, 0x18, 0x2b);
const DIFF_MORE: (u8, u8, u8) = (0x21, 0x66, 0xac);

fn mix(from: (u8, u8, u8), to: (u8, u8, u8), t: f64) -> String {
    let t = t.clamp(0.0, 1.0);
    let channel = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        channel(from.0, to.0),
        channel(from.1, to.1),
        channel(from.2, to.2)
    )
}

/// The fill of a score from 0 to 10.
pub fn score_fill(score: f64) -> String {
    mix(SCALE_LOW, SCALE_HIGH, score / 10.0)
}

/// The fill of a difference from −10 to +10.
pub fn difference_fill(difference: f64) -> String {
    if difference < 0.0 {
        mix(DIFF_ZERO, DIFF_LESS, -difference / 10.0)
    } else {
        mix(DIFF_ZERO, DIFF_MORE, difference / 10.0)
    }
}

/// Text, escaped for XML content and attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A number as a short label: `7`, `6.5`.
fn number(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

/// One cell to draw.
struct Drawn {
    fill: String,
    label: String,
    data_score: String,
    title: String,
    dark: bool,
}

/// The frame every chart shares: title, column heads, row labels, the no-part pattern.
fn frame(out: &mut String, title: &str, rows: &[Row], kinds: &[StakeholderKind]) -> (u32, u32) {
    // Room on the right for the last column head, which leans right.
    let width = LABEL_WIDTH + CELL_WIDTH * kinds.len() as u32 + 100;
    let height = TITLE_HEIGHT + HEADER_HEIGHT + CELL_HEIGHT * rows.len() as u32 + LEGEND_HEIGHT;
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">
<defs><pattern id="no-part" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#e6e6e6"/><line x1="0" y1="0" x2="0" y2="6" stroke="#a0a0a0" stroke-width="2"/></pattern></defs>
<rect width="{width}" height="{height}" fill="#ffffff"/>
<text x="10" y="20" font-size="15" font-weight="bold">{}</text>
"##,
        escape(title)
    );
    let top = TITLE_HEIGHT + HEADER_HEIGHT;
    for (i, kind) in kinds.iter().enumerate() {
        let x = LABEL_WIDTH + CELL_WIDTH * i as u32 + CELL_WIDTH / 2;
        let _ = writeln!(
            out,
            r#"<text class="column" transform="translate({x},{}) rotate(-45)">{}</text>"#,
            top - 6,
            escape(kind.label())
        );
    }
    for (i, row) in rows.iter().enumerate() {
        let y = top + CELL_HEIGHT * i as u32 + CELL_HEIGHT / 2 + 4;
        let label = match &row.name {
            Some(name) => format!("{} {name}", row.item),
            None => row.item.to_string(),
        };
        let _ = writeln!(
            out,
            r#"<text class="row" x="{}" y="{y}" text-anchor="end">{}</text>"#,
            LABEL_WIDTH - 8,
            escape(&label)
        );
    }
    (width, height)
}

fn cell(out: &mut String, row: usize, column: usize, item: &str, kind: StakeholderKind, d: &Drawn) {
    let x = LABEL_WIDTH + CELL_WIDTH * column as u32;
    let y = TITLE_HEIGHT + HEADER_HEIGHT + CELL_HEIGHT * row as u32;
    let _ = writeln!(
        out,
        r##"<rect class="cell" x="{x}" y="{y}" width="{CELL_WIDTH}" height="{CELL_HEIGHT}" fill="{}" stroke="#ffffff" data-item="{}" data-kind="{}" data-score="{}"><title>{}</title></rect>"##,
        d.fill,
        escape(item),
        kind.as_str(),
        d.data_score,
        escape(&d.title)
    );
    if !d.label.is_empty() {
        let colour = if d.dark { "#ffffff" } else { "#202020" };
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" text-anchor="middle" fill="{colour}">{}</text>"#,
            x + CELL_WIDTH / 2,
            y + CELL_HEIGHT / 2 + 4,
            escape(&d.label)
        );
    }
}

/// A legend entry: a swatch and its words.
fn swatch(out: &mut String, x: u32, y: u32, fill: &str, words: &str) {
    let _ = writeln!(
        out,
        r##"<rect class="legend" x="{x}" y="{y}" width="18" height="14" fill="{fill}" stroke="#a0a0a0"/><text x="{}" y="{}">{}</text>"##,
        x + 22,
        y + 11,
        escape(words)
    );
}

/// The heatmap as an SVG document: one `<rect class="cell">` per row × kind.
pub fn heatmap_svg(map: &Heatmap) -> String {
    let mut out = String::new();
    let title = format!("X.1060 services: {}", map.scope);
    let (_, height) = frame(&mut out, &title, &map.rows, &map.kinds);
    for (r, row) in map.rows.iter().enumerate() {
        for (c, heat) in map.row_cells(r).iter().enumerate() {
            let drawn = match heat.score {
                Some(score) => Drawn {
                    fill: score_fill(score),
                    label: number(score),
                    data_score: number(score),
                    title: format!("{} × {}: {}", row.item, heat.kind.label(), number(score)),
                    dark: score > 5.5,
                },
                None => Drawn {
                    fill: NO_PART_FILL.to_owned(),
                    label: String::new(),
                    data_score: "none".to_owned(),
                    title: format!("{} × {}: no part", row.item, heat.kind.label()),
                    dark: false,
                },
            };
            cell(&mut out, r, c, &row.item.to_string(), heat.kind, &drawn);
        }
    }
    let y = height - LEGEND_HEIGHT + 16;
    for (i, score) in [0.0, 2.0, 4.0, 6.0, 8.0, 10.0].into_iter().enumerate() {
        swatch(
            &mut out,
            10 + 60 * i as u32,
            y,
            &score_fill(score),
            &number(score),
        );
    }
    swatch(&mut out, 10 + 60 * 6, y, NO_PART_FILL, "no part");
    out.push_str("</svg>\n");
    out
}

/// The difference heatmap (right − left) as an SVG document: one `<rect class="cell">` per
/// row × kind; a cell where neither map has a part is hatched.
pub fn difference_svg(comparison: &Comparison) -> String {
    let mut out = String::new();
    let title = format!(
        "X.1060 services: {} compared with {}",
        comparison.right, comparison.left
    );
    let (_, height) = frame(&mut out, &title, &comparison.rows, &comparison.kinds);
    let width = comparison.kinds.len();
    for (r, row) in comparison.rows.iter().enumerate() {
        for (c, diff) in comparison.cells[r * width..(r + 1) * width]
            .iter()
            .enumerate()
        {
            let side = |s: Option<f64>| s.map_or_else(|| "no part".to_owned(), number);
            let drawn = match diff.difference {
                Some(d) => Drawn {
                    fill: difference_fill(d),
                    label: if d > 0.0 {
                        format!("+{}", number(d))
                    } else {
                        number(d)
                    },
                    data_score: number(d),
                    title: format!(
                        "{} × {}: {} {} → {} {}",
                        row.item,
                        diff.kind.label(),
                        comparison.left,
                        side(diff.left),
                        comparison.right,
                        side(diff.right)
                    ),
                    dark: d.abs() > 5.5,
                },
                None => Drawn {
                    fill: NO_PART_FILL.to_owned(),
                    label: String::new(),
                    data_score: "none".to_owned(),
                    title: format!("{} × {}: no part in either", row.item, diff.kind.label()),
                    dark: false,
                },
            };
            cell(&mut out, r, c, &row.item.to_string(), diff.kind, &drawn);
        }
    }
    let y = height - LEGEND_HEIGHT + 16;
    for (i, d) in [-10.0, -5.0, 0.0, 5.0, 10.0].into_iter().enumerate() {
        let words = if d > 0.0 {
            format!("+{}", number(d))
        } else {
            number(d)
        };
        swatch(&mut out, 10 + 60 * i as u32, y, &difference_fill(d), &words);
    }
    swatch(&mut out, 10 + 60 * 5, y, NO_PART_FILL, "no part in either");
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_ends_are_the_palette() {
        assert_eq!(score_fill(0.0), "#f7fbff");
        assert_eq!(score_fill(10.0), "#08306b");
        assert_eq!(difference_fill(0.0), "#f7f7f7");
        assert_eq!(difference_fill(-10.0), "#b2182b");
        assert_eq!(difference_fill(15.0), "#2166ac");
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("R&D <\"x\">"), "R&amp;D &lt;&quot;x&quot;&gt;");
    }
}
