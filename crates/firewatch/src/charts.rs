//! Port charts: a port's series, its baseline and its alerts, as SVG or PNG.

use anyhow::{Context as _, Result, anyhow, bail};
use firewatch_core::Protocol;
use firewatch_detect::{SeriesPoint, baseline};
use firewatch_pipeline::Context;
use firewatch_store::{AlertQuery, AlertRecord, TimeRange};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

/// Everything a port chart shows.
pub struct PortChart<'a> {
    pub title: String,
    pub series: &'a [SeriesPoint],
    pub baseline_packets: Vec<Option<f64>>,
    pub alerts: &'a [AlertRecord],
    pub interval_secs: i64,
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

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, chart: &PortChart<'_>) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing failed: {e:?}");
    root.fill(&WHITE).map_err(err)?;
    let (Some(first), Some(last)) = (chart.series.first(), chart.series.last()) else {
        bail!("no data to plot");
    };
    let x_end = last.interval_start + chart.interval_secs;
    let y_max = chart
        .series
        .iter()
        .map(|p| p.packets)
        .max()
        .unwrap_or(1)
        .max(1) as f64
        * 1.1;
    let mut ctx = ChartBuilder::on(&root)
        .caption(&chart.title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(first.interval_start..x_end, 0f64..y_max)
        .map_err(err)?;
    ctx.configure_mesh()
        .x_labels(8)
        .x_label_formatter(&hours_label)
        .y_desc("packets per interval")
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
        ctx.draw_series(std::iter::once(Rectangle::new(
            [(a.start, 0.0), (end, y_max)],
            shade.filled(),
        )))
        .map_err(err)?
        .label(format!("alert {} ({:.0}× baseline)", a.id, a.magnitude))
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], shade.filled()));
    }
    ctx.draw_series(LineSeries::new(
        chart
            .series
            .iter()
            .map(|p| (p.interval_start, p.packets as f64)),
        &BLUE,
    ))
    .map_err(err)?
    .label("packets")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], BLUE));
    let baseline_points: Vec<(i64, f64)> = chart
        .series
        .iter()
        .zip(&chart.baseline_packets)
        .filter_map(|(p, b)| b.map(|b| (p.interval_start, b)))
        .collect();
    ctx.draw_series(LineSeries::new(baseline_points, BLACK.stroke_width(2)))
        .map_err(err)?
        .label("baseline (rolling median)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], BLACK.stroke_width(2)));
    ctx.configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// Writes the chart to `out`; the extension (.svg or .png) picks the format.
pub fn write_chart(out: &Path, chart: &PortChart<'_>) -> Result<()> {
    register_font();
    let size = (1200, 520);
    match out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("svg") => draw(SVGBackend::new(out, size).into_drawing_area(), chart),
        Some("png") => draw(BitMapBackend::new(out, size).into_drawing_area(), chart),
        _ => bail!(
            "{}: the chart's file name must end in .svg or .png",
            out.display()
        ),
    }
    .with_context(|| format!("cannot write {}", out.display()))
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
    let (series, baseline_packets): (Vec<SeriesPoint>, Vec<Option<f64>>) = full
        .iter()
        .zip(base)
        .filter(|(p, _)| keep(p.interval_start))
        .map(|(p, b)| (*p, b.map(|b| b.packets_median)))
        .unzip();
    let alerts = store.alerts(&AlertQuery {
        range: *range,
        proto: Some(proto.number()),
        port: Some(port),
        ..Default::default()
    })?;
    let chart = PortChart {
        title: format!("{proto}/{port}: packets per {interval} s, baseline and alerts"),
        series: &series,
        baseline_packets,
        alerts: &alerts,
        interval_secs: i64::from(interval),
    };
    write_chart(out, &chart)
}
