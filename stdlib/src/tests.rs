//! Consistency checks of the catalog, and the check that `docs/stdlib.md` is up to date.

use std::path::PathBuf;

use rung_engine::{Catalog, ParamSig, Type, Value};

use crate::{catalog, reference};

/// Why `value` is not a valid value of `ty`, if it is not.
fn conforms(catalog: &Catalog, value: &Value, ty: &Type) -> Result<(), String> {
    let mismatch = || Err(format!("`{value}` is not a {ty}"));
    match (ty, value) {
        (Type::Optional(_), Value::Null) => Ok(()),
        (Type::Optional(of), _) => conforms(catalog, value, of),
        (Type::Int, Value::Int(_))
        | (Type::Float, Value::Float(_) | Value::Int(_))
        | (Type::Bool, Value::Bool(_))
        | (Type::Str, Value::Str(_))
        | (Type::File, Value::File(_)) => Ok(()),
        (Type::Enum(name), Value::Enum(word)) => match catalog.enum_def(name) {
            Some(def) if def.has(word) => Ok(()),
            Some(_) => Err(format!("`{word}` is not a variant of {name}")),
            None => Err(format!("unknown enum {name}")),
        },
        (Type::List(of), Value::List(items)) => items
            .iter()
            .try_for_each(|item| conforms(catalog, item, of)),
        (Type::Record(name), Value::Record(fields)) => {
            let schema = catalog
                .record(name)
                .ok_or(format!("unknown record {name}"))?;
            for (field, value) in fields {
                let sig = schema
                    .field(field)
                    .ok_or(format!("{name} has no field `{field}`"))?;
                conforms(catalog, value, &sig.ty).map_err(|e| format!("{name}.{field}: {e}"))?;
            }
            for sig in &schema.fields {
                if !fields.contains_key(sig.name) && sig.default_value().is_none() {
                    return Err(format!("{name}.{} is required", sig.name));
                }
            }
            Ok(())
        }
        // Artifacts and families are never literal values, so they cannot have defaults.
        _ => mismatch(),
    }
}

/// Every parameter and record field in the catalog, named `owner.name`.
fn all_params(catalog: &Catalog) -> Vec<(String, &ParamSig)> {
    let ops = catalog
        .ops()
        .iter()
        .flat_map(|op| op.params.iter().map(move |p| (op.name, p)));
    let fields = catalog
        .records()
        .iter()
        .flat_map(|r| r.fields.iter().map(move |f| (r.name, f)));
    ops.chain(fields)
        .map(|(owner, p)| (format!("{owner}.{}", p.name), p))
        .collect()
}

fn check_names(catalog: &Catalog, ty: &Type, context: &str) {
    match ty {
        Type::Enum(name) => assert!(
            catalog.enum_def(name).is_some(),
            "{context}: no enum {name}"
        ),
        Type::Record(name) => assert!(
            catalog.record(name).is_some(),
            "{context}: no record {name}"
        ),
        Type::Artifact(name) => assert!(catalog.kind(name).is_some(), "{context}: no kind {name}"),
        Type::List(of) | Type::Family(of, _) | Type::Optional(of) => {
            check_names(catalog, of, context)
        }
        Type::Int | Type::Float | Type::Bool | Type::Str | Type::File => {}
    }
}

#[test]
fn every_output_and_parent_is_a_declared_kind() {
    let catalog = catalog();
    for op in catalog.ops() {
        assert!(
            catalog.kind(op.output).is_some(),
            "{} outputs unknown kind {}",
            op.name,
            op.output
        );
    }
    for kind in catalog.kinds() {
        if let Some(parent) = kind.parent {
            assert!(
                catalog.kind(parent).is_some(),
                "{}'s parent {parent} is unknown",
                kind.name
            );
        }
    }
}

#[test]
fn every_named_type_is_declared() {
    let catalog = catalog();
    for (name, param) in all_params(catalog) {
        check_names(catalog, &param.ty, &name);
    }
}

#[test]
fn every_default_conforms_to_its_type() {
    let catalog = catalog();
    for (name, param) in all_params(catalog) {
        if let Some(Err(why)) = param
            .default
            .as_ref()
            .map(|d| conforms(catalog, d, &param.ty))
        {
            panic!("default of {name}: {why}");
        }
    }
}

#[test]
fn the_conformance_checker_rejects_what_it_should() {
    let catalog = catalog();
    let bad = [
        (Value::Float(1.0), Type::Int),
        (Value::Enum("4pl".into()), Type::Enum("IrtModel")),
        (
            Value::List(vec![Value::Int(1), Value::Str("x".into())]),
            Type::list(Type::Int),
        ),
        (Value::Record(Default::default()), Type::Record("Filter")),
        (Value::Null, Type::Str),
    ];
    for (value, ty) in bad {
        assert!(
            conforms(catalog, &value, &ty).is_err(),
            "{value} accepted as {ty}"
        );
    }
    assert!(conforms(catalog, &Value::Int(3), &Type::optional(Type::Float)).is_ok());
}

