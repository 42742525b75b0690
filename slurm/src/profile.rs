//! The site profile: how a cluster wants its jobs asked for (account, partition, GPU flags,
//! limits), read from TOML in the user's config directory and in the project, the project's
//! settings overriding the user's field by field.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The name of a project's profile, looked up from the spec's folder upwards.
pub const PROJECT_FILE: &str = "rung-slurm.toml";

/// How the cluster asks for GPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GpuFlag {
    /// `--gpus=N` (Slurm 19.05 and later with `select/cons_tres`).
    Gpus,
    /// `--gres=gpu:N`, or `--gres=gpu:TYPE:N` with `gpu_type`.
    Gres,
}

/// Everything the executor takes from the site, with defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// `--account`.
    pub account: Option<String>,
    /// `--partition`.
    pub partition: Option<String>,
    /// `--qos`.
    pub qos: Option<String>,
    /// The time limit of nodes that declare none.
    pub time: Duration,
    /// How GPUs are asked for.
    pub gpu_flag: GpuFlag,
    /// The GPU type in `--gres=gpu:TYPE:N` (only with `gpu_flag = "gres"`).
    pub gpu_type: Option<String>,
    /// The memory of nodes that declare none, in bytes (`None`: the partition's default).
    pub memory: Option<u64>,
    /// CPUs for nodes that ask for "all the threads there are".
    pub max_cpus: u32,
    /// More `sbatch` arguments, added last (`--constraint=...`, `--reservation=...`).
    pub extra_args: Vec<String>,
    /// Shell lines run before `rung` in every job (`module load ...`, `source venv/bin/activate`).
    pub setup: Vec<String>,
    /// Jobs (array tasks included) in the queue or running at once.
    pub max_jobs: u32,
    /// `sbatch` calls per minute.
    pub submissions_per_minute: u32,
    /// How often a node is resubmitted after TIMEOUT, PREEMPTED or NODE_FAIL.
    pub resubmits: u32,
    /// The first polling delay after a submission or a completion.
    pub poll_first: Duration,
    /// The longest polling delay the back-off reaches.
    pub poll_max: Duration,
    /// The `rung` executable as the compute nodes see it (default: this one).
    pub rung: Option<PathBuf>,
}

impl Default for Profile {
    fn default() -> Profile {
        Profile {
            account: None,
            partition: None,
            qos: None,
            time: Duration::from_secs(4 * 3600),
            gpu_flag: GpuFlag::Gpus,
            gpu_type: None,
            memory: None,
            max_cpus: 8,
            extra_args: Vec::new(),
            setup: Vec::new(),
            max_jobs: 500,
            submissions_per_minute: 60,
            resubmits: 3,
            poll_first: Duration::from_secs(30),
            poll_max: Duration::from_secs(180),
            rung: None,
        }
    }
}

/// One file's settings: every field optional, unknown fields refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Layer {
    account: Option<String>,
    partition: Option<String>,
    qos: Option<String>,
    time_minutes: Option<u64>,
    gpu_flag: Option<GpuFlag>,
    gpu_type: Option<String>,
    memory_gb: Option<f64>,
    max_cpus: Option<u32>,
    extra_args: Option<Vec<String>>,
    setup: Option<Vec<String>>,
    max_jobs: Option<u32>,
    submissions_per_minute: Option<u32>,
    resubmits: Option<u32>,
    poll_first_seconds: Option<f64>,
    poll_max_seconds: Option<f64>,
    rung: Option<PathBuf>,
}

impl Profile {
    /// The profile for a spec: the user's (`$XDG_CONFIG_HOME/rung/slurm.toml`, else
    /// `~/.config/rung/slurm.toml`) overridden by the project's (`explicit`, else the first
    /// `rung-slurm.toml` from `spec_dir` upwards). Missing files are fine; unreadable or
    /// invalid ones are errors naming the file, line and what was expected.
    pub fn find(
        explicit: Option<&Path>,
        spec_dir: &Path,
    ) -> Result<(Profile, Vec<PathBuf>), String> {
        let mut files = Vec::new();
        if let Some(user) = user_file().filter(|f| f.is_file()) {
            files.push(user);
        }
        match explicit {
            Some(file) if !file.is_file() => {
                return Err(format!(
                    "the Slurm profile `{}` does not exist",
                    file.display()
                ));
            }
            Some(file) => files.push(file.to_path_buf()),
            None => {
                let start = std::fs::canonicalize(spec_dir).unwrap_or_else(|_| spec_dir.into());
                if let Some(project) = start
                    .ancestors()
                    .map(|dir| dir.join(PROJECT_FILE))
                    .find(|f| f.is_file())
                {
                    files.push(project);
                }
            }
        }
        let mut profile = Profile::default();
        for file in &files {
            let text = std::fs::read_to_string(file)
                .map_err(|e| format!("cannot read the Slurm profile `{}`: {e}", file.display()))?;
            profile.apply(&text, file)?;
        }
        Ok((profile, files))
    }

