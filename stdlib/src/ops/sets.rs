//! `bin`, `part`, `union`, `mixture` and `curriculum`: item sets made from other item sets and
//! from binnings.
//!
//! Items travel along the difficulty chain: `response_matrix` (given `items`) and `toy_population`
//! keep the items they answer in their output, `irt` and the binnings carry them on, so that
//! `bin(q, index = b)` can hand out whole items (prompts, choices, targets) rather than ids.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rung_engine::{Context, OpError, Operation, Value};
use rung_irt::bins::Part;
use rung_irt::files::open_bins;
use rung_items::{ITEMS_FILE, Item, ItemSet, Split};
use rung_sft::{Curriculum, Pacing};
use serde_json::json;

/// Copies the items an input carries (its `items.jsonl`, if any) into `out`.
pub(super) fn carry_items(from: &Path, out: &Path) -> Result<(), OpError> {
    let source = from.join(ITEMS_FILE);
    if source.exists() {
        fs::copy(&source, out.join(ITEMS_FILE))?;
    }
    Ok(())
}

/// Opens the item set in `dir`, mapping its error to the node's.
fn open_set(dir: &Path) -> Result<ItemSet, OpError> {
    ItemSet::open(dir).map_err(|e| OpError::failed(e.to_string()))
}

/// Saves `items` as the node's output, logging how many there are.
fn save_set(ctx: &mut Context<'_>, items: Vec<Item>) -> Result<(), OpError> {
    let set = ItemSet::new(items).map_err(|e| OpError::failed(e.to_string()))?;
    ctx.log(format_args!("{} items", set.len()));
    set.save(ctx.out_dir())
        .map_err(|e| OpError::failed(e.to_string()))?;
    Ok(())
}

/// The part a `Part` enum value names.
fn part_named(name: &str) -> Result<Part, OpError> {
    match name {
        "train" => Ok(Part::Train),
        "test" => Ok(Part::Test),
        "all" => Ok(Part::All),
        other => Err(OpError::failed(format!("unknown part `{other}`"))),
    }
}

/// Whether an item on side `split` (none = never split) belongs to `wanted`.
fn in_part(split: Option<Split>, wanted: Part) -> bool {
    match split {
        None => true,
        Some(Split::Train) => Part::Train.belongs_to(wanted),
        Some(Split::Test) => Part::Test.belongs_to(wanted),
    }
}

/// One bin of a binning as items, marked with their bin, difficulty and side of the split.
pub(super) struct BinOp;

impl Operation for BinOp {
    fn name(&self) -> &'static str {
        "bin"
    }

    fn version(&self) -> u32 {
        1
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let dir = ctx.paths("bins")?[0].to_path_buf();
        let bins = open_bins(&dir)?;
        if !dir.join(ITEMS_FILE).exists() {
            return Err(OpError::failed(
                "this binning carries item ids only: load the response matrix it comes from with \
                 `items = ...` (response_matrix) so that bins can hand out whole items",
            ));
        }
        let items = open_set(&dir)?;
        let index = usize::try_from(ctx.int("index")?)
            .ok()
            .filter(|&b| b < bins.len())
            .ok_or_else(|| {
                OpError::failed(format!(
                    "bin {} does not exist: the binning has bins 0 to {}",
                    ctx.int("index").unwrap_or_default(),
                    bins.len().saturating_sub(1)
                ))
            })?;
        let wanted = part_named(ctx.str("part")?)?;
        let mut chosen = Vec::new();
        for assignment in bins.select(index, wanted) {
            let Some(item) = items.get(&assignment.item) else {
                return Err(OpError::failed(format!(
                    "item `{}` of the binning is missing from its items",
                    assignment.item
                )));
            };
            let mut item = item.clone();
            item.split = match assignment.part {
                Part::Train => Some(Split::Train),
                Part::Test => Some(Split::Test),
                Part::All => None,
            };
            item.metadata.insert("bin".into(), index.into());
            item.metadata
                .insert("difficulty".into(), assignment.difficulty.into());
            chosen.push(item);
        }
        let (lo, hi) = bins.ranges[index];
        ctx.log(format_args!(
            "bin {index} ({}): difficulty {lo:.3} to {hi:.3}",
            wanted.name()
        ));
        save_set(ctx, chosen)
    }
}

