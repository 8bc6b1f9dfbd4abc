//! SVG charts for the HTML reports, drawn with plotters' SVG backend. Text stays `<text>`, so
//! the reader's own fonts (CJK included) draw it; no font file is embedded or fetched.
use plotters::chart::MeshStyle;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

// Drawn at about a phone's width in CSS pixels, so that labels stay readable when the SVG is
// scaled to fit a 375 px screen, and sharp when printed.
const WIDTH: u32 = 640;
const HEIGHT: u32 = 260;
const INK: RGBColor = RGBColor(0x33, 0x33, 0x33);
const ACCENT: RGBColor = RGBColor(0x8c, 0x2f, 0x1f);
const GAIN: RGBColor = RGBColor(0x3a, 0x7d, 0x44);
const LOSS: RGBColor = RGBColor(0xb0, 0x3a, 0x2e);

/// Makes plotters' fixed-size SVG scale to its container (phones, print) and names it.
fn responsive(svg: String, id: &str, title: &str, height: u32) -> String {
    let title = crate::util::html::escape(title);
    svg.replacen(
        &format!(r#"<svg width="{WIDTH}" height="{height}" "#),
        &format!(
            r#"<svg class="chart" id="{id}" role="img" aria-label="{title}" preserveAspectRatio="xMidYMid meet" "#
        ),
        1,
    )
}

fn label_font() -> TextStyle<'static> {
    ("sans-serif", 15).into_font().color(&INK)
}

type Canvas<'s> = DrawingArea<SVGBackend<'s>, Shift>;
type Chart<'s, X, Y> = ChartContext<'s, SVGBackend<'s>, Cartesian2d<X, Y>>;

/// Draws a chart `height` px high on a white canvas with `draw`, as a scalable SVG named `id`.
/// `draw` returns None when plotters cannot lay out its axes: the reader then gets the "no data"
/// box rather than a broken frame.
fn svg_chart(id: &str, title: &str, height: u32, draw: impl FnOnce(&Canvas<'_>) -> Option<()>) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        let _ = root.fill(&WHITE);
        if draw(&root).is_none() {
            return empty(id, title);
        }
        let _ = root.present();
    }
    responsive(svg, id, title, height)
}

/// The plotting area of `x` by `y` inside `root`, with `label_room` (under it, left of it) for
/// the axes' labels.
fn axes<'s, X: AsRangedCoord, Y: AsRangedCoord>(
    root: &Canvas<'s>,
    label_room: (u32, u32),
    x: X,
    y: Y,
) -> Option<Chart<'s, X::CoordDescType, Y::CoordDescType>> {
    let (under, left) = label_room;
    ChartBuilder::on(root).margin(12).x_label_area_size(under).y_label_area_size(left).build_cartesian_2d(x, y).ok()
}

/// The grid every chart shares, for one look across the reports: the fine lines between the
/// labelled ones drawn white (only the labelled lines show), labels in the report's ink. Each
/// chart adds its own labels, then draws it.
fn grid<'b, 's, X, Y>(chart: &'b mut Chart<'s, X, Y>) -> MeshStyle<'s, 'b, X, Y, SVGBackend<'s>>
where
    X: Ranged + ValueFormatter<X::ValueType>,
    Y: Ranged + ValueFormatter<Y::ValueType>,
{
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(WHITE).label_style(label_font());
    mesh
}

/// The x axis of `n` points, one step apart: at least one step, for a single point would
/// give the axis no width.
fn point_axis(n: usize) -> std::ops::Range<usize> {
    0..n.saturating_sub(1).max(1)
}

/// A line of followers per day. `points` are (label, value) in date order.
pub fn follower_curve(points: &[(String, i64)]) -> String {
    line(points, "chart-followers", "累计关注人数")
}

/// An article's cumulative readers over its first 30 days.
pub fn article_curve(points: &[(String, i64)]) -> String {
    line(points, "chart-article-curve", "发表后30天累计阅读人数")
}

