//! The response matrix as burn tensors: responses with missing cells as 0, and the observation mask.
//!
//! Both take a range of subject rows, so that work over the whole matrix can go in chunks whose
//! temporaries stay small.

use std::ops::Range;

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use crate::matrix::{CORRECT, MISSING, ResponseMatrix};

/// Subject rows per chunk for element-wise passes over the whole matrix: 256 rows of 12,000 items
/// keep each f32 temporary near 12 MB.
pub(crate) const CHUNK_ROWS: usize = 256;

/// Responses of `rows` as floats, 1 for correct and 0 for wrong or missing: `[rows, items]`.
pub(crate) fn responses<B: Backend>(
    matrix: &ResponseMatrix,
    rows: Range<usize>,
    device: &B::Device,
) -> Tensor<B, 2> {
    tensor(matrix, rows, device, |c| f32::from(u8::from(c == CORRECT)))
}

/// The observation mask of `rows`, 1 where a response was recorded: `[rows, items]`.
pub(crate) fn mask<B: Backend>(
    matrix: &ResponseMatrix,
    rows: Range<usize>,
    device: &B::Device,
) -> Tensor<B, 2> {
    tensor(matrix, rows, device, |c| f32::from(u8::from(c != MISSING)))
}

/// Row ranges of at most [`CHUNK_ROWS`] subjects covering the whole matrix.
pub(crate) fn chunks(n_subjects: usize) -> impl Iterator<Item = Range<usize>> {
    (0..n_subjects)
        .step_by(CHUNK_ROWS)
        .map(move |start| start..(start + CHUNK_ROWS).min(n_subjects))
}

/// A host vector as a `[len, 1]` column.
pub(crate) fn column<B: Backend>(values: &[f64], device: &B::Device) -> Tensor<B, 2> {
    let data: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    Tensor::from_data(TensorData::new(data, [values.len(), 1]), device)
}

/// A host vector as a `[1, len]` row.
pub(crate) fn row<B: Backend>(values: &[f64], device: &B::Device) -> Tensor<B, 2> {
    column::<B>(values, device).transpose()
}

/// A tensor's values on the host, widened to f64.
pub(crate) fn host<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> Vec<f64> {
    tensor
        .into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .map(|values| values.into_iter().map(f64::from).collect())
        .unwrap_or_else(|error| panic!("a float tensor reads back as f32: {error:?}"))
}

fn tensor<B: Backend>(
    matrix: &ResponseMatrix,
    rows: Range<usize>,
    device: &B::Device,
    value: impl Fn(u8) -> f32,
) -> Tensor<B, 2> {
    let n_items = matrix.n_items();
    let cells = &matrix.cells()[rows.start * n_items..rows.end * n_items];
    let data: Vec<f32> = cells.iter().map(|&c| value(c)).collect();
    Tensor::from_data(TensorData::new(data, [rows.len(), n_items]), device)
}
