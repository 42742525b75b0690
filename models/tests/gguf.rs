//! The GGUF reader against gguf-py: the real SmolLM2 file, small synthetic files of every
//! supported tensor and metadata type, and every way a file can be broken.
//!
//! The fixtures under `tests/fixtures/gguf/` come from `models/reference/gguf_reference.py`.

mod support;

use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rung_models::gguf::{
    DequantizedTensor, GgmlType, GgufError, GgufErrorKind, GgufFile, MetadataArray, MetadataValue,
};
use serde_json::{Value, json};

// ----- helpers -----

fn gguf_fixture(name: &str) -> PathBuf {
    support::fixture(&format!("gguf/{name}"))
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not JSON: {error}", path.display()))
}

fn open(name: &str) -> GgufFile {
    let path = gguf_fixture(name);
    GgufFile::open(&path).unwrap_or_else(|error| panic!("cannot open {}: {error}", path.display()))
}

/// A metadata value in the form gguf_reference.py writes: the type, and the value (floats as bit
/// patterns, so comparisons are exact).
fn canonical(value: &MetadataValue) -> Value {
    match value {
        MetadataValue::U8(v) => json!({"type": "u8", "value": v}),
        MetadataValue::I8(v) => json!({"type": "i8", "value": v}),
        MetadataValue::U16(v) => json!({"type": "u16", "value": v}),
        MetadataValue::I16(v) => json!({"type": "i16", "value": v}),
        MetadataValue::U32(v) => json!({"type": "u32", "value": v}),
        MetadataValue::I32(v) => json!({"type": "i32", "value": v}),
        MetadataValue::U64(v) => json!({"type": "u64", "value": v}),
        MetadataValue::I64(v) => json!({"type": "i64", "value": v}),
        MetadataValue::F32(v) => json!({"type": "f32", "bits": v.to_bits()}),
        MetadataValue::F64(v) => json!({"type": "f64", "bits": v.to_bits()}),
        MetadataValue::Bool(v) => json!({"type": "bool", "value": v}),
        MetadataValue::String(v) => json!({"type": "string", "value": v}),
        MetadataValue::Array(array) => canonical_array(array),
    }
}

fn canonical_array(array: &MetadataArray) -> Value {
    fn each<T: Clone>(values: &[T], wrap: fn(T) -> MetadataValue) -> Vec<Value> {
        values.iter().map(|v| canonical(&wrap(v.clone()))).collect()
    }
    let items = match array {
        MetadataArray::U8(v) => each(v, MetadataValue::U8),
        MetadataArray::I8(v) => each(v, MetadataValue::I8),
        MetadataArray::U16(v) => each(v, MetadataValue::U16),
        MetadataArray::I16(v) => each(v, MetadataValue::I16),
        MetadataArray::U32(v) => each(v, MetadataValue::U32),
        MetadataArray::I32(v) => each(v, MetadataValue::I32),
        MetadataArray::U64(v) => each(v, MetadataValue::U64),
        MetadataArray::I64(v) => each(v, MetadataValue::I64),
        MetadataArray::F32(v) => each(v, MetadataValue::F32),
        MetadataArray::F64(v) => each(v, MetadataValue::F64),
        MetadataArray::Bool(v) => each(v, MetadataValue::Bool),
        MetadataArray::String(v) => each(v, MetadataValue::String),
        MetadataArray::Array(v) => v.iter().map(canonical_array).collect(),
    };
    json!({"type": "array", "element_type": array.element_type_name(), "items": items})
}

fn as_u64(value: &Value) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("expected an unsigned integer, got {value}"))
}

fn as_str(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a string, got {value}"))
}

fn as_array(value: &Value) -> &Vec<Value> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("expected an array, got {value}"))
}

fn usizes(value: &Value) -> Vec<usize> {
    as_array(value).iter().map(|v| as_u64(v) as usize).collect()
}

fn u64s(value: &Value) -> Vec<u64> {
    as_array(value).iter().map(as_u64).collect()
}

fn bits(tensor: &DequantizedTensor) -> Vec<u32> {
    tensor.data.iter().map(|v| v.to_bits()).collect()
}

