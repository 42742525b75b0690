//! Model-based tests of caching: random plans run through the real scheduler and store, compared
//! with a plain reference model of which nodes must run.
//!
//! Every node of a generated plan runs the test operation `mix`, whose output is one number:
//! `(p mod m + the sum of its inputs' numbers + the sum of its files' numbers) mod k`. The output
//! depends on `p mod m`, not on `p`, so a parameter change can leave a node's output
//! byte-identical; and `mod k` lets a changed input be absorbed further down. The model keeps
//! the set of keys ever computed, a key being what the engine's key covers (the node, its
//! parameters, its inputs' *output contents* and its files' *contents*): a node runs iff its
//! key is new. That is exactly "its own parameters changed or an input's output changed", with
//! early cutoff wherever an output comes out the same.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config;
use rung_engine::graph::Dag;
use rung_engine::op::ProgressSink;
use rung_engine::scheduler::{NodeOutcome, Observer, Run, RunOptions, RunReport};
use rung_engine::store::SpecRecord;
use rung_engine::survey::{Inputs, Status, node_record, survey};
use rung_engine::{
    Catalog, Context, Digest, NodeId, OpError, OpSignature, Operation, Plan, Registry, Store, Value,
};

// ---------------------------------------------------------------------------------------------
// Generated plans

/// One generated node.
#[derive(Debug, Clone)]
struct NodeSpec {
    /// Earlier nodes it reads, in order (repeats allowed, as `[a, b, a]`).
    inputs: Vec<usize>,
    /// Input files it reads (indices into [`Spec::files`]).
    files: Vec<usize>,
    /// The parameter whose residue mod `m` enters the output.
    p: i64,
    /// The modulus applied to `p` (at least 2, so a change of `p` can change the output).
    m: i64,
    /// The output's range (at least `m`, so a change of `p mod m` always changes the output).
    k: i64,
}

/// A generated plan and the contents of its input files.
#[derive(Debug, Clone)]
struct Spec {
    nodes: Vec<NodeSpec>,
    /// The number written in each input file `f{j}.txt`.
    files: Vec<i64>,
}

impl Spec {
    fn ps(&self) -> Vec<i64> {
        self.nodes.iter().map(|n| n.p).collect()
    }

    /// The nodes downstream of `root`, `root` included.
    fn cone(&self, root: usize) -> BTreeSet<usize> {
        let mut cone = BTreeSet::from([root]);
        for (i, node) in self.nodes.iter().enumerate().skip(root + 1) {
            if node.inputs.iter().any(|j| cone.contains(j)) {
                cone.insert(i);
            }
        }
        cone
    }

    fn has_dependants(&self, i: usize) -> bool {
        self.nodes.iter().any(|n| n.inputs.contains(&i))
    }
}

fn node_strategy(i: usize, files: usize) -> BoxedStrategy<NodeSpec> {
    let inputs = if i == 0 {
        Just(Vec::new()).boxed()
    } else {
        prop::collection::vec(0..i, 0..=3).boxed()
    };
    (
        inputs,
        prop::collection::vec(0..files, 0..=1),
        0..1000i64,
        2..=5i64,
        0..=3i64,
    )
        .prop_map(|(inputs, files, p, m, extra)| NodeSpec {
            inputs,
            files,
            p,
            m,
            k: m + extra,
        })
        .boxed()
}

fn spec_strategy(max_nodes: usize) -> impl Strategy<Value = Spec> {
    (1..=max_nodes, 1..=3usize).prop_flat_map(|(n, f)| {
        let nodes: Vec<BoxedStrategy<NodeSpec>> = (0..n).map(|i| node_strategy(i, f)).collect();
        (nodes, prop::collection::vec(0..10i64, f)).prop_map(|(nodes, files)| Spec { nodes, files })
    })
}

fn label(i: usize) -> String {
    format!("n{i}")
}

fn file_name(j: usize) -> String {
    format!("f{j}.txt")
}

