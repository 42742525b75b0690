//! Chat templates: a model's Jinja `chat_template` rendered with minijinja.
//!
//! [`ChatTemplate::render`] gives what Hugging Face transformers'
//! `tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=...)` gives
//! (transformers 5.24, `utils/chat_template_utils.py`), because it renders the way transformers
//! does:
//!
//! - the same Jinja settings: `trim_blocks`, `lstrip_blocks`, no autoescape, loop controls
//!   (`{% break %}`, `{% continue %}`), and the `{% generation %}` block (rendered as its body;
//!   transformers uses it only to track assistant tokens);
//! - the same variables: `messages`, `add_generation_prompt`, `tools` and `documents` (`none`
//!   unless given), the tokenizer's special tokens (`bos_token`, `eos_token`, ..., and
//!   model-specific `*_token`s) and any extra values ([`ChatTemplate::render_with`]), which
//!   override the special tokens as transformers' keyword arguments do;
//! - the same helpers: `raise_exception(message)` (a [`ChatError::Raised`]),
//!   `strftime_now(format)` (UTC) and `tojson` with `json.dumps`' arguments and output
//!   (`ensure_ascii`, `indent`, `separators`, `sort_keys`; no HTML escaping);
//! - Python's behaviour where Jinja2 templates see it and minijinja differs: floats, lists and
//!   dicts printed (`{{ x }}`, `| string`) as Python's `str` prints them, `trim` and `.strip()`
//!   on Python's whitespace, Python's string and dict methods (minijinja-contrib's `pycompat`).
//!
//! Not reproduced: mappings built in a template (`{"a": 1}`) iterate in sorted key order
//! (minijinja without its `preserve_order` feature), where Python keeps insertion order; extra
//! values come through `serde_json`, whose objects are sorted the same way. The `~` operator
//! joins minijinja's text of its operands (`1e20 ~ ''` is `100000000000000000000.0`).

mod python;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Enumerator, Object, ObjectRepr};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior, Value};
use serde::{Deserialize, Serialize};

/// The name the template has inside its minijinja environment (errors do not show it).
const TEMPLATE_NAME: &str = "chat_template";

/// The file transformers reads beside `tokenizer_config.json`, before the config's entry.
const TEMPLATE_FILE: &str = "chat_template.jinja";

/// The special tokens transformers passes to every template when the tokenizer has them
/// (`SPECIAL_TOKENS_ATTRIBUTES`); a config may store them as `AddedToken` objects.
const STANDARD_TOKENS: [&str; 7] = [
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
];

/// One message of a conversation, as chat templates see it: `message.role`,
/// `message['content']`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Message {
    /// Who speaks: `system`, `user`, `assistant`, or another role the template knows (`tool`).
    pub role: String,
    /// What they say, verbatim: templates decide what to trim.
    pub content: String,
}

impl Message {
    /// A message from `role`.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Message {
            role: role.into(),
            content: content.into(),
        }
    }

    /// A `system` message.
    pub fn system(content: impl Into<String>) -> Self {
        Message::new("system", content)
    }

    /// A `user` message.
    pub fn user(content: impl Into<String>) -> Self {
        Message::new("user", content)
    }

    /// An `assistant` message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Message::new("assistant", content)
    }
}

/// The special tokens a template sees as variables, by name: `bos_token`, `eos_token`,
/// `pad_token`, ..., and model-specific ones such as `image_token`. A token the tokenizer does
/// not have is left out, so the template sees it undefined, as in transformers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpecialTokens {
    tokens: BTreeMap<String, String>,
}

impl SpecialTokens {
    /// No special tokens.
    pub fn new() -> Self {
        SpecialTokens::default()
    }

    /// These tokens with `name` (e.g. `"bos_token"`) set to `token`.
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, token: impl Into<String>) -> Self {
        self.insert(name, token);
        self
    }

    /// Sets `name` (e.g. `"eos_token"`) to `token`, replacing what it was.
    pub fn insert(&mut self, name: impl Into<String>, token: impl Into<String>) {
        self.tokens.insert(name.into(), token.into());
    }

    /// The token called `name`, if there is one.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.tokens.get(name).map(String::as_str)
    }

    /// Every token as `(name, token)`, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.tokens
            .iter()
            .map(|(name, token)| (name.as_str(), token.as_str()))
    }
}

impl<N: Into<String>, T: Into<String>> FromIterator<(N, T)> for SpecialTokens {
    fn from_iter<I: IntoIterator<Item = (N, T)>>(iter: I) -> Self {
        let mut tokens = SpecialTokens::new();
        for (name, token) in iter {
            tokens.insert(name, token);
        }
        tokens
    }
}