/// The train or test side of a split item set.
pub(super) struct PartOp;

impl Operation for PartOp {
    fn name(&self) -> &'static str {
        "part"
    }

    fn version(&self) -> u32 {
        1
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let wanted = part_named(ctx.str("part")?)?;
        let items = open_set(ctx.paths("set")?[0])?.into_items();
        if items.iter().all(|item| item.split.is_none()) {
            ctx.log("the set was never split: every item is on both sides");
        }
        let kept = items
            .into_iter()
            .filter(|item| in_part(item.split, wanted))
            .collect();
        save_set(ctx, kept)
    }
}

/// All items of several sets.
pub(super) struct UnionOp;

impl Operation for UnionOp {
    fn name(&self) -> &'static str {
        "union"
    }

    fn version(&self) -> u32 {
        1
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let dedupe = ctx.bool("dedupe")?;
        let mut seen = HashSet::new();
        let mut items = Vec::new();
        let mut dropped = 0;
        for dir in ctx.paths("sets")? {
            for item in open_set(dir)?.into_items() {
                if seen.insert(item.id.clone()) {
                    items.push(item);
                } else if dedupe {
                    dropped += 1;
                } else {
                    return Err(OpError::failed(format!(
                        "item `{}` is in several sets; set `dedupe = true` to keep one copy",
                        item.id
                    )));
                }
            }
        }
        if dropped > 0 {
            ctx.log(format_args!(
                "{dropped} items present in several sets kept once"
            ));
        }
        save_set(ctx, items)
    }
}

/// A weighted sample of several sets.
pub(super) struct MixtureOp;

