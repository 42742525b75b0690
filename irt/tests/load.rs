//! The response-matrix loaders on small fixtures of every format, every error they report (with
//! its file, line and message), a write/load round trip and the real MMLU-Pro matrix.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use rung_irt::load::{Format, LoadError, LoadOptions, load, write_wide_csv};
use rung_irt::matrix::{CORRECT, MISSING, ResponseMatrix, WRONG};
use tempfile::TempDir;

const M: u8 = MISSING;

/// A temporary directory to write fixtures into.
struct Fixture {
    dir: TempDir,
}

impl Fixture {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` to `name` (a path relative to the fixture, directories created).
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.root().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }
}

fn options(format: Format) -> LoadOptions {
    LoadOptions {
        format,
        ..LoadOptions::default()
    }
}

fn ids(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| name.to_string()).collect()
}

/// Writes `text` to a file named after the format and loads it.
fn load_text(format: Format, text: &str) -> (Fixture, PathBuf, Result<ResponseMatrix, LoadError>) {
    load_with(options(format), text)
}

fn load_with(
    options: LoadOptions,
    text: &str,
) -> (Fixture, PathBuf, Result<ResponseMatrix, LoadError>) {
    let fixture = Fixture::new();
    let extension = match options.format {
        Format::WideCsv | Format::LongCsv => "csv",
        _ => "jsonl",
    };
    let path = fixture.file(&format!("{}.{extension}", options.format), text);
    let result = load(&path, &options);
    (fixture, path, result)
}

/// Asserts that `result` failed at `path`, on `line`, with a message containing `fragment`.
#[track_caller]
fn assert_error(
    result: Result<ResponseMatrix, LoadError>,
    path: &Path,
    line: Option<usize>,
    fragment: &str,
) {
    let error = result.unwrap_err();
    assert_eq!(error.path, path, "{error}");
    assert_eq!(error.line, line, "{error}");
    assert!(
        error.message.contains(fragment),
        "expected `{fragment}` in: {error}"
    );
}

/// Asserts that loading `text` as `format` fails on `line` with `fragment` in the message.
#[track_caller]
fn assert_text_error(format: Format, text: &str, line: Option<usize>, fragment: &str) {
    let (_fixture, path, result) = load_text(format, text);
    assert_error(result, &path, line, fragment);
}

// Formats, options and errors.

#[test]
fn formats_parse_their_own_names() {
    for format in Format::ALL {
        assert_eq!(Format::parse(format.name()), Some(format));
    }
    assert_eq!(Format::parse("lm_eval_logs"), Some(Format::LmEvalLogs));
    assert_eq!(Format::parse("csv"), None);
}

#[test]
fn errors_display_the_file_and_line() {
    let at = LoadError {
        path: PathBuf::from("data/r.csv"),
        line: Some(3),
        message: "expected 0".to_string(),
    };
    assert_eq!(at.to_string(), "data/r.csv:3: expected 0");
    let whole = LoadError { line: None, ..at };
    assert_eq!(whole.to_string(), "data/r.csv: expected 0");
}

#[test]
fn defaults_are_as_documented() {
    let options = LoadOptions::default();
    assert_eq!(
        (
            options.subject_field.as_str(),
            options.item_field.as_str(),
            options.score_field.as_str(),
            options.threshold,
            options.id_prefix.as_str()
        ),
        ("model", "item", "correct", 0.5, "")
    );
}

#[test]
fn a_missing_file_is_an_error_for_every_format() {
    let fixture = Fixture::new();
    let path = fixture.root().join("absent.txt");
    for format in [
        Format::WideCsv,
        Format::LongCsv,
        Format::LongJsonl,
        Format::PyIrtJsonl,
        Format::LmEvalLogs,
    ] {
        assert_error(load(&path, &options(format)), &path, None, "cannot read it");
    }
}

#[test]
fn a_directory_is_an_unreadable_file() {
    let fixture = Fixture::new();
    for format in [
        Format::WideCsv,
        Format::LongCsv,
        Format::LongJsonl,
        Format::PyIrtJsonl,
    ] {
        assert_error(
            load(fixture.root(), &options(format)),
            fixture.root(),
            None,
            "cannot read it: ",
        );
    }
}

#[test]
fn text_that_is_not_utf8_is_an_error_in_csv_ids() {
    let fixture = Fixture::new();
    let cases: [(Format, &[u8], usize, &str); 4] = [
        (
            Format::WideCsv,
            b"model,a,\xff\nm,1,0\n",
            1,
            "expected UTF-8 text in header column 3",
        ),
        (
            Format::WideCsv,
            b"model,a\nm\xff,1\n",
            2,
            "expected a UTF-8 subject id in the first column, found `m\u{fffd}`",
        ),
        (
            Format::WideCsv,
            b"\"model\",a\n\n\xff,1\n",
            3,
            "expected a UTF-8 subject id in the first column",
        ),
        (
            Format::LongCsv,
            b"model,item,correct\nm,\xfe,1\n",
            2,
            "expected a UTF-8 id in column `item`",
        ),
    ];
    for (format, bytes, line, fragment) in cases {
        let path = fixture.root().join("bytes.csv");
        fs::write(&path, bytes).unwrap();
        assert_error(load(&path, &options(format)), &path, Some(line), fragment);
    }
}

#[test]
fn a_non_finite_threshold_is_an_error() {
    let options = LoadOptions {
        threshold: f64::NAN,
        ..options(Format::LongCsv)
    };
    let (_fixture, path, result) = load_with(options, "model,item,correct\nm,a,1\n");
    assert_error(result, &path, None, "expected a finite score threshold");
}

// Wide CSV.

#[test]
fn wide_csv_loads_ids_cells_and_missing_cells() {
    let (_fixture, _, result) = load_text(Format::WideCsv, "model,a,b,c\nm1,1,0,\nm2,0.0,1.0,1\n");
    let matrix = result.unwrap();
    assert_eq!(matrix.subjects(), ids(&["m1", "m2"]));
    assert_eq!(matrix.items(), ids(&["a", "b", "c"]));
    assert_eq!(matrix.cells(), [1, 0, M, 0, 1, 1]);
}

#[test]
fn wide_csv_takes_quotes_crlf_a_byte_order_mark_and_any_first_header() {
    let text = "\u{feff}llm,\"a,1\",b\r\nm1,\"1\",0\r\n\r\n";
    let (_fixture, _, result) = load_text(Format::WideCsv, text);
    let matrix = result.unwrap();
    assert_eq!(matrix.subjects(), ids(&["m1"]));
    assert_eq!(matrix.items(), ids(&["a,1", "b"]));
    assert_eq!(matrix.cells(), [CORRECT, WRONG]);
}

#[test]
fn wide_csv_strips_the_id_prefix_where_present() {
    let options = LoadOptions {
        id_prefix: "mmlu_pro-".to_string(),
        ..options(Format::WideCsv)
    };
    let (_fixture, _, result) = load_with(options, "model,mmlu_pro-70,other-1\nm,1,0\n");
    assert_eq!(result.unwrap().items(), ids(&["70", "other-1"]));
}

#[test]
fn wide_csv_rejects_cells_other_than_0_1_or_empty() {
    for bad in ["x", "2", "true", "0.5", " 1", "1.00"] {
        assert_text_error(
            Format::WideCsv,
            &format!("model,a,b\nm1,1,0\nm2,1,{bad}\n"),
            Some(3),
            &format!("item `b`: expected 0, 1 or an empty cell, found `{bad}`"),
        );
    }
}

#[test]
fn wide_csv_rejects_a_subject_twice() {
    assert_text_error(
        Format::WideCsv,
        "model,a\nm1,1\nm2,0\nm1,0\n",
        Some(4),
        "subject `m1` appears twice: first on line 2",
    );
}

#[test]
fn wide_csv_rejects_an_item_twice_in_the_header() {
    assert_text_error(
        Format::WideCsv,
        "model,a,b,a\nm1,1,0,1\n",
        Some(1),
        "item `a` appears twice in the header: columns 2 and 4",
    );
}

#[test]
fn wide_csv_rejects_items_that_become_equal_without_the_prefix() {
    let options = LoadOptions {
        id_prefix: "p-".to_string(),
        ..options(Format::WideCsv)
    };
    let (_fixture, path, result) = load_with(options, "model,p-a,a\nm1,1,0\n");
    assert_error(
        result,
        &path,
        Some(1),
        "item `a` appears twice in the header: columns 2 and 3",
    );
}

#[test]
fn wide_csv_rejects_ragged_rows() {
    assert_text_error(
        Format::WideCsv,
        "model,a,b\nm1,1,0\nm2,1\n",
        Some(3),
        "expected 3 cells (as in the header), found 2",
    );
    assert_text_error(
        Format::WideCsv,
        "model,a,b\nm1,1,0,1\n",
        Some(2),
        "expected 3 cells (as in the header), found 4",
    );
}

#[test]
fn wide_csv_rejects_an_empty_file() {
    assert_text_error(
        Format::WideCsv,
        "",
        None,
        "the file is empty: expected a header row `model,<item ids...>`",
    );
}

#[test]
fn wide_csv_rejects_empty_ids() {
    assert_text_error(
        Format::WideCsv,
        "model,a\n,1\n",
        Some(2),
        "expected a subject id in the first column, found an empty cell",
    );
    assert_text_error(
        Format::WideCsv,
        "model,a,,b\nm,1,1,1\n",
        Some(1),
        "expected an item id in header column 3, found an empty cell",
    );
}

/// Loads `text` as it is (quote-free files take the fast reader) and with its header's first
/// cell quoted (which sends it to the csv crate), returning `(line, message)` or the matrix.
fn load_both_ways(text: &str) -> [Result<ResponseMatrix, (Option<usize>, String)>; 2] {
    let quoted = text.replacen("model", "\"model\"", 1);
    [text, quoted.as_str()].map(|text| {
        let (_fixture, _, result) = load_text(Format::WideCsv, text);
        result.map_err(|error| (error.line, error.message))
    })
}

#[test]
fn wide_csv_reads_quoted_and_plain_files_alike() {
    let good = "model,a,b,c\r\n\r\nm1,1,0,\r\nm2,,,\n\nm3,1.0,0.0,1\nm4,0,,1";
    let [plain, quoted] = load_both_ways(good);
    let plain = plain.unwrap();
    assert_eq!(plain.cells(), [1, 0, M, M, M, M, 1, 0, 1, 0, M, 1]);
    assert_eq!(quoted.unwrap(), plain);
    for bad in [
        "model,a,b\n\nm1,1,x\n",
        "model,a,b\nm1,1,0,\n",
        "model,a,b\nm1,1\n",
        "model,a,b\nm1\n",
        "model,a,b\n\n\nm1,1,0\r\nm1,0,0\r\n",
        "model\nm1,\n",
        "model,a,b\nm1,1,0\n,1,1\n",
        "model,a,\n",
    ] {
        let [plain, quoted] = load_both_ways(bad);
        let plain = plain.unwrap_err();
        assert_eq!(quoted.unwrap_err(), plain, "{bad:?}");
    }
}

#[test]
fn wide_csv_switches_to_the_csv_crate_at_a_quote_or_lone_carriage_return() {
    let (_fixture, _, result) = load_text(Format::WideCsv, "model,a\nm1,1\n\"m,2\",0\n");
    assert_eq!(result.unwrap().subjects(), ids(&["m1", "m,2"]));
    let (_fixture, _, result) = load_text(Format::WideCsv, "model,a,b\rm1,1,\rm2,0,1\r");
    assert_eq!(result.unwrap().cells(), [1, M, 0, 1]);
}

#[test]
fn wide_csv_with_a_header_only_has_no_subjects() {
    let (_fixture, _, result) = load_text(Format::WideCsv, "model,a,b\n");
    let matrix = result.unwrap();
    assert_eq!((matrix.n_subjects(), matrix.n_items()), (0, 2));
}

#[test]
fn wide_csv_round_trips_through_write_wide_csv() {
    let matrix = ResponseMatrix::new(
        ids(&["m1", "model \"two\"", "m,3"]),
        ids(&["a", "b,c", "d\"e", "f"]),
        vec![1, 0, M, 1, M, M, M, M, 0, 1, 1, 0],
    )
    .unwrap();
    let fixture = Fixture::new();
    let path = fixture.root().join("out.csv");
    write_wide_csv(&matrix, fs::File::create(&path).unwrap()).unwrap();
    assert_eq!(load(&path, &options(Format::WideCsv)).unwrap(), matrix);
}

#[test]
fn write_wide_csv_writes_the_documented_layout() {
    let matrix =
        ResponseMatrix::new(ids(&["m1", "m2"]), ids(&["a", "b"]), vec![1, M, 0, 1]).unwrap();
    let mut out = Vec::new();
    write_wide_csv(&matrix, &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "model,a,b\nm1,1,\nm2,0,1\n"
    );
}

// Long CSV.

#[test]
fn long_csv_loads_scores_against_the_threshold_in_order_of_appearance() {
    let text = "item,model,correct,note\n\
                b,m2,1,x\n\
                a,m1,0.7,\n\
                a,m2,0.2,\n\
                c,m1,,empty score\n";
    let (_fixture, _, result) = load_text(Format::LongCsv, text);
    let matrix = result.unwrap();
    assert_eq!(matrix.subjects(), ids(&["m2", "m1"]));
    assert_eq!(matrix.items(), ids(&["b", "a", "c"]));
    // m2: b=1, a=0.2, c never given; m1: b never given, a=0.7, c empty.
    assert_eq!(matrix.cells(), [1, 0, M, M, 1, M]);
}

#[test]
fn long_csv_uses_the_named_fields_threshold_and_prefix() {
    let options = LoadOptions {
        subject_field: "llm".to_string(),
        item_field: "question".to_string(),
        score_field: "score".to_string(),
        threshold: 0.9,
        id_prefix: "q-".to_string(),
        ..options(Format::LongCsv)
    };
    let text = "llm,question,score\nm,q-1,0.95\nm,q-2,0.89\nm,x-3,1e0\n";
    let (_fixture, _, result) = load_with(options, text);
    let matrix = result.unwrap();
    assert_eq!(matrix.items(), ids(&["1", "2", "x-3"]));
    assert_eq!(matrix.cells(), [1, 0, 1]);
}

#[test]
fn long_csv_names_the_missing_column_and_the_columns_present() {
    assert_text_error(
        Format::LongCsv,
        "model,item,score\nm,a,1\n",
        Some(1),
        "expected a column `correct` (the score field); the header has `model`, `item`, `score`",
    );
}

#[test]
fn long_csv_rejects_scores_that_are_not_numbers() {
    for bad in ["yes", "NaN", "inf", "1,5"] {
        let text = format!("model,item,correct\nm,a,1\nm,b,\"{bad}\"\n");
        assert_text_error(
            Format::LongCsv,
            &text,
            Some(3),
            &format!("expected a number or an empty cell in column `correct`, found `{bad}`"),
        );
    }
}

#[test]
fn long_csv_rejects_a_pair_twice_naming_both_lines() {
    assert_text_error(
        Format::LongCsv,
        "model,item,correct\nm1,a,1\nm2,a,1\nm1,a,\n",
        Some(4),
        "subject `m1` and item `a` appear twice: first on line 2",
    );
}

#[test]
fn long_csv_counts_lines_across_crlf_blank_lines_and_quoted_line_breaks() {
    assert_text_error(
        Format::LongCsv,
        "model,item,correct\r\n\r\nm1,\"a\nb\",1\r\n\r\n\r\nm1,b,x\r\n",
        Some(7),
        "found `x`",
    );
    assert_text_error(
        Format::LongCsv,
        "model,item,correct\r\nm1,a,1\r\nm1,a,0\r\n",
        Some(3),
        "first on line 2",
    );
}

#[test]
fn long_csv_rejects_ragged_rows() {
    assert_text_error(
        Format::LongCsv,
        "model,item,correct\nm1,a,1\nm1,b\n",
        Some(3),
        "expected 3 cells (as in the header), found 2",
    );
}

#[test]
fn long_csv_rejects_an_empty_file() {
    assert_text_error(
        Format::LongCsv,
        "",
        None,
        "the file is empty: expected a header row naming the columns `model`, `item` and `correct`",
    );
}

#[test]
fn long_csv_rejects_empty_ids() {
    assert_text_error(
        Format::LongCsv,
        "model,item,correct\nm1,,1\n",
        Some(2),
        "expected an id in column `item`, found an empty cell",
    );
}

// Long JSONL.

#[test]
fn long_jsonl_loads_numbers_booleans_and_nulls() {
    let text = r#"{"model": "m1", "item": "a", "correct": 1, "extra": {"x": [1, 2]}}

{"model": "m1", "item": 7, "correct": false}
{"model": "m2", "item": "a", "correct": 0.25}
{"model": "m2", "item": 7, "correct": null}
{"model": "m2", "item": "c", "correct": true}
"#;
    let (_fixture, _, result) = load_text(Format::LongJsonl, text);
    let matrix = result.unwrap();
    assert_eq!(matrix.subjects(), ids(&["m1", "m2"]));
    assert_eq!(matrix.items(), ids(&["a", "7", "c"]));
    assert_eq!(matrix.cells(), [1, 0, M, 0, M, 1]);
}

#[test]
fn long_jsonl_rejects_malformed_json_with_its_line() {
    assert_text_error(
        Format::LongJsonl,
        "{\"model\": \"m\", \"item\": \"a\", \"correct\": 1}\n{\"model\": \"m\",\n",
        Some(2),
        "malformed JSON at column",
    );
    assert_text_error(
        Format::LongJsonl,
        "{\"model\": \"m\", \"item\": \"a\", \"correct\": 1} 2\n",
        Some(1),
        "malformed JSON at column",
    );
}

#[test]
fn long_jsonl_rejects_lines_that_are_not_objects() {
    assert_text_error(
        Format::LongJsonl,
        "[1, 2]\n",
        Some(1),
        "expected a JSON object",
    );
}

#[test]
fn long_jsonl_names_the_missing_field_and_the_fields_present() {
    assert_text_error(
        Format::LongJsonl,
        "{\"model\": \"m\", \"item\": \"a\", \"correct\": 1}\n\n{\"model\": \"m\", \"item\": \"b\", \"score\": 1}\n",
        Some(3),
        "expected a field `correct` (the score field); the object has `model`, `item`, `score`",
    );
    assert_text_error(
        Format::LongJsonl,
        "{}\n",
        Some(1),
        "expected a field `model` (the subject field); the object has no fields",
    );
}

#[test]
fn long_jsonl_rejects_scores_and_ids_of_the_wrong_kind() {
    assert_text_error(
        Format::LongJsonl,
        "{\"model\": \"m\", \"item\": \"a\", \"correct\": \"1\"}\n",
        Some(1),
        "expected a number, true, false or null in `correct` (the score field), found `\"1\"`",
    );
    assert_text_error(
        Format::LongJsonl,
        "{\"model\": \"m\", \"item\": [1], \"correct\": 1}\n",
        Some(1),
        "expected a non-empty string or a number in `item` (the item field), found `[1]`",
    );
}

