//! A real single-node Slurm cluster for tests: `scripts/slurm-cluster.sh` behind a guard that stops it.
//!
//! [`Cluster::start`] installs the Debian packages when they are missing (the one allowed reason
//! to skip a test is that they cannot be installed), starts the daemons in a temporary folder and
//! stops them again when the guard is dropped, panics included.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::root;

/// Whether the cluster keeps job accounting (MariaDB and slurmdbd, so `sacct` answers) or not
/// (only `squeue`/`scontrol` know about jobs, and only for `MinJobAge` after they end).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Accounting {
    Enabled,
    Disabled,
}

/// A running single-node cluster; dropping it stops every daemon it started.
pub(crate) struct Cluster {
    dir: TempDir,
    env: Vec<(String, String)>,
    stopped: bool,
}

/// The cluster script.
fn script() -> PathBuf {
    root().join("scripts/slurm-cluster.sh")
}

/// Runs `scripts/slurm-cluster.sh install` once per test binary; `Err` says why Slurm is not
/// available.
pub(crate) fn install() -> Result<(), String> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            let started = Instant::now();
            let output = Command::new("bash")
                .arg(script())
                .arg("install")
                .output()
                .map_err(|e| format!("cannot run {}: {e}", script().display()))?;
            eprintln!("slurm install: {:.1}s", started.elapsed().as_secs_f64());
            if output.status.success() {
                Ok(())
            } else {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let why = stderr
                    .lines()
                    .rev()
                    .find(|l| l.starts_with("slurm-cluster:"))
                    .unwrap_or("slurm-cluster.sh install failed");
                Err(why.to_string())
            }
        })
        .clone()
}

impl Cluster {
    /// Starts a cluster, or prints `skipped: <why>` and returns `None` when Slurm cannot be
    /// installed on this machine. Any other failure panics.
    pub(crate) fn start_or_skip(accounting: Accounting) -> Option<Cluster> {
        match install() {
            Ok(()) => Some(Cluster::start(accounting)),
            Err(why) => {
                println!("skipped: {why}");
                None
            }
        }
    }

    /// Starts a cluster in a fresh temporary folder; Slurm must already be installed.
    pub(crate) fn start(accounting: Accounting) -> Cluster {
        Cluster::start_with(accounting, &[])
    }

    /// Like [`Cluster::start`], with extra `start` options such as `--min-job-age SECONDS`.
    pub(crate) fn start_with(accounting: Accounting, extra: &[&str]) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("rung-slurm-")
            .tempdir()
            .expect("a temporary folder");
        let mut cmd = Command::new("bash");
        cmd.arg(script()).arg("start").arg(dir.path());
        if accounting == Accounting::Disabled {
            cmd.arg("--no-accounting");
        }
        cmd.args(extra);
        let started = Instant::now();
        let output = cmd.output().expect("slurm-cluster.sh runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let env: Vec<(String, String)> = stdout
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        // From here on the guard owns the folder: a failed start still stops what did start.
        let mut cluster = Cluster {
            dir,
            env,
            stopped: false,
        };
        if !output.status.success() || cluster.env.is_empty() {
            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            cluster.stop();
            panic!(
                "slurm-cluster.sh start failed ({}):\n{stderr}",
                output.status
            );
        }
        eprintln!(
            "slurm start ({accounting:?}): {:.1}s",
            started.elapsed().as_secs_f64()
        );
        cluster
    }

    /// The cluster's folder: configs, state, logs; commands from [`Cluster::command`] run here.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What a client needs in its environment (`SLURM_CONF`).
    pub(crate) fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// `program` with the client environment set, run in the cluster's folder.
    pub(crate) fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(self.dir());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs `program ARGS` against the cluster and returns what it did.
    pub(crate) fn run(&self, program: &str, args: &[&str]) -> Output {
        self.command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{program} runs: {e}"))
    }

    /// Runs `program ARGS`, panicking unless it succeeds; returns its trimmed stdout.
    pub(crate) fn ok(&self, program: &str, args: &[&str]) -> String {
        let out = self.run(program, args);
        assert!(
            out.status.success(),
            "{program} {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// `sbatch --parsable ARGS`; returns the job id.
    pub(crate) fn sbatch(&self, args: &[&str]) -> String {
        let mut all = vec!["--parsable"];
        all.extend_from_slice(args);
        let out = self.ok("sbatch", &all);
        // `--parsable` prints `ID` or `ID;CLUSTER`.
        out.split(';').next().unwrap_or_default().to_string()
    }

    /// `State|ExitCode` of job `id` from `sacct` (allocation line only), if it knows the job.
    pub(crate) fn sacct(&self, id: &str) -> Option<(String, String)> {
        let out = self.run(
            "sacct",
            &["-j", id, "-n", "-X", "-P", "-o", "State,ExitCode"],
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().next()?;
        let (state, code) = line.split_once('|')?;
        Some((state.to_string(), code.to_string()))
    }

    /// The job's state according to `squeue --states=all`, if slurmctld still knows it.
    pub(crate) fn squeue_state(&self, id: &str) -> Option<String> {
        let out = self.run("squeue", &["--states=all", "-h", "-o", "%i %T"]);
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines().find_map(|l| {
            let (job, state) = l.split_once(' ')?;
            (job == id).then(|| state.trim().to_string())
        })
    }

    /// Polls `sacct` until job `id` is in a final state; returns `(state, exit code)`.
    pub(crate) fn wait_sacct_final(&self, id: &str, timeout: Duration) -> (String, String) {
        wait_until(timeout, &format!("job {id} to finish (sacct)"), || {
            self.sacct(id).filter(|(state, _)| is_final(state))
        })
    }

    /// Polls `squeue --states=all` until job `id` is in a final state.
    pub(crate) fn wait_squeue_final(&self, id: &str, timeout: Duration) -> String {
        wait_until(timeout, &format!("job {id} to finish (squeue)"), || {
            self.squeue_state(id).filter(|state| is_final(state))
        })
    }

    /// Stops the daemons (idempotent); the folder goes when the guard is dropped.
    pub(crate) fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let result = Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(self.dir.path())
            .output();
        match result {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!(
                "slurm-cluster.sh stop failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => eprintln!("cannot run slurm-cluster.sh stop: {e}"),
        }
    }

    /// The tail of one daemon log (`slurmctld`, `slurmd`, `slurmdbd`, `mariadb`), for messages.
    pub(crate) fn log_tail(&self, daemon: &str) -> String {
        let text = std::fs::read_to_string(self.dir().join(format!("log/{daemon}.log")))
            .unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether a Slurm job state (as `sacct` or `squeue` print it) is final.
pub(crate) fn is_final(state: &str) -> bool {
    const FINAL: [&str; 10] = [
        "COMPLETED",
        "FAILED",
        "CANCELLED",
        "TIMEOUT",
        "OUT_OF_MEMORY",
        "NODE_FAIL",
        "PREEMPTED",
        "BOOT_FAIL",
        "DEADLINE",
        "REVOKED",
    ];
    FINAL.iter().any(|f| state.starts_with(f))
}

/// Calls `probe` every 250 ms until it returns something; panics after `timeout`.
pub(crate) fn wait_until<T>(
    timeout: Duration,
    what: &str,
    mut probe: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}