impl Operation for MixtureOp {
    fn name(&self) -> &'static str {
        "mixture"
    }

    fn version(&self) -> u32 {
        1
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let sets = ctx
            .paths("sets")?
            .into_iter()
            .map(|dir| open_set(dir).map(ItemSet::into_items))
            .collect::<Result<Vec<_>, _>>()?;
        let weights = numbers(ctx.param("weights")?, "weights")?;
        let size = match ctx.param("size")? {
            Value::Int(n) => Some(
                usize::try_from(*n).map_err(|_| OpError::failed("`size` must not be negative"))?,
            ),
            _ => None,
        };
        let replacement = ctx.bool("replacement")?;
        let sizes: Vec<usize> = sets.iter().map(Vec::len).collect();
        let counts = shares(&sizes, &weights, size, replacement)?;
        let mut rng = ChaCha8Rng::seed_from_u64(ctx.int("seed")? as u64);
        let mut drawn = Vec::new();
        for (set, &count) in sets.iter().zip(&counts) {
            if replacement {
                for repeat in 0..count {
                    let mut item = set[rand::Rng::random_range(&mut rng, 0..set.len())].clone();
                    item.id = format!("{}~{repeat}", item.id);
                    drawn.push(item);
                }
            } else {
                let mut order: Vec<&Item> = set.iter().collect();
                order.shuffle(&mut rng);
                drawn.extend(order.into_iter().take(count).cloned());
            }
        }
        ctx.log(format_args!(
            "drew {} items per set",
            counts
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
        save_set(ctx, drawn)
    }
}

/// The file beside a curriculum's items that says how its stages are paced; each item's stage
/// is its `stage` metadata.
const CURRICULUM_FILE: &str = "curriculum.json";

/// Ordered stages of items: their union, each item marked with its stage, and the pacing in
/// `curriculum.json`, which `sft` reads back to train stage by stage.
pub(super) struct CurriculumOp;

impl Operation for CurriculumOp {
    fn name(&self) -> &'static str {
        "curriculum"
    }

    fn version(&self) -> u32 {
        1
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let stages = ctx
            .paths("stages")?
            .into_iter()
            .map(|dir| open_set(dir).map(ItemSet::into_items))
            .collect::<Result<Vec<_>, _>>()?;
        if stages.is_empty() {
            return Err(OpError::failed("a curriculum needs at least one stage"));
        }
        let shares = numbers(ctx.param("shares")?, "shares")?;
        if !shares.is_empty() && shares.len() != stages.len() {
            return Err(OpError::failed(format!(
                "{} shares for {} stages: give one share per stage, or none for equal shares",
                shares.len(),
                stages.len()
            )));
        }
        if shares.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(OpError::failed("shares must be positive numbers"));
        }
        let pacing = pacing_named(ctx.str("pacing")?)?;
        let cumulative = ctx.bool("cumulative")?;
        let mut stage_of_id: HashMap<String, usize> = HashMap::new();
        let mut items = Vec::new();
        for (stage, set) in stages.iter().enumerate() {
            if set.is_empty() {
                return Err(OpError::failed(format!("stage {stage} has no items")));
            }
            for item in set {
                if let Some(earlier) = stage_of_id.insert(item.id.clone(), stage) {
                    return Err(OpError::failed(format!(
                        "item `{}` is in stages {earlier} and {stage}: stages must not share \
                         items (`cumulative = true` keeps earlier stages' items in later ones)",
                        item.id
                    )));
                }
                let mut item = item.clone();
                item.metadata.insert("stage".into(), stage.into());
                items.push(item);
            }
        }
        let sizes: Vec<usize> = stages.iter().map(Vec::len).collect();
        ctx.log(format_args!(
            "{} stages of {} items, paced by {}{}",
            sizes.len(),
            sizes
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            pacing.name(),
            if cumulative { ", cumulative" } else { "" }
        ));
        let settings = json!({
            "pacing": pacing.name(),
            "shares": shares,
            "cumulative": cumulative,
            "stages": sizes,
        });
        save_set(ctx, items)?;
        fs::write(
            ctx.out_dir().join(CURRICULUM_FILE),
            format!("{settings:#}\n"),
        )?;
        Ok(())
    }
}

/// The pacing a `Pacing` enum value names.
fn pacing_named(name: &str) -> Result<Pacing, OpError> {
    match name {
        "epochs" => Ok(Pacing::Epochs),
        "steps" => Ok(Pacing::Steps),
        other => Err(OpError::failed(format!("unknown pacing `{other}`"))),
    }
}

