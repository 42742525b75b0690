//! The formatter against its fixtures: `tests/format/NAME.rung` formats to
//! `tests/format/NAME.expected.rung` (run with `UPDATE_EXPECT=1` to rewrite those), and for every
//! fixture (and every spec under `experiments/`) formatting is idempotent, keeps every comment in
//! order and keeps the syntax tree.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rung_lang::format::format_source;
use rung_lang::parser::parse_module;
use rung_lang::{Code, FileId, Sources};

fn file_id() -> FileId {
    Sources::new().add("spec.rung", Path::new("spec.rung"), String::new())
}

fn fmt(text: &str) -> String {
    format_source(file_id(), text).unwrap_or_else(|d| panic!("does not format: {d:#?}"))
}

/// The input fixtures, sorted, with their text.
fn fixtures() -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/format");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture directory")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".rung") && !name.ends_with(".expected.rung")
        })
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no fixtures in {}", dir.display());
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("fixture text");
            (p, text)
        })
        .collect()
}

/// Every input fixture and every expected output: all must satisfy the invariants.
fn all_texts() -> Vec<(String, String)> {
    let mut texts = Vec::new();
    for (path, text) in fixtures() {
        let expected = path.with_extension("expected.rung");
        if let Ok(out) = std::fs::read_to_string(&expected) {
            texts.push((expected.display().to_string(), out));
        }
        texts.push((path.display().to_string(), text));
    }
    texts.extend(INLINE.iter().map(|t| ("inline".to_string(), t.to_string())));
    texts.extend(experiments());
    texts
}

/// The example specs of the repository, which must hold the invariants too.
fn experiments() -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments")];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.map(|e| e.expect("directory entry").path()) {
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rung") {
                let text = std::fs::read_to_string(&path).expect("spec text");
                found.push((path.display().to_string(), text));
            }
        }
    }
    found
}

/// Small cases checked for the invariants along with the fixtures.
const INLINE: &[&str] = &[
    "",
    "\n\n\n",
    "// only a comment",
    "let a = 1",
    "let a = [\n]",
    "let a = f(\n)",
    "let a = f() { }",
    "let a = 1 let b = 2 // same line",
    "let a = f(x) // c\n{ y = 1 }",
    "let a = {\n\n\n    x = 1,\n\n\n\n    y = 2,\n\n}\n",
];

