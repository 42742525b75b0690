//! The study's central plot: the gain over the baseline against the difficulty gap (eval bin
//! minus train bin), pooled across matrices, with percentile bootstrap intervals.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::style::{self, Area, CHART, FONT, INK, MUTED, category_colour, titled, write_figure};
use crate::{Formats, Matrix, ReportError};

/// How the gains of a gap are pooled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Statistic {
    /// The mean gain.
    #[default]
    Mean,
    /// The median gain.
    Median,
}

impl Statistic {
    /// The statistic's name: `mean` or `median`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Mean => "mean",
            Self::Median => "median",
        }
    }

    /// The statistic of `values` (not empty). Reorders `values` for the median.
    fn of(&self, values: &mut [f64]) -> f64 {
        match self {
            Self::Mean => values.iter().sum::<f64>() / values.len() as f64,
            Self::Median => {
                values.sort_by(f64::total_cmp);
                let n = values.len();
                if n % 2 == 1 {
                    values[n / 2]
                } else {
                    (values[n / 2 - 1] + values[n / 2]) / 2.0
                }
            }
        }
    }
}

impl FromStr for Statistic {
    type Err = ReportError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "mean" => Ok(Self::Mean),
            "median" => Ok(Self::Median),
            _ => Err(ReportError::invalid(format!(
                "unknown statistic `{name}`; use mean or median"
            ))),
        }
    }
}

impl fmt::Display for Statistic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How [`write_gain_by_gap`] pools and draws.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GapOptions {
    /// Mean or median of the gains at each gap.
    pub statistic: Statistic,
    /// Bootstrap resamples for the confidence intervals; 0 draws no intervals.
    pub bootstrap: usize,
    /// The intervals' confidence level, in (0, 1).
    pub confidence: f64,
    /// Seeds the resampling (ChaCha8): the same seed gives the same intervals.
    pub seed: u64,
    /// Opens the figure's caption.
    pub title: String,
    /// Whether each matrix's own curve is drawn faintly behind the pooled one.
    pub per_matrix: bool,
    /// Which files to write.
    pub formats: Formats,
}

impl Default for GapOptions {
    fn default() -> Self {
        Self {
            statistic: Statistic::Mean,
            bootstrap: 2000,
            confidence: 0.95,
            seed: 0,
            title: String::new(),
            per_matrix: true,
            formats: Formats::ALL,
        }
    }
}

/// The pooled gain at one gap.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GapPoint {
    /// Eval bin index minus train bin index.
    pub gap: i64,
    /// The cells pooled.
    pub cells: usize,
    /// Their mean or median gain.
    pub statistic: f64,
    /// The interval's lower end, without bootstrap `None`.
    pub lower: Option<f64>,
    /// The interval's upper end, without bootstrap `None`.
    pub upper: Option<f64>,
}

/// One matrix's own curve.
#[derive(Serialize)]
struct MatrixCurve<'a> {
    label: &'a str,
    points: Vec<GapPoint>,
}

/// What `gain_by_gap.json` holds.
#[derive(Serialize)]
struct Summary<'a> {
    statistic: Statistic,
    bootstrap: usize,
    confidence: f64,
    seed: u64,
    metric: Option<&'a str>,
    points: &'a [GapPoint],
    matrices: Vec<MatrixCurve<'a>>,
}

/// Pools the gains (value minus baseline) of every cell of every matrix by gap, as
/// [`GapOptions`] says: one point per gap with at least one cell, gaps ascending.
///
/// Intervals are percentile bootstrap intervals: each gap's cells resampled with replacement
/// `bootstrap` times (each gap on its own ChaCha8 stream, so a gap's interval does not depend on
/// the others). A matrix without a baseline is an error naming its label.
pub fn pool_gain_by_gap(
    matrices: &[(String, Matrix)],
    options: &GapOptions,
) -> Result<Vec<GapPoint>, ReportError> {
    let pooled = gains(matrices)?;
    check(options)?;
    Ok(summarise(&pooled, options))
}

