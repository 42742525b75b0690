#!/usr/bin/env python3
"""ARC-Easy multiple-choice scores of SmolLM2-135M-Instruct by lm-evaluation-harness, as a fixture.

    lm_eval_arc.py [--data-root DIR] [--limit N] [--out FILE] [--gguf FILE] [--threads N]

The lm-evaluation-harness side of the cross-check of rung's `evaluate` node: rung's per-item
correctness (acc, acc_norm) on the same model and items must agree with this on at least 98% of
the items. CI has no torch, so the result is committed (items/tests/fixtures/lm_eval/) and the
Rust test reads it. Run it with the eval venv's Python (items/reference/setup.sh prints it).

- Model: the GGUF that scripts/fetch-smollm2.sh prints (or `--gguf`), loaded by transformers in
  float32 (`AutoModelForCausalLM.from_pretrained(dir, gguf_file=name, dtype=torch.float32)`, the
  tokenizer the same way) and handed to lm-eval as `HFLM(pretrained=model, tokenizer=tokenizer)`,
  so lm-eval scores these exact weights. CPU, `--threads` threads, batch size 1 (no padding).
- Items: the first `--limit` lines of items/arc/arc_easy_test.jsonl under the data root
  (`--data-root`, else $RUNG_DATA_ROOT, else ../shared/data next to the repository), rewritten
  into the ai2_arc schema (question, choices.text, choices.label, answerKey) in a temporary JSONL.
- Task: lm-eval's own lm_eval/tasks/arc/arc_easy.yaml with only the data source replaced (the
  `json` loader on the temporary file; nothing comes from the hub) and no train/validation split.
  Zero-shot, no chat template, no system prompt.
- Output: per item the summed log-likelihood and the greedy flag of each choice (lm-eval's
  logged `filtered_resps`) and lm-eval's per-sample acc, acc_norm and acc_bytes, plus the means.
  The JSON is written with one item per line; running it twice gives the same file.
"""

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA_FILE = "items/arc/arc_easy_test.jsonl"
DEFAULT_OUT = os.path.join(ROOT, "items/tests/fixtures/lm_eval/arc_easy_smollm2.json")
MODEL_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def positive(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expects a positive integer, found {text!r}")
    return value


def parse():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-root", help="the data root (default: $RUNG_DATA_ROOT, else ../shared/data)")
    ap.add_argument("--limit", type=positive, default=50, help="the first N items (default 50)")
    ap.add_argument("--out", default=DEFAULT_OUT, help="the fixture to write")
    ap.add_argument("--gguf", help="the .gguf file (default: what scripts/fetch-smollm2.sh prints)")
    ap.add_argument("--threads", type=positive, default=2)
    return ap.parse_args()


def data_root(arg):
    if arg:
        return arg
    return os.environ.get("RUNG_DATA_ROOT") or os.path.join(os.path.dirname(ROOT), "shared", "data")


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_model():
    import subprocess

    out = subprocess.run(["bash", os.path.join(ROOT, "scripts/fetch-smollm2.sh")],
                         check=True, stdout=subprocess.PIPE, text=True)
    return out.stdout.strip()


def read_items(path, limit):
    """The first `limit` lines of an ARC file in rung's format: (raw bytes, items)."""
    raw, items = b"", []
    with open(path, "rb") as f:
        for index, line in enumerate(f):
            if index == limit:
                break
            raw += line
            row = json.loads(line)
            query = row["query"]
            if not query.startswith("Question: "):
                sys.exit(f"error: {path}:{index + 1}: the query does not start with 'Question: '")
            items.append({"id": f"arc_easy_test-{index}", "question": query[len("Question: "):],
                          "choices": row["choices"], "gold": row["gold"]})
    if len(items) < limit:
        sys.exit(f"error: {path} has {len(items)} lines, fewer than --limit {limit}")
    return raw, items


def ai2_arc_doc(item):
    """An item in the schema of the hub's allenai/ai2_arc, which arc_easy.yaml reads."""
    labels = [chr(ord("A") + i) for i in range(len(item["choices"]))]
    return {"id": item["id"], "question": item["question"],
            "choices": {"text": item["choices"], "label": labels},
            "answerKey": labels[item["gold"]]}


def task_config(jsonl):
    """lm-eval's shipped arc_easy task with the data read from `jsonl` by the `json` loader."""
    import yaml
    import lm_eval

    path = os.path.join(os.path.dirname(lm_eval.__file__), "tasks", "arc", "arc_easy.yaml")
    with open(path) as f:
        config = yaml.safe_load(f)
    config.pop("tag", None)
    config.update({
        "task": "arc_easy_local",
        "dataset_path": "json",
        "dataset_name": None,
        "dataset_kwargs": {"data_files": {"test": jsonl}},
        "training_split": None,
        "validation_split": None,
        "test_split": "test",
        "num_fewshot": 0,
    })
    config["metric_list"] = config["metric_list"] + [
        {"metric": "acc_bytes", "aggregation": "mean", "higher_is_better": True}]
    return config


def versions():
    from importlib.metadata import version

    return {name: version(name) for name in
            ("lm_eval", "torch", "transformers", "datasets", "tokenizers", "gguf")}


def write_fixture(path, header, items):
    """Header fields indented, one item per line: small diffs when a value moves."""
    lines = ["{"]
    for key, value in header.items():
        lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},")
    lines.append('  "items": [')
    for i, item in enumerate(items):
        comma = "," if i + 1 < len(items) else ""
        lines.append(f"    {json.dumps(item, ensure_ascii=False)}{comma}")
    lines.append("  ]")
    lines.append("}")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def main():
    args = parse()
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))
    # Everything is local: the model from a file, the items from a file; never the hub.
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ[var] = "1"
    work = tempfile.TemporaryDirectory(prefix="rung-lm-eval-")
    # The json loader's Arrow cache goes to the temporary folder, not ~/.cache/huggingface.
    os.environ["HF_DATASETS_CACHE"] = os.path.join(work.name, "datasets")

    data_file = os.path.join(data_root(args.data_root), DATA_FILE)
    if not os.path.isfile(data_file):
        sys.exit(f"error: {data_file} does not exist (set --data-root or RUNG_DATA_ROOT)")
    raw, items = read_items(data_file, args.limit)
    jsonl = os.path.join(work.name, "arc_easy_test.jsonl")
    with open(jsonl, "w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps(ai2_arc_doc(item), ensure_ascii=False) + "\n")

    gguf = args.gguf or fetch_model()
    if not os.path.isfile(gguf):
        sys.exit(f"error: {gguf} does not exist (scripts/fetch-smollm2.sh prints the path)")

    start = time.perf_counter()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM

    torch.set_num_threads(args.threads)
    directory, name = os.path.split(os.path.abspath(gguf))
    model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=name)
    # A model passed in keeps its device (the CPU here); add_bos_token None leaves the BOS to
    # the tokenizer's own default.
    lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=1, add_bos_token=None)

    results = simple_evaluate(
        model=lm,
        tasks=[task_config(jsonl)],
        num_fewshot=0,
        apply_chat_template=False,
        system_instruction=None,
        log_samples=True,
        bootstrap_iters=0,
        cache_requests=False,
    )
    seconds = time.perf_counter() - start

    samples = sorted(results["samples"]["arc_easy_local"], key=lambda s: s["doc_id"])
    if [s["doc_id"] for s in samples] != list(range(len(items))):
        sys.exit("error: lm-eval did not log exactly one sample per item")
    out_items, bos_added = [], False
    for item, sample in zip(items, samples):
        doc = sample["doc"]
        if doc["id"] != item["id"] or sample["target"] != item["gold"]:
            sys.exit(f"error: lm-eval's sample {sample['doc_id']} is not {item['id']}")
        contexts = {arguments[0] for arguments in sample["arguments"]}
        continuations = [arguments[1] for arguments in sample["arguments"]]
        expected = "Question: " + item["question"] + "\nAnswer:"
        if contexts != {expected} or continuations != [" " + c for c in item["choices"]]:
            sys.exit(f"error: lm-eval's requests for {item['id']} are not the expected ones")
        lls = [float(ll) for ll, _ in sample["filtered_resps"]]
        greedy = [bool(g) for _, g in sample["filtered_resps"]]
        # lm-eval's own split (HFLM._encode_pair): context and context+continuation encoded
        # whole, the continuation's tokens being those past the context's.
        context_tokens = lm.tok_encode(expected)
        continuation_tokens = []
        for continuation in continuations:
            context_enc, continuation_enc = lm._encode_pair(expected, continuation)
            if context_enc != context_tokens or \
                    lm.tok_encode(expected + continuation)[:len(context_enc)] != context_enc:
                sys.exit(f"error: the tokens of {item['id']}'s context are not a prefix")
            continuation_tokens.append(continuation_enc)
        bos_added = bos_added or context_tokens[0] == tokenizer.bos_token_id
        out_items.append({
            "id": item["id"],
            "gold": item["gold"],
            "loglikelihoods": lls,
            "is_greedy": greedy,
            "acc": int(sample["acc"]),
            "acc_norm": int(sample["acc_norm"]),
            "acc_bytes": int(sample["acc_bytes"]),
            "context_tokens": context_tokens,
            "continuation_tokens": continuation_tokens,
        })

    n = len(out_items)
    mean = {m: sum(i[m] for i in out_items) / n for m in ("acc", "acc_norm", "acc_bytes")}
    reported = results["results"]["arc_easy_local"]
    for m, value in mean.items():
        if abs(reported[f"{m},none"] - value) > 1e-12:
            sys.exit(f"error: the mean {m} {value} is not lm-eval's {reported[f'{m},none']}")

    header = {
        "model": f"{MODEL_NAME} (sha256 {sha256(gguf)})",
        "versions": versions(),
        "data": {
            "file": DATA_FILE,
            "lines": f"0..{n - 1}",
            "sha256_of_lines": hashlib.sha256(raw).hexdigest(),
        },
        "task": {
            "source": "lm_eval/tasks/arc/arc_easy.yaml, data from a local JSON file",
            "context": "<query>\nAnswer:",
            "continuation": " <choice>",
            "target_delimiter": " ",
            "num_fewshot": 0,
            "chat_template": False,
            "system_prompt": None,
            "loglikelihood": "sum of the log-softmax of the continuation tokens; the context and "
                             "context+continuation are encoded whole and the continuation tokens "
                             "are those past the context's",
            "bos_token": (f"{tokenizer.bos_token} ({tokenizer.bos_token_id}) before the context"
                          if bos_added else
                          f"none: the tokenizer adds no BOS ({tokenizer.bos_token} is its "
                          f"bos_token); the context tokens start with the text's own"),
            "acc": "argmax of loglikelihoods == gold",
            "acc_norm": "argmax of loglikelihoods / len(choice) in characters (code points), "
                        "without the leading space, == gold",
            "acc_bytes": "argmax of loglikelihoods / UTF-8 byte length of the choice, == gold",
        },
        "hflm": {"batch_size": lm.batch_size, "add_bos_token": lm.add_bos_token,
                 "device": str(lm.device), "dtype": str(model.dtype).removeprefix("torch."),
                 "threads": torch.get_num_threads(), "logits_cache": lm.logits_cache,
                 "max_length": lm.max_length},
        "acc": mean["acc"],
        "acc_norm": mean["acc_norm"],
        "acc_bytes": mean["acc_bytes"],
    }
    write_fixture(args.out, header, out_items)
    print(f"{n} items: acc {mean['acc']:.4f}, acc_norm {mean['acc_norm']:.4f}, "
          f"acc_bytes {mean['acc_bytes']:.4f} ({seconds:.1f} s); wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
