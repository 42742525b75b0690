//! Runs the selected nodes of a plan: cached nodes are taken from the store, the others run in
//! parallel within the declared resources, each under its key's lock so that concurrent runs on
//! one store compute every key once.
//!
//! One driver thread owns all the state: it resolves nodes as their inputs finish (computing
//! keys, looking them up) and hands the ones to compute to an [`Executor`]: the local one runs
//! them on worker threads within the free resources, a cluster executor submits them as jobs.
//! A failure stops new work (unless `keep_going`); nodes already running finish and publish.
//! Cancellation (Ctrl-C) stops new work, raises the flag running operations watch and lets the
//! executor stop what it started; a cancelled node publishes nothing.

use std::collections::{BTreeMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crate::digest::Digest;
use crate::executor::{Completion, Executor, LocalExecutor, Task};
use crate::graph::Dag;
use crate::op::{Context, Log, OpError, Operation, ProgressSink, Registry};
use crate::plan::NodeId;
use crate::store::{InputRecord, Lookup, Provenance, Store};
use crate::survey::{Inputs, key_when_ready, missing_file};
use crate::value::Value;

/// How to run.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions<'a> {
    /// CPU threads to use at once (`--jobs`).
    pub jobs: u32,
    /// Keep running what does not depend on a failure.
    pub keep_going: bool,
    /// GPUs this run may use.
    pub gpus: u32,
    /// Memory this run may use, in bytes (0: no bound).
    pub memory: u64,
    /// Raised to cancel the run (Ctrl-C).
    pub cancel: &'a AtomicBool,
    /// rung's version, for the provenance.
    pub rung_version: &'a str,
}

/// What became of one node.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeOutcome {
    /// Its output was already in the store.
    Cached,
    /// Another process computed it while this run waited for its lock.
    ComputedElsewhere,
    /// It ran and its output was published.
    Ran {
        /// Wall-clock seconds, all attempts included.
        seconds: f64,
        /// Attempts it took.
        attempts: u32,
    },
    /// It failed; the message says why (and where its log is).
    Failed(String),
    /// It did not run: an upstream node failed, or the run stopped first.
    Skipped(String),
}

impl NodeOutcome {
    /// Whether the node's output is available.
    pub fn succeeded(&self) -> bool {
        matches!(
            self,
            NodeOutcome::Cached | NodeOutcome::ComputedElsewhere | NodeOutcome::Ran { .. }
        )
    }
}

/// Hears what the scheduler does, for a progress display.
pub trait Observer: ProgressSink {
    /// A node started running (it was not cached).
    fn started(&self, _node: NodeId, _name: &str) {}
    /// A node is done, one way or another.
    fn finished(&self, _node: NodeId, _name: &str, _outcome: &NodeOutcome) {}
}

/// What a run did.
#[derive(Debug)]
pub struct RunReport {
    /// Outcome per node (`None` for nodes not selected).
    pub outcomes: Vec<Option<NodeOutcome>>,
    /// Key per node that got one.
    pub keys: Vec<Option<Digest>>,
    /// Output per node that has one.
    pub outputs: Vec<Option<Digest>>,
    /// Seconds each node took to compute here (0 when cached).
    pub seconds: Vec<f64>,
    /// The keys this run computed.
    pub executed: Vec<Digest>,
    /// Whether the run was cancelled.
    pub interrupted: bool,
    /// What the executor has to say about the run (e.g. how often it queried a cluster).
    pub executor: Option<String>,
}

impl RunReport {
    /// Whether every selected node has its output.
    pub fn succeeded(&self) -> bool {
        self.outcomes.iter().flatten().all(NodeOutcome::succeeded)
    }
}

/// Everything a run reads: the DAG, the operations, the store, the input files and the options,
/// and who hears what happens. [`Run::execute`] computes on this machine;
/// [`Run::execute_on`] hands the nodes to another [`Executor`].
#[derive(Clone, Copy)]
pub struct Run<'a, 'p> {
    /// The plan as a DAG.
    pub dag: &'a Dag<'p>,
    /// The operations.
    pub registry: &'a Registry,
    /// The store results go to.
    pub store: &'a Store,
    /// The input files the plan names.
    pub inputs: &'a Inputs,
    /// How to run.
    pub options: &'a RunOptions<'a>,
    /// Hears about each node.
    pub observer: &'a dyn Observer,
}

