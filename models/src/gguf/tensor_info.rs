//! [`TensorInfo`]: a tensor's name, dimensions, type and place in a GGUF file's data section.

use super::GgmlType;

/// What a GGUF file says about one tensor. Checked when the file is parsed: the dimensions'
/// product fits in memory, a row is a whole number of blocks, and the data (for a type of known
/// size) lies within the file at an aligned offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    pub(crate) name: String,
    pub(crate) dims: Vec<u64>,
    pub(crate) ggml_type: GgmlType,
    pub(crate) offset: u64,
    pub(crate) n_elements: u64,
    pub(crate) n_bytes: Option<u64>,
}

impl TensorInfo {
    /// The tensor's name, e.g. `blk.0.attn_q.weight`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The dimensions in GGUF order: `dims()[0]` (ggml's `ne[0]`) is the innermost, contiguous
    /// one.
    pub fn dims(&self) -> &[u64] {
        &self.dims
    }

    /// The shape in PyTorch (row-major) order: the GGUF dimensions reversed, so the last is the
    /// contiguous one.
    pub fn shape(&self) -> Vec<usize> {
        // Every dimension was checked to fit a usize when the file was parsed.
        self.dims
            .iter()
            .rev()
            .map(|&dim| usize::try_from(dim).unwrap_or(usize::MAX))
            .collect()
    }

    /// The element type.
    pub fn ggml_type(&self) -> GgmlType {
        self.ggml_type
    }

    /// Where the data starts, relative to the file's data section.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The number of elements: the product of the dimensions.
    pub fn n_elements(&self) -> u64 {
        self.n_elements
    }

    /// The size of the data in bytes; `None` for a type this reader does not know.
    pub fn n_bytes(&self) -> Option<u64> {
        self.n_bytes
    }
}
