//! What every figure shares: the canvas, fonts, colour scales and writing files.

use std::fs;
use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::Pos;

use crate::{Formats, ReportError, png};

/// SVG names a font family and leaves the font to the viewer; PNG rendering maps it to the
/// embedded font (see [`crate::svg_to_png`]).
pub(crate) const FONT: &str = "sans-serif";
/// The size of line charts, in pixels.
pub(crate) const CHART: (u32, u32) = (800, 500);
/// Text and axes.
pub(crate) const INK: RGBColor = RGBColor(33, 33, 33);
/// Secondary text: ticks, notes.
pub(crate) const MUTED: RGBColor = RGBColor(97, 97, 97);

/// Text of `size` in `colour`, anchored at `pos`.
pub(crate) fn text_style(size: f64, colour: RGBColor, pos: Pos) -> TextStyle<'static> {
    TextStyle {
        font: (FONT, size).into_font(),
        color: colour.to_backend_color(),
        pos,
    }
}

/// A whole figure.
pub(crate) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Draws a figure of `size` on a white canvas with `draw` and returns its SVG text.
pub(crate) fn draw_svg(
    name: &str,
    size: (u32, u32),
    draw: impl FnOnce(&Area<'_>) -> Result<(), ReportError>,
) -> Result<String, ReportError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let result = (|| {
            root.fill(&WHITE)?;
            draw(&root)?;
            root.present()?;
            Ok(())
        })();
        result.map_err(|e: ReportError| e.in_figure(name))?;
    }
    Ok(svg)
}

/// Writes figure `stem` (drawn by `draw`) as `stem.svg` and `stem.png`, as `formats` asks, into
/// `out`; pushes the names written onto `written`.
pub(crate) fn write_figure(
    out: &Path,
    stem: &str,
    size: (u32, u32),
    formats: &Formats,
    written: &mut Vec<String>,
    draw: impl FnOnce(&Area<'_>) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    if !formats.figures() {
        return Ok(());
    }
    let svg_name = format!("{stem}.svg");
    let svg = draw_svg(&svg_name, size, draw)?;
    if formats.svg {
        written.push(write_text(out, &svg_name, &svg)?);
    }
    if formats.png {
        let png_name = format!("{stem}.png");
        let bytes = png::svg_to_png(&svg).map_err(|e| e.in_figure(&svg_name))?;
        written.push(write_bytes(out, &png_name, &bytes)?);
    }
    Ok(())
}

/// Writes `text` to `out/name` and returns `name`.
pub(crate) fn write_text(out: &Path, name: &str, text: &str) -> Result<String, ReportError> {
    write_bytes(out, name, text.as_bytes())
}

/// Writes `bytes` to `out/name` and returns `name`.
pub(crate) fn write_bytes(out: &Path, name: &str, bytes: &[u8]) -> Result<String, ReportError> {
    let path = out.join(name);
    fs::write(&path, bytes).map_err(|e| ReportError::io(&path, e))?;
    Ok(name.to_string())
}

/// Writes `value` as pretty JSON to `out/name` and returns `name`.
pub(crate) fn write_json(
    out: &Path,
    name: &str,
    value: &impl serde::Serialize,
) -> Result<String, ReportError> {
    let path = out.join(name);
    let text = serde_json::to_string_pretty(value).map_err(|e| ReportError::json(&path, e))?;
    write_text(out, name, &(text + "\n"))
}

/// A CSV cell for an optional number: empty when missing or not finite.
pub(crate) fn cell(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => v.to_string(),
        _ => String::new(),
    }
}

/// Draws the caption "`title`: `what`" and returns the area below it.
pub(crate) fn titled<'a>(
    root: &Area<'a>,
    title: &str,
    what: &str,
) -> Result<Area<'a>, ReportError> {
    let caption = if title.is_empty() {
        what.to_string()
    } else {
        format!("{title}: {what}")
    };
    Ok(root
        .margin(10, 0, 0, 0)
        .titled(&caption, (FONT, 22).into_font().color(&INK))?)
}

