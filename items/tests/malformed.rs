//! Malformed input gives an error naming the file and the line, never a panic.

#![allow(clippy::unwrap_used)] // A test that cannot read its fixtures should fail loudly.

use std::path::{Path, PathBuf};

use rung_items::{Fields, Format, LoadOptions, load};

/// Writes `text` to `name` in `dir` and returns its path.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Loads `text` written as `name` in `format` and returns the error's text, which must name
/// `name:line`.
fn error(name: &str, text: &str, format: Format, options: &LoadOptions, line: usize) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), name, text);
    let message = load(&path, format, options).unwrap_err().to_string();
    assert!(
        message.contains(&format!("{name}:{line}: ")),
        "expected `{name}:{line}: ` in: {message}"
    );
    message
}

const ARC_OK: &str = r#"{"query": "Question: Which?", "choices": ["a", "b"], "gold": 1}"#;
const GSM8K_OK: &str = r#"{"question": "How many?", "answer": "2+2=<<2+2=4>>4\n#### 4"}"#;
const MATH_OK: &str = r#"{"problem": "p", "level": "Level 2", "type": "Algebra", "solution": "$\\boxed{3}$", "idx": 0}"#;

#[test]
fn arc_bad_json_missing_field_and_gold_out_of_range() {
    let options = LoadOptions::default();
    let text = format!("{ARC_OK}\n{ARC_OK}\n{{\"query\": \"Question: x\", \"choices\": [\"a\"\n");
    let message = error("arc.jsonl", &text, Format::Arc, &options, 3);
    assert!(message.contains("EOF while parsing"), "{message}");
    let text = format!("{ARC_OK}\n{{\"query\": \"Question: x\", \"gold\": 0}}\n");
    let message = error("arc.jsonl", &text, Format::Arc, &options, 2);
    assert!(message.contains("missing field `choices`"), "{message}");
    let text = format!(
        "{ARC_OK}\n\n{{\"query\": \"Question: x\", \"choices\": [\"a\", \"b\"], \"gold\": 2}}\n"
    );
    let message = error("arc.jsonl", &text, Format::Arc, &options, 3);
    assert!(
        message.contains("`gold` is 2, but there are 2 choices"),
        "{message}"
    );
}

#[test]
fn gsm8k_answer_without_the_final_number() {
    let text = format!("{GSM8K_OK}\n{{\"question\": \"q\", \"answer\": \"It is 4.\"}}\n");
    let message = error(
        "test.jsonl",
        &text,
        Format::Gsm8k,
        &LoadOptions::default(),
        2,
    );
    assert!(message.contains("no `####`"), "{message}");
    let text = format!("{{\"question\": \"q\", \"answer\": \"#### four\"}}\n{GSM8K_OK}\n");
    let message = error(
        "test.jsonl",
        &text,
        Format::Gsm8k,
        &LoadOptions::default(),
        1,
    );
    assert!(
        message.contains("expected a number after `####`, found `four`"),
        "{message}"
    );
}

#[test]
fn mmlu_pro_disagreeing_answer_and_bad_index() {
    let row = |answer: &str, index: usize| {
        format!(
            r#"{{"question_id": 1, "question": "q", "options": ["a", "b", "c"], "answer": "{answer}", "answer_index": {index}, "category": "law", "src": "s"}}"#
        )
    };
    let text = format!("{}\n{}\n", row("B", 1), row("C", 1));
    let message = error(
        "test.jsonl",
        &text,
        Format::MmluPro,
        &LoadOptions::default(),
        2,
    );
    assert!(
        message.contains("`answer` is `C` but `answer_index` 1 is option B"),
        "{message}"
    );
    let text = format!("{}\n", row("D", 3));
    let message = error(
        "test.jsonl",
        &text,
        Format::MmluPro,
        &LoadOptions::default(),
        1,
    );
    assert!(
        message.contains("`answer_index` is 3, but there are 3 options"),
        "{message}"
    );
}

#[test]
fn math_solution_without_a_box_and_repeated_idx() {
    let text = format!(
        "{MATH_OK}\n{{\"problem\": \"p\", \"level\": \"Level 1\", \"type\": \"Algebra\", \"solution\": \"It is 3.\", \"idx\": 1}}\n"
    );
    let message = error(
        "test.jsonl",
        &text,
        Format::Math,
        &LoadOptions::default(),
        2,
    );
    assert!(message.contains("`\\boxed{...}`"), "{message}");
    let text = format!("{MATH_OK}\n{MATH_OK}\n");
    let message = error(
        "test.jsonl",
        &text,
        Format::Math,
        &LoadOptions::default(),
        2,
    );
    assert!(
        message.contains("the id `math-0` was already used on line 1"),
        "{message}"
    );
}

