//! Learning-rate schedules: linear warmup from 0, then cosine, linear or constant, with the
//! formulas of transformers' `get_*_schedule_with_warmup`.

use std::f64::consts::PI;

/// How the learning rate decays after warmup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decay {
    /// Half a cosine from the peak down to the floor (the study's schedule).
    Cosine,
    /// A straight line from the peak down to the floor.
    Linear,
    /// The peak until the end.
    Constant,
}

/// The learning rate of every optimizer step of a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Schedule {
    /// The rate after warmup.
    pub peak: f64,
    /// Steps of linear warmup from 0.
    pub warmup_steps: usize,
    /// Optimizer steps in the whole run.
    pub total_steps: usize,
    /// The decay after warmup.
    pub decay: Decay,
    /// The rate the decay ends at, as a share of the peak.
    pub min_ratio: f64,
}

impl Schedule {
    /// Warmup steps for a share of the run, rounded up as transformers' `warmup_ratio` is.
    pub fn warmup_for(total_steps: usize, ratio: f64) -> usize {
        (total_steps as f64 * ratio).ceil() as usize
    }

    /// The rate of optimizer step `step`, counted from 0 (the rate the first update uses is
    /// `lr(0)`, which is 0 with any warmup, as in transformers).
    pub fn lr(&self, step: usize) -> f64 {
        if step < self.warmup_steps {
            return self.peak * step as f64 / self.warmup_steps.max(1) as f64;
        }
        let decaying = self.total_steps.saturating_sub(self.warmup_steps).max(1) as f64;
        let progress = ((step - self.warmup_steps) as f64 / decaying).min(1.0);
        let shape = match self.decay {
            Decay::Cosine => 0.5 * (1.0 + (PI * progress).cos()),
            Decay::Linear => 1.0 - progress,
            Decay::Constant => 1.0,
        };
        self.peak * (self.min_ratio + (1.0 - self.min_ratio) * shape.max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(decay: Decay) -> Schedule {
        Schedule {
            peak: 1e-3,
            warmup_steps: Schedule::warmup_for(20, 0.1),
            total_steps: 20,
            decay,
            min_ratio: 0.0,
        }
    }

    #[test]
    fn warmup_rounds_up_like_transformers() {
        assert_eq!(Schedule::warmup_for(20, 0.1), 2);
        assert_eq!(Schedule::warmup_for(21, 0.1), 3);
        assert_eq!(Schedule::warmup_for(7, 0.0), 0);
    }

    /// transformers 5.24: `get_cosine_schedule_with_warmup(opt, 2, 20)` and
    /// `get_linear_schedule_with_warmup(opt, 2, 20)` at lr 1e-3, steps 0, 1, 2, 5, 11, 19.
    #[test]
    fn rates_match_transformers() {
        let cosine = [
            0.0,
            5e-4,
            1e-3,
            9.330127018922195e-4,
            5e-4,
            7.59612349389599e-6,
        ];
        let linear = [
            0.0,
            5e-4,
            1e-3,
            8.333333333333334e-4,
            5e-4,
            5.555555555555555e-5,
        ];
        for (i, step) in [0, 1, 2, 5, 11, 19].into_iter().enumerate() {
            let c = schedule(Decay::Cosine).lr(step);
            let l = schedule(Decay::Linear).lr(step);
            assert!((c - cosine[i]).abs() < 1e-15, "cosine step {step}: {c}");
            assert!((l - linear[i]).abs() < 1e-15, "linear step {step}: {l}");
            let constant = schedule(Decay::Constant).lr(step);
            assert_eq!(constant, if step < 2 { linear[i] } else { 1e-3 });
        }
    }

    #[test]
    fn a_floor_lifts_the_end_of_the_decay() {
        let floored = Schedule {
            min_ratio: 0.1,
            ..schedule(Decay::Linear)
        };
        assert!((floored.lr(20) - 1e-4).abs() < 1e-15);
        assert!((floored.lr(2) - 1e-3).abs() < 1e-15);
    }
}
