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
        "A real response matrix: a population of tiny character-level models of varied width and depth, trained from scratch, answers `items` at several points of its training; each (member, step) is a subject.",
        vec![
            req("items", artifact("items"), "The items every subject answers."),
            opt("train", artifact("items"), "Items every member trains on (none = each member trains on its own sample of `items`)."),
            def("sample", Type::Float, float(0.5), "Share of `items` each member trains on, when `train` is not given."),
            def("members", Type::Int, int(6), "Models trained; member k has width widths[k mod W] and depth depths[(k / W) mod D], so the first W x D members cover every combination."),
            def("widths", Type::list(Type::Int), list([32, 48, 64].map(int)), "Hidden widths (multiples of 16)."),
            def("depths", Type::list(Type::Int), list([1, 2].map(int)), "Layer counts."),
            def("steps", Type::list(Type::Int), list([100, 200, 400, 800].map(int)), "Training steps, increasing, at which every member answers the items; each is a subject of its own."),
            def("batch_size", Type::Int, int(64), "Items per training step."),
            def("lr", Type::Float, float(3e-3), "Peak learning rate of every member (AdamW, cosine decay)."),
            def("seed", Type::Int, int(0), "Seed of the samples, initialisation and data order."),
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
