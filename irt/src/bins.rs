//! Difficulty bins: items split by difficulty into numbered bins, with an optional train/test split.
//!
//! Bin 0 holds the easiest items. Quantile bins follow the study's rule: with n bins, an item
//! whose difficulty quantile (its rank's share of the items) is q goes to bin b with
//! b/n <= q < (b+1)/n, so bins are equal in size to within one item. Items of equal difficulty
//! are ranked by a hash of their ids: under the 1PL model every item with the same number of
//! correct answers has the same difficulty, and keeping such ties together would leave bins
//! empty when subjects are few.

use std::fmt;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// How items are assigned to bins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule")]
pub enum Rule {
    /// `n` bins of (nearly) equal size by difficulty quantile.
    Quantile {
        /// Number of bins.
        n: usize,
    },
    /// `n` bins of equal difficulty width between `min` and `max` (default: the easiest and the
    /// hardest item); items outside the range go to the outer bins.
    EqualWidth {
        /// Number of bins.
        n: usize,
        /// Lower end of the range.
        min: Option<f64>,
        /// Upper end of the range.
        max: Option<f64>,
    },
    /// Bins between explicit, increasing inner edges: k edges make k + 1 bins, and an item at an
    /// edge belongs to the bin above it.
    Edges {
        /// The inner edges.
        edges: Vec<f64>,
    },
}

/// A per-bin train/test split.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Split {
    /// Share of each bin held out for testing, in [0, 1); 0 means no split.
    pub test_fraction: f64,
    /// Seed of the split: bin b is shuffled with a generator seeded from (seed, b).
    pub seed: u64,
}

/// Which side of the split an item is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// Training only.
    Train,
    /// Testing only.
    Test,
    /// Both: the binning has no split.
    All,
}

impl Part {
    /// The part as written in tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Test => "test",
            Self::All => "all",
        }
    }

    /// Whether an item on this side belongs to `wanted` (`All` wants every item).
    pub fn belongs_to(self, wanted: Part) -> bool {
        wanted == Part::All || self == Part::All || self == wanted
    }
}

/// One item's place.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    /// The item's id.
    pub item: String,
    /// Its difficulty.
    pub difficulty: f64,
    /// Its bin, 0 being the easiest.
    pub bin: usize,
    /// Its side of the split.
    pub part: Part,
}

/// A binning of items.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bins {
    /// The rule the items were binned by.
    pub rule: Rule,
    /// The split, if any.
    pub split: Option<Split>,
    /// The difficulty range each bin covers, as (lower, upper) bounds; the outer bounds of
    /// open-ended bins are infinite, and an empty bin's are NaN (in JSON, `"inf"`, `"-inf"` and
    /// `null`).
    #[serde(with = "bounds")]
    pub ranges: Vec<(f64, f64)>,
    /// Every item, in the order given.
    pub items: Vec<Assignment>,
}

/// Why items cannot be binned as asked.
#[derive(Clone, Debug, PartialEq)]
pub struct BinError(pub String);

impl fmt::Display for BinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BinError {}

impl Bins {
    /// Number of bins.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// Whether there are no bins (never true of a built binning).
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The items of bin `index` on side `part`, in the order given.
    pub fn select(&self, index: usize, part: Part) -> impl Iterator<Item = &Assignment> {
        self.items
            .iter()
            .filter(move |a| a.bin == index && a.part.belongs_to(part))
    }
}

