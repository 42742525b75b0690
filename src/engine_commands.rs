//! The commands that drive the engine: plan, run, show, graph, gc and verify.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Instant, SystemTime};

use rung_engine::preflight::{MemoryBounds, block_missing, check_memory};
use rung_engine::scheduler::{NodeOutcome, Run, RunOptions};
use rung_engine::store::{ActionEntry, RunRecord, SpecRecord};
use rung_engine::survey::{Inputs, Status, node_record, survey};
use rung_engine::{Dag, Digest, NodeId, Registry, Store};
use rung_lang::{Program, check_file};
use rung_slurm::SlurmExecutor;

use crate::commands::Outcome;
use crate::progress::{Display, seconds_text};
use crate::{GraphFormat, Places, places, render};

/// `rung run`'s knobs beyond the spec and the places.
#[derive(Debug, Clone)]
pub(crate) struct RunSettings {
    pub(crate) jobs: Option<u32>,
    pub(crate) keep_going: bool,
    pub(crate) gpus: Option<u32>,
    pub(crate) memory: Option<u64>,
    /// `--executor slurm`'s settings; `None` computes here.
    pub(crate) slurm: Option<crate::slurm_commands::SlurmSettings>,
}

/// Checks a spec, printing its diagnostics.
fn load(registry: &Registry, file: &Path, overrides: &[String]) -> Result<Program, Outcome> {
    let checked = check_file(file, registry.catalog(), overrides);
    eprint!(
        "{}",
        render::diagnostics(&checked.sources, &checked.diagnostics)
    );
    checked.program.ok_or(Outcome::Diagnostics)
}

/// A checked spec with its DAG, the selected nodes, the open store and the gathered inputs.
struct Session<'p> {
    dag: Dag<'p>,
    selected: Vec<bool>,
    store: Store,
    inputs: Inputs,
    spec: PathBuf,
}

/// The DAG of a checked spec and the nodes `targets` select.
fn select<'p>(program: &'p Program, targets: &[String]) -> Result<(Dag<'p>, Vec<bool>), Outcome> {
    let dag = Dag::new(&program.plan).map_err(|error| {
        eprintln!("error: {error}");
        Outcome::Diagnostics
    })?;
    let selected = dag.select(targets).map_err(|error| {
        eprintln!("error: {error}");
        Outcome::Usage
    })?;
    Ok((dag, selected))
}

/// Opens the spec's store and gathers its input files.
fn attach<'p>(
    (dag, selected): (Dag<'p>, Vec<bool>),
    file: &Path,
    places: &Places,
) -> Result<Session<'p>, Outcome> {
    let store = open_store(&places::store(places, Some(file)), true)?;
    let root = places::data_root(places, file);
    let inputs = Inputs::gather(&dag, &selected, &store, &|f| places::resolve(&root, f));
    Ok(Session {
        dag,
        selected,
        store,
        inputs,
        spec: places::spec_identity(file),
    })
}

fn open_store(path: &Path, create: bool) -> Result<Store, Outcome> {
    if !create && !path.join("VERSION").is_file() {
        eprintln!(
            "error: there is no store at `{}`; pass --store DIR (or set RUNG_STORE)",
            path.display()
        );
        return Err(Outcome::Usage);
    }
    Store::open(path).map_err(|error| {
        eprintln!("error: {error}");
        Outcome::Diagnostics
    })
}

fn done(result: Result<Outcome, Outcome>) -> Outcome {
    result.unwrap_or_else(|outcome| outcome)
}

/// Says which selected nodes will not fit in `memory` bytes of host memory (or their GPU's);
/// true when all will.
fn fits(registry: &Registry, session: &Session<'_>, memory: u64) -> bool {
    let bounds = MemoryBounds {
        host: memory,
        gpu: crate::machine::gpu_memory(),
    };
    let refused = check_memory(
        &session.dag,
        &session.selected,
        registry,
        session.inputs.paths(),
        bounds,
    );
    for (id, why) in &refused {
        eprintln!("error: `{}` {why}", session.dag.name(*id));
    }
    refused.is_empty()
}

