//! Crash safety: a run killed with SIGKILL at random moments leaves a store that `rung verify`
//! finds clean, and the run that follows ends with exactly the results of an uninterrupted run.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Project, grid, grid_nodes, stderr, stdout, summary};

const KILLS: usize = 50;

/// A small deterministic generator (xorshift), so a failure can be replayed from its seed.
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

#[test]
fn kill_nine_never_corrupts_the_store() {
    let seed = std::env::var("RUNG_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_cafe_u64);
    let mut moments = Moments(seed);
    let spec = grid(6, 12);
    let project = Project::new(&spec);
    let mut kills = 0;
    let mut finished = 0;
    while kills < KILLS {
        let mut child = project.spawn(&["run", "spec.rung", "-j", "2"]);
        std::thread::sleep(Duration::from_millis(5 + moments.next_ms(150)));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
        } else {
            finished += 1;
            std::fs::remove_dir_all(project.store()).unwrap();
        }
        child.wait().unwrap();
        if !project.store().join("VERSION").exists() {
            continue;
        }
        let verify = project.rung(&["verify", "--store", ".rung"]);
        assert!(
            verify.status.success(),
            "after kill {kills} (seed {seed:#x}), verify found problems:\n{}{}",
            stdout(&verify),
            stderr(&verify)
        );
        assert!(
            stdout(&verify).contains(": 0 problem(s)"),
            "{}",
            stdout(&verify)
        );
    }
    assert!(finished < KILLS, "the kills should land mid-run");

    let last = project.rung(&["run", "spec.rung", "-j", "2"]);
    assert!(last.status.success(), "{}", stderr(&last));
    let [ran, cached, ..] = summary(&last);
    assert_eq!(ran + cached, grid_nodes(6));

    let reference = Project::new(&spec);
    let clean = reference.rung(&["run", "spec.rung", "-j", "2"]);
    assert!(clean.status.success(), "{}", stderr(&clean));
    assert_eq!(
        project.entries(),
        reference.entries(),
        "the killed-and-resumed store must hold exactly the results of an uninterrupted run"
    );
}
