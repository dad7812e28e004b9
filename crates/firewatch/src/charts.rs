//! Port charts: a port's series, its baseline and its alerts, as SVG or PNG.

use anyhow::{Context as _, Result, anyhow, bail};
use firewatch_core::Protocol;
use firewatch_detect::{SeriesPoint, baseline};
use firewatch_pipeline::Context;
use firewatch_store::{AlertQuery, AlertRecord, TimeRange};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Once;

/// Everything a port chart shows.
pub struct PortChart<'a> {
    pub title: String,
    pub series: &'a [SeriesPoint],
    pub baseline_packets: Vec<Option<f64>>,
    pub baseline_sources: Vec<Option<f64>>,
    pub alerts: &'a [AlertRecord],
    pub interval_secs: i64,
}

/// One of the chart's two panels: a metric of the series and its baseline.
struct Panel<'a> {
    /// The series' name in the legend.
    name: &'static str,
    /// The y axis.
    y_desc: &'static str,
    color: RGBColor,
    value: fn(&SeriesPoint) -> u64,
    baseline: &'a [Option<f64>],
    /// Whether the alerts are named in this panel's legend (once is enough).
    alert_legend: bool,
}

fn register_font() {
    static ONCE: Once = Once::new();
    // DejaVu Sans is embedded so that charts render the same on a machine without fonts.
    ONCE.call_once(|| {
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

fn hours_label(t: &i64) -> String {
    jiff::Timestamp::from_second(*t)
        .map(|ts| ts.strftime("%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// Two panels, one above the other on the same time axis: packets per interval, then unique
/// sources per interval, each with its baseline and the alerts shaded.
fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, chart: &PortChart<'_>) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing failed: {e:?}");
    if chart.series.is_empty() {
        bail!("no data to plot");
    }
    root.fill(&WHITE).map_err(err)?;
    let root = root.titled(&chart.title, ("sans-serif", 22)).map_err(err)?;
    let (_, height) = root.dim_in_pixel();
    let (upper, lower) = root.split_vertically(height / 2);
    panel(
        &upper,
        chart,
        &Panel {
            name: "packets",
            y_desc: "packets per interval",
            color: BLUE,
            value: |p| p.packets,
            baseline: &chart.baseline_packets,
            alert_legend: true,
        },
    )?;
    panel(
        &lower,
        chart,
        &Panel {
            name: "unique sources",
            y_desc: "unique sources per interval",
            color: plotters::style::full_palette::GREEN_800,
            value: |p| p.unique_sources,
            baseline: &chart.baseline_sources,
            alert_legend: false,
        },
    )?;
    root.present().map_err(err)?;
    Ok(())
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &PortChart<'_>,
    p: &Panel<'_>,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing failed: {e:?}");
    let (Some(first), Some(last)) = (chart.series.first(), chart.series.last()) else {
        bail!("no data to plot");
    };
    let x_end = last.interval_start + chart.interval_secs;
    let y_max = chart
        .series
        .iter()
        .map(|s| (p.value)(s) as f64)
        .chain(p.baseline.iter().flatten().copied())
        .fold(1.0, f64::max)
        * 1.1;
    let mut ctx = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(first.interval_start..x_end, 0f64..y_max)
        .map_err(err)?;
    ctx.configure_mesh()
        .x_labels(8)
        .x_label_formatter(&hours_label)
        .y_desc(p.y_desc)
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    for a in chart.alerts {
        let end = a.end.unwrap_or(x_end);
        let shade = if matches!(a.kind, firewatch_detect::AlertKind::NewCampaign) {
            plotters::style::full_palette::ORANGE.mix(0.25)
        } else {
            RED.mix(0.2)
        };
        let drawn = ctx
            .draw_series(std::iter::once(Rectangle::new(
                [(a.start, 0.0), (end, y_max)],
                shade.filled(),
            )))
            .map_err(err)?;
        if p.alert_legend {
            drawn
                .label(format!("alert {} ({:.0}× baseline)", a.id, a.magnitude))
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 14, y + 5)], shade.filled())
                });
        }
    }
    let color = p.color;
    ctx.draw_series(LineSeries::new(
        chart
            .series
            .iter()
            .map(|s| (s.interval_start, (p.value)(s) as f64)),
        &color,
    ))
    .map_err(err)?
    .label(p.name)
    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], color));
    let baseline_points: Vec<(i64, f64)> = chart
        .series
        .iter()
        .zip(p.baseline)
        .filter_map(|(s, b)| b.map(|b| (s.interval_start, b)))
        .collect();
    ctx.draw_series(LineSeries::new(baseline_points, BLACK.stroke_width(2)))
        .map_err(err)?
        .label(format!("{} baseline (rolling median)", p.name))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], BLACK.stroke_width(2)));
    ctx.configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(err)?;
    Ok(())
}

