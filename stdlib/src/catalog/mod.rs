//! The standard library's declarations, one module per node family, gathered into one [`Catalog`].
//!
//! Each module adds its artifact kinds, enums, record schemas and operation signatures with a
//! `declare` function. Signatures are data: the type checker, `rung help` and `docs/stdlib.md` all
//! read them from here, so a parameter's type, default and doc live in exactly one place.

use rung_engine::signature::DuplicateName;
use rung_engine::{Catalog, EnumDef, OpSignature, ParamSig, RecordSchema, Type, Value};

mod bins;
mod evaluate;
mod external;
mod irt;
mod items;
mod kinds;
mod models;
mod report;
mod responses;
mod sft;
mod toy;

/// Builds the whole catalog; fails only if two declarations share a name.
pub(crate) fn build() -> Result<Catalog, DuplicateName> {
    let mut catalog = Catalog::new();
    kinds::declare(&mut catalog)?;
    items::declare(&mut catalog)?;
    responses::declare(&mut catalog)?;
    irt::declare(&mut catalog)?;
    bins::declare(&mut catalog)?;
    models::declare(&mut catalog)?;
    sft::declare(&mut catalog)?;
    external::declare(&mut catalog)?;
    evaluate::declare(&mut catalog)?;
    report::declare(&mut catalog)?;
    toy::declare(&mut catalog)?;
    Ok(catalog)
}

// Small constructors that keep the declarations readable as tables.

/// An operation at version 1.
fn op(
    name: &'static str,
    output: &'static str,
    doc: &'static str,
    params: Vec<ParamSig>,
) -> OpSignature {
    OpSignature {
        name,
        version: 1,
        doc,
        params,
        output,
    }
}

/// `signature` at a later version: its output changed, so every result cached under an
/// earlier one is recomputed.
fn at_version(version: u32, mut signature: OpSignature) -> OpSignature {
    signature.version = version;
    signature
}

/// An enum with documented variants.
fn enumeration(
    name: &'static str,
    doc: &'static str,
    variants: &[(&'static str, &'static str)],
) -> EnumDef {
    EnumDef {
        name,
        doc,
        variants: variants.to_vec(),
    }
}

/// A record schema.
fn record(name: &'static str, doc: &'static str, fields: Vec<ParamSig>) -> RecordSchema {
    RecordSchema { name, doc, fields }
}

/// A parameter the spec must give.
fn req(name: &'static str, ty: Type, doc: &'static str) -> ParamSig {
    ParamSig::required(name, ty, doc)
}

/// A parameter with a default.
fn def(name: &'static str, ty: Type, default: Value, doc: &'static str) -> ParamSig {
    ParamSig::with_default(name, ty, default, doc)
}

/// An optional parameter, `none` unless given.
fn opt(name: &'static str, of: Type, doc: &'static str) -> ParamSig {
    ParamSig::required(name, Type::optional(of), doc)
}

/// An input artifact of the given kind.
fn artifact(kind: &'static str) -> Type {
    Type::Artifact(kind)
}

fn int(i: i64) -> Value {
    Value::Int(i)
}

fn float(x: f64) -> Value {
    Value::Float(x)
}

fn boolean(b: bool) -> Value {
    Value::Bool(b)
}

fn string(s: &str) -> Value {
    Value::Str(s.to_owned())
}

fn word(w: &str) -> Value {
    Value::Enum(w.to_owned())
}

fn list(items: impl IntoIterator<Item = Value>) -> Value {
    Value::List(items.into_iter().collect())
}

/// The empty record: every field takes its default.
fn defaults() -> Value {
    Value::Record(Default::default())
}
