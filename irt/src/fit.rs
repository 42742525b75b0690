//! What a fit is asked to do and what it returns: options, priors and estimates.

use std::fmt;
use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};

/// The item response model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Model {
    /// Rasch: P(correct) = sigmoid(ability - difficulty).
    #[serde(rename = "1pl")]
    OnePl,
    /// P(correct) = sigmoid(discrimination * (ability - difficulty)).
    #[serde(rename = "2pl")]
    TwoPl,
    /// The 2PL model with a guessing floor: g + (1 - g) * sigmoid(a * (ability - difficulty)).
    #[serde(rename = "3pl")]
    ThreePl,
}

/// How the parameters are estimated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Method {
    /// Marginal maximum likelihood by EM over Gauss-Hermite quadrature.
    #[serde(rename = "mml")]
    Mml,
    /// Joint maximum a posteriori of abilities and item parameters.
    #[serde(rename = "jmap")]
    Jmap,
    /// Variational Bayes with a Gaussian posterior per parameter.
    #[serde(rename = "vi")]
    Vi,
}

impl Model {
    /// The model's name as written in specs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::OnePl => "1pl",
            Self::TwoPl => "2pl",
            Self::ThreePl => "3pl",
        }
    }

    /// Parses a name written in a spec or on the command line.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::OnePl, Self::TwoPl, Self::ThreePl]
            .into_iter()
            .find(|m| m.name() == name)
    }
}

impl Method {
    /// The method's name as written in specs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Mml => "mml",
            Self::Jmap => "jmap",
            Self::Vi => "vi",
        }
    }

    /// Parses a name written in a spec or on the command line.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Mml, Self::Jmap, Self::Vi]
            .into_iter()
            .find(|m| m.name() == name)
    }
}

/// How the latent scale is pinned down after fitting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scale {
    /// Abilities centred on the prior mean; the population's spread is that of the fit.
    #[serde(rename = "ability")]
    Ability,
    /// Item difficulties shifted to mean 0 (abilities shifted with them).
    #[serde(rename = "difficulty")]
    Difficulty,
}

/// Prior distributions; the ability prior is also the MML population distribution.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Priors {
    /// Mean of the normal prior on abilities.
    pub ability_mean: f64,
    /// Standard deviation of the normal prior on abilities.
    pub ability_sd: f64,
    /// Mean of the normal prior on difficulties.
    pub difficulty_mean: f64,
    /// Standard deviation of the normal prior on difficulties.
    pub difficulty_sd: f64,
    /// Mean of the normal prior on log discriminations.
    pub log_discrimination_mean: f64,
    /// Standard deviation of the normal prior on log discriminations.
    pub log_discrimination_sd: f64,
    /// First shape of the beta prior on guessing.
    pub guessing_alpha: f64,
    /// Second shape of the beta prior on guessing.
    pub guessing_beta: f64,
}

impl Default for Priors {
    fn default() -> Self {
        Self {
            ability_mean: 0.0,
            ability_sd: 1.0,
            difficulty_mean: 0.0,
            difficulty_sd: 3.0,
            log_discrimination_mean: 0.0,
            log_discrimination_sd: 0.5,
            guessing_alpha: 5.0,
            guessing_beta: 17.0,
        }
    }
}

/// Everything a fit is asked to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitOptions {
    /// The item response model.
    pub model: Model,
    /// The estimation method.
    pub method: Method,
    /// Priors (and the MML population distribution).
    pub priors: Priors,
    /// How the scale is identified.
    pub scale: Scale,
    /// Quadrature points over the ability distribution (MML).
    pub quadrature: usize,
    /// Most EM iterations or optimizer steps.
    pub max_iter: usize,
    /// Convergence: no parameter moves by more than this between iterations.
    pub tolerance: f64,
    /// Step size of the optimizer (JMAP and VI).
    pub lr: f64,
    /// Monte Carlo samples per ELBO gradient (VI).
    pub samples: usize,
    /// Items with fewer observed responses are dropped before fitting.
    pub min_responses: usize,
    /// Seed of initialisation and sampling.
    pub seed: u64,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            model: Model::OnePl,
            method: Method::Mml,
            priors: Priors::default(),
            scale: Scale::Ability,
            quadrature: 41,
            max_iter: 500,
            tolerance: 1e-4,
            lr: 0.05,
            samples: 1,
            min_responses: 1,
            seed: 42,
        }
    }
}

