//! `difficulty_report`: the figures and tables of an IRT fit, with its bins when given.

use rung_engine::{Context, OpError, Operation, Value};
use rung_irt::files::{open_bins, open_fit};

use crate::figures::difficulty_report;

/// Writes the difficulty report; see the catalog for its parameters.
pub(super) struct DifficultyReportOp;

impl Operation for DifficultyReportOp {
    fn name(&self) -> &'static str {
        "difficulty_report"
    }

    fn version(&self) -> u32 {
        2
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let fit = open_fit(ctx.paths("difficulty")?[0])?;
        let bins = match ctx.param("bins")? {
            Value::Null => None,
            _ => Some(open_bins(ctx.paths("bins")?[0])?),
        };
        let title = match ctx.param("title")? {
            Value::Null => format!(
                "{} {} difficulty",
                fit.options.model.name(),
                fit.options.method.name()
            ),
            _ => ctx.str("title")?.to_string(),
        };
        let formats: Vec<String> = match ctx.param("formats")? {
            Value::List(values) => values.iter().map(ToString::to_string).collect(),
            _ => Vec::new(),
        };
        let written = difficulty_report(&fit, bins.as_ref(), &title, ctx.out_dir())
            .map_err(|e| OpError::failed(e.to_string()))?;
        if formats.iter().any(|f| f == "png") {
            for file in written.iter().filter(|f| f.ends_with(".svg")) {
                rung_report::write_png_beside(ctx.out_dir(), file)
                    .map_err(|e| OpError::failed(e.to_string()))?;
            }
        }
        for file in &written {
            let wanted = file
                .rsplit('.')
                .next()
                .is_some_and(|ext| formats.iter().any(|f| f == ext));
            if !wanted {
                std::fs::remove_file(ctx.out_dir().join(file))?;
            }
        }
        if formats.iter().any(|f| f == "json") {
            let summary = serde_json::json!({
                "model": fit.options.model.name(),
                "method": fit.options.method.name(),
                "items": fit.items.len(),
                "subjects": fit.abilities.len(),
                "converged": fit.converged,
                "iterations": fit.iterations,
                "log_likelihood": fit.log_likelihood,
                "population": fit.population,
                "identification": fit.identification,
                "flagged_items": fit.flagged_items(),
                "bins": bins.as_ref().map(|b| b.ranges.len()),
                "split": bins.as_ref().and_then(|b| b.split),
            });
            std::fs::write(
                ctx.out_dir().join("summary.json"),
                serde_json::to_vec_pretty(&summary).map_err(std::io::Error::from)?,
            )?;
        }
        Ok(())
    }
}
