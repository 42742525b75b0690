//! Item fit: the infit and outfit mean squares of every item at the fitted parameters.
//!
//! The pass goes through the matrix in chunks of subject rows, so that its `[rows, items]`
//! temporaries stay small whatever the matrix's size.

use burn::tensor::Tensor;
use burn::tensor::activation::sigmoid;
use burn::tensor::backend::Backend;

use crate::Estimates;
use crate::matrix::ResponseMatrix;
use crate::observed::{self, chunks, column, host, row};

/// Infit and outfit mean squares per item (1 = the spread the model expects).
#[derive(Clone, Debug)]
pub(crate) struct ItemFit {
    /// Information-weighted: sum of squared residuals over sum of variances.
    pub(crate) infit: Vec<f64>,
    /// Unweighted: mean squared standardised residual.
    pub(crate) outfit: Vec<f64>,
}

/// The item fit of `estimates` on `matrix`, at the estimated abilities.
pub(crate) fn item_fit<B: Backend>(
    matrix: &ResponseMatrix,
    estimates: &Estimates,
    device: &B::Device,
) -> ItemFit {
    let n_items = matrix.n_items();
    let b = row::<B>(&estimates.difficulty, device);
    let a = row::<B>(&estimates.discrimination, device);
    let g = estimates.guessing.as_ref().map(|g| row::<B>(g, device));
    let zeros = || Tensor::<B, 2>::zeros([1, n_items], device);
    let (mut squares, mut variance, mut standardised) = (zeros(), zeros(), zeros());
    for rows in chunks(matrix.n_subjects()) {
        let theta = column::<B>(&estimates.ability[rows.clone()], device);
        // [rows, items]
        let mut p = sigmoid((theta - b.clone()) * a.clone());
        if let Some(g) = &g {
            p = g.clone() + (g.clone().neg() + 1.0) * p;
        }
        let mut residual = observed::responses::<B>(matrix, rows.clone(), device) - p.clone();
        let mut var = p.clone() * (p.neg() + 1.0);
        if matrix.has_missing() {
            let mask = observed::mask::<B>(matrix, rows, device);
            residual = residual * mask.clone();
            var = var * mask;
        }
        let square = residual.clone() * residual;
        standardised = standardised + (square.clone() / var.clone().clamp_min(1e-12)).sum_dim(0);
        squares = squares + square.sum_dim(0);
        variance = variance + var.sum_dim(0);
    }
    let counts = matrix.item_counts();
    let (squares, variance, standardised) = (host(squares), host(variance), host(standardised));
    ItemFit {
        infit: squares.iter().zip(&variance).map(|(s, v)| s / v).collect(),
        outfit: standardised
            .iter()
            .zip(&counts)
            .map(|(z, c)| z / c.observed as f64)
            .collect(),
    }
}
