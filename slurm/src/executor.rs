//! The Slurm executor: ready nodes go out as `sbatch` jobs (one array per family that became
//! ready together), all under the run's one job name; one `sacct` (or `squeue`) query per
//! polling cycle follows them, with back-off; each job's own completion record on the shared
//! store says how its node ended, and Slurm's state says what happened to jobs that could not
//! write one (time limit, preemption, a failed node, memory, cancellation).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use rung_engine::executor::{Completion, Executor, Task};
use rung_engine::scheduler::{NodeOutcome, Observer};
use rung_engine::{Dag, Digest};

use crate::cluster::{Slurm, write_script};
use crate::ledger::{self, Batch, BatchTask, Ended, Record, Upstream};
use crate::profile::Profile;
use crate::query::{JobRef, JobRow, State};
use crate::sbatch::{self, Submission};

/// What Ctrl-C does to the jobs in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnInterrupt {
    /// Cancel them with `scancel` (the default).
    Cancel,
    /// Leave them running; the next `rung run` adopts them.
    Detach,
}

/// What the front end tells the executor about the run.
#[derive(Debug, Clone)]
pub struct RunSetup {
    /// The job name every job of the run carries (stable across restarts of the driver).
    pub job_name: String,
    /// The folder on the shared store that holds the run's batches.
    pub folder: PathBuf,
    /// How a job finds the spec again; stored in each batch for [`crate::job::run_job`].
    pub context: serde_json::Value,
    /// The `rung` executable the jobs run.
    pub rung: PathBuf,
    /// What Ctrl-C does.
    pub on_interrupt: OnInterrupt,
}

/// A job the executor follows.
struct Tracked {
    task: Task,
    folder: PathBuf,
    index: usize,
    resubmits: u32,
    exclude: Vec<String>,
    since: Instant,
    /// Consecutive queries that did not list it.
    missing: u32,
}

/// What to do about a job that ended without a completion record.
enum Verdict {
    Fail(String),
    Resubmit {
        exclude: Option<String>,
        why: String,
    },
}

/// The executor.
pub struct SlurmExecutor<'a, 'p> {
    profile: Profile,
    setup: RunSetup,
    dag: &'a Dag<'p>,
    observer: &'a dyn Observer,
    slurm: Slurm,
    max_array_size: usize,
    tracked: BTreeMap<JobRef, Tracked>,
    /// Jobs of an earlier driver still queued or running, by the key they compute.
    adoptable: HashMap<Digest, (JobRef, PathBuf, usize)>,
    /// Completions known before the next poll (a refused submission).
    early: Vec<Completion>,
    submissions: VecDeque<Instant>,
    interval: Duration,
    next_poll: Instant,
    batch_stamp: u128,
    batches: u64,
    jobs: u64,
    adopted: u64,
    resubmitted: u64,
    cycles: u64,
    /// The jobs Ctrl-C cancelled or left running.
    let_go: Vec<JobRef>,
}

impl<'a, 'p> SlurmExecutor<'a, 'p> {
    /// Reads the cluster's `MaxArraySize` and finds the jobs a previous driver of this run left
    /// queued or running (one `squeue`), so that their nodes are adopted rather than submitted
    /// again.
    pub fn start(
        profile: Profile,
        setup: RunSetup,
        dag: &'a Dag<'p>,
        observer: &'a dyn Observer,
    ) -> Result<Self, String> {
        let mut slurm = Slurm::new();
        let max_array_size = slurm.max_array_size()?;
        std::fs::create_dir_all(&setup.folder)
            .map_err(|e| format!("cannot create `{}`: {e}", setup.folder.display()))?;
        let mut adoptable = HashMap::new();
        let mut batches: HashMap<PathBuf, Option<Batch>> = HashMap::new();
        for row in slurm.live_jobs(&setup.job_name)? {
            let batch = batches
                .entry(row.folder.clone())
                .or_insert_with(|| ledger::read_batch(&row.folder).ok());
            let index = row.job.index.unwrap_or(0) as usize;
            if let Some(task) = batch.as_ref().and_then(|b| b.tasks.get(index)) {
                adoptable.insert(task.key, (row.job, row.folder.clone(), index));
            }
        }
        let batch_stamp = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let interval = profile.poll_first;
        Ok(SlurmExecutor {
            profile,
            setup,
            dag,
            observer,
            slurm,
            max_array_size,
            tracked: BTreeMap::new(),
            adoptable,
            early: Vec::new(),
            submissions: VecDeque::new(),
            interval,
            next_poll: Instant::now() + interval,
            batch_stamp,
            batches: 0,
            jobs: 0,
            adopted: 0,
            resubmitted: 0,
            cycles: 0,
            let_go: Vec::new(),
        })
    }

