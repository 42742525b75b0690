//! Resumable checkpoints: the f32 master weights as a Hugging Face directory, AdamW's moments
//! by Hugging Face name, the step reached and the metrics so far.
//!
//! A checkpoint is written into a fresh `step-N` folder and becomes current only when the
//! `latest` file naming it is renamed into place, so a run killed while saving resumes from
//! the previous one.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::tensor::TensorData;
use rung_models::{CausalLm, ModelConfig, hf_params, load_hf_dir, save_safetensors};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};

use crate::SftError;
use crate::optim::Moments;

/// What a checkpoint records besides tensors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Optimizer steps taken.
    pub step: usize,
    /// Steps the run takes in all.
    pub total_steps: usize,
    /// A digest of the run's recipe and data: a checkpoint of another run is never resumed.
    pub fingerprint: String,
    /// One JSON object per step taken (the metrics file so far).
    pub metrics: Vec<serde_json::Value>,
}

/// A checkpoint read back.
pub struct Restored<B: Backend> {
    /// The master weights.
    pub model: CausalLm<B>,
    /// AdamW's moments, by the new model's parameter ids.
    pub moments: HashMap<burn::module::ParamId, Moments<B>>,
    /// The recorded state.
    pub state: CheckpointState,
}

fn error(path: &Path, message: impl std::fmt::Display) -> SftError {
    SftError::Model(format!("checkpoint {}: {message}", path.display()))
}

/// Writes a checkpoint under `dir` and makes it the current one; older ones are removed.
pub fn save<B: Backend>(
    dir: &Path,
    config: &ModelConfig,
    model: &CausalLm<B>,
    moments: &HashMap<burn::module::ParamId, Moments<B>>,
    state: &CheckpointState,
) -> Result<(), SftError> {
    let folder = dir.join(format!("step-{}", state.step));
    if folder.exists() {
        fs::remove_dir_all(&folder).map_err(|e| error(&folder, e))?;
    }
    fs::create_dir_all(&folder).map_err(|e| error(&folder, e))?;
    fs::write(
        folder.join("config.json"),
        format!("{:#}", config.to_hf_json()),
    )
    .map_err(|e| error(&folder, e))?;
    save_safetensors(model, &folder.join("model.safetensors")).map_err(|e| error(&folder, e))?;

    let mut tensors = Vec::new();
    for param in hf_params(model, "") {
        if let Some(m) = moments.get(&param.id) {
            for (kind, tensor) in [("exp_avg", &m.exp_avg), ("exp_avg_sq", &m.exp_avg_sq)] {
                let bytes = tensor.clone().into_data().into_bytes().to_vec();
                tensors.push((format!("{kind}.{}", param.name), param.shape.clone(), bytes));
            }
        }
    }
    let views = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(Dtype::F32, shape.clone(), bytes)
                .map(|view| (name.clone(), view))
                .map_err(|e| error(&folder, e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    safetensors::tensor::serialize_to_file(views, None, &folder.join("optimizer.safetensors"))
        .map_err(|e| error(&folder, e))?;
    let text = serde_json::to_string(state).map_err(|e| error(&folder, e))?;
    fs::write(folder.join("state.json"), text).map_err(|e| error(&folder, e))?;

    let pending = dir.join("latest.tmp");
    fs::write(&pending, format!("step-{}", state.step)).map_err(|e| error(dir, e))?;
    fs::rename(&pending, dir.join("latest")).map_err(|e| error(dir, e))?;
    for entry in fs::read_dir(dir).map_err(|e| error(dir, e))? {
        let path = entry.map_err(|e| error(dir, e))?.path();
        let is_old = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("step-") && n != format!("step-{}", state.step));
        if is_old {
            fs::remove_dir_all(&path).map_err(|e| error(&path, e))?;
        }
    }
    Ok(())
}

/// The current checkpoint under `dir`, if there is one.
pub fn latest(dir: &Path) -> Option<PathBuf> {
    let name = fs::read_to_string(dir.join("latest")).ok()?;
    let folder = dir.join(name.trim());
    folder.join("state.json").is_file().then_some(folder)
}

/// Reads the checkpoint in `folder` (one that [`latest`] returned) onto `device`.
pub fn load<B: Backend>(folder: &Path, device: &B::Device) -> Result<Restored<B>, SftError> {
    let text = fs::read_to_string(folder.join("state.json")).map_err(|e| error(folder, e))?;
    let state: CheckpointState = serde_json::from_str(&text).map_err(|e| error(folder, e))?;
    let (_, model) =
        load_hf_dir::<B>(folder, device, burn::tensor::DType::F32).map_err(|e| error(folder, e))?;
    let path = folder.join("optimizer.safetensors");
    let bytes = fs::read(&path).map_err(|e| error(&path, e))?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| error(&path, e))?;
    let read = |name: &str, n: usize| -> Result<Tensor<B, 1>, SftError> {
        let view = file.tensor(name).map_err(|e| error(&path, e))?;
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if view.dtype() != Dtype::F32 || values.len() != n {
            return Err(error(&path, format!("`{name}` is not {n} f32 values")));
        }
        Ok(Tensor::from_data(TensorData::new(values, [n]), device))
    };
    let mut moments = HashMap::new();
    if state.step > 0 {
        for param in hf_params(&model, "") {
            let n = param.shape.iter().product();
            moments.insert(
                param.id,
                Moments {
                    exp_avg: read(&format!("exp_avg.{}", param.name), n)?,
                    exp_avg_sq: read(&format!("exp_avg_sq.{}", param.name), n)?,
                },
            );
        }
    }
    Ok(Restored {
        model,
        moments,
        state,
    })
}