/// Checks everything gguf_reference.py recorded about one synthetic file.
fn check_against_reference(name: &str) {
    let expected_all = read_json(&gguf_fixture("expected.json"));
    let expected = &expected_all[name];
    let file = open(name);
    assert_eq!(
        u64::from(file.version()),
        as_u64(&expected["version"]),
        "{name}: version"
    );
    assert_eq!(
        file.alignment(),
        as_u64(&expected["alignment"]),
        "{name}: alignment"
    );

    let metadata: serde_json::Map<String, Value> = file
        .metadata_entries()
        .map(|(key, value)| (key.to_owned(), canonical(value)))
        .collect();
    let expected_metadata = expected["metadata"]
        .as_object()
        .expect("the expected metadata is an object");
    let keys: Vec<&String> = metadata.keys().collect();
    let expected_keys: Vec<&String> = expected_metadata.keys().collect();
    assert_eq!(keys, expected_keys, "{name}: metadata keys, in file order");
    for (key, value) in expected_metadata {
        assert_eq!(&metadata[key], value, "{name}: metadata `{key}`");
    }

    let tensors = as_array(&expected["tensors"]);
    let names: Vec<&str> = file.tensor_names().collect();
    let expected_names: Vec<&str> = tensors.iter().map(|t| as_str(&t["name"])).collect();
    assert_eq!(names, expected_names, "{name}: tensor names, in file order");
    for tensor in tensors {
        let tensor_name = as_str(&tensor["name"]);
        let info = file.tensor_info(tensor_name).expect("the tensor is listed");
        assert_eq!(
            info.ggml_type().to_string(),
            as_str(&tensor["type"]),
            "{tensor_name}: type"
        );
        assert_eq!(
            info.dims(),
            u64s(&tensor["dims"]),
            "{tensor_name}: GGUF dims"
        );
        assert_eq!(
            info.offset(),
            as_u64(&tensor["offset"]),
            "{tensor_name}: offset"
        );
        match tensor.get("bits") {
            Some(expected_bits) => {
                let shape = usizes(&tensor["shape"]);
                assert_eq!(info.shape(), shape, "{tensor_name}: shape");
                let values = file.dequantize(tensor_name).expect("a supported type");
                assert_eq!(values.shape, shape, "{tensor_name}: dequantized shape");
                let expected_bits: Vec<u32> = as_array(expected_bits)
                    .iter()
                    .map(|b| as_u64(b) as u32)
                    .collect();
                assert_eq!(
                    bits(&values),
                    expected_bits,
                    "{tensor_name}: values, bit for bit"
                );
            }
            None => {
                let error = file
                    .dequantize(tensor_name)
                    .expect_err("an unsupported type");
                assert!(
                    matches!(error.kind(), GgufErrorKind::UnsupportedTensorType { .. }),
                    "{error}"
                );
            }
        }
    }
}

// ----- the synthetic files -----

#[test]
fn tensors_of_every_supported_type_match_gguf_py_bit_for_bit() {
    check_against_reference("tensors.gguf");
}

#[test]
fn every_metadata_type_and_a_custom_alignment_match_gguf_py() {
    check_against_reference("metadata.gguf");
}

#[test]
fn version_2_files_read_like_version_3() {
    check_against_reference("v2.gguf");
    assert_eq!(open("v2.gguf").version(), 2);
    assert_eq!(open("metadata.gguf").version(), 3);
}

#[test]
fn unsupported_tensor_types_are_named_with_the_supported_ones() {
    let file = open("tensors.gguf");
    for (name, ggml_type) in [("q4_k.unsupported", "Q4_K"), ("q5_0.unsupported", "Q5_0")] {
        let error = file.dequantize(name).expect_err("not dequantizable");
        let message = error.to_string();
        assert!(message.contains(&format!("`{name}`")), "{message}");
        assert!(message.contains(ggml_type), "{message}");
        assert!(
            message.contains("F32, F16, BF16, Q8_0, Q4_0, Q4_1"),
            "{message}"
        );
        assert!(message.contains("tensors.gguf"), "{message}");
        // The raw bytes are still there for a type of known size.
        let info = file.tensor_info(name).expect("listed");
        let data = file.tensor_data(name).expect("a known size");
        assert_eq!(Some(data.len() as u64), info.n_bytes());
    }
    assert_eq!(GgmlType::from_code(12), GgmlType::Q4K);
    assert_eq!(GgmlType::from_code(99), GgmlType::Unknown(99));
    assert_eq!(GgmlType::Q4_1.block_layout(), Some((32, 20)));
}

