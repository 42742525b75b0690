#!/usr/bin/env python3
"""Run `rung irt fit` and the Python IRT packages side by side; print Markdown tables of ratios.

    compare.py --rung target/release/rung [--python target/bench-irt-venv/bin/python]
               [--quick] [--sizes small,large] [--models 1pl,2pl] [--missing 0,0.2]
               [--real | --no-real] [--tools rung,mirt,girth,py-irt] [--rung-threads 1,2]
               [--timeout 900] [--mem-limit-mb 12288] [--out target/bench-irt]
               [--data-root ../shared/data] [--seed 1] [--epochs 2000] [--mirt-se complete_data]

Simulated data come from `rung irt simulate` (responses and true item parameters); the real matrix
is DATA_ROOT/responses/mmlu_pro_tiger.csv. For each (model, data set) every tool is one child
process: rung as `rung irt fit ... --threads N`, the peers through bench/irt/peer.py on one thread.
Process time is wall clock from Popen to os.wait4, peak memory is ru_maxrss from os.wait4; the fit
time is measured inside (rung's FIT.json `timings.fit_s`, peer.py's report). A run that exceeds
--timeout or whose resident memory (the process and its descendants, polled every 0.2 s) exceeds
--mem-limit-mb is killed and recorded as `timeout` / `memory`, and the benchmark goes on.
Results: the tables on stdout and in OUT/results.md, every measurement in OUT/results.json,
estimates and logs under OUT/runs/. Needs numpy, pandas and scipy (the benchmark's venv).
Exit status: 0, or 2 when rung lacks the `irt` subcommands or a data set cannot be made.
"""

import argparse
import hashlib
import json
import math
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from importlib import metadata

import numpy as np
import pandas as pd
from scipy.stats import rankdata

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SIZES = {"small": (500, 1000), "large": (5000, 12000)}
REAL = "responses/mmlu_pro_tiger.csv"
PEERS = ["mirt", "girth", "py-irt"]
THREAD_VARS = ["OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
               "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "RAYON_NUM_THREADS"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def dist_version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


# ---- running one command ------------------------------------------------------------------

def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tree_rss_kib(pid):
    """Resident KiB of `pid` and its descendants (Linux /proc; 0 when gone)."""
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            continue
    return total


def measure(cmd, log_base, timeout, mem_limit_mb, env=None):
    """Run `cmd` once; {status: ok|error|timeout|memory, seconds, max_rss_mb, rc, ...}."""
    os.makedirs(os.path.dirname(log_base), exist_ok=True)
    out_path, err_path = log_base + ".out", log_base + ".err"
    killed = {}
    with open(out_path, "wb") as so, open(err_path, "wb") as se:
        start = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=so, stderr=se, stdin=subprocess.DEVNULL,
                             start_new_session=True, env=env)
        done = threading.Event()

        def kill(why):
            killed.setdefault("why", why)
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        def watch():
            limit_kib = mem_limit_mb * 1024
            while not done.wait(0.2):
                if time.perf_counter() - start > timeout:
                    kill("timeout")
                    return
                rss = tree_rss_kib(p.pid)
                killed["watched_max_mb"] = max(killed.get("watched_max_mb", 0), rss / 1024)
                if mem_limit_mb and rss > limit_kib:
                    kill("memory")
                    return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
        except BaseException:  # interrupted (Ctrl-C, SIGTERM): the child does not outlive us
            kill("interrupted")
            raise
        finally:
            done.set()
            watcher.join()
        seconds = time.perf_counter() - start
    rc = os.waitstatus_to_exitcode(status)
    p.returncode = rc  # reaped by wait4: keep Popen from waiting again
    if "why" in killed:  # whatever the child left behind in its process group goes too
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return {
        "status": killed.get("why") or ("ok" if rc == 0 else "error"),
        "seconds": seconds,
        # Linux reports ru_maxrss in KiB, macOS in bytes.
        "max_rss_mb": max(ru.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024),
                          killed.get("watched_max_mb", 0)),
        "user_s": ru.ru_utime,
        "sys_s": ru.ru_stime,
        "rc": rc,
        "cmd": shlex.join(cmd),
        "stdout": out_path,
        "stderr": err_path,
    }