/// Why a chat template could not be loaded or rendered.
#[derive(Debug)]
#[non_exhaustive]
pub enum ChatError {
    /// The template is not valid Jinja (as minijinja parses it).
    Syntax {
        /// The template's line (1-based) the error is on, when known.
        line: Option<usize>,
        /// What is wrong there.
        message: String,
    },
    /// The template called `raise_exception(message)`: it rejects the conversation.
    Raised {
        /// The template's message, verbatim.
        message: String,
    },
    /// Rendering failed otherwise: an undefined attribute, a type error, a bad filter argument.
    Render {
        /// The template's line (1-based) the error is on, when known.
        line: Option<usize>,
        /// What went wrong.
        message: String,
    },
    /// No messages: transformers refuses an empty conversation too.
    EmptyConversation,
    /// An extra value named `messages` or `add_generation_prompt`, which the renderer sets.
    ReservedName {
        /// The name.
        name: String,
    },
    /// A file (`tokenizer_config.json`, `chat_template.jinja`) could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `tokenizer_config.json` is not what it should be (not JSON, a malformed `chat_template`).
    InvalidConfig {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// `tokenizer_config.json` has no `chat_template` and no `chat_template.jinja` is beside it.
    MissingTemplate {
        /// The config file.
        path: PathBuf,
    },
}

impl fmt::Display for ChatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = |line: &Option<usize>| match line {
            Some(line) => format!(" on line {line}"),
            None => String::new(),
        };
        match self {
            ChatError::Syntax { line, message } => {
                write!(f, "chat template syntax error{}: {message}", at(line))
            }
            ChatError::Raised { message } => {
                write!(f, "the chat template raised an exception: {message}")
            }
            ChatError::Render { line, message } => {
                write!(f, "chat template error{}: {message}", at(line))
            }
            ChatError::EmptyConversation => {
                write!(f, "cannot apply a chat template to an empty conversation")
            }
            ChatError::ReservedName { name } => write!(
                f,
                "`{name}` cannot be an extra template value: the renderer sets it"
            ),
            ChatError::Read { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            ChatError::InvalidConfig { path, message } => {
                write!(f, "invalid tokenizer config {}: {message}", path.display())
            }
            ChatError::MissingTemplate { path } => write!(
                f,
                "{} has no chat_template, and there is no {TEMPLATE_FILE} beside it",
                path.display()
            ),
        }
    }
}

impl std::error::Error for ChatError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ChatError::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A compiled chat template with the special tokens it renders with.
///
/// ```
/// use rung_models::chat::{ChatTemplate, Message, SpecialTokens};
///
/// let tokens = SpecialTokens::new().with("eos_token", "</s>");
/// let template = ChatTemplate::new(
///     "{% for m in messages %}{{ m.role }}: {{ m.content }}{{ eos_token }}\n{% endfor %}",
///     tokens,
/// )?;
/// let text = template.render(&[Message::user("Hi")], false)?;
/// assert_eq!(text, "user: Hi</s>\n");
/// # Ok::<(), rung_models::chat::ChatError>(())
/// ```
pub struct ChatTemplate {
    env: Environment<'static>,
    source: String,
    special_tokens: SpecialTokens,
}

impl fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("source", &self.source)
            .field("special_tokens", &self.special_tokens)
            .finish_non_exhaustive()
    }
}

impl ChatTemplate {
    /// Compiles `source`, once, for rendering with `special_tokens`. A syntax error names the
    /// line it is on ([`ChatError::Syntax`]).
    pub fn new(source: &str, special_tokens: SpecialTokens) -> Result<Self, ChatError> {
        let mut env = Environment::new();
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(syntax_error)?;
        env.set_syntax(syntax);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        // Jinja2's default `Undefined`: prints empty, iterates empty, is false, fails on access.
        env.set_undefined_behavior(UndefinedBehavior::Lenient);
        env.set_unknown_method_callback(python::call_method);
        env.set_formatter(python::format_value);
        env.add_filter("tojson", python::tojson);
        env.add_filter("trim", python::trim);
        env.add_filter("string", python::string);
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", |format: &str| python::strftime_now(format));
        env.add_template_owned(TEMPLATE_NAME, generation_as_if(source).into_owned())
            .map_err(syntax_error)?;
        Ok(ChatTemplate {
            env,
            source: source.to_owned(),
            special_tokens,
        })
    }