/// `rung plan`: every selected node's status and why, then a summary.
pub(crate) fn plan(
    registry: &Registry,
    file: &Path,
    overrides: &[String],
    targets: &[String],
    changed_only: bool,
    places: &Places,
) -> Outcome {
    done((|| {
        let program = load(registry, file, overrides)?;
        let session = attach(select(&program, targets)?, file, places)?;
        let last = session.store.spec_record(&session.spec);
        let mut survey = survey(
            &session.dag,
            &session.selected,
            &session.store,
            &session.inputs,
            last.as_ref(),
        );
        block_missing(
            &session.dag,
            &session.selected,
            registry,
            session.inputs.paths(),
            &mut survey.status,
        );
        let _ = session.store.save_cache();
        let mut out = BufWriter::new(std::io::stdout().lock());
        for &id in session.dag.order() {
            let Some(status) = &survey.status[id.index()] else {
                continue;
            };
            let name = session.dag.name(id);
            let _ = match status {
                Status::Cached if changed_only => Ok(()),
                Status::Cached | Status::New => writeln!(out, "{:<8} {name}", status.word()),
                Status::Stale(reasons) => {
                    writeln!(out, "{:<8} {name}  {}", status.word(), reasons.join("; "))
                }
                Status::Blocked(why) => writeln!(out, "{:<8} {name}  {why}", status.word()),
            };
        }
        let counts = survey.counts();
        let total: usize = counts.iter().map(|(_, n)| n).sum();
        let parts: Vec<String> = counts.iter().map(|(w, n)| format!("{n} {w}")).collect();
        let mut summary = format!("{total} nodes: {}", parts.join(", "));
        if survey.estimate_s > 0.0 {
            summary.push_str(&format!(
                "; the stale nodes took {} last time",
                seconds_text(survey.estimate_s)
            ));
        }
        let _ = writeln!(out, "{summary}");
        let _ = out.flush();
        let missing: Vec<String> = session
            .dag
            .order()
            .iter()
            .filter_map(|&id| match &survey.status[id.index()] {
                Some(Status::Blocked(why)) if !why.starts_with("upstream ") => {
                    Some(format!("  {}: {why}", session.dag.name(id)))
                }
                _ => None,
            })
            .collect();
        if !missing.is_empty() {
            eprintln!(
                "{} nodes are blocked by missing inputs:\n{}",
                counts[3].1,
                missing.join("\n")
            );
        }
        let fit = fits(registry, &session, crate::machine::memory());
        Ok(if counts[3].1 > 0 || !fit {
            Outcome::Diagnostics
        } else {
            Outcome::Ok
        })
    })())
}

