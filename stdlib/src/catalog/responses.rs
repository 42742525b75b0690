//! Response matrices: which model answered which item correctly, loaded from files.

use rung_engine::signature::DuplicateName;
use rung_engine::{Catalog, Type};

use super::{artifact, at_version, def, enumeration, float, op, opt, req, string, word};

pub(super) fn declare(catalog: &mut Catalog) -> Result<(), DuplicateName> {
    catalog.add_enum(enumeration(
        "ResponseFormat",
        "The on-disk format of a response matrix.",
        &[
            ("wide_csv", "One row per subject: a subject column, then one column per item id; cells 1, 0 or empty."),
            ("long_csv", "One row per (subject, item, score) triple, with a header row."),
            ("long_jsonl", "One JSON object per (subject, item, score) triple."),
            ("pyirt_jsonl", "py-irt's JSONL: one object per subject, `{subject_id, responses: {item_id: 0 or 1}}`."),
            ("lm_eval_logs", "A folder of lm-evaluation-harness `samples_*.jsonl` logs, one subfolder per model."),
        ],
    ))?;
    catalog.add_enum(enumeration(
        "Unmatched",
        "What to do with response ids that match no item.",
        &[
            ("error", "Fail, listing the unmatched ids."),
            ("drop", "Drop them with a warning that counts them."),
        ],
    ))?;
    // Not called `responses`: the kind has that name, and the catalog has one namespace.
    catalog.add_op(at_version(
        2,
        op(
        "response_matrix",
        "responses",
        "Loads a response matrix, missing cells allowed, aligned to an item set by id.",
        vec![
            req("path", Type::File, "The file (or, for `lm_eval_logs`, the folder) to read, relative to the data root."),
            def("format", Type::Enum("ResponseFormat"), word("wide_csv"), "The file's format."),
            opt("items", artifact("items"), "Items to align the columns to by id (none = keep the file's own item ids)."),
            def("id_prefix", Type::Str, string(""), "Text removed from the start of each response item id before matching (e.g. \"gsm8k-test-\")."),
            def("subject_field", Type::Str, string("model"), "Column or field naming the subject (model)."),
            def("item_field", Type::Str, string("item"), "Column or field naming the item, for the long formats."),
            def("score_field", Type::Str, string("correct"), "Column or field holding the score, for the long formats and lm-eval logs (e.g. \"acc\")."),
            def("threshold", Type::Float, float(0.5), "Scores at or above this count as correct, for formats with fractional scores."),
            def("unmatched", Type::Enum("Unmatched"), word("error"), "What to do with item ids absent from `items`."),
            opt("sha256", Type::Str, "Expected SHA-256 of the file; loading fails if the content differs."),
        ],
    )))?;
    Ok(())
}
