//! `rung`: check, format, explain and (soon) run experiment specs.

mod commands;
mod render;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// A declarative experiment engine for difficulty-aware LLM research.
#[derive(Debug, Parser)]
#[command(name = "rung", disable_help_subcommand = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check specs and report every problem found.
    Check {
        /// The spec files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Override a `param` of the spec: `--set seed=7` or `--set paper.lr=1e-5`.
        #[arg(long = "set", value_name = "NAME=VALUE")]
        overrides: Vec<String>,
        /// Print the nodes the spec lowers to, with their canonical forms.
        #[arg(long)]
        nodes: bool,
    },
    /// Format specs in place (idempotent; comments are kept).
    Fmt {
        /// The spec files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Change nothing; fail if a file is not formatted.
        #[arg(long)]
        check: bool,
    },
    /// Describe the standard library, or one operation, kind, enum or record type.
    Help {
        /// What to describe; everything when left out.
        topic: Option<String>,
    },
    /// Run a spec's nodes.
    Run {
        /// The spec file.
        file: PathBuf,
        /// Override a `param` of the spec.
        #[arg(long = "set", value_name = "NAME=VALUE")]
        overrides: Vec<String>,
    },
}

fn main() -> ExitCode {
    let version = format!(
        "{} (backends: {})",
        env!("CARGO_PKG_VERSION"),
        rung_stdlib::backend::compiled_backends().join(", ")
    );
    let matches = Cli::command().version(version).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    let catalog = rung_stdlib::catalog();
    let outcome = match cli.command {
        Command::Check {
            files,
            overrides,
            nodes,
        } => commands::check(catalog, &files, &overrides, nodes),
        Command::Fmt { files, check } => commands::fmt(&files, check),
        Command::Help { topic } => commands::help(catalog, topic.as_deref()),
        Command::Run { file, overrides } => commands::run(catalog, &file, &overrides),
    };
    ExitCode::from(outcome as u8)
}
