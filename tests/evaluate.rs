//! Evaluation as a user runs it: SmolLM2-135M-Instruct answers real ARC-Easy items by
//! log-likelihood and GSM8K items by generation; records and metrics are written and a rerun is
//! cached.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{root, rung};

fn smollm2() -> String {
    let output = Command::new("bash")
        .arg(root().join("scripts/fetch-smollm2.sh"))
        .output()
        .expect("the fetch script runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn spec(gguf: &str) -> String {
    format!(
        r#"
model smol = gguf("{gguf}")

/// lm-evaluation-harness's ARC-Easy: the question, then each choice's text scored after a space.
let arc = {{
    output = multiple_choice,
    prompt = "Question: {{prompt}}\nAnswer:",
    chat_template = false,
    score_choices = text,
    metrics = [acc, acc_norm],
}}
items arc_items = dataset("items/arc/arc_easy_test.jsonl", format = arc)
eval arc_eval = evaluate(smol, arc_items, task = arc, limit = 50, batch_size = 32)

/// The study's GSM8K prompt, chat template on, strict then flexible extraction.
let gsm8k = {{
    output = generate,
    prompt = "Q: {{prompt}}\nA:\n",
    max_new_tokens = 64,
    filters = [
        {{ op = regex, pattern = "(?i)so the answer is\\s*:?\\s*(-?[$]?-?[0-9][0-9,]*(?:\\.[0-9]+)?)", on_miss = keep }},
        {{ op = number, select = last }},
    ],
    metrics = [exact_match],
}}
items gsm_items = dataset("items/gsm8k/test.jsonl", format = gsm8k)
eval gsm_eval = evaluate(smol, gsm_items, task = gsm8k, limit = 5, batch_size = 5)
"#
    )
}

fn output(dir: &Path, node: &str) -> PathBuf {
    let data = root().join("../shared/data");
    let show = rung(
        dir,
        &[
            "show",
            node,
            "--spec",
            "e.rung",
            "--store",
            "store",
            "--data-root",
            data.to_str().unwrap(),
        ],
    );
    show.stdout
        .lines()
        .find_map(|line| line.strip_prefix("output"))
        .map(|out| dir.join(out.trim()))
        .unwrap_or_else(|| panic!("no output for {node}:\n{}{}", show.stdout, show.stderr))
}

fn records(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("records.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn smollm2_is_evaluated_on_arc_easy_and_gsm8k() {
    let data = root().join("../shared/data");
    if !data.join("items/arc/arc_easy_test.jsonl").exists() {
        eprintln!("skipped: ../shared/data/items is absent");
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli")
        .join("evaluate");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("e.rung"), spec(&smollm2())).unwrap();
    let args = [
        "run",
        "e.rung",
        "--store",
        "store",
        "--data-root",
        data.to_str().unwrap(),
    ];
    let first = rung(&dir, &args);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(first.stderr.contains("5 ran"), "{}", first.stderr);

    let arc = output(&dir, "arc_eval");
    let arc_records = records(&arc);
    assert_eq!(arc_records.len(), 50);
    assert_eq!(arc_records[0]["id"], "arc_easy_test-0");
    assert_eq!(
        arc_records[0]["loglikelihoods"].as_array().unwrap().len(),
        4
    );
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(arc.join("metrics.json")).unwrap()).unwrap();
    let acc = metrics["metrics"]["acc"].as_f64().unwrap();
    let acc_norm = metrics["metrics"]["acc_norm"].as_f64().unwrap();
    eprintln!("SmolLM2-135M-Instruct on 50 ARC-Easy items: acc {acc:.2}, acc_norm {acc_norm:.2}");
    assert!(acc > 0.3, "better than chance (0.25): {acc}");

    agrees_with_lm_evaluation_harness(&arc_records);

    let gsm = output(&dir, "gsm_eval");
    let gsm_records = records(&gsm);
    assert_eq!(gsm_records.len(), 5);
    for record in &gsm_records {
        assert!(!record["output"].as_str().unwrap().is_empty(), "{record}");
        assert!(
            record["reference"].as_str().unwrap().parse::<f64>().is_ok(),
            "{record}"
        );
    }
    let gsm_metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(gsm.join("metrics.json")).unwrap()).unwrap();
    eprintln!(
        "SmolLM2-135M-Instruct on 5 GSM8K items: exact match {}",
        gsm_metrics["metrics"]["exact_match"]
    );

    let logs: String = std::fs::read_dir(dir.join("store/logs"))
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect();
    assert_eq!(
        logs.matches("(loaded)").count(),
        1,
        "the model is loaded once:\n{logs}"
    );
    assert_eq!(logs.matches("(already loaded)").count(), 1, "{logs}");

    let again = rung(&dir, &args);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stderr.contains("0 ran, 5 cached"), "{}", again.stderr);
}

/// rung's per-item correctness on the 50 ARC-Easy items against lm-evaluation-harness's on the
/// same model, items and prompt (`items/reference/lm_eval_arc.py` wrote the fixture).
fn agrees_with_lm_evaluation_harness(records: &[serde_json::Value]) {
    let fixture = root().join("items/tests/fixtures/lm_eval/arc_easy_smollm2.json");
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&fixture).unwrap()).unwrap();
    let items = reference["items"].as_array().unwrap();
    assert_eq!(items.len(), records.len());
    let mut agree = [0usize; 2];
    let mut largest_gap = 0.0f64;
    for (ours, theirs) in records.iter().zip(items) {
        assert_eq!(ours["id"], theirs["id"]);
        for (k, metric) in ["acc", "acc_norm"].into_iter().enumerate() {
            let theirs = theirs[metric].as_f64().unwrap() > 0.5;
            agree[k] += usize::from(ours["correct"][metric].as_bool() == Some(theirs));
        }
        let lls = ours["loglikelihoods"].as_array().unwrap();
        for (a, b) in lls.iter().zip(theirs["loglikelihoods"].as_array().unwrap()) {
            largest_gap = largest_gap.max((a.as_f64().unwrap() - b.as_f64().unwrap()).abs());
        }
    }
    let n = records.len() as f64;
    eprintln!(
        "agreement with lm-evaluation-harness on {} items: acc {:.0}%, acc_norm {:.0}%; largest log-likelihood gap {largest_gap:.2e}",
        records.len(),
        100.0 * agree[0] as f64 / n,
        100.0 * agree[1] as f64 / n
    );
    for (k, metric) in ["acc", "acc_norm"].into_iter().enumerate() {
        assert!(
            agree[k] as f64 >= 0.98 * n,
            "{metric}: {} of {} items agree",
            agree[k],
            n
        );
    }
}
