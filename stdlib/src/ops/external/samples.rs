//! lm-evaluation-harness sample logs (`--log_samples`) read sample by sample: the prompt, the
//! model's answer, the harness's filtered answer and target, and every per-sample metric.
//!
//! The harness writes `<output_path>/<model>/samples_<task>_<timestamp>.jsonl` with one line per
//! document and filter (`gsm8k` logs `strict-match` and `flexible-extract`), its metrics as
//! top-level fields named in `metrics`, the requests' arguments as `gen_args_<i>.arg_<j>`, and
//! the responses as strings (a log-likelihood response `(-1.5, False)` as `["-1.5", "False"]`).
//! One filter is kept per task: the one asked for where the task logs it, else the task's first.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use rung_engine::OpError;
use serde_json::Value as Json;

/// What one sample line says.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Sample {
    /// The task, from the file name.
    pub(super) task: String,
    /// The document's index in the task (as text).
    pub(super) doc_id: String,
    /// The filter whose answer and scores these are.
    pub(super) filter: String,
    /// The prompt of the first request.
    pub(super) prompt: Option<String>,
    /// The reference the harness compared with (a choice index for multiple choice).
    pub(super) target: String,
    /// What the model answered.
    pub(super) answer: Answer,
    /// The per-sample metrics, in the harness's order.
    pub(super) scores: Vec<(String, f64)>,
}

/// A sample's answer, by the kind of request it made.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Answer {
    /// A generation (`generate_until`) and the answer the filter extracted from it.
    Generated { output: String, extracted: String },
    /// A log-likelihood per choice's continuation (`loglikelihood`).
    Choices {
        choices: Vec<String>,
        loglikelihoods: Vec<f64>,
    },
    /// Anything else (rolling log-likelihoods): the scores say it all.
    Other,
}

/// Every sample under `dir` (any depth), task by task in file order, keeping the lines of
/// `filter` in the tasks that log it and of their first filter in the others (none = each
/// task's first filter); a `filter` no task logs is an error.
pub(super) fn read(dir: &Path, filter: Option<&str>) -> Result<Vec<Sample>, OpError> {
    let mut files = Vec::new();
    collect(dir, &mut files)?;
    if files.is_empty() {
        return Err(OpError::failed(format!(
            "{}: lm-evaluation-harness wrote no `samples_<task>_<timestamp>.jsonl` file",
            dir.display()
        )));
    }
    let mut samples = Vec::new();
    let mut found = filter.is_none();
    let mut logged = Vec::new();
    for file in &files {
        let TaskLog {
            task,
            mut by_filter,
        } = read_file(file)?;
        let wanted = filter.and_then(|f| by_filter.iter().position(|(name, _)| name == f));
        found |= wanted.is_some();
        let names: Vec<String> = by_filter
            .iter()
            .map(|(name, _)| format!("`{name}`"))
            .collect();
        logged.push(format!("`{task}` logs {}", names.join(", ")));
        if !by_filter.is_empty() {
            samples.extend(by_filter.swap_remove(wanted.unwrap_or(0)).1);
        }
    }
    if !found {
        return Err(OpError::failed(format!(
            "{}: no task logs filter `{}`: {}",
            dir.display(),
            filter.unwrap_or_default(),
            logged.join("; ")
        )));
    }
    Ok(samples)
}

/// The sample files under `dir`, in path order.
fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), OpError> {
    let unreadable = |e: std::io::Error| OpError::failed(format!("{}: {e}", dir.display()));
    let mut entries = fs::read_dir(dir)
        .and_then(|entries| {
            entries
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(unreadable)?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, files)?;
        } else if task_of(&path).is_some() {
            files.push(path);
        }
    }
    Ok(())
}

/// The task of a file named `samples_<task>_<timestamp>.jsonl`.
fn task_of(path: &Path) -> Option<String> {
    let stem = path
        .file_name()?
        .to_str()?
        .strip_prefix("samples_")?
        .strip_suffix(".jsonl")?;
    // The timestamp is an ISO date-time with `-` for `:` (2025-01-31T12-00-00.123456): no `_`.
    let (task, stamp) = stem.rsplit_once('_')?;
    stamp
        .starts_with(|c: char| c.is_ascii_digit())
        .then(|| task.to_owned())
}

/// One task's sample file: its samples filter by filter, in the order logged.
struct TaskLog {
    task: String,
    by_filter: Vec<(String, Vec<Sample>)>,
}