/// The gains of every matrix by gap; errors for bad matrices or no cells at all.
fn gains(matrices: &[(String, Matrix)]) -> Result<BTreeMap<i64, Vec<f64>>, ReportError> {
    if matrices.is_empty() {
        return Err(ReportError::invalid(
            "the gain by gap needs at least one matrix",
        ));
    }
    let mut pooled: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for (label, matrix) in matrices {
        for (gap, gains) in by_gap(label, matrix)? {
            pooled.entry(gap).or_default().extend(gains);
        }
    }
    if pooled.is_empty() {
        return Err(ReportError::invalid(
            "the gain by gap has no cell with both a value and a baseline",
        ));
    }
    Ok(pooled)
}

/// One matrix's gains by gap, or an error naming its label.
fn by_gap(label: &str, matrix: &Matrix) -> Result<Vec<(i64, Vec<f64>)>, ReportError> {
    matrix
        .check()
        .map_err(|e| ReportError::invalid(format!("matrix `{label}`: {e}")))?;
    matrix.gain_by_gap().ok_or_else(|| {
        ReportError::invalid(format!(
            "matrix `{label}` has no baseline: the gain by gap needs one"
        ))
    })
}

fn check(options: &GapOptions) -> Result<(), ReportError> {
    if !(options.confidence > 0.0 && options.confidence < 1.0) {
        return Err(ReportError::invalid(format!(
            "the confidence level must lie strictly between 0 and 1, not {}",
            options.confidence
        )));
    }
    Ok(())
}

fn summarise(pooled: &BTreeMap<i64, Vec<f64>>, options: &GapOptions) -> Vec<GapPoint> {
    pooled
        .iter()
        .map(|(&gap, gains)| {
            let statistic = options.statistic.of(&mut gains.clone());
            let (lower, upper) = match bootstrap(gap, gains, options) {
                Some((lower, upper)) => (Some(lower), Some(upper)),
                None => (None, None),
            };
            GapPoint {
                gap,
                cells: gains.len(),
                statistic,
                lower,
                upper,
            }
        })
        .collect()
}