    /// How many jobs of an earlier driver are waiting to be adopted.
    pub fn adoptable(&self) -> usize {
        self.adoptable.len()
    }

    /// Whether another `sbatch` call fits in the submission rate.
    fn may_submit(&mut self) -> bool {
        let minute_ago = Instant::now().checked_sub(Duration::from_secs(60));
        while let (Some(first), Some(minute_ago)) = (self.submissions.front(), minute_ago) {
            if *first > minute_ago {
                break;
            }
            self.submissions.pop_front();
        }
        self.submissions.len() < self.profile.submissions_per_minute as usize
    }

    /// Writes a batch folder for `tasks` and submits it as one job or one array.
    fn submit(&mut self, tasks: Vec<Task>, exclude: Vec<String>, resubmits: u32) {
        self.batches += 1;
        let folder = self
            .setup
            .folder
            .join(format!("b{}-{:05}", self.batch_stamp, self.batches));
        let submitted = match self.write_batch(&folder, &tasks) {
            Ok(script) => {
                let arguments = sbatch::arguments(
                    &self.profile,
                    &Submission {
                        job_name: &self.setup.job_name,
                        folder: &folder,
                        script: &script,
                        tasks: tasks.len(),
                        resources: tasks[0].resources,
                        exclude: &exclude,
                    },
                );
                self.submissions.push_back(Instant::now());
                self.slurm.submit(&arguments)
            }
            Err(why) => Err(why),
        };
        let id = match submitted {
            Ok(id) => id,
            Err(why) => {
                for task in tasks {
                    self.early.push(Completion::Finished {
                        id: task.id,
                        outcome: NodeOutcome::Failed(format!("could not submit to Slurm: {why}")),
                        output: None,
                    });
                }
                return;
            }
        };
        let array = tasks.len() > 1;
        self.jobs += tasks.len() as u64;
        for (index, task) in tasks.into_iter().enumerate() {
            let job = JobRef {
                id,
                index: array.then_some(index as u32),
            };
            self.observer.started(task.id, &task.name);
            self.tracked.insert(
                job,
                Tracked {
                    task,
                    folder: folder.clone(),
                    index,
                    resubmits,
                    exclude: exclude.clone(),
                    since: Instant::now(),
                    missing: 0,
                },
            );
        }
        self.interval = self.profile.poll_first;
        self.next_poll = self.next_poll.min(Instant::now() + self.interval);
    }

    /// The batch description and job script; the script's path.
    fn write_batch(&self, folder: &Path, tasks: &[Task]) -> Result<PathBuf, String> {
        let cannot = |e: std::io::Error| format!("cannot write `{}`: {e}", folder.display());
        std::fs::create_dir_all(folder).map_err(cannot)?;
        let batch = Batch {
            context: self.setup.context.clone(),
            tasks: tasks.iter().map(|task| self.batch_task(task)).collect(),
        };
        ledger::write_batch(folder, &batch).map_err(cannot)?;
        let mut script = String::from(
            "#!/bin/sh\n# rung: computes the node of batch.json that this array task's index names.\n",
        );
        for line in &self.profile.setup {
            script.push_str(line);
            script.push('\n');
        }
        script.push_str(&format!(
            "exec {} __job {} \"${{SLURM_ARRAY_TASK_ID:-0}}\"\n",
            quote(&self.setup.rung.display().to_string()),
            quote(&folder.display().to_string())
        ));
        let path = folder.join("job.sh");
        write_script(&path, &script).map_err(cannot)?;
        Ok(path)
    }

