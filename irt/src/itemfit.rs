//! Item fit: the infit and outfit mean squares of every item at the fitted parameters.
//!
//! One fused pass over the cells, split by subject rows across rayon's threads (the pool burn's
//! CPU backend also runs on, so `--threads` bounds both). As separate tensor operations the same
//! sums take a dozen passes over the matrix, each allocating a temporary the matrix's size.

use rayon::prelude::*;

use crate::Estimates;
use crate::matrix::{CORRECT, MISSING, ResponseMatrix};

/// Infit and outfit mean squares per item (1 = the spread the model expects).
#[derive(Clone, Debug)]
pub(crate) struct ItemFit {
    /// Information-weighted: sum of squared residuals over sum of variances.
    pub(crate) infit: Vec<f64>,
    /// Unweighted: mean squared standardised residual.
    pub(crate) outfit: Vec<f64>,
}

/// Per-item sums over subjects: squared residuals, variances, squared standardised residuals.
#[derive(Clone)]
struct Sums {
    squares: Vec<f64>,
    variance: Vec<f64>,
    standardised: Vec<f64>,
}

impl Sums {
    fn zero(items: usize) -> Self {
        Self {
            squares: vec![0.0; items],
            variance: vec![0.0; items],
            standardised: vec![0.0; items],
        }
    }

    fn add(mut self, other: Self) -> Self {
        for (mine, theirs) in [
            (&mut self.squares, &other.squares),
            (&mut self.variance, &other.variance),
            (&mut self.standardised, &other.standardised),
        ] {
            mine.iter_mut().zip(theirs).for_each(|(m, t)| *m += t);
        }
        self
    }
}

/// The item fit of `estimates` on `matrix`, at the estimated abilities.
pub(crate) fn item_fit(matrix: &ResponseMatrix, estimates: &Estimates) -> ItemFit {
    let items = matrix.n_items();
    let guessing = estimates.guessing.as_deref();
    let sums = matrix
        .cells()
        .par_chunks(items.max(1))
        .zip(&estimates.ability)
        .fold(
            || Sums::zero(items),
            |mut sums, (row, &theta)| {
                for (j, &cell) in row.iter().enumerate() {
                    if cell == MISSING {
                        continue;
                    }
                    let z = estimates.discrimination[j] * (theta - estimates.difficulty[j]);
                    let mut p = 1.0 / (1.0 + (-z).exp());
                    if let Some(g) = guessing {
                        p = g[j] + (1.0 - g[j]) * p;
                    }
                    let x = if cell == CORRECT { 1.0 } else { 0.0 };
                    let square = (x - p) * (x - p);
                    let variance = (p * (1.0 - p)).max(1e-12);
                    sums.squares[j] += square;
                    sums.variance[j] += variance;
                    sums.standardised[j] += square / variance;
                }
                sums
            },
        )
        .reduce(|| Sums::zero(items), Sums::add);
    let counts = matrix.item_counts();
    ItemFit {
        infit: sums
            .squares
            .iter()
            .zip(&sums.variance)
            .map(|(s, v)| s / v)
            .collect(),
        outfit: sums
            .standardised
            .iter()
            .zip(&counts)
            .map(|(z, c)| z / c.observed as f64)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::ops::ControlFlow;

    use burn::backend::flex::FlexDevice;
    use burn::backend::{Autodiff, Flex};

    use crate::simulate::{Design, simulate};
    use crate::{FitOptions, Model, fit};

    #[test]
    fn items_that_fit_the_model_have_mean_squares_near_one() {
        let (matrix, _) = simulate(&Design {
            subjects: 400,
            items: 200,
            model: Model::OnePl,
            missing: 0.2,
            seed: 5,
        });
        let fit = fit::<Autodiff<Flex>>(&matrix, &FitOptions::default(), &FlexDevice, &mut |_| {
            ControlFlow::Continue(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let mean = |f: &dyn Fn(&crate::ItemEstimate) -> f64| {
            fit.items.iter().map(f).sum::<f64>() / fit.items.len() as f64
        };
        let (infit, outfit) = (mean(&|i| i.infit), mean(&|i| i.outfit));
        assert!((infit - 1.0).abs() < 0.05, "mean infit {infit}");
        assert!((outfit - 1.0).abs() < 0.1, "mean outfit {outfit}");
    }

    #[test]
    fn a_misfitting_item_stands_out() {
        // Item 0 is answered correctly by the weakest half and wrongly by the strongest half:
        // the reverse of what the model expects.
        let (matrix, truth) = simulate(&Design {
            subjects: 400,
            items: 50,
            model: Model::OnePl,
            missing: 0.0,
            seed: 6,
        });
        let median = {
            let mut a = truth.abilities.clone();
            a.sort_by(f64::total_cmp);
            a[a.len() / 2]
        };
        let mut cells = matrix.cells().to_vec();
        for (i, theta) in truth.abilities.iter().enumerate() {
            cells[i * 50] = u8::from(*theta < median);
        }
        let matrix =
            crate::ResponseMatrix::new(matrix.subjects().to_vec(), matrix.items().to_vec(), cells)
                .unwrap_or_else(|e| panic!("{e}"));
        let fit = fit::<Autodiff<Flex>>(&matrix, &FitOptions::default(), &FlexDevice, &mut |_| {
            ControlFlow::Continue(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(fit.items[0].infit > 1.5, "infit {}", fit.items[0].infit);
        assert!(fit.items[1..].iter().all(|i| i.infit < fit.items[0].infit));
    }
}
