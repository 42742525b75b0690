//! Joint maximum a posteriori (JMAP) estimation: abilities and item parameters found together as
//! the mode of their joint posterior, by alternating Fisher scoring.
//!
//! Each iteration makes one Newton step (with the expected information in place of the Hessian)
//! for every ability given the items, then one for every item's parameter block given the
//! abilities, then a *gauge* step that moves the whole solution along the directions the
//! likelihood cannot see (a common shift of abilities and difficulties; for the 2PL and 3PL also a
//! common rescaling against the discriminations). Only the priors pin those directions down, so
//! alternating steps alone crawl along them; the gauge step optimises them directly, on the host,
//! from the priors alone.
//!
//! Given the items the abilities are independent of one another, and given the abilities so are
//! the items, so every block's step is backtracked on that block's own log posterior (one more
//! pass over the matrix per half-iteration) and the log posterior never falls. A block whose step
//! turns back against its previous one has its later steps halved (`Damping`), which stops the
//! two-cycles that the expected information can cause in the 3PL.
//!
//! Why Fisher scoring and not gradient ascent with Adam on autodiff gradients: every block is
//! small (one ability, or an item's two or three parameters) and its information is a sum of
//! cell-wise terms that the same pass over the matrix yields, so an iteration costs about what a
//! few gradient evaluations cost, while converging in 5 (1PL), about 10 (2PL) and 15 to 40 (3PL)
//! iterations, where Adam at lr 0.05 took about 150 steps on a 1PL fit and never settles for
//! certain. For the 1PL and 2PL abilities and difficulties the expected information equals the
//! Hessian; for the log-discriminations and the 3PL it is the usual positive definite stand-in,
//! which keeps every step an ascent direction.

use std::ops::Range;

use burn::tensor::Tensor;
use burn::tensor::activation::{log_sigmoid, sigmoid};
use burn::tensor::backend::{AutodiffBackend, Backend};

use crate::matrix::ResponseMatrix;
use crate::observed::{self, host};
use crate::{Estimates, FitError, FitOptions, Model, Observer, Population, Priors, TraceStep};

/// No Newton step moves a parameter by more than this (logits), so that a poor start or a flat
/// direction cannot throw the fit far off.
const MAX_STEP: f64 = 1.0;

/// Probabilities are kept at least this far from 0 where they divide or enter a logarithm.
const MIN_PROBABILITY: f32 = 1e-12;

/// Fits `options.model` by joint MAP, calling `observer` after every iteration.
///
/// Fisher scoring needs no gradients, so the work runs on the autodiff backend's inner backend.
pub(crate) fn fit<B: AutodiffBackend>(
    matrix: &ResponseMatrix,
    options: &FitOptions,
    device: &B::Device,
    observer: &mut Observer<'_>,
) -> Result<Estimates, FitError> {
    fisher_scoring::<B::InnerBackend>(matrix, options, device, observer)
}

fn fisher_scoring<B: Backend>(
    matrix: &ResponseMatrix,
    options: &FitOptions,
    device: &B::Device,
    observer: &mut Observer<'_>,
) -> Result<Estimates, FitError> {
    let priors = &options.priors;
    let blocks = Block::<B>::all(matrix, device);
    let mut params = Params::start(matrix, options.model, priors);
    let mut ability_damping = Damping::new(params.ability.len());
    let mut item_damping = Damping::new(params.n_items());
    let mut trace = Vec::new();
    let mut converged = false;
    for iteration in 1..=options.max_iter {
        let before = params.clone();
        update_abilities(&blocks, &mut params, &mut ability_damping, priors, device);
        let columns = update_items(&blocks, &mut params, &mut item_damping, priors, device);
        // The gauge step leaves the likelihood as it is: only the priors change.
        params.regauge(priors);
        let max_change = params.max_change(&before);
        let objective = columns.iter().sum::<f64>() + params.log_prior(priors);
        let step = TraceStep {
            iteration,
            objective,
            max_change,
        };
        trace.push(step);
        crate::observe(observer, step)?;
        if max_change < options.tolerance {
            converged = true;
            break;
        }
    }
    Ok(estimates(
        &blocks, params, options, trace, converged, device,
    ))
}

/// Half an iteration: a Fisher step for every ability given the items, each damped and
/// backtracked on its subject's own log posterior.
fn update_abilities<B: Backend>(
    blocks: &[Block<B>],
    params: &mut Params,
    damping: &mut Damping,
    priors: &Priors,
    device: &B::Device,
) {
    let sums = ability_sums(blocks, params, device);
    let proposed: Vec<f64> = (0..params.ability.len())
        .map(|i| {
            let theta = params.ability[i];
            let score = sums.score[i] - (theta - priors.ability_mean) / priors.ability_sd.powi(2);
            let information = sums.information[i] + priors.ability_sd.powi(-2);
            damping.damp(
                i,
                [(score / information).clamp(-MAX_STEP, MAX_STEP), 0.0, 0.0],
            )[0]
        })
        .collect();
    let step_abilities = |scales: &[f64]| {
        let mut trial = params.clone();
        for ((theta, step), scale) in trial.ability.iter_mut().zip(&proposed).zip(scales) {
            *theta += step * scale;
        }
        trial
    };
    let (scales, _) = backtrack(
        &sums.log_likelihood,
        |i, scale| {
            normal_kernel(
                params.ability[i] + scale * proposed[i],
                priors.ability_mean,
                priors.ability_sd,
            )
        },
        |scales| log_likelihoods(blocks, &step_abilities(scales), Axis::Rows, device),
    );
    *params = step_abilities(&scales);
    for (i, (step, scale)) in proposed.iter().zip(&scales).enumerate() {
        damping.record(i, [step * scale, 0.0, 0.0]);
    }
}

