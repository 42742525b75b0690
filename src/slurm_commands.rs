//! `rung run --executor slurm`'s setup, `rung status`, and the internal `rung __job` each Slurm
//! job runs on its compute node.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rung_engine::op::ProgressSink;
use rung_engine::scheduler::{NodeOutcome, Observer, Run, RunOptions};
use rung_engine::survey::Inputs;
use rung_engine::{Dag, Digest, NodeId, Registry, Store};
use rung_slurm::cluster::Slurm;
use rung_slurm::ledger::{self, BatchTask};
use rung_slurm::{OnInterrupt, Profile, RunSetup};
use serde::{Deserialize, Serialize};

use crate::commands::Outcome;
use crate::{Places, places};

/// `--executor slurm`'s settings.
#[derive(Debug, Clone)]
pub(crate) struct SlurmSettings {
    /// `--slurm-profile`: the project's profile file, instead of looking for `rung-slurm.toml`.
    pub(crate) profile: Option<PathBuf>,
    /// `--on-interrupt`.
    pub(crate) on_interrupt: OnInterrupt,
}

/// How a job finds its spec again: stored in every batch.
#[derive(Debug, Serialize, Deserialize)]
struct Context {
    spec: PathBuf,
    overrides: Vec<String>,
    data_root: PathBuf,
    store: PathBuf,
}

/// The site profile for a spec, with the files it came from reported.
pub(crate) fn profile(settings: &SlurmSettings, spec: &Path) -> Result<Profile, Outcome> {
    let dir = spec
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match Profile::find(settings.profile.as_deref(), dir) {
        Ok((profile, files)) => {
            for file in files {
                eprintln!("slurm profile: {}", file.display());
            }
            Ok(profile)
        }
        Err(why) => {
            eprintln!("error: {why}");
            Err(Outcome::Usage)
        }
    }
}

/// The one job name of a run: the same for the same spec, `--set`s and store, so a restarted
/// driver finds its jobs again.
pub(crate) fn job_name(spec: &Path, overrides: &[String], store: &Path) -> String {
    let store = std::fs::canonicalize(store).unwrap_or_else(|_| store.to_path_buf());
    let mut text = format!(
        "{}\n{}\n",
        places::spec_identity(spec).display(),
        store.display()
    );
    for set in overrides {
        text.push_str(set);
        text.push('\n');
    }
    format!("rung-{}", Digest::of_bytes(text.as_bytes()).short(12))
}

/// Everything the Slurm executor needs from the front end.
pub(crate) fn setup(
    profile: &Profile,
    settings: &SlurmSettings,
    spec: &Path,
    overrides: &[String],
    places: &Places,
    store: &Store,
) -> Result<RunSetup, Outcome> {
    let absolute = |path: &Path| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let job_name = job_name(spec, overrides, store.root());
    let context = Context {
        spec: absolute(spec),
        overrides: overrides.to_vec(),
        data_root: absolute(&places::data_root(places, spec)),
        store: absolute(store.root()),
    };
    let rung = match &profile.rung {
        Some(rung) => rung.clone(),
        None => std::env::current_exe().map_err(|error| {
            eprintln!("error: cannot tell where this `rung` is, for the jobs to run it: {error}");
            Outcome::Usage
        })?,
    };
    Ok(RunSetup {
        folder: absolute(store.root()).join("slurm").join(&job_name),
        job_name,
        context: serde_json::to_value(&context).unwrap_or_default(),
        rung,
        on_interrupt: settings.on_interrupt,
    })
}

