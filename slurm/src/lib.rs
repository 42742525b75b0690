//! rung's Slurm executor: the same spec, run as Slurm jobs on a shared store.
//!
//! - [`profile`]: the site profile (account, partition, GPU flag style, limits) from TOML;
//! - [`sbatch`]: a node's resources and the profile as `sbatch` arguments, arrays chunked;
//! - [`query`]: `sacct` / `squeue` output, parsed;
//! - [`cluster`]: Slurm's commands, each call counted;
//! - [`ledger`]: batch folders and the completion records jobs write on the store;
//! - [`executor`]: the [`rung_engine::executor::Executor`] that submits, polls and reconciles;
//! - [`job`]: what a job does on its compute node.
//!
//! rung never schedules a cluster itself: Slurm places and runs the jobs; rung keeps the DAG,
//! the keys and the store.

pub mod cluster;
pub mod executor;
pub mod job;
pub mod ledger;
pub mod profile;
pub mod query;
pub mod sbatch;

pub use executor::{OnInterrupt, RunSetup, SlurmExecutor};
pub use profile::Profile;
