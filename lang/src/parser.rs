//! Text to syntax tree. pest stays behind this module: nothing else names a pest type.

use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;

use crate::ast::{
    Arg, Binder, Call, Decl, Entry, Expr, ExprKind, Ident, Import, Item, Module, TypeExpr,
};
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{FileId, Span};
use crate::trivia::{self, MAX_DEPTH};

mod grammar {
    #![allow(missing_docs)]
    #[derive(pest_derive::Parser)]
    #[grammar = "grammar.pest"]
    pub(super) struct Grammar;
}
use grammar::{Grammar, Rule};

/// Parses one file. Syntax errors stop at the first; literal errors are all reported.
pub fn parse_module(file: FileId, text: &str) -> (Option<Module>, Vec<Diagnostic>) {
    let trivia = trivia::scan(file, text);
    if let Some(offset) = trivia.too_deep {
        let span = Span::new(file, offset, offset + 1);
        let error = Diagnostic::error(Code::TooDeep, span, "brackets are nested too deeply")
            .with_label(format!("nesting goes past {MAX_DEPTH} levels here"))
            .with_hint("name the inner values with `let` declarations");
        return (None, vec![error]);
    }
    pest::set_error_detail(true);
    let pairs = match Grammar::parse(Rule::file, text) {
        Ok(pairs) => pairs,
        Err(error) => return (None, vec![syntax_error(file, text, &error)]),
    };
    let mut builder = Builder {
        file,
        text,
        comments: &trivia.comments,
        diagnostics: Vec::new(),
    };
    let mut items = Vec::new();
    for pair in pairs
        .flatten()
        .filter(|p| p.as_rule() == Rule::import || p.as_rule() == Rule::decl)
    {
        items.push(match pair.as_rule() {
            Rule::import => Item::Import(builder.import(pair)),
            _ => Item::Decl(Box::new(builder.decl(pair, &trivia.comments))),
        });
    }
    let diagnostics = builder.diagnostics;
    let module = Module {
        items,
        comments: trivia.comments,
    };
    (Some(module), diagnostics)
}

/// Parses the value of a `--set name=value` override, held as its own pseudo-file.
pub fn parse_value(file: FileId, text: &str) -> Result<Expr, Diagnostic> {
    if let Some(offset) = trivia::scan(file, text).too_deep {
        let span = Span::new(file, offset, offset + 1);
        return Err(Diagnostic::error(
            Code::TooDeep,
            span,
            "brackets are nested too deeply",
        ));
    }
    let mut pairs = Grammar::parse(Rule::override_value, text)
        .map_err(|error| syntax_error(file, text, &error))?;
    let mut builder = Builder {
        file,
        text,
        comments: &[],
        diagnostics: Vec::new(),
    };
    let expr = pairs
        .next()
        .and_then(|p| p.into_inner().next())
        .map(|p| builder.expr(p))
        .ok_or_else(|| {
            Diagnostic::error(Code::Syntax, Span::new(file, 0, 0), "expected a value")
        })?;
    match builder.diagnostics.into_iter().next() {
        Some(error) => Err(error),
        None => Ok(expr),
    }
}

