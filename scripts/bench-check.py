#!/usr/bin/env python3
# Times `rung check` on the generated specs (and `snakemake -n` on the same grid) and prints a table; run via scripts/bench-check.sh.
"""Usage: bench-check.py --work DIR --runs N --bin LABEL=PATH [--bin ...] [--snakemake-runs K]

Expects DIR/lines.rung, DIR/grid.rung and, when K > 0, DIR/snake/Snakefile.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time


def timed(cmd, runs, cwd=None):
    """Median wall time of `runs` runs of `cmd`, and the last run's output."""
    times, out = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        out = proc.stdout + proc.stderr
        if proc.returncode != 0:
            sys.exit(f"`{' '.join(cmd)}` failed ({proc.returncode}):\n{out[-4000:]}")
    return statistics.median(times), out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bin", action="append", default=[], help="LABEL=PATH of a rung binary")
    parser.add_argument("--snakemake-runs", type=int, default=1)
    args = parser.parse_args()

    specs = ["lines.rung", "grid.rung"]
    rows = []
    grid_times = {}
    for spec in specs:
        path = os.path.join(args.work, spec)
        with open(path) as f:
            lines = sum(1 for _ in f)
        for entry in args.bin:
            label, binary = entry.split("=", 1)
            seconds, out = timed([binary, "check", path], args.runs)
            match = re.search(r"ok, (\d+) nodes", out)
            nodes = int(match.group(1)) if match else -1
            rows.append((spec, f"rung check ({label})", lines, nodes, seconds, args.runs))
            if spec == "grid.rung":
                grid_times[label] = (seconds, nodes)

    snake_dir = os.path.join(args.work, "snake")
    if args.snakemake_runs > 0:
        snakemake = shutil.which("snakemake")
        if snakemake is None:
            print("snakemake is not installed (`pip install snakemake`): no comparison", file=sys.stderr)
        else:
            cmd = [snakemake, "-n", "--cores", "2", "--quiet", "all"]
            seconds, out = timed(cmd, args.snakemake_runs, cwd=snake_dir)
            match = re.search(r"^total\s+(\d+)", out, re.M)
            jobs = int(match.group(1)) if match else -1
            with open(os.path.join(snake_dir, "Snakefile")) as f:
                lines = sum(1 for _ in f)
            rows.append(("Snakefile", "snakemake -n", lines, jobs, seconds, args.snakemake_runs))
            grid_times["snakemake"] = (seconds, jobs)

    header = ("spec", "program", "lines", "nodes", "median s", "runs")
    table = [header] + [(s, p, str(l), str(n), f"{t:.3f}", str(r)) for s, p, l, n, t, r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for k, row in enumerate(table):
        print("  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))))
        if k == 0:
            print("  ".join("-" * w for w in widths))

    if "snakemake" in grid_times:
        snake_s, _ = grid_times["snakemake"]
        for label, (seconds, _) in grid_times.items():
            if label != "snakemake":
                print(f"grid: snakemake -n / rung check ({label}) = {snake_s / seconds:.1f}x")


if __name__ == "__main__":
    main()
