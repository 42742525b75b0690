//! The language's semantics, checked on small specs held in memory.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rung_engine::{
    ArtifactKind, Catalog, EnumDef, IndexSugar, OpSignature, ParamSig, Plan, Type, Value,
};
use rung_lang::loader::{FileSystem, ReadError};
use rung_lang::{Checked, Code, check_with};

/// Files held in memory.
struct Memory(HashMap<PathBuf, String>);

impl FileSystem for Memory {
    fn read(&self, path: &Path, _limit: u64) -> Result<Vec<u8>, ReadError> {
        self.0
            .get(path)
            .map(|t| t.clone().into_bytes())
            .ok_or_else(|| ReadError::Io(std::io::Error::from(std::io::ErrorKind::NotFound)))
    }

    fn identity(&self, path: &Path) -> PathBuf {
        let mut out = PathBuf::new();
        for part in path.components() {
            match part {
                std::path::Component::ParentDir => {
                    out.pop();
                }
                std::path::Component::CurDir => {}
                other => out.push(other),
            }
        }
        out
    }
}

/// A small catalog: data, a fit over it, and bins indexable into data subsets.
fn catalog() -> Catalog {
    let mut c = Catalog::new();
    let kind = |name, parent, index| ArtifactKind {
        name,
        doc: "",
        parent,
        index,
        members: vec![],
    };
    c.add_kind(kind("data", None, None)).unwrap();
    c.add_kind(kind("fit", None, None)).unwrap();
    c.add_kind(kind(
        "bins",
        None,
        Some(IndexSugar {
            op: "bin",
            param: "index",
        }),
    ))
    .unwrap();
    c.add_kind(kind("summary", None, None)).unwrap();
    c.add_enum(EnumDef {
        name: "Format",
        doc: "",
        variants: vec![("csv", ""), ("jsonl", "")],
    })
    .unwrap();
    let p = ParamSig::with_default;
    c.add_op(OpSignature {
        name: "load",
        version: 1,
        doc: "",
        params: vec![
            ParamSig::required("path", Type::File, ""),
            p(
                "format",
                Type::Enum("Format"),
                Value::Enum("csv".into()),
                "",
            ),
        ],
        output: "data",
    })
    .unwrap();
    c.add_op(OpSignature {
        name: "train",
        version: 3,
        doc: "",
        params: vec![
            ParamSig::required("data", Type::Artifact("data"), ""),
            p("lr", Type::Float, Value::Float(0.1), ""),
            p("seed", Type::Int, Value::Int(0), ""),
        ],
        output: "fit",
    })
    .unwrap();
    c.add_op(OpSignature {
        name: "split",
        version: 1,
        doc: "",
        params: vec![ParamSig::required("fit", Type::Artifact("fit"), "")],
        output: "bins",
    })
    .unwrap();
    c.add_op(OpSignature {
        name: "bin",
        version: 1,
        doc: "",
        params: vec![
            ParamSig::required("bins", Type::Artifact("bins"), ""),
            ParamSig::required("index", Type::Int, ""),
        ],
        output: "data",
    })
    .unwrap();
    c.add_op(OpSignature {
        name: "summarize",
        version: 1,
        doc: "",
        params: vec![ParamSig::required(
            "grid",
            Type::family(Type::Artifact("fit"), 2),
            "",
        )],
        output: "summary",
    })
    .unwrap();
    c
}

fn check(files: &[(&str, &str)], overrides: &[&str]) -> Checked {
    let fs = Memory(
        files
            .iter()
            .map(|(p, t)| (PathBuf::from(p), t.to_string()))
            .collect(),
    );
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    check_with(
        &fs,
        Path::new(files[0].0),
        files[0].0,
        &catalog(),
        &overrides,
    )
}

fn plan(files: &[(&str, &str)], overrides: &[&str]) -> Plan {
    let checked = check(files, overrides);
    assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
    checked.program.expect("a program").plan
}

fn codes(checked: &Checked) -> Vec<Code> {
    checked.diagnostics.iter().map(|d| d.code).collect()
}

fn param<'p>(plan: &'p Plan, label: &str, name: &str) -> &'p Value {
    let node = plan
        .nodes()
        .iter()
        .find(|n| n.labels.iter().any(|l| l == label))
        .expect("labelled node");
    &node
        .params
        .iter()
        .find(|(n, _)| n == name)
        .expect("param")
        .1
}

#[test]
fn defaults_are_filled_and_ints_become_floats() {
    let plan = plan(
        &[(
            "a.rung",
            "data d = load(\"x.csv\")\nfit f = train(d, lr = 1)\n",
        )],
        &[],
    );
    assert_eq!(param(&plan, "f", "lr"), &Value::Float(1.0));
    assert_eq!(param(&plan, "f", "seed"), &Value::Int(0));
    assert_eq!(param(&plan, "d", "format"), &Value::Enum("csv".into()));
    assert_eq!(param(&plan, "d", "path"), &Value::File("x.csv".into()));
}

