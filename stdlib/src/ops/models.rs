//! `tiny_model`, `hf` and `gguf`: the model artifacts fine-tuning and evaluation start from.
//!
//! A model artifact is a folder holding either a whole Hugging Face directory (a tiny model, a
//! fine-tuned one) or `source.json`, which points at a model outside the store (a Hugging Face
//! directory under the models root, a GGUF file under the data root) with the SHA-256 of its
//! content, so that a changed model changes everything computed from it.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use burn::prelude::Backend;
use burn::tensor::DType;
use rung_engine::preflight::Preview;
use rung_engine::{Context, OpError, Operation, Params, Value};
use rung_models::gguf::GgufFile;
use rung_models::tokenizer::Tokenizer;
use rung_models::weights::config_from_gguf;
use rung_models::{Architecture, LanguageModel, ModelConfig};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::backend::{Cpu, CpuDevice};

/// Where a model artifact's weights are, and the dtype they load in.
pub(crate) struct ModelSource {
    /// The Hugging Face directory or GGUF file.
    pub(crate) path: PathBuf,
    /// The dtype the node asked for (`auto` = the checkpoint's, bf16 becoming f32 on the CPU).
    pub(crate) dtype: String,
}

/// The model an artifact folder stands for.
pub(crate) fn model_source(dir: &Path) -> Result<ModelSource, OpError> {
    let pointer = dir.join("source.json");
    if !pointer.exists() {
        return Ok(ModelSource {
            path: dir.to_path_buf(),
            dtype: "f32".into(),
        });
    }
    let text = fs::read_to_string(&pointer)?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| OpError::failed(format!("{}: {e}", pointer.display())))?;
    let field = |name: &str| {
        json[name].as_str().map(String::from).ok_or_else(|| {
            OpError::failed(format!("{}: expected a string `{name}`", pointer.display()))
        })
    };
    Ok(ModelSource {
        path: PathBuf::from(field("path")?),
        dtype: field("dtype")?,
    })
}

/// Loads a model artifact on the CPU, in `f32` unless the artifact asks for another dtype.
pub(crate) fn load_model_on<B: Backend>(
    dir: &Path,
    device: &B::Device,
    on_cpu: bool,
) -> Result<LanguageModel<B>, OpError> {
    let source = model_source(dir)?;
    let dtype = match source.dtype.as_str() {
        "f16" => DType::F16,
        "bf16" => DType::BF16,
        "auto" if !on_cpu => DType::BF16,
        _ => DType::F32,
    };
    LanguageModel::load(&source.path, device, dtype).map_err(|e| OpError::failed(e.to_string()))
}

/// The model of an artifact on the CPU, loaded once per process for consecutive users: the
/// cells of an evaluation grid that share a model (run one after another, each with the whole
/// machine) load it once. One model is kept; asking for another replaces it. Also says whether
/// the model was already loaded.
pub(crate) fn shared_cpu_model(dir: &Path) -> Result<(Arc<LanguageModel<Cpu>>, bool), OpError> {
    static LAST: Mutex<Option<(PathBuf, Arc<LanguageModel<Cpu>>)>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((path, model)) = last.as_ref()
        && path == dir
    {
        return Ok((Arc::clone(model), true));
    }
    *last = None;
    let model = Arc::new(load_model_on::<Cpu>(dir, &CpuDevice::default(), true)?);
    *last = Some((dir.to_path_buf(), Arc::clone(&model)));
    Ok((model, false))
}

/// A tiny seeded decoder with the character tokenizer and ChatML.
pub(super) struct TinyModelOp;