#[test]
fn typed_getters_convert_what_fits_and_name_what_does_not() {
    let file = open("metadata.gguf");
    assert_eq!(file.architecture().expect("set"), "test");
    assert_eq!(file.get_u32("test.u8").expect("fits"), 200);
    assert_eq!(file.get_u32("test.u16").expect("fits"), 60000);
    assert_eq!(file.get_u32("test.small_u32").expect("fits"), 7);
    assert_eq!(file.get_u64("test.u64").expect("fits"), (1 << 63) + 12345);
    assert_eq!(file.get_i64("test.i64").expect("fits"), -(1 << 62) - 7);
    assert_eq!(file.get_i64("test.i8").expect("fits"), -100);
    assert_eq!(file.get_f32("test.f32").expect("an f32"), 0.1_f32);
    assert_eq!(
        file.get_f32("test.f64").expect("an f64"),
        -2.718281828459045e-300_f64 as f32
    );
    assert!(file.get_bool("test.bool_true").expect("a bool"));
    assert!(!file.get_bool("test.bool_false").expect("a bool"));
    assert!(
        file.get_str("test.string")
            .expect("a string")
            .starts_with("héllo, 世界 🦀")
    );
    assert_eq!(
        file.get_str_array("test.array.string").expect("strings"),
        ["a", "", "ünïcödé", "<|im_start|>"]
    );
    assert_eq!(
        file.get_i32_array("test.array.i32").expect("i32s"),
        [i32::MIN, i32::MAX, 3]
    );
    assert_eq!(
        file.get_i32_array("test.array.u8").expect("fits"),
        [0, 1, 255]
    );
    assert_eq!(file.opt_u32("test.small_u32").expect("fits"), Some(7));
    assert_eq!(file.opt_u32("no.such.key").expect("absent"), None);
    assert_eq!(file.opt_str("no.such.key").expect("absent"), None);
    assert_eq!(file.opt_bool("test.bool_true").expect("a bool"), Some(true));
    assert_eq!(file.opt_f32("test.f32").expect("a float"), Some(0.1));

    let wrong = [
        (
            "test.i8",
            file.get_u32("test.i8").map(drop),
            "i8 -100",
            "u32",
        ),
        (
            "test.u64",
            file.get_u32("test.u64").map(drop),
            "u64 9223372036854788153",
            "u32",
        ),
        (
            "test.string",
            file.get_u32("test.string").map(drop),
            "a string",
            "u32",
        ),
        (
            "test.u32",
            file.get_str("test.u32").map(drop),
            "u32 4000000000",
            "a string",
        ),
        (
            "test.u8",
            file.get_f32("test.u8").map(drop),
            "u8 200",
            "a float",
        ),
        (
            "test.u8",
            file.get_bool("test.u8").map(drop),
            "u8 200",
            "a bool",
        ),
        (
            "test.array.i32",
            file.get_str_array("test.array.i32").map(drop),
            "array of 3 i32",
            "strings",
        ),
        (
            "test.array.u32",
            file.get_i32_array("test.array.u32").map(drop),
            "4294967295",
            "i32",
        ),
        (
            "test.array.string",
            file.get_i32_array("test.array.string").map(drop),
            "3",
            "i32",
        ),
        (
            "test.string",
            file.opt_bool("test.string").map(drop),
            "a string",
            "a bool",
        ),
    ];
    for (key, result, found, expected) in wrong {
        let error = result.expect_err("the wrong type");
        assert!(
            matches!(error.kind(), GgufErrorKind::WrongType { .. }),
            "{error}"
        );
        let message = error.to_string();
        assert!(message.contains(&format!("`{key}`")), "{message}");
        assert!(
            message.contains(found),
            "{message} should contain {found:?}"
        );
        assert!(
            message.contains(expected),
            "{message} should contain {expected:?}"
        );
        assert!(message.contains("metadata.gguf"), "{message}");
    }
    let missing = file.get_u32("llama.block_count").expect_err("absent");
    assert!(
        matches!(missing.kind(), GgufErrorKind::MissingKey { .. }),
        "{missing}"
    );
    assert!(
        missing
            .to_string()
            .contains("no metadata key `llama.block_count` in "),
        "{missing}"
    );
}

#[test]
fn a_missing_tensor_is_named_with_the_file() {
    let file = open("metadata.gguf");
    let error = file.dequantize("blk.0.attn_q.weight").expect_err("absent");
    assert_eq!(
        error.to_string(),
        format!(
            "no tensor `blk.0.attn_q.weight` in {}",
            gguf_fixture("metadata.gguf").display()
        )
    );
    assert!(!file.has_tensor("blk.0.attn_q.weight"));
    // Debug shows the outline, not the bytes.
    let debug = format!("{file:?}");
    assert!(
        debug.contains("metadata.gguf") && debug.len() < 400,
        "{debug}"
    );
    assert!(file.has_tensor("aligned.first"));
    assert!(file.tensor_info("nope").is_err());
    assert!(file.tensor_data("nope").is_err());
}

// ----- the real SmolLM2 file -----

