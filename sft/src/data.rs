//! Training examples: prompt/completion pairs rendered through the chat template and
//! tokenized with a loss mask, and the order in which optimizer steps visit them.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rung_models::LanguageModel;
use rung_models::chat::Message;

use burn::prelude::Backend;

use crate::SftError;
use crate::recipe::Recipe;

/// A prompt and the completion the model should learn to give.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Example {
    /// The user's turn.
    pub prompt: String,
    /// The assistant's turn.
    pub completion: String,
}

/// How examples become token sequences.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Format {
    /// Render each example through the model's chat template (system, user, assistant turns);
    /// otherwise the prompt and completion are concatenated and an end-of-sequence token
    /// appended.
    pub chat_template: bool,
    /// A system message before every example.
    pub system_prompt: Option<String>,
    /// Train on the completion's tokens only (everything the template adds after the prompt,
    /// the end-of-turn token included); otherwise on every token.
    pub completion_only: bool,
    /// Longest sequence; longer ones lose their end.
    pub max_length: usize,
}

/// One tokenized example.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sequence {
    /// The tokens.
    pub ids: Vec<u32>,
    /// Whether each token is a target of the loss.
    pub loss_mask: Vec<bool>,
}

impl Sequence {
    /// Tokens that are targets of the loss (the first token never is: nothing predicts it).
    pub fn targets(&self) -> usize {
        self.loss_mask.iter().skip(1).filter(|&&m| m).count()
    }
}

/// What tokenizing a set of examples had to do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FormatReport {
    /// Examples longer than `max_length`, cut.
    pub truncated: usize,
    /// Examples left without any target token (their completion was cut away entirely).
    pub without_targets: usize,
    /// Examples whose full rendering does not start with the tokens of the prompt alone: the
    /// mask then falls where the prompt's tokens end.
    pub boundary_mismatches: usize,
}

/// Tokenizes examples for `model` with their loss masks.
pub fn tokenize<B: Backend>(
    model: &LanguageModel<B>,
    examples: &[Example],
    format: &Format,
) -> Result<(Vec<Sequence>, FormatReport), SftError> {
    let mut report = FormatReport::default();
    let mut sequences = Vec::with_capacity(examples.len());
    for (index, example) in examples.iter().enumerate() {
        let failed = |message: String| SftError::Data(format!("example {index}: {message}"));
        let (prefix, full, add_special) = if format.chat_template {
            let template = model.chat_template.as_ref().ok_or_else(|| {
                failed(format!(
                    "{} has no chat template; set `chat_template = false` to train on plain text",
                    model.source.display()
                ))
            })?;
            let mut messages = Vec::new();
            if let Some(system) = &format.system_prompt {
                messages.push(Message::system(system.clone()));
            }
            messages.push(Message::user(example.prompt.clone()));
            let prefix = template
                .render(&messages, true)
                .map_err(|e| failed(e.to_string()))?;
            messages.push(Message::assistant(example.completion.clone()));
            let full = template
                .render(&messages, false)
                .map_err(|e| failed(e.to_string()))?;
            (prefix, full, false)
        } else {
            let prefix = example.prompt.clone();
            let full = format!("{}{}", example.prompt, example.completion);
            (prefix, full, true)
        };
        let encode = |text: &str| {
            model
                .tokenizer
                .encode(text, add_special)
                .map_err(|e| failed(e.to_string()))
        };
        let prefix_ids = encode(&prefix)?;
        let mut ids = encode(&full)?;
        if !format.chat_template
            && let Some(&eos) = model.tokenizer.eos_ids().first()
        {
            ids.push(eos);
        }
        if !ids.starts_with(&prefix_ids) {
            report.boundary_mismatches += 1;
        }
        let boundary = if format.completion_only {
            prefix_ids.len().min(ids.len())
        } else {
            0
        };
        let mut loss_mask: Vec<bool> = (0..ids.len()).map(|i| i >= boundary).collect();
        if ids.len() > format.max_length {
            report.truncated += 1;
            ids.truncate(format.max_length);
            loss_mask.truncate(format.max_length);
        }
        let sequence = Sequence { ids, loss_mask };
        if sequence.targets() == 0 {
            report.without_targets += 1;
        }
        sequences.push(sequence);
    }
    Ok((sequences, report))
}

