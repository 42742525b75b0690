//! Reports: the generalization matrix and the study's other figures and tables.

use rung_engine::signature::DuplicateName;
use rung_engine::{Catalog, ParamSig, Type};

use super::{artifact, at_version, def, enumeration, float, int, list, op, opt, req, string, word};

/// Where the figures go and what they are titled; every report takes these last.
fn presentation() -> [ParamSig; 2] {
    [
        def(
            "formats",
            Type::list(Type::Enum("ReportFormat")),
            list(["svg", "png", "csv", "json"].map(word)),
            "Files to write.",
        ),
        opt(
            "title",
            Type::Str,
            "Title of the figures (none = one made from the inputs' names).",
        ),
    ]
}

fn with_presentation(mut params: Vec<ParamSig>) -> Vec<ParamSig> {
    params.extend(presentation());
    params
}

pub(super) fn declare(catalog: &mut Catalog) -> Result<(), DuplicateName> {
    catalog.add_enum(enumeration(
        "ReportFormat",
        "A file a report writes.",
        &[
            ("svg", "Vector figures."),
            ("png", "Raster figures."),
            ("csv", "Tables as CSV."),
            ("json", "Tables and summary statistics as JSON."),
        ],
    ))?;
    catalog.add_enum(enumeration(
        "Heuristic",
        "A human or heuristic notion of difficulty to compare IRT difficulty with.",
        &[
            ("math_level", "MATH's annotated level, 1 to 5."),
            (
                "arc_split",
                "ARC Easy (0) versus ARC Challenge (1), from the items' `subset` metadata.",
            ),
            ("question_length", "Length of the prompt in words."),
            (
                "reasoning_steps",
                "Steps of the reference solution (GSM8K calculator annotations or solution lines).",
            ),
        ],
    ))?;
    catalog.add_enum(enumeration(
        "Correlation",
        "A rank correlation coefficient.",
        &[
            ("spearman", "Spearman's rho."),
            ("kendall", "Kendall's tau-b."),
        ],
    ))?;
    catalog.add_enum(enumeration(
        "Statistic",
        "How values are pooled.",
        &[("mean", "The arithmetic mean."), ("median", "The median.")],
    ))?;

    let grid = || {
        req(
            "grid",
            Type::family(artifact("eval"), 2),
            "Evaluations indexed [train bin, eval bin].",
        )
    };
    let baseline = || {
        opt(
            "baseline",
            Type::family(artifact("eval"), 1),
            "Zero-shot evaluations indexed [eval bin], subtracted to give the gain.",
        )
    };
    let metric = || {
        opt(
            "metric",
            Type::Enum("Metric"),
            "The metric to report (none = the task's primary metric).",
        )
    };

    catalog.add_op(op(
        "generalization_matrix",
        "matrix",
        "The train-bin x eval-bin accuracy matrix, absolute and as a delta against the baseline, as heatmaps and tables.",
        with_presentation(vec![grid(), baseline(), metric()]),
    ))?;
    catalog.add_op(op(
        "accuracy_curves",
        "report",
        "Accuracy across eval bins, one curve per train bin, with the baseline as a reference curve.",
        with_presentation(vec![grid(), baseline(), metric()]),
    ))?;
    catalog.add_op(op(
        "gain_by_gap",
        "report",
        "The gain over zero-shot as a function of the difficulty gap (eval bin minus train bin), pooled across models and datasets with bootstrap intervals.",
        with_presentation(vec![
            req("matrices", Type::list(artifact("matrix")), "Generalization matrices with baselines, one per model and dataset."),
            def("labels", Type::list(Type::Str), list([]), "A name per matrix for the legend (empty = the declarations' names)."),
            def("statistic", Type::Enum("Statistic"), word("mean"), "How cells with the same gap are pooled."),
            def("confidence", Type::Float, float(0.95), "Coverage of the bootstrap confidence intervals."),
            def("bootstrap", Type::Int, int(1000), "Bootstrap resamples (0 = no intervals)."),
            def("seed", Type::Int, int(42), "Seed of the bootstrap."),
        ]),
    ))?;
    catalog.add_op(at_version(
        2,
        op(
        "difficulty_report",
        "report",
        "Difficulty histograms, standard errors, item fit and the convergence trace of an IRT fit, with bin boundaries when given.",
        with_presentation(vec![
            req("difficulty", artifact("difficulty"), "The fitted IRT model."),
            opt("bins", artifact("bins"), "A binning to mark on the histograms and summarise per bin."),
        ]),
    )))?;
    catalog.add_op(op(
        "agreement",
        "report",
        "Rank correlation and plots of IRT difficulty against a human or heuristic difficulty.",
        with_presentation(vec![
            req(
                "difficulty",
                artifact("difficulty"),
                "The fitted IRT model.",
            ),
            req(
                "items",
                artifact("items"),
                "The items, whose fields and metadata the heuristic reads.",
            ),
            req(
                "heuristic",
                Type::Enum("Heuristic"),
                "The difficulty to compare with.",
            ),
            def(
                "correlation",
                Type::Enum("Correlation"),
                word("spearman"),
                "The rank correlation reported.",
            ),
        ]),
    ))?;
    catalog.add_op(op(
        "model_selection",
        "report",
        "Difficulty-aware model choice: for each bin, the candidate that best trades accuracy against its cost.",
        with_presentation(vec![
            req("grid", Type::family(artifact("eval"), 2), "Evaluations indexed [candidate, eval bin]."),
            req("costs", Type::list(Type::Float), "Cost per item of each candidate, in index order."),
            def("names", Type::list(Type::Str), list([]), "A name per candidate (empty = its index)."),
            opt("target", Type::Float, "Accuracy each bin must reach: pick the cheapest candidate that does (none = maximise accuracy minus cost_weight x cost)."),
            def("cost_weight", Type::Float, float(0.0), "Accuracy points one unit of cost is worth, when no target is set."),
            metric(),
        ]),
    ))?;
    catalog.add_op(op(
        "html_report",
        "report",
        "One HTML page bringing reports' figures and tables together, with the provenance of every input.",
        vec![
            req("reports", Type::list(artifact("report")), "The reports to include, in order."),
            def("title", Type::Str, string("rung report"), "The page title."),
            opt("notes", Type::Str, "Text shown under the title."),
        ],
    ))?;
    Ok(())
}
