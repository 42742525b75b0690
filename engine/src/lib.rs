//! rung's engine: the bottom layer, which knows nothing of the language or of burn.
//!
//! It defines the contract every front end and every domain library meets, and runs plans:
//!
//! - [`value`], [`signature`]: canonical parameter values and what operations accept;
//! - [`plan`], [`form_hash`]: the nodes a checked program lowers to, interned by canonical form;
//! - [`op`]: the operation contract and the [`Registry`] the stdlib fills;
//! - [`graph`]: a plan as a DAG, with node names and target selection;
//! - [`digest`], [`key`], [`content`]: keys over upstream outputs and file contents;
//! - [`store`]: content-addressed outputs, the action cache, locks, verification and gc;
//! - [`survey`]: what a run would do and why (`rung plan`);
//! - [`preflight`]: nodes refused before anything runs (memory that will not fit);
//! - [`scheduler`]: runs a plan within declared resources;
//! - [`executor`]: where ready nodes are computed (this machine's threads, or a cluster).

pub mod content;
pub mod digest;
pub mod executor;
pub mod form_hash;
pub mod graph;
pub mod key;
pub mod op;
pub mod plan;
pub mod preflight;
pub mod scheduler;
pub mod signature;
pub mod store;
pub mod survey;
pub mod value;

pub use digest::Digest;
pub use form_hash::FormHash;
pub use graph::Dag;
pub use op::{Context, OpError, Operation, Params, Registry, RegistryError, Resources};
pub use plan::{Node, NodeId, Plan};
pub use signature::{
    ArtifactKind, Catalog, EnumDef, IndexSugar, MemberSugar, OpSignature, ParamSig, RecordSchema,
    Type,
};
pub use store::Store;
pub use value::Value;