impl Operation for TinyModelOp {
    fn name(&self) -> &'static str {
        "tiny_model"
    }

    fn version(&self) -> u32 {
        1
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let (config, tokenizer) = tiny_config(&ctx.typed())?;
        let seed = ctx.int("seed")? as u64;
        let lm = rung_toy::character_model::<Cpu>(config, tokenizer, seed, &CpuDevice::default())
            .map_err(|e| OpError::failed(e.to_string()))?;
        lm.save(ctx.out_dir())
            .map_err(|e| OpError::failed(e.to_string()))?;
        ctx.log(format_args!(
            "{} parameters, seed {seed}",
            lm.config.parameter_count()
        ));
        Ok(())
    }
}

/// The shape and character tokenizer a `tiny_model` node's parameters describe.
pub(super) fn tiny_config(ctx: &Params<'_>) -> Result<(ModelConfig, Tokenizer), OpError> {
    let count = |name: &str| -> Result<usize, OpError> {
        usize::try_from(ctx.int(name)?)
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| OpError::failed(format!("`{name}` must be at least 1")))
    };
    let tokenizer = rung_toy::character_tokenizer().map_err(|e| OpError::failed(e.to_string()))?;
    let (hidden, heads, kv_heads) = (count("hidden")?, count("heads")?, count("kv_heads")?);
    if hidden % heads != 0 || heads % kv_heads != 0 {
        return Err(OpError::failed(format!(
            "`heads` ({heads}) must divide `hidden` ({hidden}), and `kv_heads` ({kv_heads}) `heads`"
        )));
    }
    let mut config = ModelConfig::tiny(tokenizer.vocab_size(), hidden, count("layers")?, heads);
    config.num_kv_heads = kv_heads;
    if let Value::Int(intermediate) = ctx.param("intermediate")? {
        config.intermediate_size = usize::try_from(*intermediate)
            .map_err(|_| OpError::failed("`intermediate` must not be negative"))?;
    } else {
        config.intermediate_size = (hidden * 8).div_ceil(3).div_ceil(8) * 8;
    }
    config.max_position_embeddings = count("max_length")?;
    config.rope_theta = ctx.float("rope_theta")?;
    config.qkv_bias = ctx.bool("qkv_bias")?;
    if config.qkv_bias {
        // Query/key/value biases without an output bias are Qwen2's layout; Llama's
        // `attention_bias` puts a bias on all four projections.
        config.architecture = Architecture::Qwen2;
    }
    config.tie_word_embeddings = ctx.bool("tied_embeddings")?;
    config.eos_token_ids = tokenizer.eos_ids().to_vec();
    Ok((config, tokenizer))
}

/// The shape of the model an input value stands for, read before anything runs: a tiny
/// model's from its parameters, a Hugging Face directory's from its `config.json`, a GGUF's
/// from its header, a fine-tuned model's from the model it was tuned from.
pub(crate) fn planned_config(node: &Preview<'_>, value: &Value) -> Option<ModelConfig> {
    let mut upstream = node.upstream(value)?;
    loop {
        let view = node.of(upstream);
        let params = view.typed();
        match upstream.op.as_str() {
            "tiny_model" => return tiny_config(&params).ok().map(|(config, _)| config),
            "hf" => {
                let dir = find_model_dir(params.str("path").ok()?).ok()?;
                return ModelConfig::from_hf_file(&dir.join("config.json")).ok();
            }
            "gguf" => {
                let file = GgufFile::open(view.file(params.param("path").ok()?)?).ok()?;
                return config_from_gguf(&file).ok();
            }
            "sft" => upstream = node.upstream(params.param("model").ok()?)?,
            _ => return None,
        }
    }
}

/// A Hugging Face model directory, by path or hub-style name under the models root.
pub(super) struct HfOp;

/// The environment variable naming the folder hub-style model names are looked up in.
pub const MODEL_ROOT_ENV: &str = "RUNG_MODEL_ROOT";