impl Run<'_, '_> {
    /// Runs the selected nodes on this machine's threads, within `--jobs`, the GPUs and memory.
    pub fn execute(&self, selected: &[bool]) -> RunReport {
        let compute = |task: &Task| self.run_task(task);
        std::thread::scope(|scope| {
            let mut local = LocalExecutor::start(
                scope,
                self.options.jobs,
                self.options.gpus,
                self.options.memory,
                &compute,
            );
            self.execute_on(selected, &mut local)
        })
    }

    /// Runs the selected nodes, handing those that must be computed to `executor`: cached nodes
    /// are taken from the store here, failures stop new work unless `keep_going`, and the
    /// dependants of a node without output are skipped, whatever the executor.
    pub fn execute_on(&self, selected: &[bool], executor: &mut dyn Executor) -> RunReport {
        let dag = self.dag;
        let options = self.options;
        let mut book = Book::new(dag, selected, self.observer);
        let mut ready: VecDeque<Task> = VecDeque::new();
        let mut stopped = false;
        // Nodes another process is computing: looked up again once their time comes.
        let mut deferred: VecDeque<(Instant, NodeId)> = VecDeque::new();
        loop {
            if options.cancel.load(Ordering::Relaxed) && !book.report.interrupted {
                book.report.interrupted = true;
                for completion in executor.interrupt() {
                    book.complete(completion, &mut deferred, &mut stopped, options.keep_going);
                }
            }
            while deferred
                .front()
                .is_some_and(|(due, _)| *due <= Instant::now())
            {
                if let Some((_, id)) = deferred.pop_front() {
                    book.ready.push_back(id);
                }
            }
            let halt = if book.report.interrupted {
                Some("cancelled")
            } else if stopped {
                Some("stopped after a failure")
            } else {
                None
            };
            while let Some(id) = book.ready.pop_front() {
                if let Some(why) = halt {
                    book.finish(id, NodeOutcome::Skipped(why.into()), None);
                    continue;
                }
                match self.resolve(id, &book.report.outputs, &book.report.keys) {
                    Resolved::Cached(key, output) => {
                        book.report.keys[id.index()] = Some(key);
                        book.finish(id, NodeOutcome::Cached, Some(output));
                    }
                    Resolved::Run(task) => {
                        book.report.keys[id.index()] = Some(task.key);
                        ready.push_back(task);
                    }
                    Resolved::Fail(why) => {
                        stopped |= !options.keep_going;
                        book.finish(id, NodeOutcome::Failed(why), None);
                    }
                }
            }
            if let Some(why) = halt {
                while let Some(task) = ready.pop_front() {
                    book.finish(task.id, NodeOutcome::Skipped(why.into()), None);
                }
            } else {
                executor.offer(&mut ready);
            }
            if executor.in_flight() == 0
                && ready.is_empty()
                && book.ready.is_empty()
                && deferred.is_empty()
            {
                break;
            }
            // Wake up now and then to notice Ctrl-C, even while a cluster job runs for hours.
            let mut until = Instant::now() + WAKE;
            if let Some((due, _)) = deferred.front() {
                until = until.min(*due);
            }
            for completion in executor.wait(Some(until)) {
                book.complete(completion, &mut deferred, &mut stopped, options.keep_going);
            }
        }
        book.report.executor = executor.summary();
        book.report
    }

    /// Decides what to do with a node whose inputs are all done.
    fn resolve(&self, id: NodeId, outputs: &[Option<Digest>], keys: &[Option<Digest>]) -> Resolved {
        let dag = self.dag;
        if let Some(why) = missing_file(dag, id, self.inputs) {
            return Resolved::Fail(why);
        }
        let Some(key) = key_when_ready(dag, id, outputs, self.inputs) else {
            return Resolved::Fail("an input has no output".into());
        };
        if let Lookup::Hit(output) = self.store.lookup(&key) {
            return Resolved::Cached(key, output);
        }
        let inputs = dag.inputs(id);
        let upstream = inputs
            .iter()
            .filter_map(|&i| outputs[i.index()].map(|d| (i, d)))
            .collect();
        let upstream_keys = inputs
            .iter()
            .filter_map(|&i| keys[i.index()].map(|k| (i, k)))
            .collect();
        match self.task(id, key, upstream, upstream_keys) {
            Ok(task) => Resolved::Run(task),
            Err(why) => Resolved::Fail(why),
        }
    }

