//! Item response theory for rung: response matrices in, item difficulties and bins out.
//!
//! The stages, in the order a study uses them:
//! - [`load`]: response matrices from wide CSV, long CSV/JSONL, py-irt JSONL and
//!   lm-evaluation-harness sample logs, aligned to an item set by id ([`matrix`]);
//! - [`fit()`]: 1PL/2PL models fitted on burn tensors by marginal maximum likelihood (EM over
//!   Gauss-Hermite quadrature, [`mml`]), joint MAP ([`jmap`]) or variational inference ([`vi`]),
//!   with standard errors, abilities, the convergence trace and item fit ([`itemfit`]);
//! - [`bins`]: items split into difficulty bins, with an optional per-bin train/test split;
//! - [`files`]: the on-disk forms of matrices, fits and bins;
//! - [`simulate`]: response matrices drawn from known parameters, for recovery tests and
//!   benchmarks.
//!
//! The numerical work is generic over burn's backends: the CPU `flex` backend always, CUDA with
//! the `cuda` feature.

use std::ops::ControlFlow;

use burn::tensor::backend::AutodiffBackend;

pub mod bins;
pub mod files;
pub mod fit;
pub mod itemfit;
pub mod jmap;
pub mod load;
pub mod matrix;
pub mod mml;
pub(crate) mod observed;
pub mod quadrature;
pub mod simulate;
pub mod vi;

pub use fit::{
    AbilityEstimate, Fit, FitError, FitOptions, ItemEstimate, ItemFlag, Method, Model, Observer,
    Population, Priors, Scale, TraceStep,
};
pub use matrix::{MISSING, ResponseMatrix};

/// What every estimation method hands back, before the shared finishing steps (item fit, scale
/// identification, packaging).
///
/// Vectors are indexed like the matrix the method was given.
#[derive(Clone, Debug)]
pub(crate) struct Estimates {
    pub(crate) difficulty: Vec<f64>,
    pub(crate) difficulty_se: Vec<f64>,
    pub(crate) discrimination: Vec<f64>,
    /// None where the model fixes discrimination at 1.
    pub(crate) discrimination_se: Option<Vec<f64>>,
    /// Some for the 3PL model.
    pub(crate) guessing: Option<Vec<f64>>,
    pub(crate) ability: Vec<f64>,
    pub(crate) ability_se: Vec<f64>,
    pub(crate) population: Population,
    pub(crate) objective: &'static str,
    pub(crate) log_likelihood: f64,
    pub(crate) trace: Vec<TraceStep>,
    pub(crate) converged: bool,
    pub(crate) identification: String,
}

/// Fits `options.model` to `matrix` by `options.method` on `device`, calling `observer` after every
/// iteration.
///
/// Items with fewer than `options.min_responses` observed responses are dropped first. Items
/// answered all correctly or all wrongly are kept and flagged: their estimates rest on the prior.
pub fn fit<B: AutodiffBackend>(
    matrix: &ResponseMatrix,
    options: &FitOptions,
    device: &B::Device,
    observer: &mut Observer<'_>,
) -> Result<Fit, FitError> {
    options.validate()?;
    let counts = matrix.item_counts();
    let (kept, dropped): (Vec<usize>, Vec<usize>) =
        (0..matrix.n_items()).partition(|&j| counts[j].observed >= options.min_responses.max(1));
    if kept.is_empty() {
        return Err(FitError::Empty(format!(
            "no item has at least {} observed responses",
            options.min_responses.max(1)
        )));
    }
    let dropped = dropped.iter().map(|&j| matrix.items()[j].clone()).collect();
    let matrix = if kept.len() == matrix.n_items() {
        matrix.clone()
    } else {
        matrix.select_items(&kept)
    };
    let estimates = match options.method {
        Method::Mml => mml::fit::<B::InnerBackend>(&matrix, options, device, observer)?,
        Method::Jmap => jmap::fit::<B>(&matrix, options, device, observer)?,
        Method::Vi => vi::fit::<B>(&matrix, options, device, observer)?,
    };
    Ok(finish::<B::InnerBackend>(
        &matrix, options, estimates, dropped, device,
    ))
}

/// The steps every method shares after estimation: item fit, the scale, flags and packaging.
fn finish<B: burn::tensor::backend::Backend>(
    matrix: &ResponseMatrix,
    options: &FitOptions,
    mut estimates: Estimates,
    dropped: Vec<String>,
    device: &B::Device,
) -> Fit {
    if options.scale == Scale::Difficulty {
        let shift = mean(&estimates.difficulty);
        estimates.difficulty.iter_mut().for_each(|b| *b -= shift);
        estimates.ability.iter_mut().for_each(|t| *t -= shift);
        estimates.population.mean -= shift;
        estimates.identification = format!(
            "{}; then shifted so that item difficulties have mean 0",
            estimates.identification
        );
    }
    let fit = itemfit::item_fit(matrix, &estimates);
    let item_counts = matrix.item_counts();
    let subject_counts = matrix.subject_counts();
    let items = matrix
        .items()
        .iter()
        .enumerate()
        .map(|(j, id)| {
            let counts = item_counts[j];
            ItemEstimate {
                id: id.clone(),
                difficulty: estimates.difficulty[j],
                difficulty_se: estimates.difficulty_se[j],
                discrimination: estimates.discrimination[j],
                discrimination_se: estimates.discrimination_se.as_ref().map(|se| se[j]),
                guessing: estimates.guessing.as_ref().map(|g| g[j]),
                n: counts.observed,
                p_correct: counts.p_correct(),
                infit: fit.infit[j],
                outfit: fit.outfit[j],
                flag: ItemFlag::of(counts),
            }
        })
        .collect();
    let abilities = matrix
        .subjects()
        .iter()
        .enumerate()
        .map(|(i, id)| AbilityEstimate {
            id: id.clone(),
            ability: estimates.ability[i],
            se: estimates.ability_se[i],
            n: subject_counts[i].observed,
            p_correct: subject_counts[i].p_correct(),
        })
        .collect();
    Fit {
        options: options.clone(),
        items,
        dropped,
        abilities,
        objective: estimates.objective.to_string(),
        log_likelihood: estimates.log_likelihood,
        iterations: estimates.trace.len(),
        converged: estimates.converged,
        trace: estimates.trace,
        population: estimates.population,
        identification: estimates.identification,
        backend: B::name(device),
    }
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Passes every step to `observer`, turning a request to stop into [`FitError::Cancelled`].
pub(crate) fn observe(observer: &mut Observer<'_>, step: TraceStep) -> Result<(), FitError> {
    match observer(&step) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(()) => Err(FitError::Cancelled),
    }
}
