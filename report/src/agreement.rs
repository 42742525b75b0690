//! How IRT difficulty agrees with a heuristic difficulty (MATH level, question length, ...): rank
//! correlations, a scatter plot with the levels of a discrete heuristic summarised, CSV and JSON.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use crate::style::{self, Area, CHART, FONT, INK, titled, write_figure};
use crate::{Formats, ReportError};

/// One item: its IRT difficulty and its heuristic difficulty.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgreementPoint {
    /// The item's id.
    pub id: String,
    /// Its IRT difficulty (logits).
    pub irt: f64,
    /// Its heuristic difficulty (a level, a length, a count of steps, ...).
    pub heuristic: f64,
}

/// A rank correlation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Correlation {
    /// Spearman's rho, ties given their average rank.
    #[default]
    Spearman,
    /// Kendall's tau-b, which corrects for ties.
    Kendall,
}

impl Correlation {
    /// The correlation of `xs` and `ys`; see [`spearman`] and [`kendall_tau_b`].
    pub fn of(&self, xs: &[f64], ys: &[f64]) -> Option<f64> {
        match self {
            Self::Spearman => spearman(xs, ys),
            Self::Kendall => kendall_tau_b(xs, ys),
        }
    }

    /// The name as written in files: `spearman` or `kendall`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Spearman => "spearman",
            Self::Kendall => "kendall",
        }
    }

    /// The name and symbol as written in figures.
    fn symbol(&self) -> &'static str {
        match self {
            Self::Spearman => "Spearman ρ",
            Self::Kendall => "Kendall τb",
        }
    }
}

impl FromStr for Correlation {
    type Err = ReportError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "spearman" => Ok(Self::Spearman),
            "kendall" | "kendall_tau_b" => Ok(Self::Kendall),
            _ => Err(ReportError::invalid(format!(
                "unknown correlation `{name}`; use spearman or kendall"
            ))),
        }
    }
}

impl fmt::Display for Correlation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether the pairs can be correlated: same length, at least two, all finite.
fn usable(xs: &[f64], ys: &[f64]) -> bool {
    xs.len() == ys.len() && xs.len() >= 2 && xs.iter().chain(ys).all(|v| v.is_finite())
}

/// Ranks from 1, tied values sharing the average of their ranks.
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Positions start..end hold ranks start+1..=end; their mean:
        let rank = (start + 1 + end) as f64 / 2.0;
        for &k in &order[start..end] {
            ranks[k] = rank;
        }
        start = end;
    }
    ranks
}

/// Spearman's rank correlation of `xs` and `ys`: the Pearson correlation of their ranks, ties
/// given their average rank. `None` when the lengths differ, there are fewer than two pairs, a
/// value is not finite, or either side is constant.
pub fn spearman(xs: &[f64], ys: &[f64]) -> Option<f64> {
    if !usable(xs, ys) {
        return None;
    }
    let (rx, ry) = (ranks(xs), ranks(ys));
    let n = rx.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in rx.iter().zip(&ry) {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    if sxx == 0.0 || syy == 0.0 {
        return None;
    }
    Some((sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0))
}

/// Kendall's tau-b of `xs` and `ys`: (concordant - discordant) / sqrt((n0 - n1)(n0 - n2)), where
/// n0 counts all pairs and n1, n2 the pairs tied in x and in y. `None` as for [`spearman`].
///
/// Counts every pair: quadratic, about a second for 30,000 items.
pub fn kendall_tau_b(xs: &[f64], ys: &[f64]) -> Option<f64> {
    if !usable(xs, ys) {
        return None;
    }
    let n = xs.len();
    let (mut score, mut tied_x, mut tied_y) = (0i64, 0u64, 0u64);
    for i in 0..n {
        for j in i + 1..n {
            let sx = sign(xs[i] - xs[j]);
            let sy = sign(ys[i] - ys[j]);
            score += sx * sy;
            tied_x += u64::from(sx == 0);
            tied_y += u64::from(sy == 0);
        }
    }
    let pairs = (n * (n - 1) / 2) as u64;
    let denominator = ((pairs - tied_x) as f64 * (pairs - tied_y) as f64).sqrt();
    if denominator == 0.0 {
        return None;
    }
    Some((score as f64 / denominator).clamp(-1.0, 1.0))
}

fn sign(v: f64) -> i64 {
    if v > 0.0 {
        1
    } else if v < 0.0 {
        -1
    } else {
        0
    }
}

/// A heuristic with this many distinct integer values or fewer is drawn level by level.
const MAX_LEVELS: usize = 12;

/// One level of a discrete heuristic.
#[derive(Clone, Debug, PartialEq, Serialize)]
struct Level {
    level: f64,
    items: usize,
    mean_difficulty: f64,
    median_difficulty: f64,
    lower_quartile: f64,
    upper_quartile: f64,
}

/// What `agreement.json` holds.
#[derive(Serialize)]
struct Summary<'a> {
    heuristic: &'a str,
    correlation: Correlation,
    value: Option<f64>,
    n: usize,
    /// Items left out for a value that is not finite.
    dropped: usize,
    /// Per level, for a discrete heuristic.
    levels: Option<Vec<Level>>,
}

