//! The generalization matrix report: heatmaps of absolute accuracy and of the gain over the
//! baseline, accuracy curves per train bin, and the matrix as CSV and JSON.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::style::{
    self, Area, CHART, FONT, INK, MUTED, Scale, series_colour, text_on, titled, write_figure,
};
use crate::{Formats, Matrix, ReportError};

/// Fill of a missing cell, under hatching.
const MISSING: RGBColor = RGBColor(238, 238, 238);
/// The hatching of a missing cell.
const HATCH: RGBColor = RGBColor(200, 200, 200);
/// What a missing cell says.
pub(crate) const MISSING_TEXT: &str = "–";
/// The diverging scale reaches at least this far, so that tiny differences stay pale.
const MIN_REACH: f64 = 0.05;
/// Width of the accuracy curves' legend panel.
const LEGEND_WIDTH: u32 = 150;

/// Writes the generalization matrix report into `out` (an existing directory), as `formats` asks:
/// - `matrix_absolute.svg`/`.png`: heatmap of the metric, train bins as rows (easiest on top),
///   eval bins as columns, a sequential colour scale (0 to 1 when every value lies there), the
///   value in every cell, missing cells hatched with "–", cells where the train and eval labels
///   agree outlined, and the baseline as a separate row on top;
/// - `matrix_delta.svg`/`.png` (with a baseline): value minus baseline on a diverging scale,
///   white at 0 and symmetric (at least ±0.05), with signed values;
/// - `accuracy_curves.svg`/`.png`: the metric against the eval bin, one line per train bin, the
///   baseline dashed in black;
/// - `matrix.csv`: `train,eval,value,baseline,delta,items`, one row per cell, empty where missing;
/// - `matrix.json`: see [`Matrix::save`].
///
/// Returns the names of the files written, relative to `out`.
pub fn write_generalization_matrix(
    matrix: &Matrix,
    formats: &Formats,
    out: &Path,
) -> Result<Vec<String>, ReportError> {
    matrix.check()?;
    let mut written = Vec::new();
    let absolute = Heatmap::absolute(matrix);
    write_figure(
        out,
        "matrix_absolute",
        absolute.size(),
        formats,
        &mut written,
        |root| absolute.draw(root),
    )?;
    if let Some(delta) = Heatmap::delta(matrix) {
        write_figure(
            out,
            "matrix_delta",
            delta.size(),
            formats,
            &mut written,
            |root| delta.draw(root),
        )?;
    }
    write_figure(
        out,
        "accuracy_curves",
        CHART,
        formats,
        &mut written,
        |root| accuracy_curves(root, matrix),
    )?;
    if formats.csv {
        written.push(style::write_text(out, "matrix.csv", &long_table(matrix)?)?);
    }
    if formats.json {
        written.push(matrix.save(out)?);
    }
    Ok(written)
}

/// One heatmap, laid out in pixels.
struct Heatmap<'m> {
    matrix: &'m Matrix,
    caption: String,
    /// `[train][eval]`.
    cells: Vec<Vec<Option<f64>>>,
    /// The extra row on top, when drawn.
    baseline: Option<Vec<Option<f64>>>,
    scale: Scale,
    /// What the colour bar measures.
    bar_title: String,
    /// Whether values are written with a sign.
    signed: bool,
    /// The cells' side, in pixels.
    side: i32,
    /// Left edge of the cells.
    left: i32,
    /// Top edge of the baseline row, or of the first train row without one.
    top: i32,
}

/// Height of the caption band.
const CAPTION: i32 = 54;
/// Space between the baseline row and the train rows.
const BASELINE_GAP: i32 = 12;
/// Space under the cells for the column labels and the axis title.
const BOTTOM: i32 = 64;
/// Space right of the cells for the colour bar, its ticks and its title.
const RIGHT: i32 = 140;