/// The plan of `spec` with the parameters `p` (one per node).
fn build_plan(spec: &Spec, p: &[i64]) -> Plan {
    let mut plan = Plan::new();
    let mut ids: Vec<NodeId> = Vec::new();
    for (i, node) in spec.nodes.iter().enumerate() {
        let inputs = node.inputs.iter().map(|&j| Value::Node(ids[j])).collect();
        let files = node
            .files
            .iter()
            .map(|&j| Value::File(file_name(j)))
            .collect();
        let params = vec![
            ("name".to_string(), Value::Str(label(i))),
            ("p".to_string(), Value::Int(p[i])),
            ("m".to_string(), Value::Int(node.m)),
            ("k".to_string(), Value::Int(node.k)),
            ("inputs".to_string(), Value::List(inputs)),
            ("files".to_string(), Value::List(files)),
        ];
        let id = plan.add("mix", 1, params, Some(label(i)));
        assert_eq!(id.index(), i, "node {i} was interned with an earlier one");
        ids.push(id);
    }
    plan
}

// ---------------------------------------------------------------------------------------------
// The reference model

/// Everything the engine's key of a node covers, with upstream outputs and files by content.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ModelKey {
    node: usize,
    p: i64,
    m: i64,
    k: i64,
    inputs: Vec<i64>,
    files: Vec<i64>,
}

/// Each node's output number, and its key.
fn evaluate(spec: &Spec, p: &[i64], files: &[i64]) -> (Vec<i64>, Vec<ModelKey>) {
    let mut outputs: Vec<i64> = Vec::new();
    let mut keys = Vec::new();
    for (i, node) in spec.nodes.iter().enumerate() {
        let inputs: Vec<i64> = node.inputs.iter().map(|&j| outputs[j]).collect();
        let file_values: Vec<i64> = node.files.iter().map(|&j| files[j]).collect();
        let sum =
            p[i].rem_euclid(node.m) + inputs.iter().sum::<i64>() + file_values.iter().sum::<i64>();
        outputs.push(sum.rem_euclid(node.k));
        keys.push(ModelKey {
            node: i,
            p: p[i],
            m: node.m,
            k: node.k,
            inputs,
            files: file_values,
        });
    }
    (outputs, keys)
}

/// The store as the model sees it: the keys computed so far.
#[derive(Default)]
struct Model {
    computed: HashSet<ModelKey>,
}

impl Model {
    /// Runs the plan: returns each node's output and the nodes that must execute.
    fn run(&mut self, spec: &Spec, p: &[i64], files: &[i64]) -> (Vec<i64>, BTreeSet<usize>) {
        let (outputs, keys) = evaluate(spec, p, files);
        let mut executed = BTreeSet::new();
        for (i, key) in keys.into_iter().enumerate() {
            if self.computed.insert(key) {
                executed.insert(i);
            }
        }
        (outputs, executed)
    }
}

// ---------------------------------------------------------------------------------------------
// The test operation

/// `mix`: writes `out.txt` holding `(p mod m + inputs + files) mod k`, counting its executions.
#[derive(Default)]
struct Mix {
    /// How long each execution sleeps, so that concurrent runs overlap.
    sleep: Duration,
    /// Executions per node label.
    counts: Mutex<HashMap<String, usize>>,
}

impl Mix {
    fn counts(&self) -> HashMap<String, usize> {
        self.counts.lock().unwrap().clone()
    }
}

fn read_number(path: &Path) -> Result<i64, OpError> {
    let text = fs::read_to_string(path)
        .map_err(|e| OpError::failed(format!("cannot read `{}`: {e}", path.display())))?;
    text.trim()
        .parse()
        .map_err(|e| OpError::failed(format!("`{}` holds {text:?}: {e}", path.display())))
}

impl Operation for Mix {
    fn name(&self) -> &'static str {
        "mix"
    }

    fn version(&self) -> u32 {
        1
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let name = ctx.str("name")?.to_string();
        let (p, m, k) = (ctx.int("p")?, ctx.int("m")?, ctx.int("k")?);
        let mut sum = p.rem_euclid(m);
        for dir in ctx.paths("inputs")? {
            sum += read_number(&dir.join("out.txt"))?;
        }
        for file in ctx.paths("files")? {
            sum += read_number(file)?;
        }
        std::thread::sleep(self.sleep);
        fs::write(
            ctx.out_dir().join("out.txt"),
            format!("{}\n", sum.rem_euclid(k)),
        )?;
        *self.counts.lock().unwrap().entry(name).or_default() += 1;
        Ok(())
    }
}

