//! Difficulty-aware model selection: on each eval bin, the candidate model that best trades
//! accuracy against its cost, as a table, JSON and a figure of every candidate's accuracy.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::Serialize;

use crate::style::{self, Area, CHART, FONT, INK, MUTED, category_colour, titled, write_figure};
use crate::{Formats, ReportError};

/// Width of the figure's legend panel.
const LEGEND_WIDTH: u32 = 190;

/// A model one may choose, and what it costs (per item, in any unit).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Candidate {
    /// The name shown in tables and figures.
    pub name: String,
    /// Its cost; non-negative.
    pub cost: f64,
}

/// How the candidate of a bin is chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rule {
    /// The cheapest candidate whose accuracy reaches this value (on a tie in cost, the more
    /// accurate); when none does, the most accurate (on a tie, the cheaper), flagged.
    Target(f64),
    /// The highest accuracy minus this weight times the cost (on a tie, the cheaper).
    Tradeoff(f64),
}

/// The accuracy of every candidate on every eval bin, and the rule that chooses among them.
#[derive(Clone, Debug, PartialEq)]
pub struct Selection {
    /// What the selection is about; opens the figure's caption.
    pub title: String,
    /// The metric compared, e.g. "exact_match".
    pub metric: String,
    /// The candidates, in the order of their costs.
    pub candidates: Vec<Candidate>,
    /// The eval bins' labels, easiest first.
    pub bins: Vec<String>,
    /// `accuracy[candidate][bin]`; `None` where missing (a non-finite value counts as missing).
    pub accuracy: Vec<Vec<Option<f64>>>,
    /// How a bin's candidate is chosen.
    pub rule: Rule,
}

/// The candidate chosen on one bin.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Choice {
    /// The bin's label.
    pub bin: String,
    /// The chosen candidate's index; `None` when no candidate has a value on the bin (ties go to
    /// the earlier candidate).
    pub chosen: Option<usize>,
    /// The chosen candidate's accuracy on the bin.
    pub accuracy: Option<f64>,
    /// The chosen candidate's cost.
    pub cost: Option<f64>,
    /// With a target, whether the chosen candidate reaches it (`false`: none does, and the most
    /// accurate was taken); `None` without a target.
    pub reached_target: Option<bool>,
    /// Accuracy minus the cost weight times the cost, under [`Rule::Tradeoff`].
    pub score: Option<f64>,
}

impl Selection {
    /// Checks the inputs: at least one candidate and one bin, distinct candidate names, finite
    /// non-negative costs, an accuracy per candidate and bin, a finite target and a finite
    /// non-negative cost weight. The error names what does not fit.
    pub fn check(&self) -> Result<(), ReportError> {
        let invalid = |what: String| Err(ReportError::invalid(format!("model selection: {what}")));
        let (candidates, bins) = (self.candidates.len(), self.bins.len());
        if candidates == 0 || bins == 0 {
            return invalid(format!(
                "it is empty ({candidates} candidates, {bins} bins)"
            ));
        }
        for (k, candidate) in self.candidates.iter().enumerate() {
            if !(candidate.cost.is_finite() && candidate.cost >= 0.0) {
                return invalid(format!(
                    "candidate `{}` costs {}; costs must be non-negative numbers",
                    candidate.name, candidate.cost
                ));
            }
            if self.candidates[..k]
                .iter()
                .any(|c| c.name == candidate.name)
            {
                return invalid(format!(
                    "two candidates are named `{}`; give each its own name",
                    candidate.name
                ));
            }
        }
        if self.accuracy.len() != candidates {
            return invalid(format!(
                "{} rows of accuracies for {candidates} candidates",
                self.accuracy.len()
            ));
        }
        if let Some((k, row)) = self
            .accuracy
            .iter()
            .enumerate()
            .find(|(_, row)| row.len() != bins)
        {
            return invalid(format!(
                "candidate `{}` has {} accuracies for {bins} bins",
                self.candidates[k].name,
                row.len()
            ));
        }
        match self.rule {
            Rule::Target(target) if !target.is_finite() => {
                invalid(format!("the target {target} is not a number"))
            }
            Rule::Tradeoff(weight) if !(weight.is_finite() && weight >= 0.0) => invalid(format!(
                "the cost weight {weight} must be a non-negative number"
            )),
            _ => Ok(()),
        }
    }

    /// The accuracy of `candidate` on `bin`; `None` when missing, out of range or not finite.
    pub fn value(&self, candidate: usize, bin: usize) -> Option<f64> {
        self.accuracy
            .get(candidate)?
            .get(bin)
            .copied()
            .flatten()
            .filter(|v| v.is_finite())
    }

