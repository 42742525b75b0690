//! `response_matrix`: a response matrix loaded from a file, checked and aligned to an item set.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;

use rung_engine::{Context, OpError, Operation};
use rung_irt::files::save_matrix;
use rung_irt::load::{Format, LoadOptions, load};
use sha2::{Digest, Sha256};

/// Loads a response matrix; see the catalog for its parameters.
pub(super) struct ResponseMatrixOp;

impl Operation for ResponseMatrixOp {
    fn name(&self) -> &'static str {
        "response_matrix"
    }

    fn version(&self) -> u32 {
        1
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let path = ctx.paths("path")?[0].to_path_buf();
        let format_name = ctx.str("format")?;
        let format = Format::parse(format_name)
            .ok_or_else(|| OpError::failed(format!("unknown response format `{format_name}`")))?;
        if let Some(expected) = optional_str(ctx, "sha256")? {
            check_sha256(&path, &expected)?;
        }
        let options = LoadOptions {
            format,
            subject_field: ctx.str("subject_field")?.to_string(),
            item_field: ctx.str("item_field")?.to_string(),
            score_field: ctx.str("score_field")?.to_string(),
            threshold: ctx.float("threshold")?,
            id_prefix: ctx.str("id_prefix")?.to_string(),
        };
        let mut matrix = load(&path, &options).map_err(|e| OpError::failed(e.to_string()))?;
        ctx.log(format_args!(
            "loaded {} subjects x {} items from {} ({:.1}% missing)",
            matrix.n_subjects(),
            matrix.n_items(),
            path.display(),
            100.0 * matrix.missing_fraction()
        ));
        if let Some(items) = item_ids(ctx)? {
            let aligned = matrix.align(&items);
            let unmatched = &aligned.unmatched_responses;
            if !unmatched.is_empty() {
                if ctx.str("unmatched")? == "error" {
                    return Err(OpError::failed(format!(
                        "{}: {} response item ids match no item: {}{}",
                        path.display(),
                        unmatched.len(),
                        unmatched
                            .iter()
                            .take(10)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", "),
                        if unmatched.len() > 10 { ", ..." } else { "" }
                    )));
                }
                ctx.log(format_args!(
                    "dropped {} unmatched response columns",
                    unmatched.len()
                ));
            }
            if !aligned.unanswered_items.is_empty() {
                ctx.log(format_args!(
                    "{} items have no responses (all missing)",
                    aligned.unanswered_items.len()
                ));
            }
            matrix = aligned.matrix;
        }
        save_matrix(&matrix, ctx.out_dir())?;
        Ok(())
    }
}

fn optional_str(ctx: &Context<'_>, name: &str) -> Result<Option<String>, OpError> {
    match ctx.param(name)? {
        rung_engine::Value::Null => Ok(None),
        _ => Ok(Some(ctx.str(name)?.to_string())),
    }
}

fn check_sha256(path: &Path, expected: &str) -> Result<(), OpError> {
    if path.is_dir() {
        return Err(OpError::failed(format!(
            "{}: sha256 checks a file, and this is a folder",
            path.display()
        )));
    }
    let mut hasher = Sha256::new();
    let mut file = fs::File::open(path)?;
    std::io::copy(&mut file, &mut hasher)?;
    let actual: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if !actual.eq_ignore_ascii_case(expected) {
        return Err(OpError::failed(format!(
            "{}: SHA-256 is {actual}, expected {expected}",
            path.display()
        )));
    }
    Ok(())
}

/// The ids of the `items` input, if given: the `id` field of each line of its `items.jsonl`.
fn item_ids(ctx: &Context<'_>) -> Result<Option<Vec<String>>, OpError> {
    if matches!(ctx.param("items")?, rung_engine::Value::Null) {
        return Ok(None);
    }
    let path = ctx.paths("items")?[0].join("items.jsonl");
    let file =
        fs::File::open(&path).map_err(|e| OpError::failed(format!("{}: {e}", path.display())))?;
    let mut ids = Vec::new();
    for (number, line) in BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let id = serde_json::from_str::<serde_json::Value>(&line)
            .ok()
            .and_then(|v| match v.get("id") {
                Some(serde_json::Value::String(s)) => Some(s.clone()),
                Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                _ => None,
            })
            .ok_or_else(|| {
                OpError::failed(format!(
                    "{}:{}: expected a JSON object with an `id`",
                    path.display(),
                    number + 1
                ))
            })?;
        ids.push(id);
    }
    Ok(Some(ids))
}
