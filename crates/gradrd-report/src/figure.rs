//! Figures: panels of line, point and histogram series, rendered with
//! plotters to SVG and PNG at a paper's sizes — a column (3.3 in) or the
//! full text width (6.9 in) — and the plotted points as a long CSV
//! (`panel,series,x,y`, which pgfplots reads with `col sep=comma`).
//!
//! Style: the Okabe–Ito colour-blind-safe palette (Okabe & Ito, "Color
//! Universal Design", 2002; Wong, Nature Methods 8 (2011) 441), log axes
//! where an axis says so (non-positive values are left out of a log axis),
//! text in the shipped DejaVu Sans subset (assets/fonts), registered with
//! plotters' ab_glyph for the PNG and embedded as an `@font-face` data URI
//! in each SVG, so text renders the same without installed fonts.

use std::path::Path;
use std::sync::OnceLock;

use gradrd_io::escape;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;

/// The shipped font (a subset of DejaVu Sans, see scripts/subset_font.py).
pub const FONT_BYTES: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-gradrd.ttf");
/// The family name the figures use.
pub const FONT_FAMILY: &str = "DejaVu Sans";

/// Okabe–Ito: blue, vermillion, bluish green, orange, reddish purple, sky
/// blue, black, yellow.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0x00, 0x00, 0x00),
    RGBColor(0xF0, 0xE4, 0x42),
];

/// SVG user units per inch (CSS pixels).
const SVG_DPI: f64 = 96.0;
/// PNG resolution.
const PNG_DPI: f64 = 300.0;

/// How wide a figure is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// One column of a two-column paper: 3.3 in.
    Column,
    /// The full text width: 6.9 in.
    Full,
}