fn registry(op: Arc<Mix>) -> Registry {
    let mut catalog = Catalog::new();
    catalog
        .add_op(OpSignature {
            name: "mix",
            version: 1,
            doc: "The model's test operation.",
            params: Vec::new(),
            output: "number",
        })
        .unwrap();
    let mut registry = Registry::new(catalog);
    registry.implement(op).unwrap();
    registry
}

struct Quiet;

impl ProgressSink for Quiet {
    fn progress(&self, _node: NodeId, _done: u64, _total: u64, _unit: &str) {}
}

impl Observer for Quiet {}

// ---------------------------------------------------------------------------------------------
// Running plans against a real store

/// A data directory for the input files and a store, in one temporary directory.
struct Bench {
    _dir: tempfile::TempDir,
    data: PathBuf,
    store_root: PathBuf,
    store: Store,
    op: Arc<Mix>,
    registry: Registry,
}

/// What one run did, per node.
struct Ran {
    report: RunReport,
    /// The nodes whose outcome is `Ran`.
    executed: BTreeSet<usize>,
    /// Each node's output number, read back from the store.
    contents: Vec<i64>,
    /// Executions per node label during this run, as the operation counted them.
    counted: BTreeMap<String, usize>,
}

impl Bench {
    fn new(sleep: Duration) -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        fs::create_dir(&data).unwrap();
        let store_root = dir.path().join("store");
        let store = Store::open(&store_root).unwrap();
        let op = Arc::new(Mix {
            sleep,
            ..Mix::default()
        });
        let registry = registry(op.clone());
        Bench {
            _dir: dir,
            data,
            store_root,
            store,
            op,
            registry,
        }
    }

    fn write_files(&self, files: &[i64]) {
        for (j, value) in files.iter().enumerate() {
            fs::write(self.data.join(file_name(j)), format!("{value}\n")).unwrap();
        }
    }

    fn resolve(&self) -> impl Fn(&str) -> Result<PathBuf, String> + '_ {
        |name: &str| Ok(self.data.join(name))
    }

    /// Runs the whole plan of `spec` with parameters `p` on `store`, with the files as they are.
    fn run_on(&self, store: &Store, spec: &Spec, p: &[i64]) -> Ran {
        let before = self.op.counts();
        let plan = build_plan(spec, p);
        let dag = Dag::new(&plan).unwrap();
        let selected = dag.select(&[]).unwrap();
        let inputs = Inputs::gather(&dag, &selected, store, &self.resolve());
        let cancel = AtomicBool::new(false);
        let options = RunOptions {
            jobs: 4,
            keep_going: false,
            gpus: 0,
            memory: 0,
            cancel: &cancel,
            rung_version: "model-test",
        };
        let report = Run {
            dag: &dag,
            registry: &self.registry,
            store,
            inputs: &inputs,
            options: &options,
            observer: &Quiet,
        }
        .execute(&selected);
        assert!(report.succeeded(), "the run failed: {:?}", report.outcomes);
        let executed = (0..plan.len())
            .filter(|&i| matches!(report.outcomes[i], Some(NodeOutcome::Ran { .. })))
            .collect();
        let contents = (0..plan.len())
            .map(|i| {
                let output = report.outputs[i].unwrap();
                read_number(&store.object_dir(&output).join("out.txt")).unwrap()
            })
            .collect();
        let after = self.op.counts();
        let counted = after
            .into_iter()
            .map(|(name, n)| {
                let delta = n - before.get(&name).copied().unwrap_or(0);
                (name, delta)
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        Ran {
            report,
            executed,
            contents,
            counted,
        }
    }

    fn run(&self, spec: &Spec, p: &[i64]) -> Ran {
        self.run_on(&self.store, spec, p)
    }
}

fn names(nodes: &BTreeSet<usize>) -> String {
    let mut out = String::from("{");
    for (n, i) in nodes.iter().enumerate() {
        let _ = write!(out, "{}n{i}", if n > 0 { ", " } else { "" });
    }
    out.push('}');
    out
}

/// Checks a sequential run against the model's outputs and executed set, and checks that every
/// account of what ran (outcomes, `report.executed`, the operation's own count) agrees.
fn check_run(ran: &Ran, outputs: &[i64], expected: &BTreeSet<usize>, what: &str) {
    assert_eq!(
        ran.contents, outputs,
        "{what}: the outputs in the store differ from the model's"
    );
    assert_eq!(
        names(&ran.executed),
        names(expected),
        "{what}: the nodes that ran (left) are not the ones the model says must run (right)"
    );
    for (i, outcome) in ran.report.outcomes.iter().enumerate() {
        let outcome = outcome.as_ref().unwrap();
        assert!(
            matches!(outcome, NodeOutcome::Ran { .. } | NodeOutcome::Cached),
            "{what}: n{i} ended {outcome:?} in a run with no concurrent process"
        );
    }
    let ran_keys: Vec<Digest> = ran
        .executed
        .iter()
        .map(|&i| ran.report.keys[i].unwrap())
        .collect();
    let mut reported = ran.report.executed.clone();
    reported.sort();
    let mut expected_keys = ran_keys.clone();
    expected_keys.sort();
    assert_eq!(
        reported, expected_keys,
        "{what}: `report.executed` does not list exactly the keys of the nodes that ran"
    );
    let counted: BTreeMap<String, usize> = ran.executed.iter().map(|&i| (label(i), 1)).collect();
    assert_eq!(
        ran.counted, counted,
        "{what}: the operation's own count of executions (left) disagrees with the outcomes"
    );
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// A change of one node's `p` (or of one file's contents) between runs.
#[derive(Debug, Clone)]
enum Change {
    Param { node: Index, delta: i64 },
    File { file: Index, value: i64 },
}

fn change_strategy() -> impl Strategy<Value = Change> {
    prop_oneof![
        3 => (any::<Index>(), -12..=12i64).prop_map(|(node, delta)| Change::Param { node, delta }),
        1 => (any::<Index>(), 0..10i64).prop_map(|(file, value)| Change::File { file, value }),
    ]
}

// ---------------------------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(config(32))]

    /// A second run of an unchanged plan computes nothing and finds the same outputs.
    #[test]
    fn an_unchanged_plan_runs_nothing_the_second_time(spec in spec_strategy(40)) {
        let bench = Bench::new(Duration::ZERO);
        bench.write_files(&spec.files);
        let mut model = Model::default();
        let p = spec.ps();
        let (outputs, all) = model.run(&spec, &p, &spec.files);
        prop_assert_eq!(all.len(), spec.nodes.len());
        let first = bench.run(&spec, &p);
        check_run(&first, &outputs, &all, "first run");

        // Rewrite the files with the same bytes: a new mtime must not matter.
        bench.write_files(&spec.files);
        let second = bench.run(&spec, &p);
        for (i, outcome) in second.report.outcomes.iter().enumerate() {
            prop_assert_eq!(
                outcome.as_ref(),
                Some(&NodeOutcome::Cached),
                "second run: n{} was not found cached",
                i
            );
        }
        prop_assert!(
            second.report.executed.is_empty(),
            "second run executed {} keys",
            second.report.executed.len()
        );
        prop_assert!(second.counted.is_empty(), "second run: the op ran for {:?}", second.counted);
        prop_assert_eq!(&second.report.keys, &first.report.keys, "keys changed between runs");
        prop_assert_eq!(
            &second.report.outputs,
            &first.report.outputs,
            "outputs changed between runs"
        );
        prop_assert_eq!(&second.contents, &outputs);
    }

    /// Changing `p mod m` of one node reruns exactly what the model predicts: the node itself,
    /// then each dependant whose input's output changed, stopping where outputs come out equal.
    #[test]
    fn a_changed_residue_reruns_the_changed_part_of_its_cone(
        spec in spec_strategy(40),
        pick in any::<Index>(),
        step in any::<Index>(),
        wraps in -3..=3i64,
    ) {
        let bench = Bench::new(Duration::ZERO);
        bench.write_files(&spec.files);
        let mut model = Model::default();
        let p = spec.ps();
        let (outputs, all) = model.run(&spec, &p, &spec.files);
        check_run(&bench.run(&spec, &p), &outputs, &all, "first run");

        let c = pick.index(spec.nodes.len());
        let m = spec.nodes[c].m;
        // 1..m, never a multiple of m: the residue changes.
        let delta = 1 + step.index(usize::try_from(m - 1).unwrap()) as i64 + wraps * m;
        let mut changed = p.clone();
        changed[c] += delta;
        prop_assert_ne!(changed[c].rem_euclid(m), p[c].rem_euclid(m));

        let (new_outputs, expected) = model.run(&spec, &changed, &spec.files);
        let cone = spec.cone(c);
        prop_assert!(expected.contains(&c), "the model does not rerun the changed node n{}", c);
        prop_assert!(
            expected.is_subset(&cone),
            "the model reruns {} outside the cone {} of n{}",
            names(&expected),
            names(&cone),
            c
        );
        prop_assert_ne!(
            new_outputs[c],
            outputs[c],
            "k >= m, so a new residue must change n{}'s output",
            c
        );
        let what = format!("after p of n{c}: {} -> {} (m = {m})", p[c], changed[c]);
        check_run(&bench.run(&spec, &changed), &new_outputs, &expected, &what);
    }

    /// Changing `p` by a multiple of `m` changes the node's key but not its output: it reruns,
    /// and none of its dependants does (early cutoff).
    #[test]
    fn an_unchanged_output_cuts_the_rerun_off(
        spec in spec_strategy(40),
        pick in any::<Index>(),
        wraps in prop_oneof![-3..=-1i64, 1..=3i64],
    ) {
        let bench = Bench::new(Duration::ZERO);
        bench.write_files(&spec.files);
        let mut model = Model::default();
        let p = spec.ps();
        let (outputs, all) = model.run(&spec, &p, &spec.files);
        check_run(&bench.run(&spec, &p), &outputs, &all, "first run");

        // Prefer a node with dependants, so that there is something to cut off.
        let candidates: Vec<usize> = (0..spec.nodes.len())
            .filter(|&i| spec.has_dependants(i))
            .collect();
        let c = if candidates.is_empty() {
            pick.index(spec.nodes.len())
        } else {
            *pick.get(&candidates)
        };
        let m = spec.nodes[c].m;
        let mut changed = p.clone();
        changed[c] += wraps * m;
        let (new_outputs, expected) = model.run(&spec, &changed, &spec.files);
        prop_assert_eq!(&new_outputs, &outputs);
        prop_assert_eq!(names(&expected), names(&BTreeSet::from([c])));
        let what = format!("after p of n{c}: {} -> {} (m = {m})", p[c], changed[c]);
        let second = bench.run(&spec, &changed);
        prop_assert!(
            second.executed.contains(&c),
            "{}: n{} did not rerun, so its key ignores `p`",
            &what,
            c
        );
        let dependants: BTreeSet<usize> = second.executed.iter().copied().filter(|&i| i != c).collect();
        prop_assert!(
            dependants.is_empty(),
            "{}: n{}'s output is byte-identical, yet {} reran (no early cutoff)",
            &what,
            c,
            names(&dependants)
        );
        check_run(&second, &outputs, &expected, &what);
    }

    /// A history of changes (parameters up and down, reverted, by multiples of `m`; files
    /// rewritten, sometimes with the same bytes): each run executes exactly the keys the model
    /// has not seen, and `survey` beforehand agrees with what the run then does.
    #[test]
    fn every_run_of_a_history_executes_exactly_the_new_keys(
        spec in spec_strategy(30),
        changes in prop::collection::vec(change_strategy(), 1..=6),
    ) {
        let bench = Bench::new(Duration::ZERO);
        let mut model = Model::default();
        let mut p = spec.ps();
        let mut files = spec.files.clone();
        bench.write_files(&files);
        let (outputs, all) = model.run(&spec, &p, &files);
        check_run(&bench.run(&spec, &p), &outputs, &all, "first run");

        for (step, change) in changes.iter().enumerate() {
            let what = match change {
                Change::Param { node, delta } => {
                    let i = node.index(spec.nodes.len());
                    p[i] += delta;
                    format!("step {step}: p of n{i} += {delta} (now {}, m = {})", p[i], spec.nodes[i].m)
                }
                Change::File { file, value } => {
                    let j = file.index(files.len());
                    files[j] = *value;
                    bench.write_files(&files);
                    format!("step {step}: {} := {value}", file_name(j))
                }
            };
            let (outputs, expected) = model.run(&spec, &p, &files);

            let plan = build_plan(&spec, &p);
            let dag = Dag::new(&plan).unwrap();
            let selected = dag.select(&[]).unwrap();
            let inputs = Inputs::gather(&dag, &selected, &bench.store, &bench.resolve());
            let surveyed = survey(&dag, &selected, &bench.store, &inputs, None);

            let ran = bench.run(&spec, &p);
            check_run(&ran, &outputs, &expected, &what);
            for i in 0..spec.nodes.len() {
                if let Some(key) = surveyed.keys[i] {
                    prop_assert_eq!(
                        Some(key),
                        ran.report.keys[i],
                        "{}: survey and run give n{} different keys",
                        &what,
                        i
                    );
                }
                let cached = surveyed.status[i] == Some(Status::Cached);
                prop_assert_eq!(
                    cached,
                    !expected.contains(&i) && surveyed.keys[i].is_some(),
                    "{}: survey says n{} is {:?}, the model says it {} run",
                    &what,
                    i,
                    surveyed.status[i],
                    if expected.contains(&i) { "must" } else { "need not" }
                );
            }
        }
    }

    /// Two runs of one plan at once, each with its own handle on one store directory: the key
    /// locks make every key execute exactly once in all, and both runs see the same outputs.
    #[test]
    fn concurrent_runs_compute_every_key_once(spec in spec_strategy(24)) {
        let bench = Bench::new(Duration::from_millis(3));
        bench.write_files(&spec.files);
        let (outputs, _) = evaluate(&spec, &spec.ps(), &spec.files);
        let p = spec.ps();
        // Open both handles here: `Store::open` run concurrently in one process can fail (its
        // write probe is named by the process id only), and a thread that panicked before the
        // barrier would leave the other waiting for ever.
        let stores = [0, 1].map(|_| Store::open(&bench.store_root).unwrap());
        let barrier = Barrier::new(2);
        let [a, b] = std::thread::scope(|scope| {
            let handles = stores.each_ref().map(|store| {
                let (bench, spec, p, barrier) = (&bench, &spec, &p, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    bench.run_on(store, spec, p)
                })
            });
            handles.map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        });
        let n = spec.nodes.len();
        let mut executed: Vec<Digest> = a.report.executed.clone();
        executed.extend(b.report.executed.iter().copied());
        let distinct: BTreeSet<Digest> = executed.iter().copied().collect();
        prop_assert_eq!(
            distinct.len(),
            executed.len(),
            "a key was executed by both runs ({} executions of {} distinct keys)",
            executed.len(),
            distinct.len()
        );
        prop_assert_eq!(
            executed.len(),
            n,
            "the two runs executed {} + {} keys for {} nodes",
            a.report.executed.len(),
            b.report.executed.len(),
            n
        );
        let counts = bench.op.counts();
        for i in 0..n {
            prop_assert_eq!(
                counts.get(&label(i)).copied(),
                Some(1),
                "the operation ran n{} {:?} times in all",
                i,
                counts.get(&label(i))
            );
            let ran_in = [&a, &b]
                .iter()
                .filter(|r| r.executed.contains(&i))
                .count();
            prop_assert_eq!(ran_in, 1, "n{} ran in {} of the two runs", i, ran_in);
            for (run, other) in [("first", &b), ("second", &a)] {
                if !other.executed.contains(&i) {
                    let outcome = other.report.outcomes[i].as_ref().unwrap();
                    prop_assert!(
                        matches!(outcome, NodeOutcome::Cached | NodeOutcome::ComputedElsewhere),
                        "n{} ran in the {} run, but the other one ended it {:?}",
                        i,
                        run,
                        outcome
                    );
                }
            }
        }
        prop_assert_eq!(&a.report.keys, &b.report.keys, "the two runs computed different keys");
        prop_assert_eq!(
            &a.report.outputs,
            &b.report.outputs,
            "the two runs found different outputs"
        );
        prop_assert_eq!(&a.contents, &outputs, "outputs differ from the model's");
        prop_assert_eq!(&b.contents, &outputs, "outputs differ from the model's");

        // A third handle on the store finds everything.
        let store = Store::open(&bench.store_root).unwrap();
        let third = bench.run_on(&store, &spec, &p);
        prop_assert!(
            third.executed.is_empty(),
            "a third run executed {}",
            names(&third.executed)
        );
    }

    /// After a change of one node's `p`, `survey` (with the spec's last run recorded) calls that
    /// node and its whole cone stale, since their keys cannot be known before the run, and
    /// everything else cached; without a record they are new. After the run all is cached.
    #[test]
    fn survey_calls_the_cone_of_a_change_stale(
        spec in spec_strategy(30),
        pick in any::<Index>(),
        delta in prop_oneof![-7..=-1i64, 1..=7i64],
    ) {
        let bench = Bench::new(Duration::ZERO);
        bench.write_files(&spec.files);
        let c = pick.index(spec.nodes.len());
        let mut changed = spec.ps();
        changed[c] += delta;
        check_survey(&bench, &spec, c, &changed);
    }
}