#[test]
fn long_jsonl_rejects_a_pair_twice_naming_both_lines() {
    assert_text_error(
        Format::LongJsonl,
        "{\"model\": \"m\", \"item\": \"a\", \"correct\": 1}\n{\"model\": \"m\", \"item\": \"a\", \"correct\": 0}\n",
        Some(2),
        "subject `m` and item `a` appear twice: first on line 1",
    );
}

#[test]
fn long_jsonl_rejects_a_file_without_objects() {
    assert_text_error(
        Format::LongJsonl,
        "\n  \n",
        None,
        "the file is empty: expected one JSON object per line with the fields `model`, `item` and `correct`",
    );
}

#[test]
fn jsonl_rejects_text_that_is_not_utf8() {
    let fixture = Fixture::new();
    let path = fixture.root().join("bad.jsonl");
    fs::write(
        &path,
        b"{\"model\": \"m\", \"item\": \"a\", \"correct\": 1}\n\xff\xfe\n",
    )
    .unwrap();
    assert_error(
        load(&path, &options(Format::LongJsonl)),
        &path,
        Some(2),
        "expected UTF-8 text",
    );
}

// py-irt JSONL.

#[test]
fn pyirt_jsonl_loads_subjects_and_items_in_file_order() {
    let text = r#"{"subject_id": "m1", "responses": {"q10": 1, "q2": 0, "q1": true}}
{"subject_id": "m2", "responses": {"q2": false, "q3": 1}}
{"subject_id": 3, "responses": {}}
"#;
    let options = LoadOptions {
        subject_field: "ignored here".to_string(),
        ..options(Format::PyIrtJsonl)
    };
    let (_fixture, _, result) = load_with(options, text);
    let matrix = result.unwrap();
    assert_eq!(matrix.subjects(), ids(&["m1", "m2", "3"]));
    assert_eq!(matrix.items(), ids(&["q10", "q2", "q1", "q3"]));
    assert_eq!(matrix.cells(), [1, 0, 1, M, M, 0, M, 1, M, M, M, M]);
}

