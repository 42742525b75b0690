#!/usr/bin/env python3
"""Time rung and Snakemake side by side on the grid of gen.py; print a Markdown table.

    compare.py --rung target/release/rung-bench --snakemake target/bench-venv/bin/snakemake \\
               [--sizes small,medium,large] [--timeout 900] [--skip-snakemake-run-above N] \\
               [--out target/bench-grid] [--jobs 2] [--repeat 1] [--default-scheduler-sizes small] \\
               [--engines rung,snakemake] [--snakemake-spawn]

For each size and each engine, from a fresh directory: fresh plan, full run, no-op rerun (must run
0 nodes), edit rerun (cell d0/m0's lr changes; must run exactly 111 nodes: 10 train, 100 eval,
1 report). Each measured command is one child process: its wall time (perf_counter around
Popen .. wait4) and its peak RSS (ru_maxrss from os.wait4: the largest resident set of the
process or any of its waited-for descendants). Results: the table on stdout and in
OUT/results.md, everything in OUT/results.json, each command's output in OUT/logs/.
Exit status 1 when a correctness check failed (node counts), 0 otherwise.
Python 3 standard library only.
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ next to gen.py
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402

OPS = ["plan", "run", "noop", "edit"]
OP_LABEL = {
    "plan": "fresh plan",
    "run": "full run",
    "noop": "no-op rerun",
    "edit": f"edit rerun ({gen.EDIT_RERUNS} nodes)",
    "run_default": "full run, Snakemake default scheduler",
}


class Bench:
    def __init__(self, args):
        self.a = args
        self.out = os.path.abspath(args.out)
        self.rows = []  # one dict per (size, op, engine)
        self.failures = []  # correctness checks that failed

    # ---- running one command -------------------------------------------------------------

    def measure(self, cmd, cwd, log_base, stdout_null=False):
        """Run `cmd` once; returns {status, seconds, max_rss_mb, rc, stdout, stderr}."""
        os.makedirs(os.path.dirname(log_base), exist_ok=True)
        out_path, err_path = log_base + ".out", log_base + ".err"
        timed_out = threading.Event()
        with open(os.devnull if stdout_null else out_path, "wb") as so, open(err_path, "wb") as se:
            start = time.perf_counter()
            p = subprocess.Popen(cmd, cwd=cwd, stdout=so, stderr=se, stdin=subprocess.DEVNULL,
                                 start_new_session=True)

            def kill():
                timed_out.set()
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

            timer = threading.Timer(self.a.timeout, kill)
            timer.start()
            try:
                _, status, ru = os.wait4(p.pid, 0)
            finally:
                timer.cancel()
            seconds = time.perf_counter() - start
        rc = os.waitstatus_to_exitcode(status)
        p.returncode = rc  # reaped by wait4: keep Popen from waiting again
        if timed_out.is_set():
            # Whatever the child left behind in its process group goes too.
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        res = {
            "status": "timeout" if timed_out.is_set() else ("ok" if rc == 0 else "error"),
            "seconds": seconds,
            # Linux reports ru_maxrss in KiB, macOS in bytes.
            "max_rss_mb": ru.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024),
            "user_s": ru.ru_utime,
            "sys_s": ru.ru_stime,
            "rc": rc,
            "stdout": None if stdout_null else out_path,
            "stderr": err_path,
        }
        return res

    def measure_repeated(self, cmd, cwd, log_base, n, before=None, stdout_null=False):
        """`n` runs (calling `before` first each time): median time, largest peak RSS."""
        runs = []
        for i in range(n):
            if before:
                before()
            r = self.measure(cmd, cwd, log_base if n == 1 else f"{log_base}.{i}", stdout_null)
            runs.append(r)
            if r["status"] != "ok":
                return r
        best = dict(runs[-1])
        best["seconds"] = statistics.median(r["seconds"] for r in runs)
        best["max_rss_mb"] = max(r["max_rss_mb"] for r in runs)
        best["runs"] = [r["seconds"] for r in runs]
        return best

    # ---- bookkeeping ---------------------------------------------------------------------

    def record(self, size, nodes, op, engine, res, count=None, expect=None, what="nodes"):
        row = {"size": size, "nodes": nodes, "op": op, "engine": engine, "count": count}
        row.update({k: v for k, v in res.items() if k not in ("stdout",)})
        if res["status"] == "ok" and expect is not None and count != expect:
            msg = (f"CHECK FAILED: {size} {engine} {OP_LABEL[op]}: expected {expect} {what}, "
                   f"got {count} (log: {res['stderr']})")
            self.failures.append(msg)
            row["check"] = "failed"
            print(msg, file=sys.stderr)
        elif res["status"] == "error":
            msg = (f"COMMAND FAILED: {size} {engine} {OP_LABEL[op]}: exit status {res['rc']} "
                   f"(log: {res['stderr']})")
            self.failures.append(msg)
            print(msg, file=sys.stderr)
        self.rows.append(row)
        print(f"[{size}] {engine:9} {OP_LABEL[op]:40} {cell_time(row, self.a.timeout):>10} "
              f"{cell_mb(row):>8} MB  count={count}", file=sys.stderr, flush=True)
        self.write_results()

    def skip(self, size, nodes, op, engine, why):
        self.rows.append({"size": size, "nodes": nodes, "op": op, "engine": engine,
                          "status": "skipped", "why": why})
        print(f"[{size}] {engine:9} {OP_LABEL[op]:40} skipped ({why})", file=sys.stderr, flush=True)
        self.write_results()

    # ---- the two engines -----------------------------------------------------------------

    def reset(self, size_dir, datasets, models):
        shutil.rmtree(size_dir, ignore_errors=True)
        gen.generate(size_dir, datasets, models)

    def bench_rung(self, size, size_dir, datasets, models, nodes):
        a = self.a
        self.reset(size_dir, datasets, models)
        spec = os.path.join(size_dir, "grid.rung")
        store = os.path.join(size_dir, ".rung")
        common = ["--store", store, "--data-root", size_dir]  # files are "data/d{d}.txt"
        logs = os.path.join(self.out, "logs", size)

        def fresh():
            shutil.rmtree(store, ignore_errors=True)

        res = self.measure_repeated([a.rung, "plan", spec] + common, size_dir,
                                    os.path.join(logs, "rung-plan"), a.repeat, before=fresh)
        self.record(size, nodes, "plan", "rung", res, rung_plan_new(res), nodes, "new nodes")
        fresh()

        run = [a.rung, "run", spec, "--jobs", str(a.jobs)] + common
        res = self.measure(run, size_dir, os.path.join(logs, "rung-run"))
        self.record(size, nodes, "run", "rung", res, rung_ran(res), nodes, "nodes run")
        if res["status"] != "ok":
            for op in ("noop", "edit"):
                self.skip(size, nodes, op, "rung", "the full run did not finish")
            return
        res = self.measure_repeated(run, size_dir, os.path.join(logs, "rung-noop"), a.repeat)
        self.record(size, nodes, "noop", "rung", res, rung_ran(res), 0, "nodes run")

        with open(spec) as f:
            text = f.read()
        with open(spec, "w") as f:
            f.write(gen.edit_rung_spec(text))
        res = self.measure(run, size_dir, os.path.join(logs, "rung-edit"))
        self.record(size, nodes, "edit", "rung", res, rung_ran(res), gen.EDIT_RERUNS, "nodes run")

    def bench_snakemake(self, size, size_dir, datasets, models, nodes):
        a = self.a
        smk_dir = os.path.join(size_dir, "smk")
        logs = os.path.join(self.out, "logs", size)
        base = [a.snakemake, "--snakefile", "Snakefile"]
        run = base + ["--cores", str(a.jobs)]
        if not a.snakemake_spawn:
            run.append("--force-use-threads")

        self.reset(size_dir, datasets, models)

        def fresh():
            shutil.rmtree(os.path.join(smk_dir, ".snakemake"), ignore_errors=True)

        res = self.measure_repeated(base + ["-n"], smk_dir, os.path.join(logs, "snakemake-plan"),
                                    a.repeat, before=fresh)
        self.record(size, nodes, "plan", "snakemake", res, snakemake_jobs(res), nodes, "jobs")
        fresh()

        skip_run = a.skip_snakemake_run_above is not None and nodes > a.skip_snakemake_run_above
        if skip_run:
            why = f"over --skip-snakemake-run-above {a.skip_snakemake_run_above}"
            for op in ("run", "noop", "edit"):
                self.skip(size, nodes, op, "snakemake", why)
        else:
            res = self.measure(run + ["--scheduler", "greedy"], smk_dir,
                               os.path.join(logs, "snakemake-run"))
            self.record(size, nodes, "run", "snakemake", res, snakemake_jobs(res), nodes, "jobs")
            if res["status"] != "ok":
                for op in ("noop", "edit"):
                    self.skip(size, nodes, op, "snakemake", "the full run did not finish")
            else:
                res = self.measure_repeated(run + ["--scheduler", "greedy"], smk_dir,
                                            os.path.join(logs, "snakemake-noop"), a.repeat)
                self.record(size, nodes, "noop", "snakemake", res, snakemake_jobs(res), 0, "jobs")

                config_path = os.path.join(smk_dir, "config.json")
                with open(config_path) as f:
                    config = json.load(f)
                with open(config_path, "w") as f:
                    json.dump(gen.edit_snakemake_config(config), f, indent=1)
                    f.write("\n")
                res = self.measure(run + ["--scheduler", "greedy"], smk_dir,
                                   os.path.join(logs, "snakemake-edit"))
                jobs = snakemake_job_stats(res)
                count = sum(jobs.values()) if jobs is not None else None
                self.record(size, nodes, "edit", "snakemake", res, count, gen.EDIT_RERUNS, "jobs")
                want = {"train": gen.BINS, "eval": gen.BINS * gen.BINS, "report": 1}
                if res["status"] == "ok" and jobs is not None and jobs != want:
                    msg = (f"CHECK FAILED: {size} snakemake edit rerun: expected jobs {want}, "
                           f"got {jobs}")
                    self.failures.append(msg)
                    print(msg, file=sys.stderr)

        if size in a.default_scheduler_sizes:
            if skip_run:
                self.skip(size, nodes, "run_default", "snakemake",
                          f"over --skip-snakemake-run-above {a.skip_snakemake_run_above}")
            else:
                self.reset(size_dir, datasets, models)
                res = self.measure(run, smk_dir, os.path.join(logs, "snakemake-run-default"))
                self.record(size, nodes, "run_default", "snakemake", res, snakemake_jobs(res),
                            nodes, "jobs")

    # ---- the table -----------------------------------------------------------------------

    def find(self, size, op, engine):
        for r in self.rows:
            if r["size"] == size and r["op"] == op and r["engine"] == engine:
                return r
        return None

    def table(self):
        t = self.a.timeout
        lines = [
            "| size (nodes) | operation | rung s | rung MB | snakemake s | snakemake MB "
            "| ratio (snakemake/rung time) |",
            "|---|---|--:|--:|--:|--:|--:|",
        ]
        for size in self.a.sizes:
            nodes = gen.node_count(*gen.SIZES[size])
            ops = OPS + (["run_default"] if size in self.a.default_scheduler_sizes else [])
            for op in ops:
                r = self.find(size, op, "rung")
                s = self.find(size, op, "snakemake")
                if r is None and s is None:
                    continue
                label = OP_LABEL[op]
                if op == "run_default":
                    # The rung side of this row is rung's own full run.
                    r_cells = ["—", "—"]
                    r = self.find(size, "run", "rung")
                    label += " (ratio vs rung's full run)"
                else:
                    r_cells = [cell_time(r, t), cell_mb(r)]
                lines.append(f"| {size} ({nodes:,}) | {label} | {r_cells[0]} | {r_cells[1]} "
                             f"| {cell_time(s, t)} | {cell_mb(s)} | {cell_ratio(s, r, t)} |")
        return "\n".join(lines)

    def targets(self):
        """The issue's targets, each with what this run measured."""
        out = []
        ratios = []
        for size in self.a.sizes:
            for op in OPS:
                r, s = self.find(size, op, "rung"), self.find(size, op, "snakemake")
                if ok(r) and (ok(s) or timed_out(s)):
                    s_time = s["seconds"] if ok(s) else self.a.timeout
                    ratios.append((s_time / r["seconds"], timed_out(s), size, op))
        if ratios:
            worst = min(ratios)
            if any(x < 20 and not bound for x, bound, *_ in ratios):
                verdict = "NOT met"
            elif any(x < 20 for x, *_ in ratios):
                verdict = "not determined (Snakemake timed out too early to tell)"
            else:
                verdict = "met"
            out.append(f"- rung at least 20x faster than Snakemake for every operation: {verdict} "
                       f"(smallest ratio {fmt_ratio(worst[0], worst[1])}: {worst[2]}, "
                       f"{OP_LABEL[worst[3]]}; {len(ratios)} operation(s) compared)")
        else:
            out.append("- rung at least 20x faster than Snakemake for every operation: not measured")

        def target(text, size, op, limit_s=None, limit_mb=None):
            r = self.find(size, op, "rung") if size in self.a.sizes else None
            if not ok(r):
                out.append(f"- {text}: not measured")
                return
            good = (limit_s is None or r["seconds"] < limit_s) and (
                limit_mb is None or r["max_rss_mb"] < limit_mb)
            got = fmt_s(r["seconds"]) + " s" + (f", {r['max_rss_mb']:.0f} MB" if limit_mb else "")
            out.append(f"- {text}: {'met' if good else 'NOT met'} ({got})")

        target("no-op rerun of 3,642 nodes < 150 ms", "small", "noop", limit_s=0.150)
        target("plan of 100,155 nodes < 5 s and < 500 MB", "large", "plan", limit_s=5, limit_mb=500)
        target("full run of 3,642 nodes < 5 s", "small", "run", limit_s=5)
        return "\n".join(out)

    def report(self):
        parts = [self.table(), "", "Targets (from the issue):", self.targets()]
        if self.failures:
            parts += ["", "Correctness checks that FAILED:"] + [f"- {f}" for f in self.failures]
        else:
            parts += ["", "Correctness checks: all passed (node and job counts as expected)."]
        parts += ["", self.machine_line()]
        return "\n".join(parts)

    def machine_line(self):
        smk = f"snakemake {self.snakemake_version}"
        if "snakemake" in self.a.engines:
            smk += (" (`run:` jobs spawned as processes)" if self.a.snakemake_spawn
                    else " (--force-use-threads)")
        return (f"Machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}; "
                f"--jobs {self.a.jobs}; {smk}; timeout {self.a.timeout:g} s per command; "
                f"plan and no-op: median of {self.a.repeat} run(s).")

    def write_results(self):
        os.makedirs(self.out, exist_ok=True)
        with open(os.path.join(self.out, "results.md"), "w") as f:
            f.write("# Grid benchmark: rung vs Snakemake\n\n" + self.report() + "\n")
        data = {
            "machine": {"cores": os.cpu_count(), "system": platform.platform(),
                        "python": platform.python_version()},
            "snakemake_version": self.snakemake_version,
            "rung": self.a.rung,
            "args": {k: v for k, v in vars(self.a).items()},
            "rows": self.rows,
            "failures": self.failures,
        }
        with open(os.path.join(self.out, "results.json"), "w") as f:
            json.dump(data, f, indent=1)
            f.write("\n")

    def main(self):
        a = self.a
        self.snakemake_version = "not used"
        if "snakemake" in a.engines:
            v = subprocess.run([a.snakemake, "--version"], capture_output=True, text=True)
            self.snakemake_version = v.stdout.strip() or f"unknown ({v.stderr.strip()[:200]})"
        for size in a.sizes:
            datasets, models = gen.SIZES[size]
            nodes = gen.node_count(datasets, models)
            size_dir = os.path.join(self.out, size)
            print(f"== {size}: {datasets} datasets x {models} models = {nodes:,} nodes "
                  f"(in {size_dir})", file=sys.stderr, flush=True)
            if "rung" in a.engines:
                self.bench_rung(size, size_dir, datasets, models, nodes)
            if "snakemake" in a.engines:
                self.bench_snakemake(size, size_dir, datasets, models, nodes)
        self.write_results()
        print(self.report())
        print(f"\n(written to {os.path.join(self.out, 'results.md')} and results.json; "
              f"logs in {os.path.join(self.out, 'logs')})")
        return 1 if self.failures else 0


