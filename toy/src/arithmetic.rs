//! Generated arithmetic items: expressions of two or more operands whose answer is one integer.
//!
//! An expression draws its number of operands, each operand's number of digits and each
//! operator at random, so items differ in structure (which operations, how many steps, how
//! large the numbers) rather than in a difficulty assigned by hand: difficulty is left for IRT
//! to find from the answers of the population.

use std::collections::HashSet;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rung_items::Item;
use serde_json::json;

use crate::ToyError;

/// An arithmetic operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `+`
    Add,
    /// `-` (results may be negative)
    Sub,
    /// `*`, which binds tighter than `+` and `-`
    Mul,
}

impl Operation {
    /// The operation's name in a spec (`add`, `sub`, `mul`).
    pub fn parse(name: &str) -> Option<Operation> {
        match name {
            "add" => Some(Operation::Add),
            "sub" => Some(Operation::Sub),
            "mul" => Some(Operation::Mul),
            _ => None,
        }
    }

    /// The operator's symbol.
    pub fn symbol(self) -> char {
        match self {
            Operation::Add => '+',
            Operation::Sub => '-',
            Operation::Mul => '*',
        }
    }
}

/// What items to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemsConfig {
    /// Number of items; they are all distinct.
    pub count: usize,
    /// Operations drawn from, uniformly.
    pub operations: Vec<Operation>,
    /// Fewest digits of an operand.
    pub min_digits: u32,
    /// Most digits of an operand.
    pub max_digits: u32,
    /// Most operands of an expression (at least two).
    pub max_terms: usize,
    /// Seed of the draws; the same seed gives the same items with the same ids.
    pub seed: u64,
}

/// Generates `config.count` distinct items: `prompt` is the expression (`12+7*3`), `target`
/// its value (`33`), and the metadata records the structure (`terms`, `operations`,
/// `max_digits`, `answer_digits`). Ids are `toy-<seed>-<n>`, `n` counting from 0.
pub fn generate(config: &ItemsConfig) -> Result<Vec<Item>, ToyError> {
    check(config)?;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut seen = HashSet::new();
    let mut items = Vec::with_capacity(config.count);
    // Small spaces (one-digit additions) run out of distinct expressions: give up after many
    // draws in a row produce nothing new, and say how many exist.
    let mut misses = 0usize;
    while items.len() < config.count {
        let expression = draw(config, &mut rng);
        let prompt = expression.text();
        if !seen.insert(prompt.clone()) {
            misses += 1;
            if misses > 10_000 + 100 * config.count {
                return Err(ToyError::Config(format!(
                    "only {} distinct expressions were found for these settings, fewer than the \
                     {} asked for: allow more digits, terms or operations, or lower `count`",
                    items.len(),
                    config.count
                )));
            }
            continue;
        }
        misses = 0;
        let answer = expression.value();
        let mut item = Item::new(format!("toy-{}-{}", config.seed, items.len()), prompt);
        item.target = Some(answer.to_string());
        let symbols: String = expression.operators.iter().map(|op| op.symbol()).collect();
        let digits = expression.operands.iter().map(|&n| digits(n)).max();
        for (key, value) in [
            ("terms", json!(expression.operands.len())),
            ("operations", json!(symbols)),
            ("max_digits", json!(digits)),
            ("answer_digits", json!(digits_signed(answer))),
        ] {
            item.metadata.insert(key.into(), value);
        }
        items.push(item);
    }
    Ok(items)
}

fn check(config: &ItemsConfig) -> Result<(), ToyError> {
    let problem = if config.operations.is_empty() {
        Some("`operations` must name at least one operation".to_string())
    } else if config.min_digits == 0 || config.min_digits > config.max_digits {
        Some(format!(
            "digits must satisfy 1 <= min_digits <= max_digits, found {} and {}",
            config.min_digits, config.max_digits
        ))
    } else if config.max_digits > 6 {
        Some(format!(
            "`max_digits` is {}: at most 6 digits keep every answer exact",
            config.max_digits
        ))
    } else if !(2..=8).contains(&config.max_terms) {
        Some(format!(
            "`max_terms` is {}: an expression has 2 to 8 operands",
            config.max_terms
        ))
    } else {
        None
    };
    problem.map_or(Ok(()), |message| Err(ToyError::Config(message)))
}

/// An expression: operands joined by operators.
struct Expression {
    operands: Vec<i64>,
    operators: Vec<Operation>,
}

impl Expression {
    fn text(&self) -> String {
        let mut text = self.operands[0].to_string();
        for (op, operand) in self.operators.iter().zip(&self.operands[1..]) {
            text.push(op.symbol());
            text.push_str(&operand.to_string());
        }
        text
    }

