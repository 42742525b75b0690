//! `trl_sft`: the study's recipe trained by TRL under accelerate and DeepSpeed ZeRO-3, for models
//! too large for burn.
//!
//! rung renders the training items through the recipe's `prompt` and `completion` templates, as
//! `sft` does, into a prompt-completion dataset (chat messages when the chat template is on),
//! writes it with the launch script and the accelerate configuration into the output's
//! `recipe/` folder (so the artifact says exactly how it was made), and runs
//! `python -m accelerate.commands.launch` on the script with the recipe as arguments. The script
//! and the configuration are the standard library's `recipes/` files, built into rung and pinned
//! to this operation's version, unless the node passes its own as files (hashed by content).

use std::fs;
use std::path::Path;

use rung_engine::{Context, OpError, Operation, Params, Resources, Value};
use rung_items::{ItemSet, Template};
use serde_json::json;

use super::placeholders::literal;
use super::step::Step;
use super::{declared_resources, hf_directory, places, resources_of};
use crate::ops::sets::open_curriculum;

/// The launch script built into rung (`stdlib/recipes/trl_sft.py`).
pub(super) const SCRIPT: &str = include_str!("../../../recipes/trl_sft.py");

/// The accelerate configuration built into rung (`stdlib/recipes/accelerate_zero3.yaml`).
pub(super) const ACCELERATE_CONFIG: &str = include_str!("../../../recipes/accelerate_zero3.yaml");

/// Where the step's own files go in its output.
const RECIPE_DIR: &str = "recipe";

/// What the script must leave in the output besides the model's weights.
const OUTPUTS: [&str; 3] = ["config.json", "metrics.jsonl", "trl_sft.json"];

/// Fine-tunes a model with TRL; see the catalog for its parameters.
pub(in crate::ops) struct TrlSftOp;

impl Operation for TrlSftOp {
    fn name(&self) -> &'static str {
        "trl_sft"
    }

    /// Also the version of the built-in recipe files: a change to them comes with a new one.
    fn version(&self) -> u32 {
        1
    }

    fn resources(&self, params: &[(String, Value)]) -> Resources {
        declared_resources(params)
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let params = ctx.typed();
        let step = step(&params)?;
        let model = hf_directory(ctx.paths("model")?[0])?;
        let chat = params.bool("chat_template")?;
        if chat && !has_chat_template(&model) {
            return Err(OpError::failed(format!(
                "{} has no chat template; set `chat_template = false` to train on plain text",
                model.display()
            )));
        }
        let recipe = ctx.out_dir().join(RECIPE_DIR);
        fs::create_dir_all(&recipe)?;
        let rows = dataset(ctx, chat)?;
        ctx.log(format_args!("{} training examples", rows.lines().count()));
        fs::write(recipe.join("train.jsonl"), rows)?;
        for (param, name, built_in) in [
            ("script", "trl_sft.py", SCRIPT),
            ("accelerate_config", "accelerate.yaml", ACCELERATE_CONFIG),
        ] {
            let target = recipe.join(name);
            match ctx.param(param)? {
                Value::Null => fs::write(&target, built_in)?,
                _ => {
                    fs::copy(ctx.paths(param)?[0], &target)?;
                }
            }
        }
        let places = places(ctx, vec![model], Vec::new())?;
        step.run(ctx, &places)
    }
}

/// The step a node's parameters describe.
fn step(params: &Params<'_>) -> Result<Step, OpError> {
    let mut step = Step::new(params, command(params)?, OUTPUTS.map(String::from).to_vec())?;
    step.env.insert(0, ("PYTHONUNBUFFERED".into(), "1".into()));
    Ok(step)
}

