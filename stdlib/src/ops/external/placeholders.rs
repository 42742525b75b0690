//! The placeholders of an external step's command (`{input0}`, `{file0}`, `{output}`, ...) and
//! what they stand for in one attempt.

use std::path::{Path, PathBuf};

/// What the placeholders of one attempt stand for.
#[derive(Debug, Clone)]
pub(super) struct Places {
    /// `{input0}`, `{input1}`, ...: the input artifacts' folders.
    pub(super) inputs: Vec<PathBuf>,
    /// `{file0}`, `{file1}`, ...: the declared files.
    pub(super) files: Vec<PathBuf>,
    /// `{output}`: the folder the command writes.
    pub(super) output: PathBuf,
    /// `{checkpoint}`: the folder that outlives a failed attempt.
    pub(super) checkpoint: PathBuf,
    /// `{threads}`: the CPU threads the scheduler granted.
    pub(super) threads: u32,
    /// `{gpus}`: the GPUs the scheduler granted.
    pub(super) gpus: u32,
}

/// Doubles the braces of `text` so that it reaches the command as written.
pub(super) fn literal(text: &str) -> String {
    text.replace('{', "{{").replace('}', "}}")
}

impl Places {
    /// `template` with every placeholder replaced, or why it cannot be.
    pub(super) fn expand(&self, template: &str) -> Result<String, String> {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(brace) = rest.find(['{', '}']) {
            out.push_str(&rest[..brace]);
            let (open, after) = (rest.as_bytes()[brace] == b'{', &rest[brace + 1..]);
            if let Some(tail) = after.strip_prefix(if open { '{' } else { '}' }) {
                out.push(if open { '{' } else { '}' });
                rest = tail;
                continue;
            }
            if !open {
                return Err(format!(
                    "`{template}`: a `}}` closes nothing (write `}}}}` for a literal brace)"
                ));
            }
            let Some(close) = after.find('}') else {
                return Err(format!(
                    "`{template}`: a `{{` is not closed (write `{{{{` for a literal brace)"
                ));
            };
            out.push_str(
                &self
                    .value(&after[..close])
                    .map_err(|why| format!("`{template}`: {why}"))?,
            );
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// What the placeholder `{name}` stands for.
    fn value(&self, name: &str) -> Result<String, String> {
        let indexed = |prefix: &str, paths: &[PathBuf], what: &str| {
            let index = name.strip_prefix(prefix)?;
            Some(
                index
                    .parse::<usize>()
                    .ok()
                    .filter(|_| !index.starts_with('+'))
                    .and_then(|i| paths.get(i))
                    .ok_or_else(|| {
                        format!(
                            "`{{{name}}}` names no {what}: the step has {} ({})",
                            paths.len(),
                            Self::range(prefix, paths.len())
                        )
                    })
                    .and_then(|path| text(path)),
            )
        };
        if let Some(found) =
            indexed("input", &self.inputs, "input").or_else(|| indexed("file", &self.files, "file"))
        {
            return found;
        }
        match name {
            "output" => text(&self.output),
            "checkpoint" => text(&self.checkpoint),
            "threads" => Ok(self.threads.to_string()),
            "gpus" => Ok(self.gpus.to_string()),
            _ => Err(format!(
                "unknown placeholder `{{{name}}}`; the placeholders are {}, {}, {{output}}, \
                 {{checkpoint}}, {{threads}} and {{gpus}} (write `{{{{` and `}}}}` for braces)",
                Self::range("input", self.inputs.len()),
                Self::range("file", self.files.len()),
            )),
        }
    }

    /// How the `count` placeholders `{prefix0}`, `{prefix1}`, ... are described.
    fn range(prefix: &str, count: usize) -> String {
        match count {
            0 => format!("no {{{prefix}N}}"),
            1 => format!("{{{prefix}0}}"),
            n => format!("{{{prefix}0}} to {{{prefix}{}}}", n - 1),
        }
    }
}

/// A path as text; commands take their arguments as UTF-8 here.
fn text(path: &Path) -> Result<String, String> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("the path {} is not valid UTF-8", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn places() -> Places {
        Places {
            inputs: vec!["/store/a".into(), "/store/b".into()],
            files: vec!["/data/run.py".into()],
            output: "/store/tmp/out".into(),
            checkpoint: "/store/checkpoints/k".into(),
            threads: 4,
            gpus: 2,
        }
    }

    #[test]
    fn placeholders_are_replaced_inside_arguments() {
        let places = places();
        let cases = [
            ("{input1}", "/store/b"),
            ("--data={input0}/items.jsonl", "--data=/store/a/items.jsonl"),
            ("{file0}", "/data/run.py"),
            ("{output}/model", "/store/tmp/out/model"),
            ("--resume={checkpoint}", "--resume=/store/checkpoints/k"),
            ("-j{threads},{gpus}", "-j4,2"),
            ("{{\"a\": 1}}", "{\"a\": 1}"),
            ("plain", "plain"),
        ];
        for (template, expanded) in cases {
            assert_eq!(
                places.expand(template).as_deref(),
                Ok(expanded),
                "{template}"
            );
        }
    }

    #[test]
    fn literal_text_survives_expansion() {
        let text = "Answer in {braces} and }} or {{";
        assert_eq!(places().expand(&literal(text)).as_deref(), Ok(text));
    }

    #[test]
    fn a_wrong_placeholder_is_an_error_that_lists_the_right_ones() {
        let places = places();
        let error = |template: &str| places.expand(template).unwrap_err();
        assert_eq!(
            error("--out={outptu}"),
            "`--out={outptu}`: unknown placeholder `{outptu}`; the placeholders are {input0} to \
             {input1}, {file0}, {output}, {checkpoint}, {threads} and {gpus} (write `{{` and \
             `}}` for braces)"
        );
        assert_eq!(
            error("{input2}"),
            "`{input2}`: `{input2}` names no input: the step has 2 ({input0} to {input1})"
        );
        assert_eq!(
            error("{file+0}"),
            "`{file+0}`: `{file+0}` names no file: the step has 1 ({file0})"
        );
        assert!(error("{output").contains("is not closed"));
        assert!(error("a}b").contains("closes nothing"));
    }
}
