//! Every spec in `experiments/` checks; its node keys are pinned; and neither formatting,
//! renaming nor reordering declarations changes any node's canonical form.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rung_lang::ast::{Expr, ExprKind, Item};
use rung_lang::{FileId, Program, check_file, format, parser};

fn experiments() -> Vec<PathBuf> {
    common::specs_under(&common::root().join("experiments"))
}

fn check(path: &Path) -> Program {
    let checked = check_file(path, rung_stdlib::catalog(), &[]);
    assert!(
        checked.diagnostics.is_empty(),
        "{}: {:#?}",
        path.display(),
        checked.diagnostics
    );
    checked.program.expect("a program")
}

/// The canonical forms of a program, as a set of form hashes (independent of node order).
fn forms(program: &Program) -> BTreeSet<String> {
    program
        .plan
        .nodes()
        .iter()
        .map(|n| n.form_hash.to_string())
        .collect()
}

fn relative(path: &Path) -> String {
    path.strip_prefix(common::root())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn every_experiment_checks_without_diagnostics() {
    let specs = experiments();
    assert!(specs.len() >= 10, "{specs:?}");
    for spec in specs {
        check(&spec);
    }
}

#[test]
fn every_evaluation_task_in_the_experiments_is_one_evaluate_accepts() {
    for spec in experiments() {
        let program = check(&spec);
        for node in program.plan.nodes().iter().filter(|n| n.op == "evaluate") {
            let task = node.params.iter().find(|(name, _)| name == "task").unwrap();
            let task = match rung_stdlib::ops::evaluate::task(&task.1) {
                Ok(task) => task,
                Err(error) => panic!("{}: {:?}: {error}", relative(&spec), node.labels),
            };
            // What every item offers, and the fields and metadata the loaders add.
            let loaded = [
                "solution", "category", "level", "type", "task", "subset", "src", "steps",
            ];
            for template in [&task.prompt, &task.target] {
                let parsed = rung_items::Template::parse(template).unwrap();
                for field in parsed.fields() {
                    assert!(
                        rung_items::template::BUILT_IN.contains(&field) || loaded.contains(&field),
                        "{}: {:?}: no item has a `{field}` field",
                        relative(&spec),
                        node.labels
                    );
                }
            }
        }
    }
}

#[test]
fn node_keys_of_the_experiments_are_pinned() {
    for spec in experiments() {
        let program = check(&spec);
        let mut table = String::new();
        for node in program.plan.nodes() {
            let label = if node.labels.is_empty() {
                "-".to_string()
            } else {
                node.labels.join(", ")
            };
            table.push_str(&format!(
                "{}  {}@{}  {label}\n",
                node.form_hash.short(16),
                node.op,
                node.version
            ));
        }
        let name = relative(&spec).replace(['/', '.'], "_");
        insta::with_settings!({ snapshot_path => common::root().join("tests/snapshots/keys"), prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(name, table);
        });
    }
}

/// Copies the experiments tree with every file formatted, so imports still resolve.
fn formatted_copy(name: &str) -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&target);
    for spec in experiments() {
        let text = std::fs::read_to_string(&spec).expect("readable");
        let once = format::format_source(FileId::default(), &text).expect("formats");
        let twice = format::format_source(FileId::default(), &once).expect("formats again");
        assert_eq!(
            once,
            twice,
            "{}: formatting is not idempotent",
            spec.display()
        );
        let comments = |t: &str| {
            let (module, _) = parser::parse_module(FileId::default(), t);
            module.map(|m| m.comments.into_iter().map(|c| c.text).collect::<Vec<_>>())
        };
        assert_eq!(
            comments(&text),
            comments(&once),
            "{}: comments changed",
            spec.display()
        );
        let out = target.join(
            spec.strip_prefix(common::root())
                .expect("inside the repository"),
        );
        std::fs::create_dir_all(out.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&out, once).expect("write");
    }
    target
}

#[test]
fn formatting_keeps_comments_and_every_canonical_form() {
    let copy = formatted_copy("formatted-experiments");
    for spec in experiments() {
        let formatted = copy.join(spec.strip_prefix(common::root()).expect("inside"));
        assert_eq!(
            forms(&check(&spec)),
            forms(&check(&formatted)),
            "{}",
            spec.display()
        );
    }
}

