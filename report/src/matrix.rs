//! The generalization matrix: accuracy of each train bin's model on each eval bin, with the
//! zero-shot baseline, its differences from the baseline, and its file `matrix.json`.

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::ReportError;

/// The file [`Matrix::save`] writes and [`Matrix::open`] reads.
pub const MATRIX_FILE: &str = "matrix.json";

/// A generalization matrix: one row per training bin, one column per evaluation bin.
///
/// Cells hold a metric such as accuracy; a missing cell is `None` (a non-finite value counts as
/// missing too). The baseline is the untuned model's row (zero-shot), one value per eval bin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    /// What the matrix is about, e.g. "Qwen2.5-1.5B on GSM8K"; opens every figure's caption.
    pub title: String,
    /// The metric in the cells, e.g. "exact_match".
    pub metric: String,
    /// Row labels: the training bins, easiest first.
    pub train_labels: Vec<String>,
    /// Column labels: the evaluation bins, easiest first.
    pub eval_labels: Vec<String>,
    /// `values[train][eval]`; `None` where the cell is missing.
    pub values: Vec<Vec<Option<f64>>>,
    /// `items[train][eval]`: the items scored for each cell; empty when not recorded.
    #[serde(default)]
    pub items: Vec<Vec<usize>>,
    /// The zero-shot row, one value per eval bin.
    #[serde(default)]
    pub baseline: Option<Vec<Option<f64>>>,
    /// How the baseline is labelled, e.g. "zero-shot".
    #[serde(default = "zero_shot")]
    pub baseline_label: String,
}

fn zero_shot() -> String {
    "zero-shot".to_string()
}

/// What `matrix.json` holds: the matrix and its derived differences from the baseline.
#[derive(Serialize)]
struct Saved<'a> {
    #[serde(flatten)]
    matrix: &'a Matrix,
    delta: Option<Vec<Vec<Option<f64>>>>,
}

impl Matrix {
    /// Checks that the shapes agree: at least one train and one eval label, a row of values per
    /// train label with a cell per eval label, `items` empty or of the same shape, and a baseline
    /// value per eval label. The error names the part that does not fit.
    pub fn check(&self) -> Result<(), ReportError> {
        let name = if self.title.is_empty() {
            "the matrix".to_string()
        } else {
            format!("matrix `{}`", self.title)
        };
        let invalid = |what: String| Err(ReportError::invalid(format!("{name}: {what}")));
        let (rows, columns) = (self.train_labels.len(), self.eval_labels.len());
        if rows == 0 || columns == 0 {
            return invalid(format!(
                "it is empty ({rows} train labels, {columns} eval labels)"
            ));
        }
        if self.values.len() != rows {
            return invalid(format!(
                "values has {} rows but there are {rows} train labels",
                self.values.len()
            ));
        }
        if let Some((row, cells)) = self
            .values
            .iter()
            .enumerate()
            .find(|(_, r)| r.len() != columns)
        {
            return invalid(format!(
                "row {row} of values has {} cells but there are {columns} eval labels",
                cells.len()
            ));
        }
        if !self.items.is_empty() {
            if self.items.len() != rows {
                return invalid(format!(
                    "items has {} rows but there are {rows} train labels",
                    self.items.len()
                ));
            }
            if let Some((row, cells)) = self
                .items
                .iter()
                .enumerate()
                .find(|(_, r)| r.len() != columns)
            {
                return invalid(format!(
                    "row {row} of items has {} cells but there are {columns} eval labels",
                    cells.len()
                ));
            }
        }
        if let Some(baseline) = &self.baseline
            && baseline.len() != columns
        {
            return invalid(format!(
                "the baseline has {} values but there are {columns} eval labels",
                baseline.len()
            ));
        }
        Ok(())
    }

    /// The cell at `train`, `eval`; `None` when missing, out of range or not finite.
    pub fn value(&self, train: usize, eval: usize) -> Option<f64> {
        finite(self.values.get(train)?.get(eval).copied().flatten())
    }

    /// The baseline at `eval`; `None` without a baseline or when missing or not finite.
    pub fn baseline_value(&self, eval: usize) -> Option<f64> {
        finite(self.baseline.as_ref()?.get(eval).copied().flatten())
    }

