//! Node parameters turned into the IRT library's options.

use rung_engine::{Context, OpError, Value};
use rung_irt::{FitOptions, Method, Model, Priors, Scale};

/// The fit options of an `irt` node.
pub(crate) fn fit_options(ctx: &Context<'_>) -> Result<FitOptions, OpError> {
    let model = ctx.str("model")?;
    let method = ctx.str("method")?;
    let count = |name: &str| -> Result<usize, OpError> {
        usize::try_from(ctx.int(name)?)
            .map_err(|_| OpError::failed(format!("`{name}` must not be negative")))
    };
    Ok(FitOptions {
        model: Model::parse(model)
            .ok_or_else(|| OpError::failed(format!("unknown IRT model `{model}`")))?,
        method: Method::parse(method)
            .ok_or_else(|| OpError::failed(format!("unknown IRT method `{method}`")))?,
        priors: priors(ctx.param("priors")?)?,
        scale: match ctx.str("scale")? {
            "difficulty" => Scale::Difficulty,
            _ => Scale::Ability,
        },
        quadrature: count("quadrature")?,
        max_iter: count("max_iter")?,
        tolerance: ctx.float("tolerance")?,
        lr: ctx.float("lr")?,
        samples: count("samples")?,
        min_responses: count("min_responses")?,
        seed: ctx.int("seed")? as u64,
    })
}

/// A `Priors` record, fields not given keeping their defaults.
fn priors(value: &Value) -> Result<Priors, OpError> {
    let mut priors = Priors::default();
    let Value::Record(fields) = value else {
        return Ok(priors);
    };
    for (name, value) in fields {
        let number = match value {
            Value::Float(x) => *x,
            Value::Int(i) => *i as f64,
            other => {
                return Err(OpError::failed(format!(
                    "priors.{name} should be a number, found `{other}`"
                )));
            }
        };
        let slot = match name.as_str() {
            "ability_mean" => &mut priors.ability_mean,
            "ability_sd" => &mut priors.ability_sd,
            "difficulty_mean" => &mut priors.difficulty_mean,
            "difficulty_sd" => &mut priors.difficulty_sd,
            "log_discrimination_mean" => &mut priors.log_discrimination_mean,
            "log_discrimination_sd" => &mut priors.log_discrimination_sd,
            "guessing_alpha" => &mut priors.guessing_alpha,
            "guessing_beta" => &mut priors.guessing_beta,
            other => return Err(OpError::failed(format!("priors have no field `{other}`"))),
        };
        *slot = number;
    }
    Ok(priors)
}
