//! What the store remembers about runs: the last run of each spec (node names -> keys, used to
//! explain what changed and as roots for `gc`) and a record of every `rung run`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, write_atomically};
use crate::digest::Digest;

/// One node as it was last run from a spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// The operation.
    pub op: String,
    /// Its implementation version.
    pub version: u32,
    /// The node's key.
    pub key: Digest,
    /// Its output tree.
    pub output: Digest,
    /// Each parameter's canonical text, upstream nodes shown by name.
    pub params: BTreeMap<String, String>,
    /// Each input file (as written in the spec) and its content digest.
    pub files: BTreeMap<String, Digest>,
    /// Each upstream node by name, and its output digest.
    pub upstream: BTreeMap<String, Digest>,
    /// How long computing it took, in seconds (0 when it was found cached).
    pub duration_s: f64,
}

/// The last run of one spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecRecord {
    /// The spec's absolute path.
    pub spec: PathBuf,
    /// The `--set` overrides of that run.
    pub overrides: Vec<String>,
    /// Every node that finished, by name.
    pub nodes: BTreeMap<String, NodeRecord>,
}

impl SpecRecord {
    /// A digest of what the record says (names, keys, outputs), to skip rewriting it unchanged.
    pub fn digest(&self) -> Digest {
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"rung.spec-record.v1\0");
        for text in &self.overrides {
            hasher.update(text.as_bytes());
            hasher.update(&[0]);
        }
        for (name, node) in &self.nodes {
            hasher.update(name.as_bytes());
            hasher.update(&[0]);
            hasher.update(node.key.as_bytes());
            hasher.update(node.output.as_bytes());
        }
        Digest::of_hasher(&hasher)
    }
}

/// What one `rung run` did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The spec's absolute path.
    pub spec: PathBuf,
    /// The process id.
    pub pid: u32,
    /// The host.
    pub host: String,
    /// When it started (RFC 3339).
    pub start: String,
    /// How long it took, in seconds.
    pub duration_s: f64,
    /// The keys this run computed (not those it found cached or another process computed).
    pub executed: Vec<Digest>,
    /// How many nodes it found cached.
    pub cached: usize,
    /// The names of nodes that failed.
    pub failed: Vec<String>,
    /// Whether it was interrupted.
    pub interrupted: bool,
}

impl Store {
    fn spec_record_path(&self, spec: &Path, extension: &str) -> PathBuf {
        let id = blake3::hash(spec.as_os_str().as_encoded_bytes());
        self.root
            .join("specs")
            .join(format!("{}.{extension}", &id.to_hex()[..32]))
    }

    /// The last run of `spec` (an absolute path), if any.
    pub fn spec_record(&self, spec: &Path) -> Option<SpecRecord> {
        let bytes = fs::read(self.spec_record_path(spec, "json")).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Saves `record` as the last run of its spec, unless the same record is already there.
    pub fn write_spec_record(&self, record: &SpecRecord) -> Result<(), StoreError> {
        let digest = record.digest().hex();
        let marker = self.spec_record_path(&record.spec, "digest");
        if fs::read_to_string(&marker).is_ok_and(|text| text == digest) {
            return Ok(());
        }
        let path = self.spec_record_path(&record.spec, "json");
        let bytes = serde_json::to_vec(record)
            .map_err(|e| StoreError::new("encode", &path, std::io::Error::other(e)))?;
        write_atomically(&path, &bytes).map_err(|e| StoreError::new("write", &path, e))?;
        write_atomically(&marker, digest.as_bytes())
            .map_err(|e| StoreError::new("write", &marker, e))
    }

    /// Every spec record in the store.
    pub fn spec_records(&self) -> Vec<SpecRecord> {
        read_all(&self.root.join("specs"), "json")
    }

    /// Saves what a run did.
    pub fn write_run_record(&self, record: &RunRecord) -> Result<(), StoreError> {
        let stamp = record.start.replace(':', "-");
        let path = self
            .root
            .join("runs")
            .join(format!("{stamp}-{}.json", record.pid));
        let bytes = serde_json::to_vec(record)
            .map_err(|e| StoreError::new("encode", &path, std::io::Error::other(e)))?;
        write_atomically(&path, &bytes).map_err(|e| StoreError::new("write", &path, e))
    }

    /// Every run record in the store, oldest first.
    pub fn run_records(&self) -> Vec<RunRecord> {
        let mut runs: Vec<RunRecord> = read_all(&self.root.join("runs"), "json");
        runs.sort_by(|a, b| a.start.cmp(&b.start));
        runs
    }
}

fn read_all<T: serde::de::DeserializeOwned>(dir: &Path, extension: &str) -> Vec<T> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .filter_map(|p| fs::read(p).ok())
        .filter_map(|bytes| serde_json::from_slice(&bytes).ok())
        .collect()
}
