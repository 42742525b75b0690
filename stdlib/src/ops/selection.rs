//! `model_selection`: which candidate model to use on each difficulty bin given what each costs,
//! read from a [candidate, eval bin] family of evaluations and drawn by `rung-report`.

use std::fs;
use std::path::Path;

use rung_engine::{Context, OpError, Operation, Value};
use rung_report::{Candidate, Formats, Rule, Selection, write_model_selection};
use serde_json::Value as Json;

use super::sets::numbers;

/// Chooses a candidate per eval bin; see the catalog for its parameters.
pub(super) struct ModelSelectionOp;

impl Operation for ModelSelectionOp {
    fn name(&self) -> &'static str {
        "model_selection"
    }

    fn version(&self) -> u32 {
        1
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let selection = selection(ctx)?;
        let formats = formats(ctx)?;
        let written = write_model_selection(&selection, &formats, ctx.out_dir())
            .map_err(|e| OpError::failed(e.to_string()))?;
        for choice in selection.choose() {
            let Some(k) = choice.chosen else {
                ctx.log(format_args!("bin {}: no candidate has a value", choice.bin));
                continue;
            };
            let missed = if choice.reached_target == Some(false) {
                ", below the target"
            } else {
                ""
            };
            ctx.log(format_args!(
                "bin {}: {} ({} {:.3}, cost {}{missed})",
                choice.bin,
                selection.candidates[k].name,
                selection.metric,
                choice.accuracy.unwrap_or(f64::NAN),
                selection.candidates[k].cost
            ));
        }
        ctx.log(format_args!("wrote {}", written.join(", ")));
        Ok(())
    }
}

/// The candidates, bins and accuracies of the node's `grid`, with its costs, names and rule.
fn selection(ctx: &Context<'_>) -> Result<Selection, OpError> {
    let Value::List(entries) = ctx.param("grid")? else {
        return Err(OpError::failed("`grid` must be a family"));
    };
    // Candidates and bins in the order the family lists them (its declaration order).
    let mut candidates: Vec<Value> = Vec::new();
    let mut bins: Vec<Value> = Vec::new();
    let mut cells = Vec::with_capacity(entries.len());
    for entry in entries {
        let (candidate, bin, value) = cell_of(entry)?;
        let (c, b) = (
            position(&mut candidates, candidate),
            position(&mut bins, bin),
        );
        cells.push((c, b, value));
    }
    let Some((_, _, first)) = cells.first() else {
        return Err(OpError::failed("`grid` has no evaluations"));
    };
    let metric = match ctx.param("metric")? {
        Value::Null => metrics(dir_of(ctx, first)?)?["primary"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| OpError::failed("the evaluations name no primary metric"))?,
        other => other.to_string(),
    };
    let mut accuracy = vec![vec![None; bins.len()]; candidates.len()];
    for (c, b, value) in &cells {
        let dir = dir_of(ctx, value)?;
        let value = metrics(dir)?["metrics"]
            .get(&metric)
            .cloned()
            .ok_or_else(|| {
                OpError::failed(format!(
                    "{}: the evaluation has no metric `{metric}`",
                    dir.display()
                ))
            })?;
        accuracy[*c][*b] = value.as_f64();
    }

    let costs = numbers(ctx.param("costs")?, "costs")?;
    if costs.len() != candidates.len() {
        return Err(OpError::failed(format!(
            "`grid` has {} candidates but `costs` has {} values: give one cost per candidate, \
             in index order",
            candidates.len(),
            costs.len()
        )));
    }
    let Value::List(names) = ctx.param("names")? else {
        return Err(OpError::failed("`names` must be a list of strings"));
    };
    if !names.is_empty() && names.len() != candidates.len() {
        return Err(OpError::failed(format!(
            "`grid` has {} candidates but `names` has {}: give one name per candidate, or none",
            candidates.len(),
            names.len()
        )));
    }
    let candidates = candidates
        .iter()
        .zip(&costs)
        .enumerate()
        .map(|(k, (index, &cost))| Candidate {
            name: match names.get(k) {
                Some(Value::Str(name)) => name.clone(),
                _ => label(index),
            },
            cost,
        })
        .collect();
    let rule = match ctx.param("target")? {
        Value::Float(t) => Rule::Target(*t),
        Value::Int(t) => Rule::Target(*t as f64),
        _ => Rule::Tradeoff(ctx.float("cost_weight")?),
    };
    let selection = Selection {
        title: match ctx.param("title")? {
            Value::Str(text) => text.clone(),
            _ => "Model selection".to_string(),
        },
        metric,
        candidates,
        bins: bins.iter().map(label).collect(),
        accuracy,
        rule,
    };
    selection
        .check()
        .map_err(|e| OpError::failed(e.to_string()))?;
    Ok(selection)
}

/// Where `key` is in `list`, appending it when it is not there yet.
fn position(list: &mut Vec<Value>, key: Value) -> usize {
    if let Some(k) = list.iter().position(|v| *v == key) {
        return k;
    }
    list.push(key);
    list.len() - 1
}

/// A family member's candidate index, bin index and value.
fn cell_of(entry: &Value) -> Result<(Value, Value, Value), OpError> {
    let shape = || OpError::failed("`grid` must be a family indexed by [candidate, eval bin]");
    let Value::Record(fields) = entry else {
        return Err(shape());
    };
    let Some(Value::List(index)) = fields.get("index") else {
        return Err(shape());
    };
    let [candidate, bin] = index.as_slice() else {
        return Err(shape());
    };
    let value = fields.get("value").cloned().unwrap_or(Value::Null);
    Ok((candidate.clone(), bin.clone(), value))
}

/// How an index value is labelled: strings without their quotes.
fn label(index: &Value) -> String {
    match index {
        Value::Str(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The folder of an evaluation in the grid.
fn dir_of<'c>(ctx: &'c Context<'_>, value: &Value) -> Result<&'c Path, OpError> {
    ctx.path_of(value)
        .ok_or_else(|| OpError::failed("a grid cell is not an evaluation"))
}

/// One evaluation's `metrics.json`.
fn metrics(dir: &Path) -> Result<Json, OpError> {
    let path = dir.join("metrics.json");
    let text = fs::read_to_string(&path)?;
    serde_json::from_str(&text).map_err(|e| OpError::failed(format!("{}: {e}", path.display())))
}

/// The `formats` parameter.
fn formats(ctx: &Context<'_>) -> Result<Formats, OpError> {
    let Value::List(values) = ctx.param("formats")? else {
        return Err(OpError::failed("`formats` must be a list"));
    };
    let names: Vec<String> = values.iter().map(ToString::to_string).collect();
    Formats::parse(&names).map_err(|e| OpError::failed(e.to_string()))
}
