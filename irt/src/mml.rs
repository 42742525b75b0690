//! Marginal maximum likelihood by EM over Gauss-Hermite quadrature (Bock and Aitkin), 1PL and 2PL.
//!
//! Abilities are integrated out over a quadrature grid; each cycle computes every subject's
//! posterior over the grid (E-step), then refits each item to the expected counts (M-step). The
//! response matrix enters a cycle only through products with the observation mask, which the
//! structure of the models makes possible:
//!
//! - the log-likelihood of subject i at grid point q is
//!   `theta_q * sum_j x_ij a_j + sum_j x_ij d_j - sum_j m_ij softplus(a_j theta_q + d_j)`, so the
//!   E-step needs the raw score (1PL) or the slope-weighted score (2PL) once, and one product of the
//!   mask with the `[items, points]` table of softplus values per cycle;
//! - the M-step needs the expected number of observed subjects at each point per item (one
//!   product of the posterior with the mask); the 1PL model needs nothing else, because its
//!   expected correct count summed over the grid is the item's correct count, and the 2PL model
//!   adds the expected correct counts per point (a product with the responses).
//!
//! With no missing cell both products collapse to column sums, and a cycle costs next to nothing.
//! The Rasch model keeps discrimination at 1 and estimates the spread of the ability
//! distribution (as R's mirt does); the 2PL model fixes the ability distribution to the prior.

use std::borrow::Cow;

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use crate::fit::{ItemFlag, Model, Population, TraceStep};
use crate::matrix::ResponseMatrix;
use crate::observed::{self, host};
use crate::quadrature::{self, Rule};
use crate::{Estimates, FitError, FitOptions, Observer, observe};

/// Fits the 1PL or 2PL model by EM.
pub(crate) fn fit<B: Backend>(
    matrix: &ResponseMatrix,
    options: &FitOptions,
    device: &B::Device,
    observer: &mut Observer<'_>,
) -> Result<Estimates, FitError> {
    if options.model == Model::ThreePl {
        return Err(FitError::Unsupported(
            "the 3pl model is fitted by jmap or vi, not by mml".into(),
        ));
    }
    let counts = matrix.item_counts();
    let (informative, extreme): (Vec<usize>, Vec<usize>) =
        (0..matrix.n_items()).partition(|&j| ItemFlag::of(counts[j]).is_none());
    if informative.is_empty() {
        return Err(FitError::Empty(
            "every item was answered all correctly or all wrongly, so none can be placed".into(),
        ));
    }
    let core = if extreme.is_empty() {
        Cow::Borrowed(matrix)
    } else {
        Cow::Owned(matrix.select_items(&informative))
    };
    let mut em = Em::<B>::new(&core, options, device);
    let mut trace = Vec::new();
    let mut converged = false;
    let mut previous = None;
    let mut last = em.e_step();
    for iteration in 1..=options.max_iter {
        // The parameter-expanded population step is not an exact M-step of the quadrature
        // likelihood, since it moves the grid: when the subjects' posteriors are far narrower
        // than the grid's spacing (a few LLMs, thousands of items each), it can swing between
        // two points forever. A clear fall of the likelihood halves the step, which turns the
        // swing into convergence; near the optimum it wobbles by far less than the threshold.
        if let Some(before) = previous
            && last.log_likelihood < before - 1e-5 * f64::abs(before)
        {
            em.damping = (em.damping / 2.0).max(1.0 / 64.0);
        }
        let start = em.snapshot();
        em.m_step(&last);
        // The size of an undamped step, so that damping does not pass for convergence.
        let max_change = em.distance(&start) / em.damping;
        let step = TraceStep {
            iteration,
            objective: last.log_likelihood,
            max_change,
        };
        trace.push(step);
        observe(observer, step)?;
        previous = Some(last.log_likelihood);
        last = em.e_step();
        if max_change < options.tolerance {
            converged = true;
            break;
        }
    }
    let core_items = em.item_estimates(&last);
    let (ability, ability_se) = em.abilities(&last);
    let placed = em.place_extreme(matrix, &extreme, &last);

    let n_items = matrix.n_items();
    let mut difficulty = vec![0.0; n_items];
    let mut difficulty_se = vec![0.0; n_items];
    let mut discrimination = vec![1.0; n_items];
    let mut discrimination_se = vec![0.0; n_items];
    for (k, &j) in informative.iter().enumerate() {
        difficulty[j] = core_items.difficulty[k];
        difficulty_se[j] = core_items.difficulty_se[k];
        discrimination[j] = core_items.discrimination[k];
        discrimination_se[j] = core_items.discrimination_se[k];
    }
    for (k, &j) in extreme.iter().enumerate() {
        difficulty[j] = placed.difficulty[k];
        difficulty_se[j] = placed.difficulty_se[k];
        discrimination[j] = placed.discrimination[k];
        discrimination_se[j] = placed.discrimination_se[k];
    }
    let identification = match options.model {
        Model::OnePl => format!(
            "abilities ~ N({}, sd) with the mean fixed and the sd estimated ({:.4}); \
             discrimination fixed at 1 (Rasch)",
            em.mean, em.sd
        ),
        _ => format!("abilities ~ N({}, {}) fixed", em.mean, em.sd),
    };
    Ok(Estimates {
        difficulty,
        difficulty_se,
        discrimination,
        discrimination_se: (options.model != Model::OnePl).then_some(discrimination_se),
        guessing: None,
        ability,
        ability_se,
        population: Population {
            mean: em.mean,
            sd: em.sd,
        },
        objective: "marginal log-likelihood",
        log_likelihood: last.log_likelihood,
        trace,
        converged,
        identification,
    })
}

