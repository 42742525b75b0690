//! Writes a sample report (a simulated 10-bin study: heatmaps, curves, gain by gap, agreement and
//! the HTML page) into the folder given as the only argument, to look at the figures.
//!
//! `cargo run -p rung-report --example sample -- /tmp/rung-sample`

use std::fs;
use std::path::{Path, PathBuf};

use rung_report::{
    AgreementPoint, Correlation, Formats, GapOptions, Matrix, Page, ReportError, Section,
    write_agreement, write_gain_by_gap, write_generalization_matrix, write_html,
};

/// A simulated study: accuracy falls with the eval bin; training on a bin helps most there and
/// less with distance, and hurts far below it. `skill` shifts the model's accuracy.
fn simulated(title: &str, skill: f64, bins: usize) -> Matrix {
    let labels: Vec<String> = (0..bins).map(|b| b.to_string()).collect();
    let base = |e: usize| (0.92 - 0.08 * e as f64 + skill).clamp(0.02, 0.98);
    let values = (0..bins)
        .map(|t| {
            (0..bins)
                .map(|e| {
                    if t == 7 && e == 2 {
                        return None;
                    }
                    let gap = e as f64 - t as f64;
                    let gain = 0.12 * (-gap * gap / 6.0).exp() - 0.01 * gap.abs()
                        + 0.005 * ((t * 7 + e * 3) % 5) as f64;
                    Some((base(e) + gain).clamp(0.0, 1.0))
                })
                .collect()
        })
        .collect();
    Matrix {
        title: title.to_string(),
        metric: "exact_match".to_string(),
        train_labels: labels.clone(),
        eval_labels: labels,
        values,
        items: vec![vec![120; bins]; bins],
        baseline: Some((0..bins).map(|e| Some(base(e))).collect()),
        baseline_label: "zero-shot".to_string(),
    }
}

fn main() -> Result<(), ReportError> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "rung-sample".to_string()),
    );
    let dir = |name: &str| -> Result<PathBuf, ReportError> {
        let path = out.join("nodes").join(name);
        fs::create_dir_all(&path).map_err(|e| ReportError::io(&path, e))?;
        Ok(path)
    };
    let heat = dir("heat")?;
    let matrix = simulated("Qwen2.5-1.5B on GSM8K", 0.0, 10);
    write_generalization_matrix(&matrix, &Formats::ALL, &heat)?;

    let gap = dir("gap")?;
    let matrices: Vec<(String, Matrix)> = [
        ("Qwen2.5-1.5B GSM8K", 0.0),
        ("Qwen2.5-3B GSM8K", 0.05),
        ("Llama-3.2-1B GSM8K", -0.1),
        ("Llama-3.2-3B MATH", -0.2),
    ]
    .iter()
    .map(|(name, skill)| (name.to_string(), simulated(name, *skill, 10)))
    .collect();
    let options = GapOptions {
        title: "4 models".to_string(),
        seed: 7,
        ..GapOptions::default()
    };
    write_gain_by_gap(&matrices, &options, &gap)?;

    let agree = dir("agree")?;
    let points: Vec<AgreementPoint> = (0..600)
        .map(|k| {
            let level = (k % 5 + 1) as f64;
            let noise = ((k * 7919) % 1000) as f64 / 1000.0 - 0.5;
            AgreementPoint {
                id: format!("math-{k}"),
                irt: 0.6 * level - 1.8 + 2.0 * noise,
                heuristic: level,
            }
        })
        .collect();
    write_agreement(
        &points,
        "MATH level",
        Correlation::Spearman,
        "MATH",
        &Formats::ALL,
        &agree,
    )?;

    let provenance = |op: &str| {
        serde_json::json!({
            "operation": op,
            "version": 1,
            "params": {"baseline": "zero"},
            "rung": "0.1.0",
            "backend": "flex",
            "host": "example",
            "duration": "0.4s",
        })
    };
    let section = |name: &str, op: &str, dir: &Path| Section {
        name: name.to_string(),
        op: op.to_string(),
        dir: dir.to_path_buf(),
        provenance: Some(provenance(op)),
    };
    let page = Page {
        title: "Sample study".to_string(),
        notes: Some("Simulated data, drawn by the rung-report sample.".to_string()),
        sections: vec![
            section("heat", "generalization_matrix", &heat),
            section("gap", "gain_by_gap", &gap),
            section("agree", "difficulty_agreement", &agree),
        ],
    };
    write_html(&page, &out.join("page"))?;
    println!("{}", out.join("page").join("index.html").display());
    Ok(())
}