impl Operation for HfOp {
    fn name(&self) -> &'static str {
        "hf"
    }

    fn version(&self) -> u32 {
        1
    }

    fn missing_input(&self, node: &Preview<'_>) -> Option<String> {
        let name = node.typed().str("path").ok()?;
        find_model_dir(name)
            .err()
            .map(|error| format!("model `{name}`: {error}"))
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let name = ctx.str("path")?.to_string();
        let dir = find_model_dir(&name)?;
        let digest = directory_sha256(&dir)?;
        if let Value::Str(revision) = ctx.param("revision")?
            && !revision.eq_ignore_ascii_case(&digest)
        {
            return Err(OpError::failed(format!(
                "{}: the files hash to {digest}, but the spec pins revision {revision}",
                dir.display()
            )));
        }
        if let Value::Str(_) = ctx.param("chat_template")? {
            return Err(OpError::failed(
                "`chat_template` replacement is not implemented yet for `hf`; edit the \
                 directory's tokenizer_config.json instead",
            ));
        }
        let config = ModelConfig::from_hf_file(&dir.join("config.json"))
            .map_err(|e| OpError::failed(e.to_string()))?;
        ctx.log(format_args!(
            "{}: {} parameters, content {digest}",
            dir.display(),
            config.parameter_count()
        ));
        write_source(ctx, &dir, ctx.str("dtype")?, &digest)
    }
}

/// A GGUF file under the data root.
pub(super) struct GgufOp;

impl Operation for GgufOp {
    fn name(&self) -> &'static str {
        "gguf"
    }

    fn version(&self) -> u32 {
        1
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let path = ctx.paths("path")?[0].to_path_buf();
        let digest = rung_items::sha256_file(&path).map_err(|e| OpError::failed(e.to_string()))?;
        if let Value::Str(expected) = ctx.param("sha256")? {
            rung_items::check_sha256(&path, expected)
                .map_err(|e| OpError::failed(e.to_string()))?;
        }
        if let Value::Str(_) = ctx.param("chat_template")? {
            return Err(OpError::failed(
                "`chat_template` replacement is not implemented yet for `gguf`",
            ));
        }
        let path = fs::canonicalize(&path)?;
        write_source(ctx, &path, ctx.str("dtype")?, &digest)
    }
}

fn write_source(ctx: &Context<'_>, path: &Path, dtype: &str, sha256: &str) -> Result<(), OpError> {
    let source = json!({
        "path": path.display().to_string(),
        "dtype": dtype,
        "sha256": sha256,
    });
    fs::write(ctx.out_dir().join("source.json"), format!("{source:#}\n"))?;
    Ok(())
}

/// `name` as a directory, or under the models root (`RUNG_MODEL_ROOT`).
fn find_model_dir(name: &str) -> Result<PathBuf, OpError> {
    let direct = PathBuf::from(name);
    if direct.join("config.json").is_file() {
        return Ok(fs::canonicalize(direct)?);
    }
    let mut tried = vec![direct.display().to_string()];
    if let Some(root) = std::env::var_os(MODEL_ROOT_ENV) {
        let candidate = PathBuf::from(root).join(name);
        if candidate.join("config.json").is_file() {
            return Ok(fs::canonicalize(candidate)?);
        }
        tried.push(candidate.display().to_string());
    }
    Err(OpError::failed(format!(
        "no Hugging Face model directory (with a config.json) at {}{}",
        tried.join(" or "),
        if std::env::var_os(MODEL_ROOT_ENV).is_none() {
            format!("; set {MODEL_ROOT_ENV} to the folder holding hub-style names")
        } else {
            String::new()
        }
    )))
}

/// The SHA-256 of a directory's files: of each relative path and its content's SHA-256, in
/// path order.
fn directory_sha256(dir: &Path) -> Result<String, OpError> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in fs::read_dir(&folder)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut hasher = Sha256::new();
    for file in files {
        let digest = rung_items::sha256_file(&file).map_err(|e| OpError::failed(e.to_string()))?;
        let relative = file.strip_prefix(dir).unwrap_or(&file);
        hasher.update(format!("{} {digest}\n", relative.display()));
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}
