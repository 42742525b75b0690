//! The engine through the command line: caching, explanations, targets, failures, retries,
//! bad input, store maintenance, graph output and Ctrl-C.

#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use common::{Project, grid, grid_nodes, stderr, stdout, summary};

#[test]
fn a_second_run_computes_nothing_and_an_edit_reruns_its_cone_with_reasons() {
    let project = Project::new(&grid(3, 0));
    let first = project.rung(&["run", "spec.rung", "-j", "2"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(summary(&first), [grid_nodes(3), 0, 0, 0]);

    let second = project.rung(&["run", "spec.rung"]);
    assert_eq!(summary(&second), [0, grid_nodes(3), 0, 0]);

    project.edit("param lr: float = 1e-5", "param lr: float = 2e-5");
    let plan = stdout(&project.rung(&["plan", "spec.rung"]));
    assert!(
        plan.contains("stale    train[1]  param lr: 1e-5 -> 2e-5"),
        "{plan}"
    );
    assert!(
        plan.contains("stale    eval[2, 0]  upstream train[2] changed"),
        "{plan}"
    );
    assert!(plan.contains("cached   zero[0]"), "{plan}");
    let cone = 3 + 9 + 1;
    assert!(
        plan.contains(&format!(
            "{} nodes: {} cached, {cone} stale, 0 new, 0 blocked",
            grid_nodes(3),
            grid_nodes(3) - cone
        )),
        "{plan}"
    );
    let changed = stdout(&project.rung(&["plan", "spec.rung", "--changed"]));
    assert!(
        !changed.lines().any(|l| l.starts_with("cached")),
        "{changed}"
    );

    let third = project.rung(&["run", "spec.rung"]);
    assert_eq!(summary(&third), [cone, grid_nodes(3) - cone, 0, 0]);

    fs::write(project.path("data/d0.txt"), "other items\n").unwrap();
    let plan = stdout(&project.rung(&["plan", "spec.rung"]));
    assert!(
        plan.contains("stale    irt  input data/d0.txt changed"),
        "{plan}"
    );
    assert!(
        plan.contains("stale    bins  upstream irt changed"),
        "{plan}"
    );
}

#[test]
fn reformatting_a_spec_keeps_every_result() {
    let project = Project::new(&grid(2, 0));
    assert!(project.rung(&["run", "spec.rung"]).status.success());
    let text = fs::read_to_string(project.path("spec.rung")).unwrap();
    let renamed = format!(
        "// the same study, renamed\n{}",
        text.replace("blob report", "blob summary")
    );
    fs::write(project.path("spec.rung"), renamed).unwrap();
    let again = project.rung(&["run", "spec.rung"]);
    assert_eq!(
        summary(&again),
        [0, grid_nodes(2), 0, 0],
        "{}",
        stderr(&again)
    );
}

#[test]
fn an_identical_output_stops_propagation() {
    let spec = r#"param v: int = 10
blob a = blob_step(tag = "a", value = v, quantum = 100)
blob b = blob_step([a], tag = "b")
blob c = blob_step([b], tag = "c")
"#;
    let project = Project::new(spec);
    assert!(project.rung(&["run", "spec.rung"]).status.success());
    project.edit("param v: int = 10", "param v: int = 20");
    let rerun = project.rung(&["run", "spec.rung"]);
    assert_eq!(summary(&rerun), [1, 2, 0, 0], "{}", stderr(&rerun));
}

#[test]
fn a_target_runs_only_what_it_needs() {
    let project = Project::new(&grid(3, 0));
    let run = project.rung(&["run", "spec.rung", "--target", "train[1]"]);
    assert_eq!(summary(&run), [3, 0, 0, 0], "{}", stderr(&run));
    let family = project.rung(&["run", "spec.rung", "--target", "zero"]);
    assert_eq!(summary(&family), [3, 2, 0, 0], "{}", stderr(&family));
    let unknown = project.rung(&["run", "spec.rung", "--target", "trian"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("no node or family is called `trian`"));
}

const FAILING: &str = r#"blob bad = blob_step(tag = "bad", fail_attempts = 9)
blob after = blob_step([bad], tag = "after")
blob slow[i in 0..4] = blob_step(tag = "slow", value = i, work_ms = 100)
"#;

#[test]
fn a_failure_stops_the_run_unless_told_to_keep_going() {
    let project = Project::new(FAILING);
    let run = project.rung(&["run", "spec.rung", "-j", "1"]);
    assert_eq!(run.status.code(), Some(1));
    let text = stderr(&run);
    assert!(
        text.contains("FAILED bad: failing on purpose (attempt 3) (after 3 attempts); log: "),
        "{text}"
    );
    let [ran, _, failed, skipped] = summary(&run);
    assert_eq!(failed, 1);
    assert!(ran < 4 && skipped >= 1, "{text}");

    let keep = Project::new(FAILING);
    let run = keep.rung(&["run", "spec.rung", "-j", "1", "--keep-going"]);
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(summary(&run), [4, 0, 1, 1], "{}", stderr(&run));
    let log = fs::read_dir(keep.path(".rung/logs"))
        .unwrap()
        .map(|e| fs::read_to_string(e.unwrap().path()).unwrap())
        .find(|text| text.contains("bad: blob_step"))
        .unwrap();
    assert_eq!(
        log.matches("failed: failing on purpose").count(),
        3,
        "{log}"
    );
}

#[test]
fn retries_recover_and_the_provenance_says_how_many_attempts() {
    let project =
        Project::new("blob flaky = blob_step(tag = \"flaky\", fail_attempts = 2, seed_like = 1)\n");
    let bad = project.rung(&["run", "spec.rung"]);
    assert!(stderr(&bad).contains("seed_like"), "{}", stderr(&bad));

    let project = Project::new("blob flaky = blob_step(tag = \"flaky\", fail_attempts = 2)\n");
    let run = project.rung(&["run", "spec.rung"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let show = stdout(&project.rung(&["show", "flaky"]));
    assert!(show.contains("\"attempts\": 3"), "{show}");
    assert!(show.contains("\"operation\": \"blob_step\""), "{show}");
    assert!(show.contains("out.txt"), "{show}");
}

#[test]
fn a_missing_input_blocks_its_cone_with_a_clear_message() {
    let project = Project::new(&grid(2, 0));
    fs::remove_file(project.path("data/d0.txt")).unwrap();
    let plan = project.rung(&["plan", "spec.rung"]);
    assert_eq!(plan.status.code(), Some(1));
    let text = stdout(&plan);
    assert!(
        text.contains("blocked  irt  input `data/d0.txt`: not found at"),
        "{text}"
    );
    assert!(
        text.contains("blocked  bins  upstream `irt` is blocked"),
        "{text}"
    );
    let run = project.rung(&["run", "spec.rung"]);
    assert_eq!(run.status.code(), Some(1));
    let text = stderr(&run);
    assert!(
        text.contains("FAILED irt: input `data/d0.txt`: not found at"),
        "{text}"
    );
    assert!(!text.contains("panicked"), "{text}");
}

#[test]
fn a_corrupt_store_is_found_by_verify_and_healed_by_the_next_run() {
    let project = Project::new(&grid(2, 0));
    assert!(project.rung(&["run", "spec.rung"]).status.success());
    let clean = project.rung(&["verify", "--store", ".rung"]);
    assert!(clean.status.success(), "{}", stderr(&clean));

    // Damage one output file and truncate another node's entry.
    let show = stdout(&project.rung(&["show", "train[0]"]));
    let output = show
        .lines()
        .find_map(|l| l.strip_prefix("output    "))
        .unwrap();
    let file = project.path(output).join("out.txt");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(&file, "tampered").unwrap();
    let key = show
        .lines()
        .find_map(|l| l.strip_prefix("key       "))
        .unwrap();
    let zero_key = stdout(&project.rung(&["show", "zero[1]"]))
        .lines()
        .find_map(|l| l.strip_prefix("key       ").map(str::to_string))
        .unwrap();
    let entry = project
        .path(".rung/actions")
        .join(&zero_key[..2])
        .join(format!("{}.json", &zero_key[2..]));
    fs::write(&entry, "{\"format\": 1, \"ke").unwrap();

    let plan = stdout(&project.rung(&["plan", "spec.rung"]));
    assert!(
        plan.contains("stale    zero[1]  its store entry is unusable"),
        "{plan}"
    );

    let verify = project.rung(&["verify", "--store", ".rung"]);
    assert_eq!(verify.status.code(), Some(1));
    let text = stderr(&verify);
    assert!(
        text.contains("does not match its digest; removed"),
        "{text}"
    );
    assert!(
        text.contains("cannot be read as an action entry; removed"),
        "{text}"
    );
    assert!(!project.entries().contains_key(key));
    assert!(
        project
            .rung(&["verify", "--store", ".rung"])
            .status
            .success()
    );

    let rerun = project.rung(&["run", "spec.rung"]);
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    let [ran, ..] = summary(&rerun);
    assert_eq!(
        ran,
        2,
        "only the two damaged nodes rerun: {}",
        stderr(&rerun)
    );
}

#[test]
fn an_unusable_store_directory_is_a_clear_error() {
    let project = Project::new(&grid(1, 0));
    fs::write(project.path("not-a-dir"), "").unwrap();
    let run = project.rung(&["run", "spec.rung", "--store", "not-a-dir/store"]);
    assert_eq!(run.status.code(), Some(1));
    let text = stderr(&run);
    assert!(
        text.contains("error: cannot create the store directory `not-a-dir/store/objects`"),
        "{text}"
    );
    assert!(!text.contains("panicked"), "{text}");

    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| stdout(&o).trim() == "0");
    if matches!(is_root, Ok(false)) {
        fs::create_dir(project.path("locked")).unwrap();
        fs::set_permissions(project.path("locked"), fs::Permissions::from_mode(0o555)).unwrap();
        let run = project.rung(&["run", "spec.rung", "--store", "locked/store"]);
        assert_eq!(run.status.code(), Some(1));
        assert!(
            stderr(&run).contains("Permission denied"),
            "{}",
            stderr(&run)
        );
    }

    let verify = project.rung(&["verify", "--store", "nowhere"]);
    assert_eq!(verify.status.code(), Some(2));
    assert!(stderr(&verify).contains("there is no store at `nowhere`"));
}

#[test]
fn gc_keeps_what_current_specs_reach_and_removes_the_rest() {
    let project = Project::new(&grid(2, 0));
    assert!(project.rung(&["run", "spec.rung"]).status.success());
    project.edit("param lr: float = 1e-5", "param lr: float = 2e-5");
    assert!(project.rung(&["run", "spec.rung"]).status.success());
    let before = project.entries().len();
    assert_eq!(before, grid_nodes(2) + 2 + 4 + 1);

    let bounded = project.rung(&["gc", "--store", ".rung", "--max-size", "1T"]);
    assert!(
        stdout(&bounded).starts_with("removed 0 entries"),
        "{}",
        stdout(&bounded)
    );

    let gc = project.rung(&["gc", "--store", ".rung"]);
    assert!(gc.status.success(), "{}", stderr(&gc));
    assert!(
        stdout(&gc).starts_with("removed 7 entries"),
        "{}",
        stdout(&gc)
    );
    assert_eq!(project.entries().len(), grid_nodes(2));
    let again = project.rung(&["run", "spec.rung"]);
    assert_eq!(summary(&again), [0, grid_nodes(2), 0, 0]);
    assert!(
        project
            .rung(&["verify", "--store", ".rung"])
            .status
            .success()
    );
}

#[test]
fn graph_writes_dot_and_mermaid() {
    let project = Project::new(&grid(1, 0));
    let dot = stdout(&project.rung(&["graph", "spec.rung"]));
    assert!(dot.starts_with("digraph rung {"), "{dot}");
    assert!(dot.contains("[label=\"eval[0, 0]\\nblob_step\"]"), "{dot}");
    assert_eq!(dot.matches(" -> ").count(), 1 + 1 + 2 + 1 + 2);
    let mermaid = stdout(&project.rung(&[
        "graph",
        "spec.rung",
        "--format",
        "mermaid",
        "--target",
        "bins",
    ]));
    assert!(mermaid.starts_with("flowchart LR"), "{mermaid}");
    assert_eq!(mermaid.matches(" --> ").count(), 1, "{mermaid}");
}

#[test]
fn ctrl_c_cancels_running_nodes_and_publishes_nothing_partial() {
    let project = Project::new(
        "blob slow[i in 0..4] = blob_step(tag = \"slow\", value = i, work_ms = 5000)\n",
    );
    let child = project.spawn(&["run", "spec.rung", "-j", "2"]);
    std::thread::sleep(Duration::from_millis(700));
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains("interrupted: 0 ran, 0 cached, 0 failed, 4 skipped"),
        "{text}"
    );
    assert!(project.entries().is_empty());
    let verify = project.rung(&["verify", "--store", ".rung"]);
    assert!(verify.status.success(), "{}", stderr(&verify));
}
