//! Helpers for the engine's end-to-end tests: a scratch project with a spec, its data and a
//! store, driven through the real `rung-bench` binary.

#![allow(dead_code, unreachable_pub)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// A scratch project: `spec.rung`, `data/`, and the store at `.rung/`.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    /// A project with this spec and a `data/d0.txt` input.
    pub fn new(spec: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("data")).unwrap();
        fs::write(dir.path().join("data/d0.txt"), "items\n").unwrap();
        fs::write(dir.path().join("spec.rung"), spec).unwrap();
        Project { dir }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn store(&self) -> PathBuf {
        self.path(".rung")
    }

    /// The command with the project's spec directory as working directory and data root.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_rung-bench"));
        command
            .current_dir(self.dir.path())
            .args(args)
            .env_remove("RUNG_STORE")
            .env("RUNG_DATA_ROOT", self.dir.path());
        command
    }

    /// Runs a command to completion.
    pub fn rung(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Starts a command in the background.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    pub fn edit(&self, from: &str, to: &str) {
        let path = self.path("spec.rung");
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "the spec has no `{from}`");
        fs::write(path, text.replacen(from, to, 1)).unwrap();
    }

    /// Every action entry of the store: key -> output digest.
    pub fn entries(&self) -> std::collections::BTreeMap<String, String> {
        entries(&self.store())
    }
}

pub fn entries(store: &Path) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    for shard in fs::read_dir(store.join("actions")).unwrap() {
        for entry in fs::read_dir(shard.unwrap().path()).unwrap() {
            let bytes = fs::read(entry.unwrap().path()).unwrap();
            let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            out.insert(
                json["key"].as_str().unwrap().to_string(),
                json["output"].as_str().unwrap().to_string(),
            );
        }
    }
    out
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The counts of the summary line `done: 3 ran, 2 cached, 0 failed, 0 skipped in 0.1s`.
pub fn summary(output: &Output) -> [usize; 4] {
    let text = stderr(output);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with("done:") || l.starts_with("interrupted:"))
        .unwrap_or_else(|| panic!("no summary line in:\n{text}"));
    let numbers: Vec<usize> = line
        .split([' ', ','])
        .filter_map(|w| w.parse().ok())
        .collect();
    [numbers[0], numbers[1], numbers[2], numbers[3]]
}

/// The study's grid in miniature: one dataset, one model, `n` bins.
pub fn grid(n: usize, work_ms: u64) -> String {
    format!(
        r#"param lr: float = 1e-5

blob irt = blob_step(files = ["data/d0.txt"], tag = "irt", work_ms = {work_ms})
blob bins = blob_step([irt], tag = "bins", work_ms = {work_ms})
blob train[b in 0..{n}] = blob_step([bins], tag = "train", value = b, lr = lr, work_ms = {work_ms})
blob eval[b in 0..{n}, e in 0..{n}] = blob_step([train[b], bins], tag = "eval", value = e, work_ms = {work_ms})
blob zero[e in 0..{n}] = blob_step([bins], tag = "zero", value = e, work_ms = {work_ms})
blob report = blob_step([eval, zero], tag = "report", work_ms = {work_ms})
"#
    )
}

/// The number of nodes of [`grid`].
pub fn grid_nodes(n: usize) -> usize {
    3 + 2 * n + n * n
}
