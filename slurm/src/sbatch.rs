//! The `sbatch` command line of one submission: a node's declared resources and the site
//! profile turned into Slurm's flags.

use std::path::Path;
use std::time::Duration;

use rung_engine::Resources;

use crate::profile::{GpuFlag, Profile};

/// One `sbatch` call: a single job, or an array of `tasks` jobs sharing the same resources.
#[derive(Debug, Clone)]
pub struct Submission<'a> {
    /// The run's job name, shared by all its jobs.
    pub job_name: &'a str,
    /// The batch folder on the shared store: the job's working directory and its ledger.
    pub folder: &'a Path,
    /// The job script.
    pub script: &'a Path,
    /// How many array tasks (1: a plain job).
    pub tasks: usize,
    /// What each task needs.
    pub resources: Resources,
    /// Nodes not to run on (after a NODE_FAIL there).
    pub exclude: &'a [String],
}

/// The arguments to `sbatch`, script last.
pub fn arguments(profile: &Profile, submission: &Submission<'_>) -> Vec<String> {
    let r = submission.resources;
    let folder = submission.folder.display();
    let mut args = vec![
        "--parsable".to_string(),
        format!("--job-name={}", submission.job_name),
        format!("--chdir={folder}"),
    ];
    if submission.tasks > 1 {
        args.push(format!("--array=0-{}", submission.tasks - 1));
        args.push(format!("--output={folder}/slurm-%A_%a.out"));
    } else {
        args.push(format!("--output={folder}/slurm-%j.out"));
    }
    // rung resubmits what was preempted or lost itself, with the failed node excluded; Slurm's
    // own requeue would run the job again under the same ID behind its back.
    args.push("--no-requeue".to_string());
    args.push(format!(
        "--cpus-per-task={}",
        r.threads.clamp(1, profile.max_cpus)
    ));
    let memory = if r.memory > 0 {
        Some(r.memory)
    } else {
        profile.memory
    };
    if let Some(bytes) = memory {
        args.push(format!("--mem={}M", bytes.div_ceil(1 << 20)));
    }
    if r.gpus > 0 {
        args.push(match (profile.gpu_flag, &profile.gpu_type) {
            (GpuFlag::Gpus, _) => format!("--gpus={}", r.gpus),
            (GpuFlag::Gres, None) => format!("--gres=gpu:{}", r.gpus),
            (GpuFlag::Gres, Some(kind)) => format!("--gres=gpu:{kind}:{}", r.gpus),
        });
    }
    args.push(format!(
        "--time={}",
        minutes(r.time.unwrap_or(profile.time))
    ));
    for (flag, value) in [
        ("account", &profile.account),
        ("partition", &profile.partition),
        ("qos", &profile.qos),
    ] {
        if let Some(value) = value {
            args.push(format!("--{flag}={value}"));
        }
    }
    if !submission.exclude.is_empty() {
        args.push(format!("--exclude={}", submission.exclude.join(",")));
    }
    args.extend(profile.extra_args.iter().cloned());
    args.push(submission.script.display().to_string());
    args
}

/// Slurm's time limit in whole minutes, rounded up (`-t` takes minutes).
fn minutes(time: Duration) -> u64 {
    time.as_secs().div_ceil(60).max(1)
}