#[test]
fn smollm2_metadata_and_tensors_match_gguf_py() {
    let expected = read_json(&gguf_fixture("smollm2.json"));
    let file = GgufFile::open(&support::smollm2_gguf()).expect("the SmolLM2 GGUF opens");
    assert_eq!(u64::from(file.version()), as_u64(&expected["version"]));
    assert_eq!(file.alignment(), as_u64(&expected["alignment"]));

    // The facts the model code relies on, spelled out.
    assert_eq!(file.architecture().expect("set"), "llama");
    assert_eq!(file.get_u32("llama.block_count").expect("set"), 30);
    assert_eq!(file.get_u32("llama.embedding_length").expect("set"), 576);
    assert_eq!(file.get_u32("llama.attention.head_count").expect("set"), 9);
    assert_eq!(
        file.get_u32("llama.attention.head_count_kv").expect("set"),
        3
    );
    assert_eq!(file.get_u32("llama.vocab_size").expect("set"), 49152);
    assert_eq!(file.get_str("tokenizer.ggml.model").expect("set"), "gpt2");
    assert_eq!(file.get_str("tokenizer.ggml.pre").expect("set"), "smollm");
    assert!(
        file.get_str("tokenizer.chat_template")
            .expect("set")
            .contains("<|im_start|>")
    );

    // Every scalar (and the one small array) exactly as gguf-py reads it.
    let metadata = expected["metadata"].as_object().expect("an object");
    for (key, value) in metadata {
        let actual = file.metadata(key).unwrap_or_else(|| panic!("no `{key}`"));
        assert_eq!(&canonical(actual), value, "metadata `{key}`");
    }
    // The large arrays: length, sampled entries, totals.
    for (key, summary) in expected["arrays"].as_object().expect("an object") {
        if key == "tokenizer.chat_template" {
            let template = file.get_str(key).expect("a string");
            assert_eq!(template.chars().count() as u64, as_u64(&summary["len"]));
            assert!(template.starts_with(as_str(&summary["prefix"])));
            continue;
        }
        let array = file
            .metadata(key)
            .and_then(MetadataValue::as_array)
            .expect("an array");
        assert_eq!(
            array.len() as u64,
            as_u64(&summary["len"]),
            "`{key}` length"
        );
        assert_eq!(
            array.element_type_name(),
            as_str(&summary["element_type"]),
            "`{key}` type"
        );
        let samples = summary["samples"].as_object().expect("an object");
        if let MetadataArray::String(strings) = array {
            let total: usize = strings.iter().map(|s| s.chars().count()).sum();
            assert_eq!(
                total as u64,
                as_u64(&summary["total_chars"]),
                "`{key}` total length"
            );
            for (index, value) in samples {
                let index: usize = index.parse().expect("an index");
                assert_eq!(strings[index], as_str(value), "`{key}`[{index}]");
            }
        } else {
            let integers = file.get_i32_array(key).expect("integers");
            let total: i64 = integers.iter().map(|&v| i64::from(v)).sum();
            assert_eq!(Some(total), summary["sum"].as_i64(), "`{key}` sum");
            for (index, value) in samples {
                let index: usize = index.parse().expect("an index");
                assert_eq!(
                    Some(i64::from(integers[index])),
                    value.as_i64(),
                    "`{key}`[{index}]"
                );
            }
        }
    }
    assert_eq!(
        file.metadata_entries().count(),
        metadata.len() + expected["arrays"].as_object().map_or(0, |a| a.len())
    );

    // Every tensor's name, type and dims, in order; the type counts.
    let tensors = as_array(&expected["tensors"]);
    assert_eq!(file.tensors().len(), tensors.len());
    for (info, row) in file.tensors().iter().zip(tensors) {
        let row = as_array(row);
        assert_eq!(info.name(), as_str(&row[0]));
        assert_eq!(
            info.ggml_type().to_string(),
            as_str(&row[1]),
            "{}",
            info.name()
        );
        assert_eq!(info.dims(), u64s(&row[2]), "{}", info.name());
    }
    let count = |ty: GgmlType| {
        file.tensors()
            .iter()
            .filter(|t| t.ggml_type() == ty)
            .count()
    };
    assert_eq!(
        (
            count(GgmlType::Q4_1),
            count(GgmlType::F32),
            count(GgmlType::Q8_0)
        ),
        (210, 61, 1)
    );
    assert_eq!(
        file.tensor_info("token_embd.weight")
            .expect("listed")
            .ggml_type(),
        GgmlType::Q8_0
    );
}