# ---- parsing engines' output ---------------------------------------------------------------

DONE = re.compile(r"done: (\d+) ran, (\d+) cached, (\d+) failed, (\d+) skipped")


def last_number(res, stream, pattern, group):
    """Group `group` of the last line of `stream` matching `pattern`, or None."""
    if res["status"] != "ok":
        return None
    found = None
    with open(res[stream], errors="replace") as f:
        for line in f:
            m = pattern.search(line)
            if m:
                found = int(m.group(group))
    return found


def rung_ran(res):
    """The `N ran` of rung's last `done:` line on stderr, or None."""
    return last_number(res, "stderr", DONE, 1)


def snakemake_job_stats(res):
    """Jobs per rule from Snakemake's `Job stats:` table, without `all`; {} when nothing to do."""
    if res["status"] != "ok":
        return None
    text = ""
    for path in (res["stderr"], res["stdout"]):  # a dry run prints to stdout, a run to stderr
        if path:
            with open(path, errors="replace") as f:
                text += f.read()
    if "Job stats:" not in text:
        return {} if "Nothing to be done" in text else None
    jobs = {}
    table = text.split("Job stats:", 1)[1].splitlines()
    for line in table[3:]:  # header, rule line, first row...
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        if parts[0] == "total":
            break
        if parts[0] != "all":
            jobs[parts[0]] = int(parts[1])
    return jobs


