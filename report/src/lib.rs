//! rung's report figures and pages, drawn without the engine or burn so that they build fast.
//!
//! - [`Matrix`] and [`write_generalization_matrix`]: the train-bin x eval-bin matrix as heatmaps
//!   (absolute and gain over the baseline), accuracy curves, CSV and JSON;
//! - [`write_gain_by_gap`]: the study's central plot, the gain over zero-shot against the
//!   difficulty gap, pooled across matrices with bootstrap intervals;
//! - [`write_agreement`], [`spearman`], [`kendall_tau_b`]: how IRT difficulty agrees with a
//!   heuristic difficulty;
//! - [`Selection`] and [`write_model_selection`]: difficulty-aware model choice, the candidate
//!   that best trades accuracy against cost on each eval bin;
//! - [`svg_to_png`], [`write_png_beside`]: PNGs from the SVGs, text in an embedded font;
//! - [`Page`] and [`write_html`]: one offline HTML page bringing a run's reports together.

mod agreement;
mod error;
mod formats;
mod gap;
mod heatmap;
mod html;
mod matrix;
mod png;
mod selection;
mod style;

pub use agreement::{AgreementPoint, Correlation, kendall_tau_b, spearman, write_agreement};
pub use error::ReportError;
pub use formats::Formats;
pub use gap::{GapOptions, GapPoint, Statistic, pool_gain_by_gap, write_gain_by_gap};
pub use heatmap::write_generalization_matrix;
pub use html::{Page, Section, write_html};
pub use matrix::{MATRIX_FILE, Matrix};
pub use png::{PNG_SCALE, svg_to_png, write_png_beside};
pub use selection::{Candidate, Choice, Rule, Selection, write_model_selection};
pub use style::span;