/// The state of the EM iterations over the informative items.
struct Em<'a, B: Backend> {
    matrix: &'a ResponseMatrix,
    model: Model,
    rule: Rule,
    options: &'a FitOptions,
    /// Mean of the ability distribution (fixed).
    mean: f64,
    /// Standard deviation of the ability distribution (estimated for the 1PL model).
    sd: f64,
    /// Item slopes a_j (1 for the 1PL model).
    slope: Vec<f64>,
    /// Item intercepts d_j: the logit is a_j * theta + d_j, so the difficulty is -d_j / a_j.
    intercept: Vec<f64>,
    /// Correct responses per item.
    correct: Vec<f64>,
    /// The observation mask, `[subjects, items]`; none when every cell is observed.
    mask: Option<Tensor<B, 2>>,
    /// The responses, `[subjects, items]`; only the 2PL model needs them.
    responses: Option<Tensor<B, 2>>,
    /// Raw scores.
    raw: Vec<f64>,
    device: B::Device,
    /// Share of each cycle's update that is taken: 1 until the likelihood falls.
    damping: f64,
}

/// The parameters at one point of the iterations.
struct Snapshot {
    slope: Vec<f64>,
    intercept: Vec<f64>,
    sd: f64,
}

/// One E-step: every subject's posterior over the grid.
struct EStep<B: Backend> {
    /// The posterior, rows summing to 1, as a `[subjects, points]` tensor for the M-step's
    /// products.
    tensor: Tensor<B, 2>,
    /// Expected subjects at each point: the posterior's column sums.
    totals: Vec<f64>,
    /// The grid the posterior is over.
    theta: Vec<f64>,
    /// Each subject's slope-weighted score, sum_j x_ij a_j.
    score: Vec<f64>,
    log_likelihood: f64,
}

/// Item estimates on the informative items (or the extreme ones).
struct ItemParams {
    difficulty: Vec<f64>,
    difficulty_se: Vec<f64>,
    discrimination: Vec<f64>,
    discrimination_se: Vec<f64>,
}

impl<'a, B: Backend> Em<'a, B> {
    fn new(matrix: &'a ResponseMatrix, options: &'a FitOptions, device: &B::Device) -> Self {
        let all = 0..matrix.n_subjects();
        let mask = matrix
            .has_missing()
            .then(|| observed::mask::<B>(matrix, all.clone(), device));
        let responses =
            (options.model != Model::OnePl).then(|| observed::responses::<B>(matrix, all, device));
        let raw: Vec<f64> = matrix
            .subject_counts()
            .iter()
            .map(|c| c.correct as f64)
            .collect();
        let counts = matrix.item_counts();
        // Start each item where a subject of average ability answers it as often as observed.
        let intercept = counts
            .iter()
            .map(|c| {
                let p = c.p_correct().clamp(0.01, 0.99);
                (p / (1.0 - p)).ln()
            })
            .collect();
        Self {
            matrix,
            model: options.model,
            rule: quadrature::standard_normal(options.quadrature),
            options,
            mean: options.priors.ability_mean,
            sd: options.priors.ability_sd,
            slope: vec![1.0; matrix.n_items()],
            intercept,
            correct: counts.iter().map(|c| c.correct as f64).collect(),
            mask,
            responses,
            raw,
            device: device.clone(),
            damping: 1.0,
        }
    }