    /// The task computing `id` under `key` from the given upstream outputs, or why it cannot run
    /// within this run's bounds.
    fn task(
        &self,
        id: NodeId,
        key: Digest,
        upstream: Vec<(NodeId, Digest)>,
        upstream_keys: Vec<(NodeId, Digest)>,
    ) -> Result<Task, String> {
        let node = self.dag.plan().node(id);
        let Some(op) = self.registry.get(&node.op) else {
            return Err(format!("operation `{}` is not implemented yet", node.op));
        };
        let mut resources = op.resources(&node.params);
        resources.threads = resources.threads.clamp(1, self.options.jobs.max(1));
        if resources.gpus > self.options.gpus {
            return Err(format!(
                "needs {} GPU(s); this run may use {}",
                resources.gpus, self.options.gpus
            ));
        }
        if self.options.memory > 0 && resources.memory > self.options.memory {
            return Err(format!(
                "needs {:.1} GiB of memory; this run may use {:.1} GiB",
                gib(resources.memory),
                gib(self.options.memory)
            ));
        }
        Ok(Task {
            id,
            name: self.dag.name(id).to_string(),
            key,
            op: Arc::clone(op),
            resources,
            upstream,
            upstream_keys,
        })
    }

    /// Rebuilds, in another process (a cluster job), the task a driver handed out: the node's
    /// key is computed again from the given upstream outputs and must be `expected`, so a spec
    /// edited since the submission is refused rather than computed under the old key.
    pub fn remote_task(
        &self,
        id: NodeId,
        expected: Digest,
        upstream: &[(NodeId, Digest, Digest)],
    ) -> Result<Task, String> {
        let n = self.dag.plan().len();
        let mut outputs = vec![None; n];
        for &(input, output, _) in upstream {
            outputs[input.index()] = Some(output);
        }
        if let Some(why) = missing_file(self.dag, id, self.inputs) {
            return Err(why);
        }
        let Some(key) = key_when_ready(self.dag, id, &outputs, self.inputs) else {
            return Err("an upstream output was not handed over".into());
        };
        if key != expected {
            return Err(format!(
                "the node's key is {key} here, not {expected} as when it was submitted: the spec, its parameters or its input files changed since"
            ));
        }
        let outputs = upstream.iter().map(|&(i, output, _)| (i, output)).collect();
        let keys = upstream.iter().map(|&(i, _, key)| (i, key)).collect();
        self.task(id, key, outputs, keys)
    }

    /// Computes a task here and now, waiting while another process holds its key's lock: what
    /// a cluster job does with the one node it was given.
    pub fn run_remote(&self, task: &Task) -> (NodeOutcome, Option<Digest>) {
        loop {
            match self.run_task(task) {
                Completion::Finished {
                    outcome, output, ..
                } => return (outcome, output),
                Completion::Busy(_) if self.options.cancel.load(Ordering::Relaxed) => {
                    return (NodeOutcome::Skipped("cancelled".into()), None);
                }
                Completion::Busy(_) => std::thread::sleep(RECHECK),
            }
        }
    }
}

/// How long a node another process is computing waits before it is looked up again.
const RECHECK: Duration = Duration::from_millis(50);

/// How long the driver waits at most before it looks at the cancellation flag again.
const WAKE: Duration = Duration::from_millis(250);

enum Resolved {
    Cached(Digest, Digest),
    Run(Task),
    Fail(String),
}

fn gib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 30) as f64
}

/// The driver's bookkeeping: outcomes so far, how many inputs each node still waits for, and the
/// nodes whose inputs are all done.
struct Book<'a, 'p> {
    dag: &'a Dag<'p>,
    selected: &'a [bool],
    observer: &'a dyn Observer,
    report: RunReport,
    waiting_on: Vec<usize>,
    ready: VecDeque<NodeId>,
}

impl<'a, 'p> Book<'a, 'p> {
    fn new(dag: &'a Dag<'p>, selected: &'a [bool], observer: &'a dyn Observer) -> Self {
        let n = dag.plan().len();
        let mut waiting_on = vec![0usize; n];
        let mut ready = VecDeque::new();
        for &id in dag.order() {
            if selected[id.index()] {
                waiting_on[id.index()] = dag.inputs(id).len();
                if waiting_on[id.index()] == 0 {
                    ready.push_back(id);
                }
            }
        }
        Book {
            dag,
            selected,
            observer,
            report: RunReport {
                outcomes: vec![None; n],
                keys: vec![None; n],
                outputs: vec![None; n],
                seconds: vec![0.0; n],
                executed: Vec::new(),
                interrupted: false,
                executor: None,
            },
            waiting_on,
            ready,
        }
    }

