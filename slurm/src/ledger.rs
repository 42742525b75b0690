//! The shared store's record of a submission: a batch folder per `sbatch` call holding what its
//! jobs compute (`batch.json`), their script, Slurm's output files, and the completion record
//! each job writes atomically when it ends.

use std::io;
use std::path::{Path, PathBuf};

use rung_engine::Digest;
use rung_engine::store::write_atomically;
use serde::{Deserialize, Serialize};

/// What one `sbatch` call asks its jobs (array task `i` takes `tasks[i]`) to compute.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Batch {
    /// How the job finds the spec again (spec, `--set`s, data root, store), as the front end
    /// that submitted it wrote it.
    pub context: serde_json::Value,
    /// One entry per array task.
    pub tasks: Vec<BatchTask>,
}

/// One node to compute.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchTask {
    /// The node's name.
    pub node: String,
    /// Its key when it was submitted.
    pub key: Digest,
    /// Its upstream nodes' outputs.
    pub upstream: Vec<Upstream>,
}

/// An upstream node's output, handed to the job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Upstream {
    /// The node's name.
    pub node: String,
    /// Its output.
    pub output: Digest,
    /// Its key.
    pub key: Digest,
}

/// How a job's node ended, as the job itself recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ended {
    /// It ran and published its output.
    Ran,
    /// Another process had published it.
    ComputedElsewhere,
    /// It failed (after the operation's retries).
    Failed,
    /// It was cancelled.
    Cancelled,
}

/// The completion record a job writes on the shared store as its last act.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// The node.
    pub node: String,
    /// Its key.
    pub key: Digest,
    /// How it ended.
    pub ended: Ended,
    /// The published output, when there is one.
    pub output: Option<Digest>,
    /// Why it failed, with where its log is.
    pub message: Option<String>,
    /// The job's exit code.
    pub exit_code: i32,
    /// Seconds the node ran.
    pub seconds: f64,
    /// Attempts the operation took.
    pub attempts: u32,
    /// When the job started and ended (RFC 3339).
    pub start: String,
    /// When the record was written.
    pub end: String,
    /// Where it ran.
    pub host: String,
    /// Slurm's ID for the job (`123_4`).
    pub job: String,
}

/// The batch description in a batch folder.
pub fn batch_file(folder: &Path) -> PathBuf {
    folder.join("batch.json")
}

/// Where array task `index` of a batch writes its completion record.
pub fn record_file(folder: &Path, index: usize) -> PathBuf {
    folder.join(format!("done-{index}.json"))
}

/// Writes a batch description.
pub fn write_batch(folder: &Path, batch: &Batch) -> io::Result<()> {
    let json = serde_json::to_vec_pretty(batch).map_err(io::Error::other)?;
    write_atomically(&batch_file(folder), &json)
}

/// Reads a batch description.
pub fn read_batch(folder: &Path) -> Result<Batch, String> {
    let path = batch_file(folder);
    let bytes =
        std::fs::read(&path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("`{}` is not a batch: {e}", path.display()))
}

/// Writes a completion record so that readers see all of it or nothing.
pub fn write_record(folder: &Path, index: usize, record: &Record) -> io::Result<()> {
    let json = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
    write_atomically(&record_file(folder, index), &json)
}

/// Reads a completion record, if the job has written one.
pub fn read_record(folder: &Path, index: usize) -> Option<Record> {
    let bytes = std::fs::read(record_file(folder, index)).ok()?;
    serde_json::from_slice(&bytes).ok()
}
