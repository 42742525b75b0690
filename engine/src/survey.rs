//! What a run would do and why: each node is cached, stale, new or blocked, with the reason at
//! the level of fields (`param lr: 5e-6 -> 1e-5`, `input gsm8k/test.jsonl changed`,
//! `upstream rasch changed`), found by comparing with the spec's last run.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use crate::digest::Digest;
use crate::graph::Dag;
use crate::key::key_of;
use crate::plan::{Node, NodeId};
use crate::store::{Lookup, NodeRecord, SpecRecord, Store};
use crate::value::Value;

/// The input files a plan names: where each was found and its content digest.
#[derive(Debug, Default)]
pub struct Inputs {
    paths: HashMap<String, PathBuf>,
    digests: HashMap<String, Digest>,
    missing: HashMap<String, String>,
}

impl Inputs {
    /// Resolves every file the selected nodes name with `resolve` (spec path -> disk path, or why
    /// not) and hashes it by content through the store's stat cache.
    pub fn gather(
        dag: &Dag<'_>,
        selected: &[bool],
        store: &Store,
        resolve: &dyn Fn(&str) -> Result<PathBuf, String>,
    ) -> Inputs {
        let mut inputs = Inputs::default();
        for (id, node) in dag.plan().iter() {
            if !selected[id.index()] {
                continue;
            }
            for file in node_files(node) {
                if inputs.paths.contains_key(file) || inputs.missing.contains_key(file) {
                    continue;
                }
                let outcome = resolve(file).and_then(|path| {
                    store
                        .hasher()
                        .path_digest(&path)
                        .map(|digest| (path.clone(), digest))
                        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))
                });
                match outcome {
                    Ok((path, digest)) => {
                        inputs.paths.insert(file.to_string(), path);
                        inputs.digests.insert(file.to_string(), digest);
                    }
                    Err(why) => {
                        inputs.missing.insert(file.to_string(), why);
                    }
                }
            }
        }
        inputs
    }

    /// Where each found file is on disk, by its path in the spec.
    pub fn paths(&self) -> &HashMap<String, PathBuf> {
        &self.paths
    }

    /// The content digest of a found file.
    pub fn digest(&self, file: &str) -> Option<Digest> {
        self.digests.get(file).copied()
    }

    /// Why a file named in the spec cannot be read, if it cannot.
    pub fn missing(&self, file: &str) -> Option<&str> {
        self.missing.get(file).map(String::as_str)
    }
}

/// The input files a node names, in order of appearance.
pub(crate) fn node_files(node: &Node) -> Vec<&str> {
    let mut files = Vec::new();
    for (_, value) in &node.params {
        collect_files(value, &mut files);
    }
    files
}

fn collect_files<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
    match value {
        Value::File(path) => out.push(path),
        Value::List(items) => items.iter().for_each(|v| collect_files(v, out)),
        Value::Record(fields) => fields.values().for_each(|v| collect_files(v, out)),
        _ => {}
    }
}

/// The first reason a node cannot run because of a missing input file.
pub(crate) fn missing_file(dag: &Dag<'_>, id: NodeId, inputs: &Inputs) -> Option<String> {
    node_files(dag.plan().node(id))
        .into_iter()
        .find_map(|f| inputs.missing(f).map(|why| format!("input `{f}`: {why}")))
}

/// The key of `id` once every upstream output is known.
pub(crate) fn key_when_ready(
    dag: &Dag<'_>,
    id: NodeId,
    outputs: &[Option<Digest>],
    inputs: &Inputs,
) -> Option<Digest> {
    let node = dag.plan().node(id);
    if node.inputs().iter().any(|i| outputs[i.index()].is_none()) {
        return None;
    }
    if node_files(node).iter().any(|f| inputs.digest(f).is_none()) {
        return None;
    }
    let zero = Digest::from_bytes([0; 32]);
    Some(key_of(
        node,
        &|i| outputs[i.index()].unwrap_or(zero),
        &|f| inputs.digest(f).unwrap_or(zero),
    ))
}

/// A node's state before a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Its output is in the store.
    Cached,
    /// It ran before from this spec, and something it depends on changed.
    Stale(Vec<String>),
    /// The spec never ran it.
    New,
    /// It cannot run: an input file is missing (or an upstream node is blocked).
    Blocked(String),
}

impl Status {
    /// `cached`, `stale`, `new` or `blocked`.
    pub fn word(&self) -> &'static str {
        match self {
            Status::Cached => "cached",
            Status::Stale(_) => "stale",
            Status::New => "new",
            Status::Blocked(_) => "blocked",
        }
    }
}

/// Every selected node's status, with its key and output where known.
#[derive(Debug)]
pub struct Survey {
    /// Status per node (`None` when not selected).
    pub status: Vec<Option<Status>>,
    /// Key per node, when all its inputs are known.
    pub keys: Vec<Option<Digest>>,
    /// Output per cached node.
    pub outputs: Vec<Option<Digest>>,
    /// Seconds the spec's last run spent on the nodes that are not cached (where recorded).
    pub estimate_s: f64,
}