fn syntax_error(file: FileId, text: &str, error: &pest::error::Error<Rule>) -> Diagnostic {
    let offset = match error.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let found = match text[offset..].chars().next() {
        None => "end of file".to_string(),
        Some(c) if c.is_alphanumeric() || c == '_' => {
            let word: String = text[offset..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            format!("`{word}`")
        }
        Some(c) => format!("`{}`", c.escape_default()),
    };
    let mut expected: Vec<String> = Vec::new();
    if let ErrorVariant::ParsingError { positives, .. } = &error.variant {
        expected.extend(
            positives
                .iter()
                .filter_map(|r| describe_rule(*r))
                .map(str::to_string),
        );
    }
    if let Some(attempts) = error.parse_attempts() {
        // Character ranges and `_` come from inside names and numbers; "a name" says it better.
        let is_char_range =
            |t: &str| t.chars().count() == 4 && t.chars().skip(1).take(2).all(|c| c == '.');
        let tokens = attempts
            .expected_tokens()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>();
        let visible = tokens
            .into_iter()
            .filter(|t| !t.trim().is_empty() && t != "//" && t != "_" && !is_char_range(t));
        expected.extend(visible.map(|t| format!("`{t}`")));
    }
    expected.sort();
    expected.dedup();
    let end = offset + text[offset..].chars().next().map_or(0, char::len_utf8);
    let span = Span::new(file, offset, end);
    let message = match expected.as_slice() {
        [] => format!("unexpected {found}"),
        [one] => format!("expected {one}, found {found}"),
        [init @ .., last] => format!("expected {} or {last}, found {found}", init.join(", ")),
    };
    Diagnostic::error(Code::Syntax, span, message).with_label("here")
}

fn describe_rule(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of file",
        Rule::import => "`import`",
        Rule::decl => "a declaration",
        Rule::ident => "a name",
        Rule::expr | Rule::postfix | Rule::override_value => "a value",
        Rule::string => "a string",
        Rule::int | Rule::float => "a number",
        Rule::binders | Rule::binder => "an index binding (`b in 0..10`)",
        Rule::type_ann => "a type annotation",
        Rule::type_expr => "a type",
        Rule::record | Rule::entry => "a record",
        Rule::list => "a list",
        Rule::call | Rule::arg => "an argument",
        _ => return None,
    })
}

struct Builder<'t> {
    file: FileId,
    text: &'t str,
    comments: &'t [crate::ast::Comment],
    diagnostics: Vec<Diagnostic>,
}

