//! The syntax tree of a spec file, with a span on everything the checker may point at.

use crate::source::Span;

/// A name with the place it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// A comment, kept for the formatter and for doc comments.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    /// The text, including the leading `//`.
    pub text: String,
    /// Where it was written.
    pub span: Span,
}

/// One parsed file.
#[derive(Debug, Clone, PartialEq)]
pub struct Module {
    /// Imports and declarations, in source order.
    pub items: Vec<Item>,
    /// Every comment of the file, in source order.
    pub comments: Vec<Comment>,
}

impl Module {
    /// The items with every span cut out: two modules with the same shape say the same thing,
    /// however they are laid out (the formatter's tests and fuzz target compare shapes).
    pub fn shape(&self) -> String {
        let debug = format!("{:?}", self.items);
        let mut out = String::with_capacity(debug.len());
        let mut rest = debug.as_str();
        while let Some(at) = rest.find("Span {") {
            out.push_str(&rest[..at]);
            let after = &rest[at..];
            rest = after.find('}').map_or("", |close| &after[close + 1..]);
        }
        out.push_str(rest);
        out
    }
}

/// A top-level item.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// `import "path.rung" as name`
    Import(Import),
    /// `kind name[binders]: type = value`
    Decl(Box<Decl>),
}

impl Item {
    /// The item's span.
    pub fn span(&self) -> Span {
        match self {
            Item::Import(import) => import.span,
            Item::Decl(decl) => decl.span,
        }
    }
}

/// `import "../recipes/paper.rung"`, optionally `as paper`.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    /// The path, relative to the importing file.
    pub path: String,
    /// Where the path string was written.
    pub path_span: Span,
    /// The namespace given with `as`, if any.
    pub alias: Option<Ident>,
    /// The whole import.
    pub span: Span,
}

/// A declaration: `checkpoint tuned[b in 0..10] = sft(base, q[b])`.
#[derive(Debug, Clone, PartialEq)]
pub struct Decl {
    /// The `///` lines right above it, without the slashes.
    pub docs: Vec<String>,
    /// The keyword: `param`, `let` or an artifact kind.
    pub kind: Ident,
    /// The declared name.
    pub name: Ident,
    /// The index variables of a family, empty for a single declaration.
    pub binders: Vec<Binder>,
    /// The type annotation (`param seed: int = 42`).
    pub ty: Option<TypeExpr>,
    /// The value.
    pub value: Expr,
    /// The whole declaration.
    pub span: Span,
}

/// `b in 0..10` in a family's brackets.
#[derive(Debug, Clone, PartialEq)]
pub struct Binder {
    /// The index variable.
    pub var: Ident,
    /// The values it ranges over.
    pub domain: Expr,
}

/// A type written in a spec: `int`, `list[float]`, `IrtModel`.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeExpr {
    /// The type's name.
    pub name: Ident,
    /// The element type of `list[...]`.
    pub arg: Option<Box<TypeExpr>>,
    /// The whole type.
    pub span: Span,
}

/// An expression with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it was written.
    pub span: Span,
}

/// The forms an expression takes.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// An integer literal.
    Int(i64),
    /// A float literal, with its spelling kept for the formatter.
    Float(f64, String),
    /// `true` or `false`.
    Bool(bool),
    /// `none`.
    None,
    /// A string literal, unescaped.
    Str(String),
    /// An enum word starting with a digit, such as `1pl`.
    Word(String),
    /// A bare name: a declaration, an index variable, a namespace or an enum word.
    Name(String),
    /// `[a, b]`
    List(Vec<Expr>),
    /// `{ preset; field = value }`
    Record(Vec<Entry>),
    /// `start..end`, end excluded.
    Range(Box<Expr>, Box<Expr>),
    /// `op(args) { block }`
    Call(Call),
    /// `base[i, j]`
    Index(Box<Expr>, Vec<Expr>),
    /// `base.name`
    Member(Box<Expr>, Ident),
}

/// A call of a standard-library operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The operation's name.
    pub op: Ident,
    /// Positional then named arguments.
    pub args: Vec<Arg>,
    /// The trailing record block, whose fields are more named arguments.
    pub block: Option<Box<Expr>>,
}

/// An argument: positional (`base`) or named (`n = 10`).
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    /// The parameter's name, for a named argument.
    pub name: Option<Ident>,
    /// The value.
    pub value: Expr,
}

/// A record entry: a field (`lr = 5e-6`) or a spread record (`paper.sft`).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The field's name; `None` for a spread.
    pub name: Option<Ident>,
    /// The value, or the record spread in.
    pub value: Expr,
}
