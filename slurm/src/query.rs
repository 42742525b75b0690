//! What `sacct` and `squeue` say about a run's jobs, parsed from their pipe-separated output.

use std::fmt;
use std::path::PathBuf;

/// A job, or one task of a job array, as Slurm names it (`123`, `123_4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobRef {
    /// The job ID (of the whole array, for a task).
    pub id: u64,
    /// The array index.
    pub index: Option<u32>,
}

impl fmt::Display for JobRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(index) => write!(f, "{}_{index}", self.id),
            None => write!(f, "{}", self.id),
        }
    }
}

/// A job's state, as far as rung tells them apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Waiting, starting, running or finishing: still Slurm's business.
    Active(String),
    /// Ended with exit code 0.
    Completed,
    /// Ended with a non-zero exit code (or a signal).
    Failed,
    /// Cancelled, by `scancel` or an administrator.
    Cancelled,
    /// Killed at its time limit.
    Timeout,
    /// Preempted by a higher-priority job.
    Preempted,
    /// Its node failed.
    NodeFail,
    /// Killed for using more memory than it asked for.
    OutOfMemory,
    /// Any other end (BOOT_FAIL, DEADLINE, ...), named.
    Other(String),
}

impl State {
    /// Reads a state as `sacct` (`CANCELLED by 1000`) or `squeue` (`CANCELLED`) prints it.
    pub fn parse(text: &str) -> State {
        let word = text
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_end_matches('+');
        match word {
            "COMPLETED" => State::Completed,
            "FAILED" => State::Failed,
            "CANCELLED" => State::Cancelled,
            "TIMEOUT" => State::Timeout,
            "PREEMPTED" => State::Preempted,
            "NODE_FAIL" => State::NodeFail,
            "OUT_OF_MEMORY" => State::OutOfMemory,
            "BOOT_FAIL" | "DEADLINE" | "REVOKED" | "SPECIAL_EXIT" => State::Other(word.to_string()),
            _ => State::Active(word.to_string()),
        }
    }

    /// The state's name as Slurm prints it.
    pub fn name(&self) -> &str {
        match self {
            State::Active(word) | State::Other(word) => word,
            State::Completed => "COMPLETED",
            State::Failed => "FAILED",
            State::Cancelled => "CANCELLED",
            State::Timeout => "TIMEOUT",
            State::Preempted => "PREEMPTED",
            State::NodeFail => "NODE_FAIL",
            State::OutOfMemory => "OUT_OF_MEMORY",
        }
    }

    /// Whether the job has ended.
    pub fn ended(&self) -> bool {
        !matches!(self, State::Active(_))
    }
}

/// One job (or array task) of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    /// Which job.
    pub job: JobRef,
    /// Its state.
    pub state: State,
    /// Its exit code as `sacct` prints it (`1:0`), empty from `squeue`.
    pub exit: String,
    /// The node(s) it ran on.
    pub node: String,
    /// How long it has run (`00:01:02`).
    pub elapsed: String,
    /// Its working directory: the batch folder that says which nodes it computes.
    pub folder: PathBuf,
}

/// The `sacct --format` fields [`parse_sacct`] reads, in order.
pub const SACCT_FIELDS: &str = "JobID,State,ExitCode,NodeList,Elapsed,WorkDir";

/// The `squeue --format` [`parse_squeue`] reads.
pub const SQUEUE_FORMAT: &str = "%i|%T|%N|%M|%Z";

/// Reads `sacct --parsable2 --noheader --allocations --format=SACCT_FIELDS`.
pub fn parse_sacct(text: &str) -> Vec<JobRow> {
    rows(text, |fields| {
        let [id, state, exit, node, elapsed, folder] = fields else {
            return None;
        };
        Some((*id, *state, exit.to_string(), *node, *elapsed, *folder))
    })
}

/// Reads `squeue --noheader --array --states=all --format=SQUEUE_FORMAT`.
pub fn parse_squeue(text: &str) -> Vec<JobRow> {
    rows(text, |fields| {
        let [id, state, node, elapsed, folder] = fields else {
            return None;
        };
        Some((*id, *state, String::new(), *node, *elapsed, *folder))
    })
}

type Fields<'t> = (&'t str, &'t str, String, &'t str, &'t str, &'t str);