/// The other half: a Fisher step for every item's parameter block given the abilities, each
/// damped and backtracked on its item's own log posterior. Returns each column's log-likelihood
/// after the step.
fn update_items<B: Backend>(
    blocks: &[Block<B>],
    params: &mut Params,
    damping: &mut Damping,
    priors: &Priors,
    device: &B::Device,
) -> Vec<f64> {
    let sums = ItemSums::of(blocks, params, device);
    let proposed: Vec<[f64; 3]> = (0..params.n_items())
        .map(|j| {
            let (score, information) = item_system(params, &sums, priors, j);
            damping.damp(j, clip(solve(&score, &information)))
        })
        .collect();
    let step_items = |scales: &[f64]| {
        let mut trial = params.clone();
        for (j, (step, scale)) in proposed.iter().zip(scales).enumerate() {
            trial.add_to_item(j, &step.map(|s| s * scale));
        }
        trial
    };
    let (scales, columns) = backtrack(
        &sums.log_likelihood,
        |j, scale| params.item_log_prior(j, &proposed[j].map(|s| s * scale), priors),
        |scales| log_likelihoods(blocks, &step_items(scales), Axis::Columns, device),
    );
    *params = step_items(&scales);
    for (j, (step, scale)) in proposed.iter().zip(&scales).enumerate() {
        damping.record(j, step.map(|s| s * scale));
    }
    columns
}

/// Packages the mode with standard errors from the information at the mode.
///
/// An ability's standard error is 1 / sqrt(its information), the items held fixed. An item's comes
/// from the inverse of its own information block (difficulty with log-discrimination and guessing
/// logit), the abilities held fixed: unlike the inverse of the diagonal alone, that accounts for
/// the correlation of difficulty and discrimination within an item.
fn estimates<B: Backend>(
    blocks: &[Block<B>],
    params: Params,
    options: &FitOptions,
    trace: Vec<TraceStep>,
    converged: bool,
    device: &B::Device,
) -> Estimates {
    let priors = &options.priors;
    let ability_se = ability_sums(blocks, &params, device)
        .information
        .iter()
        .map(|info| (info + priors.ability_sd.powi(-2)).recip().sqrt())
        .collect();
    let sums = ItemSums::of(blocks, &params, device);
    let item_variances: Vec<[f64; 3]> = (0..params.n_items())
        .map(|j| inverse_diagonal(&item_system(&params, &sums, priors, j).1))
        .collect();
    let discrimination = params.discrimination();
    let discrimination_se = params.log_discrimination.as_ref().map(|_| {
        // Delta method: sd(a) = a sd(log a).
        discrimination
            .iter()
            .zip(&item_variances)
            .map(|(a, var)| a * var[1].sqrt())
            .collect()
    });
    let log_likelihood = log_likelihood(blocks, &params, device);
    let identification = format!("{} (joint MAP)", priors_in_words(options.model, priors));
    Estimates {
        difficulty_se: item_variances.iter().map(|var| var[0].sqrt()).collect(),
        discrimination,
        discrimination_se,
        guessing: params.guessing(),
        population: population(&params.ability),
        ability_se,
        difficulty: params.difficulty,
        ability: params.ability,
        objective: "log posterior",
        log_likelihood,
        trace,
        converged,
        identification,
    }
}

/// The priors that pin the scale down, in words: "abilities ~ N(0, 1) prior; difficulties ~ N(0,
/// 3) prior", with the discrimination and guessing priors where the model has them.
pub(crate) fn priors_in_words(model: Model, priors: &Priors) -> String {
    let mut words = format!(
        "abilities ~ N({}, {}) prior; difficulties ~ N({}, {}) prior",
        priors.ability_mean, priors.ability_sd, priors.difficulty_mean, priors.difficulty_sd
    );
    if model != Model::OnePl {
        words += &format!(
            "; log discriminations ~ N({}, {}) prior",
            priors.log_discrimination_mean, priors.log_discrimination_sd
        );
    }
    if model == Model::ThreePl {
        words += &format!(
            "; guessing ~ Beta({}, {}) prior",
            priors.guessing_alpha, priors.guessing_beta
        );
    }
    words
}

/// Mean and standard deviation (with n - 1) of estimated abilities.
pub(crate) fn population(ability: &[f64]) -> Population {
    let n = ability.len() as f64;
    let mean = ability.iter().sum::<f64>() / n;
    let squares = ability.iter().map(|t| (t - mean).powi(2)).sum::<f64>();
    Population {
        mean,
        sd: (squares / (n - 1.0).max(1.0)).sqrt(),
    }
}

/// A range of subject rows of the matrix, held on the device for the whole fit.
///
/// Keeping the matrix in row blocks bounds the size of every `[rows, items]` temporary; the blocks
/// together hold two f32 copies of the matrix (responses and mask).
pub(crate) struct Block<B: Backend> {
    pub(crate) rows: Range<usize>,
    /// 1 for correct, 0 for wrong or missing: `[rows, items]`.
    pub(crate) responses: Tensor<B, 2>,
    /// 1 where a response was recorded: `[rows, items]`.
    pub(crate) mask: Tensor<B, 2>,
}

impl<B: Backend> Block<B> {
    /// The whole matrix in blocks of [`observed::CHUNK_ROWS`] rows.
    pub(crate) fn all(matrix: &ResponseMatrix, device: &B::Device) -> Vec<Self> {
        observed::chunks(matrix.n_subjects())
            .map(|rows| Self {
                responses: observed::responses(matrix, rows.clone(), device),
                mask: observed::mask(matrix, rows.clone(), device),
                rows,
            })
            .collect()
    }
}

/// Point values of every parameter, in the parametrisation the fit works in.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Params {
    pub(crate) ability: Vec<f64>,
    pub(crate) difficulty: Vec<f64>,
    /// log a_j, for the 2PL and 3PL.
    pub(crate) log_discrimination: Option<Vec<f64>>,
    /// logit g_j, for the 3PL.
    pub(crate) guessing_logit: Option<Vec<f64>>,
}

