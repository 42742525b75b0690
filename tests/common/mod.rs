//! The CLI test harness: runs the real `rung` binary in a directory and captures what it says.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) mod slurm;

/// What one run of the binary produced.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Exit code and stderr together, the form snapshots take.
    pub(crate) fn transcript(&self) -> String {
        format!("exit: {}\n{}", self.code, self.stderr)
    }
}

/// Runs `rung ARGS` with `dir` as the working directory.
pub(crate) fn rung(dir: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_rung"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the rung binary runs");
    Run::from(output)
}

impl From<std::process::Output> for Run {
    fn from(output: std::process::Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// The repository root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rung` file under `dir`, sorted.
pub(crate) fn specs_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).expect("readable directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rung") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
