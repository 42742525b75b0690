//! The figures and tables of the IRT difficulty report: SVG charts drawn with plotters, and a CSV.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::ops::Range;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use rung_irt::bins::{Bins, Part};
use rung_irt::{Fit, ItemEstimate};
use rung_report::span;

/// Every figure's size in pixels.
const SIZE: (u32, u32) = (800, 500);
/// SVG names a font family and leaves the font to the viewer: no font files are needed.
const FONT: &str = "sans-serif";
/// Bars of the difficulty histogram.
const BARS: usize = 40;
/// Items whose characteristic curves are drawn.
const CURVES: usize = 12;
/// Points along each drawn curve.
const STEPS: usize = 200;
/// Width of the item curves' legend panel, right of the chart.
const LEGEND_WIDTH: u32 = 200;

/// Items placed by their responses.
const ITEM: RGBColor = RGBColor(76, 114, 176);
/// Items answered all correctly or all wrongly: placed by the prior alone.
const FLAGGED: RGBColor = RGBColor(221, 132, 82);
/// Bin boundaries and bin numbers; no other stroke uses this colour (the tests count its lines).
const BOUNDARY: RGBColor = RGBColor(196, 58, 62);
/// Curves of the model's expectation.
const MODEL: RGBColor = RGBColor(40, 40, 40);

/// Why the report's figures could not be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FigureError(pub(crate) String);

impl fmt::Display for FigureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FigureError {}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for FigureError {
    fn from(error: DrawingAreaErrorKind<E>) -> Self {
        Self(error.to_string())
    }
}

/// A whole figure, before its title is drawn.
type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Writes the difficulty report's figures and tables into `out` (an existing directory):
/// - `difficulty_histogram.svg`: histogram of item difficulties in 40 bars, items flagged all
///   correct or all wrong stacked in their own colour; with `bins`, the bin boundaries as vertical
///   lines and the bin numbers above the chart;
/// - `item_curves.svg`: item characteristic curves P(correct | ability) of 12 items at evenly
///   spaced difficulty quantiles (flagged items left out while others remain), under the fitted
///   1PL, 2PL or 3PL model, with a legend of item ids;
/// - `ability_accuracy.svg`: each subject's estimated ability against its observed accuracy, under
///   the model's expected accuracy (the mean over items of P(correct | ability));
/// - `standard_errors.svg`: the standard error of each difficulty against the difficulty;
/// - `convergence.svg`: the objective per iteration;
/// - `per_bin.csv` (only with `bins`): `bin,lower,upper,items,train,test,mean_difficulty,
///   mean_p_correct`, where train and test count the items [`Bins::select`] hands out for each
///   side (every item for both when there is no split), and empty cells stand for empty bins.
///
/// `title` opens every figure's caption. Returns the names of the files written, relative to `out`.
pub(crate) fn difficulty_report(
    fit: &Fit,
    bins: Option<&Bins>,
    title: &str,
    out: &Path,
) -> Result<Vec<String>, FigureError> {
    let mut written = vec![
        figure(out, "difficulty_histogram.svg", |root| {
            histogram(root, fit, bins, title)
        })?,
        figure(out, "item_curves.svg", |root| item_curves(root, fit, title))?,
        figure(out, "ability_accuracy.svg", |root| {
            ability_accuracy(root, fit, title)
        })?,
        figure(out, "standard_errors.svg", |root| {
            standard_errors(root, fit, title)
        })?,
        figure(out, "convergence.svg", |root| convergence(root, fit, title))?,
    ];
    if let Some(bins) = bins {
        written.push(write(out, "per_bin.csv", &per_bin(fit, bins)?)?);
    }
    Ok(written)
}

/// Draws one figure on a white canvas with `draw` and writes it to `out/name`.
fn figure(
    out: &Path,
    name: &str,
    draw: impl FnOnce(&Area<'_>) -> Result<(), FigureError>,
) -> Result<String, FigureError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    write(out, name, &svg)
}

fn write(out: &Path, name: &str, text: &str) -> Result<String, FigureError> {
    let path = out.join(name);
    fs::write(&path, text)
        .map_err(|e| FigureError(format!("cannot write {}: {e}", path.display())))?;
    Ok(name.to_string())
}

/// Draws the caption "`title`: `what`" and returns the area below it.
fn titled<'a>(root: &Area<'a>, title: &str, what: &str) -> Result<Area<'a>, FigureError> {
    let caption = if title.is_empty() {
        what.to_string()
    } else {
        format!("{title}: {what}")
    };
    Ok(root.margin(10, 0, 0, 0).titled(&caption, (FONT, 22))?)
}