impl Params {
    /// A start from the data: abilities from each subject's logit accuracy (centred on the prior
    /// mean), difficulties from minus the logit of each item's share correct (above the guessing
    /// floor for the 3PL), discriminations at the prior's centre and guessing at the prior's mode.
    pub(crate) fn start(matrix: &ResponseMatrix, model: Model, priors: &Priors) -> Self {
        // Half a response either way keeps all-correct and all-wrong rows finite.
        let smoothed =
            |c: crate::matrix::Counts| (c.correct as f64 + 0.5) / (c.observed as f64 + 1.0);
        let accuracy: Vec<f64> = matrix
            .subject_counts()
            .into_iter()
            .map(|c| logit(smoothed(c)))
            .collect();
        let centre = accuracy.iter().sum::<f64>() / accuracy.len().max(1) as f64;
        let (alpha, beta) = (priors.guessing_alpha, priors.guessing_beta);
        let guessing = if alpha > 1.0 && beta > 1.0 {
            (alpha - 1.0) / (alpha + beta - 2.0)
        } else {
            alpha / (alpha + beta)
        };
        let floor = if model == Model::ThreePl {
            guessing
        } else {
            0.0
        };
        let difficulty = matrix
            .item_counts()
            .into_iter()
            .map(|c| {
                let above = ((smoothed(c) - floor) / (1.0 - floor)).clamp(0.02, 0.98);
                priors.ability_mean - logit(above)
            })
            .collect::<Vec<_>>();
        let n_items = difficulty.len();
        Self {
            ability: accuracy
                .iter()
                .map(|a| a - centre + priors.ability_mean)
                .collect(),
            difficulty,
            log_discrimination: (model != Model::OnePl)
                .then(|| vec![priors.log_discrimination_mean; n_items]),
            guessing_logit: (model == Model::ThreePl).then(|| vec![logit(guessing); n_items]),
        }
    }

    fn n_items(&self) -> usize {
        self.difficulty.len()
    }

    /// a_j (all 1 for the 1PL).
    pub(crate) fn discrimination(&self) -> Vec<f64> {
        match &self.log_discrimination {
            Some(log_a) => log_a.iter().map(|l| l.exp()).collect(),
            None => vec![1.0; self.n_items()],
        }
    }

    /// g_j, for the 3PL.
    pub(crate) fn guessing(&self) -> Option<Vec<f64>> {
        self.guessing_logit
            .as_ref()
            .map(|c| c.iter().map(|&c| sigmoid_f64(c)).collect())
    }

    /// The item parameters as `[1, items]` rows on the device.
    fn item_rows<B: Backend>(&self, device: &B::Device) -> ItemRows<B> {
        ItemRows {
            difficulty: observed::row(&self.difficulty, device),
            discrimination: self
                .log_discrimination
                .as_ref()
                .map(|_| observed::row(&self.discrimination(), device)),
            guessing: self.guessing().map(|g| observed::row(&g, device)),
        }
    }

    /// Adds a step over item `j`'s parameters, ordered (difficulty, log a, guessing logit).
    fn add_to_item(&mut self, j: usize, step: &[f64; 3]) {
        self.difficulty[j] += step[0];
        if let Some(log_a) = &mut self.log_discrimination {
            log_a[j] += step[1];
        }
        if let Some(c) = &mut self.guessing_logit {
            c[j] += step[2];
        }
    }