/// Reads one task's sample file.
fn read_file(file: &Path) -> Result<TaskLog, OpError> {
    let task = task_of(file).unwrap_or_default();
    let at = |line: usize, message: String| {
        OpError::failed(format!("{}:{line}: {message}", file.display()))
    };
    let text = fs::read_to_string(file)
        .map_err(|e| OpError::failed(format!("{}: {e}", file.display())))?;
    let mut by_filter: Vec<(String, Vec<Sample>)> = Vec::new();
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let json: Json = serde_json::from_str(line).map_err(|e| at(number, e.to_string()))?;
        let sample = sample(&task, &json).map_err(|m| at(number, m))?;
        let key = (sample.filter.clone(), sample.doc_id.clone());
        if let Some(first) = seen.insert(key, number) {
            return Err(at(
                number,
                format!(
                    "document {} appears twice for filter `{}`: first on line {first}",
                    sample.doc_id, sample.filter
                ),
            ));
        }
        match by_filter
            .iter_mut()
            .find(|(name, _)| *name == sample.filter)
        {
            Some((_, samples)) => samples.push(sample),
            None => by_filter.push((sample.filter.clone(), vec![sample])),
        }
    }
    Ok(TaskLog { task, by_filter })
}

/// Reads one sample line.
fn sample(task: &str, json: &Json) -> Result<Sample, String> {
    let doc_id = match &json["doc_id"] {
        Json::Number(n) => n.to_string(),
        Json::String(s) => s.clone(),
        _ => return Err("expected a sample with a `doc_id`".to_owned()),
    };
    let metrics = json["metrics"]
        .as_array()
        .ok_or("expected a sample with a `metrics` list")?;
    let scores = metrics
        .iter()
        .filter_map(Json::as_str)
        .filter_map(|name| score(&json[name]).map(|value| (name.to_owned(), value)))
        .collect();
    let requests = requests(&json["arguments"]);
    let answer = answer(&requests, &json["resps"], &json["filtered_resps"]);
    Ok(Sample {
        task: task.to_owned(),
        doc_id,
        filter: json["filter"].as_str().unwrap_or("none").to_owned(),
        prompt: requests
            .first()
            .and_then(|r| r["arg_0"].as_str())
            .map(str::to_owned),
        target: match &json["target"] {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        },
        answer,
        scores,
    })
}

/// A per-sample metric's value, when it is a number (corpus-level metrics log other things).
fn score(value: &Json) -> Option<f64> {
    match value {
        Json::Number(n) => n.as_f64(),
        Json::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

/// The requests' arguments (`gen_args_0`, `gen_args_1`, ...) in numeric order.
fn requests(arguments: &Json) -> Vec<&Json> {
    let mut numbered: Vec<(usize, &Json)> = arguments
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(key, value)| {
            let index = key.strip_prefix("gen_args_")?.parse().ok()?;
            Some((index, value))
        })
        .collect();
    numbered.sort_by_key(|(index, _)| *index);
    numbered.into_iter().map(|(_, value)| value).collect()
}

/// What the model answered, told apart by the requests' second argument: generation settings
/// for a generation, a continuation for a log-likelihood.
fn answer(requests: &[&Json], resps: &Json, filtered: &Json) -> Answer {
    let continuations: Option<Vec<String>> = requests
        .iter()
        .map(|r| r["arg_1"].as_str().map(str::to_owned))
        .collect();
    match continuations {
        Some(choices) if !choices.is_empty() => {
            let loglikelihoods: Option<Vec<f64>> = (0..choices.len())
                .map(|i| number(&filtered[i][0]))
                .collect();
            match loglikelihoods {
                Some(loglikelihoods) => Answer::Choices {
                    choices,
                    loglikelihoods,
                },
                None => Answer::Other,
            }
        }
        _ if requests.len() == 1 && requests[0]["arg_1"].is_object() => Answer::Generated {
            output: text(&resps[0][0]),
            extracted: text(&filtered[0]),
        },
        _ => Answer::Other,
    }
}

/// A number the harness logged as a string (or as a number).
fn number(value: &Json) -> Option<f64> {
    match value {
        Json::String(s) => s.parse().ok(),
        other => other.as_f64(),
    }
}

/// A response as text.
fn text(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

/// The mean of each metric over `samples`, metrics in order of first appearance.
pub(super) fn means<'a>(samples: impl IntoIterator<Item = &'a Sample>) -> Vec<(String, f64)> {
    let mut sums: Vec<(String, f64, usize)> = Vec::new();
    for sample in samples {
        for (name, value) in &sample.scores {
            match sums.iter_mut().find(|(n, _, _)| n == name) {
                Some((_, sum, count)) => {
                    *sum += value;
                    *count += 1;
                }
                None => sums.push((name.clone(), *value, 1)),
            }
        }
    }
    sums.into_iter()
        .map(|(name, sum, count)| (name, sum / count as f64))
        .collect()
}

/// The samples grouped by task, tasks in order of first appearance.
pub(super) fn by_task<'a>(
    samples: impl IntoIterator<Item = &'a Sample>,
) -> Vec<(&'a str, Vec<&'a Sample>)> {
    let mut tasks: Vec<(&str, Vec<&Sample>)> = Vec::new();
    for sample in samples {
        match tasks.iter_mut().find(|(task, _)| *task == sample.task) {
            Some((_, members)) => members.push(sample),
            None => tasks.push((&sample.task, vec![sample])),
        }
    }
    tasks
}

