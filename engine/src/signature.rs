//! Operation signatures: the single description of what each operation accepts and produces.
//!
//! The stdlib declares its operations, enums, record schemas and artifact kinds in a [`Catalog`];
//! the language checks specs against it, `rung help` prints it and the docs are generated from it.

use std::collections::HashMap;
use std::fmt;

use crate::value::Value;

/// The type of a parameter, as declared by an operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    /// A 64-bit integer.
    Int,
    /// A 64-bit float (an integer is accepted and stored as a float).
    Float,
    /// A boolean.
    Bool,
    /// A string.
    Str,
    /// A path to an input file, relative to the data root; hashed by content.
    File,
    /// One of the words of the named [`EnumDef`].
    Enum(&'static str),
    /// A list of values of one type.
    List(Box<Type>),
    /// A record following the named [`RecordSchema`]; omitted fields take their defaults.
    Record(&'static str),
    /// The output of a node producing the named [`ArtifactKind`] (or one of its sub-kinds).
    Artifact(&'static str),
    /// A whole family of nodes (`grid[b in .., e in ..]`) with the given number of indices.
    Family(Box<Type>, usize),
    /// A value that may be left out (then `none`).
    Optional(Box<Type>),
}

impl Type {
    /// A list of `of`.
    pub fn list(of: Type) -> Type {
        Type::List(Box::new(of))
    }

    /// A family of `rank` indices whose members have type `of`.
    pub fn family(of: Type, rank: usize) -> Type {
        Type::Family(Box::new(of), rank)
    }

    /// An optional `of`.
    pub fn optional(of: Type) -> Type {
        Type::Optional(Box::new(of))
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Int => f.write_str("int"),
            Type::Float => f.write_str("float"),
            Type::Bool => f.write_str("bool"),
            Type::Str => f.write_str("string"),
            Type::File => f.write_str("file"),
            Type::Enum(name) | Type::Record(name) | Type::Artifact(name) => f.write_str(name),
            Type::List(of) => write!(f, "list[{of}]"),
            Type::Family(of, 1) => write!(f, "family[{of}]"),
            Type::Family(of, rank) => write!(f, "family[{of}; {rank}]"),
            Type::Optional(of) => write!(f, "{of}?"),
        }
    }
}

/// One parameter of an operation or one field of a record schema.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSig {
    /// The parameter's name.
    pub name: &'static str,
    /// Its type.
    pub ty: Type,
    /// The value used when the spec leaves it out; `None` makes the parameter required,
    /// except for optional types, which default to `none`.
    pub default: Option<Value>,
    /// One sentence saying what it does.
    pub doc: &'static str,
}

impl ParamSig {
    /// A parameter the spec must give.
    pub fn required(name: &'static str, ty: Type, doc: &'static str) -> ParamSig {
        ParamSig {
            name,
            ty,
            default: None,
            doc,
        }
    }

    /// A parameter with a default value.
    pub fn with_default(name: &'static str, ty: Type, default: Value, doc: &'static str) -> Self {
        ParamSig {
            name,
            ty,
            default: Some(default),
            doc,
        }
    }

    /// The value the parameter takes when the spec leaves it out, if it may be left out.
    pub fn default_value(&self) -> Option<Value> {
        match (&self.default, &self.ty) {
            (Some(value), _) => Some(value.clone()),
            (None, Type::Optional(_)) => Some(Value::Null),
            (None, _) => None,
        }
    }
}

/// An operation: a node family of the standard library.
#[derive(Debug, Clone, PartialEq)]
pub struct OpSignature {
    /// The name a spec calls it by.
    pub name: &'static str,
    /// The implementation version, part of every key; bumped when results would change.
    pub version: u32,
    /// What the operation computes.
    pub doc: &'static str,
    /// Parameters in positional order; inputs are parameters of artifact or family type.
    pub params: Vec<ParamSig>,
    /// The kind of artifact it produces.
    pub output: &'static str,
}

impl OpSignature {
    /// The parameter called `name`.
    pub fn param(&self, name: &str) -> Option<&ParamSig> {
        self.params.iter().find(|p| p.name == name)
    }
}

/// A closed set of words, such as the IRT models `1pl`, `2pl`, `3pl`.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumDef {
    /// The type's name.
    pub name: &'static str,
    /// What the choice is about.
    pub doc: &'static str,
    /// Each word with one sentence about it.
    pub variants: Vec<(&'static str, &'static str)>,
}

impl EnumDef {
    /// Whether `word` is one of the variants.
    pub fn has(&self, word: &str) -> bool {
        self.variants.iter().any(|(v, _)| *v == word)
    }
}

/// A named record type with typed, documented fields (e.g. an evaluation task).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordSchema {
    /// The type's name.
    pub name: &'static str,
    /// What such a record describes.
    pub doc: &'static str,
    /// Its fields; those without a default must be given.
    pub fields: Vec<ParamSig>,
}

impl RecordSchema {
    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&ParamSig> {
        self.fields.iter().find(|p| p.name == name)
    }
}

/// `x[i]` on an artifact of this kind means `op(x, param = i)`.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexSugar {
    /// The operation called.
    pub op: &'static str,
    /// The parameter that receives the index.
    pub param: &'static str,
}

/// `x.name` on an artifact of this kind means `op(x, params...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberSugar {
    /// The member's name.
    pub name: &'static str,
    /// The operation called.
    pub op: &'static str,
    /// The parameters passed besides the artifact itself.
    pub params: Vec<(&'static str, Value)>,
}