#[test]
fn bbh_broken_task_file() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "navigate.json",
        "{\"canary\": \"x\",\n \"examples\": [{\"input\": \"q\"}]}\n",
    );
    let message = load(dir.path(), Format::Bbh, &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("navigate.json:2: missing field `target`"),
        "{message}"
    );
}

#[test]
fn musr_answer_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "small.json",
        r#"[{"context": "c", "questions": [{"question": "q", "choices": ["a", "b"], "answer": 2}]}]"#,
    );
    let message = load(&path, Format::Musr, &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("small.json: context 0, question 0: expected `answer`"),
        "{message}"
    );
}

#[test]
fn generic_jsonl_missing_mapped_field() {
    let options = LoadOptions {
        fields: Fields {
            id: Some("uid".into()),
            prompt: "question".into(),
            target: Some("answer".into()),
            ..Fields::default()
        },
        ..LoadOptions::default()
    };
    let text = "{\"uid\": \"a\", \"question\": \"q\", \"answer\": 1}\n{\"uid\": \"b\", \"question\": \"q\"}\n";
    let message = error("mine.jsonl", text, Format::Jsonl, &options, 2);
    assert!(
        message.contains("expected a field `answer` (the target)"),
        "{message}"
    );
    let text = "{\"uid\": \"a\", \"question\": \"q\", \"answer\": 1}\n{\"uid\": \"a\", \"question\": \"r\", \"answer\": 2}\n";
    let message = error("mine.jsonl", text, Format::Jsonl, &options, 2);
    assert!(
        message.contains("the id `a` was already used on line 1"),
        "{message}"
    );
}

#[test]
fn generic_csv_missing_column_and_bad_choices() {
    let options = LoadOptions {
        fields: Fields {
            choices: Some("choices".into()),
            gold: Some("gold".into()),
            ..Fields::default()
        },
        ..LoadOptions::default()
    };
    let text = "prompt,choices,gold\nq1,\"[\"\"a\"\",\"\"b\"\"]\",B\nq2,not json,A\n";
    let message = error("mine.csv", text, Format::Csv, &options, 3);
    assert!(
        message.contains("expected `choices` to hold a JSON array"),
        "{message}"
    );
    let text = "prompt,options,gold\nq1,\"[\"\"a\"\"]\",0\n";
    let message = error("mine.csv", text, Format::Csv, &options, 2);
    assert!(message.contains("expected a field `choices`"), "{message}");
    let text = "prompt,choices,gold\nq1,\"[\"\"a\"\"]\",0,extra\n";
    let message = error("mine.csv", text, Format::Csv, &options, 2);
    assert!(message.contains("malformed CSV"), "{message}");
}

#[test]
fn generic_files_load_with_a_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "mine.csv",
        "prompt,choices,gold,level\nq1,\"[\"\"a\"\",\"\"b\"\"]\",B,3\nq2,\"[\"\"c\"\",\"\"d\"\"]\",0,easy\n",
    );
    let options = LoadOptions {
        fields: Fields {
            choices: Some("choices".into()),
            gold: Some("gold".into()),
            metadata: vec!["level".into()],
            ..Fields::default()
        },
        ..LoadOptions::default()
    };
    let set = load(&path, Format::Csv, &options).unwrap();
    let ids: Vec<&str> = set.iter().map(|item| item.id.as_str()).collect();
    assert_eq!(ids, ["mine-0", "mine-1"]);
    assert_eq!(set.items()[0].gold, Some(1));
    assert_eq!(set.items()[0].metadata["level"], serde_json::json!(3));
    assert_eq!(set.items()[1].metadata["level"], serde_json::json!("easy"));

    let path = write(
        dir.path(),
        "mine.jsonl",
        "{\"prompt\": \"q\", \"target\": 18}\n\n{\"prompt\": \"r\", \"target\": null}\n",
    );
    let options = LoadOptions {
        fields: Fields {
            target: Some("target".into()),
            ..Fields::default()
        },
        ..LoadOptions::default()
    };
    let set = load(&path, Format::Jsonl, &options).unwrap();
    assert_eq!(set.items()[0].target.as_deref(), Some("18"));
    assert_eq!(set.items()[1].id, "mine-2");
    assert_eq!(set.items()[1].target, None);
}

#[test]
fn unreadable_files_are_errors() {
    let message = load(
        Path::new("/no/such/file.jsonl"),
        Format::Gsm8k,
        &LoadOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        message.starts_with("/no/such/file.jsonl: cannot read it"),
        "{message}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    std::fs::write(
        &path,
        b"{\"question\": \"ok\", \"answer\": \"#### 1\"}\n\xff\xfe\n",
    )
    .unwrap();
    let message = load(&path, Format::Gsm8k, &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("bad.jsonl:2: expected UTF-8 text"),
        "{message}"
    );
}
