//! Fitting evaluated values to the types parameters declare, producing canonical values.

use std::collections::BTreeMap;

use rung_engine::{Type, Value};

use super::{Evaluator, SVal, Val};
use crate::diagnostic::{Code, Diagnostic};
use crate::suggest::did_you_mean;

impl Evaluator<'_> {
    /// The canonical value of `value` as a `ty`, or `None` after reporting why it is not one.
    /// `context` names the position (`parameter \`lr\` of \`sft\``) for messages.
    pub(super) fn coerce(&mut self, value: &SVal, ty: &Type, context: &str) -> Option<Value> {
        let catalog = self.catalog;
        match (ty, &value.val) {
            (_, Val::Error) => None,
            (Type::Optional(_), Val::None) => Some(Value::Null),
            (Type::Optional(of), _) => self.coerce(value, of, context),
            (Type::Int, Val::Int(i)) => Some(Value::Int(*i)),
            (Type::Float, Val::Int(i)) => Some(Value::Float(*i as f64)),
            (Type::Float, Val::Float(x)) => Some(Value::Float(*x)),
            (Type::Bool, Val::Bool(b)) => Some(Value::Bool(*b)),
            (Type::Str, Val::Str(s)) => Some(Value::Str(s.clone())),
            (Type::File, Val::Str(s)) => Some(Value::File(s.clone())),
            (Type::Enum(name), Val::Word { word, from }) => {
                let def = catalog.enum_def(name)?;
                if def.has(word) {
                    return Some(Value::Enum(word.clone()));
                }
                let shown = if from.is_some() { "name" } else { "word" };
                let mut error = Diagnostic::error(
                    Code::UnknownVariant,
                    value.span,
                    format!("`{word}` is not a `{name}`"),
                )
                .with_label(format!("unknown {shown} for {context}"));
                let words: Vec<&str> = def.variants.iter().map(|(v, _)| *v).collect();
                if let Some(hint) = did_you_mean(word, words.iter().copied()) {
                    error = error.with_hint(hint);
                }
                error = error.with_hint(format!("`{name}` is one of: {}", words.join(", ")));
                self.report(error);
                None
            }
            (Type::List(of), Val::List(items)) => {
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for item in items.iter() {
                    let fitted = match (&item.val, of.as_ref()) {
                        (Val::Family(_), element) if !matches!(element, Type::Family(..)) => {
                            match self.coerce(item, ty, context) {
                                Some(Value::List(members)) => {
                                    out.extend(members);
                                    continue;
                                }
                                other => other,
                            }
                        }
                        _ => self.coerce(item, of, context),
                    };
                    match fitted {
                        Some(v) => out.push(v),
                        None => ok = false,
                    }
                }
                ok.then_some(Value::List(out))
            }
            (Type::List(of), Val::Family(family)) => {
                let mut out = Vec::with_capacity(family.cells.len());
                let mut ok = true;
                for cell in &family.cells {
                    match self.coerce(cell, of, context) {
                        Some(v) => out.push(v),
                        None => ok = false,
                    }
                }
                ok.then_some(Value::List(out))
            }
            (Type::Record(name), Val::Record(fields)) => {
                let schema = catalog.record(name)?;
                let mut out = BTreeMap::new();
                let mut ok = true;
                for field in fields.iter() {
                    let Some(sig) = schema.field(&field.name) else {
                        let mut error = Diagnostic::error(
                            Code::UnknownField,
                            field.name_span,
                            format!("`{name}` has no field `{}`", field.name),
                        )
                        .with_label(format!("in {context}"));
                        error =
                            match did_you_mean(&field.name, schema.fields.iter().map(|f| f.name)) {
                                Some(hint) => error.with_hint(hint),
                                None => error
                                    .with_hint(format!("see `rung help {name}` for its fields")),
                            };
                        self.report(error);
                        ok = false;
                        continue;
                    };
                    let field_context = format!("field `{}` of `{name}`", field.name);
                    match self.coerce(&field.value, &sig.ty, &field_context) {
                        Some(v) => {
                            out.insert(field.name.clone(), v);
                        }
                        None => ok = false,
                    }
                }
                for sig in &schema.fields {
                    if out.contains_key(sig.name) || fields.iter().any(|f| f.name == sig.name) {
                        continue;
                    }
                    match sig.default_value() {
                        Some(default) => {
                            let filled = self.fill_defaults(default, &sig.ty);
                            out.insert(sig.name.to_string(), filled);
                        }
                        None => {
                            let error = Diagnostic::error(
                                Code::MissingParam,
                                value.span,
                                format!("`{name}` needs field `{}`", sig.name),
                            )
                            .with_label(format!("in {context}"))
                            .with_hint(format!("{}: {}", sig.name, sig.doc));
                            self.report(error);
                            ok = false;
                        }
                    }
                }
                ok.then_some(Value::Record(out))
            }
            (Type::Artifact(expected), Val::Node { id, kind })
                if catalog.is_kind_of(kind, expected) =>
            {
                Some(Value::Node(*id))
            }
            (Type::Family(of, rank), Val::Family(family)) if family.axes.len() == *rank => {
                let mut cells = Vec::with_capacity(family.cells.len());
                let mut ok = true;
                for (flat, cell) in family.cells.iter().enumerate() {
                    let mut index = Vec::with_capacity(*rank);
                    let mut rest = flat;
                    for axis in family.axes.iter().rev() {
                        index.push(axis.values[rest % axis.values.len()].clone());
                        rest /= axis.values.len();
                    }
                    index.reverse();
                    match self.coerce(cell, of, context) {
                        Some(v) => {
                            let mut entry = BTreeMap::new();
                            entry.insert("index".to_string(), Value::List(index));
                            entry.insert("value".to_string(), v);
                            cells.push(Value::Record(entry));
                        }
                        None => ok = false,
                    }
                }
                ok.then_some(Value::List(cells))
            }
            (
                _,
                Val::Word {
                    word,
                    from: Some(module),
                },
            ) => {
                let (word, module) = (word.clone(), *module);
                self.unknown_name(&word, value.span, module, &[]);
                None
            }
            (expected, found) => {
                let mut error = Diagnostic::error(
                    Code::TypeMismatch,
                    value.span,
                    format!("expected `{expected}`, found {}", found.describe()),
                )
                .with_label(format!("{context} is `{expected}`"));
                if let (Type::Artifact(_), Val::Family(_)) = (expected, found) {
                    error = error
                        .with_hint("pick one member of the family by indexing it, e.g. `tuned[b]`");
                }
                if let (Type::Family(..), Val::Node { .. }) = (expected, found) {
                    error = error.with_hint("pass the whole family by its name, without an index");
                }
                self.report(error);
                None
            }
        }
    }
}