/// The levels of a discrete heuristic (few distinct integers), else `None`.
fn levels(points: &[&AgreementPoint]) -> Option<Vec<Level>> {
    let mut by_level: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for p in points {
        if p.heuristic.fract() != 0.0 || p.heuristic.abs() > 1e15 {
            return None;
        }
        by_level.entry(p.heuristic as i64).or_default().push(p.irt);
        if by_level.len() > MAX_LEVELS {
            return None;
        }
    }
    Some(
        by_level
            .into_iter()
            .map(|(level, mut irt)| {
                irt.sort_by(f64::total_cmp);
                let quantile = |q: f64| {
                    let position = q * (irt.len() - 1) as f64;
                    let (below, above) = (position.floor() as usize, position.ceil() as usize);
                    irt[below] + (irt[above] - irt[below]) * (position - below as f64)
                };
                Level {
                    level: level as f64,
                    items: irt.len(),
                    mean_difficulty: irt.iter().sum::<f64>() / irt.len() as f64,
                    median_difficulty: quantile(0.5),
                    lower_quartile: quantile(0.25),
                    upper_quartile: quantile(0.75),
                }
            })
            .collect(),
    )
}

/// Writes the agreement report into `out` (an existing directory):
/// - `agreement.svg`/`.png`: IRT difficulty (y) against the heuristic (x), one dot per item; for
///   a discrete heuristic (at most 12 distinct integers) dots are spread sideways and each level
///   gets a box from the lower to the upper quartile, its median, and its mean (joined across
///   levels); the caption gives the correlation;
/// - `agreement.csv`: `id,heuristic,irt`, one row per item;
/// - `agreement.json`: heuristic, correlation kind, value, n, dropped items, and per level the
///   items and the mean, median and quartiles of difficulty.
///
/// Items with a value that is not finite are left out of the figure and the correlation. Returns
/// the names of the files written, relative to `out`.
pub fn write_agreement(
    points: &[AgreementPoint],
    heuristic_name: &str,
    correlation: Correlation,
    title: &str,
    formats: &Formats,
    out: &Path,
) -> Result<Vec<String>, ReportError> {
    if points.is_empty() {
        return Err(ReportError::invalid(format!(
            "the agreement with `{heuristic_name}` has no items"
        )));
    }
    let kept: Vec<&AgreementPoint> = points
        .iter()
        .filter(|p| p.irt.is_finite() && p.heuristic.is_finite())
        .collect();
    let xs: Vec<f64> = kept.iter().map(|p| p.heuristic).collect();
    let ys: Vec<f64> = kept.iter().map(|p| p.irt).collect();
    let summary = Summary {
        heuristic: heuristic_name,
        correlation,
        value: correlation.of(&xs, &ys),
        n: kept.len(),
        dropped: points.len() - kept.len(),
        levels: levels(&kept),
    };

    let mut written = Vec::new();
    write_figure(out, "agreement", CHART, formats, &mut written, |root| {
        scatter(root, &kept, &summary, title)
    })?;
    if formats.csv {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let invalid =
            |e: &dyn fmt::Display| ReportError::invalid(format!("cannot write agreement.csv: {e}"));
        writer
            .write_record(["id", "heuristic", "irt"])
            .map_err(|e| invalid(&e))?;
        for p in points {
            writer
                .write_record([
                    p.id.clone(),
                    style::cell(Some(p.heuristic)),
                    style::cell(Some(p.irt)),
                ])
                .map_err(|e| invalid(&e))?;
        }
        let bytes = writer.into_inner().map_err(|e| invalid(&e))?;
        written.push(style::write_bytes(out, "agreement.csv", &bytes)?);
    }
    if formats.json {
        written.push(style::write_json(out, "agreement.json", &summary)?);
    }
    Ok(written)
}

/// Dots.
const DOT: RGBColor = RGBColor(76, 114, 176);
/// Level means.
const MEAN: RGBColor = RGBColor(196, 58, 62);

