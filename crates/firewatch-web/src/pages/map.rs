//! The world map: Natural Earth 1:110m country shapes (public domain, via the `world-atlas`
//! npm package, see `assets/SOURCE.md`) decoded from TopoJSON once, at first use, into SVG
//! paths in an equirectangular projection; a choropleth colours them by count.

use maud::{Markup, html};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

/// Width of the map's SVG coordinate system.
pub const WIDTH: f64 = 960.0;
/// Northernmost and southernmost latitudes drawn (Antarctica is left out).
const NORTH: f64 = 84.0;
const SOUTH: f64 = -58.0;
/// Height of the map's SVG coordinate system.
pub const HEIGHT: f64 = (NORTH - SOUTH) / 360.0 * WIDTH;

/// One country's shape.
#[derive(Debug, Clone)]
pub struct CountryShape {
    /// ISO 3166-1 alpha-2, when the shape has an ISO numeric id.
    pub alpha2: Option<&'static str>,
    pub name: String,
    /// SVG path data.
    pub path: String,
}

#[derive(Deserialize)]
struct Topology {
    arcs: Vec<Vec<[f64; 2]>>,
    transform: Transform,
    objects: HashMap<String, GeometryCollection>,
}

#[derive(Deserialize)]
struct Transform {
    scale: [f64; 2],
    translate: [f64; 2],
}

#[derive(Deserialize)]
struct GeometryCollection {
    geometries: Vec<Geometry>,
}

#[derive(Deserialize)]
struct Geometry {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
    #[serde(default)]
    arcs: serde_json::Value,
    #[serde(default)]
    properties: HashMap<String, serde_json::Value>,
}

/// ISO 3166-1 numeric → alpha-2.
fn numeric_to_alpha2() -> HashMap<&'static str, &'static str> {
    include_str!("../../assets/iso3166-numeric.tsv")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .collect()
}

/// The country shapes (decoded once).
pub static COUNTRIES: LazyLock<Vec<CountryShape>> = LazyLock::new(|| {
    decode(include_str!("../../assets/countries-110m.json")).unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot decode the embedded world map");
        Vec::new()
    })
});

fn project(lon: f64, lat: f64) -> (f64, f64) {
    let k = WIDTH / 360.0;
    ((lon + 180.0) * k, (NORTH - lat.clamp(SOUTH, NORTH)) * k)
}

/// Decodes a TopoJSON topology's `countries` object into SVG paths (TopoJSON spec: arcs are
/// delta-encoded quantized positions; a negative arc index `i` means arc `!i` reversed).
pub fn decode(topojson: &str) -> Result<Vec<CountryShape>, String> {
    let topo: Topology = serde_json::from_str(topojson).map_err(|e| e.to_string())?;
    let [sx, sy] = topo.transform.scale;
    let [tx, ty] = topo.transform.translate;
    let arcs: Vec<Vec<(f64, f64)>> = topo
        .arcs
        .iter()
        .map(|arc| {
            let (mut x, mut y) = (0.0, 0.0);
            arc.iter()
                .map(|[dx, dy]| {
                    x += dx;
                    y += dy;
                    project(x * sx + tx, y * sy + ty)
                })
                .collect()
        })
        .collect();
    let iso = numeric_to_alpha2();
    let countries = topo
        .objects
        .get("countries")
        .ok_or("no `countries` object in the topology")?;
    let ring_path = |ring: &serde_json::Value, out: &mut String| -> Result<(), String> {
        let indexes = ring.as_array().ok_or("a ring is not an array")?;
        let mut first = true;
        let last_x = &mut 0.0_f64;
        for index in indexes {
            let i = index.as_i64().ok_or("an arc index is not an integer")?;
            let (k, reversed) = if i < 0 { (!i, true) } else { (i, false) };
            let arc = arcs
                .get(usize::try_from(k).map_err(|_| "bad arc index")?)
                .ok_or("arc index out of range")?;
            let points: Box<dyn Iterator<Item = &(f64, f64)>> = if reversed {
                Box::new(arc.iter().rev())
            } else {
                Box::new(arc.iter())
            };
            // Consecutive arcs share their end point: skip it after the first arc.
            for (j, (x, y)) in points.enumerate() {
                if j == 0 && !first {
                    continue;
                }
                // A jump over half the map is a shape crossing the antimeridian (Fiji,
                // Russia): move instead of drawing a line across the world.
                let jump = (x - *last_x).abs() > WIDTH / 2.0;
                out.push_str(if (first && j == 0) || jump { "M" } else { "L" });
                *last_x = *x;
                out.push_str(&format!("{x:.1},{y:.1}"));
            }
            first = false;
        }
        out.push('Z');
        Ok(())
    };
    let mut shapes = Vec::new();
    for g in &countries.geometries {
        let polygons: Vec<&serde_json::Value> = match g.kind.as_str() {
            "Polygon" => vec![&g.arcs],
            "MultiPolygon" => g
                .arcs
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default(),
            _ => continue,
        };
        let mut path = String::new();
        for polygon in polygons {
            for ring in polygon.as_array().ok_or("a polygon is not an array")? {
                ring_path(ring, &mut path)?;
            }
        }
        if g.id.as_deref() == Some("010") {
            continue; // Antarctica: outside the drawn latitudes
        }
        shapes.push(CountryShape {
            alpha2: g.id.as_deref().and_then(|id| iso.get(id).copied()),
            name: g
                .properties
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or("")
                .to_owned(),
            path,
        });
    }
    Ok(shapes)
}

