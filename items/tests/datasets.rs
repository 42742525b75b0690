//! Every benchmark loader on the real files of the shared data folder: counts and known items.

#![allow(clippy::unwrap_used)] // A test that cannot read its fixtures should fail loudly.

mod common;

use std::collections::BTreeSet;

use rung_items::{Format, ItemSet, LoadOptions, STUDY_BBH_TASKS, load};
use serde_json::json;

fn load_items(relative: &str, format: Format, options: &LoadOptions) -> Option<ItemSet> {
    let root = common::data_root()?;
    Some(load(&root.join(relative), format, options).unwrap())
}

#[test]
fn gsm8k_test_and_train() {
    let Some(test) = load_items(
        "items/gsm8k/test.jsonl",
        Format::Gsm8k,
        &LoadOptions::default(),
    ) else {
        return;
    };
    assert_eq!(test.len(), 1319);
    let first = &test.items()[0];
    assert_eq!(first.id, "gsm8k-test-0");
    assert!(
        first
            .prompt
            .starts_with("Janet\u{2019}s ducks lay 16 eggs per day.")
    );
    assert_eq!(first.target.as_deref(), Some("18"));
    assert_eq!(
        first.fields["solution"],
        "Janet sells 16 - 3 - 4 = 9 duck eggs a day.\nShe makes 9 * 2 = $18 every day at the farmer\u{2019}s market."
    );
    assert_eq!(first.metadata["steps"], json!(2));
    assert!(first.choices.is_empty() && first.gold.is_none());
    // Thousands commas leave the target.
    assert_eq!(
        test.get("gsm8k-test-146").unwrap().target.as_deref(),
        Some("2125")
    );
    assert_eq!(test.items()[1318].id, "gsm8k-test-1318");
    assert!(
        test.iter()
            .all(|item| !item.fields["solution"].contains("<<"))
    );

    let Some(train) = load_items(
        "items/gsm8k/train.jsonl",
        Format::Gsm8k,
        &LoadOptions::default(),
    ) else {
        return;
    };
    assert_eq!(train.len(), 7473);
    assert_eq!(train.items()[0].id, "gsm8k-train-0");
    assert_eq!(train.items()[0].target.as_deref(), Some("72"));
}

#[test]
fn arc_easy_and_challenge() {
    let options = LoadOptions {
        subset: Some("easy".into()),
        ..LoadOptions::default()
    };
    let Some(easy) = load_items("items/arc/arc_easy_test.jsonl", Format::Arc, &options) else {
        return;
    };
    assert_eq!(easy.len(), 2376);
    let first = &easy.items()[0];
    assert_eq!(first.id, "arc_easy_test-0");
    assert_eq!(
        first.prompt,
        "Which statement best explains why photosynthesis is the foundation of most food webs?"
    );
    assert_eq!(first.choices.len(), 4);
    assert_eq!(first.gold, Some(0));
    assert_eq!(
        first.gold_choice(),
        Some("Sunlight is the source of energy for nearly all ecosystems.")
    );
    assert_eq!(first.metadata["subset"], json!("easy"));
    assert_eq!(easy.items()[1].gold_choice(), Some("breathing mask"));
    assert!(
        easy.iter()
            .all(|item| !item.prompt.starts_with("Question:"))
    );

    let Some(challenge) = load_items(
        "items/arc/arc_challenge_test.jsonl",
        Format::Arc,
        &LoadOptions::default(),
    ) else {
        return;
    };
    assert_eq!(challenge.len(), 1172);
    assert_eq!(challenge.items()[1171].id, "arc_challenge_test-1171");
    assert!(challenge.items()[0].metadata.is_empty());
}

#[test]
fn mmlu_pro_with_categories() {
    let Some(set) = load_items(
        "items/mmlu_pro/test.jsonl",
        Format::MmluPro,
        &LoadOptions::default(),
    ) else {
        return;
    };
    assert_eq!(set.len(), 12032);
    let first = &set.items()[0];
    assert_eq!(first.id, "mmlu_pro-70");
    assert_eq!(first.choices.len(), 9);
    assert_eq!(first.gold, Some(8));
    assert_eq!(
        first.gold_choice(),
        Some("Unsafe practices, Distress, Fear, Serious")
    );
    assert_eq!(first.metadata["category"], json!("business"));
    assert_eq!(first.metadata["src"], json!("ori_mmlu-business_ethics"));
    assert_eq!(set.get("mmlu_pro-71").unwrap().gold, Some(5));
    let categories: BTreeSet<&str> = set
        .iter()
        .filter_map(|item| item.metadata["category"].as_str())
        .collect();
    assert_eq!(categories.len(), 14);
    assert!(
        set.iter()
            .all(|item| (1..=10).contains(&item.choices.len()))
    );

    let Some(sample) = load_items(
        "items/mmlu_pro/test.jsonl",
        Format::MmluPro,
        &LoadOptions {
            per_task: Some(10),
            id_prefix: "x/".into(),
            ..LoadOptions::default()
        },
    ) else {
        return;
    };
    assert_eq!(sample.len(), 140);
    assert_eq!(sample.items()[0].id, "x/mmlu_pro-70");
}

