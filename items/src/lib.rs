//! Benchmark items: loaders, prompt templates, answer extraction and metrics.
//!
//! A pure library (no burn, no engine): the item-set artifact and everything about items that an
//! evaluation or training node needs, in the order a study uses it:
//! - [`item`]: the [`Item`] and the [`ItemSet`], stored as `items.jsonl` in a folder
//!   ([`ItemSet::save`], [`ItemSet::open`]);
//! - [`load`](mod@load): [`load()`] reads the benchmarks' public formats, and generic
//!   JSONL/CSV through a [`Fields`] mapping, with [`LoadOptions`] for the BBH tasks, the first
//!   N per task, the `subset` metadata and an id prefix; errors are [`LoadError`]s naming
//!   `file:line`;
//! - [`data_root`]: the [`DataRoot`] relative data paths are resolved against, and content
//!   pinning by SHA-256 ([`sha256_file`], [`check_sha256`]);
//! - [`task`]: the [`Task`] and [`Filter`] records of the stdlib catalog as Rust types;
//!   [`template`] fills a task's prompt and target from an item; [`presets`] holds the study's
//!   tasks, one per benchmark;
//! - [`filter`]: an [`Extractor`] runs a task's filters on a generation; [`latex`] extracts
//!   `\boxed{}` answers and normalises LaTeX;
//! - [`metric`]: exact match, MATH equivalence, and acc / acc_norm from choice log-likelihoods.
//!
//! # Item ids
//!
//! Ids are stable: they come from the source, never from a hash or a random draw, so that
//! response matrices and bins keep matching the items. Line and row indices count from 0 (blank
//! lines in JSON-lines files still count).
//!
//! | format | id | example |
//! |---|---|---|
//! | `arc` | `<file stem>-<line index>` | `arc_easy_test-0` |
//! | `gsm8k` | `gsm8k-<file stem>-<line index>` | `gsm8k-test-0` |
//! | `mmlu_pro` | `mmlu_pro-<question_id>` | `mmlu_pro-70` |
//! | `bbh` | `bbh-<task>-<example index>` | `bbh-navigate-0` |
//! | `math` | `math-<idx>` | `math-0` |
//! | `musr` | `musr-<file stem>-<context index>-<question index>` | `musr-small_murder_mystery-0-0` |
//! | `jsonl` | the field [`Fields::id`] names, else `<file stem>-<line index>` | `my_items-0` |
//! | `csv` | the column [`Fields::id`] names, else `<file stem>-<row index>` | `my_items-0` |
//!
//! [`LoadOptions::id_prefix`] is put before every id. The `gsm8k` and `mmlu_pro` ids are the
//! column names of the public response matrices (`gsm8k_gpt3_systems.csv`,
//! `mmlu_pro_tiger.csv`).

pub mod data_root;
mod error;
pub mod filter;
pub mod item;
pub mod latex;
pub mod load;
pub mod metric;
pub mod presets;
pub mod task;
pub mod template;

pub use data_root::{DataError, DataRoot, RootSource, check_sha256, sha256_file};
pub use error::LoadError;
pub use filter::Extractor;
pub use item::{DuplicateId, ITEMS_FILE, Item, ItemSet, SaveError, Split};
pub use latex::{boxed_all, last_boxed, math_equiv, normalize_math};
pub use load::{Fields, Format, LoadOptions, STUDY_BBH_TASKS, load};
pub use metric::{ChoiceOutcome, ScoreError, argmax, exact_match, score_choices, score_generation};
pub use task::{
    ChoiceScoring, Filter, FilterOp, Metric, OnMiss, Select, Task, TaskError, TaskOutput,
};
pub use template::{Template, TemplateError, continuations, render_prompt, render_target};