#[test]
fn every_declaration_is_documented_and_every_op_is_at_its_version() {
    let catalog = catalog();
    let sentence = |doc: &str| !doc.is_empty() && doc.ends_with('.');
    // Version 2: the items carried along the difficulty chain, and PNGs of the IRT report.
    let second = [
        "response_matrix",
        "irt",
        "quantile_bins",
        "equal_width_bins",
        "edge_bins",
        "difficulty_report",
    ];
    for op in catalog.ops() {
        let expected = if second.contains(&op.name) { 2 } else { 1 };
        assert_eq!(op.version, expected, "{}", op.name);
        assert!(sentence(op.doc), "{} needs a doc sentence", op.name);
        let mut names: Vec<_> = op.params.iter().map(|p| p.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(
            names.len(),
            op.params.len(),
            "{} repeats a parameter",
            op.name
        );
    }
    for (name, param) in all_params(catalog) {
        assert!(sentence(param.doc), "{name} needs a doc sentence");
    }
    for def in catalog.enums() {
        assert!(sentence(def.doc), "{} needs a doc sentence", def.name);
        for (word, doc) in &def.variants {
            assert!(sentence(doc), "{}.{word} needs a doc sentence", def.name);
        }
    }
    for kind in catalog.kinds() {
        assert!(sentence(kind.doc), "{} needs a doc sentence", kind.name);
    }
    for rec in catalog.records() {
        assert!(sentence(rec.doc), "{} needs a doc sentence", rec.name);
    }
}

#[test]
fn sugar_calls_ops_that_take_the_artifact_first() {
    let catalog = catalog();
    let takes_kind = |op_name: &str, kind: &str| {
        let op = catalog
            .op(op_name)
            .unwrap_or_else(|| panic!("no op {op_name}"));
        let first = op
            .params
            .first()
            .unwrap_or_else(|| panic!("{op_name} takes nothing"));
        match &first.ty {
            Type::Artifact(expected) => assert!(
                catalog.is_kind_of(kind, expected),
                "{op_name} takes {expected} first, not {kind}"
            ),
            other => panic!("{op_name} takes {other} first"),
        }
        op
    };
    for kind in catalog.kinds() {
        if let Some(index) = &kind.index {
            let op = takes_kind(index.op, kind.name);
            let param = op
                .param(index.param)
                .unwrap_or_else(|| panic!("{} lacks {}", op.name, index.param));
            assert_eq!(
                param.ty,
                Type::Int,
                "{}.{} must take an int index",
                op.name,
                param.name
            );
            let others_default = op.params[1..]
                .iter()
                .all(|p| p.name == index.param || p.default_value().is_some());
            assert!(
                others_default,
                "{x}[i] leaves a required parameter of {} unset",
                op.name,
                x = kind.name
            );
        }
        for member in &kind.members {
            let op = takes_kind(member.op, kind.name);
            for (name, value) in &member.params {
                let param = op
                    .param(name)
                    .unwrap_or_else(|| panic!("{} lacks {name}", op.name));
                conforms(catalog, value, &param.ty)
                    .unwrap_or_else(|why| panic!("{}.{name}: {why}", op.name));
            }
            for param in &op.params[1..] {
                let given = member.params.iter().any(|(name, _)| *name == param.name);
                assert!(
                    given || param.default_value().is_some(),
                    "{}.{} unset by .{}",
                    op.name,
                    param.name,
                    member.name
                );
            }
        }
    }
    // The two pieces of sugar the language relies on.
    assert_eq!(
        catalog
            .kind("bins")
            .and_then(|k| k.index.as_ref())
            .map(|i| i.op),
        Some("bin")
    );
    let members: Vec<_> = catalog
        .kind("items")
        .map(|k| k.members.iter().map(|m| m.name).collect())
        .unwrap_or_default();
    assert_eq!(members, ["train", "test"]);
}

#[test]
fn the_study_defaults_are_the_papers() {
    let catalog = catalog();
    let default = |op: &str, param: &str| {
        catalog
            .op(op)
            .and_then(|o| o.param(param))
            .and_then(ParamSig::default_value)
            .map(|v| v.to_string())
    };
    let expect = [
        ("sft", "epochs", "5"),
        ("sft", "lr", "5e-6"),
        ("sft", "schedule", "cosine"),
        ("sft", "warmup_ratio", "0.1"),
        ("sft", "weight_decay", "0.1"),
        ("sft", "beta2", "0.99"),
        ("sft", "max_grad_norm", "0.1"),
        ("sft", "micro_batch", "2"),
        ("sft", "max_length", "4096"),
        ("sft", "seed", "42"),
        ("sft", "completion_only", "true"),
        ("irt", "model", "1pl"),
        ("irt", "method", "mml"),
        ("quantile_bins", "n", "10"),
    ];
    for (op, param, value) in expect {
        assert_eq!(default(op, param).as_deref(), Some(value), "{op}.{param}");
    }
    assert!(catalog.is_kind_of("checkpoint", "model"));
    assert!(catalog.is_kind_of("matrix", "report"));
}

#[test]
fn help_covers_every_name() {
    let catalog = catalog();
    let names = catalog
        .ops()
        .iter()
        .map(|o| o.name)
        .chain(catalog.kinds().iter().map(|k| k.name))
        .chain(catalog.enums().iter().map(|e| e.name))
        .chain(catalog.records().iter().map(|r| r.name));
    for name in names {
        let text = reference::topic(catalog, name).unwrap_or_else(|| panic!("no help for {name}"));
        assert!(text.contains(name), "help for {name} does not name it");
    }
    assert_eq!(reference::topic(catalog, "no_such_thing"), None);
    let overview = reference::overview(catalog);
    for op in catalog.ops() {
        assert!(overview.contains(op.name), "overview lacks {}", op.name);
    }
    let sft = reference::topic(catalog, "sft").unwrap_or_default();
    assert!(
        sft.starts_with("sft(\n    model: model,\n    train: items,\n    epochs: int = 5,"),
        "{sft}"
    );
}

#[test]
fn docs_stdlib_md_is_generated_from_the_catalog() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.parent().unwrap_or(&manifest);
    let path = root.join("docs").join("stdlib.md");
    let expected = reference::markdown(catalog());
    if std::env::var_os("RUNG_BLESS").is_some() {
        std::fs::write(&path, &expected)
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    let found = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        found == expected,
        "{} is out of date with the catalog; regenerate it with `RUNG_BLESS=1 cargo test -p rung-stdlib`",
        path.display()
    );
}
