#!/usr/bin/env python3
"""Fit one IRT model with one Python peer of `rung irt fit`; time the fit call alone.

    peer.py fit {girth,mirt,py-irt} --model 1pl|2pl --responses WIDE.csv [--jsonl DATA.jsonl]
                --out EST.csv --report REPORT.json [--seed S] [--epochs 2000] [--mirt-se none]
    peer.py to-jsonl WIDE.csv DATA.jsonl

WIDE.csv is rung's response matrix: header `model,<item ids>`, one row per subject, cells 1, 0 or
empty (missing). `fit` writes EST.csv (`item,difficulty,discrimination`, one row per item of the
header, in its order; empty where the peer gave no estimate) and REPORT.json (the peer's version,
the call, what it reported, and `timings`: read_s, fit_s, write_s, measured with perf_counter
around the read, the fit call and the writing). `to-jsonl` converts WIDE.csv to py-irt's input,
one line per subject: {"subject_id": ..., "responses": {item: 0|1}} with missing cells left out.

Runs on one thread: the BLAS/OpenMP/Rayon thread counts are set to 1 before numpy is imported
(unless already set by the caller) and torch.set_num_threads(1) for py-irt.
Run it with the benchmark's venv (target/bench-irt-venv); see bench/irt/README.md.
"""

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from importlib import metadata  # noqa: E402


def read_wide(path):
    """(subject ids, item ids, float array subjects x items with NaN for missing)."""
    import numpy as np
    import pandas as pd

    with open(path, newline="") as f:
        header = next(csv.reader(f))
    # Subject ids as text, every cell as a float: empty cells become NaN (pandas' C parser).
    dtypes = {c: np.float64 for c in header[1:]}
    dtypes[header[0]] = str
    df = pd.read_csv(path, index_col=0, dtype=dtypes, na_values=[""], keep_default_na=False,
                     engine="c")
    items = [str(c) for c in df.columns]
    if items != header[1:]:
        raise SystemExit(f"{path}: duplicate or unreadable item ids in the header")
    subjects = [str(s) for s in df.index]
    x = df.to_numpy(dtype=np.float64)
    bad = ~(np.isnan(x) | (x == 0.0) | (x == 1.0))
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        raise SystemExit(f"{path}: cell ({subjects[i]}, {items[j]}) is {x[i, j]!r}, "
                         "not 1, 0 or empty")
    return subjects, items, x


def write_estimates(path, items, difficulty, discrimination):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["item", "difficulty", "discrimination"])
        for k, item in enumerate(items):
            d = difficulty.get(item) if isinstance(difficulty, dict) else difficulty[k]
            a = discrimination.get(item) if isinstance(discrimination, dict) else discrimination[k]
            w.writerow([item, fmt(d), fmt(a)])


def fmt(v):
    if v is None:
        return ""
    v = float(v)
    return repr(v) if math.isfinite(v) else ("nan" if math.isnan(v) else str(v))


# ---- girth ------------------------------------------------------------------------------------

def fit_girth(args, report):
    """girth 0.8.0: rasch_mml (1PL, discrimination fixed at 1) or twopl_mml (2PL, = grm_mml).

    girth takes an items x subjects integer array; missing responses are any value other than
    the valid ones, replaced by girth.INVALID_RESPONSE (-99999) with tag_missing_data(data, [0, 1]).
    """
    import numpy as np
    import girth

    t0 = time.perf_counter()
    _, items, x = read_wide(args.responses)
    coded = np.where(np.isnan(x), -1, x).astype(np.int64)
    data = np.ascontiguousarray(girth.tag_missing_data(coded, [0, 1]).T)  # items x subjects
    t1 = time.perf_counter()
    if args.model == "1pl":
        res = girth.rasch_mml(data, discrimination=1)
        api = "girth.rasch_mml(data, discrimination=1)"
    else:
        res = girth.twopl_mml(data)
        api = "girth.twopl_mml(data)"
    t2 = time.perf_counter()
    difficulty = np.asarray(res["Difficulty"], dtype=float).reshape(-1)
    disc = np.broadcast_to(np.asarray(res["Discrimination"], dtype=float), difficulty.shape)
    write_estimates(args.out, items, difficulty, disc)
    t3 = time.perf_counter()
    report.update({
        "api": api,
        "options": "girth defaults: quadrature_n 41 on (-4.5, 4.5), N(0,1) ability, "
                   "max_iteration 25 (2PL)",
        "missing": "items x subjects int array; missing = girth.INVALID_RESPONSE via "
                   "girth.tag_missing_data(data, [0, 1])",
        "n_missing": int(np.isnan(x).sum()),
        "shape": list(x.shape),
        "timings": {"read_s": t1 - t0, "fit_s": t2 - t1, "write_s": t3 - t2},
    })