    fn batch_task(&self, task: &Task) -> BatchTask {
        let keys: HashMap<_, _> = task.upstream_keys.iter().copied().collect();
        BatchTask {
            node: task.name.clone(),
            key: task.key,
            upstream: task
                .upstream
                .iter()
                .filter_map(|(id, output)| {
                    Some(Upstream {
                        node: self.dag.name(*id).to_string(),
                        output: *output,
                        key: *keys.get(id)?,
                    })
                })
                .collect(),
        }
    }

    /// One polling cycle: the completion records first, then one query for the jobs that have
    /// none yet.
    fn poll(&mut self) -> Vec<Completion> {
        self.cycles += 1;
        let mut done = Vec::new();
        let recorded: Vec<(JobRef, Record)> = self
            .tracked
            .iter()
            .filter_map(|(job, t)| {
                let record = ledger::read_record(&t.folder, t.index)?;
                (record.key == t.task.key).then_some((*job, record))
            })
            .collect();
        for (job, record) in recorded {
            if let Some(tracked) = self.tracked.remove(&job) {
                done.push(from_record(&tracked.task, job, record));
            }
        }
        if !self.tracked.is_empty() {
            match self.slurm.jobs(&self.setup.job_name) {
                Ok(rows) => done.extend(self.reconcile(rows)),
                Err(why) => eprintln!("warning: cannot ask Slurm about the run's jobs: {why}"),
            }
        }
        self.interval = if done.is_empty() {
            (self.interval * 2).min(self.profile.poll_max)
        } else {
            self.profile.poll_first
        };
        self.next_poll = Instant::now() + self.interval;
        done
    }

    /// Compares Slurm's view with the jobs still followed.
    fn reconcile(&mut self, rows: Vec<JobRow>) -> Vec<Completion> {
        let rows: HashMap<JobRef, JobRow> = rows.into_iter().map(|row| (row.job, row)).collect();
        let mut verdicts = Vec::new();
        for (job, tracked) in &mut self.tracked {
            match rows.get(job) {
                Some(row) if row.state.ended() => verdicts.push((*job, Some(row.clone()))),
                Some(_) => tracked.missing = 0,
                // Gone from `squeue` (MinJobAge passed) or from `sacct`. slurmdbd lags behind
                // slurmctld, and a pending array's range row splits into tasks, so one miss
                // means nothing; a job missing from several queries in a row is lost.
                None => {
                    tracked.missing += 1;
                    if tracked.missing >= LOST_AFTER_MISSES && tracked.since.elapsed() > LOST_AFTER
                    {
                        verdicts.push((*job, None));
                    }
                }
            }
        }
        let mut done = Vec::new();
        for (job, row) in verdicts {
            let Some(tracked) = self.tracked.remove(&job) else {
                continue;
            };
            // The record may have landed between the file check and the query.
            if let Some(record) = ledger::read_record(&tracked.folder, tracked.index)
                .filter(|r| r.key == tracked.task.key)
            {
                done.push(from_record(&tracked.task, job, record));
                continue;
            }
            match self.verdict(job, &tracked, row.as_ref()) {
                Verdict::Fail(why) => done.push(Completion::Finished {
                    id: tracked.task.id,
                    outcome: NodeOutcome::Failed(why),
                    output: None,
                }),
                Verdict::Resubmit { exclude, why } => {
                    eprintln!("{}: {why}", tracked.task.name);
                    let mut excluded = tracked.exclude;
                    excluded.extend(exclude);
                    self.resubmitted += 1;
                    self.submit(vec![tracked.task], excluded, tracked.resubmits + 1);
                }
            }
        }
        done
    }

