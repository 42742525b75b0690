//! Snapshots of the rendered diagnostics of invalid specs, one per file in `tests/specs/invalid`.
//!
//! A case is a `.rung` file (or a directory with a `main.rung`); a first line `// args: ...`
//! adds command-line arguments. Files starting with `_` are only imported by other cases.
//! Review changes with `cargo insta review`, or accept them with `INSTA_UPDATE=always`.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{root, rung};

fn invalid_dir() -> std::path::PathBuf {
    root().join("tests/specs/invalid")
}

/// Runs `rung check` on a case and returns its transcript.
fn run_case(dir: &Path, file: &str) -> common::Run {
    let text = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
    let mut args = vec!["check".to_string(), file.to_string()];
    if let Some(extra) = text.lines().next().and_then(|l| l.strip_prefix("// args:")) {
        args.extend(extra.split_whitespace().map(str::to_string));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    rung(dir, &args)
}

fn cases() -> Vec<(String, String)> {
    let dir = invalid_dir();
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("the invalid specs exist") {
        let path = entry.expect("entry").path();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        if name.starts_with('_') {
            continue;
        }
        if path.is_dir() {
            cases.push((name.clone(), format!("{name}/main.rung")));
        } else if path.extension().is_some_and(|e| e == "rung") {
            cases.push((name.clone(), format!("{name}.rung")));
        }
    }
    cases.sort();
    cases
}

fn snapshot(name: &str, transcript: &str) {
    insta::with_settings!({ snapshot_path => root().join("tests/snapshots/diagnostics"), prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, transcript);
    });
}

#[test]
fn every_invalid_spec_renders_its_diagnostics() {
    let dir = invalid_dir();
    let cases = cases();
    assert!(cases.len() >= 40, "only {} invalid specs", cases.len());
    for (name, file) in cases {
        let run = run_case(&dir, &file);
        let warning_only = run.stderr.contains("warning[") && !run.stderr.contains("error[");
        let expected = if warning_only { 0 } else { 1 };
        assert_eq!(run.code, expected, "{name}: {}", run.stderr);
        assert!(
            !run.stderr.contains("panicked"),
            "{name} panicked: {}",
            run.stderr
        );
        snapshot(&name, &run.transcript());
    }
}

#[test]
fn files_that_cannot_be_read_as_specs_get_located_errors() {
    let dir = tempfile_dir("unreadable");
    std::fs::write(dir.join("latin1.rung"), b"let a = \"caf\xe9\"\n").expect("write");
    let big = "let a = 1\n".repeat(1_700_000);
    std::fs::write(dir.join("huge.rung"), big).expect("write");
    for (name, file) in [
        ("not_utf8", "latin1.rung"),
        ("too_large", "huge.rung"),
        ("missing_root", "absent.rung"),
    ] {
        let run = rung(&dir, &["check", file]);
        assert_eq!(run.code, 1, "{name}: {}", run.stderr);
        snapshot(name, &run.transcript());
    }
}

#[test]
fn every_diagnostic_code_has_a_snapshot() {
    let dir = root().join("tests/snapshots/diagnostics");
    let mut seen = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("snapshots exist") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).unwrap_or_default();
        for code in rung_lang::Code::ALL {
            if text.contains(&format!("[{}]", code.as_str())) {
                seen.insert(code.as_str());
            }
        }
    }
    let missing: Vec<&str> = rung_lang::Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !seen.contains(c))
        .collect();
    assert!(missing.is_empty(), "codes without a snapshot: {missing:?}");
}

/// A fresh directory under the target directory for generated inputs.
fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}