/// Which sequences every optimizer step of a run trains on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepPlan {
    /// Per optimizer step, its micro-batches, each a list of sequence indices.
    pub steps: Vec<Vec<Vec<usize>>>,
    /// The epoch each step belongs to (from 0).
    pub epochs: Vec<usize>,
    /// The curriculum stage each step trains on (from 0); empty without a curriculum.
    pub stages: Vec<usize>,
}

/// Plans a run: each epoch visits every sequence once, shuffled from `seed` and the epoch
/// number when `shuffle` is set; consecutive sequences form micro-batches of `micro_batch`, and
/// `grad_accum` consecutive micro-batches an optimizer step (the last of an epoch may be
/// smaller). With `group_by_length`, each run of 50 steps' worth of sequences is sorted by
/// length (longest first) before it is cut into micro-batches.
pub fn plan(
    lengths: &[usize],
    epochs: usize,
    micro_batch: usize,
    grad_accum: usize,
    seed: u64,
    shuffle: bool,
    group_by_length: bool,
) -> StepPlan {
    let all: Vec<usize> = (0..lengths.len()).collect();
    let mut steps = Vec::new();
    let mut epoch_of = Vec::new();
    for epoch in 0..epochs {
        let mut order = ordered(&all, seed, epoch as u64, shuffle);
        for step in cut(
            &mut order,
            lengths,
            micro_batch,
            grad_accum,
            group_by_length,
        ) {
            steps.push(step);
            epoch_of.push(epoch);
        }
    }
    StepPlan {
        steps,
        epochs: epoch_of,
        stages: Vec::new(),
    }
}

/// `pool` in the order of one pass: shuffled from `seed` on random stream `stream` when
/// `shuffle` is set, as given otherwise.
fn ordered(pool: &[usize], seed: u64, stream: u64, shuffle: bool) -> Vec<usize> {
    let mut order = pool.to_vec();
    if shuffle {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        order.shuffle(&mut rng);
    }
    order
}

/// Cuts `order` into optimizer steps of `grad_accum` micro-batches of `micro_batch` sequences
/// (the last ones may be smaller), sorting each run of 50 steps' worth by length first when
/// `group_by_length` is set.
fn cut(
    order: &mut [usize],
    lengths: &[usize],
    micro_batch: usize,
    grad_accum: usize,
    group_by_length: bool,
) -> Vec<Vec<Vec<usize>>> {
    if group_by_length {
        for group in order.chunks_mut(50 * micro_batch * grad_accum) {
            group.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
        }
    }
    let micro: Vec<Vec<usize>> = order.chunks(micro_batch).map(<[usize]>::to_vec).collect();
    micro
        .chunks(grad_accum)
        .map(<[Vec<usize>]>::to_vec)
        .collect()
}

/// How a curriculum spreads its stages over a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pacing {
    /// Stages divide the run's epochs: stage k makes its share of the epochs in whole passes
    /// over its pool. Every stage makes at least one pass, so a run with fewer epochs than
    /// stages makes one pass per stage (and so more passes than its `epochs`).
    Epochs,
    /// Stages divide the run's optimizer steps, as many as `epochs` passes over every example
    /// would take: stage k trains for its share of them, cycling through its pool (reshuffled at
    /// every pass) to fill full steps. Every stage gets at least one step.
    Steps,
}

impl Pacing {
    /// The name used in specs and outputs: `epochs` or `steps`.
    pub fn name(self) -> &'static str {
        match self {
            Pacing::Epochs => "epochs",
            Pacing::Steps => "steps",
        }
    }
}

/// Training examples in ordered stages (e.g. difficulty bins, easy to hard): a run visits stage
/// 0, then stage 1, and so on, shuffling within a stage only.
#[derive(Clone, Debug, PartialEq)]
pub struct Curriculum {
    /// The stage of each example, from 0, in the order of the examples; every stage up to the
    /// last must hold at least one example.
    pub stage_of: Vec<usize>,
    /// Whether stages divide the epochs or the optimizer steps.
    pub pacing: Pacing,
    /// The relative length of each stage (empty = equal); positive, one per stage.
    pub shares: Vec<f64>,
    /// Whether a stage's pool keeps every earlier stage's examples.
    pub cumulative: bool,
}