/// `rung run`: computes what is not cached, then records the run.
pub(crate) fn run(
    registry: &Registry,
    file: &Path,
    overrides: &[String],
    targets: &[String],
    settings: &RunSettings,
    places: &Places,
) -> Outcome {
    done((|| {
        let clock = Instant::now();
        let start = SystemTime::now();
        let program = load(registry, file, overrides)?;
        let (dag, selected) = select(&program, targets)?;
        let missing: BTreeSet<&str> = dag
            .order()
            .iter()
            .filter(|id| selected[id.index()])
            .map(|id| dag.plan().node(*id).op.as_str())
            .filter(|op| registry.get(op).is_none())
            .collect();
        if !missing.is_empty() {
            eprintln!(
                "error: `{}` checks ({} nodes) but cannot run: no implementation yet for {}",
                file.display(),
                dag.plan().len(),
                missing
                    .iter()
                    .map(|op| format!("`{op}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            return Err(Outcome::Diagnostics);
        }
        let session = attach((dag, selected), file, places)?;
        let dag = &session.dag;
        let profile = match &settings.slurm {
            Some(slurm) => Some(crate::slurm_commands::profile(slurm, file)?),
            None => None,
        };
        // On Slurm every job has its own machine: this one's memory, cores and GPUs bound
        // nothing there, and each node's declared resources go to `sbatch` instead.
        let memory = match (&profile, settings.memory) {
            (_, Some(memory)) => memory,
            (Some(_), None) => 0,
            (None, None) => crate::machine::memory(),
        };
        if profile.is_none() && !fits(registry, &session, memory) {
            eprintln!("error: a node would not fit, so nothing ran");
            return Err(Outcome::Diagnostics);
        }
        let cancel = cancel_flag();
        let jobs = settings.jobs.unwrap_or_else(|| match &profile {
            Some(profile) => profile.max_cpus,
            None => std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
        });
        let gpus = settings.gpus.unwrap_or_else(|| match &profile {
            Some(_) => u32::MAX,
            None => crate::machine::gpus(),
        });
        let total = session.selected.iter().filter(|s| **s).count();
        let display = Display::new(total);
        let version = env!("CARGO_PKG_VERSION");
        let options = RunOptions {
            jobs,
            keep_going: settings.keep_going,
            gpus,
            memory,
            cancel: &cancel,
            rung_version: version,
        };
        let run = Run {
            dag,
            registry,
            store: &session.store,
            inputs: &session.inputs,
            options: &options,
            observer: &display,
        };
        let report = match (&settings.slurm, profile) {
            (Some(slurm), Some(profile)) => {
                let setup = crate::slurm_commands::setup(
                    &profile,
                    slurm,
                    file,
                    overrides,
                    places,
                    &session.store,
                )?;
                let mut executor =
                    SlurmExecutor::start(profile, setup, dag, &display).map_err(|why| {
                        eprintln!("error: {why}");
                        Outcome::Diagnostics
                    })?;
                if executor.adoptable() > 0 {
                    display.line(&format!(
                        "slurm: {} jobs of an earlier run are still queued or running; their nodes are adopted, not submitted again",
                        executor.adoptable()
                    ));
                }
                run.execute_on(&session.selected, &mut executor)
            }
            _ => run.execute(&session.selected),
        };
        display.finish();
        let store = &session.store;
        if let Err(error) = store.save_cache() {
            eprintln!("warning: {error}");
        }
        let mut record = store.spec_record(&session.spec).unwrap_or(SpecRecord {
            spec: session.spec.clone(),
            overrides: Vec::new(),
            nodes: BTreeMap::new(),
        });
        record.overrides = overrides.to_vec();
        let names: HashSet<&str> = dag.order().iter().map(|id| dag.name(*id)).collect();
        record.nodes.retain(|name, _| names.contains(name.as_str()));
        let mut counts = [0usize; 4];
        let mut failed = Vec::new();
        for &id in dag.order() {
            let Some(outcome) = &report.outcomes[id.index()] else {
                continue;
            };
            let slot = match outcome {
                NodeOutcome::Ran { .. } => 0,
                NodeOutcome::Cached | NodeOutcome::ComputedElsewhere => 1,
                NodeOutcome::Failed(_) => 2,
                NodeOutcome::Skipped(_) => 3,
            };
            counts[slot] += 1;
            if slot == 2 {
                failed.push(dag.name(id).to_string());
            }
            remember(
                &mut record,
                &session,
                &report.keys,
                &report.outputs,
                id,
                &report.seconds,
            );
        }
        if let Err(error) = store.write_spec_record(&record) {
            eprintln!("warning: {error}");
        }
        let run = RunRecord {
            spec: session.spec.clone(),
            pid: std::process::id(),
            host: rung_engine::store::host(),
            start: humantime::format_rfc3339_micros(start).to_string(),
            duration_s: clock.elapsed().as_secs_f64(),
            executed: report.executed.clone(),
            cached: counts[1],
            failed,
            interrupted: report.interrupted,
        };
        if let Err(error) = store.write_run_record(&run) {
            eprintln!("warning: {error}");
        }
        eprintln!(
            "{}: {} ran, {} cached, {} failed, {} skipped in {}",
            if report.interrupted {
                "interrupted"
            } else {
                "done"
            },
            counts[0],
            counts[1],
            counts[2],
            counts[3],
            seconds_text(clock.elapsed().as_secs_f64())
        );
        if let Some(line) = &report.executor {
            eprintln!("{line}");
        }
        Ok(if report.interrupted {
            Outcome::Interrupted
        } else if report.succeeded() {
            Outcome::Ok
        } else {
            Outcome::Diagnostics
        })
    })())
}

/// Updates the spec's record with a finished node (cached nodes keep their recorded duration).
fn remember(
    record: &mut SpecRecord,
    session: &Session<'_>,
    keys: &[Option<Digest>],
    outputs: &[Option<Digest>],
    id: NodeId,
    seconds: &[f64],
) {
    let (Some(key), Some(_)) = (keys[id.index()], outputs[id.index()]) else {
        return;
    };
    let name = session.dag.name(id);
    if record.nodes.get(name).is_some_and(|r| r.key == key) && seconds[id.index()] == 0.0 {
        return;
    }
    let fresh = node_record(
        &session.dag,
        id,
        key,
        outputs,
        &session.inputs,
        seconds[id.index()],
    );
    if let Some(fresh) = fresh {
        record.nodes.insert(name.to_string(), fresh);
    }
}

/// The flag Ctrl-C raises: the first press cancels the run gracefully, the second exits at once
/// (nothing partial is ever published, so that is safe too).
pub(crate) fn cancel_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let presses = AtomicU32::new(0);
    let raised = Arc::clone(&flag);
    let installed = ctrlc::set_handler(move || {
        if presses.fetch_add(1, Ordering::SeqCst) == 0 {
            raised.store(true, Ordering::SeqCst);
            eprintln!("\ncancelling: running nodes are stopping (Ctrl-C again to exit now)");
        } else {
            std::process::exit(Outcome::Interrupted as i32);
        }
    });
    if let Err(error) = installed {
        eprintln!("warning: Ctrl-C will not cancel gracefully: {error}");
    }
    flag
}

/// `rung show`: a node's provenance, output files and log.
pub(crate) fn show(
    registry: &Registry,
    node: &str,
    spec: Option<&Path>,
    overrides: &[String],
    places: &Places,
) -> Outcome {
    done((|| {
        let (store, key, entry) = stored(registry, node, spec, overrides, places)?;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "node      {}", entry.provenance.node);
        let _ = writeln!(out, "key       {key}");
        let _ = writeln!(
            out,
            "output    {}",
            store.object_dir(&entry.output).display()
        );
        for file in &entry.files {
            let _ = writeln!(
                out,
                "          {:>10}  {}",
                bytes_text(file.size),
                file.path
            );
        }
        let log = store.log_path(&key);
        if log.is_file() {
            let _ = writeln!(out, "log       {}", log.display());
        }
        let provenance = serde_json::to_string_pretty(&entry.provenance).unwrap_or_default();
        let _ = writeln!(out, "provenance\n{provenance}");
        Ok(Outcome::Ok)
    })())
}

/// The store, key and entry of a node's result: by name in `spec` (with `overrides`), else by
/// name in the specs the store has run, or by a prefix of its key.
fn stored(
    registry: &Registry,
    node: &str,
    spec: Option<&Path>,
    overrides: &[String],
    places: &Places,
) -> Result<(Store, Digest, ActionEntry), Outcome> {
    let (store, key) = match spec {
        Some(file) => {
            let program = load(registry, file, overrides)?;
            let session = attach(select(&program, &[])?, file, places)?;
            let dag = &session.dag;
            let Some(id) = dag.order().iter().copied().find(|id| {
                dag.name(*id) == node || dag.plan().node(*id).labels.iter().any(|l| l == node)
            }) else {
                eprintln!("error: `{}` has no node called `{node}`", file.display());
                return Err(Outcome::Usage);
            };
            let survey = survey(
                dag,
                &session.selected,
                &session.store,
                &session.inputs,
                None,
            );
            match (&survey.status[id.index()], survey.keys[id.index()]) {
                (Some(Status::Cached), Some(key)) => (session.store, key),
                (status, _) => {
                    let word = status.as_ref().map_or("unknown", Status::word);
                    eprintln!(
                        "error: `{node}` has no result in the store yet ({word}); `rung run` computes it"
                    );
                    return Err(Outcome::Diagnostics);
                }
            }
        }
        None => {
            let store = open_store(&places::store(places, None), false)?;
            let key = find_key(&store, node)?;
            (store, key)
        }
    };
    let Some(entry) = store.entry(&key) else {
        eprintln!("error: the store has no entry for key {key}");
        return Err(Outcome::Diagnostics);
    };
    Ok((store, key, entry))
}

/// Prints where a node's result is best looked at (a report's `index.html`, else its only
/// figure, else its folder) and, on a terminal, opens it with the desktop's viewer.
pub(crate) fn open(
    registry: &Registry,
    node: &str,
    spec: Option<&Path>,
    overrides: &[String],
    places: &Places,
) -> Outcome {
    done((|| {
        let (store, _, entry) = stored(registry, node, spec, overrides, places)?;
        let dir = store.object_dir(&entry.output);
        let figures: Vec<&str> = entry
            .files
            .iter()
            .map(|f| f.path.as_str())
            .filter(|p| p.ends_with(".png") || p.ends_with(".svg"))
            .collect();
        let target = if dir.join("index.html").is_file() {
            dir.join("index.html")
        } else if let [only] = figures.as_slice() {
            dir.join(only)
        } else {
            dir
        };
        let target = std::path::absolute(&target).unwrap_or(target);
        println!("{}", target.display());
        if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            let viewer = if cfg!(target_os = "macos") {
                "open"
            } else {
                "xdg-open"
            };
            if let Err(error) = std::process::Command::new(viewer).arg(&target).spawn() {
                eprintln!("note: could not start `{viewer}` ({error}); open the path above");
            }
        }
        Ok(Outcome::Ok)
    })())
}