/// A kind of artifact that nodes produce, which is also a declaration keyword (`model base = ...`).
#[derive(Debug, Clone, PartialEq)]
pub struct ArtifactKind {
    /// The kind's name and declaration keyword.
    pub name: &'static str,
    /// What such an artifact holds.
    pub doc: &'static str,
    /// A kind this one can stand in for (a `checkpoint` is a `model`).
    pub parent: Option<&'static str>,
    /// What indexing an artifact of this kind means, if anything.
    pub index: Option<IndexSugar>,
    /// The members an artifact of this kind offers.
    pub members: Vec<MemberSugar>,
}

/// Everything the standard library declares, looked up by name.
#[derive(Debug, Default, Clone)]
pub struct Catalog {
    kinds: Vec<ArtifactKind>,
    enums: Vec<EnumDef>,
    records: Vec<RecordSchema>,
    ops: Vec<OpSignature>,
    by_name: HashMap<&'static str, Entry>,
}

#[derive(Debug, Clone, Copy)]
enum Entry {
    Kind(usize),
    Enum(usize),
    Record(usize),
    Op(usize),
}

/// Two declarations of a [`Catalog`] share a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateName(pub &'static str);

impl fmt::Display for DuplicateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the catalog declares `{}` twice", self.0)
    }
}

impl std::error::Error for DuplicateName {}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Catalog {
        Catalog::default()
    }

    fn claim(&mut self, name: &'static str, entry: Entry) -> Result<(), DuplicateName> {
        if self.by_name.insert(name, entry).is_some() {
            return Err(DuplicateName(name));
        }
        Ok(())
    }

    /// Declares an artifact kind.
    pub fn add_kind(&mut self, kind: ArtifactKind) -> Result<(), DuplicateName> {
        self.claim(kind.name, Entry::Kind(self.kinds.len()))?;
        self.kinds.push(kind);
        Ok(())
    }

    /// Declares an enum type.
    pub fn add_enum(&mut self, def: EnumDef) -> Result<(), DuplicateName> {
        self.claim(def.name, Entry::Enum(self.enums.len()))?;
        self.enums.push(def);
        Ok(())
    }

    /// Declares a record schema.
    pub fn add_record(&mut self, schema: RecordSchema) -> Result<(), DuplicateName> {
        self.claim(schema.name, Entry::Record(self.records.len()))?;
        self.records.push(schema);
        Ok(())
    }

    /// Declares an operation.
    pub fn add_op(&mut self, op: OpSignature) -> Result<(), DuplicateName> {
        self.claim(op.name, Entry::Op(self.ops.len()))?;
        self.ops.push(op);
        Ok(())
    }

    /// The artifact kind called `name`.
    pub fn kind(&self, name: &str) -> Option<&ArtifactKind> {
        match self.by_name.get(name) {
            Some(Entry::Kind(i)) => Some(&self.kinds[*i]),
            _ => None,
        }
    }

    /// The enum called `name`.
    pub fn enum_def(&self, name: &str) -> Option<&EnumDef> {
        match self.by_name.get(name) {
            Some(Entry::Enum(i)) => Some(&self.enums[*i]),
            _ => None,
        }
    }

    /// The record schema called `name`.
    pub fn record(&self, name: &str) -> Option<&RecordSchema> {
        match self.by_name.get(name) {
            Some(Entry::Record(i)) => Some(&self.records[*i]),
            _ => None,
        }
    }

    /// The operation called `name`.
    pub fn op(&self, name: &str) -> Option<&OpSignature> {
        match self.by_name.get(name) {
            Some(Entry::Op(i)) => Some(&self.ops[*i]),
            _ => None,
        }
    }

    /// All artifact kinds, in declaration order.
    pub fn kinds(&self) -> &[ArtifactKind] {
        &self.kinds
    }

    /// All enums, in declaration order.
    pub fn enums(&self) -> &[EnumDef] {
        &self.enums
    }

    /// All record schemas, in declaration order.
    pub fn records(&self) -> &[RecordSchema] {
        &self.records
    }

    /// All operations, in declaration order.
    pub fn ops(&self) -> &[OpSignature] {
        &self.ops
    }

    /// Whether an artifact of kind `found` can be used where `expected` is asked for.
    pub fn is_kind_of(&self, found: &str, expected: &str) -> bool {
        let mut current = Some(found);
        while let Some(name) = current {
            if name == expected {
                return true;
            }
            current = self.kind(name).and_then(|k| k.parent);
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(name: &'static str, parent: Option<&'static str>) -> ArtifactKind {
        ArtifactKind {
            name,
            doc: "",
            parent,
            index: None,
            members: vec![],
        }
    }

    #[test]
    fn sub_kinds_stand_in_for_their_parents_only() {
        let mut catalog = Catalog::new();
        catalog.add_kind(kind("model", None)).unwrap();
        catalog.add_kind(kind("checkpoint", Some("model"))).unwrap();
        assert!(catalog.is_kind_of("checkpoint", "model"));
        assert!(catalog.is_kind_of("model", "model"));
        assert!(!catalog.is_kind_of("model", "checkpoint"));
    }

    #[test]
    fn names_are_unique_across_all_declarations() {
        let mut catalog = Catalog::new();
        catalog.add_kind(kind("model", None)).unwrap();
        let clash = EnumDef {
            name: "model",
            doc: "",
            variants: vec![],
        };
        assert_eq!(catalog.add_enum(clash), Err(DuplicateName("model")));
    }

    #[test]
    fn types_print_as_written_in_docs() {
        assert_eq!(Type::list(Type::Float).to_string(), "list[float]");
        assert_eq!(
            Type::family(Type::Artifact("eval"), 2).to_string(),
            "family[eval; 2]"
        );
        assert_eq!(Type::optional(Type::Int).to_string(), "int?");
    }
}
