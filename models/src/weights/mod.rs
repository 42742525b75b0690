//! Building a decoder from named weights: Hugging Face safetensors, GGUF, or a seeded random
//! initialisation, all through one mapping from Hugging Face tensor names.

mod gguf;
mod init;
mod safetensors;
mod save;

use std::fmt;

use burn::module::Param;
use burn::nn::{Embedding, Linear};
use burn::prelude::*;
use burn::tensor::{DType, TensorData};

pub use gguf::{GgufWeights, config_from_gguf};
pub use init::RandomInit;
pub use safetensors::HfDirectory;
pub use save::{HfParam, hf_params, save_safetensors};

use crate::config::ModelConfig;
use crate::gguf::{GgufError, GgufFile};
use crate::model::{Attention, CausalLm, DecoderLayer, Mlp, RmsNorm};

/// A tensor on the host, f32, with its shape in PyTorch (row-major) order.
#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor {
    /// The values, row-major.
    pub data: Vec<f32>,
    /// The shape.
    pub shape: Vec<usize>,
}

/// Where weights come from, by Hugging Face name (`model.layers.0.self_attn.q_proj.weight`).
pub trait WeightSource {
    /// Where the weights are, for messages.
    fn describe(&self) -> String;
    /// Whether the source has the tensor.
    fn contains(&self, name: &str) -> bool;
    /// The tensor, as f32 on the host.
    fn read(&mut self, name: &str) -> Result<HostTensor, LoadError>;
}

/// Weights that cannot be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// The model's configuration is unusable.
    Config(String),
    /// A tensor the architecture needs is absent.
    Missing {
        /// Where the weights were looked for.
        source: String,
        /// The Hugging Face name of the tensor.
        tensor: String,
    },
    /// A tensor has another shape than the configuration implies.
    Shape {
        /// Where the weights are.
        source: String,
        /// The tensor.
        tensor: String,
        /// The shape the configuration implies.
        expected: Vec<usize>,
        /// The shape found.
        found: Vec<usize>,
    },
    /// A GGUF file could not be read.
    Gguf(GgufError),
    /// The file could not be read or decoded.
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Config(message) => write!(f, "{message}"),
            LoadError::Missing { source, tensor } => {
                write!(f, "{source}: no tensor `{tensor}`, which the model needs")
            }
            LoadError::Shape {
                source,
                tensor,
                expected,
                found,
            } => write!(
                f,
                "{source}: tensor `{tensor}` has shape {found:?}, but the config implies {expected:?}"
            ),
            LoadError::Gguf(error) => write!(f, "{error}"),
            LoadError::File { path, message } => write!(f, "{path}: {message}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// Loads a Hugging Face model directory (`config.json` and safetensors weights) with its
/// weights in `dtype` on `device`.
pub fn load_hf_dir<B: Backend>(
    dir: &std::path::Path,
    device: &B::Device,
    dtype: DType,
) -> Result<(ModelConfig, CausalLm<B>), LoadError> {
    let (config, mut source) = HfDirectory::open(dir)?;
    let model = build(&config, &mut source, device, dtype)?;
    Ok((config, model))
}

/// Loads the model in a GGUF file, dequantizing its tensors and converting them to `dtype`.
pub fn load_gguf<B: Backend>(
    file: &GgufFile,
    device: &B::Device,
    dtype: DType,
) -> Result<(ModelConfig, CausalLm<B>), LoadError> {
    let config = config_from_gguf(file)?;
    let model = build(&config, &mut GgufWeights::new(file, &config), device, dtype)?;
    Ok((config, model))
}

/// A model of the given shape with seeded random weights (standard deviation 0.02, unit
/// norms, zero biases), in f32: the same seed gives the same weights on every backend.
pub fn init_random<B: Backend>(config: &ModelConfig, seed: u64, device: &B::Device) -> CausalLm<B> {
    build(
        config,
        &mut RandomInit::new(config, seed, 0.02),
        device,
        DType::F32,
    )
    .expect("a random initialisation has every tensor the config implies")
}

/// Builds the model from a source, converting every weight to `dtype` on `device`.
pub fn build<B: Backend>(
    config: &ModelConfig,
    source: &mut dyn WeightSource,
    device: &B::Device,
    dtype: DType,
) -> Result<CausalLm<B>, LoadError> {
    let mut loader = Loader {
        source,
        device,
        dtype,
    };
    let (d, hd, f) = (
        config.hidden_size,
        config.head_dim,
        config.intermediate_size,
    );
    let (q_out, kv_out) = (config.num_heads * hd, config.num_kv_heads * hd);

    let embed = loader.tensor::<2>("model.embed_tokens.weight", [config.vocab_size, d], false)?;
    let mut layers = Vec::with_capacity(config.num_layers);
    for i in 0..config.num_layers {
        let p = format!("model.layers.{i}");
        let attn = format!("{p}.self_attn");
        layers.push(DecoderLayer {
            input_layernorm: loader.norm(&format!("{p}.input_layernorm.weight"), d, config)?,
            self_attn: Attention {
                q_proj: loader.linear(&format!("{attn}.q_proj"), d, q_out, config.qkv_bias)?,
                k_proj: loader.linear(&format!("{attn}.k_proj"), d, kv_out, config.qkv_bias)?,
                v_proj: loader.linear(&format!("{attn}.v_proj"), d, kv_out, config.qkv_bias)?,
                o_proj: loader.linear(&format!("{attn}.o_proj"), q_out, d, config.o_bias)?,
                num_heads: config.num_heads,
                num_kv_heads: config.num_kv_heads,
                head_dim: hd,
            },
            post_attention_layernorm: loader.norm(
                &format!("{p}.post_attention_layernorm.weight"),
                d,
                config,
            )?,
            mlp: Mlp {
                gate_proj: loader.linear(&format!("{p}.mlp.gate_proj"), d, f, false)?,
                up_proj: loader.linear(&format!("{p}.mlp.up_proj"), d, f, false)?,
                down_proj: loader.linear(&format!("{p}.mlp.down_proj"), f, d, false)?,
            },
        });
    }
    let norm = loader.norm("model.norm.weight", d, config)?;
    let lm_head = if config.tie_word_embeddings {
        None
    } else {
        Some(loader.linear("lm_head", d, config.vocab_size, false)?)
    };
    Ok(CausalLm::assemble(
        config,
        Embedding {
            weight: Param::from_tensor(embed),
        },
        layers,
        norm,
        lm_head,
    ))
}

struct Loader<'a, B: Backend> {
    source: &'a mut dyn WeightSource,
    device: &'a B::Device,
    dtype: DType,
}

