//! One external step run: the command without a shell, in its own process group and a clean
//! environment, its output and error streams forwarded line by line into the node's log while it
//! runs; cancellation and the time limit stop the whole group; the declared outputs are checked
//! after a clean exit.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Component, Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use rung_engine::{Context, OpError, Params, Value};

use super::placeholders::Places;
use super::resources_of;

/// Variables every command inherits from rung's environment when set.
const ALWAYS_PASSED: [&str; 2] = ["PATH", "HOME"];

/// Lines of standard error quoted when a command fails.
const ERROR_TAIL: usize = 20;

/// How long a command asked to stop has before its group is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// How long the streams of a command that exited are read for before what is left of its group
/// (a process it left in the background holding them open) is killed.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// How often cancellation, the time limit and the child are checked while no line arrives.
const POLL: Duration = Duration::from_millis(100);

/// Longest line kept whole; a longer one is split.
const MAX_LINE: usize = 64 * 1024;

/// A command with everything it declares, its placeholders not yet filled in.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Step {
    /// The container prefix, then the program and its arguments.
    pub(super) argv: Vec<String>,
    /// Variables set for the command, in order (a later one wins); values may use placeholders.
    pub(super) env: Vec<(String, String)>,
    /// Variables inherited from rung's environment when set, besides [`ALWAYS_PASSED`].
    pub(super) pass_env: Vec<String>,
    /// Paths under `{output}` the command must create.
    pub(super) outputs: Vec<String>,
    /// The wall-clock limit.
    pub(super) time: Option<Duration>,
}

impl Step {
    /// The step that runs `command` (after the node's `container` prefix) and must create
    /// `outputs`, with the node's `env`, `pass_env` and time limit.
    pub(super) fn new(
        params: &Params<'_>,
        command: Vec<String>,
        outputs: Vec<String>,
    ) -> Result<Step, OpError> {
        let mut argv = strings(params, "container")?;
        argv.extend(command);
        let env = strings(params, "env")?
            .iter()
            .map(|entry| {
                entry
                    .split_once('=')
                    .filter(|(name, _)| is_variable_name(name))
                    .map(|(name, value)| (name.to_owned(), value.to_owned()))
                    .ok_or_else(|| OpError::failed(format!("`env`: `{entry}` is not NAME=value")))
            })
            .collect::<Result<_, _>>()?;
        let pass_env = strings(params, "pass_env")?;
        if let Some(name) = pass_env.iter().find(|name| !is_variable_name(name)) {
            return Err(OpError::failed(format!(
                "`pass_env`: `{name}` is not a variable name"
            )));
        }
        if let Some(path) = outputs.iter().find(|path| !is_under(path)) {
            return Err(OpError::failed(format!(
                "`outputs`: `{path}` is not a relative path under {{output}}"
            )));
        }
        Ok(Step {
            argv,
            env,
            pass_env,
            outputs,
            time: resources_of(params.param("resources")?).time,
        })
    }

    /// Runs the command with `places` filled in; fails on a non-zero exit (quoting the end of
    /// standard error), on a missing declared output, on a run past the time limit, and with
    /// [`OpError::Cancelled`] when the run is cancelled.
    pub(super) fn run(&self, ctx: &mut Context<'_>, places: &Places) -> Result<(), OpError> {
        let expand = |text: &String| places.expand(text).map_err(OpError::failed);
        let argv = self
            .argv
            .iter()
            .map(expand)
            .collect::<Result<Vec<_>, _>>()?;
        let Some((program, args)) = argv.split_first() else {
            return Err(OpError::failed("the command is empty"));
        };
        // An empty folder of its own: whatever the tool leaves in its working directory is
        // neither part of the output nor seen by the next step.
        let scratch = tempfile::tempdir()
            .map_err(|e| OpError::failed(format!("cannot create a scratch folder: {e}")))?;
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(scratch.path())
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        for name in ALWAYS_PASSED
            .iter()
            .copied()
            .chain(self.pass_env.iter().map(String::as_str))
        {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        for (name, value) in &self.env {
            command.env(name, expand(value)?);
        }
        ctx.log(format_args!("$ {}", quoted(&argv)));
        let mut child = command
            .spawn()
            .map_err(|e| OpError::failed(format!("cannot start `{program}`: {e}")))?;
        let (sender, lines) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            let sender = sender.clone();
            thread::spawn(move || forward(stdout, Stream::Out, &sender));
        }
        if let Some(stderr) = child.stderr.take() {
            thread::spawn(move || forward(stderr, Stream::Err, &sender));
        }
        let mut group = Group {
            child,
            reaped: None,
        };
        let mut watch = Watch {
            lines,
            stderr: VecDeque::with_capacity(ERROR_TAIL),
        };
        let started = Instant::now();
        let end = watch.until_exit(ctx, &mut group, started, self.time)?;
        watch.drain(ctx, DRAIN_GRACE);
        // Nothing of the step outlives it: kill what it left running in its group.
        group.signal(Signal::SIGKILL);
        let seconds = started.elapsed().as_secs_f64();
        match end {
            End::Cancelled => Err(OpError::Cancelled),
            End::TimedOut(limit) => Err(OpError::failed(format!(
                "`{program}` ran past the step's time limit of {} minutes and was stopped; \
                 its checkpoint folder is kept for the next attempt{}",
                limit.as_secs() / 60,
                watch.tail()
            ))),
            End::Exited(status) if !status.success() => Err(OpError::failed(format!(
                "`{program}` {} after {seconds:.1} s{}",
                describe(status),
                watch.tail()
            ))),
            End::Exited(_) => {
                ctx.log(format_args!(
                    "`{program}` exited with status 0 after {seconds:.1} s"
                ));
                self.check_outputs(&places.output)
            }
        }
    }

