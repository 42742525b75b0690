//! The catalog rendered for people: plain-text help for `rung help` and the markdown reference.
//!
//! Everything here is derived from a [`Catalog`], so the help and `docs/stdlib.md` cannot drift
//! from what the checker enforces.

use std::fmt::Write;

use rung_engine::{ArtifactKind, Catalog, EnumDef, OpSignature, ParamSig, RecordSchema, Type};

/// Signatures longer than this are written one parameter per line.
const WIDTH: usize = 88;

/// The command that rewrites `docs/stdlib.md`.
const REGENERATE: &str = "RUNG_BLESS=1 cargo test -p rung-stdlib";

/// A plain-text overview: every operation grouped by the kind it produces, then the kinds, enums
/// and record types.
pub fn overview(catalog: &Catalog) -> String {
    let mut out = String::from(
        "rung standard library\n\nOperations, by the kind of artifact they produce:\n",
    );
    for kind in catalog.kinds() {
        let ops: Vec<_> = catalog
            .ops()
            .iter()
            .filter(|op| op.output == kind.name)
            .collect();
        if ops.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n  {}", kind.name);
        let rows: Vec<_> = ops
            .iter()
            .map(|op| (op.name.to_owned(), op.doc.to_owned()))
            .collect();
        table(&mut out, "    ", &rows);
    }
    out.push_str("\nArtifact kinds (the declaration keywords):\n");
    let rows: Vec<_> = catalog
        .kinds()
        .iter()
        .map(|kind| {
            let doc = match kind.parent {
                Some(parent) => format!("{} (a {parent})", kind.doc),
                None => kind.doc.to_owned(),
            };
            (kind.name.to_owned(), doc)
        })
        .collect();
    table(&mut out, "  ", &rows);
    out.push_str("\nEnums:\n");
    let rows: Vec<_> = catalog
        .enums()
        .iter()
        .map(|def| (def.name.to_owned(), variant_words(def)))
        .collect();
    table(&mut out, "  ", &rows);
    out.push_str("\nRecord types:\n");
    let rows: Vec<_> = catalog
        .records()
        .iter()
        .map(|rec| (rec.name.to_owned(), rec.doc.to_owned()))
        .collect();
    table(&mut out, "  ", &rows);
    out.push_str("\n`rung help NAME` explains an operation, kind, enum or record type.\n");
    out
}

/// Plain-text help for the operation, kind, enum or record type called `name`, if there is one.
pub fn topic(catalog: &Catalog, name: &str) -> Option<String> {
    if let Some(op) = catalog.op(name) {
        return Some(op_topic(catalog, op));
    }
    if let Some(kind) = catalog.kind(name) {
        return Some(kind_topic(catalog, kind));
    }
    if let Some(def) = catalog.enum_def(name) {
        return Some(enum_topic(catalog, def));
    }
    catalog.record(name).map(|rec| record_topic(catalog, rec))
}

/// The whole reference as markdown; `docs/stdlib.md` holds exactly this text.
pub fn markdown(catalog: &Catalog) -> String {
    let mut out = String::new();
    out.push_str("# Standard library reference\n\n");
    let _ = writeln!(
        out,
        "<!-- Generated from the catalog by `rung_stdlib::reference::markdown`; do not edit. \
         Regenerate with `{REGENERATE}`. -->\n"
    );
    out.push_str(
        "Every operation a spec can call, with its parameters, types, defaults and output kind; \
         the artifact kinds that are the declaration keywords; and the enums and record types that \
         parameters use. `rung help NAME` prints the same text for one entry.\n\n",
    );
    out.push_str("- [Operations](#operations)\n");
    for kind in catalog.kinds() {
        if catalog.ops().iter().any(|op| op.output == kind.name) {
            let _ = writeln!(out, "  - [Producing `{0}`](#producing-{0})", kind.name);
        }
    }
    out.push_str(
        "- [Artifact kinds](#artifact-kinds)\n- [Enums](#enums)\n- [Record types](#record-types)\n",
    );

    out.push_str("\n## Operations\n");
    for kind in catalog.kinds() {
        let ops: Vec<_> = catalog
            .ops()
            .iter()
            .filter(|op| op.output == kind.name)
            .collect();
        if ops.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n### Producing `{}`", kind.name);
        for op in ops {
            let _ = writeln!(out, "\n#### `{}`\n", op.name);
            let _ = writeln!(out, "```text\n{}\n```\n", signature(op));
            let _ = writeln!(out, "{} (version {})\n", op.doc, op.version);
            param_table(&mut out, "Parameter", &op.params);
        }
    }

    out.push_str("\n## Artifact kinds\n\nA declaration's keyword names the kind of artifact it holds; a kind stands in for its parents.\n");
    for kind in catalog.kinds() {
        let _ = writeln!(out, "\n### `{}`\n\n{}\n", kind.name, kind.doc);
        for (label, text) in kind_facts(catalog, kind) {
            let _ = writeln!(out, "- {label}: {text}");
        }
    }

    out.push_str("\n## Enums\n");
    for def in catalog.enums() {
        let _ = writeln!(out, "\n### `{}`\n\n{}\n", def.name, def.doc);
        out.push_str("| Word | Meaning |\n|---|---|\n");
        for (word, doc) in &def.variants {
            let _ = writeln!(out, "| `{word}` | {} |", cell(doc));
        }
        let users = users(catalog, def.name);
        if !users.is_empty() {
            let _ = writeln!(out, "\nUsed by: {}.", code_list(&users));
        }
    }

    out.push_str("\n## Record types\n\nA record's omitted fields take their defaults; `{ preset; field = value }` overrides one.\n");
    for rec in catalog.records() {
        let _ = writeln!(out, "\n### `{}`\n\n{}\n", rec.name, rec.doc);
        param_table(&mut out, "Field", &rec.fields);
        let users = users(catalog, rec.name);
        if !users.is_empty() {
            let _ = writeln!(out, "\nUsed by: {}.", code_list(&users));
        }
    }
    out
}