    /// What to do about a job that ended (or vanished) without a completion record.
    fn verdict(&self, job: JobRef, tracked: &Tracked, row: Option<&JobRow>) -> Verdict {
        let output = slurm_output(&tracked.folder, job);
        let Some(row) = row else {
            return Verdict::Fail(format!(
                "Slurm job {job} left the queue without writing its completion record; see {}",
                output.display()
            ));
        };
        let again = tracked.resubmits < self.profile.resubmits;
        let attempt = format!("{} of {}", tracked.resubmits + 1, self.profile.resubmits);
        match &row.state {
            State::Timeout | State::Preempted => {
                let what = if row.state == State::Timeout {
                    format!(
                        "hit its time limit ({})",
                        minutes(tracked.task.resources.time.unwrap_or(self.profile.time))
                    )
                } else {
                    "was preempted".to_string()
                };
                if again {
                    Verdict::Resubmit {
                        exclude: None,
                        why: format!(
                            "Slurm job {job} {what}; resubmitted ({attempt}), resuming from its checkpoint where the operation keeps one"
                        ),
                    }
                } else {
                    Verdict::Fail(format!(
                        "Slurm job {job} {what}, and {} resubmissions did not finish it; see {}",
                        self.profile.resubmits,
                        output.display()
                    ))
                }
            }
            State::NodeFail if again => Verdict::Resubmit {
                exclude: Some(row.node.clone()).filter(|n| !n.is_empty()),
                why: format!(
                    "Slurm job {job} lost its node {}; resubmitted elsewhere ({attempt})",
                    row.node
                ),
            },
            State::NodeFail => Verdict::Fail(format!(
                "Slurm job {job}'s node failed {} times",
                self.profile.resubmits + 1
            )),
            State::OutOfMemory => {
                let estimate = tracked.task.resources.memory;
                let requested = if estimate > 0 {
                    Some(estimate)
                } else {
                    self.profile.memory
                };
                Verdict::Fail(format!(
                    "Slurm job {job} ran out of memory: it asked for {} and the operation estimated {}; give the node more memory (or set `memory_gb` in the Slurm profile); see {}",
                    requested.map_or("the partition's default".to_string(), gib),
                    if estimate > 0 {
                        gib(estimate)
                    } else {
                        "nothing".to_string()
                    },
                    output.display()
                ))
            }
            State::Cancelled => Verdict::Fail(format!(
                "Slurm job {job} was cancelled (scancel, or an administrator) before it finished"
            )),
            State::Completed | State::Failed => Verdict::Fail(format!(
                "Slurm job {job} ended ({}{}) without writing its completion record; see {}",
                row.state.name(),
                if row.exit.is_empty() {
                    String::new()
                } else {
                    format!(", exit code {}", row.exit)
                },
                output.display()
            )),
            State::Other(state) => Verdict::Fail(format!(
                "Slurm job {job} ended {state}; see {}",
                output.display()
            )),
            State::Active(_) => Verdict::Fail(format!("Slurm job {job} is still active")),
        }
    }
}

/// A job Slurm has not listed in this many queries in a row, and submitted at least
/// `LOST_AFTER` ago, is taken as lost.
const LOST_AFTER_MISSES: u32 = 3;
const LOST_AFTER: Duration = Duration::from_secs(60);

/// The completion a job recorded.
fn from_record(task: &Task, job: JobRef, record: Record) -> Completion {
    let outcome = match (record.ended, record.output) {
        (Ended::Ran, Some(_)) => NodeOutcome::Ran {
            seconds: record.seconds,
            attempts: record.attempts,
        },
        (Ended::ComputedElsewhere, Some(_)) => NodeOutcome::ComputedElsewhere,
        (Ended::Cancelled, _) => NodeOutcome::Failed(format!(
            "Slurm job {job} was cancelled (scancel, or an administrator) before it finished"
        )),
        (Ended::Failed | Ended::Ran | Ended::ComputedElsewhere, _) => {
            NodeOutcome::Failed(record.message.unwrap_or_else(|| {
                format!("Slurm job {job} failed (exit code {})", record.exit_code)
            }))
        }
    };
    let output = if outcome.succeeded() {
        record.output
    } else {
        None
    };
    Completion::Finished {
        id: task.id,
        outcome,
        output,
    }
}

