//! Variational inference as in py-irt: a mean-field Gaussian posterior fitted by stochastic
//! gradient ascent on the ELBO.
//!
//! Every parameter gets its own Gaussian factor in q: abilities theta_i, difficulties b_j and,
//! where the model has them, log-discriminations log a_j and guessing logits c_j (g_j =
//! sigmoid(c_j)). The priors are the fixed ones of [`Priors`] (py-irt's hierarchical priors are not
//! used). The ELBO is
//!
//! `E_q[log p(y | params)] + E_q[log p(params)] + H[q]`,
//!
//! where the Gaussian priors' part together with the entropy is the closed-form -KL(q || prior),
//! and the likelihood (and, for the 3PL, the beta prior on g with its Jacobian) is estimated by
//! reparameterised Monte Carlo draws: `options.samples` per step, full batch. burn's autodiff
//! gives the gradients; Adam (betas 0.9 and 0.999) climbs them.
//!
//! The noise is drawn on the host from a ChaCha8 stream seeded by `options.seed` and uploaded, so
//! a fit is the same on every backend and for every run with that seed.
//!
//! Convergence: with Monte Carlo gradients and a constant step size the parameters never stop
//! moving (at lr 0.05 the last iterate is off by some tenths of a posterior sd), so the fit stops
//! when the ELBO has levelled off: when the mean ELBO over the last 50 steps differs from
//! the mean over the 50 steps before by less than `options.tolerance` times its size; it
//! stops unconverged at `options.max_iter`. The estimates are then not the last iterate but an
//! exponential moving average of the iterates over about 50 steps, which cuts that jitter
//! about threefold (Polyak-Ruppert averaging of the tail).

use std::ops::Range;

use burn::tensor::activation::{log_sigmoid, sigmoid};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::jmap::{self, Block, Params};
use crate::matrix::ResponseMatrix;
use crate::observed::host;
use crate::{Estimates, FitError, FitOptions, Model, Observer, Priors, TraceStep};

/// Steps over which the ELBO is averaged for the convergence test.
const WINDOW: usize = 50;

/// Starting posterior sd of log-discriminations and guessing logits (abilities and difficulties
/// start from the information their response counts give).
const START_SD: f64 = 0.1;

const BETA_1: f64 = 0.9;
const BETA_2: f64 = 0.999;
const EPSILON: f64 = 1e-8;

/// Fits `options.model` by variational inference, calling `observer` after every step.
pub(crate) fn fit<B: AutodiffBackend>(
    matrix: &ResponseMatrix,
    options: &FitOptions,
    device: &B::Device,
    observer: &mut Observer<'_>,
) -> Result<Estimates, FitError> {
    let priors = &options.priors;
    let blocks = Block::<B::InnerBackend>::all(matrix, device);
    let mut q = Posterior::<B::InnerBackend>::start(matrix, options.model, priors, device);
    let mut adam = Adam::new(&q.tensors());
    let mut average = Average::new(&q.tensors());
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut trace = Vec::new();
    let mut converged = false;
    for iteration in 1..=options.max_iter {
        let noise = draw_noise(&mut rng, &q, options.samples, device);
        let (elbo, gradient) = elbo_gradient::<B>(&blocks, &q, &noise, priors);
        let before = q.means();
        q = q.with_tensors(adam.ascend(q.tensors(), gradient, options.lr));
        average.add(&q.tensors());
        // The largest move of any posterior mean in this step: it shrinks but never settles
        // (see the module docs), so it is reported, not tested.
        let max_change = before
            .into_iter()
            .zip(q.means())
            .map(|(old, new)| {
                host((new - old).abs().max())
                    .into_iter()
                    .fold(0.0, f64::max)
            })
            .fold(0.0, f64::max);
        let step = TraceStep {
            iteration,
            objective: elbo,
            max_change,
        };
        trace.push(step);
        crate::observe(observer, step)?;
        if levelled_off(&trace, options.tolerance) {
            converged = true;
            break;
        }
    }
    // The estimates are the averaged iterates, not the last one.
    let q = q.with_tensors(average.value());
    Ok(estimates(&blocks, q, options, trace, converged, device))
}