impl Curriculum {
    /// The number of stages.
    pub fn stages(&self) -> usize {
        self.stage_of.iter().max().map_or(0, |&last| last + 1)
    }

    /// Checks that the curriculum fits `examples` examples: a stage per example, no stage
    /// without examples, a positive share per stage (or none).
    pub fn check(&self, examples: usize) -> Result<(), SftError> {
        let invalid = |message: String| Err(SftError::Data(format!("curriculum: {message}")));
        if self.stage_of.len() != examples {
            return invalid(format!(
                "{} stage numbers for {examples} examples",
                self.stage_of.len()
            ));
        }
        let stages = self.stages();
        if let Some(empty) = (0..stages).find(|k| !self.stage_of.contains(k)) {
            return invalid(format!("stage {empty} has no examples"));
        }
        if !self.shares.is_empty() && self.shares.len() != stages {
            return invalid(format!(
                "{} shares for {stages} stages: give one share per stage, or none",
                self.shares.len()
            ));
        }
        if self.shares.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return invalid("shares must be positive numbers".into());
        }
        Ok(())
    }

    /// The examples each stage trains on, in example order: its own, and with `cumulative`
    /// every earlier stage's too.
    pub fn pools(&self) -> Vec<Vec<usize>> {
        (0..self.stages())
            .map(|k| {
                (0..self.stage_of.len())
                    .filter(|&i| {
                        let stage = self.stage_of[i];
                        stage == k || (self.cumulative && stage < k)
                    })
                    .collect()
            })
            .collect()
    }

    /// How `total` (epochs or steps) is divided among the stages: by the shares (equal when
    /// there are none), largest remainders first, and at least one each.
    pub fn apportion(&self, total: usize) -> Vec<usize> {
        let stages = self.stages();
        let weights = if self.shares.is_empty() {
            vec![1.0; stages]
        } else {
            self.shares.clone()
        };
        apportion(total, &weights)
    }
}

/// Splits `total` by the normalised `weights`, largest remainders first (the earlier part on a
/// tie); then every part left at zero gets one, taken from the largest part while that has more
/// than one (so the sum exceeds `total` only when `total` is smaller than the number of parts).
fn apportion(total: usize, weights: &[f64]) -> Vec<usize> {
    let sum: f64 = weights.iter().sum();
    let exact: Vec<f64> = weights.iter().map(|w| w / sum * total as f64).collect();
    let mut counts: Vec<usize> = exact.iter().map(|x| x.floor() as usize).collect();
    let mut by_remainder: Vec<usize> = (0..counts.len()).collect();
    by_remainder
        .sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    let missing = total.saturating_sub(counts.iter().sum());
    for &k in by_remainder.iter().take(missing) {
        counts[k] += 1;
    }
    for k in 0..counts.len() {
        if counts[k] == 0 {
            let largest = (0..counts.len())
                .max_by_key(|&j| (counts[j], std::cmp::Reverse(j)))
                .unwrap_or(k);
            if counts[largest] > 1 {
                counts[largest] -= 1;
            }
            counts[k] = 1;
        }
    }
    counts
}