impl Survey {
    /// Counts per status word, in the order cached, stale, new, blocked.
    pub fn counts(&self) -> [(&'static str, usize); 4] {
        let mut counts = [("cached", 0), ("stale", 0), ("new", 0), ("blocked", 0)];
        for status in self.status.iter().flatten() {
            let slot = match status {
                Status::Cached => 0,
                Status::Stale(_) => 1,
                Status::New => 2,
                Status::Blocked(_) => 3,
            };
            counts[slot].1 += 1;
        }
        counts
    }
}

/// Surveys the selected nodes: looks each computable key up, and explains every node that is
/// not cached by comparing it with `last`, the spec's last run.
pub fn survey(
    dag: &Dag<'_>,
    selected: &[bool],
    store: &Store,
    inputs: &Inputs,
    last: Option<&SpecRecord>,
) -> Survey {
    let n = dag.plan().len();
    let mut survey = Survey {
        status: vec![None; n],
        keys: vec![None; n],
        outputs: vec![None; n],
        estimate_s: 0.0,
    };
    for &id in dag.order() {
        if !selected[id.index()] {
            continue;
        }
        let blocked_upstream = dag
            .inputs(id)
            .into_iter()
            .find(|i| matches!(survey.status[i.index()], Some(Status::Blocked(_))));
        if let Some(why) = missing_file(dag, id, inputs) {
            survey.status[id.index()] = Some(Status::Blocked(why));
            continue;
        }
        if let Some(upstream) = blocked_upstream {
            let why = format!("upstream `{}` is blocked", dag.name(upstream));
            survey.status[id.index()] = Some(Status::Blocked(why));
            continue;
        }
        let key = key_when_ready(dag, id, &survey.outputs, inputs);
        survey.keys[id.index()] = key;
        let lookup = key.map(|k| store.lookup(&k));
        if let Some(Lookup::Hit(output)) = lookup {
            survey.outputs[id.index()] = Some(output);
            survey.status[id.index()] = Some(Status::Cached);
            continue;
        }
        let record = last.and_then(|r| r.nodes.get(dag.name(id)));
        let status = match record {
            None => Status::New,
            Some(record) => {
                survey.estimate_s += record.duration_s;
                let mut reasons = differences(dag, id, record, &survey, inputs);
                if reasons.is_empty() {
                    reasons.push(match lookup {
                        Some(Lookup::Corrupt(why)) => format!("its store entry is unusable: {why}"),
                        _ => "its output is no longer in the store".to_string(),
                    });
                }
                Status::Stale(reasons)
            }
        };
        survey.status[id.index()] = Some(status);
    }
    survey
}

/// What differs between a node and its record, field by field.
fn differences(
    dag: &Dag<'_>,
    id: NodeId,
    record: &NodeRecord,
    survey: &Survey,
    inputs: &Inputs,
) -> Vec<String> {
    let node = dag.plan().node(id);
    let mut reasons = Vec::new();
    if node.op != record.op {
        reasons.push(format!("operation: {} -> {}", record.op, node.op));
    } else if node.version != record.version {
        reasons.push(format!(
            "`{}` version: {} -> {}",
            node.op, record.version, node.version
        ));
    }
    let now = params_text(dag, id);
    let none = "(none)".to_string();
    for (name, text) in &now {
        let before = record.params.get(name).unwrap_or(&none);
        if before != text {
            reasons.push(format!("param {name}: {before} -> {text}"));
        }
    }
    for (name, before) in &record.params {
        if !now.contains_key(name) {
            reasons.push(format!("param {name}: {before} -> (none)"));
        }
    }
    for file in node_files(node) {
        if record.files.get(file).copied() != inputs.digest(file) && record.files.contains_key(file)
        {
            reasons.push(format!("input {file} changed"));
        }
    }
    let mut changed_upstream = Vec::new();
    for upstream in dag.inputs(id) {
        let name = dag.name(upstream);
        let changed = match (survey.outputs[upstream.index()], record.upstream.get(name)) {
            (Some(now), Some(before)) => now != *before,
            (None, _) => true,
            (Some(_), None) => false,
        };
        if changed && record.upstream.contains_key(name) {
            changed_upstream.push(name);
        }
    }
    if changed_upstream.len() > 3 {
        reasons.push(format!(
            "upstream {} and {} more changed",
            changed_upstream[..2].join(", "),
            changed_upstream.len() - 2
        ));
    } else {
        reasons.extend(
            changed_upstream
                .iter()
                .map(|name| format!("upstream {name} changed")),
        );
    }
    reasons
}

/// Each parameter's canonical text, upstream nodes by name.
pub fn params_text(dag: &Dag<'_>, id: NodeId) -> BTreeMap<String, String> {
    dag.plan()
        .node(id)
        .params
        .iter()
        .map(|(name, value)| (name.clone(), dag.value_text(value)))
        .collect()
}

/// The record of a finished node, for the spec's next explanation.
pub fn node_record(
    dag: &Dag<'_>,
    id: NodeId,
    key: Digest,
    outputs: &[Option<Digest>],
    inputs: &Inputs,
    duration_s: f64,
) -> Option<NodeRecord> {
    let node = dag.plan().node(id);
    let output = outputs[id.index()]?;
    let files = node_files(node);
    Some(NodeRecord {
        op: node.op.clone(),
        version: node.version,
        key,
        output,
        params: params_text(dag, id),
        files: files
            .into_iter()
            .filter_map(|f| inputs.digest(f).map(|d| (f.to_string(), d)))
            .collect(),
        upstream: dag
            .inputs(id)
            .into_iter()
            .filter_map(|i| outputs[i.index()].map(|d| (dag.name(i).to_string(), d)))
            .collect(),
        duration_s,
    })
}