/// Whether the mean objective of the last [`WINDOW`] steps is within `tolerance` (relative) of
/// that of the [`WINDOW`] steps before.
fn levelled_off(trace: &[TraceStep], tolerance: f64) -> bool {
    if trace.len() < 2 * WINDOW {
        return false;
    }
    let mean =
        |steps: &[TraceStep]| steps.iter().map(|s| s.objective).sum::<f64>() / steps.len() as f64;
    let recent = mean(&trace[trace.len() - WINDOW..]);
    let earlier = mean(&trace[trace.len() - 2 * WINDOW..trace.len() - WINDOW]);
    (recent - earlier).abs() <= tolerance * recent.abs()
}

/// Packages the posterior: means as estimates, posterior sds as standard errors.
///
/// The discrimination reported is exp(mean of log a), the posterior median of a; its standard
/// error is a times the posterior sd of log a (delta method). Guessing is likewise
/// sigmoid(mean of c).
fn estimates<B: Backend>(
    blocks: &[Block<B>],
    q: Posterior<B>,
    options: &FitOptions,
    trace: Vec<TraceStep>,
    converged: bool,
    device: &B::Device,
) -> Estimates {
    let priors = &options.priors;
    let means = Params {
        ability: host(q.ability.mean.clone()),
        difficulty: host(q.difficulty.mean.clone()),
        log_discrimination: q.log_discrimination.as_ref().map(|f| host(f.mean.clone())),
        guessing_logit: q.guessing_logit.as_ref().map(|f| host(f.mean.clone())),
    };
    let sd = |factor: &Gaussian<B>| host(factor.log_sd.clone().exp());
    let discrimination = means.discrimination();
    let discrimination_se = q.log_discrimination.as_ref().map(|factor| {
        discrimination
            .iter()
            .zip(sd(factor))
            .map(|(a, sd)| a * sd)
            .collect()
    });
    let identification = format!(
        "{} (mean-field variational Bayes; estimates are posterior means)",
        jmap::priors_in_words(options.model, priors)
    );
    Estimates {
        log_likelihood: jmap::log_likelihood(blocks, &means, device),
        difficulty_se: sd(&q.difficulty),
        ability_se: sd(&q.ability),
        discrimination,
        discrimination_se,
        guessing: means.guessing(),
        population: jmap::population(&means.ability),
        difficulty: means.difficulty,
        ability: means.ability,
        objective: "ELBO",
        trace,
        converged,
        identification,
    }
}

/// One Gaussian factor per parameter of a kind: means and log standard deviations, `[len]` each.
#[derive(Clone, Debug)]
struct Gaussian<B: Backend> {
    mean: Tensor<B, 1>,
    log_sd: Tensor<B, 1>,
}

impl<B: Backend> Gaussian<B> {
    fn new(mean: &[f64], sd: impl Fn(usize) -> f64, device: &B::Device) -> Self {
        let log_sd: Vec<f64> = (0..mean.len()).map(|k| sd(k).ln()).collect();
        Self {
            mean: vector(mean, device),
            log_sd: vector(&log_sd, device),
        }
    }

    /// Reparameterised draws mean + sd * noise: `[samples, len]` from noise of that shape.
    fn draw(&self, noise: Tensor<B, 2>) -> Tensor<B, 2> {
        noise * self.log_sd.clone().exp().unsqueeze_dim(0) + self.mean.clone().unsqueeze_dim(0)
    }