def fmt_s(v):
    """Seconds with about three significant digits."""
    for limit, digits in ((100, 0), (10, 1), (1, 2), (0.01, 3)):
        if v >= limit:
            return f"{v:.{digits}f}"
    return f"{v:.4f}"


def tail(path, n=6):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:]).strip()
    except OSError:
        return ""


# ---- rung ---------------------------------------------------------------------------------

def check_rung(rung, need):
    """None when `rung irt <cmd> --help` works for every cmd in need, else the reason."""
    if not (os.path.isfile(rung) and os.access(rung, os.X_OK)):
        return f"{rung} does not exist or is not executable (build it: cargo build --release)"
    for sub in need:
        p = subprocess.run([rung, "irt", sub, "--help"], capture_output=True, text=True)
        if p.returncode != 0:
            first = (p.stderr or p.stdout).strip().splitlines()
            return (f"{rung} lacks the `irt {sub}` command: `{shlex.join([rung, 'irt', sub, '--help'])}` "
                    f"exited {p.returncode}" + (f" ({first[0]})" if first else ""))
    return None


# ---- reading results ----------------------------------------------------------------------

def read_estimates(path):
    """item -> difficulty (float, NaN when empty/unparseable) from a CSV with those columns."""
    df = pd.read_csv(path, dtype={"item": str}, keep_default_na=True)
    d = pd.to_numeric(df["difficulty"], errors="coerce")
    out = pd.Series(d.to_numpy(dtype=float), index=df["item"].astype(str))
    flags = None
    if "flag" in df.columns:
        flags = df["flag"].fillna("").astype(str)
        flags = pd.Series(flags.to_numpy(), index=df["item"].astype(str))
    return out, flags


def item_stats(responses):
    """(items, number observed, number correct) from the wide CSV."""
    df = pd.read_csv(responses, index_col=0, dtype=str, keep_default_na=False, na_filter=False)
    raw = df.to_numpy()
    ones = (raw == "1").sum(axis=0)
    n = ones + (raw == "0").sum(axis=0)
    return [str(c) for c in df.columns], n, ones


def compare(est, ref, keep):
    """Pearson, Spearman, RMSE, bias, OLS slope/intercept of est on ref over `keep` items."""
    e = est.reindex(keep).to_numpy(dtype=float)
    r = ref.reindex(keep).to_numpy(dtype=float)
    ok = np.isfinite(e) & np.isfinite(r)
    e, r = e[ok], r[ok]
    res = {"n": int(ok.sum()), "n_nonfinite": int((~ok).sum())}
    if len(e) < 3 or np.std(e) == 0 or np.std(r) == 0:
        return res
    d = e - r
    slope, intercept = np.polyfit(r, e, 1)
    res.update({
        "pearson": float(np.corrcoef(e, r)[0, 1]),
        "spearman": float(np.corrcoef(rankdata(e), rankdata(r))[0, 1]),
        "rmse": float(np.sqrt(np.mean(d * d))),
        "bias": float(np.mean(d)),
        "slope": float(slope),
        "intercept": float(intercept),
    })
    return res


# ---- the benchmark ------------------------------------------------------------------------

