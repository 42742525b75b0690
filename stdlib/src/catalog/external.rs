//! External steps: established tools run as DAG nodes, with everything that shapes their result hashed.

use std::collections::BTreeMap;

use rung_engine::signature::DuplicateName;
use rung_engine::{Catalog, Type, Value};

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
                "Wall-clock limit; the step fails when it runs longer.",
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

    let tool_doc = "A name and version of the tool (e.g. \"trl==0.12.0\"), hashed so that an upgrade reruns the step.";
    catalog.add_op(op(
        "external",
        "artifact",
        "Runs a command as a step of the DAG; its command, inputs, environment and resources are hashed into its key, and the files it writes become its artifact.",
        vec![
            req("command", Type::list(Type::Str), "Program and arguments, run without a shell; `{input0}`, `{input1}`, ... name the input artifacts' folders and `{output}` the folder to write."),
            def("inputs", Type::list(artifact("artifact")), list([]), "Artifacts the command reads, in placeholder order."),
            def("outputs", Type::list(Type::Str), list([]), "Paths under `{output}` the command must create; the step fails if one is missing."),
            def("env", Type::list(Type::Str), list([]), "Environment variables as \"NAME=value\"; nothing else is inherited but PATH and HOME."),
            def("resources", Type::Record("Resources"), defaults(), "What the step needs to run."),
            opt("tool", Type::Str, tool_doc),
        ],
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
            "The training items, written out as a chat-formatted JSONL dataset.",
        ),
    ];
    trl.extend(sft::recipe());
    trl.extend([
        def("zero_stage", Type::Int, int(3), "DeepSpeed ZeRO stage."),
        def(
            "gradient_checkpointing",
            Type::Bool,
            boolean(true),
            "Recompute activations in the backward pass to save memory.",
        ),
        def(
            "python",
            Type::Str,
            string("python"),
            "The Python interpreter that has trl, accelerate and deepspeed installed.",
        ),
        def(
            "resources",
            Type::Record("Resources"),
            resources(8, 32, 512),
            "What the step needs to run; its GPUs set the number of processes.",
        ),
        opt("tool", Type::Str, tool_doc),
    ]);
    catalog.add_op(op(
        "trl_sft",
        "checkpoint",
        "The study's own trainer as an external step (TRL SFTTrainer with accelerate and DeepSpeed ZeRO-3), for models too large for burn; takes the same recipe as `sft`.",
        trl,
    ))?;

    catalog.add_op(op(
        "lm_eval",
        "eval",
        "Evaluates a model with lm-evaluation-harness as an external step and reads its per-sample logs, as a cross-check of `evaluate`.",
        vec![
            req("model", artifact("model"), "The model to evaluate, passed as a Hugging Face directory."),
            req("tasks", Type::list(Type::Str), "lm-evaluation-harness task names (e.g. \"gsm8k\", \"leaderboard_bbh\")."),
            opt("items", artifact("items"), "Keep only the samples of these items, matched by id (e.g. one bin)."),
            def("backend", Type::Enum("LmEvalBackend"), word("vllm"), "The inference engine."),
            def("num_fewshot", Type::Int, int(0), "Few-shot examples per prompt."),
            def("chat_template", Type::Bool, boolean(true), "Apply the model's chat template."),
            opt("system_prompt", Type::Str, "A system message for every prompt."),
            opt("batch_size", Type::Int, "Prompts per batch (none = the harness's `auto`)."),
            def("tensor_parallel", Type::Int, int(1), "GPUs one vLLM model is split across."),
            def("gpu_memory_utilization", Type::Float, float(0.9), "Share of GPU memory vLLM may take."),
            opt("max_model_len", Type::Int, "Longest context vLLM allocates for (none = the model's own)."),
            opt("limit", Type::Int, "Evaluate only the first N samples of each task."),
            def("seed", Type::Int, int(42), "Seed passed to the harness."),
            def("python", Type::Str, string("python"), "The Python interpreter that has lm-eval and vllm installed."),
            def("resources", Type::Record("Resources"), resources(1, 8, 64), "What the step needs to run."),
            opt("tool", Type::Str, tool_doc),
        ],
    ))?;
    Ok(())
}