#[test]
fn pyirt_jsonl_rejects_responses_other_than_0_or_1() {
    for bad in ["2", "0.5", "1.0", "\"1\"", "null"] {
        let text = format!(
            "{{\"subject_id\": \"m1\", \"responses\": {{\"a\": 1}}}}\n{{\"subject_id\": \"m2\", \"responses\": {{\"a\": 0, \"b\": {bad}}}}}\n"
        );
        assert_text_error(
            Format::PyIrtJsonl,
            &text,
            Some(2),
            &format!("item `b`: expected 0, 1, true or false, found `{bad}`"),
        );
    }
}

#[test]
fn pyirt_jsonl_rejects_a_subject_twice_naming_both_lines() {
    assert_text_error(
        Format::PyIrtJsonl,
        "{\"subject_id\": \"m1\", \"responses\": {\"a\": 1}}\n{\"subject_id\": \"m2\", \"responses\": {}}\n{\"subject_id\": \"m1\", \"responses\": {\"b\": 1}}\n",
        Some(3),
        "subject `m1` appears twice: first on line 1",
    );
}

#[test]
fn pyirt_jsonl_names_missing_fields_and_the_fields_present() {
    assert_text_error(
        Format::PyIrtJsonl,
        "{\"model\": \"m1\", \"responses\": {\"a\": 1}}\n",
        Some(1),
        "expected a field `subject_id` (the subject id); the object has `model`, `responses`",
    );
    assert_text_error(
        Format::PyIrtJsonl,
        "{\"subject_id\": \"m1\", \"answers\": {\"a\": 1}}\n",
        Some(1),
        "expected a field `responses` (the responses); the object has `subject_id`, `answers`",
    );
}

