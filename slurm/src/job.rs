//! The job's side: what `rung __job FOLDER INDEX` does on a compute node: computes the one node
//! its array index names and writes the completion record the driver reads.

use std::path::Path;
use std::time::{Instant, SystemTime};

use rung_engine::Digest;
use rung_engine::scheduler::NodeOutcome;

use crate::ledger::{self, BatchTask, Ended, Record};

/// Computes task `index` of the batch in `folder` with `compute` (which rebuilds the node from
/// the batch's context and runs it), writes its completion record atomically, and returns the
/// job's exit code (0 when the node's output is in the store).
pub fn run_job(
    folder: &Path,
    index: usize,
    compute: impl FnOnce(
        &serde_json::Value,
        &BatchTask,
    ) -> Result<(NodeOutcome, Option<Digest>), String>,
) -> i32 {
    let start = SystemTime::now();
    let clock = Instant::now();
    let batch = match ledger::read_batch(folder) {
        Ok(batch) => batch,
        Err(why) => {
            eprintln!("error: {why}");
            return 2;
        }
    };
    let Some(task) = batch.tasks.get(index) else {
        eprintln!(
            "error: `{}` has {} tasks; there is no task {index}",
            ledger::batch_file(folder).display(),
            batch.tasks.len()
        );
        return 2;
    };
    let (ended, output, message, attempts) = match compute(&batch.context, task) {
        Ok((NodeOutcome::Ran { attempts, .. }, Some(output))) => {
            (Ended::Ran, Some(output), None, attempts)
        }
        Ok((NodeOutcome::Cached | NodeOutcome::ComputedElsewhere, Some(output))) => {
            (Ended::ComputedElsewhere, Some(output), None, 0)
        }
        Ok((NodeOutcome::Skipped(why), _)) => (Ended::Cancelled, None, Some(why), 0),
        Ok((NodeOutcome::Failed(why), _)) => (Ended::Failed, None, Some(why), 0),
        Ok((outcome, None)) => (
            Ended::Failed,
            None,
            Some(format!("{outcome:?} without an output")),
            0,
        ),
        Err(why) => (Ended::Failed, None, Some(why), 0),
    };
    let exit_code = i32::from(output.is_none());
    if let Some(why) = &message {
        eprintln!("{}: {why}", task.node);
    }
    let job = match (
        std::env::var("SLURM_ARRAY_JOB_ID"),
        std::env::var("SLURM_ARRAY_TASK_ID"),
    ) {
        (Ok(id), Ok(index)) => format!("{id}_{index}"),
        _ => std::env::var("SLURM_JOB_ID").unwrap_or_default(),
    };
    let record = Record {
        node: task.node.clone(),
        key: task.key,
        ended,
        output,
        message,
        exit_code,
        seconds: clock.elapsed().as_secs_f64(),
        attempts,
        start: humantime::format_rfc3339_millis(start).to_string(),
        end: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        host: rung_engine::store::host(),
        job,
    };
    if let Err(error) = ledger::write_record(folder, index, &record) {
        eprintln!("error: cannot write the completion record: {error}");
        return 2;
    }
    exit_code
}
