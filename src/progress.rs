//! The progress display: an overall bar with an ETA and one line per running node, showing the
//! steps or items the node reports. On a terminal only; elsewhere `rung run` prints what finished.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rung_engine::NodeId;
use rung_engine::op::ProgressSink;
use rung_engine::scheduler::{NodeOutcome, Observer};

/// Shows a run's progress on standard error.
pub(crate) struct Display {
    multi: MultiProgress,
    overall: ProgressBar,
    running: Mutex<HashMap<NodeId, ProgressBar>>,
    interactive: bool,
}

impl Display {
    /// A display for a run of `total` nodes.
    pub(crate) fn new(total: usize) -> Display {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        let interactive = !multi.is_hidden();
        let overall = multi.add(ProgressBar::new(total as u64));
        overall.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{wide_bar}] {pos}/{len} nodes, ETA {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        Display {
            multi,
            overall,
            running: Mutex::new(HashMap::new()),
            interactive,
        }
    }

    /// Prints a line above the bars (or plainly when there are none).
    pub(crate) fn line(&self, text: &str) {
        if self.interactive {
            let _ = self.multi.println(text);
        } else {
            eprintln!("{text}");
        }
    }

    /// Removes the bars.
    pub(crate) fn finish(&self) {
        self.overall.finish_and_clear();
        let _ = self.multi.clear();
    }

    fn bars(&self) -> std::sync::MutexGuard<'_, HashMap<NodeId, ProgressBar>> {
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl ProgressSink for Display {
    fn progress(&self, node: NodeId, done: u64, total: u64, unit: &str) {
        if let Some(bar) = self.bars().get(&node) {
            if bar.length() != Some(total) {
                bar.set_length(total);
                bar.set_style(
                    ProgressStyle::with_template(&format!(
                        "  {{prefix}} [{{bar:30}}] {{pos}}/{{len}} {unit}, ETA {{eta}} {{msg}}"
                    ))
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
            }
            bar.set_position(done);
        }
    }

    fn status(&self, node: NodeId, text: &str) {
        if let Some(bar) = self.bars().get(&node) {
            bar.set_message(text.to_string());
        }
    }
}

impl Observer for Display {
    fn started(&self, node: NodeId, name: &str) {
        if !self.interactive {
            return;
        }
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("  {prefix} {spinner} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(name.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        self.bars().insert(node, bar);
    }

    fn finished(&self, node: NodeId, name: &str, outcome: &NodeOutcome) {
        if let Some(bar) = self.bars().remove(&node) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        self.overall.inc(1);
        match outcome {
            NodeOutcome::Ran { seconds, .. } if *seconds >= 1.0 => {
                self.line(&format!("ran {name} in {}", seconds_text(*seconds)));
            }
            NodeOutcome::Failed(why) => self.line(&format!("FAILED {name}: {why}")),
            _ => {}
        }
    }
}

/// `0.42s`, `12.3s`, `4m05s`, `2h03m`.
pub(crate) fn seconds_text(seconds: f64) -> String {
    if seconds < 10.0 {
        format!("{seconds:.2}s")
    } else if seconds < 60.0 {
        format!("{seconds:.1}s")
    } else if seconds < 3600.0 {
        format!(
            "{}m{:02}s",
            (seconds / 60.0) as u64,
            (seconds % 60.0) as u64
        )
    } else {
        format!(
            "{}h{:02}m",
            (seconds / 3600.0) as u64,
            ((seconds % 3600.0) / 60.0) as u64
        )
    }
}
