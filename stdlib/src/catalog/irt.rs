//! Item response theory: item difficulty estimated from a response matrix.

use rung_engine::signature::DuplicateName;
use rung_engine::{Catalog, Type};

use super::{artifact, at_version, def, defaults, enumeration, float, int, op, record, req, word};

pub(super) fn declare(catalog: &mut Catalog) -> Result<(), DuplicateName> {
    catalog.add_enum(enumeration(
        "IrtModel",
        "The item response model.",
        &[
            (
                "1pl",
                "Rasch: P(correct) = sigmoid(ability - difficulty); the study's model.",
            ),
            (
                "2pl",
                "Adds a per-item discrimination: sigmoid(discrimination * (ability - difficulty)).",
            ),
            ("3pl", "Adds a per-item guessing floor to the 2PL model."),
        ],
    ))?;
    catalog.add_enum(enumeration(
        "IrtMethod",
        "How the IRT parameters are estimated.",
        &[
            ("mml", "Marginal maximum likelihood by EM over Gauss-Hermite quadrature of the ability distribution."),
            ("jmap", "Joint maximum a posteriori of abilities and item parameters under the priors."),
            ("vi", "Variational Bayes: a Gaussian posterior per parameter fitted by stochastic gradient on the ELBO."),
        ],
    ))?;
    catalog.add_enum(enumeration(
        "IrtScale",
        "How the latent scale is pinned down.",
        &[
            ("ability", "Abilities have the prior's mean; 2pl and 3pl also its standard deviation, while 1pl (Rasch) keeps discrimination 1 and estimates the spread by mml."),
            ("difficulty", "As `ability`, then everything shifted so that item difficulties have mean 0."),
        ],
    ))?;
    catalog.add_record(record(
        "Priors",
        "Prior distributions of IRT parameters (the ability prior also serves as the MML population distribution).",
        vec![
            def("ability_mean", Type::Float, float(0.0), "Mean of the normal prior on abilities."),
            def("ability_sd", Type::Float, float(1.0), "Standard deviation of the normal prior on abilities."),
            def("difficulty_mean", Type::Float, float(0.0), "Mean of the normal prior on difficulties (jmap and vi)."),
            def("difficulty_sd", Type::Float, float(3.0), "Standard deviation of the normal prior on difficulties (jmap and vi)."),
            def("log_discrimination_mean", Type::Float, float(0.0), "Mean of the normal prior on log discriminations (2pl and 3pl)."),
            def("log_discrimination_sd", Type::Float, float(0.5), "Standard deviation of the normal prior on log discriminations (2pl and 3pl)."),
            def("guessing_alpha", Type::Float, float(5.0), "First shape of the beta prior on guessing (3pl)."),
            def("guessing_beta", Type::Float, float(17.0), "Second shape of the beta prior on guessing (3pl)."),
        ],
    ))?;
    catalog.add_op(at_version(
        2,
        op(
        "irt",
        "difficulty",
        "Fits an IRT model to a response matrix on burn tensors, handling missing cells, deterministically for a seed.",
        vec![
            req("responses", artifact("responses"), "The response matrix to fit."),
            def("model", Type::Enum("IrtModel"), word("1pl"), "The item response model."),
            def("method", Type::Enum("IrtMethod"), word("mml"), "The estimation method."),
            def("priors", Type::Record("Priors"), defaults(), "Priors on abilities and item parameters."),
            def("scale", Type::Enum("IrtScale"), word("ability"), "How the latent scale is identified."),
            def("quadrature", Type::Int, int(41), "Quadrature points over the ability distribution (mml)."),
            def("max_iter", Type::Int, int(500), "Most EM iterations or optimizer steps."),
            def("tolerance", Type::Float, float(1e-4), "Stop when no parameter moves by more than this between iterations."),
            def("lr", Type::Float, float(0.05), "Step size of the optimizer (jmap and vi)."),
            def("samples", Type::Int, int(1), "Monte Carlo samples per ELBO gradient (vi)."),
            def("min_responses", Type::Int, int(1), "Drop items with fewer observed responses than this."),
            def("seed", Type::Int, int(42), "Seed of initialisation and sampling."),
        ],
    )))?;
    Ok(())
}
