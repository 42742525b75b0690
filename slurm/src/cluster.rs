//! Slurm's own commands (`sbatch`, `sacct`, `squeue`, `scancel`, `scontrol`), each call counted,
//! with the run's jobs found by their shared name in one query.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::query::{self, JobRow};

/// The commands, and how often each query ran.
#[derive(Debug, Default)]
pub struct Slurm {
    /// `false` once `sacct` said accounting is disabled: `squeue` answers from then on.
    accounting: bool,
    /// `sacct` calls made.
    pub sacct_calls: u64,
    /// `squeue` calls made.
    pub squeue_calls: u64,
    /// `sbatch` calls made.
    pub sbatch_calls: u64,
}

/// Runs a command and returns its standard output, or an error with its standard error.
fn output(command: &mut Command) -> Result<String, String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run `{program}` (is Slurm installed here?): {error}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`{program}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Slurm {
    /// Slurm's commands, trying `sacct` first.
    pub fn new() -> Slurm {
        Slurm {
            accounting: true,
            ..Slurm::default()
        }
    }

    /// The cluster's `MaxArraySize`, from `scontrol show config` (1001, Slurm's default, when
    /// it is not listed).
    pub fn max_array_size(&self) -> Result<usize, String> {
        let config = output(Command::new("scontrol").args(["show", "config"]))?;
        Ok(config
            .lines()
            .filter_map(|line| line.split_once('='))
            .find(|(name, _)| name.trim() == "MaxArraySize")
            .and_then(|(_, value)| value.trim().parse().ok())
            .unwrap_or(1001))
    }

    /// Submits with `sbatch --parsable`; the job ID.
    pub fn submit(&mut self, arguments: &[String]) -> Result<u64, String> {
        self.sbatch_calls += 1;
        let text = output(Command::new("sbatch").args(arguments))?;
        let id = text.trim().split(';').next().unwrap_or("");
        id.parse().map_err(|_| {
            format!(
                "`sbatch --parsable` printed `{}`, not a job ID",
                text.trim()
            )
        })
    }

    /// Every job of the run named `job_name`, from one `sacct` call (one `squeue --states=all`
    /// call when the cluster keeps no accounting).
    pub fn jobs(&mut self, job_name: &str) -> Result<Vec<JobRow>, String> {
        if self.accounting {
            self.sacct_calls += 1;
            let answer = output(Command::new("sacct").args([
                "--noheader",
                "--parsable2",
                "--allocations",
                "--starttime=now-7days",
                &format!("--name={job_name}"),
                &format!("--format={}", query::SACCT_FIELDS),
            ]));
            match answer {
                Ok(text) => return Ok(query::parse_sacct(&text)),
                Err(why) if why.contains("accounting storage is disabled") => {
                    self.accounting = false;
                }
                Err(why) => return Err(why),
            }
        }
        self.squeue_calls += 1;
        let text = output(Command::new("squeue").args([
            "--noheader",
            "--array",
            "--states=all",
            &format!("--name={job_name}"),
            &format!("--format={}", query::SQUEUE_FORMAT),
        ]))?;
        Ok(query::parse_squeue(&text))
    }

    /// The run's jobs still queued or running, from `squeue`, which (unlike `sacct`, fed by
    /// slurmdbd a moment later) knows a job from the instant `sbatch` returns.
    pub fn live_jobs(&mut self, job_name: &str) -> Result<Vec<JobRow>, String> {
        self.squeue_calls += 1;
        let text = output(Command::new("squeue").args([
            "--noheader",
            "--array",
            &format!("--name={job_name}"),
            &format!("--format={}", query::SQUEUE_FORMAT),
        ]))?;
        Ok(query::parse_squeue(&text))
    }

    /// Cancels every job of the run with one `scancel`.
    pub fn cancel(&self, job_name: &str) -> Result<(), String> {
        output(Command::new("scancel").arg(format!("--name={job_name}"))).map(drop)
    }
}

/// Writes `text` to a new executable file (a job script).
pub fn write_script(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o755)
        .open(path)?;
    file.write_all(text.as_bytes())
}
