//! LaTeX answers: `\boxed{...}` extraction with balanced braces, normalisation in the manner of
//! the Hendrycks MATH `is_equiv`, and mathematical equivalence.

/// The commands whose argument is a final answer.
const BOX_COMMANDS: [&str; 2] = ["\\boxed", "\\fbox"];

/// The contents of every `\boxed{...}` (or `\fbox{...}`) in `text`, left to right, braces
/// balanced; `\boxed 5` (a space, no braces) yields the text up to the next `$` or line break.
///
/// A box inside another one is part of the outer one's content, not a separate match; a box
/// whose braces never close is skipped.
pub fn boxed_all(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some((start, command)) = next_box(text, from) {
        let after = start + command.len();
        let rest = &text[after..];
        let trimmed = rest.trim_start_matches(' ');
        if let Some(inside) = trimmed.strip_prefix('{') {
            let open = text.len() - inside.len();
            match closing_brace(text, open) {
                Some(close) => {
                    found.push(&text[open..close]);
                    from = close + 1;
                }
                None => from = open,
            }
        } else if rest.starts_with(' ') {
            let end = trimmed.find(['$', '\n']).unwrap_or(trimmed.len());
            let content = trimmed[..end].trim();
            if !content.is_empty() {
                found.push(content);
            }
            from = text.len() - trimmed.len() + end;
        } else {
            from = after;
        }
    }
    found
}

/// The content of the last `\boxed{...}` (or `\fbox{...}`) in `text`, braces balanced.
pub fn last_boxed(text: &str) -> Option<&str> {
    boxed_all(text).pop()
}

/// The next box command at or after byte `from` that is not the start of a longer command name.
fn next_box(text: &str, from: usize) -> Option<(usize, &'static str)> {
    let mut best: Option<(usize, &'static str)> = None;
    for command in BOX_COMMANDS {
        let mut search = from;
        while let Some(offset) = text.get(search..).and_then(|rest| rest.find(command)) {
            let start = search + offset;
            let next = text[start + command.len()..].chars().next();
            if next.is_some_and(|c| c.is_ascii_alphabetic()) {
                search = start + command.len();
                continue;
            }
            if best.is_none_or(|(position, _)| start < position) {
                best = Some((start, command));
            }
            break;
        }
    }
    best
}

/// The byte index of the `}` closing a group whose content starts at byte `open` (just after
/// its `{`); `\{` and `\}` do not count.
fn closing_brace(text: &str, open: usize) -> Option<usize> {
    let mut depth = 1usize;
    let mut chars = text[open..].char_indices();
    while let Some((offset, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + offset);
                }
            }
            _ => {}
        }
    }
    None
}

/// Puts a LaTeX answer in a canonical form, so that equal answers written differently compare
/// equal as strings.
///
/// The steps follow the Hendrycks MATH `strip_string`, with a few additions: the content of a
/// `\boxed{}` is taken; line breaks, `\!`, `\,`, `\;`, `\:` and spaces go; `\dfrac` and
/// `\tfrac` become `\frac`; `\left` and `\right` go; `^\circ`, `\%`, `%`, `$` and `\$` go; a
/// trailing `\text{...}` (a unit) goes and other `\text{...}` keep only their content; `.5`
/// becomes `0.5`; a short `x = ` at the start goes; `\sqrt3` becomes `\sqrt{3}`, `\frac12`
/// becomes `\frac{1}{2}` and `1/2` becomes `\frac{1}{2}`; thousands commas and a final period
/// go.
pub fn normalize_math(answer: &str) -> String {
    let mut s = last_boxed(answer).unwrap_or(answer).to_string();
    s = s.replace('\n', " ");
    for spacing in ["\\!", "\\,", "\\;", "\\:"] {
        s = s.replace(spacing, "");
    }
    s = s.replace("\\\\", "\\");
    s = s.replace("tfrac", "frac").replace("dfrac", "frac");
    s = remove_command(&s, "\\left");
    s = remove_command(&s, "\\right");
    for degree in ["^{\\circ}", "^\\circ"] {
        s = s.replace(degree, "");
    }
    s = s.replace("\\$", "").replace('$', "");
    s = remove_units(&s);
    s = s.replace("\\%", "").replace('%', "");
    s = s.trim().trim_end_matches('.').trim().to_string();
    s = s.replace(" .", " 0.").replace("{.", "{0.");
    if s.starts_with('.') {
        s.insert(0, '0');
    }
    if let Some((left, right)) = s.split_once('=')
        && !right.contains('=')
        && left.trim().chars().count() <= 2
    {
        s = right.to_string();
    }
    s = fix_command_arguments(&s, "\\sqrt", 1);
    s.retain(|c| c != ' ');
    s = fix_command_arguments(&s, "\\frac", 2);
    s = remove_thousands_commas(&s);
    s = slash_to_frac(&s);
    s
}

