//! Chat templates rendered by `rung_models::chat` against Hugging Face transformers' renderings
//! of the same cases (fixtures/chat/expected.json, from models/reference/chat_reference.py).

mod support;

use std::path::Path;

use rung_models::chat::{ChatError, ChatTemplate, Message, SpecialTokens};
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Deserialize)]
struct Expected {
    templates: Vec<TemplateCases>,
    errors: Vec<ErrorCase>,
    syntax_error: SyntaxErrorCase,
    configs: Vec<ConfigCases>,
}

#[derive(Deserialize)]
struct TemplateCases {
    name: String,
    file: String,
    special_tokens: Map<String, Value>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    messages: Vec<Message>,
    add_generation_prompt: bool,
    extra: Map<String, Value>,
    output: String,
}

#[derive(Deserialize)]
struct ErrorCase {
    file: String,
    special_tokens: Map<String, Value>,
    name: String,
    messages: Vec<Message>,
    add_generation_prompt: bool,
    extra: Map<String, Value>,
    error: String,
}

#[derive(Deserialize)]
struct SyntaxErrorCase {
    file: String,
    line: usize,
}

#[derive(Deserialize)]
struct ConfigCases {
    dir: String,
    special_tokens: Map<String, Value>,
    #[serde(default)]
    error: Option<String>,
    cases: Vec<Case>,
}

