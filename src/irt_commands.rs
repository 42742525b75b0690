//! `rung irt fit` and `rung irt simulate`: IRT outside a spec, on the same code path as the `irt`
//! node.

use std::fs;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rung_irt::files::{write_abilities_csv, write_items_csv};
use rung_irt::load::{Format, LoadOptions, load};
use rung_irt::simulate::Design;
use rung_irt::{FitOptions, Method, Model};
use rung_stdlib::ops::fit_matrix;

use crate::commands::{Outcome, fail, parse_device, set_threads, usage};

/// What `rung irt fit` is asked to do.
#[derive(Debug, clap::Args)]
pub(crate) struct FitArgs {
    /// The response file (a folder for `lm_eval_logs`).
    pub(crate) responses: PathBuf,
    /// The file's format: wide_csv, long_csv, long_jsonl, pyirt_jsonl or lm_eval_logs.
    #[arg(long, default_value = "wide_csv")]
    pub(crate) format: String,
    /// The model: 1pl, 2pl or 3pl.
    #[arg(long, default_value = "1pl")]
    pub(crate) model: String,
    /// The estimation method: mml, jmap or vi.
    #[arg(long, default_value = "mml")]
    pub(crate) method: String,
    /// Quadrature points (mml).
    #[arg(long, default_value_t = 41)]
    pub(crate) quadrature: usize,
    /// Most iterations.
    #[arg(long, default_value_t = 500)]
    pub(crate) max_iter: usize,
    /// Stop when no parameter moves more than this in an iteration.
    #[arg(long, default_value_t = 1e-4)]
    pub(crate) tolerance: f64,
    /// Seed of initialisation and sampling.
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
    /// CPU threads (default: all cores).
    #[arg(long, value_name = "N")]
    pub(crate) threads: Option<usize>,
    /// Where to fit: cpu, or cuda / cuda:N in CUDA builds.
    #[arg(long, default_value = "cpu")]
    pub(crate) device: String,
    /// The items table to write:
    /// item,difficulty,difficulty_se,discrimination,discrimination_se,n,p_correct,infit,outfit,flag.
    #[arg(short = 'o', long = "out", value_name = "OUT.csv")]
    pub(crate) out: PathBuf,
    /// Also write each subject's ability here.
    #[arg(long, value_name = "FILE")]
    pub(crate) abilities: Option<PathBuf>,
    /// Also write a JSON summary (convergence trace, timings) here.
    #[arg(long, value_name = "FILE")]
    pub(crate) report: Option<PathBuf>,
}

/// What `rung irt simulate` is asked to do.
#[derive(Debug, clap::Args)]
pub(crate) struct SimulateArgs {
    /// Subjects (rows).
    #[arg(long)]
    pub(crate) subjects: usize,
    /// Items (columns).
    #[arg(long)]
    pub(crate) items: usize,
    /// The model responses are drawn from: 1pl or 2pl (discriminations ~ LogNormal(0, 0.3)).
    #[arg(long, default_value = "1pl")]
    pub(crate) model: String,
    /// Share of cells left missing, completely at random.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) missing: f64,
    /// Seed of every draw.
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
    /// The wide CSV to write.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub(crate) out: PathBuf,
    /// Also write the true item parameters here: item,difficulty,discrimination.
    #[arg(long, value_name = "FILE")]
    pub(crate) truth: Option<PathBuf>,
}