/// A line over labelled points.
fn line(points: &[(String, i64)], id: &str, title: &str) -> String {
    if points.is_empty() {
        return empty(id, title);
    }
    let (min, max) = points.iter().fold((i64::MAX, i64::MIN), |(lo, hi), (_, v)| (lo.min(*v), hi.max(*v)));
    let pad = ((max - min) / 10).max(1);
    svg_chart(id, title, HEIGHT, |root| {
        let mut chart = axes(root, (28, 64), point_axis(points.len()), (min - pad)..(max + pad))?;
        let label = |i: &usize| points.get(*i).map(|p| p.0.clone()).unwrap_or_default();
        let _ = grid(&mut chart).x_labels(6).x_label_formatter(&label).draw();
        let _ = chart
            .draw_series(LineSeries::new(points.iter().enumerate().map(|(i, p)| (i, p.1)), ACCENT.stroke_width(2)));
        Some(())
    })
}

/// A column chart's axes: `slots` columns' places along x (one unit each), `labels` of them
/// named by `label`; `values` up the y axis, with `value_room` px left of it for their labels.
struct ColumnAxes<'l> {
    slots: f64,
    labels: usize,
    label: &'l dyn Fn(&f64) -> String,
    values: std::ops::Range<i64>,
    value_room: u32,
}

/// Columns on a grid of horizontal lines only: vertical ones would run behind the columns.
fn columns(id: &str, title: &str, frame: ColumnAxes<'_>, bars: impl Iterator<Item = Rectangle<(f64, i64)>>) -> String {
    svg_chart(id, title, HEIGHT, |root| {
        let mut chart = axes(root, (28, frame.value_room), 0f64..frame.slots, frame.values)?;
        let _ = grid(&mut chart).disable_x_mesh().x_labels(frame.labels).x_label_formatter(frame.label).draw();
        let _ = chart.draw_series(bars);
        Some(())
    })
}

/// Bars of net follower gain per day, green above zero and red below.
pub fn net_bars(points: &[(String, i64)]) -> String {
    let (id, title) = ("chart-net", "每日净增关注");
    if points.is_empty() {
        return empty(id, title);
    }
    let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1);
    let min = points.iter().map(|p| p.1).min().unwrap_or(0).min(0);
    let label = |x: &f64| points.get(*x as usize).map(|p| p.0.clone()).unwrap_or_default();
    let days = ColumnAxes {
        slots: points.len() as f64,
        labels: 6,
        label: &label,
        values: min..max + max / 10 + 1,
        value_room: 48,
    };
    let bars = points.iter().enumerate().map(|(i, (_, v))| {
        let colour = if *v >= 0 { GAIN } else { LOSS };
        Rectangle::new([(i as f64 + 0.1, 0), (i as f64 + 0.9, *v)], colour.filled())
    });
    columns(id, title, days, bars)
}

/// Readers by hour of day.
pub fn reads_by_hour(hours: &[i64; 24]) -> String {
    let max = hours.iter().copied().max().unwrap_or(0).max(1);
    let label = |x: &f64| format!("{}时", *x as u32);
    let day = ColumnAxes { slots: 24f64, labels: 12, label: &label, values: 0..max + max / 10 + 1, value_room: 56 };
    let bars = hours
        .iter()
        .enumerate()
        .map(|(h, v)| Rectangle::new([(h as f64 + 0.12, 0), (h as f64 + 0.88, *v)], ACCENT.filled()));
    columns("chart-hours", "分时阅读人数", day, bars)
}

/// Horizontal bars of the most read articles, each title written above its bar.
pub fn top_articles(articles: &[(String, i64)]) -> String {
    ranked_bars(articles, "chart-top", "阅读最多的文章")
}