impl Width {
    fn inches(self) -> f64 {
        match self {
            Width::Column => 3.3,
            Width::Full => 6.9,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A polyline through the points.
    Line,
    /// Markers only.
    Points,
    /// Markers joined by a thin line.
    LinePoints,
    /// A histogram: the points are bin centers and heights of equal-width bins.
    Steps,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub style: Style,
    /// Index into [`PALETTE`] (wraps).
    pub color: usize,
    pub points: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// The label, with the unit in brackets where there is one.
    pub label: String,
    pub log: bool,
    /// Only integer ticks are labelled (an index axis).
    pub integer: bool,
}

impl Axis {
    pub fn linear(label: &str) -> Self {
        Axis {
            label: label.to_string(),
            log: false,
            integer: false,
        }
    }

    pub fn log(label: &str) -> Self {
        Axis {
            label: label.to_string(),
            log: true,
            integer: false,
        }
    }

    /// A linear axis of integers (depth index, say).
    pub fn index(label: &str) -> Self {
        Axis {
            label: label.to_string(),
            log: false,
            integer: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub series: Vec<Series>,
    /// Where the legend goes (`None`: no legend).
    pub legend: Option<Legend>,
    /// The y range shown, when the data's own range is not the one to show
    /// (a fitted tail that falls by decades below the data, say).
    pub y_range: Option<(f64, f64)>,
}

/// A legend's place: a corner of the panel, or a strip above the figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Legend {
    /// One row above all panels (for figures whose panels share series).
    Top,
    UpperLeft,
    UpperRight,
    LowerLeft,
    LowerRight,
    LowerMiddle,
}

impl Legend {
    fn position(self) -> SeriesLabelPosition {
        match self {
            Legend::Top => unreachable!("drawn as a strip, not in the panel"),
            Legend::UpperLeft => SeriesLabelPosition::UpperLeft,
            Legend::UpperRight => SeriesLabelPosition::UpperRight,
            Legend::LowerLeft => SeriesLabelPosition::LowerLeft,
            Legend::LowerRight => SeriesLabelPosition::LowerRight,
            Legend::LowerMiddle => SeriesLabelPosition::LowerMiddle,
        }
    }
}

/// One figure of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// File stem: `<name>.svg`, `<name>.png`, `<name>.csv`.
    pub name: String,
    pub caption: String,
    pub width: Width,
    /// Panels per row.
    pub columns: usize,
    pub panels: Vec<Panel>,
}

impl Figure {
    fn rows(&self) -> usize {
        self.panels.len().div_ceil(self.columns.max(1)).max(1)
    }

    /// Size in inches: 2.4 in of height per row of panels for a column
    /// figure, 2.2 in per row at full width.
    pub fn inches(&self) -> (f64, f64) {
        let per_row = match self.width {
            Width::Column => 2.4,
            Width::Full => 2.2,
        };
        let strip = STRIP_PT / 72.0 * self.strip_rows().len() as f64;
        (self.width.inches(), per_row * self.rows() as f64 + strip)
    }

    /// The legend strip's entries (series indices) per row, laid out in
    /// points on the figure's width.
    fn strip_rows(&self) -> Vec<Vec<usize>> {
        let Some(panel) = self.strip() else {
            return Vec::new();
        };
        let available = self.width.inches() * 72.0 - 2.0 * STRIP_GAP_PT;
        let mut rows: Vec<Vec<usize>> = Vec::new();
        let mut used = f64::INFINITY;
        for (i, series) in panel.series.iter().enumerate() {
            let width = entry_width(&series.name, 1.0);
            if used + STRIP_GAP_PT + width > available {
                rows.push(Vec::new());
                used = -STRIP_GAP_PT;
            }
            used += STRIP_GAP_PT + width;
            rows.last_mut().expect("a row was pushed").push(i);
        }
        rows
    }

    /// The panel whose series the top legend strip shows.
    fn strip(&self) -> Option<&Panel> {
        self.panels.iter().find(|p| p.legend == Some(Legend::Top))
    }

    fn pixels(&self, dpi: f64) -> (u32, u32) {
        let (w, h) = self.inches();
        ((w * dpi).round() as u32, (h * dpi).round() as u32)
    }

    /// The SVG document, the font embedded.
    pub fn svg(&self) -> Result<String, String> {
        register_font()?;
        let mut text = String::new();
        {
            let backend = SVGBackend::with_string(&mut text, self.pixels(SVG_DPI));
            self.shown()
                .draw(backend.into_drawing_area(), SVG_DPI / 72.0)?;
        }
        Ok(embed_font(&text))
    }

    /// Writes the PNG (300 dpi) to `path`.
    pub fn write_png(&self, path: &Path) -> Result<(), String> {
        register_font()?;
        let backend = BitMapBackend::new(path, self.pixels(PNG_DPI));
        self.shown()
            .draw(backend.into_drawing_area(), PNG_DPI / 72.0)
    }

    /// The figure with its panel titles and series names as they are drawn:
    /// control characters written as escapes ([`escape::terminal`]; XML may
    /// not hold them, and a name may be any string a dump holds).
    fn shown(&self) -> Figure {
        let mut shown = self.clone();
        for panel in &mut shown.panels {
            panel.title = escape::terminal(&panel.title).into_owned();
            for series in &mut panel.series {
                series.name = escape::terminal(&series.name).into_owned();
            }
        }
        shown
    }

    /// The plotted points, one row per point: `panel,series,x,y`.
    pub fn csv(&self) -> Vec<u8> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer
            .write_record(["panel", "series", "x", "y"])
            .expect("in memory");
        for panel in &self.panels {
            for series in &panel.series {
                for (x, y) in &series.points {
                    writer
                        .write_record([
                            escape::csv_field(&panel.title).as_ref(),
                            escape::csv_field(&series.name).as_ref(),
                            &x.to_string(),
                            &y.to_string(),
                        ])
                        .expect("in memory");
                }
            }
        }
        writer.into_inner().expect("in memory")
    }

    /// Draws every panel; `pt` is device pixels per typographic point.
    fn draw<DB: DrawingBackend>(
        &self,
        root: DrawingArea<DB, Shift>,
        pt: f64,
    ) -> Result<(), String> {
        root.fill(&WHITE).map_err(plot_error)?;
        let root = match self.strip() {
            Some(panel) => {
                let rows = self.strip_rows();
                let height = (STRIP_PT * pt * rows.len() as f64).round() as u32;
                let (top, rest) = root.split_vertically(height);
                draw_strip(&top, panel, &rows, pt)?;
                rest
            }
            None => root,
        };
        let areas = root.split_evenly((self.rows(), self.columns.max(1)));
        for (area, panel) in areas.iter().zip(&self.panels) {
            draw_panel(area, panel, pt)?;
        }
        root.present().map_err(plot_error)
    }
}

fn plot_error<E: std::fmt::Debug>(error: E) -> String {
    format!("cannot draw the figure: {error:?}")
}

fn register_font() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT_BYTES)
                .map_err(|_| "the shipped font cannot be read".to_string())
        })
        .clone()
}