fn histogram(
    root: &Area<'_>,
    fit: &Fit,
    bins: Option<&Bins>,
    title: &str,
) -> Result<(), FigureError> {
    let items: Vec<(f64, bool)> = fit
        .items
        .iter()
        .filter(|i| i.difficulty.is_finite())
        .map(|i| (i.difficulty, i.flag.is_some()))
        .collect();
    // Between neighbouring bins: the midpoint of the gap between their items (quantile bins)
    // or their shared edge (equal-width and explicit edges).
    let edges: Vec<Option<f64>> = bins
        .map(|b| {
            b.ranges
                .windows(2)
                .map(|w| between(w[0].1, w[1].0))
                .collect()
        })
        .unwrap_or_default();
    let bars = span(items.iter().map(|i| i.0), 0.0);
    let width = (bars.end - bars.start) / BARS as f64;
    // Per bar: items placed by their responses, then flagged items stacked on top.
    let mut counts = [[0u32; 2]; BARS];
    for &(difficulty, flagged) in &items {
        let bar = (((difficulty - bars.start) / width) as usize).min(BARS - 1);
        counts[bar][usize::from(flagged)] += 1;
    }
    let highest = counts.iter().map(|c| c[0] + c[1]).max().unwrap_or(0);
    // Head room for the legend in the upper right.
    let top = (f64::from(highest) * 1.3).ceil() as u32 + 1;
    let x = span(
        items
            .iter()
            .map(|i| i.0)
            .chain(edges.iter().flatten().copied()),
        0.04,
    );

    let area = titled(root, title, "item difficulties")?;
    let mut chart = ChartBuilder::on(&area)
        .margin(15)
        // Room above the plot for the bin numbers.
        .margin_top(if bins.is_some() { 30 } else { 15 })
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(x.clone(), 0u32..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .x_desc("difficulty (logits)")
        .y_desc("items")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .draw()?;

    let bar = |k: usize, low: u32, high: u32, colour: RGBColor| {
        let left = bars.start + width * k as f64;
        let mut rectangle = Rectangle::new([(left, low), (left + width, high)], colour.filled());
        rectangle.set_margin(0, 0, 1, 1);
        rectangle
    };
    chart
        .draw_series(
            counts
                .iter()
                .enumerate()
                .filter(|(_, c)| c[0] > 0)
                .map(|(k, c)| bar(k, 0, c[0], ITEM)),
        )?
        .label("items")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], ITEM.filled()));
    let flagged = items.iter().filter(|i| i.1).count();
    if flagged > 0 {
        chart
            .draw_series(
                counts
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c[1] > 0)
                    .map(|(k, c)| bar(k, c[0], c[0] + c[1], FLAGGED)),
            )?
            .label(format!(
                "all correct or all wrong: {flagged} (placed by the prior)"
            ))
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], FLAGGED.filled()));
    }
    if bins.is_some() {
        chart
            .draw_series(
                edges
                    .iter()
                    .flatten()
                    .map(|&e| PathElement::new([(e, 0), (e, top)], BOUNDARY.stroke_width(2))),
            )?
            .label("bin boundaries (bins numbered above, 0 easiest)")
            // A filled glyph, so that the boundaries stay the only strokes in their colour.
            .legend(|(x, y)| Rectangle::new([(x + 5, y - 6), (x + 7, y + 6)], BOUNDARY.filled()));
        let number = TextStyle::from((FONT, 14).into_font())
            .color(&BOUNDARY)
            .pos(Pos::new(HPos::Center, VPos::Bottom));
        for bin in 0..=edges.len() {
            let left = if bin == 0 {
                Some(x.start)
            } else {
                edges[bin - 1]
            };
            let right = edges.get(bin).copied().unwrap_or(Some(x.end));
            if let (Some(left), Some(right)) = (left, right) {
                let (px, py) = chart.backend_coord(&((left + right) / 2.0, top));
                root.draw(&Text::new(bin.to_string(), (px, py - 4), &number))?;
            }
        }
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

fn item_curves(root: &Area<'_>, fit: &Fit, title: &str) -> Result<(), FigureError> {
    let sample = curve_sample(&fit.items);
    let model = fit.options.model.name().to_uppercase();
    let reach = span(
        fit.abilities
            .iter()
            .map(|a| a.ability)
            .chain(sample.iter().map(|i| i.difficulty)),
        0.0,
    );
    let theta = (reach.start - 1.0).min(-3.0)..(reach.end + 1.0).max(3.0);

    let area = titled(
        root,
        title,
        &format!("item characteristic curves ({model})"),
    )?;
    let (plot, key) = area.split_horizontally(SIZE.0 - LEGEND_WIDTH);
    let mut chart = ChartBuilder::on(&plot)
        .margin(15)
        .margin_right(5)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(theta.clone(), 0.0..1.0)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_desc("ability (logits)")
        .y_desc("P(correct)")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .draw()?;

    key.draw(&Text::new(
        "items, easiest first",
        (8, 20),
        (FONT, 14).into_font(),
    ))?;
    let label = TextStyle::from((FONT, 12).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (k, item) in sample.iter().enumerate() {
        let colour = curve_colour(k, sample.len());
        chart.draw_series(LineSeries::new(
            grid(&theta).map(|t| (t, probability(item, t))),
            colour.stroke_width(2),
        ))?;
        let y = 45 + 20 * k as i32;
        key.draw(&PathElement::new([(8, y), (30, y)], colour.stroke_width(2)))?;
        key.draw(&Text::new(curve_label(item), (36, y), &label))?;
    }
    Ok(())
}

fn ability_accuracy(root: &Area<'_>, fit: &Fit, title: &str) -> Result<(), FigureError> {
    let subjects: Vec<(f64, f64)> = fit
        .abilities
        .iter()
        .filter(|a| a.ability.is_finite() && a.p_correct.is_finite())
        .map(|a| (a.ability, a.p_correct))
        .collect();
    let x = span(subjects.iter().map(|s| s.0), 0.05);

    let area = titled(root, title, "ability and accuracy of each subject")?;
    let mut chart = ChartBuilder::on(&area)
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(x.clone(), -0.02..1.02)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_desc("ability (logits)")
        .y_desc("accuracy")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .draw()?;
    chart
        .draw_series(
            subjects
                .iter()
                .map(|&s| Circle::new(s, 3, ITEM.mix(0.6).filled())),
        )?
        .label(format!("subjects ({})", subjects.len()))
        .legend(|(x, y)| Circle::new((x + 6, y), 3, ITEM.filled()));
    let items: Vec<&ItemEstimate> = fit
        .items
        .iter()
        .filter(|i| i.difficulty.is_finite())
        .collect();
    if !items.is_empty() {
        let expected = |theta: f64| {
            items.iter().map(|i| probability(i, theta)).sum::<f64>() / items.len() as f64
        };
        chart
            .draw_series(LineSeries::new(
                grid(&x).map(|t| (t, expected(t))),
                MODEL.stroke_width(2),
            ))?
            .label("expected accuracy (mean P(correct) over items)")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 12, y)], MODEL.stroke_width(2)));
    }
    legend(&mut chart, SeriesLabelPosition::LowerRight)
}

