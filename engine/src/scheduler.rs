//! Runs the selected nodes of a plan: cached nodes are taken from the store, the others run in
//! parallel within the declared resources, each under its key's lock so that concurrent runs on
//! one store compute every key once.
//!
//! One driver thread owns all the state: it resolves nodes as their inputs finish (computing
//! keys, looking them up), starts the ones that fit in the free resources on worker threads, and
//! learns of their completion through a channel. A failure stops new work (unless `keep_going`);
//! nodes already running finish and publish. Cancellation (Ctrl-C) stops new work and raises the
//! flag running operations watch; a cancelled node publishes nothing.

use std::collections::{BTreeMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant, SystemTime};

use crate::digest::Digest;
use crate::graph::Dag;
use crate::op::{Context, Log, OpError, Operation, ProgressSink, Registry, Resources};
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
}

impl RunReport {
    /// Whether every selected node has its output.
    pub fn succeeded(&self) -> bool {
        self.outcomes.iter().flatten().all(NodeOutcome::succeeded)
    }
}

/// A worker's report: the node's outcome and output, or `None` when another process holds its
/// lock (the driver then looks it up again later and the slot goes to other work meanwhile).
struct Done {
    id: NodeId,
    finished: Option<(NodeOutcome, Option<Digest>)>,
    resources: Resources,
}

struct Runnable {
    id: NodeId,
    key: Digest,
    op: Arc<dyn Operation>,
    resources: Resources,
    upstream: Vec<(NodeId, Digest)>,
    /// The keys of the upstream nodes, for their provenance.
    upstream_keys: Vec<(NodeId, Digest)>,
}

/// Runs the selected nodes (and reports each to `observer`).
pub fn execute(
    dag: &Dag<'_>,
    selected: &[bool],
    registry: &Registry,
    store: &Store,
    inputs: &Inputs,
    options: &RunOptions<'_>,
    observer: &dyn Observer,
) -> RunReport {
    let job = Job {
        dag,
        store,
        inputs,
        options,
        observer,
        registry,
    };
    let mut book = Book::new(dag, selected, observer);
    let jobs = options.jobs.max(1);
    let mut runnable: VecDeque<Runnable> = VecDeque::new();
    let mut used = Resources {
        threads: 0,
        gpus: 0,
        memory: 0,
    };
    let mut running = 0usize;
    let mut stopped = false;
    // Nodes another process is computing: looked up again once their time comes.
    let mut deferred: VecDeque<(Instant, NodeId)> = VecDeque::new();
    let (sender, receiver) = mpsc::channel::<Done>();
    let (tasks, queue) = mpsc::channel::<Runnable>();
    let queue = Mutex::new(queue);

    std::thread::scope(|scope| {
        // `jobs` workers are enough: every running node holds at least one thread slot.
        for _ in 0..jobs {
            let sender = sender.clone();
            let queue = &queue;
            let job = &job;
            scope.spawn(move || {
                loop {
                    let next = queue
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .recv();
                    let Ok(next) = next else { break };
                    let finished = job.run(&next);
                    let done = Done {
                        id: next.id,
                        finished,
                        resources: next.resources,
                    };
                    if sender.send(done).is_err() {
                        break;
                    }
                }
            });
        }
        loop {
            let cancelled = options.cancel.load(Ordering::Relaxed);
            book.report.interrupted |= cancelled;
            while deferred
                .front()
                .is_some_and(|(due, _)| *due <= Instant::now())
            {
                if let Some((_, id)) = deferred.pop_front() {
                    book.ready.push_back(id);
                }
            }
            let halt = if cancelled {
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
                match job.resolve(id, &book.report.outputs, jobs) {
                    Resolved::Cached(key, output) => {
                        book.report.keys[id.index()] = Some(key);
                        book.finish(id, NodeOutcome::Cached, Some(output));
                    }
                    Resolved::Run(next) => {
                        book.report.keys[id.index()] = Some(next.key);
                        runnable.push_back(next);
                    }
                    Resolved::Fail(why) => {
                        stopped |= !options.keep_going;
                        book.finish(id, NodeOutcome::Failed(why), None);
                    }
                }
            }
            if let Some(why) = halt {
                while let Some(next) = runnable.pop_front() {
                    book.finish(next.id, NodeOutcome::Skipped(why.into()), None);
                }
            }
            // Start whatever fits, in the order nodes became ready; small nodes may pass a large
            // one that waits for resources.
            let mut i = 0;
            while i < runnable.len() {
                let r = runnable[i].resources;
                let fits = used.threads + r.threads <= jobs
                    && used.gpus + r.gpus <= options.gpus
                    && (options.memory == 0 || used.memory + r.memory <= options.memory);
                if !fits {
                    i += 1;
                    continue;
                }
                let Some(next) = runnable.remove(i) else {
                    break;
                };
                used.threads += r.threads;
                used.gpus += r.gpus;
                used.memory += r.memory;
                running += 1;
                let inputs = dag.inputs(next.id);
                let upstream = inputs
                    .iter()
                    .filter_map(|&i| book.report.outputs[i.index()].map(|d| (i, d)))
                    .collect();
                let upstream_keys = inputs
                    .iter()
                    .filter_map(|&i| book.report.keys[i.index()].map(|k| (i, k)))
                    .collect();
                // The workers outlive this loop, so the queue is open.
                let _ = tasks.send(Runnable {
                    upstream,
                    upstream_keys,
                    ..next
                });
            }
            if running == 0 && book.ready.is_empty() && deferred.is_empty() {
                break;
            }
            let done = match deferred.front() {
                Some((due, _)) => {
                    let wait = due.saturating_duration_since(Instant::now());
                    match receiver.recv_timeout(wait) {
                        Ok(done) => done,
                        Err(_) => continue,
                    }
                }
                None => match receiver.recv() {
                    Ok(done) => done,
                    Err(_) => break,
                },
            };
            running -= 1;
            used.threads -= done.resources.threads;
            used.gpus -= done.resources.gpus;
            used.memory -= done.resources.memory;
            let Some((outcome, output)) = done.finished else {
                deferred.push_back((Instant::now() + RECHECK, done.id));
                continue;
            };
            if let NodeOutcome::Ran { seconds, .. } = outcome {
                book.report.seconds[done.id.index()] = seconds;
                if let Some(key) = book.report.keys[done.id.index()] {
                    book.report.executed.push(key);
                }
            }
            if matches!(outcome, NodeOutcome::Failed(_)) {
                stopped |= !options.keep_going;
            }
            book.finish(done.id, outcome, output);
        }
        // Closing the queue lets the workers end.
        drop(tasks);
    });
    book.report
}

