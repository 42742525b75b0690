//! Opens report pages in headless Chromium and checks, from the page's own marker, that every
//! figure loads from `file://` with no network; a page with a file removed must say so.
//!
//! Chromium comes from `scripts/chromium.sh` (installed with apt when missing and run as root);
//! only when that script fails is the test skipped, with the reason printed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use resvg::tiny_skia::Pixmap;
use rung_report::{
    Formats, GapOptions, Matrix, Page, Section, write_gain_by_gap, write_generalization_matrix,
    write_html,
};

/// The workspace root, where `scripts/` lives.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate lies in the workspace")
        .to_path_buf()
}

/// The Chromium binary, or why there is none.
fn chromium() -> Result<String, String> {
    let output = Command::new("bash")
        .arg(root().join("scripts/chromium.sh"))
        .output()
        .map_err(|e| format!("cannot run scripts/chromium.sh: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "scripts/chromium.sh failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let path = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if path.is_empty() {
        return Err("scripts/chromium.sh printed no path".to_string());
    }
    Ok(path)
}

/// A 4-bin matrix with a baseline and one missing cell; `shift` moves every value.
fn matrix(title: &str, shift: f64) -> Matrix {
    let labels: Vec<String> = (0..4).map(|b| b.to_string()).collect();
    let base = |e: usize| 0.8 - 0.15 * e as f64 + shift;
    Matrix {
        title: title.to_string(),
        metric: "exact_match".to_string(),
        train_labels: labels.clone(),
        eval_labels: labels,
        values: (0..4)
            .map(|t| {
                (0..4)
                    .map(|e| {
                        let gap = e as f64 - t as f64;
                        ((t, e) != (3, 0)).then(|| base(e) + 0.1 - 0.04 * gap.abs())
                    })
                    .collect()
            })
            .collect(),
        items: vec![vec![50; 4]; 4],
        baseline: Some((0..4).map(|e| Some(base(e))).collect()),
        baseline_label: "zero-shot".to_string(),
    }
}

/// Writes the artifacts of two report nodes and a page over them into `dir`; returns the page's
/// folder.
fn write_page(dir: &Path) -> PathBuf {
    let heat = dir.join("nodes/heat");
    let gap = dir.join("nodes/gap");
    fs::create_dir_all(&heat).expect("created");
    fs::create_dir_all(&gap).expect("created");
    write_generalization_matrix(&matrix("toy <model>", 0.0), &Formats::ALL, &heat)
        .expect("the matrix report");
    let matrices = vec![
        ("model a".to_string(), matrix("a", 0.0)),
        ("model b".to_string(), matrix("b", 0.05)),
    ];
    let options = GapOptions {
        bootstrap: 200,
        ..GapOptions::default()
    };
    write_gain_by_gap(&matrices, &options, &gap).expect("the gap report");
    let page = Page {
        title: "Browser test".to_string(),
        notes: Some("Figures must load offline.".to_string()),
        sections: vec![
            Section {
                name: "heat".to_string(),
                op: "generalization_matrix".to_string(),
                dir: heat,
                provenance: Some(serde_json::json!({"operation": "generalization_matrix"})),
            },
            Section {
                name: "gap".to_string(),
                op: "gain_by_gap".to_string(),
                dir: gap,
                provenance: None,
            },
        ],
    };
    let out = dir.join("page");
    write_html(&page, &out).expect("the page");
    out
}

/// The `data-figures` marker of the page once loaded, from Chromium's dumped DOM.
fn marker(chromium: &str, page: &Path) -> String {
    let url = format!("file://{}", page.join("index.html").display());
    let output = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=5000",
            "--dump-dom",
            &url,
        ])
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&output.stdout);
    let start = dom.find("data-figures=\"").unwrap_or_else(|| {
        panic!(
            "no marker in the DOM; stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    }) + "data-figures=\"".len();
    let end = dom[start..].find('"').expect("a closed attribute") + start;
    dom[start..end].to_string()
}

#[test]
fn every_figure_loads_in_chromium_and_a_missing_one_is_reported() {
    let chromium = match chromium() {
        Ok(path) => path,
        Err(why) => {
            eprintln!("skipping the browser test: {why}");
            return;
        }
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let page = write_page(dir.path());
    // Three figures of the matrix (absolute, delta, curves) and the gain by gap.
    assert_eq!(marker(&chromium, &page), "ok 4");

    let screenshot = dir.path().join("page.png");
    let status = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--virtual-time-budget=5000",
            "--window-size=1200,1600",
            &format!("--screenshot={}", screenshot.display()),
            &format!("file://{}", page.join("index.html").display()),
        ])
        .output()
        .expect("chromium runs");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let pixmap = Pixmap::decode_png(&fs::read(&screenshot).expect("a screenshot")).expect("a PNG");
    assert_eq!((pixmap.width(), pixmap.height()), (1200, 1600));
    let first = pixmap.pixels()[0];
    let differing = pixmap.pixels().iter().filter(|p| **p != first).count();
    assert!(
        differing > 50_000,
        "the screenshot is nearly one colour ({differing} pixels differ)"
    );
    if let Ok(keep) = std::env::var("RUNG_REPORT_SCREENSHOT") {
        fs::copy(&screenshot, &keep).expect("the screenshot is kept");
    }

    // The same page with one figure removed: the marker names it.
    fs::remove_file(page.join("heat/matrix_delta.svg")).expect("removed");
    assert_eq!(marker(&chromium, &page), "broken: heat/matrix_delta.svg");
}