/// plotters draws a font of size s with an em of s / 1.24 device pixels.
const PLOTTERS_EM: f64 = 1.24;

fn font(size_pt: f64, pt: f64) -> TextStyle<'static> {
    (FONT_FAMILY, size_pt * pt * PLOTTERS_EM)
        .into_font()
        .color(&BLACK)
}

/// The data range of a panel's axis over points that the axis can show,
/// padded by 4 % (of the decades, on a log axis).
fn range(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return if log { (0.1, 10.0) } else { (0.0, 1.0) };
    }
    if log {
        let (a, b) = (lo.log10(), hi.log10());
        let pad = ((b - a) * 0.04).max(0.05);
        (10f64.powf(a - pad), 10f64.powf(b + pad))
    } else {
        let pad = if hi > lo {
            (hi - lo) * 0.04
        } else {
            lo.abs().max(1.0) * 0.5
        };
        (lo - pad, hi + pad)
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    pt: f64,
) -> Result<(), String> {
    let points = || panel.series.iter().flat_map(|s| s.points.iter());
    let (x0, x1) = range(points().map(|p| p.0), panel.x.log);
    let (y0, y1) = panel
        .y_range
        .unwrap_or_else(|| range(points().map(|p| p.1), panel.y.log));
    // Under a factor of 30 a log axis gets one or two labelled ticks; a
    // linear one reads better there.
    let (x_log, y_log) = (panel.x.log && x1 / x0 > 30.0, panel.y.log && y1 / y0 > 30.0);
    let (x0, x1) = if panel.x.log && !x_log {
        range(points().map(|p| p.0), false)
    } else {
        (x0, x1)
    };
    let (y0, y1) = if panel.y.log && !y_log && panel.y_range.is_none() {
        range(points().map(|p| p.1), false)
    } else {
        (y0, y1)
    };
    match (x_log, y_log) {
        (false, false) => draw_on(area, panel, pt, x0..x1, y0..y1),
        (true, false) => draw_on(area, panel, pt, (x0..x1).log_scale(), y0..y1),
        (false, true) => draw_on(area, panel, pt, x0..x1, (y0..y1).log_scale()),
        (true, true) => draw_on(area, panel, pt, (x0..x1).log_scale(), (y0..y1).log_scale()),
    }
}

/// `value`, or 0 when it is within 1e-9 of the axis span from 0.
fn snap(value: f64, span: f64) -> f64 {
    if value.abs() < 1e-9 * span {
        0.0
    } else {
        value
    }
}

/// A tick label: plain for readable magnitudes, else `1e-4`.
fn tick(value: f64) -> String {
    if value == 0.0 {
        return "0".to_string();
    }
    let magnitude = value.abs().log10();
    if !(-2.5..4.0).contains(&magnitude) {
        let text = format!("{value:.0e}");
        // Keep one more digit where rounding to one would merge ticks.
        if (text.parse::<f64>().unwrap_or(value) - value).abs() > 1e-9 * value.abs() {
            return format!("{value:.1e}");
        }
        return text;
    }
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.replace('-', "−")
    }
}