    /// The choice on every bin, in bin order; see [`Rule`].
    pub fn choose(&self) -> Vec<Choice> {
        (0..self.bins.len())
            .map(|bin| self.choose_on(bin))
            .collect()
    }

    /// The choice on `bin`.
    fn choose_on(&self, bin: usize) -> Choice {
        let present: Vec<Entry> = (0..self.candidates.len())
            .filter_map(|k| Some((k, self.value(k, bin)?, self.candidates[k].cost)))
            .collect();
        let most_accurate = |a: &Entry, b: &Entry| a.1 > b.1 || (a.1 == b.1 && a.2 < b.2);
        let (chosen, reached, score) = match self.rule {
            Rule::Target(target) => {
                let reaching: Vec<Entry> =
                    present.iter().copied().filter(|c| c.1 >= target).collect();
                let cheapest = |a: &Entry, b: &Entry| a.2 < b.2 || (a.2 == b.2 && a.1 > b.1);
                match best(&reaching, cheapest) {
                    Some(c) => (Some(c), Some(true), None),
                    None => {
                        let fallback = best(&present, most_accurate);
                        (fallback, fallback.map(|_| false), None)
                    }
                }
            }
            Rule::Tradeoff(weight) => {
                let score = |c: &Entry| c.1 - weight * c.2;
                let higher = |a: &Entry, b: &Entry| {
                    score(a) > score(b) || (score(a) == score(b) && a.2 < b.2)
                };
                let chosen = best(&present, higher);
                (chosen, None, chosen.map(|c| score(&c)))
            }
        };
        Choice {
            bin: self.bins[bin].clone(),
            chosen: chosen.map(|c| c.0),
            accuracy: chosen.map(|c| c.1),
            cost: chosen.map(|c| c.2),
            reached_target: reached,
            score,
        }
    }
}

/// A candidate on a bin: its index, its accuracy and its cost.
type Entry = (usize, f64, f64);

/// The entry of `among` that no other beats (`better(a, b)`: whether `a` beats `b`); the first
/// of equals.
fn best(among: &[Entry], better: impl Fn(&Entry, &Entry) -> bool) -> Option<Entry> {
    among.iter().fold(None, |best, c| match best {
        Some(b) if !better(c, &b) => Some(b),
        _ => Some(*c),
    })
}

/// What `selection.json` holds.
#[derive(Serialize)]
struct Saved<'a> {
    title: &'a str,
    metric: &'a str,
    target: Option<f64>,
    cost_weight: Option<f64>,
    candidates: Vec<CandidateSummary<'a>>,
    bins: Vec<BinSummary<'a>>,
    /// The mean accuracy and cost over the bins of always taking the chosen candidate.
    selected: Means,
}

/// A candidate with its mean accuracy over the bins it has values on.
#[derive(Serialize)]
struct CandidateSummary<'a> {
    name: &'a str,
    cost: f64,
    mean_accuracy: Option<f64>,
    chosen_on: usize,
}

/// One bin: its choice and every candidate's accuracy.
#[derive(Serialize)]
struct BinSummary<'a> {
    #[serde(flatten)]
    choice: &'a Choice,
    chosen_name: Option<&'a str>,
    accuracies: Vec<Option<f64>>,
}

