//! `quantile_bins`, `equal_width_bins` and `edge_bins`: fitted items split by difficulty.

use std::sync::Arc;

use rung_engine::{Context, OpError, Operation, Value};
use rung_irt::bins::{Rule, Split, assign};
use rung_irt::files::{open_fit, save_bins};

/// The three binnings, which differ only in their rule.
pub(super) fn ops() -> [Arc<dyn Operation>; 3] {
    [
        Arc::new(Binning("quantile_bins")),
        Arc::new(Binning("equal_width_bins")),
        Arc::new(Binning("edge_bins")),
    ]
}

/// A binning operation, named for its rule.
struct Binning(&'static str);

impl Binning {
    fn rule(&self, ctx: &Context<'_>) -> Result<Rule, OpError> {
        let count = |ctx: &Context<'_>| {
            usize::try_from(ctx.int("n")?)
                .map_err(|_| OpError::failed("the number of bins must not be negative"))
        };
        let optional = |name: &str| -> Result<Option<f64>, OpError> {
            match ctx.param(name)? {
                Value::Null => Ok(None),
                _ => ctx.float(name).map(Some),
            }
        };
        Ok(match self.0 {
            "quantile_bins" => Rule::Quantile { n: count(ctx)? },
            "equal_width_bins" => Rule::EqualWidth {
                n: count(ctx)?,
                min: optional("min")?,
                max: optional("max")?,
            },
            _ => Rule::Edges {
                edges: match ctx.param("edges")? {
                    Value::List(values) => values
                        .iter()
                        .map(|v| match v {
                            Value::Float(x) => Ok(*x),
                            Value::Int(i) => Ok(*i as f64),
                            other => Err(OpError::failed(format!(
                                "an edge must be a number, found `{other}`"
                            ))),
                        })
                        .collect::<Result<_, _>>()?,
                    other => {
                        return Err(OpError::failed(format!(
                            "edges must be a list, found `{other}`"
                        )));
                    }
                },
            },
        })
    }
}

impl Operation for Binning {
    fn name(&self) -> &'static str {
        self.0
    }

    fn version(&self) -> u32 {
        2
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let fit = open_fit(ctx.paths("difficulty")?[0])?;
        let items: Vec<(String, f64)> = fit
            .items
            .iter()
            .map(|i| (i.id.clone(), i.difficulty))
            .collect();
        let split = Split {
            test_fraction: ctx.float("test_fraction")?,
            seed: ctx.int("seed")? as u64,
        };
        let bins = assign(&items, &self.rule(ctx)?, Some(split))
            .map_err(|e| OpError::failed(e.to_string()))?;
        for (b, (lo, hi)) in bins.ranges.iter().enumerate() {
            ctx.log(format_args!(
                "bin {b}: {} items, difficulty {lo:.3} to {hi:.3}",
                bins.select(b, rung_irt::bins::Part::All).count()
            ));
        }
        save_bins(&bins, ctx.out_dir())?;
        super::sets::carry_items(ctx.paths("difficulty")?[0], ctx.out_dir())?;
        Ok(())
    }
}