    fn theta(&self) -> Vec<f64> {
        self.rule
            .nodes
            .iter()
            .map(|z| self.mean + self.sd * z)
            .collect()
    }

    fn e_step(&self) -> EStep<B> {
        let theta = self.theta();
        let points = theta.len();
        let subjects = self.matrix.n_subjects();
        // sum_j m_ij softplus(a_j theta_q + d_j): [subjects][points], or one row for all
        // subjects when nothing is missing.
        let penalty: Vec<f64> = match &self.mask {
            Some(mask) => {
                let table = Split::new(
                    points,
                    self.slope
                        .iter()
                        .zip(&self.intercept)
                        .map(|(a, d)| theta.iter().map(move |t| softplus(a * t + d))),
                );
                table.product(mask, &self.device)
            }
            None => {
                let mut sums = vec![0.0; points];
                for (a, d) in self.slope.iter().zip(&self.intercept) {
                    for (sum, t) in sums.iter_mut().zip(&theta) {
                        *sum += softplus(a * t + d);
                    }
                }
                sums
            }
        };
        // sum_j x_ij a_j: [subjects]
        let score = match (&self.responses, self.model) {
            (Some(responses), Model::TwoPl) => {
                Split::new(1, self.slope.iter().map(|&a| std::iter::once(a)))
                    .product(responses, &self.device)
            }
            _ => self.raw.clone(),
        };
        let log_weight: Vec<f64> = self.rule.weights.iter().map(|w| w.ln()).collect();
        let stride = if penalty.len() == points { 0 } else { points };
        let mut posterior = vec![0.0; subjects * points];
        let mut log_likelihood: f64 = self
            .correct
            .iter()
            .zip(&self.intercept)
            .map(|(s, d)| s * d)
            .sum();
        for (i, row) in posterior.chunks_exact_mut(points).enumerate() {
            let penalty = &penalty[i * stride..i * stride + points];
            for (q, cell) in row.iter_mut().enumerate() {
                *cell = score[i] * theta[q] - penalty[q] + log_weight[q];
            }
            let peak = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let total: f64 = row
                .iter_mut()
                .map(|cell| {
                    *cell = (*cell - peak).exp();
                    *cell
                })
                .sum();
            row.iter_mut().for_each(|cell| *cell /= total);
            log_likelihood += peak + total.ln();
        }
        let uploaded: Vec<f32> = posterior.iter().map(|&p| p as f32).collect();
        EStep {
            tensor: Tensor::from_data(TensorData::new(uploaded, [subjects, points]), &self.device),
            totals: (0..points)
                .map(|q| posterior.iter().skip(q).step_by(points).sum())
                .collect(),
            theta,
            score,
            log_likelihood,
        }
    }

    /// Expected observed subjects per item and grid point, `[items][points]` on the host, for
    /// the columns of `mask` (or all items alike when nothing is missing).
    fn expected_counts(
        &self,
        e: &EStep<B>,
        mask: Option<&Tensor<B, 2>>,
        n_items: usize,
    ) -> Vec<Vec<f64>> {
        match mask {
            Some(mask) => by_item(
                host(e.tensor.clone().transpose().matmul(mask.clone())),
                e.theta.len(),
            ),
            None => vec![e.totals.clone(); n_items],
        }
    }