    /// -KL(q || N(mean, sd)), summed over the factor's parameters.
    fn negative_kl(&self, mean: f64, sd: f64) -> Tensor<B, 1> {
        // KL = log(sd / s) + (s^2 + (m - mean)^2) / (2 sd^2) - 1/2.
        let spread = (self.log_sd.clone().mul_scalar(2.0).exp()
            + self.mean.clone().sub_scalar(mean).square())
        .div_scalar(2.0 * sd * sd);
        (self.log_sd.clone() - spread)
            .sum()
            .add_scalar((0.5 - sd.ln()) * self.mean.dims()[0] as f64)
    }
}

/// One value per kind of parameter: the shape of both the posterior and each step's noise.
#[derive(Clone, Debug)]
struct Factors<T> {
    ability: T,
    difficulty: T,
    /// For the 2PL and 3PL.
    log_discrimination: Option<T>,
    /// For the 3PL.
    guessing_logit: Option<T>,
}

impl<T> Factors<T> {
    /// The factors present, in a fixed order.
    fn iter(&self) -> impl Iterator<Item = &T> {
        [Some(&self.ability), Some(&self.difficulty)]
            .into_iter()
            .chain([
                self.log_discrimination.as_ref(),
                self.guessing_logit.as_ref(),
            ])
            .flatten()
    }

    fn map<U>(&self, mut f: impl FnMut(&T) -> U) -> Factors<U> {
        Factors {
            ability: f(&self.ability),
            difficulty: f(&self.difficulty),
            log_discrimination: self.log_discrimination.as_ref().map(&mut f),
            guessing_logit: self.guessing_logit.as_ref().map(&mut f),
        }
    }
}

/// The variational posterior q.
type Posterior<B> = Factors<Gaussian<B>>;

impl<B: Backend> Posterior<B> {
    /// Means at the data-based start of [`Params::start`]; ability and difficulty sds from the
    /// information their response counts would carry at P = 1/2 (a quarter per response) with the
    /// prior's, the others at [`START_SD`].
    fn start(matrix: &ResponseMatrix, model: Model, priors: &Priors, device: &B::Device) -> Self {
        let params = Params::start(matrix, model, priors);
        let subjects = matrix.subject_counts();
        let items = matrix.item_counts();
        let sd = |observed: usize, prior_sd: f64| {
            (0.25 * observed as f64 + prior_sd.powi(-2)).powf(-0.5)
        };
        Self {
            ability: Gaussian::new(
                &params.ability,
                |i| sd(subjects[i].observed, priors.ability_sd),
                device,
            ),
            difficulty: Gaussian::new(
                &params.difficulty,
                |j| sd(items[j].observed, priors.difficulty_sd),
                device,
            ),
            log_discrimination: params
                .log_discrimination
                .as_ref()
                .map(|mean| Gaussian::new(mean, |_| START_SD, device)),
            guessing_logit: params
                .guessing_logit
                .as_ref()
                .map(|mean| Gaussian::new(mean, |_| START_SD, device)),
        }
    }

    /// All tensors in a fixed order: each factor's mean, then its log sd.
    fn tensors(&self) -> Vec<Tensor<B, 1>> {
        self.iter()
            .flat_map(|f| [f.mean.clone(), f.log_sd.clone()])
            .collect()
    }

    /// Each factor's means, in the order of [`Factors::iter`].
    fn means(&self) -> Vec<Tensor<B, 1>> {
        self.iter().map(|f| f.mean.clone()).collect()
    }

    /// The posterior with its tensors replaced, given in the order of [`Self::tensors`].
    fn with_tensors(&self, tensors: Vec<Tensor<B, 1>>) -> Self {
        let mut tensors = tensors.into_iter();
        self.map(|old| Gaussian {
            mean: tensors.next().unwrap_or_else(|| old.mean.clone()),
            log_sd: tensors.next().unwrap_or_else(|| old.log_sd.clone()),
        })
    }
}

