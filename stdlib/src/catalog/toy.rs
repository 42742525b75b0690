//! The toy world: generated arithmetic items, a population of tiny models, and a trained tiny base.

use rung_engine::signature::DuplicateName;
use rung_engine::{Catalog, Type};

use super::{artifact, def, enumeration, float, int, list, models, op, opt, req, word};

pub(super) fn declare(catalog: &mut Catalog) -> Result<(), DuplicateName> {
    catalog.add_enum(enumeration(
        "ToyOp",
        "An arithmetic operation of toy items.",
        &[
            ("add", "Addition."),
            ("sub", "Subtraction (results may be negative)."),
            ("mul", "Multiplication."),
        ],
    ))?;
    catalog.add_op(op(
        "toy_items",
        "items",
        "Generated arithmetic items (\"12+7*3=\" -> \"33\") whose difficulty grows with operand digits and terms, with their generating parameters as metadata.",
        vec![
            def("count", Type::Int, int(1000), "Number of items."),
            def("operations", Type::list(Type::Enum("ToyOp")), list(["add", "sub", "mul"].map(word)), "Operations drawn from."),
            def("min_digits", Type::Int, int(1), "Fewest digits of an operand."),
            def("max_digits", Type::Int, int(3), "Most digits of an operand."),
            def("max_terms", Type::Int, int(3), "Most operands of an expression (at least two)."),
            def("seed", Type::Int, int(0), "Seed of the generator; ids are stable for a seed."),
        ],
    ))?;
    catalog.add_op(op(
        "toy_population",
        "responses",
        "A real response matrix from a population of tiny character-level models of varied size and training length, each trained on toy items and tested on `items`.",
        vec![
            req("items", artifact("items"), "The items every member answers."),
            opt("train", artifact("items"), "Items the members train on (none = fresh toy items from the seed, disjoint from `items`)."),
            def("members", Type::Int, int(32), "Number of models; each draws a width, a depth and a training length from the lists."),
            def("widths", Type::list(Type::Int), list([16, 32, 64].map(int)), "Hidden widths to draw from."),
            def("depths", Type::list(Type::Int), list([1, 2].map(int)), "Layer counts to draw from."),
            def("steps", Type::list(Type::Int), list([50, 200, 800].map(int)), "Training steps to draw from."),
            def("lr", Type::Float, float(3e-3), "Learning rate of every member."),
            def("seed", Type::Int, int(0), "Seed of the draws, initialisation and training."),
        ],
    ))?;
    let mut params = vec![req("train", artifact("items"), "The items to train on.")];
    params.extend(models::architecture(128, 2));
    params.extend([
        def("steps", Type::Int, int(2000), "Optimizer steps."),
        def("batch_size", Type::Int, int(64), "Items per step."),
        def(
            "lr",
            Type::Float,
            float(3e-3),
            "Peak learning rate of AdamW (cosine decay).",
        ),
        def(
            "seed",
            Type::Int,
            int(0),
            "Seed of initialisation and data order.",
        ),
    ]);
    catalog.add_op(op(
        "toy_model",
        "model",
        "A tiny Llama-family model trained from scratch with the character tokenizer, the quickstart's base model.",
        params,
    ))?;
    Ok(())
}