/// `name(param: type = default, ...) -> output`, on one line when it fits.
fn signature(op: &OpSignature) -> String {
    let params: Vec<_> = op.params.iter().map(param_head).collect();
    let one_line = format!("{}({}) -> {}", op.name, params.join(", "), op.output);
    if one_line.len() <= WIDTH {
        return one_line;
    }
    let mut out = format!("{}(\n", op.name);
    for param in params {
        let _ = writeln!(out, "    {param},");
    }
    let _ = write!(out, ") -> {}", op.output);
    out
}

/// `name: type` followed by ` = default` when the parameter has an explicit default.
fn param_head(param: &ParamSig) -> String {
    match &param.default {
        Some(value) => format!("{}: {} = {value}", param.name, param.ty),
        None => format!("{}: {}", param.name, param.ty),
    }
}

/// What the spec gets when it leaves the parameter out, in words.
fn default_text(param: &ParamSig) -> String {
    match param.default_value() {
        Some(value) => value.to_string(),
        None => "required".to_owned(),
    }
}

fn op_topic(catalog: &Catalog, op: &OpSignature) -> String {
    let mut out = format!("{}\n\n{}\n", signature(op), op.doc);
    out.push_str("\nParameters:\n");
    params_text(&mut out, catalog, &op.params);
    let _ = writeln!(
        out,
        "\nProduces a `{}` artifact. Version {}; the version is part of every node's key.",
        op.output, op.version
    );
    out
}

fn kind_topic(catalog: &Catalog, kind: &ArtifactKind) -> String {
    let mut out = format!("kind {}: {}\n\n", kind.name, kind.doc);
    for (label, text) in kind_facts(catalog, kind) {
        let _ = writeln!(out, "{label}: {text}");
    }
    out
}

fn enum_topic(catalog: &Catalog, def: &EnumDef) -> String {
    let mut out = format!("enum {}: {}\n\n", def.name, def.doc);
    let rows: Vec<_> = def
        .variants
        .iter()
        .map(|(word, doc)| ((*word).to_owned(), (*doc).to_owned()))
        .collect();
    table(&mut out, "  ", &rows);
    let users = users(catalog, def.name);
    if !users.is_empty() {
        let _ = writeln!(out, "\nUsed by: {}", users.join(", "));
    }
    out
}

fn record_topic(catalog: &Catalog, rec: &RecordSchema) -> String {
    let mut out = format!(
        "record {}: {}\n\nFields (omitted ones take their defaults):\n",
        rec.name, rec.doc
    );
    params_text(&mut out, catalog, &rec.fields);
    let users = users(catalog, rec.name);
    if !users.is_empty() {
        let _ = writeln!(out, "\nUsed by: {}", users.join(", "));
    }
    out
}