    /// Refits every item to the expected counts, then the population; moves the parameters by
    /// `damping` of the way there.
    fn m_step(&mut self, e: &EStep<B>) {
        let start = self.snapshot();
        let n = self.expected_counts(e, self.mask.as_ref(), self.slope.len());
        match self.model {
            Model::OnePl => {
                for ((d, n), correct) in self.intercept.iter_mut().zip(&n).zip(&self.correct) {
                    *d = rasch_intercept(n, &e.theta, *correct, *d);
                }
            }
            _ => {
                let r = match &self.responses {
                    Some(responses) => by_item(
                        host(e.tensor.clone().transpose().matmul(responses.clone())),
                        e.theta.len(),
                    ),
                    None => unreachable!("the 2PL model keeps its responses"),
                };
                let prior = (
                    self.options.priors.log_discrimination_mean,
                    self.options.priors.log_discrimination_sd,
                );
                for j in 0..self.slope.len() {
                    (self.slope[j], self.intercept[j]) = two_pl_item(
                        &n[j],
                        &r[j],
                        &e.theta,
                        self.slope[j],
                        self.intercept[j],
                        prior,
                    );
                }
            }
        }
        self.rescale(e);
        let towards = |from: f64, to: f64| from + self.damping * (to - from);
        for (a, from) in self.slope.iter_mut().zip(&start.slope) {
            *a = towards(*from, *a);
        }
        for (d, from) in self.intercept.iter_mut().zip(&start.intercept) {
            *d = towards(*from, *d);
        }
        self.sd = towards(start.sd, self.sd);
    }

    /// The parameters as they stand.
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            slope: self.slope.clone(),
            intercept: self.intercept.clone(),
            sd: self.sd,
        }
    }

    /// The largest change of any parameter since `snapshot`.
    fn distance(&self, snapshot: &Snapshot) -> f64 {
        let largest = |old: &[f64], new: &[f64]| {
            old.iter()
                .zip(new)
                .map(|(o, n)| (o - n).abs())
                .fold(0.0, f64::max)
        };
        largest(&snapshot.slope, &self.slope)
            .max(largest(&snapshot.intercept, &self.intercept))
            .max((snapshot.sd - self.sd).abs())
    }

    /// The population step, in parameter-expanded form: the mean and spread of the abilities
    /// are estimated from the posteriors, then the items are moved so that the mean (and for
    /// the 2PL model, the spread) is back at the prior's value, which leaves the likelihood
    /// unchanged. Without it EM crawls along this direction, by tiny steps that look like
    /// convergence; with it the location converges as fast as the items. The Rasch model keeps
    /// the estimated spread, because its slopes are fixed at 1.
    fn rescale(&mut self, e: &EStep<B>) {
        let totals = &e.totals;
        let subjects: f64 = totals.iter().sum();
        let moment = |f: &dyn Fn(f64) -> f64| {
            totals
                .iter()
                .zip(&e.theta)
                .map(|(w, t)| w * f(*t))
                .sum::<f64>()
                / subjects
        };
        let mean = moment(&|t| t);
        let sd = moment(&|t| (t - mean).powi(2)).sqrt();
        let target_sd = match self.model {
            Model::OnePl => sd,
            _ => self.sd,
        };
        // theta = mean + (sd / target_sd) * (theta' - self.mean) with theta' ~ N(self.mean, target_sd).
        let ratio = sd / target_sd;
        for (a, d) in self.slope.iter_mut().zip(self.intercept.iter_mut()) {
            *d += *a * (mean - ratio * self.mean);
            *a *= ratio;
        }
        self.sd = target_sd;
    }

    /// Difficulties, discriminations and their standard errors from the expected information.
    fn item_estimates(&self, e: &EStep<B>) -> ItemParams {
        let n = self.expected_counts(e, self.mask.as_ref(), self.slope.len());
        let prior_precision = match self.model {
            Model::OnePl => 0.0,
            _ => self.options.priors.log_discrimination_sd.powi(-2),
        };
        let mut params = ItemParams::with_capacity(self.slope.len());
        for ((&a, &d), n) in self.slope.iter().zip(&self.intercept).zip(&n) {
            let info = information(n, &e.theta, a, d);
            let (b_se, a_se) = match self.model {
                Model::OnePl => ((1.0 / info.dd).sqrt(), 0.0),
                _ => info.standard_errors(a, d, prior_precision),
            };
            params.push(-d / a, b_se, a, a_se);
        }
        params
    }

    /// Each subject's ability: the posterior mode under the fitted population distribution.
    ///
    /// The grid's posterior mean would put a subject who answered thousands of items on the
    /// nearest grid point, the posterior being far narrower than the grid's spacing. Instead the
    /// gradient and curvature of every subject's log posterior are computed at every grid point
    /// (one product with the mask), and the mode is the root of the cubic Hermite interpolant of
    /// the gradient between the two points that bracket it.
    fn abilities(&self, e: &EStep<B>) -> (Vec<f64>, Vec<f64>) {
        let points = e.theta.len();
        let precision = self.sd.powi(-2);
        // a_j P_jq and a_j^2 P_jq (1 - P_jq), side by side: [items, 2 * points]
        let mut table = Vec::with_capacity(self.slope.len() * 2 * points);
        for (a, d) in self.slope.iter().zip(&self.intercept) {
            let p: Vec<f64> = e.theta.iter().map(|t| sigmoid(a * t + d)).collect();
            table.extend(p.iter().map(|p| a * p));
            table.extend(p.iter().map(|p| a * a * p * (1.0 - p)));
        }
        let sums: Vec<f64> = match &self.mask {
            Some(mask) => {
                let values: Vec<f32> = table.iter().map(|&v| v as f32).collect();
                let table = Tensor::<B, 2>::from_data(
                    TensorData::new(values, [self.slope.len(), 2 * points]),
                    &self.device,
                );
                host(mask.clone().matmul(table))
            }
            None => {
                let mut sums = vec![0.0; 2 * points];
                for row in table.chunks_exact(2 * points) {
                    sums.iter_mut().zip(row).for_each(|(s, v)| *s += v);
                }
                sums
            }
        };
        let stride = if sums.len() == 2 * points {
            0
        } else {
            2 * points
        };
        (0..self.matrix.n_subjects())
            .map(|i| {
                let row = &sums[i * stride..i * stride + 2 * points];
                let gradient: Vec<f64> = (0..points)
                    .map(|q| e.score[i] - row[q] - (e.theta[q] - self.mean) * precision)
                    .collect();
                let curvature: Vec<f64> =
                    (0..points).map(|q| row[points + q] + precision).collect();
                posterior_mode(&e.theta, &gradient, &curvature)
            })
            .unzip()
    }

    /// Places the items answered all correctly or all wrongly: their likelihood alone has no
    /// finite maximum, so each gets the mode of its posterior under the difficulty prior, given
    /// the fitted subjects' posteriors.
    fn place_extreme(
        &self,
        matrix: &ResponseMatrix,
        extreme: &[usize],
        e: &EStep<B>,
    ) -> ItemParams {
        let mut params = ItemParams::with_capacity(extreme.len());
        if extreme.is_empty() {
            return params;
        }
        let columns = matrix.select_items(extreme);
        let mask = columns
            .has_missing()
            .then(|| observed::mask::<B>(&columns, 0..columns.n_subjects(), &self.device));
        let n = self.expected_counts(e, mask.as_ref(), extreme.len());
        let counts = columns.item_counts();
        let priors = &self.options.priors;
        let slope = match self.model {
            Model::OnePl => 1.0,
            _ => priors.log_discrimination_mean.exp(),
        };
        for (k, count) in counts.iter().enumerate() {
            let correct = if ItemFlag::of(*count) == Some(ItemFlag::AllCorrect) {
                1.0
            } else {
                0.0
            };
            let (b, se) = prior_mode(
                &n[k],
                &e.theta,
                slope,
                correct,
                priors.difficulty_mean,
                priors.difficulty_sd,
            );
            params.push(b, se, slope, 0.0);
        }
        params
    }
}