fn draw_on<DB, X, Y>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    pt: f64,
    x: X,
    y: Y,
) -> Result<(), String>
where
    DB: DrawingBackend,
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut builder = ChartBuilder::on(area);
    builder
        .margin((4.0 * pt) as i32)
        .x_label_area_size((22.0 * pt) as i32)
        .y_label_area_size((34.0 * pt) as i32);
    if !panel.title.is_empty() {
        builder.caption(&panel.title, font(8.0, pt));
    }
    let mut chart = builder.build_cartesian_2d(x, y).map_err(plot_error)?;
    let (y_lo, y_hi) = (chart.y_range().start, chart.y_range().end);
    let x_range = chart.x_range();
    // A tick a rounding error away from 0 reads as 0.
    let x_span = (x_range.end - x_range.start).abs();
    let y_span = (y_lo - y_hi).abs();
    let formatter = |v: &f64| tick(snap(*v, x_span));
    let y_formatter = |v: &f64| tick(snap(*v, y_span));
    let integer_ticks = |v: &f64| {
        if v.fract() == 0.0 {
            tick(*v)
        } else {
            String::new()
        }
    };
    let x_labels = if panel.x.integer {
        ((x_range.end - x_range.start).floor() as usize + 1).clamp(2, 12)
    } else {
        5
    };
    let x_formatter: &dyn Fn(&f64) -> String = if panel.x.integer {
        &integer_ticks
    } else {
        &formatter
    };
    chart
        .configure_mesh()
        .x_desc(&panel.x.label)
        .y_desc(&panel.y.label)
        .label_style(font(6.5, pt))
        .axis_desc_style(font(7.5, pt))
        .x_labels(x_labels)
        .y_labels(6)
        .x_label_formatter(x_formatter)
        .y_label_formatter(&y_formatter)
        .bold_line_style(RGBColor(0xDD, 0xDD, 0xDD).stroke_width((0.5 * pt).max(1.0) as u32))
        .light_line_style(TRANSPARENT)
        .axis_style(BLACK.stroke_width((0.6 * pt).max(1.0) as u32))
        .draw()
        .map_err(plot_error)?;
    let (x_log, y_log) = (panel.x.log, panel.y.log);
    let visible = |p: &&(f64, f64)| {
        p.0.is_finite() && p.1.is_finite() && (!x_log || p.0 > 0.0) && (!y_log || p.1 > 0.0)
    };
    // A curve leaving the y range (a fitted tail) ends there.
    let inside = |p: &(f64, f64)| (y_lo..=y_hi).contains(&p.1);
    let line_width = (1.1 * pt).round().max(1.0) as u32;
    let marker = (1.8 * pt).round().max(2.0) as i32;
    for series in &panel.series {
        let color = PALETTE[series.color % PALETTE.len()];
        let stroke = color.stroke_width(line_width);
        let shown: Vec<(f64, f64)> = series.points.iter().filter(visible).copied().collect();
        let drawn = match series.style {
            Style::Line => {
                chart.draw_series(LineSeries::new(shown.into_iter().filter(inside), stroke))
            }
            Style::Steps => {
                let mut runs = stairs(&series.points, y_lo).into_iter();
                let first = runs.next().unwrap_or_default();
                for run in runs {
                    chart
                        .draw_series(LineSeries::new(run, stroke))
                        .map_err(plot_error)?;
                }
                // The first run carries the legend entry.
                chart.draw_series(LineSeries::new(first, stroke))
            }
            Style::Points => chart.draw_series(
                shown
                    .into_iter()
                    .map(move |p| Circle::new(p, marker, color.filled())),
            ),
            Style::LinePoints => {
                chart
                    .draw_series(LineSeries::new(
                        shown.clone(),
                        color.stroke_width((0.7 * pt).max(1.0) as u32),
                    ))
                    .map_err(plot_error)?;
                chart.draw_series(
                    shown
                        .into_iter()
                        .map(move |p| Circle::new(p, marker, color.filled())),
                )
            }
        }
        .map_err(plot_error)?;
        let legend_len = (12.0 * pt) as i32;
        match series.style {
            Style::Points => drawn
                .label(series.name.as_str())
                .legend(move |(x, y)| Circle::new((x + legend_len / 2, y), marker, color.filled())),
            _ => drawn
                .label(series.name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + legend_len, y)], stroke)),
        };
    }
    if let Some(legend) = panel.legend.filter(|l| *l != Legend::Top) {
        chart
            .configure_series_labels()
            .label_font(font(6.0, pt))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(0xAA, 0xAA, 0xAA))
            .margin((3.0 * pt) as i32)
            .legend_area_size((16.0 * pt) as i32)
            .position(legend.position())
            .draw()
            .map_err(plot_error)?;
    }
    Ok(())
}

/// Height of one row of the legend strip above a figure, in points.
const STRIP_PT: f64 = 14.0;
/// Space between two legend entries, in points.
const STRIP_GAP_PT: f64 = 10.0;
/// Length of the line sample before a legend entry's name, and the gap after it.
const SAMPLE_PT: f64 = 12.0;
const SAMPLE_GAP_PT: f64 = 3.0;

/// Width of a legend entry (sample and name), in device pixels at `pt`
/// pixels per point.
fn entry_width(name: &str, pt: f64) -> f64 {
    let text = font(6.5, pt)
        .font
        .box_size(name)
        .map_or(6.5 * pt * 0.6 * name.len() as f64, |(w, _)| f64::from(w));
    (SAMPLE_PT + SAMPLE_GAP_PT) * pt + text
}