/// `rung status`: the run's jobs as Slurm sees them (one query): job, state, time, node.
pub(crate) fn status(file: &Path, overrides: &[String], places: &Places) -> Outcome {
    let store = places::store(places, Some(file));
    let name = job_name(file, overrides, &store);
    let mut slurm = Slurm::new();
    let rows = match slurm.jobs(&name) {
        Ok(rows) => rows,
        Err(why) => return crate::commands::fail(why),
    };
    if rows.is_empty() {
        println!(
            "no Slurm jobs named {name} (the run of `{}`)",
            file.display()
        );
        return Outcome::Ok;
    }
    let mut batches: HashMap<PathBuf, Vec<BatchTask>> = HashMap::new();
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    println!("{:<14} {:<14} {:>11}  NODE", "JOB", "STATE", "ELAPSED");
    for row in &rows {
        let tasks = batches.entry(row.folder.clone()).or_insert_with(|| {
            ledger::read_batch(&row.folder).map_or_else(|_| Vec::new(), |b| b.tasks)
        });
        let node = tasks
            .get(row.job.index.unwrap_or(0) as usize)
            .map_or("?", |t| t.node.as_str());
        let state = row.state.name();
        *counts.entry(state.to_string()).or_default() += 1;
        println!(
            "{:<14} {:<14} {:>11}  {node}",
            row.job.to_string(),
            state,
            row.elapsed
        );
    }
    let summary: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    println!("{name}: {} jobs: {}", rows.len(), summary.join(", "));
    Outcome::Ok
}

/// Hears nothing: a job's node writes its log in the store, and Slurm keeps its output.
struct Quiet;

impl ProgressSink for Quiet {
    fn progress(&self, _node: NodeId, _done: u64, _total: u64, _unit: &str) {}
}

impl Observer for Quiet {}

/// `rung __job FOLDER INDEX`: computes the node task `INDEX` of the batch names, against the
/// shared store, and records how it ended. The exit code is the job's.
pub(crate) fn job(registry: &Registry, folder: &Path, index: usize) -> std::process::ExitCode {
    let code = rung_slurm::job::run_job(folder, index, |context, task| {
        let context: Context = serde_json::from_value(context.clone())
            .map_err(|e| format!("the batch's context is not rung's: {e}"))?;
        compute(registry, &context, task)
    });
    std::process::ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Rebuilds the node from the spec and computes it.
fn compute(
    registry: &Registry,
    context: &Context,
    task: &BatchTask,
) -> Result<(NodeOutcome, Option<Digest>), String> {
    let checked = rung_lang::check_file(&context.spec, registry.catalog(), &context.overrides);
    let Some(program) = checked.program else {
        return Err(format!(
            "`{}` no longer checks: {} problem(s); run `rung check` on it",
            context.spec.display(),
            checked.diagnostics.len()
        ));
    };
    let dag = Dag::new(&program.plan).map_err(|e| e.to_string())?;
    let ids: HashMap<&str, NodeId> = dag.order().iter().map(|&id| (dag.name(id), id)).collect();
    let find = |name: &str| {
        ids.get(name)
            .copied()
            .ok_or_else(|| format!("`{}` has no node `{name}` any more", context.spec.display()))
    };
    let id = find(&task.node)?;
    let upstream = task
        .upstream
        .iter()
        .map(|u| Ok((find(&u.node)?, u.output, u.key)))
        .collect::<Result<Vec<_>, String>>()?;
    let store = Store::open(&context.store).map_err(|e| e.to_string())?;
    let mut selected = vec![false; program.plan.len()];
    selected[id.index()] = true;
    let inputs = Inputs::gather(&dag, &selected, &store, &|f| {
        places::resolve(&context.data_root, f)
    });
    let cancel = crate::engine_commands::cancel_flag();
    let jobs = std::env::var("SLURM_CPUS_PER_TASK")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u32));
    let options = RunOptions {
        jobs,
        keep_going: false,
        gpus: crate::machine::gpus(),
        memory: 0,
        cancel: &cancel,
        rung_version: env!("CARGO_PKG_VERSION"),
    };
    let run = Run {
        dag: &dag,
        registry,
        store: &store,
        inputs: &inputs,
        options: &options,
        observer: &Quiet,
    };
    let task = run.remote_task(id, task.key, &upstream)?;
    let result = run.run_remote(&task);
    if let Err(error) = store.save_cache() {
        eprintln!("warning: {error}");
    }
    Ok(result)
}
