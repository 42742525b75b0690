//! External steps on the real binary: a command node wrapping a small script (the specs and
//! scripts of `tests/specs/external/`, copied into a scratch folder so that the tests can edit
//! them) reruns exactly when its script, its parameters or its inputs change; a failing command
//! or a missing declared output fails the node and stores nothing; its output streams reach the
//! node's log; and a cancelled run stops the command's whole process group. With
//! `RUNG_EXTERNAL_PYTHON` naming a Python that has trl and lm-eval, `trl_sft` and `lm_eval` run
//! with the real tools too.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::{Run, root};

/// A scratch copy of `tests/specs/external` with an empty store beside it.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("external")
            .join(name);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        for entry in fs::read_dir(root().join("tests/specs/external")).unwrap() {
            let path = entry.unwrap().path();
            fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
        Scratch { dir }
    }

    fn store(&self) -> PathBuf {
        self.dir.join("store")
    }

    /// Runs `rung COMMAND SPEC ARGS` against the scratch store and data root, with two
    /// variables in its environment: one the spec passes on to its command, one it does not.
    fn rung(&self, command: &str, spec: &str, args: &[&str]) -> Run {
        let output = self
            .command(command, spec, args)
            .output()
            .expect("the rung binary runs");
        Run::from(output)
    }

    /// The store and the data root are given relative to the scratch folder, where rung runs:
    /// the steps' commands run elsewhere and must be handed absolute paths.
    fn command(&self, command: &str, spec: &str, args: &[&str]) -> Command {
        let mut rung = Command::new(env!("CARGO_BIN_EXE_rung"));
        rung.arg(command)
            .arg(spec)
            .args(["--store", "store", "--data-root", "."])
            .args(args)
            .current_dir(&self.dir)
            .env("NO_COLOR", "1")
            .env("RUNG_TEST_PASSED", "yes")
            .env("RUNG_TEST_LEAKED", "yes");
        rung
    }

    /// `rung plan`: each node's status word by name.
    fn plan(&self, spec: &str, args: &[&str]) -> BTreeMap<String, String> {
        let plan = self.rung("plan", spec, args);
        assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
        plan.stdout
            .lines()
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                let status = words.next()?;
                let name = words.next()?;
                (!status.ends_with(':') && !name.ends_with(':'))
                    .then(|| (name.to_owned(), status.to_owned()))
            })
            .collect()
    }

    /// `rung run`, which must succeed with `ran` nodes computed; its summary line.
    fn run(&self, spec: &str, args: &[&str], ran: usize) -> String {
        let run = self.rung("run", spec, args);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        let summary = run.stderr.lines().last().unwrap_or_default().to_owned();
        assert!(
            summary.starts_with(&format!("done: {ran} ran,")),
            "expected {ran} nodes to run: {}",
            run.stderr
        );
        summary
    }

    /// What `rung show NODE` says: the output folder and the log file, if any.
    fn show(&self, spec: &str, node: &str, args: &[&str]) -> (PathBuf, Option<PathBuf>) {
        let mut all = vec!["--spec", spec];
        all.extend(args);
        let show = self.rung("show", node, &all);
        assert_eq!(show.code, 0, "{}", show.stderr);
        let field = |name: &str| {
            show.stdout
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .map(|rest| self.dir.join(rest.trim()))
        };
        (field("output").unwrap(), field("log"))
    }
}

/// The nodes `plan` says will compute (every status but `cached`), sorted.
fn to_compute(plan: &BTreeMap<String, String>) -> Vec<&str> {
    plan.iter()
        .filter(|(_, status)| status.as_str() != "cached")
        .map(|(name, _)| name.as_str())
        .collect()
}