/// Whether `prediction` and `reference` are the same mathematical answer: equal after
/// [`normalize_math`], or both numbers (integers, decimals, `a/b`, `\frac{a}{b}`, signed) equal
/// to within a relative 1e-6. An empty prediction is never equivalent.
pub fn math_equiv(prediction: &str, reference: &str) -> bool {
    let prediction = normalize_math(prediction);
    let reference = normalize_math(reference);
    if prediction.is_empty() {
        return false;
    }
    if prediction == reference {
        return true;
    }
    match (numeric_value(&prediction), numeric_value(&reference)) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-6 * x.abs().max(y.abs()).max(1.0),
        _ => false,
    }
}

/// The value of a normalised answer that is a plain number or a fraction of numbers.
fn numeric_value(text: &str) -> Option<f64> {
    let (sign, body) = match text.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, text),
    };
    if let Some(rest) = body.strip_prefix("\\frac{") {
        let close = closing_brace(rest, 0)?;
        let numerator = &rest[..close];
        let denominator = rest[close + 1..].strip_prefix('{')?.strip_suffix('}')?;
        let value = numeric_value(numerator)? / numeric_value(denominator)?;
        return value.is_finite().then_some(sign * value);
    }
    if body.is_empty()
        || !body.chars().all(|c| c.is_ascii_digit() || c == '.')
        || body.matches('.').count() > 1
    {
        return None;
    }
    body.parse::<f64>().ok().map(|value| sign * value)
}

