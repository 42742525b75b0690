//! Item sets: benchmark loaders, a generic JSONL/CSV loader, and ways to combine and slice sets.

use rung_engine::signature::DuplicateName;
use rung_engine::{Catalog, Type};

use super::{artifact, boolean, def, enumeration, int, list, op, opt, record, req, string, word};

pub(super) fn declare(catalog: &mut Catalog) -> Result<(), DuplicateName> {
    catalog.add_enum(enumeration(
        "DatasetFormat",
        "The on-disk format of an item set.",
        &[
            ("arc", "ARC JSONL `{query, choices, gold}`; the id is `<file stem>-<line index from 0>` (e.g. `arc_easy_test-0`) and choices are labelled A-D."),
            ("gsm8k", "GSM8K JSONL `{question, answer}`; the target is the number after `####`, the worked solution is kept as `solution`."),
            ("mmlu_pro", "MMLU-Pro JSONL `{question_id, question, options, answer, answer_index, category, src}`; choices are labelled A-J."),
            ("bbh", "A BIG-Bench Hard folder of `<task>.json` files `{examples: [{input, target}]}`; the task is kept as metadata."),
            ("math", "MATH JSONL `{problem, level, type, solution, idx}`; the target is the last `\\boxed{...}` of the solution."),
            ("musr", "MuSR JSON, a list of `{context, questions: [{question, choices, answer}]}`; one item per question."),
            ("jsonl", "Generic JSON lines, read through the `fields` mapping."),
            ("csv", "Generic CSV with a header row, read through the `fields` mapping; list-valued fields hold JSON arrays."),
        ],
    ))?;
    catalog.add_enum(enumeration(
        "Part",
        "Which part of a binned item set to take.",
        &[
            (
                "all",
                "Every item, train and test alike (what the study evaluates on).",
            ),
            (
                "train",
                "Only the items marked for training (items never split count as train).",
            ),
            (
                "test",
                "Only the items held out for testing (items never split count as test).",
            ),
        ],
    ))?;
    catalog.add_enum(enumeration(
        "Pacing",
        "How a curriculum spreads its stages over training.",
        &[
            (
                "epochs",
                "Each stage is trained for its share of the epochs, in order, in whole passes over its items; every stage makes at least one pass (so fewer epochs than stages means one pass per stage).",
            ),
            (
                "steps",
                "Each stage is trained for its share of the optimizer steps (as many as the epochs over all the items would take), in order, cycling through its items; every stage gets at least one step.",
            ),
        ],
    ))?;
    catalog.add_record(record(
        "Fields",
        "Where the generic `jsonl` and `csv` formats find each item field (names of source fields).",
        vec![
            opt("id", Type::Str, "Field holding the item's stable id (none = `<file stem>-<line or row index from 0>`)."),
            def("prompt", Type::Str, string("prompt"), "Field holding the question text."),
            opt("target", Type::Str, "Field holding the reference answer of a generative item."),
            opt("choices", Type::Str, "Field holding the list of answer choices of a multiple-choice item."),
            opt("gold", Type::Str, "Field holding the correct choice, as a 0-based index or a label."),
            opt("context", Type::Str, "Field holding a passage the question refers to."),
            def("metadata", Type::list(Type::Str), list([]), "Further fields kept as item metadata (category, level, task, ...)."),
        ],
    ))?;

    catalog.add_op(op(
        "dataset",
        "items",
        "Loads an item set from a benchmark file or a generic JSONL/CSV file.",
        vec![
            req("path", Type::File, "The file (or, for `bbh`, the folder) to read, relative to the data root."),
            def("format", Type::Enum("DatasetFormat"), word("jsonl"), "The file's format."),
            opt("fields", Type::Record("Fields"), "Field mapping for `jsonl` and `csv` (none = the defaults of `Fields`); benchmark formats have their own."),
            def("tasks", Type::list(Type::Str), list([]), "BBH tasks to load (empty = every task in the folder); only for `bbh`."),
            opt("per_task", Type::Int, "Keep only the first N items of each task or category, grouped by the `task`, else `category`, else `type` metadata (the study used 250 per BBH task)."),
            opt("subset", Type::Str, "A name stored as every item's `subset` metadata (e.g. \"challenge\" for ARC-Challenge)."),
            def("id_prefix", Type::Str, string(""), "Text put before every item id, to keep ids unique across sets."),
            opt("sha256", Type::Str, "Expected SHA-256 of the file; loading fails if the content differs."),
        ],
    ))?;
    catalog.add_op(op(
        "union",
        "items",
        "All items of several sets (e.g. several bins) as one set.",
        vec![
            req("sets", Type::list(artifact("items")), "The sets to join."),
            def(
                "dedupe",
                Type::Bool,
                boolean(true),
                "Keep one copy of an item present in several sets (by id).",
            ),
        ],
    ))?;
    catalog.add_op(op(
        "mixture",
        "items",
        "A weighted sample of several sets, e.g. mostly easy items with some hard ones.",
        vec![
            req("sets", Type::list(artifact("items")), "The sets to draw from."),
            req("weights", Type::list(Type::Float), "Relative share of each set, in order; normalised to sum to one."),
            opt("size", Type::Int, "Number of items to draw (none = as many as the smallest share allows without repeats)."),
            def("replacement", Type::Bool, boolean(false), "Draw with replacement, so a set can contribute more items than it has."),
            def("seed", Type::Int, int(42), "Seed of the draw."),
        ],
    ))?;
    catalog.add_op(op(
        "curriculum",
        "items",
        "Ordered stages of items (e.g. bins easy-to-hard) that training visits in order instead of shuffling them together; `sft` shuffles within a stage each pass, and its learning-rate schedule spans all stages. The output holds every item with its stage as `stage` metadata.",
        vec![
            req("stages", Type::list(artifact("items")), "The stages, in training order; list them hard-to-easy for a reverse curriculum. Stages must not share items."),
            def("pacing", Type::Enum("Pacing"), word("epochs"), "Whether stages divide the epochs or the optimizer steps."),
            def("shares", Type::list(Type::Float), list([]), "Relative length of each stage (empty = equal shares)."),
            def("cumulative", Type::Bool, boolean(false), "Keep earlier stages in the pool when a later stage starts."),
        ],
    ))?;
    catalog.add_op(op(
        "bin",
        "items",
        "The items of one difficulty bin; `q[b]` on bins `q` means `bin(q, index = b)`.",
        vec![
            req("bins", artifact("bins"), "The binning to take from."),
            req("index", Type::Int, "The bin's number, 0 being the easiest."),
            def(
                "part",
                Type::Enum("Part"),
                word("all"),
                "Which part of the bin's train/test split to take.",
            ),
        ],
    ))?;
    catalog.add_op(op(
        "part",
        "items",
        "The train or test part of a split item set; `x.train` means `part(x, part = train)`.",
        vec![
            req("set", artifact("items"), "The item set to take from."),
            req("part", Type::Enum("Part"), "Which part to keep."),
        ],
    ))?;
    Ok(())
}