fn standard_errors(root: &Area<'_>, fit: &Fit, title: &str) -> Result<(), FigureError> {
    let items: Vec<(f64, f64, bool)> = fit
        .items
        .iter()
        .filter(|i| i.difficulty.is_finite() && i.difficulty_se.is_finite())
        .map(|i| (i.difficulty, i.difficulty_se, i.flag.is_some()))
        .collect();
    let x = span(items.iter().map(|i| i.0), 0.05);
    let highest = items.iter().map(|i| i.1).fold(0.0, f64::max);
    let y = 0.0..if highest > 0.0 { highest * 1.1 } else { 1.0 };

    let area = titled(root, title, "standard errors of the difficulties")?;
    let mut chart = ChartBuilder::on(&area)
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_desc("difficulty (logits)")
        .y_desc("standard error (logits)")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .draw()?;
    for (flagged, colour, label) in [
        (false, ITEM, "items"),
        (
            true,
            FLAGGED,
            "all correct or all wrong (placed by the prior)",
        ),
    ] {
        let points: Vec<(f64, f64)> = items
            .iter()
            .filter(|i| i.2 == flagged)
            .map(|i| (i.0, i.1))
            .collect();
        if !points.is_empty() {
            chart
                .draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, 3, colour.mix(0.7).filled())),
                )?
                .label(label)
                .legend(move |(x, y)| Circle::new((x + 6, y), 3, colour.filled()));
        }
    }
    legend(&mut chart, SeriesLabelPosition::UpperMiddle)
}

