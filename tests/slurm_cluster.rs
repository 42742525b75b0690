//! The Slurm test cluster itself: job states through `sacct` (accounting) and `squeue` (without).

mod common;

use std::time::{Duration, Instant};

use common::slurm::{Accounting, Cluster, wait_until};

/// Holds about 400 MB for a few seconds: `tail` keeps a line without a newline in memory.
const MEMORY_HOG: &str = "(head -c 400M /dev/zero; sleep 5) | tail > /dev/null";

/// With accounting, `sacct` reports COMPLETED, FAILED with the exit code, a memory-limit kill,
/// CANCELLED and TIMEOUT.
#[test]
fn sacct_reports_final_states() {
    let Some(cluster) = Cluster::start_or_skip(Accounting::Enabled) else {
        return;
    };
    let dir = cluster.dir().to_path_buf();

    // The time-limit case first: limits are whole minutes and slurmctld checks them every 30 s
    // counted from its own start (compiled in), so a `-t 1` job submitted right after the start
    // ends TIMEOUT at about 90 s; the other cases run on the second CPU meanwhile.
    let timeout_started = Instant::now();
    let timeout = cluster.sbatch(&["-t", "1", "--wrap", "sleep 300"]);

    let started = Instant::now();
    let out = dir.join("out");
    let ok = cluster.sbatch(&["--wrap", &format!("echo hi > {}", out.display())]);
    let (state, code) = cluster.wait_sacct_final(&ok, Duration::from_secs(60));
    assert_eq!(
        (state.as_str(), code.as_str()),
        ("COMPLETED", "0:0"),
        "{}",
        cluster.log_tail("slurmctld")
    );
    assert_eq!(
        std::fs::read_to_string(&out).expect("the job wrote its file"),
        "hi\n"
    );
    eprintln!("COMPLETED: {:.1}s", started.elapsed().as_secs_f64());

    let started = Instant::now();
    let failing = cluster.sbatch(&["--wrap", "exit 3"]);
    let (state, code) = cluster.wait_sacct_final(&failing, Duration::from_secs(60));
    assert_eq!((state.as_str(), code.as_str()), ("FAILED", "3:0"));
    eprintln!("FAILED: {:.1}s", started.elapsed().as_secs_f64());

    // Over --mem: jobacct_gather/linux samples every second and kills the step; without cgroups
    // Slurm calls that FAILED with signal 9 (OUT_OF_MEMORY needs --cgroup-memory, see below).
    let started = Instant::now();
    let hog = cluster.sbatch(&["--mem=100M", "--wrap", MEMORY_HOG]);
    let (state, code) = cluster.wait_sacct_final(&hog, Duration::from_secs(60));
    assert_eq!((state.as_str(), code.as_str()), ("FAILED", "0:9"));
    let output = std::fs::read_to_string(dir.join(format!("slurm-{hog}.out")))
        .expect("the job's output file");
    assert!(output.contains("exceeded memory limit"), "{output}");
    eprintln!("memory limit: {:.1}s", started.elapsed().as_secs_f64());

    let started = Instant::now();
    let running = cluster.sbatch(&["--wrap", "sleep 300"]);
    wait_until(Duration::from_secs(60), "the sleeping job to run", || {
        cluster
            .sacct(&running)
            .filter(|(state, _)| state == "RUNNING")
    });
    cluster.ok("scancel", &[&running]);
    let (state, _) = cluster.wait_sacct_final(&running, Duration::from_secs(60));
    assert!(state.starts_with("CANCELLED"), "scancel gave {state}");
    eprintln!("CANCELLED: {:.1}s", started.elapsed().as_secs_f64());

    let (state, code) = cluster.wait_sacct_final(&timeout, Duration::from_secs(150));
    assert_eq!(state, "TIMEOUT", "exit code {code}");
    eprintln!("TIMEOUT: {:.1}s", timeout_started.elapsed().as_secs_f64());
}

/// Without accounting, `squeue --states=all` still shows a finished job (for `MinJobAge`) and
/// `sacct` has nothing to say.
#[test]
fn squeue_shows_finished_jobs_without_accounting() {
    let Some(cluster) = Cluster::start_or_skip(Accounting::Disabled) else {
        return;
    };
    let started = Instant::now();
    let id = cluster.sbatch(&["--wrap", "true"]);
    let state = cluster.wait_squeue_final(&id, Duration::from_secs(60));
    assert_eq!(state, "COMPLETED");
    let failing = cluster.sbatch(&["--wrap", "exit 3"]);
    let state = cluster.wait_squeue_final(&failing, Duration::from_secs(60));
    assert_eq!(state, "FAILED");

    let sacct = cluster.run("sacct", &["-j", &id, "-n", "-X", "-P", "-o", "State"]);
    assert!(
        !sacct.status.success() || String::from_utf8_lossy(&sacct.stdout).trim().is_empty(),
        "sacct answered without accounting: {}",
        String::from_utf8_lossy(&sacct.stdout)
    );
    eprintln!("squeue path: {:.1}s", started.elapsed().as_secs_f64());
}

/// With `--cgroup-memory` (task/cgroup on cgroup v1) a job over its `--mem` ends OUT_OF_MEMORY.
#[test]
#[ignore = "needs a writable cgroup v1 memory controller (a VM or privileged container), \
            which CI containers usually lack"]
fn cgroup_memory_gives_out_of_memory() {
    if let Err(why) = common::slurm::install() {
        println!("skipped: {why}");
        return;
    }
    let cluster = Cluster::start_with(Accounting::Enabled, &["--cgroup-memory"]);
    let hog = cluster.sbatch(&["--mem=100M", "--wrap", MEMORY_HOG]);
    let (state, _) = cluster.wait_sacct_final(&hog, Duration::from_secs(60));
    assert_eq!(state, "OUT_OF_MEMORY");
}