/// Finds a key by a prefix of its hex, or by a node name in the store's spec records.
fn find_key(store: &Store, node: &str) -> Result<Digest, Outcome> {
    if node.len() >= 6 && node.bytes().all(|b| b.is_ascii_hexdigit()) {
        let keys = store.keys_with_prefix(&node.to_ascii_lowercase());
        if let [key] = keys.as_slice() {
            return Ok(*key);
        }
    }
    let mut found: BTreeMap<Digest, Vec<PathBuf>> = BTreeMap::new();
    for record in store.spec_records() {
        if let Some(node) = record.nodes.get(node) {
            found.entry(node.key).or_default().push(record.spec.clone());
        }
    }
    match found.len() {
        1 => Ok(*found.keys().next().unwrap_or(&Digest::from_bytes([0; 32]))),
        0 => {
            eprintln!(
                "error: no run recorded in the store has a node called `{node}`; pass --spec FILE"
            );
            Err(Outcome::Diagnostics)
        }
        _ => {
            eprintln!("error: several specs have a node called `{node}`; pass --spec FILE:");
            for specs in found.values() {
                for spec in specs {
                    eprintln!("  {}", spec.display());
                }
            }
            Err(Outcome::Usage)
        }
    }
}

/// `rung graph`: the selected part of the DAG as dot or Mermaid.
pub(crate) fn graph(
    registry: &Registry,
    file: &Path,
    overrides: &[String],
    targets: &[String],
    format: GraphFormat,
) -> Outcome {
    done((|| {
        let program = load(registry, file, overrides)?;
        let dag = Dag::new(&program.plan).map_err(|error| {
            eprintln!("error: {error}");
            Outcome::Diagnostics
        })?;
        let selected = dag.select(targets).map_err(|error| {
            eprintln!("error: {error}");
            Outcome::Usage
        })?;
        let mut out = BufWriter::new(std::io::stdout().lock());
        let _ = write_graph(&mut out, &dag, &selected, format);
        let _ = out.flush();
        Ok(Outcome::Ok)
    })())
}