/// Rows of centred legend entries: a line (or marker) and the name.
fn draw_strip<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    rows: &[Vec<usize>],
    pt: f64,
) -> Result<(), String> {
    let style = font(6.5, pt).pos(plotters::style::text_anchor::Pos::new(
        plotters::style::text_anchor::HPos::Left,
        plotters::style::text_anchor::VPos::Center,
    ));
    let (width, _) = area.dim_in_pixel();
    let line_width = (1.1 * pt).round().max(1.0) as u32;
    for (r, row) in rows.iter().enumerate() {
        let widths: Vec<f64> = row
            .iter()
            .map(|&i| entry_width(&panel.series[i].name, pt))
            .collect();
        let total = widths.iter().sum::<f64>() + STRIP_GAP_PT * pt * (row.len() as f64 - 1.0);
        let mut x = (f64::from(width) - total).max(0.0) / 2.0;
        let y = ((r as f64 + 0.5) * STRIP_PT * pt) as i32;
        for (&i, entry) in row.iter().zip(widths) {
            let series = &panel.series[i];
            let color = PALETTE[series.color % PALETTE.len()];
            let (x0, x1) = (x as i32, (x + SAMPLE_PT * pt) as i32);
            match series.style {
                Style::Points => area.draw(&Circle::new(
                    ((x0 + x1) / 2, y),
                    (1.8 * pt) as i32,
                    color.filled(),
                )),
                _ => area.draw(&PathElement::new(
                    vec![(x0, y), (x1, y)],
                    color.stroke_width(line_width),
                )),
            }
            .map_err(plot_error)?;
            let text_x = (x + (SAMPLE_PT + SAMPLE_GAP_PT) * pt) as i32;
            area.draw(&Text::new(series.name.clone(), (text_x, y), style.clone()))
                .map_err(plot_error)?;
            x += entry + STRIP_GAP_PT * pt;
        }
    }
    Ok(())
}

/// The outline of a histogram given as (bin center, height) of equal-width
/// bins, one polyline per run of non-empty bins, each closed down to
/// `floor` (the bottom of the y axis) at both ends. A bin of height 0 has
/// no place on a log axis, so on a linear one it also ends a run.
fn stairs(points: &[(f64, f64)], floor: f64) -> Vec<Vec<(f64, f64)>> {
    let width = match points {
        [a, b, ..] => b.0 - a.0,
        _ => 0.0,
    };
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut run: Vec<(f64, f64)> = Vec::new();
    for &(x, y) in points {
        if y > 0.0 {
            if run.is_empty() {
                run.push((x - width / 2.0, floor));
            }
            run.push((x - width / 2.0, y));
            run.push((x + width / 2.0, y));
        } else if let Some(&(end, _)) = run.last() {
            run.push((end, floor));
            runs.push(std::mem::take(&mut run));
        }
    }
    if let Some(&(end, _)) = run.last() {
        run.push((end, floor));
        runs.push(run);
    }
    runs
}

/// Inserts an `@font-face` rule with the shipped font as a base64 data URI
/// right after the opening `<svg …>` tag.
fn embed_font(svg: &str) -> String {
    let style = format!(
        "<defs><style>@font-face{{font-family:\"{FONT_FAMILY}\";src:url(data:font/ttf;base64,{}) format(\"truetype\");}}</style></defs>",
        base64(FONT_BYTES)
    );
    match svg
        .find("<svg")
        .and_then(|start| svg[start..].find('>').map(|end| start + end + 1))
    {
        Some(at) => format!("{}\n{}{}", &svg[..at], style, &svg[at..]),
        None => svg.to_string(),
    }
}

