//! The artifact kinds: what nodes produce, and the declaration keywords of a spec.

use rung_engine::signature::DuplicateName;
use rung_engine::{ArtifactKind, Catalog, IndexSugar, MemberSugar};

use super::word;

pub(super) fn declare(catalog: &mut Catalog) -> Result<(), DuplicateName> {
    let split_members = || {
        ["train", "test"]
            .into_iter()
            .map(|part| MemberSugar {
                name: part,
                op: "part",
                params: vec![("part", word(part))],
            })
            .collect()
    };
    let kinds = [
        ArtifactKind {
            name: "items",
            doc: "A set of benchmark items, each with a stable id, prompt fields, choices or a target, metadata and, after binning, a train/test mark.",
            parent: Some("artifact"),
            index: None,
            members: split_members(),
        },
        ArtifactKind {
            name: "responses",
            doc: "A response matrix: for each subject (model) and item, correct (1), wrong (0) or missing.",
            parent: Some("artifact"),
            index: None,
            members: vec![],
        },
        ArtifactKind {
            name: "difficulty",
            doc: "A fitted IRT model: item difficulties (and discriminations) with standard errors, abilities, log-likelihood, convergence trace and item fit.",
            parent: Some("artifact"),
            index: None,
            members: vec![],
        },
        ArtifactKind {
            name: "bins",
            doc: "Items partitioned by difficulty into numbered bins (0 = easiest), each optionally split into train and test.",
            parent: Some("artifact"),
            index: Some(IndexSugar {
                op: "bin",
                param: "index",
            }),
            members: vec![],
        },
        ArtifactKind {
            name: "model",
            doc: "A language model: weights, configuration, tokenizer and chat template.",
            parent: Some("artifact"),
            index: None,
            members: vec![],
        },
        ArtifactKind {
            name: "checkpoint",
            doc: "A model produced by training, with its training log; usable wherever a model is.",
            parent: Some("model"),
            index: None,
            members: vec![],
        },
        ArtifactKind {
            name: "eval",
            doc: "An evaluation: per-item records (prompt, output, extracted answer, correct) and aggregate metrics.",
            parent: Some("artifact"),
            index: None,
            members: vec![],
        },
        ArtifactKind {
            name: "report",
            doc: "Figures and tables (SVG, PNG, CSV, JSON, HTML) summarising other artifacts.",
            parent: Some("artifact"),
            index: None,
            members: vec![],
        },
        ArtifactKind {
            name: "matrix",
            doc: "A generalization matrix (train bin x eval bin), absolute and as a delta against a baseline; usable wherever a report is.",
            parent: Some("report"),
            index: None,
            members: vec![],
        },
        ArtifactKind {
            name: "artifact",
            doc: "Any artifact: every other kind stands in for it; external steps produce it.",
            parent: None,
            index: None,
            members: vec![],
        },
    ];
    for kind in kinds {
        catalog.add_kind(kind)?;
    }
    Ok(())
}
