//! A node's checkpoint folder outlives its failed attempts and runs, and disappears once its
//! output is published.

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use rung_engine::graph::Dag;
use rung_engine::op::{Context, OpError, Operation, ProgressSink, Registry};
use rung_engine::plan::{NodeId, Plan};
use rung_engine::scheduler::{NodeOutcome, Observer, Run, RunOptions};
use rung_engine::signature::{Catalog, OpSignature};
use rung_engine::store::Store;
use rung_engine::survey::Inputs;
use rung_engine::value::Value;

/// Counts to `steps`, one step per attempt, keeping the count in its checkpoint folder; an
/// attempt that has not reached the end fails. With `retries` it gets there within one run.
struct Resumable {
    retries: u32,
}

impl Operation for Resumable {
    fn name(&self) -> &'static str {
        "count"
    }

    fn version(&self) -> u32 {
        1
    }

    fn retries(&self) -> u32 {
        self.retries
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let steps = ctx.int("steps")?;
        let file = ctx.checkpoint_dir()?.join("count");
        let count = fs::read_to_string(&file)
            .ok()
            .and_then(|text| text.parse::<i64>().ok())
            .unwrap_or(0)
            + 1;
        fs::write(&file, count.to_string())?;
        ctx.status(&format!("at step {count}"));
        if count < steps {
            return Err(OpError::failed(format!("stopped after step {count}")));
        }
        fs::write(ctx.out_dir().join("count"), count.to_string())?;
        Ok(())
    }
}

/// Keeps the status lines operations report.
#[derive(Default)]
struct Statuses(std::sync::Mutex<Vec<String>>);

impl ProgressSink for Statuses {
    fn progress(&self, _node: NodeId, _done: u64, _total: u64, _unit: &str) {}

    fn status(&self, _node: NodeId, text: &str) {
        self.0.lock().expect("not poisoned").push(text.to_string());
    }
}

impl Observer for Statuses {}

fn run(store: &Store, retries: u32) -> (NodeOutcome, Option<PathBuf>, Vec<String>) {
    let mut catalog = Catalog::new();
    catalog
        .add_op(OpSignature {
            name: "count",
            version: 1,
            doc: "Counts across attempts.",
            params: Vec::new(),
            output: "number",
        })
        .expect("one operation");
    let mut registry = Registry::new(catalog);
    registry
        .implement(Arc::new(Resumable { retries }))
        .expect("implements its signature");
    let mut plan = Plan::new();
    plan.add(
        "count",
        1,
        vec![("steps".into(), Value::Int(3))],
        Some("count".into()),
    );
    let dag = Dag::new(&plan).expect("a DAG");
    let selected = dag.select(&[]).expect("everything");
    let resolve = |name: &str| -> Result<PathBuf, String> { Err(format!("no file {name}")) };
    let inputs = Inputs::gather(&dag, &selected, store, &resolve);
    let cancel = AtomicBool::new(false);
    let options = RunOptions {
        jobs: 1,
        keep_going: false,
        gpus: 0,
        memory: 0,
        cancel: &cancel,
        rung_version: "checkpoint-test",
    };
    let statuses = Statuses::default();
    let report = Run {
        dag: &dag,
        registry: &registry,
        store,
        inputs: &inputs,
        options: &options,
        observer: &statuses,
    }
    .execute(&selected);
    let outcome = report.outcomes[0].clone().expect("an outcome");
    let said = statuses.0.into_inner().expect("not poisoned");
    (
        outcome,
        report.outputs[0].map(|d| store.object_dir(&d)),
        said,
    )
}

fn checkpoint_folders(root: &std::path::Path) -> usize {
    fs::read_dir(root.join("checkpoints")).map_or(0, |entries| entries.count())
}

#[test]
fn retries_resume_from_the_checkpoint_and_publishing_removes_it() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open(dir.path()).expect("a store");
    let (outcome, output, statuses) = run(&store, 2);
    assert_eq!(
        statuses,
        ["at step 1", "at step 2", "at step 3"],
        "status lines reach the display"
    );
    assert!(
        matches!(outcome, NodeOutcome::Ran { attempts: 3, .. }),
        "{outcome:?}"
    );
    let count = fs::read_to_string(output.expect("an output").join("count")).expect("written");
    assert_eq!(count, "3", "each attempt went on from the previous one");
    assert_eq!(checkpoint_folders(dir.path()), 0, "removed once published");
}

#[test]
fn a_later_run_resumes_what_a_failed_run_left() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open(dir.path()).expect("a store");
    for expected in 1..3 {
        let (outcome, _, _) = run(&store, 0);
        assert!(
            matches!(&outcome, NodeOutcome::Failed(m) if m.contains(&format!("after step {expected}"))),
            "{outcome:?}"
        );
        assert_eq!(checkpoint_folders(dir.path()), 1, "kept after a failure");
    }
    let (outcome, output, _) = run(&store, 0);
    assert!(
        matches!(outcome, NodeOutcome::Ran { attempts: 1, .. }),
        "{outcome:?}"
    );
    assert_eq!(
        fs::read_to_string(output.expect("an output").join("count")).expect("written"),
        "3"
    );
    assert_eq!(checkpoint_folders(dir.path()), 0);
}