def snakemake_jobs(res):
    jobs = snakemake_job_stats(res)
    return None if jobs is None else sum(jobs.values())


PLAN = re.compile(r"(\d+) nodes: (\d+) cached, (\d+) stale, (\d+) new, (\d+) blocked")


def rung_plan_new(res):
    """The `N new` of rung's plan summary line (`3642 nodes: 0 cached, 0 stale, 3642 new, ...`)."""
    return last_number(res, "stdout", PLAN, 4)


# ---- formatting ----------------------------------------------------------------------------


def ok(row):
    return row is not None and row.get("status") == "ok"


def timed_out(row):
    return row is not None and row.get("status") == "timeout"


def fmt_s(s):
    return f"{s:.3f}" if s < 1 else f"{s:.2f}" if s < 100 else f"{s:.0f}"


def cell_time(row, timeout):
    if row is None:
        return "—"
    st = row.get("status")
    if st == "ok":
        return fmt_s(row["seconds"]) + ("" if row.get("check") != "failed" else " (wrong count!)")
    if st == "timeout":
        return f">{timeout:g} s"
    if st == "skipped":
        return "skipped"
    return f"failed (exit {row.get('rc')})"


def cell_mb(row):
    if row is None or row.get("status") not in ("ok", "timeout"):
        return "—"
    mb = f"{row['max_rss_mb']:.0f}" if row["max_rss_mb"] >= 10 else f"{row['max_rss_mb']:.1f}"
    return mb if row["status"] == "ok" else ">=" + mb  # killed at the timeout: a lower bound


