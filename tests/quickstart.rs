//! The quickstart end to end, at a smaller size: the toy world, IRT, bins, fine-tuning, the
//! evaluation grid and the reports run; a second run computes nothing; a changed fine-tuning
//! parameter reruns exactly the fine-tuning family, its evaluations and the reports.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Run, root, rung};

const SIZE: &[&str] = &["--set", "size=400", "--set", "n_bins=4"];

fn run(store: &str, extra: &[&str]) -> Run {
    let mut args = vec!["run", "experiments/quickstart.rung", "--store", store];
    args.extend(SIZE);
    args.extend(extra);
    rung(&root(), &args)
}

/// The output folder of a node, from `rung show`.
fn output_of(store: &str, node: &str) -> PathBuf {
    let mut args = vec![
        "show",
        node,
        "--store",
        store,
        "--spec",
        "experiments/quickstart.rung",
    ];
    args.extend(SIZE);
    let show = rung(&root(), &args);
    assert_eq!(show.code, 0, "{}{}", show.stdout, show.stderr);
    let line = show
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("output"))
        .unwrap_or_else(|| panic!("no output line in {}", show.stdout));
    let path = PathBuf::from(line.trim());
    if path.is_absolute() {
        path
    } else {
        root().join("experiments").join(path)
    }
}

/// Opens the page in headless Chromium (Debian's, installed by `scripts/chromium.sh`) and checks
/// the page's own load check found every figure; says why and returns when Chromium cannot be
/// had.
fn figures_load_in_chromium(page: &Path) {
    let install = Command::new("bash")
        .arg(root().join("scripts/chromium.sh"))
        .output()
        .expect("bash runs");
    if !install.status.success() {
        eprintln!(
            "skipped the browser check: {}",
            String::from_utf8_lossy(&install.stderr)
        );
        return;
    }
    let chromium = String::from_utf8_lossy(&install.stdout).trim().to_string();
    let dom = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ])
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("data-figures=\"ok "),
        "the page reports figures that did not load: {}",
        dom.lines()
            .find(|l| l.contains("data-figures"))
            .unwrap_or("no marker")
    );
}

fn summary(run: &Run) -> String {
    let text = format!("{}{}", run.stdout, run.stderr);
    text.lines()
        .rev()
        .find(|line| line.starts_with("done:"))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn the_quickstart_runs_caches_and_reruns_only_what_changed() {
    let store = tempfile::tempdir().expect("temporary store");
    let store = store.path().display().to_string();

    let first = run(&store, &[]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    assert!(summary(&first).contains("0 failed"), "{}", summary(&first));

    let heat = output_of(&store, "heat");
    let matrix: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(heat.join("matrix.json")).expect("matrix.json"),
    )
    .expect("valid JSON");
    let values = matrix["values"].as_array().expect("rows");
    assert_eq!(values.len(), 4, "one row per train bin");
    assert!(
        values
            .iter()
            .all(|row| row.as_array().map(Vec::len) == Some(4))
    );
    assert_eq!(matrix["baseline"].as_array().map(Vec::len), Some(4));
    assert!(
        values
            .iter()
            .flat_map(|row| row.as_array().into_iter().flatten())
            .all(|v| v.as_f64().is_some_and(|x| (0.0..=1.0).contains(&x))),
        "every cell is an accuracy: {values:?}"
    );
    for figure in [
        "matrix_absolute.png",
        "matrix_delta.svg",
        "accuracy_curves.png",
    ] {
        assert!(heat.join(figure).is_file(), "{figure} is missing");
    }
    let page = output_of(&store, "page");
    let html = std::fs::read_to_string(page.join("index.html")).expect("index.html");
    for section in ["heat", "gap", "difficulties", "steps"] {
        assert!(html.contains(section), "the page lacks {section}");
    }
    let mut args = vec![
        "open",
        "page",
        "--store",
        &store,
        "--spec",
        "experiments/quickstart.rung",
    ];
    args.extend(SIZE);
    let open = rung(&root(), &args);
    assert_eq!(open.code, 0, "{}", open.stderr);
    let shown = PathBuf::from(open.stdout.trim());
    assert!(
        shown.ends_with("index.html") && shown.is_file(),
        "{}",
        open.stdout
    );

    figures_load_in_chromium(&shown);

    let again = run(&store, &[]);
    assert_eq!(again.code, 0);
    assert!(
        summary(&again).starts_with("done: 0 ran"),
        "{}",
        summary(&again)
    );

    // 4 fine-tuning runs, their 16 evaluations, the matrix, the gain by gap and the page: the
    // zero-shot row, the population, IRT, bins and the other reports stay cached.
    let changed = run(&store, &["--set", "sft_lr=3e-4"]);
    assert_eq!(changed.code, 0, "{}{}", changed.stdout, changed.stderr);
    assert!(
        summary(&changed).starts_with("done: 23 ran"),
        "{}",
        summary(&changed)
    );
}
