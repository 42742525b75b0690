//! The canonical layout of a spec, as `rung fmt` prints it, with every comment kept.
//!
//! Formatting happens in two steps. The syntax tree is first turned into a small document:
//! text, places where a line may break, and groups (records, lists, argument lists) that are
//! printed either on one line or broken with one entry per line. Comments are placed while the
//! document is built, by their spans, with a single cursor over the sorted comment list, so the
//! cost stays linear in the size of the file. The document is then printed the Wadler way: a
//! group stays on one line when nothing forces it to break and it fits in 100 columns.
//!
//! The layout:
//!
//! - one item per line, in source order; single blank lines between items are kept, longer runs
//!   collapse to one, and the file ends with exactly one newline;
//! - `kind name[b in 0..10]: type = value`, `a..b`, `{ a = 1, b = 2 }`, `[1, 2]`,
//!   `op(a, n = 1) { preset, seed = seed }`; entries are always separated by `,`;
//! - a record, list or argument list is broken (one entry per line, four spaces per level, a
//!   trailing comma) when it holds a comment, when it was written across several lines, when
//!   something inside it is broken, or when its one-line form would pass column 100;
//! - family binders and index brackets are always printed on one line;
//! - an own-line comment stays on its own line before the next item or entry; a trailing comment
//!   stays after the item or entry it followed, one space away; a comment where the layout has
//!   no room for one (between a name and `[`, inside an index) moves to its own line before the
//!   innermost enclosing entry, or before the declaration (above its doc comments).

use rung_engine::value::format_string;

use crate::ast::{Comment, Decl, Expr, ExprKind, Ident, Item, Module, TypeExpr};
use crate::diagnostic::Diagnostic;
use crate::parser::parse_module;
use crate::source::FileId;

/// The column a line should not pass.
pub(crate) const WIDTH: usize = 100;

/// Spaces per nesting level.
const INDENT: usize = 4;

/// Formats one spec file, or returns its diagnostics when it does not parse cleanly.
///
/// The result parses to the same syntax tree (spans aside) and keeps every comment in order;
/// formatting it again gives the same text.
pub fn format_source(file: FileId, text: &str) -> Result<String, Vec<Diagnostic>> {
    let (module, diagnostics) = parse_module(file, text);
    match module {
        Some(module) if !diagnostics.iter().any(Diagnostic::is_error) => {
            Ok(format_module(text, &module))
        }
        _ => Err(diagnostics),
    }
}

/// Formats a parsed module; `text` is the source it was parsed from.
pub(crate) fn format_module(text: &str, module: &Module) -> String {
    let mut builder = Builder {
        text,
        comments: &module.comments,
        next: 0,
        frames: Vec::new(),
        flat_only: 0,
    };
    let doc = builder.module(&module.items);
    print(&doc)
}

/// The document: what to print and where lines may break.
#[derive(Debug)]
enum Doc {
    /// Text without newlines.
    Text(String),
    /// A space on one line, a newline when broken.
    Line,
    /// Nothing on one line, a newline when broken.
    SoftLine,
    /// Always a newline; breaks every enclosing group.
    HardLine,
    /// Text printed only when the enclosing group is broken (the trailing comma).
    IfBreak(&'static str),
    /// A `//` comment after code on the same line; a newline must follow it.
    TrailingComment(String),
    /// The contents, one level deeper.
    Indent(Vec<Doc>),
    /// The contents, in sequence.
    Concat(Vec<Doc>),
    /// Printed all on one line or with every line of this level broken.
    Group {
        /// The contents.
        docs: Vec<Doc>,
        /// Whether it must break, whatever the width.
        broken: bool,
    },
}

impl Doc {
    fn text(s: &str) -> Doc {
        Doc::Text(s.to_string())
    }

    /// A group, broken when `forced` or when anything inside it must break.
    fn group(docs: Vec<Doc>, forced: bool) -> Doc {
        let broken = forced || docs.iter().any(Doc::forces_break);
        Doc::Group { docs, broken }
    }

