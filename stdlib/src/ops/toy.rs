//! `toy_items`, `toy_population` and `toy_model`: the toy world of `rung-toy` as nodes.

use std::ops::ControlFlow;
use std::sync::Mutex;

use burn::backend::Autodiff;
use rung_engine::{Context, OpError, Operation, Resources, Value};
use rung_irt::ResponseMatrix;
use rung_irt::files::save_matrix;
use rung_items::{Item, ItemSet};
use rung_toy::{ItemsConfig, PopulationConfig, Status, ToyError, TrainConfig};

use crate::backend::{Cpu, CpuDevice};

/// A toy-world error as a node's failure.
fn failed(error: ToyError) -> OpError {
    match error {
        ToyError::Cancelled => OpError::Cancelled,
        other => OpError::failed(other.to_string()),
    }
}

/// A non-negative count parameter.
fn count(ctx: &Context<'_>, name: &str) -> Result<usize, OpError> {
    usize::try_from(ctx.int(name)?)
        .map_err(|_| OpError::failed(format!("`{name}` must not be negative")))
}

/// A list-of-counts parameter.
fn counts(ctx: &Context<'_>, name: &str) -> Result<Vec<usize>, OpError> {
    let Value::List(values) = ctx.param(name)? else {
        return Err(OpError::failed(format!("`{name}` must be a list")));
    };
    values
        .iter()
        .map(|value| match value {
            Value::Int(n) => usize::try_from(*n)
                .map_err(|_| OpError::failed(format!("`{name}` must hold non-negative numbers"))),
            other => Err(OpError::failed(format!(
                "`{name}` must hold whole numbers, found `{other}`"
            ))),
        })
        .collect()
}

/// Items of an input, as a list.
fn items_of(ctx: &Context<'_>, name: &str) -> Result<Vec<Item>, OpError> {
    ItemSet::open(ctx.paths(name)?[0])
        .map(ItemSet::into_items)
        .map_err(|e| OpError::failed(e.to_string()))
}

/// Generated arithmetic items.
pub(super) struct ToyItemsOp;

impl Operation for ToyItemsOp {
    fn name(&self) -> &'static str {
        "toy_items"
    }

    fn version(&self) -> u32 {
        1
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let Value::List(names) = ctx.param("operations")? else {
            return Err(OpError::failed("`operations` must be a list"));
        };
        let operations = names
            .iter()
            .map(|name| {
                let name = name.to_string();
                rung_toy::Operation::parse(&name)
                    .ok_or_else(|| OpError::failed(format!("unknown operation `{name}`")))
            })
            .collect::<Result<_, _>>()?;
        let config = ItemsConfig {
            count: count(ctx, "count")?,
            operations,
            min_digits: u32::try_from(ctx.int("min_digits")?).unwrap_or(0),
            max_digits: u32::try_from(ctx.int("max_digits")?).unwrap_or(0),
            max_terms: count(ctx, "max_terms")?,
            seed: ctx.int("seed")? as u64,
        };
        let items = rung_toy::generate(&config).map_err(failed)?;
        let set = ItemSet::new(items).map_err(|e| OpError::failed(e.to_string()))?;
        ctx.log(format_args!("{} items", set.len()));
        set.save(ctx.out_dir())
            .map_err(|e| OpError::failed(e.to_string()))?;
        Ok(())
    }
}

/// A response matrix from a population of tiny models.
pub(super) struct ToyPopulationOp;