impl<B: AutodiffBackend> Posterior<B> {
    /// Fresh autodiff leaves holding `q`'s values, the abilities restricted to `rows` if given.
    fn leaves(q: &Posterior<B::InnerBackend>, rows: Option<Range<usize>>) -> Self {
        let leaf = |t: Tensor<B::InnerBackend, 1>| Tensor::<B, 1>::from_inner(t).require_grad();
        let mut leaves = q.map(|f| Gaussian {
            mean: leaf(f.mean.clone()),
            log_sd: leaf(f.log_sd.clone()),
        });
        if let Some(rows) = rows {
            leaves.ability = Gaussian {
                mean: leaf(q.ability.mean.clone().slice(rows.clone())),
                log_sd: leaf(q.ability.log_sd.clone().slice(rows)),
            };
        }
        leaves
    }

    /// The gradient of every leaf, in the order of [`Self::tensors`] (zeros where a leaf played
    /// no part).
    fn gradients(&self, grads: &B::Gradients) -> Vec<Tensor<B::InnerBackend, 1>> {
        self.tensors()
            .iter()
            .map(|leaf| {
                leaf.grad(grads)
                    .unwrap_or_else(|| leaf.clone().inner().zeros_like())
            })
            .collect()
    }
}

/// One step's standard normal noise for the reparameterised draws: `[samples, len]` per factor.
type Noise<B> = Factors<Tensor<B, 2>>;

/// Draws a step's noise, factor after factor in the order of [`Factors::iter`].
fn draw_noise<B: Backend>(
    rng: &mut ChaCha8Rng,
    q: &Posterior<B>,
    samples: usize,
    device: &B::Device,
) -> Noise<B> {
    q.map(|factor| {
        let len = factor.mean.dims()[0];
        let values: Vec<f32> = (0..samples * len)
            .map(|_| StandardNormal.sample(rng))
            .collect();
        Tensor::from_data(TensorData::new(values, [samples, len]), device)
    })
}

