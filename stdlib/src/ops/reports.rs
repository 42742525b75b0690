//! `generalization_matrix`, `accuracy_curves`, `gain_by_gap`, `agreement` and `html_report`:
//! the study's reports, read from evaluations and fits and drawn by `rung-report`.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use rung_engine::{Context, OpError, Operation, Value};
use rung_irt::files::open_fit;
use rung_items::{Item, ItemSet};
use rung_report::{
    AgreementPoint, Correlation, Formats, GapOptions, Matrix, Page, ReportError, Section,
    Statistic, write_agreement, write_gain_by_gap, write_generalization_matrix, write_html,
};
use serde_json::Value as Json;

fn failed(error: ReportError) -> OpError {
    OpError::failed(error.to_string())
}

/// The `formats` parameter.
fn formats(ctx: &Context<'_>) -> Result<Formats, OpError> {
    let Value::List(values) = ctx.param("formats")? else {
        return Err(OpError::failed("`formats` must be a list"));
    };
    let names: Vec<String> = values.iter().map(ToString::to_string).collect();
    Formats::parse(&names).map_err(failed)
}

/// The `title` parameter, or `default`.
fn title(ctx: &Context<'_>, default: impl FnOnce() -> String) -> Result<String, OpError> {
    Ok(match ctx.param("title")? {
        Value::Str(text) => text.clone(),
        _ => default(),
    })
}

/// One evaluation's metrics: its `metrics.json`.
fn metrics(dir: &Path) -> Result<Json, OpError> {
    let path = dir.join("metrics.json");
    let text = fs::read_to_string(&path)?;
    serde_json::from_str(&text).map_err(|e| OpError::failed(format!("{}: {e}", path.display())))
}

/// The members of a family value: each one's index and the value at it.
fn members(value: &Value, name: &str) -> Result<Vec<(Vec<i64>, Value)>, OpError> {
    let Value::List(entries) = value else {
        return Err(OpError::failed(format!("`{name}` must be a family")));
    };
    entries
        .iter()
        .map(|entry| {
            let Value::Record(fields) = entry else {
                return Err(OpError::failed(format!("`{name}` must be a family")));
            };
            let index = match fields.get("index") {
                Some(Value::List(parts)) => parts
                    .iter()
                    .map(|part| match part {
                        Value::Int(i) => Ok(*i),
                        other => Err(OpError::failed(format!(
                            "`{name}` is indexed by `{other}`; reports need whole-number indices"
                        ))),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                _ => return Err(OpError::failed(format!("`{name}` must be a family"))),
            };
            let value = fields.get("value").cloned().unwrap_or(Value::Null);
            Ok((index, value))
        })
        .collect()
}

/// The metric a matrix reports: the node's `metric`, else the first evaluation's primary.
fn metric_name(ctx: &Context<'_>, first: &Json) -> Result<String, OpError> {
    match ctx.param("metric")? {
        Value::Null => first["primary"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| OpError::failed("the evaluations name no primary metric")),
        other => Ok(other.to_string()),
    }
}

/// The value of `metric` in an evaluation's metrics, and how many items it covers.
fn cell(json: &Json, metric: &str, dir: &Path) -> Result<(Option<f64>, usize), OpError> {
    let value = json["metrics"].get(metric).ok_or_else(|| {
        OpError::failed(format!(
            "{}: the evaluation has no metric `{metric}`",
            dir.display()
        ))
    })?;
    Ok((
        value.as_f64(),
        json["n"].as_u64().unwrap_or_default() as usize,
    ))
}

/// The matrix of a node's `grid` (and `baseline`) parameters.
fn matrix(ctx: &Context<'_>) -> Result<Matrix, OpError> {
    let grid = members(ctx.param("grid")?, "grid")?;
    if grid.iter().any(|(index, _)| index.len() != 2) {
        return Err(OpError::failed(
            "`grid` must be indexed by [train bin, eval bin]",
        ));
    }
    let rows: Vec<i64> = grid
        .iter()
        .map(|(i, _)| i[0])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let columns: Vec<i64> = grid
        .iter()
        .map(|(i, _)| i[1])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let dir_of = |value: &Value| {
        ctx.path_of(value)
            .ok_or_else(|| OpError::failed("a grid cell is not an evaluation"))
    };
    let first = metrics(dir_of(&grid[0].1)?)?;
    let metric = metric_name(ctx, &first)?;
    let mut values = vec![vec![None; columns.len()]; rows.len()];
    let mut items = vec![vec![0; columns.len()]; rows.len()];
    for (index, value) in &grid {
        let dir = dir_of(value)?;
        let (v, n) = cell(&metrics(dir)?, &metric, dir)?;
        let r = rows.binary_search(&index[0]).unwrap_or_default();
        let c = columns.binary_search(&index[1]).unwrap_or_default();
        values[r][c] = v;
        items[r][c] = n;
    }
    let baseline = match ctx.param("baseline")? {
        Value::Null => None,
        family => {
            let mut row = vec![None; columns.len()];
            for (index, value) in members(family, "baseline")? {
                let Some(&[e]) = index.get(..1).filter(|_| index.len() == 1) else {
                    return Err(OpError::failed("`baseline` must be indexed by [eval bin]"));
                };
                let Ok(c) = columns.binary_search(&e) else {
                    return Err(OpError::failed(format!(
                        "`baseline` has eval bin {e}, which the grid does not"
                    )));
                };
                let dir = dir_of(&value)?;
                row[c] = cell(&metrics(dir)?, &metric, dir)?.0;
            }
            Some(row)
        }
    };
    let title = title(ctx, || "Generalization".to_string())?;
    let matrix = Matrix {
        title,
        metric,
        train_labels: rows.iter().map(ToString::to_string).collect(),
        eval_labels: columns.iter().map(ToString::to_string).collect(),
        values,
        items,
        baseline,
        baseline_label: "zero-shot".into(),
    };
    matrix.check().map_err(failed)?;
    Ok(matrix)
}

/// Logs the files a report wrote.
fn log_written(ctx: &mut Context<'_>, written: &[String]) {
    ctx.log(format_args!("wrote {}", written.join(", ")));
}

/// The generalization matrix with its heatmaps, curves and tables.
pub(super) struct GeneralizationMatrixOp;

impl Operation for GeneralizationMatrixOp {
    fn name(&self) -> &'static str {
        "generalization_matrix"
    }

    fn version(&self) -> u32 {
        1
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let matrix = matrix(ctx)?;
        let mut formats = formats(ctx)?;
        // Other reports (gain_by_gap) read the matrix back from its JSON.
        formats.json = true;
        let written =
            write_generalization_matrix(&matrix, &formats, ctx.out_dir()).map_err(failed)?;
        if let Some(gains) = matrix.gain_by_gap() {
            for (gap, values) in gains {
                let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
                ctx.log(format_args!(
                    "gap {gap:+}: mean gain {mean:+.3} over {} cells",
                    values.len()
                ));
            }
        }
        log_written(ctx, &written);
        Ok(())
    }
}

/// Accuracy across eval bins, one curve per train bin.
pub(super) struct AccuracyCurvesOp;

impl Operation for AccuracyCurvesOp {
    fn name(&self) -> &'static str {
        "accuracy_curves"
    }

    fn version(&self) -> u32 {
        1
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let matrix = matrix(ctx)?;
        let formats = formats(ctx)?;
        let written =
            write_generalization_matrix(&matrix, &formats, ctx.out_dir()).map_err(failed)?;
        // The curves are one of the matrix's figures; the heatmaps are not asked for here.
        let mut kept = Vec::new();
        for file in written {
            if file.starts_with("matrix_absolute") || file.starts_with("matrix_delta") {
                fs::remove_file(ctx.out_dir().join(&file))?;
            } else {
                kept.push(file);
            }
        }
        log_written(ctx, &kept);
        Ok(())
    }
}