impl ItemParams {
    fn with_capacity(n: usize) -> Self {
        Self {
            difficulty: Vec::with_capacity(n),
            difficulty_se: Vec::with_capacity(n),
            discrimination: Vec::with_capacity(n),
            discrimination_se: Vec::with_capacity(n),
        }
    }

    fn push(&mut self, b: f64, b_se: f64, a: f64, a_se: f64) {
        self.difficulty.push(b);
        self.difficulty_se.push(b_se);
        self.discrimination.push(a);
        self.discrimination_se.push(a_se);
    }
}

/// A table of f64 values split into a coarse part and a remainder, so that its product with a
/// 0/1 matrix in f32 keeps f64-like precision.
///
/// The E-step's log-likelihoods are sums of thousands of terms that nearly cancel between grid
/// points, and an f32 result near 10^4 is only good to 10^-3: enough noise in the posteriors to
/// keep EM from ever meeting a tolerance of 10^-4. The coarse part holds multiples of 2^-k small
/// enough that every partial sum is an exact f32, so its product is exact in any summation
/// order; the remainder is below 2^-k, so its sums stay small and precise. Adding the two
/// products in f64 gives the sums to about 10^-5.
struct Split {
    /// `[rows, 2 * columns]`: the coarse parts, then the remainders.
    values: Vec<f32>,
    rows: usize,
    columns: usize,
}