fn rows<'t>(text: &'t str, pick: impl Fn(&[&'t str]) -> Option<Fields<'t>>) -> Vec<JobRow> {
    let mut rows = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split('|').map(str::trim).collect();
        let Some((id, state, exit, node, elapsed, folder)) = pick(&fields) else {
            continue;
        };
        let state = State::parse(state);
        let node = if node == "None assigned" || node.starts_with('(') {
            ""
        } else {
            node
        };
        for job in job_refs(id) {
            rows.push(JobRow {
                job,
                state: state.clone(),
                exit: exit.clone(),
                node: node.to_string(),
                elapsed: elapsed.to_string(),
                folder: PathBuf::from(folder),
            });
        }
    }
    rows
}

/// The jobs an ID names: `123`, `123_4`, or a pending array's `123_[0-3,7,9%2]` expanded.
pub fn job_refs(text: &str) -> Vec<JobRef> {
    let Some((id, rest)) = text.split_once('_') else {
        return text
            .parse()
            .map(|id| vec![JobRef { id, index: None }])
            .unwrap_or_default();
    };
    let Ok(id) = id.parse() else {
        return Vec::new();
    };
    let ranges = rest.trim_start_matches('[').trim_end_matches(']');
    let ranges = ranges.split('%').next().unwrap_or("");
    let mut refs = Vec::new();
    for range in ranges.split(',') {
        let (first, last) = range.split_once('-').unwrap_or((range, range));
        let (Ok(first), Ok(last)) = (first.parse::<u32>(), last.parse::<u32>()) else {
            continue;
        };
        refs.extend((first..=last).map(|index| JobRef {
            id,
            index: Some(index),
        }));
    }
    refs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sacct_rows_with_arrays_pending_ranges_and_cancellations() {
        let text = "\
41|COMPLETED|0:0|node1|00:00:03|/store/slurm/rung-ab/b0001
42_0|TIMEOUT|0:0|node1|00:01:30|/store/slurm/rung-ab/b0002
42_1|RUNNING|0:0|node1|00:00:10|/store/slurm/rung-ab/b0002
42_[2-4,7%2]|PENDING|0:0|None assigned|00:00:00|/store/slurm/rung-ab/b0002
43|CANCELLED by 0|0:15|node1|00:00:01|/store/slurm/rung-ab/b0003
44|OUT_OF_MEMORY|0:125|node2|00:00:09|/store/slurm/rung-ab/b0004
";
        let rows = parse_sacct(text);
        let ids: Vec<String> = rows.iter().map(|r| r.job.to_string()).collect();
        assert_eq!(
            ids,
            [
                "41", "42_0", "42_1", "42_2", "42_3", "42_4", "42_7", "43", "44"
            ]
        );
        assert_eq!(rows[0].state, State::Completed);
        assert_eq!(rows[1].state, State::Timeout);
        assert_eq!(rows[2].state, State::Active("RUNNING".into()));
        assert!(!rows[3].state.ended());
        assert_eq!(rows[3].node, "");
        assert_eq!(rows[7].state, State::Cancelled);
        assert_eq!(rows[7].exit, "0:15");
        assert_eq!(rows[8].state, State::OutOfMemory);
        assert_eq!(rows[8].folder, PathBuf::from("/store/slurm/rung-ab/b0004"));
    }

    #[test]
    fn squeue_rows() {
        let text = "\
51_3|COMPLETED|node1|0:02|/store/slurm/rung-ab/b0009
52|NODE_FAIL|node7|1:02:03|/store/slurm/rung-ab/b0010
53|PENDING|(Resources)|0:00|/store/slurm/rung-ab/b0011
";
        let rows = parse_squeue(text);
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[0].job,
            JobRef {
                id: 51,
                index: Some(3)
            }
        );
        assert_eq!(rows[1].state, State::NodeFail);
        assert_eq!(rows[1].node, "node7");
        assert_eq!(rows[2].node, "");
        assert_eq!(rows[2].state, State::Active("PENDING".into()));
    }

    #[test]
    fn malformed_lines_are_skipped() {
        assert!(parse_sacct("garbage\n12|RUNNING\n").is_empty());
        assert!(job_refs("x_1").is_empty());
    }
}