/// A Monte Carlo estimate of the ELBO at `q` and its gradient with respect to
/// [`Posterior::tensors`].
///
/// The prior and entropy terms form one small graph; the likelihood is taken block by block, each
/// block's graph differentiated and dropped before the next, so that autodiff never holds more
/// than one block's `[samples, rows, items]` intermediates.
fn elbo_gradient<B: AutodiffBackend>(
    blocks: &[Block<B::InnerBackend>],
    q: &Posterior<B::InnerBackend>,
    noise: &Noise<B::InnerBackend>,
    priors: &Priors,
) -> (f64, Vec<Tensor<B::InnerBackend, 1>>) {
    let samples = noise.ability.dims()[0] as f64;
    let constant = |t: &Tensor<B::InnerBackend, 2>| Tensor::<B, 2>::from_inner(t.clone());

    let leaves = Posterior::<B>::leaves(q, None);
    let mut global = leaves
        .ability
        .negative_kl(priors.ability_mean, priors.ability_sd)
        + leaves
            .difficulty
            .negative_kl(priors.difficulty_mean, priors.difficulty_sd);
    if let Some(factor) = &leaves.log_discrimination {
        global = global
            + factor.negative_kl(priors.log_discrimination_mean, priors.log_discrimination_sd);
    }
    if let (Some(factor), Some(eps)) = (&leaves.guessing_logit, &noise.guessing_logit) {
        // The beta prior on g = sigmoid(c) as a density on c: g^alpha (1 - g)^beta / B(alpha,
        // beta), by Monte Carlo; plus the factor's entropy, sum of log s + log(2 pi e) / 2.
        let (alpha, beta) = (priors.guessing_alpha, priors.guessing_beta);
        // [samples, items]
        let c = factor.draw(constant(eps));
        let items = c.dims()[1] as f64;
        let log_prior = (log_sigmoid(c.clone()).mul_scalar(alpha)
            + log_sigmoid(c.neg()).mul_scalar(beta))
        .sum()
        .div_scalar(samples)
        .sub_scalar(items * jmap::ln_beta(alpha, beta));
        let entropy = factor
            .log_sd
            .clone()
            .sum()
            .add_scalar(items * 0.5 * (2.0 * std::f64::consts::PI * std::f64::consts::E).ln());
        global = global + log_prior + entropy;
    }
    let mut elbo = scalar(global.clone().inner());
    let mut gradient = leaves.gradients(&global.backward());

    let mut ability_parts: [Vec<Tensor<B::InnerBackend, 1>>; 2] = [Vec::new(), Vec::new()];
    for block in blocks {
        let leaves = Posterior::<B>::leaves(q, Some(block.rows.clone()));
        let draw =
            |factor: &Gaussian<B>, eps: &Tensor<B::InnerBackend, 2>| factor.draw(constant(eps));
        let ability_noise = noise
            .ability
            .clone()
            .slice([0..noise.ability.dims()[0], block.rows.clone()]);
        // [samples, rows, 1]
        let theta: Tensor<B, 3> = draw(&leaves.ability, &ability_noise).unsqueeze_dim(2);
        // [samples, 1, items]
        let b: Tensor<B, 3> = draw(&leaves.difficulty, &noise.difficulty).unsqueeze_dim(1);
        // [samples, rows, items]
        let mut z = theta - b;
        if let (Some(factor), Some(eps)) = (&leaves.log_discrimination, &noise.log_discrimination) {
            // [samples, 1, items]
            let a: Tensor<B, 3> = draw(factor, eps).exp().unsqueeze_dim(1);
            z = z * a;
        }
        // [1, rows, items] each.
        let y: Tensor<B, 3> = constant(&block.responses).unsqueeze_dim(0);
        let m: Tensor<B, 3> = constant(&block.mask).unsqueeze_dim(0);
        // [samples, rows, items]
        let cell = match (&leaves.guessing_logit, &noise.guessing_logit) {
            (Some(factor), Some(eps)) => {
                // [samples, 1, items]
                let c: Tensor<B, 3> = draw(factor, eps).unsqueeze_dim(1);
                let g = sigmoid(c.clone());
                // P = g + (1 - g) s; log(1 - P) = log(1 - g) + log sigmoid(-z).
                let p = sigmoid(z.clone()) * g.clone().neg().add_scalar(1.0) + g;
                let log_wrong = log_sigmoid(c.neg()) + log_sigmoid(z.neg());
                y.clone() * p.clamp_min(1e-12).log() + y.neg().add_scalar(1.0) * log_wrong
            }
            // log sigmoid(+-z) for y = 1 or 0.
            _ => log_sigmoid(z * y.mul_scalar(2.0).sub_scalar(1.0)),
        };
        let log_likelihood = (cell * m).sum().div_scalar(samples);
        elbo += scalar(log_likelihood.clone().inner());
        let part = leaves.gradients(&log_likelihood.backward());
        let mut part = part.into_iter();
        // The first two tensors are the block's abilities; the rest are whole item factors.
        for store in &mut ability_parts {
            if let Some(t) = part.next() {
                store.push(t);
            }
        }
        for (total, t) in gradient.iter_mut().skip(2).zip(part) {
            *total = total.clone() + t;
        }
    }
    for (total, parts) in gradient.iter_mut().zip(ability_parts) {
        if !parts.is_empty() {
            *total = total.clone() + Tensor::cat(parts, 0);
        }
    }
    (elbo, gradient)
}

/// Adam over plain tensors, climbing (not descending) the gradient.
struct Adam<B: Backend> {
    first: Vec<Tensor<B, 1>>,
    second: Vec<Tensor<B, 1>>,
    steps: f64,
}

impl<B: Backend> Adam<B> {
    fn new(params: &[Tensor<B, 1>]) -> Self {
        Self {
            first: params.iter().map(Tensor::zeros_like).collect(),
            second: params.iter().map(Tensor::zeros_like).collect(),
            steps: 0.0,
        }
    }

