//! `external`, `trl_sft` and `lm_eval`: established tools run as steps of the DAG.
//!
//! All three build a `Step`, a command with its declared outputs, environment and time limit,
//! and run it the same way (`step.rs`): no shell, an empty scratch folder as the
//! working directory, a clean environment (PATH, HOME and the declared `pass_env` names), the
//! output and error streams into the node's log, cancellation and the time limit stopping the
//! command's whole process group. Placeholders (`placeholders.rs`) name the input folders, the
//! files, the output and checkpoint folders. Everything a step declares is a parameter, so the
//! engine hashes it into the key; files by content. `trl_sft` (`trl_sft.rs`) renders the
//! training items and launches the standard library's TRL recipe (`stdlib/recipes/`, built
//! into rung); `lm_eval` (`lm_eval.rs`) runs lm-evaluation-harness and reads its sample logs
//! (`samples.rs`) into the records and metrics `evaluate` writes.

mod lm_eval;
mod placeholders;
mod samples;
mod step;
mod trl_sft;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rung_engine::{Context, OpError, Operation, Resources, Value};

use super::models::model_source;

pub(super) use lm_eval::LmEvalOp;
pub(super) use trl_sft::TrlSftOp;

use placeholders::Places;
use step::{Step, strings};

/// Runs a declared command; see the catalog for its parameters.
pub(super) struct ExternalOp;

impl Operation for ExternalOp {
    fn name(&self) -> &'static str {
        "external"
    }

    fn version(&self) -> u32 {
        1
    }

    fn resources(&self, params: &[(String, Value)]) -> Resources {
        declared_resources(params)
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let params = ctx.typed();
        let step = Step::new(
            &params,
            strings(&params, "command")?,
            strings(&params, "outputs")?,
        )?;
        let inputs = owned(ctx.paths("inputs")?);
        let files = owned(ctx.paths("files")?);
        let places = places(ctx, inputs, files)?;
        step.run(ctx, &places)
    }
}

/// The resources a node's `resources` parameter declares.
fn declared_resources(params: &[(String, Value)]) -> Resources {
    params
        .iter()
        .find(|(name, _)| name == "resources")
        .map_or_else(Resources::default, |(_, record)| resources_of(record))
}

/// A `Resources` record as the scheduler's resources: `cpus` threads (at least one), `gpus`,
/// `memory_gb` GiB and `time_minutes` (0 = no limit); fields left out take the engine's defaults.
fn resources_of(record: &Value) -> Resources {
    let field = |name: &str| match record {
        Value::Record(fields) => match fields.get(name) {
            Some(Value::Int(n)) => Some((*n).max(0).unsigned_abs()),
            _ => None,
        },
        _ => None,
    };
    let defaults = Resources::default();
    let count = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    Resources {
        threads: field("cpus").map_or(defaults.threads, |n| count(n).max(1)),
        gpus: field("gpus").map_or(defaults.gpus, count),
        memory: field("memory_gb").map_or(defaults.memory, |gib| gib.saturating_mul(1 << 30)),
        time: field("time_minutes")
            .filter(|&minutes| minutes > 0)
            .map(|minutes| Duration::from_secs(minutes.saturating_mul(60))),
    }
}

/// What the placeholders stand for in this attempt: absolute paths, since the command runs in a
/// scratch folder of its own.
fn places(ctx: &Context<'_>, inputs: Vec<PathBuf>, files: Vec<PathBuf>) -> Result<Places, OpError> {
    let absolute = |path: &Path| {
        std::path::absolute(path).map_err(|e| OpError::failed(format!("{}: {e}", path.display())))
    };
    let all = |paths: Vec<PathBuf>| paths.iter().map(|p| absolute(p)).collect::<Result<_, _>>();
    let granted = ctx.resources();
    Ok(Places {
        inputs: all(inputs)?,
        files: all(files)?,
        output: absolute(ctx.out_dir())?,
        checkpoint: absolute(ctx.checkpoint_dir()?)?,
        threads: granted.threads,
        gpus: granted.gpus,
    })
}

