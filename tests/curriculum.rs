//! Beyond the study, as a user runs it: fine-tuning on a curriculum trains stage by stage (its
//! steps visit the easy stage, then the hard one, under one learning-rate schedule), stages that
//! share items are refused, and `model_selection` picks a model per bin from a grid of
//! evaluations.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::rung;

/// A fresh folder holding `spec` as `s.rung`, 8 short items in `easy.jsonl` and 8 long ones in
/// `hard.jsonl`.
fn setup(name: &str, spec: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("s.rung"), spec).unwrap();
    let easy: Vec<String> = (0..8)
        .map(|i| format!("{{\"prompt\": \"{i}+{i}\", \"answer\": \"{}\"}}", 2 * i))
        .collect();
    let hard: Vec<String> = (0..8)
        .map(|i| {
            let a = 1_000_000 + 7_919 * i;
            let b = 2_000_000 + 104_729 * i;
            format!(
                "{{\"prompt\": \"{a}+{b}+{a}+{b}+{a}\", \"answer\": \"{}\"}}",
                3 * a + 2 * b
            )
        })
        .collect();
    std::fs::write(dir.join("easy.jsonl"), easy.join("\n")).unwrap();
    std::fs::write(dir.join("hard.jsonl"), hard.join("\n")).unwrap();
    dir
}