    /// Whether this piece breaks the group around it. Stops at inner groups, whose flag already
    /// says it, so building stays linear.
    fn forces_break(&self) -> bool {
        match self {
            Doc::HardLine | Doc::TrailingComment(_) => true,
            Doc::Group { broken, .. } => *broken,
            Doc::Indent(docs) | Doc::Concat(docs) => docs.iter().any(Doc::forces_break),
            Doc::Text(_) | Doc::Line | Doc::SoftLine | Doc::IfBreak(_) => false,
        }
    }
}

/// One line of a bracketed body or of the file: a comment or an entry/item.
struct Row {
    slot: Slot,
    /// Whether a blank line comes before it.
    blank: bool,
    /// The comment after it on the same line.
    trailing: Option<String>,
}

enum Slot {
    Comment(String),
    Node(Doc),
}

/// The bracket pairs that may break.
#[derive(Clone, Copy)]
enum Brackets {
    List,
    Record,
    Args,
}

impl Brackets {
    /// Opening text, closing text, and whether a space pads the inside on one line.
    fn parts(self) -> (&'static str, &'static str, bool) {
        match self {
            Brackets::List => ("[", "]", false),
            Brackets::Record => ("{", "}", true),
            Brackets::Args => ("(", ")", false),
        }
    }
}

/// A list element, record entry or argument: an optional `name =` and a value.
type Element<'a> = (Option<&'a Ident>, &'a Expr);

struct Builder<'a> {
    text: &'a str,
    /// Every comment, sorted by position.
    comments: &'a [Comment],
    /// The first comment not placed yet.
    next: usize,
    /// Comments found where the layout cannot hold them, per enclosing entry or item.
    frames: Vec<Vec<String>>,
    /// Above zero inside binders and index brackets, which are always on one line.
    flat_only: usize,
}