impl<B: Backend> Loader<'_, B> {
    /// Reads `name` with the expected PyTorch shape; `transpose` turns a `[out, in]` matrix
    /// into burn's `[in, out]`.
    fn tensor<const D: usize>(
        &mut self,
        name: &str,
        shape: [usize; D],
        transpose: bool,
    ) -> Result<Tensor<B, D>, LoadError> {
        if !self.source.contains(name) {
            return Err(LoadError::Missing {
                source: self.source.describe(),
                tensor: name.into(),
            });
        }
        let host = self.source.read(name)?;
        if host.shape != shape {
            return Err(LoadError::Shape {
                source: self.source.describe(),
                tensor: name.into(),
                expected: shape.to_vec(),
                found: host.shape,
            });
        }
        let (data, shape) = if transpose && D == 2 {
            let (rows, cols) = (shape[0], shape[1]);
            let mut t = vec![0.0f32; host.data.len()];
            for r in 0..rows {
                for c in 0..cols {
                    t[c * rows + r] = host.data[r * cols + c];
                }
            }
            let mut swapped = shape;
            swapped.swap(0, 1);
            (t, swapped)
        } else {
            (host.data, shape)
        };
        let tensor = Tensor::<B, D>::from_data(TensorData::new(data, shape), self.device);
        Ok(if self.dtype == DType::F32 {
            tensor
        } else {
            tensor.cast(self.dtype)
        })
    }

    fn linear(
        &mut self,
        prefix: &str,
        d_in: usize,
        d_out: usize,
        bias: bool,
    ) -> Result<Linear<B>, LoadError> {
        let weight = self.tensor::<2>(&format!("{prefix}.weight"), [d_out, d_in], true)?;
        let bias = if bias {
            Some(Param::from_tensor(self.tensor::<1>(
                &format!("{prefix}.bias"),
                [d_out],
                false,
            )?))
        } else {
            None
        };
        Ok(Linear {
            weight: Param::from_tensor(weight),
            bias,
        })
    }

    fn norm(
        &mut self,
        name: &str,
        width: usize,
        config: &ModelConfig,
    ) -> Result<RmsNorm<B>, LoadError> {
        Ok(RmsNorm {
            weight: Param::from_tensor(self.tensor::<1>(name, [width], false)?),
            eps: config.rms_norm_eps,
        })
    }
}
