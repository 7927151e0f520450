"""Benchmark: wall time of `lgn-hw build` (and its steps) for a netlist, median of N runs.

    python bench/bench_build.py lgn-out/netlist.json --board ice40 --runs 3

Runs are sequential (one build at a time; Yosys/nextpnr are single-threaded here) and the per-step
times come from each build's report. Figures go to BENCHMARKS.md ("## Builds"); they were taken on
a shared, noisy 2-core machine.
"""

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click


@click.command()
@click.argument("netlist", type=click.Path(exists=True, dir_okay=False))
@click.option("--board", default="ice40")
@click.option("--runs", type=click.IntRange(min=1), default=3)
def main(netlist, board, runs):
    from flows.report import load_report
    walls, steps = [], []
    for i in range(runs):
        with tempfile.TemporaryDirectory(dir=".") as tmp:
            out = Path(tmp) / "b"
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "lgn_hw.cli", "build", "--board", board,
                            "--netlist", netlist, "--out", str(out)], check=True,
                           stdout=subprocess.DEVNULL)
            walls.append(time.perf_counter() - t0)
            rep = load_report(out)
            steps.append(rep["seconds"])
            print(f"run {i}: {walls[-1]:.1f} s {rep['seconds']} LUTs {rep['resources']['lut']}")
    print(f"median wall {statistics.median(walls):.1f} s over {runs} runs (min {min(walls):.1f})")


if __name__ == "__main__":
    main()
