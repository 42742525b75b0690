//! `lm_eval`: a model evaluated by lm-evaluation-harness (vLLM by default) as an external step,
//! its sample logs read into the `eval` artifact `evaluate` writes.
//!
//! The harness writes under `{output}/lm_eval/` (kept in the artifact, with its results file);
//! each sample of the chosen filter becomes a line of `records.jsonl` with the item id
//! `item_id` makes of its task and document, and `metrics.json` holds the mean of every
//! per-sample metric, overall, per task and per `bin` of the items when `items` are given.

use std::collections::{BTreeMap, HashMap};
use std::fs;

use rung_engine::{Context, OpError, Operation, Params, Resources, Value};
use rung_items::{Item, ItemSet};
use serde_json::{Value as Json, json};

use super::placeholders::literal;
use super::samples::{self, Answer, Sample};
use super::step::{Step, strings};
use super::{declared_resources, hf_directory, owned, places};
use crate::ops::models::model_source;

/// The folder under `{output}` the harness writes to.
const HARNESS_DIR: &str = "lm_eval";

/// Evaluates a model with lm-evaluation-harness; see the catalog for its parameters.
pub(in crate::ops) struct LmEvalOp;

impl Operation for LmEvalOp {
    fn name(&self) -> &'static str {
        "lm_eval"
    }

    fn version(&self) -> u32 {
        1
    }

    fn resources(&self, params: &[(String, Value)]) -> Resources {
        declared_resources(params)
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let model_artifact = ctx.paths("model")?[0].to_path_buf();
        let model = hf_directory(&model_artifact)?;
        if model.to_str().is_some_and(|path| path.contains([',', '='])) {
            return Err(OpError::failed(format!(
                "{}: lm-evaluation-harness cannot take a model path with `,` or `=` in its \
                 `--model_args`",
                model.display()
            )));
        }
        let params = ctx.typed();
        let ids = IdTemplate::parse(params.str("item_id")?)?;
        let filter = match params.param("filter")? {
            Value::Null => None,
            _ => Some(params.str("filter")?.to_owned()),
        };
        let step = step(&params, &dtype(&model_artifact)?)?;
        let items = match params.param("items")? {
            Value::Null => None,
            _ => Some(
                ItemSet::open(ctx.paths("items")?[0])
                    .map_err(|e| OpError::failed(e.to_string()))?
                    .into_items(),
            ),
        };
        let include = match params.param("include_path")? {
            Value::Null => Vec::new(),
            _ => owned(ctx.paths("include_path")?),
        };
        let places = places(ctx, vec![model], include)?;
        step.run(ctx, &places)?;
        let samples = samples::read(&ctx.out_dir().join(HARNESS_DIR), filter.as_deref())?;
        let total = samples.len();
        let kept = keep(samples, &ids, items.as_deref())?;
        if let Some(items) = &items {
            ctx.log(format_args!(
                "kept the {} samples of the {} items ({} of them have none) out of {total}",
                kept.len(),
                items.len(),
                items.len() - kept.len()
            ));
        }
        let artifact = artifact(&kept, items.as_deref());
        for (name, mean) in artifact.metrics["metrics"]
            .as_object()
            .into_iter()
            .flatten()
        {
            ctx.log(format_args!("{name}: {mean} over {} samples", kept.len()));
        }
        fs::write(ctx.out_dir().join("records.jsonl"), artifact.records)?;
        let metrics = format!("{:#}\n", artifact.metrics);
        fs::write(ctx.out_dir().join("metrics.json"), metrics)?;
        Ok(())
    }
}

/// The step a node's parameters describe, for a model loaded in `dtype`.
fn step(params: &Params<'_>, dtype: &str) -> Result<Step, OpError> {
    let mut step = Step::new(
        params,
        command(params, dtype)?,
        vec![HARNESS_DIR.to_owned()],
    )?;
    step.env.insert(0, ("PYTHONUNBUFFERED".into(), "1".into()));
    Ok(step)
}