impl Builder<'_> {
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        let end = trivia::trim_trailing(self.text, self.comments, s.start(), s.end());
        Span::new(self.file, s.start(), end)
    }

    fn ident(&self, pair: Pair<'_, Rule>) -> Ident {
        Ident {
            name: pair.as_str().to_string(),
            span: self.span(&pair),
        }
    }

    fn import(&mut self, pair: Pair<'_, Rule>) -> Import {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let (path, path_span) = match inner.next() {
            Some(p) => (self.string(&p), self.span(&p)),
            None => (String::new(), span),
        };
        let alias = inner.next().map(|p| self.ident(p));
        Import {
            path,
            path_span,
            alias,
            span,
        }
    }

    fn decl(&mut self, pair: Pair<'_, Rule>, comments: &[crate::ast::Comment]) -> Decl {
        let span = self.span(&pair);
        let docs = trivia::docs_before(self.text, comments, span.start as usize);
        let mut kind = None;
        let mut name = None;
        let mut binders = Vec::new();
        let mut ty = None;
        let mut value = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::ident if kind.is_none() => kind = Some(self.ident(part)),
                Rule::ident => name = Some(self.ident(part)),
                Rule::binders => {
                    for binder in part.into_inner() {
                        let mut inner = binder.into_inner();
                        if let (Some(var), Some(domain)) = (inner.next(), inner.next()) {
                            binders.push(Binder {
                                var: self.ident(var),
                                domain: self.expr(domain),
                            });
                        }
                    }
                }
                Rule::type_ann => ty = part.into_inner().next().map(|t| self.type_expr(t)),
                _ => value = Some(self.expr(part)),
            }
        }
        let placeholder = || Ident {
            name: String::new(),
            span,
        };
        Decl {
            docs,
            kind: kind.unwrap_or_else(placeholder),
            name: name.unwrap_or_else(placeholder),
            binders,
            ty,
            value: value.unwrap_or(Expr {
                kind: ExprKind::None,
                span,
            }),
            span,
        }
    }

    fn type_expr(&self, pair: Pair<'_, Rule>) -> TypeExpr {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let name = inner.next().map_or(
            Ident {
                name: String::new(),
                span,
            },
            |p| self.ident(p),
        );
        let arg = inner.next().map(|p| Box::new(self.type_expr(p)));
        TypeExpr { name, arg, span }
    }

    fn expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::expr => {
                let mut inner = pair.into_inner();
                let start = inner.next().map(|p| self.expr(p));
                let end = inner.next().map(|p| self.expr(p));
                match (start, end) {
                    (Some(start), Some(end)) => Expr {
                        kind: ExprKind::Range(Box::new(start), Box::new(end)),
                        span,
                    },
                    (Some(start), None) => start,
                    _ => Expr {
                        kind: ExprKind::None,
                        span,
                    },
                }
            }
            Rule::postfix => {
                let mut inner = pair.into_inner();
                let Some(first) = inner.next() else {
                    return Expr {
                        kind: ExprKind::None,
                        span,
                    };
                };
                let mut expr = self.expr(first);
                for suffix in inner {
                    let end = self.span(&suffix);
                    let kind = match suffix.as_rule() {
                        Rule::index => {
                            let indices = suffix.into_inner().map(|p| self.expr(p)).collect();
                            ExprKind::Index(Box::new(expr), indices)
                        }
                        _ => match suffix.into_inner().next() {
                            Some(name) => ExprKind::Member(Box::new(expr), self.ident(name)),
                            None => continue,
                        },
                    };
                    expr = Expr {
                        kind,
                        span: span.to(end),
                    };
                }
                expr
            }
            Rule::int => {
                let kind = match pair.as_str().parse::<i64>() {
                    Ok(value) => ExprKind::Int(value),
                    Err(_) => {
                        self.diagnostics.push(
                            Diagnostic::error(
                                Code::IntOutOfRange,
                                span,
                                "integer literal out of range",
                            )
                            .with_label("does not fit in a 64-bit signed integer"),
                        );
                        ExprKind::Int(0)
                    }
                };
                Expr { kind, span }
            }
            Rule::float => {
                let text = pair.as_str();
                let value = text.parse::<f64>().unwrap_or(f64::NAN);
                Expr {
                    kind: ExprKind::Float(value, text.to_string()),
                    span,
                }
            }
            Rule::word => Expr {
                kind: ExprKind::Word(pair.as_str().to_string()),
                span,
            },
            Rule::boolean => Expr {
                kind: ExprKind::Bool(pair.as_str() == "true"),
                span,
            },
            Rule::none => Expr {
                kind: ExprKind::None,
                span,
            },
            Rule::string => Expr {
                kind: ExprKind::Str(self.string(&pair)),
                span,
            },
            Rule::ident => Expr {
                kind: ExprKind::Name(pair.as_str().to_string()),
                span,
            },
            Rule::list => {
                let items = pair.into_inner().map(|p| self.expr(p)).collect();
                Expr {
                    kind: ExprKind::List(items),
                    span,
                }
            }
            Rule::record => Expr {
                kind: ExprKind::Record(self.entries(pair)),
                span,
            },
            Rule::call => {
                let mut inner = pair.into_inner();
                let op = inner.next().map_or(
                    Ident {
                        name: String::new(),
                        span,
                    },
                    |p| self.ident(p),
                );
                let mut args = Vec::new();
                let mut block = None;
                for part in inner {
                    match part.as_rule() {
                        Rule::arg => {
                            let mut pieces: Vec<_> = part.into_inner().collect();
                            let value = pieces.pop().map(|p| self.expr(p));
                            let name = pieces.pop().map(|p| self.ident(p));
                            if let Some(value) = value {
                                args.push(Arg { name, value });
                            }
                        }
                        _ => block = Some(Box::new(self.expr(part))),
                    }
                }
                Expr {
                    kind: ExprKind::Call(Call { op, args, block }),
                    span,
                }
            }
            _ => Expr {
                kind: ExprKind::None,
                span,
            },
        }
    }

    fn entries(&mut self, pair: Pair<'_, Rule>) -> Vec<Entry> {
        let mut entries = Vec::new();
        for entry in pair.into_inner() {
            let mut pieces: Vec<_> = entry.into_inner().collect();
            let value = pieces.pop().map(|p| self.expr(p));
            let name = pieces.pop().map(|p| self.ident(p));
            if let Some(value) = value {
                entries.push(Entry { name, value });
            }
        }
        entries
    }

    /// Unescapes a string literal, reporting unknown escapes.
    fn string(&mut self, pair: &Pair<'_, Rule>) -> String {
        let raw = pair.as_str();
        let body = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
        let base = pair.as_span().start() + 1;
        let mut out = String::with_capacity(body.len());
        let mut chars = body.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            let escaped = chars.next().map(|(_, e)| e);
            let decoded = match escaped {
                Some('n') => Some('\n'),
                Some('t') => Some('\t'),
                Some('r') => Some('\r'),
                Some('"') => Some('"'),
                Some('\\') => Some('\\'),
                Some('u') => self.unicode_escape(&mut chars),
                _ => None,
            };
            match decoded {
                Some(c) => out.push(c),
                None => {
                    let end = chars.peek().map_or(body.len(), |(j, _)| *j);
                    let span = Span::new(self.file, base + i, base + end);
                    self.diagnostics.push(
                        Diagnostic::error(
                            Code::BadEscape,
                            span,
                            "unknown escape in string literal",
                        )
                        .with_hint(r#"the escapes are \n \t \r \" \\ and \u{hex}"#),
                    );
                }
            }
        }
        out
    }

    fn unicode_escape(
        &self,
        chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    ) -> Option<char> {
        if chars.peek().map(|(_, c)| *c) != Some('{') {
            return None;
        }
        chars.next();
        let mut hex = String::new();
        for (_, c) in chars.by_ref() {
            if c == '}' {
                return u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
            }
            hex.push(c);
            if hex.len() > 6 {
                return None;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Module {
        let (module, diagnostics) = parse_module(FileId(0), text);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        module.expect("parses")
    }

    fn value(text: &str) -> ExprKind {
        match &parse(&format!("let x = {text}")).items[0] {
            Item::Decl(decl) => decl.value.kind.clone(),
            Item::Import(_) => unreachable!(),
        }
    }

    #[test]
    fn literals() {
        assert_eq!(value("42"), ExprKind::Int(42));
        assert_eq!(value("-3"), ExprKind::Int(-3));
        assert_eq!(value("5e-6"), ExprKind::Float(5e-6, "5e-6".into()));
        assert_eq!(value("0.25"), ExprKind::Float(0.25, "0.25".into()));
        assert_eq!(value("1pl"), ExprKind::Word("1pl".into()));
        assert_eq!(value("true"), ExprKind::Bool(true));
        assert_eq!(value("none"), ExprKind::None);
        assert_eq!(value(r#""a\"b\u{41}""#), ExprKind::Str("a\"bA".into()));
        assert_eq!(value("cosine"), ExprKind::Name("cosine".into()));
        assert!(matches!(value("0..10"), ExprKind::Range(..)));
    }

    #[test]
    fn calls_with_blocks_indices_and_members() {
        let ExprKind::Call(call) = value("sft(base, q[b], lr = 1e-5) { paper.sft; seed = seed }")
        else {
            panic!("not a call")
        };
        assert_eq!(call.op.name, "sft");
        assert_eq!(call.args.len(), 3);
        assert_eq!(
            call.args[2].name.as_ref().map(|n| n.name.as_str()),
            Some("lr")
        );
        assert!(matches!(call.args[1].value.kind, ExprKind::Index(..)));
        let Some(block) = call.block else {
            panic!("no block")
        };
        let ExprKind::Record(entries) = block.kind else {
            panic!("not a record")
        };
        assert!(entries[0].name.is_none());
        assert!(matches!(entries[0].value.kind, ExprKind::Member(..)));
        assert_eq!(
            entries[1].name.as_ref().map(|n| n.name.as_str()),
            Some("seed")
        );
    }

    #[test]
    fn families_and_params() {
        let module = parse("eval grid[b in 0..10, e in [1, 2]] = f(b)\nparam seed: int = 42");
        let Item::Decl(grid) = &module.items[0] else {
            panic!()
        };
        assert_eq!(grid.binders.len(), 2);
        let Item::Decl(seed) = &module.items[1] else {
            panic!()
        };
        assert_eq!(seed.ty.as_ref().map(|t| t.name.name.as_str()), Some("int"));
    }

    #[test]
    fn syntax_errors_say_what_was_expected() {
        let (module, diagnostics) = parse_module(FileId(0), "let x = [1, 2\nlet y = 1");
        assert!(module.is_none());
        assert_eq!(diagnostics[0].code, Code::Syntax);
        let message = &diagnostics[0].message;
        assert!(
            message.contains("`]`") && message.contains("found `let`"),
            "{message}"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = format!("let x = {}", "[".repeat(100_000));
        let (_, diagnostics) = parse_module(FileId(0), &text);
        assert_eq!(diagnostics[0].code, Code::TooDeep);
    }
}
