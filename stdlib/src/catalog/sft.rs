//! Supervised fine-tuning on burn with the study's recipe as the defaults.

use rung_engine::signature::DuplicateName;
use rung_engine::{Catalog, ParamSig, Type};

use super::{artifact, boolean, def, enumeration, float, int, op, opt, req, string, word};

/// The training recipe, shared by rung's own trainer and the TRL preset so one preset record
/// (`{ paper.sft; seed = 7 }`) fits both.
pub(super) fn recipe() -> Vec<ParamSig> {
    vec![
        def(
            "epochs",
            Type::Int,
            int(5),
            "Passes over the training items.",
        ),
        def(
            "lr",
            Type::Float,
            float(5e-6),
            "Peak learning rate of AdamW.",
        ),
        def(
            "schedule",
            Type::Enum("Schedule"),
            word("cosine"),
            "Decay of the learning rate after warmup.",
        ),
        def(
            "warmup_ratio",
            Type::Float,
            float(0.1),
            "Share of the optimizer steps spent warming the learning rate up linearly from 0.",
        ),
        def(
            "min_lr_ratio",
            Type::Float,
            float(0.0),
            "Learning rate at the end of the decay, as a share of the peak.",
        ),
        def(
            "weight_decay",
            Type::Float,
            float(0.1),
            "Decoupled weight decay of AdamW.",
        ),
        def(
            "beta1",
            Type::Float,
            float(0.9),
            "AdamW's first-moment decay.",
        ),
        def(
            "beta2",
            Type::Float,
            float(0.99),
            "AdamW's second-moment decay.",
        ),
        def("eps", Type::Float, float(1e-8), "AdamW's epsilon."),
        def(
            "max_grad_norm",
            Type::Float,
            float(0.1),
            "Clip gradients to this global L2 norm (0 = no clipping).",
        ),
        def(
            "micro_batch",
            Type::Int,
            int(2),
            "Sequences per device per forward pass.",
        ),
        def(
            "grad_accum",
            Type::Int,
            int(1),
            "Micro-batches accumulated per optimizer step.",
        ),
        def(
            "max_length",
            Type::Int,
            int(4096),
            "Longest training sequence in tokens; longer examples are truncated at the end.",
        ),
        def(
            "precision",
            Type::Enum("Precision"),
            word("auto"),
            "Compute precision of the forward and backward passes.",
        ),
        def(
            "chat_template",
            Type::Bool,
            boolean(true),
            "Render each example through the model's chat template.",
        ),
        opt(
            "system_prompt",
            Type::Str,
            "A system message put before every example (none = no system message).",
        ),
        def(
            "prompt",
            Type::Str,
            string("{prompt}"),
            "Template of the user turn over item fields (see the `Task` record).",
        ),
        def(
            "completion",
            Type::Str,
            string("{target}"),
            "Template of the assistant turn over item fields, e.g. \"{solution}\".",
        ),
        def(
            "completion_only",
            Type::Bool,
            boolean(true),
            "Compute the loss on the completion's tokens only, not the prompt's.",
        ),
        def(
            "group_by_length",
            Type::Bool,
            boolean(false),
            "Batch examples of similar length together (less padding), within runs of 50 steps of the shuffled order.",
        ),
        def(
            "recompute",
            Type::Bool,
            boolean(true),
            "Recompute each layer's forward pass during the backward pass instead of keeping its activations (gradient checkpointing): far less memory for about a third more compute.",
        ),
        def(
            "shuffle",
            Type::Bool,
            boolean(true),
            "Shuffle the examples each epoch (within each stage of a curriculum).",
        ),
        def(
            "seed",
            Type::Int,
            int(42),
            "Seed of the data order and of any sampling.",
        ),
    ]
}

pub(super) fn declare(catalog: &mut Catalog) -> Result<(), DuplicateName> {
    catalog.add_enum(enumeration(
        "Schedule",
        "How the learning rate decays after warmup.",
        &[
            (
                "cosine",
                "Half a cosine from the peak down to `min_lr_ratio` of it (the study's schedule).",
            ),
            (
                "linear",
                "A straight line from the peak down to `min_lr_ratio` of it.",
            ),
            ("constant", "The peak rate until the end."),
        ],
    ))?;
    catalog.add_enum(enumeration(
        "Precision",
        "The compute precision of training.",
        &[
            ("auto", "bf16 on CUDA, f32 on the CPU."),
            ("f32", "32-bit floats throughout."),
            ("bf16", "bf16 compute with f32 master weights and optimizer state (pure bf16 weights lose most updates at small learning rates)."),
        ],
    ))?;
    let mut params = vec![
        req(
            "model",
            artifact("model"),
            "The model to fine-tune (every weight is trained).",
        ),
        req(
            "train",
            artifact("items"),
            "The training items; a curriculum is visited stage by stage.",
        ),
    ];
    params.extend(recipe());
    params.extend([
        def("devices", Type::Int, int(1), "GPUs to train on (0 = the CPU; builds without CUDA always use the CPU); one GPU for now."),
        def("loss_chunk", Type::Int, int(1024), "Token positions whose vocabulary logits are computed at once: the projection and the loss run in chunks so that no full `[tokens, vocab]` logits are held."),
        opt("checkpoint_every", Type::Int, "Save a resumable checkpoint every N optimizer steps (none = only when the run is interrupted); a rerun resumes from the latest."),
    ]);
    catalog.add_op(op(
        "sft",
        "checkpoint",
        "Full supervised fine-tuning with AdamW, warmup and decay, global-norm clipping and completion-only loss; refuses up front when the estimated memory will not fit.",
        params,
    ))?;
    Ok(())
}