/// Runs `spec`, records the run, changes to `changed` (which differs at node `c`) and checks what
/// `survey` says before and after the new run.
fn check_survey(bench: &Bench, spec: &Spec, c: usize, changed: &[i64]) {
    let p = spec.ps();
    let first = bench.run(spec, &p);
    let plan = build_plan(spec, &p);
    let dag = Dag::new(&plan).unwrap();
    let selected = dag.select(&[]).unwrap();
    let inputs = Inputs::gather(&dag, &selected, &bench.store, &bench.resolve());
    let mut nodes = BTreeMap::new();
    for &id in dag.order() {
        let key = first.report.keys[id.index()].unwrap();
        let record = node_record(&dag, id, key, &first.report.outputs, &inputs, 0.0).unwrap();
        nodes.insert(dag.name(id).to_string(), record);
    }
    let record = SpecRecord {
        spec: PathBuf::from("/model/spec.rung"),
        overrides: Vec::new(),
        nodes,
    };
    bench.store.write_spec_record(&record).unwrap();
    let record = bench
        .store
        .spec_record(Path::new("/model/spec.rung"))
        .unwrap();

    let plan = build_plan(spec, changed);
    let dag = Dag::new(&plan).unwrap();
    let selected = dag.select(&[]).unwrap();
    let inputs = Inputs::gather(&dag, &selected, &bench.store, &bench.resolve());
    let cone = spec.cone(c);
    let recorded = survey(&dag, &selected, &bench.store, &inputs, Some(&record));
    let fresh = survey(&dag, &selected, &bench.store, &inputs, None);
    for i in 0..spec.nodes.len() {
        let status = recorded.status[i].as_ref().unwrap();
        let unrecorded = fresh.status[i].as_ref().unwrap();
        if !cone.contains(&i) {
            assert_eq!(
                status,
                &Status::Cached,
                "n{i} is outside the cone {} of n{c}, yet not cached",
                names(&cone)
            );
            assert_eq!(unrecorded, &Status::Cached, "n{i} (no record)");
            continue;
        }
        let Status::Stale(reasons) = status else {
            panic!(
                "n{i} is in the cone {} of n{c}, yet {status:?}",
                names(&cone)
            );
        };
        assert_eq!(
            unrecorded,
            &Status::New,
            "n{i} is in the cone, and with no record it should be new"
        );
        let reasons: BTreeSet<&str> = reasons.iter().map(String::as_str).collect();
        let expected: BTreeSet<String> = if i == c {
            BTreeSet::from([format!("param p: {} -> {}", p[c], changed[c])])
        } else {
            spec.nodes[i]
                .inputs
                .iter()
                .filter(|j| cone.contains(j))
                .map(|j| format!("upstream {} changed", label(*j)))
                .collect()
        };
        let expected: BTreeSet<&str> = expected.iter().map(String::as_str).collect();
        assert_eq!(reasons, expected, "the reasons n{i} is stale");
    }
    let counts = recorded.counts();
    assert_eq!(
        counts,
        [
            ("cached", spec.nodes.len() - cone.len()),
            ("stale", cone.len()),
            ("new", 0),
            ("blocked", 0)
        ],
        "survey's counts after changing n{c}"
    );

    bench.run(spec, changed);
    let after = survey(&dag, &selected, &bench.store, &inputs, Some(&record));
    assert_eq!(
        after.counts()[0],
        ("cached", spec.nodes.len()),
        "after the run everything should be cached: {:?}",
        after.status
    );
}