/// Perceptually uniform sequential scale (matplotlib's viridis) at 11 stops, dark to light.
const VIRIDIS: [(u8, u8, u8); 11] = [
    (0x44, 0x01, 0x54),
    (0x48, 0x24, 0x75),
    (0x41, 0x44, 0x87),
    (0x35, 0x5f, 0x8d),
    (0x2a, 0x78, 0x8e),
    (0x21, 0x91, 0x8c),
    (0x22, 0xa8, 0x84),
    (0x44, 0xbf, 0x70),
    (0x7a, 0xd1, 0x51),
    (0xbd, 0xdf, 0x26),
    (0xfd, 0xe7, 0x25),
];

/// Diverging scale (ColorBrewer's RdBu) from blue (-1) through a neutral grey-white (0) to red
/// (+1).
const DIVERGING: [(u8, u8, u8); 11] = [
    (0x05, 0x30, 0x61),
    (0x21, 0x66, 0xac),
    (0x43, 0x93, 0xc3),
    (0x92, 0xc5, 0xde),
    (0xd1, 0xe5, 0xf0),
    (0xf7, 0xf7, 0xf7),
    (0xfd, 0xdb, 0xc7),
    (0xf4, 0xa5, 0x82),
    (0xd6, 0x60, 0x4d),
    (0xb2, 0x18, 0x2b),
    (0x67, 0x00, 0x1f),
];

/// The diverging scale's colour at zero.
#[cfg(test)]
pub(crate) const NEUTRAL: RGBColor = RGBColor(0xf7, 0xf7, 0xf7);