/// `text` without `command` where it stands alone (`\left(` loses `\left`, `\leftarrow` stays).
fn remove_command(text: &str, command: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(command) {
        let after = &rest[start + command.len()..];
        out.push_str(&rest[..start]);
        if after
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        {
            out.push_str(command);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Drops a final `\text{...}` or `\mbox{...}` that follows other content (a unit, with any
/// exponent after it), and replaces every other one by its content.
fn remove_units(text: &str) -> String {
    let mut s = text.to_string();
    for command in ["\\text", "\\textbf", "\\mbox", "\\mathrm"] {
        let opening = format!("{command}{{");
        while let Some(start) = s.find(&opening) {
            let open = start + opening.len();
            let Some(close) = closing_brace(&s, open) else {
                break;
            };
            let before = s[..start].trim();
            let after = s[close + 1..].trim();
            let unit_exponent = after.is_empty()
                || (after.starts_with('^')
                    && after[1..]
                        .chars()
                        .all(|c| c.is_ascii_digit() || c == '{' || c == '}'));
            if !before.is_empty() && unit_exponent {
                s.truncate(start);
            } else {
                let content = s[open..close].to_string();
                s.replace_range(start..=close, &content);
            }
        }
    }
    s
}

/// Braces the first `arguments` arguments of every `command` written without them:
/// `\frac12` -> `\frac{1}{2}`, `\frac1{2}` -> `\frac{1}{2}`, `\sqrt3` -> `\sqrt{3}`.
fn fix_command_arguments(text: &str, command: &str, arguments: usize) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    let mut rest = text;
    while let Some(start) = rest.find(command) {
        out.push_str(&rest[..start + command.len()]);
        rest = &rest[start + command.len()..];
        if rest.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
            continue;
        }
        for _ in 0..arguments {
            if let Some(inside) = rest.strip_prefix('{') {
                match closing_brace(inside, 0) {
                    Some(close) => {
                        out.push('{');
                        out.push_str(&inside[..=close]);
                        rest = &inside[close + 1..];
                    }
                    None => break,
                }
            } else if let Some(c) = rest
                .chars()
                .next()
                .filter(|c| !matches!(c, '\\' | '}' | '['))
            {
                out.push('{');
                out.push(c);
                out.push('}');
                rest = &rest[c.len_utf8()..];
            } else {
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `1,234,567` -> `1234567` when the whole answer is one number with thousands commas.
fn remove_thousands_commas(text: &str) -> String {
    let body = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match body.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (body, None),
    };
    let groups: Vec<&str> = whole.split(',').collect();
    let grouped = groups.len() > 1
        && (1..=3).contains(&groups[0].len())
        && groups
            .iter()
            .all(|group| group.chars().all(|c| c.is_ascii_digit()))
        && groups[1..].iter().all(|group| group.len() == 3)
        && fraction.is_none_or(|digits| digits.chars().all(|c| c.is_ascii_digit()));
    if grouped {
        text.replace(',', "")
    } else {
        text.to_string()
    }
}

/// `a/b` -> `\frac{a}{b}` when the whole answer is two integers around a slash.
fn slash_to_frac(text: &str) -> String {
    let (sign, body) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let integer = |part: &str| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit());
    match body.split_once('/') {
        Some((a, b)) if integer(a) && integer(b) => format!("{sign}\\frac{{{a}}}{{{b}}}"),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_are_found_with_balanced_braces() {
        let text = r"so $\boxed{\frac{1}{2}}$ and then \fbox{ {a}b } and \boxed 5$";
        assert_eq!(boxed_all(text), [r"\frac{1}{2}", " {a}b ", "5"]);
        assert_eq!(last_boxed(r"\boxed{\boxed{3}} x"), Some(r"\boxed{3}"));
        assert_eq!(
            last_boxed(r"\boxed{2} then \boxed{\{1,2\}}"),
            Some(r"\{1,2\}")
        );
        assert_eq!(last_boxed(r"\boxed{unclosed"), None);
        assert_eq!(last_boxed(r"\boxedx{1}"), None);
        assert_eq!(last_boxed("no box"), None);
    }

    #[test]
    fn normalisation_matches_hendrycks_cases() {
        let cases = [
            (r"\left( 3, \frac{\pi}{2} \right)", r"(3,\frac{\pi}{2})"),
            (r"\dfrac{9}{7}", r"\frac{9}{7}"),
            (r"\tfrac12", r"\frac{1}{2}"),
            (r"\frac1{2}", r"\frac{1}{2}"),
            (r"90^\circ", "90"),
            (r"90^{\circ}", "90"),
            (r"10\text{ inches}", "10"),
            (r"5\text{ cm}^2", "5"),
            (r"\text{(A)}", "(A)"),
            (r"\$18.50", "18.50"),
            ("50\\%", "50"),
            (".5", "0.5"),
            ("x = 3", "3"),
            (r"\sqrt3", r"\sqrt{3}"),
            ("3/4", r"\frac{3}{4}"),
            ("1,234", "1234"),
            ("(1,2)", "(1,2)"),
            ("7.", "7"),
            (r"\boxed{5}", "5"),
            (r"x \in [2, \infty)", r"x\in[2,\infty)"),
            (r"\leftarrow", r"\leftarrow"),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize_math(input), expected, "normalising {input:?}");
        }
    }

    #[test]
    fn equivalence_is_textual_or_numeric() {
        assert!(math_equiv(r"\boxed{\frac{1}{2}}", "0.5"));
        assert!(math_equiv("1/2", r"\frac12"));
        assert!(math_equiv("-0.25", r"-\frac{1}{4}"));
        assert!(math_equiv("5.0", "5"));
        assert!(math_equiv("1,000", "1000"));
        assert!(math_equiv(
            r"\left(3, \frac{\pi}{2}\right)",
            r"(3,\frac{\pi}{2})"
        ));
        assert!(!math_equiv("0.33", r"\frac{1}{3}"));
        assert!(!math_equiv("", "0"));
        assert!(!math_equiv("2", "3"));
        assert!(!math_equiv(r"\frac{1}{0}", r"\frac{1}{0}x"));
    }
}
