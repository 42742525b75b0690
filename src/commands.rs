//! The subcommands: each returns an [`Outcome`], the process's exit code.

use std::io::Write;
use std::path::{Path, PathBuf};

use rung_engine::Catalog;
use rung_lang::{Sources, check_file, format};

use rung_stdlib::ops::Device;

use crate::render;

/// How a command ended: the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Everything is fine.
    Ok = 0,
    /// The specs have problems (reported as diagnostics), or the work failed.
    Diagnostics = 1,
    /// The command line was wrong.
    Usage = 2,
    /// The run was interrupted (Ctrl-C).
    Interrupted = 130,
}

/// `rung check`: reports every problem of every file; with `nodes`, prints the plan.
pub(crate) fn check(
    catalog: &Catalog,
    files: &[PathBuf],
    overrides: &[String],
    nodes: bool,
) -> Outcome {
    let mut outcome = Outcome::Ok;
    for file in files {
        let checked = check_file(file, catalog, overrides);
        eprint!(
            "{}",
            render::diagnostics(&checked.sources, &checked.diagnostics)
        );
        let Some(program) = checked.program else {
            outcome = Outcome::Diagnostics;
            continue;
        };
        if nodes {
            let mut out = std::io::stdout().lock();
            for (id, node) in program.plan.iter() {
                let labels = if node.labels.is_empty() {
                    "-".to_string()
                } else {
                    node.labels.join(", ")
                };
                let form = program.plan.canonical_text(id);
                let _ = writeln!(out, "{}  {labels}  {form}", node.form_hash.short(12));
            }
        }
        eprintln!("{}: ok, {} nodes", file.display(), program.plan.len());
    }
    outcome
}

/// `rung fmt`: rewrites files in their canonical layout, or with `check` lists those that differ.
pub(crate) fn fmt(files: &[PathBuf], check: bool) -> Outcome {
    let mut outcome = Outcome::Ok;
    for file in files {
        let text = match std::fs::read(file).map(String::from_utf8) {
            Ok(Ok(text)) => text,
            Ok(Err(_)) => {
                eprintln!("error: `{}` is not valid UTF-8", file.display());
                outcome = Outcome::Diagnostics;
                continue;
            }
            Err(error) => {
                eprintln!("error: cannot read `{}`: {error}", file.display());
                outcome = Outcome::Diagnostics;
                continue;
            }
        };
        let mut sources = Sources::new();
        let id = sources.add(file.display().to_string(), file, text.clone());
        let formatted = match format::format_source(id, &text) {
            Ok(formatted) => formatted,
            Err(diagnostics) => {
                eprint!("{}", render::diagnostics(&sources, &diagnostics));
                outcome = Outcome::Diagnostics;
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        if check {
            println!("{}", file.display());
            outcome = Outcome::Diagnostics;
        } else if let Err(error) = write_atomically(file, &formatted) {
            eprintln!("error: cannot write `{}`: {error}", file.display());
            outcome = Outcome::Diagnostics;
        }
    }
    outcome
}

/// Replaces a file's contents so that a crash leaves either the old or the new text.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".rung-fmt.tmp");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path)
}

/// `rung help`: the standard library's reference.
pub(crate) fn help(catalog: &Catalog, topic: Option<&str>) -> Outcome {
    let Some(topic) = topic else {
        print!("{}", rung_stdlib::reference::overview(catalog));
        return Outcome::Ok;
    };
    match rung_stdlib::reference::topic(catalog, topic) {
        Some(text) => {
            print!("{text}");
            Outcome::Ok
        }
        None => {
            eprintln!("error: nothing in the standard library is called `{topic}`");
            eprintln!("help: `rung help` lists the operations, kinds, enums and record types");
            Outcome::Usage
        }
    }
}

/// Reports an error of the work (exit status 1).
pub(crate) fn fail(message: impl std::fmt::Display) -> Outcome {
    eprintln!("error: {message}");
    Outcome::Diagnostics
}

/// Reports a wrong command line (exit status 2).
pub(crate) fn usage(message: impl std::fmt::Display) -> Outcome {
    eprintln!("error: {message}");
    Outcome::Usage
}

/// Reads `--device`: cpu, cuda or cuda:N.
pub(crate) fn parse_device(text: &str) -> Result<Device, String> {
    match text {
        "cpu" => Ok(Device::Cpu),
        "cuda" => Ok(Device::Cuda(0)),
        other => other
            .strip_prefix("cuda:")
            .and_then(|i| i.parse().ok())
            .map(Device::Cuda)
            .ok_or_else(|| format!("expected --device cpu, cuda or cuda:N, found `{other}`")),
    }
}

/// Sizes rayon's pool, which burn's CPU backend and the libraries share.
pub(crate) fn set_threads(threads: Option<usize>) -> Result<(), String> {
    match threads {
        Some(0) => Err("--threads must be at least 1".into()),
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| e.to_string()),
        None => Ok(()),
    }
}
