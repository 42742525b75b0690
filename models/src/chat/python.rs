//! Python's behaviour where chat templates rely on it and minijinja differs: `json.dumps` behind
//! transformers' `tojson`, `str.strip()` and `str.split()` on Python's whitespace, `str()` of
//! `None`, booleans and floats, and `datetime.strftime` behind `strftime_now`.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{Error, ErrorKind, Output, State, Value, escape_formatter};

/// Python's `str.isspace()`: Unicode's White_Space (Rust's `char::is_whitespace`) plus the four
/// ASCII separators U+001C..U+001F, which Python also treats as whitespace.
pub(super) fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str(value)`: floats as Python writes them (`1e+20`, not minijinja's
/// `100000000000000000000.0`), lists and dicts as their `repr` (`['a', None]`, not
/// `["a", none]`). minijinja already prints `None`, `True` and `False` as Python does.
pub(super) fn to_str(value: &Value) -> String {
    match value.kind() {
        ValueKind::String | ValueKind::Undefined => value.to_string(),
        _ => repr(value),
    }
}

/// Python's `repr(value)` for the values of a template: strings quoted as Python quotes them,
/// lists (tuples in parentheses) and dicts item by item; other objects as minijinja shows them.
pub(super) fn repr(value: &Value) -> String {
    match value.kind() {
        ValueKind::None => "None".to_owned(),
        ValueKind::Bool => if value.is_true() { "True" } else { "False" }.to_owned(),
        ValueKind::Number if !value.is_integer() => match f64::try_from(value.clone()) {
            Ok(x) => float_repr(x),
            Err(_) => value.to_string(),
        },
        ValueKind::String => string_repr(value.as_str().unwrap_or_default()),
        ValueKind::Seq => {
            let items: Vec<String> = match value.try_iter() {
                Ok(items) => items.map(|item| repr(&item)).collect(),
                Err(_) => return value.to_string(),
            };
            if value.is_tuple() {
                let trailing = if items.len() == 1 { "," } else { "" };
                format!("({}{trailing})", items.join(", "))
            } else {
                format!("[{}]", items.join(", "))
            }
        }
        ValueKind::Map => {
            let Ok(keys) = value.try_iter() else {
                return value.to_string();
            };
            let entries: Vec<String> = keys
                .map(|key| {
                    let item = value.get_item(&key).unwrap_or_default();
                    format!("{}: {}", repr(&key), repr(&item))
                })
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
        _ => value.to_string(),
    }
}

/// Python's `repr(str)`: single quotes unless the text has `'` and no `"`; backslash escapes
/// for the quote, `\\`, `\t`, `\n`, `\r`, and for characters Python does not print
/// (controls, separators other than the space, format characters, private use) as `\xNN`,
/// `\uNNNN` or `\UNNNNNNNN`. Unassigned code points, which Python also escapes, are kept:
/// telling them apart needs Unicode tables.
fn string_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            c if c == quote || c == '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if is_printable(c) => out.push(c),
            c if u32::from(c) <= 0xff => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if u32::from(c) <= 0xffff => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\U{:08x}", u32::from(c));
            }
        }
    }
    out.push(quote);
    out
}

/// Python's `str.isprintable()` for one character, without Unicode's tables: not a control
/// (Cc), not a separator other than the space (Zs, Zl, Zp), not one of the common format
/// characters (Cf), not private use (Co) or a surrogate.
fn is_printable(c: char) -> bool {
    let code = u32::from(c);
    let format = matches!(
        code,
        0xad | 0x600..=0x605
            | 0x61c
            | 0x6dd
            | 0x70f
            | 0x180e
            | 0x200b..=0x200f
            | 0x202a..=0x202e
            | 0x2060..=0x2064
            | 0x2066..=0x206f
            | 0xfeff
            | 0xfff9..=0xfffb
            | 0x110bd
            | 0x1d173..=0x1d17a
            | 0xe0001
            | 0xe0020..=0xe007f
    );
    let private = matches!(code, 0xe000..=0xf8ff | 0xf0000..=0x10ffff);
    !(c.is_control() || (c.is_whitespace() && c != ' ') || format || private)
}