fn scatter(
    root: &Area<'_>,
    points: &[&AgreementPoint],
    summary: &Summary<'_>,
    title: &str,
) -> Result<(), ReportError> {
    let value = match summary.value {
        Some(v) => format!("{} = {v:.2}", summary.correlation.symbol()),
        None => format!("{} undefined", summary.correlation.symbol()),
    };
    let what = format!(
        "IRT difficulty against {} ({value}, n = {})",
        summary.heuristic, summary.n
    );
    let area = titled(root, title, &what)?;
    let x = match &summary.levels {
        Some(levels) => {
            let low = levels.first().map_or(0.0, |l| l.level);
            let high = levels.last().map_or(0.0, |l| l.level);
            low - 0.6..high + 0.6
        }
        None => style::span(points.iter().map(|p| p.heuristic), 0.04),
    };
    let y = style::span(points.iter().map(|p| p.irt), 0.06);
    let mut chart = ChartBuilder::on(&area)
        .margin(15)
        .margin_right(25)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(x, y)?;
    let discrete = summary.levels.is_some();
    let integer = |v: &f64| {
        if !discrete || (v - v.round()).abs() < 1e-6 {
            format!("{}", (v * 1000.0).round() / 1000.0)
        } else {
            String::new()
        }
    };
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(TRANSPARENT)
        .bold_line_style(BLACK.mix(0.08))
        .x_label_formatter(&integer)
        .x_desc(summary.heuristic)
        .y_desc("IRT difficulty (logits)")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16));
    if let Some(levels) = &summary.levels {
        mesh.disable_x_mesh().x_labels(levels.len());
    }
    mesh.draw()?;

    // Many items: small translucent dots.
    let (radius, alpha) = if points.len() > 2000 {
        (2, 0.25)
    } else {
        (3, 0.5)
    };
    chart.draw_series(points.iter().enumerate().map(|(k, p)| {
        let x = if discrete {
            p.heuristic + jitter(k) * 0.28
        } else {
            p.heuristic
        };
        Circle::new((x, p.irt), radius, DOT.mix(alpha).filled())
    }))?;
    if let Some(levels) = &summary.levels {
        for level in levels {
            let (x, w) = (level.level, 0.32);
            chart.draw_series([Rectangle::new(
                [(x - w, level.lower_quartile), (x + w, level.upper_quartile)],
                INK.stroke_width(2),
            )])?;
            chart.draw_series([PathElement::new(
                [
                    (x - w, level.median_difficulty),
                    (x + w, level.median_difficulty),
                ],
                INK.stroke_width(2),
            )])?;
        }
        let means: Vec<(f64, f64)> = levels
            .iter()
            .map(|l| (l.level, l.mean_difficulty))
            .collect();
        chart
            .draw_series(LineSeries::new(means.clone(), MEAN.stroke_width(2)))?
            .label("mean per level")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 14, y)], MEAN.stroke_width(2)));
        chart.draw_series(means.into_iter().map(|p| Circle::new(p, 5, MEAN.filled())))?;
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
            .label("median and quartiles")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], INK.stroke_width(2)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.3))
            .label_font((FONT, 13))
            .draw()?;
    }
    Ok(())
}