impl Operation for ToyPopulationOp {
    fn name(&self) -> &'static str {
        "toy_population"
    }

    fn version(&self) -> u32 {
        1
    }

    fn resources(&self, _params: &[(String, Value)]) -> Resources {
        Resources {
            threads: u32::MAX,
            ..Resources::default()
        }
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let test = items_of(ctx, "items")?;
        let train = match ctx.param("train")? {
            Value::Null => Vec::new(),
            _ => items_of(ctx, "train")?,
        };
        let config = PopulationConfig {
            members: count(ctx, "members")?,
            widths: counts(ctx, "widths")?,
            depths: counts(ctx, "depths")?,
            checkpoints: counts(ctx, "steps")?,
            sample: ctx.float("sample")?,
            batch_size: count(ctx, "batch_size")?,
            lr: ctx.float("lr")?,
            seed: ctx.int("seed")? as u64,
        };
        let threads = ctx.resources().threads as usize;
        let subjects = {
            let ctx_ref = &*ctx;
            let shown = Mutex::new(0usize);
            let observer = |status: Status| {
                ctx_ref.progress(status.done as u64, status.total as u64, "steps");
                let mut last = shown.lock().unwrap_or_else(|e| e.into_inner());
                if status.done >= *last + 25 {
                    *last = status.done;
                    ctx_ref.status(&format!(
                        "member {} of {}, loss {:.3}",
                        status.member + 1,
                        config.members,
                        status.loss
                    ));
                }
                if ctx_ref.cancelled() {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            };
            rung_toy::population::<Autodiff<Cpu>>(
                &train,
                &test,
                &config,
                &CpuDevice::default(),
                threads,
                &observer,
            )
            .map_err(failed)?
        };
        let mut cells = Vec::with_capacity(subjects.len() * test.len());
        for subject in &subjects {
            let right = subject.correct.iter().filter(|&&c| c).count();
            ctx.log(format_args!(
                "{}: {right} of {} correct",
                subject.name,
                test.len()
            ));
            cells.extend(subject.correct.iter().map(|&c| u8::from(c)));
        }
        let matrix = ResponseMatrix::new(
            subjects.into_iter().map(|s| s.name).collect(),
            test.iter().map(|item| item.id.clone()).collect(),
            cells,
        )
        .map_err(|e| OpError::failed(e.to_string()))?;
        save_matrix(&matrix, ctx.out_dir())?;
        super::sets::carry_items(ctx.paths("items")?[0], ctx.out_dir())?;
        Ok(())
    }
}

/// A tiny model trained from scratch on toy items.
pub(super) struct ToyModelOp;

impl Operation for ToyModelOp {
    fn name(&self) -> &'static str {
        "toy_model"
    }

    fn version(&self) -> u32 {
        1
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let items = items_of(ctx, "train")?;
        let (config, tokenizer) = super::models::tiny_config(&ctx.typed())?;
        let seed = ctx.int("seed")? as u64;
        let model =
            rung_toy::character_model::<Cpu>(config, tokenizer, seed, &CpuDevice::default())
                .map_err(failed)?;
        let train = TrainConfig {
            steps: count(ctx, "steps")?,
            batch_size: count(ctx, "batch_size")?,
            lr: ctx.float("lr")?,
            seed,
        };
        let mut losses = Vec::new();
        let trained = {
            let ctx_ref = &*ctx;
            let mut after_step = |step: usize, total: usize, loss: f64, _: &_| {
                ctx_ref.progress(step as u64, total as u64, "steps");
                if step.is_multiple_of(25) {
                    ctx_ref.status(&format!("loss {loss:.3}"));
                }
                if step.is_multiple_of((total / 10).max(1)) || step == total {
                    losses.push((step, loss));
                }
                if ctx_ref.cancelled() {
                    Err(ToyError::Cancelled)
                } else {
                    Ok(ControlFlow::Continue(()))
                }
            };
            rung_toy::train::train::<Autodiff<Cpu>>(model, &items, &train, &mut after_step)
                .map_err(failed)?
        };
        for (step, loss) in losses {
            ctx.log(format_args!("step {step}: loss {loss:.4}"));
        }
        ctx.log(format_args!(
            "{} parameters, seed {seed}",
            trained.config.parameter_count()
        ));
        trained
            .save(ctx.out_dir())
            .map_err(|e| OpError::failed(e.to_string()))?;
        Ok(())
    }
}
