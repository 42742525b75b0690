//! Hugging Face model directories: `config.json` and one `model.safetensors` or shards listed
//! in `model.safetensors.index.json`; f32, bf16 and f16 weights widened to f32 on the host.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use half::{bf16, f16};
use safetensors::{Dtype, SafeTensors};

use super::{HostTensor, LoadError, WeightSource};
use crate::config::ModelConfig;

/// A Hugging Face model directory, read shard by shard as tensors are asked for.
#[derive(Debug)]
pub struct HfDirectory {
    dir: PathBuf,
    /// Tensor name -> shard file name.
    index: BTreeMap<String, String>,
    /// The shard read last, kept while consecutive tensors come from it.
    loaded: Option<(String, Vec<u8>)>,
}

impl HfDirectory {
    /// Opens `dir`, reading its config and the names of its tensors.
    pub fn open(dir: &Path) -> Result<(ModelConfig, HfDirectory), LoadError> {
        let config = ModelConfig::from_hf_file(&dir.join("config.json"))
            .map_err(|e| LoadError::Config(e.to_string()))?;
        let index_path = dir.join("model.safetensors.index.json");
        let single = dir.join("model.safetensors");
        let index = if index_path.exists() {
            read_index(&index_path)?
        } else if single.exists() {
            let bytes = read(&single)?;
            let tensors = SafeTensors::deserialize(&bytes).map_err(|e| file_error(&single, e))?;
            tensors
                .names()
                .into_iter()
                .map(|name| (name.to_string(), "model.safetensors".to_string()))
                .collect()
        } else {
            return Err(LoadError::File {
                path: dir.display().to_string(),
                message: "neither model.safetensors nor model.safetensors.index.json is here"
                    .to_string(),
            });
        };
        Ok((
            config,
            HfDirectory {
                dir: dir.to_path_buf(),
                index,
                loaded: None,
            },
        ))
    }
}

impl WeightSource for HfDirectory {
    fn describe(&self) -> String {
        self.dir.display().to_string()
    }

    fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    fn read(&mut self, name: &str) -> Result<HostTensor, LoadError> {
        let shard = self
            .index
            .get(name)
            .cloned()
            .ok_or_else(|| LoadError::Missing {
                source: self.describe(),
                tensor: name.to_string(),
            })?;
        let path = self.dir.join(&shard);
        if self
            .loaded
            .as_ref()
            .is_none_or(|(loaded, _)| *loaded != shard)
        {
            self.loaded = Some((shard.clone(), read(&path)?));
        }
        let Some((_, bytes)) = &self.loaded else {
            unreachable!("loaded just above")
        };
        let tensors = SafeTensors::deserialize(bytes).map_err(|e| file_error(&path, e))?;
        let view = tensors.tensor(name).map_err(|_| LoadError::File {
            path: path.display().to_string(),
            message: format!("the index puts `{name}` in this shard, but it is not there"),
        })?;
        let raw = view.data();
        let data: Vec<f32> = match view.dtype() {
            Dtype::F32 => raw
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::BF16 => raw
                .chunks_exact(2)
                .map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::F16 => raw
                .chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => {
                return Err(LoadError::File {
                    path: path.display().to_string(),
                    message: format!(
                        "tensor `{name}` is {other:?}; rung reads F32, BF16 and F16 weights"
                    ),
                });
            }
        };
        Ok(HostTensor {
            data,
            shape: view.shape().to_vec(),
        })
    }
}

fn read(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|e| LoadError::File {
        path: path.display().to_string(),
        message: format!("cannot read: {e}"),
    })
}

fn file_error(path: &Path, error: impl std::fmt::Display) -> LoadError {
    LoadError::File {
        path: path.display().to_string(),
        message: error.to_string(),
    }
}

fn read_index(path: &Path) -> Result<BTreeMap<String, String>, LoadError> {
    let text = String::from_utf8(read(path)?).map_err(|e| file_error(path, e))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| file_error(path, format!("not valid JSON (line {}): {e}", e.line())))?;
    let map = json
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| {
            file_error(
                path,
                "expected an object `weight_map` from tensor names to shard files",
            )
        })?;
    map.iter()
        .map(|(name, shard)| match shard.as_str() {
            Some(shard) if !shard.contains('/') && !shard.contains('\\') => {
                Ok((name.clone(), shard.to_string()))
            }
            _ => Err(file_error(
                path,
                format!("`weight_map.{name}` should be a shard file name, found {shard}"),
            )),
        })
        .collect()
}
