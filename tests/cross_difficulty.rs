//! The study's recipes in `experiments/cross-difficulty/`: each plans without the models (their
//! missing inputs named, 10 fine-tunings, 100 grid and 10 zero-shot evaluations per model), their
//! fine-tuning templates fit their datasets' items, and the CPU miniature runs end to end.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::{Run, root};
use rung_engine::Value;
use rung_lang::check_file;

/// The shared data root, when this checkout has one.
fn data_root() -> Option<PathBuf> {
    let data = root().join("../shared/data");
    data.join("items").is_dir().then_some(data)
}

/// The six study specs (not the CPU miniature under `cpu/`).
fn studies() -> Vec<PathBuf> {
    let mut specs: Vec<PathBuf> = std::fs::read_dir(root().join("experiments/cross-difficulty"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "rung"))
        .collect();
    specs.sort();
    specs
}

/// Runs `rung ARGS` in the repository root with `env` set (`None` removes a variable).
fn rung_with(args: &[&str], env: &[(&str, Option<&Path>)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rung"));
    command.args(args).current_dir(root()).env("NO_COLOR", "1");
    for (name, value) in env {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    let output = command.output().expect("the rung binary runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A fresh scratch folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cross-difficulty")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One line of `rung check --nodes`: `HASH  LABEL  op@version(params)`.
struct Listed {
    label: String,
    op: String,
    /// The `#hash` the `model = ...` parameter refers to, if any.
    model: Option<String>,
}

fn listed_nodes(text: &str) -> BTreeMap<String, Listed> {
    let mut nodes = BTreeMap::new();
    for line in text.lines().filter(|l| l.contains('@')) {
        let mut parts = line.splitn(3, "  ");
        let (Some(hash), Some(label), Some(rest)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let op = rest.split('@').next().unwrap().to_string();
        let model = rest
            .split_once("model = #")
            .map(|(_, after)| after.chars().take_while(char::is_ascii_hexdigit).collect());
        nodes.insert(
            hash.to_string(),
            Listed {
                label: label.to_string(),
                op,
                model,
            },
        );
    }
    nodes
}

/// Per Hugging Face model path: (fine-tunings, grid evaluations, zero-shot evaluations).
fn counts_per_model(nodes: &BTreeMap<String, Listed>, spec: &Path) -> BTreeMap<String, [usize; 3]> {
    let checked = check_file(spec, rung_stdlib::catalog(), &[]);
    let program = checked.program.expect("the spec checks");
    // The model path of each `hf` node, by the short hash `check --nodes` prints.
    let mut paths = BTreeMap::new();
    for node in program.plan.nodes().iter().filter(|n| n.op == "hf") {
        let Some((_, Value::Str(path))) = node.params.iter().find(|(p, _)| p == "path") else {
            panic!("an hf node without a path: {:?}", node.labels);
        };
        paths.insert(node.form_hash.short(12), path.clone());
    }
    let mut counts: BTreeMap<String, [usize; 3]> =
        paths.values().map(|p| (p.clone(), [0; 3])).collect();
    for node in nodes.values() {
        let Some(model) = &node.model else { continue };
        let upstream = &nodes[model];
        match (node.op.as_str(), upstream.op.as_str()) {
            ("sft" | "trl_sft", "hf") => counts.get_mut(&paths[model]).unwrap()[0] += 1,
            ("evaluate", "sft" | "trl_sft") => {
                let base = upstream.model.as_ref().unwrap();
                counts.get_mut(&paths[base]).unwrap()[1] += 1;
            }
            ("evaluate", "hf") => counts.get_mut(&paths[model]).unwrap()[2] += 1,
            (op, up) => panic!("{}: unexpected {op} of a {up} node", node.label),
        }
    }
    counts
}

#[test]
fn every_study_plans_without_its_models_and_names_what_is_missing() {
    let specs = studies();
    assert_eq!(specs.len(), 6, "{specs:?}");
    let data = data_root().unwrap_or_else(|| root().join("no-data-root"));
    let models = scratch("empty-model-root");
    for spec in &specs {
        let name = spec.file_stem().unwrap().to_str().unwrap();
        let path = spec.to_str().unwrap();
        let check = rung_with(&["check", path, "--nodes"], &[]);
        assert_eq!(check.code, 0, "{name}: {}", check.stderr);
        let nodes = listed_nodes(&check.stdout);
        let counts = counts_per_model(&nodes, spec);
        assert_eq!(
            counts.len(),
            7,
            "{name}: the study's seven models: {counts:?}"
        );
        for (model, count) in &counts {
            assert_eq!(
                *count,
                [10, 100, 10],
                "{name}: {model}: fine-tunings, grid and zero-shot evaluations"
            );
        }

        let store = scratch(&format!("plan-{name}"));
        let plan = rung_with(
            &[
                "plan",
                path,
                "--store",
                store.to_str().unwrap(),
                "--data-root",
                data.to_str().unwrap(),
            ],
            &[("RUNG_MODEL_ROOT", Some(&models))],
        );
        // Blocked nodes make `rung plan` exit 1, as a missing input file does.
        assert_eq!(plan.code, 1, "{name}: {}{}", plan.stdout, plan.stderr);
        let summary = plan.stdout.lines().last().unwrap();
        assert!(
            summary.starts_with(&format!("{} nodes: ", nodes.len())),
            "{name}: {summary}"
        );
        assert!(
            plan.stderr.contains("nodes are blocked by missing inputs:"),
            "{name}: {}",
            plan.stderr
        );
        for model in counts.keys() {
            assert!(
                plan.stderr.contains(&format!(
                    "model `{model}`: no Hugging Face model directory (with a config.json)"
                )),
                "{name}: {model} is not named missing:\n{}",
                plan.stderr
            );
        }
        // Every response file the spec names that the data root lacks is named too.
        let program = check_file(spec, rung_stdlib::catalog(), &[])
            .program
            .unwrap();
        for node in program
            .plan
            .nodes()
            .iter()
            .filter(|n| n.op == "response_matrix")
        {
            let Some((_, Value::File(file))) = node.params.iter().find(|(p, _)| p == "path") else {
                panic!("{name}: a response matrix without a path");
            };
            if !data.join(file).exists() {
                assert!(
                    plan.stderr.contains(&format!("input `{file}`: not found")),
                    "{name}: {file} is not named missing:\n{}",
                    plan.stderr
                );
            }
        }
        // Every fine-tuning and evaluation is planned (blocked on what it needs).
        let planned: BTreeMap<&str, &str> = plan
            .stdout
            .lines()
            .filter_map(|line| {
                let (status, rest) = line.split_once(' ')?;
                let rest = rest.trim_start();
                let label = rest.split("  ").next()?;
                Some((label, status))
            })
            .collect();
        for node in nodes
            .values()
            .filter(|n| matches!(n.op.as_str(), "sft" | "trl_sft" | "evaluate"))
        {
            assert_eq!(
                planned.get(node.label.as_str()),
                Some(&"blocked"),
                "{name}: {}",
                node.label
            );
        }
    }
}

#[test]
fn a_model_found_under_the_model_root_is_not_reported_missing() {
    let spec = root().join("experiments/cross-difficulty/mmlu_pro.rung");
    let models = scratch("one-model-root");
    let present = models.join("models/Qwen2.5-1.5B-Instruct");
    std::fs::create_dir_all(&present).unwrap();
    std::fs::write(present.join("config.json"), "{}").unwrap();
    let store = scratch("plan-one-model");
    let args = [
        "plan",
        spec.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
    ];
    let plan = rung_with(&args, &[("RUNG_MODEL_ROOT", Some(&models))]);
    assert_eq!(plan.code, 1, "{}", plan.stderr);
    assert!(
        !plan.stderr.contains("model `models/Qwen2.5-1.5B-Instruct`"),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stderr.contains("model `models/Qwen2.5-3B-Instruct`"),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stdout
            .contains("new      small[\"models/Qwen2.5-1.5B-Instruct\"]"),
        "{}",
        plan.stdout
    );

    let unset = rung_with(&args, &[("RUNG_MODEL_ROOT", None)]);
    assert!(
        unset
            .stderr
            .contains("set RUNG_MODEL_ROOT to the folder holding hub-style names"),
        "{}",
        unset.stderr
    );
}

/// A `dataset` node's items, loaded as the operation loads them.
fn dataset_items(node: &rung_engine::Node, data: &Path) -> rung_items::ItemSet {
    let param = |name: &str| &node.params.iter().find(|(p, _)| p == name).unwrap().1;
    let Value::File(path) = param("path") else {
        panic!("a dataset without a path")
    };
    let Value::Enum(format) = param("format") else {
        panic!("a dataset without a format")
    };
    let options = rung_items::LoadOptions {
        tasks: match param("tasks") {
            Value::List(tasks) => tasks
                .iter()
                .map(|t| match t {
                    Value::Str(s) => s.clone(),
                    other => panic!("a task `{other}`"),
                })
                .collect(),
            _ => Vec::new(),
        },
        per_task: match param("per_task") {
            Value::Int(n) => Some(usize::try_from(*n).unwrap()),
            _ => Some(20),
        },
        subset: match param("subset") {
            Value::Str(s) => Some(s.clone()),
            _ => None,
        },
        ..Default::default()
    };
    let format = rung_items::Format::parse(format).unwrap();
    rung_items::load(&data.join(path), format, &options).unwrap()
}

#[test]
fn every_fine_tuning_template_renders_on_its_datasets_items() {
    let Some(data) = data_root() else {
        eprintln!("skipped: ../shared/data is absent");
        return;
    };
    let mut specs = studies();
    specs.push(root().join("experiments/cross-difficulty/cpu/mmlu_pro_smollm2.rung"));
    let labels: Vec<String> = ('A'..='Z').map(String::from).collect();
    for spec in specs {
        let program = check_file(&spec, rung_stdlib::catalog(), &[])
            .program
            .unwrap();
        let nodes = program.plan.nodes();
        let items: Vec<rung_items::Item> = nodes
            .iter()
            .filter(|n| n.op == "dataset")
            .flat_map(|n| dataset_items(n, &data).into_items())
            .collect();
        assert!(!items.is_empty(), "{}", spec.display());
        // The distinct templates of the fine-tuning nodes, with a node that uses each.
        let mut templates = BTreeMap::new();
        for node in nodes
            .iter()
            .filter(|n| matches!(n.op.as_str(), "sft" | "trl_sft"))
        {
            for name in ["prompt", "completion"] {
                let Some((_, Value::Str(text))) = node.params.iter().find(|(p, _)| p == name)
                else {
                    panic!("{}: `{name}` of {:?}", spec.display(), node.labels);
                };
                templates.insert((name, text.clone()), node.labels.clone());
            }
        }
        assert!(!templates.is_empty(), "{}", spec.display());
        for ((name, text), node) in templates {
            let template = rung_items::Template::parse(&text).unwrap();
            for item in &items {
                let rendered = template.render(item, &labels);
                assert!(
                    rendered.as_ref().is_ok_and(|r| !r.trim().is_empty()),
                    "{}: {node:?}: `{name}` on {}: {rendered:?}",
                    spec.display(),
                    item.id
                );
            }
        }
    }
}

/// The SmolLM2-135M-Instruct GGUF file, or why it cannot be had.
fn smollm2() -> Result<String, String> {
    let output = Command::new("bash")
        .arg(root().join("scripts/fetch-smollm2.sh"))
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

#[test]
fn the_cpu_miniature_fine_tunes_smollm2_per_bin_and_fills_the_matrix() {
    let Some(data) = data_root() else {
        eprintln!("skipped: ../shared/data is absent");
        return;
    };
    let gguf = match smollm2() {
        Ok(path) => path,
        Err(why) => {
            eprintln!("skipped: SmolLM2-135M-Instruct could not be fetched: {why}");
            return;
        }
    };
    let spec = root().join("experiments/cross-difficulty/cpu/mmlu_pro_smollm2.rung");
    let store = scratch("cpu-miniature").join("store");
    let model = format!("smollm2={gguf:?}");
    let places = [
        "--store",
        store.to_str().unwrap(),
        "--data-root",
        data.to_str().unwrap(),
        "--set",
        &model,
    ];
    let clock = Instant::now();
    let mut args = vec!["run", spec.to_str().unwrap()];
    args.extend(places);
    let run = rung_with(&args, &[]);
    eprintln!(
        "the CPU miniature ran in {:.0} s",
        clock.elapsed().as_secs_f64()
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("30 ran"), "{}", run.stderr);

    let mut args = vec!["show", "heat", "--spec", spec.to_str().unwrap()];
    args.extend(places);
    let show = rung_with(&args, &[]);
    let out = show
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("output"))
        .map(|out| PathBuf::from(out.trim()))
        .unwrap_or_else(|| panic!("no output for heat:\n{}{}", show.stdout, show.stderr));
    let matrix: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("matrix.json")).unwrap()).unwrap();
    assert_eq!(matrix["metric"], "exact_match");
    let is_accuracy = |v: &serde_json::Value| v.as_f64().is_some_and(|x| (0.0..=1.0).contains(&x));
    let values = matrix["values"].as_array().unwrap();
    assert_eq!(values.len(), 3, "three training bins: {matrix}");
    for row in values {
        let row = row.as_array().unwrap();
        assert_eq!(row.len(), 3, "three evaluation bins: {matrix}");
        assert!(row.iter().all(is_accuracy), "{matrix}");
    }
    let baseline = matrix["baseline"].as_array().unwrap();
    assert_eq!(baseline.len(), 3, "{matrix}");
    assert!(baseline.iter().all(is_accuracy), "{matrix}");
    for row in matrix["items"].as_array().unwrap() {
        for n in row.as_array().unwrap() {
            assert_eq!(n.as_u64(), Some(2), "two items per cell: {matrix}");
        }
    }
    for file in ["matrix.csv", "matrix_absolute.svg", "matrix_delta.svg"] {
        assert!(out.join(file).is_file(), "{file} in {}", out.display());
    }
}
