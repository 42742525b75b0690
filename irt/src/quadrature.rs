//! Gauss-Hermite quadrature for the standard normal distribution.
//!
//! The nodes are the roots of the Hermite polynomial of degree n, found by Newton's method on the
//! orthonormal three-term recurrence from the classical asymptotic starting points; the weights
//! follow from the derivative at each root. With n points the rule integrates polynomials of
//! degree up to 2n - 1 against N(0, 1) exactly.

use std::f64::consts::PI;

/// A quadrature rule for expectations under N(0, 1): E[f(Z)] ~= sum over q of `weights[q] * f(nodes[q])`.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// Points on the standard normal scale, increasing.
    pub nodes: Vec<f64>,
    /// Weights, positive and summing to 1.
    pub weights: Vec<f64>,
}

/// The n-point Gauss-Hermite rule for N(0, 1), for 1 <= n <= 300.
pub fn standard_normal(n: usize) -> Rule {
    assert!(
        (1..=300).contains(&n),
        "Gauss-Hermite needs 1 to 300 points, got {n}"
    );
    let (roots, weights) = hermite_roots(n);
    // Physicists' Hermite polynomials integrate against exp(-x^2); substituting x = z / sqrt(2)
    // turns that into the standard normal density.
    let mut pairs: Vec<(f64, f64)> = roots
        .iter()
        .zip(&weights)
        .map(|(&x, &w)| (x * 2f64.sqrt(), w / PI.sqrt()))
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    Rule {
        nodes: pairs.iter().map(|p| p.0).collect(),
        weights: pairs.iter().map(|p| p.1).collect(),
    }
}

/// Roots and weights of the physicists' Hermite polynomial of degree n (weight exp(-x^2)).
fn hermite_roots(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut roots = vec![0.0; n];
    let mut weights = vec![0.0; n];
    let half = n.div_ceil(2);
    let nf = n as f64;
    for i in 0..half {
        // Starting guesses: the largest root from its asymptotic expansion, each next one
        // extrapolated from those already found.
        let mut x = match i {
            0 => (2.0 * nf + 1.0).sqrt() - 1.855_75 * (2.0 * nf + 1.0).powf(-1.0 / 6.0),
            1 => roots[0] - 1.14 * nf.powf(0.426) / roots[0],
            2 => 1.86 * roots[1] - 0.86 * roots[0],
            3 => 1.91 * roots[2] - 0.91 * roots[1],
            _ => 2.0 * roots[i - 1] - roots[i - 2],
        };
        for _ in 0..100 {
            let (value, slope) = orthonormal_hermite(n, x);
            let step = value / slope;
            x -= step;
            if step.abs() <= 1e-15 * x.abs().max(1.0) {
                break;
            }
        }
        let (_, derivative) = orthonormal_hermite(n, x);
        roots[i] = x;
        roots[n - 1 - i] = -x;
        weights[i] = 2.0 / (derivative * derivative);
        weights[n - 1 - i] = weights[i];
    }
    (roots, weights)
}

/// The orthonormal Hermite function of degree n at x and its derivative.
fn orthonormal_hermite(n: usize, x: f64) -> (f64, f64) {
    let mut previous = 0.0;
    let mut current = PI.powf(-0.25);
    for j in 1..=n {
        let jf = j as f64;
        let next = x * (2.0 / jf).sqrt() * current - ((jf - 1.0) / jf).sqrt() * previous;
        previous = current;
        current = next;
    }
    (current, (2.0 * n as f64).sqrt() * previous)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// E[Z^k] under N(0, 1): 0 for odd k, (k - 1)!! for even k.
    fn normal_moment(k: u32) -> f64 {
        if k % 2 == 1 {
            0.0
        } else {
            (1..k).step_by(2).map(f64::from).product()
        }
    }

    #[test]
    fn rules_integrate_polynomials_exactly() {
        for n in [1, 2, 5, 21, 41, 61, 101] {
            let rule = standard_normal(n);
            for k in 0..(2 * n as u32).min(24) {
                let got: f64 = rule
                    .nodes
                    .iter()
                    .zip(&rule.weights)
                    .map(|(z, w)| w * z.powi(k as i32))
                    .sum();
                let want = normal_moment(k);
                // Odd moments cancel between terms as large as the next even moment.
                let scale = normal_moment(k + k % 2).max(1.0);
                assert!(
                    (got - want).abs() <= 1e-10 * scale,
                    "n = {n}, E[Z^{k}] = {got}, want {want}"
                );
            }
        }
    }

    #[test]
    fn nodes_are_distinct_symmetric_and_increasing() {
        let rule = standard_normal(41);
        assert!(rule.nodes.windows(2).all(|w| w[0] < w[1]));
        assert!(rule.weights.iter().all(|&w| w > 0.0));
        for (a, b) in rule.nodes.iter().zip(rule.nodes.iter().rev()) {
            assert!((a + b).abs() < 1e-12);
        }
        assert_eq!(rule.nodes[20], 0.0);
    }

    #[test]
    fn the_three_point_rule_is_the_textbook_one() {
        let rule = standard_normal(3);
        let root3 = 3f64.sqrt();
        for (got, want) in rule.nodes.iter().zip([-root3, 0.0, root3]) {
            assert!((got - want).abs() < 1e-13);
        }
        for (got, want) in rule.weights.iter().zip([1.0 / 6.0, 2.0 / 3.0, 1.0 / 6.0]) {
            assert!((got - want).abs() < 1e-13);
        }
    }
}