#[test]
fn pyirt_jsonl_rejects_malformed_lines() {
    assert_text_error(
        Format::PyIrtJsonl,
        "{\"subject_id\": \"m1\", \"responses\": [1, 0]}\n",
        Some(1),
        "`responses` to be an object of item ids to 0 or 1",
    );
    assert_text_error(
        Format::PyIrtJsonl,
        "{\"subject_id\": \"m1\", \"responses\": {\"a\": 1}\n",
        Some(1),
        "malformed JSON at column",
    );
    assert_text_error(
        Format::PyIrtJsonl,
        "\"m1\"\n",
        Some(1),
        "expected a JSON object",
    );
}

#[test]
fn pyirt_jsonl_rejects_bad_ids() {
    assert_text_error(
        Format::PyIrtJsonl,
        "{\"subject_id\": null, \"responses\": {\"a\": 1}}\n",
        Some(1),
        "expected a non-empty string or a number in `subject_id`, found `null`",
    );
    assert_text_error(
        Format::PyIrtJsonl,
        "{\"subject_id\": \"m\", \"responses\": {\"\": 1}}\n",
        Some(1),
        "expected non-empty item ids in `responses`, found an empty one",
    );
}

#[test]
fn pyirt_jsonl_rejects_an_item_twice_for_one_subject() {
    assert_text_error(
        Format::PyIrtJsonl,
        "{\"subject_id\": \"m1\", \"responses\": {\"a\": 1, \"a\": 0}}\n",
        Some(1),
        "subject `m1` and item `a` appear twice: first on line 1",
    );
}