fn write_graph(
    out: &mut impl Write,
    dag: &Dag<'_>,
    selected: &[bool],
    format: GraphFormat,
) -> std::io::Result<()> {
    // Opening, line break in a label, escaped quote, edge arrow, closing.
    let (open, newline, quote, edge, close) = match format {
        GraphFormat::Dot => (
            "digraph rung {\n  rankdir=LR;\n  node [shape=box];\n",
            "\\n",
            "\\\"",
            "->",
            "}\n",
        ),
        GraphFormat::Mermaid => ("flowchart LR\n", "<br/>", "#quot;", "-->", ""),
    };
    out.write_all(open.as_bytes())?;
    let ids: Vec<NodeId> = dag
        .order()
        .iter()
        .copied()
        .filter(|id| selected[id.index()])
        .collect();
    for &id in &ids {
        let label = format!("{}{newline}{}", dag.name(id), dag.plan().node(id).op);
        let label = label.replace('"', quote);
        match format {
            GraphFormat::Dot => writeln!(out, "  n{} [label=\"{label}\"];", id.index())?,
            GraphFormat::Mermaid => writeln!(out, "  n{}[\"{label}\"]", id.index())?,
        }
    }
    let end = if format == GraphFormat::Dot { ";" } else { "" };
    for &id in &ids {
        for input in dag.inputs(id) {
            writeln!(out, "  n{} {edge} n{}{end}", input.index(), id.index())?;
        }
    }
    out.write_all(close.as_bytes())
}