/// The formatter of `{{ ... }}`: Jinja2 prints `str(value)`.
pub(super) fn format_value(
    out: &mut Output,
    state: &mut State,
    value: &Value,
) -> Result<(), Error> {
    match value.kind() {
        ValueKind::Number if !value.is_integer() => write_str(out, &to_str(value)),
        ValueKind::Seq | ValueKind::Map => write_str(out, &to_str(value)),
        _ => escape_formatter(out, state, value),
    }
}

fn write_str(out: &mut Output, text: &str) -> Result<(), Error> {
    out.write_str(text)
        .map_err(|_| Error::new(ErrorKind::WriteFailure, "formatting failed"))
}

/// Jinja2's `string` filter: `str(value)`, strings unchanged.
pub(super) fn string(value: &Value) -> Value {
    if value.kind() == ValueKind::String {
        value.clone()
    } else {
        Value::from(to_str(value))
    }
}

/// Jinja2's `trim` filter: `str(value).strip(chars)`, on Python's whitespace when `chars` is
/// not given (minijinja's trims Rust's whitespace, which lacks U+001C..U+001F).
pub(super) fn trim(value: &Value, chars: Option<Value>) -> String {
    let text = to_str(value);
    match chars.as_ref().and_then(Value::as_str) {
        Some(chars) => text.trim_matches(|c| chars.contains(c)).to_owned(),
        None => text.trim_matches(is_space).to_owned(),
    }
}

/// Python's methods on values (`message.content.strip()`, `.split()`, `dict.items()`, ...):
/// minijinja-contrib's `pycompat`, except that `strip`, `lstrip`, `rstrip` and `split` without
/// arguments use Python's whitespace.
pub(super) fn call_method(
    state: &mut State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    let no_args = args.iter().all(Value::is_none) && args.len() <= 1;
    if let (ValueKind::String, Some(text), true) = (value.kind(), value.as_str(), no_args) {
        match method {
            "strip" => return Ok(Value::from(text.trim_matches(is_space))),
            "lstrip" => return Ok(Value::from(text.trim_start_matches(is_space))),
            "rstrip" => return Ok(Value::from(text.trim_end_matches(is_space))),
            "split" => {
                let words = text.split(is_space).filter(|word| !word.is_empty());
                return Ok(words.map(Value::from).collect());
            }
            _ => {}
        }
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
}

/// transformers' `tojson` filter: `json.dumps(x, ensure_ascii=False, indent=None,
/// separators=None, sort_keys=False)`, its arguments by position or keyword. minijinja's own
/// escapes `<`, `>`, `&` and `'` for HTML and knows only `indent`.
pub(super) fn tojson(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<String, Error> {
    const NAMES: [&str; 4] = ["ensure_ascii", "indent", "separators", "sort_keys"];
    if args.len() > NAMES.len() {
        return Err(Error::new(
            ErrorKind::TooManyArguments,
            "tojson takes at most 4 arguments (ensure_ascii, indent, separators, sort_keys)",
        ));
    }
    let mut options: [Option<Value>; 4] = Default::default();
    for (index, (slot, name)) in options.iter_mut().zip(NAMES).enumerate() {
        let keyword: Option<Value> = kwargs.get(name)?;
        *slot = match (args.get(index), keyword) {
            (Some(_), Some(_)) => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("tojson got multiple values for argument '{name}'"),
                ));
            }
            (Some(value), None) => Some(value.clone()),
            (None, keyword) => keyword,
        };
    }
    kwargs.assert_all_used()?;
    let [ensure_ascii, indent, separators, sort_keys] = options;
    let indent = match indent {
        None => None,
        Some(indent) if indent.is_none() => None,
        Some(indent) if indent.is_integer() => {
            let width = i64::try_from(indent)?;
            Some(" ".repeat(usize::try_from(width).unwrap_or(0)))
        }
        Some(indent) => match indent.as_str() {
            Some(text) if indent.kind() == ValueKind::String => Some(text.to_owned()),
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    "tojson's indent must be an integer, a string or none",
                ));
            }
        },
    };
    let (item_separator, key_separator) = match separators.filter(|value| !value.is_none()) {
        None if indent.is_some() => (",".to_owned(), ": ".to_owned()),
        None => (", ".to_owned(), ": ".to_owned()),
        Some(separators) => {
            let parts: Vec<Value> = separators.try_iter()?.collect();
            match parts.as_slice() {
                [item, key] if item.as_str().is_some() && key.as_str().is_some() => {
                    (item.to_string(), key.to_string())
                }
                _ => {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "tojson's separators must be two strings (item, key)",
                    ));
                }
            }
        }
    };
    let mut dumper = JsonDumper {
        out: String::new(),
        ensure_ascii: ensure_ascii.is_some_and(|value| value.is_true()),
        sort_keys: sort_keys.is_some_and(|value| value.is_true()),
        indent,
        item_separator,
        key_separator,
    };
    dumper.value(value, 0)?;
    Ok(dumper.out)
}