#[test]
fn smollm2_dequantized_tensors_match_gguf_py() {
    let expected = read_json(&gguf_fixture("smollm2.json"));
    let file = GgufFile::open(&support::smollm2_gguf()).expect("the SmolLM2 GGUF opens");
    for (name, stats) in expected["dequantized"].as_object().expect("an object") {
        let tensor = file.dequantize(name).expect("a supported type");
        assert_eq!(tensor.shape, usizes(&stats["shape"]), "{name}: shape");
        assert_eq!(
            tensor.data.len(),
            tensor.shape.iter().product::<usize>(),
            "{name}: length"
        );
        let sum: f64 = tensor.data.iter().map(|&v| f64::from(v)).sum();
        let sum_squares: f64 = tensor
            .data
            .iter()
            .map(|&v| f64::from(v) * f64::from(v))
            .sum();
        // The values are exact; only the order of the f64 additions differs from numpy's.
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
        let expected_sum = stats["sum"].as_f64().expect("a number");
        let expected_squares = stats["sum_squares"].as_f64().expect("a number");
        assert!(
            close(sum, expected_sum),
            "{name}: sum {sum} != {expected_sum}"
        );
        assert!(
            close(sum_squares, expected_squares),
            "{name}: {sum_squares} != {expected_squares}"
        );
        for (index, expected_bits) in stats["samples"].as_object().expect("an object") {
            let index: usize = index.parse().expect("an index");
            assert_eq!(
                tensor.data[index].to_bits(),
                as_u64(expected_bits) as u32,
                "{name}[{index}]"
            );
        }
    }
    // Every tensor dequantizes to finite values of the advertised shape.
    for info in file.tensors() {
        let tensor = file.dequantize(info.name()).expect("a supported type");
        assert_eq!(tensor.shape, info.shape());
        assert!(
            tensor.data.iter().all(|v| v.is_finite()),
            "{}: not finite",
            info.name()
        );
    }
}

// ----- broken files -----

/// Writes GGUF bytes by hand, for files gguf-py would refuse to write.
#[derive(Default)]
struct Bytes(Vec<u8>);

impl Bytes {
    fn header(version: u32, tensors: u64, kvs: u64) -> Self {
        Self::default()
            .raw(b"GGUF")
            .u32(version)
            .u64(tensors)
            .u64(kvs)
    }
    fn raw(mut self, bytes: &[u8]) -> Self {
        self.0.extend_from_slice(bytes);
        self
    }
    fn u8(self, v: u8) -> Self {
        self.raw(&[v])
    }
    fn u32(self, v: u32) -> Self {
        self.raw(&v.to_le_bytes())
    }
    fn u64(self, v: u64) -> Self {
        self.raw(&v.to_le_bytes())
    }
    fn string(self, s: &str) -> Self {
        self.u64(s.len() as u64).raw(s.as_bytes())
    }
    /// A u32 metadata entry.
    fn kv_u32(self, key: &str, v: u32) -> Self {
        self.string(key).u32(4).u32(v)
    }
    fn tensor(self, name: &str, dims: &[u64], ggml_type: u32, offset: u64) -> Self {
        let mut out = self.string(name).u32(dims.len() as u32);
        for &dim in dims {
            out = out.u64(dim);
        }
        out.u32(ggml_type).u64(offset)
    }
    fn pad_to(mut self, alignment: usize) -> Self {
        while !self.0.len().is_multiple_of(alignment) {
            self.0.push(0);
        }
        self
    }
    fn zeros(mut self, n: usize) -> Self {
        self.0.resize(self.0.len() + n, 0);
        self
    }
    fn parse(self) -> Result<GgufFile, GgufError> {
        GgufFile::parse(self.0, Path::new("broken.gguf"))
    }
}

/// Parses `bytes`, expects an error matching `kind`, and checks its message names the file,
/// the offset (when given) and `words`.
#[track_caller]
fn expect_error(
    bytes: Bytes,
    offset: Option<u64>,
    kind: fn(&GgufErrorKind) -> bool,
    words: &[&str],
) -> GgufError {
    let error = bytes.parse().expect_err("a broken file");
    assert!(
        kind(error.kind()),
        "unexpected kind: {error} ({:?})",
        error.kind()
    );
    assert_eq!(error.offset(), offset, "{error}");
    let message = error.to_string();
    assert!(message.contains("broken.gguf"), "{message}");
    if let Some(offset) = offset {
        assert!(message.contains(&format!("at byte {offset}:")), "{message}");
    }
    for word in words {
        assert!(message.contains(word), "{message} should contain {word:?}");
    }
    error
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let error = GgufFile::open(Path::new("/no/such/model.gguf")).expect_err("absent");
    assert!(matches!(error.kind(), GgufErrorKind::Io(_)));
    assert!(error.to_string().contains("/no/such/model.gguf"), "{error}");
    assert!(std::error::Error::source(&error).is_some());
}