    fn ascend(
        &mut self,
        params: Vec<Tensor<B, 1>>,
        gradient: Vec<Tensor<B, 1>>,
        lr: f64,
    ) -> Vec<Tensor<B, 1>> {
        self.steps += 1.0;
        let first_correction = 1.0 - BETA_1.powf(self.steps);
        let second_correction = 1.0 - BETA_2.powf(self.steps);
        params
            .into_iter()
            .zip(gradient)
            .enumerate()
            .map(|(k, (param, grad))| {
                let first = self.first[k].clone().mul_scalar(BETA_1)
                    + grad.clone().mul_scalar(1.0 - BETA_1);
                let second = self.second[k].clone().mul_scalar(BETA_2)
                    + grad.square().mul_scalar(1.0 - BETA_2);
                self.first[k] = first.clone();
                self.second[k] = second.clone();
                let denominator = second
                    .div_scalar(second_correction)
                    .sqrt()
                    .add_scalar(EPSILON);
                param
                    + first
                        .div_scalar(first_correction)
                        .div(denominator)
                        .mul_scalar(lr)
            })
            .collect()
    }
}

/// An exponential moving average of the iterates over about [`WINDOW`] steps (bias-corrected),
/// which smooths out the jitter that Monte Carlo gradients leave in the last iterate.
struct Average<B: Backend> {
    sums: Vec<Tensor<B, 1>>,
    weight: f64,
}

impl<B: Backend> Average<B> {
    const DECAY: f64 = 1.0 - 1.0 / WINDOW as f64;

    fn new(params: &[Tensor<B, 1>]) -> Self {
        Self {
            sums: params.iter().map(Tensor::zeros_like).collect(),
            weight: 0.0,
        }
    }

    fn add(&mut self, params: &[Tensor<B, 1>]) {
        for (sum, param) in self.sums.iter_mut().zip(params) {
            *sum =
                sum.clone().mul_scalar(Self::DECAY) + param.clone().mul_scalar(1.0 - Self::DECAY);
        }
        self.weight = self.weight * Self::DECAY + (1.0 - Self::DECAY);
    }

    fn value(&self) -> Vec<Tensor<B, 1>> {
        self.sums
            .iter()
            .map(|sum| sum.clone().div_scalar(self.weight))
            .collect()
    }
}

fn vector<B: Backend>(values: &[f64], device: &B::Device) -> Tensor<B, 1> {
    let data: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    Tensor::from_data(TensorData::new(data, [values.len()]), device)
}