/// Python's `json.dumps`, one value at a time.
struct JsonDumper {
    out: String,
    ensure_ascii: bool,
    sort_keys: bool,
    indent: Option<String>,
    item_separator: String,
    key_separator: String,
}

impl JsonDumper {
    fn value(&mut self, value: &Value, depth: usize) -> Result<(), Error> {
        match value.kind() {
            ValueKind::None => self.out.push_str("null"),
            ValueKind::Bool => self
                .out
                .push_str(if value.is_true() { "true" } else { "false" }),
            ValueKind::Number if value.is_integer() => self.out.push_str(&value.to_string()),
            ValueKind::Number => {
                let x = f64::try_from(value.clone())?;
                self.out.push_str(&json_float(x));
            }
            ValueKind::String => self.string(value.as_str().unwrap_or_default()),
            ValueKind::Seq | ValueKind::Iterable => {
                let items: Vec<Value> = value.try_iter()?.collect();
                self.container('[', ']', depth, items, |dumper, item, depth| {
                    dumper.value(&item, depth)
                })?;
            }
            ValueKind::Map => {
                let mut entries = Vec::new();
                for key in value.try_iter()? {
                    let item = value.get_item(&key)?;
                    entries.push((json_key(&key)?, item));
                }
                if self.sort_keys {
                    entries.sort_by(|a, b| a.0.cmp(&b.0));
                }
                self.container('{', '}', depth, entries, |dumper, (key, item), depth| {
                    dumper.string(&key);
                    dumper.out.push_str(&dumper.key_separator.clone());
                    dumper.value(&item, depth)
                })?;
            }
            kind => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("tojson: a value of type {kind} is not JSON serializable"),
                ));
            }
        }
        Ok(())
    }

    fn container<T>(
        &mut self,
        open: char,
        close: char,
        depth: usize,
        items: Vec<T>,
        mut write: impl FnMut(&mut Self, T, usize) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.out.push(open);
        if items.is_empty() {
            self.out.push(close);
            return Ok(());
        }
        let newline = self
            .indent
            .as_ref()
            .map(|indent| (indent.clone(), depth + 1));
        for (index, item) in items.into_iter().enumerate() {
            if index > 0 {
                self.out.push_str(&self.item_separator.clone());
            }
            if let Some((indent, level)) = &newline {
                self.out.push('\n');
                self.out.push_str(&indent.repeat(*level));
            }
            write(self, item, depth + 1)?;
        }
        if let Some(indent) = &self.indent {
            self.out.push('\n');
            let closing = indent.repeat(depth);
            self.out.push_str(&closing);
        }
        self.out.push(close);
        Ok(())
    }

    /// A JSON string as Python writes it: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, `\u00XX` for
    /// the other control characters, and with `ensure_ascii` every non-ASCII character as
    /// `\uXXXX` (UTF-16, surrogate pairs above U+FFFF) and DEL as `\u007f`.
    fn string(&mut self, text: &str) {
        self.out.push('"');
        for c in text.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                '\r' => self.out.push_str("\\r"),
                '\t' => self.out.push_str("\\t"),
                '\u{8}' => self.out.push_str("\\b"),
                '\u{c}' => self.out.push_str("\\f"),
                c if c < ' ' || (self.ensure_ascii && !(' '..='~').contains(&c)) => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        let _ = write!(self.out, "\\u{unit:04x}");
                    }
                }
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }
}

/// A key of a JSON object as Python converts it: strings as they are, `true`, `false`, `null`,
/// numbers as Python writes them; anything else cannot be a key.
fn json_key(key: &Value) -> Result<String, Error> {
    match key.kind() {
        ValueKind::String => Ok(key.as_str().unwrap_or_default().to_owned()),
        ValueKind::None => Ok("null".to_owned()),
        ValueKind::Bool => Ok(if key.is_true() { "true" } else { "false" }.to_owned()),
        ValueKind::Number if key.is_integer() => Ok(key.to_string()),
        ValueKind::Number => Ok(json_float(f64::try_from(key.clone())?)),
        kind => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("tojson: keys must be str, int, float, bool or None, not {kind}"),
        )),
    }
}

