//! Calls of operations, and the indexing and member sugar that stands for calls.

use rung_engine::{NodeId, OpSignature, Type, Value};

use super::{Evaluator, SVal, Val};
use crate::ast::{Call, ExprKind, Ident};
use crate::diagnostic::{Code, Diagnostic};
use crate::loader::ModuleId;
use crate::source::Span;
use crate::suggest::did_you_mean;

/// An argument bound to a parameter, with where its name was written (for repeats).
struct Bound {
    value: SVal,
    name_span: Span,
}

impl Evaluator<'_> {
    pub(super) fn call(
        &mut self,
        call: &Call,
        span: Span,
        module: ModuleId,
        locals: &[(String, SVal)],
    ) -> SVal {
        let catalog = self.catalog;
        let Some(op) = catalog.op(&call.op.name) else {
            self.unknown_op(&call.op);
            for arg in &call.args {
                self.eval(&arg.value, module, locals, None);
            }
            return SVal::error(span);
        };
        let mut bound: Vec<Option<Bound>> = op.params.iter().map(|_| None).collect();
        let mut positional = 0;
        let mut named_seen: Option<Span> = None;
        for arg in &call.args {
            let index = match &arg.name {
                None => {
                    if let Some(named) = named_seen {
                        let error = Diagnostic::error(
                            Code::PositionalAfterNamed,
                            arg.value.span,
                            "positional argument after a named one",
                        )
                        .with_secondary(named, "named argument here")
                        .with_hint("put positional arguments first, or name this one");
                        self.report(error);
                        self.eval(&arg.value, module, locals, None);
                        continue;
                    }
                    positional += 1;
                    if positional > op.params.len() {
                        let error = Diagnostic::error(
                            Code::TooManyArgs,
                            arg.value.span,
                            format!("`{}` takes at most {} arguments", op.name, op.params.len()),
                        )
                        .with_hint(format!("see `rung help {}`", op.name));
                        self.report(error);
                        self.eval(&arg.value, module, locals, None);
                        continue;
                    }
                    positional - 1
                }
                Some(name) => {
                    named_seen.get_or_insert(name.span);
                    match self.param_index(op, name, None) {
                        Some(index) => index,
                        None => {
                            self.eval(&arg.value, module, locals, None);
                            continue;
                        }
                    }
                }
            };
            let value = self.eval(&arg.value, module, locals, Some(&op.params[index].ty));
            let name_span = arg.name.as_ref().map_or(arg.value.span, |n| n.span);
            self.bind(op, &mut bound, index, Bound { value, name_span });
        }
        if let Some(block) = &call.block {
            let ExprKind::Record(entries) = &block.kind else {
                return SVal::error(span);
            };
            let record = self.record(entries, block.span, module, locals, Some(&op.params));
            if let Val::Record(fields) = &record.val {
                for field in fields.iter() {
                    let ident = Ident {
                        name: field.name.clone(),
                        span: field.name_span,
                    };
                    let outside = field.name_span.file != block.span.file
                        || field.name_span.start < block.span.start
                        || field.name_span.end > block.span.end;
                    let via = outside.then_some(block.span);
                    let Some(index) = self.param_index(op, &ident, via) else {
                        continue;
                    };
                    let bound_value = Bound {
                        value: field.value.clone(),
                        name_span: field.name_span,
                    };
                    self.bind(op, &mut bound, index, bound_value);
                }
            }
        }
        self.apply(
            op,
            bound.into_iter().map(|b| b.map(|b| b.value)).collect(),
            span,
            None,
        )
    }

    fn unknown_op(&mut self, name: &Ident) {
        let catalog = self.catalog;
        let mut error = Diagnostic::error(
            Code::UnknownOp,
            name.span,
            format!("unknown operation `{}`", name.name),
        );
        if let Some(kind) = catalog.kind(&name.name) {
            let producers: Vec<&str> = catalog
                .ops()
                .iter()
                .filter(|op| op.output == kind.name)
                .map(|op| op.name)
                .collect();
            error = error.with_hint(format!(
                "`{}` is a kind of artifact; it is produced by: {}",
                kind.name,
                producers.join(", ")
            ));
        } else if let Some(hint) = did_you_mean(&name.name, catalog.ops().iter().map(|op| op.name))
        {
            error = error.with_hint(hint);
        } else {
            error = error.with_hint("`rung help` lists the operations");
        }
        self.report(error);
    }

    /// The position of a named parameter; `via` is the block a preset's field was spread through.
    fn param_index(&mut self, op: &OpSignature, name: &Ident, via: Option<Span>) -> Option<usize> {
        let found = op.params.iter().position(|p| p.name == name.name);
        if found.is_none() {
            let mut error = Diagnostic::error(
                Code::UnknownParam,
                name.span,
                format!("unknown parameter `{}` for `{}`", name.name, op.name),
            );
            error = match did_you_mean(&name.name, op.params.iter().map(|p| p.name)) {
                Some(hint) => error.with_hint(hint),
                None => error.with_hint(format!("see `rung help {}` for its parameters", op.name)),
            };
            if let Some(block) = via {
                error = error.with_secondary(block, format!("spread into `{}` here", op.name));
            }
            self.report(error);
        }
        found
    }

    fn bind(&mut self, op: &OpSignature, bound: &mut [Option<Bound>], index: usize, value: Bound) {
        if let Some(first) = &bound[index] {
            let error = Diagnostic::error(
                Code::RepeatedParam,
                value.name_span,
                format!("parameter `{}` of `{}` is given twice", op.params[index].name, op.name),
            )
            .with_secondary(first.name_span, "first given here")
            .with_hint("to change a preset's value, override it inside the block: `{ preset; name = value }`");
            self.report(error);
            return;
        }
        bound[index] = Some(value);
    }

    /// Fits bound arguments to an operation's parameters, fills defaults and plans the node.
    fn apply(
        &mut self,
        op: &OpSignature,
        bound: Vec<Option<SVal>>,
        span: Span,
        label: Option<String>,
    ) -> SVal {
        let mut params = Vec::with_capacity(op.params.len());
        let mut ok = true;
        for (param, value) in op.params.iter().zip(bound) {
            let fitted = match value {
                Some(value) => self.coerce(
                    &value,
                    &param.ty,
                    &format!("parameter `{}` of `{}`", param.name, op.name),
                ),
                None => match param.default_value() {
                    Some(default) => Some(self.fill_defaults(default, &param.ty)),
                    None => {
                        let error = Diagnostic::error(
                            Code::MissingParam,
                            span,
                            format!("`{}` needs parameter `{}`", op.name, param.name),
                        )
                        .with_label(format!("`{}: {}` is not given", param.name, param.ty))
                        .with_hint(format!("{}: {}", param.name, param.doc));
                        self.report(error);
                        None
                    }
                },
            };
            match fitted {
                Some(value) => params.push((param.name.to_string(), value)),
                None => ok = false,
            }
        }
        if !ok {
            return SVal::error(span);
        }
        let id = self.plan.add(op.name, op.version, params, label);
        SVal::new(
            Val::Node {
                id,
                kind: op.output,
            },
            span,
        )
    }

    /// A record default as written in a signature, with its schema's defaults filled in.
    pub(super) fn fill_defaults(&self, value: Value, ty: &Type) -> Value {
        match (value, super::peel_optional(ty)) {
            (Value::Record(mut fields), Type::Record(name)) => {
                if let Some(schema) = self.catalog.record(name) {
                    for field in &schema.fields {
                        if !fields.contains_key(field.name)
                            && let Some(default) = field.default_value()
                        {
                            let filled = self.fill_defaults(default, &field.ty);
                            fields.insert(field.name.to_string(), filled);
                        }
                    }
                }
                Value::Record(fields)
            }
            (value, _) => value,
        }
    }

    /// `x[i]` on an artifact whose kind declares an index operation.
    pub(super) fn index_sugar(
        &mut self,
        id: NodeId,
        kind: &str,
        keys: &[SVal],
        span: Span,
    ) -> SVal {
        let catalog = self.catalog;
        let sugar = self.kind_chain(kind).find_map(|k| k.index.as_ref());
        let Some(sugar) = sugar else {
            let error = Diagnostic::error(
                Code::NotIndexable,
                span,
                format!("`{kind}` cannot be indexed"),
            )
            .with_hint("families (`x[b in 0..10] = ...`), lists and bins can be indexed");
            self.report(error);
            return SVal::error(span);
        };
        let Some(op) = catalog.op(sugar.op) else {
            return SVal::error(span);
        };
        if keys.len() != 1 {
            let error = Diagnostic::error(
                Code::IndexCount,
                span,
                format!("`{kind}` takes one index, found {}", keys.len()),
            );
            self.report(error);
            return SVal::error(span);
        }
        let mut bound = self.sugar_args(op, id, kind, span);
        if let Some(slot) = op.params.iter().position(|p| p.name == sugar.param) {
            bound[slot] = Some(keys[0].clone());
        }
        let label = self.first_label(id).map(|l| {
            let index = keys[0]
                .val
                .as_index()
                .map_or_else(String::new, |i| i.to_string());
            format!("{l}[{index}]")
        });
        self.apply(op, bound, span, label)
    }

    /// `x.name` on an artifact whose kind declares that member.
    pub(super) fn member_sugar(
        &mut self,
        id: NodeId,
        kind: &str,
        name: &Ident,
        span: Span,
    ) -> SVal {
        let catalog = self.catalog;
        let members: Vec<_> = self
            .kind_chain(kind)
            .flat_map(|k| k.members.iter())
            .collect();
        let Some(member) = members.iter().find(|m| m.name == name.name) else {
            let mut error = Diagnostic::error(
                Code::UnknownMember,
                name.span,
                format!("`{kind}` has no member `{}`", name.name),
            );
            error = match did_you_mean(&name.name, members.iter().map(|m| m.name)) {
                Some(hint) => error.with_hint(hint),
                None if members.is_empty() => error.with_hint(format!("`{kind}` has no members")),
                None => {
                    let names: Vec<&str> = members.iter().map(|m| m.name).collect();
                    error.with_hint(format!("its members: {}", names.join(", ")))
                }
            };
            self.report(error);
            return SVal::error(span);
        };
        let Some(op) = catalog.op(member.op) else {
            return SVal::error(span);
        };
        let mut bound = self.sugar_args(op, id, kind, span);
        for (param, value) in &member.params {
            if let Some(slot) = op.params.iter().position(|p| p.name == *param) {
                bound[slot] = Some(SVal::new(Val::from_value(value, span), span));
            }
        }
        let label = self.first_label(id).map(|l| format!("{l}.{}", name.name));
        self.apply(op, bound, span, label)
    }

    /// Arguments of a sugar call: the artifact itself first, the rest to be filled in.
    fn sugar_args(
        &self,
        op: &OpSignature,
        id: NodeId,
        kind: &str,
        span: Span,
    ) -> Vec<Option<SVal>> {
        let mut bound: Vec<Option<SVal>> = op.params.iter().map(|_| None).collect();
        let kind = self.catalog.kind(kind).map_or("", |k| k.name);
        bound[0] = Some(SVal::new(Val::Node { id, kind }, span));
        bound
    }

    fn first_label(&self, id: NodeId) -> Option<String> {
        self.plan.node(id).labels.first().cloned()
    }

    /// A kind and its parents, nearest first.
    fn kind_chain<'c>(
        &'c self,
        kind: &str,
    ) -> impl Iterator<Item = &'c rung_engine::ArtifactKind> + 'c {
        let catalog = self.catalog;
        std::iter::successors(catalog.kind(kind), move |k| {
            k.parent.and_then(|p| catalog.kind(p))
        })
    }
}
