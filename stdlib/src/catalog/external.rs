//! External steps: established tools run as DAG nodes, with everything that shapes their result hashed.

use std::collections::BTreeMap;

use rung_engine::signature::DuplicateName;
use rung_engine::{Catalog, ParamSig, Type, Value};

use super::{
    artifact, boolean, def, defaults, enumeration, float, int, list, op, opt, record, req, sft,
    string, word,
};

/// A `Resources` record with the given GPUs, CPUs and memory, and a day of time.
fn resources(gpus: i64, cpus: i64, memory_gb: i64) -> Value {
    let fields = [
        ("cpus", int(cpus)),
        ("gpus", int(gpus)),
        ("memory_gb", int(memory_gb)),
    ];
    Value::Record(
        fields
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect::<BTreeMap<_, _>>(),
    )
}

/// The variables the study's Python tools inherit: the GPUs a scheduler gave the step and the
/// Hugging Face cache.
fn python_pass_env() -> Value {
    list(["CUDA_VISIBLE_DEVICES", "HF_HOME"].map(string))
}

/// What every external step declares besides its command: environment, container, resources and
/// the tool's version.
fn step(pass_env: Value, resources: Value, resources_doc: &'static str) -> Vec<ParamSig> {
    vec![
        def(
            "env",
            Type::list(Type::Str),
            list([]),
            "Environment variables set for the command, as \"NAME=value\" (the value may use the placeholders of `external`'s command).",
        ),
        def(
            "pass_env",
            Type::list(Type::Str),
            pass_env,
            "Names of variables the command inherits from rung's environment when set there, besides PATH and HOME, which it always does; the names are hashed, the values are not (they say where the step runs, not what it computes).",
        ),
        def(
            "container",
            Type::list(Type::Str),
            list([]),
            "A prefix run before the command, e.g. [\"apptainer\", \"exec\", \"--nv\", \"llm.sif\"]; it may use the command's placeholders.",
        ),
        def(
            "resources",
            Type::Record("Resources"),
            resources,
            resources_doc,
        ),
        opt(
            "tool",
            Type::Str,
            "A name and version of the tool (e.g. \"trl==0.12.0\"), hashed so that an upgrade reruns the step.",
        ),
    ]
}

