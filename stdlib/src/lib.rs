//! rung's standard library: the node families of a difficulty study, declared as data and run on burn.
//!
//! - [`catalog()`]: every operation's signature, with the enums, record types and artifact kinds
//!   they use, built once by the family modules (items, responses, IRT, bins, models, SFT,
//!   external steps, evaluation, reports and the toy world);
//! - [`reference`](mod@reference): the catalog rendered as plain-text help (`rung help`) and as markdown
//!   (`docs/stdlib.md`);
//! - [`ops`]: the implemented operations, registered by [`registry()`], with the report figures
//!   drawn by `figures`;
//! - [`backend`]: the burn backends compiled into this build.

use std::sync::OnceLock;

use rung_engine::{Catalog, Registry};

pub mod backend;
mod catalog;
mod figures;
pub mod ops;
pub mod reference;

/// The standard library's catalog: the single source of truth for the checker, `rung help` and
/// the docs.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| match catalog::build() {
        Ok(catalog) => catalog,
        // A duplicate name is a bug in this crate, caught by its tests; there is nothing to recover.
        Err(error) => panic!("the standard library's catalog is inconsistent: {error}"),
    })
}

/// The registry `rung` runs specs with: the catalog's signatures and the operations implemented
/// so far (an operation without an implementation checks and plans, but does not run).
pub fn registry() -> Registry {
    let mut registry = Registry::new(catalog().clone());
    if let Err(error) = ops::implement_all(&mut registry) {
        // An implementation that disagrees with its signature is a bug in this crate, caught by
        // its tests.
        panic!("the standard library's operations disagree with its catalog: {error}");
    }
    registry
}

#[cfg(test)]
mod tests;
