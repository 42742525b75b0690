//! The key/value cache of batched decoding, with the bookkeeping for left padding.

use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{DType, TensorData};

/// Keys and values of every layer for a batch of rows, preallocated to a capacity, plus which
/// slots hold real tokens (left padding does not) and each row's next position.
#[derive(Debug)]
pub struct KvCache<B: Backend> {
    pub(crate) layers: Vec<Option<(Tensor<B, 4>, Tensor<B, 4>)>>,
    capacity: usize,
    len: usize,
    valid: Vec<Vec<bool>>,
    next_position: Vec<usize>,
}

/// What a forward pass over new tokens needs besides the tokens: rotary tables and the mask.
#[derive(Clone, Debug)]
pub struct Frame<B: Backend> {
    /// Rotary cosines and sines for the query heads, `[batch, heads, new, head_dim]`.
    pub(crate) q_rope: (Tensor<B, 4>, Tensor<B, 4>),
    /// The same for the key heads, `[batch, kv_heads, new, head_dim]`.
    pub(crate) k_rope: (Tensor<B, 4>, Tensor<B, 4>),
    /// `[batch, 1, new, past + new]`, true where attention is not allowed.
    pub(crate) mask: Tensor<B, 4, Bool>,
    /// Cache slots the new tokens occupy.
    pub(crate) start: usize,
}

impl<B: AutodiffBackend> Frame<B> {
    /// The same frame on an autodiff backend (as constants), from one built on its inner
    /// backend.
    pub fn from_inner(frame: Frame<B::InnerBackend>) -> Self {
        let lift = |(cos, sin): (Tensor<B::InnerBackend, 4>, Tensor<B::InnerBackend, 4>)| {
            (Tensor::from_inner(cos), Tensor::from_inner(sin))
        };
        Frame {
            q_rope: lift(frame.q_rope),
            k_rope: lift(frame.k_rope),
            mask: Tensor::from_inner(frame.mask),
            start: frame.start,
        }
    }
}

impl<B: Backend> KvCache<B> {
    /// An empty cache for `batch` rows and up to `capacity` tokens each, for `layers` layers.
    pub fn new(batch: usize, capacity: usize, layers: usize) -> Self {
        KvCache {
            layers: (0..layers).map(|_| None).collect(),
            capacity,
            len: 0,
            valid: vec![Vec::with_capacity(capacity); batch],
            next_position: vec![0; batch],
        }
    }

    /// Tokens held per row (padding included).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True before the first forward pass.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The most tokens a row can hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Rows in the batch.
    pub fn batch(&self) -> usize {
        self.valid.len()
    }

    /// Registers `new` tokens per row (`real[row][i]` false for padding) and returns the frame
    /// the forward pass over them needs. Real tokens get consecutive positions from 0 in each
    /// row, as Hugging Face derives them from the attention mask; padding attends only to
    /// itself, so no row of the softmax is empty. The rotary tables are laid out per head
    /// (`heads` query and `kv_heads` key heads), so every layer multiplies contiguous tensors.
    pub(crate) fn advance(
        &mut self,
        real: &[Vec<bool>],
        inv_freq: &[f32],
        (heads, kv_heads): (usize, usize),
        device: &B::Device,
        dtype: DType,
    ) -> Result<Frame<B>, String> {
        let new = real.first().map_or(0, Vec::len);
        if real.len() != self.batch() || real.iter().any(|row| row.len() != new) {
            return Err(format!(
                "the cache holds {} rows; the new tokens have {} rows of unequal or other lengths",
                self.batch(),
                real.len()
            ));
        }
        if self.len + new > self.capacity {
            return Err(format!(
                "the cache holds {} of {} tokens per row and cannot take {new} more",
                self.len, self.capacity
            ));
        }
        let start = self.len;
        let total = start + new;
        let mut positions = Vec::with_capacity(real.len());
        let mut mask = Vec::with_capacity(real.len() * new * total);
        for (row, flags) in real.iter().enumerate() {
            let mut row_positions = Vec::with_capacity(new);
            for &is_real in flags {
                // Padding gets position 1 as in transformers; it never reaches a real token.
                row_positions.push(if is_real { self.next_position[row] } else { 1 });
                if is_real {
                    self.next_position[row] += 1;
                }
                self.valid[row].push(is_real);
            }
            positions.push(row_positions);
            for query in 0..new {
                let slot = start + query;
                for key in 0..total {
                    let allowed = key == slot || (key < slot && self.valid[row][key]);
                    mask.push(!allowed);
                }
            }
        }
        self.len = total;
        let (cos, sin) = super::rope::tables::<B>(inv_freq, &positions, device);
        let (cos, sin) = (cos.cast(dtype), sin.cast(dtype));
        let per_head = |n: usize| (cos.clone().repeat_dim(1, n), sin.clone().repeat_dim(1, n));
        let mask = Tensor::from_data(TensorData::new(mask, [real.len(), 1, new, total]), device);
        Ok(Frame {
            q_rope: per_head(heads),
            k_rope: per_head(kv_heads),
            mask,
            start,
        })
    }

    /// Appends a layer's new keys and values (`[batch, kv_heads, new, head_dim]`) at `start`
    /// and returns all of them so far.
    pub(crate) fn append(
        &mut self,
        layer: usize,
        start: usize,
        keys: Tensor<B, 4>,
        values: Tensor<B, 4>,
    ) -> (Tensor<B, 4>, Tensor<B, 4>) {
        let [batch, heads, new, dim] = keys.dims();
        let end = start + new;
        let (k, v) = match self.layers[layer].take() {
            Some((k, v)) => (
                k.slice_assign([0..batch, 0..heads, start..end, 0..dim], keys),
                v.slice_assign([0..batch, 0..heads, start..end, 0..dim], values),
            ),
            None => {
                let device = keys.device();
                let dtype = keys.dtype();
                let empty =
                    || Tensor::<B, 4>::zeros([batch, heads, self.capacity, dim], (&device, dtype));
                (
                    empty().slice_assign([0..batch, 0..heads, start..end, 0..dim], keys),
                    empty().slice_assign([0..batch, 0..heads, start..end, 0..dim], values),
                )
            }
        };
        self.layers[layer] = Some((k.clone(), v.clone()));
        (k.narrow(2, 0, end), v.narrow(2, 0, end))
    }
}
