//! `evaluate`: a model answers an item set under a task; per-item records and aggregate metrics.
//!
//! Multiple-choice tasks score each choice's continuation by log-likelihood (acc, and acc_norm
//! per character of the continuation, as lm-evaluation-harness does); generative tasks decode
//! greedily until a stop sequence, extract the answer with the task's filters and compare it
//! with the rendered target. Items are processed in batches with progress; consecutive cells
//! that share a model load it once. The output holds `records.jsonl` (one line per item) and
//! `metrics.json` (the means, per `bin` metadata too).

use std::collections::BTreeMap;
use std::fs;

use burn::prelude::Backend;
use rung_engine::{Context, OpError, Operation, Resources, Value};
use rung_items::{
    Extractor, Item, ItemSet, Metric, Task, TaskOutput, continuations, render_prompt,
    render_target, score_choices, score_generation,
};
use rung_models::chat::Message;
use rung_models::{GenerateOptions, LanguageModel};
use serde_json::{Value as Json, json};

use super::models::shared_cpu_model;

/// Evaluates a model; see the catalog for its parameters.
pub(super) struct EvaluateOp;

impl Operation for EvaluateOp {
    fn name(&self) -> &'static str {
        "evaluate"
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
        let task = task(ctx.param("task")?)?;
        if ctx.int("num_fewshot")? > 0 {
            return Err(OpError::failed(
                "few-shot prompts (`num_fewshot` > 0) are not implemented yet; the study \
                 evaluates zero-shot",
            ));
        }
        let batch_size = usize::try_from(ctx.int("batch_size")?)
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| OpError::failed("`batch_size` must be at least 1"))?;
        let mut items = ItemSet::open(ctx.paths("items")?[0])
            .map_err(|e| OpError::failed(e.to_string()))?
            .into_items();
        if let Value::Int(limit) = ctx.param("limit")? {
            items.truncate(usize::try_from(*limit).unwrap_or(0));
        }
        let model_dir = ctx.paths("model")?[0].to_path_buf();
        let (model, reused) = shared_cpu_model(&model_dir)?;
        let source = super::models::model_source(&model_dir)?.path;
        ctx.log(format_args!(
            "model {} ({})",
            source.display(),
            if reused { "already loaded" } else { "loaded" }
        ));
        ctx.record("backend", "flex (CPU)");
        let prompts = items
            .iter()
            .map(|item| prompt(&model, &task, item))
            .collect::<Result<Vec<_>, _>>()?;
        let records = match task.output {
            TaskOutput::MultipleChoice => choose(ctx, &model, &task, &items, &prompts, batch_size)?,
            TaskOutput::Generate => generate(ctx, &model, &task, &items, &prompts, batch_size)?,
        };
        let metrics = aggregate(&task, &items, &records);
        for (name, value) in metrics["metrics"].as_object().into_iter().flatten() {
            ctx.log(format_args!("{name}: {value} over {} items", items.len()));
        }
        let mut lines = String::new();
        for record in &records {
            lines.push_str(&record.to_string());
            lines.push('\n');
        }
        fs::write(ctx.out_dir().join("records.jsonl"), lines)?;
        fs::write(ctx.out_dir().join("metrics.json"), format!("{metrics:#}\n"))?;
        Ok(())
    }
}

/// The `Task` record of a node, checked (templates parse, filters compile, metrics fit the
/// output type).
pub fn task(value: &Value) -> Result<Task, OpError> {
    let task: Task = serde_json::from_value(to_json(value))
        .map_err(|e| OpError::failed(format!("`task`: {e}")))?;
    task.check()
        .map_err(|e| OpError::failed(format!("`task`: {e}")))?;
    Ok(task)
}