def fmt_ratio(x, lower_bound=False):
    s = f"{x:.0f}x" if x >= 10 else f"{x:.1f}x"
    return (">" + s) if lower_bound else s


def cell_ratio(s, r, timeout):
    if not ok(r):
        return "—"
    if ok(s):
        return fmt_ratio(s["seconds"] / r["seconds"])
    if timed_out(s):
        return fmt_ratio(timeout / r["seconds"], lower_bound=True)
    return "—"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rung", default="target/release/rung-bench", help="the rung-bench binary")
    p.add_argument("--snakemake", default="snakemake", help="the snakemake executable")
    p.add_argument("--sizes", default="small", help="comma-separated: " + ",".join(gen.SIZES))
    p.add_argument("--timeout", type=float, default=900, help="seconds per measured command")
    p.add_argument("--skip-snakemake-run-above", type=int, default=None, metavar="N",
                   help="skip Snakemake's full run (and the reruns that need it) above N nodes")
    p.add_argument("--out", default="target/bench-grid", help="work directory")
    p.add_argument("--jobs", type=int, default=2, help="parallel jobs for both engines")
    p.add_argument("--repeat", type=int, default=1,
                   help="runs of the plan and no-op measurements (median time is reported)")
    p.add_argument("--default-scheduler-sizes", default="small",
                   help="sizes at which Snakemake's full run is also timed with its default "
                        "scheduler (comma-separated; empty for none)")
    p.add_argument("--engines", default="rung,snakemake", help="which engines to run")
    p.add_argument("--snakemake-spawn", action="store_true",
                   help="let Snakemake spawn one process per `run:` job (its default) instead of "
                        "--force-use-threads")
    a = p.parse_args()
    a.sizes = [s for s in a.sizes.split(",") if s]
    for s in a.sizes:
        if s not in gen.SIZES:
            p.error(f"unknown size {s!r} (known: {', '.join(gen.SIZES)})")
    a.default_scheduler_sizes = [s for s in a.default_scheduler_sizes.split(",") if s]
    a.engines = [e for e in a.engines.split(",") if e]
    for e in a.engines:
        if e not in ("rung", "snakemake"):
            p.error(f"unknown engine {e!r}")
    if "rung" in a.engines:
        a.rung = os.path.abspath(a.rung)
        if not os.access(a.rung, os.X_OK):
            p.error(f"{a.rung} is not an executable (build it: cargo build --release -p rung-bench)")
    if "snakemake" in a.engines:
        found = shutil.which(a.snakemake)
        if not found:
            p.error(f"snakemake not found at {a.snakemake!r}")
        a.snakemake = os.path.abspath(found)
    return Bench(a).main()


if __name__ == "__main__":
    sys.exit(main())