fn convergence(root: &Area<'_>, fit: &Fit, title: &str) -> Result<(), FigureError> {
    let steps: Vec<(usize, f64)> = fit
        .trace
        .iter()
        .filter(|s| s.objective.is_finite())
        .map(|s| (s.iteration, s.objective))
        .collect();
    let last = steps.iter().map(|s| s.0).max().unwrap_or(0);
    let y = span(steps.iter().map(|s| s.1), 0.05);
    let what = format!(
        "convergence ({}, {} iterations, {})",
        fit.options.method.name().to_uppercase(),
        fit.iterations,
        if fit.converged {
            "converged"
        } else {
            "not converged"
        }
    );

    let area = titled(root, title, &what)?;
    let mut chart = ChartBuilder::on(&area)
        .margin(15)
        .margin_right(25)
        .x_label_area_size(45)
        // The objective is often a large log-likelihood: room for its digits.
        .y_label_area_size(90)
        .build_cartesian_2d(0..last + 1, y)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_desc("iteration")
        .y_desc(fit.objective.as_str())
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .draw()?;
    // Markers show the iterations while there are few enough to tell apart.
    let markers = if steps.len() <= 50 { 3 } else { 0 };
    chart.draw_series(LineSeries::new(steps, ITEM.stroke_width(2)).point_size(markers))?;
    Ok(())
}

/// Draws the legend of the series labelled so far.
fn legend<'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    position: SeriesLabelPosition,
) -> Result<(), FigureError> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .label_font((FONT, 13))
        .draw()?;
    Ok(())
}

/// The table of `per_bin.csv`, one row per bin.
fn per_bin(fit: &Fit, bins: &Bins) -> Result<String, FigureError> {
    let by_id: HashMap<&str, &ItemEstimate> =
        fit.items.iter().map(|i| (i.id.as_str(), i)).collect();
    let mut csv = String::from("bin,lower,upper,items,train,test,mean_difficulty,mean_p_correct\n");
    for (bin, &(lower, upper)) in bins.ranges.iter().enumerate() {
        let mut difficulties = Vec::new();
        let mut accuracies = Vec::new();
        for assignment in bins.items.iter().filter(|a| a.bin == bin) {
            let item = by_id.get(assignment.item.as_str()).ok_or_else(|| {
                FigureError(format!(
                    "the bins hold item `{}`, which the fit does not have",
                    assignment.item
                ))
            })?;
            difficulties.push(assignment.difficulty);
            accuracies.push(item.p_correct);
        }
        csv.push_str(&format!(
            "{bin},{},{},{},{},{},{},{}\n",
            number(lower),
            number(upper),
            difficulties.len(),
            bins.select(bin, Part::Train).count(),
            bins.select(bin, Part::Test).count(),
            number(mean(&difficulties)),
            number(mean(&accuracies)),
        ));
    }
    Ok(csv)
}

/// A CSV cell: empty for NaN (an empty bin), `inf` and `-inf` for open-ended bins.
fn number(value: f64) -> String {
    if value.is_nan() {
        String::new()
    } else {
        value.to_string()
    }
}

/// The mean, NaN when there are no values.
fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// P(correct | `theta`) for `item`: g + (1 - g) * sigmoid(a * (theta - b)), with g = 0 below 3PL
/// and a = 1 for 1PL.
fn probability(item: &ItemEstimate, theta: f64) -> f64 {
    let guessing = item.guessing.unwrap_or(0.0);
    let logit = item.discrimination * (theta - item.difficulty);
    guessing + (1.0 - guessing) / (1.0 + (-logit).exp())
}

/// Up to 12 items at evenly spaced quantiles of difficulty, easiest first; ties are broken by id
/// so that the sample is the same on every run.
///
/// Flagged items are left out unless no other item remains: their difficulties rest on the prior.
fn curve_sample(items: &[ItemEstimate]) -> Vec<&ItemEstimate> {
    let finite = |i: &&ItemEstimate| i.difficulty.is_finite();
    let mut pool: Vec<&ItemEstimate> = items
        .iter()
        .filter(finite)
        .filter(|i| i.flag.is_none())
        .collect();
    if pool.is_empty() {
        pool = items.iter().filter(finite).collect();
    }
    pool.sort_by(|a, b| {
        a.difficulty
            .total_cmp(&b.difficulty)
            .then_with(|| a.id.cmp(&b.id))
    });
    if pool.len() <= CURVES {
        return pool;
    }
    let last = (pool.len() - 1) as f64;
    (0..CURVES)
        .map(|k| pool[(k as f64 * last / (CURVES - 1) as f64).round() as usize])
        .collect()
}

