//! `dataset`: an item set loaded from a benchmark file or a generic JSONL/CSV file, written as
//! `items.jsonl`.

use rung_engine::{Context, OpError, Operation, Value};
use rung_items::{Fields, Format, LoadOptions, load};

/// Loads an item set; see the catalog for its parameters.
pub(super) struct DatasetOp;

impl Operation for DatasetOp {
    fn name(&self) -> &'static str {
        "dataset"
    }

    fn version(&self) -> u32 {
        1
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let path = ctx.paths("path")?[0].to_path_buf();
        let format_name = ctx.str("format")?;
        let format = Format::parse(format_name)
            .ok_or_else(|| OpError::failed(format!("unknown dataset format `{format_name}`")))?;
        if let Value::Str(expected) = ctx.param("sha256")? {
            rung_items::check_sha256(&path, expected)
                .map_err(|e| OpError::failed(e.to_string()))?;
        }
        let options = LoadOptions {
            tasks: strings(ctx.param("tasks")?, "tasks")?,
            per_task: match ctx.param("per_task")? {
                Value::Int(n) => Some(
                    usize::try_from(*n)
                        .map_err(|_| OpError::failed("`per_task` must not be negative"))?,
                ),
                _ => None,
            },
            subset: match ctx.param("subset")? {
                Value::Str(s) => Some(s.clone()),
                _ => None,
            },
            id_prefix: ctx.str("id_prefix")?.to_string(),
            fields: fields(ctx.param("fields")?)?,
        };
        let items = load(&path, format, &options).map_err(|e| OpError::failed(e.to_string()))?;
        ctx.log(format_args!(
            "{} items from {}",
            items.len(),
            path.display()
        ));
        items
            .save(ctx.out_dir())
            .map_err(|e| OpError::failed(e.to_string()))?;
        Ok(())
    }
}

fn strings(value: &Value, name: &str) -> Result<Vec<String>, OpError> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::List(items) => items
            .iter()
            .map(|item| match item {
                Value::Str(s) => Ok(s.clone()),
                other => Err(OpError::failed(format!(
                    "`{name}` should hold strings, found `{other}`"
                ))),
            })
            .collect(),
        other => Err(OpError::failed(format!(
            "`{name}` should be a list of strings, found `{other}`"
        ))),
    }
}

/// A `Fields` record, fields not given keeping their defaults.
fn fields(value: &Value) -> Result<Fields, OpError> {
    let mut fields = Fields::default();
    let Value::Record(entries) = value else {
        return Ok(fields);
    };
    for (name, value) in entries {
        let text = |value: &Value| match value {
            Value::Str(s) => Ok(Some(s.clone())),
            Value::Null => Ok(None),
            other => Err(OpError::failed(format!(
                "fields.{name} should be a field name, found `{other}`"
            ))),
        };
        match name.as_str() {
            "id" => fields.id = text(value)?,
            "prompt" => fields.prompt = text(value)?.unwrap_or_else(|| "prompt".into()),
            "target" => fields.target = text(value)?,
            "choices" => fields.choices = text(value)?,
            "gold" => fields.gold = text(value)?,
            "context" => fields.context = text(value)?,
            "metadata" => fields.metadata = strings(value, "fields.metadata")?,
            other => return Err(OpError::failed(format!("fields have no field `{other}`"))),
        }
    }
    Ok(fields)
}