impl<'m> Heatmap<'m> {
    fn absolute(matrix: &'m Matrix) -> Self {
        let cells: Vec<Vec<Option<f64>>> = (0..matrix.train_labels.len())
            .map(|t| {
                (0..matrix.eval_labels.len())
                    .map(|e| matrix.value(t, e))
                    .collect()
            })
            .collect();
        let baseline: Option<Vec<Option<f64>>> = matrix.baseline.as_ref().map(|_| {
            (0..matrix.eval_labels.len())
                .map(|e| matrix.baseline_value(e))
                .collect()
        });
        let values = || {
            cells
                .iter()
                .flatten()
                .chain(baseline.iter().flatten())
                .flatten()
                .copied()
        };
        let unit = values().all(|v| (0.0..=1.0).contains(&v));
        let scale = if unit {
            Scale::Sequential {
                low: 0.0,
                high: 1.0,
            }
        } else {
            let range = style::span(values(), 0.0);
            Scale::Sequential {
                low: range.start,
                high: range.end,
            }
        };
        Self::laid_out(Self {
            matrix,
            caption: format!("{} by train and eval bin", matrix.metric),
            cells,
            baseline,
            scale,
            bar_title: matrix.metric.clone(),
            signed: false,
            side: 0,
            left: 0,
            top: 0,
        })
    }

    fn delta(matrix: &'m Matrix) -> Option<Self> {
        let cells = matrix.delta()?;
        let largest = cells
            .iter()
            .flatten()
            .flatten()
            .fold(0.0_f64, |m, v| m.max(v.abs()));
        let reach = largest.max(MIN_REACH);
        Some(Self::laid_out(Self {
            matrix,
            caption: format!("{} gain over {}", matrix.metric, matrix.baseline_label),
            cells,
            baseline: None,
            scale: Scale::Diverging { reach },
            bar_title: format!("{} − {}", matrix.metric, matrix.baseline_label),
            signed: true,
            side: 0,
            left: 0,
            top: 0,
        }))
    }

    /// Sizes the cells and margins for the labels.
    fn laid_out(mut self) -> Self {
        let rows = self.cells.len() + usize::from(self.baseline.is_some());
        let columns = self.matrix.eval_labels.len();
        self.side = (560 / rows.max(columns).max(1) as i32).clamp(30, 84);
        let longest = self
            .matrix
            .train_labels
            .iter()
            .chain(self.baseline.as_ref().map(|_| &self.matrix.baseline_label))
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(1) as i32;
        // Axis title, then right-aligned row labels at about 7 px per character.
        self.left = 40 + 7 * longest + 12;
        self.top = CAPTION + 10;
        self
    }

    fn train_top(&self) -> i32 {
        self.top
            + if self.baseline.is_some() {
                self.side + BASELINE_GAP
            } else {
                0
            }
    }

    fn size(&self) -> (u32, u32) {
        let columns = self.matrix.eval_labels.len() as i32;
        let width = self.left + columns * self.side + RIGHT;
        let height = self.train_top() + self.cells.len() as i32 * self.side + BOTTOM;
        // Wide enough for the caption.
        (width.max(560) as u32, height as u32)
    }

