//! Values during evaluation: canonical values still carrying where they were written.

use std::collections::HashMap;
use std::rc::Rc;

use rung_engine::{NodeId, Value};

use crate::loader::ModuleId;
use crate::source::Span;

/// A value and the span of the expression it came from.
#[derive(Debug, Clone)]
pub(crate) struct SVal {
    pub(crate) val: Val,
    pub(crate) span: Span,
}

impl SVal {
    pub(crate) fn new(val: Val, span: Span) -> SVal {
        SVal { val, span }
    }

    pub(crate) fn error(span: Span) -> SVal {
        SVal {
            val: Val::Error,
            span,
        }
    }
}

/// A value before it is fitted to the type a parameter expects.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    None,
    /// An enum word not yet tied to an enum; `from` is the module whose names a bare word was
    /// looked up in (for "unknown name" reports when no enum is expected after all).
    Word {
        word: String,
        from: Option<ModuleId>,
    },
    List(Rc<Vec<SVal>>),
    Record(Rc<Vec<Field>>),
    Node {
        id: NodeId,
        kind: &'static str,
    },
    Family(Rc<Family>),
    Namespace(ModuleId),
    /// An error was already reported for this value.
    Error,
}

/// A record field with where its name was written.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub(crate) name: String,
    pub(crate) name_span: Span,
    pub(crate) value: SVal,
}

/// A declared family: one value per point of the cross product of its axes.
#[derive(Debug)]
pub(crate) struct Family {
    /// The label of the family (`tuned`).
    pub(crate) label: String,
    pub(crate) axes: Vec<Rc<Axis>>,
    /// Cells in row-major order.
    pub(crate) cells: Vec<SVal>,
}

/// The values one index ranges over.
#[derive(Debug)]
pub(crate) struct Axis {
    pub(crate) values: Vec<Value>,
    positions: HashMap<String, usize>,
}

impl Axis {
    /// An axis over distinct values; returns the first repeated value otherwise.
    pub(crate) fn new(values: Vec<Value>) -> Result<Axis, Value> {
        let mut positions = HashMap::with_capacity(values.len());
        for (i, value) in values.iter().enumerate() {
            if positions.insert(value.to_string(), i).is_some() {
                return Err(value.clone());
            }
        }
        Ok(Axis { values, positions })
    }

    pub(crate) fn position(&self, value: &Value) -> Option<usize> {
        self.positions.get(&value.to_string()).copied()
    }

    /// The domain, shortened for messages.
    pub(crate) fn describe(&self) -> String {
        let ints: Option<Vec<i64>> = self
            .values
            .iter()
            .map(|v| {
                if let Value::Int(i) = v {
                    Some(*i)
                } else {
                    None
                }
            })
            .collect();
        if let Some(ints) = ints.filter(|i| !i.is_empty())
            && ints.windows(2).all(|w| w[1] == w[0] + 1)
        {
            return format!("{}..{}", ints[0], ints[ints.len() - 1] + 1);
        }
        let shown: Vec<String> = self
            .values
            .iter()
            .take(8)
            .map(ToString::to_string)
            .collect();
        let more = if self.values.len() > 8 { ", ..." } else { "" };
        format!("[{}{more}]", shown.join(", "))
    }
}

impl Val {
    /// The value as an index or domain element: scalars and words only.
    pub(crate) fn as_index(&self) -> Option<Value> {
        Some(match self {
            Val::Int(i) => Value::Int(*i),
            Val::Bool(b) => Value::Bool(*b),
            Val::Str(s) => Value::Str(s.clone()),
            Val::Word { word, .. } => Value::Enum(word.clone()),
            _ => return None,
        })
    }

    /// A value from a canonical one (for `param` values after their type is fixed).
    pub(crate) fn from_value(value: &Value, span: Span) -> Val {
        match value {
            Value::Null => Val::None,
            Value::Bool(b) => Val::Bool(*b),
            Value::Int(i) => Val::Int(*i),
            Value::Float(x) => Val::Float(*x),
            Value::Str(s) | Value::File(s) => Val::Str(s.clone()),
            Value::Enum(word) => Val::Word {
                word: word.clone(),
                from: None,
            },
            Value::List(items) => Val::List(Rc::new(
                items
                    .iter()
                    .map(|v| SVal::new(Val::from_value(v, span), span))
                    .collect(),
            )),
            Value::Record(fields) => Val::Record(Rc::new(
                fields
                    .iter()
                    .map(|(name, v)| Field {
                        name: name.clone(),
                        name_span: span,
                        value: SVal::new(Val::from_value(v, span), span),
                    })
                    .collect(),
            )),
            Value::Node(_) => Val::Error,
        }
    }

    /// What the value is, for "expected X, found Y".
    pub(crate) fn describe(&self) -> String {
        match self {
            Val::Int(_) => "int".into(),
            Val::Float(_) => "float".into(),
            Val::Bool(_) => "bool".into(),
            Val::Str(_) => "string".into(),
            Val::None => "none".into(),
            Val::Word { word, .. } => format!("the word `{word}`"),
            Val::List(items) => match items.first() {
                Some(first) => format!("list[{}]", first.val.describe()),
                None => "an empty list".into(),
            },
            Val::Record(fields) => {
                let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
                format!("a record {{ {} }}", names.join(", "))
            }
            Val::Node { kind, .. } => format!("`{kind}`"),
            Val::Family(family) => {
                let kind = family
                    .cells
                    .first()
                    .map_or("?".to_string(), |c| c.val.describe());
                match family.axes.len() {
                    1 => format!("family[{kind}]"),
                    rank => format!("family[{kind}; {rank}]"),
                }
            }
            Val::Namespace(_) => "a namespace".into(),
            Val::Error => "an invalid value".into(),
        }
    }
}