// ---------------------------------------------------------------------------------------------
// Fixed scenarios

fn node(inputs: &[usize], p: i64, m: i64, k: i64) -> NodeSpec {
    NodeSpec {
        inputs: inputs.to_vec(),
        files: Vec::new(),
        p,
        m,
        k,
    }
}

/// A diamond with a tail and a bystander: `a -> b, a -> c, (b, c) -> d -> e`, and `z` alone.
fn diamond() -> Spec {
    Spec {
        nodes: vec![
            node(&[], 1, 3, 3),     // n0 = a
            node(&[0], 0, 2, 5),    // n1 = b
            node(&[0], 0, 2, 5),    // n2 = c
            node(&[1, 2], 0, 2, 7), // n3 = d
            node(&[3], 0, 2, 9),    // n4 = e
            node(&[], 4, 5, 5),     // n5 = z
        ],
        files: vec![0],
    }
}

#[test]
fn survey_calls_the_cone_of_a_changed_parameter_stale() {
    let spec = diamond();
    let bench = Bench::new(Duration::ZERO);
    bench.write_files(&spec.files);
    let mut changed = spec.ps();
    changed[1] += 1;
    // b's cone is b, d, e: a, c and z stay cached.
    assert_eq!(spec.cone(1), BTreeSet::from([1, 3, 4]));
    check_survey(&bench, &spec, 1, &changed);
}