    /// The template of a Hugging Face `tokenizer_config.json`, with its special tokens, as
    /// transformers loads them: a `chat_template.jinja` beside the file first, else the
    /// config's `chat_template`, a string or a list of `{name, template}` (the one named
    /// `default`); every `*_token` given as a string, and the standard ones (`bos_token`,
    /// `eos_token`, ...) also as `{"content": ...}` objects. No template at all is
    /// [`ChatError::MissingTemplate`].
    pub fn from_tokenizer_config(path: impl AsRef<Path>) -> Result<Self, ChatError> {
        let path = path.as_ref();
        let text = read(path)?;
        let invalid = |message: String| ChatError::InvalidConfig {
            path: path.to_owned(),
            message,
        };
        let config: serde_json::Value =
            serde_json::from_str(&text).map_err(|error| invalid(error.to_string()))?;
        let Some(config) = config.as_object() else {
            return Err(invalid("not a JSON object".to_owned()));
        };
        let beside = path.with_file_name(TEMPLATE_FILE);
        let source = if beside.is_file() {
            read(&beside)?
        } else {
            config_template(config)
                .map_err(invalid)?
                .ok_or_else(|| ChatError::MissingTemplate {
                    path: path.to_owned(),
                })?
        };
        ChatTemplate::new(&source, config_special_tokens(config))
    }

    /// The template's source, as given.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The special tokens the template renders with.
    pub fn special_tokens(&self) -> &SpecialTokens {
        &self.special_tokens
    }

    /// The conversation as the model reads it, ending with the assistant's header when
    /// `add_generation_prompt` is set (if the template has one): transformers'
    /// `apply_chat_template(messages, tokenize=False, add_generation_prompt=...)`.
    pub fn render(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
    ) -> Result<String, ChatError> {
        self.render_with(messages, add_generation_prompt, &serde_json::Map::new())
    }

    /// [`render`](Self::render) with extra template values, as transformers' keyword
    /// arguments: `tools` (a list of JSON schemas), `documents`, `date_string`,
    /// `enable_thinking`, ... They override special tokens of the same name; `messages` and
    /// `add_generation_prompt` cannot be among them.
    pub fn render_with(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
        extra: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<String, ChatError> {
        if messages.is_empty() {
            return Err(ChatError::EmptyConversation);
        }
        let mut context: BTreeMap<String, Value> = self
            .special_tokens
            .iter()
            .map(|(name, token)| (name.to_owned(), Value::from(token)))
            .collect();
        context.insert("tools".to_owned(), Value::from(()));
        context.insert("documents".to_owned(), Value::from(()));
        for (name, value) in extra {
            if name == "messages" || name == "add_generation_prompt" {
                return Err(ChatError::ReservedName { name: name.clone() });
            }
            context.insert(name.clone(), json_to_value(value));
        }
        let messages: Vec<Value> = messages.iter().map(message_value).collect();
        context.insert("messages".to_owned(), Value::from(messages));
        context.insert(
            "add_generation_prompt".to_owned(),
            Value::from(add_generation_prompt),
        );
        let template = self.env.get_template(TEMPLATE_NAME).map_err(render_error)?;
        template
            .render(Value::from_pairs(context))
            .map_err(render_error)
    }
}

/// The error `raise_exception` returns, found again in the render error's sources.
#[derive(Debug)]
struct Raised(String);

impl fmt::Display for Raised {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Raised {}

/// transformers' `raise_exception(message)`: fails the render with the template's message.
fn raise_exception(message: Value) -> Result<Value, Error> {
    let message = python::to_str(&message);
    Err(Error::new(ErrorKind::InvalidOperation, message.clone()).with_source(Raised(message)))
}

fn syntax_error(error: Error) -> ChatError {
    ChatError::Syntax {
        line: error.line(),
        message: describe(&error),
    }
}

fn render_error(error: Error) -> ChatError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(current) = source {
        if let Some(Raised(message)) = current.downcast_ref::<Raised>() {
            return ChatError::Raised {
                message: message.clone(),
            };
        }
        source = current.source();
    }
    ChatError::Render {
        line: error.line(),
        message: describe(&error),
    }
}

/// minijinja's description of an error, without its "(in chat_template:4)" suffix.
fn describe(error: &Error) -> String {
    match error.detail() {
        Some(detail) => format!("{}: {detail}", error.kind()),
        None => error.kind().to_string(),
    }
}

/// `source` with transformers' `{% generation %} ... {% endgeneration %}` block (which
/// minijinja does not know) turned into `{% if true %} ... {% endif %}`: the same body, the same
/// whitespace control (`-`, `+`, trim_blocks, lstrip_blocks) and the same line numbers. Unlike
/// Jinja2's call block, a `{% set %}` inside is visible after it.
fn generation_as_if(source: &str) -> Cow<'_, str> {
    let bytes = source.as_bytes();
    let skip_spaces = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    };
    let mut out = String::new();
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = source[search..].find("{%") {
        let start = search + found;
        search = start + 2;
        let mut i = start + 2;
        if matches!(bytes.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let name_start = skip_spaces(i);
        let mut name_end = name_start;
        while bytes
            .get(name_end)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            name_end += 1;
        }
        let replacement = match &source[name_start..name_end] {
            "generation" => "if true",
            "endgeneration" => "endif",
            _ => continue,
        };
        let mut end = skip_spaces(name_end);
        if matches!(bytes.get(end), Some(b'-' | b'+')) {
            end += 1;
        }
        if !source[end..].starts_with("%}") {
            continue;
        }
        out.push_str(&source[copied..name_start]);
        out.push_str(replacement);
        copied = name_end;
        search = end + 2;
    }
    if copied == 0 {
        Cow::Borrowed(source)
    } else {
        out.push_str(&source[copied..]);
        Cow::Owned(out)
    }
}