#[test]
fn bbh_all_tasks_and_the_study_subset() {
    let Some(all) = load_items("items/bbh", Format::Bbh, &LoadOptions::default()) else {
        return;
    };
    assert_eq!(all.len(), 6511);
    let tasks: BTreeSet<&str> = all
        .iter()
        .filter_map(|item| item.metadata["task"].as_str())
        .collect();
    assert_eq!(tasks.len(), 27);
    let first = &all.items()[0];
    assert_eq!(first.id, "bbh-boolean_expressions-0");
    assert_eq!(first.prompt, "not ( True ) and ( True ) is");
    assert_eq!(first.target.as_deref(), Some("False"));
    assert_eq!(
        all.get("bbh-date_understanding-0")
            .unwrap()
            .target
            .as_deref(),
        Some("(B)")
    );

    let study = LoadOptions {
        tasks: STUDY_BBH_TASKS
            .iter()
            .map(|task| task.to_string())
            .collect(),
        per_task: Some(250),
        ..LoadOptions::default()
    };
    let Some(subset) = load_items("items/bbh", Format::Bbh, &study) else {
        return;
    };
    assert_eq!(subset.len(), 21 * 250);
    assert_eq!(subset.items()[250].id, "bbh-date_understanding-0");

    let few = LoadOptions {
        tasks: vec!["navigate".into(), "web_of_lies".into()],
        per_task: Some(3),
        ..LoadOptions::default()
    };
    let Some(few) = load_items("items/bbh", Format::Bbh, &few) else {
        return;
    };
    let ids: Vec<&str> = few.iter().map(|item| item.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "bbh-navigate-0",
            "bbh-navigate-1",
            "bbh-navigate-2",
            "bbh-web_of_lies-0",
            "bbh-web_of_lies-1",
            "bbh-web_of_lies-2"
        ]
    );
}

#[test]
fn bbh_unknown_task_lists_the_available_ones() {
    let Some(root) = common::data_root() else {
        return;
    };
    let options = LoadOptions {
        tasks: vec!["navigation".into()],
        ..LoadOptions::default()
    };
    let message = load(&root.join("items/bbh"), Format::Bbh, &options)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("no BBH task `navigation` here"),
        "{message}"
    );
    assert!(
        message.contains("boolean_expressions, causal_judgement"),
        "{message}"
    );
    assert!(message.contains("word_sorting"), "{message}");
}

#[test]
fn math_levels_types_and_boxed_targets() {
    let Some(set) = load_items(
        "items/math/test.jsonl",
        Format::Math,
        &LoadOptions::default(),
    ) else {
        return;
    };
    assert_eq!(set.len(), 5000);
    let level_5 = set
        .iter()
        .filter(|item| item.metadata["level"] == json!(5))
        .count();
    assert_eq!(level_5, 1324);
    assert!(set.iter().all(|item| item.metadata["level"].is_u64()));
    let first = &set.items()[0];
    assert_eq!(first.id, "math-0");
    assert_eq!(first.target.as_deref(), Some("2"));
    assert_eq!(first.metadata["level"], json!(3));
    assert_eq!(first.metadata["type"], json!("Algebra"));
    assert!(first.fields["solution"].ends_with(r"the graph has $\boxed{2}$ vertical asymptotes."));
    assert_eq!(
        set.get("math-2").unwrap().target.as_deref(),
        Some(r"\dfrac{9}{7}")
    );
    // Nested braces stay balanced; of several boxes the last one counts.
    assert_eq!(
        set.get("math-9").unwrap().target.as_deref(),
        Some(r"-\frac{1}{8}")
    );
    assert_eq!(set.get("math-12").unwrap().target.as_deref(), Some("10"));
    assert_eq!(set.get("math-333").unwrap().target.as_deref(), Some("3"));
    assert_eq!(
        set.get("math-2152").unwrap().target.as_deref(),
        Some("-3 + 6i")
    );

    let Some(per_type) = load_items(
        "items/math/test.jsonl",
        Format::Math,
        &LoadOptions {
            per_task: Some(5),
            ..LoadOptions::default()
        },
    ) else {
        return;
    };
    assert_eq!(per_type.len(), 7 * 5);
}

#[test]
fn musr_files_and_folder() {
    let Some(murder) = load_items(
        "items/musr/small_murder_mystery.json",
        Format::Musr,
        &LoadOptions::default(),
    ) else {
        return;
    };
    assert_eq!(murder.len(), 5);
    let first = &murder.items()[0];
    assert_eq!(first.id, "musr-small_murder_mystery-0-0");
    assert_eq!(first.prompt, "Who is the most likely murderer?");
    assert_eq!(first.choices, ["Mackenzie", "Ana"]);
    assert_eq!(first.gold, Some(0));
    assert!(
        first
            .context
            .as_deref()
            .unwrap()
            .starts_with("In an adrenaline inducing bungee jumping site")
    );
    assert_eq!(first.metadata["task"], json!("small_murder_mystery"));

    let Some(all) = load_items("items/musr", Format::Musr, &LoadOptions::default()) else {
        return;
    };
    // 5 murder mysteries and 5 team allocations with one question each, 5 object placements
    // with four questions each.
    assert_eq!(all.len(), 30);
    let placement = all.get("musr-small_object_placements-0-2").unwrap();
    assert_eq!(
        placement.choices,
        ["piano", "producer's desk", "recording booth"]
    );
    assert_eq!(placement.gold, Some(2));
    let contexts: BTreeSet<&str> = all
        .iter()
        .filter_map(|item| item.context.as_deref())
        .collect();
    assert_eq!(contexts.len(), 15);
}

#[test]
fn a_saved_set_opens_unchanged() {
    let Some(set) = load_items("items/musr", Format::Musr, &LoadOptions::default()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    set.save(dir.path()).unwrap();
    assert_eq!(ItemSet::open(dir.path()).unwrap(), set);
}