/// The `k`th of `n` curve colours: hues from blue (easiest) to red (hardest).
fn curve_colour(k: usize, n: usize) -> HSLColor {
    let position = if n > 1 {
        k as f64 / (n - 1) as f64
    } else {
        0.0
    };
    HSLColor(2.0 / 3.0 * (1.0 - position), 0.75, 0.42)
}

/// An item's legend entry: its id (shortened when long) and its parameters.
fn curve_label(item: &ItemEstimate) -> String {
    let id: String = if item.id.chars().count() > 14 {
        item.id.chars().take(13).chain(['…']).collect()
    } else {
        item.id.clone()
    };
    let mut label = format!("{id}  b={:.2}", item.difficulty);
    if item.discrimination != 1.0 {
        label.push_str(&format!(" a={:.2}", item.discrimination));
    }
    if let Some(guessing) = item.guessing {
        label.push_str(&format!(" g={guessing:.2}"));
    }
    label
}

/// The point between two neighbouring bins' difficulty bounds; either alone where the other is
/// missing (an empty bin) or infinite.
fn between(upper: f64, lower: f64) -> Option<f64> {
    match (upper.is_finite(), lower.is_finite()) {
        (true, true) => Some((upper + lower) / 2.0),
        (true, false) => Some(upper),
        (false, true) => Some(lower),
        (false, false) => None,
    }
}

/// `STEPS` evenly spaced points across `range`, both ends included.
fn grid(range: &Range<f64>) -> impl Iterator<Item = f64> + '_ {
    (0..=STEPS).map(move |k| range.start + (range.end - range.start) * k as f64 / STEPS as f64)
}

#[cfg(test)]
mod tests {
    use std::ops::ControlFlow;

    use burn::backend::flex::FlexDevice;
    use burn::backend::{Autodiff, Flex};
    use rung_irt::bins::{Rule, Split};
    use rung_irt::simulate::{Design, simulate};
    use rung_irt::{FitOptions, ItemFlag, Model};

    use super::*;

    const TITLE: &str = "Simulated study";

    /// A 1PL fit of 200 simulated subjects on 100 items, with its first item marked as answered
    /// all correctly so that the flagged items' colour is drawn.
    fn fitted() -> Fit {
        let design = Design {
            subjects: 200,
            items: 100,
            model: Model::OnePl,
            missing: 0.0,
            seed: 7,
        };
        let (matrix, _) = simulate(&design);
        let mut fit = rung_irt::fit::<Autodiff<Flex>>(
            &matrix,
            &FitOptions::default(),
            &FlexDevice,
            &mut |_| ControlFlow::Continue(()),
        )
        .expect("the simulated matrix fits");
        fit.items[0].flag = Some(ItemFlag::AllCorrect);
        fit
    }

    fn read(dir: &Path, name: &str) -> String {
        fs::read_to_string(dir.join(name)).expect("the file was written")
    }

    /// The SVG attribute of a stroke in `colour`.
    fn stroke(colour: RGBColor) -> String {
        format!(
            "stroke=\"#{:02X}{:02X}{:02X}\"",
            colour.0, colour.1, colour.2
        )
    }