impl Split {
    fn new<R: IntoIterator<Item = f64>>(columns: usize, rows: impl Iterator<Item = R>) -> Self {
        let table: Vec<f64> = rows.flat_map(IntoIterator::into_iter).collect();
        let rows = table.len() / columns;
        // The largest possible partial sum is the sum over rows of each row's largest value.
        let bound: f64 = table
            .chunks_exact(columns)
            .map(|row| row.iter().fold(0.0f64, |m, v| m.max(v.abs())))
            .sum::<f64>()
            .max(1.0);
        let k = 23 - bound.log2().ceil() as i32;
        let unit = 2f64.powi(k);
        let mut values = vec![0f32; rows * 2 * columns];
        for (r, row) in table.chunks_exact(columns).enumerate() {
            for (c, &v) in row.iter().enumerate() {
                let coarse = (v * unit).round() / unit;
                values[r * 2 * columns + c] = coarse as f32;
                values[r * 2 * columns + columns + c] = (v - coarse) as f32;
            }
        }
        Self {
            values,
            rows,
            columns,
        }
    }

    /// `matrix` (`[subjects, rows]`, 0/1) times the table, `[subjects][columns]` on the host.
    fn product<B: Backend>(self, matrix: &Tensor<B, 2>, device: &B::Device) -> Vec<f64> {
        let columns = self.columns;
        let table = Tensor::<B, 2>::from_data(
            TensorData::new(self.values, [self.rows, 2 * columns]),
            device,
        );
        let both = host(matrix.clone().matmul(table));
        both.chunks_exact(2 * columns)
            .flat_map(|pair| (0..columns).map(move |c| pair[c] + pair[columns + c]))
            .collect()
    }
}

/// A `[points, items]` host buffer as one row of points per item.
fn by_item(values: Vec<f64>, points: usize) -> Vec<Vec<f64>> {
    let items = values.len() / points;
    (0..items)
        .map(|j| (0..points).map(|q| values[q * items + j]).collect())
        .collect()
}

