//! Node keys: the name under which the store files a node's result.
//!
//! A key covers what a node computes from: its operation, implementation version and canonical
//! parameters, with each upstream node replaced by the digest of that node's *output* and each
//! input file by the digest of its *contents*. Because upstream outputs stand in for upstream
//! definitions, a node whose inputs were recomputed but came out byte-identical keeps its key:
//! that is the early cutoff. Changing this encoding changes every key: bump [`ENCODING`].

use crate::digest::Digest;
use crate::form_hash::{Leaves, encode};
use crate::plan::{Node, NodeId};

/// Tag of the key encoding; part of every key so that encodings never collide.
pub const ENCODING: &[u8] = b"rung.key.v1\0";

/// The key of `node`, given the output digest of each upstream node and the content digest of
/// each input file (by the path written in the spec).
pub fn key_of(
    node: &Node,
    upstream: &dyn Fn(NodeId) -> Digest,
    file: &dyn Fn(&str) -> Digest,
) -> Digest {
    struct ByContent<'a> {
        upstream: &'a dyn Fn(NodeId) -> Digest,
        file: &'a dyn Fn(&str) -> Digest,
    }
    impl Leaves for ByContent<'_> {
        fn node(&self, hasher: &mut blake3::Hasher, id: NodeId) {
            hasher.update((self.upstream)(id).as_bytes());
        }
        fn file(&self, hasher: &mut blake3::Hasher, path: &str) {
            hasher.update((self.file)(path).as_bytes());
        }
    }
    let leaves = ByContent { upstream, file };
    Digest::from_bytes(*encode(ENCODING, &node.op, node.version, &node.params, &leaves).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Plan;
    use crate::value::Value;

    fn digest(text: &str) -> Digest {
        Digest::of_hasher(blake3::Hasher::new().update(text.as_bytes()))
    }

    #[test]
    fn keys_follow_contents_not_paths_or_definitions() {
        let mut plan = Plan::new();
        let load = plan.add(
            "load",
            1,
            vec![("path".into(), Value::File("a.csv".into()))],
            None,
        );
        let fit = plan.add("fit", 1, vec![("data".into(), Value::Node(load))], None);
        let node = plan.node(fit);
        let key = |output: &str| key_of(node, &|_| digest(output), &|_| digest("unused"));
        assert_eq!(key("out"), key("out"), "same upstream output, same key");
        assert_ne!(
            key("out"),
            key("other"),
            "another upstream output, another key"
        );

        let load = plan.node(load);
        let by_file = |contents: &str| key_of(load, &|_| unreachable!(), &|_| digest(contents));
        assert_eq!(by_file("1,2"), by_file("1,2"));
        assert_ne!(by_file("1,2"), by_file("1,3"));
    }
}