/// Bins `items` (id, difficulty) by `rule`, then splits each bin if `split` asks for it.
pub fn assign(
    items: &[(String, f64)],
    rule: &Rule,
    split: Option<Split>,
) -> Result<Bins, BinError> {
    if items.is_empty() {
        return Err(BinError("there are no items to bin".into()));
    }
    if let Some((id, _)) = items.iter().find(|(_, d)| !d.is_finite()) {
        return Err(BinError(format!("item `{id}` has no finite difficulty")));
    }
    let (bins, ranges) = match rule {
        Rule::Quantile { n } => quantile(items, *n)?,
        Rule::EqualWidth { n, min, max } => equal_width(items, *n, *min, *max)?,
        Rule::Edges { edges } => at_edges(items, edges)?,
    };
    let mut parts = vec![Part::All; items.len()];
    if let Some(split) = split.filter(|s| s.test_fraction > 0.0) {
        if !(0.0..1.0).contains(&split.test_fraction) {
            return Err(BinError(format!(
                "test_fraction must be in [0, 1), got {}",
                split.test_fraction
            )));
        }
        for bin in 0..ranges.len() {
            let mut members: Vec<usize> = (0..items.len()).filter(|&k| bins[k] == bin).collect();
            let mut rng = ChaCha8Rng::seed_from_u64(
                split.seed ^ (bin as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            members.shuffle(&mut rng);
            let tests = (split.test_fraction * members.len() as f64).round() as usize;
            for (rank, &k) in members.iter().enumerate() {
                parts[k] = if rank < tests {
                    Part::Test
                } else {
                    Part::Train
                };
            }
        }
    }
    Ok(Bins {
        rule: rule.clone(),
        split,
        ranges,
        items: items
            .iter()
            .zip(bins)
            .zip(parts)
            .map(|(((item, difficulty), bin), part)| Assignment {
                item: item.clone(),
                difficulty: *difficulty,
                bin,
                part,
            })
            .collect(),
    })
}

type Binned = (Vec<usize>, Vec<(f64, f64)>);

fn check_count(n: usize, items: usize) -> Result<(), BinError> {
    if n == 0 {
        return Err(BinError("the number of bins must be at least 1".into()));
    }
    if n > items {
        return Err(BinError(format!(
            "{n} bins cannot be filled from {items} items"
        )));
    }
    Ok(())
}

fn quantile(items: &[(String, f64)], n: usize) -> Result<Binned, BinError> {
    check_count(n, items.len())?;
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| {
        items[a]
            .1
            .total_cmp(&items[b].1)
            .then_with(|| tie_break(&items[a].0).cmp(&tie_break(&items[b].0)))
            .then_with(|| items[a].0.cmp(&items[b].0))
    });
    let total = items.len();
    let mut bins = vec![0; total];
    for (rank, &k) in order.iter().enumerate() {
        bins[k] = rank * n / total;
    }
    let ranges = ranges_of(items, &bins, n);
    Ok((bins, ranges))
}

/// The 64-bit FNV-1a hash of an id: an order for tied items that is stable across runs and
/// unrelated to where the items stand in their file.
fn tie_break(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn equal_width(
    items: &[(String, f64)],
    n: usize,
    min: Option<f64>,
    max: Option<f64>,
) -> Result<Binned, BinError> {
    if n == 0 {
        return Err(BinError("the number of bins must be at least 1".into()));
    }
    let lo = min.unwrap_or_else(|| items.iter().map(|i| i.1).fold(f64::INFINITY, f64::min));
    let hi = max.unwrap_or_else(|| items.iter().map(|i| i.1).fold(f64::NEG_INFINITY, f64::max));
    if lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Less) {
        return Err(BinError(format!(
            "the difficulty range must have min < max, got [{lo}, {hi}]"
        )));
    }
    let width = (hi - lo) / n as f64;
    let bins = items
        .iter()
        .map(|(_, d)| (((d - lo) / width).floor().max(0.0) as usize).min(n - 1))
        .collect();
    let ranges = (0..n)
        .map(|b| (lo + width * b as f64, lo + width * (b + 1) as f64))
        .collect();
    Ok((bins, ranges))
}

fn at_edges(items: &[(String, f64)], edges: &[f64]) -> Result<Binned, BinError> {
    if let Some(pair) = edges
        .windows(2)
        .find(|w| w[0].partial_cmp(&w[1]) != Some(std::cmp::Ordering::Less))
    {
        return Err(BinError(format!(
            "edges must be strictly increasing, found {} then {}",
            pair[0], pair[1]
        )));
    }
    if let Some(edge) = edges.iter().find(|e| !e.is_finite()) {
        return Err(BinError(format!("edges must be finite, found {edge}")));
    }
    let bins = items
        .iter()
        .map(|(_, d)| edges.partition_point(|e| e <= d))
        .collect();
    let bounds: Vec<f64> = std::iter::once(f64::NEG_INFINITY)
        .chain(edges.iter().copied())
        .chain(std::iter::once(f64::INFINITY))
        .collect();
    let ranges = bounds.windows(2).map(|w| (w[0], w[1])).collect();
    Ok((bins, ranges))
}

/// The smallest and largest difficulty in each bin (NaN for an empty bin).
fn ranges_of(items: &[(String, f64)], bins: &[usize], n: usize) -> Vec<(f64, f64)> {
    let mut ranges = vec![(f64::NAN, f64::NAN); n];
    for ((_, d), &b) in items.iter().zip(bins) {
        let (lo, hi) = &mut ranges[b];
        *lo = if lo.is_nan() { *d } else { lo.min(*d) };
        *hi = if hi.is_nan() { *d } else { hi.max(*d) };
    }
    ranges
}

/// Bin bounds in JSON, which has no infinities or NaN: those are written as `"inf"`, `"-inf"`
/// and `null`.
mod bounds {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Bound {
        Number(f64),
        Text(String),
        Missing,
    }

    impl Bound {
        fn of(x: f64) -> Bound {
            match x {
                f64::INFINITY => Bound::Text("inf".into()),
                f64::NEG_INFINITY => Bound::Text("-inf".into()),
                x if x.is_nan() => Bound::Missing,
                x => Bound::Number(x),
            }
        }

        fn value<E: serde::de::Error>(self) -> Result<f64, E> {
            match self {
                Bound::Number(x) => Ok(x),
                Bound::Missing => Ok(f64::NAN),
                Bound::Text(text) => match text.as_str() {
                    "inf" => Ok(f64::INFINITY),
                    "-inf" => Ok(f64::NEG_INFINITY),
                    other => Err(E::custom(format!(
                        "a bin bound must be a number, \"inf\", \"-inf\" or null, found \"{other}\""
                    ))),
                },
            }
        }
    }

    pub(super) fn serialize<S: Serializer>(
        ranges: &[(f64, f64)],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let bounds: Vec<(Bound, Bound)> = ranges
            .iter()
            .map(|&(lo, hi)| (Bound::of(lo), Bound::of(hi)))
            .collect();
        bounds.serialize(serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<(f64, f64)>, D::Error> {
        Vec::<(Bound, Bound)>::deserialize(deserializer)?
            .into_iter()
            .map(|(lo, hi)| Ok((lo.value()?, hi.value()?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(difficulties: &[f64]) -> Vec<(String, f64)> {
        difficulties
            .iter()
            .enumerate()
            .map(|(k, &d)| (format!("i{k}"), d))
            .collect()
    }

    fn bins_of(bins: &Bins) -> Vec<usize> {
        bins.items.iter().map(|a| a.bin).collect()
    }

    #[test]
    fn quantile_bins_follow_the_study_rule() {
        // 20 items with distinct difficulties, given in reverse order: 10 bins of 2.
        let d: Vec<f64> = (0..20).rev().map(f64::from).collect();
        let bins = assign(&items(&d), &Rule::Quantile { n: 10 }, None).unwrap();
        let expected: Vec<usize> = (0..20).rev().map(|k| k / 2).collect();
        assert_eq!(bins_of(&bins), expected);
        assert_eq!(bins.ranges[0], (0.0, 1.0));
        assert_eq!(bins.ranges[9], (18.0, 19.0));
        // Uneven counts: 23 items in 10 bins, sizes differ by at most one.
        let d: Vec<f64> = (0..23).map(f64::from).collect();
        let bins = assign(&items(&d), &Rule::Quantile { n: 10 }, None).unwrap();
        let mut sizes = [0usize; 10];
        bins.items.iter().for_each(|a| sizes[a.bin] += 1);
        assert!(sizes.iter().all(|&s| s == 2 || s == 3), "{sizes:?}");
        assert_eq!(bins.items[22].bin, 9, "the last bin is closed");
    }

    #[test]
    fn tied_items_are_split_to_keep_bins_equal() {
        // Eight items tied at 1.0 and two at 2.0, in 5 bins: every bin gets two items, the
        // easiest four bins taking the tied ones, chosen by the id hash, the same every time.
        let data = items(&[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0]);
        let bins = assign(&data, &Rule::Quantile { n: 5 }, None).unwrap();
        let mut sizes = [0usize; 5];
        bins.items.iter().for_each(|a| sizes[a.bin] += 1);
        assert_eq!(sizes, [2; 5]);
        assert_eq!(&bins_of(&bins)[8..], [4, 4]);
        assert_eq!(bins.ranges[1], (1.0, 1.0));
        let again = assign(&data, &Rule::Quantile { n: 5 }, None).unwrap();
        assert_eq!(bins_of(&bins), bins_of(&again));
        // The order of the ties is not the order of the file.
        assert_ne!(&bins_of(&bins)[..8], [0, 0, 1, 1, 2, 2, 3, 3]);
    }

    #[test]
    fn infinite_and_empty_bounds_survive_json() {
        let bins = Bins {
            rule: Rule::Edges { edges: vec![0.0] },
            split: None,
            ranges: vec![
                (f64::NEG_INFINITY, 0.0),
                (f64::NAN, f64::NAN),
                (0.5, f64::INFINITY),
            ],
            items: Vec::new(),
        };
        let text = serde_json::to_string(&bins).unwrap();
        let back: Bins = serde_json::from_str(&text).unwrap();
        assert_eq!(back.ranges[0], (f64::NEG_INFINITY, 0.0));
        assert!(back.ranges[1].0.is_nan() && back.ranges[1].1.is_nan());
        assert_eq!(back.ranges[2], (0.5, f64::INFINITY));
        let bad = text.replace("\"inf\"", "\"huge\"");
        let error = serde_json::from_str::<Bins>(&bad).expect_err("not a bound");
        assert!(error.to_string().contains("huge"), "{error}");
    }

    #[test]
    fn equal_width_and_edge_bins() {
        let data = items(&[0.0, 0.9, 1.0, 2.5, 3.0]);
        let rule = Rule::EqualWidth {
            n: 3,
            min: None,
            max: None,
        };
        assert_eq!(
            bins_of(&assign(&data, &rule, None).unwrap()),
            [0, 0, 1, 2, 2]
        );
        let clamped = Rule::EqualWidth {
            n: 2,
            min: Some(1.0),
            max: Some(2.0),
        };
        assert_eq!(
            bins_of(&assign(&data, &clamped, None).unwrap()),
            [0, 0, 0, 1, 1]
        );
        let edges = Rule::Edges {
            edges: vec![1.0, 2.5],
        };
        let bins = assign(&data, &edges, None).unwrap();
        assert_eq!(bins_of(&bins), [0, 0, 1, 2, 2]);
        assert_eq!(bins.ranges[0].0, f64::NEG_INFINITY);
    }

    #[test]
    fn bad_rules_are_errors() {
        let data = items(&[0.0, 1.0]);
        let cases = [
            (Rule::Quantile { n: 0 }, "at least 1"),
            (
                Rule::Quantile { n: 3 },
                "3 bins cannot be filled from 2 items",
            ),
            (
                Rule::Edges {
                    edges: vec![1.0, 1.0],
                },
                "strictly increasing",
            ),
            (
                Rule::EqualWidth {
                    n: 2,
                    min: Some(2.0),
                    max: Some(1.0),
                },
                "min < max",
            ),
        ];
        for (rule, fragment) in cases {
            let error = assign(&data, &rule, None).unwrap_err().to_string();
            assert!(error.contains(fragment), "{error}");
        }
        let nan = assign(&items(&[f64::NAN]), &Rule::Quantile { n: 1 }, None);
        assert!(nan.unwrap_err().to_string().contains("`i0`"));
        let split = Some(Split {
            test_fraction: 1.0,
            seed: 1,
        });
        assert!(assign(&data, &Rule::Quantile { n: 1 }, split).is_err());
    }

    #[test]
    fn splits_are_per_bin_seeded_and_sized() {
        let d: Vec<f64> = (0..100).map(f64::from).collect();
        let split = |seed| {
            Some(Split {
                test_fraction: 0.3,
                seed,
            })
        };
        let rule = Rule::Quantile { n: 10 };
        let a = assign(&items(&d), &rule, split(1)).unwrap();
        assert_eq!(a, assign(&items(&d), &rule, split(1)).unwrap());
        assert_ne!(a, assign(&items(&d), &rule, split(2)).unwrap());
        for bin in 0..10 {
            assert_eq!(a.select(bin, Part::Test).count(), 3);
            assert_eq!(a.select(bin, Part::Train).count(), 7);
            assert_eq!(a.select(bin, Part::All).count(), 10);
        }
        let none = assign(
            &items(&d),
            &rule,
            Some(Split {
                test_fraction: 0.0,
                seed: 1,
            }),
        )
        .unwrap();
        assert!(none.items.iter().all(|a| a.part == Part::All));
        assert_eq!(
            none.select(3, Part::Test).count(),
            10,
            "no split: every item is both"
        );
    }
}