fn softplus(x: f64) -> f64 {
    if x > 30.0 { x } else { x.exp().ln_1p() }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The Rasch M-step for one item: the intercept at which the expected correct count over the
/// grid equals the observed one.
fn rasch_intercept(n: &[f64], theta: &[f64], correct: f64, start: f64) -> f64 {
    let mut d = start;
    for _ in 0..20 {
        let (mut expected, mut slope) = (0.0, 0.0);
        for (nq, t) in n.iter().zip(theta) {
            let p = sigmoid(t + d);
            expected += nq * p;
            slope += nq * p * (1.0 - p);
        }
        let step = ((correct - expected) / slope.max(1e-12)).clamp(-2.0, 2.0);
        d += step;
        if step.abs() < 1e-10 {
            break;
        }
    }
    d
}

/// The 2PL M-step for one item: Fisher scoring on (log slope, intercept) with the normal prior on
/// the log slope.
fn two_pl_item(
    n: &[f64],
    r: &[f64],
    theta: &[f64],
    a: f64,
    d: f64,
    prior: (f64, f64),
) -> (f64, f64) {
    let (mut alpha, mut d) = (a.ln(), d);
    let precision = prior.1.powi(-2);
    for _ in 0..20 {
        let a = alpha.exp();
        let (mut g_alpha, mut g_d) = (-(alpha - prior.0) * precision, 0.0);
        let (mut h_aa, mut h_ad, mut h_dd) = (precision, 0.0, 0.0);
        for ((nq, rq), t) in n.iter().zip(r).zip(theta) {
            let p = sigmoid(a * t + d);
            let w = nq * p * (1.0 - p);
            let residual = rq - nq * p;
            g_alpha += residual * a * t;
            g_d += residual;
            h_aa += w * a * a * t * t;
            h_ad += w * a * t;
            h_dd += w;
        }
        let det = (h_aa * h_dd - h_ad * h_ad).max(1e-12);
        let step_alpha = ((h_dd * g_alpha - h_ad * g_d) / det).clamp(-1.0, 1.0);
        let step_d = ((h_aa * g_d - h_ad * g_alpha) / det).clamp(-2.0, 2.0);
        alpha += step_alpha;
        d += step_d;
        if step_alpha.abs().max(step_d.abs()) < 1e-10 {
            break;
        }
    }
    (alpha.exp(), d)
}

/// The expected information of one item's (slope, intercept) from its expected counts.
struct Information {
    aa: f64,
    ad: f64,
    dd: f64,
}

fn information(n: &[f64], theta: &[f64], a: f64, d: f64) -> Information {
    let mut info = Information {
        aa: 0.0,
        ad: 0.0,
        dd: 0.0,
    };
    for (nq, t) in n.iter().zip(theta) {
        let p = sigmoid(a * t + d);
        let w = nq * p * (1.0 - p);
        info.aa += w * t * t;
        info.ad += w * t;
        info.dd += w;
    }
    info
}

impl Information {
    /// Standard errors of the difficulty -d / a and of the slope a, by the delta method from the
    /// inverse information in (a, d), with the log-slope prior's curvature added.
    fn standard_errors(&self, a: f64, d: f64, prior_precision: f64) -> (f64, f64) {
        // The prior is on log a: its curvature in a is precision / a^2.
        let aa = self.aa + prior_precision / (a * a);
        let det = aa * self.dd - self.ad * self.ad;
        let (var_a, cov, var_d) = (self.dd / det, -self.ad / det, aa / det);
        // b = -d / a: db/da = d / a^2, db/dd = -1 / a.
        let (ga, gd) = (d / (a * a), -1.0 / a);
        let var_b = ga * ga * var_a + 2.0 * ga * gd * cov + gd * gd * var_d;
        (var_b.max(0.0).sqrt(), var_a.max(0.0).sqrt())
    }
}

/// The root of a decreasing gradient known at increasing grid points with its slopes
/// (`-curvature`), and the standard error there.
fn posterior_mode(theta: &[f64], gradient: &[f64], curvature: &[f64]) -> (f64, f64) {
    let last = theta.len() - 1;
    let q = gradient.iter().position(|&g| g <= 0.0).unwrap_or(last + 1);
    if q == 0 || q > last {
        // Beyond the grid: one Newton step from its end.
        let end = q.min(last);
        let mode = theta[end] + gradient[end] / curvature[end];
        return (mode, curvature[end].sqrt().recip());
    }
    let (x0, x1) = (theta[q - 1], theta[q]);
    let width = x1 - x0;
    let (g0, g1) = (gradient[q - 1], gradient[q]);
    let (m0, m1) = (-curvature[q - 1] * width, -curvature[q] * width);
    let hermite = |t: f64| {
        let (t2, t3) = (t * t, t * t * t);
        (2.0 * t3 - 3.0 * t2 + 1.0) * g0
            + (t3 - 2.0 * t2 + t) * m0
            + (3.0 * t2 - 2.0 * t3) * g1
            + (t3 - t2) * m1
    };
    // g0 > 0 >= g1: bisect the interpolant.
    let (mut lo, mut hi) = (0.0, 1.0);
    for _ in 0..50 {
        let mid = 0.5 * (lo + hi);
        if hermite(mid) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let t = 0.5 * (lo + hi);
    let h = (1.0 - t) * curvature[q - 1] + t * curvature[q];
    (x0 + t * width, h.sqrt().recip())
}

/// The posterior mode and standard error of an item's difficulty from expected counts alone,
/// for an item whose responses are all `correct` (1) or all wrong (0).
fn prior_mode(n: &[f64], theta: &[f64], a: f64, correct: f64, mean: f64, sd: f64) -> (f64, f64) {
    let precision = sd.powi(-2);
    let mut b = mean;
    let mut curvature = precision;
    for _ in 0..50 {
        let (mut gradient, mut hessian) = (-(b - mean) * precision, precision);
        for (nq, t) in n.iter().zip(theta) {
            let p = sigmoid(a * (t - b));
            gradient -= a * nq * (correct - p);
            hessian += a * a * nq * p * (1.0 - p);
        }
        curvature = hessian;
        let step = (gradient / hessian).clamp(-2.0, 2.0);
        b += step;
        if step.abs() < 1e-10 {
            break;
        }
    }
    (b, curvature.sqrt().recip())
}