/// `rung gc`: keeps what the last run of every existing spec reached.
pub(crate) fn gc(max_size: Option<u64>, places: &Places) -> Outcome {
    done((|| {
        let store = open_store(&places::store(places, None), false)?;
        let mut roots = HashSet::new();
        for record in store.spec_records() {
            if record.spec.exists() {
                roots.extend(record.nodes.values().map(|n| n.key));
            } else {
                eprintln!(
                    "note: `{}` no longer exists; its results are no longer kept",
                    record.spec.display()
                );
            }
        }
        let report = store.gc(&roots, max_size);
        if let Err(error) = store.save_cache() {
            eprintln!("warning: {error}");
        }
        println!(
            "removed {} entries and {} outputs ({} freed); kept {} entries reached by current specs; outputs now take {}",
            report.entries_removed,
            report.objects_removed,
            bytes_text(report.bytes_freed),
            report.reachable,
            bytes_text(report.bytes_kept)
        );
        if let Some(max) = max_size
            && report.bytes_kept > max
        {
            eprintln!(
                "note: what current specs reach takes {}, more than --max-size {}; it is kept",
                bytes_text(report.bytes_kept),
                bytes_text(max)
            );
        }
        Ok(Outcome::Ok)
    })())
}

/// `rung verify`: re-hashes the store; damaged entries are reported and removed.
pub(crate) fn verify(places: &Places) -> Outcome {
    done((|| {
        let store = open_store(&places::store(places, None), false)?;
        let report = store.verify();
        for problem in &report.problems {
            eprintln!("corrupt: {problem}");
        }
        println!(
            "checked {} outputs and {} entries: {} problem(s){}; cleared {} leftover(s) of interrupted runs",
            report.objects,
            report.entries,
            report.problems.len(),
            if report.problems.is_empty() {
                ""
            } else {
                ", removed (the next run recomputes them)"
            },
            report.cleared
        );
        Ok(if report.problems.is_empty() {
            Outcome::Ok
        } else {
            Outcome::Diagnostics
        })
    })())
}

/// `512 B`, `1.5 KiB`, `3.2 GiB`.
fn bytes_text(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