/// A deterministic offset in [-1, 1] for the `k`th item (a fixed sequence, not random).
fn jitter(k: usize) -> f64 {
    // The fractional part of k times the golden ratio: evenly spread, no clumps.
    let t = (k as f64 * 0.618_033_988_749_895).fract();
    2.0 * t - 1.0
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    /// Two series with ties on both sides.
    const XS: [f64; 10] = [1.0, 2.0, 2.0, 3.0, 4.0, 4.0, 4.0, 5.0, 6.0, 7.0];
    const YS: [f64; 10] = [0.3, 0.1, 0.5, 0.5, 0.9, 0.2, 0.9, 1.4, 1.1, 2.0];
    /// Reference values from SciPy 1.17.1, computed once in a throwaway virtual environment
    /// (`python3 -m venv /tmp/v && /tmp/v/bin/pip install scipy`):
    /// `scipy.stats.spearmanr(XS, YS).statistic` and `scipy.stats.kendalltau(XS, YS).statistic`
    /// (SciPy's default variant is tau-b).
    const SPEARMAN: f64 = 0.820_468_826_398_678_4;
    const KENDALL: f64 = 0.714_488_262_344_311_4;

    #[test]
    fn correlations_match_scipy_with_ties() {
        let rho = spearman(&XS, &YS).expect("defined");
        let tau = kendall_tau_b(&XS, &YS).expect("defined");
        assert!((rho - SPEARMAN).abs() < 1e-12, "{rho} != {SPEARMAN}");
        assert!((tau - KENDALL).abs() < 1e-12, "{tau} != {KENDALL}");
    }

    #[test]
    fn correlations_by_hand() {
        // Perfect agreement and reversal.
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [10.0, 20.0, 30.0, 40.0];
        let r: Vec<f64> = b.iter().rev().copied().collect();
        assert_eq!(spearman(&a, &b), Some(1.0));
        assert_eq!(kendall_tau_b(&a, &r), Some(-1.0));
        // x = [1, 1, 2], y = [1, 2, 3]: pairs (0,1) tied in x, (0,2) and (1,2) concordant:
        // tau-b = 2 / sqrt((3 - 1) * 3) = 0.8165; ranks x = [1.5, 1.5, 3], y = [1, 2, 3]:
        // rho = 1.5 / sqrt(1.5 * 2) = 0.8660.
        let tau = kendall_tau_b(&[1.0, 1.0, 2.0], &[1.0, 2.0, 3.0]).expect("defined");
        assert!((tau - 2.0 / 6.0_f64.sqrt()).abs() < 1e-12, "{tau}");
        let rho = spearman(&[1.0, 1.0, 2.0], &[1.0, 2.0, 3.0]).expect("defined");
        assert!((rho - 1.5 / 3.0_f64.sqrt()).abs() < 1e-12, "{rho}");
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), [3.5, 1.0, 3.5, 2.0]);
        // Undefined: constant side, too few, mismatched, not finite.
        assert_eq!(spearman(&[1.0, 1.0], &[1.0, 2.0]), None);
        assert_eq!(kendall_tau_b(&[1.0, 1.0], &[1.0, 2.0]), None);
        assert_eq!(spearman(&[1.0], &[1.0]), None);
        assert_eq!(spearman(&[1.0, 2.0], &[1.0]), None);
        assert_eq!(kendall_tau_b(&[1.0, f64::NAN], &[1.0, 2.0]), None);
    }

    fn points() -> Vec<AgreementPoint> {
        XS.iter()
            .zip(YS)
            .enumerate()
            .map(|(k, (&h, irt))| AgreementPoint {
                id: format!("item{k}"),
                irt,
                heuristic: h,
            })
            .chain([AgreementPoint {
                id: "nan".to_string(),
                irt: f64::NAN,
                heuristic: 1.0,
            }])
            .collect()
    }

    #[test]
    fn the_report_summarises_levels() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let written = write_agreement(
            &points(),
            "level",
            Correlation::Kendall,
            "MATH",
            &Formats::ALL,
            dir.path(),
        )
        .expect("written");
        assert_eq!(
            written,
            [
                "agreement.svg",
                "agreement.png",
                "agreement.csv",
                "agreement.json"
            ]
        );
        let json: serde_json::Value = serde_json::from_str(
            &fs::read_to_string(dir.path().join("agreement.json")).expect("written"),
        )
        .expect("JSON");
        assert_eq!(json["heuristic"], "level");
        assert_eq!(json["correlation"], "kendall");
        assert_eq!(json["n"], 10);
        assert_eq!(json["dropped"], 1);
        let value = json["value"].as_f64().expect("a value");
        assert!((value - KENDALL).abs() < 1e-12);
        let levels = json["levels"].as_array().expect("discrete");
        assert_eq!(levels.len(), 7);
        // Level 4: difficulties 0.9, 0.2, 0.9.
        assert_eq!(levels[3]["level"], 4.0);
        assert_eq!(levels[3]["items"], 3);
        let mean = levels[3]["mean_difficulty"].as_f64().expect("a mean");
        assert!((mean - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(levels[3]["median_difficulty"], 0.9);
        let csv = fs::read_to_string(dir.path().join("agreement.csv")).expect("written");
        assert_eq!(csv.lines().next(), Some("id,heuristic,irt"));
        assert_eq!(csv.lines().count(), 12);
        let svg = fs::read_to_string(dir.path().join("agreement.svg")).expect("written");
        assert!(
            svg.contains("Kendall τb = "),
            "the caption gives the correlation"
        );
        assert!(svg.contains("mean per level"));
    }

    #[test]
    fn a_continuous_heuristic_has_no_levels() {
        let continuous: Vec<AgreementPoint> = (0..40)
            .map(|k| AgreementPoint {
                id: k.to_string(),
                irt: f64::from(k) * 0.1,
                heuristic: f64::from(k) * 7.5,
            })
            .collect();
        let dir = tempfile::tempdir().expect("a temporary directory");
        write_agreement(
            &continuous,
            "question length",
            Correlation::Spearman,
            "",
            &Formats::parse(&["json", "svg"]).expect("known"),
            dir.path(),
        )
        .expect("written");
        let json: serde_json::Value = serde_json::from_str(
            &fs::read_to_string(dir.path().join("agreement.json")).expect("written"),
        )
        .expect("JSON");
        assert!(json["levels"].is_null());
        assert_eq!(json["value"], 1.0);
        let error = write_agreement(
            &[],
            "level",
            Correlation::Spearman,
            "",
            &Formats::ALL,
            dir.path(),
        )
        .expect_err("no items");
        assert!(error.to_string().contains("`level`"), "{error}");
    }
}
