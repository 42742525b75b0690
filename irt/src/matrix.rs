//! The response matrix: which subject (model) answered which item correctly, with missing cells.

use std::collections::{HashMap, HashSet};
use std::fmt;

/// A cell of the matrix: wrong.
pub const WRONG: u8 = 0;
/// A cell of the matrix: correct.
pub const CORRECT: u8 = 1;
/// A cell of the matrix: no response recorded.
pub const MISSING: u8 = u8::MAX;

/// A dense subjects x items matrix of 0/1 responses, row-major, with [`MISSING`] cells.
///
/// Subject and item ids are unique; every cell is [`WRONG`], [`CORRECT`] or [`MISSING`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseMatrix {
    subjects: Vec<String>,
    items: Vec<String>,
    cells: Vec<u8>,
}

/// Why a matrix cannot be built from its parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MatrixError {
    /// The cell count is not subjects x items.
    Shape {
        /// Number of subjects.
        subjects: usize,
        /// Number of items.
        items: usize,
        /// Number of cells given.
        cells: usize,
    },
    /// An id appears twice.
    Duplicate {
        /// "subject" or "item".
        what: &'static str,
        /// The repeated id.
        id: String,
    },
    /// A cell holds something other than 0, 1 or missing.
    Value {
        /// Index of the cell's subject.
        subject: usize,
        /// Index of the cell's item.
        item: usize,
        /// The value found.
        value: u8,
    },
}

impl fmt::Display for MatrixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Shape {
                subjects,
                items,
                cells,
            } => write!(f, "{cells} cells do not make a {subjects} x {items} matrix"),
            Self::Duplicate { what, id } => write!(f, "{what} id `{id}` appears twice"),
            Self::Value {
                subject,
                item,
                value,
            } => write!(
                f,
                "cell ({subject}, {item}) holds {value}, expected 0, 1 or missing"
            ),
        }
    }
}

impl std::error::Error for MatrixError {}

/// Summary counts of one row or column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Observed (non-missing) responses.
    pub observed: usize,
    /// Correct responses.
    pub correct: usize,
}

impl Counts {
    /// Share of observed responses that are correct (NaN with none observed).
    pub fn p_correct(self) -> f64 {
        self.correct as f64 / self.observed as f64
    }
}

impl ResponseMatrix {
    /// Builds a matrix from ids and row-major cells, checking shape, uniqueness and values.
    pub fn new(
        subjects: Vec<String>,
        items: Vec<String>,
        cells: Vec<u8>,
    ) -> Result<Self, MatrixError> {
        if subjects.len().checked_mul(items.len()) != Some(cells.len()) {
            return Err(MatrixError::Shape {
                subjects: subjects.len(),
                items: items.len(),
                cells: cells.len(),
            });
        }
        check_unique("subject", &subjects)?;
        check_unique("item", &items)?;
        if let Some(at) = cells
            .iter()
            .position(|&c| c != WRONG && c != CORRECT && c != MISSING)
        {
            return Err(MatrixError::Value {
                subject: at / items.len(),
                item: at % items.len(),
                value: cells[at],
            });
        }
        Ok(Self {
            subjects,
            items,
            cells,
        })
    }

    /// Subject ids, in row order.
    pub fn subjects(&self) -> &[String] {
        &self.subjects
    }

    /// Item ids, in column order.
    pub fn items(&self) -> &[String] {
        &self.items
    }

    /// Number of subjects (rows).
    pub fn n_subjects(&self) -> usize {
        self.subjects.len()
    }

    /// Number of items (columns).
    pub fn n_items(&self) -> usize {
        self.items.len()
    }

    /// All cells, row-major.
    pub fn cells(&self) -> &[u8] {
        &self.cells
    }

    /// One subject's responses, in item order.
    pub fn row(&self, subject: usize) -> &[u8] {
        let n = self.items.len();
        &self.cells[subject * n..(subject + 1) * n]
    }

    /// The response of `subject` to `item`: `None` when missing.
    pub fn get(&self, subject: usize, item: usize) -> Option<bool> {
        match self.cells[subject * self.items.len() + item] {
            MISSING => None,
            cell => Some(cell == CORRECT),
        }
    }

    /// Whether any cell is missing.
    pub fn has_missing(&self) -> bool {
        self.cells.contains(&MISSING)
    }

    /// Share of cells that are missing.
    pub fn missing_fraction(&self) -> f64 {
        if self.cells.is_empty() {
            return 0.0;
        }
        self.cells.iter().filter(|&&c| c == MISSING).count() as f64 / self.cells.len() as f64
    }

    /// Observed and correct counts of each subject, in row order.
    pub fn subject_counts(&self) -> Vec<Counts> {
        (0..self.n_subjects())
            .map(|s| {
                self.row(s)
                    .iter()
                    .fold(Counts::default(), |acc, &c| Counts {
                        observed: acc.observed + usize::from(c != MISSING),
                        correct: acc.correct + usize::from(c == CORRECT),
                    })
            })
            .collect()
    }

    /// Observed and correct counts of each item, in column order.
    pub fn item_counts(&self) -> Vec<Counts> {
        let mut counts = vec![Counts::default(); self.n_items()];
        for s in 0..self.n_subjects() {
            for (count, &c) in counts.iter_mut().zip(self.row(s)) {
                count.observed += usize::from(c != MISSING);
                count.correct += usize::from(c == CORRECT);
            }
        }
        counts
    }

