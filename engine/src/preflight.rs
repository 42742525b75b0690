//! Checks made before anything runs: a node whose operation can estimate the memory it will
//! need, from its parameters and its upstream nodes' parameters, is refused when that exceeds
//! what the run may use, so a training node that cannot fit fails at plan time with the
//! numbers rather than out of memory an hour in; and a node whose operation finds an input
//! missing outside the data root (a model) is reported blocked, as a missing file is.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::graph::Dag;
use crate::op::{Params, Registry};
use crate::plan::{Node, NodeId, Plan};
use crate::survey::Status;
use crate::value::Value;

/// What an operation is shown of a node before it runs.
pub struct Preview<'a> {
    plan: &'a Plan,
    node: &'a Node,
    files: &'a HashMap<String, PathBuf>,
}

impl<'a> Preview<'a> {
    /// The node's parameters, defaults filled in.
    pub fn params(&self) -> &'a [(String, Value)] {
        &self.node.params
    }

    /// The parameters with typed getters.
    pub fn typed(&self) -> Params<'a> {
        Params::new(&self.node.op, &self.node.params)
    }

    /// The node an input value stands for: its operation and parameters.
    pub fn upstream(&self, value: &Value) -> Option<&'a Node> {
        match value {
            Value::Node(id) => Some(self.plan.node(*id)),
            _ => None,
        }
    }

    /// The same view of another node of the plan (to follow a chain of inputs).
    pub fn of(&self, node: &'a Node) -> Preview<'a> {
        Preview {
            plan: self.plan,
            node,
            files: self.files,
        }
    }

    /// Where an input file value is on disk, when it was found.
    pub fn file(&self, value: &Value) -> Option<&'a Path> {
        match value {
            Value::File(name) => self.files.get(name).map(PathBuf::as_path),
            _ => None,
        }
    }
}

/// Memory a node will need, estimated before it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryNeed {
    /// Bytes.
    pub bytes: u64,
    /// Whether the bytes are GPU memory (else host memory).
    pub on_gpu: bool,
    /// What the estimate is made of, for the message.
    pub detail: String,
}

/// The memory bounds a run is checked against; 0 means unknown (no check).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemoryBounds {
    /// Host memory the run may use.
    pub host: u64,
    /// Memory of one GPU.
    pub gpu: u64,
}

/// Marks as blocked every selected node whose operation says an input is missing
/// ([`Operation::missing_input`](crate::Operation::missing_input)), and every node not cached
/// downstream of a blocked one.
pub fn block_missing(
    dag: &Dag<'_>,
    selected: &[bool],
    registry: &Registry,
    files: &HashMap<String, PathBuf>,
    status: &mut [Option<Status>],
) {
    let plan = dag.plan();
    for &id in dag.order() {
        if !selected[id.index()] {
            continue;
        }
        let Some(current) = &status[id.index()] else {
            continue;
        };
        if matches!(current, Status::Blocked(_)) {
            continue;
        }
        let node = plan.node(id);
        let missing = registry
            .get(&node.op)
            .and_then(|op| op.missing_input(&Preview { plan, node, files }));
        if let Some(why) = missing {
            status[id.index()] = Some(Status::Blocked(why));
            continue;
        }
        if matches!(current, Status::Cached) {
            continue;
        }
        let upstream = dag
            .inputs(id)
            .into_iter()
            .find(|i| matches!(status[i.index()], Some(Status::Blocked(_))));
        if let Some(upstream) = upstream {
            status[id.index()] = Some(Status::Blocked(format!(
                "upstream `{}` is blocked",
                dag.name(upstream)
            )));
        }
    }
}

/// Every selected node that will not fit, with why: `(node, message)`.
pub fn check_memory(
    dag: &Dag<'_>,
    selected: &[bool],
    registry: &Registry,
    files: &HashMap<String, PathBuf>,
    bounds: MemoryBounds,
) -> Vec<(NodeId, String)> {
    let plan = dag.plan();
    let mut refused = Vec::new();
    for (id, node) in plan.iter() {
        if !selected[id.index()] {
            continue;
        }
        let Some(op) = registry.get(&node.op) else {
            continue;
        };
        let preview = Preview { plan, node, files };
        let Some(need) = op.memory_needed(&preview) else {
            continue;
        };
        let (bound, what) = if need.on_gpu {
            (bounds.gpu, "one GPU has")
        } else {
            (bounds.host, "this run may use")
        };
        if bound > 0 && need.bytes > bound {
            refused.push((
                id,
                format!(
                    "needs about {:.1} GiB but {what} {:.1} GiB ({}){}",
                    gib(need.bytes),
                    gib(bound),
                    need.detail,
                    if need.on_gpu {
                        ""
                    } else {
                        "; --memory raises the bound if the machine has more"
                    }
                ),
            ));
        }
    }
    refused
}

fn gib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1u32 << 30)
}