impl<'a> Builder<'a> {
    /// The comments not placed yet that start before `pos`.
    fn drain(&mut self, pos: usize) -> &'a [Comment] {
        let comments = self.comments;
        let first = self.next;
        while comments
            .get(self.next)
            .is_some_and(|c| (c.span.start as usize) < pos)
        {
            self.next += 1;
        }
        comments.get(first..self.next).unwrap_or(&[])
    }

    /// Hands the comments before `pos` to the innermost entry or item: they sit where the layout
    /// has no room for a comment.
    fn take_orphans(&mut self, pos: usize) {
        let found = self.drain(pos);
        if let Some(frame) = self.frames.last_mut() {
            frame.extend(found.iter().map(|c| c.text.clone()));
        }
    }

    /// Where the code of a span really ends. The parser's spans of items, calls without a block
    /// and postfix chains run on over the whitespace and comments after them (pest keeps the
    /// skip before an optional part that is absent), so those are cut off here.
    fn code_end(&self, start: usize, end: usize) -> usize {
        let bytes = self.text.as_bytes();
        let mut end = end.min(bytes.len());
        loop {
            while end > start && bytes.get(end - 1).is_some_and(u8::is_ascii_whitespace) {
                end -= 1;
            }
            // Comments do not overlap, so sorted by start they are sorted by end too.
            match self
                .comments
                .binary_search_by_key(&end, |c| c.span.end as usize)
            {
                Ok(i) => match self.comments.get(i) {
                    Some(c) if c.span.start as usize >= start => end = c.span.start as usize,
                    _ => return end,
                },
                Err(_) => return end,
            }
        }
    }

    fn slice(&self, start: usize, end: usize) -> &'a str {
        self.text.get(start..end).unwrap_or("")
    }

    /// Places the comments before `until` as lines: trailing the previous entry when on its
    /// line, otherwise on their own. `prev` is where the previous line ended in the source.
    fn gap(&mut self, prev: &mut usize, until: usize, lines: &mut Vec<Row>) {
        for comment in self.drain(until) {
            let start = comment.span.start as usize;
            let between = self.slice(*prev, start);
            let blank = !lines.is_empty() && is_blank(between);
            match lines.last_mut() {
                Some(Row {
                    slot: Slot::Node(_),
                    trailing: trailing @ None,
                    ..
                }) if !between.contains('\n') => *trailing = Some(comment.text.clone()),
                _ => lines.push(Row {
                    slot: Slot::Comment(comment.text.clone()),
                    blank,
                    trailing: None,
                }),
            }
            *prev = comment.span.end as usize;
        }
    }

    fn module(&mut self, items: &'a [Item]) -> Doc {
        let mut lines = Vec::new();
        let mut prev = 0;
        for item in items {
            let span = item.span().range();
            let span = span.start..self.code_end(span.start, span.end);
            self.gap(&mut prev, span.start, &mut lines);
            let blank = !lines.is_empty() && is_blank(self.slice(prev, span.start));
            self.frames.push(Vec::new());
            let doc = match item {
                Item::Import(import) => {
                    let mut docs = vec![Doc::text("import "), Doc::Text(quote(&import.path))];
                    if let Some(alias) = &import.alias {
                        docs.push(Doc::text(" as "));
                        docs.push(Doc::text(&alias.name));
                    }
                    Doc::Concat(docs)
                }
                Item::Decl(decl) => self.decl(decl),
            };
            self.take_orphans(span.end);
            let orphans = self.frames.pop().unwrap_or_default();
            let blank = hoist(&mut lines, orphans, blank, matches!(item, Item::Decl(_)));
            lines.push(Row {
                slot: Slot::Node(doc),
                blank,
                trailing: None,
            });
            prev = span.end;
        }
        self.gap(&mut prev, self.text.len(), &mut lines);
        let mut docs = Vec::with_capacity(lines.len() * 3);
        for (i, line) in lines.into_iter().enumerate() {
            if i > 0 {
                docs.push(Doc::HardLine);
                if line.blank {
                    docs.push(Doc::HardLine);
                }
            }
            docs.push(match line.slot {
                Slot::Comment(text) => Doc::Text(text),
                Slot::Node(doc) => doc,
            });
            if let Some(text) = line.trailing {
                docs.push(Doc::TrailingComment(text));
            }
        }
        if !docs.is_empty() {
            docs.push(Doc::HardLine);
        }
        Doc::Concat(docs)
    }

    fn decl(&mut self, decl: &'a Decl) -> Doc {
        let mut docs = vec![
            Doc::text(&decl.kind.name),
            Doc::text(" "),
            Doc::text(&decl.name.name),
        ];
        if !decl.binders.is_empty() {
            self.flat_only += 1;
            docs.push(Doc::text("["));
            for (i, binder) in decl.binders.iter().enumerate() {
                if i > 0 {
                    docs.push(Doc::text(", "));
                }
                docs.push(Doc::text(&binder.var.name));
                docs.push(Doc::text(" in "));
                docs.push(self.expr(&binder.domain));
            }
            docs.push(Doc::text("]"));
            self.flat_only -= 1;
        }
        if let Some(ty) = &decl.ty {
            docs.push(Doc::text(": "));
            docs.push(Doc::Text(type_text(ty)));
        }
        docs.push(Doc::text(" = "));
        docs.push(self.expr(&decl.value));
        Doc::Concat(docs)
    }

    fn expr(&mut self, expr: &'a Expr) -> Doc {
        let span = expr.span.range();
        match &expr.kind {
            ExprKind::Int(i) => Doc::Text(i.to_string()),
            ExprKind::Float(_, spelling) => Doc::text(spelling),
            ExprKind::Bool(b) => Doc::Text(b.to_string()),
            ExprKind::None => Doc::text("none"),
            ExprKind::Str(s) => Doc::Text(quote(s)),
            ExprKind::Word(word) | ExprKind::Name(word) => Doc::text(word),
            ExprKind::List(items) => {
                let elements = items.iter().map(|e| (None, e)).collect();
                let close = span.end.saturating_sub(1);
                self.bracketed(Brackets::List, span.start, close, elements)
            }
            ExprKind::Record(entries) => {
                let elements = entries
                    .iter()
                    .map(|e| (e.name.as_ref(), &e.value))
                    .collect();
                let close = span.end.saturating_sub(1);
                self.bracketed(Brackets::Record, span.start, close, elements)
            }
            ExprKind::Range(start, end) => {
                Doc::Concat(vec![self.expr(start), Doc::text(".."), self.expr(end)])
            }
            ExprKind::Call(call) => {
                let open = skip_trivia(self.text, call.op.span.end as usize);
                let last = call.args.last().map_or(open + 1, |a| {
                    self.code_end(a.value.span.start as usize, a.value.span.end as usize)
                });
                let close = skip_trivia(self.text, last);
                let elements = call
                    .args
                    .iter()
                    .map(|a| (a.name.as_ref(), &a.value))
                    .collect();
                let mut docs = vec![
                    Doc::text(&call.op.name),
                    self.bracketed(Brackets::Args, open, close, elements),
                ];
                if let Some(block) = &call.block {
                    docs.push(Doc::text(" "));
                    docs.push(self.expr(block));
                }
                Doc::Concat(docs)
            }
            ExprKind::Index(base, indices) => {
                let mut docs = vec![self.expr(base), Doc::text("[")];
                self.flat_only += 1;
                for (i, index) in indices.iter().enumerate() {
                    if i > 0 {
                        docs.push(Doc::text(", "));
                    }
                    docs.push(self.expr(index));
                }
                self.flat_only -= 1;
                docs.push(Doc::text("]"));
                Doc::Concat(docs)
            }
            ExprKind::Member(base, name) => {
                Doc::Concat(vec![self.expr(base), Doc::text("."), Doc::text(&name.name)])
            }
        }
    }

    fn element(&mut self, (name, value): Element<'a>) -> Doc {
        match name {
            Some(name) => Doc::Concat(vec![
                Doc::text(&name.name),
                Doc::text(" = "),
                self.expr(value),
            ]),
            None => self.expr(value),
        }
    }

    /// A list, record or argument list whose brackets sit at `open` and `close`.
    fn bracketed(
        &mut self,
        brackets: Brackets,
        open: usize,
        close: usize,
        elements: Vec<Element<'a>>,
    ) -> Doc {
        let (open_text, close_text, pad) = brackets.parts();
        if self.flat_only > 0 {
            return self.flat_bracketed(open_text, close_text, pad, elements);
        }
        self.take_orphans(open);
        let multiline = self.slice(open, close).contains('\n');
        let mut lines = Vec::with_capacity(elements.len());
        let mut prev = open + 1;
        for element in elements {
            let (name, value) = element;
            let start = name.map_or(value.span.start, |n| n.span.start) as usize;
            let end = self.code_end(start, value.span.end as usize);
            self.gap(&mut prev, start, &mut lines);
            let mut blank = !lines.is_empty() && is_blank(self.slice(prev, start));
            self.frames.push(Vec::new());
            let doc = self.element(element);
            self.take_orphans(end);
            for text in self.frames.pop().unwrap_or_default() {
                lines.push(Row {
                    slot: Slot::Comment(text),
                    blank,
                    trailing: None,
                });
                blank = false;
            }
            lines.push(Row {
                slot: Slot::Node(doc),
                blank,
                trailing: None,
            });
            prev = end;
        }
        self.gap(&mut prev, close, &mut lines);
        if lines.is_empty() {
            return Doc::Text(format!("{open_text}{close_text}"));
        }
        let edge = || if pad { Doc::Line } else { Doc::SoftLine };
        let nodes = lines
            .iter()
            .filter(|l| matches!(l.slot, Slot::Node(_)))
            .count();
        let mut forced = multiline;
        let mut seen = 0;
        let mut body = Vec::with_capacity(lines.len() * 3);
        for (i, line) in lines.into_iter().enumerate() {
            if i == 0 {
                body.push(edge());
            } else {
                if line.blank {
                    body.push(Doc::HardLine);
                }
                body.push(Doc::Line);
            }
            match line.slot {
                Slot::Comment(text) => {
                    forced = true;
                    body.push(Doc::Text(text));
                }
                Slot::Node(doc) => {
                    seen += 1;
                    body.push(doc);
                    body.push(if seen < nodes {
                        Doc::text(",")
                    } else {
                        Doc::IfBreak(",")
                    });
                }
            }
            if let Some(text) = line.trailing {
                body.push(Doc::TrailingComment(text));
            }
        }
        let docs = vec![
            Doc::text(open_text),
            Doc::Indent(body),
            edge(),
            Doc::text(close_text),
        ];
        Doc::group(docs, forced)
    }

    /// Brackets inside a binder or an index: always one line, comments left for the enclosing
    /// entry to pick up.
    fn flat_bracketed(
        &mut self,
        open_text: &str,
        close_text: &str,
        pad: bool,
        elements: Vec<Element<'a>>,
    ) -> Doc {
        let mut docs = vec![Doc::text(open_text)];
        let padded = pad && !elements.is_empty();
        if padded {
            docs.push(Doc::text(" "));
        }
        for (i, element) in elements.into_iter().enumerate() {
            if i > 0 {
                docs.push(Doc::text(", "));
            }
            docs.push(self.element(element));
        }
        if padded {
            docs.push(Doc::text(" "));
        }
        docs.push(Doc::text(close_text));
        Doc::Concat(docs)
    }
}