/// Means over the bins that have a value.
#[derive(Serialize)]
struct Means {
    mean_accuracy: Option<f64>,
    mean_cost: Option<f64>,
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// Writes the model selection report into `out` (an existing directory), as `formats` asks:
/// - `selection.svg`/`.png`: the metric against the eval bin, a line per candidate, the chosen
///   candidate of each bin ringed (a square when it misses the target), the target dashed;
/// - `selection.csv`: `bin,chosen,accuracy,cost,reached_target`, then `accuracy_<name>` per
///   candidate, one row per bin, empty where missing;
/// - `selection.json`: the rule, the candidates with their mean accuracy and how many bins
///   chose them, every bin's choice and accuracies, and the selection's mean accuracy and cost.
///
/// Returns the names of the files written, relative to `out`.
pub fn write_model_selection(
    selection: &Selection,
    formats: &Formats,
    out: &Path,
) -> Result<Vec<String>, ReportError> {
    selection.check()?;
    let choices = selection.choose();
    let mut written = Vec::new();
    write_figure(out, "selection", CHART, formats, &mut written, |root| {
        figure(root, selection, &choices)
    })?;
    if formats.csv {
        written.push(style::write_text(
            out,
            "selection.csv",
            &table(selection, &choices)?,
        )?);
    }
    if formats.json {
        let (target, cost_weight) = match selection.rule {
            Rule::Target(t) => (Some(t), None),
            Rule::Tradeoff(w) => (None, Some(w)),
        };
        let saved = Saved {
            title: &selection.title,
            metric: &selection.metric,
            target,
            cost_weight,
            candidates: selection
                .candidates
                .iter()
                .enumerate()
                .map(|(k, c)| CandidateSummary {
                    name: &c.name,
                    cost: c.cost,
                    mean_accuracy: mean(
                        (0..selection.bins.len()).filter_map(|b| selection.value(k, b)),
                    ),
                    chosen_on: choices.iter().filter(|c| c.chosen == Some(k)).count(),
                })
                .collect(),
            bins: choices
                .iter()
                .enumerate()
                .map(|(b, choice)| BinSummary {
                    choice,
                    chosen_name: choice.chosen.map(|k| selection.candidates[k].name.as_str()),
                    accuracies: (0..selection.candidates.len())
                        .map(|k| selection.value(k, b))
                        .collect(),
                })
                .collect(),
            selected: Means {
                mean_accuracy: mean(choices.iter().filter_map(|c| c.accuracy)),
                mean_cost: mean(choices.iter().filter_map(|c| c.cost)),
            },
        };
        written.push(style::write_json(out, "selection.json", &saved)?);
    }
    Ok(written)
}

/// `selection.csv`: one row per bin.
fn table(selection: &Selection, choices: &[Choice]) -> Result<String, ReportError> {
    let invalid = |e: String| ReportError::invalid(format!("cannot write selection.csv: {e}"));
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = ["bin", "chosen", "accuracy", "cost", "reached_target"]
        .map(String::from)
        .to_vec();
    header.extend(
        selection
            .candidates
            .iter()
            .map(|c| format!("accuracy_{}", c.name)),
    );
    writer
        .write_record(&header)
        .map_err(|e| invalid(e.to_string()))?;
    for (b, choice) in choices.iter().enumerate() {
        let mut row = vec![
            choice.bin.clone(),
            choice
                .chosen
                .map(|k| selection.candidates[k].name.clone())
                .unwrap_or_default(),
            style::cell(choice.accuracy),
            style::cell(choice.cost),
            choice
                .reached_target
                .map(|r| r.to_string())
                .unwrap_or_default(),
        ];
        row.extend((0..selection.candidates.len()).map(|k| style::cell(selection.value(k, b))));
        writer
            .write_record(&row)
            .map_err(|e| invalid(e.to_string()))?;
    }
    let bytes = writer.into_inner().map_err(|e| invalid(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| invalid(e.to_string()))
}

/// The metric against the eval bin, a line per candidate, each bin's choice marked.
fn figure(root: &Area<'_>, selection: &Selection, choices: &[Choice]) -> Result<(), ReportError> {
    let bins = selection.bins.len();
    let candidates = selection.candidates.len();
    let target = match selection.rule {
        Rule::Target(t) => Some(t),
        Rule::Tradeoff(_) => None,
    };
    let values = (0..candidates)
        .flat_map(|k| (0..bins).map(move |b| selection.value(k, b)))
        .flatten()
        .chain(target);
    let area = titled(
        root,
        &selection.title,
        &format!("{} by eval bin, chosen model ringed", selection.metric),
    )?;
    let (plot, key) = area.split_horizontally(CHART.0 - LEGEND_WIDTH);
    let mut chart = style::bin_chart(&plot, &selection.bins, &selection.metric, values)?;

    if let Some(t) = target {
        chart.draw_series(DashedLineSeries::new(
            [(-0.4, t), (bins as f64 - 0.6, t)],
            7,
            5,
            MUTED.stroke_width(1),
        ))?;
    }
    for k in 0..candidates {
        let colour = category_colour(k);
        // Runs of consecutive present values: a missing value breaks the line.
        let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for b in 0..bins {
            match selection.value(k, b) {
                Some(v) => {
                    if let Some(run) = runs.last_mut() {
                        run.push((b as f64, v));
                    }
                }
                None => runs.push(Vec::new()),
            }
        }
        for run in runs.into_iter().filter(|r| !r.is_empty()) {
            chart.draw_series(LineSeries::new(run.clone(), colour.stroke_width(2)))?;
            chart.draw_series(run.into_iter().map(|p| Circle::new(p, 3, colour.filled())))?;
        }
    }
    for (b, choice) in choices.iter().enumerate() {
        let (Some(k), Some(v)) = (choice.chosen, choice.accuracy) else {
            continue;
        };
        let colour = category_colour(k);
        if choice.reached_target == Some(false) {
            chart.draw_series([EmptyElement::at((b as f64, v))
                + Rectangle::new([(-6, -6), (6, 6)], colour.stroke_width(2))])?;
        } else {
            chart.draw_series([Circle::new((b as f64, v), 7, colour.stroke_width(2))])?;
        }
    }

    // The legend: each candidate with its cost, then the markers and the rule.
    let label = |size: f64| {
        TextStyle::from((FONT, size).into_font())
            .color(&INK)
            .pos(Pos::new(HPos::Left, VPos::Center))
    };
    key.draw(&Text::new(
        "candidate (cost)",
        (8, 22),
        TextStyle::from((FONT, 15).into_font()).color(&INK),
    ))?;
    let step = 22;
    let mut y = 50;
    for (k, candidate) in selection.candidates.iter().enumerate() {
        let colour = category_colour(k);
        key.draw(&PathElement::new([(8, y), (34, y)], colour.stroke_width(2)))?;
        key.draw(&Circle::new((21, y), 3, colour.filled()))?;
        key.draw(&Text::new(
            format!("{} ({})", candidate.name, candidate.cost),
            (42, y),
            label(13.0),
        ))?;
        y += step;
    }
    y += step / 2;
    key.draw(&Circle::new((21, y), 7, MUTED.stroke_width(2)))?;
    key.draw(&Text::new("chosen", (42, y), label(13.0)))?;
    y += step;
    let rule = match selection.rule {
        Rule::Target(t) => {
            key.draw(&Rectangle::new(
                [(15, y - 6), (27, y + 6)],
                MUTED.stroke_width(2),
            ))?;
            key.draw(&Text::new("chosen, below target", (42, y), label(13.0)))?;
            y += step;
            for s in 0..3 {
                key.draw(&PathElement::new(
                    [(8 + 10 * s, y), (14 + 10 * s, y)],
                    MUTED.stroke_width(1),
                ))?;
            }
            key.draw(&Text::new(format!("target {t}"), (42, y), label(13.0)))?;
            "cheapest reaching the target".to_string()
        }
        Rule::Tradeoff(w) => format!("best {} − {w} × cost", selection.metric),
    };
    y += step + step / 2;
    key.draw(&Text::new(rule, (8, y), label(12.0)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    /// Two candidates on three bins:
    ///
    /// ```text
    ///              bin 0  bin 1  bin 2
    /// small (1)     0.90   0.60   0.20
    /// large (8)     0.95   0.85   0.40
    /// ```
    fn two_sizes(rule: Rule) -> Selection {
        Selection {
            title: "toy".into(),
            metric: "exact_match".into(),
            candidates: vec![
                Candidate {
                    name: "small".into(),
                    cost: 1.0,
                },
                Candidate {
                    name: "large".into(),
                    cost: 8.0,
                },
            ],
            bins: vec!["0".into(), "1".into(), "2".into()],
            accuracy: vec![
                vec![Some(0.90), Some(0.60), Some(0.20)],
                vec![Some(0.95), Some(0.85), Some(0.40)],
            ],
            rule,
        }
    }

    fn chosen(selection: &Selection) -> Vec<Option<usize>> {
        selection.choose().iter().map(|c| c.chosen).collect()
    }

    #[test]
    fn a_target_takes_the_cheapest_that_reaches_it() {
        let selection = two_sizes(Rule::Target(0.8));
        let choices = selection.choose();
        assert_eq!(chosen(&selection), [Some(0), Some(1), Some(1)]);
        let reached: Vec<_> = choices.iter().map(|c| c.reached_target).collect();
        assert_eq!(reached, [Some(true), Some(true), Some(false)]);
        assert_eq!(
            choices[2].accuracy,
            Some(0.40),
            "none reaches: the most accurate"
        );
        assert_eq!(choices[0].cost, Some(1.0));
        assert!(choices.iter().all(|c| c.score.is_none()));
    }

    #[test]
    fn without_a_target_accuracy_is_traded_against_cost() {
        // Free cost: the most accurate everywhere.
        assert_eq!(chosen(&two_sizes(Rule::Tradeoff(0.0))), [Some(1); 3]);
        // 0.02 per unit: large costs 0.14 more, worth it only where it gains more (bins 1, 2).
        let selection = two_sizes(Rule::Tradeoff(0.02));
        assert_eq!(chosen(&selection), [Some(0), Some(1), Some(1)]);
        let score = selection.choose()[0].score.expect("a score");
        assert!((score - 0.88).abs() < 1e-12, "{score}");
        assert!(
            selection
                .choose()
                .iter()
                .all(|c| c.reached_target.is_none())
        );
    }

    #[test]
    fn ties_go_to_the_cheaper_then_the_earlier_and_missing_values_are_skipped() {
        let mut selection = two_sizes(Rule::Tradeoff(0.0));
        selection.accuracy[0][0] = Some(0.95);
        selection.accuracy[1][1] = None;
        selection.accuracy[0][2] = Some(f64::NAN);
        selection.accuracy[1][2] = None;
        let choices = selection.choose();
        assert_eq!(choices[0].chosen, Some(0), "equal accuracy: the cheaper");
        assert_eq!(choices[1].chosen, Some(0), "the only value");
        assert_eq!(choices[2].chosen, None, "no values");
        assert_eq!(choices[2].accuracy, None);
        selection.candidates[1].cost = 1.0;
        selection.accuracy[1][0] = Some(0.95);
        assert_eq!(
            selection.choose()[0].chosen,
            Some(0),
            "all equal: the earlier"
        );
    }

    #[test]
    fn check_names_what_does_not_fit() {
        assert!(two_sizes(Rule::Target(0.5)).check().is_ok());
        type Break = fn(&mut Selection);
        let cases: [(Break, &str); 6] = [
            (
                |s| s.candidates[1].cost = -1.0,
                "candidate `large` costs -1; costs must be non-negative",
            ),
            (
                |s| s.candidates[1].name = "small".into(),
                "two candidates are named `small`",
            ),
            (
                |s| {
                    s.accuracy[0].pop();
                },
                "candidate `small` has 2 accuracies for 3 bins",
            ),
            (
                |s| s.accuracy.truncate(1),
                "1 rows of accuracies for 2 candidates",
            ),
            (|s| s.rule = Rule::Tradeoff(-0.1), "cost weight -0.1"),
            (
                |s| {
                    s.bins.clear();
                    s.accuracy = vec![Vec::new(), Vec::new()];
                },
                "it is empty (2 candidates, 0 bins)",
            ),
        ];
        for (break_it, message) in cases {
            let mut selection = two_sizes(Rule::Target(0.5));
            break_it(&mut selection);
            let error = selection.check().expect_err(message).to_string();
            assert!(error.contains(message), "{error}");
        }
    }

    #[test]
    fn the_files_asked_for_are_written() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let selection = two_sizes(Rule::Target(0.8));
        let written =
            write_model_selection(&selection, &Formats::ALL, dir.path()).expect("written");
        assert_eq!(
            written,
            [
                "selection.svg",
                "selection.png",
                "selection.csv",
                "selection.json"
            ]
        );
        let csv = fs::read_to_string(dir.path().join("selection.csv")).expect("csv");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "bin,chosen,accuracy,cost,reached_target,accuracy_small,accuracy_large"
        );
        assert_eq!(lines[1], "0,small,0.9,1,true,0.9,0.95");
        assert_eq!(lines[3], "2,large,0.4,8,false,0.2,0.4");
        let json: serde_json::Value = serde_json::from_str(
            &fs::read_to_string(dir.path().join("selection.json")).expect("json"),
        )
        .expect("valid JSON");
        assert_eq!(json["target"], 0.8);
        assert_eq!(json["bins"][1]["chosen_name"], "large");
        assert_eq!(json["candidates"][1]["chosen_on"], 2);
        let mean = json["selected"]["mean_cost"].as_f64().expect("a mean");
        assert!((mean - 17.0 / 3.0).abs() < 1e-12, "{mean}");
        let svg = fs::read_to_string(dir.path().join("selection.svg")).expect("svg");
        assert!(
            svg.contains("small (1)") && svg.contains("target 0.8"),
            "the legend"
        );

        let only_csv = tempfile::tempdir().expect("a temporary directory");
        let formats = Formats::parse(&["csv"]).expect("known");
        let written = write_model_selection(&selection, &formats, only_csv.path()).expect("ok");
        assert_eq!(written, ["selection.csv"]);

        let mut bad = selection;
        bad.candidates[0].cost = f64::NAN;
        assert!(write_model_selection(&bad, &Formats::ALL, dir.path()).is_err());
    }
}