#[test]
fn bad_magic_and_versions_are_refused() {
    use GgufErrorKind as K;
    expect_error(
        Bytes::default(),
        Some(0),
        |k| matches!(k, K::BadMagic { .. }),
        &["empty file"],
    );
    expect_error(
        Bytes::default().raw(b"GGML\x03\x00\x00\x00"),
        Some(0),
        |k| matches!(k, K::BadMagic { .. }),
        &["GGUF", "47 47 4d 4c"],
    );
    expect_error(
        Bytes::default().raw(b"GG"),
        Some(0),
        |k| matches!(k, K::BadMagic { .. }),
        &[],
    );
    for version in [0, 1, 4, 1000] {
        expect_error(
            Bytes::header(version, 0, 0),
            Some(4),
            |k| matches!(k, K::UnsupportedVersion { .. }),
            &["version", "expected 2 or 3"],
        );
    }
    expect_error(
        Bytes::header(3u32.swap_bytes(), 0, 0),
        Some(4),
        |k| matches!(k, K::UnsupportedVersion { .. }),
        &["big-endian"],
    );
    expect_error(
        Bytes::default().raw(b"GGUF\x03\x00"),
        Some(4),
        |k| matches!(k, K::Truncated { .. }),
        &["version"],
    );
    // The smallest valid file: a header with nothing in it.
    let empty = Bytes::header(3, 0, 0)
        .parse()
        .expect("an empty GGUF is valid");
    assert_eq!(
        (empty.tensors().len(), empty.metadata_entries().len()),
        (0, 0)
    );
    assert!(empty.architecture().is_err());
}

#[test]
fn counts_that_cannot_fit_are_refused_before_allocating() {
    use GgufErrorKind as K;
    let too_large = |k: &K| matches!(k, K::CountTooLarge { .. });
    expect_error(
        Bytes::header(3, u64::MAX, 0),
        Some(8),
        too_large,
        &["tensor count", "18446744073709551615"],
    );
    expect_error(
        Bytes::header(3, 0, 1 << 40),
        Some(16),
        too_large,
        &["metadata count"],
    );
    expect_error(
        Bytes::header(3, 0, 2).kv_u32("a", 1),
        Some(16),
        too_large,
        &["metadata count"],
    );
    // A string length past the end.
    expect_error(
        Bytes::header(3, 0, 1).u64(u64::MAX).raw(b"key").zeros(8),
        Some(24),
        |k| matches!(k, K::Truncated { .. }),
        &[
            "the key of metadata entry 0",
            "18446744073709551615 bytes, only 11 remain",
        ],
    );
    expect_error(
        Bytes::header(3, 0, 1)
            .string("k")
            .u32(8)
            .u64(1 << 50)
            .raw(b"value"),
        Some(24 + 9 + 4),
        |k| matches!(k, K::Truncated { .. }),
        &["metadata value `k`"],
    );
    // Arrays of u64, of strings and of arrays whose counts exceed the file.
    for (element_type, min_bytes) in [
        (10u32, "8 bytes"),
        (8, "8 bytes"),
        (9, "12 bytes"),
        (0, "1 bytes"),
    ] {
        expect_error(
            Bytes::header(3, 0, 1)
                .string("k")
                .u32(9)
                .u32(element_type)
                .u64(u64::MAX / 2)
                .zeros(64),
            Some(24 + 9 + 8),
            too_large,
            &["metadata value `k`", min_bytes],
        );
    }
    // A nested array whose inner count is too large.
    expect_error(
        Bytes::header(3, 0, 1)
            .string("k")
            .u32(9)
            .u32(9)
            .u64(1)
            .u32(4)
            .u64(1 << 60)
            .zeros(16),
        Some(24 + 9 + 8 + 8 + 4),
        too_large,
        &["element 0 of metadata value `k`"],
    );
}