    /// Largest absolute change of any parameter since `before`, in the fit's parametrisation.
    fn max_change(&self, before: &Self) -> f64 {
        let pairs = |a: &[f64], b: &[f64]| {
            a.iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max)
        };
        let optional = |a: &Option<Vec<f64>>, b: &Option<Vec<f64>>| match (a, b) {
            (Some(a), Some(b)) => pairs(a, b),
            _ => 0.0,
        };
        pairs(&self.ability, &before.ability)
            .max(pairs(&self.difficulty, &before.difficulty))
            .max(optional(
                &self.log_discrimination,
                &before.log_discrimination,
            ))
            .max(optional(&self.guessing_logit, &before.guessing_logit))
    }

    /// The log prior density of all parameters, normalising constants included.
    fn log_prior(&self, priors: &Priors) -> f64 {
        let normal_constant = |sd: f64| -sd.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln();
        let (n, items) = (self.ability.len() as f64, self.n_items() as f64);
        let mut total = self
            .ability
            .iter()
            .map(|&theta| normal_kernel(theta, priors.ability_mean, priors.ability_sd))
            .sum::<f64>()
            + (0..self.n_items())
                .map(|j| self.item_log_prior(j, &[0.0; 3], priors))
                .sum::<f64>()
            + n * normal_constant(priors.ability_sd)
            + items * normal_constant(priors.difficulty_sd);
        if self.log_discrimination.is_some() {
            total += items * normal_constant(priors.log_discrimination_sd);
        }
        if self.guessing_logit.is_some() {
            total -= items * ln_beta(priors.guessing_alpha, priors.guessing_beta);
        }
        total
    }

    /// The log prior density of item `j`'s parameters after adding `step` (ordered difficulty,
    /// log a, guessing logit), without normalising constants.
    fn item_log_prior(&self, j: usize, step: &[f64; 3], priors: &Priors) -> f64 {
        let mut total = normal_kernel(
            self.difficulty[j] + step[0],
            priors.difficulty_mean,
            priors.difficulty_sd,
        );
        if let Some(log_a) = &self.log_discrimination {
            total += normal_kernel(
                log_a[j] + step[1],
                priors.log_discrimination_mean,
                priors.log_discrimination_sd,
            );
        }
        if let Some(c) = &self.guessing_logit {
            // The beta density of g itself (no Jacobian): the mode sought is that of g.
            let c = c[j] + step[2];
            total += (priors.guessing_alpha - 1.0) * ln_sigmoid(c)
                + (priors.guessing_beta - 1.0) * ln_sigmoid(-c);
        }
        total
    }

    /// Moves to the best point, by the priors alone, among those with the same likelihood.
    ///
    /// The likelihood depends on a_j (theta_i - b_j) only, which is unchanged by theta -> k theta +
    /// d, b -> k b + d, a -> a / k. For fixed k the best d has a closed form; k (for the 2PL and
    /// 3PL) is found by Gauss-Newton on log k, accepting only steps that raise the log prior.
    fn regauge(&mut self, priors: &Priors) {
        let (wt, wb) = (priors.ability_sd.powi(-2), priors.difficulty_sd.powi(-2));
        let n = (self.ability.len() as f64, self.difficulty.len() as f64);
        let sum = |v: &[f64]| v.iter().sum::<f64>();
        let (sum_t, sum_b) = (sum(&self.ability), sum(&self.difficulty));
        // The best shift after scaling abilities and difficulties by k.
        let shift = |k: f64| {
            (wt * (n.0 * priors.ability_mean - k * sum_t)
                + wb * (n.1 * priors.difficulty_mean - k * sum_b))
                / (wt * n.0 + wb * n.1)
        };
        let mut log_k = 0.0;
        if let Some(log_a) = &self.log_discrimination {
            let wa = priors.log_discrimination_sd.powi(-2);
            // The log prior as a function of log k, at the best shift.
            let objective = |s: f64| {
                let (k, d) = (s.exp(), shift(s.exp()));
                let sq = |v: &[f64], mean: f64| {
                    v.iter().map(|x| (k * x + d - mean).powi(2)).sum::<f64>()
                };
                -0.5 * (wt * sq(&self.ability, priors.ability_mean)
                    + wb * sq(&self.difficulty, priors.difficulty_mean)
                    + wa * log_a
                        .iter()
                        .map(|l| (l - s - priors.log_discrimination_mean).powi(2))
                        .sum::<f64>())
            };
            for _ in 0..20 {
                let (k, d) = (f64::exp(log_k), shift(f64::exp(log_k)));
                // Derivative and Gauss-Newton curvature in log k, with the shift held fixed.
                let (mut gradient, mut curvature) = (0.0, wa * n.1);
                for (values, mean, w) in [
                    (&self.ability, priors.ability_mean, wt),
                    (&self.difficulty, priors.difficulty_mean, wb),
                ] {
                    for x in values {
                        gradient -= w * (k * x + d - mean) * k * x;
                        curvature += w * (k * x).powi(2);
                    }
                }
                gradient += wa
                    * log_a
                        .iter()
                        .map(|l| l - log_k - priors.log_discrimination_mean)
                        .sum::<f64>();
                let mut step = (gradient / curvature).clamp(-0.5, 0.5);
                let current = objective(log_k);
                while step.abs() > 1e-12 && objective(log_k + step) < current {
                    step /= 2.0;
                }
                log_k += step;
                if step.abs() < 1e-10 {
                    break;
                }
            }
        }
        let (k, d) = (f64::exp(log_k), shift(f64::exp(log_k)));
        self.ability.iter_mut().for_each(|t| *t = k * *t + d);
        self.difficulty.iter_mut().for_each(|b| *b = k * *b + d);
        if let Some(log_a) = &mut self.log_discrimination {
            log_a.iter_mut().for_each(|l| *l -= log_k);
        }
    }
}

/// Item parameters as `[1, items]` rows, broadcast against `[rows, items]` blocks.
struct ItemRows<B: Backend> {
    difficulty: Tensor<B, 2>,
    /// None for the 1PL, where a = 1 saves the multiplications.
    discrimination: Option<Tensor<B, 2>>,
    /// Some for the 3PL.
    guessing: Option<Tensor<B, 2>>,
}

/// Cell-wise quantities of one block at the current parameters, masked where they are summed.
///
/// With s = sigmoid(z), z = a (theta - b) and P = g + (1 - g) s, a parameter eta with dz/deta = c
/// has score sum(r c) and expected information sum(v c^2) over its cells, where
/// r = (y - P) (1 - g) s (1 - s) / (P (1 - P)) and v = ((1 - g) s (1 - s))^2 / (P (1 - P)).
/// Without guessing these reduce to r = y - s and v = s (1 - s).
struct Cells<B: Backend> {
    /// a (theta - b): `[rows, items]`.
    z: Tensor<B, 2>,
    /// Masked score factor r: `[rows, items]`.
    r: Tensor<B, 2>,
    /// Masked information factor v: `[rows, items]`.
    v: Tensor<B, 2>,
    /// For the 3PL: sigmoid(z), P and mask / P, `[rows, items]` each.
    guessing: Option<[Tensor<B, 2>; 3]>,
    /// Masked log-likelihood of each cell: `[rows, items]`.
    log_likelihood: Tensor<B, 2>,
}

/// z = a (theta - b) over a block: `[rows, items]`.
fn logits<B: Backend>(
    block: &Block<B>,
    ability: &[f64],
    items: &ItemRows<B>,
    device: &B::Device,
) -> Tensor<B, 2> {
    // [rows, 1]
    let theta = observed::column::<B>(&ability[block.rows.clone()], device);
    // [rows, items]
    let centred = theta - items.difficulty.clone();
    match &items.discrimination {
        Some(a) => centred * a.clone(),
        None => centred,
    }
}