# ---- mirt (Python) ----------------------------------------------------------------------------

def fit_mirt(args, report):
    """mirt 1.2.0 (Python, Rust backend): fit_mirt(data, model="1PL"|"2PL"), EM (MML).

    fit_mirt takes a subjects x items array; any negative value or NaN is missing (-1 here).
    """
    import numpy as np
    import mirt
    from mirt._backend_config import get_backend_info

    t0 = time.perf_counter()
    _, items, x = read_wide(args.responses)
    data = np.where(np.isnan(x), -1, x).astype(np.int64)
    t1 = time.perf_counter()
    mirt.set_backend("rust")  # not "auto": that would take a GPU when one is visible
    kw = {"model": args.model.upper(), "estimation": "EM", "item_names": items}
    if args.mirt_quadpts:
        kw["n_quadpts"] = args.mirt_quadpts
    if args.mirt_se == "none":
        kw["compute_standard_errors"] = False
    else:
        kw["se_method"] = args.mirt_se
    res = mirt.fit_mirt(data, **kw)
    t2 = time.perf_counter()
    m = res.model
    difficulty = np.asarray(m.difficulty, dtype=float).reshape(-1)
    disc = np.broadcast_to(np.asarray(m.discrimination, dtype=float).reshape(-1),
                           difficulty.shape)
    write_estimates(args.out, items, difficulty, disc)
    t3 = time.perf_counter()
    shown = ", ".join(f"{k}={v!r}" for k, v in kw.items() if k != "item_names")
    report.update({
        "api": f"mirt.fit_mirt(data, {shown}, item_names=...)",
        "options": f"n_quadpts {kw.get('n_quadpts', '21 (default)')}; mirt defaults: "
                   "max_iter 500, tol 1e-4, N(0,1) ability",
        "backend": {k: v for k, v in get_backend_info().items() if isinstance(v, (str, bool))},
        "missing": "subjects x items int array; missing = -1 (fit_mirt treats any negative or "
                   "NaN as missing)",
        "n_missing": int(np.isnan(x).sum()),
        "shape": list(x.shape),
        "log_likelihood": float(res.log_likelihood),
        "n_iterations": int(res.n_iterations),
        "converged": bool(res.converged),
        "se_method": getattr(res, "se_method", None),
        "timings": {"read_s": t1 - t0, "fit_s": t2 - t1, "write_s": t3 - t2},
    })


# ---- py-irt -----------------------------------------------------------------------------------

def to_jsonl(src, dst):
    """Wide CSV -> py-irt JSONL, streaming (one subject at a time), missing cells left out."""
    n = 0
    with open(src, newline="") as f, open(dst, "w") as out:
        r = csv.reader(f)
        header = next(r)
        items = header[1:]
        for row in r:
            if not row:
                continue
            resp = {}
            for item, cell in zip(items, row[1:]):
                if cell == "1":
                    resp[item] = 1
                elif cell == "0":
                    resp[item] = 0
                elif cell != "":
                    raise SystemExit(f"{src}: subject {row[0]}, item {item}: {cell!r}")
            out.write(json.dumps({"subject_id": row[0], "responses": resp},
                                 separators=(",", ":")))
            out.write("\n")
            n += 1
    return items, n


def header_items(path):
    with open(path, newline="") as f:
        return next(csv.reader(f))[1:]