    /// The value with the usual precedence: products first, then sums and differences left
    /// to right.
    fn value(&self) -> i64 {
        let mut total = 0;
        let mut sign = 1;
        let mut product = self.operands[0];
        for (op, &operand) in self.operators.iter().zip(&self.operands[1..]) {
            match op {
                Operation::Mul => product *= operand,
                Operation::Add | Operation::Sub => {
                    total += sign * product;
                    sign = if *op == Operation::Add { 1 } else { -1 };
                    product = operand;
                }
            }
        }
        total + sign * product
    }
}

fn draw(config: &ItemsConfig, rng: &mut ChaCha8Rng) -> Expression {
    let terms = rng.random_range(2..=config.max_terms);
    let operands = (0..terms)
        .map(|_| {
            let digits = rng.random_range(config.min_digits..=config.max_digits);
            let low = if digits == 1 {
                0
            } else {
                10i64.pow(digits - 1)
            };
            rng.random_range(low..10i64.pow(digits))
        })
        .collect();
    let operators = (1..terms)
        .map(|_| config.operations[rng.random_range(0..config.operations.len())])
        .collect();
    Expression {
        operands,
        operators,
    }
}

fn digits(n: i64) -> usize {
    n.unsigned_abs().to_string().len()
}

fn digits_signed(n: i64) -> usize {
    n.to_string().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(count: usize) -> ItemsConfig {
        ItemsConfig {
            count,
            operations: vec![Operation::Add, Operation::Sub, Operation::Mul],
            min_digits: 1,
            max_digits: 2,
            max_terms: 3,
            seed: 7,
        }
    }

    fn value_of(operands: &[i64], operators: &[Operation]) -> i64 {
        Expression {
            operands: operands.to_vec(),
            operators: operators.to_vec(),
        }
        .value()
    }

    #[test]
    fn products_bind_tighter_than_sums_and_differences() {
        use Operation::{Add, Mul, Sub};
        assert_eq!(value_of(&[12, 7, 3], &[Add, Mul]), 33);
        assert_eq!(value_of(&[12, 7, 3], &[Mul, Sub]), 81);
        assert_eq!(value_of(&[2, 3, 4], &[Sub, Mul]), -10);
        assert_eq!(value_of(&[10, 3, 4], &[Sub, Sub]), 3);
        assert_eq!(value_of(&[2, 3, 4], &[Mul, Mul]), 24);
    }

    #[test]
    fn targets_are_the_values_of_the_prompts() {
        // Re-evaluate every prompt independently: split on + and - into signed products.
        for item in generate(&config(300)).expect("generated") {
            let mut total = 0i64;
            let mut term = String::new();
            let mut sign = 1;
            let close = |term: &str, sign: i64| -> i64 {
                sign * term
                    .split('*')
                    .map(|n| n.parse::<i64>().expect("number"))
                    .product::<i64>()
            };
            for c in item.prompt.chars() {
                if c == '+' || c == '-' {
                    total += close(&term, sign);
                    term.clear();
                    sign = if c == '+' { 1 } else { -1 };
                } else {
                    term.push(c);
                }
            }
            total += close(&term, sign);
            assert_eq!(item.target, Some(total.to_string()), "{}", item.prompt);
        }
    }

    #[test]
    fn items_are_distinct_varied_and_stable_for_a_seed() {
        let items = generate(&config(500)).expect("generated");
        let prompts: HashSet<&str> = items.iter().map(|i| i.prompt.as_str()).collect();
        assert_eq!(prompts.len(), 500);
        assert_eq!(items[3].id, "toy-7-3");
        let terms: HashSet<u64> = items
            .iter()
            .filter_map(|i| i.metadata["terms"].as_u64())
            .collect();
        assert_eq!(terms, HashSet::from([2, 3]));
        let again = generate(&config(500)).expect("generated");
        assert_eq!(items, again);
        let other = generate(&ItemsConfig {
            seed: 8,
            ..config(500)
        })
        .expect("generated");
        assert_ne!(items[0].prompt, other[0].prompt);
    }

    #[test]
    fn impossible_settings_are_refused_with_a_reason() {
        let small = ItemsConfig {
            operations: vec![Operation::Add],
            max_digits: 1,
            max_terms: 2,
            ..config(200)
        };
        let error = generate(&small).expect_err("only 100 one-digit sums exist");
        assert!(error.to_string().contains("only 100 distinct"), "{error}");
        for bad in [
            ItemsConfig {
                operations: vec![],
                ..config(5)
            },
            ItemsConfig {
                min_digits: 3,
                ..config(5)
            },
            ItemsConfig {
                max_terms: 1,
                ..config(5)
            },
        ] {
            assert!(generate(&bad).is_err());
        }
    }
}
