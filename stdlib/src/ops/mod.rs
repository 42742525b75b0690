//! The implemented operations, registered with the engine by [`registry()`](crate::registry()).
//!
//! Each module turns a node's parameters into a call of the library that does the work
//! (`rung-irt` for responses, IRT and bins, `rung-models` for models, `rung-sft` for
//! fine-tuning, `rung-items` for items and evaluation, `figures` for reports) and writes the
//! result in the library's on-disk form.

use std::sync::Arc;

use rung_engine::{Registry, RegistryError};

mod bins;
pub mod evaluate;
mod external;
mod irt;
mod items;
mod models;
mod params;
mod report;
mod reports;
mod responses;
mod selection;
mod sets;
mod sft;
mod toy;

pub use irt::{Device, fit_matrix};
pub use models::MODEL_ROOT_ENV;
pub(crate) use params::fit_options;

/// Registers every implemented operation.
pub(crate) fn implement_all(registry: &mut Registry) -> Result<(), RegistryError> {
    registry.implement(Arc::new(responses::ResponseMatrixOp))?;
    registry.implement(Arc::new(irt::IrtOp))?;
    registry.implement(Arc::new(report::DifficultyReportOp))?;
    registry.implement(Arc::new(items::DatasetOp))?;
    registry.implement(Arc::new(models::TinyModelOp))?;
    registry.implement(Arc::new(models::HfOp))?;
    registry.implement(Arc::new(models::GgufOp))?;
    registry.implement(Arc::new(sft::SftOp))?;
    registry.implement(Arc::new(evaluate::EvaluateOp))?;
    registry.implement(Arc::new(reports::GeneralizationMatrixOp))?;
    registry.implement(Arc::new(reports::AccuracyCurvesOp))?;
    registry.implement(Arc::new(reports::GainByGapOp))?;
    registry.implement(Arc::new(reports::AgreementOp))?;
    registry.implement(Arc::new(reports::HtmlReportOp))?;
    registry.implement(Arc::new(toy::ToyItemsOp))?;
    registry.implement(Arc::new(toy::ToyPopulationOp))?;
    registry.implement(Arc::new(toy::ToyModelOp))?;
    registry.implement(Arc::new(sets::BinOp))?;
    registry.implement(Arc::new(sets::PartOp))?;
    registry.implement(Arc::new(sets::UnionOp))?;
    registry.implement(Arc::new(sets::MixtureOp))?;
    registry.implement(Arc::new(sets::CurriculumOp))?;
    registry.implement(Arc::new(selection::ModelSelectionOp))?;
    registry.implement(Arc::new(external::ExternalOp))?;
    registry.implement(Arc::new(external::TrlSftOp))?;
    registry.implement(Arc::new(external::LmEvalOp))?;
    for op in bins::ops() {
        registry.implement(op)?;
    }
    Ok(())
}
