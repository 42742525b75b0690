//! `rung`'s command line: check, format, plan, run, show, graph and maintain experiment specs.
//!
//! The binary is [`main`] applied to the standard library's registry; another binary can pass a
//! registry with more operations (the engine benchmark does) and get the same commands.

mod commands;
mod engine_commands;
mod irt_commands;
mod machine;
mod model_commands;
mod places;
mod progress;
mod render;
mod slurm_commands;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use rung_engine::Registry;

/// A declarative experiment engine for difficulty-aware LLM research.
#[derive(Debug, Parser)]
#[command(name = "rung", disable_help_subcommand = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the store and the input files are.
#[derive(Debug, Clone, clap::Args)]
struct Places {
    /// The store (default: `$RUNG_STORE`, else `.rung/` next to the spec).
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
    /// Where relative input paths are found (default: `$RUNG_DATA_ROOT`, else `../shared/data`
    /// when it exists, else the spec's directory).
    #[arg(long, value_name = "DIR")]
    data_root: Option<PathBuf>,
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
    /// Show what a run would do: every node cached, stale, new or blocked, and why.
    Plan {
        /// The spec file.
        file: PathBuf,
        /// Override a `param` of the spec.
        #[arg(long = "set", value_name = "NAME=VALUE")]
        overrides: Vec<String>,
        /// Only what these nodes or families need (repeatable).
        #[arg(long = "target", value_name = "NAME")]
        targets: Vec<String>,
        /// List only the nodes that are not cached.
        #[arg(long)]
        changed: bool,
        #[command(flatten)]
        places: Places,
    },
    /// Run a spec: compute every node whose result is not in the store.
    Run {
        /// The spec file.
        file: PathBuf,
        /// Override a `param` of the spec.
        #[arg(long = "set", value_name = "NAME=VALUE")]
        overrides: Vec<String>,
        /// CPU threads to use at once (default: all cores).
        #[arg(long, short = 'j', value_name = "N")]
        jobs: Option<u32>,
        /// After a failure, go on with everything that does not depend on it.
        #[arg(long)]
        keep_going: bool,
        /// Only what these nodes or families need (repeatable).
        #[arg(long = "target", value_name = "NAME")]
        targets: Vec<String>,
        /// GPUs the run may use (default: those `CUDA_VISIBLE_DEVICES` lists, else all present).
        #[arg(long, value_name = "N")]
        gpus: Option<u32>,
        /// Memory the run may use, e.g. `64G` (default: the machine's).
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        memory: Option<u64>,
        /// Where nodes are computed: here, or as Slurm jobs on a shared store.
        #[arg(long, value_enum, default_value_t = ExecutorKind::Local)]
        executor: ExecutorKind,
        /// The Slurm site profile (default: `rung-slurm.toml` from the spec's folder upwards,
        /// over `~/.config/rung/slurm.toml`).
        #[arg(long, value_name = "FILE")]
        slurm_profile: Option<PathBuf>,
        /// What Ctrl-C does to the run's Slurm jobs.
        #[arg(long, value_enum, default_value_t = InterruptKind::Cancel)]
        on_interrupt: InterruptKind,
        #[command(flatten)]
        places: Places,
    },
    /// Show the Slurm jobs of a spec's run: job, state, time and node, from one query.
    Status {
        /// The spec file.
        file: PathBuf,
        /// Override a `param` of the spec (the run's `--set`s name its jobs).
        #[arg(long = "set", value_name = "NAME=VALUE")]
        overrides: Vec<String>,
        #[command(flatten)]
        places: Places,
    },
    /// Compute one node of a Slurm batch (what each job runs; not for use by hand).
    #[command(name = "__job", hide = true)]
    Job {
        /// The batch folder on the shared store.
        folder: PathBuf,
        /// The array task index.
        index: usize,
    },
    /// Print a node's provenance and where its output is.
    Show {
        /// A node's name (`tuned[3]`), or a prefix of its key.
        node: String,
        /// The spec the node belongs to (default: the specs the store has run).
        #[arg(long, value_name = "FILE")]
        spec: Option<PathBuf>,
        /// Override a `param` of the spec.
        #[arg(long = "set", value_name = "NAME=VALUE")]
        overrides: Vec<String>,
        #[command(flatten)]
        places: Places,
    },
    /// Print where a node's result is best looked at (a report's `index.html`) and open it.
    Open {
        /// A node's name (`page`), or a prefix of its key.
        node: String,
        /// The spec the node belongs to (default: the specs the store has run).
        #[arg(long, value_name = "FILE")]
        spec: Option<PathBuf>,
        /// Override a `param` of the spec.
        #[arg(long = "set", value_name = "NAME=VALUE")]
        overrides: Vec<String>,
        #[command(flatten)]
        places: Places,
    },
    /// Print a spec's DAG as Graphviz dot or Mermaid.
    Graph {
        /// The spec file.
        file: PathBuf,
        /// The output format.
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
        /// Override a `param` of the spec.
        #[arg(long = "set", value_name = "NAME=VALUE")]
        overrides: Vec<String>,
        /// Only what these nodes or families need (repeatable).
        #[arg(long = "target", value_name = "NAME")]
        targets: Vec<String>,
    },
    /// Remove what no current spec reaches (oldest first, down to `--max-size`).
    Gc {
        /// Keep removing unreachable results only while the store is larger than this (`10G`).
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        max_size: Option<u64>,
        #[command(flatten)]
        places: Places,
    },
    /// Re-hash every result in the store; report and remove damaged ones.
    Verify {
        #[command(flatten)]
        places: Places,
    },
    /// Item response theory outside a spec: fit a response file, or simulate one.
    #[command(subcommand)]
    Irt(IrtCommand),
    /// Greedy continuations from a model (Hugging Face directory or GGUF file), outside a spec.
    Generate(model_commands::GenerateArgs),
}

