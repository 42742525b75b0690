//! Canonical parameter values: what a node's parameters are once a spec has been checked.

use std::collections::BTreeMap;
use std::fmt;

use crate::plan::NodeId;

/// A fully evaluated, canonical parameter value.
///
/// Records keep their fields sorted by name, so two records with the same fields compare and hash
/// the same whatever order they were written in.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// The absence of an optional value.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A 64-bit signed integer.
    Int(i64),
    /// A 64-bit float; integers given where a float is expected are stored as floats.
    Float(f64),
    /// A string.
    Str(String),
    /// An enum word such as `mml` or `1pl`.
    Enum(String),
    /// A path to an input file, as written in the spec (relative to the data root).
    File(String),
    /// An ordered list.
    List(Vec<Value>),
    /// A record with fields sorted by name.
    Record(BTreeMap<String, Value>),
    /// The output of another node of the same plan.
    Node(NodeId),
}

impl Value {
    /// The upstream nodes this value refers to, in order of appearance.
    pub fn node_refs(&self, out: &mut Vec<NodeId>) {
        match self {
            Value::Node(id) => out.push(*id),
            Value::List(items) => items.iter().for_each(|v| v.node_refs(out)),
            Value::Record(fields) => fields.values().for_each(|v| v.node_refs(out)),
            Value::Null
            | Value::Bool(_)
            | Value::Int(_)
            | Value::Float(_)
            | Value::Str(_)
            | Value::Enum(_)
            | Value::File(_) => {}
        }
    }
}

/// Writes a float so that it reads back as the same float and always looks like one.
pub fn format_float(x: f64, f: &mut impl fmt::Write) -> fmt::Result {
    let magnitude = x.abs();
    if x.is_finite() && magnitude != 0.0 && !(1e-3..1e15).contains(&magnitude) {
        write!(f, "{x:e}")
    } else {
        let text = x.to_string();
        if text.contains(['.', 'e', 'N', 'i']) {
            f.write_str(&text)
        } else {
            write!(f, "{text}.0")
        }
    }
}

/// Writes a string literal in rung syntax, with the escapes the grammar reads.
pub fn format_string(s: &str, f: &mut impl fmt::Write) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            c if c.is_control() => write!(f, "\\u{{{:x}}}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

impl fmt::Display for Value {
    /// Renders the value in rung syntax; node references render as `#index`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("none"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => format_float(*x, f),
            Value::Str(s) | Value::File(s) => format_string(s, f),
            Value::Enum(word) => f.write_str(word),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Record(fields) => {
                if fields.is_empty() {
                    return f.write_str("{}");
                }
                f.write_str("{ ")?;
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{name} = {value}")?;
                }
                f.write_str(" }")
            }
            Value::Node(id) => write!(f, "#{}", id.index()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(x: f64) -> String {
        Value::Float(x).to_string()
    }

    #[test]
    fn floats_render_as_floats_that_read_back_exactly() {
        assert_eq!(float(5e-6), "5e-6");
        assert_eq!(float(0.1), "0.1");
        assert_eq!(float(1.0), "1.0");
        assert_eq!(float(-2.5), "-2.5");
        assert_eq!(float(0.0), "0.0");
        assert_eq!(float(1e20), "1e20");
        for x in [5e-6, 0.1, 1.0 / 3.0, 123456.789, 1e-300] {
            assert_eq!(float(x).parse::<f64>().ok(), Some(x));
        }
    }

    #[test]
    fn strings_escape_quotes_and_controls() {
        assert_eq!(Value::Str("a\"b\\c\n".into()).to_string(), r#""a\"b\\c\n""#);
        assert_eq!(Value::Str("\u{1}".into()).to_string(), r#""\u{1}""#);
    }
}