#[test]
fn an_enum_word_wins_over_a_declaration_of_the_same_name_where_an_enum_is_expected() {
    let plan = plan(
        &[("a.rung", "data jsonl = load(\"x\", format = jsonl)\n")],
        &[],
    );
    assert_eq!(
        param(&plan, "jsonl", "format"),
        &Value::Enum("jsonl".into())
    );
}

#[test]
fn presets_spread_and_override_in_order() {
    let files = [
        (
            "main.rung",
            "import \"r.rung\"\ndata d = load(\"x\")\nfit f = train(d) { r.base; seed = 7 }\n",
        ),
        ("r.rung", "let base = { lr = 0.5, seed = 1 }\n"),
    ];
    let plan = plan(&files, &[]);
    assert_eq!(param(&plan, "f", "lr"), &Value::Float(0.5));
    assert_eq!(param(&plan, "f", "seed"), &Value::Int(7));
}

#[test]
fn set_overrides_params_of_the_root_and_of_imports() {
    let files = [
        (
            "main.rung",
            "import \"r.rung\"\nparam seed: int = 1\ndata d = load(\"x\")\nfit f = train(d, seed = seed, lr = r.lr)\n",
        ),
        ("r.rung", "param lr: float = 0.5\n"),
    ];
    let plan = plan(&files, &["seed=9", "r.lr=2e-3"]);
    assert_eq!(param(&plan, "f", "seed"), &Value::Int(9));
    assert_eq!(param(&plan, "f", "lr"), &Value::Float(2e-3));
}

#[test]
fn families_expand_and_identical_members_are_one_node() {
    let spec = "data d = load(\"x\")\nfit f[s in 0..3, t in [\"a\", \"b\"]] = train(d, seed = s)\n";
    let plan = plan(&[("a.rung", spec)], &[]);
    assert_eq!(plan.len(), 1 + 3);
    let f0 = plan
        .nodes()
        .iter()
        .find(|n| n.labels.contains(&"f[0, \"a\"]".to_string()))
        .unwrap();
    assert!(f0.labels.contains(&"f[0, \"b\"]".to_string()));
}

#[test]
fn sub_families_and_index_sugar() {
    let spec = "data d = load(\"x\")\nfit f = train(d)\nbins q = split(f)\n\
                fit g[m in [1, 2], b in 0..2, e in 0..3] = train(q[b], seed = e, lr = m)\n\
                summary s[m in [1, 2]] = summarize(g[m])\n";
    let plan = plan(&[("a.rung", spec)], &[]);
    let Value::List(cells) = param(&plan, "s[2]", "grid") else {
        panic!("a family value")
    };
    assert_eq!(cells.len(), 6);
    let Value::Record(first) = &cells[0] else {
        panic!()
    };
    assert_eq!(
        first["index"],
        Value::List(vec![Value::Int(0), Value::Int(0)])
    );
    assert!(
        plan.nodes()
            .iter()
            .any(|n| n.op == "bin" && n.labels.contains(&"q[1]".to_string()))
    );
}

#[test]
fn problems_in_a_family_body_are_reported_once() {
    let checked = check(
        &[(
            "a.rung",
            "data d = load(\"x\")\nfit f[i in 0..100] = train(d, lr = \"fast\")\n",
        )],
        &[],
    );
    assert_eq!(codes(&checked), [Code::TypeMismatch]);
    assert!(checked.program.is_none());
}

#[test]
fn every_error_of_a_file_is_reported() {
    let spec = "data d = load(\"x\", format = xml)\nfit f = train(d, lrr = 1)\nfit g = trian(d)\ndata e = load(\"y\")\nsummary s = summarize(e)\n";
    let checked = check(&[("a.rung", spec)], &[]);
    assert_eq!(
        codes(&checked),
        [
            Code::UnknownVariant,
            Code::UnknownParam,
            Code::UnknownOp,
            Code::TypeMismatch
        ]
    );
}

#[test]
fn import_cycles_and_missing_imports_are_located() {
    let checked = check(
        &[
            ("a.rung", "import \"b.rung\"\n"),
            ("b.rung", "import \"a.rung\"\n"),
        ],
        &[],
    );
    assert_eq!(codes(&checked), [Code::ImportCycle]);
    let checked = check(&[("a.rung", "import \"nope.rung\"\n")], &[]);
    assert_eq!(codes(&checked), [Code::Unreadable]);
}

#[test]
fn keys_do_not_depend_on_names_order_or_how_a_value_is_reached() {
    let a = plan(
        &[(
            "a.rung",
            "data d = load(\"x\")\nfit f = train(d, lr = 0.5)\n",
        )],
        &[],
    );
    let b = plan(
        &[(
            "a.rung",
            "let rate = 0.5\nfit model_fit = train(dataset) { lr = rate }\ndata dataset = load(\"x\", format = csv)\n",
        )],
        &[],
    );
    let hashes = |p: &Plan| {
        let mut h: Vec<_> = p.nodes().iter().map(|n| n.form_hash).collect();
        h.sort();
        h
    };
    assert_eq!(hashes(&a), hashes(&b));
}
