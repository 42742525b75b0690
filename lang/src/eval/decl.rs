//! Declarations: `param`, `let` and artifact declarations, single or as families.

use std::rc::Rc;

use rung_engine::Type;

use super::val::{Axis, Family};
use super::{Evaluator, MAX_CELLS, SVal, State, Val};
use crate::ast::{Decl, TypeExpr};
use crate::diagnostic::{Code, Diagnostic};
use crate::loader::ModuleId;
use crate::source::Span;
use crate::suggest::did_you_mean;

impl Evaluator<'_> {
    /// The value of a module's declaration, evaluated once; `at` is where it is referred to.
    pub(super) fn decl_value(&mut self, module: ModuleId, index: usize, at: Span) -> SVal {
        let decl = self.decls[module.0][index];
        match self.states.get(&(module, index)) {
            Some(State::Done(value)) => return value.clone(),
            Some(State::InProgress) => {
                let error = Diagnostic::error(
                    Code::DeclCycle,
                    at,
                    format!("`{}` depends on itself", decl.name.name),
                )
                .with_label("used here while it is being computed")
                .with_secondary(decl.name.span, "declared here")
                .with_hint("a declaration cannot use its own value, directly or through others");
                self.report(error);
                return SVal::error(at);
            }
            None => {}
        }
        self.states.insert((module, index), State::InProgress);
        let value = self.evaluate_decl(module, decl);
        self.states
            .insert((module, index), State::Done(value.clone()));
        value
    }

    fn evaluate_decl(&mut self, module: ModuleId, decl: &Decl) -> SVal {
        let kind = decl.kind.name.as_str();
        match kind {
            "param" => self.param(module, decl),
            "let" => {
                let ty = decl.ty.as_ref().and_then(|t| self.type_expr(t));
                self.family_or_single(module, decl, |this, locals| {
                    let value = this.eval(&decl.value, module, locals, ty.as_ref());
                    match &ty {
                        Some(ty) => {
                            let fitted = this.coerce(&value, ty, &format!("`{}`", decl.name.name));
                            fitted.map_or(SVal::error(value.span), |v| {
                                SVal::new(Val::from_value(&v, value.span), value.span)
                            })
                        }
                        None => value,
                    }
                })
            }
            _ => {
                let Some(artifact) = self.catalog.kind(kind) else {
                    let mut names = vec!["param", "let"];
                    names.extend(self.catalog.kinds().iter().map(|k| k.name));
                    let mut error = Diagnostic::error(
                        Code::UnknownKind,
                        decl.kind.span,
                        format!("unknown declaration keyword `{kind}`"),
                    );
                    error = match did_you_mean(kind, names.iter().copied()) {
                        Some(hint) => error.with_hint(hint),
                        None => error.with_hint(format!(
                            "declarations start with one of: {}",
                            names.join(", ")
                        )),
                    };
                    self.report(error);
                    return SVal::error(decl.span);
                };
                if let Some(ty) = &decl.ty {
                    let error = Diagnostic::error(
                        Code::BadParam,
                        ty.span,
                        "only `param` and `let` take a type annotation",
                    )
                    .with_hint(format!(
                        "the keyword `{}` already gives the type",
                        artifact.name
                    ));
                    self.report(error);
                }
                let expected = artifact.name;
                let prefix = self.modules[module.0].prefix.clone();
                self.family_or_single(module, decl, |this, locals| {
                    let value =
                        this.eval(&decl.value, module, locals, Some(&Type::Artifact(expected)));
                    this.check_kind(decl, expected, value, &prefix, locals)
                })
            }
        }
    }

    /// Checks that a declaration's value is a node of its keyword's kind, and labels the node.
    fn check_kind(
        &mut self,
        decl: &Decl,
        expected: &'static str,
        value: SVal,
        prefix: &str,
        locals: &[(String, SVal)],
    ) -> SVal {
        match &value.val {
            Val::Node { id, kind } if self.catalog.is_kind_of(kind, expected) => {
                let mut label = format!("{prefix}{}", decl.name.name);
                if !locals.is_empty() {
                    let indices: Vec<String> = locals
                        .iter()
                        .map(|(_, v)| v.val.as_index().map_or_else(String::new, |i| i.to_string()))
                        .collect();
                    label = format!("{label}[{}]", indices.join(", "));
                }
                self.plan.add_label(*id, label);
                value
            }
            Val::Error => value,
            Val::Word { from: Some(_), .. } => {
                self.unresolved(&value, locals);
                SVal::error(value.span)
            }
            other => {
                let producers: Vec<&str> = self
                    .catalog
                    .ops()
                    .iter()
                    .filter(|op| self.catalog.is_kind_of(op.output, expected))
                    .map(|op| op.name)
                    .collect();
                let mut error = Diagnostic::error(
                    Code::KindMismatch,
                    value.span,
                    format!(
                        "`{}` is declared as `{expected}` but its value is {}",
                        decl.name.name,
                        other.describe()
                    ),
                )
                .with_secondary(decl.kind.span, format!("declared as `{expected}` here"));
                if let Val::Node { kind, .. } = other {
                    error = error.with_hint(format!("declare it as `{kind}`"));
                }
                if !producers.is_empty() {
                    error = error
                        .with_hint(format!("`{expected}` comes from: {}", producers.join(", ")));
                }
                self.report(error);
                SVal::error(value.span)
            }
        }
    }

    /// Evaluates a declaration's body once, or once per cell of its family.
    fn family_or_single(
        &mut self,
        module: ModuleId,
        decl: &Decl,
        mut body: impl FnMut(&mut Self, &[(String, SVal)]) -> SVal,
    ) -> SVal {
        if decl.binders.is_empty() {
            return body(self, &[]);
        }
        let mut axes = Vec::new();
        let mut vars: Vec<(String, Vec<SVal>)> = Vec::new();
        let mut ok = true;
        for binder in &decl.binders {
            let name = &binder.var.name;
            if vars.iter().any(|(n, _)| n == name) {
                let error = Diagnostic::error(
                    Code::BadBinder,
                    binder.var.span,
                    format!("index `{name}` is bound twice"),
                );
                self.report(error);
                ok = false;
                continue;
            }
            if self.names[module.0].contains_key(name) {
                let error = Diagnostic::error(
                    Code::BadBinder,
                    binder.var.span,
                    format!("index `{name}` has the name of a declaration of this file"),
                )
                .with_hint(
                    "choose another index name; an index would hide the declaration in the body",
                );
                self.report(error);
                ok = false;
                continue;
            }
            let domain = self.eval(&binder.domain, module, &[], None);
            let items = match &domain.val {
                Val::List(items) => items.clone(),
                Val::Error => {
                    ok = false;
                    continue;
                }
                other => {
                    let error = Diagnostic::error(
                        Code::BadBinder,
                        domain.span,
                        format!(
                            "an index ranges over a list or a range, found {}",
                            other.describe()
                        ),
                    )
                    .with_hint("write `b in 0..10` or `m in [\"a\", \"b\"]`");
                    self.report(error);
                    ok = false;
                    continue;
                }
            };
            let mut values = Vec::with_capacity(items.len());
            for item in items.iter() {
                match item.val.as_index() {
                    Some(value) => values.push(value),
                    None => {
                        let error = Diagnostic::error(
                            Code::BadBinder,
                            item.span,
                            format!(
                                "index values are ints, strings, bools or words, found {}",
                                item.val.describe()
                            ),
                        );
                        self.report(error);
                        ok = false;
                        break;
                    }
                }
            }
            match Axis::new(values) {
                Ok(axis) => axes.push(Rc::new(axis)),
                Err(repeated) => {
                    let error = Diagnostic::error(
                        Code::BadBinder,
                        domain.span,
                        format!("the domain holds {repeated} twice"),
                    )
                    .with_hint("every index value names one member of the family");
                    self.report(error);
                    ok = false;
                }
            }
            vars.push((name.clone(), items.iter().cloned().collect()));
        }
        if !ok {
            return SVal::error(decl.span);
        }
        let total = axes
            .iter()
            .try_fold(1usize, |n, a| n.checked_mul(a.values.len()));
        let total = match total {
            Some(total) if self.cells.saturating_add(total) <= MAX_CELLS => total,
            _ => {
                let error = Diagnostic::error(
                    Code::TooManyNodes,
                    decl.name.span,
                    "the family is too large",
                )
                .with_label(format!(
                    "this spec would expand to more than {MAX_CELLS} cells"
                ));
                self.report(error);
                return SVal::error(decl.span);
            }
        };
        self.cells += total;
        if total == 0 {
            let error = Diagnostic::error(
                Code::EmptyFamily,
                decl.name.span,
                format!("`{}` is empty", decl.name.name),
            )
            .with_label("a domain of this family has no values, so nothing is declared");
            self.report(error);
        }
        let mut cells = Vec::with_capacity(total);
        let mut locals: Vec<(String, SVal)> = vars
            .iter()
            .map(|(n, _)| (n.clone(), SVal::error(decl.span)))
            .collect();
        for flat in 0..total {
            let mut rest = flat;
            for (slot, (_, items)) in vars.iter().enumerate().rev() {
                locals[slot].1 = items[rest % items.len()].clone();
                rest /= items.len();
            }
            cells.push(body(self, &locals));
        }
        let label = format!("{}{}", self.modules[module.0].prefix, decl.name.name);
        SVal::new(
            Val::Family(Rc::new(Family { label, axes, cells })),
            decl.span,
        )
    }

    fn param(&mut self, module: ModuleId, decl: &Decl) -> SVal {
        if let Some(first) = decl.binders.first() {
            let error = Diagnostic::error(
                Code::BadParam,
                first.var.span,
                "a `param` cannot be a family",
            )
            .with_hint("use `let` for a family of values");
            self.report(error);
            return SVal::error(decl.span);
        }
        let ty = match &decl.ty {
            Some(annotation) => match self.type_expr(annotation) {
                Some(ty) => ty,
                None => return SVal::error(decl.span),
            },
            None => match &decl.value.kind {
                crate::ast::ExprKind::Int(_) => Type::Int,
                crate::ast::ExprKind::Float(..) => Type::Float,
                crate::ast::ExprKind::Bool(_) => Type::Bool,
                crate::ast::ExprKind::Str(_) => Type::Str,
                _ => {
                    let error = Diagnostic::error(
                        Code::BadParam,
                        decl.name.span,
                        format!("`param {}` needs a type", decl.name.name),
                    )
                    .with_hint(format!("write `param {}: TYPE = ...`", decl.name.name));
                    self.report(error);
                    return SVal::error(decl.span);
                }
            },
        };
        if !is_param_type(&ty) {
            let span = decl.ty.as_ref().map_or(decl.name.span, |t| t.span);
            let error = Diagnostic::error(
                Code::BadParam,
                span,
                format!("a `param` cannot have type `{ty}`"),
            )
            .with_hint("parameters are ints, floats, bools, strings, enum words or lists of those");
            self.report(error);
            return SVal::error(decl.span);
        }
        let key = (module, decl.name.name.clone());
        let expr = self.overrides.get(&key).cloned();
        let expr = expr.as_ref().unwrap_or(&decl.value);
        let value = self.eval(expr, module, &[], Some(&ty));
        match self.coerce(&value, &ty, &format!("`param {}`", decl.name.name)) {
            Some(fitted) => SVal::new(Val::from_value(&fitted, value.span), value.span),
            None => SVal::error(value.span),
        }
    }

    /// The type a type annotation names.
    pub(super) fn type_expr(&mut self, annotation: &TypeExpr) -> Option<Type> {
        let name = annotation.name.name.as_str();
        let simple = match name {
            "int" => Some(Type::Int),
            "float" => Some(Type::Float),
            "bool" => Some(Type::Bool),
            "string" => Some(Type::Str),
            "file" => Some(Type::File),
            _ => None,
        };
        if name == "list" {
            let Some(arg) = &annotation.arg else {
                let error = Diagnostic::error(
                    Code::UnknownType,
                    annotation.span,
                    "`list` needs an element type",
                )
                .with_hint("write `list[float]`");
                self.report(error);
                return None;
            };
            return self.type_expr(arg).map(Type::list);
        }
        if let Some(arg) = &annotation.arg {
            let error = Diagnostic::error(
                Code::UnknownType,
                arg.span,
                format!("`{name}` takes no type argument"),
            );
            self.report(error);
            return None;
        }
        if simple.is_some() {
            return simple;
        }
        if let Some(def) = self.catalog.enum_def(name) {
            return Some(Type::Enum(def.name));
        }
        if let Some(schema) = self.catalog.record(name) {
            return Some(Type::Record(schema.name));
        }
        let mut names = vec!["int", "float", "bool", "string", "file", "list"];
        names.extend(self.catalog.enums().iter().map(|e| e.name));
        names.extend(self.catalog.records().iter().map(|r| r.name));
        let mut error = Diagnostic::error(
            Code::UnknownType,
            annotation.name.span,
            format!("unknown type `{name}`"),
        );
        if let Some(hint) = did_you_mean(name, names.iter().copied()) {
            error = error.with_hint(hint);
        }
        self.report(error);
        None
    }
}

/// Whether a `param` may have this type: values that can be written on a command line.
fn is_param_type(ty: &Type) -> bool {
    match ty {
        Type::Int | Type::Float | Type::Bool | Type::Str | Type::File | Type::Enum(_) => true,
        Type::List(of) => is_param_type(of),
        _ => false,
    }
}