/// The metrics as a JSON object, in order.
pub(super) fn metrics_json(means: &[(String, f64)]) -> Json {
    Json::Object(
        means
            .iter()
            .map(|(name, mean)| (name.clone(), serde_json::json!(mean)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn scores(sample: &Sample) -> BTreeMap<&str, f64> {
        sample
            .scores
            .iter()
            .map(|(n, v)| (n.as_str(), *v))
            .collect()
    }

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ops/external/testdata/lm_eval")
    }

    #[test]
    fn generations_and_choices_are_read_with_the_first_filter_of_each_task() {
        let samples = read(&fixture(), None).unwrap();
        let tasks: Vec<(&str, usize)> = by_task(&samples)
            .iter()
            .map(|(task, members)| (*task, members.len()))
            .collect();
        assert_eq!(tasks, [("arc_challenge", 2), ("gsm8k", 3)]);

        let arc = &samples[0];
        assert_eq!((arc.doc_id.as_str(), arc.filter.as_str()), ("0", "none"));
        assert_eq!(arc.target, "0");
        let Answer::Choices {
            choices,
            loglikelihoods,
        } = &arc.answer
        else {
            panic!("{:?}", arc.answer)
        };
        assert_eq!(
            choices,
            &[
                " dry palms",
                " wet palms",
                " palms covered with oil",
                " palms covered with lotion"
            ]
        );
        assert_eq!(loglikelihoods, &[-3.125, -7.25, -9.5, -4.75]);
        assert_eq!(
            scores(arc),
            BTreeMap::from([("acc", 1.0), ("acc_norm", 0.0)])
        );

        let gsm = &samples[2];
        assert_eq!(
            (gsm.task.as_str(), gsm.filter.as_str()),
            ("gsm8k", "strict-match")
        );
        assert!(
            gsm.prompt
                .as_deref()
                .unwrap()
                .starts_with("Question: Janet")
        );
        assert_eq!(
            gsm.answer,
            Answer::Generated {
                output: " Janet sells 16 - 3 - 4 = 9 duck eggs a day. She makes 9 * 2 = $18 every day at the farmer's market.\n#### 18".into(),
                extracted: "18".into(),
            }
        );
        assert_eq!(scores(gsm), BTreeMap::from([("exact_match", 1.0)]));
        let means = means(&samples[2..]);
        assert_eq!(means, [("exact_match".to_string(), 1.0 / 3.0)]);
    }

    #[test]
    fn another_filter_is_kept_where_a_task_logs_it_and_one_no_task_logs_is_named() {
        let samples = read(&fixture(), Some("flexible-extract")).unwrap();
        let filters: Vec<(&str, &str)> = samples
            .iter()
            .map(|s| (s.task.as_str(), s.filter.as_str()))
            .collect();
        assert_eq!(
            filters,
            [
                ("arc_challenge", "none"),
                ("arc_challenge", "none"),
                ("gsm8k", "flexible-extract"),
                ("gsm8k", "flexible-extract"),
                ("gsm8k", "flexible-extract"),
            ]
        );
        let extracted: Vec<&str> = samples[2..]
            .iter()
            .map(|s| match &s.answer {
                Answer::Generated { extracted, .. } => extracted.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(extracted, ["18", "3", "$70,000."]);
        assert_eq!(means(&samples[2..]), [("exact_match".to_string(), 1.0)]);

        let error = read(&fixture(), Some("flexible_extract"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(
                "no task logs filter `flexible_extract`: `arc_challenge` logs `none`; `gsm8k` \
                 logs `strict-match`, `flexible-extract`"
            ),
            "{error}"
        );
    }

    #[test]
    fn a_folder_without_sample_logs_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("results_2025-01-31T12-00-00.json"), "{}").unwrap();
        let error = read(dir.path(), None).unwrap_err().to_string();
        assert!(
            error.contains("wrote no `samples_<task>_<timestamp>.jsonl` file"),
            "{error}"
        );
    }

    #[test]
    fn task_names_keep_their_underscores() {
        let task = |name: &str| task_of(Path::new(name));
        assert_eq!(
            task("samples_leaderboard_bbh_navigate_2025-01-31T12-00-00.123456.jsonl").as_deref(),
            Some("leaderboard_bbh_navigate")
        );
        assert_eq!(task("results_2025-01-31T12-00-00.json"), None);
        assert_eq!(task("samples_gsm8k.jsonl"), None);
    }
}
