//! Parameter recovery on simulated data: the estimates must find the parameters the data came from.
#![allow(clippy::unwrap_used)]

use std::ops::ControlFlow;

use burn::backend::Autodiff;
use burn::backend::Flex;
use burn::backend::flex::FlexDevice;
use rung_irt::simulate::{Design, simulate};
use rung_irt::{Fit, FitOptions, Model, fit};

type Backend = Autodiff<Flex>;

/// What a fit recovered of the truth.
#[derive(Debug)]
struct Recovery {
    correlation: f64,
    rmse: f64,
    bias: f64,
    coverage: f64,
}

fn recover(design: Design, options: FitOptions) -> (Fit, Recovery) {
    let (matrix, truth) = simulate(&design);
    let fit = fit::<Backend>(&matrix, &options, &FlexDevice, &mut |_| {
        ControlFlow::Continue(())
    })
    .unwrap();
    let estimated: Vec<f64> = fit.items.iter().map(|i| i.difficulty).collect();
    let n = estimated.len() as f64;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (me, mt) = (mean(&estimated), mean(&truth.difficulties));
    let cov: f64 = estimated
        .iter()
        .zip(&truth.difficulties)
        .map(|(e, t)| (e - me) * (t - mt))
        .sum();
    let ve: f64 = estimated.iter().map(|e| (e - me).powi(2)).sum();
    let vt: f64 = truth.difficulties.iter().map(|t| (t - mt).powi(2)).sum();
    let rmse = (estimated
        .iter()
        .zip(&truth.difficulties)
        .map(|(e, t)| (e - t).powi(2))
        .sum::<f64>()
        / n)
        .sqrt();
    let covered = fit
        .items
        .iter()
        .zip(&truth.difficulties)
        .filter(|(i, t)| (i.difficulty - **t).abs() <= 1.96 * i.difficulty_se)
        .count();
    let recovery = Recovery {
        correlation: cov / (ve * vt).sqrt(),
        rmse,
        bias: me - mt,
        coverage: covered as f64 / n,
    };
    (fit, recovery)
}

fn design(model: Model, missing: f64) -> Design {
    Design {
        subjects: 500,
        items: 1000,
        model,
        missing,
        seed: 11,
    }
}

#[test]
fn rasch_mml_recovers_difficulties() {
    for missing in [0.0, 0.3] {
        let options = FitOptions::default();
        let (fit, r) = recover(design(Model::OnePl, missing), options);
        eprintln!(
            "1pl mml missing {missing}: {r:?} iterations {} sd {:?}",
            fit.iterations, fit.population
        );
        assert!(fit.converged);
        assert!(r.correlation > 0.98, "{r:?}");
        assert!(r.bias.abs() < 0.05, "{r:?}");
        assert!(r.rmse < 0.16, "{r:?}");
        assert!((0.92..=0.98).contains(&r.coverage), "{r:?}");
    }
}

#[test]
fn two_pl_mml_recovers_difficulties() {
    for missing in [0.0, 0.3] {
        let options = FitOptions {
            model: Model::TwoPl,
            ..FitOptions::default()
        };
        let (fit, r) = recover(design(Model::TwoPl, missing), options);
        eprintln!(
            "2pl mml missing {missing}: {r:?} iterations {}",
            fit.iterations
        );
        assert!(fit.converged);
        assert!(r.correlation > 0.97, "{r:?}");
        assert!((0.92..=0.98).contains(&r.coverage), "{r:?}");
    }
}

/// The study's scale: 5,000 subjects x 12,000 items, complete and with 20% of cells missing.
#[test]
fn rasch_mml_recovers_difficulties_at_leaderboard_scale() {
    for missing in [0.0, 0.2] {
        let design = Design {
            subjects: 5000,
            items: 12000,
            model: Model::OnePl,
            missing,
            seed: 3,
        };
        let (fit, r) = recover(design, FitOptions::default());
        eprintln!(
            "large 1pl mml missing {missing}: {r:?} in {} iterations",
            fit.iterations
        );
        assert!(fit.converged);
        assert!(r.correlation >= 0.99, "{r:?}");
        assert!(r.rmse < 0.045, "{r:?}");
        assert!(r.bias.abs() < 0.05, "{r:?}");
        assert!((0.93..=0.97).contains(&r.coverage), "{r:?}");
    }
}

#[test]
#[ignore = "a minute in the dev profile: run with --ignored"]
fn two_pl_mml_recovers_difficulties_at_leaderboard_scale() {
    let design = Design {
        subjects: 5000,
        items: 12000,
        model: Model::TwoPl,
        missing: 0.2,
        seed: 4,
    };
    let options = FitOptions {
        model: Model::TwoPl,
        ..FitOptions::default()
    };
    let (fit, r) = recover(design, options);
    eprintln!("large 2pl mml: {r:?} in {} iterations", fit.iterations);
    assert!(fit.converged);
    assert!(r.correlation >= 0.99, "{r:?}");
    assert!((0.92..=0.97).contains(&r.coverage), "{r:?}");
}