/// The percentile bootstrap interval of the statistic of `gains`; `None` without resamples.
fn bootstrap(gap: i64, gains: &[f64], options: &GapOptions) -> Option<(f64, f64)> {
    if options.bootstrap == 0 || gains.is_empty() {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    // Each gap its own stream: the same seed, independent draws.
    rng.set_stream(gap as u64);
    let mut sample = vec![0.0; gains.len()];
    let mut statistics: Vec<f64> = (0..options.bootstrap)
        .map(|_| {
            for slot in sample.iter_mut() {
                *slot = gains[rng.random_range(0..gains.len())];
            }
            options.statistic.of(&mut sample)
        })
        .collect();
    statistics.sort_by(f64::total_cmp);
    let tail = (1.0 - options.confidence) / 2.0;
    Some((
        quantile(&statistics, tail),
        quantile(&statistics, 1.0 - tail),
    ))
}

/// The `q` quantile of sorted `values` (not empty), interpolating linearly between neighbours.
fn quantile(values: &[f64], q: f64) -> f64 {
    let position = q * (values.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = position.ceil() as usize;
    let f = position - below as f64;
    values[below] + (values[above] - values[below]) * f
}

/// Writes the gain by gap report into `out` (an existing directory):
/// - `gain_by_gap.svg`/`.png`: the pooled statistic at each gap with its interval, a line at 0,
///   and (with `per_matrix`) each matrix's own curve faintly, in a legend by label;
/// - `gain_by_gap.csv`: `gap,cells,statistic,lower,upper`;
/// - `gain_by_gap.json`: the options, the pooled points and each matrix's points.
///
/// Returns the names of the files written, relative to `out`.
pub fn write_gain_by_gap(
    matrices: &[(String, Matrix)],
    options: &GapOptions,
    out: &Path,
) -> Result<Vec<String>, ReportError> {
    let pooled = gains(matrices)?;
    check(options)?;
    let points = summarise(&pooled, options);
    let single = GapOptions {
        bootstrap: 0,
        ..options.clone()
    };
    let mut curves = Vec::new();
    for (label, matrix) in matrices {
        let gaps: BTreeMap<i64, Vec<f64>> = by_gap(label, matrix)?.into_iter().collect();
        curves.push(MatrixCurve {
            label,
            points: summarise(&gaps, &single),
        });
    }
    let metric = matrices
        .first()
        .map(|(_, m)| m.metric.as_str())
        .filter(|first| matrices.iter().all(|(_, m)| m.metric == *first));
    let baseline = matrices
        .first()
        .map(|(_, m)| m.baseline_label.as_str())
        .filter(|first| matrices.iter().all(|(_, m)| m.baseline_label == *first))
        .unwrap_or("baseline");

    let mut written = Vec::new();
    write_figure(
        out,
        "gain_by_gap",
        CHART,
        &options.formats,
        &mut written,
        |root| draw(root, &points, &curves, options, metric, baseline),
    )?;
    if options.formats.csv {
        let mut csv = String::from("gap,cells,statistic,lower,upper\n");
        for p in &points {
            csv.push_str(&format!(
                "{},{},{},{},{}\n",
                p.gap,
                p.cells,
                style::cell(Some(p.statistic)),
                style::cell(p.lower),
                style::cell(p.upper)
            ));
        }
        written.push(style::write_text(out, "gain_by_gap.csv", &csv)?);
    }
    if options.formats.json {
        let summary = Summary {
            statistic: options.statistic,
            bootstrap: options.bootstrap,
            confidence: options.confidence,
            seed: options.seed,
            metric,
            points: &points,
            matrices: curves,
        };
        written.push(style::write_json(out, "gain_by_gap.json", &summary)?);
    }
    Ok(written)
}

/// The pooled curve.
const POOLED: RGBColor = RGBColor(31, 59, 115);
/// Width of the legend panel.
const LEGEND_WIDTH: u32 = 210;

fn draw(
    root: &Area<'_>,
    points: &[GapPoint],
    curves: &[MatrixCurve<'_>],
    options: &GapOptions,
    metric: Option<&str>,
    baseline: &str,
) -> Result<(), ReportError> {
    let first = points.first().map_or(0, |p| p.gap);
    let last = points.last().map_or(0, |p| p.gap);
    let x = first as f64 - 0.6..last as f64 + 0.6;
    let drawn_curves: &[MatrixCurve<'_>] = if options.per_matrix { curves } else { &[] };
    let y = style::span(
        points
            .iter()
            .flat_map(|p| [Some(p.statistic), p.lower, p.upper])
            .flatten()
            .chain(
                drawn_curves
                    .iter()
                    .flat_map(|c| c.points.iter().map(|p| p.statistic)),
            )
            .chain([0.0]),
        0.08,
    );

    let area = titled(
        root,
        &options.title,
        &format!("gain over {baseline} by difficulty gap"),
    )?;
    let (plot, key) = area.split_horizontally(CHART.0 - LEGEND_WIDTH);
    let mut chart = ChartBuilder::on(&plot)
        .margin(15)
        .margin_right(5)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .build_cartesian_2d(x.clone(), y)?;
    let label_of = |v: &f64| {
        let k = v.round();
        if (v - k).abs() < 1e-6 {
            match k as i64 {
                0 => "0".to_string(),
                gap if gap < 0 => format!("−{}", -gap),
                gap => format!("+{gap}"),
            }
        } else {
            String::new()
        }
    };
    let y_desc = match metric {
        Some(metric) => format!("gain in {metric}"),
        None => "gain".to_string(),
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(BLACK.mix(0.08))
        .x_labels((last - first + 1) as usize)
        .x_label_formatter(&label_of)
        .x_desc("difficulty gap (eval bin − train bin)")
        .y_desc(y_desc)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .draw()?;
    chart.draw_series(DashedLineSeries::new(
        [(x.start, 0.0), (x.end, 0.0)],
        6,
        4,
        MUTED.stroke_width(1),
    ))?;

    for (k, curve) in drawn_curves.iter().enumerate() {
        let colour = category_colour(k).mix(0.45);
        let line: Vec<(f64, f64)> = curve
            .points
            .iter()
            .map(|p| (p.gap as f64, p.statistic))
            .collect();
        chart.draw_series(LineSeries::new(line.clone(), colour.stroke_width(1)))?;
        chart.draw_series(line.into_iter().map(|p| Circle::new(p, 2, colour.filled())))?;
    }

    let line: Vec<(f64, f64)> = points.iter().map(|p| (p.gap as f64, p.statistic)).collect();
    chart.draw_series(LineSeries::new(line.clone(), POOLED.stroke_width(2)))?;
    for p in points {
        if let (Some(lower), Some(upper)) = (p.lower, p.upper) {
            let g = p.gap as f64;
            let bars = [
                [(g, lower), (g, upper)],
                [(g - 0.12, lower), (g + 0.12, lower)],
                [(g - 0.12, upper), (g + 0.12, upper)],
            ];
            chart.draw_series(
                bars.into_iter()
                    .map(|b| PathElement::new(b, POOLED.stroke_width(2))),
            )?;
        }
    }
    chart.draw_series(line.into_iter().map(|p| Circle::new(p, 4, POOLED.filled())))?;

    // The legend panel.
    let text = |size: f64, colour: RGBColor| {
        style::text_style(size, colour, Pos::new(HPos::Left, VPos::Center))
    };
    let mut y = 26;
    key.draw(&PathElement::new([(8, y), (34, y)], POOLED.stroke_width(2)))?;
    key.draw(&Circle::new((21, y), 5, POOLED.filled()))?;
    key.draw(&Text::new(
        format!("pooled {}", options.statistic),
        (42, y),
        text(14.0, INK),
    ))?;
    y += 18;
    let cells: usize = points.iter().map(|p| p.cells).sum();
    let note = if options.bootstrap > 0 {
        format!(
            "{:.0}% bootstrap CI, {} cells",
            options.confidence * 100.0,
            cells
        )
    } else {
        format!("{cells} cells")
    };
    key.draw(&Text::new(note, (42, y), text(12.0, MUTED)))?;
    y += 30;
    if !drawn_curves.is_empty() {
        let step = (300 / drawn_curves.len().max(1) as i32).clamp(11, 20);
        for (k, curve) in drawn_curves.iter().enumerate() {
            let colour = category_colour(k).mix(0.7);
            key.draw(&PathElement::new([(8, y), (34, y)], colour.stroke_width(2)))?;
            key.draw(&Text::new(
                shorten(curve.label, 22),
                (42, y),
                text(f64::from(step).clamp(10.0, 13.0), INK),
            ))?;
            y += step;
        }
    }
    Ok(())
}

/// `text` cut to `chars` characters with an ellipsis.
pub(crate) fn shorten(text: &str, chars: usize) -> String {
    if text.chars().count() > chars {
        text.chars().take(chars - 1).chain(['…']).collect()
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::matrix::tests::three_by_three;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// The toy matrix and a second one whose every value is 0.1 above the first's.
    fn two() -> Vec<(String, Matrix)> {
        let first = three_by_three();
        let mut second = three_by_three();
        for row in &mut second.values {
            for v in row.iter_mut().flatten() {
                *v += 0.1;
            }
        }
        vec![("first".to_string(), first), ("second".to_string(), second)]
    }

    #[test]
    fn pooled_means_match_a_hand_computation() {
        let options = GapOptions {
            bootstrap: 0,
            ..GapOptions::default()
        };
        let points = pool_gain_by_gap(&two(), &options).expect("pooled");
        // First matrix gains by gap (see matrix::tests): -2: [0.05]; -1: [0.10]; 0: [0.2 x3];
        // 1: [0.10, 0.10]; 2: [-0.05]. The second adds 0.1 to each.
        let want = [
            (-2, 2, (0.05 + 0.15) / 2.0),
            (-1, 2, (0.10 + 0.20) / 2.0),
            (0, 6, (3.0 * 0.2 + 3.0 * 0.3) / 6.0),
            (1, 4, (2.0 * 0.1 + 2.0 * 0.2) / 4.0),
            (2, 2, (-0.05 + 0.05) / 2.0),
        ];
        assert_eq!(points.len(), want.len());
        for (p, (gap, cells, mean)) in points.iter().zip(want) {
            assert_eq!((p.gap, p.cells), (gap, cells));
            assert!(
                close(p.statistic, mean),
                "gap {gap}: {} != {mean}",
                p.statistic
            );
            assert_eq!((p.lower, p.upper), (None, None));
        }

        let median = GapOptions {
            statistic: Statistic::Median,
            bootstrap: 0,
            ..GapOptions::default()
        };
        let mut three = two();
        let mut third = three_by_three();
        third.values[0][0] = Some(0.9); // gain 0.4 at gap 0
        three.push(("third".to_string(), third));
        let points = pool_gain_by_gap(&three, &median).expect("pooled");
        let zero = points.iter().find(|p| p.gap == 0).expect("gap 0");
        // Gap 0: [0.2, 0.2, 0.2, 0.3, 0.3, 0.3, 0.4, 0.2, 0.2]: median 0.2.
        assert_eq!(zero.cells, 9);
        assert!(close(zero.statistic, 0.2), "{}", zero.statistic);
    }

    #[test]
    fn bootstrap_intervals_hold_the_statistic_and_are_reproducible() {
        let options = GapOptions {
            bootstrap: 500,
            seed: 11,
            ..GapOptions::default()
        };
        let points = pool_gain_by_gap(&two(), &options).expect("pooled");
        for p in &points {
            let (lower, upper) = (p.lower.expect("an interval"), p.upper.expect("an interval"));
            assert!(
                lower <= p.statistic + 1e-12 && p.statistic <= upper + 1e-12,
                "{p:?}"
            );
        }
        // Gap 0 mixes gains 0.2 and 0.3: a real interval inside [0.2, 0.3].
        let zero = points.iter().find(|p| p.gap == 0).expect("gap 0");
        let (lower, upper) = (zero.lower.expect("lower"), zero.upper.expect("upper"));
        assert!(
            lower < upper && lower >= 0.2 - 1e-12 && upper <= 0.3 + 1e-12,
            "{zero:?}"
        );
        assert_eq!(points, pool_gain_by_gap(&two(), &options).expect("again"));
        let other = GapOptions {
            seed: 12,
            ..options.clone()
        };
        let other = pool_gain_by_gap(&two(), &other).expect("pooled");
        assert_ne!(points, other, "a different seed draws differently");
    }

    #[test]
    fn equal_gains_give_a_point_interval() {
        let options = GapOptions {
            bootstrap: 200,
            ..GapOptions::default()
        };
        let points = pool_gain_by_gap(&two()[..1], &options).expect("pooled");
        // Gap 0 of the toy matrix: three gains of 0.2.
        let zero = points.iter().find(|p| p.gap == 0).expect("gap 0");
        assert!(close(zero.lower.expect("lower"), 0.2) && close(zero.upper.expect("upper"), 0.2));
    }

    #[test]
    fn a_matrix_without_baseline_is_named() {
        let mut matrices = two();
        matrices[1].1.baseline = None;
        let error = pool_gain_by_gap(&matrices, &GapOptions::default()).expect_err("no baseline");
        assert!(error.to_string().contains("`second`"), "{error}");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let error = write_gain_by_gap(&matrices, &GapOptions::default(), dir.path())
            .expect_err("no baseline");
        assert!(
            error.to_string().contains("`second` has no baseline"),
            "{error}"
        );
        assert!(pool_gain_by_gap(&[], &GapOptions::default()).is_err());
        let bad = GapOptions {
            confidence: 1.0,
            ..GapOptions::default()
        };
        assert!(pool_gain_by_gap(&two(), &bad).is_err());
    }

    #[test]
    fn the_report_writes_figure_and_tables() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let options = GapOptions {
            bootstrap: 100,
            title: "toy study".to_string(),
            ..GapOptions::default()
        };
        let written = write_gain_by_gap(&two(), &options, dir.path()).expect("written");
        assert_eq!(
            written,
            [
                "gain_by_gap.svg",
                "gain_by_gap.png",
                "gain_by_gap.csv",
                "gain_by_gap.json"
            ]
        );
        let csv = fs::read_to_string(dir.path().join("gain_by_gap.csv")).expect("written");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "gap,cells,statistic,lower,upper");
        assert_eq!(lines.len(), 6);
        assert!(lines[3].starts_with("0,6,0.25"), "{}", lines[3]);
        let svg = fs::read_to_string(dir.path().join("gain_by_gap.svg")).expect("written");
        for text in [
            "toy study: gain over zero-shot by difficulty gap",
            "difficulty gap (eval bin − train bin)",
            "gain in exact_match",
            "pooled mean",
            "first",
            "second",
        ] {
            assert!(svg.contains(&format!(">\n{text}\n</text>")), "no `{text}`");
        }
        let json: serde_json::Value = serde_json::from_str(
            &fs::read_to_string(dir.path().join("gain_by_gap.json")).expect("written"),
        )
        .expect("JSON");
        assert_eq!(json["statistic"], "mean");
        assert_eq!(json["points"].as_array().map(Vec::len), Some(5));
        assert_eq!(json["matrices"][1]["label"], "second");
    }
}