impl<B: Backend> Cells<B> {
    fn of(block: &Block<B>, ability: &[f64], items: &ItemRows<B>, device: &B::Device) -> Self {
        let z = logits(block, ability, items, device);
        let log_likelihood = cell_log_likelihood(block, z.clone(), items);
        let s = sigmoid(z.clone());
        let y = block.responses.clone();
        let m = block.mask.clone();
        match &items.guessing {
            None => Self {
                r: (y - s.clone()) * m.clone(),
                v: s.clone() * (s.neg().add_scalar(1.0)) * m,
                z,
                guessing: None,
                log_likelihood,
            },
            Some(g) => {
                // P = g + (1 - g) s, so 1 - P = (1 - g)(1 - s) and the factors simplify to
                // r = (y - P) s / P and v = (1 - g) s^2 (1 - s) / P.
                let p = s.clone() * g.clone().neg().add_scalar(1.0) + g.clone();
                let over_p = m / p.clone().clamp_min(MIN_PROBABILITY);
                let r = (y - p.clone()) * s.clone() * over_p.clone();
                let v = s.clone().square()
                    * s.clone().neg().add_scalar(1.0)
                    * g.clone().neg().add_scalar(1.0)
                    * over_p.clone();
                Self {
                    z,
                    r,
                    v,
                    guessing: Some([s, p, over_p]),
                    log_likelihood,
                }
            }
        }
    }
}

/// Each subject's likelihood terms: score and expected information of the ability (sums over
/// items of r a and v a^2) and the row's log-likelihood, all without the prior.
struct AbilitySums {
    score: Vec<f64>,
    information: Vec<f64>,
    log_likelihood: Vec<f64>,
}

fn ability_sums<B: Backend>(
    blocks: &[Block<B>],
    params: &Params,
    device: &B::Device,
) -> AbilitySums {
    let items = params.item_rows::<B>(device);
    let n = params.ability.len();
    let mut sums = AbilitySums {
        score: Vec::with_capacity(n),
        information: Vec::with_capacity(n),
        log_likelihood: Vec::with_capacity(n),
    };
    for block in blocks {
        let cells = Cells::of(block, &params.ability, &items, device);
        let (r, v) = match &items.discrimination {
            Some(a) => (cells.r * a.clone(), cells.v * a.clone().square()),
            None => (cells.r, cells.v),
        };
        // [rows, 3], read back in one transfer.
        let rows = host(Tensor::cat(
            vec![r.sum_dim(1), v.sum_dim(1), cells.log_likelihood.sum_dim(1)],
            1,
        ));
        for row in rows.chunks(3) {
            sums.score.push(row[0]);
            sums.information.push(row[1]);
            sums.log_likelihood.push(row[2]);
        }
    }
    sums
}

/// Per-item sums over the observed cells of a column, from which each item's score and expected
/// information follow (see [`item_system`]).
struct ItemSums {
    /// Each column's log-likelihood.
    log_likelihood: Vec<f64>,
    r: Vec<f64>,
    v: Vec<f64>,
    /// sum r z, sum v z, sum v z^2, for the 2PL and 3PL.
    discrimination: Option<[Vec<f64>; 3]>,
    /// For the 3PL: sum m (y - P) / P, sum m s (1 - s) / P, sum m s (1 - s) z / P,
    /// sum m (1 - s) / P.
    guessing: Option<[Vec<f64>; 4]>,
}

impl ItemSums {
    fn of<B: Backend>(blocks: &[Block<B>], params: &Params, device: &B::Device) -> Self {
        let items = params.item_rows::<B>(device);
        let mut totals: Option<Vec<Tensor<B, 2>>> = None;
        for block in blocks {
            let cells = Cells::of(block, &params.ability, &items, device);
            // Each entry is `[rows, items]`, summed over rows to `[1, items]`.
            let mut terms = vec![
                cells.log_likelihood.clone(),
                cells.r.clone(),
                cells.v.clone(),
            ];
            if items.discrimination.is_some() {
                let vz = cells.v.clone() * cells.z.clone();
                terms.extend([
                    cells.r.clone() * cells.z.clone(),
                    vz.clone(),
                    vz * cells.z.clone(),
                ]);
            }
            if let Some([s, p, over_p]) = &cells.guessing {
                let q = s.clone() * s.clone().neg().add_scalar(1.0) * over_p.clone();
                terms.extend([
                    (block.responses.clone() - p.clone()) * over_p.clone(),
                    q.clone(),
                    q * cells.z.clone(),
                    s.clone().neg().add_scalar(1.0) * over_p.clone(),
                ]);
            }
            let sums: Vec<Tensor<B, 2>> = terms.into_iter().map(|t| t.sum_dim(0)).collect();
            totals = Some(match totals {
                None => sums,
                Some(totals) => totals.into_iter().zip(sums).map(|(a, b)| a + b).collect(),
            });
        }
        let n_items = params.n_items();
        // [terms, items], read back in one transfer.
        let totals = totals.map_or_else(Vec::new, |totals| host(Tensor::cat(totals, 0)));
        let mut rows = totals.chunks(n_items.max(1)).map(<[f64]>::to_vec);
        let mut next = || rows.next().unwrap_or_else(|| vec![0.0; n_items]);
        let (log_likelihood, r, v) = (next(), next(), next());
        let discrimination = params
            .log_discrimination
            .as_ref()
            .map(|_| [next(), next(), next()]);
        let guessing = params
            .guessing_logit
            .as_ref()
            .map(|_| [next(), next(), next(), next()]);
        Self {
            log_likelihood,
            r,
            v,
            discrimination,
            guessing,
        }
    }
}