class Bench:
    def __init__(self, a):
        self.a = a
        self.out = os.path.abspath(a.out)
        self.cases = []  # one dict per (model, data set) with its runs
        self.peer = os.path.join(HERE, "peer.py")
        self.versions = {t: dist_version(t) for t in PEERS}
        self.previous = {}
        prev = os.path.join(self.out, "results.json")
        if a.reuse and os.path.isfile(prev):
            with open(prev) as f:
                for c in json.load(f).get("cases", []):
                    for tool, r in c["runs"].items():
                        self.previous[(r.get("cmd"), tool)] = r

    def tools(self):
        out = []
        for t in self.a.tools:
            if t == "rung":
                out += [f"rung-t{n}" for n in self.a.rung_threads]
            else:
                out.append(t)
        return out

    def label(self, tool):
        if tool.startswith("rung-t"):
            n = int(tool[6:])
            return f"rung ({n} thread{'s' if n > 1 else ''})"
        return {"mirt": f"mirt {self.versions['mirt']} (MML-EM)",
                "girth": f"girth {self.versions['girth']} (MML)",
                "py-irt": f"py-irt {self.versions['py-irt']} (VI, {self.a.epochs} epochs)"}[tool]

    def peer_env(self):
        env = dict(os.environ)
        for v in THREAD_VARS:
            env[v] = "1"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["CUDA_VISIBLE_DEVICES"] = ""  # CPU only, like rung here
        return env

    # -- data sets

    def datasets(self):
        """[(fit model, data set dict)] in run order: small simulated, real, large simulated."""
        a, order = self.a, []
        for size in [s for s in ("small", "large") if s in a.sizes]:
            for model in a.models:
                for miss in a.missing:
                    subj, items = SIZES[size]
                    name = f"sim-{model}-{subj}x{items}-miss{round(miss * 100)}"
                    order.append((model, {"name": name, "kind": "sim", "model": model,
                                          "subjects": subj, "items": items, "missing": miss,
                                          "size": size}))
            if size == "small" and a.real:
                order += self.real_sets()
        if a.real and "small" not in a.sizes:
            order = self.real_sets() + order
        return order

    def real_sets(self):
        path = os.path.join(self.a.data_root, REAL)
        return [(m, {"name": "mmlu_pro_tiger", "kind": "real", "path": path}) for m in self.a.models]

    def make_data(self, ds):
        if ds["kind"] == "real":
            if not os.path.isfile(ds["path"]):
                raise SystemExit(f"error: the real matrix {ds['path']} is missing "
                                 "(set DATA_ROOT / --data-root)")
            ds["responses"] = ds["path"]
            ds["truth"] = None
        else:
            d = os.path.join(self.out, "data", ds["name"])
            os.makedirs(d, exist_ok=True)
            ds["responses"] = os.path.join(d, "responses.csv")
            ds["truth"] = os.path.join(d, "items_truth.csv")
            cmd = [self.a.rung, "irt", "simulate", "--subjects", str(ds["subjects"]),
                   "--items", str(ds["items"]), "--model", ds["model"],
                   "--missing", repr(ds["missing"]), "--seed", str(self.a.seed),
                   "-o", ds["responses"], "--truth", ds["truth"]]
            stamp = os.path.join(d, "command.txt")
            made_by = f"{shlex.join(cmd)}\nrung sha256 {sha256(self.a.rung)}\n"
            if not (os.path.isfile(stamp) and open(stamp).read() == made_by
                    and os.path.isfile(ds["responses"]) and os.path.isfile(ds["truth"])):
                log(f"== simulate {ds['name']}")
                res = measure(cmd, os.path.join(d, "simulate"), self.a.timeout, 0)
                if res["status"] != "ok":
                    raise SystemExit(f"error: `{res['cmd']}` failed ({res['status']}, rc "
                                     f"{res['rc']}):\n{tail(res['stderr'])}")
                with open(stamp, "w") as f:
                    f.write(made_by)
        ds["sha256"] = sha256(ds["responses"])
        items, n, ones = item_stats(ds["responses"])
        ds["n_subjects"] = None
        with open(ds["responses"]) as f:
            ds["n_subjects"] = sum(1 for line in f if line.strip()) - 1
        ds["n_items"] = len(items)
        ds["all_correct"] = [i for i, k, o in zip(items, n, ones) if k > 0 and o == k]
        ds["all_wrong"] = [i for i, k, o in zip(items, n, ones) if k > 0 and o == 0]
        ds["unobserved"] = [i for i, k in zip(items, n) if k == 0]
        ds["items_list"] = items
        ds["n_missing_cells"] = int(ds["n_subjects"] * len(items) - int(np.sum(n)))

    def jsonl(self, ds):
        if "jsonl" not in ds:
            d = os.path.join(self.out, "data", ds["name"])
            os.makedirs(d, exist_ok=True)
            ds["jsonl"] = os.path.join(d, "responses.jsonl")
            src_m = os.path.getmtime(ds["responses"])
            if not (os.path.isfile(ds["jsonl"]) and os.path.getmtime(ds["jsonl"]) >= src_m):
                log(f"== py-irt input: {ds['jsonl']}")
                subprocess.run([self.a.python, self.peer, "to-jsonl", ds["responses"],
                                ds["jsonl"]], check=True, env=self.peer_env())
        return ds["jsonl"]

    # -- one run

    def run_tool(self, model, ds, tool):
        case_id = ds["name"] if ds["kind"] == "sim" else f"{model}-{ds['name']}"
        d = os.path.join(self.out, "runs", case_id, tool)
        os.makedirs(d, exist_ok=True)
        est = os.path.join(d, "estimates.csv")
        rep = os.path.join(d, "report.json")
        for p in (est, rep):
            if os.path.exists(p):
                if self.a.reuse:  # kept for a measurement that is reused, dropped otherwise
                    os.replace(p, p + ".kept")
                else:
                    os.remove(p)
        if tool.startswith("rung-t"):
            cmd = [self.a.rung, "irt", "fit", ds["responses"], "--model", model, "--method", "mml",
                   "--threads", tool[6:], "-o", est, "--report", rep]
            env = None
        else:
            cmd = [self.a.python, self.peer, "fit", tool, "--model", model,
                   "--responses", ds["responses"], "--out", est, "--report", rep,
                   "--seed", str(self.a.seed), "--epochs", str(self.a.epochs),
                   "--mirt-se", self.a.mirt_se]
            if tool == "mirt" and self.a.mirt_quadpts:
                cmd += ["--mirt-quadpts", str(self.a.mirt_quadpts)]
            if tool == "py-irt":
                cmd += ["--jsonl", self.jsonl(ds)]
            env = self.peer_env()
        prev = self.previous.get((shlex.join(cmd), tool))
        if prev and prev.get("data_sha256") == ds["sha256"] and prev["status"] in (
                "ok", "timeout", "memory") and (
                prev["status"] != "ok" or os.path.isfile(est + ".kept")):
            for p in (est, rep):
                if prev["status"] == "ok" and os.path.exists(p + ".kept"):
                    os.replace(p + ".kept", p)
            res = {k: v for k, v in prev.items()
                   if k not in ("report", "fit_s", "read_s", "metrics")}
            res["reused"] = True
        else:
            res = measure(cmd, os.path.join(d, "log"), self.a.timeout, self.a.mem_limit_mb, env)
        res.update({"tool": tool, "estimates": est, "report_path": rep,
                    "data_sha256": ds["sha256"]})
        for p in (est, rep):
            if os.path.exists(p + ".kept"):
                os.remove(p + ".kept")
        if res["status"] == "ok":
            try:
                with open(rep) as f:
                    res["report"] = json.load(f)
                res["fit_s"] = res["report"]["timings"]["fit_s"]
                res["read_s"] = res["report"]["timings"].get("read_s")
            except (OSError, ValueError, KeyError, TypeError) as e:
                res["report_error"] = f"{rep}: {e}"
            try:
                res["difficulty"], res["flags"] = read_estimates(est)
            except (OSError, ValueError, KeyError) as e:
                res["status"] = "error"
                res["estimates_error"] = f"{est}: {e}"
        return res

    def run(self):
        todo = self.datasets()
        tools = self.tools()
        total, k = len(todo) * len(tools), 0
        for model, ds in todo:
            if "responses" not in ds:
                self.make_data(ds)
            case = {"model": model, "dataset": ds, "runs": {}}
            self.cases.append(case)
            for tool in tools:
                k += 1
                log(f"[{k}/{total}] {model} {ds['name']}: {tool} ...")
                r = self.run_tool(model, ds, tool)
                case["runs"][tool] = r
                fit = f", fit {fmt_s(r['fit_s'])} s" if r.get("fit_s") is not None else ""
                log(f"        {r['status']}{' (reused)' if r.get('reused') else ''}: "
                    f"{fmt_s(r['seconds'])} s{fit}, {r['max_rss_mb']:.0f} MB"
                    + ("" if r["status"] == "ok" else f"  (log: {r['stderr']})"))
                self.score(case)
                self.write_json()
        self.write_md()

    # -- metrics

    def reference(self, case):
        for t in ["rung-t1"] + [f"rung-t{n}" for n in self.a.rung_threads] + PEERS:
            r = case["runs"].get(t)
            if r and r["status"] == "ok" and "difficulty" in r:
                return t
        return None

    def score(self, case):
        ds = case["dataset"]
        excluded = set(ds["all_correct"]) | set(ds["all_wrong"]) | set(ds["unobserved"])
        keep = [i for i in ds["items_list"] if i not in excluded]
        if ds["kind"] == "sim":
            truth = pd.read_csv(ds["truth"], dtype={"item": str})
            ref = pd.Series(truth["difficulty"].to_numpy(dtype=float),
                            index=truth["item"].astype(str))
            case["reference"] = "truth"
        else:
            case["reference"] = self.reference(case)
            ref = case["runs"][case["reference"]]["difficulty"] if case["reference"] else None
        for tool, r in case["runs"].items():
            if "difficulty" in r and ref is not None:
                r["metrics"] = compare(r["difficulty"], ref, keep)

    # -- output

    def cell_time(self, r, key):
        if r is None:
            return "—"
        if r["status"] == "timeout":
            return f">{self.a.timeout:.0f}" if key == "seconds" else "timeout"
        if r["status"] == "memory":
            return f"killed at {self.a.mem_limit_mb} MB" if key == "seconds" else "memory"
        if r["status"] != "ok":
            return f"error (rc {r['rc']})" if key == "seconds" else "—"
        v = r.get(key)
        return "—" if v is None else fmt_s(v)

    def ratio(self, r, base, key):
        if r is None or base is None or base["status"] != "ok" or base.get(key) in (None, 0):
            return "—"
        if r["status"] == "timeout" and key == "seconds":
            return f">{r['seconds'] / base[key]:.0f}x"
        if r["status"] != "ok" or r.get(key) is None:
            return "—"
        q = r[key] / base[key]
        return f"{q:.2f}x" if q < 10 else f"{q:.0f}x"

    def table(self, case):
        ds, model = case["dataset"], case["model"]
        runs = case["runs"]
        base = runs.get("rung-t1")
        base_name = "rung 1t"
        if ds["kind"] == "sim":
            title = (f"### {model.upper()}, simulated {ds['subjects']:,} x {ds['items']:,}, "
                     f"{round(ds['missing'] * 100)}% missing")
            head = ["tool", "fit s", "process s", "peak MB", "r", "RMSE", "bias", "slope",
                    f"fit / {base_name}", f"process / {base_name}"]
            mkeys = ["pearson", "rmse", "bias", "slope"]
        else:
            title = (f"### {model.upper()}, real matrix {os.path.basename(ds['responses'])} "
                     f"({ds['n_subjects']} x {ds['n_items']:,})")
            ref = case.get("reference")
            vs = self.label(ref) if ref else "—"
            head = ["tool", "fit s", "process s", "peak MB", f"Pearson r vs {vs}",
                    "Spearman ρ", "slope", "intercept", f"fit / {base_name}",
                    f"process / {base_name}"]
            mkeys = ["pearson", "spearman", "slope", "intercept"]
        lines = [title, "", "| " + " | ".join(head) + " |",
                 "|" + "|".join(["---"] + ["--:"] * (len(head) - 1)) + "|"]
        for tool in self.tools():
            r = runs.get(tool)
            m = (r or {}).get("metrics", {})
            if r is None:
                mb = "—"
            elif r["status"] in ("timeout", "memory"):
                mb = f">={r['max_rss_mb']:.0f}"
            else:
                mb = f"{r['max_rss_mb']:.0f}"
            cells = [self.label(tool), self.cell_time(r, "fit_s"), self.cell_time(r, "seconds"), mb]
            for k in mkeys:
                v = m.get(k)
                if tool == case.get("reference"):
                    cells.append("(reference)")
                    continue
                cells.append("—" if v is None else (f"{v:.4f}" if k in ("pearson", "spearman")
                                                     else f"{v:+.3f}" if k in ("bias", "intercept")
                                                     else f"{v:.3f}"))
            cells += [self.ratio(r, base, "fit_s"), self.ratio(r, base, "seconds")]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        lines += self.notes(case)
        return "\n".join(lines)

    def notes(self, case):
        ds, out = case["dataset"], []
        ex = len(ds["all_correct"]) + len(ds["all_wrong"]) + len(ds["unobserved"])
        used = [r["metrics"]["n"] for r in case["runs"].values() if r.get("metrics")]
        what = "the truth" if ds["kind"] == "sim" else f"{self.label(case['reference'])}" \
            if case.get("reference") else "—"
        out.append(f"Compared with {what} over {max(used) if used else 0:,} items; excluded "
                   f"{ex:,}: {len(ds['all_correct']):,} all-correct, {len(ds['all_wrong']):,} "
                   f"all-wrong, {len(ds['unobserved']):,} never observed (counted from the data); "
                   f"{ds['n_missing_cells']:,} missing cells.")
        for tool, r in case["runs"].items():
            rep = r.get("report") or {}
            bits = []
            if r.get("flags") is not None:
                vc = r["flags"][r["flags"] != ""].value_counts()
                if len(vc):
                    bits.append("flags " + ", ".join(f"{k} {v}" for k, v in vc.items()))
            if r.get("metrics", {}).get("n_nonfinite"):
                bits.append(f"{r['metrics']['n_nonfinite']} non-finite estimates left out")
            if tool.startswith("rung-t") and rep.get("iterations") is not None:
                bits.append(f"{rep.get('iterations')} iterations, converged "
                            f"{rep.get('converged')}"
                            + (f", identification: {rep['identification']}"
                               if rep.get("identification") else ""))
            if tool == "mirt" and rep:
                bits.append(f"{rep.get('n_iterations')} EM iterations, converged "
                            f"{rep.get('converged')}, SE {rep.get('se_method')}")
            if tool == "py-irt" and rep:
                bits.append(f"{rep.get('epochs')} epochs, best loss {rep.get('loss_best'):.1f} at "
                            f"epoch {rep.get('loss_best_epoch')}, last {rep.get('loss_last'):.1f}"
                            if rep.get("loss_best") is not None else f"{rep.get('epochs')} epochs")
            if r["status"] == "error":
                msg = r.get("estimates_error") or tail(r["stderr"], 1)
                bits.append(f"failed: {msg} (log {os.path.relpath(r['stderr'], self.out)})")
            if r.get("report_error"):
                bits.append(r["report_error"])
            if bits:
                out.append(f"{self.label(tool)}: " + "; ".join(bits) + ".")
        reused = [self.label(t) for t, r in case["runs"].items() if r.get("reused")]
        if reused:
            out.append("Measured by an earlier run (--reuse): " + ", ".join(reused) + ".")
        out.append("")
        return [f"- {line}" if line else "" for line in out]

    def header(self):
        a = self.a
        rung_v = "—"
        try:
            rung_v = subprocess.run([a.rung, "--version"], capture_output=True, text=True,
                                    timeout=30).stdout.strip() or "—"
        except (OSError, subprocess.SubprocessError):
            pass
        return "\n".join([
            "# IRT benchmark: rung irt fit vs Python IRT packages",
            "",
            f"- machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}",
            f"- rung: `{getattr(a, 'rung_source', a.rung)}` ({rung_v}; run from a copy, "
            f"`{a.rung}`), `irt fit --method mml` with its defaults, --threads "
            + ", ".join(str(n) for n in a.rung_threads),
            f"- peers (one thread each): mirt {self.versions['mirt']} (Python, EM, "
            f"{a.mirt_quadpts or 'default 21'} quadrature points, SE {a.mirt_se}), girth {self.versions['girth']}, py-irt {self.versions['py-irt']} "
            f"({a.epochs} epochs), torch {dist_version('torch')}, pyro-ppl {dist_version('pyro-ppl')}",
            f"- limits per run: {a.timeout:.0f} s, {a.mem_limit_mb} MB resident; seed {a.seed}",
            "- fit s: inside the process (rung's FIT.json timings.fit_s; peer.py around the fit "
            "call); process s and peak MB: the whole process (wait4). r, RMSE, bias (mean of "
            "estimate - truth) and slope (OLS of estimate on truth) are on difficulties, raw "
            "(each tool's own scale); ratios are time / rung's 1-thread time.",
            "",
        ])

    def write_md(self):
        text = self.header() + "\n" + "\n".join(self.table(c) for c in self.cases)
        print(text)
        with open(os.path.join(self.out, "results.md"), "w") as f:
            f.write(text)
        log(f"== wrote {os.path.join(self.out, 'results.md')} and results.json")

    def write_json(self):
        def clean(r):
            return {k: v for k, v in r.items() if k not in ("difficulty", "flags")}

        data = {
            "args": {k: v for k, v in vars(self.a).items()},
            "versions": self.versions,
            "cases": [{
                "model": c["model"],
                "dataset": {k: v for k, v in c["dataset"].items()
                            if k not in ("items_list", "all_correct", "all_wrong", "unobserved")}
                | {"n_all_correct": len(c["dataset"]["all_correct"]),
                   "n_all_wrong": len(c["dataset"]["all_wrong"]),
                   "n_unobserved": len(c["dataset"]["unobserved"])},
                "reference": c.get("reference"),
                "runs": {t: clean(r) for t, r in c["runs"].items()},
            } for c in self.cases],
        }
        os.makedirs(self.out, exist_ok=True)
        tmp = os.path.join(self.out, "results.json.tmp")
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1, default=lambda o: None if isinstance(o, float)
                      and not math.isfinite(o) else str(o))
        os.replace(tmp, os.path.join(self.out, "results.json"))