/// The curriculum of the item set `items` read from `dir`, when `dir` holds one (the output of
/// `curriculum`): its pacing and each item's stage, in the set's order.
pub(super) fn open_curriculum(dir: &Path, items: &ItemSet) -> Result<Option<Curriculum>, OpError> {
    let path = dir.join(CURRICULUM_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let text = fs::read_to_string(&path)?;
    let invalid = |what: &str| OpError::failed(format!("{}: {what}", path.display()));
    let settings: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| invalid(&e.to_string()))?;
    let pacing = pacing_named(
        settings["pacing"]
            .as_str()
            .ok_or_else(|| invalid("no `pacing`"))?,
    )?;
    let shares = settings["shares"]
        .as_array()
        .ok_or_else(|| invalid("no `shares` list"))?
        .iter()
        .map(|s| {
            s.as_f64()
                .ok_or_else(|| invalid("`shares` must hold numbers"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let cumulative = settings["cumulative"]
        .as_bool()
        .ok_or_else(|| invalid("no `cumulative` flag"))?;
    let stage_of = items
        .iter()
        .map(|item| {
            item.metadata
                .get("stage")
                .and_then(serde_json::Value::as_u64)
                .and_then(|stage| usize::try_from(stage).ok())
                .ok_or_else(|| {
                    OpError::failed(format!(
                        "item `{}` of a curriculum has no `stage` number",
                        item.id
                    ))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Curriculum {
        stage_of,
        pacing,
        shares,
        cumulative,
    }))
}

/// A list of numbers from a parameter.
pub(super) fn numbers(value: &Value, name: &str) -> Result<Vec<f64>, OpError> {
    let Value::List(values) = value else {
        return Err(OpError::failed(format!(
            "`{name}` must be a list of numbers"
        )));
    };
    values
        .iter()
        .map(|v| match v {
            Value::Float(x) => Ok(*x),
            Value::Int(i) => Ok(*i as f64),
            other => Err(OpError::failed(format!(
                "`{name}` must hold numbers, found `{other}`"
            ))),
        })
        .collect()
}

/// How many items each set contributes: `size` split by the normalised weights (largest
/// remainders first), or, without a size, the most that no set runs out of without repeats.
fn shares(
    sizes: &[usize],
    weights: &[f64],
    size: Option<usize>,
    replacement: bool,
) -> Result<Vec<usize>, OpError> {
    if weights.len() != sizes.len() {
        return Err(OpError::failed(format!(
            "{} weights for {} sets: give one weight per set",
            weights.len(),
            sizes.len()
        )));
    }
    if weights.iter().any(|w| !w.is_finite() || *w < 0.0) || weights.iter().sum::<f64>() <= 0.0 {
        return Err(OpError::failed(
            "weights must be non-negative numbers, not all zero",
        ));
    }
    let total: f64 = weights.iter().sum();
    let shares: Vec<f64> = weights.iter().map(|w| w / total).collect();
    let size = match size {
        Some(n) => n,
        None if replacement => {
            return Err(OpError::failed(
                "a mixture drawn with replacement needs a `size`",
            ));
        }
        None => sizes
            .iter()
            .zip(&shares)
            .filter(|(_, s)| **s > 0.0)
            .map(|(&n, s)| (n as f64 / s).floor() as usize)
            .min()
            .unwrap_or(0),
    };
    let exact: Vec<f64> = shares.iter().map(|s| s * size as f64).collect();
    let mut counts: Vec<usize> = exact.iter().map(|x| x.floor() as usize).collect();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    let missing = size - counts.iter().sum::<usize>();
    for &k in order.iter().take(missing) {
        counts[k] += 1;
    }
    if !replacement {
        for (k, (&count, &available)) in counts.iter().zip(sizes).enumerate() {
            if count > available {
                return Err(OpError::failed(format!(
                    "set {k} has {available} items but its share of {size} is {count}: lower \
                     `size` or set `replacement = true`"
                )));
            }
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_split_the_size_by_weight_with_largest_remainders() {
        assert_eq!(
            shares(&[100, 100], &[0.8, 0.2], Some(10), false).expect("fits"),
            [8, 2]
        );
        assert_eq!(
            shares(&[100, 100, 100], &[1.0, 1.0, 1.0], Some(10), false).expect("fits"),
            [4, 3, 3]
        );
    }

    #[test]
    fn without_a_size_the_smallest_share_decides() {
        // 30 items at 0.25 allow 120 in all; 200 items at 0.75 would allow 266.
        assert_eq!(
            shares(&[30, 200], &[1.0, 3.0], None, false).expect("fits"),
            [30, 90]
        );
    }

    #[test]
    fn a_share_larger_than_its_set_needs_replacement() {
        let error = shares(&[5, 100], &[0.5, 0.5], Some(20), false).expect_err("too few");
        assert!(error.to_string().contains("replacement = true"), "{error}");
        assert_eq!(
            shares(&[5, 100], &[0.5, 0.5], Some(20), true).expect("repeats allowed"),
            [10, 10]
        );
    }

    #[test]
    fn weights_must_match_the_sets() {
        assert!(shares(&[5, 5], &[1.0], Some(2), false).is_err());
        assert!(shares(&[5, 5], &[0.0, 0.0], Some(2), false).is_err());
        assert!(shares(&[5, 5], &[-1.0, 2.0], Some(2), false).is_err());
    }
}