/// The colour at `t` in [0, 1] (clamped) along `stops`, linearly interpolated.
fn interpolate(stops: &[(u8, u8, u8)], t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let scaled = t * (stops.len() - 1) as f64;
    let k = (scaled.floor() as usize).min(stops.len() - 2);
    let f = scaled - k as f64;
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
    let (a, b) = (stops[k], stops[k + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// A colour scale from values to colours.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Scale {
    /// Viridis from `low` to `high`.
    Sequential { low: f64, high: f64 },
    /// Blue-white-red from `-reach` to `+reach`, neutral at 0.
    Diverging { reach: f64 },
}

impl Scale {
    /// The colour of `value`.
    pub(crate) fn colour(&self, value: f64) -> RGBColor {
        match *self {
            Self::Sequential { low, high } => {
                let width = if high > low { high - low } else { 1.0 };
                interpolate(&VIRIDIS, (value - low) / width)
            }
            Self::Diverging { reach } => interpolate(&DIVERGING, 0.5 + value / (2.0 * reach)),
        }
    }

    /// The lowest and highest values of the scale.
    pub(crate) fn range(&self) -> (f64, f64) {
        match *self {
            Self::Sequential { low, high } => (low, high),
            Self::Diverging { reach } => (-reach, reach),
        }
    }

    /// Five evenly spaced tick values, lowest first.
    pub(crate) fn ticks(&self) -> [f64; 5] {
        let (low, high) = self.range();
        std::array::from_fn(|k| low + (high - low) * k as f64 / 4.0)
    }
}

/// Black or white, whichever reads better on `background` (by WCAG relative luminance).
pub(crate) fn text_on(background: RGBColor) -> RGBColor {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.040_45 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance = 0.2126 * linear(background.0)
        + 0.7152 * linear(background.1)
        + 0.0722 * linear(background.2);
    // The luminance at which black and white text have equal contrast.
    if luminance > 0.179 { INK } else { WHITE }
}

/// The `k`th of `n` colours for ordered series (train bins): viridis, stopping short of its pale
/// yellow end, which is hard to see on white.
pub(crate) fn series_colour(k: usize, n: usize) -> RGBColor {
    let t = if n > 1 {
        k as f64 / (n - 1) as f64
    } else {
        0.0
    };
    interpolate(&VIRIDIS, 0.88 * t)
}

/// The `k`th colour for unordered series (matrices): a qualitative palette (Tableau 10).
pub(crate) fn category_colour(k: usize) -> RGBColor {
    const PALETTE: [RGBColor; 10] = [
        RGBColor(78, 121, 167),
        RGBColor(242, 142, 43),
        RGBColor(225, 87, 89),
        RGBColor(118, 183, 178),
        RGBColor(89, 161, 79),
        RGBColor(237, 201, 72),
        RGBColor(176, 122, 161),
        RGBColor(255, 157, 167),
        RGBColor(156, 117, 95),
        RGBColor(186, 176, 172),
    ];
    PALETTE[k % PALETTE.len()]
}

/// The SVG attribute of a fill in `colour`, as plotters writes it.
#[cfg(test)]
pub(crate) fn fill_attribute(colour: RGBColor) -> String {
    format!("fill=\"#{:02X}{:02X}{:02X}\"", colour.0, colour.1, colour.2)
}

/// The frame of a metric against the eval bins, on `plot`: one x position per bin, labelled
/// with `labels`; y from 0 to 1 when every one of `values` is a share, else their span; a light
/// horizontal grid. The accuracy curves and the model selection draw on it.
pub(crate) fn bin_chart<'a, 'b>(
    plot: &'a Area<'b>,
    labels: &[String],
    metric: &str,
    values: impl Iterator<Item = f64> + Clone,
) -> Result<
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    ReportError,
> {
    let y = if values.clone().all(|v| (0.0..=1.0).contains(&v)) {
        -0.02..1.02
    } else {
        span(values, 0.05)
    };
    let x = -0.4..labels.len() as f64 - 0.6;
    let mut chart = ChartBuilder::on(plot)
        .margin(15)
        .margin_right(5)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(x, y)?;
    let label_of = |v: &f64| {
        let k = v.round();
        if (v - k).abs() < 1e-6 && k >= 0.0 && (k as usize) < labels.len() {
            labels[k as usize].clone()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(BLACK.mix(0.08))
        .x_labels(labels.len())
        .x_label_formatter(&label_of)
        .x_desc("eval bin")
        .y_desc(metric)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .draw()?;
    Ok(chart)
}

/// The range of the finite `values`, widened by `pad` of its width on each side; a single value
/// gets a unit-wide range, and no values the range [-1, 1].
pub fn span(values: impl Iterator<Item = f64>, pad: f64) -> std::ops::Range<f64> {
    let (low, high) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), v| {
            (low.min(v), high.max(v))
        });
    if low > high {
        return -1.0..1.0;
    }
    let (low, high) = if high - low < 1e-9 {
        (low - 0.5, high + 0.5)
    } else {
        (low, high)
    };
    let margin = (high - low) * pad;
    low - margin..high + margin
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diverging_scale_is_centred_and_symmetric() {
        let scale = Scale::Diverging { reach: 0.2 };
        assert_eq!(scale.colour(0.0), NEUTRAL);
        assert_eq!(scale.colour(-0.2), RGBColor(0x05, 0x30, 0x61));
        assert_eq!(scale.colour(0.2), RGBColor(0x67, 0x00, 0x1f));
        assert_eq!(scale.colour(1.0), scale.colour(0.2), "clamped");
        let blue = scale.colour(-0.1);
        let red = scale.colour(0.1);
        assert!(blue.2 > blue.0 && red.0 > red.2, "{blue:?} {red:?}");
    }

    #[test]
    fn text_contrasts_with_its_cell() {
        let scale = Scale::Sequential {
            low: 0.0,
            high: 1.0,
        };
        assert_eq!(text_on(scale.colour(0.0)), WHITE);
        assert_eq!(text_on(scale.colour(1.0)), INK);
        assert_eq!(text_on(NEUTRAL), INK);
        assert_eq!(text_on(Scale::Diverging { reach: 1.0 }.colour(-1.0)), WHITE);
    }
}
