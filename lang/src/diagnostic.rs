//! Diagnostics as plain data: a stable code, a message, labelled spans and hints.
//!
//! The front end only produces these; rendering them is the CLI's business.

use std::fmt;

use crate::source::Span;

/// How bad it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The spec cannot be planned.
    Error,
    /// The spec can be planned, but probably does not say what was meant.
    Warning,
}

macro_rules! codes {
    ($($variant:ident = $code:literal : $summary:literal,)*) => {
        /// Every kind of diagnostic the front end reports, with its stable code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $(#[doc = $summary] $variant,)*
        }

        impl Code {
            /// Every code, in order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The stable code, such as `E0301`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// One line saying what the code means.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }
        }
    };
}

codes! {
    Syntax = "E0101": "the text does not follow the grammar",
    Unreadable = "E0102": "a spec file cannot be read",
    NotUtf8 = "E0103": "a spec file is not valid UTF-8",
    TooDeep = "E0104": "brackets are nested too deeply",
    TooLarge = "E0105": "a spec file is too large",
    IntOutOfRange = "E0106": "an integer literal does not fit in 64 bits",
    BadEscape = "E0107": "a string literal has an unknown escape",
    ImportCycle = "E0201": "files import each other in a cycle",
    ImportName = "E0202": "an import's namespace is not a valid name",
    DuplicateName = "E0203": "two declarations or imports share a name",
    UnknownKind = "E0301": "a declaration keyword is not `param`, `let` or an artifact kind",
    KindMismatch = "E0302": "a declaration's keyword does not match what its value produces",
    BadParam = "E0303": "a `param` declaration is malformed",
    UnknownType = "E0304": "a type annotation names no known type",
    BadBinder = "E0305": "a family's index binding is malformed",
    DeclCycle = "E0306": "declarations refer to each other in a cycle",
    UnknownName = "E0401": "a name refers to nothing in scope",
    UnknownOp = "E0402": "a call names no operation of the standard library",
    UnknownMember = "E0403": "a namespace or record has no member of that name",
    NoMembers = "E0404": "`.` is used on a value that has no members",
    UnknownParam = "E0501": "a call passes a parameter the operation does not have",
    MissingParam = "E0502": "a call leaves out a required parameter",
    RepeatedParam = "E0503": "a call gives a parameter twice",
    TooManyArgs = "E0504": "a call passes more positional arguments than the operation takes",
    PositionalAfterNamed = "E0505": "a positional argument follows a named one",
    TypeMismatch = "E0601": "a value has another type than expected",
    UnknownVariant = "E0602": "an enum word is not one of the enum's words",
    UnknownField = "E0603": "a record has a field its type does not have",
    MixedList = "E0604": "a list mixes values of different types",
    BadRange = "E0605": "a range's bounds are not integers or it is too long",
    BadSpread = "E0606": "a record spread is not a record",
    RepeatedField = "E0607": "a record literal gives a field twice",
    NotIndexable = "E0701": "indexing is used on a value that cannot be indexed",
    IndexCount = "E0702": "the number of indices differs from the family's",
    IndexOutOfDomain = "E0703": "an index is not in the family's domain",
    EmptyFamily = "W0704": "a family's domain is empty, so it declares nothing",
    TooManyNodes = "E0705": "families expand to more nodes than rung plans",
    SetSyntax = "E0801": "a `--set` override is not `name=value`",
    SetUnknown = "E0802": "a `--set` override names no parameter",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A span with a message saying what is there.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What (may be empty).
    pub message: String,
}

/// One problem found in a spec.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The stable code.
    pub code: Code,
    /// The headline.
    pub message: String,
    /// The place the problem is; `None` only for problems with no source (an unreadable root file).
    pub primary: Option<Label>,
    /// Related places.
    pub secondary: Vec<Label>,
    /// Suggestions and explanations.
    pub hints: Vec<String>,
}

impl Diagnostic {
    /// An error at `span` (with no label text).
    pub fn error(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        let severity = if code.as_str().starts_with('W') {
            Severity::Warning
        } else {
            Severity::Error
        };
        Diagnostic {
            severity,
            code,
            message: message.into(),
            primary: Some(Label {
                span,
                message: String::new(),
            }),
            secondary: Vec::new(),
            hints: Vec::new(),
        }
    }

    /// An error that points at no source text.
    pub fn unlocated(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            hints: Vec::new(),
        }
    }

    /// Sets the text of the primary label.
    pub fn with_label(mut self, message: impl Into<String>) -> Diagnostic {
        if let Some(label) = &mut self.primary {
            label.message = message.into();
        }
        self
    }

    /// Adds a related place.
    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hints.push(hint.into());
        self
    }

    /// Whether it stops the spec from being planned.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}