/// The fill of a count: grey for none, then five blues on a log scale up to `max`.
fn fill(count: u64, max: u64) -> &'static str {
    const BLUES: [&str; 5] = ["#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"];
    if count == 0 || max == 0 {
        return "#e5e5e5";
    }
    let t = ((count as f64).ln_1p() / (max as f64).ln_1p()).clamp(0.0, 1.0);
    BLUES[((t * 4.999) as usize).min(4)]
}

/// A choropleth of `counts` (ISO alpha-2 → count) with a title per country and a legend.
pub fn choropleth(id: &str, caption: &str, counts: &BTreeMap<String, u64>) -> Markup {
    let max = counts.values().copied().max().unwrap_or(0);
    let known: std::collections::HashSet<&str> =
        COUNTRIES.iter().filter_map(|c| c.alpha2).collect();
    let unmapped: u64 = counts
        .iter()
        .filter(|(cc, _)| !known.contains(cc.as_str()))
        .map(|(_, n)| n)
        .sum();
    let view_box = format!("0 0 {WIDTH} {HEIGHT:.0}");
    html! {
        figure.map {
            svg id=(id) class="map" viewBox=(view_box) role="img" aria-label=(caption)
                xmlns="http://www.w3.org/2000/svg" {
                rect x="0" y="0" width=(WIDTH) height=(format!("{HEIGHT:.0}")) fill="#f7fbff" {}
                @for c in COUNTRIES.iter() {
                    @let n = c.alpha2.and_then(|a| counts.get(a)).copied().unwrap_or(0);
                    path d=(c.path) fill=(fill(n, max)) stroke="#ffffff" stroke-width="0.5"
                        data-cc=[c.alpha2] {
                        title { (c.name) ": " (n) }
                    }
                }
            }
            figcaption {
                (caption) " — max " (max) " per country"
                @if unmapped > 0 { "; " (unmapped) " in places without a shape (or no country)" }
                span.legend {
                    @for (label, colour) in [("0", "#e5e5e5"), ("few", "#c6dbef"), ("", "#6baed6"), ("most", "#08519c")] {
                        svg.swatch viewBox="0 0 10 10" width="12" height="12" xmlns="http://www.w3.org/2000/svg" {
                            rect width="10" height="10" fill=(colour) {}
                        }
                        " " (label) " "
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_atlas_decodes() {
        let countries = &*COUNTRIES;
        assert!(countries.len() > 150, "{}", countries.len());
        for cc in ["JP", "DE", "BR", "US", "AU", "ZA"] {
            let c = countries.iter().find(|c| c.alpha2 == Some(cc)).unwrap();
            assert!(c.path.starts_with('M') && c.path.ends_with('Z'), "{cc}");
        }
        // Paths stay inside the drawing.
        let c = countries.iter().find(|c| c.alpha2 == Some("JP")).unwrap();
        for point in c.path.split(['M', 'L', 'Z']).filter(|p| !p.is_empty()) {
            let (x, y) = point.split_once(',').unwrap();
            let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
            assert!((0.0..=WIDTH).contains(&x) && (0.0..=HEIGHT).contains(&y));
        }
    }

    #[test]
    fn choropleth_colours_and_escapes() {
        let counts = BTreeMap::from([("JP".to_owned(), 10), ("<x>".to_owned(), 3)]);
        let svg = choropleth("m", "a <caption>", &counts).into_string();
        assert!(svg.contains("data-cc=\"JP\""));
        assert!(svg.contains("#08519c"));
        assert!(svg.contains("a &lt;caption&gt;"));
        assert!(!svg.contains("<x>"));
    }
}
