//! Binning: items split into difficulty bins, with an optional per-bin train/test split.

use rung_engine::signature::DuplicateName;
use rung_engine::{Catalog, ParamSig, Type};

use super::{artifact, at_version, def, float, int, op, opt, req};

/// The parameters every binning shares after its own: the optional per-bin split.
fn split_params() -> [ParamSig; 2] {
    [
        def(
            "test_fraction",
            Type::Float,
            float(0.0),
            "Share of each bin held out for testing (0 = no split: every item is both).",
        ),
        def("seed", Type::Int, int(42), "Seed of the train/test split."),
    ]
}

pub(super) fn declare(catalog: &mut Catalog) -> Result<(), DuplicateName> {
    let source = || {
        req(
            "difficulty",
            artifact("difficulty"),
            "The fitted difficulties to bin by.",
        )
    };
    let mut quantile = vec![source(), def("n", Type::Int, int(10), "Number of bins.")];
    quantile.extend(split_params());
    catalog.add_op(at_version(
        2,
        op(
        "quantile_bins",
        "bins",
        "Equal-size bins by difficulty quantile: bin b holds items with b/n <= quantile < (b+1)/n (the study's binning).",
        quantile,
    )))?;

    let mut equal_width = vec![
        source(),
        def("n", Type::Int, int(10), "Number of bins."),
        opt(
            "min",
            Type::Float,
            "Lower end of the range (none = the easiest item's difficulty).",
        ),
        opt(
            "max",
            Type::Float,
            "Upper end of the range (none = the hardest item's difficulty).",
        ),
    ];
    equal_width.extend(split_params());
    catalog.add_op(at_version(
        2,
        op(
        "equal_width_bins",
        "bins",
        "Bins of equal difficulty width between the easiest and hardest item (or a given range).",
        equal_width,
    )))?;

    let mut edges = vec![
        source(),
        req(
            "edges",
            Type::list(Type::Float),
            "Increasing inner bin edges; n edges make n + 1 bins, the outer ones open-ended.",
        ),
    ];
    edges.extend(split_params());
    catalog.add_op(at_version(
        2,
        op(
            "edge_bins",
            "bins",
            "Bins at explicit difficulty edges.",
            edges,
        ),
    ))?;
    Ok(())
}