def fit_pyirt(args, report):
    """py-irt 0.7.1: IrtModelTrainer(config=IrtConfig(model_type="1pl"|"2pl", epochs=2000)).train().

    The same calls as `py-irt train MODEL data.jsonlines outdir` (py_irt/cli.py), without the
    CLI: seeds as the CLI's --seed does, default priors ("vague"), lr 0.1, lr_decay 0.9999,
    full-batch SVI (Trace_ELBO, Adam) on the CPU. Difficulties: the trainer's best_params (what
    the CLI writes to best_parameters.json): "diff" (and "disc" for 2pl) indexed by position,
    "item_ids" mapping position -> item id. Missing responses are absent from the JSONL.
    """
    import random

    import numpy as np
    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    import pyro
    import py_irt.training as training
    from py_irt.config import IrtConfig

    losses = []

    class RecordingSVI(training.SVI):
        """py-irt's SVI, also keeping the loss of each epoch (py-irt shows it, not returns it)."""

        def step(self, *a, **k):
            loss = super().step(*a, **k)
            losses.append(loss)
            return loss

    training.SVI = RecordingSVI

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    pyro.set_rng_seed(args.seed)

    items = header_items(args.responses)
    config = IrtConfig(model_type=args.model, epochs=args.epochs, seed=args.seed)
    t0 = time.perf_counter()
    trainer = training.IrtModelTrainer(config=config, data_path=args.jsonl, verbose=False)
    t1 = time.perf_counter()
    trainer.train(device="cpu")
    t2 = time.perf_counter()
    best = trainer.best_params
    ids = best["item_ids"]
    diff = {ids[i]: best["diff"][i] for i in range(len(best["diff"]))}
    disc = ({ids[i]: best["disc"][i] for i in range(len(best["disc"]))} if "disc" in best
            else {k: 1.0 for k in diff})
    write_estimates(args.out, items, diff, disc)
    t3 = time.perf_counter()
    finite = [v for v in losses if math.isfinite(v)]
    report.update({
        "api": f"py_irt.training.IrtModelTrainer(config=IrtConfig(model_type={args.model!r}, "
               f"epochs={args.epochs}), data_path=JSONL, verbose=False).train(device='cpu'); "
               "best_params",
        "options": f"py-irt defaults: priors 'vague', lr {config.lr}, lr_decay {config.lr_decay}, "
                   f"{args.epochs} epochs of full-batch SVI",
        "missing": "JSONL, one line per subject; missing responses are left out of 'responses'",
        "n_observations": len(trainer._dataset.observations),
        "n_items_seen": len(ids),
        "epochs": len(losses),
        "loss_first": losses[0] if losses else None,
        "loss_last": losses[-1] if losses else None,
        "loss_best": min(finite) if finite else None,
        "loss_best_epoch": (losses.index(min(finite)) + 1) if finite else None,
        "torch_threads": torch.get_num_threads(),
        "timings": {"read_s": t1 - t0, "fit_s": t2 - t1, "write_s": t3 - t2},
    })


FITTERS = {"girth": fit_girth, "mirt": fit_mirt, "py-irt": fit_pyirt}
DISTS = {"girth": "girth", "mirt": "mirt", "py-irt": "py-irt"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fit")
    f.add_argument("tool", choices=sorted(FITTERS))
    f.add_argument("--model", choices=["1pl", "2pl"], required=True)
    f.add_argument("--responses", required=True, help="wide CSV (rung's format)")
    f.add_argument("--jsonl", help="py-irt: the JSONL made by `to-jsonl` from --responses")
    f.add_argument("--out", required=True)
    f.add_argument("--report", required=True)
    f.add_argument("--seed", type=int, default=1)
    f.add_argument("--epochs", type=int, default=2000, help="py-irt epochs (its default: 2000)")
    f.add_argument("--mirt-se", default="auto",
                   choices=["auto", "oakes", "crossprod", "sandwich", "complete_data", "none"],
                   help="mirt's standard errors (its default: auto)")
    f.add_argument("--mirt-quadpts", type=int, default=None,
                   help="mirt's n_quadpts (its default: 21)")
    j = sub.add_parser("to-jsonl")
    j.add_argument("src")
    j.add_argument("dst")
    args = ap.parse_args()

    if args.cmd == "to-jsonl":
        t0 = time.perf_counter()
        items, n = to_jsonl(args.src, args.dst)
        print(f"{args.dst}: {n} subjects, {len(items)} items, {time.perf_counter() - t0:.1f} s")
        return
    if args.tool == "py-irt" and not args.jsonl:
        ap.error("py-irt needs --jsonl (make it with `peer.py to-jsonl`)")
    report = {
        "tool": args.tool,
        "version": metadata.version(DISTS[args.tool]),
        "model": args.model,
        "responses": os.path.abspath(args.responses),
        "threads_env": {v: os.environ.get(v) for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                                        "OPENBLAS_NUM_THREADS",
                                                        "RAYON_NUM_THREADS")},
    }
    FITTERS[args.tool](args, report)
    with open(args.report, "w") as out:
        json.dump(report, out, indent=2)
        out.write("\n")
    t = report["timings"]
    print(f"{args.tool} {args.model}: read {t['read_s']:.2f} s, fit {t['fit_s']:.2f} s",
          file=sys.stderr)


if __name__ == "__main__":
    main()