/// Writes the chart to `out`; the extension (.svg or .png) picks the format. The chart is
/// drawn into a hidden file beside `out` and renamed over it once complete, so a failure
/// leaves neither a partial chart nor a blank one (and an older chart at `out` stays).
pub fn write_chart(out: &Path, chart: &PortChart<'_>) -> Result<()> {
    register_font();
    let size = (1200, 760);
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let ext = match ext.as_deref() {
        Some(ext @ ("svg" | "png")) => ext,
        _ => bail!(
            "{}: the chart's file name must end in .svg or .png",
            out.display()
        ),
    };
    let partial = partial_path(out, ext)?;
    let written = match ext {
        "svg" => draw(SVGBackend::new(&partial, size).into_drawing_area(), chart),
        _ => draw(
            BitMapBackend::new(&partial, size).into_drawing_area(),
            chart,
        ),
    }
    .and_then(|()| {
        std::fs::rename(&partial, out)
            .with_context(|| format!("cannot rename {} to it", partial.display()))
    });
    if written.is_err() {
        // The backend wrote what it had when it was dropped: take it away.
        let _ = std::fs::remove_file(&partial);
    }
    written.with_context(|| format!("cannot write {}", out.display()))
}

/// `dir/.name.PID.partial.ext` beside `out`: the same directory (so the rename is atomic) and
/// the same extension (the PNG writer picks its format by it).
fn partial_path(out: &Path, ext: &str) -> Result<PathBuf> {
    let name = out
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow!("{}: not a file name", out.display()))?;
    Ok(out.with_file_name(format!(".{name}.{}.partial.{ext}", std::process::id())))
}

/// Gathers a port's series, baseline and alerts from the store and writes the chart.
pub fn plot_port(
    ctx: &Context,
    proto: Protocol,
    port: u16,
    range: &TimeRange,
    out: &Path,
) -> Result<()> {
    let store = ctx.fresh_store()?;
    let interval = store
        .interval_secs()?
        .ok_or_else(|| anyhow!("the store is empty: ingest a capture first"))?;
    // The baseline needs the history before the chart's start.
    let full = store.port_series(proto.number(), port, &TimeRange::default())?;
    let base = baseline(&full, &ctx.config.detect);
    let keep = |t: i64| range.since.is_none_or(|s| t >= s) && range.until.is_none_or(|u| t <= u);
    let mut series = Vec::new();
    let mut baseline_packets = Vec::new();
    let mut baseline_sources = Vec::new();
    for (p, b) in full.iter().zip(base) {
        if keep(p.interval_start) {
            series.push(*p);
            baseline_packets.push(b.as_ref().map(|b| b.packets_median));
            baseline_sources.push(b.as_ref().map(|b| b.sources_median));
        }
    }
    if series.iter().all(|p| p.packets == 0) {
        bail!(
            "no packets to {proto}/{port} in the store{}: nothing to plot, no file written. hint: `firewatch ports top` lists the ports seen",
            if range.since.is_some() || range.until.is_some() {
                " in that time range"
            } else {
                ""
            }
        );
    }
    let alerts = store.alerts(&AlertQuery {
        range: *range,
        proto: Some(proto.number()),
        port: Some(port),
        ..Default::default()
    })?;
    let chart = PortChart {
        title: format!(
            "{proto}/{port}: packets and unique sources per {interval} s, baselines and alerts"
        ),
        series: &series,
        baseline_packets,
        baseline_sources,
        alerts: &alerts,
        interval_secs: i64::from(interval),
    };
    write_chart(out, &chart)
}

// ---------------------------------------------------------------------------------------------
// Grids: the X.1060 heatmaps as PNG (their SVG comes from `firewatch_assess::svg`)
// ---------------------------------------------------------------------------------------------

/// A labelled grid of coloured cells, e.g. an X.1060 heatmap or difference map, for PNG.
pub struct GridChart {
    pub title: String,
    /// Row labels, top to bottom.
    pub rows: Vec<String>,
    /// Column labels, left to right.
    pub columns: Vec<String>,
    /// `rows × columns` cells, row by row: a fill (`#rrggbb`) and the words written in it;
    /// `None` is drawn hatched grey ("no part"), never in a colour of the scale.
    pub cells: Vec<Option<(String, String)>>,
    /// A line under the grid saying what the colours mean.
    pub legend: String,
}