#[test]
fn pyirt_jsonl_rejects_an_empty_file() {
    assert_text_error(
        Format::PyIrtJsonl,
        "",
        None,
        "the file is empty: expected one JSON object per line",
    );
}

// lm-evaluation-harness sample logs.

fn sample(doc_id: usize, field: &str, score: &str) -> String {
    format!(
        "{{\"doc_id\": {doc_id}, \"doc\": {{\"question\": \"q{doc_id}\"}}, \"target\": \"4\", \"arguments\": [[\"prompt\", {{}}]], \"{field}\": {score}, \"filter\": \"none\"}}\n"
    )
}

fn samples(field: &str, scores: &[(usize, &str)]) -> String {
    scores
        .iter()
        .map(|&(doc_id, score)| sample(doc_id, field, score))
        .collect()
}

fn lm_eval(score_field: &str) -> LoadOptions {
    LoadOptions {
        score_field: score_field.to_string(),
        ..options(Format::LmEvalLogs)
    }
}

#[test]
fn lm_eval_logs_load_one_subdirectory_per_model() {
    let fixture = Fixture::new();
    let stamp = "2024-05-01T12-00-00.123456";
    fixture.file(
        &format!("org__model-b/samples_gsm8k_{stamp}.jsonl"),
        &samples("acc", &[(1, "0.0"), (0, "1.0")]),
    );
    fixture.file(
        &format!("org__model-a/samples_gsm8k_{stamp}.jsonl"),
        &samples("acc", &[(0, "1.0"), (1, "1.0")]),
    );
    fixture.file(
        "org__model-a/nested/deeper/samples_arc_easy_2024-05-02T00-00-00.jsonl",
        &samples("acc", &[(3, "true")]),
    );
    fixture.file("org__model-a/results_2024-05-01T12-00-00.json", "{}");
    fixture.file("notes/README.md", "not a model");
    let matrix = load(fixture.root(), &lm_eval("acc")).unwrap();
    assert_eq!(matrix.subjects(), ids(&["org__model-a", "org__model-b"]));
    assert_eq!(matrix.items(), ids(&["arc_easy/3", "gsm8k/0", "gsm8k/1"]));
    assert_eq!(matrix.cells(), [1, 1, 1, M, 1, 0]);
}

