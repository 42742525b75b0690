//! A plan: the nodes a checked spec lowers to, each with its canonical form.

use std::collections::HashMap;
use std::fmt;

use crate::form_hash::FormHash;
use crate::value::Value;

/// The position of a node in its [`Plan`]; meaningful only within that plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(u32);

impl NodeId {
    /// The node's position in the plan.
    pub fn index(self) -> usize {
        self.0 as usize
    }

    pub(crate) fn from_index(index: usize) -> NodeId {
        NodeId(u32::try_from(index).unwrap_or(u32::MAX))
    }
}

/// One node: an operation applied to canonical parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The operation's name.
    pub op: String,
    /// The operation's implementation version.
    pub version: u32,
    /// Every parameter, defaults filled in, sorted by name.
    pub params: Vec<(String, Value)>,
    /// The hash of the canonical form (operation, version, parameters, upstream hashes).
    pub form_hash: FormHash,
    /// Names the spec gave this node (`tuned[3]`); for display only, never hashed.
    pub labels: Vec<String>,
}

impl Node {
    /// The nodes this one reads, in order of appearance in its parameters.
    pub fn inputs(&self) -> Vec<NodeId> {
        let mut out = Vec::new();
        for (_, value) in &self.params {
            value.node_refs(&mut out);
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|id| seen.insert(*id));
        out
    }
}

/// Nodes in dependency order: every node's inputs come before it.
///
/// Adding a node whose canonical form is already present returns the existing node, so a spec
/// that computes the same thing twice plans it once.
#[derive(Debug, Default, Clone)]
pub struct Plan {
    nodes: Vec<Node>,
    by_form: HashMap<FormHash, NodeId>,
}

impl Plan {
    /// An empty plan.
    pub fn new() -> Plan {
        Plan::default()
    }

    /// Adds a node (or finds the identical one) and returns its id.
    ///
    /// Every [`Value::Node`] in `params` must name a node already in this plan.
    pub fn add(
        &mut self,
        op: &str,
        version: u32,
        mut params: Vec<(String, Value)>,
        label: Option<String>,
    ) -> NodeId {
        params.sort_by(|a, b| a.0.cmp(&b.0));
        let form_hash = FormHash::of(op, version, &params, &|id| self.nodes[id.index()].form_hash);
        let id = match self.by_form.get(&form_hash) {
            Some(id) => *id,
            None => {
                let id = NodeId(u32::try_from(self.nodes.len()).unwrap_or(u32::MAX));
                self.nodes.push(Node {
                    op: op.to_string(),
                    version,
                    params,
                    form_hash,
                    labels: Vec::new(),
                });
                self.by_form.insert(form_hash, id);
                id
            }
        };
        if let Some(label) = label {
            self.add_label(id, label);
        }
        id
    }

    /// Gives a node one more display name (a node may be declared under several).
    pub fn add_label(&mut self, id: NodeId, label: String) {
        let labels = &mut self.nodes[id.index()].labels;
        if !labels.contains(&label) {
            labels.push(label);
        }
    }

    /// The node with this id.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    /// All nodes, in dependency order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// All nodes with their ids, in dependency order.
    pub fn iter(&self) -> impl Iterator<Item = (NodeId, &Node)> {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, node)| (NodeId(i as u32), node))
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the plan has no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// A node's canonical form as text: upstream nodes appear by their form hash, never by name.
    pub fn canonical_text(&self, id: NodeId) -> String {
        let node = self.node(id);
        let mut out = format!("{}@{}(", node.op, node.version);
        let upstream = |id: NodeId| format!("#{}", self.node(id).form_hash.short(12));
        for (i, (name, value)) in node.params.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(name);
            out.push_str(" = ");
            write_value(value, &upstream, &mut out);
        }
        out.push(')');
        out
    }
}

/// Writes a value in rung syntax, with each upstream node written as `upstream` says.
pub fn write_value(value: &Value, upstream: &dyn Fn(NodeId) -> String, out: &mut String) {
    match value {
        Value::Node(id) => out.push_str(&upstream(*id)),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(item, upstream, out);
            }
            out.push(']');
        }
        Value::Record(fields) => {
            out.push_str("{ ");
            for (i, (name, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(name);
                out.push_str(" = ");
                write_value(item, upstream, out);
            }
            out.push_str(" }");
        }
        other => {
            use fmt::Write;
            let _ = write!(out, "{other}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, value: Value) -> (String, Value) {
        (name.to_string(), value)
    }

    #[test]
    fn identical_nodes_are_planned_once_with_both_labels() {
        let mut plan = Plan::new();
        let a = plan.add(
            "load",
            1,
            vec![p("path", Value::File("x".into()))],
            Some("a".into()),
        );
        let b = plan.add(
            "load",
            1,
            vec![p("path", Value::File("x".into()))],
            Some("b".into()),
        );
        assert_eq!(a, b);
        assert_eq!(plan.len(), 1);
        assert_eq!(plan.node(a).labels, ["a", "b"]);
    }

    #[test]
    fn parameter_order_does_not_matter_but_upstream_does() {
        let mut plan = Plan::new();
        let x = plan.add("load", 1, vec![p("path", Value::File("x".into()))], None);
        let y = plan.add("load", 1, vec![p("path", Value::File("y".into()))], None);
        let f1 = plan.add(
            "fit",
            1,
            vec![p("data", Value::Node(x)), p("n", Value::Int(1))],
            None,
        );
        let f2 = plan.add(
            "fit",
            1,
            vec![p("n", Value::Int(1)), p("data", Value::Node(x))],
            None,
        );
        let f3 = plan.add(
            "fit",
            1,
            vec![p("n", Value::Int(1)), p("data", Value::Node(y))],
            None,
        );
        assert_eq!(f1, f2);
        assert_ne!(f1, f3);
        assert_eq!(plan.node(f1).inputs(), vec![x]);
        assert!(plan.canonical_text(f1).starts_with("fit@1(data = #"));
    }
}