    /// Takes in what an executor reports.
    fn complete(
        &mut self,
        completion: Completion,
        deferred: &mut VecDeque<(Instant, NodeId)>,
        stopped: &mut bool,
        keep_going: bool,
    ) {
        let (id, outcome, output) = match completion {
            Completion::Busy(id) => {
                deferred.push_back((Instant::now() + RECHECK, id));
                return;
            }
            Completion::Finished {
                id,
                outcome,
                output,
            } => (id, outcome, output),
        };
        if self.report.outcomes[id.index()].is_some() {
            return;
        }
        if let NodeOutcome::Ran { seconds, .. } = outcome {
            self.report.seconds[id.index()] = seconds;
            if let Some(key) = self.report.keys[id.index()] {
                self.report.executed.push(key);
            }
        }
        if matches!(outcome, NodeOutcome::Failed(_)) {
            *stopped |= !keep_going;
        }
        self.finish(id, outcome, output);
    }

    /// Records a node's outcome and moves its dependants on: to ready when their last input is
    /// done, or to skipped (transitively) when this node has no output.
    fn finish(&mut self, id: NodeId, outcome: NodeOutcome, output: Option<Digest>) {
        let dag = self.dag;
        self.observer.finished(id, dag.name(id), &outcome);
        self.report.outputs[id.index()] = output;
        self.report.outcomes[id.index()] = Some(outcome);
        let mut stack = vec![id];
        while let Some(done) = stack.pop() {
            let failed = self.report.outputs[done.index()].is_none();
            for dependant in dag.dependants(done) {
                let slot = dependant.index();
                if !self.selected[slot] || self.report.outcomes[slot].is_some() {
                    continue;
                }
                if failed {
                    let why = format!("upstream `{}` did not finish", dag.name(done));
                    let why = NodeOutcome::Skipped(why);
                    self.observer.finished(dependant, dag.name(dependant), &why);
                    self.report.outcomes[slot] = Some(why);
                    stack.push(dependant);
                } else {
                    self.waiting_on[slot] -= 1;
                    if self.waiting_on[slot] == 0 {
                        self.ready.push_back(dependant);
                    }
                }
            }
        }
    }
}

impl Run<'_, '_> {
    /// Computes one task here, under its key's lock: what the local executor's workers and
    /// cluster jobs do. [`Completion::Busy`] when another process holds the lock.
    pub fn run_task(&self, task: &Task) -> Completion {
        match self.compute(task) {
            Some((outcome, output)) => Completion::Finished {
                id: task.id,
                outcome,
                output,
            },
            None => Completion::Busy(task.id),
        }
    }