/// Floats that may be NaN (an accuracy with no observed response): JSON has no NaN, so they are
/// written as `null` and read back as NaN.
mod maybe_nan {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        if value.is_finite() {
            serializer.serialize_f64(*value)
        } else {
            serializer.serialize_none()
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
    }
}

/// Why an item's estimate rests on its prior rather than on its responses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemFlag {
    /// Every observed response is correct: the likelihood alone puts it at minus infinity.
    AllCorrect,
    /// Every observed response is wrong: the likelihood alone puts it at plus infinity.
    AllWrong,
}

impl ItemFlag {
    /// The flag as written in tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::AllCorrect => "all_correct",
            Self::AllWrong => "all_wrong",
        }
    }
}

/// One item's estimates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemEstimate {
    /// The item's id.
    pub id: String,
    /// Difficulty (location) in logits.
    #[serde(with = "maybe_nan")]
    pub difficulty: f64,
    /// Standard error of the difficulty.
    #[serde(with = "maybe_nan")]
    pub difficulty_se: f64,
    /// Discrimination (1 for the 1PL model).
    pub discrimination: f64,
    /// Standard error of the discrimination (none for the 1PL model, where it is fixed).
    pub discrimination_se: Option<f64>,
    /// Guessing floor (3PL only).
    pub guessing: Option<f64>,
    /// Observed responses.
    pub n: usize,
    /// Share of observed responses that are correct.
    #[serde(with = "maybe_nan")]
    pub p_correct: f64,
    /// Information-weighted mean square residual (1 = as the model expects).
    #[serde(with = "maybe_nan")]
    pub infit: f64,
    /// Unweighted mean square residual (1 = as the model expects).
    #[serde(with = "maybe_nan")]
    pub outfit: f64,
    /// Set when the responses alone cannot place the item.
    pub flag: Option<ItemFlag>,
}

/// One subject's estimated ability.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AbilityEstimate {
    /// The subject's id.
    pub id: String,
    /// Ability in logits (the posterior mean for MML and VI, the mode for JMAP).
    #[serde(with = "maybe_nan")]
    pub ability: f64,
    /// Posterior standard deviation or standard error of the ability.
    #[serde(with = "maybe_nan")]
    pub se: f64,
    /// Observed responses.
    pub n: usize,
    /// Share of observed responses that are correct.
    #[serde(with = "maybe_nan")]
    pub p_correct: f64,
}

/// One iteration of the optimisation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceStep {
    /// Iteration number, from 1.
    pub iteration: usize,
    /// The objective after the iteration (see [`Fit::objective`]).
    #[serde(with = "maybe_nan")]
    pub objective: f64,
    /// Largest change of any parameter in the iteration (for VI: of any posterior mean).
    #[serde(with = "maybe_nan")]
    pub max_change: f64,
}

/// The fitted ability distribution.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Population {
    /// Mean ability.
    pub mean: f64,
    /// Standard deviation of ability.
    pub sd: f64,
}

/// A finished fit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fit {
    /// The options the fit ran with.
    pub options: FitOptions,
    /// Per-item estimates, in the matrix's item order (less dropped items).
    pub items: Vec<ItemEstimate>,
    /// Items dropped for having fewer than `min_responses` observed responses.
    pub dropped: Vec<String>,
    /// Per-subject abilities, in the matrix's subject order.
    pub abilities: Vec<AbilityEstimate>,
    /// What the trace's objective is: "marginal log-likelihood", "log posterior" or "ELBO".
    pub objective: String,
    /// Log-likelihood of the observed responses at the estimates (marginal for MML, joint
    /// otherwise).
    pub log_likelihood: f64,
    /// Iterations run.
    pub iterations: usize,
    /// Whether the tolerance was met before `max_iter`.
    pub converged: bool,
    /// The objective and largest parameter change per iteration.
    pub trace: Vec<TraceStep>,
    /// The fitted ability distribution.
    pub population: Population,
    /// How the latent scale was identified, in words.
    pub identification: String,
    /// The backend the fit ran on.
    pub backend: String,
}