#[test]
fn lm_eval_logs_take_the_task_from_the_file_name() {
    let fixture = Fixture::new();
    for name in [
        "samples_leaderboard_bbh_navigate_2024-06-26T10-30-00.000001.jsonl",
        "samples_no_stamp.jsonl",
        "samples_mmlu_2024-06-26.jsonl",
    ] {
        fixture.file(&format!("m/{name}"), &samples("exact_match", &[(0, "0.0")]));
    }
    let matrix = load(fixture.root(), &lm_eval("exact_match")).unwrap();
    assert_eq!(
        matrix.items(),
        ids(&["leaderboard_bbh_navigate/0", "mmlu/0", "no_stamp/0"])
    );
    assert_eq!(matrix.cells(), [0, 0, 0]);
}

#[test]
fn lm_eval_logs_load_one_file_per_model() {
    let fixture = Fixture::new();
    fixture.file(
        "samples_mistral-7b.jsonl",
        &samples("acc", &[(0, "0.0"), (2, "1")]),
    );
    fixture.file(
        "samples_llama-7b.jsonl",
        &samples("acc", &[(2, "0.75"), (1, "0.5")]),
    );
    fixture.file("results.json", "{}");
    let matrix = load(fixture.root(), &lm_eval("acc")).unwrap();
    assert_eq!(matrix.subjects(), ids(&["llama-7b", "mistral-7b"]));
    assert_eq!(matrix.items(), ids(&["2", "1", "0"]));
    assert_eq!(matrix.cells(), [1, 1, M, 1, M, 0]);
}

#[test]
fn lm_eval_logs_reject_one_models_directory_for_one_file_per_model() {
    let fixture = Fixture::new();
    fixture.file(
        "samples_gsm8k_2024-05-01T12-00-00.123456.jsonl",
        &samples("acc", &[(0, "1")]),
    );
    assert_error(
        load(fixture.root(), &lm_eval("acc")),
        fixture.root(),
        None,
        "`samples_gsm8k_2024-05-01T12-00-00.123456.jsonl` is named like one task of one model: \
         expected the directory holding one subdirectory per model",
    );
}

