//! The decoder: embedding, layers of grouped-query attention and SwiGLU, RMSNorm, output head.
//!
//! Weights follow Hugging Face's Llama/Qwen2 layout, except that linear weights are stored
//! `[in, out]` as burn multiplies them. Generic over the burn backend and the float dtype of the
//! weights (f32, bf16, f16): norms, the softmax and the logits are computed in f32.

mod cache;
pub mod rope;

use burn::module::Param;
use burn::nn::{Embedding, Linear};
use burn::prelude::*;
use burn::tensor::DType;
use burn::tensor::activation::{silu, softmax};
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;

pub use cache::{Frame, KvCache};

use crate::config::ModelConfig;

/// Applies `linear` to `[batch, seq, in]` as one `[batch * seq, in]` product: burn multiplies
/// a rank-3 input batch by batch, which reads the weight once per row.
fn project<B: Backend>(linear: &Linear<B>, x: Tensor<B, 3>) -> Tensor<B, 3> {
    let [batch, seq, width] = x.dims();
    let out = linear.forward(x.reshape([batch * seq, width]));
    let features = out.dims()[1];
    out.reshape([batch, seq, features])
}

/// Up to this many new tokens per row (decoding), attention is computed as two matrix products
/// around a softmax; longer inputs (prefill, scoring, training) use burn's attention kernel,
/// whose memory stays bounded.
const FEW_QUERIES: usize = 8;

/// RMSNorm as transformers computes it: in f32, scaled by the weight in the model's dtype.
#[derive(Module, Debug)]
pub struct RmsNorm<B: Backend> {
    /// The per-channel scale.
    pub weight: Param<Tensor<B, 1>>,
    /// Added to the mean square.
    pub eps: f64,
}

impl<B: Backend> RmsNorm<B> {
    /// Normalises the last dimension.
    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        let dtype = x.dtype();
        let x = x.cast(DType::F32);
        let scale = (x.clone().square().mean_dim(D - 1) + self.eps)
            .sqrt()
            .recip();
        (x * scale).cast(dtype) * self.weight.val().unsqueeze()
    }
}

/// Grouped-query self-attention with rotary embeddings.
#[derive(Module, Debug)]
pub struct Attention<B: Backend> {
    /// Query projection, `[hidden, heads * head_dim]`.
    pub q_proj: Linear<B>,
    /// Key projection, `[hidden, kv_heads * head_dim]`.
    pub k_proj: Linear<B>,
    /// Value projection, `[hidden, kv_heads * head_dim]`.
    pub v_proj: Linear<B>,
    /// Output projection, `[heads * head_dim, hidden]`.
    pub o_proj: Linear<B>,
    /// Query heads.
    pub num_heads: usize,
    /// Key/value heads.
    pub num_kv_heads: usize,
    /// Width of a head.
    pub head_dim: usize,
}

impl<B: Backend> Attention<B> {
    fn forward(
        &self,
        x: Tensor<B, 3>,
        frame: &Frame<B>,
        cache: Option<(&mut KvCache<B>, usize)>,
    ) -> Tensor<B, 3> {
        let [batch, seq, _] = x.dims();
        let heads =
            |t: Tensor<B, 3>, n: usize| t.reshape([batch, seq, n, self.head_dim]).swap_dims(1, 2);
        let q = heads(project(&self.q_proj, x.clone()), self.num_heads);
        let k = heads(project(&self.k_proj, x.clone()), self.num_kv_heads);
        let v = heads(project(&self.v_proj, x), self.num_kv_heads);
        let q = rope::apply(q, &frame.q_rope.0, &frame.q_rope.1);
        let k = rope::apply(k, &frame.k_rope.0, &frame.k_rope.1);
        let (k, v) = match cache {
            Some((cache, layer)) => cache.append(layer, frame.start, k, v),
            None => (k, v),
        };
        // Grouped-query attention without copying keys and values per query head: the
        // `group` query heads that share a key/value head become `group` blocks of rows.
        let group = self.num_heads / self.num_kv_heads;
        let keys = k.dims()[2];
        let q = q.reshape([batch, self.num_kv_heads, group * seq, self.head_dim]);
        let mask = Tensor::cat(vec![frame.mask.clone(); group], 2);
        let out = if seq <= FEW_QUERIES {
            // Decoding: two small matrix products around a softmax beat the attention kernel.
            let scale = (self.head_dim as f64).sqrt().recip();
            let scores = q.matmul(k.swap_dims(2, 3)).mul_scalar(scale);
            let scores = scores.mask_fill(mask, f32::NEG_INFINITY);
            softmax(scores.cast(DType::F32), 3)
                .cast(v.dtype())
                .matmul(v)
        } else {
            let mask = mask.expand([batch, self.num_kv_heads, group * seq, keys]);
            attention(q, k, v, Some(mask), None, AttentionModuleOptions::default())
        };
        let out = out
            .reshape([batch, self.num_heads, seq, self.head_dim])
            .swap_dims(1, 2)
            .reshape([batch, seq, self.num_heads * self.head_dim]);
        project(&self.o_proj, out)
    }
}