    /// Reads one profile file's text over this profile.
    pub fn apply(&mut self, text: &str, file: &Path) -> Result<(), String> {
        let layer: Layer = toml::from_str(text).map_err(|error| {
            let line = error
                .span()
                .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
            let place = line.map_or(String::new(), |line| format!(":{line}"));
            format!(
                "{}{place}: invalid Slurm profile: {}",
                file.display(),
                error.message()
            )
        })?;
        let invalid = |what: &str| format!("{}: invalid Slurm profile: {what}", file.display());
        macro_rules! take {
            ($($field:ident),*) => { $(if let Some(value) = layer.$field { self.$field = value; })* };
        }
        take!(
            gpu_flag,
            max_cpus,
            max_jobs,
            submissions_per_minute,
            resubmits
        );
        take!(extra_args, setup);
        for (slot, value) in [
            (&mut self.account, layer.account),
            (&mut self.partition, layer.partition),
            (&mut self.qos, layer.qos),
            (&mut self.gpu_type, layer.gpu_type),
        ] {
            if value.is_some() {
                *slot = value;
            }
        }
        if layer.rung.is_some() {
            self.rung = layer.rung;
        }
        if let Some(minutes) = layer.time_minutes {
            if minutes == 0 {
                return Err(invalid("`time_minutes` must be at least 1"));
            }
            self.time = Duration::from_secs(minutes * 60);
        }
        if let Some(gb) = layer.memory_gb {
            if !(gb > 0.0 && gb.is_finite()) {
                return Err(invalid("`memory_gb` must be a positive number"));
            }
            self.memory = Some((gb * (1u64 << 30) as f64) as u64);
        }
        for (slot, value, name) in [
            (
                &mut self.poll_first,
                layer.poll_first_seconds,
                "poll_first_seconds",
            ),
            (
                &mut self.poll_max,
                layer.poll_max_seconds,
                "poll_max_seconds",
            ),
        ] {
            if let Some(seconds) = value {
                if !(seconds > 0.0 && seconds.is_finite()) {
                    return Err(invalid(&format!("`{name}` must be a positive number")));
                }
                *slot = Duration::from_secs_f64(seconds);
            }
        }
        if self.max_jobs == 0 || self.submissions_per_minute == 0 || self.max_cpus == 0 {
            return Err(invalid(
                "`max_jobs`, `submissions_per_minute` and `max_cpus` must be at least 1",
            ));
        }
        if self.gpu_type.is_some() && self.gpu_flag != GpuFlag::Gres {
            return Err(invalid("`gpu_type` needs `gpu_flag = \"gres\"`"));
        }
        self.poll_max = self.poll_max.max(self.poll_first);
        Ok(())
    }
}

/// The user's profile file, wherever their config directory is.
fn user_file() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(config.join("rung").join("slurm.toml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Profile, String> {
        let mut profile = Profile::default();
        profile.apply(text, Path::new("site.toml"))?;
        Ok(profile)
    }

    #[test]
    fn fields_override_the_defaults_and_the_earlier_file() {
        let mut profile =
            read("account = \"lab\"\npartition = \"gpu\"\ntime_minutes = 90\n").unwrap();
        assert_eq!(profile.account.as_deref(), Some("lab"));
        assert_eq!(profile.time, Duration::from_secs(90 * 60));
        profile
            .apply(
                "partition = \"debug\"\ngpu_flag = \"gres\"\ngpu_type = \"a100\"\n",
                Path::new("p.toml"),
            )
            .unwrap();
        assert_eq!(profile.account.as_deref(), Some("lab"));
        assert_eq!(profile.partition.as_deref(), Some("debug"));
        assert_eq!(profile.gpu_flag, GpuFlag::Gres);
        assert_eq!(profile.max_jobs, Profile::default().max_jobs);
    }

    #[test]
    fn errors_name_the_file_the_line_and_what_was_expected() {
        let error = read("account = \"lab\"\n\nmax_jobs = \"many\"\n").unwrap_err();
        assert!(
            error.starts_with("site.toml:3: invalid Slurm profile"),
            "{error}"
        );
        assert!(
            error.contains("u32") || error.contains("integer"),
            "{error}"
        );
        let error = read("acount = \"lab\"\n").unwrap_err();
        assert!(error.starts_with("site.toml:1:"), "{error}");
        assert!(error.contains("account"), "{error}");
        let error = read("gpu_flag = \"cards\"\n").unwrap_err();
        assert!(error.contains("gpus") && error.contains("gres"), "{error}");
        let error = read("gpu_type = \"h100\"\n").unwrap_err();
        assert!(error.contains("gpu_flag = \"gres\""), "{error}");
        assert!(
            read("time_minutes = 0\n")
                .unwrap_err()
                .contains("at least 1")
        );
    }

    /// The site profile reference in `docs/cluster.md` lists exactly the fields a profile takes
    /// (serde names them all when it refuses an unknown one).
    #[test]
    fn the_cluster_guide_documents_every_field() {
        let error = read("not_a_field = 1\n").unwrap_err();
        let (_, list) = error
            .split_once("expected one of ")
            .expect("serde lists the fields");
        let mut fields: Vec<&str> = list
            .split(", ")
            .map(|field| field.trim().trim_matches('`'))
            .collect();
        let guide = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/cluster.md"),
        )
        .unwrap();
        let mut documented: Vec<&str> = guide
            .lines()
            .filter_map(|line| line.strip_prefix("| `")?.split('`').next())
            .collect();
        fields.sort_unstable();
        documented.sort_unstable();
        assert_eq!(documented, fields, "update the table in docs/cluster.md");
    }

    #[test]
    fn the_project_file_is_found_from_the_spec_folder_upwards() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("experiments/cluster");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::write(dir.path().join(PROJECT_FILE), "partition = \"short\"\n").unwrap();
        let (profile, files) = Profile::find(None, &nested).unwrap();
        assert_eq!(profile.partition.as_deref(), Some("short"));
        assert!(files.iter().any(|f| f.ends_with(PROJECT_FILE)));
        let missing = dir.path().join("nope.toml");
        assert!(
            Profile::find(Some(&missing), &nested)
                .unwrap_err()
                .contains("does not exist")
        );
    }
}