/// The command line over the placeholders: `{input0}` is the model's Hugging Face directory,
/// `{file0}` the `include_path` folder, `dtype` the dtype the model's `hf` node asked for (`auto`
/// = the checkpoint's own).
fn command(params: &Params<'_>, dtype: &str) -> Result<Vec<String>, OpError> {
    let tasks = strings(params, "tasks")?;
    if tasks.is_empty() || tasks.iter().any(|t| t.is_empty() || t.contains(',')) {
        return Err(OpError::failed(
            "`tasks` must name at least one task, each without `,`",
        ));
    }
    let backend = params.str("backend")?;
    let optional = |name: &str| -> Result<Option<i64>, OpError> {
        match params.param(name)? {
            Value::Null => Ok(None),
            _ => params.int(name).map(Some),
        }
    };
    let mut model_args = vec!["pretrained={input0}".to_owned(), format!("dtype={dtype}")];
    match backend {
        "vllm" => {
            model_args.push(format!(
                "tensor_parallel_size={}",
                params.int("tensor_parallel")?
            ));
            model_args.push(format!(
                "gpu_memory_utilization={:?}",
                params.float("gpu_memory_utilization")?
            ));
            if let Some(length) = optional("max_model_len")? {
                model_args.push(format!("max_model_len={length}"));
            }
            model_args.push(format!("seed={}", params.int("seed")?));
        }
        _ => {
            if let Some(length) = optional("max_model_len")? {
                model_args.push(format!("max_length={length}"));
            }
        }
    }
    let mut argv: Vec<String> = vec![
        literal(params.str("python")?),
        "-m".into(),
        "lm_eval".into(),
        "--model".into(),
        backend.into(),
        "--model_args".into(),
        model_args.join(","),
        "--tasks".into(),
        literal(&tasks.join(",")),
        "--num_fewshot".into(),
        params.int("num_fewshot")?.to_string(),
        "--batch_size".into(),
        optional("batch_size")?.map_or_else(|| "auto".to_owned(), |n| n.to_string()),
        "--seed".into(),
        params.int("seed")?.to_string(),
    ];
    if !matches!(params.param("include_path")?, Value::Null) {
        argv.extend(["--include_path".into(), "{file0}".into()]);
    }
    if params.bool("chat_template")? {
        argv.push("--apply_chat_template".into());
    }
    if let Value::Str(system) = params.param("system_prompt")? {
        argv.extend(["--system_instruction".into(), literal(system)]);
    }
    if let Some(limit) = optional("limit")? {
        argv.extend(["--limit".into(), limit.to_string()]);
    }
    argv.extend([
        "--output_path".into(),
        format!("{{output}}/{HARNESS_DIR}"),
        "--log_samples".into(),
    ]);
    Ok(argv)
}

/// The dtype to load a model artifact in: the one its `hf` node asked for, else the
/// checkpoint's own (a fine-tuned model is evaluated as it was saved).
fn dtype(artifact: &std::path::Path) -> Result<String, OpError> {
    if !artifact.join("source.json").exists() {
        return Ok("auto".to_owned());
    }
    Ok(match model_source(artifact)?.dtype.as_str() {
        "bf16" => "bfloat16",
        "f16" => "float16",
        "f32" => "float32",
        _ => "auto",
    }
    .to_owned())
}

/// How a sample's item id is made: text with `{task}` and `{doc_id}`.
struct IdTemplate(String);

impl IdTemplate {
    fn parse(template: &str) -> Result<IdTemplate, OpError> {
        let rest = template.replace("{task}", "").replace("{doc_id}", "");
        if rest.contains(['{', '}']) {
            return Err(OpError::failed(format!(
                "`item_id`: `{template}` may use only `{{task}}` and `{{doc_id}}`"
            )));
        }
        Ok(IdTemplate(template.to_owned()))
    }

    fn id(&self, sample: &Sample) -> String {
        self.0
            .replace("{task}", &sample.task)
            .replace("{doc_id}", &sample.doc_id)
    }
}