#[test]
fn a_rerun_that_reproduces_its_output_stops_the_wave() {
    // a (k = 4) feeds b (k = 2) feeds c. Moving a's output by 2 changes b's key, but b's output
    // comes out the same, so c stays cached.
    let spec = Spec {
        nodes: vec![node(&[], 0, 4, 4), node(&[0], 0, 2, 2), node(&[1], 0, 2, 2)],
        files: vec![0],
    };
    let bench = Bench::new(Duration::ZERO);
    bench.write_files(&spec.files);
    let mut model = Model::default();
    let (outputs, all) = model.run(&spec, &spec.ps(), &spec.files);
    check_run(&bench.run(&spec, &spec.ps()), &outputs, &all, "first run");
    assert_eq!(outputs, [0, 0, 0]);

    let changed = [2, 0, 0];
    let (new_outputs, expected) = model.run(&spec, &changed, &spec.files);
    assert_eq!(new_outputs, [2, 0, 0]);
    assert_eq!(expected, BTreeSet::from([0, 1]));
    check_run(
        &bench.run(&spec, &changed),
        &new_outputs,
        &expected,
        "a: p 0 -> 2",
    );

    // And back: every key is already in the store.
    let (_, expected) = model.run(&spec, &spec.ps(), &spec.files);
    assert!(expected.is_empty());
    check_run(
        &bench.run(&spec, &spec.ps()),
        &outputs,
        &expected,
        "a: p 2 -> 0",
    );
}

#[test]
fn a_changed_input_file_reruns_its_readers_and_their_changed_dependants() {
    let mut spec = diamond();
    spec.nodes[0].files = vec![0];
    spec.nodes[5].files = vec![0];
    let bench = Bench::new(Duration::ZERO);
    bench.write_files(&spec.files);
    let mut model = Model::default();
    let p = spec.ps();
    let (outputs, all) = model.run(&spec, &p, &spec.files);
    check_run(&bench.run(&spec, &p), &outputs, &all, "first run");

    let files = [1];
    bench.write_files(&files);
    let (new_outputs, expected) = model.run(&spec, &p, &files);
    assert!(
        expected.contains(&0) && expected.contains(&5),
        "{}",
        names(&expected)
    );
    check_run(
        &bench.run(&spec, &p),
        &new_outputs,
        &expected,
        "f0.txt: 0 -> 1",
    );
}
