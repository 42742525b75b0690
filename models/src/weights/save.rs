//! Writing a decoder back as Hugging Face safetensors, and the Hugging Face name of every
//! parameter (what checkpoints and optimizer state are keyed by).

use std::collections::HashMap;
use std::path::Path;

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::prelude::*;
use burn::tensor::DType;
use safetensors::Dtype;
use safetensors::tensor::TensorView;

use super::LoadError;
use crate::model::CausalLm;

/// A float parameter of a decoder, under its Hugging Face name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HfParam {
    /// burn's id of the parameter (stable for the life of the module).
    pub id: ParamId,
    /// The Hugging Face name, `model.layers.0.self_attn.q_proj.weight`.
    pub name: String,
    /// The shape as burn holds it (linear weights `[in, out]`).
    pub shape: Vec<usize>,
    /// Whether Hugging Face holds the tensor transposed (`[out, in]`): linear weights.
    pub transposed: bool,
}

impl HfParam {
    /// Norm weights and biases: the parameters AdamW's weight decay leaves alone.
    pub fn is_norm_or_bias(&self) -> bool {
        self.shape.len() < 2
    }
}

/// Every float parameter of `module` (a decoder or one of its parts) with its Hugging Face
/// name, in the module's order; `prefix` is the path of `module` inside the decoder (`""` for
/// the whole decoder, `"layers.3"` for its fourth layer).
pub fn hf_params<B: Backend, M: Module<B>>(module: &M, prefix: &str) -> Vec<HfParam> {
    let mut visitor = Names {
        path: prefix
            .split('.')
            .filter(|part| !part.is_empty())
            .map(String::from)
            .collect(),
        params: Vec::new(),
    };
    module.visit(&mut visitor);
    visitor.params
}

struct Names {
    path: Vec<String>,
    params: Vec<HfParam>,
}

impl<B: Backend> ModuleVisitor<B> for Names {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let path = self.path.join(".");
        let name = if path.starts_with("lm_head.") {
            path
        } else {
            format!("model.{path}")
        };
        self.params.push(HfParam {
            id: param.id,
            transposed: D == 2 && !name.starts_with("model.embed_tokens."),
            name,
            shape: param.shape().to_vec(),
        });
    }
}

/// The values of every float parameter of a module on the host, by id, in the dtype they are
/// held in (converted to f32, bf16 or f16).
fn host_values<B: Backend, M: Module<B>>(module: &M) -> HashMap<ParamId, (DType, Vec<u8>)> {
    struct Values(HashMap<ParamId, (DType, Vec<u8>)>);
    impl<B: Backend> ModuleVisitor<B> for Values {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            let data = param.val().into_data();
            self.0
                .insert(param.id, (data.dtype, data.into_bytes().to_vec()));
        }
    }
    let mut values = Values(HashMap::new());
    module.visit(&mut values);
    values.0
}

/// Writes the decoder's weights as one `model.safetensors` file under Hugging Face names and
/// layout (linear weights `[out, in]`), in the dtype the weights are held in.
pub fn save_safetensors<B: Backend>(model: &CausalLm<B>, path: &Path) -> Result<(), LoadError> {
    let io_error = |message: String| LoadError::File {
        path: path.display().to_string(),
        message,
    };
    let mut values = host_values(model);
    let mut tensors = Vec::new();
    for param in hf_params(model, "") {
        let (dtype, bytes) = values
            .remove(&param.id)
            .ok_or_else(|| io_error(format!("no value for `{}`", param.name)))?;
        let (dtype, width) = match dtype {
            DType::F32 => (Dtype::F32, 4),
            DType::BF16 => (Dtype::BF16, 2),
            DType::F16 => (Dtype::F16, 2),
            other => return Err(io_error(format!("cannot save weights of type {other:?}"))),
        };
        let (bytes, shape) = if param.transposed {
            let (rows, cols) = (param.shape[0], param.shape[1]);
            let mut out = vec![0u8; bytes.len()];
            for r in 0..rows {
                for c in 0..cols {
                    let from = (r * cols + c) * width;
                    let to = (c * rows + r) * width;
                    out[to..to + width].copy_from_slice(&bytes[from..from + width]);
                }
            }
            (out, vec![cols, rows])
        } else {
            (bytes, param.shape.clone())
        };
        tensors.push((param.name, dtype, shape, bytes));
    }
    let views = tensors
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            TensorView::new(*dtype, shape.clone(), bytes)
                .map(|view| (name.clone(), view))
                .map_err(|error| io_error(format!("tensor `{name}`: {error}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::tensor::serialize_to_file(views, Some(metadata), path)
        .map_err(|error| io_error(error.to_string()))
}