/// The gain over zero-shot against the difficulty gap, pooled across matrices.
pub(super) struct GainByGapOp;

impl Operation for GainByGapOp {
    fn name(&self) -> &'static str {
        "gain_by_gap"
    }

    fn version(&self) -> u32 {
        1
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let Value::List(inputs) = ctx.param("matrices")?.clone() else {
            return Err(OpError::failed("`matrices` must be a list"));
        };
        let Value::List(labels) = ctx.param("labels")?.clone() else {
            return Err(OpError::failed("`labels` must be a list"));
        };
        if !labels.is_empty() && labels.len() != inputs.len() {
            return Err(OpError::failed(format!(
                "{} labels for {} matrices: give one per matrix, or none",
                labels.len(),
                inputs.len()
            )));
        }
        let mut matrices = Vec::with_capacity(inputs.len());
        for (k, input) in inputs.iter().enumerate() {
            let dir = ctx
                .path_of(input)
                .ok_or_else(|| OpError::failed("a matrix input is not a report"))?;
            let label = match labels.get(k) {
                Some(Value::Str(label)) => label.clone(),
                _ => ctx
                    .provenance_of(input)
                    .map_or_else(|| format!("matrix {k}"), |p| p.node),
            };
            matrices.push((label, Matrix::open(dir).map_err(failed)?));
        }
        let statistic: Statistic = ctx
            .str("statistic")?
            .parse()
            .map_err(|e: ReportError| failed(e))?;
        let options = GapOptions {
            statistic,
            bootstrap: usize::try_from(ctx.int("bootstrap")?)
                .map_err(|_| OpError::failed("`bootstrap` must not be negative"))?,
            confidence: ctx.float("confidence")?,
            seed: ctx.int("seed")? as u64,
            title: title(ctx, || {
                let names: Vec<&str> = matrices.iter().map(|(label, _)| label.as_str()).collect();
                names.join(", ")
            })?,
            per_matrix: true,
            formats: formats(ctx)?,
        };
        let written = write_gain_by_gap(&matrices, &options, ctx.out_dir()).map_err(failed)?;
        log_written(ctx, &written);
        Ok(())
    }
}

/// IRT difficulty against a human or heuristic difficulty.
pub(super) struct AgreementOp;

