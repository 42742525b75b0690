//! Typed evaluation: checks a loaded spec and lowers it into a plan in one pass.
//!
//! The language has no functions and every value is known when the spec is read, so checking
//! is evaluation with types: each expression is evaluated against the type its position expects
//! (a parameter's, a record field's, a declaration keyword's), and every mismatch is reported
//! where it was written. Calls of operations add nodes to the plan. Families are expanded cell
//! by cell; a problem in a family body is reported once, not once per cell.

mod call;
mod coerce;
mod decl;
mod val;

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use rung_engine::{Catalog, NodeId, Plan, Type};

use crate::ast::{Decl, Expr, ExprKind, Item};
use crate::diagnostic::{Code, Diagnostic};
use crate::loader::{LoadedModule, ModuleId};
use crate::source::Span;
use crate::suggest::did_you_mean;

pub(crate) use val::{Field, SVal, Val};

/// The most nodes and family cells one spec may expand to.
pub(crate) const MAX_CELLS: usize = 10_000_000;

/// The longest range a spec may write.
const MAX_RANGE: i64 = 10_000_000;

/// What a name at module level refers to.
#[derive(Debug, Clone, Copy)]
enum Binding {
    Decl(usize),
    Import(ModuleId),
}

#[derive(Debug, Clone)]
enum State {
    InProgress,
    Done(SVal),
}

/// A declaration of the root module and the nodes it produced.
#[derive(Debug, Clone)]
pub struct DeclNodes {
    /// The declared name.
    pub name: String,
    /// The declaration keyword.
    pub kind: String,
    /// Its nodes: one, or one per family cell in row-major order.
    pub nodes: Vec<NodeId>,
}

pub(crate) struct Evaluator<'a> {
    catalog: &'a Catalog,
    modules: &'a [LoadedModule],
    names: Vec<HashMap<String, Binding>>,
    decls: Vec<Vec<&'a Decl>>,
    states: HashMap<(ModuleId, usize), State>,
    overrides: HashMap<(ModuleId, String), Expr>,
    pub(crate) plan: Plan,
    cells: usize,
    diagnostics: Vec<Diagnostic>,
    reported: HashSet<(Code, Option<Span>)>,
}