/// Puts the comments found inside an item on their own lines before it, above its doc comments
/// (`docs`) so those stay attached, and returns whether the item itself keeps a blank line above.
fn hoist(lines: &mut Vec<Row>, orphans: Vec<String>, blank: bool, docs: bool) -> bool {
    if orphans.is_empty() {
        return blank;
    }
    let blank_at = |lines: &Vec<Row>, at: usize| lines.get(at).map_or(blank, |l| l.blank);
    let mut at = lines.len();
    while docs && at > 0 && !blank_at(lines, at) {
        match lines.get(at - 1) {
            Some(Row {
                slot: Slot::Comment(text),
                ..
            }) if is_doc(text) => at -= 1,
            _ => break,
        }
    }
    let first_blank = blank_at(lines, at);
    // A doc comment moved up must not join the item's docs: a blank line keeps it apart.
    let separate = docs && orphans.last().is_some_and(|t| is_doc(t));
    let mut item_blank = blank;
    match lines.get_mut(at) {
        Some(line) => line.blank = separate,
        None => item_blank = separate,
    }
    let moved = orphans.into_iter().enumerate().map(|(i, text)| Row {
        slot: Slot::Comment(text),
        blank: i == 0 && first_blank,
        trailing: None,
    });
    lines.splice(at..at, moved);
    item_blank
}