/// Horizontal bars, one lane each, its label written above its bar, numbered in order: the
/// chart `id` with `caption`.
pub fn ranked_bars(articles: &[(String, i64)], id: &str, caption: &str) -> String {
    if articles.is_empty() {
        return empty(id, caption);
    }
    let max = articles.iter().map(|a| a.1).max().unwrap_or(1).max(1);
    let n = articles.len();
    // One 40 px lane per article: the title on top, the bar under it.
    let height = 40 * n as u32 + 40;
    svg_chart(id, caption, height, |root| {
        let mut chart = axes(root, (24, 4), 0..max + max / 6 + 1, 0f64..n as f64)?;
        let _ = grid(&mut chart).disable_y_mesh().y_labels(0).x_labels(5).draw();
        let _ = chart.draw_series(articles.iter().enumerate().map(|(i, (_, v))| {
            let lane = (n - i) as f64;
            Rectangle::new([(0, lane - 0.9), (*v, lane - 0.55)], ACCENT.mix(0.85).filled())
        }));
        let _ = chart.draw_series(articles.iter().enumerate().map(|(i, (title, v))| {
            let short: String = title.chars().take(30).collect();
            let text = if short.chars().count() < title.chars().count() { format!("{short}…") } else { short };
            Text::new(format!("{}. {text}  {v}", i + 1), (0, (n - i) as f64 - 0.08), label_font())
        }));
        Some(())
    })
}

/// One line per check: its availability (%) in each month; a month without rounds is a gap.
pub fn availability_by_month(months: &[String], series: &[(String, Vec<Option<f64>>)]) -> String {
    let (id, title) = ("chart-availability", "每月可用性");
    let values = series.iter().flat_map(|(_, v)| v.iter().flatten().copied());
    let Some(low) = values.reduce(f64::min) else {
        return empty(id, title);
    };
    // From a round figure under the lowest month, so that 99.9 and 100 stay apart.
    let floor = ((low - 0.5).floor()).clamp(0.0, 99.0);
    let palette =
        [ACCENT, RGBColor(0x2f, 0x5d, 0x8c), GAIN, RGBColor(0xc0, 0x8a, 0x1e), RGBColor(0x6b, 0x4c, 0x9a), INK];
    svg_chart(id, title, HEIGHT, |root| {
        let mut chart = axes(root, (28, 56), point_axis(months.len()), floor..100.5)?;
        let _ = grid(&mut chart)
            .x_labels(12)
            .x_label_formatter(&|i| months.get(*i).cloned().unwrap_or_default())
            .y_label_formatter(&|v| format!("{v:.1}%"))
            .draw();
        for (index, (name, values)) in series.iter().enumerate() {
            let colour = palette[index % palette.len()];
            let points: Vec<(usize, f64)> = values.iter().enumerate().filter_map(|(i, v)| v.map(|v| (i, v))).collect();
            if let Ok(drawn) = chart.draw_series(LineSeries::new(points.clone(), colour.stroke_width(2))) {
                drawn
                    .label(name.clone())
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2)));
            }
            let _ = chart.draw_series(points.into_iter().map(|p| Circle::new(p, 3, colour.filled())));
        }
        let _ = chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(INK.mix(0.3))
            .label_font(label_font())
            .position(SeriesLabelPosition::LowerLeft)
            .draw();
        Some(())
    })
}

fn empty(id: &str, title: &str) -> String {
    format!(
        r##"<svg class="chart" id="{id}" role="img" aria-label="{title}" viewBox="0 0 {WIDTH} 60" xmlns="http://www.w3.org/2000/svg"><text x="12" y="36" font-size="14" fill="#666">no data for this period</text></svg>"##
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_scalable_svg_with_their_marks() {
        let points: Vec<(String, i64)> = (0..30).map(|i| (format!("11-{:02}", i + 1), 1000 + i * 7)).collect();
        let svg = follower_curve(&points);
        assert!(svg.starts_with("<svg class=\"chart\" id=\"chart-followers\""), "{}", &svg[..120]);
        assert!(svg.contains("viewBox=\"0 0 640 260\"") && svg.contains("<polyline"), "a line is drawn");
        let bars = net_bars(&[("a".into(), 5), ("b".into(), -3), ("c".into(), 8)]);
        assert_eq!(bars.matches("fill=\"#3A7D44\"").count() + bars.matches("fill=\"#3a7d44\"").count(), 2, "{bars}");
        let hours = reads_by_hour(&[1; 24]);
        assert!(hours.matches("<rect").count() >= 24);
        assert!(top_articles(&[]).contains("no data"));
    }
}