pub(super) fn declare(catalog: &mut Catalog) -> Result<(), DuplicateName> {
    catalog.add_record(record(
        "Resources",
        "What a step asks the scheduler (local or Slurm) for.",
        vec![
            def("cpus", Type::Int, int(1), "CPU cores."),
            def("gpus", Type::Int, int(0), "GPUs."),
            def("memory_gb", Type::Int, int(8), "Host memory in GiB."),
            def(
                "time_minutes",
                Type::Int,
                int(1440),
                "Wall-clock limit; the step fails when it runs longer (0 = no limit). Its checkpoint folder is kept for the next attempt.",
            ),
        ],
    ))?;
    catalog.add_enum(enumeration(
        "LmEvalBackend",
        "The inference engine lm-evaluation-harness drives.",
        &[
            ("vllm", "vLLM, as the study's cross-check used."),
            ("hf", "Hugging Face transformers."),
        ],
    ))?;

    let mut external = vec![
        req(
            "command",
            Type::list(Type::Str),
            "Program and arguments, run without a shell in an empty scratch folder. Placeholders: `{input0}`, `{input1}`, ... the input artifacts' folders; `{file0}`, `{file1}`, ... the files; `{output}` the folder to write; `{checkpoint}` a folder that outlives a failed, killed or timed-out attempt, for resuming; `{threads}` and `{gpus}` what the scheduler granted; `{{` and `}}` braces.",
        ),
        def(
            "inputs",
            Type::list(artifact("artifact")),
            list([]),
            "Artifacts the command reads, in placeholder order.",
        ),
        def(
            "files",
            Type::list(Type::File),
            list([]),
            "Files the command reads (its script, a config, the container image named in `container`), hashed by content so that editing one reruns the step; relative to the data root.",
        ),
        def(
            "outputs",
            Type::list(Type::Str),
            list([]),
            "Paths under `{output}` the command must create; the step fails if one is missing.",
        ),
    ];
    external.extend(step(list([]), defaults(), "What the step needs to run."));
    catalog.add_op(op(
        "external",
        "artifact",
        "Runs a command as a step of the DAG; its command, inputs, files, environment and resources are hashed into its key, its output and error streams go to the node's log, and the files it writes under `{output}` become its artifact.",
        external,
    ))?;

    let mut trl = vec![
        req(
            "model",
            artifact("model"),
            "The model to fine-tune, passed as a Hugging Face directory.",
        ),
        req(
            "train",
            artifact("items"),
            "The training items, rendered through `prompt` and `completion` into a prompt-completion dataset (chat messages with the chat template).",
        ),
    ];
    trl.extend(sft::recipe());
    trl.extend([
        def("zero_stage", Type::Int, int(3), "DeepSpeed ZeRO stage."),
        opt(
            "checkpoint_every",
            Type::Int,
            "Save a resumable checkpoint every N optimizer steps (none = at the end of every epoch); a rerun resumes from the latest.",
        ),
        opt(
            "script",
            Type::File,
            "The launch script (none = the standard library's `recipes/trl_sft.py`, built into rung); it receives the recipe as arguments.",
        ),
        opt(
            "accelerate_config",
            Type::File,
            "The accelerate configuration (none = the standard library's `recipes/accelerate_zero3.yaml`, built into rung).",
        ),
        def(
            "python",
            Type::Str,
            string("python"),
            "The Python interpreter that has trl, accelerate and deepspeed installed.",
        ),
    ]);
    trl.extend(step(
        python_pass_env(),
        resources(8, 32, 512),
        "What the step needs to run; its GPUs set the number of processes.",
    ));
    catalog.add_op(op(
        "trl_sft",
        "checkpoint",
        "The study's own trainer as an external step (TRL SFTTrainer with accelerate and DeepSpeed ZeRO-3), for models too large for burn; takes the same recipe as `sft` and writes the fine-tuned model as a Hugging Face directory.",
        trl,
    ))?;

    let mut lm_eval = vec![
        req(
            "model",
            artifact("model"),
            "The model to evaluate, passed as a Hugging Face directory.",
        ),
        req(
            "tasks",
            Type::list(Type::Str),
            "lm-evaluation-harness task names (e.g. \"gsm8k\", \"leaderboard_bbh\").",
        ),
        opt(
            "include_path",
            Type::File,
            "A folder of task definitions (YAML) the harness does not ship, passed as `--include_path` and hashed by content; the data files they name must be absolute paths, since the harness runs in a scratch folder.",
        ),
        opt(
            "items",
            artifact("items"),
            "Keep only the samples of these items, matched by id (e.g. one bin).",
        ),
        def(
            "item_id",
            Type::Str,
            string("{task}/{doc_id}"),
            "The item id of a sample, over its `{task}` and `{doc_id}` (e.g. \"gsm8k-test-{doc_id}\" for rung's GSM8K ids).",
        ),
        opt(
            "filter",
            Type::Str,
            "The harness filter whose answers are scored in the tasks that log it, the others keeping their first (none = each task's first, e.g. `strict-match` for gsm8k); a filter no task logs is an error.",
        ),
        def(
            "backend",
            Type::Enum("LmEvalBackend"),
            word("vllm"),
            "The inference engine.",
        ),
        def(
            "num_fewshot",
            Type::Int,
            int(0),
            "Few-shot examples per prompt.",
        ),
        def(
            "chat_template",
            Type::Bool,
            boolean(true),
            "Apply the model's chat template.",
        ),
        opt(
            "system_prompt",
            Type::Str,
            "A system message for every prompt.",
        ),
        opt(
            "batch_size",
            Type::Int,
            "Prompts per batch (none = the harness's `auto`).",
        ),
        def(
            "tensor_parallel",
            Type::Int,
            int(1),
            "GPUs one vLLM model is split across.",
        ),
        def(
            "gpu_memory_utilization",
            Type::Float,
            float(0.9),
            "Share of GPU memory vLLM may take.",
        ),
        opt(
            "max_model_len",
            Type::Int,
            "Longest context vLLM allocates for (none = the model's own).",
        ),
        opt(
            "limit",
            Type::Int,
            "Evaluate only the first N samples of each task.",
        ),
        def("seed", Type::Int, int(42), "Seed passed to the harness."),
        def(
            "python",
            Type::Str,
            string("python"),
            "The Python interpreter that has lm-eval and vllm installed.",
        ),
    ];
    lm_eval.extend(step(
        python_pass_env(),
        resources(1, 8, 64),
        "What the step needs to run.",
    ));
    catalog.add_op(op(
        "lm_eval",
        "eval",
        "Evaluates a model with lm-evaluation-harness as an external step and reads its per-sample logs into per-item records and metrics like `evaluate`'s, as a cross-check of it.",
        lm_eval,
    ))?;
    Ok(())
}