/// Splits `count` tasks into arrays no larger than the cluster's `MaxArraySize` allows (the
/// largest index is `MaxArraySize - 1`): the sizes of the chunks, in order.
pub fn chunks(count: usize, max_array_size: usize) -> Vec<usize> {
    let largest = max_array_size.saturating_sub(1).max(1);
    let mut sizes = vec![largest; count / largest];
    if !count.is_multiple_of(largest) {
        sizes.push(count % largest);
    }
    sizes
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn submission(tasks: usize, resources: Resources, exclude: &[String]) -> Vec<String> {
        submission_with(&Profile::default(), tasks, resources, exclude)
    }

    fn submission_with(
        profile: &Profile,
        tasks: usize,
        resources: Resources,
        exclude: &[String],
    ) -> Vec<String> {
        let folder = PathBuf::from("/shared/store/slurm/rung-1a2b3c/b0007");
        let script = folder.join("job.sh");
        arguments(
            profile,
            &Submission {
                job_name: "rung-1a2b3c",
                folder: &folder,
                script: &script,
                tasks,
                resources,
                exclude,
            },
        )
    }

    fn gpus(n: u32) -> Resources {
        Resources {
            threads: 16,
            gpus: n,
            memory: 200 << 30,
            time: Some(Duration::from_secs(90 * 60 + 1)),
        }
    }

    #[test]
    fn a_plain_cpu_job_with_the_defaults() {
        insta::assert_snapshot!(submission(1, Resources::default(), &[]).join("\n"), @r"
        --parsable
        --job-name=rung-1a2b3c
        --chdir=/shared/store/slurm/rung-1a2b3c/b0007
        --output=/shared/store/slurm/rung-1a2b3c/b0007/slurm-%j.out
        --no-requeue
        --cpus-per-task=1
        --time=240
        /shared/store/slurm/rung-1a2b3c/b0007/job.sh
        ");
    }

    #[test]
    fn gpu_flag_styles() {
        insta::assert_snapshot!(submission(1, gpus(4), &[]).join("\n"), @r"
        --parsable
        --job-name=rung-1a2b3c
        --chdir=/shared/store/slurm/rung-1a2b3c/b0007
        --output=/shared/store/slurm/rung-1a2b3c/b0007/slurm-%j.out
        --no-requeue
        --cpus-per-task=8
        --mem=204800M
        --gpus=4
        --time=91
        /shared/store/slurm/rung-1a2b3c/b0007/job.sh
        ");
        let mut gres = Profile {
            gpu_flag: GpuFlag::Gres,
            ..Profile::default()
        };
        let plain = submission_with(&gres, 1, gpus(2), &[]);
        assert!(plain.contains(&"--gres=gpu:2".to_string()), "{plain:?}");
        gres.gpu_type = Some("a100".into());
        let typed = submission_with(&gres, 1, gpus(2), &[]);
        assert!(
            typed.contains(&"--gres=gpu:a100:2".to_string()),
            "{typed:?}"
        );
        assert!(!typed.iter().any(|a| a.starts_with("--gpus")));
    }

    #[test]
    fn profile_options_arrays_and_exclusions() {
        let profile = Profile {
            account: Some("difficulty-lab".into()),
            partition: Some("gpu".into()),
            qos: Some("normal".into()),
            memory: Some(16 << 30),
            extra_args: vec!["--constraint=a100".into(), "--reservation=study".into()],
            ..Profile::default()
        };
        let args = submission_with(&profile, 10, Resources::default(), &["gpu017".into()]);
        insta::assert_snapshot!(args.join("\n"), @r"
        --parsable
        --job-name=rung-1a2b3c
        --chdir=/shared/store/slurm/rung-1a2b3c/b0007
        --array=0-9
        --output=/shared/store/slurm/rung-1a2b3c/b0007/slurm-%A_%a.out
        --no-requeue
        --cpus-per-task=1
        --mem=16384M
        --time=240
        --account=difficulty-lab
        --partition=gpu
        --qos=normal
        --exclude=gpu017
        --constraint=a100
        --reservation=study
        /shared/store/slurm/rung-1a2b3c/b0007/job.sh
        ");
    }

    #[test]
    fn arrays_are_chunked_to_the_largest_index_the_cluster_allows() {
        assert_eq!(chunks(10, 50), vec![10]);
        assert_eq!(chunks(49, 50), vec![49]);
        assert_eq!(chunks(50, 50), vec![49, 1]);
        assert_eq!(chunks(120, 50), vec![49, 49, 22]);
        assert_eq!(chunks(2000, 1001), vec![1000, 1000]);
        assert_eq!(chunks(3, 1), vec![1, 1, 1]);
        assert!(chunks(0, 50).is_empty());
    }
}
