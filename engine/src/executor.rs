//! Where nodes are computed: the [`Executor`] interface the scheduler hands ready nodes to, and
//! the local executor, which runs them on worker threads of this process.
//!
//! The scheduler keeps everything that decides *what* runs (keys, the cache, fail-fast and
//! keep-going, skipping the dependants of a failure); an executor only decides *where and when*
//! a node whose key is known gets computed, and reports how it ended. Every executor computes a
//! node the same way ([`crate::scheduler::Run::run_task`]: under the key's lock, with the operation's
//! retries, publishing atomically into the store), so a node's output does not depend on where
//! it ran.

use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::digest::Digest;
use crate::op::{Operation, Resources};
use crate::plan::NodeId;
use crate::scheduler::NodeOutcome;

/// A node whose inputs are all done and whose output is not in the store: ready to compute.
#[derive(Clone)]
pub struct Task {
    /// The node.
    pub id: NodeId,
    /// Its name (`tuned[3]`).
    pub name: String,
    /// Its key.
    pub key: Digest,
    /// Its operation.
    pub op: Arc<dyn Operation>,
    /// What it declares it needs.
    pub resources: Resources,
    /// The outputs of its upstream nodes.
    pub upstream: Vec<(NodeId, Digest)>,
    /// The keys of its upstream nodes, for the provenance.
    pub upstream_keys: Vec<(NodeId, Digest)>,
}

impl Task {
    /// The family the node belongs to: its name without indices (`tuned` for `tuned[3]`).
    pub fn family(&self) -> &str {
        self.name.split('[').next().unwrap_or(&self.name)
    }
}

/// How a task ended, as an executor reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum Completion {
    /// It ended: ran, failed, or found computed by someone else.
    Finished {
        /// The node.
        id: NodeId,
        /// How.
        outcome: NodeOutcome,
        /// Its output, when it has one.
        output: Option<Digest>,
    },
    /// Another process holds the node's lock: the scheduler looks it up again a little later.
    Busy(NodeId),
}

/// Computes ready nodes somewhere: on this machine's threads, or as jobs of a cluster scheduler.
pub trait Executor {
    /// Offers the ready tasks, in the order they became ready: the executor removes those it
    /// starts now and leaves the rest, which are offered again after the next completion.
    fn offer(&mut self, ready: &mut VecDeque<Task>);

    /// How many tasks it has started and not yet reported.
    fn in_flight(&self) -> usize;

    /// Waits until a task completes or `until` passes (forever when `None` and something is in
    /// flight), and returns what completed.
    fn wait(&mut self, until: Option<Instant>) -> Vec<Completion>;

    /// The run was interrupted (Ctrl-C): stop or let go of what is in flight, and report every
    /// task this executor will no longer follow. Running local operations see the cancellation
    /// flag and stop on their own, so the default does nothing.
    fn interrupt(&mut self) -> Vec<Completion> {
        Vec::new()
    }

    /// A line for the run's summary (e.g. how often a cluster was queried), if any.
    fn summary(&self) -> Option<String> {
        None
    }
}

/// Runs tasks on worker threads within the run's CPU threads, GPUs and memory.
pub struct LocalExecutor {
    jobs: u32,
    gpus: u32,
    memory: u64,
    used: Resources,
    running: usize,
    tasks: Sender<Task>,
    done: Receiver<(Task, Completion)>,
}

impl LocalExecutor {
    /// Starts `jobs` workers in `scope`, each computing tasks with `compute`.
    pub fn start<'scope, 'env, F>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        jobs: u32,
        gpus: u32,
        memory: u64,
        compute: &'scope F,
    ) -> LocalExecutor
    where
        F: Fn(&Task) -> Completion + Sync,
    {
        let jobs = jobs.max(1);
        let (tasks, queue) = mpsc::channel::<Task>();
        let (sender, done) = mpsc::channel();
        let queue = Arc::new(Mutex::new(queue));
        // `jobs` workers are enough: every running task holds at least one thread slot.
        for _ in 0..jobs {
            let sender = sender.clone();
            let queue = Arc::clone(&queue);
            scope.spawn(move || {
                loop {
                    let next = queue
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .recv();
                    let Ok(task) = next else { break };
                    let completion = compute(&task);
                    if sender.send((task, completion)).is_err() {
                        break;
                    }
                }
            });
        }
        LocalExecutor {
            jobs,
            gpus,
            memory,
            used: Resources {
                threads: 0,
                gpus: 0,
                memory: 0,
                time: None,
            },
            running: 0,
            tasks,
            done,
        }
    }

    fn fits(&self, r: &Resources) -> bool {
        self.used.threads + r.threads <= self.jobs
            && self.used.gpus + r.gpus <= self.gpus
            && (self.memory == 0 || self.used.memory + r.memory <= self.memory)
    }

    fn release(&mut self, task: &Task) {
        self.running -= 1;
        self.used.threads -= task.resources.threads;
        self.used.gpus -= task.resources.gpus;
        self.used.memory -= task.resources.memory;
    }
}

impl Executor for LocalExecutor {
    /// Starts whatever fits, in order; small tasks may pass a large one that waits for room.
    fn offer(&mut self, ready: &mut VecDeque<Task>) {
        let mut i = 0;
        while i < ready.len() {
            if !self.fits(&ready[i].resources) {
                i += 1;
                continue;
            }
            let Some(task) = ready.remove(i) else { break };
            self.used.threads += task.resources.threads;
            self.used.gpus += task.resources.gpus;
            self.used.memory += task.resources.memory;
            self.running += 1;
            // The workers live as long as the executor, so the queue is open.
            let _ = self.tasks.send(task);
        }
    }

    fn in_flight(&self) -> usize {
        self.running
    }

    fn wait(&mut self, until: Option<Instant>) -> Vec<Completion> {
        if self.running == 0 {
            if let Some(until) = until {
                std::thread::sleep(until.saturating_duration_since(Instant::now()));
            }
            return Vec::new();
        }
        let first = match until {
            Some(until) => {
                match self
                    .done
                    .recv_timeout(until.saturating_duration_since(Instant::now()))
                {
                    Ok(done) => done,
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                        return Vec::new();
                    }
                }
            }
            None => match self.done.recv() {
                Ok(done) => done,
                Err(_) => return Vec::new(),
            },
        };
        let mut finished = vec![first];
        finished.extend(self.done.try_iter());
        finished
            .into_iter()
            .map(|(task, completion)| {
                self.release(&task);
                completion
            })
            .collect()
    }
}
