# rung's TRL recipe: the study's full supervised fine-tuning with TRL's SFTTrainer, run by the
# `trl_sft` operation under `accelerate launch` (DeepSpeed ZeRO-3 with accelerate_zero3.yaml).
#
# rung renders the training items through the recipe's prompt and completion templates and
# writes them as a prompt-completion dataset (chat messages when the chat template is on), so
# that this script and rung's own trainer see the same text. The script trains: loss on the
# completion's tokens only (or on all of them), AdamW, linear warmup then cosine, linear or
# constant decay down to a floor (rung-sft's schedule), clipping by the global norm, resumable
# checkpoints in the step's checkpoint folder (a rerun resumes from the newest complete one),
# and the model saved as a Hugging Face directory in the output folder with its per-step
# metrics (metrics.jsonl) and a summary (trl_sft.json).
#
# Written for trl 1.x, transformers 5.x and accelerate 1.x (run with trl 1.16, transformers 5.24
# and accelerate 1.15). This copy is built into rung and
# pinned to the version of `trl_sft`; to change the recipe for a study, copy the file and pass
# the copy as `script = "..."`, which rung hashes by content.

import argparse
import dataclasses
import importlib.metadata
import json
import math
import os

from datasets import Dataset
from torch.optim.lr_scheduler import LambdaLR
from transformers import AutoTokenizer
from trl import SFTConfig, SFTTrainer

FLAGS = ["completion_only", "shuffle", "group_by_length", "gradient_checkpointing"]


def arguments():
    parser = argparse.ArgumentParser(description="rung's TRL fine-tuning recipe")
    paths = {
        "model": "the Hugging Face directory to fine-tune",
        "data": "the prompt-completion JSONL file rung wrote",
        "output": "the folder the fine-tuned model is saved in",
        "checkpoints": "the folder of resumable checkpoints, kept across attempts",
    }
    for name, description in paths.items():
        parser.add_argument(f"--{name}", required=True, help=description)
    for name in ["epochs", "micro_batch", "grad_accum", "max_length", "seed"]:
        parser.add_argument(f"--{name}", type=int, required=True)
    for name in ["lr", "warmup_ratio", "min_lr_ratio", "weight_decay", "beta1", "beta2", "eps"]:
        parser.add_argument(f"--{name}", type=float, required=True)
    parser.add_argument("--max_grad_norm", type=float, required=True, help="0 = no clipping")
    parser.add_argument("--schedule", choices=["cosine", "linear", "constant"], required=True)
    parser.add_argument("--precision", choices=["bf16", "f32"], required=True)
    parser.add_argument("--save_steps", type=int, help="checkpoint every N steps (default: every epoch)")
    for name in FLAGS:
        parser.add_argument(f"--{name}", action=argparse.BooleanOptionalAction, required=True)
    return parser.parse_args()


def lr_factor(schedule, warmup_steps, total_steps, min_ratio):
    """The learning rate of each optimizer step as a share of the peak: rung-sft's schedule,
    transformers' formulas with a floor."""

    def factor(step):
        if step < warmup_steps:
            return step / max(1, warmup_steps)
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        shape = {
            "cosine": 0.5 * (1.0 + math.cos(math.pi * progress)),
            "linear": 1.0 - progress,
            "constant": 1.0,
        }[schedule]
        return min_ratio + (1.0 - min_ratio) * max(0.0, shape)

    return factor


class Trainer(SFTTrainer):
    """SFTTrainer with rung's learning-rate schedule (transformers has no linear decay to a floor)."""

    def __init__(self, *args, schedule, min_lr_ratio, **kwargs):
        self.rung_schedule = (schedule, min_lr_ratio)
        super().__init__(*args, **kwargs)

    def create_scheduler(self, num_training_steps, optimizer=None):
        if self.lr_scheduler is None:
            schedule, min_ratio = self.rung_schedule
            warmup = self.args.get_warmup_steps(num_training_steps)
            factor = lr_factor(schedule, warmup, num_training_steps, min_ratio)
            self.lr_scheduler = LambdaLR(optimizer or self.optimizer, factor)
            self._created_lr_scheduler = True
        return self.lr_scheduler


def dataset(path):
    """rung's rows, without their ids (only the prompt and the completion are trained on)."""
    with open(path, encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    return Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows])


def last_checkpoint(folder):
    """The newest complete checkpoint in `folder` (transformers writes trainer_state.json last),
    or None."""
    found = []
    for name in os.listdir(folder):
        step = name.removeprefix("checkpoint-")
        path = os.path.join(folder, name)
        if step != name and step.isdigit() and os.path.isfile(os.path.join(path, "trainer_state.json")):
            found.append((int(step), path))
    return max(found) if found else (0, None)


def versions():
    packages = ["torch", "transformers", "trl", "accelerate", "deepspeed", "datasets"]
    found = {}
    for package in packages:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = None
    return found


def main():
    args = arguments()
    if args.group_by_length:
        sampling = "group_by_length"
    else:
        sampling = "random" if args.shuffle else "sequential"
    saving = {"save_strategy": "steps", "save_steps": args.save_steps} if args.save_steps else {"save_strategy": "epoch"}
    # transformers 5 renames gradient checkpointing to activation checkpointing.
    fields = {field.name for field in dataclasses.fields(SFTConfig)}
    name = "activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"
    checkpointing = {name: args.gradient_checkpointing, f"{name}_kwargs": {"use_reentrant": False}}
    config = SFTConfig(
        output_dir=args.checkpoints,
        num_train_epochs=args.epochs,
        learning_rate=args.lr,
        warmup_steps=args.warmup_ratio,
        weight_decay=args.weight_decay,
        adam_beta1=args.beta1,
        adam_beta2=args.beta2,
        adam_epsilon=args.eps,
        optim="adamw_torch",
        max_grad_norm=args.max_grad_norm,
        per_device_train_batch_size=args.micro_batch,
        gradient_accumulation_steps=args.grad_accum,
        max_length=args.max_length,
        completion_only_loss=args.completion_only,
        bf16=args.precision == "bf16",
        train_sampling_strategy=sampling,
        seed=args.seed,
        data_seed=args.seed,
        save_total_limit=1,
        logging_steps=1,
        disable_tqdm=True,
        report_to="none",
        **saving,
        **checkpointing,
    )
    train = dataset(args.data)
    trainer = Trainer(
        model=args.model,
        args=config,
        train_dataset=train,
        processing_class=AutoTokenizer.from_pretrained(args.model),
        schedule=args.schedule,
        min_lr_ratio=args.min_lr_ratio,
    )
    resumed_from, checkpoint = last_checkpoint(args.checkpoints)
    if checkpoint:
        print(f"resuming from {checkpoint}", flush=True)
    trainer.train(resume_from_checkpoint=checkpoint)
    trainer.save_model(args.output)
    if not trainer.is_world_process_zero():
        return
    steps = [entry for entry in trainer.state.log_history if "loss" in entry]
    with open(os.path.join(args.output, "metrics.jsonl"), "w", encoding="utf-8") as out:
        for entry in steps:
            line = {key: entry.get(key) for key in ["step", "epoch", "loss", "learning_rate", "grad_norm"]}
            out.write(json.dumps(line) + "\n")
    summary = {
        "examples": len(train),
        "steps": trainer.state.global_step,
        "resumed_from": resumed_from,
        "final_loss": steps[-1]["loss"] if steps else None,
        "versions": versions(),
    }
    with open(os.path.join(args.output, "trl_sft.json"), "w", encoding="utf-8") as out:
        json.dump(summary, out, indent=2)
        out.write("\n")


if __name__ == "__main__":
    main()
