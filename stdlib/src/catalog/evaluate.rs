//! Evaluation: tasks described as data in the manner of lm-evaluation-harness task files.

use rung_engine::signature::DuplicateName;
use rung_engine::{Catalog, Type};

use super::{artifact, boolean, def, enumeration, int, list, op, opt, record, req, string, word};

pub(super) fn declare(catalog: &mut Catalog) -> Result<(), DuplicateName> {
    catalog.add_enum(enumeration(
        "TaskOutput",
        "How a model answers an item.",
        &[
            ("multiple_choice", "Score each choice as a continuation of the prompt by log-likelihood and pick the most likely."),
            ("generate", "Generate greedily until a stop sequence, then extract the answer with the filters."),
        ],
    ))?;
    catalog.add_enum(enumeration(
        "ChoiceScoring",
        "What continuation a multiple-choice item scores for each choice.",
        &[
            ("text", "The choice's text, after the target delimiter."),
            (
                "label",
                "The choice's label (A, B, ...), after the target delimiter.",
            ),
        ],
    ))?;
    catalog.add_enum(enumeration(
        "Metric",
        "How an answer is scored.",
        &[
            ("acc", "The most likely choice is the gold one (multiple choice)."),
            ("acc_norm", "The most likely choice per character of its text is the gold one (multiple choice), as lm-evaluation-harness normalises."),
            ("exact_match", "The filtered output equals the reference answer (generate)."),
            ("math_equiv", "The filtered output is mathematically equivalent to the reference answer after LaTeX normalisation (generate)."),
        ],
    ))?;
    catalog.add_enum(enumeration(
        "FilterOp",
        "One step of answer extraction from a generation.",
        &[
            ("regex", "Keep capture `group` of the selected match of `pattern`."),
            ("number", "Keep the selected number in the text, with commas, currency signs and trailing zeros removed."),
            ("boxed", "Keep the content of the selected `\\boxed{...}`, braces balanced."),
            ("letter", "Keep the selected standalone choice label among the task's `choice_labels`, preferring clear forms such as `(B)` or `answer is B`."),
            ("first_line", "Keep the text up to the first line break."),
            ("strip", "Trim surrounding whitespace and a final period."),
            ("lowercase", "Lower-case the text."),
            ("math_normalize", "Put a LaTeX answer in a canonical form (no `\\left`, spacing, `\\text{}` units or `^\\circ`)."),
        ],
    ))?;
    catalog.add_enum(enumeration(
        "Select",
        "Which match a filter keeps when there are several.",
        &[("first", "The first match."), ("last", "The last match.")],
    ))?;
    catalog.add_enum(enumeration(
        "OnMiss",
        "What a filter passes on when it finds nothing.",
        &[
            ("empty", "An empty answer, which scores as wrong."),
            (
                "keep",
                "Its input unchanged, so the next filter acts as a fallback.",
            ),
        ],
    ))?;
    catalog.add_record(record(
        "Filter",
        "One answer-extraction step; a task's filters run in order, each on the previous one's output.",
        vec![
            req("op", Type::Enum("FilterOp"), "What the step does."),
            def("pattern", Type::Str, string(""), "The regular expression of `regex`, in Rust `regex` syntax (no look-around or back-references)."),
            def("group", Type::Int, int(1), "The capture group `regex` keeps (0 = the whole match)."),
            def("select", Type::Enum("Select"), word("first"), "Which match to keep."),
            def("on_miss", Type::Enum("OnMiss"), word("empty"), "What to pass on when nothing matches."),
        ],
    ))?;
    let labels = list(('A'..='J').map(|c| string(&c.to_string())));
    catalog.add_record(record(
        "Task",
        "How items are put to a model and scored; templates write `{field}` for an item field or metadata (`{prompt}`, `{context}`, `{target}`, ...), `{choices}` for the labelled choices, one per line, `{gold}` and `{gold_text}` for the correct choice's label and text, and `{{` / `}}` for braces.",
        vec![
            req("output", Type::Enum("TaskOutput"), "Whether the model picks a choice or generates an answer."),
            def("prompt", Type::Str, string("{prompt}"), "Template of the prompt (the user turn when the chat template is on)."),
            def("target", Type::Str, string("{target}"), "Template of the reference answer a generation is compared with."),
            def("chat_template", Type::Bool, boolean(true), "Render the prompt through the model's chat template."),
            opt("system_prompt", Type::Str, "A system message before every prompt (none = no system message)."),
            def("choice_labels", Type::list(Type::Str), labels, "Labels given to the choices, in order."),
            def("score_choices", Type::Enum("ChoiceScoring"), word("text"), "What continuation is scored for each choice (multiple choice)."),
            def("target_delimiter", Type::Str, string(" "), "Text between the prompt and a scored continuation (multiple choice, without chat template)."),
            def("stop", Type::list(Type::Str), list([]), "Sequences that end a generation (the end-of-turn token always does)."),
            def("max_new_tokens", Type::Int, int(512), "Most tokens generated per item."),
            def("filters", Type::list(Type::Record("Filter")), list([]), "Answer extraction, in order (empty = compare the stripped generation)."),
            def("metrics", Type::list(Type::Enum("Metric")), list([]), "Metrics to compute, the first being the primary one (empty = acc and acc_norm for multiple choice, exact_match for generate)."),
            def("ignore_case", Type::Bool, boolean(false), "Compare answers case-insensitively (exact_match)."),
            def("ignore_punctuation", Type::Bool, boolean(false), "Ignore punctuation when comparing answers (exact_match)."),
        ],
    ))?;
    catalog.add_op(op(
        "evaluate",
        "eval",
        "Evaluates a model on items zero- or few-shot with greedy decoding, keeping per-item records and aggregate metrics.",
        vec![
            req("model", artifact("model"), "The model to evaluate."),
            req("items", artifact("items"), "The items to evaluate on."),
            req("task", Type::Record("Task"), "How to prompt and score."),
            def("batch_size", Type::Int, int(16), "Prompts per batch."),
            def("num_fewshot", Type::Int, int(0), "Solved examples put before each prompt."),
            opt("fewshot", artifact("items"), "Where few-shot examples come from (required when num_fewshot > 0)."),
            opt("limit", Type::Int, "Evaluate only the first N items."),
            def("seed", Type::Int, int(1234), "Seed of few-shot example selection."),
        ],
    ))?;
    Ok(())
}
