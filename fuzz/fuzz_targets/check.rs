// Fuzz target `check`: arbitrary bytes as a spec (and the files it imports) through the checker and the formatter.
//
// Input layout: the bytes are split at NUL into at most four files; file 0 is the root spec
// (`/fuzz/0.rung`). Every import resolves to one of these files, so imports, diamonds and cycles
// are all exercised: a path whose stem is a number `k` names file `k % n`; any other name is
// hashed onto a file; a name containing `missing` cannot be read and one containing `huge` is too
// large. With a single file, every import is the root itself (a cycle).
//
// Root lines of the form `// --set name=value` become `--set` overrides.
//
// Properties (any panic is a bug):
// - `check_with` never panics, whatever the bytes;
// - for every file that is UTF-8 and formats: formatting is idempotent, the formatted text parses
//   cleanly to the same syntax tree (spans aside) with the same comments;
// - checking the formatted root gives the same diagnostic codes and the same number of plan nodes,
//   in particular no syntax error where the original had none.

#![no_main]

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io;
use std::path::{Path, PathBuf};

use libfuzzer_sys::fuzz_target;
use rung_lang::loader::{FileSystem, ReadError};
use rung_lang::{Checked, Code, Diagnostic, FileId, Sources};

/// The most files one input is split into.
const MAX_FILES: usize = 4;

/// Serves the files carved out of the input; every path maps onto one of them.
struct MemFs {
    files: Vec<Vec<u8>>,
}

impl MemFs {
    /// Which file a path names; `None` when it is one that cannot be read.
    fn index(&self, path: &Path) -> Result<usize, ReadError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.contains("missing") {
            return Err(ReadError::Io(io::Error::new(io::ErrorKind::NotFound, "no such file")));
        }
        if name.contains("huge") {
            return Err(ReadError::TooLarge(u64::MAX));
        }
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let n = self.files.len();
        Ok(match stem.parse::<usize>() {
            Ok(k) => k % n,
            Err(_) => {
                let mut hasher = DefaultHasher::new();
                name.hash(&mut hasher);
                (hasher.finish() % n as u64) as usize
            }
        })
    }
}

impl FileSystem for MemFs {
    fn read(&self, path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
        let bytes = &self.files[self.index(path)?];
        if bytes.len() as u64 > limit {
            return Err(ReadError::TooLarge(bytes.len() as u64));
        }
        Ok(bytes.clone())
    }

    fn identity(&self, path: &Path) -> PathBuf {
        match self.index(path) {
            Ok(k) => PathBuf::from(format!("/fuzz/{k}.rung")),
            Err(_) => path.to_path_buf(),
        }
    }
}

const ROOT: &str = "/fuzz/0.rung";

fn check(fs: &MemFs, overrides: &[String]) -> Checked {
    rung_lang::check_with(fs, Path::new(ROOT), "0.rung", rung_stdlib::catalog(), overrides)
}

/// The diagnostic codes, sorted, for comparing two checks of the same meaning.
fn codes(checked: &Checked) -> Vec<&'static str> {
    let mut codes: Vec<_> = checked.diagnostics.iter().map(|d| d.code.as_str()).collect();
    codes.sort_unstable();
    codes
}

fn is_syntax(d: &Diagnostic) -> bool {
    d.is_error()
        && matches!(
            d.code,
            Code::Syntax | Code::NotUtf8 | Code::TooDeep | Code::IntOutOfRange | Code::BadEscape
        )
}

fn file_id() -> FileId {
    Sources::new().add("fuzz.rung", Path::new("fuzz.rung"), String::new())
}

/// The shape of a parsed text (its tree without spans) and its comments' texts.
fn skeleton(text: &str) -> (String, Vec<String>) {
    let (module, diagnostics) = rung_lang::parser::parse_module(file_id(), text);
    let errors: Vec<_> = diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(
        errors.is_empty(),
        "formatted text does not parse: {errors:?}\n--- formatted ---\n{text}"
    );
    let module = module.expect("formatted text parses to a module");
    let out = module.shape();
    let mut comments: Vec<String> = module.comments.into_iter().map(|c| c.text).collect();
    // Comments inside a declaration's head may move above it: compare them as a multiset.
    comments.sort();
    (out, comments)
}

/// Formats `text`; when it formats, checks the formatter's promises and returns the result.
fn check_format(text: &str) -> Option<String> {
    let once = rung_lang::format::format_source(file_id(), text).ok()?;
    let twice = rung_lang::format::format_source(file_id(), &once).unwrap_or_else(|errors| {
        panic!("formatted text does not format again: {errors:?}\n--- formatted ---\n{once}")
    });
    assert_eq!(
        once, twice,
        "formatting is not idempotent\n--- input ---\n{text}\n--- once ---\n{once}"
    );
    let (before, before_comments) = skeleton_lenient(text)?;
    let (after, after_comments) = skeleton(&once);
    assert_eq!(
        before, after,
        "formatting changed the syntax tree\n--- input ---\n{text}\n--- formatted ---\n{once}"
    );
    assert_eq!(
        before_comments, after_comments,
        "formatting changed the comments\n--- input ---\n{text}\n--- formatted ---\n{once}"
    );
    Some(once)
}

/// Like [`skeleton`], but `None` (no assertion) when the original has parse errors.
fn skeleton_lenient(text: &str) -> Option<(String, Vec<String>)> {
    let (_, diagnostics) = rung_lang::parser::parse_module(file_id(), text);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return None;
    }
    Some(skeleton(text))
}

fuzz_target!(|data: &[u8]| {
    let files: Vec<Vec<u8>> = data
        .splitn(MAX_FILES, |&b| b == 0)
        .map(<[u8]>::to_vec)
        .collect();
    let overrides: Vec<String> = String::from_utf8_lossy(&files[0])
        .lines()
        .filter_map(|line| line.strip_prefix("// --set "))
        .map(str::to_string)
        .collect();
    let fs = MemFs { files };
    let original = check(&fs, &overrides);

    // The formatter, on every file that is text.
    let mut formatted = Vec::with_capacity(fs.files.len());
    for bytes in &fs.files {
        let text = std::str::from_utf8(bytes).ok();
        formatted.push(text.and_then(check_format));
    }

    // The formatted root must check as the original does.
    if let Some(root) = formatted[0].take() {
        let mut files = fs.files.clone();
        files[0] = root.into_bytes();
        let reformatted = MemFs { files };
        let again = check(&reformatted, &overrides);
        let had_syntax = original.diagnostics.iter().any(is_syntax);
        if !had_syntax {
            let syntax: Vec<_> = again.diagnostics.iter().filter(|d| is_syntax(d)).collect();
            assert!(
                syntax.is_empty(),
                "the formatted root has syntax errors the original has not: {syntax:?}"
            );
        }
        assert_eq!(
            codes(&original),
            codes(&again),
            "checking the formatted root gives other diagnostics"
        );
        assert_eq!(
            original.program.as_ref().map(|p| p.plan.len()),
            again.program.as_ref().map(|p| p.plan.len()),
            "checking the formatted root gives another plan"
        );
    }
});