    #[test]
    fn the_report_draws_every_figure_and_the_bin_table() {
        let fit = fitted();
        let items: Vec<(String, f64)> = fit
            .items
            .iter()
            .map(|i| (i.id.clone(), i.difficulty))
            .collect();
        let split = Some(Split {
            test_fraction: 0.2,
            seed: 1,
        });
        let bins = rung_irt::bins::assign(&items, &Rule::Quantile { n: 5 }, split)
            .expect("100 items fill 5 bins");
        let dir = tempfile::tempdir().expect("a temporary directory");

        let written = difficulty_report(&fit, Some(&bins), TITLE, dir.path()).expect("written");
        assert_eq!(
            written,
            [
                "difficulty_histogram.svg",
                "item_curves.svg",
                "ability_accuracy.svg",
                "standard_errors.svg",
                "convergence.svg",
                "per_bin.csv",
            ]
        );
        let labels = [
            ("difficulty_histogram.svg", ["difficulty (logits)", "items"]),
            ("item_curves.svg", ["ability (logits)", "P(correct)"]),
            ("ability_accuracy.svg", ["ability (logits)", "accuracy"]),
            (
                "standard_errors.svg",
                ["difficulty (logits)", "standard error (logits)"],
            ),
            ("convergence.svg", ["iteration", fit.objective.as_str()]),
        ];
        for (name, axes) in labels {
            let svg = read(dir.path(), name);
            assert!(svg.starts_with("<svg"), "{name}");
            assert!(svg.trim_end().ends_with("</svg>"), "{name}");
            assert_eq!(
                svg.matches("<text").count(),
                svg.matches("</text>").count(),
                "{name}"
            );
            assert!(svg.contains(TITLE), "{name} has no title");
            for axis in axes {
                assert!(svg.contains(axis), "{name} has no axis label `{axis}`");
            }
        }

        let histogram = read(dir.path(), "difficulty_histogram.svg");
        assert_eq!(
            histogram.matches(&stroke(BOUNDARY)).count(),
            bins.len() - 1,
            "one line per boundary between bins"
        );
        assert!(histogram.contains("all correct or all wrong: 1"));
        let curves = read(dir.path(), "item_curves.svg");
        for item in curve_sample(&fit.items) {
            assert!(
                curves.contains(&curve_label(item)),
                "{} has no legend entry",
                item.id
            );
        }

        let table = read(dir.path(), "per_bin.csv");
        let rows: Vec<Vec<&str>> = table.lines().map(|l| l.split(',').collect()).collect();
        assert_eq!(
            rows[0].join(","),
            "bin,lower,upper,items,train,test,mean_difficulty,mean_p_correct"
        );
        assert_eq!(rows.len(), 6, "a header and 5 bins");
        let column = |k: usize| -> Vec<usize> {
            rows[1..]
                .iter()
                .map(|r| r[k].parse().expect("a count"))
                .collect()
        };
        assert_eq!(column(3).iter().sum::<usize>(), 100);
        assert_eq!(column(4).iter().sum::<usize>(), 80);
        assert_eq!(column(5).iter().sum::<usize>(), 20);
        let means: Vec<f64> = rows[1..]
            .iter()
            .map(|r| r[6].parse().expect("a mean"))
            .collect();
        assert!(means.windows(2).all(|w| w[0] < w[1]), "{means:?}");
    }

    #[test]
    fn without_bins_there_are_no_boundaries_and_no_table() {
        let fit = fitted();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let written = difficulty_report(&fit, None, TITLE, dir.path()).expect("written");
        assert_eq!(written.len(), 5);
        assert!(!dir.path().join("per_bin.csv").exists());
        let histogram = read(dir.path(), "difficulty_histogram.svg");
        assert!(!histogram.contains(&stroke(BOUNDARY)));

        let missing = dir.path().join("missing");
        let error = difficulty_report(&fit, None, TITLE, &missing).expect_err("no directory");
        assert!(error.to_string().contains("missing"), "{error}");
    }

    #[test]
    fn curves_follow_the_three_parameter_model() {
        let fit = fitted();
        let item = ItemEstimate {
            discrimination: 2.0,
            guessing: Some(0.2),
            ..fit.items[1].clone()
        };
        let b = item.difficulty;
        assert!((probability(&item, b) - 0.6).abs() < 1e-12);
        let logit = 2.0_f64 * 0.5;
        let expected = 0.2 + 0.8 / (1.0 + (-logit).exp());
        assert!((probability(&item, b + 0.5) - expected).abs() < 1e-12);
        assert!(
            probability(&item, b - 40.0) - 0.2 < 1e-12,
            "the guessing floor"
        );
        assert_eq!(
            curve_label(&item),
            format!("{}  b={b:.2} a=2.00 g=0.20", item.id)
        );
    }

    #[test]
    fn the_curve_sample_spans_the_difficulties() {
        let fit = fitted();
        let sample = curve_sample(&fit.items);
        assert_eq!(sample.len(), CURVES);
        assert!(sample.iter().all(|i| i.flag.is_none()));
        let unflagged: Vec<f64> = fit
            .items
            .iter()
            .filter(|i| i.flag.is_none())
            .map(|i| i.difficulty)
            .collect();
        let lowest = unflagged.iter().copied().fold(f64::INFINITY, f64::min);
        let highest = unflagged.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(sample[0].difficulty, lowest);
        assert_eq!(sample[CURVES - 1].difficulty, highest);
        assert!(sample.windows(2).all(|w| w[0].difficulty < w[1].difficulty));
    }
}