impl Operation for AgreementOp {
    fn name(&self) -> &'static str {
        "agreement"
    }

    fn version(&self) -> u32 {
        1
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let fit = open_fit(ctx.paths("difficulty")?[0])?;
        let items =
            ItemSet::open(ctx.paths("items")?[0]).map_err(|e| OpError::failed(e.to_string()))?;
        let heuristic = ctx.str("heuristic")?.to_string();
        let points: Vec<AgreementPoint> = fit
            .items
            .iter()
            .filter_map(|estimate| {
                let item = items.get(&estimate.id)?;
                Some(AgreementPoint {
                    id: estimate.id.clone(),
                    irt: estimate.difficulty,
                    heuristic: heuristic_value(item, &heuristic)?,
                })
            })
            .collect();
        ctx.log(format_args!(
            "{} of {} fitted items have a {heuristic} value",
            points.len(),
            fit.items.len()
        ));
        let correlation: Correlation = ctx
            .str("correlation")?
            .parse()
            .map_err(|e: ReportError| failed(e))?;
        let title = title(ctx, || format!("IRT difficulty and {heuristic}"))?;
        let written = write_agreement(
            &points,
            &heuristic,
            correlation,
            &title,
            &formats(ctx)?,
            ctx.out_dir(),
        )
        .map_err(failed)?;
        log_written(ctx, &written);
        Ok(())
    }
}

/// An item's value of a heuristic difficulty, when it has one.
fn heuristic_value(item: &Item, heuristic: &str) -> Option<f64> {
    let meta = |key: &str| item.metadata.get(key);
    match heuristic {
        "math_level" => {
            let level = meta("level")?;
            level.as_f64().or_else(|| {
                level
                    .as_str()?
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect::<String>()
                    .parse()
                    .ok()
            })
        }
        "arc_split" => match meta("subset")?.as_str()? {
            "easy" => Some(0.0),
            "challenge" => Some(1.0),
            _ => None,
        },
        "question_length" => Some(item.prompt.split_whitespace().count() as f64),
        "reasoning_steps" => {
            if let Some(terms) = meta("terms").and_then(Json::as_f64) {
                // Toy items: one step per operator.
                return Some(terms - 1.0);
            }
            let solution = item.fields.get("solution")?;
            let calculations = solution.matches("<<").count();
            Some(if calculations > 0 {
                calculations as f64
            } else {
                solution.lines().filter(|l| !l.trim().is_empty()).count() as f64
            })
        }
        _ => None,
    }
}

/// One offline page bringing reports together.
pub(super) struct HtmlReportOp;

impl Operation for HtmlReportOp {
    fn name(&self) -> &'static str {
        "html_report"
    }

    fn version(&self) -> u32 {
        1
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let Value::List(reports) = ctx.param("reports")?.clone() else {
            return Err(OpError::failed("`reports` must be a list"));
        };
        let mut sections = Vec::with_capacity(reports.len());
        for (k, report) in reports.iter().enumerate() {
            let dir = ctx
                .path_of(report)
                .ok_or_else(|| OpError::failed("a report input is not a report"))?;
            let provenance = ctx.provenance_of(report);
            sections.push(Section {
                name: provenance
                    .as_ref()
                    .map_or_else(|| format!("report-{k}"), |p| p.node.clone()),
                op: provenance
                    .as_ref()
                    .map_or_else(String::new, |p| p.operation.clone()),
                dir: dir.to_path_buf(),
                provenance: provenance.and_then(|p| serde_json::to_value(p).ok()),
            });
        }
        let page = Page {
            title: ctx.str("title")?.to_string(),
            notes: match ctx.param("notes")? {
                Value::Str(text) => Some(text.clone()),
                _ => None,
            },
            sections,
        };
        let written = write_html(&page, ctx.out_dir()).map_err(failed)?;
        ctx.log(format_args!(
            "index.html with {} files from {} reports",
            written.len() - 1,
            reports.len()
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(prompt: &str) -> Item {
        Item::new("x", prompt)
    }

    #[test]
    fn heuristics_read_the_fields_each_benchmark_has() {
        let mut math = item("Find x.");
        math.metadata.insert("level".into(), "Level 4".into());
        assert_eq!(heuristic_value(&math, "math_level"), Some(4.0));
        let mut arc = item("Which gas?");
        arc.metadata.insert("subset".into(), "challenge".into());
        assert_eq!(heuristic_value(&arc, "arc_split"), Some(1.0));
        assert_eq!(heuristic_value(&arc, "math_level"), None);
        assert_eq!(
            heuristic_value(&item("How many apples are left?"), "question_length"),
            Some(5.0)
        );
        let mut gsm = item("Tom has 3 apples.");
        gsm.fields.insert(
            "solution".into(),
            "He buys <<3+2=5>>5.\nHe eats <<5-1=4>>4.\n#### 4".into(),
        );
        assert_eq!(heuristic_value(&gsm, "reasoning_steps"), Some(2.0));
        let mut toy = item("1+2*3");
        toy.metadata.insert("terms".into(), 3.into());
        assert_eq!(heuristic_value(&toy, "reasoning_steps"), Some(2.0));
    }
}
