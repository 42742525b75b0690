//! Response matrices drawn from known parameters: the ground truth of recovery tests and benchmarks.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Normal};
use serde::{Deserialize, Serialize};

use crate::fit::Model;
use crate::matrix::{CORRECT, MISSING, ResponseMatrix, WRONG};

/// What to simulate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Design {
    /// Number of subjects (rows).
    pub subjects: usize,
    /// Number of items (columns).
    pub items: usize,
    /// The model responses are drawn from (1PL or 2PL).
    pub model: Model,
    /// Share of cells removed completely at random.
    pub missing: f64,
    /// Seed of every draw.
    pub seed: u64,
}

/// The parameters a matrix was drawn from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// True abilities, ~ N(0, 1).
    pub abilities: Vec<f64>,
    /// True difficulties, ~ N(0, 1).
    pub difficulties: Vec<f64>,
    /// True discriminations: 1 for the 1PL model, ~ LogNormal(0, 0.3) for the 2PL model.
    pub discriminations: Vec<f64>,
    /// True guessing floors (0 unless the model is 3PL, then ~ U(0.05, 0.3)).
    pub guessing: Vec<f64>,
}

/// Draws a response matrix and the parameters behind it.
///
/// Subjects are named `s0`, `s1`, ... and items `i0`, `i1`, ...; the same design always gives the
/// same matrix.
pub fn simulate(design: &Design) -> (ResponseMatrix, Truth) {
    let mut rng = ChaCha8Rng::seed_from_u64(design.seed);
    let standard = Normal::new(0.0, 1.0).unwrap_or_else(|_| unreachable!("unit normal"));
    let abilities: Vec<f64> = (0..design.subjects)
        .map(|_| standard.sample(&mut rng))
        .collect();
    let difficulties: Vec<f64> = (0..design.items)
        .map(|_| standard.sample(&mut rng))
        .collect();
    let discriminations: Vec<f64> = match design.model {
        Model::OnePl => vec![1.0; design.items],
        Model::TwoPl | Model::ThreePl => {
            let spread = LogNormal::new(0.0, 0.3).unwrap_or_else(|_| unreachable!("valid"));
            (0..design.items).map(|_| spread.sample(&mut rng)).collect()
        }
    };
    let guessing: Vec<f64> = match design.model {
        Model::ThreePl => (0..design.items)
            .map(|_| rng.random_range(0.05..0.3))
            .collect(),
        Model::OnePl | Model::TwoPl => vec![0.0; design.items],
    };
    let mut cells = Vec::with_capacity(design.subjects * design.items);
    for &theta in &abilities {
        for j in 0..design.items {
            let logit = discriminations[j] * (theta - difficulties[j]);
            let p = guessing[j] + (1.0 - guessing[j]) / (1.0 + (-logit).exp());
            let correct = rng.random::<f64>() < p;
            let missing = design.missing > 0.0 && rng.random::<f64>() < design.missing;
            cells.push(match (missing, correct) {
                (true, _) => MISSING,
                (false, true) => CORRECT,
                (false, false) => WRONG,
            });
        }
    }
    let subjects = (0..design.subjects).map(|i| format!("s{i}")).collect();
    let items = (0..design.items).map(|j| format!("i{j}")).collect();
    let matrix = ResponseMatrix::new(subjects, items, cells)
        .unwrap_or_else(|error| unreachable!("simulated ids are unique: {error}"));
    (
        matrix,
        Truth {
            abilities,
            difficulties,
            discriminations,
            guessing,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_design_gives_the_same_matrix() {
        let design = Design {
            subjects: 50,
            items: 40,
            model: Model::TwoPl,
            missing: 0.3,
            seed: 7,
        };
        assert_eq!(simulate(&design), simulate(&design));
        let other = simulate(&Design { seed: 8, ..design });
        assert_ne!(simulate(&design).0, other.0);
    }

    #[test]
    fn missing_cells_and_accuracy_follow_the_design() {
        let (matrix, truth) = simulate(&Design {
            subjects: 400,
            items: 300,
            model: Model::OnePl,
            missing: 0.3,
            seed: 1,
        });
        assert!((matrix.missing_fraction() - 0.3).abs() < 0.01);
        // Easier items are answered correctly more often.
        let counts = matrix.item_counts();
        let (easy, hard): (Vec<usize>, Vec<usize>) =
            (0..300).partition(|&j| truth.difficulties[j] < 0.0);
        let rate = |js: &[usize]| {
            let c: usize = js.iter().map(|&j| counts[j].correct).sum();
            let n: usize = js.iter().map(|&j| counts[j].observed).sum();
            c as f64 / n as f64
        };
        assert!(rate(&easy) > rate(&hard) + 0.2);
    }
}