#[test]
fn a_script_step_reruns_exactly_when_its_script_parameters_or_inputs_change() {
    let scratch = Scratch::new("reruns");
    let spec = "steps.rung";

    scratch.run(spec, &[], 4);
    let (output, log) = scratch.show(spec, "counted", &[]);
    let count = fs::read_to_string(output.join("count.txt")).unwrap();
    let checksum = count
        .split("checksum ")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    assert_eq!(
        count,
        format!("hello: 20 items (checksum {checksum}), separator ,, passed yes, leaked absent\n"),
        "the command sees its argument, its `env`, what `pass_env` names and nothing else"
    );
    let log = fs::read_to_string(log.expect("a log")).unwrap();
    assert!(log.contains("$ sh "), "the command line is logged:\n{log}");
    assert!(
        log.contains("counting 20 items"),
        "standard output is logged:\n{log}"
    );
    assert!(
        log.contains("a note on standard error"),
        "standard error is logged:\n{log}"
    );
    let (summary, _) = scratch.show(spec, "summary", &[]);
    assert_eq!(
        fs::read_to_string(summary.join("summary.txt")).unwrap(),
        format!("summary of: {count}")
    );

    scratch.run(spec, &[], 0);

    // Editing the script reruns its step and the step that reads its output, nothing else.
    let script = scratch.dir.join("count.sh");
    let text = fs::read_to_string(&script).unwrap();
    fs::write(
        &script,
        text.replace("\"$3: $count items", "\"$3 - $count items"),
    )
    .unwrap();
    assert_eq!(to_compute(&scratch.plan(spec, &[])), ["counted", "summary"]);
    scratch.run(spec, &[], 2);
    let (output, _) = scratch.show(spec, "counted", &[]);
    assert!(
        fs::read_to_string(output.join("count.txt"))
            .unwrap()
            .starts_with("hello - 20 items")
    );

    // So does a parameter: an argument of the command, then a value of its environment.
    let greeting = ["--set", "greeting=\"bonjour\""];
    assert_eq!(
        to_compute(&scratch.plan(spec, &greeting)),
        ["counted", "summary"]
    );
    scratch.run(spec, &greeting, 2);
    let spec_text = fs::read_to_string(scratch.dir.join(spec)).unwrap();
    fs::write(
        scratch.dir.join(spec),
        spec_text.replace("SEPARATOR=,", "SEPARATOR=;"),
    )
    .unwrap();
    assert_eq!(
        to_compute(&scratch.plan(spec, &greeting)),
        ["counted", "summary"]
    );
    scratch.run(spec, &greeting, 2);
    let (output, _) = scratch.show(spec, "counted", &greeting);
    let count = fs::read_to_string(output.join("count.txt")).unwrap();
    assert!(
        count.starts_with("bonjour - 20 items") && count.contains("separator ;,"),
        "{count}"
    );

    // And its input: other toy items.
    let seed = ["--set", "greeting=\"bonjour\"", "--set", "seed=2"];
    assert_eq!(
        to_compute(&scratch.plan(spec, &seed)),
        ["counted", "problems", "summary"]
    );
    scratch.run(spec, &seed, 3);
    scratch.run(spec, &seed, 0);
}