#[test]
fn fixtures_format_to_their_expected_output() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut failures = String::new();
    for (path, text) in fixtures() {
        let out = fmt(&text);
        let expected_path = path.with_extension("expected.rung");
        if update {
            std::fs::write(&expected_path, &out).expect("write expected output");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if out != expected {
            let _ = writeln!(
                failures,
                "--- {} (expected)\n{expected}\n--- formatted\n{out}",
                expected_path.display()
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{failures}\n(run with UPDATE_EXPECT=1 to accept)"
    );
}

#[test]
fn formatting_is_idempotent() {
    for (name, text) in all_texts() {
        let once = fmt(&text);
        let twice = fmt(&once);
        assert_eq!(once, twice, "{name}: formatting twice differs");
    }
}

fn comment_texts(text: &str) -> Vec<String> {
    let (module, diagnostics) = parse_module(file_id(), text);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let module = module.expect("parses");
    module.comments.into_iter().map(|c| c.text).collect()
}

/// Comments inside a declaration's head move above its doc comments (`docs_moved.rung`): the
/// one place where their order changes. Everywhere else it is kept.
#[test]
fn every_comment_is_kept_in_order() {
    for (name, text) in all_texts() {
        let mut before = comment_texts(&text);
        let mut after = comment_texts(&fmt(&text));
        if name.contains("docs_moved") {
            before.sort();
            after.sort();
        }
        assert_eq!(before, after, "{name}: comments differ");
    }
}

/// The shape of a parsed text (its tree without spans): equal shapes mean the same thing,
/// whatever the layout.
fn skeleton(text: &str) -> String {
    let (module, diagnostics) = parse_module(file_id(), text);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    module.expect("parses").shape()
}

#[test]
fn skeleton_ignores_spans_only() {
    assert_eq!(skeleton("let a = [1,2]"), skeleton("let   a=[\n1,\n2,\n]"));
    assert_ne!(skeleton("let a = [1, 2]"), skeleton("let a = [2, 1]"));
    assert_ne!(skeleton("/// d\nlet a = 1"), skeleton("/// d\n\nlet a = 1"));
}

#[test]
fn formatting_keeps_the_syntax_tree() {
    for (name, text) in all_texts() {
        let out = fmt(&text);
        assert_eq!(
            skeleton(&text),
            skeleton(&out),
            "{name}: meaning changed:\n{out}"
        );
    }
}

#[test]
fn syntax_errors_return_the_diagnostics() {
    let errors = format_source(file_id(), "let x = [1, 2\nlet y = 1").expect_err("syntax error");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, Code::Syntax);
    let errors = format_source(file_id(), "let x = 99999999999999999999").expect_err("too big");
    assert_eq!(errors[0].code, Code::IntOutOfRange);
    let errors = format_source(file_id(), r#"let x = "\q""#).expect_err("bad escape");
    assert_eq!(errors[0].code, Code::BadEscape);
}

#[test]
fn lines_break_past_column_100() {
    // 100 columns exactly stay on one line; 101 break.
    let fits = format!("let a = f({})\n", "x".repeat(100 - "let a = f()".len()));
    assert_eq!(fmt(&fits), fits);
    let long = format!("let a = f({})\n", "x".repeat(101 - "let a = f()".len()));
    assert_eq!(
        fmt(&long),
        format!("let a = f(\n    {},\n)\n", "x".repeat(90))
    );
}

#[test]
fn a_trailing_comment_does_not_count_for_width() {
    let text = format!("let a = f(x) // {}\n", "c".repeat(120));
    assert_eq!(fmt(&text), text);
}

/// A comment dropped at every gap between tokens of a fixture, one at a time: wherever it lands,
/// formatting keeps it, keeps the meaning and is idempotent.
#[test]
fn a_comment_anywhere_is_kept() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/format");
    for name in ["basic.rung", "literals.rung"] {
        let text = std::fs::read_to_string(dir.join(name)).expect("fixture");
        let count = comment_texts(&text).len();
        for (at, _) in text.match_indices([' ', '\n']) {
            // A doc comment where a newline follows, a plain one everywhere.
            let doc = text.get(at..=at) == Some("\n");
            for comment in ["// dropped\n", "/// dropped\n"]
                .iter()
                .take(1 + usize::from(doc))
            {
                let mut probe = text.clone();
                probe.insert_str(at, comment);
                let Ok(once) = format_source(file_id(), &probe) else {
                    continue; // inside a string literal
                };
                let mut before = comment_texts(&probe);
                if before.len() != count + 1 {
                    continue; // the comment swallowed code
                }
                assert_eq!(fmt(&once), once, "{name} at {at}: not idempotent");
                assert_eq!(skeleton(&probe), skeleton(&once), "{name} at {at}:\n{once}");
                let mut after = comment_texts(&once);
                before.sort();
                after.sort();
                assert_eq!(before, after, "{name} at {at}: comments differ");
            }
        }
    }
}

/// A spec of `decls` declarations of three lines each, every one with a comment above, one
/// inside a record and one after, plus a long list on one line.
fn big_spec(decls: usize) -> String {
    let mut text = String::new();
    for i in 0..decls {
        let _ = writeln!(
            text,
            "// item {i}\nlet v{i} = f(a{i}, {{ x = {i}, // inside\n y = [1, 2] }}) // after"
        );
    }
    let list: Vec<String> = (0..decls).map(|i| i.to_string()).collect();
    let _ = writeln!(text, "let all = [{}]", list.join(", "));
    text
}

/// Not a benchmark: a guard against quadratic comment placement, with a bound far above the
/// tens of milliseconds formatting takes (most of the time is parsing).
#[test]
fn a_ten_thousand_line_spec_formats_quickly() {
    let text = big_spec(3_400);
    assert!(text.lines().count() > 10_000);
    let start = Instant::now();
    let out = fmt(&text);
    let elapsed = start.elapsed();
    assert!(
        elapsed < Duration::from_secs(10),
        "10,000 lines took {elapsed:?} to format"
    );
    assert_eq!(comment_texts(&out), comment_texts(&text));
    assert_eq!(fmt(&out), out);
}