/// A float in JSON as Python writes it: `repr`, and `NaN`, `Infinity`, `-Infinity`.
fn json_float(x: f64) -> String {
    if x.is_nan() {
        "NaN".to_owned()
    } else if x.is_infinite() {
        if x > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else {
        float_repr(x)
    }
}

/// Python's `repr(float)`: the shortest digits that round-trip, positional when the decimal
/// point falls within 16 digits of them (`1234.5`, `0.0001`, `1e+16`, `1e-05`), with `.0` on
/// integral values. `nan` and `inf` as Python prints them.
pub(super) fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    // Rust's `{:e}` gives the shortest round-trip digits: "1.2345e3", "0e0".
    let scientific = format!("{:e}", x.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let exponent: i64 = exponent.parse().unwrap_or(0);
    // The decimal point sits `point` digits after the first one: 0.d1d2... x 10^point.
    let point = exponent + 1;
    let count = digits.len() as i64;
    let body = if !(-4 < point && point <= 16) {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        format!("{first}{fraction}e{exponent_sign}{:02}", exponent.abs())
    } else if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point >= count {
        format!("{digits}{}.0", "0".repeat((point - count) as usize))
    } else {
        let (whole, fraction) = digits.split_at(point as usize);
        format!("{whole}.{fraction}")
    };
    format!("{sign}{body}")
}

/// transformers' `strftime_now(format)`: `datetime.now().strftime(format)`. The time is UTC:
/// Python's is the local time, the same on machines that run in UTC.
pub(super) fn strftime_now(format: &str) -> String {
    let seconds = match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(elapsed) => i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    };
    strftime(format, seconds)
}

const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A UTC time broken down as `strftime` needs it.
struct Civil {
    year: i64,
    /// 1..=12
    month: usize,
    /// 1..=31
    day: i64,
    /// 1..=366
    day_of_year: i64,
    /// 0 = Sunday
    weekday: usize,
    hour: i64,
    minute: i64,
    second: i64,
}

impl Civil {
    fn from_unix(seconds: i64) -> Self {
        let days = seconds.div_euclid(86_400);
        let time = seconds.rem_euclid(86_400);
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy_march = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy_march + 2) / 153;
        let day = doy_march - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let before: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let day_of_year = before[(month - 1) as usize] + day + i64::from(leap && month > 2);
        Civil {
            year,
            month: month as usize,
            day,
            day_of_year,
            weekday: (days + 4).rem_euclid(7) as usize,
            hour: time / 3600,
            minute: time % 3600 / 60,
            second: time % 60,
        }
    }
}