fn expected() -> Expected {
    let path = support::fixture("chat/expected.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("invalid {}: {error}", path.display()))
}

fn tokens(map: &Map<String, Value>) -> SpecialTokens {
    map.iter()
        .map(|(name, token)| {
            let token = token
                .as_str()
                .unwrap_or_else(|| panic!("special token {name} is not a string"));
            (name.as_str(), token)
        })
        .collect()
}

fn template(file: &str, special_tokens: SpecialTokens) -> ChatTemplate {
    let path = support::fixture(&format!("chat/{file}"));
    let source = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    ChatTemplate::new(&source, special_tokens)
        .unwrap_or_else(|error| panic!("{file} does not compile: {error}"))
}

/// Renders every case, and fails listing each one whose output differs from transformers'.
fn check_cases(label: &str, template: &ChatTemplate, cases: &[Case]) -> usize {
    let mut failures = Vec::new();
    for case in cases {
        match template.render_with(&case.messages, case.add_generation_prompt, &case.extra) {
            Ok(output) if output == case.output => {}
            Ok(output) => failures.push(format!(
                "{label} / {}:\n--- transformers\n{:?}\n--- rung\n{:?}",
                case.name, case.output, output
            )),
            Err(error) => failures.push(format!("{label} / {}: {error}", case.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from transformers:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
    cases.len()
}

#[test]
fn templates_render_as_transformers_does() {
    let expected = expected();
    let names: Vec<&str> = expected.templates.iter().map(|t| t.name.as_str()).collect();
    for name in [
        "qwen2.5-instruct",
        "llama-3.1-instruct",
        "llama-3-instruct",
        "smollm2-135m-instruct",
        "jinja-features",
    ] {
        assert!(names.contains(&name), "expected.json has no {name}");
    }
    for spec in &expected.templates {
        let template = template(&spec.file, tokens(&spec.special_tokens));
        let checked = check_cases(&spec.name, &template, &spec.cases);
        assert!(checked >= 8, "{}: only {checked} cases", spec.name);
    }
}

#[test]
fn raise_exception_is_an_error_with_the_templates_message() {
    let expected = expected();
    assert!(!expected.errors.is_empty());
    for case in &expected.errors {
        let template = template(&case.file, tokens(&case.special_tokens));
        match template.render_with(&case.messages, case.add_generation_prompt, &case.extra) {
            Err(ChatError::Raised { message }) => {
                assert_eq!(message, case.error, "{} / {}", case.file, case.name);
            }
            other => panic!(
                "{} / {}: expected the template to raise {:?}, got {other:?}",
                case.file, case.name, case.error
            ),
        }
    }
    let rejected = template("reject-role.jinja", SpecialTokens::new())
        .render(&[Message::new("tool", "42")], true);
    let error = rejected.expect_err("the tool role is rejected");
    assert_eq!(
        error.to_string(),
        "the chat template raised an exception: \
         Unsupported role 'tool': only system, user and assistant are allowed"
    );
}

#[test]
fn a_syntax_error_names_the_templates_line() {
    let expected = expected().syntax_error;
    let path = support::fixture(&format!("chat/{}", expected.file));
    let source = std::fs::read_to_string(path).expect("the fixture reads");
    match ChatTemplate::new(&source, SpecialTokens::new()) {
        Err(error @ ChatError::Syntax { line, .. }) => {
            assert_eq!(
                line,
                Some(expected.line),
                "Jinja2 reports line {}",
                expected.line
            );
            let text = error.to_string();
            assert!(
                text.starts_with(&format!(
                    "chat template syntax error on line {}: ",
                    expected.line
                )),
                "{text}"
            );
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn tokenizer_configs_load_as_transformers_loads_them() {
    let expected = expected();
    assert_eq!(expected.configs.len(), 5);
    for config in &expected.configs {
        let path = support::fixture(&format!("chat/{}/tokenizer_config.json", config.dir));
        let loaded = ChatTemplate::from_tokenizer_config(&path);
        if let Some(message) = &config.error {
            assert!(message.contains("chat_template is not set"), "{message}");
            match loaded {
                Err(error @ ChatError::MissingTemplate { .. }) => {
                    let text = error.to_string();
                    assert!(text.contains(&path.display().to_string()), "{text}");
                    assert!(text.contains("no chat_template"), "{text}");
                }
                other => panic!("{}: expected a missing template, got {other:?}", config.dir),
            }
            continue;
        }
        let template = loaded.unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        assert_eq!(
            template.special_tokens(),
            &tokens(&config.special_tokens),
            "{}: the special tokens transformers passes",
            config.dir
        );
        check_cases(&config.dir, &template, &config.cases);
    }
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("the temporary file writes");
    path
}

#[test]
fn tokenizer_config_variants_and_errors() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let dir = dir.path();

    // AddedToken objects without "__type", nulls, and a non-token key ending in _token.
    let path = write(
        dir,
        "tokenizer_config.json",
        r#"{"bos_token": {"content": "<s>", "special": true}, "eos_token": null,
            "pad_token": "<pad>", "add_bos_token": true, "image_token": {"content": "<img>"},
            "extra_special_tokens": {"audio_token": "<audio>"},
            "chat_template": "{{ bos_token }}{{ pad_token }}{{ audio_token }}{{ eos_token is defined }}{{ image_token is defined }}"}"#,
    );
    let template = ChatTemplate::from_tokenizer_config(&path).expect("the config loads");
    assert_eq!(
        template
            .render(&[Message::user("hi")], false)
            .expect("renders"),
        "<s><pad><audio>FalseFalse"
    );

    // Several templates, none called "default".
    write(
        dir,
        "tokenizer_config.json",
        r#"{"chat_template": [{"name": "tool_use", "template": "x"}, {"name": "rag", "template": "y"}]}"#,
    );
    let error = ChatTemplate::from_tokenizer_config(&path).expect_err("no default template");
    assert!(
        matches!(error, ChatError::InvalidConfig { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("tool_use, rag"), "{error}");

    // Not JSON.
    write(dir, "tokenizer_config.json", "{ not json");
    let error = ChatTemplate::from_tokenizer_config(&path).expect_err("invalid JSON");
    assert!(
        matches!(error, ChatError::InvalidConfig { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("tokenizer_config.json"),
        "{error}"
    );

    // No file at all.
    let missing = dir.join("nowhere/tokenizer_config.json");
    let error = ChatTemplate::from_tokenizer_config(&missing).expect_err("no file");
    assert!(matches!(error, ChatError::Read { .. }), "{error:?}");
    assert!(std::error::Error::source(&error).is_some());

    // A template file beside the config wins over the config's entry.
    write(
        dir,
        "tokenizer_config.json",
        r#"{"chat_template": "config"}"#,
    );
    write(dir, "chat_template.jinja", "file {{ messages | length }}\n");
    let template = ChatTemplate::from_tokenizer_config(&path).expect("the config loads");
    assert_eq!(template.source(), "file {{ messages | length }}\n");
    assert_eq!(
        template
            .render(&[Message::user("a"), Message::assistant("b")], false)
            .expect("renders"),
        "file 2"
    );
}

#[test]
fn rendering_refuses_what_transformers_refuses() {
    let template =
        ChatTemplate::new("{{ messages | length }}", SpecialTokens::new()).expect("compiles");
    assert!(matches!(
        template.render(&[], true),
        Err(ChatError::EmptyConversation)
    ));
    for name in ["messages", "add_generation_prompt"] {
        let mut extra = Map::new();
        extra.insert(name.to_owned(), Value::Bool(true));
        let result = template.render_with(&[Message::user("x")], false, &extra);
        assert!(
            matches!(&result, Err(ChatError::ReservedName { name: reserved }) if reserved == name),
            "{result:?}"
        );
    }
    // An error while rendering names the line.
    let template = ChatTemplate::new(
        "line one\n{{ messages[0].content.missing.deeper }}",
        SpecialTokens::new(),
    )
    .expect("compiles");
    match template.render(&[Message::user("x")], false) {
        Err(error @ ChatError::Render { line: Some(2), .. }) => {
            assert!(
                error
                    .to_string()
                    .starts_with("chat template error on line 2: "),
                "{error}"
            );
        }
        other => panic!("expected a render error on line 2, got {other:?}"),
    }
}

#[test]
fn strftime_now_gives_todays_date() {
    let template = ChatTemplate::new(
        "{{ strftime_now('%Y-%m-%d') }}|{{ strftime_now('%d %b %Y') }}",
        SpecialTokens::new(),
    )
    .expect("compiles");
    let text = template
        .render(&[Message::user("x")], false)
        .expect("renders");
    let (iso, human) = text.split_once('|').expect("two dates");
    assert_eq!(iso.len(), 10, "{text}");
    assert!(
        iso[..4].parse::<u32>().is_ok_and(|year| year >= 2024),
        "{text}"
    );
    assert!(human.ends_with(&iso[..4]), "{text}");
}

#[test]
fn a_template_can_be_shared_across_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<ChatTemplate>();
    shared::<ChatError>();
}

#[test]
fn messages_round_trip_through_serde() {
    let message = Message::system("Be brief.");
    let json = serde_json::to_string(&message).expect("serializes");
    assert_eq!(json, r#"{"role":"system","content":"Be brief."}"#);
    let back: Message = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(back, message);
}
