//! `sft`: full fine-tuning of a model artifact on an item set with the study's recipe, stage by
//! stage when the set is a curriculum; the output is the fine-tuned model as a Hugging Face
//! directory, with its per-step metrics.

use std::fs;
use std::ops::ControlFlow;
use std::path::Path;

use burn::backend::Autodiff;
use burn::tensor::backend::AutodiffBackend;
use rung_engine::preflight::{MemoryNeed, Preview};
use rung_engine::{Context, OpError, Operation, Params, Resources, Value};
use rung_items::{ItemSet, Template};
use rung_models::ModelConfig;
use rung_sft::optim::AdamWConfig;
use rung_sft::{
    Checkpointing, Curriculum, Decay, Example, Format, Pacing, Precision, Recipe, SftError,
    fine_tune_with_curriculum,
};
use serde_json::json;

use super::models::{load_model_on, model_source, planned_config};
use super::sets::open_curriculum;
use crate::backend::{Cpu, CpuDevice};

/// Fine-tunes a model; see the catalog for its parameters.
pub(super) struct SftOp;

impl Operation for SftOp {
    fn name(&self) -> &'static str {
        "sft"
    }

    fn version(&self) -> u32 {
        1
    }

    fn resources(&self, params: &[(String, Value)]) -> Resources {
        let devices = params
            .iter()
            .find(|(name, _)| name == "devices")
            .and_then(|(_, value)| match value {
                Value::Int(n) => u32::try_from(*n).ok(),
                _ => None,
            })
            .unwrap_or(0);
        Resources {
            threads: u32::MAX,
            gpus: if cfg!(feature = "cuda") { devices } else { 0 },
            ..Resources::default()
        }
    }

    /// The estimate of [`rung_sft::estimate`] for the upstream model's shape: GPU memory when
    /// this build trains on a GPU, host memory otherwise.
    fn memory_needed(&self, node: &Preview<'_>) -> Option<MemoryNeed> {
        let params = node.typed();
        let on_gpu = cfg!(feature = "cuda") && params.int("devices").ok()? >= 1;
        let recipe = recipe(&params, on_gpu).ok()?;
        let config = planned_config(node, params.param("model").ok()?)?;
        let estimate = rung_sft::estimate(&config, &recipe);
        Some(MemoryNeed {
            bytes: estimate.total(),
            on_gpu,
            detail: estimate.to_string(),
        })
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let devices = ctx.int("devices")?;
        if devices > 1 {
            return Err(OpError::failed(format!(
                "`devices = {devices}`: data parallelism over several GPUs is not implemented \
                 yet; train on one (`devices = 1`) or use `trl_sft`"
            )));
        }
        let on_gpu = cfg!(feature = "cuda") && devices == 1 && ctx.resources().gpus > 0;
        if devices == 1 && !cfg!(feature = "cuda") {
            ctx.log("this build of rung has no CUDA backend: training on the CPU");
        }
        let recipe = recipe(&ctx.typed(), on_gpu)?;
        let format = Format {
            chat_template: ctx.bool("chat_template")?,
            system_prompt: match ctx.param("system_prompt")? {
                Value::Str(text) => Some(text.clone()),
                _ => None,
            },
            completion_only: ctx.bool("completion_only")?,
            max_length: recipe.max_length,
        };
        let (examples, curriculum) = examples(ctx)?;
        if let Some(curriculum) = &curriculum {
            log_curriculum(ctx, curriculum, &recipe);
        }
        let data = Data {
            examples: &examples,
            curriculum: curriculum.as_ref(),
        };
        let model_dir = ctx.paths("model")?[0].to_path_buf();
        check_memory(ctx, &model_dir, &recipe, on_gpu)?;
        ctx.record("precision", recipe.precision.name());
        if on_gpu {
            #[cfg(feature = "cuda")]
            return train::<Autodiff<crate::backend::Cuda>>(
                ctx,
                &model_dir,
                &crate::backend::CudaDevice::new(0),
                false,
                &data,
                &format,
                &recipe,
            );
        }
        train::<Autodiff<Cpu>>(
            ctx,
            &model_dir,
            &CpuDevice::default(),
            true,
            &data,
            &format,
            &recipe,
        )
    }
}

/// What a run trains on: the examples, and the curriculum that orders them when there is one.
struct Data<'a> {
    examples: &'a [Example],
    curriculum: Option<&'a Curriculum>,
}