    fn draw(&self, root: &Area<'_>) -> Result<(), ReportError> {
        let m = self.matrix;
        let (width, _) = self.size();
        let caption = if m.title.is_empty() {
            self.caption.clone()
        } else {
            format!("{}: {}", m.title, self.caption)
        };
        root.draw(&Text::new(
            caption,
            (width as i32 / 2, 18),
            centred(22.0, INK).pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;

        let side = self.side;
        let value_size = (f64::from(side) * 0.34).clamp(10.0, 17.0);
        let label_size = 15.0;
        let train_top = self.train_top();
        let right = self.left + m.eval_labels.len() as i32 * side;
        let bottom = train_top + m.train_labels.len() as i32 * side;

        if let Some(baseline) = &self.baseline {
            for (e, value) in baseline.iter().enumerate() {
                let x = self.left + e as i32 * side;
                self.cell(root, (x, self.top), *value, value_size)?;
            }
            root.draw(&Text::new(
                m.baseline_label.clone(),
                (self.left - 8, self.top + side / 2),
                right_aligned(label_size, INK),
            ))?;
        }
        for (t, row) in self.cells.iter().enumerate() {
            let y = train_top + t as i32 * side;
            for (e, value) in row.iter().enumerate() {
                let x = self.left + e as i32 * side;
                self.cell(root, (x, y), *value, value_size)?;
            }
            root.draw(&Text::new(
                m.train_labels[t].clone(),
                (self.left - 8, y + side / 2),
                right_aligned(label_size, INK),
            ))?;
        }
        // The cells a model was trained on: train and eval label agree.
        for (t, train) in m.train_labels.iter().enumerate() {
            if let Some(e) = m.eval_labels.iter().position(|l| l == train) {
                let (x, y) = (self.left + e as i32 * side, train_top + t as i32 * side);
                root.draw(&Rectangle::new(
                    [(x + 1, y + 1), (x + side - 1, y + side - 1)],
                    INK.stroke_width(2),
                ))?;
            }
        }
        for (e, label) in m.eval_labels.iter().enumerate() {
            root.draw(&Text::new(
                label.clone(),
                (self.left + e as i32 * side + side / 2, bottom + 8),
                centred(label_size, INK).pos(Pos::new(HPos::Center, VPos::Top)),
            ))?;
        }
        root.draw(&Text::new(
            "eval bin",
            ((self.left + right) / 2, bottom + 34),
            centred(17.0, INK).pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
        // The axis title just left of the train labels (the baseline label may be longer).
        let train_longest = m
            .train_labels
            .iter()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(1) as i32;
        root.draw(&Text::new(
            "train bin",
            (
                (self.left - 8 - 8 * train_longest - 18).max(16),
                (train_top + bottom) / 2,
            ),
            centred(17.0, INK).transform(FontTransform::Rotate270),
        ))?;
        self.colour_bar(root, right + 24, (self.top, bottom))
    }

    /// One cell at `corner` (top left): its colour and value, or hatching and "–".
    fn cell(
        &self,
        root: &Area<'_>,
        (x, y): (i32, i32),
        value: Option<f64>,
        size: f64,
    ) -> Result<(), ReportError> {
        let side = self.side;
        let centre = (x + side / 2, y + side / 2);
        // A 1-pixel white gutter between cells.
        let inner = [(x + 1, y + 1), (x + side - 1, y + side - 1)];
        match value {
            Some(value) => {
                let colour = self.scale.colour(value);
                root.draw(&Rectangle::new(inner, colour.filled()))?;
                root.draw(&Text::new(
                    self.format(value),
                    centre,
                    centred(size, text_on(colour)),
                ))?;
            }
            None => {
                root.draw(&Rectangle::new(inner, MISSING.filled()))?;
                let (w, h) = (side - 2, side - 2);
                // Lines u = v + d inside the cell, every 7 pixels.
                for d in (-h..w).step_by(7) {
                    let start = (-d).max(0);
                    let end = h.min(w - d);
                    if end > start {
                        root.draw(&PathElement::new(
                            [
                                (x + 1 + start + d, y + 1 + start),
                                (x + 1 + end + d, y + 1 + end),
                            ],
                            HATCH.stroke_width(1),
                        ))?;
                    }
                }
                root.draw(&Text::new(MISSING_TEXT, centre, centred(size, MUTED)))?;
            }
        }
        Ok(())
    }

    /// A cell's text: two decimals, signed on the delta map ("+0.12", "−0.05", "0.00").
    fn format(&self, value: f64) -> String {
        let digits = if value.abs() >= 100.0 {
            0
        } else if value.abs() >= 10.0 {
            1
        } else {
            2
        };
        let text = format!("{:.*}", digits, value.abs());
        let zero = text.chars().all(|c| c == '0' || c == '.');
        if zero {
            text
        } else if value < 0.0 {
            format!("−{text}")
        } else if self.signed {
            format!("+{text}")
        } else {
            text
        }
    }

    /// The colour bar at `x`, spanning `top..bottom`, with five ticks and its title.
    fn colour_bar(
        &self,
        root: &Area<'_>,
        x: i32,
        (top, bottom): (i32, i32),
    ) -> Result<(), ReportError> {
        const WIDTH: i32 = 16;
        const SLICES: i32 = 120;
        let (low, high) = self.scale.range();
        let height = bottom - top;
        for k in 0..SLICES {
            // Highest value at the top.
            let y0 = top + height * k / SLICES;
            // Each slice overlaps the next by a pixel: no seams when a viewer scales the SVG.
            let y1 = (top + height * (k + 1) / SLICES + 1).min(bottom);
            let t = 1.0 - (f64::from(k) + 0.5) / f64::from(SLICES);
            let colour = self.scale.colour(low + (high - low) * t);
            root.draw(&Rectangle::new([(x, y0), (x + WIDTH, y1)], colour.filled()))?;
        }
        root.draw(&Rectangle::new(
            [(x, top), (x + WIDTH, bottom)],
            MUTED.stroke_width(1),
        ))?;
        for tick in self.scale.ticks() {
            let t = if high > low {
                (tick - low) / (high - low)
            } else {
                0.5
            };
            let y = bottom - (t * f64::from(height)).round() as i32;
            root.draw(&PathElement::new(
                [(x + WIDTH, y), (x + WIDTH + 4, y)],
                MUTED.stroke_width(1),
            ))?;
            let label = if self.signed && tick.abs() < 1e-12 {
                "0".to_string()
            } else {
                self.format(tick)
            };
            root.draw(&Text::new(
                label,
                (x + WIDTH + 7, y),
                style::text_style(14.0, MUTED, Pos::new(HPos::Left, VPos::Center)),
            ))?;
        }
        root.draw(&Text::new(
            self.bar_title.clone(),
            (x + WIDTH + 72, (top + bottom) / 2),
            centred(15.0, INK).transform(FontTransform::Rotate90),
        ))?;
        Ok(())
    }
}

/// Text of `size` in `colour`, centred on its position.
fn centred(size: f64, colour: RGBColor) -> TextStyle<'static> {
    style::text_style(size, colour, Pos::new(HPos::Center, VPos::Center))
}

/// Text of `size` in `colour`, ending at its position, vertically centred.
fn right_aligned(size: f64, colour: RGBColor) -> TextStyle<'static> {
    style::text_style(size, colour, Pos::new(HPos::Right, VPos::Center))
}

/// The metric against the eval bin, one line per train bin and the baseline dashed.
fn accuracy_curves(root: &Area<'_>, matrix: &Matrix) -> Result<(), ReportError> {
    let columns = matrix.eval_labels.len();
    let rows = matrix.train_labels.len();
    let values = (0..rows)
        .flat_map(|t| (0..columns).map(move |e| matrix.value(t, e)))
        .chain((0..columns).map(|e| matrix.baseline_value(e)))
        .flatten();
    let area = titled(
        root,
        &matrix.title,
        &format!("{} by eval bin", matrix.metric),
    )?;
    let (plot, key) = area.split_horizontally(CHART.0 - LEGEND_WIDTH);
    let mut chart = style::bin_chart(&plot, &matrix.eval_labels, &matrix.metric, values)?;

    // Runs of consecutive present cells: a missing cell breaks the line.
    let runs = |cells: Vec<Option<f64>>| -> Vec<Vec<(f64, f64)>> {
        let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for (e, value) in cells.into_iter().enumerate() {
            match value {
                Some(v) => runs.last_mut().map(|r| r.push((e as f64, v))).unwrap_or(()),
                None => runs.push(Vec::new()),
            }
        }
        runs.retain(|r| !r.is_empty());
        runs
    };
    for t in 0..rows {
        let colour = series_colour(t, rows);
        let cells: Vec<Option<f64>> = (0..columns).map(|e| matrix.value(t, e)).collect();
        for run in runs(cells) {
            chart.draw_series(LineSeries::new(run.clone(), colour.stroke_width(2)))?;
            chart.draw_series(run.into_iter().map(|p| Circle::new(p, 3, colour.filled())))?;
        }
        // The eval bin the model was trained on.
        if let Some(e) = matrix
            .eval_labels
            .iter()
            .position(|l| *l == matrix.train_labels[t])
            && let Some(v) = matrix.value(t, e)
        {
            chart.draw_series([Circle::new((e as f64, v), 6, colour.stroke_width(2))])?;
        }
    }
    if matrix.baseline.is_some() {
        let cells: Vec<Option<f64>> = (0..columns).map(|e| matrix.baseline_value(e)).collect();
        for run in runs(cells) {
            chart.draw_series(DashedLineSeries::new(
                run.clone(),
                7,
                5,
                BLACK.stroke_width(2),
            ))?;
            chart.draw_series(run.into_iter().map(|p| Circle::new(p, 3, BLACK.filled())))?;
        }
    }

    // The legend panel: one entry per train bin, then the baseline and the trained-bin marker.
    let entries = rows + 2;
    let step = (380 / entries as i32).clamp(12, 22);
    key.draw(&Text::new(
        "train bin",
        (8, 22),
        TextStyle::from((FONT, 15).into_font()).color(&INK),
    ))?;
    let label = |size: f64| {
        TextStyle::from((FONT, size).into_font())
            .color(&INK)
            .pos(Pos::new(HPos::Left, VPos::Center))
    };
    let text_size = f64::from(step).clamp(11.0, 14.0);
    let mut y = 50;
    for (t, name) in matrix.train_labels.iter().enumerate() {
        let colour = series_colour(t, rows);
        key.draw(&PathElement::new([(8, y), (34, y)], colour.stroke_width(2)))?;
        key.draw(&Circle::new((21, y), 3, colour.filled()))?;
        key.draw(&Text::new(name.clone(), (42, y), label(text_size)))?;
        y += step;
    }
    y += step / 2;
    if matrix.baseline.is_some() {
        for k in 0..3 {
            key.draw(&PathElement::new(
                [(8 + 10 * k, y), (14 + 10 * k, y)],
                BLACK.stroke_width(2),
            ))?;
        }
        key.draw(&Text::new(
            matrix.baseline_label.clone(),
            (42, y),
            label(text_size),
        ))?;
        y += step;
    }
    key.draw(&Circle::new((21, y), 6, MUTED.stroke_width(2)))?;
    key.draw(&Text::new("trained bin", (42, y), label(text_size)))?;
    Ok(())
}

/// `matrix.csv`: one row per cell.
fn long_table(matrix: &Matrix) -> Result<String, ReportError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let invalid = |e: csv::Error| ReportError::invalid(format!("cannot write matrix.csv: {e}"));
    writer
        .write_record(["train", "eval", "value", "baseline", "delta", "items"])
        .map_err(invalid)?;
    let delta = matrix.delta();
    for (t, train) in matrix.train_labels.iter().enumerate() {
        for (e, eval) in matrix.eval_labels.iter().enumerate() {
            let gain = delta.as_ref().and_then(|d| d[t][e]);
            let items = matrix
                .items_at(t, e)
                .map(|n| n.to_string())
                .unwrap_or_default();
            writer
                .write_record([
                    train.clone(),
                    eval.clone(),
                    style::cell(matrix.value(t, e)),
                    style::cell(matrix.baseline_value(e)),
                    style::cell(gain),
                    items,
                ])
                .map_err(invalid)?;
        }
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| ReportError::invalid(format!("cannot write matrix.csv: {e}")))?;
    String::from_utf8(bytes)
        .map_err(|e| ReportError::invalid(format!("cannot write matrix.csv: {e}")))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::matrix::tests::three_by_three;
    use crate::style::{NEUTRAL, fill_attribute};

    fn read(dir: &Path, name: &str) -> String {
        fs::read_to_string(dir.join(name)).expect("the file was written")
    }

    /// The texts of the SVG's `<text>` elements.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                let body = &t[t.find('>')? + 1..];
                Some(body[..body.find("</text>")?].trim().to_string())
            })
            .collect()
    }

    #[test]
    fn every_file_is_written() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let written = write_generalization_matrix(&three_by_three(), &Formats::ALL, dir.path())
            .expect("written");
        assert_eq!(
            written,
            [
                "matrix_absolute.svg",
                "matrix_absolute.png",
                "matrix_delta.svg",
                "matrix_delta.png",
                "accuracy_curves.svg",
                "accuracy_curves.png",
                "matrix.csv",
                "matrix.json",
            ]
        );
        for name in &written {
            assert!(dir.path().join(name).is_file(), "{name}");
        }
        let only_csv = tempfile::tempdir().expect("a temporary directory");
        let formats = Formats::parse(&["csv"]).expect("known");
        let written =
            write_generalization_matrix(&three_by_three(), &formats, only_csv.path()).expect("ok");
        assert_eq!(written, ["matrix.csv"]);
    }

    #[test]
    fn the_absolute_heatmap_writes_every_value() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let formats = Formats::parse(&["svg"]).expect("known");
        write_generalization_matrix(&three_by_three(), &formats, dir.path()).expect("written");
        let svg = read(dir.path(), "matrix_absolute.svg");
        let texts = texts(&svg);
        // 8 present cells, 3 baseline cells, one missing cell.
        for value in [
            "0.70", "0.40", "0.05", "0.60", "0.50", "0.20", "0.55", "0.30", "0.10",
        ] {
            assert!(
                texts.iter().any(|t| t == value),
                "{value} missing: {texts:?}"
            );
        }
        let cell_values = texts
            .iter()
            .filter(|t| t.len() == 4 && t.starts_with("0."))
            .count();
        // 11 cell values, and the colour bar's 5 ticks 0.00, 0.25, 0.50, 0.75, 1.00 (minus the
        // "1.00" that is no "0.").
        assert_eq!(cell_values, 8 + 3 + 4, "{texts:?}");
        assert_eq!(texts.iter().filter(|t| *t == MISSING_TEXT).count(), 1);
        for label in ["eval bin", "train bin", "zero-shot", "exact_match"] {
            assert!(texts.iter().any(|t| t == label), "no `{label}`: {texts:?}");
        }
        assert!(texts.iter().any(|t| t.starts_with("toy: ")), "caption");
        // The darkest cell (0.05) has white text, the lightest (0.70) dark text.
        let dark = Scale::Sequential {
            low: 0.0,
            high: 1.0,
        }
        .colour(0.05);
        assert!(svg.contains(&fill_attribute(dark)));
        let white_text = format!("{}>\n0.05\n</text>", fill_attribute(WHITE));
        assert!(svg.contains(&white_text), "white text on the dark cell");
    }

    #[test]
    fn the_delta_heatmap_is_signed_and_centred() {
        let mut matrix = three_by_three();
        // A cell equal to its baseline: delta 0 must be the neutral colour.
        matrix.values[2][2] = Some(0.10);
        let dir = tempfile::tempdir().expect("a temporary directory");
        let formats = Formats::parse(&["svg"]).expect("known");
        write_generalization_matrix(&matrix, &formats, dir.path()).expect("written");
        let svg = read(dir.path(), "matrix_delta.svg");
        let texts = texts(&svg);
        for value in ["+0.20", "+0.10", "−0.05", "+0.05", "0.00"] {
            assert!(
                texts.iter().any(|t| t == value),
                "{value} missing: {texts:?}"
            );
        }
        assert_eq!(texts.iter().filter(|t| *t == MISSING_TEXT).count(), 1);
        // Exactly one cell is neutral; the colour bar's slices never hit 0 exactly.
        assert_eq!(
            svg.matches(&fill_attribute(NEUTRAL)).count(),
            1,
            "one zero cell"
        );
        // Symmetric: ticks at ±0.20 (the largest |delta|).
        for tick in ["−0.20", "−0.10", "0", "+0.10", "+0.20"] {
            assert!(texts.iter().any(|t| t == tick), "tick {tick}: {texts:?}");
        }
        let scale = Scale::Diverging { reach: 0.2 };
        assert!(
            svg.contains(&fill_attribute(scale.colour(0.2))),
            "+0.20 is the reddest"
        );
        assert!(svg.contains(&fill_attribute(scale.colour(-0.05))));
    }

    #[test]
    fn small_deltas_keep_a_minimum_reach() {
        let mut matrix = three_by_three();
        matrix.values = vec![vec![Some(0.51), Some(0.30), Some(0.10)]; 3];
        let heatmap = Heatmap::delta(&matrix).expect("a baseline");
        assert!(matches!(heatmap.scale, Scale::Diverging { reach } if reach == MIN_REACH));
    }

    #[test]
    fn without_a_baseline_there_is_no_delta_map() {
        let mut matrix = three_by_three();
        matrix.baseline = None;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let written = write_generalization_matrix(
            &matrix,
            &Formats::parse(&["svg", "csv"]).expect("ok"),
            dir.path(),
        )
        .expect("written");
        assert_eq!(
            written,
            ["matrix_absolute.svg", "accuracy_curves.svg", "matrix.csv"]
        );
        let svg = read(dir.path(), "matrix_absolute.svg");
        assert!(!texts(&svg).iter().any(|t| t == "zero-shot"));
        let csv = read(dir.path(), "matrix.csv");
        assert!(
            csv.lines().nth(1).expect("a row").ends_with(",0.7,,,100"),
            "{csv}"
        );
    }

    #[test]
    fn the_csv_is_long_with_empty_missing_cells() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        write_generalization_matrix(
            &three_by_three(),
            &Formats::parse(&["csv"]).expect("known"),
            dir.path(),
        )
        .expect("written");
        let csv = read(dir.path(), "matrix.csv");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "train,eval,value,baseline,delta,items");
        assert_eq!(lines.len(), 10);
        assert_eq!(lines[8], "2,1,,0.3,,0", "the missing cell");
        let row: Vec<&str> = lines[3].split(',').collect();
        assert_eq!(&row[..4], ["0", "2", "0.05", "0.1"]);
        let delta: f64 = row[4].parse().expect("a number");
        assert!((delta + 0.05).abs() < 1e-12);
    }

    #[test]
    fn the_curves_have_a_line_per_train_bin_and_a_dashed_baseline() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        write_generalization_matrix(
            &three_by_three(),
            &Formats::parse(&["svg"]).expect("known"),
            dir.path(),
        )
        .expect("written");
        let svg = read(dir.path(), "accuracy_curves.svg");
        let texts = texts(&svg);
        for label in [
            "eval bin",
            "exact_match",
            "train bin",
            "zero-shot",
            "trained bin",
        ] {
            assert!(texts.iter().any(|t| t == label), "no `{label}`: {texts:?}");
        }
        for t in 0..3 {
            let colour = series_colour(t, 3);
            let stroke = format!(
                "stroke=\"#{:02X}{:02X}{:02X}\"",
                colour.0, colour.1, colour.2
            );
            assert!(svg.contains(&stroke), "no line for train bin {t}");
        }
    }

    #[test]
    fn empty_and_ragged_matrices_are_refused() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut empty = three_by_three();
        empty.train_labels.clear();
        empty.values.clear();
        empty.items.clear();
        let error =
            write_generalization_matrix(&empty, &Formats::ALL, dir.path()).expect_err("empty");
        assert!(error.to_string().contains("empty"), "{error}");
        assert_eq!(fs::read_dir(dir.path()).expect("listed").count(), 0);
    }
}
