//! `rung run --executor slurm` against a real single-node Slurm (Debian's slurmctld and slurmd,
//! started per test by `scripts/slurm-cluster.sh`): results identical to the local executor,
//! arrays chunked to the cluster's `MaxArraySize`, fail-fast and keep-going, `scancel`, a time
//! limit resubmitted and resumed, a killed driver restarted without submitting anything twice,
//! and the `squeue` path of a cluster without accounting.

#![allow(clippy::unwrap_used)]

mod common;
// The root package's cluster guard; these tests use only part of it.
#[allow(dead_code)]
#[path = "../../tests/common/slurm.rs"]
mod slurm;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Project, entries, stderr, summary};
use slurm::{Accounting, Cluster};

/// The repository root, for the cluster script.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Polling fast enough for tests; everything else is the executor's default.
const PROFILE: &str = "poll_first_seconds = 1\npoll_max_seconds = 4\n";

/// A project whose runs go to `cluster`.
struct Site<'c> {
    project: Project,
    cluster: &'c Cluster,
}

impl<'c> Site<'c> {
    fn new(cluster: &'c Cluster, spec: &str, profile: &str) -> Site<'c> {
        let project = Project::new(spec);
        fs::write(project.path("rung-slurm.toml"), profile).unwrap();
        Site { project, cluster }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = self
            .project
            .command(&["run", "spec.rung", "--executor", "slurm"]);
        command.args(args);
        for (name, value) in self.cluster.env() {
            command.env(name, value);
        }
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// The batch folders the run has written so far.
    fn batches(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let Ok(runs) = fs::read_dir(self.project.store().join("slurm")) else {
            return found;
        };
        for run in runs.flatten() {
            for batch in fs::read_dir(run.path()).into_iter().flatten().flatten() {
                if batch.path().join("batch.json").is_file() {
                    found.push(batch.path());
                }
            }
        }
        found.sort();
        found
    }

    /// Every job Slurm's accounting knows for this cluster: `(JobID, State)`.
    fn sacct_jobs(&self) -> Vec<(String, String)> {
        let out = self.cluster.ok(
            "sacct",
            &[
                "-n",
                "-X",
                "-P",
                "--starttime=now-1days",
                "-o",
                "JobID,State",
            ],
        );
        out.lines()
            .filter_map(|l| l.split_once('|'))
            .map(|(id, state)| (id.to_string(), state.to_string()))
            .collect()
    }
}

/// The executor's summary line: `slurm: N jobs in M sbatch calls (...)`.
fn slurm_line(output: &Output) -> String {
    let text = stderr(output);
    text.lines()
        .find(|l| l.starts_with("slurm: ") && l.contains("sbatch calls"))
        .unwrap_or_else(|| panic!("no Slurm summary in:\n{text}"))
        .to_string()
}

/// The first numbers of the summary line, in order: jobs, sbatch calls, adopted, resubmitted,
/// polling cycles, sacct queries, squeue queries.
fn slurm_numbers(output: &Output) -> [u64; 7] {
    let numbers: Vec<u64> = slurm_line(output)
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .take(7)
        .collect();
    numbers.try_into().expect("seven numbers")
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

const DIAMOND: &str = r#"blob top = blob_step(files = ["data/d0.txt"], tag = "top")
blob left = blob_step([top], tag = "left", value = 1)
blob right = blob_step([top], tag = "right", value = 2)
blob bottom = blob_step([left, right], tag = "bottom")
"#;

#[test]
fn a_diamond_through_slurm_equals_the_local_run() {
    let Some(cluster) = Cluster::start_or_skip(Accounting::Enabled) else {
        return;
    };
    let site = Site::new(&cluster, DIAMOND, PROFILE);
    let out = site.run(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(summary(&out), [4, 0, 0, 0]);
    let [jobs, sbatch, adopted, resubmitted, cycles, sacct, squeue] = slurm_numbers(&out);
    assert_eq!((jobs, sbatch, adopted, resubmitted), (4, 4, 0, 0));
    // One `squeue` when the driver starts (for jobs to adopt), then one `sacct` per cycle.
    assert_eq!(squeue, 1, "{}", slurm_line(&out));
    assert!(sacct <= cycles, "{}", slurm_line(&out));

    let local = Project::new(DIAMOND);
    let here = local.rung(&["run", "spec.rung"]);
    assert!(here.status.success(), "{}", stderr(&here));
    assert_eq!(site.project.entries(), local.entries());

    // Each job left its completion record; a second run submits nothing.
    for batch in site.batches() {
        let records = fs::read_dir(&batch)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("done-"))
            .count();
        assert!(records >= 1, "no completion record in {}", batch.display());
    }
    let again = site.run(&[]);
    assert_eq!(summary(&again), [0, 4, 0, 0]);
    assert_eq!(slurm_numbers(&again)[..2], [0, 0]);

    // `rung status` lists the four jobs from one query (once accounting has caught up).
    let status = || {
        let out = site
            .project
            .command(&["status", "spec.rung"])
            .envs(cluster.env().iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    wait_for(
        "sacct to list the four jobs",
        Duration::from_secs(30),
        || status().contains("4 jobs: 4 COMPLETED"),
    );
    let text = status();
    for node in ["top", "left", "right", "bottom"] {
        assert!(
            text.lines()
                .any(|l| l.contains("COMPLETED") && l.ends_with(node)),
            "{node} missing from:\n{text}"
        );
    }
}

#[test]
fn a_family_goes_out_as_arrays_chunked_to_max_array_size() {
    let Some(cluster) = Cluster::start_or_skip(Accounting::Enabled) else {
        return;
    };
    // The test cluster's MaxArraySize is 50: 60 members make arrays of 49 and 11.
    let spec = "blob seed = blob_step(tag = \"seed\")\n\
                blob member[i in 0..60] = blob_step([seed], tag = \"member\", value = i)\n";
    let site = Site::new(&cluster, spec, PROFILE);
    let out = site.run(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(summary(&out), [61, 0, 0, 0]);
    assert_eq!(slurm_numbers(&out)[..2], [61, 3], "{}", slurm_line(&out));
    // The batches as submitted, and Slurm's own output file for every array task.
    let mut sizes = Vec::new();
    for batch in site.batches() {
        let tasks = fs::read_to_string(batch.join("batch.json")).unwrap();
        let tasks: serde_json::Value = serde_json::from_str(&tasks).unwrap();
        let tasks = tasks["tasks"].as_array().unwrap().len();
        let outputs: Vec<String> = fs::read_dir(&batch)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("slurm-") && name.ends_with(".out"))
            .collect();
        assert_eq!(outputs.len(), tasks, "{outputs:?}");
        if tasks > 1 {
            assert!(outputs.iter().all(|name| name.contains('_')), "{outputs:?}");
        }
        sizes.push(tasks);
    }
    sizes.sort_unstable();
    assert_eq!(sizes, [1, 11, 49]);
}

const FAILING: &str = r#"blob top = blob_step(tag = "top")
blob bad = blob_step([top], tag = "bad", fail_attempts = 5)
blob after_bad = blob_step([bad], tag = "after")
blob slow = blob_step([top], tag = "slow", work_ms = 3000)
blob after_slow = blob_step([slow], tag = "after slow")
"#;

#[test]
fn a_failing_node_stops_the_run_or_not_as_locally() {
    let Some(cluster) = Cluster::start_or_skip(Accounting::Enabled) else {
        return;
    };
    let site = Site::new(&cluster, FAILING, PROFILE);
    let out = site.run(&[]);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    // The job ran the operation's retries itself and recorded why it failed, with its log.
    assert!(text.contains("failing on purpose (attempt 3)"), "{text}");
    assert!(text.contains("(after 3 attempts); log: "), "{text}");
    let [ran, _, failed, skipped] = summary(&out);
    assert_eq!(failed, 1, "{text}");
    // Fail-fast: `slow` was already running and finishes; nothing new starts after the failure.
    assert_eq!(ran + skipped, 4, "{text}");
    assert!(skipped >= 2, "after_bad and after_slow never start: {text}");

    let keep = site.run(&["--keep-going"]);
    let text = stderr(&keep);
    assert_eq!(keep.status.code(), Some(1), "{text}");
    let [_, _, failed, skipped] = summary(&keep);
    assert_eq!(
        (failed, skipped),
        (1, 1),
        "only after_bad is skipped: {text}"
    );
    assert_eq!(
        site.project.entries().len(),
        3,
        "top, slow and after_slow are in the store, bad is not"
    );
}

#[test]
fn a_job_cancelled_with_scancel_stops_its_dependants() {
    let Some(cluster) = Cluster::start_or_skip(Accounting::Enabled) else {
        return;
    };
    let spec = "blob long = blob_step(tag = \"long\", work_ms = 60000)\n\
                blob next = blob_step([long], tag = \"next\")\n";
    let site = Site::new(&cluster, spec, PROFILE);
    let driver = site.spawn(&[]);
    let job = started_job(&site);
    cluster.ok("scancel", &[&job]);
    let out = driver.wait_with_output().unwrap();
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("Slurm job {job} was cancelled")),
        "{text}"
    );
    assert_eq!(summary(&out), [0, 0, 1, 1]);
    assert!(site.project.entries().is_empty());
}

#[test]
fn a_node_past_its_time_limit_is_resubmitted_and_resumes() {
    let Some(cluster) = Cluster::start_or_skip(Accounting::Enabled) else {
        return;
    };
    // 100 s of work in ten steps under a one-minute limit: the first job is killed after about
    // six steps, the second resumes from the checkpoint and needs well under a minute.
    let spec = "blob long = blob_step(tag = \"long\", work_ms = 100000)\n";
    let site = Site::new(&cluster, spec, &format!("{PROFILE}time_minutes = 1\n"));
    let out = site.run(&[]);
    let text = stderr(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("hit its time limit (1 min); resubmitted (1 of 3)"),
        "{text}"
    );
    let [jobs, sbatch, _, resubmitted, ..] = slurm_numbers(&out);
    assert_eq!((jobs, sbatch, resubmitted), (2, 2, 1), "{text}");
    let states: Vec<String> = site.sacct_jobs().into_iter().map(|(_, s)| s).collect();
    assert_eq!(states, ["TIMEOUT", "COMPLETED"]);
    let log = fs::read_dir(site.project.store().join("logs"))
        .unwrap()
        .flatten()
        .map(|e| fs::read_to_string(e.path()).unwrap_or_default())
        .collect::<String>();
    assert!(log.contains("resuming after step"), "{log}");
}

#[test]
fn a_killed_driver_is_restarted_without_submitting_anything_twice() {
    let Some(cluster) = Cluster::start_or_skip(Accounting::Enabled) else {
        return;
    };
    let spec = "blob slow[i in 0..4] = blob_step(tag = \"slow\", value = i, work_ms = 8000)\n\
                blob last = blob_step([slow], tag = \"last\")\n";
    let site = Site::new(&cluster, spec, PROFILE);
    let mut driver = site.spawn(&[]);
    wait_for(
        "the family's array in the queue",
        Duration::from_secs(60),
        || {
            cluster
                .ok("squeue", &["-h", "-r", "-o", "%i"])
                .lines()
                .count()
                >= 4
        },
    );
    driver.kill().unwrap();
    driver.wait().unwrap();

    let out = site.run(&[]);
    let text = stderr(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("are adopted, not submitted again"), "{text}");
    let [jobs, _, adopted, ..] = slurm_numbers(&out);
    assert_eq!((jobs, adopted), (1, 4), "only `last` is new: {text}");
    assert_eq!(summary(&out)[0], 5, "{text}");
    let ids = || {
        let mut ids: Vec<String> = site.sacct_jobs().into_iter().map(|(id, _)| id).collect();
        ids.sort();
        ids.dedup();
        ids
    };
    wait_for(
        "accounting to list the jobs",
        Duration::from_secs(30),
        || ids().len() >= 5,
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(ids().len(), 5, "each node was submitted once: {:?}", ids());
}

#[test]
fn without_accounting_jobs_are_followed_with_squeue() {
    let Some(cluster) = Cluster::start_or_skip(Accounting::Disabled) else {
        return;
    };
    // `top` works for 3 s, so a polling cycle finds it without a completion record and asks.
    let spec = DIAMOND.replace("tag = \"top\")", "tag = \"top\", work_ms = 3000)");
    let site = Site::new(&cluster, &spec, PROFILE);
    let out = site.run(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(summary(&out), [4, 0, 0, 0]);
    let [jobs, _, _, _, cycles, sacct, squeue] = slurm_numbers(&out);
    assert_eq!(jobs, 4);
    // The startup `squeue`; then the first `sacct` finds accounting disabled, and `squeue`
    // answers from then on, at most once per cycle.
    assert_eq!(sacct, 1, "{}", slurm_line(&out));
    assert!(squeue >= 2 && squeue <= cycles + 1, "{}", slurm_line(&out));
    let local = Project::new(&spec);
    assert!(local.rung(&["run", "spec.rung"]).status.success());
    assert_eq!(site.project.entries(), local.entries());
}

/// The scale check: `RUNG_SLURM_SCALE=2000 cargo test -p rung-bench --test slurm queries_grow`
/// runs the issue's 2,000 nodes; CI runs 100.
#[test]
fn queries_grow_with_polling_cycles_not_with_jobs() {
    let Some(cluster) = Cluster::start_or_skip(Accounting::Enabled) else {
        return;
    };
    let n: u64 = std::env::var("RUNG_SLURM_SCALE")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100);
    let spec = format!("blob leaf[i in 0..{n}] = blob_step(tag = \"leaf\", value = i)\n");
    let site = Site::new(&cluster, &spec, &format!("{PROFILE}max_jobs = 10000\n"));
    let start = Instant::now();
    let out = site.run(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let [jobs, sbatch, _, _, cycles, sacct, squeue] = slurm_numbers(&out);
    eprintln!(
        "{n} nodes in {:.1}s: {sbatch} sbatch calls, {cycles} polling cycles, {sacct} sacct and {squeue} squeue queries",
        start.elapsed().as_secs_f64()
    );
    assert_eq!(jobs, n);
    assert_eq!(sbatch, n.div_ceil(49), "arrays of 49: {}", slurm_line(&out));
    // One `squeue` when the driver starts and one `sacct` per polling cycle; the cycles follow
    // the clock (at most one a second here), not the number of jobs.
    assert_eq!(squeue, 1, "{}", slurm_line(&out));
    assert!(sacct <= cycles, "{}", slurm_line(&out));
    assert!(
        (cycles as f64) <= start.elapsed().as_secs_f64() + 2.0,
        "{}",
        slurm_line(&out)
    );
    assert_eq!(entries(&site.project.store()).len(), n as usize);
}

/// Sends SIGINT (Ctrl-C) to a process.
fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits until the run's first job has started; its Slurm output file names it.
fn started_job(site: &Site<'_>) -> String {
    let mut job = String::new();
    wait_for("a job to start", Duration::from_secs(60), || {
        let found = site.batches().into_iter().find_map(|batch| {
            fs::read_dir(batch).unwrap().flatten().find_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                Some(
                    name.strip_prefix("slurm-")?
                        .strip_suffix(".out")?
                        .to_string(),
                )
            })
        });
        found.map(|id| job = id).is_some()
    });
    job
}

#[test]
fn ctrl_c_cancels_the_jobs_or_detaches_from_them() {
    let Some(cluster) = Cluster::start_or_skip(Accounting::Enabled) else {
        return;
    };
    let state = |job: &str| cluster.squeue_state(job);

    // Cancel (the default): the job is cancelled in Slurm, and nothing is published.
    let site = Site::new(
        &cluster,
        "blob long = blob_step(tag = \"long\", work_ms = 60000)\n",
        PROFILE,
    );
    let driver = site.spawn(&[]);
    let job = started_job(&site);
    interrupt(&driver);
    let out = driver.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        slurm_line(&out).ends_with(&format!("; cancelled: {job}")),
        "{}",
        slurm_line(&out)
    );
    wait_for("the job to be cancelled", Duration::from_secs(30), || {
        state(&job).as_deref() == Some("CANCELLED")
    });
    assert!(site.project.entries().is_empty());

    // Detach: the job goes on, and the next run adopts it instead of submitting it again.
    let site = Site::new(
        &cluster,
        "blob short = blob_step(tag = \"short\", work_ms = 6000)\n",
        PROFILE,
    );
    let driver = site.spawn(&["--on-interrupt", "detach"]);
    let job = started_job(&site);
    interrupt(&driver);
    let out = driver.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        slurm_line(&out).contains(&format!(
            "detached from (still running; `rung run` again adopts them): {job}"
        )),
        "{}",
        slurm_line(&out)
    );
    assert_eq!(state(&job).as_deref(), Some("RUNNING"));
    let again = site.run(&[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(summary(&again), [1, 0, 0, 0]);
    assert_eq!(
        slurm_numbers(&again)[..3],
        [0, 0, 1],
        "{}",
        slurm_line(&again)
    );
}