fn is_doc(comment: &str) -> bool {
    comment.starts_with("///") && !comment.starts_with("////")
}

/// Whether the text between two lines holds an empty line.
fn is_blank(between: &str) -> bool {
    between.bytes().filter(|b| *b == b'\n').nth(1).is_some()
}

/// The offset of the first character at or after `pos` that is not whitespace, a separator or a
/// comment.
fn skip_trivia(text: &str, mut pos: usize) -> usize {
    let bytes = text.as_bytes();
    while let Some(&b) = bytes.get(pos) {
        match b {
            b' ' | b'\t' | b'\r' | b'\n' | b',' | b';' => pos += 1,
            b'/' if bytes.get(pos + 1) == Some(&b'/') => {
                pos = bytes
                    .iter()
                    .skip(pos)
                    .position(|b| *b == b'\n')
                    .map_or(text.len(), |n| pos + n);
            }
            _ => break,
        }
    }
    pos
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    // Writing to a `String` cannot fail.
    let _ = format_string(s, &mut out);
    out
}

fn type_text(ty: &TypeExpr) -> String {
    match &ty.arg {
        Some(arg) => format!("{}[{}]", ty.name.name, type_text(arg)),
        None => ty.name.name.clone(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Flat,
    Break,
}

fn width(s: &str) -> usize {
    s.chars().count()
}

/// Prints the document, deciding each group when it is reached.
fn print(doc: &Doc) -> String {
    let mut out = String::new();
    let mut col = 0;
    let mut stack: Vec<(usize, Mode, &Doc)> = vec![(0, Mode::Break, doc)];
    while let Some((indent, mode, doc)) = stack.pop() {
        match doc {
            Doc::Text(s) => {
                out.push_str(s);
                col += width(s);
            }
            Doc::Line if mode == Mode::Flat => {
                out.push(' ');
                col += 1;
            }
            Doc::SoftLine if mode == Mode::Flat => {}
            Doc::Line | Doc::SoftLine | Doc::HardLine => {
                // Blank lines get no indentation.
                out.truncate(out.trim_end_matches(' ').len());
                out.push('\n');
                out.extend(std::iter::repeat_n(' ', indent));
                col = indent;
            }
            Doc::IfBreak(s) => {
                if mode == Mode::Break {
                    out.push_str(s);
                    col += width(s);
                }
            }
            Doc::TrailingComment(s) => {
                out.push(' ');
                out.push_str(s);
                col += 1 + width(s);
            }
            Doc::Indent(docs) => {
                stack.extend(docs.iter().rev().map(|d| (indent + INDENT, mode, d)));
            }
            Doc::Concat(docs) => stack.extend(docs.iter().rev().map(|d| (indent, mode, d))),
            Doc::Group { docs, broken } => {
                let flat = mode == Mode::Flat
                    || (!broken && fits(docs, &stack, WIDTH.saturating_sub(col)));
                let mode = if flat { Mode::Flat } else { Mode::Break };
                stack.extend(docs.iter().rev().map(|d| (indent, mode, d)));
            }
        }
    }
    out
}

/// Whether `next`, on one line, and what follows it up to the next line break fit in `left`
/// columns. Stops at the first break or once past the width, so each call is short.
fn fits(next: &[Doc], rest: &[(usize, Mode, &Doc)], mut left: usize) -> bool {
    let mut cmds: Vec<(Mode, &Doc)> = next.iter().rev().map(|d| (Mode::Flat, d)).collect();
    let mut rest = rest.iter().rev();
    loop {
        let (mode, doc) = match cmds.pop() {
            Some(cmd) => cmd,
            None => match rest.next() {
                Some(&(_, mode, doc)) => (mode, doc),
                None => return true,
            },
        };
        let used = match doc {
            Doc::Text(s) => width(s),
            Doc::Line if mode == Mode::Flat => 1,
            Doc::SoftLine if mode == Mode::Flat => 0,
            Doc::Line | Doc::SoftLine | Doc::HardLine | Doc::TrailingComment(_) => return true,
            Doc::IfBreak(s) => {
                if mode == Mode::Break {
                    width(s)
                } else {
                    0
                }
            }
            Doc::Indent(docs) | Doc::Concat(docs) => {
                cmds.extend(docs.iter().rev().map(|d| (mode, d)));
                0
            }
            Doc::Group { docs, broken } => {
                let mode = if *broken { Mode::Break } else { mode };
                cmds.extend(docs.iter().rev().map(|d| (mode, d)));
                0
            }
        };
        match left.checked_sub(used) {
            Some(l) => left = l,
            None => return false,
        }
    }
}