    /// The items scored for a cell, when recorded.
    pub fn items_at(&self, train: usize, eval: usize) -> Option<usize> {
        self.items.get(train)?.get(eval).copied()
    }

    /// `value - baseline` per cell (`[train][eval]`), missing where either is; `None` without a
    /// baseline.
    pub fn delta(&self) -> Option<Vec<Vec<Option<f64>>>> {
        self.baseline.as_ref()?;
        Some(
            (0..self.values.len())
                .map(|t| {
                    (0..self.values[t].len())
                        .map(|e| Some(self.value(t, e)? - self.baseline_value(e)?))
                        .collect()
                })
                .collect(),
        )
    }

    /// The gains over the baseline grouped by difficulty gap, `eval index - train index` (so the
    /// train and eval labels must name the same bins in the same order): one entry per gap that
    /// has at least one cell, gaps ascending, gains in row order. `None` without a baseline.
    pub fn gain_by_gap(&self) -> Option<Vec<(i64, Vec<f64>)>> {
        let delta = self.delta()?;
        let mut gaps: Vec<(i64, Vec<f64>)> = Vec::new();
        for (t, row) in delta.iter().enumerate() {
            for (e, gain) in row.iter().enumerate() {
                let Some(gain) = *gain else { continue };
                let gap = e as i64 - t as i64;
                match gaps.binary_search_by_key(&gap, |g| g.0) {
                    Ok(k) => gaps[k].1.push(gain),
                    Err(k) => gaps.insert(k, (gap, vec![gain])),
                }
            }
        }
        Some(gaps)
    }

    /// Writes the matrix and its derived `delta` to `dir/matrix.json`; returns the file name.
    pub fn save(&self, dir: &Path) -> Result<String, ReportError> {
        let path = dir.join(MATRIX_FILE);
        let saved = Saved {
            matrix: self,
            delta: self.delta(),
        };
        let text = serde_json::to_string_pretty(&saved).map_err(|e| ReportError::json(&path, e))?;
        fs::write(&path, text + "\n").map_err(|e| ReportError::io(&path, e))?;
        Ok(MATRIX_FILE.to_string())
    }

    /// Reads `dir/matrix.json` back and checks its shapes; errors name the file.
    pub fn open(dir: &Path) -> Result<Self, ReportError> {
        let path = dir.join(MATRIX_FILE);
        let text = fs::read_to_string(&path).map_err(|e| ReportError::io(&path, e))?;
        let matrix: Self = serde_json::from_str(&text).map_err(|e| ReportError::json(&path, e))?;
        matrix
            .check()
            .map_err(|e| ReportError::invalid(format!("{}: {e}", path.display())))?;
        Ok(matrix)
    }
}