/// Where Slurm writes a job's standard output and error.
fn slurm_output(folder: &Path, job: JobRef) -> PathBuf {
    match job.index {
        Some(index) => folder.join(format!("slurm-{}_{index}.out", job.id)),
        None => folder.join(format!("slurm-{}.out", job.id)),
    }
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

fn minutes(time: Duration) -> String {
    format!("{} min", time.as_secs().div_ceil(60))
}

/// A word for a POSIX shell, in single quotes.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

impl Executor for SlurmExecutor<'_, '_> {
    /// Adopts the tasks an earlier driver's jobs are computing, then submits the rest: tasks of
    /// one family with the same resources go out together as arrays (chunked to the cluster's
    /// `MaxArraySize`), within the profile's jobs in flight and submissions per minute.
    fn offer(&mut self, ready: &mut VecDeque<Task>) {
        let mut i = 0;
        while i < ready.len() {
            let Some((job, folder, index)) = self.adoptable.remove(&ready[i].key) else {
                i += 1;
                continue;
            };
            let Some(task) = ready.remove(i) else { break };
            self.observer.started(task.id, &task.name);
            self.adopted += 1;
            self.tracked.insert(
                job,
                Tracked {
                    task,
                    folder,
                    index,
                    resubmits: 0,
                    exclude: Vec::new(),
                    since: Instant::now(),
                    missing: 0,
                },
            );
        }
        while let Some(first) = ready.front() {
            let room = (self.profile.max_jobs as usize).saturating_sub(self.tracked.len());
            if room == 0 || !self.may_submit() {
                break;
            }
            let family = first.family().to_string();
            let resources = first.resources;
            let mut group = Vec::new();
            let mut i = 0;
            while i < ready.len() && group.len() < room {
                if ready[i].family() == family && ready[i].resources == resources {
                    group.extend(ready.remove(i));
                } else {
                    i += 1;
                }
            }
            let mut rest = group.into_iter();
            for size in sbatch::chunks(rest.len(), self.max_array_size) {
                if !self.may_submit() {
                    break;
                }
                let chunk: Vec<Task> = rest.by_ref().take(size).collect();
                self.submit(chunk, Vec::new(), 0);
            }
            // What the submission rate held back waits, in order, for the next offer.
            for task in rest.rev() {
                ready.push_front(task);
            }
        }
    }

    fn in_flight(&self) -> usize {
        self.tracked.len()
    }

    fn wait(&mut self, until: Option<Instant>) -> Vec<Completion> {
        if !self.early.is_empty() {
            return std::mem::take(&mut self.early);
        }
        loop {
            if !self.tracked.is_empty() && Instant::now() >= self.next_poll {
                let done = self.poll();
                if !done.is_empty() || !self.early.is_empty() {
                    let mut all = std::mem::take(&mut self.early);
                    all.extend(done);
                    return all;
                }
            }
            let Some(until) = until else {
                if self.tracked.is_empty() {
                    return Vec::new();
                }
                std::thread::sleep(self.next_poll.saturating_duration_since(Instant::now()));
                continue;
            };
            let now = Instant::now();
            if now >= until {
                return Vec::new();
            }
            let wake = if self.tracked.is_empty() {
                until
            } else {
                until.min(self.next_poll)
            };
            std::thread::sleep(wake.saturating_duration_since(now));
        }
    }

    fn interrupt(&mut self) -> Vec<Completion> {
        let why = match self.setup.on_interrupt {
            OnInterrupt::Cancel => {
                if let Err(why) = self.slurm.cancel(&self.setup.job_name) {
                    eprintln!("warning: {why}");
                }
                "cancelled with the run (scancel)".to_string()
            }
            OnInterrupt::Detach => {
                "detached: it goes on in Slurm, and `rung run` again adopts it".to_string()
            }
        };
        let mut done = std::mem::take(&mut self.early);
        for (job, tracked) in std::mem::take(&mut self.tracked) {
            self.let_go.push(job);
            done.push(Completion::Finished {
                id: tracked.task.id,
                outcome: NodeOutcome::Skipped(format!("Slurm job {job}: {why}")),
                output: None,
            });
        }
        done
    }

    fn summary(&self) -> Option<String> {
        let mut line = format!(
            "slurm: {} jobs in {} sbatch calls ({} adopted, {} resubmitted); {} polling cycles, {} sacct and {} squeue queries",
            self.jobs,
            self.slurm.sbatch_calls,
            self.adopted,
            self.resubmitted,
            self.cycles,
            self.slurm.sacct_calls,
            self.slurm.squeue_calls
        );
        if !self.let_go.is_empty() {
            let jobs: Vec<String> = self.let_go.iter().map(JobRef::to_string).collect();
            let what = match self.setup.on_interrupt {
                OnInterrupt::Cancel => "cancelled",
                OnInterrupt::Detach => {
                    "detached from (still running; `rung run` again adopts them)"
                }
            };
            line.push_str(&format!("; {what}: {}", jobs.join(" ")));
        }
        Some(line)
    }
}