/// `#rrggbb` as a colour (grey if it is not one).
fn hex_color(hex: &str) -> RGBColor {
    let channel = |i: usize| {
        hex.get(i..i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .unwrap_or(0x80)
    };
    RGBColor(channel(1), channel(3), channel(5))
}

/// Draws the grid: a label column, a header row, and a cell per row × column.
fn draw_grid<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, grid: &GridChart) -> Result<()>
where
    DB::ErrorType: 'static,
{
    const LABEL_W: i32 = 300;
    const CELL_W: i32 = 118;
    const CELL_H: i32 = 34;
    const TOP: i32 = 70;
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing failed: {e:?}");
    if grid.rows.is_empty() || grid.columns.is_empty() {
        bail!("no rows to draw");
    }
    root.fill(&WHITE).map_err(err)?;
    let text = |size: u32| ("sans-serif", size).into_font().color(&BLACK);
    root.draw(&Text::new(grid.title.as_str(), (10, 12), text(22)))
        .map_err(err)?;
    for (c, column) in grid.columns.iter().enumerate() {
        let x = LABEL_W + CELL_W * c as i32 + 4;
        root.draw(&Text::new(column.as_str(), (x, TOP - 22), text(13)))
            .map_err(err)?;
    }
    let hatch = RGBColor(0x9a, 0x9a, 0x9a);
    for (r, row) in grid.rows.iter().enumerate() {
        let y0 = TOP + CELL_H * r as i32;
        let label: String = if row.chars().count() > 42 {
            row.chars().take(41).chain(['…']).collect()
        } else {
            row.clone()
        };
        root.draw(&Text::new(label, (10, y0 + 10), text(14)))
            .map_err(err)?;
        for c in 0..grid.columns.len() {
            let x0 = LABEL_W + CELL_W * c as i32;
            let (x1, y1) = (x0 + CELL_W - 2, y0 + CELL_H - 2);
            match grid
                .cells
                .get(r * grid.columns.len() + c)
                .cloned()
                .flatten()
            {
                Some((fill, words)) => {
                    let color = hex_color(&fill);
                    root.draw(&Rectangle::new([(x0, y0), (x1, y1)], color.filled()))
                        .map_err(err)?;
                    let luminance = 0.299 * f64::from(color.0)
                        + 0.587 * f64::from(color.1)
                        + 0.114 * f64::from(color.2);
                    let ink = if luminance < 128.0 { WHITE } else { BLACK };
                    let style = ("sans-serif", 15).into_font().color(&ink);
                    root.draw(&Text::new(words, (x0 + CELL_W / 2 - 10, y0 + 9), style))
                        .map_err(err)?;
                }
                None => {
                    let grey = RGBColor(0xe6, 0xe6, 0xe6);
                    root.draw(&Rectangle::new([(x0, y0), (x1, y1)], grey.filled()))
                        .map_err(err)?;
                    // 45° hatching, each stroke clipped to the cell.
                    let h = f64::from(y1 - y0);
                    for a in (x0..x1 + (y1 - y0)).step_by(8) {
                        let a = f64::from(a);
                        let lo = ((a - f64::from(x1)) / h).max(0.0);
                        let hi = ((a - f64::from(x0)) / h).min(1.0);
                        if lo < hi {
                            let at = |t: f64| ((a - t * h) as i32, y0 + (t * h) as i32);
                            root.draw(&PathElement::new(vec![at(lo), at(hi)], hatch))
                                .map_err(err)?;
                        }
                    }
                }
            }
        }
    }
    let bottom = TOP + CELL_H * grid.rows.len() as i32 + 12;
    root.draw(&Text::new(grid.legend.as_str(), (10, bottom), text(14)))
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// Writes a grid chart as PNG to `out` (drawn beside it and renamed over it once complete).
pub fn write_grid_png(out: &Path, grid: &GridChart) -> Result<()> {
    register_font();
    let width = 300 + 118 * grid.columns.len() as u32 + 20;
    let height = 70 + 34 * grid.rows.len() as u32 + 50;
    let partial = partial_path(out, "png")?;
    let written = draw_grid(
        BitMapBackend::new(&partial, (width, height)).into_drawing_area(),
        grid,
    )
    .and_then(|()| {
        std::fs::rename(&partial, out)
            .with_context(|| format!("cannot rename {} to it", partial.display()))
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written.with_context(|| format!("cannot write {}", out.display()))
}

/// Writes `bytes` to `out` whole or not at all: into a hidden file beside it, renamed over it.
pub fn write_file_atomically(out: &Path, bytes: &[u8]) -> Result<()> {
    let ext = out.extension().and_then(|e| e.to_str()).unwrap_or("tmp");
    let partial = partial_path(out, ext)?;
    let written = std::fs::write(&partial, bytes)
        .with_context(|| format!("cannot write {}", partial.display()))
        .and_then(|()| {
            std::fs::rename(&partial, out)
                .with_context(|| format!("cannot rename {} to it", partial.display()))
        });
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written.with_context(|| format!("cannot write {}", out.display()))
}