/// The SwiGLU feed-forward block: `down(silu(gate(x)) * up(x))`.
#[derive(Module, Debug)]
pub struct Mlp<B: Backend> {
    /// Gate projection.
    pub gate_proj: Linear<B>,
    /// Up projection.
    pub up_proj: Linear<B>,
    /// Down projection.
    pub down_proj: Linear<B>,
}

impl<B: Backend> Mlp<B> {
    fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let gate = silu(project(&self.gate_proj, x.clone()));
        project(&self.down_proj, gate * project(&self.up_proj, x))
    }
}

/// One pre-norm decoder layer.
#[derive(Module, Debug)]
pub struct DecoderLayer<B: Backend> {
    /// Norm before attention.
    pub input_layernorm: RmsNorm<B>,
    /// Self-attention.
    pub self_attn: Attention<B>,
    /// Norm before the MLP.
    pub post_attention_layernorm: RmsNorm<B>,
    /// The MLP.
    pub mlp: Mlp<B>,
}

impl<B: Backend> DecoderLayer<B> {
    /// The layer over `[batch, seq, hidden]` without a cache, positions and mask from `frame`
    /// (see [`CausalLm::causal_frame`]): what training runs layer by layer.
    pub fn forward(&self, x: Tensor<B, 3>, frame: &Frame<B>) -> Tensor<B, 3> {
        self.forward_cached(x, frame, None)
    }

    fn forward_cached(
        &self,
        x: Tensor<B, 3>,
        frame: &Frame<B>,
        cache: Option<(&mut KvCache<B>, usize)>,
    ) -> Tensor<B, 3> {
        let h = x.clone()
            + self
                .self_attn
                .forward(self.input_layernorm.forward(x), frame, cache);
        h.clone() + self.mlp.forward(self.post_attention_layernorm.forward(h))
    }
}

/// A decoder-only language model (Llama 3.x, Qwen2.5, SmolLM2 and their kin).
#[derive(Module, Debug)]
pub struct CausalLm<B: Backend> {
    /// Token embeddings, `[vocab, hidden]`.
    pub embed_tokens: Embedding<B>,
    /// The decoder layers.
    pub layers: Vec<DecoderLayer<B>>,
    /// The final norm.
    pub norm: RmsNorm<B>,
    /// The output projection, `[hidden, vocab]`; `None` when tied to the embeddings.
    pub lm_head: Option<Linear<B>>,
    inv_freq: Vec<f32>,
}

impl<B: Backend> CausalLm<B> {
    pub(crate) fn assemble(
        config: &ModelConfig,
        embed_tokens: Embedding<B>,
        layers: Vec<DecoderLayer<B>>,
        norm: RmsNorm<B>,
        lm_head: Option<Linear<B>>,
    ) -> Self {
        CausalLm {
            embed_tokens,
            layers,
            norm,
            lm_head,
            inv_freq: rope::inverse_frequencies(config),
        }
    }