/// The Hugging Face directory a model artifact stands for (its own folder, or the directory its
/// `source.json` points at); external tools cannot read GGUF files.
fn hf_directory(artifact: &Path) -> Result<PathBuf, OpError> {
    let path = model_source(artifact)?.path;
    if path.join("config.json").is_file() {
        Ok(path)
    } else {
        Err(OpError::failed(format!(
            "{} is not a Hugging Face model directory (with a config.json), which external \
             tools need",
            path.display()
        )))
    }
}

/// Owned copies of the paths a context lends, so that the context can be borrowed again.
fn owned(paths: Vec<&Path>) -> Vec<PathBuf> {
    paths.into_iter().map(Path::to_path_buf).collect()
}

/// Node parameters for tests, and steps shown for snapshots.
#[cfg(test)]
mod testing {
    use std::collections::BTreeMap;

    use rung_engine::{Type, Value};

    use super::step::Step;

    /// A node's parameters as the engine hands them: the catalog's defaults (records' fields
    /// too), `given` on top, sorted by name.
    pub(super) fn node_params(op: &str, given: &[(&str, Value)]) -> Vec<(String, Value)> {
        let catalog = crate::catalog();
        let signature = catalog.op(op).expect("a declared operation");
        let mut params: Vec<(String, Value)> = signature
            .params
            .iter()
            .map(|param| {
                let mut value = given
                    .iter()
                    .find(|(name, _)| *name == param.name)
                    .map(|(_, value)| value.clone())
                    .or_else(|| param.default_value())
                    .unwrap_or(Value::Null);
                if let (Type::Record(schema), Value::Record(fields)) = (&param.ty, &mut value) {
                    for field in &catalog.record(schema).expect("a declared record").fields {
                        if let Some(default) = field.default_value() {
                            fields.entry(field.name.to_owned()).or_insert(default);
                        }
                    }
                }
                (param.name.to_owned(), value)
            })
            .collect();
        params.sort_by(|a, b| a.0.cmp(&b.0));
        params
    }

    /// A list of strings.
    pub(super) fn strings(items: &[&str]) -> Value {
        Value::List(items.iter().map(|s| Value::Str((*s).to_owned())).collect())
    }

    /// A record of ints.
    pub(super) fn record(fields: &[(&str, i64)]) -> Value {
        Value::Record(
            fields
                .iter()
                .map(|(name, n)| ((*name).to_owned(), Value::Int(*n)))
                .collect::<BTreeMap<_, _>>(),
        )
    }

    /// A step as a snapshot shows it: one argument per line, then what it declares.
    pub(super) fn shown(step: &Step) -> String {
        let mut text = String::from("command:\n");
        for arg in &step.argv {
            text.push_str(&format!("  {arg}\n"));
        }
        text.push_str("env:\n");
        for (name, value) in &step.env {
            text.push_str(&format!("  {name}={value}\n"));
        }
        text.push_str(&format!("pass_env: {}\n", step.pass_env.join(", ")));
        text.push_str(&format!("outputs: {}\n", step.outputs.join(", ")));
        text.push_str(&format!("time limit: {:?}\n", step.time));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::testing::record;
    use super::*;

    #[test]
    fn a_resources_record_maps_onto_the_schedulers_resources() {
        let full = record(&[
            ("cpus", 32),
            ("gpus", 8),
            ("memory_gb", 512),
            ("time_minutes", 90),
        ]);
        assert_eq!(
            resources_of(&full),
            Resources {
                threads: 32,
                gpus: 8,
                memory: 512 << 30,
                time: Some(Duration::from_secs(90 * 60)),
            }
        );
        let unlimited = record(&[("cpus", 0), ("gpus", -1), ("time_minutes", 0)]);
        assert_eq!(
            resources_of(&unlimited),
            Resources {
                threads: 1,
                gpus: 0,
                memory: 0,
                time: None,
            }
        );
    }
}