/// `rung irt fit`: loads a response file, fits, writes the items table (and abilities, and a JSON
/// summary with timings).
pub(crate) fn fit(command: &FitArgs) -> Outcome {
    let started = Instant::now();
    let (Some(model), Some(method), Some(format)) = (
        Model::parse(&command.model),
        Method::parse(&command.method),
        Format::parse(&command.format),
    ) else {
        return usage(format!(
            "expected --model 1pl|2pl|3pl, --method mml|jmap|vi and a known --format, found {} / {} / {}",
            command.model, command.method, command.format
        ));
    };
    let device = match parse_device(&command.device) {
        Ok(device) => device,
        Err(message) => return usage(message),
    };
    if let Err(error) = set_threads(command.threads) {
        return usage(error);
    }
    let options = FitOptions {
        model,
        method,
        quadrature: command.quadrature,
        max_iter: command.max_iter,
        tolerance: command.tolerance,
        seed: command.seed,
        ..FitOptions::default()
    };
    let load_options = LoadOptions {
        format,
        ..LoadOptions::default()
    };
    let matrix = match load(&command.responses, &load_options) {
        Ok(matrix) => matrix,
        Err(error) => return fail(error),
    };
    let read_s = started.elapsed().as_secs_f64();
    let fitting = Instant::now();
    let fit = match fit_matrix(
        &matrix,
        &options,
        device,
        &mut |_| ControlFlow::Continue(()),
    ) {
        Ok(fit) => fit,
        Err(error) => return fail(error),
    };
    let fit_s = fitting.elapsed().as_secs_f64();
    let written = write_to(&command.out, |file| write_items_csv(&fit, file)).and_then(|()| {
        match &command.abilities {
            Some(path) => write_to(path, |file| write_abilities_csv(&fit, file)),
            None => Ok(()),
        }
    });
    if let Err(error) = written {
        return fail(error);
    }
    for line in fit.summary() {
        eprintln!("{line}");
    }
    eprintln!("read {read_s:.3} s, fit {fit_s:.3} s");
    if let Some(path) = &command.report {
        let summary = serde_json::json!({
            "model": model.name(),
            "method": method.name(),
            "subjects": matrix.n_subjects(),
            "items": matrix.n_items(),
            "missing_fraction": matrix.missing_fraction(),
            "iterations": fit.iterations,
            "converged": fit.converged,
            "objective": fit.objective,
            "log_likelihood": fit.log_likelihood,
            "population": fit.population,
            "identification": fit.identification,
            "backend": fit.backend,
            "flagged_items": fit.flagged_items(),
            "trace": fit.trace,
            "timings": { "read_s": read_s, "fit_s": fit_s, "total_s": started.elapsed().as_secs_f64() },
        });
        if let Err(error) = write_to(path, |mut file| {
            serde_json::to_writer_pretty(&mut file, &summary).map_err(std::io::Error::from)?;
            writeln!(file)
        }) {
            return fail(error);
        }
    }
    Outcome::Ok
}

/// `rung irt simulate`: a wide CSV of responses drawn from known parameters, and the truth.
pub(crate) fn simulate(args: &SimulateArgs) -> Outcome {
    let Some(model) = Model::parse(&args.model) else {
        return usage(format!(
            "expected --model 1pl or 2pl, found `{}`",
            args.model
        ));
    };
    if !(0.0..1.0).contains(&args.missing) {
        return usage(format!(
            "--missing must be in [0, 1), found {}",
            args.missing
        ));
    }
    let design = Design {
        subjects: args.subjects,
        items: args.items,
        model,
        missing: args.missing,
        seed: args.seed,
    };
    let (out, truth) = (args.out.as_path(), args.truth.as_deref());
    let (matrix, parameters) = rung_irt::simulate::simulate(&design);
    let written =
        write_to(out, |file| rung_irt::load::write_wide_csv(&matrix, file)).and_then(|()| {
            let Some(path) = truth else { return Ok(()) };
            write_to(path, |file| {
                let mut file = std::io::BufWriter::new(file);
                writeln!(file, "item,difficulty,discrimination")?;
                for (j, id) in matrix.items().iter().enumerate() {
                    writeln!(
                        file,
                        "{id},{},{}",
                        parameters.difficulties[j], parameters.discriminations[j]
                    )?;
                }
                file.flush()
            })
        });
    match written {
        Ok(()) => Outcome::Ok,
        Err(error) => fail(error),
    }
}

/// Creates `path` and writes it with `write`, naming the path in any error.
fn write_to(
    path: &Path,
    write: impl FnOnce(fs::File) -> std::io::Result<()>,
) -> Result<(), String> {
    fs::File::create(path)
        .and_then(write)
        .map_err(|e| format!("{}: {e}", path.display()))
}