/// A mapping that keeps its keys in order, as a Python dict: `role` before `content`, a tool
/// schema's keys as given.
#[derive(Debug)]
struct OrderedMap(Vec<(Value, Value)>);

impl Object for OrderedMap {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.0
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.0.iter().map(|(key, _)| key.clone()).collect())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.0.len())
    }
}

fn message_value(message: &Message) -> Value {
    Value::from_object(OrderedMap(vec![
        (Value::from("role"), Value::from(message.role.as_str())),
        (
            Value::from("content"),
            Value::from(message.content.as_str()),
        ),
    ]))
}

/// A JSON value as the template sees it: objects as [`OrderedMap`]s in serde_json's order.
fn json_to_value(value: &serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::from(()),
        serde_json::Value::Bool(b) => Value::from(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(items) => items.iter().map(json_to_value).collect(),
        serde_json::Value::Object(map) => Value::from_object(OrderedMap(
            map.iter()
                .map(|(key, value)| (Value::from(key.as_str()), json_to_value(value)))
                .collect(),
        )),
    }
}

fn read(path: &Path) -> Result<String, ChatError> {
    std::fs::read_to_string(path).map_err(|source| ChatError::Read {
        path: path.to_owned(),
        source,
    })
}

/// The config's `chat_template`: a string, or the `default` of a list of `{name, template}`.
/// `None` when absent or null.
fn config_template(
    config: &serde_json::Map<String, serde_json::Value>,
) -> Result<Option<String>, String> {
    match config.get("chat_template") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(template)) => Ok(Some(template.clone())),
        Some(serde_json::Value::Array(entries)) => {
            let mut names = Vec::new();
            for entry in entries {
                let name = entry.get("name").and_then(serde_json::Value::as_str);
                let template = entry.get("template").and_then(serde_json::Value::as_str);
                let (Some(name), Some(template)) = (name, template) else {
                    return Err(
                        "chat_template entries must be {\"name\": ..., \"template\": ...}"
                            .to_owned(),
                    );
                };
                if name == "default" {
                    return Ok(Some(template.to_owned()));
                }
                names.push(name);
            }
            Err(format!(
                "chat_template has several templates ({}) but none named \"default\"",
                names.join(", ")
            ))
        }
        Some(_) => Err("chat_template must be a string or a list of named templates".to_owned()),
    }
}

/// The special tokens transformers gives a template from a config: every `*_token` that is a
/// string, the standard ones also as `{"content": ...}` (`AddedToken`) objects, and the entries
/// of an `extra_special_tokens` object.
fn config_special_tokens(config: &serde_json::Map<String, serde_json::Value>) -> SpecialTokens {
    let mut tokens = SpecialTokens::new();
    for (name, value) in config {
        if !name.ends_with("_token") {
            continue;
        }
        match value {
            serde_json::Value::String(token) => tokens.insert(name.as_str(), token.as_str()),
            serde_json::Value::Object(object) if STANDARD_TOKENS.contains(&name.as_str()) => {
                if let Some(token) = object.get("content").and_then(serde_json::Value::as_str) {
                    tokens.insert(name.as_str(), token);
                }
            }
            _ => {}
        }
    }
    if let Some(extra) = config
        .get("extra_special_tokens")
        .and_then(serde_json::Value::as_object)
    {
        for (name, value) in extra {
            if let Some(token) = value.as_str() {
                tokens.insert(name.as_str(), token);
            }
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_blocks_become_if_blocks() {
        let source = "a{%- generation %}b{% endgeneration -%}\n{%+generation+%}c{%endgeneration%}";
        assert_eq!(
            generation_as_if(source),
            "a{%- if true %}b{% endif -%}\n{%+if true+%}c{%endif%}"
        );
        let untouched = "{% if x %}{{ generation }}{% endif %}{% generations %}";
        assert!(matches!(generation_as_if(untouched), Cow::Borrowed(_)));
    }
}