/// How long a node another process is computing waits before it is looked up again.
const RECHECK: Duration = Duration::from_millis(50);

enum Resolved {
    Cached(Digest, Digest),
    Run(Runnable),
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
            },
            waiting_on,
            ready,
        }
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

/// What a worker needs to run one node.
#[derive(Clone, Copy)]
struct Job<'a, 'p> {
    dag: &'a Dag<'p>,
    store: &'a Store,
    inputs: &'a Inputs,
    options: &'a RunOptions<'a>,
    observer: &'a dyn Observer,
    registry: &'a Registry,
}

impl Job<'_, '_> {
    /// Decides what to do with a node whose inputs are all done.
    fn resolve(&self, id: NodeId, outputs: &[Option<Digest>], jobs: u32) -> Resolved {
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
        let node = dag.plan().node(id);
        let Some(op) = self.registry.get(&node.op) else {
            return Resolved::Fail(format!("operation `{}` is not implemented yet", node.op));
        };
        let mut resources = op.resources(&node.params);
        resources.threads = resources.threads.clamp(1, jobs);
        if resources.gpus > self.options.gpus {
            return Resolved::Fail(format!(
                "needs {} GPU(s); this run may use {}",
                resources.gpus, self.options.gpus
            ));
        }
        if self.options.memory > 0 && resources.memory > self.options.memory {
            return Resolved::Fail(format!(
                "needs {:.1} GiB of memory; this run may use {:.1} GiB",
                gib(resources.memory),
                gib(self.options.memory)
            ));
        }
        Resolved::Run(Runnable {
            id,
            key,
            op: Arc::clone(op),
            resources,
            upstream: Vec::new(),
            upstream_keys: Vec::new(),
        })
    }

    /// Runs one node under its key's lock; `None` when another process holds the lock.
    fn run(&self, task: &Runnable) -> Option<(NodeOutcome, Option<Digest>)> {
        let Runnable {
            id,
            key,
            ref op,
            resources,
            ref upstream,
            ref upstream_keys,
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