#[test]
fn lm_eval_logs_strip_the_id_prefix() {
    let fixture = Fixture::new();
    fixture.file(
        "m/samples_gsm8k_2024-05-01T12-00-00.jsonl",
        &samples("acc", &[(0, "1")]),
    );
    let options = LoadOptions {
        id_prefix: "gsm8k/".to_string(),
        ..lm_eval("acc")
    };
    assert_eq!(load(fixture.root(), &options).unwrap().items(), ids(&["0"]));
}

#[test]
fn lm_eval_logs_name_a_missing_score_field_and_the_fields_present() {
    let fixture = Fixture::new();
    let path = fixture.file(
        "m/samples_gsm8k_2024-05-01T12-00-00.jsonl",
        &samples("exact_match", &[(0, "1")]),
    );
    assert_error(
        load(fixture.root(), &lm_eval("acc")),
        &path,
        Some(1),
        "expected a field `acc` (the score field); the object has `doc_id`, `doc`, `target`, `arguments`, `exact_match`, `filter`",
    );
}

#[test]
fn lm_eval_logs_reject_scores_that_are_not_numbers() {
    let fixture = Fixture::new();
    let path = fixture.file(
        "m/samples_bleu_2024-05-01T12-00-00.jsonl",
        &samples("acc", &[(0, "1"), (1, "[\"ref\", \"pred\"]")]),
    );
    assert_error(
        load(fixture.root(), &lm_eval("acc")),
        &path,
        Some(2),
        "expected a number, true, false or null in `acc` (the score field), found `[\"ref\",\"pred\"]`",
    );
}

#[test]
fn lm_eval_logs_reject_an_item_twice_in_one_file() {
    let fixture = Fixture::new();
    let path = fixture.file(
        "m/samples_gsm8k_2024-05-01T12-00-00.jsonl",
        &samples("acc", &[(0, "1"), (1, "1"), (0, "0")]),
    );
    assert_error(
        load(fixture.root(), &lm_eval("acc")),
        &path,
        Some(3),
        "item `gsm8k/0` appears twice: first on line 1",
    );
}

#[test]
fn lm_eval_logs_explain_lines_repeated_per_filter() {
    let fixture = Fixture::new();
    let text = sample(0, "exact_match", "1")
        + &sample(0, "exact_match", "0").replace("none", "flexible-extract");
    let path = fixture.file("m/samples_gsm8k_2024-05-01T12-00-00.jsonl", &text);
    assert_error(
        load(fixture.root(), &lm_eval("exact_match")),
        &path,
        Some(2),
        "(filter `none`, here `flexible-extract`): lm-evaluation-harness logs one line per filter",
    );
}

#[test]
fn lm_eval_logs_reject_an_item_twice_across_files_naming_both() {
    let fixture = Fixture::new();
    let first = fixture.file(
        "m/samples_gsm8k_2024-05-01T12-00-00.jsonl",
        &samples("acc", &[(0, "1")]),
    );
    let again = fixture.file(
        "m/samples_gsm8k_2024-06-01T12-00-00.jsonl",
        &samples("acc", &[(1, "1"), (0, "1")]),
    );
    assert_error(
        load(fixture.root(), &lm_eval("acc")),
        &again,
        Some(2),
        &format!(
            "subject `m` and item `gsm8k/0` appear twice: first at {}:1",
            first.display()
        ),
    );
}

#[test]
fn lm_eval_logs_reject_malformed_json_with_its_file_and_line() {
    let fixture = Fixture::new();
    let path = fixture.file(
        "m/samples_gsm8k_2024-05-01T12-00-00.jsonl",
        &(samples("acc", &[(0, "1")]) + "{\"doc_id\": 1,\n"),
    );
    assert_error(
        load(fixture.root(), &lm_eval("acc")),
        &path,
        Some(2),
        "malformed JSON at column",
    );
}

#[test]
fn lm_eval_logs_reject_an_empty_directory() {
    let fixture = Fixture::new();
    assert_error(
        load(fixture.root(), &lm_eval("acc")),
        fixture.root(),
        None,
        "the directory is empty: expected one subdirectory per model",
    );
}

#[test]
fn lm_eval_logs_reject_a_directory_without_samples_files() {
    let fixture = Fixture::new();
    fixture.file("m/results_2024-05-01T12-00-00.json", "{}");
    fixture.file("samples.txt", "");
    assert_error(
        load(fixture.root(), &lm_eval("acc")),
        fixture.root(),
        None,
        "no `samples_*.jsonl` files found: expected one subdirectory per model",
    );
}

#[test]
fn lm_eval_logs_reject_both_layouts_at_once() {
    let fixture = Fixture::new();
    fixture.file(
        "m/samples_gsm8k_2024-05-01T12-00-00.jsonl",
        &samples("acc", &[(0, "1")]),
    );
    fixture.file("samples_other.jsonl", &samples("acc", &[(0, "1")]));
    assert_error(
        load(fixture.root(), &lm_eval("acc")),
        fixture.root(),
        None,
        "holds both model subdirectories and samples files of its own",
    );
}