fn scalar<B: Backend>(tensor: Tensor<B, 1>) -> f64 {
    host(tensor).into_iter().sum()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::ops::ControlFlow;

    use burn::backend::flex::FlexDevice;

    use super::*;
    use crate::Method;
    use crate::jmap::tests::{TestBackend, correlation, simulate};

    fn options(model: Model) -> FitOptions {
        FitOptions {
            model,
            method: Method::Vi,
            ..FitOptions::default()
        }
    }

    fn run(matrix: &ResponseMatrix, options: &FitOptions) -> Result<Estimates, FitError> {
        fit::<TestBackend>(matrix, options, &FlexDevice, &mut |_| {
            ControlFlow::Continue(())
        })
    }

    #[test]
    fn recovers_difficulties() {
        for (model, subjects, log_a_sd) in [(Model::OnePl, 300, 0.0), (Model::TwoPl, 500, 0.3)] {
            for missing in [0.0, 0.2] {
                let data = simulate(subjects, 200, log_a_sd, 0.0, missing, 11);
                let fit = run(&data.matrix, &options(model)).unwrap();
                assert!(fit.converged, "{model:?}: {} steps", fit.trace.len());
                let r = correlation(&fit.difficulty, &data.difficulty);
                assert!(r >= 0.97, "{model:?}, {missing} missing: correlation {r}");
                assert!(correlation(&fit.ability, &data.ability) >= 0.9);
                // Posterior sds near 1 / sqrt(information): a few tenths here.
                assert!(fit.difficulty_se.iter().all(|sd| *sd > 0.05 && *sd < 0.6));
                assert_eq!(fit.discrimination_se.is_some(), model == Model::TwoPl);
                assert!(fit.log_likelihood.is_finite() && fit.log_likelihood < 0.0);
            }
        }
    }

    #[test]
    fn the_elbo_climbs() {
        let data = simulate(100, 60, 0.3, 0.0, 0.1, 12);
        let fit = run(&data.matrix, &options(Model::TwoPl)).unwrap();
        let mean = |steps: &[TraceStep]| steps.iter().map(|s| s.objective).sum::<f64>() / 20.0;
        let n = fit.trace.len();
        assert!(mean(&fit.trace[n - 20..]) > mean(&fit.trace[..20]));
        assert!(
            fit.trace
                .iter()
                .enumerate()
                .all(|(k, s)| s.iteration == k + 1)
        );
    }

    #[test]
    fn a_seed_fixes_the_fit() {
        let data = simulate(60, 40, 0.3, 0.0, 0.1, 13);
        let mut opts = options(Model::TwoPl);
        opts.max_iter = 120;
        let first = run(&data.matrix, &opts).unwrap();
        let second = run(&data.matrix, &opts).unwrap();
        assert_eq!(first.difficulty, second.difficulty);
        assert_eq!(first.ability_se, second.ability_se);
        assert_eq!(first.trace, second.trace);
        opts.seed += 1;
        let other = run(&data.matrix, &opts).unwrap();
        assert_ne!(first.difficulty, other.difficulty);
        // Another seed moves the estimates by Monte Carlo noise, not by much.
        assert!(correlation(&first.difficulty, &other.difficulty) > 0.99);
    }

    #[test]
    fn draws_several_samples_per_step() {
        let data = simulate(80, 50, 0.3, 0.0, 0.1, 16);
        let mut opts = options(Model::TwoPl);
        opts.samples = 4;
        let fit = run(&data.matrix, &opts).unwrap();
        assert!(fit.trace.iter().all(|s| s.objective.is_finite()));
        assert!(correlation(&fit.difficulty, &data.difficulty) > 0.9);
    }

    #[test]
    fn fits_the_3pl() {
        let data = simulate(100, 40, 0.3, 0.2, 0.0, 14);
        let fit = run(&data.matrix, &options(Model::ThreePl)).unwrap();
        let guessing = fit.guessing.as_ref().unwrap();
        assert!(guessing.iter().all(|g| *g > 0.0 && *g < 1.0));
        assert!(fit.trace.iter().all(|s| s.objective.is_finite()));
        let finite = [
            &fit.difficulty,
            &fit.difficulty_se,
            &fit.ability,
            &fit.ability_se,
        ];
        assert!(finite.iter().all(|v| v.iter().all(|x| x.is_finite())));
        assert!(fit.discrimination.iter().all(|a| *a > 0.0 && a.is_finite()));
    }

    #[test]
    fn stops_when_asked() {
        let data = simulate(30, 20, 0.0, 0.0, 0.0, 15);
        let mut last = 0;
        let result = fit::<TestBackend>(
            &data.matrix,
            &options(Model::OnePl),
            &FlexDevice,
            &mut |step| {
                last = step.iteration;
                if step.iteration == 3 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        );
        assert!(matches!(result, Err(FitError::Cancelled)));
        assert_eq!(last, 3);
    }

    #[test]
    fn levelling_off_needs_two_windows() {
        let flat = |n: usize| -> Vec<TraceStep> {
            (1..=n)
                .map(|iteration| TraceStep {
                    iteration,
                    objective: -100.0,
                    max_change: 0.1,
                })
                .collect()
        };
        assert!(!levelled_off(&flat(2 * WINDOW - 1), 1e-4));
        assert!(levelled_off(&flat(2 * WINDOW), 1e-4));
        let mut rising = flat(2 * WINDOW);
        rising[WINDOW..]
            .iter_mut()
            .for_each(|s| s.objective = -99.0);
        assert!(!levelled_off(&rising, 1e-4));
    }
}