fn train<B: AutodiffBackend>(
    ctx: &mut Context<'_>,
    model_dir: &Path,
    device: &burn::tensor::Device<B::InnerBackend>,
    on_cpu: bool,
    data: &Data<'_>,
    format: &Format,
    recipe: &Recipe,
) -> Result<(), OpError> {
    let examples = data.examples;
    ctx.record("backend", if on_cpu { "flex (CPU)" } else { "cuda" });
    let model = load_model_on::<B::InnerBackend>(model_dir, device, on_cpu)?;
    let every = match ctx.param("checkpoint_every")? {
        Value::Int(n) if *n > 0 => Some(*n as usize),
        _ => None,
    };
    let checkpointing = Checkpointing {
        dir: Some(ctx.checkpoint_dir()?.to_path_buf()),
        every,
    };
    let mut log_lines = Vec::new();
    let outcome = {
        let ctx_ref = &*ctx;
        let mut observer = |progress: &rung_sft::Progress| {
            let stats = progress.stats;
            ctx_ref.progress(stats.step as u64, progress.total_steps as u64, "steps");
            ctx_ref.status(&format!(
                "loss {:.4}, lr {:.2e}, {:.0} tokens/s",
                stats.loss, stats.lr, progress.tokens_per_second
            ));
            let tenth = (progress.total_steps / 10).max(1);
            if stats.step.is_multiple_of(tenth) || stats.step == progress.total_steps {
                let stage = progress
                    .stage
                    .map(|k| format!(", stage {k}"))
                    .unwrap_or_default();
                log_lines.push(format!(
                    "step {}/{} (epoch {}{stage}): loss {:.4}, lr {:.3e}, grad norm {:.3}, {:.0} tokens/s, ETA {:.0} s",
                    stats.step,
                    progress.total_steps,
                    progress.epoch + 1,
                    stats.loss,
                    stats.lr,
                    stats.grad_norm,
                    progress.tokens_per_second,
                    progress.eta_seconds
                ));
            }
            if ctx_ref.cancelled() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        fine_tune_with_curriculum::<B>(
            model,
            examples,
            data.curriculum,
            format,
            recipe,
            &checkpointing,
            &mut observer,
        )
    };
    for line in log_lines {
        ctx.log(line);
    }
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(SftError::Cancelled) => return Err(OpError::Cancelled),
        Err(error) => return Err(OpError::failed(error.to_string())),
    };
    if outcome.resumed_from > 0 {
        ctx.log(format_args!(
            "resumed from the checkpoint of step {}",
            outcome.resumed_from
        ));
    }
    let report = outcome.report;
    if report.truncated > 0 || report.without_targets > 0 || report.boundary_mismatches > 0 {
        ctx.log(format_args!(
            "of {} examples: {} cut to {} tokens, {} left without completion tokens, {} whose \
             chat rendering does not start with the prompt's tokens",
            examples.len(),
            report.truncated,
            recipe.max_length,
            report.without_targets,
            report.boundary_mismatches
        ));
    }
    outcome
        .model
        .save(ctx.out_dir())
        .map_err(|e| OpError::failed(e.to_string()))?;
    let mut metrics = String::new();
    for line in &outcome.metrics {
        metrics.push_str(&line.to_string());
        metrics.push('\n');
    }
    fs::write(ctx.out_dir().join("metrics.jsonl"), metrics)?;
    let mut summary = json!({
        "examples": examples.len(),
        "steps": outcome.metrics.len(),
        "resumed_from": outcome.resumed_from,
        "precision": recipe.precision.name(),
        "truncated": report.truncated,
        "without_targets": report.without_targets,
        "final_loss": outcome.metrics.last().map(|m| m["loss"].clone()),
    });
    if let Some(curriculum) = data.curriculum {
        let mut steps = vec![0usize; curriculum.stages()];
        for line in &outcome.metrics {
            if let Some(stage) = line["stage"]
                .as_u64()
                .and_then(|k| steps.get_mut(k as usize))
            {
                *stage += 1;
            }
        }
        ctx.log(format_args!(
            "steps per stage: {}",
            steps
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
        summary["curriculum"] = json!({
            "pacing": curriculum.pacing.name(),
            "shares": curriculum.shares,
            "cumulative": curriculum.cumulative,
            "stage_examples": curriculum.pools().iter().map(Vec::len).collect::<Vec<_>>(),
            "stage_steps": steps,
        });
    }
    fs::write(ctx.out_dir().join("sft.json"), format!("{summary:#}\n"))?;
    Ok(())
}

/// The recipe a node's parameters describe.
fn recipe(ctx: &Params<'_>, on_gpu: bool) -> Result<Recipe, OpError> {
    let count = |name: &str| -> Result<usize, OpError> {
        usize::try_from(ctx.int(name)?)
            .map_err(|_| OpError::failed(format!("`{name}` must not be negative")))
    };
    let decay = match ctx.str("schedule")? {
        "linear" => Decay::Linear,
        "constant" => Decay::Constant,
        _ => Decay::Cosine,
    };
    let precision = match ctx.str("precision")? {
        "f32" => Precision::F32,
        "bf16" => Precision::Bf16,
        _ if on_gpu => Precision::Bf16,
        _ => Precision::F32,
    };
    let recipe = Recipe {
        epochs: count("epochs")?,
        lr: ctx.float("lr")?,
        decay,
        warmup_ratio: ctx.float("warmup_ratio")?,
        min_lr_ratio: ctx.float("min_lr_ratio")?,
        adamw: AdamWConfig {
            beta1: ctx.float("beta1")?,
            beta2: ctx.float("beta2")?,
            eps: ctx.float("eps")?,
            weight_decay: ctx.float("weight_decay")?,
        },
        max_grad_norm: ctx.float("max_grad_norm")?,
        micro_batch: count("micro_batch")?,
        grad_accum: count("grad_accum")?,
        max_length: count("max_length")?,
        seed: ctx.int("seed")? as u64,
        shuffle: ctx.bool("shuffle")?,
        group_by_length: ctx.bool("group_by_length")?,
        precision,
        recompute: ctx.bool("recompute")?,
        loss_chunk: count("loss_chunk")?,
    };
    recipe
        .validate()
        .map_err(|e| OpError::failed(e.to_string()))?;
    Ok(recipe)
}

/// Says how a curriculum will be trained: its stages' sizes and their epochs (or share of the
/// steps).
fn log_curriculum(ctx: &mut Context<'_>, curriculum: &Curriculum, recipe: &Recipe) {
    let pools: Vec<String> = curriculum
        .pools()
        .iter()
        .map(|pool| pool.len().to_string())
        .collect();
    let pacing = match curriculum.pacing {
        Pacing::Epochs => {
            let epochs = curriculum.apportion(recipe.epochs);
            let total: usize = epochs.iter().sum();
            let more = if total > recipe.epochs {
                format!(" ({total} in all: every stage makes at least one)")
            } else {
                String::new()
            };
            format!(
                "epochs per stage: {}{more}",
                epochs
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
        Pacing::Steps => "the steps of the run divided by the shares".to_string(),
    };
    ctx.log(format_args!(
        "curriculum of {} stages ({} examples each{}); {pacing}",
        pools.len(),
        pools.join(", "),
        if curriculum.cumulative {
            ", earlier stages included"
        } else {
            ""
        }
    ));
}

/// The training items rendered through the `prompt` and `completion` templates, and the
/// curriculum they form when they come from `curriculum`.
fn examples(ctx: &Context<'_>) -> Result<(Vec<Example>, Option<Curriculum>), OpError> {
    let dir = ctx.paths("train")?[0];
    let items = ItemSet::open(dir).map_err(|e| OpError::failed(e.to_string()))?;
    let curriculum = open_curriculum(dir, &items)?;
    let template = |name: &str| {
        Template::parse(ctx.str(name)?).map_err(|e| OpError::failed(format!("`{name}`: {e}")))
    };
    let (prompt, completion) = (template("prompt")?, template("completion")?);
    let labels: Vec<String> = ('A'..='Z').map(String::from).collect();
    let examples = items
        .iter()
        .map(|item| {
            let render = |t: &Template, name: &str| {
                t.render(item, &labels)
                    .map_err(|e| OpError::failed(format!("`{name}`: {e}")))
            };
            Ok(Example {
                prompt: render(&prompt, "prompt")?,
                completion: render(&completion, "completion")?,
            })
        })
        .collect::<Result<Vec<_>, OpError>>()?;
    Ok((examples, curriculum))
}

/// Refuses, before anything is loaded, a run whose estimated memory exceeds what the machine
/// (or `--memory`) allows.
fn check_memory(
    ctx: &mut Context<'_>,
    model_dir: &Path,
    recipe: &Recipe,
    on_gpu: bool,
) -> Result<(), OpError> {
    let source = model_source(model_dir)?;
    let config = if source.path.is_dir() {
        ModelConfig::from_hf_file(&source.path.join("config.json"))
            .map_err(|e| OpError::failed(e.to_string()))?
    } else {
        let file = rung_models::gguf::GgufFile::open(&source.path)
            .map_err(|e| OpError::failed(e.to_string()))?;
        rung_models::weights::config_from_gguf(&file).map_err(|e| OpError::failed(e.to_string()))?
    };
    let estimate = rung_sft::estimate(&config, recipe);
    ctx.log(format_args!(
        "estimated memory: {:.2} GiB ({estimate})",
        estimate.total() as f64 / f64::from(1u32 << 30)
    ));
    let granted = ctx.resources().memory;
    let (available, device) = if on_gpu {
        (granted, "this run's `--memory` bound")
    } else {
        match available_memory() {
            Some(free) if granted == 0 || free < granted => {
                (free, "this machine's available memory")
            }
            _ => (granted, "this run's `--memory` bound"),
        }
    };
    if available > 0 {
        estimate.check(available, device).map_err(OpError::failed)?;
    }
    Ok(())
}

/// `MemAvailable` of /proc/meminfo, in bytes.
fn available_memory() -> Option<u64> {
    let text = fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