/// Item `j`'s score vector and information matrix (prior included), over (difficulty, log a,
/// guessing logit); the unused parameters of the 1PL and 2PL get an identity row and zero score.
fn item_system(
    params: &Params,
    sums: &ItemSums,
    priors: &Priors,
    j: usize,
) -> ([f64; 3], [[f64; 3]; 3]) {
    let mut score = [0.0; 3];
    let mut information = [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    let b = params.difficulty[j];
    let a = params
        .log_discrimination
        .as_ref()
        .map_or(1.0, |l| l[j].exp());
    // dz/db = -a.
    score[0] = -a * sums.r[j] - (b - priors.difficulty_mean) / priors.difficulty_sd.powi(2);
    information[0][0] = a * a * sums.v[j] + priors.difficulty_sd.powi(-2);
    if let (Some(log_a), Some([rz, vz, vzz])) = (&params.log_discrimination, &sums.discrimination) {
        // dz/dlog a = z.
        score[1] = rz[j]
            - (log_a[j] - priors.log_discrimination_mean) / priors.log_discrimination_sd.powi(2);
        information[1][1] = vzz[j] + priors.log_discrimination_sd.powi(-2);
        information[0][1] = -a * vz[j];
        information[1][0] = information[0][1];
    }
    if let (Some(c), Some([residual, q, qz, w])) = (&params.guessing_logit, &sums.guessing) {
        // dP/dc = (1 - s) g (1 - g). The beta prior's curvature in c is (alpha + beta - 2)
        // g (1 - g), left out where negative (a U-shaped prior) to keep the system positive
        // definite.
        let g = sigmoid_f64(c[j]);
        let spread = g * (1.0 - g);
        let (alpha, beta) = (priors.guessing_alpha, priors.guessing_beta);
        score[2] = g * residual[j] + (alpha - 1.0) * (1.0 - g) - (beta - 1.0) * g;
        information[2][2] = g * spread * w[j] + (alpha + beta - 2.0).max(0.0) * spread;
        information[0][2] = -a * spread * q[j];
        information[2][0] = information[0][2];
        information[1][2] = spread * qz[j];
        information[2][1] = information[1][2];
    }
    (score, information)
}

/// The masked log-likelihood of each cell of a block, y log P + (1 - y) log(1 - P), from its
/// logits z: `[rows, items]`.
fn cell_log_likelihood<B: Backend>(
    block: &Block<B>,
    z: Tensor<B, 2>,
    items: &ItemRows<B>,
) -> Tensor<B, 2> {
    let y = block.responses.clone();
    // [rows, items]
    let cell = match &items.guessing {
        // log sigmoid(+-z) avoids log(0) far from the item.
        None => log_sigmoid(z * (y.mul_scalar(2.0).add_scalar(-1.0))),
        Some(g) => {
            let s = sigmoid(z.clone());
            let p = s * g.clone().neg().add_scalar(1.0) + g.clone();
            // log(1 - P) = log(1 - g) + log sigmoid(-z).
            let log_wrong = g.clone().neg().add_scalar(1.0).log() + log_sigmoid(z.neg());
            y.clone() * p.clamp_min(MIN_PROBABILITY).log() + y.neg().add_scalar(1.0) * log_wrong
        }
    };
    cell * block.mask.clone()
}

/// Which way [`log_likelihoods`] sums the cells.
#[derive(Clone, Copy)]
enum Axis {
    /// One sum per subject.
    Rows,
    /// One sum per item.
    Columns,
}

/// The log-likelihood of each subject's row or of each item's column.
fn log_likelihoods<B: Backend>(
    blocks: &[Block<B>],
    params: &Params,
    axis: Axis,
    device: &B::Device,
) -> Vec<f64> {
    let items = params.item_rows::<B>(device);
    let mut rows = Vec::with_capacity(params.ability.len());
    let mut columns: Option<Tensor<B, 2>> = None;
    for block in blocks {
        let z = logits(block, &params.ability, &items, device);
        // [rows, items]
        let cells = cell_log_likelihood(block, z, &items);
        match axis {
            // [rows, 1]
            Axis::Rows => rows.extend(host(cells.sum_dim(1))),
            // [1, items]
            Axis::Columns => {
                let sums = cells.sum_dim(0);
                columns = Some(match columns {
                    Some(total) => total + sums,
                    None => sums,
                });
            }
        }
    }
    match axis {
        Axis::Rows => rows,
        Axis::Columns => columns.map_or_else(|| vec![0.0; params.n_items()], host),
    }
}

/// The log-likelihood of all observed responses.
pub(crate) fn log_likelihood<B: Backend>(
    blocks: &[Block<B>],
    params: &Params,
    device: &B::Device,
) -> f64 {
    log_likelihoods(blocks, params, Axis::Columns, device)
        .iter()
        .sum()
}

/// Step halvings tried before a block's step is given up for this iteration.
const HALVINGS: usize = 6;

/// Backtracking line search over blocks that are independent given the rest (each ability given
/// the items, or each item given the abilities), so that no block's log posterior ever falls.
///
/// `current` holds each block's log-likelihood at the current point, `prior(k, scale)` block k's
/// log prior after a step scaled by `scale`, and `evaluate(scales)` every block's log-likelihood
/// after the steps scaled by `scales` (one pass over the matrix). A block's step is halved until
/// its log posterior is no lower than before (up to float noise), and dropped after [`HALVINGS`]
/// halvings. Returns the scales taken and each block's log-likelihood after them.
fn backtrack(
    current: &[f64],
    prior: impl Fn(usize, f64) -> f64,
    mut evaluate: impl FnMut(&[f64]) -> Vec<f64>,
) -> (Vec<f64>, Vec<f64>) {
    let before: Vec<f64> = current
        .iter()
        .enumerate()
        .map(|(k, ll)| ll + prior(k, 0.0))
        .collect();
    let mut scales = vec![1.0; current.len()];
    let mut after = current.to_vec();
    let mut open: Vec<usize> = (0..current.len()).collect();
    for halving in 0..=HALVINGS {
        let trial = evaluate(&scales);
        open.retain(|&k| {
            // The sums are f32: differences below a millionth of the value are noise.
            let slack = 1e-6 * (before[k].abs() + 1.0);
            if trial[k] + prior(k, scales[k]) >= before[k] - slack {
                after[k] = trial[k];
                false
            } else if halving == HALVINGS {
                scales[k] = 0.0;
                after[k] = current[k];
                false
            } else {
                scales[k] /= 2.0;
                true
            }
        });
        if open.is_empty() {
            break;
        }
    }
    (scales, after)
}

/// Solves the symmetric positive definite 3 x 3 system `h x = g` by Cholesky.
///
/// A pivot that is not positive (which the information plus prior should never give) falls back
/// to the diagonal alone.
fn solve(g: &[f64; 3], h: &[[f64; 3]; 3]) -> [f64; 3] {
    let Some(l) = cholesky(h) else {
        return std::array::from_fn(|k| if h[k][k] > 0.0 { g[k] / h[k][k] } else { 0.0 });
    };
    let mut y = [0.0; 3];
    for i in 0..3 {
        y[i] = (g[i] - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
    }
    let mut x = [0.0; 3];
    for i in (0..3).rev() {
        x[i] = (y[i] - (i + 1..3).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
    }
    x
}

/// The diagonal of `h`'s inverse: the variances of the parameters.
fn inverse_diagonal(h: &[[f64; 3]; 3]) -> [f64; 3] {
    std::array::from_fn(|k| {
        let mut unit = [0.0; 3];
        unit[k] = 1.0;
        solve(&unit, h)[k]
    })
}

fn cholesky(h: &[[f64; 3]; 3]) -> Option<[[f64; 3]; 3]> {
    let mut l = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..=i {
            let rest = h[i][j] - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>();
            if i == j {
                if rest.is_nan() || rest <= 0.0 {
                    return None;
                }
                l[i][i] = rest.sqrt();
            } else {
                l[i][j] = rest / l[j][j];
            }
        }
    }
    Some(l)
}

/// Per-block damping of Fisher steps against two-cycles.
///
/// Where the expected information is much below the observed curvature (in the 3PL, in flat
/// directions of an item's block), a Fisher step overshoots by about as much as it should have
/// moved, and the next one comes back: the log posterior hardly changes (so backtracking lets it
/// pass) but the parameters never settle. A step that turns back against the block's previous
/// step halves the block's later steps; one that carries on doubles them again, up to the full
/// step.
struct Damping {
    scale: Vec<f64>,
    last: Vec<[f64; 3]>,
}

impl Damping {
    fn new(blocks: usize) -> Self {
        Self {
            scale: vec![1.0; blocks],
            last: vec![[0.0; 3]; blocks],
        }
    }

    /// Block `k`'s proposed step, damped.
    fn damp(&self, k: usize, step: [f64; 3]) -> [f64; 3] {
        step.map(|s| s * self.scale[k])
    }

    /// Records the step block `k` took.
    fn record(&mut self, k: usize, taken: [f64; 3]) {
        let turn: f64 = taken.iter().zip(&self.last[k]).map(|(a, b)| a * b).sum();
        self.scale[k] = if turn < 0.0 {
            self.scale[k] / 2.0
        } else {
            (self.scale[k] * 2.0).min(1.0)
        };
        self.last[k] = taken;
    }
}

/// Scales a step down so that no parameter moves by more than [`MAX_STEP`].
fn clip(step: [f64; 3]) -> [f64; 3] {
    let largest = step.iter().fold(0.0_f64, |m, s| m.max(s.abs()));
    if largest > MAX_STEP && largest.is_finite() {
        step.map(|s| s * MAX_STEP / largest)
    } else if largest.is_finite() {
        step
    } else {
        [0.0; 3]
    }
}

/// log N(x; mean, sd) without its normalising constant.
fn normal_kernel(x: f64, mean: f64, sd: f64) -> f64 {
    -0.5 * ((x - mean) / sd).powi(2)
}

pub(crate) fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

pub(crate) fn sigmoid_f64(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// log sigmoid(x), without overflow for large |x|.
pub(crate) fn ln_sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        -(-x).exp().ln_1p()
    } else {
        x - x.exp().ln_1p()
    }
}

/// log B(alpha, beta), the beta density's normalising constant.
pub(crate) fn ln_beta(alpha: f64, beta: f64) -> f64 {
    ln_gamma(alpha) + ln_gamma(beta) - ln_gamma(alpha + beta)
}

/// log Gamma(x) for x > 0, by the Lanczos approximation (g = 7, 9 terms; about 15 digits).
fn ln_gamma(x: f64) -> f64 {
    const COEFFICIENTS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Gamma(x) Gamma(1 - x) = pi / sin(pi x).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let series = COEFFICIENTS[1..]
        .iter()
        .enumerate()
        .fold(COEFFICIENTS[0], |acc, (k, c)| {
            acc + c / (x + k as f64 + 1.0)
        });
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use std::ops::ControlFlow;

    use burn::backend::flex::FlexDevice;
    use burn::backend::{Autodiff, Flex};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    use super::*;
    use crate::matrix::MISSING;
    use crate::{Method, Model};

    pub(crate) type TestBackend = Autodiff<Flex>;

    /// A simulated data set with the parameters that generated it.
    pub(crate) struct Simulated {
        pub(crate) matrix: ResponseMatrix,
        pub(crate) difficulty: Vec<f64>,
        pub(crate) ability: Vec<f64>,
    }

    /// Responses drawn from the 1PL (`log_a_sd` 0), 2PL or (with `guessing`) 3PL model, with
    /// theta ~ N(0, 1), b ~ N(0, 1), log a ~ N(0, `log_a_sd`) and a share `missing` of cells
    /// missing at random.
    pub(crate) fn simulate(
        subjects: usize,
        items: usize,
        log_a_sd: f64,
        guessing: f64,
        missing: f64,
        seed: u64,
    ) -> Simulated {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let normal = Normal::new(0.0, 1.0).unwrap();
        let ability: Vec<f64> = (0..subjects).map(|_| normal.sample(&mut rng)).collect();
        let difficulty: Vec<f64> = (0..items).map(|_| normal.sample(&mut rng)).collect();
        let discrimination: Vec<f64> = (0..items)
            .map(|_| (log_a_sd * normal.sample(&mut rng)).exp())
            .collect();
        let mut cells = Vec::with_capacity(subjects * items);
        for theta in &ability {
            for j in 0..items {
                let p = guessing
                    + (1.0 - guessing) * sigmoid_f64(discrimination[j] * (theta - difficulty[j]));
                let correct = rng.random::<f64>() < p;
                let gone = rng.random::<f64>() < missing;
                cells.push(if gone { MISSING } else { u8::from(correct) });
            }
        }
        let ids = |prefix: &str, n: usize| (0..n).map(|k| format!("{prefix}{k}")).collect();
        Simulated {
            matrix: ResponseMatrix::new(ids("s", subjects), ids("i", items), cells).unwrap(),
            difficulty,
            ability,
        }
    }

    pub(crate) fn correlation(x: &[f64], y: &[f64]) -> f64 {
        let n = x.len() as f64;
        let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
        let cov: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
        let vx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
        let vy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
        cov / (vx * vy).sqrt()
    }

    fn options(model: Model) -> FitOptions {
        FitOptions {
            model,
            method: Method::Jmap,
            ..FitOptions::default()
        }
    }

    fn run(matrix: &ResponseMatrix, options: &FitOptions) -> Result<Estimates, FitError> {
        fit::<TestBackend>(matrix, options, &FlexDevice, &mut |_| {
            ControlFlow::Continue(())
        })
    }

    #[test]
    fn recovers_rasch_difficulties_with_missing_cells() {
        let data = simulate(300, 200, 0.0, 0.0, 0.2, 1);
        let fit = run(&data.matrix, &options(Model::OnePl)).unwrap();
        assert!(fit.converged, "{:?}", fit.trace.last());
        let r = correlation(&fit.difficulty, &data.difficulty);
        assert!(r >= 0.97, "difficulty correlation {r}");
        assert!(correlation(&fit.ability, &data.ability) >= 0.9);
        assert!(fit.discrimination_se.is_none() && fit.guessing.is_none());
        assert!(fit.difficulty_se.iter().all(|se| *se > 0.05 && *se < 0.5));
        // At the mode the common shift of abilities and difficulties, which only the priors see,
        // is at its best: sum (theta - 0) / 1^2 + sum (b - 0) / 3^2 = 0.
        let shift = fit.ability.iter().sum::<f64>() + fit.difficulty.iter().sum::<f64>() / 9.0;
        assert!(shift.abs() < 1e-2, "shift gradient {shift}");
        // The log posterior never falls from one iteration to the next.
        assert!(
            fit.trace
                .windows(2)
                .all(|w| w[1].objective >= w[0].objective - 1e-3)
        );
    }

    #[test]
    fn recovers_2pl_difficulties() {
        for missing in [0.0, 0.2] {
            let data = simulate(500, 200, 0.3, 0.0, missing, 2);
            let fit = run(&data.matrix, &options(Model::TwoPl)).unwrap();
            assert!(fit.converged, "{:?}", fit.trace.last());
            let r = correlation(&fit.difficulty, &data.difficulty);
            assert!(
                r >= 0.97,
                "difficulty correlation {r} with {missing} missing"
            );
            let se = fit.discrimination_se.as_ref().unwrap();
            assert!(se.iter().all(|se| se.is_finite() && *se > 0.0));
            assert!(fit.log_likelihood < 0.0 && fit.log_likelihood.is_finite());
        }
    }

    #[test]
    fn is_deterministic() {
        let data = simulate(60, 40, 0.3, 0.0, 0.1, 3);
        let first = run(&data.matrix, &options(Model::TwoPl)).unwrap();
        let second = run(&data.matrix, &options(Model::TwoPl)).unwrap();
        assert_eq!(first.difficulty, second.difficulty);
        assert_eq!(first.ability, second.ability);
        assert_eq!(first.trace, second.trace);
    }

    #[test]
    fn fits_the_3pl() {
        // With and without guessing in the data: the second once made Fisher steps cycle.
        for guessing in [0.2, 0.0] {
            let data = simulate(300, 100, 0.3, guessing, 0.0, 4);
            let fit = run(&data.matrix, &options(Model::ThreePl)).unwrap();
            assert!(fit.converged, "{} iterations", fit.trace.len());
            let g = fit.guessing.as_ref().unwrap();
            assert!(g.iter().all(|g| *g > 0.0 && *g < 1.0));
            let finite = [
                &fit.difficulty,
                &fit.difficulty_se,
                &fit.ability,
                &fit.ability_se,
            ];
            assert!(finite.iter().all(|v| v.iter().all(|x| x.is_finite())));
            assert!(fit.discrimination.iter().all(|a| a.is_finite() && *a > 0.0));
            let r = correlation(&fit.difficulty, &data.difficulty);
            assert!(r >= 0.9, "difficulty correlation {r}");
        }
    }

    #[test]
    fn stops_when_asked() {
        let data = simulate(30, 20, 0.0, 0.0, 0.0, 5);
        let mut seen = 0;
        let result = fit::<TestBackend>(
            &data.matrix,
            &options(Model::OnePl),
            &FlexDevice,
            &mut |step| {
                seen = step.iteration;
                if step.iteration == 2 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        );
        assert!(matches!(result, Err(FitError::Cancelled)));
        assert_eq!(seen, 2);
    }

    #[test]
    fn special_functions() {
        // Gamma(5) = 24, Gamma(0.5) = sqrt(pi), B(5, 17) = 4! 16! / 21!.
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
        let beta: f64 =
            (1..=4).map(f64::from).product::<f64>() / (17..=21).map(f64::from).product::<f64>();
        assert!((ln_beta(5.0, 17.0) - beta.ln()).abs() < 1e-10);
        assert!((ln_sigmoid(-800.0) + 800.0).abs() < 1e-9);
        assert!((ln_sigmoid(0.3) - sigmoid_f64(0.3).ln()).abs() < 1e-12);
    }
}