/// Plans a run on a curriculum: stage after stage, in order, never mixing stages within a
/// step. With [`Pacing::Epochs`] stage k makes [`Curriculum::apportion`]`(epochs)[k]` passes
/// over its pool, each pass a new epoch; with [`Pacing::Steps`] it trains for its share of the
/// steps that `epochs` passes over all the examples would take, every step full. Each pass is
/// shuffled from the seed (one random stream per pass of the run) when the recipe shuffles, and
/// cut into micro-batches and steps as [`plan`] does. A one-stage curriculum paced by epochs
/// plans exactly what [`plan`] does.
pub fn plan_curriculum(
    lengths: &[usize],
    curriculum: &Curriculum,
    recipe: &Recipe,
) -> Result<StepPlan, SftError> {
    curriculum.check(lengths.len())?;
    let pools = curriculum.pools();
    let (micro_batch, grad_accum) = (recipe.micro_batch, recipe.grad_accum);
    let pass =
        |pool: &[usize], stream: usize| ordered(pool, recipe.seed, stream as u64, recipe.shuffle);
    let mut plan = StepPlan {
        steps: Vec::new(),
        epochs: Vec::new(),
        stages: Vec::new(),
    };
    let mut passes = 0;
    match curriculum.pacing {
        Pacing::Epochs => {
            for (stage, (pool, epochs)) in pools
                .iter()
                .zip(curriculum.apportion(recipe.epochs))
                .enumerate()
            {
                for _ in 0..epochs {
                    let mut order = pass(pool, passes);
                    let steps = cut(
                        &mut order,
                        lengths,
                        micro_batch,
                        grad_accum,
                        recipe.group_by_length,
                    );
                    plan.epochs.extend(std::iter::repeat_n(passes, steps.len()));
                    plan.stages.extend(std::iter::repeat_n(stage, steps.len()));
                    plan.steps.extend(steps);
                    passes += 1;
                }
            }
        }
        Pacing::Steps => {
            let per_epoch = lengths
                .len()
                .div_ceil(micro_batch)
                .div_ceil(grad_accum)
                .max(1);
            let total = recipe.epochs * per_epoch;
            for (stage, (pool, steps)) in pools.iter().zip(curriculum.apportion(total)).enumerate()
            {
                let wanted = steps * micro_batch * grad_accum;
                let mut order = Vec::with_capacity(wanted + pool.len());
                while order.len() < wanted {
                    order.extend(pass(pool, passes));
                    passes += 1;
                }
                order.truncate(wanted);
                for step in cut(
                    &mut order,
                    lengths,
                    micro_batch,
                    grad_accum,
                    recipe.group_by_length,
                ) {
                    // The epoch of the whole run the step falls in, as if it were not staged.
                    plan.epochs
                        .push((plan.steps.len() / per_epoch).min(recipe.epochs.saturating_sub(1)));
                    plan.stages.push(stage);
                    plan.steps.push(step);
                }
            }
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_epoch_visits_every_sequence_once_in_its_own_order() {
        let lengths = vec![5; 10];
        let plan = plan(&lengths, 3, 2, 2, 42, true, false);
        assert_eq!(
            plan.steps.len(),
            3 * 3,
            "5 micro-batches per epoch make 3 steps"
        );
        assert_eq!(plan.epochs, vec![0, 0, 0, 1, 1, 1, 2, 2, 2]);
        let epoch = |e: usize| -> Vec<usize> {
            plan.steps[3 * e..3 * e + 3]
                .iter()
                .flatten()
                .flatten()
                .copied()
                .collect()
        };
        for e in 0..3 {
            let mut seen = epoch(e);
            seen.sort_unstable();
            assert_eq!(seen, (0..10).collect::<Vec<_>>());
        }
        assert_ne!(epoch(0), epoch(1), "each epoch is shuffled anew");
        assert_eq!(
            plan,
            super::plan(&lengths, 3, 2, 2, 42, true, false),
            "seeded"
        );
        assert_ne!(plan, super::plan(&lengths, 3, 2, 2, 43, true, false));
    }

    #[test]
    fn without_shuffling_the_order_is_the_given_one() {
        let plan = plan(&[1, 2, 3], 1, 2, 1, 0, false, false);
        assert_eq!(plan.steps, vec![vec![vec![0, 1]], vec![vec![2]]]);
    }

    #[test]
    fn grouping_by_length_puts_similar_lengths_together() {
        let lengths: Vec<usize> = (0..8).map(|i| if i % 2 == 0 { 100 } else { 3 }).collect();
        let plan = plan(&lengths, 1, 2, 1, 7, true, true);
        for micro in plan.steps.iter().flatten() {
            assert_eq!(lengths[micro[0]], lengths[micro[1]], "{micro:?}");
        }
    }

    /// A recipe that plans `epochs` epochs of steps of `micro_batch` x `grad_accum` sequences.
    fn recipe(epochs: usize, micro_batch: usize, grad_accum: usize, seed: u64) -> Recipe {
        Recipe {
            epochs,
            micro_batch,
            grad_accum,
            seed,
            shuffle: true,
            group_by_length: false,
            ..Recipe::study()
        }
    }

    /// `sizes[k]` examples in stage k, stages interleaved in the example order (so that stage
    /// order cannot come from example order).
    fn curriculum(sizes: &[usize], pacing: Pacing, shares: &[f64], cumulative: bool) -> Curriculum {
        let mut stage_of = Vec::new();
        let mut left = sizes.to_vec();
        while left.iter().any(|&n| n > 0) {
            for (k, n) in left.iter_mut().enumerate() {
                if *n > 0 {
                    stage_of.push(k);
                    *n -= 1;
                }
            }
        }
        Curriculum {
            stage_of,
            pacing,
            shares: shares.to_vec(),
            cumulative,
        }
    }

    /// How many times each example is visited.
    fn visits(plan: &StepPlan, examples: usize) -> Vec<usize> {
        let mut count = vec![0; examples];
        for &i in plan.steps.iter().flatten().flatten() {
            count[i] += 1;
        }
        count
    }

    /// The examples of the steps of `stage`, in order.
    fn visited_in(plan: &StepPlan, stage: usize) -> Vec<usize> {
        plan.steps
            .iter()
            .zip(&plan.stages)
            .filter(|(_, s)| **s == stage)
            .flat_map(|(step, _)| step.iter().flatten().copied())
            .collect()
    }

    #[test]
    fn epochs_are_divided_among_stages_that_come_in_order() {
        // 4 stages of 6 examples, 8 epochs: 2 passes per stage, 3 steps of 2 x 1 per pass.
        let c = curriculum(&[6, 6, 6, 6], Pacing::Epochs, &[], false);
        let plan = plan_curriculum(&[5; 24], &c, &recipe(8, 2, 1, 42)).expect("plans");
        assert_eq!(plan.steps.len(), 4 * 2 * 3);
        assert_eq!(plan.stages.len(), plan.steps.len());
        assert!(
            plan.stages.is_sorted(),
            "stages never go back: {:?}",
            plan.stages
        );
        assert_eq!(plan.epochs, (0..8).flat_map(|e| [e; 3]).collect::<Vec<_>>());
        for (step, &stage) in plan.steps.iter().zip(&plan.stages) {
            for &i in step.iter().flatten() {
                assert_eq!(c.stage_of[i], stage, "step of stage {stage} visits {i}");
            }
        }
        assert_eq!(visits(&plan, 24), vec![2; 24], "two epochs per stage");
        // Each pass of a stage visits its pool once, in its own order.
        let first = visited_in(&plan, 0);
        let (a, b) = first.split_at(6);
        let (mut sa, mut sb) = (a.to_vec(), b.to_vec());
        sa.sort_unstable();
        sb.sort_unstable();
        assert_eq!(sa, sb, "both passes visit the whole stage");
        assert_ne!(a, b, "each pass is shuffled anew");
    }

    #[test]
    fn shares_weight_the_stages() {
        let c = curriculum(&[4, 4], Pacing::Epochs, &[3.0, 1.0], false);
        let plan = plan_curriculum(&[5; 8], &c, &recipe(8, 4, 1, 1)).expect("plans");
        assert_eq!(
            plan.stages,
            [vec![0; 6], vec![1; 2]].concat(),
            "6 and 2 epochs"
        );

        // By steps: 20 examples in steps of 4 make 5 steps a pass, 10 in 2 epochs, split 1:4.
        let c = curriculum(&[10, 10], Pacing::Steps, &[1.0, 4.0], false);
        let plan = plan_curriculum(&[5; 20], &c, &recipe(2, 2, 2, 1)).expect("plans");
        assert_eq!(plan.stages, [vec![0; 2], vec![1; 8]].concat());
        assert!(
            plan.steps.iter().all(|s| s.concat().len() == 4),
            "full steps"
        );
        assert_eq!(
            plan.epochs,
            [vec![0; 5], vec![1; 5]].concat(),
            "the run's epochs"
        );
        let counts = visits(&plan, 20);
        let (first, second): (Vec<usize>, Vec<usize>) = (0..20).partition(|&i| c.stage_of[i] == 0);
        assert_eq!(first.iter().map(|&i| counts[i]).sum::<usize>(), 8);
        assert_eq!(second.iter().map(|&i| counts[i]).sum::<usize>(), 32);
        // 32 visits of 10 examples cycle through whole passes: 3 or 4 each.
        assert!(
            second.iter().all(|&i| (3..=4).contains(&counts[i])),
            "{counts:?}"
        );
    }

    #[test]
    fn every_stage_gets_at_least_one_epoch_or_step() {
        let c = curriculum(&[2, 2, 2, 2], Pacing::Epochs, &[], false);
        let plan = plan_curriculum(&[5; 8], &c, &recipe(3, 2, 1, 0)).expect("plans");
        assert_eq!(
            plan.stages,
            vec![0, 1, 2, 3],
            "one pass per stage, 4 in all"
        );
        assert_eq!(c.apportion(3), vec![1, 1, 1, 1]);
        assert_eq!(c.apportion(9), vec![3, 2, 2, 2]);
        let skewed = curriculum(&[2, 2], Pacing::Epochs, &[100.0, 1.0], false);
        assert_eq!(
            skewed.apportion(5),
            vec![4, 1],
            "a tiny share still gets one"
        );
    }

    #[test]
    fn cumulative_pools_keep_earlier_stages() {
        let c = curriculum(&[3, 3, 3], Pacing::Epochs, &[], true);
        assert_eq!(
            c.pools().iter().map(Vec::len).collect::<Vec<_>>(),
            [3, 6, 9]
        );
        let plan = plan_curriculum(&[5; 9], &c, &recipe(3, 3, 1, 7)).expect("plans");
        assert_eq!(plan.stages, [vec![0], vec![1; 2], vec![2; 3]].concat());
        for stage in 0..3 {
            let mut seen = visited_in(&plan, stage);
            seen.sort_unstable();
            let mut pool = c.pools()[stage].clone();
            pool.sort_unstable();
            assert_eq!(seen, pool, "stage {stage} visits its pool once");
            assert!(seen.iter().all(|&i| c.stage_of[i] <= stage));
        }
        // Stage 0's examples are visited in all three stages, stage 2's only in the last.
        let expected: Vec<usize> = c.stage_of.iter().map(|stage| 3 - stage).collect();
        assert_eq!(visits(&plan, 9), expected);
    }

    #[test]
    fn curriculum_plans_are_seeded() {
        let c = curriculum(&[5, 7], Pacing::Steps, &[], true);
        let lengths = [5; 12];
        let plan = plan_curriculum(&lengths, &c, &recipe(3, 2, 1, 42)).expect("plans");
        assert_eq!(
            plan,
            plan_curriculum(&lengths, &c, &recipe(3, 2, 1, 42)).expect("plans")
        );
        assert_ne!(
            plan,
            plan_curriculum(&lengths, &c, &recipe(3, 2, 1, 43)).expect("plans")
        );
    }

    #[test]
    fn one_stage_by_epochs_is_the_plain_plan() {
        let lengths: Vec<usize> = (0..11).map(|i| 3 + i % 4).collect();
        let c = curriculum(&[11], Pacing::Epochs, &[], false);
        let r = recipe(3, 2, 2, 9);
        let staged = plan_curriculum(&lengths, &c, &r).expect("plans");
        let plain = plan(&lengths, 3, 2, 2, 9, true, false);
        assert_eq!((staged.steps, staged.epochs), (plain.steps, plain.epochs));
    }

    #[test]
    fn malformed_curricula_are_refused() {
        let refused = |c: Curriculum, examples: usize| {
            let lengths = vec![5; examples];
            plan_curriculum(&lengths, &c, &recipe(2, 2, 1, 0))
                .expect_err("refused")
                .to_string()
        };
        let gap = Curriculum {
            stage_of: vec![0, 2, 2],
            pacing: Pacing::Epochs,
            shares: Vec::new(),
            cumulative: false,
        };
        assert!(refused(gap, 3).contains("stage 1 has no examples"));
        let short = curriculum(&[2, 2], Pacing::Epochs, &[], false);
        assert!(refused(short, 5).contains("4 stage numbers for 5 examples"));
        let shares = curriculum(&[2, 2], Pacing::Epochs, &[1.0], false);
        assert!(refused(shares, 4).contains("1 shares for 2 stages"));
        let zero = curriculum(&[2, 2], Pacing::Steps, &[1.0, 0.0], false);
        assert!(refused(zero, 4).contains("positive"));
    }
}
