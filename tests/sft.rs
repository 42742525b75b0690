//! Fine-tuning as a user runs it: a spec loads items, builds a tiny model and fine-tunes it;
//! the output is a Hugging Face directory with per-step metrics; a rerun is cached and a changed
//! hyperparameter reruns the fine-tuning alone.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{root, rung};

const SPEC: &str = r#"
param lr: float = 0.003

items train = dataset("pairs.jsonl", format = jsonl, fields = { target = "answer" })
model base = tiny_model(hidden = 32, layers = 1, seed = 3)
checkpoint tuned = sft(base, train, epochs = 2, lr = lr, micro_batch = 4, max_length = 96, checkpoint_every = 2)
"#;

fn setup(name: &str) -> PathBuf {
    setup_with(name, SPEC, 24)
}

/// A fresh folder holding `spec` as `s.rung` and `pairs` training items in `pairs.jsonl`.
fn setup_with(name: &str, spec: &str, pairs: usize) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("s.rung"), spec).unwrap();
    let lines: Vec<String> = (0..pairs)
        .map(|i| format!("{{\"prompt\": \"{i} twice\", \"answer\": \"{}\"}}", 2 * i))
        .collect();
    std::fs::write(dir.join("pairs.jsonl"), lines.join("\n")).unwrap();
    dir
}

fn output(dir: &Path, node: &str) -> PathBuf {
    let show = rung(dir, &["show", node, "--spec", "s.rung", "--store", "store"]);
    show.stdout
        .lines()
        .find_map(|line| line.strip_prefix("output"))
        .map(|out| dir.join(out.trim()))
        .unwrap_or_else(|| {
            panic!(
                "`rung show {node}` names no output:\n{}{}",
                show.stdout, show.stderr
            )
        })
}

#[test]
fn a_spec_fine_tunes_a_tiny_model_and_reruns_only_what_changed() {
    let dir = setup("sft-rerun");
    let args = ["run", "s.rung", "--store", "store", "--data-root", "."];
    let first = rung(&dir, &args);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(first.stderr.contains("3 ran"), "{}", first.stderr);

    let tuned = output(&dir, "tuned");
    for file in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "metrics.jsonl",
        "sft.json",
    ] {
        assert!(
            tuned.join(file).is_file(),
            "{file} is missing from {}",
            tuned.display()
        );
    }
    let metrics = std::fs::read_to_string(tuned.join("metrics.jsonl")).unwrap();
    let steps: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(steps.len(), 12, "24 items, 4 per step, 2 epochs");
    for key in ["step", "loss", "lr", "grad_norm", "tokens_per_second"] {
        assert!(steps[0].get(key).is_some(), "{key} in {}", steps[0]);
    }
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tuned.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["hidden_size"], 32);
    let store = dir.join("store");
    assert!(
        !store.join("checkpoints").exists()
            || std::fs::read_dir(store.join("checkpoints"))
                .unwrap()
                .count()
                == 0,
        "checkpoints are removed once the model is published"
    );

    let again = rung(&dir, &args);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stderr.contains("0 ran, 3 cached"), "{}", again.stderr);

    let mut changed = args.to_vec();
    changed.extend(["--set", "lr=0.001"]);
    let rerun = rung(&dir, &changed);
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    assert!(rerun.stderr.contains("1 ran, 2 cached"), "{}", rerun.stderr);
}

#[test]
fn a_fine_tuned_model_answers_through_rung_generate() {
    let dir = setup("sft-generate");
    let run = rung(
        &dir,
        &["run", "s.rung", "--store", "store", "--data-root", "."],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let tuned = output(&dir, "tuned");
    let generated = rung(
        &root(),
        &[
            "generate",
            tuned.to_str().unwrap(),
            "--chat",
            "--max-new-tokens",
            "4",
            "3 twice",
        ],
    );
    assert_eq!(generated.code, 0, "{}", generated.stderr);
}

#[test]
fn a_fine_tuning_node_that_will_not_fit_is_refused_before_anything_runs() {
    let spec = r#"
items train = dataset("pairs.jsonl", format = jsonl, fields = { target = "answer" })
model base = tiny_model(hidden = 2048, layers = 8, heads = 16, kv_heads = 4)
checkpoint tuned = sft(base, train, max_length = 4096, recompute = false)
"#;
    let dir = setup_with("sft-memory", spec, 1);
    let run = rung(
        &dir,
        &[
            "run",
            "s.rung",
            "--store",
            "store",
            "--data-root",
            ".",
            "--memory",
            "8G",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("`tuned` needs about"), "{}", run.stderr);
    assert!(
        run.stderr.contains("activations"),
        "the breakdown: {}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing ran"), "{}", run.stderr);
    assert!(
        !dir.join("store/objects").exists()
            || std::fs::read_dir(dir.join("store/objects"))
                .unwrap()
                .count()
                == 0
    );

    let fits = rung(
        &dir,
        &[
            "run",
            "s.rung",
            "--store",
            "store",
            "--data-root",
            ".",
            "--memory",
            "8G",
            "--target",
            "train",
        ],
    );
    assert_eq!(
        fits.code, 0,
        "a selection without the node runs: {}",
        fits.stderr
    );
}

#[test]
fn rung_plan_names_a_node_that_no_machine_could_fit() {
    // Attention scores alone: 2 x 64 heads x 32768² f32 per layer, kept for 32 layers.
    let spec = r#"
items train = dataset("pairs.jsonl", format = jsonl, fields = { target = "answer" })
model base = tiny_model(hidden = 8192, layers = 32, heads = 64, kv_heads = 8)
checkpoint tuned = sft(base, train, max_length = 32768, recompute = false)
"#;
    let dir = setup_with("sft-plan-memory", spec, 1);
    let plan = rung(
        &dir,
        &["plan", "s.rung", "--store", "store", "--data-root", "."],
    );
    assert_eq!(plan.code, 1, "{}{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("new      tuned"), "{}", plan.stdout);
    assert!(
        plan.stderr.contains("`tuned` needs about"),
        "{}",
        plan.stderr
    );
}
