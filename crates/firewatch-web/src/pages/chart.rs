//! A port's time series as inline SVG: packets per interval, the detector's baseline (rolling
//! median, as `firewatch plot port` draws it) and the alert episodes shaded.

use firewatch_detect::{Baseline, SeriesPoint};
use firewatch_store::AlertRecord;
use maud::{Markup, html};

const W: f64 = 720.0;
const H: f64 = 200.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 24.0;

/// One port's chart.
pub struct PortChart<'a> {
    /// `tcp/23`.
    pub label: String,
    pub series: &'a [SeriesPoint],
    pub baseline: &'a [Option<Baseline>],
    pub alerts: Vec<&'a AlertRecord>,
    /// The interval length (s), to draw the last interval's width.
    pub interval: i64,
}

/// The chart, or a note when the series is empty.
pub fn port_chart(id: &str, chart: &PortChart<'_>) -> Markup {
    let Some((first, last)) = chart.series.first().zip(chart.series.last()) else {
        return html! { p.empty { "No data for " (chart.label) "." } };
    };
    let t0 = first.interval_start;
    let t1 = (last.interval_start + chart.interval).max(t0 + 1);
    let ymax = chart
        .series
        .iter()
        .map(|p| p.packets as f64)
        .chain(chart.baseline.iter().flatten().map(|b| b.packets_median))
        .fold(1.0_f64, f64::max)
        * 1.05;
    let x = |t: i64| LEFT + (t - t0) as f64 / (t1 - t0) as f64 * (W - LEFT - RIGHT);
    let y = |v: f64| TOP + (1.0 - v / ymax) * (H - TOP - BOTTOM);
    let packets: String = chart
        .series
        .iter()
        .map(|p| format!("{:.1},{:.1} ", x(p.interval_start), y(p.packets as f64)))
        .collect();
    let baseline: String = chart
        .series
        .iter()
        .zip(chart.baseline)
        .filter_map(|(p, b)| b.map(|b| (p.interval_start, b.packets_median)))
        .map(|(t, v)| format!("{:.1},{:.1} ", x(t), y(v)))
        .collect();
    let view_box = format!("0 0 {W} {H}");
    let bottom = H - BOTTOM;
    html! {
        figure.chart {
            svg id=(id) class="chart" viewBox=(view_box) role="img"
                aria-label=(format!("{}: packets per interval, baseline and alerts", chart.label))
                xmlns="http://www.w3.org/2000/svg" {
                rect x="0" y="0" width=(W) height=(H) fill="#ffffff" {}
                @for a in &chart.alerts {
                    @let start = x(a.start.clamp(t0, t1));
                    @let end = x(a.end.unwrap_or(t1).clamp(t0, t1) + chart.interval).min(W - RIGHT);
                    rect.alert x=(format!("{start:.1}")) y=(TOP) width=(format!("{:.1}", (end - start).max(2.0)))
                        height=(bottom - TOP) fill="#fdd0a2" fill-opacity="0.7" {
                        title { "alert " (a.id) " (" (format!("{:.1}", a.magnitude)) "× baseline)" }
                    }
                }
                line x1=(LEFT) y1=(bottom) x2=(W - RIGHT) y2=(bottom) stroke="#888888" {}
                line x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(bottom) stroke="#888888" {}
                text x=(LEFT - 4.0) y=(TOP + 10.0) text-anchor="end" font-size="11" { (format!("{:.0}", ymax)) }
                text x=(LEFT - 4.0) y=(bottom) text-anchor="end" font-size="11" { "0" }
                text x=(LEFT) y=(H - 6.0) font-size="11" { (super::fmt_time(t0)) }
                text x=(W - RIGHT) y=(H - 6.0) text-anchor="end" font-size="11" { (super::fmt_time(t1)) }
                @if !baseline.is_empty() {
                    polyline.baseline points=(baseline) fill="none" stroke="#333333"
                        stroke-width="1.5" stroke-dasharray="5 3" {}
                }
                polyline.packets points=(packets) fill="none" stroke="#08519c" stroke-width="1.5" {}
            }
            figcaption {
                strong { (chart.label) } " — packets per " (chart.interval) " s (blue), baseline (dashed), alerts (shaded)"
            }
        }
    }
}
