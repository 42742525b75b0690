//! The operation contract: what an operation declares, what it is handed when it runs, and the
//! [`Registry`] the standard library fills.
//!
//! An operation is a name and an implementation version (matching its signature in the
//! [`Catalog`]), the resources a node of it needs, how often a failed attempt may be retried, and
//! a `run` that reads its [`Context`] and writes files into the context's output directory.
//! Nothing an operation writes is visible to anyone until it returns `Ok` and the engine has
//! published the directory.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::digest::Digest;
use crate::plan::NodeId;
use crate::signature::Catalog;
use crate::store::{Provenance, Store};
use crate::value::Value;

/// What one node needs while it runs; the scheduler never oversubscribes the machine's share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resources {
    /// CPU threads (clamped to `--jobs`).
    pub threads: u32,
    /// GPUs.
    pub gpus: u32,
    /// Memory in bytes (0 when negligible).
    pub memory: u64,
    /// Wall-clock limit a cluster scheduler enforces (none: the executor's default).
    pub time: Option<Duration>,
}

impl Default for Resources {
    fn default() -> Resources {
        Resources {
            threads: 1,
            gpus: 0,
            memory: 0,
            time: None,
        }
    }
}

/// Why an operation did not produce its output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpError {
    /// It failed; the message says why and goes to the node's log and the terminal.
    Failed(String),
    /// It saw the cancellation flag and stopped.
    Cancelled,
}

impl OpError {
    /// A failure with a message.
    pub fn failed(message: impl Into<String>) -> OpError {
        OpError::Failed(message.into())
    }
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpError::Failed(message) => f.write_str(message),
            OpError::Cancelled => f.write_str("cancelled"),
        }
    }
}

impl std::error::Error for OpError {}

impl From<io::Error> for OpError {
    fn from(error: io::Error) -> OpError {
        OpError::Failed(error.to_string())
    }
}

/// Receives per-node progress (steps, items) as an operation reports it.
pub trait ProgressSink: Sync {
    /// `done` of `total` units (`"steps"`, `"items"`) of node `node` are finished.
    fn progress(&self, node: NodeId, done: u64, total: u64, unit: &str);

    /// A short line on how node `node` is doing (`loss 2.31, lr 4.9e-6, 312 tokens/s`), shown
    /// next to its progress until the next one.
    fn status(&self, _node: NodeId, _text: &str) {}
}

/// One implemented operation.
pub trait Operation: Send + Sync {
    /// The name, as in the catalog.
    fn name(&self) -> &'static str;
    /// The implementation version, as in the catalog; part of every key.
    fn version(&self) -> u32;
    /// What a node with these parameters needs while it runs.
    fn resources(&self, _params: &[(String, Value)]) -> Resources {
        Resources::default()
    }
    /// How many times a failed attempt is tried again.
    fn retries(&self) -> u32 {
        0
    }
    /// Why the node cannot run here, when an input it reads from outside the data root (a model
    /// directory under a model root, say) is missing: `rung plan` reports the node blocked
    /// with this reason, as it does a missing input file.
    fn missing_input(&self, _node: &crate::preflight::Preview<'_>) -> Option<String> {
        None
    }

    /// The memory a node will need, when the operation can tell before it runs (from its
    /// parameters and its inputs' parameters); `rung run` refuses a node that will not fit.
    fn memory_needed(
        &self,
        _node: &crate::preflight::Preview<'_>,
    ) -> Option<crate::preflight::MemoryNeed> {
        None
    }
    /// Computes the node's output into [`Context::out_dir`].
    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError>;
}

/// Everything a running node is handed.
pub struct Context<'a> {
    pub(crate) node: NodeId,
    pub(crate) op: &'a str,
    pub(crate) params: &'a [(String, Value)],
    pub(crate) inputs: HashMap<NodeId, PathBuf>,
    pub(crate) upstream_keys: HashMap<NodeId, Digest>,
    pub(crate) store: &'a Store,
    pub(crate) files: &'a HashMap<String, PathBuf>,
    pub(crate) out: PathBuf,
    pub(crate) checkpoints: PathBuf,
    pub(crate) log: Log,
    pub(crate) cancel: &'a AtomicBool,
    pub(crate) progress: &'a dyn ProgressSink,
    pub(crate) resources: Resources,
    pub(crate) attempt: u32,
    pub(crate) facts: BTreeMap<String, String>,
}

