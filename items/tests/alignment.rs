//! The ids of the loaded items match the columns of the public response matrices exactly.

#![allow(clippy::unwrap_used)] // A test that cannot read its fixtures should fail loudly.

mod common;

use std::collections::HashSet;
use std::path::Path;

use rung_items::{Format, LoadOptions, load};

/// The item columns of a wide response matrix: its header after the `model` column.
fn columns(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let header = text.lines().next().unwrap();
    let mut names = header.split(',').map(str::to_string);
    assert_eq!(names.next().as_deref(), Some("model"));
    names.collect()
}

/// Every column names exactly one item; returns how many items have no column.
fn check(matrix: &Path, items: &Path, format: Format) -> usize {
    let set = load(items, format, &LoadOptions::default()).unwrap();
    let ids: HashSet<&str> = set.iter().map(|item| item.id.as_str()).collect();
    let columns = columns(matrix);
    let unique: HashSet<&str> = columns.iter().map(String::as_str).collect();
    assert_eq!(
        unique.len(),
        columns.len(),
        "{}: repeated columns",
        matrix.display()
    );
    let unmatched: Vec<&str> = columns
        .iter()
        .map(String::as_str)
        .filter(|c| !ids.contains(c))
        .collect();
    assert!(
        unmatched.is_empty(),
        "{}: columns with no item: {unmatched:?}",
        matrix.display()
    );
    let without = ids.len() - columns.len();
    println!(
        "{}: {} columns, all matched; {without} items have no column",
        matrix.display(),
        columns.len()
    );
    without
}

#[test]
fn mmlu_pro_ids_are_the_tiger_columns() {
    let Some(root) = common::data_root() else {
        return;
    };
    let without = check(
        &root.join("responses/mmlu_pro_tiger.csv"),
        &root.join("items/mmlu_pro/test.jsonl"),
        Format::MmluPro,
    );
    assert_eq!(without, 0);
}

#[test]
fn gsm8k_ids_are_the_gpt3_columns() {
    let Some(root) = common::data_root() else {
        return;
    };
    let without = check(
        &root.join("responses/gsm8k_gpt3_systems.csv"),
        &root.join("items/gsm8k/test.jsonl"),
        Format::Gsm8k,
    );
    assert_eq!(without, 0);
}