/// The command line over the placeholders: `{input0}` is the model's Hugging Face directory,
/// the recipe files are under `{output}/recipe/`.
fn command(params: &Params<'_>) -> Result<Vec<String>, OpError> {
    let gpus = resources_of(params.param("resources")?).gpus;
    if gpus == 0 {
        return Err(OpError::failed(
            "`trl_sft` trains on GPUs: give it some with `resources = { gpus = N }`",
        ));
    }
    let at_least_one = |name: &str| -> Result<String, OpError> {
        match params.int(name)? {
            n if n >= 1 => Ok(n.to_string()),
            n => Err(OpError::failed(format!(
                "`{name}` must be at least 1, not {n}"
            ))),
        }
    };
    let zero_stage = params.int("zero_stage")?;
    if !(0..=3).contains(&zero_stage) {
        return Err(OpError::failed(format!(
            "`zero_stage` must be 0, 1, 2 or 3, not {zero_stage}"
        )));
    }
    let warmup = params.float("warmup_ratio")?;
    if !(0.0..1.0).contains(&warmup) {
        return Err(OpError::failed(format!(
            "`warmup_ratio` must be at least 0 and below 1, not {warmup}"
        )));
    }
    if params.bool("group_by_length")? && !params.bool("shuffle")? {
        return Err(OpError::failed(
            "transformers groups by length in a shuffled order: set `shuffle = true` or \
             `group_by_length = false`",
        ));
    }
    let bf16 = params.str("precision")? != "f32";
    let float =
        |name: &str| -> Result<String, OpError> { Ok(format!("{:?}", params.float(name)?)) };
    let flag = |name: &str, param: &str| -> Result<String, OpError> {
        Ok(if params.bool(param)? {
            format!("--{name}")
        } else {
            format!("--no-{name}")
        })
    };
    let mut argv: Vec<String> = vec![
        literal(params.str("python")?),
        "-m".into(),
        "accelerate.commands.launch".into(),
        "--config_file".into(),
        format!("{{output}}/{RECIPE_DIR}/accelerate.yaml"),
        "--num_machines".into(),
        "1".into(),
        "--num_processes".into(),
        gpus.to_string(),
        "--mixed_precision".into(),
        (if bf16 { "bf16" } else { "no" }).into(),
        "--zero_stage".into(),
        zero_stage.to_string(),
        format!("{{output}}/{RECIPE_DIR}/trl_sft.py"),
        "--model".into(),
        "{input0}".into(),
        "--data".into(),
        format!("{{output}}/{RECIPE_DIR}/train.jsonl"),
        "--output".into(),
        "{output}".into(),
        "--checkpoints".into(),
        "{checkpoint}".into(),
    ];
    for name in ["epochs", "micro_batch", "grad_accum", "max_length"] {
        argv.extend([format!("--{name}"), at_least_one(name)?]);
    }
    argv.extend(["--seed".into(), params.int("seed")?.to_string()]);
    let floats = [
        "lr",
        "warmup_ratio",
        "min_lr_ratio",
        "weight_decay",
        "beta1",
        "beta2",
        "eps",
        "max_grad_norm",
    ];
    for name in floats {
        argv.extend([format!("--{name}"), float(name)?]);
    }
    argv.extend([
        "--schedule".into(),
        params.str("schedule")?.to_owned(),
        "--precision".into(),
        (if bf16 { "bf16" } else { "f32" }).into(),
        flag("completion_only", "completion_only")?,
        flag("shuffle", "shuffle")?,
        flag("group_by_length", "group_by_length")?,
        flag("gradient_checkpointing", "recompute")?,
    ]);
    if !matches!(params.param("checkpoint_every")?, Value::Null) {
        argv.extend(["--save_steps".into(), at_least_one("checkpoint_every")?]);
    }
    Ok(argv)
}

/// The training items as TRL's prompt-completion rows, one JSON object per line: chat messages
/// (the system prompt first, when there is one) with the chat template, plain text without.
fn dataset(ctx: &Context<'_>, chat: bool) -> Result<String, OpError> {
    let dir = ctx.paths("train")?[0];
    let items = ItemSet::open(dir).map_err(|e| OpError::failed(e.to_string()))?;
    if open_curriculum(dir, &items)?.is_some() {
        return Err(OpError::failed(
            "`trl_sft` trains on a plain item set; a curriculum's stages are trained in order \
             by `sft` only",
        ));
    }
    let template = |name: &str| {
        Template::parse(ctx.str(name)?).map_err(|e| OpError::failed(format!("`{name}`: {e}")))
    };
    let (prompt, completion) = (template("prompt")?, template("completion")?);
    let system = match ctx.param("system_prompt")? {
        Value::Str(text) => Some(text.as_str()),
        _ => None,
    };
    let labels: Vec<String> = ('A'..='Z').map(String::from).collect();
    let mut rows = String::new();
    for item in items.iter() {
        let render = |t: &Template, name: &str| {
            t.render(item, &labels)
                .map_err(|e| OpError::failed(format!("`{name}`: {e}")))
        };
        let (user, answer) = (
            render(&prompt, "prompt")?,
            render(&completion, "completion")?,
        );
        let row = if chat {
            let mut messages = Vec::new();
            if let Some(system) = system {
                messages.push(json!({ "role": "system", "content": system }));
            }
            messages.push(json!({ "role": "user", "content": user }));
            json!({
                "id": item.id,
                "prompt": messages,
                "completion": [{ "role": "assistant", "content": answer }],
            })
        } else {
            json!({ "id": item.id, "prompt": user, "completion": answer })
        };
        rows.push_str(&row.to_string());
        rows.push('\n');
    }
    Ok(rows)
}