impl<'a> Evaluator<'a> {
    pub(crate) fn new(catalog: &'a Catalog, modules: &'a [LoadedModule]) -> Evaluator<'a> {
        let mut evaluator = Evaluator {
            catalog,
            modules,
            names: Vec::new(),
            decls: Vec::new(),
            states: HashMap::new(),
            overrides: HashMap::new(),
            plan: Plan::new(),
            cells: 0,
            diagnostics: Vec::new(),
            reported: HashSet::new(),
        };
        for module in modules {
            evaluator.index_module(module);
        }
        evaluator
    }

    /// Builds a module's name table, reporting names declared twice.
    fn index_module(&mut self, module: &'a LoadedModule) {
        let mut names: HashMap<String, Binding> = HashMap::new();
        let mut spans: HashMap<String, Span> = HashMap::new();
        let mut decls = Vec::new();
        let mut claim = |this: &mut Self, name: &str, span: Span, binding: Binding| {
            if let Some(first) = spans.get(name) {
                let error = Diagnostic::error(
                    Code::DuplicateName,
                    span,
                    format!("`{name}` is declared twice"),
                )
                .with_label("declared again here")
                .with_secondary(*first, "first declared here")
                .with_hint("names are unique within a file, imports included");
                this.report(error);
                return;
            }
            spans.insert(name.to_string(), span);
            names.insert(name.to_string(), binding);
        };
        for (name, span, target) in &module.imports {
            claim(self, name, *span, Binding::Import(*target));
        }
        for item in &module.ast.items {
            if let Item::Decl(decl) = item {
                claim(
                    self,
                    &decl.name.name,
                    decl.name.span,
                    Binding::Decl(decls.len()),
                );
                decls.push(&**decl);
            }
        }
        self.names.push(names);
        self.decls.push(decls);
    }

    /// Matches a `--set` override to the parameter it names; `path` is `name` or `ns.name`.
    pub(crate) fn add_override(&mut self, path: &str, span: Span, value: Expr) {
        let mut module = ModuleId(0);
        let mut parts: Vec<&str> = path.split('.').collect();
        let name = parts.pop().unwrap_or_default();
        for namespace in parts {
            match self.names[module.0].get(namespace) {
                Some(Binding::Import(target)) => module = *target,
                _ => {
                    let error = Diagnostic::error(
                        Code::SetUnknown,
                        span,
                        format!("no namespace `{namespace}`"),
                    )
                    .with_label("in this `--set`");
                    self.report(error);
                    return;
                }
            }
        }
        let is_param = |b: &Binding| matches!(b, Binding::Decl(i) if self.decls[module.0][*i].kind.name == "param");
        if !self.names[module.0].get(name).is_some_and(is_param) {
            let params: Vec<&str> = self.decls[module.0]
                .iter()
                .filter(|d| d.kind.name == "param")
                .map(|d| d.name.name.as_str())
                .collect();
            let mut error = Diagnostic::error(
                Code::SetUnknown,
                span,
                format!("no parameter `{name}` to set"),
            )
            .with_label("in this `--set`");
            if let Some(hint) = did_you_mean(name, params.iter().copied()) {
                error = error.with_hint(hint);
            } else if !params.is_empty() {
                error = error.with_hint(format!("the spec's parameters: {}", params.join(", ")));
            }
            self.report(error);
            return;
        }
        self.overrides.insert((module, name.to_string()), value);
    }

    /// Evaluates every declaration of the root module.
    pub(crate) fn run(&mut self) -> Vec<DeclNodes> {
        let mut out = Vec::new();
        let root = ModuleId(0);
        for index in 0..self.decls[0].len() {
            let decl = self.decls[0][index];
            let value = self.decl_value(root, index, decl.name.span);
            if decl.kind.name == "param" || decl.kind.name == "let" {
                continue;
            }
            let mut nodes = Vec::new();
            match &value.val {
                Val::Node { id, .. } => nodes.push(*id),
                Val::Family(family) => {
                    nodes.extend(family.cells.iter().filter_map(|c| match c.val {
                        Val::Node { id, .. } => Some(id),
                        _ => None,
                    }));
                }
                _ => {}
            }
            out.push(DeclNodes {
                name: decl.name.name.clone(),
                kind: decl.kind.name.clone(),
                nodes,
            });
        }
        out
    }

    pub(crate) fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diagnostics
    }

    /// Records a diagnostic unless the same one was already reported (from another family cell).
    fn report(&mut self, diagnostic: Diagnostic) {
        let key = (diagnostic.code, diagnostic.primary.as_ref().map(|l| l.span));
        if self.reported.insert(key) {
            self.diagnostics.push(diagnostic);
        }
    }

    /// The names visible at module level, for suggestions.
    fn visible_names<'n>(&'n self, module: ModuleId, locals: &'n [(String, SVal)]) -> Vec<&'n str> {
        let mut names: Vec<&str> = self.names[module.0].keys().map(String::as_str).collect();
        names.extend(locals.iter().map(|(n, _)| n.as_str()));
        names.sort_unstable();
        names
    }

    /// Evaluates an expression; `hint` is the type its position expects, if known, and decides
    /// whether a bare name that is also an enum word means the word.
    fn eval(
        &mut self,
        expr: &Expr,
        module: ModuleId,
        locals: &[(String, SVal)],
        hint: Option<&Type>,
    ) -> SVal {
        let span = expr.span;
        let val = match &expr.kind {
            ExprKind::Int(i) => Val::Int(*i),
            ExprKind::Float(x, _) => Val::Float(*x),
            ExprKind::Bool(b) => Val::Bool(*b),
            ExprKind::None => Val::None,
            ExprKind::Str(s) => Val::Str(s.clone()),
            ExprKind::Word(word) => Val::Word {
                word: word.clone(),
                from: None,
            },
            ExprKind::Name(name) => return self.name(name, span, module, locals, hint),
            ExprKind::List(items) => {
                let element = match hint.map(peel_optional) {
                    Some(Type::List(of)) => Some(of.as_ref()),
                    _ => None,
                };
                let items: Vec<SVal> = items
                    .iter()
                    .map(|e| self.eval(e, module, locals, element))
                    .collect();
                if element.is_none() {
                    self.check_uniform(&items);
                }
                Val::List(Rc::new(items))
            }
            ExprKind::Record(entries) => {
                let record = match hint.map(peel_optional) {
                    Some(Type::Record(name)) => {
                        self.catalog.record(name).map(|s| s.fields.as_slice())
                    }
                    _ => None,
                };
                return self.record(entries, span, module, locals, record);
            }
            ExprKind::Range(start, end) => self.range(start, end, module, locals),
            ExprKind::Call(call) => return self.call(call, span, module, locals),
            ExprKind::Index(base, indices) => {
                return self.index(base, indices, span, module, locals);
            }
            ExprKind::Member(base, name) => return self.member(base, name, span, module, locals),
        };
        SVal::new(val, span)
    }

    fn name(
        &mut self,
        name: &str,
        span: Span,
        module: ModuleId,
        locals: &[(String, SVal)],
        hint: Option<&Type>,
    ) -> SVal {
        if let Some(Type::Enum(enum_name)) = hint.map(peel_optional)
            && self
                .catalog
                .enum_def(enum_name)
                .is_some_and(|e| e.has(name))
        {
            let word = Val::Word {
                word: name.to_string(),
                from: None,
            };
            return SVal::new(word, span);
        }
        if let Some((_, value)) = locals.iter().rev().find(|(n, _)| n == name) {
            return SVal::new(value.val.clone(), span);
        }
        match self.names[module.0].get(name).copied() {
            Some(Binding::Decl(index)) => {
                let value = self.decl_value(module, index, span);
                SVal::new(value.val, span)
            }
            Some(Binding::Import(target)) => SVal::new(Val::Namespace(target), span),
            None => SVal::new(
                Val::Word {
                    word: name.to_string(),
                    from: Some(module),
                },
                span,
            ),
        }
    }

    /// Reports a name that refers to nothing, with the closest visible name.
    fn unknown_name(
        &mut self,
        name: &str,
        span: Span,
        module: ModuleId,
        locals: &[(String, SVal)],
    ) {
        let mut error =
            Diagnostic::error(Code::UnknownName, span, format!("unknown name `{name}`"))
                .with_label("not declared in this file");
        let hint = did_you_mean(name, self.visible_names(module, locals));
        if let Some(hint) = hint {
            error = error.with_hint(hint);
        }
        self.report(error);
    }

    /// Reports a bare word that was meant as a name (it names nothing and no enum expects it).
    fn unresolved(&mut self, value: &SVal, locals: &[(String, SVal)]) {
        if let Val::Word {
            word,
            from: Some(module),
        } = &value.val
        {
            let (word, module) = (word.clone(), *module);
            self.unknown_name(&word, value.span, module, locals);
        }
    }

    fn check_uniform(&mut self, items: &[SVal]) {
        let class = |v: &Val| match v {
            Val::Int(_) | Val::Float(_) => "number".to_string(),
            Val::Error | Val::None => String::new(),
            Val::Record(_) => "record".to_string(),
            Val::List(_) => "list".to_string(),
            other => other.describe(),
        };
        let mut first: Option<(&SVal, String)> = None;
        for item in items {
            let c = class(&item.val);
            if c.is_empty() {
                continue;
            }
            match &first {
                None => first = Some((item, c)),
                Some((head, head_class))
                    if *head_class != c && !matches!(item.val, Val::Word { .. }) =>
                {
                    let error = Diagnostic::error(
                        Code::MixedList,
                        item.span,
                        "list elements differ in type",
                    )
                    .with_label(format!("this is {}", item.val.describe()))
                    .with_secondary(
                        head.span,
                        format!("the first element is {}", head.val.describe()),
                    );
                    self.report(error);
                    return;
                }
                Some(_) => {}
            }
        }
    }

    fn record(
        &mut self,
        entries: &[crate::ast::Entry],
        span: Span,
        module: ModuleId,
        locals: &[(String, SVal)],
        schema: Option<&[rung_engine::ParamSig]>,
    ) -> SVal {
        let mut fields: Vec<Field> = Vec::new();
        let mut written: HashMap<&str, Span> = HashMap::new();
        for entry in entries {
            match &entry.name {
                Some(name) => {
                    if let Some(first) = written.get(name.name.as_str()) {
                        let error = Diagnostic::error(
                            Code::RepeatedField,
                            name.span,
                            format!("field `{}` is given twice", name.name),
                        )
                        .with_secondary(*first, "first given here")
                        .with_hint("to override a preset's field, spread the preset first: `{ preset; field = value }`");
                        self.report(error);
                        continue;
                    }
                    written.insert(&name.name, name.span);
                    let field_hint = schema
                        .and_then(|s| s.iter().find(|p| p.name == name.name))
                        .map(|p| &p.ty);
                    let value = self.eval(&entry.value, module, locals, field_hint);
                    fields.retain(|f| f.name != name.name);
                    fields.push(Field {
                        name: name.name.clone(),
                        name_span: name.span,
                        value,
                    });
                }
                None => {
                    let spread = self.eval(&entry.value, module, locals, None);
                    match &spread.val {
                        Val::Record(inner) => {
                            for field in inner.iter() {
                                fields.retain(|f| f.name != field.name);
                                fields.push(field.clone());
                            }
                        }
                        Val::Error => {}
                        Val::Word { from: Some(_), .. } => {
                            self.unresolved(&spread, locals);
                        }
                        other => {
                            let error = Diagnostic::error(
                                Code::BadSpread,
                                spread.span,
                                format!(
                                    "only a record can be spread into a record, found {}",
                                    other.describe()
                                ),
                            )
                            .with_hint("write `name = value` for a field");
                            self.report(error);
                        }
                    }
                }
            }
        }
        SVal::new(Val::Record(Rc::new(fields)), span)
    }

    fn range(
        &mut self,
        start: &Expr,
        end: &Expr,
        module: ModuleId,
        locals: &[(String, SVal)],
    ) -> Val {
        let start = self.eval(start, module, locals, Some(&Type::Int));
        let end = self.eval(end, module, locals, Some(&Type::Int));
        let bound = |this: &mut Self, v: &SVal| match v.val {
            Val::Int(i) => Some(i),
            Val::Error => None,
            ref other => {
                let error =
                    Diagnostic::error(Code::BadRange, v.span, "range bounds must be integers")
                        .with_label(format!("this is {}", other.describe()));
                this.report(error);
                None
            }
        };
        let (Some(a), Some(b)) = (bound(self, &start), bound(self, &end)) else {
            return Val::Error;
        };
        if b.saturating_sub(a) > MAX_RANGE {
            let error =
                Diagnostic::error(Code::BadRange, start.span.to(end.span), "range too long")
                    .with_label(format!(
                        "{} values; ranges hold at most {MAX_RANGE}",
                        b.saturating_sub(a)
                    ));
            self.report(error);
            return Val::Error;
        }
        let span = start.span.to(end.span);
        Val::List(Rc::new(
            (a..b.max(a))
                .map(|i| SVal::new(Val::Int(i), span))
                .collect(),
        ))
    }

    fn member(
        &mut self,
        base: &Expr,
        name: &crate::ast::Ident,
        span: Span,
        module: ModuleId,
        locals: &[(String, SVal)],
    ) -> SVal {
        let value = self.eval(base, module, locals, None);
        match &value.val {
            Val::Namespace(target) => {
                let target = *target;
                match self.names[target.0].get(&name.name).copied() {
                    Some(Binding::Decl(index)) => {
                        let value = self.decl_value(target, index, name.span);
                        SVal::new(value.val, span)
                    }
                    _ => {
                        let candidates: Vec<&str> = self.decls[target.0]
                            .iter()
                            .map(|d| d.name.name.as_str())
                            .collect();
                        let mut error = Diagnostic::error(
                            Code::UnknownMember,
                            name.span,
                            format!("`{}` declares no `{}`", self.source_name(target), name.name),
                        );
                        if let Some(hint) = did_you_mean(&name.name, candidates) {
                            error = error.with_hint(hint);
                        }
                        self.report(error);
                        SVal::error(span)
                    }
                }
            }
            Val::Record(fields) => match fields.iter().find(|f| f.name == name.name) {
                Some(field) => SVal::new(field.value.val.clone(), span),
                None => {
                    let candidates: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
                    let mut error = Diagnostic::error(
                        Code::UnknownMember,
                        name.span,
                        format!("the record has no field `{}`", name.name),
                    );
                    if let Some(hint) = did_you_mean(&name.name, candidates) {
                        error = error.with_hint(hint);
                    }
                    self.report(error);
                    SVal::error(span)
                }
            },
            Val::Node { id, kind } => self.member_sugar(*id, kind, name, span),
            Val::Error => SVal::error(span),
            Val::Word { from: Some(_), .. } => {
                self.unresolved(&value, locals);
                SVal::error(span)
            }
            other => {
                let error = Diagnostic::error(
                    Code::NoMembers,
                    name.span,
                    format!("{} has no members", other.describe()),
                )
                .with_secondary(value.span, "this value");
                self.report(error);
                SVal::error(span)
            }
        }
    }

    /// The file a module was read from, as shown to the user.
    fn source_name(&self, module: ModuleId) -> String {
        let prefix = &self.modules[module.0].prefix;
        prefix.trim_end_matches('.').to_string()
    }

    fn index(
        &mut self,
        base: &Expr,
        indices: &[Expr],
        span: Span,
        module: ModuleId,
        locals: &[(String, SVal)],
    ) -> SVal {
        let value = self.eval(base, module, locals, None);
        let keys: Vec<SVal> = indices
            .iter()
            .map(|e| self.eval(e, module, locals, None))
            .collect();
        match &value.val {
            Val::Family(family) => self.family_cell(family, &keys, span),
            Val::Node { id, kind } => self.index_sugar(*id, kind, &keys, span),
            Val::List(items) => {
                if keys.len() != 1 {
                    let error = Diagnostic::error(Code::IndexCount, span, "a list takes one index")
                        .with_label(format!("{} indices given", keys.len()));
                    self.report(error);
                    return SVal::error(span);
                }
                match keys[0].val {
                    Val::Int(i) if i >= 0 && (i as usize) < items.len() => {
                        SVal::new(items[i as usize].val.clone(), span)
                    }
                    Val::Error => SVal::error(span),
                    ref other => {
                        let error = Diagnostic::error(
                            Code::IndexOutOfDomain,
                            keys[0].span,
                            format!(
                                "index {} is not in the list's 0..{}",
                                describe_index(other),
                                items.len()
                            ),
                        );
                        self.report(error);
                        SVal::error(span)
                    }
                }
            }
            Val::Error => SVal::error(span),
            Val::Word { from: Some(_), .. } => {
                self.unresolved(&value, locals);
                SVal::error(span)
            }
            other => {
                let error = Diagnostic::error(
                    Code::NotIndexable,
                    value.span,
                    format!("{} cannot be indexed", other.describe()),
                )
                .with_hint("families (`x[b in 0..10] = ...`), lists and bins can be indexed");
                self.report(error);
                SVal::error(span)
            }
        }
    }

    /// A member of a family, or with fewer indices than its rank, the sub-family they select.
    fn family_cell(&mut self, family: &Rc<val::Family>, keys: &[SVal], span: Span) -> SVal {
        if keys.is_empty() || keys.len() > family.axes.len() {
            let rank = family.axes.len();
            let error = Diagnostic::error(
                Code::IndexCount,
                span,
                format!(
                    "`{}` takes 1 to {rank} {}, found {}",
                    family.label,
                    if rank == 1 { "index" } else { "indices" },
                    keys.len()
                ),
            );
            self.report(error);
            return SVal::error(span);
        }
        let mut position = 0;
        let mut indices = Vec::with_capacity(keys.len());
        for (axis, key) in family.axes.iter().zip(keys) {
            if matches!(key.val, Val::Error) {
                return SVal::error(span);
            }
            let found = key.val.as_index().and_then(|k| axis.position(&k));
            let Some(offset) = found else {
                let error = Diagnostic::error(
                    Code::IndexOutOfDomain,
                    key.span,
                    format!(
                        "index {} is not in the domain of `{}`",
                        describe_index(&key.val),
                        family.label
                    ),
                )
                .with_label(format!("the domain is {}", axis.describe()));
                self.report(error);
                return SVal::error(span);
            };
            indices.push(describe_index(&key.val));
            position = position * axis.values.len() + offset;
        }
        let rest = &family.axes[keys.len()..];
        if rest.is_empty() {
            return SVal::new(family.cells[position].val.clone(), span);
        }
        let stride: usize = rest.iter().map(|a| a.values.len()).product();
        let cells = family.cells[position * stride..(position + 1) * stride].to_vec();
        let label = format!("{}[{}]", family.label, indices.join(", "));
        SVal::new(
            Val::Family(Rc::new(val::Family {
                label,
                axes: rest.to_vec(),
                cells,
            })),
            span,
        )
    }
}

/// An index value as written, for messages.
fn describe_index(value: &Val) -> String {
    value
        .as_index()
        .map_or_else(|| value.describe(), |v| v.to_string())
}

/// The type inside an optional, or the type itself.
pub(crate) fn peel_optional(ty: &Type) -> &Type {
    match ty {
        Type::Optional(of) => of,
        other => other,
    }
}