    /// Fails naming every declared output the command did not create.
    fn check_outputs(&self, output: &Path) -> Result<(), OpError> {
        let missing: Vec<String> = self
            .outputs
            .iter()
            .filter(|path| output.join(path).symlink_metadata().is_err())
            .map(|path| format!("`{path}`"))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(OpError::failed(format!(
            "the command exited with status 0 but did not write the declared output{} {} \
             under {{output}}",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", ")
        )))
    }
}

/// The strings of a list parameter.
pub(super) fn strings(params: &Params<'_>, name: &str) -> Result<Vec<String>, OpError> {
    let Value::List(values) = params.param(name)? else {
        return Err(OpError::failed(format!(
            "`{name}` must be a list of strings"
        )));
    };
    values
        .iter()
        .map(|value| match value {
            Value::Str(text) => Ok(text.clone()),
            other => Err(OpError::failed(format!(
                "`{name}` must be a list of strings, found `{other}`"
            ))),
        })
        .collect()
}

/// Whether `name` can name an environment variable: a letter or `_`, then letters, digits, `_`.
fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `path` is a relative path that stays under the folder it is joined to.
fn is_under(path: &str) -> bool {
    let path = PathBuf::from(path);
    path.components().next().is_some()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// The command line as a shell would need it typed: for the log, and for running it by hand.
pub(super) fn quoted(argv: &[String]) -> String {
    argv.iter()
        .map(|arg| {
            let plain = !arg.is_empty()
                && arg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
            if plain {
                arg.clone()
            } else {
                format!("'{}'", arg.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// How a command that did not succeed ended.
fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(number)) => match Signal::try_from(number) {
            Ok(signal) => format!("was killed by {signal}"),
            Err(_) => format!("was killed by signal {number}"),
        },
        (None, None) => format!("ended with {status}"),
    }
}

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Out,
    Err,
}

/// A piece of a command's output.
struct Line {
    stream: Stream,
    text: String,
    /// Ended by a carriage return: a progress bar redrawing itself, shown next to the node's
    /// progress rather than logged.
    redrawn: bool,
}

/// Sends every line `source` writes, split at `\n` and (for redrawn progress bars) `\r`, until
/// it is closed or nobody listens.
fn forward(source: impl Read, stream: Stream, sender: &Sender<Line>) {
    let mut reader = BufReader::new(source);
    let mut pending = Vec::new();
    let mut after_return = false;
    let emit = |pending: &mut Vec<u8>, redrawn: bool| {
        let line = Line {
            stream,
            text: String::from_utf8_lossy(pending).into_owned(),
            redrawn,
        };
        pending.clear();
        sender.send(line).is_ok()
    };
    loop {
        let read = match reader.fill_buf() {
            Ok([]) => break,
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let mut listening = true;
        for &byte in read {
            match byte {
                b'\n' => {
                    listening &= emit(&mut pending, false);
                    after_return = false;
                }
                b'\r' => {
                    if after_return && !pending.is_empty() {
                        listening &= emit(&mut pending, true);
                    }
                    after_return = true;
                }
                _ => {
                    if after_return {
                        if !pending.is_empty() {
                            listening &= emit(&mut pending, true);
                        }
                        after_return = false;
                    }
                    pending.push(byte);
                    if pending.len() >= MAX_LINE {
                        listening &= emit(&mut pending, false);
                    }
                }
            }
        }
        let consumed = read.len();
        reader.consume(consumed);
        if !listening {
            return;
        }
    }
    if !pending.is_empty() {
        emit(&mut pending, false);
    }
}

/// How the wait for a command ended.
enum End {
    Exited(ExitStatus),
    Cancelled,
    TimedOut(Duration),
}

/// A started command's process group; killed and reaped if dropped before the command was.
struct Group {
    child: Child,
    reaped: Option<ExitStatus>,
}

impl Group {
    /// Sends `signal` to every process of the group (one that is gone already is no error).
    fn signal(&self, signal: Signal) {
        let _ = killpg(Pid::from_raw(self.child.id() as i32), signal);
    }

    /// The command's exit status, if it has exited.
    fn try_wait(&mut self) -> Result<Option<ExitStatus>, OpError> {
        if self.reaped.is_none() {
            self.reaped = self
                .child
                .try_wait()
                .map_err(|e| OpError::failed(format!("cannot wait for the command: {e}")))?;
        }
        Ok(self.reaped)
    }

    /// Asks the group to stop (SIGTERM), and kills it if the command has not exited within
    /// [`STOP_GRACE`].
    fn stop(&mut self) -> Result<(), OpError> {
        self.signal(Signal::SIGTERM);
        let asked = Instant::now();
        while self.try_wait()?.is_none() {
            if asked.elapsed() > STOP_GRACE {
                self.signal(Signal::SIGKILL);
                self.reaped = Some(self.child.wait()?);
            } else {
                thread::sleep(POLL);
            }
        }
        Ok(())
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if self.reaped.is_none() {
            self.signal(Signal::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

/// Follows a running command's output into the node's log.
struct Watch {
    lines: Receiver<Line>,
    /// The last lines of standard error, for the failure message.
    stderr: VecDeque<String>,
}

impl Watch {
    /// Forwards lines until the command exits, the run is cancelled or the time limit passes
    /// (then the group is stopped).
    fn until_exit(
        &mut self,
        ctx: &mut Context<'_>,
        group: &mut Group,
        started: Instant,
        limit: Option<Duration>,
    ) -> Result<End, OpError> {
        loop {
            match self.lines.recv_timeout(POLL) {
                Ok(line) => self.take(ctx, line),
                Err(RecvTimeoutError::Timeout) => {}
                // Both streams are closed but the command runs on.
                Err(RecvTimeoutError::Disconnected) => thread::sleep(POLL),
            }
            if ctx.cancelled() {
                ctx.log("cancelled: stopping the command");
                group.stop()?;
                return Ok(End::Cancelled);
            }
            if let Some(limit) = limit.filter(|limit| started.elapsed() > *limit) {
                ctx.log(format_args!(
                    "the time limit of {} minutes has passed: stopping the command",
                    limit.as_secs() / 60
                ));
                group.stop()?;
                return Ok(End::TimedOut(limit));
            }
            if let Some(status) = group.try_wait()? {
                return Ok(End::Exited(status));
            }
        }
    }

    /// Forwards what is still in the streams, for at most `grace`.
    fn drain(&mut self, ctx: &mut Context<'_>, grace: Duration) {
        let deadline = Instant::now() + grace;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => self.take(ctx, line),
                Err(_) => break,
            }
        }
    }

    /// Logs a line (or shows a redrawn progress bar), keeping the end of standard error.
    fn take(&mut self, ctx: &mut Context<'_>, line: Line) {
        if line.redrawn {
            ctx.status(line.text.trim());
            return;
        }
        if line.stream == Stream::Err {
            if self.stderr.len() == ERROR_TAIL {
                self.stderr.pop_front();
            }
            self.stderr.push_back(line.text.clone());
        }
        ctx.log(line.text);
    }

    /// The end of standard error, as the end of a failure message.
    fn tail(&self) -> String {
        if self.stderr.is_empty() {
            return "; it wrote nothing to standard error (its output is in the node's log)"
                .to_owned();
        }
        let mut text = String::from("; the end of its standard error:");
        for line in &self.stderr {
            text.push_str("\n    ");
            text.push_str(line);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(bytes: &[u8]) -> Vec<(String, bool)> {
        let (sender, receiver) = mpsc::channel();
        forward(bytes, Stream::Out, &sender);
        drop(sender);
        receiver.iter().map(|l| (l.text, l.redrawn)).collect()
    }

    #[test]
    fn lines_end_at_newlines_and_redrawn_bars_at_carriage_returns() {
        let lines = split(b"one\r\ntwo\n\n\r 10%|#\r 50%|##\r100%|###\nlast");
        let expected = [
            ("one", false),
            ("two", false),
            ("", false),
            (" 10%|#", true),
            (" 50%|##", true),
            ("100%|###", false),
            ("last", false),
        ];
        let expected: Vec<(String, bool)> =
            expected.iter().map(|(t, r)| (t.to_string(), *r)).collect();
        assert_eq!(lines, expected);
    }

    #[test]
    fn quoting_shows_what_a_shell_would_need() {
        let argv = ["python", "-c", "print('hi there')", "--x=1", ""].map(String::from);
        assert_eq!(
            quoted(&argv),
            r#"python -c 'print('\''hi there'\'')' --x=1 ''"#
        );
    }

    #[test]
    fn outputs_must_stay_under_the_output_folder() {
        assert!(is_under("a/b.txt") && is_under("./model"));
        assert!(!is_under("../x") && !is_under("/abs") && !is_under("a/../../b") && !is_under(""));
    }

    #[test]
    fn variable_names_are_checked() {
        assert!(is_variable_name("HF_HOME") && is_variable_name("_X1"));
        assert!(!is_variable_name("1X") && !is_variable_name("A-B") && !is_variable_name(""));
    }
}