    /// Runs one node under its key's lock; `None` when another process holds the lock.
    fn compute(&self, task: &Task) -> Option<(NodeOutcome, Option<Digest>)> {
        let Task {
            id,
            key,
            ref op,
            resources,
            ref upstream,
            ref upstream_keys,
            ..
        } = *task;
        let name = self.dag.name(id);
        let node = self.dag.plan().node(id);
        let cancel = self.options.cancel;
        let _lock = match self.store.try_lock(&key) {
            Ok(Some(lock)) => lock,
            Ok(None) => return None,
            Err(error) => return Some((NodeOutcome::Failed(error.to_string()), None)),
        };
        if let Lookup::Hit(output) = self.store.lookup(&key) {
            return Some((NodeOutcome::ComputedElsewhere, Some(output)));
        }
        self.observer.started(id, name);
        for (_, output) in upstream {
            if let Err(why) = self.store.verify_object(output) {
                return Some((NodeOutcome::Failed(why), None));
            }
        }
        let input_dirs: std::collections::HashMap<NodeId, std::path::PathBuf> = upstream
            .iter()
            .map(|(i, d)| (*i, self.store.object_dir(d)))
            .collect();
        let start = SystemTime::now();
        let clock = Instant::now();
        let mut log = Log::new(self.store.log_path(&key));
        let mut last_error = String::new();
        let attempts = op.retries() + 1;
        for attempt in 0..attempts {
            let out = match self.store.scratch(&key) {
                Ok(out) => out,
                Err(error) => return Some((NodeOutcome::Failed(error.to_string()), None)),
            };
            log.begin(format!(
                "== {name}: {} attempt {} of {attempts}, {}",
                node.op,
                attempt + 1,
                humantime::format_rfc3339_seconds(SystemTime::now())
            ));
            let mut ctx = Context {
                node: id,
                op: &node.op,
                params: &node.params,
                inputs: input_dirs.clone(),
                upstream_keys: upstream_keys.iter().copied().collect(),
                store: self.store,
                files: self.inputs.paths(),
                out,
                checkpoints: self.store.checkpoint_dir(&key),
                log,
                cancel,
                progress: self.observer,
                resources,
                attempt,
                facts: BTreeMap::new(),
            };
            let result = catch_unwind(AssertUnwindSafe(|| op.run(&mut ctx)))
                .unwrap_or_else(|panic| Err(OpError::Failed(panic_message(panic.as_ref()))));
            log = ctx.log;
            match result {
                Ok(()) => {
                    let seconds = clock.elapsed().as_secs_f64();
                    let provenance = self.provenance(
                        id,
                        op.as_ref(),
                        ctx.facts,
                        upstream,
                        start,
                        seconds,
                        attempt + 1,
                    );
                    return Some(match self.store.publish(&key, provenance) {
                        Ok(entry) => {
                            self.store.forget_checkpoints(&key);
                            (
                                NodeOutcome::Ran {
                                    seconds,
                                    attempts: attempt + 1,
                                },
                                Some(entry.output),
                            )
                        }
                        Err(why) => {
                            self.store.discard(&key);
                            (NodeOutcome::Failed(why), None)
                        }
                    });
                }
                Err(OpError::Cancelled) => {
                    log.line("cancelled");
                    self.store.discard(&key);
                    return Some((NodeOutcome::Skipped("cancelled".into()), None));
                }
                Err(OpError::Failed(message)) => {
                    log.line(format_args!("failed: {message}"));
                    self.store.discard(&key);
                    last_error = message;
                    if cancel.load(Ordering::Relaxed) {
                        break;
                    }
                }
            }
        }
        let tries = if attempts > 1 {
            format!(" (after {attempts} attempts)")
        } else {
            String::new()
        };
        Some((
            NodeOutcome::Failed(format!(
                "{last_error}{tries}; log: {}",
                log.path().display()
            )),
            None,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn provenance(
        &self,
        id: NodeId,
        op: &dyn Operation,
        mut facts: BTreeMap<String, String>,
        upstream: &[(NodeId, Digest)],
        start: SystemTime,
        seconds: f64,
        attempts: u32,
    ) -> Provenance {
        let node = self.dag.plan().node(id);
        let outputs: std::collections::HashMap<NodeId, Digest> = upstream.iter().copied().collect();
        let mut records = Vec::new();
        let params = node
            .params
            .iter()
            .map(|(name, value)| {
                let json = self.json(value, name, &outputs, &mut records);
                (name.clone(), json)
            })
            .collect();
        let seed = node
            .params
            .iter()
            .find_map(|(name, value)| match (name.as_str(), value) {
                ("seed", Value::Int(seed)) => Some(*seed),
                _ => None,
            });
        let backend = facts.remove("backend").unwrap_or_else(|| "cpu".into());
        let device = facts.remove("device").unwrap_or_else(|| "cpu".into());
        Provenance {
            node: self.dag.name(id).to_string(),
            operation: op.name().to_string(),
            version: op.version(),
            params,
            inputs: records,
            seed,
            rung_version: self.options.rung_version.to_string(),
            backend,
            device,
            facts,
            host: crate::store::host(),
            start: humantime::format_rfc3339_millis(start).to_string(),
            duration_s: seconds,
            attempts,
        }
    }

    /// A parameter as JSON, noting each input it names.
    fn json(
        &self,
        value: &Value,
        path: &str,
        outputs: &std::collections::HashMap<NodeId, Digest>,
        records: &mut Vec<InputRecord>,
    ) -> serde_json::Value {
        use serde_json::Value as Json;
        match value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Float(x) => serde_json::Number::from_f64(*x)
                .map_or_else(|| Json::String(x.to_string()), Json::Number),
            Value::Str(s) | Value::Enum(s) => Json::String(s.clone()),
            Value::File(file) => {
                let digest = self
                    .inputs
                    .digest(file)
                    .unwrap_or(Digest::from_bytes([0; 32]));
                records.push(InputRecord {
                    param: path.to_string(),
                    name: file.clone(),
                    kind: "file".into(),
                    digest,
                });
                serde_json::json!({ "file": file, "digest": digest })
            }
            Value::Node(id) => {
                let digest = outputs
                    .get(id)
                    .copied()
                    .unwrap_or(Digest::from_bytes([0; 32]));
                let name = self.dag.name(*id).to_string();
                records.push(InputRecord {
                    param: path.to_string(),
                    name: name.clone(),
                    kind: "node".into(),
                    digest,
                });
                serde_json::json!({ "node": name, "output": digest })
            }
            Value::List(items) => Json::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.json(item, &format!("{path}[{i}]"), outputs, records))
                    .collect(),
            ),
            Value::Record(fields) => Json::Object(
                fields
                    .iter()
                    .map(|(name, item)| {
                        (
                            name.clone(),
                            self.json(item, &format!("{path}.{name}"), outputs, records),
                        )
                    })
                    .collect(),
            ),
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("the operation panicked: {text}")
}