/// The spans of every declaration name and every bare reference to one.
fn name_spans(expr: &Expr, names: &BTreeSet<String>, out: &mut Vec<(usize, usize)>) {
    match &expr.kind {
        ExprKind::Name(name) if names.contains(name) => {
            out.push((expr.span.start as usize, expr.span.end as usize))
        }
        ExprKind::List(items) => items.iter().for_each(|e| name_spans(e, names, out)),
        ExprKind::Record(entries) => entries
            .iter()
            .for_each(|e| name_spans(&e.value, names, out)),
        ExprKind::Range(a, b) => {
            name_spans(a, names, out);
            name_spans(b, names, out);
        }
        ExprKind::Call(call) => {
            call.args
                .iter()
                .for_each(|a| name_spans(&a.value, names, out));
            if let Some(block) = &call.block {
                name_spans(block, names, out);
            }
        }
        ExprKind::Index(base, indices) => {
            name_spans(base, names, out);
            indices.iter().for_each(|e| name_spans(e, names, out));
        }
        ExprKind::Member(base, _) => name_spans(base, names, out),
        _ => {}
    }
}

/// Renames every declaration of `text` and reverses the order of its declarations.
fn rename_and_reorder(text: &str) -> String {
    let (module, diagnostics) = parser::parse_module(FileId::default(), text);
    assert!(diagnostics.is_empty());
    let module = module.expect("parses");
    let names: BTreeSet<String> = module
        .items
        .iter()
        .filter_map(|i| {
            if let Item::Decl(d) = i {
                Some(d.name.name.clone())
            } else {
                None
            }
        })
        .collect();
    let mut pieces = Vec::new();
    for item in &module.items {
        let span = item.span();
        let (start, end) = (span.start as usize, span.end as usize);
        let mut spans = Vec::new();
        if let Item::Decl(decl) = item {
            spans.push((decl.name.span.start as usize, decl.name.span.end as usize));
            decl.binders
                .iter()
                .for_each(|b| name_spans(&b.domain, &names, &mut spans));
            name_spans(&decl.value, &names, &mut spans);
        }
        spans.sort_unstable();
        let mut piece = String::new();
        let mut cursor = start;
        for (a, b) in spans {
            piece.push_str(&text[cursor..a]);
            piece.push_str("renamed_");
            piece.push_str(&text[a..b]);
            cursor = b;
        }
        piece.push_str(&text[cursor..end]);
        pieces.push((matches!(item, Item::Import(_)), piece));
    }
    let imports = pieces.iter().filter(|(i, _)| *i).map(|(_, p)| p.clone());
    let decls = pieces
        .iter()
        .rev()
        .filter(|(i, _)| !*i)
        .map(|(_, p)| p.clone());
    imports.chain(decls).collect::<Vec<_>>().join("\n")
}

#[test]
fn renaming_and_reordering_declarations_keeps_every_canonical_form() {
    let copy = Path::new(env!("CARGO_TARGET_TMPDIR")).join("renamed-experiments");
    let _ = std::fs::remove_dir_all(&copy);
    let root_specs: Vec<PathBuf> = experiments()
        .into_iter()
        .filter(|p| !p.components().any(|c| c.as_os_str() == "recipes"))
        .collect();
    for spec in experiments() {
        let out = copy.join(spec.strip_prefix(common::root()).expect("inside"));
        std::fs::create_dir_all(out.parent().expect("a parent")).expect("mkdir");
        let text = std::fs::read_to_string(&spec).expect("readable");
        let is_root = root_specs.contains(&spec)
            && !spec
                .components()
                .any(|c| c.as_os_str() == "cross-difficulty");
        std::fs::write(
            &out,
            if is_root {
                rename_and_reorder(&text)
            } else {
                text
            },
        )
        .expect("write");
    }
    let mut compared = 0;
    for spec in &root_specs {
        if spec
            .components()
            .any(|c| c.as_os_str() == "cross-difficulty")
        {
            continue;
        }
        let renamed = copy.join(spec.strip_prefix(common::root()).expect("inside"));
        let original = check(spec);
        let changed = check(&renamed);
        assert_eq!(forms(&original), forms(&changed), "{}", spec.display());
        assert!(
            changed
                .plan
                .nodes()
                .iter()
                .any(|n| n.labels.iter().any(|l| l.starts_with("renamed_")))
        );
        compared += 1;
    }
    assert!(compared >= 2);
}
