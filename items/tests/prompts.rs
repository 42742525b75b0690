//! Golden prompts: one real item of each benchmark rendered with its preset task.

#![allow(clippy::unwrap_used)] // A test that cannot read its fixtures should fail loudly.

mod common;

use rung_items::{
    Format, LoadOptions, Task, TaskOutput, continuations, load, presets, render_prompt,
    render_target,
};

/// The prompt of `id` in the set at `relative` under `task`, then what it is scored against:
/// the continuations and the gold index (multiple choice) or the reference answer (generate).
fn rendered(relative: &str, format: Format, id: &str, task: &Task) -> Option<String> {
    let root = common::data_root()?;
    let set = load(&root.join(relative), format, &LoadOptions::default()).unwrap();
    let item = set.get(id).unwrap();
    task.check().unwrap();
    let mut out = format!("== prompt ==\n{}\n", render_prompt(task, item).unwrap());
    match task.output {
        TaskOutput::MultipleChoice => {
            let texts = continuations(task, item).unwrap();
            out.push_str(&format!(
                "== continuations (after {:?}) ==\n{texts:?}\n",
                task.target_delimiter
            ));
            out.push_str(&format!("== gold ==\n{}\n", item.gold.unwrap()));
        }
        TaskOutput::Generate => {
            out.push_str(&format!(
                "== target ==\n{}\n",
                render_target(task, item).unwrap()
            ));
        }
    }
    Some(out)
}

#[test]
fn arc_prompt() {
    if let Some(text) = rendered(
        "items/arc/arc_challenge_test.jsonl",
        Format::Arc,
        "arc_challenge_test-0",
        &presets::arc(),
    ) {
        insta::assert_snapshot!("arc", text);
    }
}

#[test]
fn gsm8k_prompt() {
    if let Some(text) = rendered(
        "items/gsm8k/test.jsonl",
        Format::Gsm8k,
        "gsm8k-test-0",
        &presets::gsm8k(),
    ) {
        insta::assert_snapshot!("gsm8k", text);
    }
}

#[test]
fn mmlu_pro_prompt() {
    if let Some(text) = rendered(
        "items/mmlu_pro/test.jsonl",
        Format::MmluPro,
        "mmlu_pro-71",
        &presets::mmlu_pro(),
    ) {
        insta::assert_snapshot!("mmlu_pro", text);
    }
}

#[test]
fn bbh_prompt() {
    if let Some(text) = rendered(
        "items/bbh",
        Format::Bbh,
        "bbh-date_understanding-0",
        &presets::bbh(),
    ) {
        insta::assert_snapshot!("bbh", text);
    }
}

#[test]
fn math_prompt() {
    if let Some(text) = rendered(
        "items/math/test.jsonl",
        Format::Math,
        "math-2",
        &presets::math(),
    ) {
        insta::assert_snapshot!("math", text);
    }
}

#[test]
fn musr_prompt() {
    if let Some(text) = rendered(
        "items/musr/small_team_allocation.json",
        Format::Musr,
        "musr-small_team_allocation-0-0",
        &presets::musr(),
    ) {
        insta::assert_snapshot!("musr", text);
    }
}