def csv_list(s, conv=str):
    return [conv(x) for x in s.split(",") if x.strip() and x.strip() != "none"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rung", default=os.path.join(ROOT, "target", "release", "rung"))
    ap.add_argument("--python", default=sys.executable, help="python with the peers installed")
    ap.add_argument("--out", default=os.path.join(ROOT, "target", "bench-irt"))
    ap.add_argument("--data-root", default=os.environ.get("DATA_ROOT")
                    or os.environ.get("RUNG_DATA_ROOT") or os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--quick", action="store_true", help="only the small sizes and the real matrix")
    ap.add_argument("--sizes", type=csv_list, default=["small", "large"],
                    help="small (500 x 1,000), large (5,000 x 12,000), or none")
    ap.add_argument("--models", type=csv_list, default=["1pl", "2pl"])
    ap.add_argument("--missing", type=lambda s: csv_list(s, float), default=[0.0, 0.2])
    ap.add_argument("--real", dest="real", action="store_true", default=True)
    ap.add_argument("--no-real", dest="real", action="store_false")
    ap.add_argument("--tools", type=csv_list, default=["rung"] + PEERS)
    ap.add_argument("--rung-threads", type=lambda s: csv_list(s, int), default=[1, 2])
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--mem-limit-mb", type=int, default=12288)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=2000, help="py-irt epochs (its default)")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse the measurements in OUT/results.json whose command is unchanged "
                         "(those that finished, timed out or hit the memory limit); rerun the rest")
    ap.add_argument("--mirt-quadpts", type=int, default=None,
                    help="mirt's quadrature points (default: its own, 21)")
    ap.add_argument("--mirt-se", default="complete_data",
                    choices=["auto", "oakes", "crossprod", "sandwich", "complete_data", "none"])
    a = ap.parse_args()
    if a.quick:
        a.sizes = [s for s in a.sizes if s == "small"]
    for s in a.sizes:
        if s not in SIZES:
            ap.error(f"unknown size {s!r} (small, large, none)")
    for m in a.models:
        if m not in ("1pl", "2pl"):
            ap.error(f"unknown model {m!r}")
    for t in a.tools:
        if t not in ["rung"] + PEERS:
            ap.error(f"unknown tool {t!r} (rung, {', '.join(PEERS)})")
    a.rung = os.path.abspath(a.rung)
    a.python = os.path.abspath(a.python)
    a.data_root = os.path.abspath(a.data_root)

    need = (["simulate"] if a.sizes else []) + (["fit"] if "rung" in a.tools else [])
    if need:
        why = check_rung(a.rung, need)
        if why:
            log(f"error: {why}.\n"
                "The benchmark needs `rung irt simulate` for the simulated data and `rung irt fit` "
                "for rung's runs. Build a rung that has them (cargo build --release), or run only "
                "the peers on the real matrix: --tools mirt,girth,py-irt --sizes none.")
            sys.exit(2)
    os.makedirs(a.out, exist_ok=True)
    if os.path.isfile(a.rung):
        # Run one binary throughout, even if target/release/rung is rebuilt meanwhile.
        snap = os.path.join(os.path.abspath(a.out), "rung")
        if os.path.abspath(snap) != a.rung:
            shutil.copy2(a.rung, snap)
            a.rung_source, a.rung = a.rung, snap
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    Bench(a).run()


if __name__ == "__main__":
    main()