    /// The matrix restricted to the given items (by column index), in that order.
    pub fn select_items(&self, keep: &[usize]) -> Self {
        let items = keep.iter().map(|&j| self.items[j].clone()).collect();
        let mut cells = Vec::with_capacity(self.n_subjects() * keep.len());
        for s in 0..self.n_subjects() {
            let row = self.row(s);
            cells.extend(keep.iter().map(|&j| row[j]));
        }
        Self {
            subjects: self.subjects.clone(),
            items,
            cells,
        }
    }

    /// Aligns the columns to `wanted` item ids: the result has exactly those items, in that
    /// order, with missing columns for wanted items the matrix lacks.
    ///
    /// Returns the aligned matrix with the ids on either side that found no partner.
    pub fn align(&self, wanted: &[String]) -> Alignment {
        let index: HashMap<&str, usize> = self
            .items
            .iter()
            .enumerate()
            .map(|(j, id)| (id.as_str(), j))
            .collect();
        let wanted_set: HashSet<&str> = wanted.iter().map(String::as_str).collect();
        let sources: Vec<Option<usize>> = wanted
            .iter()
            .map(|id| index.get(id.as_str()).copied())
            .collect();
        let mut cells = Vec::with_capacity(self.n_subjects() * wanted.len());
        for s in 0..self.n_subjects() {
            let row = self.row(s);
            cells.extend(
                sources
                    .iter()
                    .map(|source| source.map_or(MISSING, |j| row[j])),
            );
        }
        Alignment {
            matrix: Self {
                subjects: self.subjects.clone(),
                items: wanted.to_vec(),
                cells,
            },
            unmatched_responses: self
                .items
                .iter()
                .filter(|id| !wanted_set.contains(id.as_str()))
                .cloned()
                .collect(),
            unanswered_items: wanted
                .iter()
                .zip(&sources)
                .filter(|(_, source)| source.is_none())
                .map(|(id, _)| id.clone())
                .collect(),
        }
    }
}

/// A matrix aligned to an item set, with what did not match.
#[derive(Clone, Debug)]
pub struct Alignment {
    /// The aligned matrix: one column per wanted item, in the wanted order.
    pub matrix: ResponseMatrix,
    /// Item ids of the responses that match no wanted item (their columns are dropped).
    pub unmatched_responses: Vec<String>,
    /// Wanted items that no response column matches (their columns are all missing).
    pub unanswered_items: Vec<String>,
}

fn check_unique(what: &'static str, ids: &[String]) -> Result<(), MatrixError> {
    let mut seen = HashSet::with_capacity(ids.len());
    match ids.iter().find(|id| !seen.insert(id.as_str())) {
        Some(id) => Err(MatrixError::Duplicate {
            what,
            id: id.clone(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn small() -> ResponseMatrix {
        ResponseMatrix::new(
            ids(&["m1", "m2"]),
            ids(&["a", "b", "c"]),
            vec![1, 0, MISSING, 1, 1, 0],
        )
        .unwrap()
    }

    #[test]
    fn counts_skip_missing_cells() {
        let m = small();
        assert_eq!(
            m.item_counts(),
            [
                Counts {
                    observed: 2,
                    correct: 2
                },
                Counts {
                    observed: 2,
                    correct: 1
                },
                Counts {
                    observed: 1,
                    correct: 0
                }
            ]
        );
        assert_eq!(
            m.subject_counts()[0],
            Counts {
                observed: 2,
                correct: 1
            }
        );
        assert!((m.missing_fraction() - 1.0 / 6.0).abs() < 1e-12);
        assert_eq!(m.get(0, 2), None);
        assert_eq!(m.get(1, 1), Some(true));
    }

    #[test]
    fn construction_rejects_bad_parts() {
        let shape = ResponseMatrix::new(ids(&["m"]), ids(&["a", "b"]), vec![1]);
        assert!(matches!(shape, Err(MatrixError::Shape { cells: 1, .. })));
        let dup = ResponseMatrix::new(ids(&["m"]), ids(&["a", "a"]), vec![1, 0]);
        assert_eq!(dup.unwrap_err().to_string(), "item id `a` appears twice");
        let value = ResponseMatrix::new(ids(&["m"]), ids(&["a", "b"]), vec![1, 7]);
        assert_eq!(
            value.unwrap_err(),
            MatrixError::Value {
                subject: 0,
                item: 1,
                value: 7
            }
        );
    }

    #[test]
    fn alignment_reorders_and_reports_both_sides() {
        let aligned = small().align(&ids(&["c", "a", "z"]));
        assert_eq!(aligned.matrix.items(), ids(&["c", "a", "z"]));
        assert_eq!(aligned.matrix.row(1), [0, 1, MISSING]);
        assert_eq!(aligned.unmatched_responses, ids(&["b"]));
        assert_eq!(aligned.unanswered_items, ids(&["z"]));
    }

    #[test]
    fn selection_keeps_the_given_columns() {
        let m = small().select_items(&[2, 0]);
        assert_eq!(m.items(), ids(&["c", "a"]));
        assert_eq!(m.row(0), [MISSING, 1]);
    }
}