/// C's `strftime` in the C locale, as Python on glibc calls it, for a UTC time: `%a %A %b %B %c
/// %C %d %D %e %F %h %H %I %j %m %M %n %p %R %S %t %T %u %w %x %X %y %Y %z %Z %%`, with glibc's
/// `-` flag (no padding, `%-d`); `%z` and `%Z` are empty, as for Python's naive `datetime.now()`.
/// Unknown directives are kept as written.
pub(super) fn strftime(format: &str, unix_seconds: i64) -> String {
    let t = Civil::from_unix(unix_seconds);
    let hour12 = if t.hour % 12 == 0 { 12 } else { t.hour % 12 };
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let unpadded = chars.next_if_eq(&'-').is_some();
        let Some(directive) = chars.next() else {
            out.push('%');
            if unpadded {
                out.push('-');
            }
            break;
        };
        let number = |value: i64, width: usize, pad: char| {
            if unpadded {
                value.to_string()
            } else if pad == ' ' {
                format!("{value:>width$}")
            } else {
                format!("{value:0width$}")
            }
        };
        let text = match directive {
            'a' => WEEKDAYS[t.weekday][..3].to_owned(),
            'A' => WEEKDAYS[t.weekday].to_owned(),
            'b' | 'h' => MONTHS[t.month - 1][..3].to_owned(),
            'B' => MONTHS[t.month - 1].to_owned(),
            'c' => format!(
                "{} {} {:>2} {:02}:{:02}:{:02} {}",
                &WEEKDAYS[t.weekday][..3],
                &MONTHS[t.month - 1][..3],
                t.day,
                t.hour,
                t.minute,
                t.second,
                t.year
            ),
            'C' => number(t.year.div_euclid(100), 2, '0'),
            'd' => number(t.day, 2, '0'),
            'D' | 'x' => format!("{:02}/{:02}/{:02}", t.month, t.day, t.year.rem_euclid(100)),
            'e' => number(t.day, 2, ' '),
            'F' => format!("{}-{:02}-{:02}", t.year, t.month, t.day),
            'H' => number(t.hour, 2, '0'),
            'I' => number(hour12, 2, '0'),
            'j' => number(t.day_of_year, 3, '0'),
            'm' => number(t.month as i64, 2, '0'),
            'M' => number(t.minute, 2, '0'),
            'n' => "\n".to_owned(),
            'p' => if t.hour < 12 { "AM" } else { "PM" }.to_owned(),
            'R' => format!("{:02}:{:02}", t.hour, t.minute),
            'S' => number(t.second, 2, '0'),
            't' => "\t".to_owned(),
            'T' | 'X' => format!("{:02}:{:02}:{:02}", t.hour, t.minute, t.second),
            'u' => (if t.weekday == 0 { 7 } else { t.weekday }).to_string(),
            'w' => t.weekday.to_string(),
            'y' => number(t.year.rem_euclid(100), 2, '0'),
            'Y' => t.year.to_string(),
            // `datetime.now()` is naive: no zone to name.
            'z' | 'Z' => String::new(),
            '%' => "%".to_owned(),
            other => format!("%{}{other}", if unpadded { "-" } else { "" }),
        };
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_repr_is_pythons() {
        // Expected values from Python 3.11's repr().
        let cases = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (2.5, "2.5"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1234567890123456.0, "1234567890123456.0"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e-7, "1e-07"),
            (1.5e-7, "1.5e-07"),
            (-3.25e300, "-3.25e+300"),
            (123.456, "123.456"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
        ];
        for (x, expected) in cases {
            assert_eq!(float_repr(x), expected, "repr({x:e})");
        }
        assert_eq!(json_float(f64::NAN), "NaN");
        assert_eq!(json_float(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn strftime_is_pythons() {
        // Expected values from Python's datetime(...).strftime(...) on glibc.
        let friday = 1_722_002_709; // 2024-07-26 14:05:09 UTC
        let cases = [
            ("%d %b %Y", "26 Jul 2024"),
            ("%B %d, %Y", "July 26, 2024"),
            ("%A %a %u %w", "Friday Fri 5 5"),
            ("%Y-%m-%d %H:%M:%S", "2024-07-26 14:05:09"),
            ("%F %T %R", "2024-07-26 14:05:09 14:05"),
            ("%j %I %p %y %C", "208 02 PM 24 20"),
            (
                "%c|%x|%X|%D",
                "Fri Jul 26 14:05:09 2024|07/26/24|14:05:09|07/26/24",
            ),
            ("%-d/%-m %-H:%-M %e", "26/7 14:5 26"),
            ("100%% %Z %z %q", "100%   %q"),
        ];
        for (format, expected) in cases {
            assert_eq!(strftime(format, friday), expected, "{format}");
        }
        // 2024-02-29 00:00:00 (leap day), 1999-12-31 23:59:59, 1969-12-31 23:59:59.
        assert_eq!(
            strftime("%Y-%m-%d %j %a %e", 1_709_164_800),
            "2024-02-29 060 Thu 29"
        );
        assert_eq!(
            strftime("%F %T %j %A", 946_684_799),
            "1999-12-31 23:59:59 365 Friday"
        );
        assert_eq!(strftime("%F %T %a", -1), "1969-12-31 23:59:59 Wed");
    }

    #[test]
    fn python_whitespace_includes_the_ascii_separators() {
        assert!(is_space('\u{1c}') && is_space('\u{1f}') && is_space('\u{3000}'));
        assert!(!is_space('\u{200b}') && !is_space('x'));
        assert_eq!(trim(&Value::from("\u{1c} a b \u{85}"), None), "a b");
        assert_eq!(trim(&Value::from("xxaxx"), Some(Value::from("x"))), "a");
        assert_eq!(trim(&Value::from(()), None), "None");
    }
}
