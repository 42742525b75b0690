//! The canonical, versioned encoding of a node's definition and its blake3 hash.
//!
//! A node's form hash covers its operation, implementation version and canonical parameters,
//! with each reference to an upstream node replaced by that node's form hash. Nothing else goes
//! in: not the spec's spans, formatting, comments, declaration order or declaration names.
//! Changing this encoding changes every key: bump [`ENCODING`] when you do.

use std::fmt;

use crate::digest::Digest;
use crate::plan::NodeId;
use crate::value::Value;

/// Tag of the encoding; part of every hash so that encodings never collide.
pub const ENCODING: &[u8] = b"rung.form.v1\0";

/// The blake3 hash of a node's canonical form: a [`Digest`] kept apart from keys and outputs.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FormHash(Digest);

impl FormHash {
    /// Hashes a node's canonical form; `upstream` gives the hash of each referenced node.
    pub fn of(
        op: &str,
        version: u32,
        params: &[(String, Value)],
        upstream: &dyn Fn(NodeId) -> FormHash,
    ) -> FormHash {
        struct ByForm<'a>(&'a dyn Fn(NodeId) -> FormHash);
        impl Leaves for ByForm<'_> {
            fn node(&self, hasher: &mut blake3::Hasher, id: NodeId) {
                hasher.update((self.0)(id).as_bytes());
            }
            fn file(&self, hasher: &mut blake3::Hasher, path: &str) {
                write_str(hasher, path);
            }
        }
        let hash = encode(ENCODING, op, version, params, &ByForm(upstream));
        FormHash(Digest::from_bytes(*hash.as_bytes()))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// The first `n` hex digits, for display.
    pub fn short(&self, n: usize) -> String {
        self.0.short(n)
    }
}

impl fmt::Display for FormHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for FormHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FormHash({})", self.short(16))
    }
}

/// How the leaves that differ between encodings are written: upstream nodes and input files.
pub(crate) trait Leaves {
    /// Writes what stands for the upstream node `id`.
    fn node(&self, hasher: &mut blake3::Hasher, id: NodeId);
    /// Writes what stands for the input file at `path`.
    fn file(&self, hasher: &mut blake3::Hasher, path: &str);
}

/// Hashes a node's definition under the encoding tagged `tag`: its operation, version and
/// parameters, with upstream nodes and files written by `leaves`.
pub(crate) fn encode(
    tag: &[u8],
    op: &str,
    version: u32,
    params: &[(String, Value)],
    leaves: &dyn Leaves,
) -> blake3::Hash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(tag);
    write_str(&mut hasher, op);
    hasher.update(&version.to_le_bytes());
    hasher.update(&(params.len() as u64).to_le_bytes());
    for (name, value) in params {
        write_str(&mut hasher, name);
        write_value(&mut hasher, value, leaves);
    }
    hasher.finalize()
}

pub(crate) fn write_str(hasher: &mut blake3::Hasher, s: &str) {
    hasher.update(&(s.len() as u64).to_le_bytes());
    hasher.update(s.as_bytes());
}

fn write_value(hasher: &mut blake3::Hasher, value: &Value, leaves: &dyn Leaves) {
    match value {
        Value::Null => {
            hasher.update(&[0]);
        }
        Value::Bool(b) => {
            hasher.update(&[1, u8::from(*b)]);
        }
        Value::Int(i) => {
            hasher.update(&[2]);
            hasher.update(&i.to_le_bytes());
        }
        Value::Float(x) => {
            hasher.update(&[3]);
            hasher.update(&canonical_bits(*x).to_le_bytes());
        }
        Value::Str(s) => {
            hasher.update(&[4]);
            write_str(hasher, s);
        }
        Value::Enum(word) => {
            hasher.update(&[5]);
            write_str(hasher, word);
        }
        Value::File(path) => {
            hasher.update(&[6]);
            leaves.file(hasher, path);
        }
        Value::List(items) => {
            hasher.update(&[7]);
            hasher.update(&(items.len() as u64).to_le_bytes());
            for item in items {
                write_value(hasher, item, leaves);
            }
        }
        Value::Record(fields) => {
            hasher.update(&[8]);
            hasher.update(&(fields.len() as u64).to_le_bytes());
            for (name, item) in fields {
                write_str(hasher, name);
                write_value(hasher, item, leaves);
            }
        }
        Value::Node(id) => {
            hasher.update(&[9]);
            leaves.node(hasher, *id);
        }
    }
}

/// `-0.0` and `0.0` are one value, and every NaN is the same NaN.
fn canonical_bits(x: f64) -> u64 {
    if x == 0.0 {
        0
    } else if x.is_nan() {
        f64::NAN.to_bits()
    } else {
        x.to_bits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(params: &[(String, Value)]) -> FormHash {
        FormHash::of("op", 1, params, &|_: NodeId| unreachable!("no upstream"))
    }

    #[test]
    fn equal_forms_hash_equal_and_every_part_counts() {
        let base = vec![("lr".to_string(), Value::Float(5e-6))];
        assert_eq!(hash(&base), hash(&base.clone()));
        assert_ne!(hash(&base), hash(&[("lr".to_string(), Value::Float(1e-5))]));
        assert_ne!(
            hash(&base),
            hash(&[("lrr".to_string(), Value::Float(5e-6))])
        );
        assert_ne!(
            hash(&base),
            FormHash::of("op", 2, &base, &|_| unreachable!())
        );
        assert_ne!(
            hash(&base),
            FormHash::of("other", 1, &base, &|_| unreachable!())
        );
    }

    #[test]
    fn value_kinds_never_collide() {
        let forms = [
            Value::Str("mml".into()),
            Value::Enum("mml".into()),
            Value::File("mml".into()),
            Value::Int(1),
            Value::Float(1.0),
            Value::Bool(true),
            Value::Null,
            Value::List(vec![]),
        ];
        let hashes: std::collections::HashSet<_> = forms
            .iter()
            .map(|v| hash(&[("x".to_string(), v.clone())]))
            .collect();
        assert_eq!(hashes.len(), forms.len());
    }

    #[test]
    fn signed_zeros_are_one_value() {
        let plus = hash(&[("x".to_string(), Value::Float(0.0))]);
        let minus = hash(&[("x".to_string(), Value::Float(-0.0))]);
        assert_eq!(plus, minus);
    }
}