impl Fit {
    /// Items answered all correctly or all wrongly, whose difficulties rest on the prior.
    pub fn flagged_items(&self) -> usize {
        self.items.iter().filter(|i| i.flag.is_some()).count()
    }

    /// What a person wants to know of a finished fit, one line each: its size and convergence,
    /// the identification, and the items flagged or dropped.
    pub fn summary(&self) -> Vec<String> {
        let mut lines = vec![
            format!(
                "{} {} on {} subjects x {} items: {} iterations, {}, {} = {:.4}",
                self.options.model.name(),
                self.options.method.name(),
                self.abilities.len(),
                self.items.len(),
                self.iterations,
                if self.converged {
                    "converged"
                } else {
                    "NOT converged"
                },
                self.objective,
                self.trace.last().map_or(f64::NAN, |t| t.objective),
            ),
            format!("identification: {}", self.identification),
        ];
        let flagged = self.flagged_items();
        if flagged > 0 {
            lines.push(format!(
                "{flagged} items were answered all correctly or all wrongly: their difficulties rest on the prior and are flagged"
            ));
        }
        if !self.dropped.is_empty() {
            lines.push(format!(
                "{} items dropped for having fewer than {} responses",
                self.dropped.len(),
                self.options.min_responses
            ));
        }
        lines
    }
}

/// Why a fit could not run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FitError {
    /// Option values out of range.
    Options(String),
    /// Nothing to fit after dropping items and subjects without responses.
    Empty(String),
    /// The combination of model and method is not available.
    Unsupported(String),
    /// The caller asked to stop.
    Cancelled,
}

impl fmt::Display for FitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Options(why) | Self::Empty(why) | Self::Unsupported(why) => f.write_str(why),
            Self::Cancelled => f.write_str("the fit was cancelled"),
        }
    }
}

impl std::error::Error for FitError {}

/// Sees every iteration; `Break` stops the fit with [`FitError::Cancelled`].
pub type Observer<'a> = dyn FnMut(&TraceStep) -> ControlFlow<()> + 'a;

impl FitOptions {
    /// Checks the values a fit relies on.
    pub fn validate(&self) -> Result<(), FitError> {
        let bad = |why: String| Err(FitError::Options(why));
        let p = &self.priors;
        if self.quadrature < 5 || self.quadrature > 201 {
            return bad(format!(
                "quadrature must be between 5 and 201 points, got {}",
                self.quadrature
            ));
        }
        if self.max_iter == 0 {
            return bad("max_iter must be at least 1".into());
        }
        if self.tolerance.is_nan() || self.tolerance <= 0.0 {
            return bad(format!(
                "tolerance must be positive, got {}",
                self.tolerance
            ));
        }
        if self.lr.is_nan() || self.lr <= 0.0 {
            return bad(format!("lr must be positive, got {}", self.lr));
        }
        if self.samples == 0 {
            return bad("samples must be at least 1".into());
        }
        for (name, sd) in [
            ("ability_sd", p.ability_sd),
            ("difficulty_sd", p.difficulty_sd),
            ("log_discrimination_sd", p.log_discrimination_sd),
            ("guessing_alpha", p.guessing_alpha),
            ("guessing_beta", p.guessing_beta),
        ] {
            if !sd.is_finite() || sd <= 0.0 {
                return bad(format!("priors.{name} must be positive, got {sd}"));
            }
        }
        Ok(())
    }
}

impl ItemFlag {
    /// The flag of an item with these counts, if its responses alone cannot place it.
    pub fn of(counts: crate::matrix::Counts) -> Option<Self> {
        if counts.correct == counts.observed {
            Some(Self::AllCorrect)
        } else if counts.correct == 0 {
            Some(Self::AllWrong)
        } else {
            None
        }
    }
}