fn to_json(value: &Value) -> Json {
    match value {
        Value::Null | Value::Node(_) => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => json!(i),
        Value::Float(x) => json!(x),
        Value::Str(s) | Value::Enum(s) | Value::File(s) => Json::String(s.clone()),
        Value::List(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Record(fields) => Json::Object(
            fields
                .iter()
                .map(|(name, value)| (name.clone(), to_json(value)))
                .collect(),
        ),
    }
}

/// The text put to the model for `item`: the rendered prompt, through the chat template when
/// the task asks for it.
fn prompt<B: Backend>(
    model: &LanguageModel<B>,
    task: &Task,
    item: &Item,
) -> Result<String, OpError> {
    let text = render_prompt(task, item).map_err(|e| OpError::failed(e.to_string()))?;
    if !task.chat_template {
        return Ok(match &task.system_prompt {
            Some(system) => format!("{system}\n\n{text}"),
            None => text,
        });
    }
    let mut messages = Vec::new();
    if let Some(system) = &task.system_prompt {
        messages.push(Message::system(system.clone()));
    }
    messages.push(Message::user(text));
    model
        .chat_prompt(&messages)
        .map_err(|e| OpError::failed(e.to_string()))
}

/// Multiple choice: every choice scored by log-likelihood, in batches of items.
fn choose<B: Backend>(
    ctx: &Context<'_>,
    model: &LanguageModel<B>,
    task: &Task,
    items: &[Item],
    prompts: &[String],
    batch_size: usize,
) -> Result<Vec<Json>, OpError> {
    let delimiter = if task.chat_template {
        ""
    } else {
        task.target_delimiter.as_str()
    };
    let mut records = Vec::with_capacity(items.len());
    for (start, chunk) in items.chunks(batch_size).enumerate() {
        ctx.check_cancelled()?;
        let start = start * batch_size;
        let mut pairs = Vec::new();
        let mut texts = Vec::with_capacity(chunk.len());
        for (offset, item) in chunk.iter().enumerate() {
            let choices = continuations(task, item).map_err(|e| OpError::failed(e.to_string()))?;
            for choice in &choices {
                pairs.push((
                    prompts[start + offset].clone(),
                    format!("{delimiter}{choice}"),
                ));
            }
            texts.push(choices);
        }
        let scores = model
            .loglikelihood(&pairs, batch_size)
            .map_err(|e| OpError::failed(e.to_string()))?;
        let mut next = 0;
        for (offset, (item, choices)) in chunk.iter().zip(texts).enumerate() {
            let lls: Vec<f64> = scores[next..next + choices.len()]
                .iter()
                .map(|s| s.sum)
                .collect();
            next += choices.len();
            let gold = item
                .gold
                .ok_or_else(|| OpError::failed(format!("item `{}` has no gold choice", item.id)))?;
            let outcome = score_choices(&lls, &choices, gold)
                .map_err(|e| OpError::failed(format!("item `{}`: {e}", item.id)))?;
            let correct: BTreeMap<&str, bool> = task
                .effective_metrics()
                .into_iter()
                .map(|metric| (metric.name(), outcome.get(metric)))
                .collect();
            records.push(json!({
                "id": item.id,
                "prompt": prompts[start + offset],
                "choices": choices,
                "loglikelihoods": lls,
                "gold": gold,
                "pred": outcome.pred,
                "pred_norm": outcome.pred_norm,
                "correct": correct,
            }));
        }
        ctx.progress(records.len() as u64, items.len() as u64, "items");
    }
    Ok(records)
}

/// Generation: greedy continuations in batches, the answer extracted and compared.
fn generate<B: Backend>(
    ctx: &Context<'_>,
    model: &LanguageModel<B>,
    task: &Task,
    items: &[Item],
    prompts: &[String],
    batch_size: usize,
) -> Result<Vec<Json>, OpError> {
    let extractor = Extractor::new(&task.filters, &task.choice_labels)
        .map_err(|e| OpError::failed(e.to_string()))?;
    let options = GenerateOptions {
        max_new_tokens: task.max_new_tokens,
        eos_token_ids: Vec::new(),
        stop: task.stop.clone(),
        batch_size,
    };
    let mut records = Vec::with_capacity(items.len());
    for (chunk, texts) in items.chunks(batch_size).zip(prompts.chunks(batch_size)) {
        ctx.check_cancelled()?;
        let outputs = model
            .generate(texts, !task.chat_template, &options)
            .map_err(|e| OpError::failed(e.to_string()))?;
        for ((item, prompt), output) in chunk.iter().zip(texts).zip(outputs) {
            let answer = extractor.extract(&output.text);
            let reference =
                render_target(task, item).map_err(|e| OpError::failed(e.to_string()))?;
            let correct: BTreeMap<&str, bool> = score_generation(task, &answer, &reference)
                .into_iter()
                .map(|(metric, right)| (metric.name(), right))
                .collect();
            records.push(json!({
                "id": item.id,
                "prompt": prompt,
                "output": output.text,
                "finish": format!("{:?}", output.finish).to_lowercase(),
                "extracted": answer,
                "reference": reference,
                "correct": correct,
            }));
        }
        ctx.progress(records.len() as u64, items.len() as u64, "items");
    }
    Ok(records)
}

/// The mean of every metric, overall and per `bin` metadata value when items carry one.
fn aggregate(task: &Task, items: &[Item], records: &[Json]) -> Json {
    let metrics = task.effective_metrics();
    let mean = |rows: &[&Json], metric: Metric| -> f64 {
        if rows.is_empty() {
            return f64::NAN;
        }
        let right = rows
            .iter()
            .filter(|r| r["correct"][metric.name()].as_bool() == Some(true))
            .count();
        right as f64 / rows.len() as f64
    };
    let all: Vec<&Json> = records.iter().collect();
    let overall: serde_json::Map<String, Json> = metrics
        .iter()
        .map(|&m| (m.name().to_string(), json!(mean(&all, m))))
        .collect();
    let mut bins: BTreeMap<i64, Vec<&Json>> = BTreeMap::new();
    for (item, record) in items.iter().zip(records) {
        if let Some(bin) = item.metadata.get("bin").and_then(Json::as_i64) {
            bins.entry(bin).or_default().push(record);
        }
    }
    let per_bin: Vec<Json> = bins
        .iter()
        .map(|(bin, rows)| {
            let values: serde_json::Map<String, Json> = metrics
                .iter()
                .map(|&m| (m.name().to_string(), json!(mean(rows, m))))
                .collect();
            json!({ "bin": bin, "n": rows.len(), "metrics": values })
        })
        .collect();
    json!({
        "n": records.len(),
        "primary": metrics.first().map(|m| m.name()),
        "metrics": overall,
        "per_bin": per_bin,
    })
}