/// Whether a Hugging Face directory has a chat template (in `tokenizer_config.json` or beside
/// it, as transformers reads it).
fn has_chat_template(model: &Path) -> bool {
    model.join("chat_template.jinja").is_file()
        || fs::read_to_string(model.join("tokenizer_config.json"))
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .is_some_and(|config| !config["chat_template"].is_null())
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::ops::external::testing::{node_params, record, shown, strings};

    #[test]
    fn the_built_in_recipe_is_pinned_to_the_version_of_trl_sft() {
        let digest = Sha256::new()
            .chain_update(SCRIPT)
            .chain_update([0])
            .chain_update(ACCELERATE_CONFIG)
            .finalize();
        let digest: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        assert_eq!(
            (TrlSftOp.version(), &digest[..16]),
            (1, "6db0b09d43499337"),
            "stdlib/recipes changed: models trained with the old recipe must be trained again, \
             so give `trl_sft` a new version (in the catalog and in TrlSftOp) and pin the new \
             digest here"
        );
    }

    #[test]
    fn the_study_recipe_on_four_gpus_in_a_container() {
        let params = node_params(
            "trl_sft",
            &[
                ("grad_accum", Value::Int(4)),
                ("precision", Value::Enum("bf16".into())),
                ("checkpoint_every", Value::Int(200)),
                ("python", Value::Str("/opt/venv/bin/python".into())),
                (
                    "container",
                    strings(&["apptainer", "exec", "--nv", "/images/llm.sif"]),
                ),
                ("env", strings(&["NCCL_DEBUG=WARN"])),
                (
                    "pass_env",
                    strings(&["CUDA_VISIBLE_DEVICES", "HF_HOME", "LD_LIBRARY_PATH"]),
                ),
                (
                    "resources",
                    record(&[("gpus", 4), ("cpus", 16), ("memory_gb", 256)]),
                ),
            ],
        );
        let step = step(&Params::new("trl_sft", &params)).unwrap();
        insta::assert_snapshot!(shown(&step));
    }

    #[test]
    fn full_precision_without_shuffling_or_recomputation() {
        let params = node_params(
            "trl_sft",
            &[
                ("precision", Value::Enum("f32".into())),
                ("zero_stage", Value::Int(2)),
                ("shuffle", Value::Bool(false)),
                ("recompute", Value::Bool(false)),
                ("completion_only", Value::Bool(false)),
                ("schedule", Value::Enum("linear".into())),
                ("min_lr_ratio", Value::Float(0.1)),
            ],
        );
        let step = step(&Params::new("trl_sft", &params)).unwrap();
        insta::assert_snapshot!(shown(&step));
    }

    #[test]
    fn settings_the_script_cannot_honour_are_refused_before_it_starts() {
        let error = |given: &[(&str, Value)]| {
            let params = node_params("trl_sft", given);
            step(&Params::new("trl_sft", &params))
                .unwrap_err()
                .to_string()
        };
        assert!(error(&[("resources", record(&[("gpus", 0)]))]).contains("trains on GPUs"));
        assert!(error(&[("zero_stage", Value::Int(4))]).contains("`zero_stage` must be"));
        assert!(
            error(&[("micro_batch", Value::Int(0))]).contains("`micro_batch` must be at least 1")
        );
        assert!(
            error(&[
                ("shuffle", Value::Bool(false)),
                ("group_by_length", Value::Bool(true))
            ])
            .contains("shuffled order")
        );
        assert!(error(&[("env", strings(&["NO_EQUALS"]))]).contains("is not NAME=value"));
    }
}