#[test]
fn a_failing_command_and_a_missing_output_fail_their_nodes_and_store_nothing() {
    let scratch = Scratch::new("failures");
    let run = scratch.rung("run", "broken.rung", &["--keep-going"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // `FAILED NODE: why; log: PATH`, where `why` may span lines.
    let failure = |node: &str| {
        let start = run
            .stderr
            .find(&format!("FAILED {node}: "))
            .unwrap_or_else(|| panic!("{node} did not fail:\n{}", run.stderr));
        let rest = &run.stderr[start..];
        let log = rest.find("; log: ").unwrap();
        let end = log + rest[log..].find('\n').unwrap_or(rest.len() - log);
        rest[..end].to_owned()
    };
    let crashed = failure("crashes");
    assert!(
        crashed.contains("`sh` exited with status 3 after"),
        "{crashed}"
    );
    assert!(
        crashed.contains("\n    error: cannot open /nonexistent/weights.bin; log: "),
        "the end of standard error is quoted:\n{crashed}"
    );
    let log = scratch.dir.join(crashed.rsplit_once("; log: ").unwrap().1);
    let log = fs::read_to_string(log).unwrap();
    assert!(log.contains("loading the weights"), "{log}");
    assert!(log.contains("failed: `sh` exited with status 3"), "{log}");

    assert!(
        failure("forgets").contains(
            "the command exited with status 0 but did not write the declared output \
             `model/config.json` under {output}"
        ),
        "{}",
        run.stderr
    );

    let plan = scratch.plan("broken.rung", &[]);
    assert_eq!(to_compute(&plan), ["crashes", "forgets"]);
    for folder in ["actions", "objects", "tmp"] {
        let entries = fs::read_dir(scratch.store().join(folder))
            .map(|entries| entries.count())
            .unwrap_or(0);
        assert_eq!(entries, 0, "the store's {folder}/ holds something");
    }
}

/// Whether process `pid` is gone (or a zombie waiting to be reaped by someone else).
fn gone(pid: &str) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

/// Waits up to a minute for `ready`.
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "waited too long for {what}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_cancelled_run_stops_the_commands_whole_process_group() {
    let scratch = Scratch::new("cancel");
    let mut run = scratch
        .command("run", "slow.rung", &[])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let checkpoints = scratch.store().join("checkpoints");
    let mut pids = Vec::new();
    wait_for("the step's process ids", || {
        let Some(folder) = fs::read_dir(&checkpoints)
            .ok()
            .and_then(|mut entries| entries.next())
        else {
            return false;
        };
        let folder = folder.unwrap().path();
        pids = ["step.pid", "background.pid"]
            .iter()
            .filter_map(|file| fs::read_to_string(folder.join(file)).ok())
            .map(|pid| pid.trim().to_owned())
            .filter(|pid| !pid.is_empty())
            .collect();
        pids.len() == 2
    });
    assert!(pids.iter().all(|pid| !gone(pid)), "the step runs: {pids:?}");

    let interrupt = Command::new("kill")
        .args(["-INT", &run.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupt.success());
    wait_for("rung to stop", || run.try_wait().unwrap().is_some());
    let output = run.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("interrupted: 0 ran"), "{stderr}");
    for pid in &pids {
        wait_for("the step's processes to be gone", || gone(pid));
    }
    assert_eq!(
        scratch
            .plan("slow.rung", &[])
            .get("sleeper")
            .map(String::as_str),
        Some("new")
    );
}

/// `trl_sft` and `lm_eval` with the real tools, when `RUNG_EXTERNAL_PYTHON` names a Python that
/// has trl, accelerate and lm-eval (the versions `stdlib/recipes/trl_sft.py` names): the built-in
/// script fine-tunes a tiny model on the CPU, rung's `evaluate` loads what TRL saved, and
/// lm-evaluation-harness's sample logs become records of the items given.
#[test]
fn trl_and_the_harness_run_as_steps_when_a_python_has_them() {
    let Some(python) = std::env::var_os("RUNG_EXTERNAL_PYTHON") else {
        println!("skipped: set RUNG_EXTERNAL_PYTHON to a Python with trl and lm-eval");
        return;
    };
    let scratch = Scratch::new("tools");
    let spec = "tools.rung";
    let python = format!("python=\"{}\"", python.to_str().unwrap());
    let set = ["--set", python.as_str(), "--gpus", "1"];
    let mut args = set.to_vec();
    args.extend(["--target", "problems"]);
    scratch.run(spec, &args, 1);

    // The harness's task: the toy items, in their order, from a file named by absolute path.
    let (problems, _) = scratch.show(spec, "problems", &[]);
    let items = fs::read_to_string(problems.join("items.jsonl")).unwrap();
    let tasks = scratch.dir.join("tasks");
    fs::create_dir_all(&tasks).unwrap();
    fs::write(tasks.join("toy.jsonl"), &items).unwrap();
    let task = format!(
        "task: toy_arithmetic\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {}\n\
         test_split: test\noutput_type: generate_until\ndoc_to_text: \"{{{{prompt}}}}=\"\n\
         doc_to_target: \"{{{{target}}}}\"\ngeneration_kwargs:\n  until: [\"\\n\"]\n  \
         max_gen_toks: 8\n  do_sample: false\nmetric_list:\n  - metric: exact_match\n",
        tasks.join("toy.jsonl").display()
    );
    fs::write(tasks.join("toy_arithmetic.yaml"), task).unwrap();

    scratch.run(spec, &set, 4);
    let (tuned, log) = scratch.show(spec, "tuned", &set[..2]);
    for file in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "recipe/trl_sft.py",
    ] {
        assert!(tuned.join(file).is_file(), "TRL's output lacks {file}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(tuned.join("trl_sft.json")).unwrap()).unwrap();
    assert_eq!(
        (summary["examples"].as_u64(), summary["steps"].as_u64()),
        (Some(64), Some(8))
    );
    let log = fs::read_to_string(log.unwrap()).unwrap();
    assert!(log.contains("accelerate.commands.launch"), "{log}");

    let (own, _) = scratch.show(spec, "own", &set[..2]);
    let metrics = fs::read_to_string(own.join("metrics.json")).unwrap();
    assert!(metrics.contains("\"n\": 8"), "{metrics}");

    let (harness, _) = scratch.show(spec, "harness", &set[..2]);
    let records = fs::read_to_string(harness.join("records.jsonl")).unwrap();
    let ids: Vec<String> = records
        .lines()
        .map(|line| {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            record["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        ids,
        (0..8).map(|i| format!("toy-1-{i}")).collect::<Vec<_>>()
    );
    let metrics: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(harness.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["primary"], "exact_match");
    assert_eq!(metrics["tasks"]["toy_arithmetic"]["n"], 8);
}