impl Context<'_> {
    /// The directory the node writes its output files into (it exists and is empty).
    pub fn out_dir(&self) -> &Path {
        &self.out
    }

    /// A folder for resumable state (training checkpoints) that outlives a failed, cancelled or
    /// killed attempt, so the next attempt (or the next `rung run`) can pick up where this one
    /// stopped; created here, and removed by the engine once the output is published. It
    /// belongs to the node's key: a node whose inputs or parameters changed starts afresh.
    pub fn checkpoint_dir(&self) -> Result<&Path, OpError> {
        fs::create_dir_all(&self.checkpoints).map_err(|error| {
            OpError::failed(format!(
                "cannot create the checkpoint folder {}: {error}",
                self.checkpoints.display()
            ))
        })?;
        Ok(&self.checkpoints)
    }

    /// Every parameter, defaults filled in, sorted by name.
    pub fn params(&self) -> &[(String, Value)] {
        self.params
    }

    /// The parameters with typed getters.
    pub fn typed(&self) -> Params<'_> {
        Params {
            op: self.op,
            params: self.params,
        }
    }

    /// A parameter by name.
    pub fn param(&self, name: &str) -> Result<&Value, OpError> {
        self.typed().param(name)
    }

    /// An integer parameter.
    pub fn int(&self, name: &str) -> Result<i64, OpError> {
        self.typed().int(name)
    }

    /// A float parameter.
    pub fn float(&self, name: &str) -> Result<f64, OpError> {
        self.typed().float(name)
    }

    /// A boolean parameter.
    pub fn bool(&self, name: &str) -> Result<bool, OpError> {
        self.typed().bool(name)
    }

    /// A string (or enum word) parameter.
    pub fn str(&self, name: &str) -> Result<&str, OpError> {
        self.typed().str(name)
    }

    /// Where the file or upstream output that `value` stands for can be read, if it is one.
    pub fn path_of(&self, value: &Value) -> Option<&Path> {
        match value {
            Value::Node(id) => self.inputs.get(id).map(PathBuf::as_path),
            Value::File(path) => self.files.get(path).map(PathBuf::as_path),
            _ => None,
        }
    }

    /// How the upstream output that `value` stands for was computed (its node's name,
    /// operation, parameters, inputs, host and timing), if it is one: for reports that show
    /// where their inputs came from.
    pub fn provenance_of(&self, value: &Value) -> Option<Provenance> {
        let Value::Node(id) = value else {
            return None;
        };
        let key = self.upstream_keys.get(id)?;
        self.store.entry(key).map(|entry| entry.provenance)
    }

    /// The paths of every file and upstream output in parameter `name` (a single input or a list).
    pub fn paths(&self, name: &str) -> Result<Vec<&Path>, OpError> {
        let value = self.param(name)?;
        let values = match value {
            Value::List(items) => items.iter().collect(),
            single => vec![single],
        };
        values
            .into_iter()
            .map(|v| {
                self.path_of(v)
                    .ok_or_else(|| self.typed().mistyped(name, "an input", v))
            })
            .collect()
    }

    /// Appends a line to the node's log file.
    pub fn log(&mut self, line: impl fmt::Display) {
        self.log.line(line);
    }

    /// Reports that `done` of `total` units are finished (for the progress display).
    pub fn progress(&self, done: u64, total: u64, unit: &str) {
        self.progress.progress(self.node, done, total, unit);
    }

    /// Shows a short line on how the node is doing next to its progress (the display keeps the
    /// latest); for what belongs in the record, use [`Context::log`].
    pub fn status(&self, text: &str) {
        self.progress.status(self.node, text);
    }

    /// Whether the run was cancelled; a long operation checks this between steps.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// `Err(Cancelled)` once the run was cancelled.
    pub fn check_cancelled(&self) -> Result<(), OpError> {
        if self.cancelled() {
            Err(OpError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// What the scheduler granted this node.
    pub fn resources(&self) -> Resources {
        self.resources
    }

    /// Which attempt this is: 0 the first time, then 1, 2... on retries.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Records a fact for the provenance, such as `backend = cuda` or `precision = bf16`.
    pub fn record(&mut self, name: &str, value: impl Into<String>) {
        self.facts.insert(name.to_string(), value.into());
    }
}

/// A node's parameters (defaults filled in) with typed getters whose errors name the operation.
#[derive(Debug, Clone, Copy)]
pub struct Params<'a> {
    op: &'a str,
    params: &'a [(String, Value)],
}

impl<'a> Params<'a> {
    /// The parameters of a node of operation `op`.
    pub fn new(op: &'a str, params: &'a [(String, Value)]) -> Self {
        Params { op, params }
    }

    /// A parameter by name.
    pub fn param(&self, name: &str) -> Result<&'a Value, OpError> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .ok_or_else(|| OpError::failed(format!("`{}` has no parameter `{name}`", self.op)))
    }

    /// An integer parameter.
    pub fn int(&self, name: &str) -> Result<i64, OpError> {
        match self.param(name)? {
            Value::Int(i) => Ok(*i),
            other => Err(self.mistyped(name, "an int", other)),
        }
    }

    /// A float parameter.
    pub fn float(&self, name: &str) -> Result<f64, OpError> {
        match self.param(name)? {
            Value::Float(x) => Ok(*x),
            Value::Int(i) => Ok(*i as f64),
            other => Err(self.mistyped(name, "a float", other)),
        }
    }

    /// A boolean parameter.
    pub fn bool(&self, name: &str) -> Result<bool, OpError> {
        match self.param(name)? {
            Value::Bool(b) => Ok(*b),
            other => Err(self.mistyped(name, "a bool", other)),
        }
    }

    /// A string (or enum word) parameter.
    pub fn str(&self, name: &str) -> Result<&'a str, OpError> {
        match self.param(name)? {
            Value::Str(s) | Value::Enum(s) => Ok(s),
            other => Err(self.mistyped(name, "a string", other)),
        }
    }

    fn mistyped(&self, name: &str, expected: &str, found: &Value) -> OpError {
        OpError::failed(format!(
            "parameter `{name}` of `{}` should be {expected}, found `{found}`",
            self.op
        ))
    }
}