/// Standard base64 with padding (RFC 4648 §4).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Equal-width bins over `[lo, hi]`: (bin center, density) with the density
/// `count / (n · width)` so that the histogram integrates to `scale`
/// (the fraction of all entries that `values` stand for).
pub fn histogram(values: &[f64], bins: usize, lo: f64, hi: f64, scale: f64) -> Vec<(f64, f64)> {
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0u64; bins];
    for &v in values {
        if v.is_finite() && width > 0.0 && (lo..=hi).contains(&v) {
            let i = (((v - lo) / width) as usize).min(bins - 1);
            counts[i] += 1;
        }
    }
    let n = values.len().max(1) as f64;
    counts
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            (
                lo + (i as f64 + 0.5) * width,
                scale * c as f64 / (n * width),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_4648_test_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected, "{input}");
        }
    }

    #[test]
    fn histogram_integrates_to_its_scale() {
        let values: Vec<f64> = (0..1000).map(|i| (i as f64 / 999.0).powi(2)).collect();
        let bins = histogram(&values, 20, 0.0, 1.0, 0.7);
        let width = 1.0 / 20.0;
        let total: f64 = bins.iter().map(|(_, d)| d * width).sum();
        assert!((total - 0.7).abs() < 1e-12, "{total}");
        assert!((bins[0].0 - 0.025).abs() < 1e-12);
        // x² on [0, 1]: 1000 · P(x² < 0.05) = 1000 · sqrt(0.05) ≈ 223.6 → 224 values in bin 0.
        assert!(
            (bins[0].1 - 0.7 * 224.0 / (1000.0 * width)).abs() < 1e-9,
            "{:?}",
            bins[0]
        );
    }

    #[test]
    fn svg_embeds_the_font_and_names_it_in_text() {
        let figure = Figure {
            name: "f".into(),
            caption: "c".into(),
            width: Width::Column,
            columns: 1,
            panels: vec![Panel {
                title: "t".into(),
                x: Axis::linear("step"),
                y: Axis::log("error"),
                series: vec![Series {
                    name: "a".into(),
                    style: Style::Line,
                    color: 0,
                    points: vec![(0.0, 1.0), (1.0, 0.01), (2.0, 0.0)],
                }],
                legend: Some(Legend::UpperRight),
                y_range: None,
            }],
        };
        let svg = figure.svg().unwrap();
        assert!(
            svg.contains("@font-face{font-family:\"DejaVu Sans\";src:url(data:font/ttf;base64,")
        );
        assert!(svg.contains("font-family=\"DejaVu Sans\""));
        assert!(
            svg.contains("width=\"317\" height=\"230\""),
            "{}",
            &svg[..200]
        );
        let csv = String::from_utf8(figure.csv()).unwrap();
        assert_eq!(csv, "panel,series,x,y\nt,a,0,1\nt,a,1,0.01\nt,a,2,0\n");
    }

    #[test]
    fn histogram_outline_breaks_at_empty_bins_and_closes_to_the_floor() {
        let bins = [(0.5, 2.0), (1.5, 0.0), (2.5, 1.0), (3.5, 3.0)];
        let runs = stairs(&bins, 0.1);
        assert_eq!(
            runs,
            vec![
                vec![(0.0, 0.1), (0.0, 2.0), (1.0, 2.0), (1.0, 0.1)],
                vec![
                    (2.0, 0.1),
                    (2.0, 1.0),
                    (3.0, 1.0),
                    (3.0, 3.0),
                    (4.0, 3.0),
                    (4.0, 0.1)
                ],
            ]
        );
    }

    #[test]
    fn a_legend_strip_too_wide_for_one_row_wraps() {
        let panel = |count: usize| Panel {
            title: String::new(),
            x: Axis::linear("x"),
            y: Axis::linear("y"),
            series: (0..count)
                .map(|i| Series {
                    name: format!("a rather long series name {i}"),
                    style: Style::Line,
                    color: i,
                    points: vec![(0.0, 1.0)],
                })
                .collect(),
            legend: Some(Legend::Top),
            y_range: None,
        };
        let figure = |count: usize| Figure {
            name: "f".into(),
            caption: String::new(),
            width: Width::Column,
            columns: 1,
            panels: vec![panel(count)],
        };
        assert_eq!(figure(1).strip_rows(), vec![vec![0]]);
        let rows = figure(6).strip_rows();
        assert!(rows.len() >= 3, "{rows:?}");
        assert_eq!(rows.concat(), (0..6).collect::<Vec<_>>());
        let (_, one) = figure(1).inches();
        let (_, six) = figure(6).inches();
        assert!((six - one - (rows.len() - 1) as f64 * STRIP_PT / 72.0).abs() < 1e-12);
        figure(6).svg().unwrap();
    }

    #[test]
    fn ticks_near_zero_snap_to_zero() {
        assert_eq!(tick(snap(6.9e-18, 0.1)), "0");
        assert_eq!(tick(snap(0.02, 0.1)), "0.02");
    }

    #[test]
    fn ticks_read_plainly_or_in_scientific_notation() {
        assert_eq!(tick(0.5), "0.5");
        assert_eq!(tick(-2.0), "−2");
        assert_eq!(tick(1e-4), "1e-4");
        assert_eq!(tick(20000.0), "2e4");
        assert_eq!(tick(0.0), "0");
    }
}
