//! rung's engine: the bottom layer, which knows nothing of the language or of burn.
//!
//! It defines the contract every front end and every domain library meets:
//!
//! - [`value`]: the canonical values that parameters take once defaults are filled in;
//! - [`signature`]: what an operation accepts and produces ([`Catalog`] is filled by the stdlib);
//! - [`plan`]: the list of nodes a checked program lowers to, interned by canonical form;
//! - [`form_hash`]: the versioned canonical encoding that identifies a node's definition.

pub mod form_hash;
pub mod plan;
pub mod signature;
pub mod value;

pub use form_hash::FormHash;
pub use plan::{Node, NodeId, Plan};
pub use signature::{
    ArtifactKind, Catalog, EnumDef, IndexSugar, MemberSugar, OpSignature, ParamSig, RecordSchema,
    Type,
};
pub use value::Value;