    /// The device the weights live on.
    pub fn device(&self) -> B::Device {
        self.embed_tokens.weight.val().device()
    }

    /// The dtype of the weights.
    pub fn dtype(&self) -> DType {
        self.embed_tokens.weight.val().dtype()
    }

    /// Query and key/value heads per layer.
    fn heads(&self) -> (usize, usize) {
        self.layers.first().map_or((1, 1), |l| {
            (l.self_attn.num_heads, l.self_attn.num_kv_heads)
        })
    }

    /// Rows of the output projection.
    pub fn vocab_size(&self) -> usize {
        self.embed_tokens.weight.val().dims()[0]
    }

    /// Logits `[batch, seq, vocab]` (f32) for equal-length rows of tokens at positions
    /// `0..seq`, causally masked: what training and scoring of unpadded (or right-padded) rows
    /// need.
    pub fn forward(&self, tokens: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        self.logits(self.hidden(tokens))
    }

    /// The final hidden states `[batch, seq, hidden]` for unpadded rows at positions `0..seq`.
    pub fn hidden(&self, tokens: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        let [batch, seq] = tokens.dims();
        let frame = self.causal_frame(batch, seq);
        self.run(tokens, &frame, None)
    }

    /// Rotary tables and the causal mask for `batch` unpadded (or right-padded) rows of `seq`
    /// tokens at positions `0..seq`, for running the layers one at a time.
    pub fn causal_frame(&self, batch: usize, seq: usize) -> Frame<B> {
        KvCache::new(batch, seq, 0)
            .advance(
                &vec![vec![true; seq]; batch],
                &self.inv_freq,
                self.heads(),
                &self.device(),
                self.dtype(),
            )
            .expect("a fresh cache sized to the input takes it")
    }

    /// The token embeddings `[batch, seq, hidden]`: the input of the first layer.
    pub fn embed(&self, tokens: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        self.embed_tokens.forward(tokens)
    }

    /// Feeds new tokens `[batch, new]` through the model with a cache, `real[row][i]` false
    /// where a token is padding. Returns the final hidden states `[batch, new, hidden]`.
    pub fn step(
        &self,
        tokens: Tensor<B, 2, Int>,
        real: &[Vec<bool>],
        cache: &mut KvCache<B>,
    ) -> Result<Tensor<B, 3>, String> {
        let frame = cache.advance(
            real,
            &self.inv_freq,
            self.heads(),
            &tokens.device(),
            self.dtype(),
        )?;
        Ok(self.run(tokens, &frame, Some(cache)))
    }

    fn run(
        &self,
        tokens: Tensor<B, 2, Int>,
        frame: &Frame<B>,
        mut cache: Option<&mut KvCache<B>>,
    ) -> Tensor<B, 3> {
        let mut x = self.embed(tokens);
        for (index, layer) in self.layers.iter().enumerate() {
            let layer_cache = cache.as_deref_mut().map(|c| (c, index));
            x = layer.forward_cached(x, frame, layer_cache);
        }
        self.norm.forward(x)
    }

    /// Projects hidden states `[batch, seq, hidden]` onto the vocabulary, in f32.
    pub fn logits(&self, hidden: Tensor<B, 3>) -> Tensor<B, 3> {
        let [batch, seq, width] = hidden.dims();
        self.vocab_logits(hidden.reshape([batch * seq, width]))
            .reshape([batch, seq, self.vocab_size()])
    }

    /// Projects rows of final hidden states `[rows, hidden]` onto the vocabulary, in f32.
    pub fn vocab_logits(&self, rows: Tensor<B, 2>) -> Tensor<B, 2> {
        // Two-dimensional, so the tied head multiplies the transposed embedding in place
        // (a rank-3 view of it would be copied on every call).
        let logits = match &self.lm_head {
            Some(head) => head.forward(rows),
            None => rows.matmul(self.embed_tokens.weight.val().transpose()),
        };
        logits.cast(DType::F32)
    }
}