/// The output folder of `node`.
fn output(dir: &Path, node: &str) -> PathBuf {
    let show = rung(dir, &["show", node, "--spec", "s.rung", "--store", "store"]);
    show.stdout
        .lines()
        .find_map(|line| line.strip_prefix("output"))
        .map(|out| dir.join(out.trim()))
        .unwrap_or_else(|| panic!("`rung show {node}` names no output:\n{}", show.stderr))
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Each step's metrics line of a fine-tuned model.
fn steps(dir: &Path, node: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(output(dir, node).join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn numbers(steps: &[serde_json::Value], key: &str) -> Vec<f64> {
    steps.iter().map(|s| s[key].as_f64().unwrap()).collect()
}

const ITEMS: &str = r#"
items easy = dataset("easy.jsonl", format = jsonl, fields = { target = "answer" })
items hard = dataset("hard.jsonl", format = jsonl, fields = { target = "answer" })
"#;

#[test]
fn sft_on_a_curriculum_trains_stage_by_stage() {
    let spec = format!(
        r#"{ITEMS}
model base = tiny_model(hidden = 32, layers = 1, seed = 3)
let recipe = {{ lr = 0.003, micro_batch = 4, max_length = 96, chat_template = false }}
items ordered = curriculum([easy, hard])
checkpoint staged = sft(base, ordered, epochs = 4) {{ recipe }}
checkpoint reverse = sft(base, curriculum([hard, easy]), epochs = 4) {{ recipe }}
checkpoint growing = sft(
    base,
    curriculum([easy, hard], pacing = steps, shares = [1.0, 3.0], cumulative = true),
    epochs = 2,
) {{ recipe }}
"#
    );
    let dir = setup("curriculum-sft", &spec);
    let run = rung(
        &dir,
        &["run", "s.rung", "--store", "store", "--data-root", "."],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);

    // The curriculum is its items, each with its stage, and how they are paced.
    let ordered = output(&dir, "ordered");
    let settings = read_json(&ordered.join("curriculum.json"));
    assert_eq!(settings["pacing"], "epochs");
    assert_eq!(settings["stages"], serde_json::json!([8, 8]));
    let stages: Vec<u64> = std::fs::read_to_string(ordered.join("items.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["metadata"]["stage"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(stages, [[0; 8], [1; 8]].concat());

    // 8 + 8 items, 4 per step: 2 steps a pass, 4 epochs shared by 2 stages.
    let staged = steps(&dir, "staged");
    assert_eq!(
        numbers(&staged, "stage"),
        [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]
    );
    assert_eq!(
        numbers(&staged, "epoch"),
        [0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    );
    // The easy items are short, the hard ones long: each stage trains on its own items.
    let tokens = numbers(&staged, "tokens");
    let longest_easy = tokens[..4].iter().copied().fold(0.0, f64::max);
    assert!(
        tokens[4..].iter().all(|&t| t > longest_easy),
        "stage 0 must train on the easy items and stage 1 on the hard ones: {tokens:?}"
    );
    // One learning-rate schedule over the whole run: the rate never rises again after its peak.
    let lr = numbers(&staged, "lr");
    let peak = lr
        .iter()
        .position(|&r| r == lr.iter().copied().fold(0.0, f64::max))
        .unwrap();
    assert!(lr[peak..].windows(2).all(|w| w[1] <= w[0]), "{lr:?}");

    let reverse = steps(&dir, "reverse");
    let tokens = numbers(&reverse, "tokens");
    let longest_easy = tokens[4..].iter().copied().fold(0.0, f64::max);
    assert!(
        tokens[..4].iter().all(|&t| t > longest_easy),
        "hard first: {tokens:?}"
    );

    // By steps: 16 items make 4 steps a pass, 8 in 2 epochs, shared 1:3; the second stage's
    // pool keeps the first stage's items.
    let growing = steps(&dir, "growing");
    assert_eq!(
        numbers(&growing, "stage"),
        [0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    );
    let summary = read_json(&output(&dir, "growing").join("sft.json"));
    assert_eq!(summary["curriculum"]["pacing"], "steps");
    assert_eq!(
        summary["curriculum"]["stage_examples"],
        serde_json::json!([8, 16])
    );
    assert_eq!(
        summary["curriculum"]["stage_steps"],
        serde_json::json!([2, 6])
    );
}

#[test]
fn stages_that_share_items_are_refused() {
    let spec = format!("{ITEMS}\nitems twice = curriculum([easy, hard, easy])\n");
    let dir = setup("curriculum-shared", &spec);
    let run = rung(
        &dir,
        &["run", "s.rung", "--store", "store", "--data-root", "."],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("item `easy-0` is in stages 0 and 2: stages must not share items"),
        "{}",
        run.stderr
    );
}

#[test]
fn model_selection_chooses_a_candidate_per_bin() {
    let spec = format!(
        r#"{ITEMS}
let task = {{
    output = generate,
    prompt = "{{prompt}}=",
    chat_template = false,
    stop = ["\n"],
    max_new_tokens = 2,
    filters = [{{ op = number, select = first }}],
    metrics = [exact_match],
}}
items sets[s in 0..3] = mixture([easy, hard], weights = [1.0, 1.0], size = 4, seed = s)
model sized[h in [16, 32]] = tiny_model(hidden = h, layers = 1, seed = 3)
eval grid[h in [16, 32], s in 0..3] = evaluate(sized[h], sets[s], task = task)
report choose = model_selection(grid, costs = [1.0, 4.0], names = ["small", "large"], target = 0.5)
report mismatched = model_selection(grid, costs = [1.0, 4.0, 9.0])
"#
    );
    let dir = setup("model-selection", &spec);
    let run = rung(
        &dir,
        &[
            "run",
            "s.rung",
            "--store",
            "store",
            "--data-root",
            ".",
            "--keep-going",
        ],
    );
    assert_eq!(run.code, 1, "`mismatched` fails: {}", run.stderr);
    assert!(
        run.stderr
            .contains("`grid` has 2 candidates but `costs` has 3 values"),
        "{}",
        run.stderr
    );
    let choose = output(&dir, "choose");
    for file in [
        "selection.svg",
        "selection.png",
        "selection.csv",
        "selection.json",
    ] {
        assert!(choose.join(file).is_file(), "{file}");
    }
    let csv = std::fs::read_to_string(choose.join("selection.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "bin,chosen,accuracy,cost,reached_target,accuracy_small,accuracy_large"
    );
    assert_eq!(lines.len(), 4, "a row per bin: {csv}");
    let json = read_json(&choose.join("selection.json"));
    assert_eq!(json["target"], 0.5);
    for bin in json["bins"].as_array().unwrap() {
        let accuracies: Vec<f64> = bin["accuracies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_f64().unwrap())
            .collect();
        let chosen = bin["chosen"].as_u64().unwrap() as usize;
        if bin["reached_target"] == true {
            assert!(accuracies[chosen] >= 0.5);
            assert!(
                chosen == 0 || accuracies[0] < 0.5,
                "the cheaper one when it reaches"
            );
        } else {
            let best = accuracies.iter().copied().fold(0.0, f64::max);
            assert_eq!(accuracies[chosen], best, "none reaches: the most accurate");
        }
    }
}
