//! A plan as a DAG: edges from inputs to dependants, a cycle check, a name for every node, and
//! the selection of what a set of targets needs.

use std::collections::HashMap;
use std::fmt;

use petgraph::Direction;
use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Dfs, Reversed};

use crate::plan::{NodeId, Plan, write_value};
use crate::value::Value;

/// Why a plan cannot be run as a DAG, or a target cannot be found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphError {
    /// The plan's edges form a cycle through this node.
    Cycle(String),
    /// No node or family has this name.
    UnknownTarget {
        /// The name asked for.
        name: String,
        /// Names that exist and look alike.
        close: Vec<String>,
    },
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GraphError::Cycle(name) => write!(f, "the plan has a cycle through `{name}`"),
            GraphError::UnknownTarget { name, close } => {
                write!(f, "no node or family is called `{name}`")?;
                if !close.is_empty() {
                    write!(f, " (names with that prefix: {})", close.join(", "))?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for GraphError {}

/// A plan with its edges and node names.
#[derive(Debug)]
pub struct Dag<'p> {
    plan: &'p Plan,
    graph: DiGraph<(), ()>,
    order: Vec<NodeId>,
    names: Vec<String>,
}

impl<'p> Dag<'p> {
    /// Builds the DAG of `plan`, checking that it has no cycle.
    pub fn new(plan: &'p Plan) -> Result<Dag<'p>, GraphError> {
        let mut graph = DiGraph::with_capacity(plan.len(), plan.len());
        for _ in 0..plan.len() {
            graph.add_node(());
        }
        for (id, node) in plan.iter() {
            for input in node.inputs() {
                graph.add_edge(index(input), index(id), ());
            }
        }
        let names = names(plan);
        toposort(&graph, None)
            .map_err(|cycle| GraphError::Cycle(names[cycle.node_id().index()].clone()))?;
        // A plan lists inputs before dependants; keeping its order keeps listings in spec order.
        let order = (0..plan.len()).map(NodeId::from_index).collect();
        Ok(Dag {
            plan,
            graph,
            order,
            names,
        })
    }

    /// The plan.
    pub fn plan(&self) -> &'p Plan {
        self.plan
    }

    /// Every node in an order where inputs come before their dependants.
    pub fn order(&self) -> &[NodeId] {
        &self.order
    }

    /// A node's name: its first label in the spec, or, for a node written inline, its first
    /// dependant's name and the parameter it feeds (`tuned[3].base`).
    pub fn name(&self, id: NodeId) -> &str {
        &self.names[id.index()]
    }

    /// The nodes `id` reads.
    pub fn inputs(&self, id: NodeId) -> Vec<NodeId> {
        self.plan.node(id).inputs()
    }

    /// The nodes that read `id`.
    pub fn dependants(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.graph
            .neighbors_directed(index(id), Direction::Outgoing)
            .map(|i| NodeId::from_index(i.index()))
    }

    /// A value as the spec would write it, upstream nodes by name.
    pub fn value_text(&self, value: &Value) -> String {
        let mut out = String::new();
        write_value(value, &|id| self.name(id).to_string(), &mut out);
        out
    }

    /// Which nodes running `targets` needs: each target (a node's name, or a family's name for
    /// all its members) and everything upstream of it. No targets selects everything.
    pub fn select(&self, targets: &[String]) -> Result<Vec<bool>, GraphError> {
        if targets.is_empty() {
            return Ok(vec![true; self.plan.len()]);
        }
        let mut by_name: HashMap<&str, Vec<NodeId>> = HashMap::new();
        for (id, node) in self.plan.iter() {
            for label in &node.labels {
                by_name.entry(label.as_str()).or_default().push(id);
                if let Some((family, _)) = label.split_once('[') {
                    by_name.entry(family).or_default().push(id);
                }
            }
            by_name.entry(&self.names[id.index()]).or_default().push(id);
        }
        let mut selected = vec![false; self.plan.len()];
        let reversed = Reversed(&self.graph);
        for target in targets {
            let Some(ids) = by_name.get(target.as_str()) else {
                let stem = target.split(['[', '.']).next().unwrap_or(target);
                let mut close: Vec<String> = by_name
                    .keys()
                    .filter(|name| !stem.is_empty() && name.starts_with(stem))
                    .map(|name| name.to_string())
                    .collect();
                close.sort();
                close.truncate(5);
                return Err(GraphError::UnknownTarget {
                    name: target.clone(),
                    close,
                });
            };
            for id in ids {
                let mut dfs = Dfs::new(reversed, index(*id));
                while let Some(i) = dfs.next(reversed) {
                    selected[i.index()] = true;
                }
            }
        }
        Ok(selected)
    }
}

fn index(id: NodeId) -> NodeIndex {
    NodeIndex::new(id.index())
}

/// Names every node: labelled nodes by their first label, the others after the first dependant
/// that reads them and the parameter it reads them through.
fn names(plan: &Plan) -> Vec<String> {
    let mut names: Vec<Option<String>> = plan
        .nodes()
        .iter()
        .map(|n| n.labels.first().cloned())
        .collect();
    // Dependants come after their inputs, so walking backwards names a dependant first.
    for (id, node) in plan.iter().collect::<Vec<_>>().into_iter().rev() {
        let Some(own) = names[id.index()].clone() else {
            continue;
        };
        for (param, value) in &node.params {
            name_inputs(value, &format!("{own}.{param}"), &mut names);
        }
    }
    names
        .into_iter()
        .zip(plan.nodes())
        .map(|(name, node)| name.unwrap_or_else(|| format!("#{}", node.form_hash.short(12))))
        .collect()
}

fn name_inputs(value: &Value, path: &str, names: &mut [Option<String>]) {
    match value {
        Value::Node(id) => {
            let slot = &mut names[id.index()];
            if slot.is_none() {
                *slot = Some(path.to_string());
            }
        }
        Value::List(items) => {
            for (i, item) in items.iter().enumerate() {
                name_inputs(item, &format!("{path}[{i}]"), names);
            }
        }
        Value::Record(fields) => {
            for (field, item) in fields {
                name_inputs(item, &format!("{path}.{field}"), names);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_nodes_are_named_after_their_reader_and_targets_pull_their_cone() {
        let mut plan = Plan::new();
        let data = plan.add(
            "load",
            1,
            vec![("path".into(), Value::File("a".into()))],
            None,
        );
        let fit = plan.add(
            "fit",
            1,
            vec![("data".into(), Value::Node(data))],
            Some("fit".into()),
        );
        let other = plan.add("load", 1, vec![], Some("other".into()));
        let evals: Vec<_> = (0..2)
            .map(|i| {
                plan.add(
                    "eval",
                    1,
                    vec![
                        ("model".into(), Value::Node(fit)),
                        ("i".into(), Value::Int(i)),
                    ],
                    Some(format!("grid[{i}]")),
                )
            })
            .collect();
        let dag = Dag::new(&plan).unwrap();
        assert_eq!(dag.name(data), "fit.data");
        assert_eq!(dag.name(evals[1]), "grid[1]");
        assert_eq!(dag.order().len(), plan.len());

        let selected = dag.select(&["grid".into()]).unwrap();
        assert!(selected[data.index()] && selected[fit.index()] && selected[evals[0].index()]);
        assert!(!selected[other.index()]);
        let one = dag.select(&["grid[0]".into()]).unwrap();
        assert!(one[evals[0].index()] && !one[evals[1].index()]);
        let error = dag.select(&["gird".into()]).unwrap_err();
        assert!(error.to_string().contains("`gird`"), "{error}");
        assert_eq!(dag.dependants(fit).count(), 2);
    }
}