/// Each parameter's head, then its doc and, for enums and records, where to read on.
fn params_text(out: &mut String, catalog: &Catalog, params: &[ParamSig]) {
    for param in params {
        let status = match (&param.default, &param.ty) {
            (Some(_), _) => String::new(),
            (None, Type::Optional(_)) => " (optional)".to_owned(),
            (None, _) => " (required)".to_owned(),
        };
        let _ = writeln!(out, "  {}{status}\n      {}", param_head(param), param.doc);
        let named = named_type(&param.ty);
        if let Some(def) = named.and_then(|name| catalog.enum_def(name)) {
            let _ = writeln!(out, "      One of: {}.", variant_words(def));
        } else if let Some(rec) = named.and_then(|name| catalog.record(name)) {
            let _ = writeln!(out, "      See `rung help {}`.", rec.name);
        }
    }
}

/// Labelled facts about a kind: parents, indexing, members, producers and consumers.
fn kind_facts(catalog: &Catalog, kind: &ArtifactKind) -> Vec<(&'static str, String)> {
    let mut facts = Vec::new();
    let mut parents = Vec::new();
    let mut current = kind.parent;
    while let Some(name) = current {
        parents.push(name);
        current = catalog.kind(name).and_then(|k| k.parent);
    }
    if !parents.is_empty() {
        facts.push(("Stands in for", code_list(&parents)));
    }
    let children: Vec<_> = catalog
        .kinds()
        .iter()
        .filter(|k| k.parent == Some(kind.name))
        .map(|k| k.name)
        .collect();
    if !children.is_empty() {
        facts.push(("Also accepts", code_list(&children)));
    }
    if let Some(index) = &kind.index {
        facts.push((
            "Indexing",
            format!("`x[i]` means `{}(x, {} = i)`", index.op, index.param),
        ));
    }
    if !kind.members.is_empty() {
        let members: Vec<_> = kind
            .members
            .iter()
            .map(|member| {
                let args: Vec<_> = member
                    .params
                    .iter()
                    .map(|(name, value)| format!(", {name} = {value}"))
                    .collect();
                format!(
                    "`x.{}` means `{}(x{})`",
                    member.name,
                    member.op,
                    args.concat()
                )
            })
            .collect();
        facts.push(("Members", members.join("; ")));
    }
    let producers: Vec<_> = catalog
        .ops()
        .iter()
        .filter(|op| op.output == kind.name)
        .map(|op| op.name)
        .collect();
    if !producers.is_empty() {
        facts.push(("Produced by", code_list(&producers)));
    }
    let takers = users(catalog, kind.name);
    if !takers.is_empty() {
        facts.push(("Taken by", code_list(&takers)));
    }
    facts
}

/// `op.param` and `Record.field` entries whose type names `name`.
fn users(catalog: &Catalog, name: &str) -> Vec<String> {
    let mut found = Vec::new();
    for op in catalog.ops() {
        for param in &op.params {
            if mentions(&param.ty, name) {
                found.push(format!("{}.{}", op.name, param.name));
            }
        }
    }
    for rec in catalog.records() {
        for field in &rec.fields {
            if mentions(&field.ty, name) {
                found.push(format!("{}.{}", rec.name, field.name));
            }
        }
    }
    found
}

fn mentions(ty: &Type, name: &str) -> bool {
    named_type(ty) == Some(name)
}

/// The enum, record or kind a type is built from, through lists, families and options.
fn named_type(ty: &Type) -> Option<&'static str> {
    match ty {
        Type::Enum(name) | Type::Record(name) | Type::Artifact(name) => Some(name),
        Type::List(of) | Type::Family(of, _) | Type::Optional(of) => named_type(of),
        Type::Int | Type::Float | Type::Bool | Type::Str | Type::File => None,
    }
}

fn variant_words(def: &EnumDef) -> String {
    def.variants
        .iter()
        .map(|(word, _)| *word)
        .collect::<Vec<_>>()
        .join(" | ")
}

fn code_list<S: AsRef<str>>(names: &[S]) -> String {
    names
        .iter()
        .map(|name| format!("`{}`", name.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Two aligned columns.
fn table(out: &mut String, indent: &str, rows: &[(String, String)]) {
    let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    for (name, doc) in rows {
        let _ = writeln!(out, "{indent}{name:width$}  {doc}");
    }
}

fn param_table(out: &mut String, first: &str, params: &[ParamSig]) {
    let _ = writeln!(
        out,
        "| {first} | Type | Default | Description |\n|---|---|---|---|"
    );
    for param in params {
        let default = match param.default_value() {
            Some(_) => format!("`{}`", cell(&default_text(param))),
            None => "required".to_owned(),
        };
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {default} | {} |",
            param.name,
            cell(&param.ty.to_string()),
            cell(param.doc)
        );
    }
}

/// Text safe inside a markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}