/// `rung irt ...`.
#[derive(Debug, Subcommand)]
enum IrtCommand {
    /// Fit an IRT model to a response file and write one row per item.
    Fit(irt_commands::FitArgs),
    /// Simulate a response matrix from known parameters (abilities and difficulties ~ N(0, 1)).
    Simulate(irt_commands::SimulateArgs),
}

/// Where `rung run` computes nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ExecutorKind {
    /// On this machine's threads.
    Local,
    /// As Slurm jobs (`sbatch`), on a store every compute node shares.
    Slurm,
}

/// What Ctrl-C does to Slurm jobs in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum InterruptKind {
    /// Cancel them (`scancel`).
    Cancel,
    /// Leave them running; the next `rung run` adopts them.
    Detach,
}

/// How `rung graph` writes the DAG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum GraphFormat {
    /// Graphviz dot.
    Dot,
    /// A Mermaid flowchart.
    Mermaid,
}

/// Reads `512`, `64K`, `1.5G`, `2TiB` (powers of 1024).
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("expected a size such as `500M` or `10G`, found `{text}`"))?;
    let unit = unit.trim().to_ascii_uppercase();
    let unit = unit.trim_end_matches("IB").trim_end_matches('B');
    let scale: u64 = match unit {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        other => return Err(format!("unknown size unit `{other}`; use K, M, G or T")),
    };
    Ok((number * scale as f64) as u64)
}

fn irt(command: IrtCommand) -> commands::Outcome {
    match command {
        IrtCommand::Fit(args) => irt_commands::fit(&args),
        IrtCommand::Simulate(args) => irt_commands::simulate(&args),
    }
}

/// Runs the command line against `registry` and returns the process's exit code.
pub fn main(registry: Registry) -> ExitCode {
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
    let catalog = registry.catalog();
    let outcome = match cli.command {
        Command::Check {
            files,
            overrides,
            nodes,
        } => commands::check(catalog, &files, &overrides, nodes),
        Command::Fmt { files, check } => commands::fmt(&files, check),
        Command::Help { topic } => commands::help(catalog, topic.as_deref()),
        Command::Plan {
            file,
            overrides,
            targets,
            changed,
            places,
        } => engine_commands::plan(&registry, &file, &overrides, &targets, changed, &places),
        Command::Run {
            file,
            overrides,
            jobs,
            keep_going,
            targets,
            gpus,
            memory,
            executor,
            slurm_profile,
            on_interrupt,
            places,
        } => {
            let slurm =
                (executor == ExecutorKind::Slurm).then_some(slurm_commands::SlurmSettings {
                    profile: slurm_profile,
                    on_interrupt: match on_interrupt {
                        InterruptKind::Cancel => rung_slurm::OnInterrupt::Cancel,
                        InterruptKind::Detach => rung_slurm::OnInterrupt::Detach,
                    },
                });
            let settings = engine_commands::RunSettings {
                jobs,
                keep_going,
                gpus,
                memory,
                slurm,
            };
            engine_commands::run(&registry, &file, &overrides, &targets, &settings, &places)
        }
        Command::Status {
            file,
            overrides,
            places,
        } => slurm_commands::status(&file, &overrides, &places),
        Command::Job { folder, index } => return slurm_commands::job(&registry, &folder, index),
        Command::Show {
            node,
            spec,
            overrides,
            places,
        } => engine_commands::show(&registry, &node, spec.as_deref(), &overrides, &places),
        Command::Open {
            node,
            spec,
            overrides,
            places,
        } => engine_commands::open(&registry, &node, spec.as_deref(), &overrides, &places),
        Command::Graph {
            file,
            format,
            overrides,
            targets,
        } => engine_commands::graph(&registry, &file, &overrides, &targets, format),
        Command::Gc { max_size, places } => engine_commands::gc(max_size, &places),
        Command::Verify { places } => engine_commands::verify(&places),
        Command::Irt(command) => irt(command),
        Command::Generate(args) => model_commands::generate(&args),
    };
    ExitCode::from(outcome as u8)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_read_with_binary_units() {
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("2TiB"), Ok(2 << 40));
        assert!(parse_size("10 parsecs").is_err());
        assert!(parse_size("G").is_err());
    }
}
