//! The CLI as a user meets it: exit codes, `--set`, `fmt`, `help`, `run` and `--version`.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{root, rung};

fn scratch(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    for (file, text) in files {
        std::fs::write(dir.join(file), text).expect("write");
    }
    dir
}

const SPEC: &str = "param seed: int = 1\nitems a[i in 0..3] = toy_items(count = 100, seed = i, max_digits = seed)\n";

#[test]
fn check_succeeds_with_exit_zero_and_lists_nodes() {
    let dir = scratch("ok", &[("s.rung", SPEC)]);
    let run = rung(&dir, &["check", "s.rung", "--nodes"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 3);
    assert!(
        run.stdout.contains("a[2]  toy_items@1(count = 100"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("s.rung: ok, 3 nodes"));
}

#[test]
fn set_overrides_a_param_and_changes_keys() {
    let dir = scratch("set", &[("s.rung", SPEC)]);
    let before = rung(&dir, &["check", "s.rung", "--nodes"]);
    let after = rung(&dir, &["check", "s.rung", "--nodes", "--set", "seed=7"]);
    assert_eq!(after.code, 0, "{}", after.stderr);
    assert!(after.stdout.contains("max_digits = 7"));
    assert_ne!(before.stdout, after.stdout);
}

#[test]
fn usage_errors_exit_two() {
    let dir = scratch("usage", &[]);
    assert_eq!(rung(&dir, &["check"]).code, 2);
    assert_eq!(rung(&dir, &["frobnicate"]).code, 2);
    assert_eq!(rung(&dir, &["help", "no_such_thing"]).code, 2);
}

#[test]
fn fmt_check_reports_unformatted_files_and_fmt_fixes_them() {
    let messy = "// keep me\nitems   a=toy_items( count=10 )   // and me\n";
    let dir = scratch("fmt", &[("m.rung", messy)]);
    let check = rung(&dir, &["fmt", "--check", "m.rung"]);
    assert_eq!(check.code, 1);
    assert_eq!(check.stdout.trim(), "m.rung");
    assert_eq!(
        std::fs::read_to_string(dir.join("m.rung")).expect("read"),
        messy
    );
    assert_eq!(rung(&dir, &["fmt", "m.rung"]).code, 0);
    let fixed = std::fs::read_to_string(dir.join("m.rung")).expect("read");
    assert!(fixed.contains("items a = toy_items(count = 10)"), "{fixed}");
    assert!(fixed.contains("// keep me") && fixed.contains("// and me"));
    assert_eq!(rung(&dir, &["fmt", "--check", "m.rung"]).code, 0);
}

#[test]
fn fmt_refuses_syntax_errors_and_leaves_the_file() {
    let dir = scratch("fmt-bad", &[("b.rung", "let a = [1,\n")]);
    let run = rung(&dir, &["fmt", "b.rung"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("error[E0101]") && run.stderr.contains("b.rung:2:1"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("b.rung")).expect("read"),
        "let a = [1,\n"
    );
}

#[test]
fn experiments_are_formatted() {
    let specs = common::specs_under(&root().join("experiments"));
    let mut args = vec!["fmt".to_string(), "--check".to_string()];
    args.extend(specs.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = rung(&root(), &args);
    assert_eq!(run.code, 0, "unformatted: {}{}", run.stdout, run.stderr);
}

#[test]
fn help_describes_operations_from_their_signatures() {
    let overview = rung(&root(), &["help"]);
    assert_eq!(overview.code, 0);
    for op in rung_stdlib::catalog().ops() {
        assert!(
            overview.stdout.contains(op.name),
            "`rung help` lacks {}",
            op.name
        );
    }
    let sft = rung(&root(), &["help", "sft"]);
    assert_eq!(sft.code, 0);
    assert!(sft.stdout.contains("lr: float = 5e-6"), "{}", sft.stdout);
}

/// Every operation the standard library declares is implemented, so `rung run` refuses no spec
/// for want of one (the refusal, "cannot run: no implementation yet for ...", is left for
/// registries that declare more than they implement).
#[test]
fn every_declared_operation_is_implemented() {
    let registry = rung_stdlib::registry();
    let missing: Vec<&str> = registry
        .catalog()
        .ops()
        .iter()
        .map(|op| op.name)
        .filter(|name| registry.get(name).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "declared but not implemented: {missing:?}"
    );
}

/// The difficulty analysis on the real leaderboard matrix: responses, two IRT fits, bins and the
/// report run, a second run computes nothing, and the bins follow the study's rule.
#[test]
fn the_difficulty_analysis_runs_on_real_responses() {
    let data = root().join("../shared/data");
    if !data.join("responses/mmlu_pro_tiger.csv").exists() {
        eprintln!("skipped: ../shared/data/responses/mmlu_pro_tiger.csv is absent");
        return;
    }
    let store = scratch("difficulty", &[]).join("store");
    let store = store.to_str().expect("utf-8 path");
    let spec = "experiments/analyses/difficulty.rung";
    let args = [
        "run",
        spec,
        "--store",
        store,
        "--data-root",
        data.to_str().expect("utf-8"),
    ];
    let first = rung(&root(), &args);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(first.stderr.contains("5 ran"), "{}", first.stderr);
    let again = rung(&root(), &args);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stderr.contains("0 ran, 5 cached"), "{}", again.stderr);

    let show = rung(&root(), &["show", "q", "--spec", spec, "--store", store]);
    let output = show
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("output"))
        .map(|dir| PathBuf::from(dir.trim()))
        .expect("show names the output");
    let table = std::fs::read_to_string(output.join("bins.csv")).expect("bins.csv");
    let mut per_bin = [0usize; 10];
    let mut test = 0;
    for line in table.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        per_bin[fields[1].parse::<usize>().expect("bin")] += 1;
        test += usize::from(fields[3] == "test");
    }
    assert_eq!(per_bin.iter().sum::<usize>(), 12032);
    assert!(per_bin.iter().all(|&n| n > 800), "{per_bin:?}");
    assert!((3500..3700).contains(&test), "30% held out: {test}");

    let report = rung(
        &root(),
        &["show", "figures", "--spec", spec, "--store", store],
    );
    for file in [
        "difficulty_histogram.svg",
        "item_curves.svg",
        "per_bin.csv",
        "summary.json",
    ] {
        assert!(report.stdout.contains(file), "{}", report.stdout);
    }
}

#[test]
fn version_names_the_backends() {
    let run = rung(&root(), &["--version"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.starts_with("rung 0.1.0 (backends: flex"),
        "{}",
        run.stdout
    );
}

/// SmolLM2-135M-Instruct's GGUF, as `scripts/fetch-smollm2.sh` fetches and caches it.
fn smollm2() -> String {
    let script = root().join("scripts/fetch-smollm2.sh");
    let output = std::process::Command::new("bash")
        .arg(&script)
        .output()
        .expect("bash runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

#[test]
fn generate_continues_a_chat_prompt_with_a_gguf_model() {
    let model = smollm2();
    let run = rung(
        &root(),
        &[
            "generate",
            &model,
            "--chat",
            "What is the capital of France?",
            "--max-new-tokens",
            "16",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "The capital of France is Paris.\n");
    assert!(run.stderr.contains("30 layers"), "{}", run.stderr);
}

#[test]
fn generate_names_what_is_wrong_with_a_model() {
    let dir = scratch(
        "bad-model",
        &[(
            "config.json",
            r#"{"architectures": ["MistralForCausalLM"], "model_type": "mistral"}"#,
        )],
    );
    let run = rung(&dir, &["generate", ".", "hello"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("config.json: unsupported architecture"),
        "{}",
        run.stderr
    );
    let run = rung(&dir, &["generate", "missing.gguf", "hello"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("missing.gguf"), "{}", run.stderr);
    let run = rung(&dir, &["generate", ".", "hello", "--dtype", "f8"]);
    assert_eq!(run.code, 2);
}