fn finite(value: Option<f64>) -> Option<f64> {
    value.filter(|v| v.is_finite())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A 3x3 matrix with a baseline and one missing cell:
    ///
    /// ```text
    ///            eval 0  eval 1  eval 2
    /// zero-shot   0.50    0.30    0.10
    /// train 0     0.70    0.40    0.05
    /// train 1     0.60    0.50    0.20
    /// train 2     0.55    -       0.30
    /// ```
    pub(crate) fn three_by_three() -> Matrix {
        Matrix {
            title: "toy".to_string(),
            metric: "exact_match".to_string(),
            train_labels: vec!["0".into(), "1".into(), "2".into()],
            eval_labels: vec!["0".into(), "1".into(), "2".into()],
            values: vec![
                vec![Some(0.70), Some(0.40), Some(0.05)],
                vec![Some(0.60), Some(0.50), Some(0.20)],
                vec![Some(0.55), None, Some(0.30)],
            ],
            items: vec![vec![100, 100, 100], vec![100, 100, 100], vec![100, 0, 100]],
            baseline: Some(vec![Some(0.50), Some(0.30), Some(0.10)]),
            baseline_label: "zero-shot".to_string(),
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn delta_subtracts_the_baseline_per_column() {
        let delta = three_by_three().delta().expect("a baseline");
        let expected = [
            [Some(0.20), Some(0.10), Some(-0.05)],
            [Some(0.10), Some(0.20), Some(0.10)],
            [Some(0.05), None, Some(0.20)],
        ];
        for (row, want) in delta.iter().zip(expected) {
            for (got, want) in row.iter().zip(want) {
                match (got, want) {
                    (Some(g), Some(w)) => assert!(close(*g, w), "{g} != {w}"),
                    (None, None) => {}
                    _ => panic!("{got:?} != {want:?}"),
                }
            }
        }
        let mut no_baseline = three_by_three();
        no_baseline.baseline = None;
        assert!(no_baseline.delta().is_none());
        assert!(no_baseline.gain_by_gap().is_none());
    }

    #[test]
    fn gains_are_grouped_by_eval_minus_train() {
        let gaps = three_by_three().gain_by_gap().expect("a baseline");
        let want: [(i64, &[f64]); 5] = [
            (-2, &[0.05]),
            (-1, &[0.10]), // (1,0); (2,1) is missing
            (0, &[0.20, 0.20, 0.20]),
            (1, &[0.10, 0.10]),
            (2, &[-0.05]),
        ];
        assert_eq!(gaps.len(), want.len(), "{gaps:?}");
        for ((gap, gains), (want_gap, want_gains)) in gaps.iter().zip(want) {
            assert_eq!(*gap, want_gap);
            assert_eq!(gains.len(), want_gains.len(), "gap {gap}: {gains:?}");
            for (g, w) in gains.iter().zip(want_gains) {
                assert!(close(*g, *w), "gap {gap}: {g} != {w}");
            }
        }
    }

    #[test]
    fn not_finite_values_count_as_missing() {
        let mut matrix = three_by_three();
        matrix.values[0][0] = Some(f64::NAN);
        assert_eq!(matrix.value(0, 0), None);
        assert_eq!(matrix.delta().expect("a baseline")[0][0], None);
    }

    #[test]
    fn check_names_the_part_that_does_not_fit() {
        assert!(three_by_three().check().is_ok());
        type Break = fn(&mut Matrix);
        let cases: [(Break, &str); 5] = [
            (
                |m| {
                    m.values[1].pop();
                },
                "row 1 of values has 2 cells but there are 3 eval labels",
            ),
            (
                |m| m.values.truncate(2),
                "values has 2 rows but there are 3 train labels",
            ),
            (
                |m| m.items[2].push(1),
                "row 2 of items has 4 cells but there are 3 eval labels",
            ),
            (
                |m| m.baseline = Some(vec![Some(0.1)]),
                "the baseline has 1 values but there are 3 eval labels",
            ),
            (
                |m| {
                    m.train_labels.clear();
                    m.values.clear();
                },
                "it is empty",
            ),
        ];
        for (break_it, message) in cases {
            let mut matrix = three_by_three();
            break_it(&mut matrix);
            let error = matrix.check().expect_err(message).to_string();
            assert!(error.contains(message), "{error}");
            assert!(error.contains("`toy`"), "{error}");
        }
        let mut unrecorded = three_by_three();
        unrecorded.items.clear();
        assert!(unrecorded.check().is_ok(), "items may be left unrecorded");
    }

    #[test]
    fn save_and_open_round_trip() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let matrix = three_by_three();
        assert_eq!(matrix.save(dir.path()).expect("saved"), MATRIX_FILE);
        let text = fs::read_to_string(dir.path().join(MATRIX_FILE)).expect("written");
        let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let delta = &json["delta"];
        assert!((delta[0][2].as_f64().expect("a number") + 0.05).abs() < 1e-12);
        assert!(delta[2][1].is_null(), "the missing cell");
        assert_eq!(Matrix::open(dir.path()).expect("read back"), matrix);
    }

    #[test]
    fn a_malformed_file_is_named() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        fs::write(dir.path().join(MATRIX_FILE), "{\"title\": 3").expect("written");
        let error = Matrix::open(dir.path()).expect_err("malformed").to_string();
        assert!(error.contains("matrix.json"), "{error}");
        assert!(error.contains("invalid JSON"), "{error}");

        let mut ragged = three_by_three();
        ragged.values[0].push(Some(0.1));
        ragged.save(dir.path()).expect("saved");
        let error = Matrix::open(dir.path()).expect_err("ragged").to_string();
        assert!(error.contains("matrix.json"), "{error}");
        assert!(error.contains("row 0 of values"), "{error}");

        let error = Matrix::open(&dir.path().join("absent")).expect_err("absent");
        assert!(error.to_string().contains("absent"), "{error}");
    }
}
