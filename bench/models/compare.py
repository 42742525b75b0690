#!/usr/bin/env python3
"""Read the JSON lines of rung's `throughput` example and of peer.py; print a Markdown table.

    compare.py --runs target/bench-models/runs [--out target/bench-models] [--gguf PATH]
               [--rung PATH] [--prompt-tokens 512] [--new-tokens 32] [--repeats 2] [--wall-s S]

RUNS holds what bench/models/run.sh wrote for each process, named TOOL-DTYPE-tTHREADS with TOOL
rung or pytorch: NAME.jsonl (one JSON object per batch size: tool, batch, threads, dtype,
prefill_tokens_per_s, decode_tokens_per_s, and from peer.py more), NAME.err (its stderr), NAME.rc
(its exit status), NAME.time (the process's wall, user and system seconds), NAME.busy (the
cores other processes kept busy just before it) and NAME.stat (/proc/stat's `cpu` line before and
after it: with NAME.time, the cores other processes kept busy during it). One row per (dtype, threads, batch): each tool's
prefill and decode tokens per second and rung / PyTorch (above 1: rung is faster). The table
goes to stdout and OUT/results.md, everything read to OUT/results.json. Plain Python 3.
"""

import argparse
import datetime
import glob
import json
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOOLS = ("rung", "pytorch")
# SmolLM2-135M's parameters (the tied embedding once); used when peer.py did not report its own.
PARAMETERS = 134_515_008
BYTES = {"f32": 4, "bf16": 2}
# Cores kept busy by other processes above which a run is marked unreliable.
BUSY = 0.2


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def read_process(path_jsonl):
    """{name, tool, dtype, threads, rc, wall_s, user_s, sys_s, records, errors} of one run."""
    base = path_jsonl[: -len(".jsonl")]
    name = os.path.basename(base)
    tool, dtype, threads = name.rsplit("-", 2)
    proc = {"name": name, "tool": tool, "dtype": dtype, "threads": int(threads.lstrip("t")),
            "records": [], "errors": [], "stderr": base + ".err"}
    rc = read_text(base + ".rc")
    proc["rc"] = int(rc) if rc and rc.strip().lstrip("-").isdigit() else None
    try:
        proc["busy_cores_before"] = float(read_text(base + ".busy") or "")
    except ValueError:
        pass
    times = (read_text(base + ".time") or "").split()
    if len(times) >= 3:
        try:
            proc["wall_s"], proc["user_s"], proc["sys_s"] = (float(t) for t in times[-3:])
        except ValueError:
            pass
    others = other_cores(read_text(base + ".stat"), proc)
    if others is not None:
        proc["busy_cores_during"] = others
    for k, line in enumerate((read_text(path_jsonl) or "").splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        try:
            rec = json.loads(line)
            rec["dtype"] = str(rec["dtype"]).lower()
            rec["batch"], rec["threads"] = int(rec["batch"]), int(rec["threads"])
            proc["records"].append(rec)
        except (ValueError, KeyError, TypeError) as e:
            proc["errors"].append(f"{os.path.basename(path_jsonl)} line {k}: {e}: {line[:120]}")
    return proc


def other_cores(stat, proc):
    """Cores kept busy by other processes while the run ran, on average: the machine's non-idle
    CPU time between the two `cpu` lines of /proc/stat, less the run's own user + system time,
    over its wall time. None without the data."""
    lines = [l.split() for l in (stat or "").splitlines() if l.startswith("cpu ")]
    if len(lines) != 2 or not proc.get("wall_s"):
        return None
    try:
        before, after = ([int(v) for v in l[1:9]] for l in lines)
    except ValueError:
        return None
    delta = [b - a for a, b in zip(before, after)]
    busy_s = (sum(delta) - delta[3] - delta[4]) / os.sysconf("SC_CLK_TCK")  # less idle, iowait
    return max(0.0, busy_s - proc["user_s"] - proc["sys_s"]) / proc["wall_s"]


def last_line(path):
    lines = [l for l in (read_text(path) or "").splitlines() if l.strip()]
    return lines[-1].strip() if lines else ""


def rate(v):
    return "—" if v is None else f"{v:,.1f}" if v < 1000 else f"{v:,.0f}"


def ratio(a, b):
    if a is None or b in (None, 0):
        return "—"
    return f"{a / b:.2f}x"


def shown_path(path):
    """`path` relative to the repository when inside it, else as given."""
    inside = os.path.isabs(path) and os.path.commonpath([path, ROOT]) == ROOT
    return os.path.relpath(path, ROOT) if inside else path


def git_commit():
    try:
        return subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                              capture_output=True, text=True, timeout=30).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def cpu_model():
    for line in (read_text("/proc/cpuinfo") or "").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def memory_gib():
    for line in (read_text("/proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 2**20:.0f} GiB"
    return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", default=os.path.join(ROOT, "target", "bench-models", "runs"))
    ap.add_argument("--out", default=None, help="default: the parent of --runs")
    ap.add_argument("--gguf", default="?")
    ap.add_argument("--rung", default="?", help="the throughput binary that was run")
    ap.add_argument("--prompt-tokens", type=int, default=None)
    ap.add_argument("--new-tokens", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--wall-s", type=float, default=None, help="the whole benchmark's seconds")
    a = ap.parse_args()
    out = os.path.abspath(a.out or os.path.dirname(os.path.abspath(a.runs)))

    paths = sorted(glob.glob(os.path.join(a.runs, "*.jsonl")))
    if not paths:
        log(f"error: no runs (*.jsonl) in {a.runs}; bench/models/run.sh writes them")
        sys.exit(2)
    procs = [read_process(p) for p in paths]

    # (dtype, threads, batch) -> tool -> record; a process's configuration even without records.
    rows, configs = {}, set()
    for p in procs:
        configs.add((p["dtype"], p["threads"]))
        for r in p["records"]:
            rows.setdefault((r["dtype"], r["threads"], r["batch"]), {})[r["tool"]] = r
    by_name = {(p["tool"], p["dtype"], p["threads"]): p for p in procs}

    peer = next((r for t in rows.values() for r in [t.get("pytorch")] if r), {})
    versions = (f"torch {peer.get('torch', '?')}, transformers {peer.get('transformers', '?')}"
                if peer else "—")
    sizes = (f"{a.prompt_tokens}-token prompt, {a.new_tokens} new tokens, best of {a.repeats}"
             if a.prompt_tokens else "")
    wall = f", {a.wall_s / 60:.1f} min for the whole run" if a.wall_s is not None else ""
    lines = [
        "# Inference throughput: rung vs PyTorch + transformers (CPU)",
        "",
        f"- {datetime.date.today().isoformat()}; machine: {os.cpu_count()} cores ({cpu_model()}), "
        f"{memory_gib()}, {platform.system()} {platform.machine()}{wall}",
        f"- model: `{os.path.basename(a.gguf)}` dequantized to the dtype below by each tool; "
        f"{sizes}",
        f"- rung: `{shown_path(a.rung)}` "
        f"(release build, commit {git_commit()}); PyTorch: bench/models/peer.py, {versions}",
        "- tok/s: prefill = batch x prompt tokens / seconds of one forward pass (with the "
        "last position's logits and argmax); decode = batch x new tokens / seconds of the "
        "greedy steps with the KV cache. rung / PyTorch above 1x: rung is faster.",
        "",
    ]
    head = ["configuration", "rung prefill tok/s", "PyTorch prefill tok/s", "rung / PyTorch",
            "rung decode tok/s", "PyTorch decode tok/s", "rung / PyTorch"]
    lines += ["| " + " | ".join(head) + " |", "|---" + "|--:" * (len(head) - 1) + "|"]
    keys = sorted(set(rows) | {(d, t, None) for d, t in configs if not any(
        k[:2] == (d, t) for k in rows)}, key=lambda k: (k[0] != "f32", k[0], k[1], k[2] or 0))
    table = []
    for dtype, threads, batch in keys:
        tools = rows.get((dtype, threads, batch), {})
        cells = [f"{dtype}, {threads} thread{'s' if threads > 1 else ''}"
                 + (f", batch {batch}" if batch else "")]
        entry = {"dtype": dtype, "threads": threads, "batch": batch}
        for what in ("prefill", "decode"):
            values = []
            for tool in TOOLS:
                r = tools.get(tool)
                v = r.get(f"{what}_tokens_per_s") if r else None
                values.append(v)
                proc = by_name.get((tool, dtype, threads))
                if v is None and proc and proc["rc"] not in (0, None):
                    cells.append(f"failed (rc {proc['rc']})")
                else:
                    cells.append(rate(v))
                entry[f"{tool}_{what}_tokens_per_s"] = v
            cells.append(ratio(*values))
            entry[f"{what}_ratio"] = (values[0] / values[1]
                                      if None not in values and values[1] else None)
        lines.append("| " + " | ".join(cells) + " |")
        table.append(entry)
    lines.append("")

    # Notes: how many cores each process kept busy, what torch reports, implied bandwidth.
    notes = []
    for p in procs:
        bits = []
        if p.get("wall_s"):
            bits.append(f"process {p['wall_s']:.1f} s wall, {p['user_s'] + p['sys_s']:.1f} s "
                        f"CPU ({(p['user_s'] + p['sys_s']) / p['wall_s']:.2f} cores busy on "
                        "average, loading included)")
        before, during = p.get("busy_cores_before", 0), p.get("busy_cores_during", 0)
        if max(before, during) > BUSY:
            bits.append(f"**other processes kept {before:.2f} cores busy just before this run "
                        f"and {during:.2f} during it: its timings are not reliable**")
        elif "busy_cores_during" in p:
            bits.append(f"other processes: {during:.2f} cores busy during the run")
        if p["rc"] not in (0, None):
            bits.append(f"FAILED with exit status {p['rc']}: {last_line(p['stderr'])} "
                        f"(log {os.path.relpath(p['stderr'], out)})")
        bits += p["errors"]
        recs = p["records"]
        if p["tool"] == "pytorch" and recs:
            r = recs[0]
            bits.append(f"torch.get_num_threads() {r.get('torch_threads')}, interop "
                        f"{r.get('torch_interop_threads')}, attention "
                        f"{r.get('attention', '?')}, load {r.get('load_s', '?')} s")
            bits.append("CPU s per wall s in the timed sections: "
                        + ", ".join(f"batch {x['batch']}: prefill {x.get('prefill_cpu_per_wall')}"
                                    f", decode {x.get('decode_cpu_per_wall')}" for x in recs))
        notes.append(f"{p['name']}: " + "; ".join(bits) + ".")
    for dtype, threads, batch in keys:
        if batch != 1:
            continue
        tools = rows[(dtype, threads, batch)]
        weight_bytes = (tools.get("pytorch") or {}).get("weight_bytes") \
            or PARAMETERS * BYTES.get(dtype, 4)
        rates = [(t, (tools.get(t) or {}).get("decode_tokens_per_s")) for t in TOOLS]
        shown = ", ".join(f"{'PyTorch' if t == 'pytorch' else t} {v * weight_bytes / 1e9:.1f} GB/s"
                          for t, v in rates if v)
        if shown:
            notes.append(f"{dtype}, {threads} threads, batch 1 decode reads the weights once per "
                         f"token ({weight_bytes / 1e9:.2f} GB): {shown} of weights.")
    lines += [f"- {n}" for n in notes] + [""]

    text = "\n".join(lines)
    print(text)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(text)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({
            "date": datetime.date.today().isoformat(),
            "machine": {"cores": os.cpu_count(), "cpu": cpu_model(), "memory": memory_gib(),
                        "system": f"{platform.system()} {platform.machine()}"},
            "commit": git_commit(),
            "args": vars(a),
            "table": table,
            "processes": procs,
        }, f, indent=1)
    log(f"== wrote {os.path.join(out, 'results.md')} and results.json")
    noisy = [p["name"] for p in procs
             if max(p.get("busy_cores_before", 0), p.get("busy_cores_during", 0)) > BUSY]
    if noisy:
        log(f"warning: other processes competed for the cores during {', '.join(noisy)}: "
            "those numbers are not reliable; run again on an idle machine")
    sys.exit(1 if any(p["rc"] not in (0, None) or p["errors"] for p in procs) else 0)


if __name__ == "__main__":
    main()
