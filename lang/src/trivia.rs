//! A scan of the raw text for what the grammar skips or cannot bound: comments and nesting depth.

use crate::ast::Comment;
use crate::source::{FileId, Span};

/// The deepest bracket nesting a spec may use. pest parses by recursive descent, so unbounded
/// nesting would overflow the stack; real specs stay in single digits.
pub(crate) const MAX_DEPTH: usize = 64;

/// What the scan found.
pub(crate) struct Trivia {
    /// Every `//` comment outside string literals.
    pub(crate) comments: Vec<Comment>,
    /// The offset of the first bracket past [`MAX_DEPTH`], if any.
    pub(crate) too_deep: Option<usize>,
}

/// Scans `text` for comments and the first bracket nested deeper than [`MAX_DEPTH`].
pub(crate) fn scan(file: FileId, text: &str) -> Trivia {
    let bytes = text.as_bytes();
    let mut comments = Vec::new();
    let mut too_deep = None;
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
                let body = text[i..end].trim_end();
                comments.push(Comment {
                    text: body.to_string(),
                    span: Span::new(file, i, i + body.len()),
                });
                i = end;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH && too_deep.is_none() {
                    too_deep = Some(i);
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Trivia { comments, too_deep }
}

/// The `///` doc comment lines directly above `start`, without their slashes.
pub(crate) fn docs_before(text: &str, comments: &[Comment], start: usize) -> Vec<String> {
    let mut docs = Vec::new();
    let mut cursor = start;
    let before = comments.partition_point(|c| c.span.end as usize <= start);
    for comment in comments[..before].iter().rev() {
        let between = text.get(comment.span.end as usize..cursor).unwrap_or("x");
        let is_doc = comment.text.starts_with("///") && !comment.text.starts_with("////");
        if !is_doc || !between.trim().is_empty() || between.matches('\n').count() > 1 {
            break;
        }
        let line = comment.text.trim_start_matches("///");
        docs.push(line.strip_prefix(' ').unwrap_or(line).to_string());
        cursor = comment.span.start as usize;
    }
    docs.reverse();
    docs
}

/// The end of `text[..end]` once trailing whitespace and comments are cut off; pest's spans of
/// rules with an absent optional tail run on over the trivia that follows them.
pub(crate) fn trim_trailing(
    text: &str,
    comments: &[Comment],
    start: usize,
    mut end: usize,
) -> usize {
    loop {
        let trimmed = start + text[start..end].trim_end().len();
        let ending = comments.partition_point(|c| (c.span.end as usize) < trimmed);
        match comments.get(ending) {
            Some(c) if c.span.end as usize == trimmed && c.span.start as usize >= start => {
                end = c.span.start as usize;
            }
            _ => return trimmed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_inside_strings_are_not_comments() {
        let text = "let a = \"http://x\" // real\n// second\n";
        let trivia = scan(FileId(0), text);
        let texts: Vec<_> = trivia.comments.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["// real", "// second"]);
    }

    #[test]
    fn depth_is_bounded_and_located() {
        let text = format!("let a = {}", "[".repeat(MAX_DEPTH + 5));
        assert_eq!(scan(FileId(0), &text).too_deep, Some(8 + MAX_DEPTH));
        assert_eq!(scan(FileId(0), "let a = [[1]]").too_deep, None);
    }

    #[test]
    fn trailing_comments_and_spaces_are_trimmed_from_spans() {
        let text = "f(x)  // note\n  \nnext";
        let comments = scan(FileId(0), text).comments;
        assert_eq!(
            trim_trailing(text, &comments, 0, text.find("next").unwrap()),
            4
        );
        assert_eq!(trim_trailing(text, &comments, 0, 4), 4);
    }

    #[test]
    fn doc_comments_attach_only_when_adjacent() {
        let text = "/// one\n/// two\nlet a = 1\n/// far\n\nlet b = 2\n";
        let comments = scan(FileId(0), text).comments;
        assert_eq!(docs_before(text, &comments, 16), ["one", "two"]);
        assert!(docs_before(text, &comments, text.find("let b").unwrap()).is_empty());
    }
}