#[test]
fn lm_eval_logs_reject_a_file_and_an_empty_samples_file() {
    let fixture = Fixture::new();
    let file = fixture.file("samples_m.jsonl", "");
    assert_error(
        load(&file, &lm_eval("acc")),
        &file,
        None,
        "expected a directory of lm-evaluation-harness sample logs, found a file",
    );
    assert_error(
        load(fixture.root(), &lm_eval("acc")),
        &file,
        None,
        "the file is empty: expected one JSON object per line with `doc_id` and the score field `acc`",
    );
}

// Robustness and real data.

/// A valid small file of every file format.
const VALID: [(Format, &str); 5] = [
    (Format::WideCsv, "model,a,\"b,c\"\nm1,1,0\nm2,,1.0\n"),
    (Format::WideCsv, "model,a,b\r\n\r\nm1,1,0\nm2,,1.0\n"),
    (Format::LongCsv, "model,item,correct\nm1,a,0.5\nm2,\"a\",\n"),
    (
        Format::LongJsonl,
        "{\"model\": \"m\", \"item\": 1, \"correct\": true}\n\n{\"model\": \"n\", \"item\": \"é\", \"correct\": 0.5}\n",
    ),
    (
        Format::PyIrtJsonl,
        "{\"subject_id\": \"m\", \"responses\": {\"a\": 1, \"b\": false}}\n",
    ),
];

/// Replaces the file at `path` by a new one (overwriting it in place would make ext4 flush it to
/// disk on every close, which is slow).
fn rewrite(path: &Path, bytes: &[u8]) {
    let _ = fs::remove_file(path);
    fs::write(path, bytes).unwrap();
}

#[test]
fn no_prefix_of_a_valid_file_makes_a_loader_panic() {
    let fixture = Fixture::new();
    let path = fixture.root().join("prefix");
    for (format, text) in VALID {
        assert!(load(&fixture.file("valid", text), &options(format)).is_ok());
        for end in 0..=text.len() {
            rewrite(&path, &text.as_bytes()[..end]);
            // Ok or Err, as long as it returns.
            let _ = load(&path, &options(format));
        }
    }
}

#[test]
fn no_mutation_of_a_valid_file_makes_a_loader_panic() {
    const ALPHABET: &[u8] = b"01,\n\r\"{}[]:. 5e-tx\\\xff";
    let fixture = Fixture::new();
    let path = fixture.root().join("mutated");
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut random = move |below: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        usize::try_from(state % below as u64).unwrap()
    };
    for (format, text) in VALID {
        for _ in 0..500 {
            let mut bytes = text.as_bytes().to_vec();
            for _ in 0..1 + random(3) {
                let at = random(bytes.len());
                bytes[at] = ALPHABET[random(ALPHABET.len())];
            }
            rewrite(&path, &bytes);
            let _ = load(&path, &options(format));
        }
    }
}

/// The real MMLU-Pro matrix of the shared data folder, or `None` (with a note) without it.
fn shared_responses(name: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/responses")
        .join(name);
    if path.exists() {
        Some(path)
    } else {
        println!("skipped: {} is absent", path.display());
        None
    }
}

#[test]
fn the_real_mmlu_pro_matrix_loads() {
    let Some(path) = shared_responses("mmlu_pro_tiger.csv") else {
        return;
    };
    let matrix = load(&path, &options(Format::WideCsv)).unwrap();
    assert_eq!((matrix.n_subjects(), matrix.n_items()), (29, 12_032));
    assert_eq!(matrix.items()[0], "mmlu_pro-70");
    assert_eq!(matrix.subjects()[0], "DeepSeek-Coder-V2");
    let counts = matrix.subject_counts();
    assert_eq!(
        (counts[0].correct, counts[0].observed),
        (6_586, 12_032 - 1_681)
    );
    assert_eq!((counts[1].correct, counts[1].observed), (2_830, 12_032));
    let missing = matrix.cells().iter().filter(|&&c| c == MISSING).count();
    let correct = matrix.cells().iter().filter(|&&c| c == CORRECT).count();
    assert_eq!((missing, correct), (1_713, 139_735));

    let stripped = LoadOptions {
        id_prefix: "mmlu_pro-".to_string(),
        ..options(Format::WideCsv)
    };
    assert_eq!(load(&path, &stripped).unwrap().items()[0], "70");
}

#[test]
fn the_real_gsm8k_matrix_loads() {
    let Some(path) = shared_responses("gsm8k_gpt3_systems.csv") else {
        return;
    };
    let matrix = load(&path, &options(Format::WideCsv)).unwrap();
    assert_eq!((matrix.n_subjects(), matrix.n_items()), (4, 1_319));
    assert_eq!(matrix.subjects()[3], "175b_verification");
    assert!(!matrix.has_missing());
}