/// The samples with their item ids, only those of `items` when given (in the items' order).
fn keep(
    samples: Vec<Sample>,
    ids: &IdTemplate,
    items: Option<&[Item]>,
) -> Result<Vec<(String, Sample)>, OpError> {
    let mut named: Vec<(String, Sample)> = samples.into_iter().map(|s| (ids.id(&s), s)).collect();
    let mut seen = HashMap::new();
    for (id, sample) in &named {
        if let Some(first) = seen.insert(id.as_str(), sample.task.as_str()) {
            return Err(OpError::failed(format!(
                "two samples (of `{first}` and `{}`) have the item id `{id}`: `item_id` must \
                 tell them apart (with `{{task}}`)",
                sample.task
            )));
        }
    }
    let Some(items) = items else {
        return Ok(named);
    };
    let position: HashMap<&str, usize> = items
        .iter()
        .enumerate()
        .map(|(i, item)| (item.id.as_str(), i))
        .collect();
    let total = named.len();
    named.retain(|(id, _)| position.contains_key(id.as_str()));
    if named.is_empty() {
        return Err(OpError::failed(format!(
            "none of the {total} samples is one of the {} items: samples are named like `{}` \
             (`item_id`), items like `{}`",
            items.len(),
            ids.0,
            items.first().map_or("", |item| item.id.as_str())
        )));
    }
    named.sort_by_key(|(id, _)| position[id.as_str()]);
    Ok(named)
}

/// The `eval` artifact's files, as `evaluate` writes them.
struct Artifact {
    /// `records.jsonl`: one line per sample.
    records: String,
    /// `metrics.json`: the means overall, per `bin` of the items and per task.
    metrics: Json,
}

fn artifact(samples: &[(String, Sample)], items: Option<&[Item]>) -> Artifact {
    let mut records = String::new();
    for (id, sample) in samples {
        records.push_str(&record(id, sample).to_string());
        records.push('\n');
    }
    let all = || samples.iter().map(|(_, sample)| sample);
    let overall = samples::means(all());
    let tasks: serde_json::Map<String, Json> = samples::by_task(all())
        .into_iter()
        .map(|(task, members)| {
            let entry = json!({
                "filter": members.first().map(|s| &s.filter),
                "n": members.len(),
                "metrics": samples::metrics_json(&samples::means(members.iter().copied())),
            });
            (task.to_owned(), entry)
        })
        .collect();
    let bin_of: HashMap<&str, i64> = items
        .into_iter()
        .flatten()
        .filter_map(|item| Some((item.id.as_str(), item.metadata.get("bin")?.as_i64()?)))
        .collect();
    let mut bins: BTreeMap<i64, Vec<&Sample>> = BTreeMap::new();
    for (id, sample) in samples {
        if let Some(bin) = bin_of.get(id.as_str()) {
            bins.entry(*bin).or_default().push(sample);
        }
    }
    let per_bin: Vec<Json> = bins
        .iter()
        .map(|(bin, members)| {
            json!({
                "bin": bin,
                "n": members.len(),
                "metrics": samples::metrics_json(&samples::means(members.iter().copied())),
            })
        })
        .collect();
    let metrics = json!({
        "n": samples.len(),
        "primary": overall.first().map(|(name, _)| name),
        "metrics": samples::metrics_json(&overall),
        "per_bin": per_bin,
        "tasks": tasks,
    });
    Artifact { records, metrics }
}