/// A node's log file, created on the first line. Lines are buffered and written at least every
/// second (and when the attempt ends), so a chatty operation costs few writes; an attempt's
/// heading is written only if a line follows it, so a silent success leaves no file.
pub(crate) struct Log {
    path: PathBuf,
    file: Option<fs::File>,
    heading: Option<String>,
    buffer: String,
    flushed: Instant,
}

impl Log {
    pub(crate) fn new(path: PathBuf) -> Log {
        Log {
            path,
            file: None,
            heading: None,
            buffer: String::new(),
            flushed: Instant::now(),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Starts an attempt: `heading` goes in before the attempt's first line.
    pub(crate) fn begin(&mut self, heading: String) {
        self.heading = Some(heading);
    }

    pub(crate) fn line(&mut self, line: impl fmt::Display) {
        use fmt::Write as _;
        if let Some(heading) = self.heading.take() {
            self.buffer.push_str(&heading);
            self.buffer.push('\n');
        }
        let _ = writeln!(self.buffer, "{line}");
        if self.buffer.len() > 64 * 1024 || self.flushed.elapsed() > Duration::from_secs(1) {
            self.flush();
        }
    }

    /// Writes what is buffered.
    pub(crate) fn flush(&mut self) {
        self.flushed = Instant::now();
        if self.buffer.is_empty() {
            return;
        }
        if self.file.is_none() {
            self.file = fs::File::options()
                .create(true)
                .append(true)
                .open(&self.path)
                .ok();
        }
        if let Some(file) = &mut self.file {
            // A log that cannot be written must not fail the computation it describes.
            let _ = file.write_all(self.buffer.as_bytes());
        }
        self.buffer.clear();
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Why an implementation could not be registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryError {
    /// The catalog declares no operation of that name.
    Undeclared(&'static str),
    /// The implementation's version differs from the declared one.
    VersionMismatch {
        /// The operation.
        name: &'static str,
        /// The catalog's version.
        declared: u32,
        /// The implementation's version.
        implemented: u32,
    },
    /// Two implementations of one operation.
    Duplicate(&'static str),
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryError::Undeclared(name) => {
                write!(f, "operation `{name}` is implemented but has no signature")
            }
            RegistryError::VersionMismatch {
                name,
                declared,
                implemented,
            } => write!(
                f,
                "operation `{name}` is declared at version {declared} but implemented at {implemented}"
            ),
            RegistryError::Duplicate(name) => {
                write!(f, "operation `{name}` is implemented twice")
            }
        }
    }
}

impl std::error::Error for RegistryError {}

/// The signatures (for checking specs) and the implementations (for running them).
pub struct Registry {
    catalog: Catalog,
    ops: HashMap<&'static str, Arc<dyn Operation>>,
}

impl Registry {
    /// A registry of `catalog`'s signatures with no implementation yet.
    pub fn new(catalog: Catalog) -> Registry {
        Registry {
            catalog,
            ops: HashMap::new(),
        }
    }

    /// Adds an implementation, which must match a signature of the catalog.
    pub fn implement(&mut self, op: Arc<dyn Operation>) -> Result<(), RegistryError> {
        let name = op.name();
        let Some(signature) = self.catalog.op(name) else {
            return Err(RegistryError::Undeclared(name));
        };
        if signature.version != op.version() {
            return Err(RegistryError::VersionMismatch {
                name,
                declared: signature.version,
                implemented: op.version(),
            });
        }
        if self.ops.insert(name, op).is_some() {
            return Err(RegistryError::Duplicate(name));
        }
        Ok(())
    }

    /// The catalog of signatures.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The catalog, to extend it before implementations are added.
    pub fn catalog_mut(&mut self) -> &mut Catalog {
        &mut self.catalog
    }

    /// The implementation of an operation, if it has one.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Operation>> {
        self.ops.get(name)
    }
}
