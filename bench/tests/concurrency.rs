//! Two `rung run` processes on one store: every key is computed exactly once, by one of them.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::fs;

use common::{Project, grid, grid_nodes, stderr, summary};

#[test]
fn concurrent_runs_compute_every_key_once() {
    let project = Project::new(&grid(4, 40));
    // A slow first node makes sure the second process arrives while the first is still at work.
    project.edit(
        "tag = \"irt\", work_ms = 40",
        "tag = \"irt\", work_ms = 400",
    );
    let first = project.spawn(&["run", "spec.rung", "-j", "2"]);
    let second = project.spawn(&["run", "spec.rung", "-j", "2"]);
    let outputs = [
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    ];
    for output in &outputs {
        assert!(output.status.success(), "{}", stderr(output));
        let [ran, cached, failed, skipped] = summary(output);
        assert_eq!((ran + cached, failed, skipped), (grid_nodes(4), 0, 0));
    }

    let mut executed = Vec::new();
    for entry in fs::read_dir(project.path(".rung/runs")).unwrap() {
        let bytes = fs::read(entry.unwrap().path()).unwrap();
        let run: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        for key in run["executed"].as_array().unwrap() {
            executed.push(key.as_str().unwrap().to_string());
        }
    }
    let distinct: HashSet<&String> = executed.iter().collect();
    assert_eq!(
        executed.len(),
        distinct.len(),
        "a key was computed by both runs"
    );
    assert_eq!(distinct.len(), grid_nodes(4), "every key was computed once");
    let both_worked = outputs.iter().all(|o| summary(o)[0] > 0);
    assert!(both_worked, "the runs should share the work");
    assert_eq!(project.entries().len(), grid_nodes(4));
}