#[test]
fn malformed_values_are_refused() {
    use GgufErrorKind as K;
    expect_error(
        Bytes::header(3, 0, 1).string("k").u32(13).u32(0),
        Some(24 + 9),
        |k| matches!(k, K::UnknownValueType { code: 13, .. }),
        &["metadata value `k`", "unknown value type 13"],
    );
    expect_error(
        Bytes::header(3, 0, 1)
            .string("k")
            .u32(9)
            .u32(77)
            .u64(1)
            .u32(0),
        Some(24 + 9 + 4),
        |k| matches!(k, K::UnknownValueType { code: 77, .. }),
        &["the elements of metadata value `k`"],
    );
    expect_error(
        Bytes::header(3, 0, 1)
            .u64(2)
            .raw(&[0xff, 0xfe])
            .u32(4)
            .u32(0),
        Some(24),
        |k| matches!(k, K::InvalidUtf8 { .. }),
        &["the key of metadata entry 0", "UTF-8"],
    );
    expect_error(
        Bytes::header(3, 0, 1).string("flag").u32(7).u8(2),
        Some(24 + 12 + 4),
        |k| matches!(k, K::Invalid { .. }),
        &["metadata value `flag`", "bool byte 2"],
    );
    let mut deep = Bytes::header(3, 0, 1).string("deep").u32(9);
    for _ in 0..20 {
        deep = deep.u32(9).u64(1);
    }
    expect_error(
        deep.u32(0).u64(0).zeros(8),
        Some(24 + 12 + 4 + 8 * 12),
        |k| matches!(k, K::Invalid { .. }),
        &["nested more than 8 deep"],
    );
    expect_error(
        Bytes::header(3, 0, 2).kv_u32("a", 1).kv_u32("a", 2),
        Some(24 + 17),
        |k| matches!(k, K::DuplicateKey { .. }),
        &["`a` appears more than once"],
    );
    for alignment in [0, 48] {
        expect_error(
            Bytes::header(3, 0, 1).kv_u32("general.alignment", alignment),
            None,
            |k| matches!(k, K::Invalid { .. }),
            &["general.alignment", "power of two"],
        );
    }
    expect_error(
        Bytes::header(3, 0, 1)
            .string("general.alignment")
            .u32(8)
            .string("32"),
        None,
        |k| matches!(k, K::Invalid { .. }),
        &["general.alignment", "a string"],
    );
}

#[test]
fn malformed_tensor_infos_are_refused() {
    use GgufErrorKind as K;
    let at = Some(24);
    let invalid = |k: &K| matches!(k, K::Invalid { .. });
    expect_error(
        Bytes::header(3, 1, 0)
            .tensor("t", &[1, 1, 1, 1, 1], 0, 0)
            .pad_to(32)
            .zeros(32),
        Some(24 + 9),
        invalid,
        &["tensor `t`", "5 dimensions"],
    );
    expect_error(
        Bytes::header(3, 1, 0)
            .tensor("t", &[u64::MAX, 2], 0, 0)
            .pad_to(32),
        at,
        invalid,
        &["too many elements"],
    );
    expect_error(
        Bytes::header(3, 1, 0)
            .tensor("t", &[1 << 62, 2], 0, 0)
            .pad_to(32),
        at,
        invalid,
        &["too many bytes"],
    );
    expect_error(
        Bytes::header(3, 1, 0)
            .tensor("t", &[33, 2], 8, 0)
            .pad_to(32)
            .zeros(1000),
        at,
        invalid,
        &["33 elements", "Q8_0 blocks of 32"],
    );
    expect_error(
        Bytes::header(3, 1, 0)
            .tensor("t", &[4], 0, 8)
            .pad_to(32)
            .zeros(64),
        at,
        |k| {
            matches!(
                k,
                K::MisalignedTensor {
                    offset: 8,
                    alignment: 32,
                    ..
                }
            )
        },
        &["`t`", "multiple of the alignment 32"],
    );
    expect_error(
        Bytes::header(3, 1, 0)
            .tensor("t", &[16], 0, 0)
            .pad_to(32)
            .zeros(63),
        at,
        |k| matches!(k, K::TensorOutOfBounds { .. }),
        &["`t`", "past the end of the file"],
    );
    expect_error(
        Bytes::header(3, 1, 0)
            .tensor("t", &[1], 0, u64::MAX - 31)
            .pad_to(32)
            .zeros(32),
        at,
        |k| matches!(k, K::TensorOutOfBounds { .. }),
        &["`t`"],
    );
    expect_error(
        Bytes::header(3, 2, 0)
            .tensor("t", &[1], 0, 0)
            .tensor("t", &[1], 0, 32)
            .pad_to(32)
            .zeros(64),
        Some(24 + 33),
        |k| matches!(k, K::DuplicateTensor { .. }),
        &["`t` appears more than once"],
    );
    expect_error(
        Bytes::header(3, 1, 0).u64(1 << 40).zeros(32),
        at,
        |k| matches!(k, K::Truncated { .. }),
        &["the name of tensor 0"],
    );
    // An unknown type code is kept (its size is unknown), but cannot be read.
    let file = Bytes::header(3, 1, 0)
        .tensor("t", &[3], 200, 0)
        .parse()
        .expect("unknown types are kept");
    let info = file.tensor_info("t").expect("listed");
    assert_eq!(
        (info.ggml_type(), info.n_bytes()),
        (GgmlType::Unknown(200), None)
    );
    assert!(file.tensor_data("t").is_err());
    let error = file.dequantize("t").expect_err("unknown type");
    assert!(error.to_string().contains("unknown type 200"), "{error}");
    // A zero-dimensional tensor is a scalar; a tensor with a zero dimension is empty.
    let file = Bytes::header(3, 2, 0)
        .tensor("scalar", &[], 0, 0)
        .tensor("empty", &[0, 4], 0, 32)
        .pad_to(32)
        .raw(&2.5f32.to_le_bytes())
        .zeros(28)
        .parse()
        .expect("valid");
    let scalar = file.dequantize("scalar").expect("an f32");
    assert_eq!((scalar.data, scalar.shape), (vec![2.5], vec![]));
    let empty = file.dequantize("empty").expect("an f32");
    assert_eq!((empty.data.len(), empty.shape), (0, vec![4, 0]));
}