/// One line of `records.jsonl`: `evaluate`'s fields where the harness has them, its scores,
/// and `correct` for the metrics that are right or wrong (0 or 1).
fn record(id: &str, sample: &Sample) -> Json {
    let mut record = json!({
        "id": id,
        "task": sample.task,
        "doc_id": sample.doc_id,
        "filter": sample.filter,
        "prompt": sample.prompt,
    });
    match &sample.answer {
        Answer::Generated { output, extracted } => {
            record["output"] = json!(output);
            record["extracted"] = json!(extracted);
            record["reference"] = json!(sample.target);
        }
        Answer::Choices {
            choices,
            loglikelihoods,
        } => {
            record["choices"] = json!(choices);
            record["loglikelihoods"] = json!(loglikelihoods);
            record["gold"] = match sample.target.parse::<usize>() {
                Ok(index) => json!(index),
                Err(_) => json!(sample.target),
            };
            record["pred"] = json!(rung_items::argmax(loglikelihoods));
        }
        Answer::Other => record["reference"] = json!(sample.target),
    }
    let scores: serde_json::Map<String, Json> = sample
        .scores
        .iter()
        .map(|(name, value)| (name.clone(), json!(value)))
        .collect();
    let correct: serde_json::Map<String, Json> = sample
        .scores
        .iter()
        .filter(|(_, value)| *value == 0.0 || *value == 1.0)
        .map(|(name, value)| (name.clone(), json!(*value == 1.0)))
        .collect();
    record["scores"] = Json::Object(scores);
    record["correct"] = Json::Object(correct);
    record
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::ops::external::testing::{node_params, shown, strings};

    #[test]
    fn vllm_with_the_chat_template_and_a_system_prompt() {
        let params = node_params(
            "lm_eval",
            &[
                ("tasks", strings(&["gsm8k", "leaderboard_bbh"])),
                ("system_prompt", Value::Str("Answer {briefly}.".into())),
                ("max_model_len", Value::Int(4096)),
                ("tensor_parallel", Value::Int(2)),
                ("limit", Value::Int(100)),
                ("python", Value::Str("/opt/lm-eval/bin/python".into())),
            ],
        );
        let step = step(&Params::new("lm_eval", &params), "bfloat16").unwrap();
        insta::assert_snapshot!(shown(&step));
    }

    #[test]
    fn transformers_without_the_chat_template() {
        let params = node_params(
            "lm_eval",
            &[
                ("tasks", strings(&["arc_challenge"])),
                ("backend", Value::Enum("hf".into())),
                ("chat_template", Value::Bool(false)),
                ("num_fewshot", Value::Int(25)),
                ("batch_size", Value::Int(8)),
                ("max_model_len", Value::Int(2048)),
                ("include_path", Value::File("tasks/arc".into())),
            ],
        );
        let step = step(&Params::new("lm_eval", &params), "auto").unwrap();
        insta::assert_snapshot!(shown(&step));
    }

    fn fixture() -> Vec<Sample> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ops/external/testdata/lm_eval");
        samples::read(&dir, None).unwrap()
    }

    fn item(id: &str, bin: i64) -> Item {
        let mut item = Item::new(id, "");
        item.metadata.insert("bin".into(), json!(bin));
        item
    }

    #[test]
    fn sample_logs_become_the_eval_artifact_of_the_items_given() {
        let items = [
            item("gsm8k/2", 0),
            item("arc_challenge/1", 0),
            item("gsm8k/0", 1),
            item("gsm8k/7", 1),
        ];
        let ids = IdTemplate::parse("{task}/{doc_id}").unwrap();
        let kept = keep(fixture(), &ids, Some(&items)).unwrap();
        let order: Vec<&str> = kept.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(order, ["gsm8k/2", "arc_challenge/1", "gsm8k/0"]);
        let artifact = artifact(&kept, Some(&items));
        insta::assert_snapshot!("records", artifact.records);
        insta::assert_snapshot!("metrics", format!("{:#}", artifact.metrics));
    }

    #[test]
    fn without_items_every_sample_is_kept_under_its_template_id() {
        let ids = IdTemplate::parse("{task}-test-{doc_id}").unwrap();
        let kept = keep(fixture(), &ids, None).unwrap();
        let order: Vec<&str> = kept.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(
            order,
            [
                "arc_challenge-test-0",
                "arc_challenge-test-1",
                "gsm8k-test-0",
                "gsm8k-test-1",
                "gsm8k-test-2"
            ]
        );
        let metrics = artifact(&kept, None).metrics;
        assert_eq!(metrics["n"], 5);
        assert_eq!(metrics["primary"], "acc");
        assert_eq!(metrics["metrics"]["acc"], 0.5);
        assert_eq!(metrics["tasks"]["gsm8k"]["filter"], "strict-match");
        assert_eq!(metrics["per_bin"], json!([]));
    }

    #[test]
    fn ids_that_match_nothing_or_collide_are_errors() {
        let items = [item("gsm8k-test-0", 0)];
        let ids = IdTemplate::parse("{task}/{doc_id}").unwrap();
        let error = keep(fixture(), &ids, Some(&items)).unwrap_err().to_string();
        assert!(
            error.contains("none of the 5 samples is one of the 1 items: samples are named like `{task}/{doc_id}`"),
            "{error}"
        );
        let collide = IdTemplate::parse("doc-{doc_id}").unwrap();
        let error = keep(fixture(), &collide, None).unwrap_err().to_string();
        assert!(error.contains("have the item id `doc-0`"), "{error}");
        let error = IdTemplate::parse("{task}/{id}").err().unwrap().to_string();
        assert!(
            error.contains("may use only `{task}` and `{doc_id}`"),
            "{error}"
        );
    }
}
