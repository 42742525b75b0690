//! `response_matrix`: a response matrix loaded from a file, checked and aligned to an item set
//! (whose items it keeps, for the bins made from it).

use rung_engine::{Context, OpError, Operation};
use rung_irt::files::save_matrix;
use rung_irt::load::{Format, LoadOptions, load};
use rung_items::ItemSet;

/// Loads a response matrix; see the catalog for its parameters.
pub(super) struct ResponseMatrixOp;

impl Operation for ResponseMatrixOp {
    fn name(&self) -> &'static str {
        "response_matrix"
    }

    fn version(&self) -> u32 {
        2
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let path = ctx.paths("path")?[0].to_path_buf();
        let format_name = ctx.str("format")?;
        let format = Format::parse(format_name)
            .ok_or_else(|| OpError::failed(format!("unknown response format `{format_name}`")))?;
        if let Some(expected) = optional_str(ctx, "sha256")? {
            rung_items::check_sha256(&path, &expected)
                .map_err(|e| OpError::failed(e.to_string()))?;
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
            super::sets::carry_items(ctx.paths("items")?[0], ctx.out_dir())?;
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

/// The ids of the `items` input, if given.
fn item_ids(ctx: &Context<'_>) -> Result<Option<Vec<String>>, OpError> {
    if matches!(ctx.param("items")?, rung_engine::Value::Null) {
        return Ok(None);
    }
    let items =
        ItemSet::open(ctx.paths("items")?[0]).map_err(|e| OpError::failed(e.to_string()))?;
    Ok(Some(items.iter().map(|item| item.id.clone()).collect()))
}