/// The end of the last tensor's data: every shorter prefix must fail.
fn data_end(file: &GgufFile) -> usize {
    file.tensors()
        .iter()
        .map(|t| (file.data_offset() + t.offset() + t.n_bytes().unwrap_or(0)) as usize)
        .max()
        .unwrap_or(0)
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    for name in ["tensors.gguf", "metadata.gguf"] {
        let bytes = std::fs::read(gguf_fixture(name)).expect("the fixture exists");
        let full = GgufFile::parse(bytes.clone(), Path::new(name)).expect("valid");
        let end = data_end(&full);
        assert!(
            end <= bytes.len(),
            "{name}: data ends at {end} of {}",
            bytes.len()
        );
        for len in 0..bytes.len() {
            let result = GgufFile::parse(bytes[..len].to_vec(), Path::new(name));
            if len < end {
                let error = result.expect_err("a truncated file");
                assert!(error.to_string().starts_with(name), "{error}");
            } else {
                // Only the padding after the last tensor is missing.
                let file = result.expect("all data present");
                assert_eq!(file.tensors().len(), full.tensors().len());
            }
        }
    }
}

/// Reads everything a parsed file offers; a broken file may fail anywhere, but not panic.
fn exercise(file: &GgufFile) -> usize {
    let mut read = 0;
    for (key, _) in file.metadata_entries() {
        read += file.get_str(key).map_or(0, str::len);
        read += file.get_u32(key).map_or(0, |v| v as usize & 1);
        read += file.get_f32(key).map_or(0, |v| v.is_nan() as usize);
        read += file.get_bool(key).map_or(0, usize::from);
        read += file.get_str_array(key).map_or(0, <[String]>::len);
        read += file.get_i32_array(key).map_or(0, |v| v.len());
        read += file.get_u64(key).err().map_or(0, |e| e.to_string().len());
    }
    let _ = file.architecture();
    for info in file.tensors() {
        let _ = info.shape();
        read += file.tensor_data(info.name()).map_or(0, <[u8]>::len);
        read += match file.dequantize(info.name()) {
            Ok(tensor) => tensor.data.len(),
            Err(error) => error.to_string().len(),
        };
    }
    read
}

#[test]
fn thousands_of_mutations_never_panic() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x6775_6666);
    let (mut parsed, mut refused) = (0usize, 0usize);
    for name in ["tensors.gguf", "metadata.gguf"] {
        let original = std::fs::read(gguf_fixture(name)).expect("the fixture exists");
        let header_len = GgufFile::parse(original.clone(), Path::new(name))
            .expect("valid")
            .data_offset() as usize;
        for _ in 0..2500 {
            let mut bytes = original.clone();
            for _ in 0..rng.random_range(1..=4) {
                // Mostly the header, where the structure is.
                let at = if rng.random_bool(0.85) {
                    rng.random_range(0..header_len)
                } else {
                    rng.random_range(0..bytes.len())
                };
                bytes[at] = match rng.random_range(0..4) {
                    0 => bytes[at] ^ (1 << rng.random_range(0..8)),
                    1 => 0xff,
                    2 => 0,
                    _ => rng.random(),
                };
            }
            if rng.random_bool(0.1) {
                let len = rng.random_range(0..bytes.len());
                bytes.truncate(len);
            }
            match GgufFile::parse(bytes, Path::new(name)) {
                Ok(file) => {
                    exercise(&file);
                    parsed += 1;
                }
                Err(error) => {
                    assert!(!error.to_string().is_empty());
                    refused += 1;
                }
            }
        }
    }
    // Both outcomes must be common, or the mutations test nothing.
    assert!(
        parsed > 500 && refused > 500,
        "{parsed} parsed, {refused} refused"
    );
}
