"""The ``lgn-hw build``, ``report``, ``synth`` and ``verify`` commands.

Every command turns the flows' exceptions (missing tool, unknown target, bad netlist, design too
large, failed check) into one-line ``click`` errors. ``build`` delegates to ``boards.build`` (the
board registry and the UART wrapper live there); the others only need ``flows``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from lgn_hw import DEFAULT_NETLIST, DEFAULT_OUT
from rtl.pipeline import click_every
from rtl.popcount import STRATEGIES as POPCOUNTS

__all__ = ["build_command", "report_command", "synth_command", "verify_command"]


@contextlib.contextmanager
def _errors():
    """Map the project's exceptions to one-line click errors."""
    from lgn_hw.netlist import NetlistError

    from .design import DesignError
    from .devices import DeviceError
    from .equiv import EquivError
    from .pnr import FitError
    from .postsim import PostsimError
    from .report import ReportError
    from .stat import StatError
    from .tools import ToolError
    errors = (DesignError, DeviceError, EquivError, FitError, PostsimError, ReportError,
              StatError, ToolError, NetlistError)
    try:
        from boards.build import BuildError
        from boards.registry import BoardError
        errors += (BuildError, BoardError)
    except ImportError:
        pass
    try:
        yield
    except errors as e:
        raise click.ClickException(str(e)) from None


def _summary(rep: dict, paths) -> None:
    r, tm = rep["resources"], rep["timing"]
    line = (f"{rep['target']['board'] or rep['target']['device']}: {r['lut']:,} LUTs, "
            f"{r['carry']:,} carries, {r['ff']:,} FFs, {r['bram']} BRAM")
    if tm.get("fmax_mhz"):
        line += f"; Fmax {tm['fmax_mhz']:.2f} MHz"
    click.echo(line)
    for row in rep["layers"]:
        click.echo(f"  layer{row['layer']}: {row['gates']} gates -> {row['luts']} LUTs")
    click.echo(f"report: {paths['md']} ({paths['json'].name}, {paths['png'].name})")


_pipeline = click.option("--pipeline-every", type=click_every(), default=None,
                         help="Pipeline registers every K logic levels, or 'head': one register "
                              "stage on the class counts only (fewest flip-flops) "
                              "[default: combinational core].")
_raw = click.option("--raw-inputs", is_flag=True,
                    help="Core takes raw features and encodes them in hardware.")


@click.command("build")
@click.option("--board", default="ice40", show_default=True,
              help="Board or board-less target (`lgn-hw boards` lists them).")
@click.option("--netlist", "netlist_path", type=click.Path(dir_okay=False),
              default=DEFAULT_NETLIST, show_default=True)
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help=f"Output directory [default: {DEFAULT_OUT}/build-<board>].")
@click.option("--baud", type=click.IntRange(min=1200), default=115200, show_default=True)
@_pipeline
@_raw
@click.option("--no-hierarchy", is_flag=True, help="Skip the per-stage (hierarchical) run.")
def build_command(board, netlist_path, out, baud, pipeline_every, raw_inputs, no_hierarchy):
    """Build a bitstream (or a synthesis-only report) of NETLIST in the UART wrapper for a board."""
    with _errors():
        from boards.build import build_board
        from boards.registry import resolve_board

        from .design import load_netlist
        from .report import write_report
        b = resolve_board(board)
        net = load_netlist(netlist_path)
        out = Path(out or Path(DEFAULT_OUT) / f"build-{b.name}")
        click.echo(f"building {netlist_path} for {b.name} ({b.device}) in {out} ...")
        rep = build_board(net, b, out, netlist_path=str(netlist_path), baud=baud,
                          pipeline_every=pipeline_every, raw_inputs=raw_inputs,
                          hierarchy=not no_hierarchy, progress=True)
        paths = {k: out / f"report.{k}" for k in ("json", "md", "png")}
        del write_report
        _summary(rep, paths)
        if rep.get("bitstream"):
            click.echo(f"bitstream: {rep['bitstream']}")
        click.echo(f"build time: {rep['seconds']['total']:.1f} s")


@click.command("synth")
@click.argument("netlist_path", type=click.Path(dir_okay=False), default=DEFAULT_NETLIST)
@click.option("--target", default="ice40", show_default=True,
              help="ice40 | ecp5 | xc7 | lutK | a part name (ice40-up5k-sg48, xc7a35t, ...).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help=f"Output directory [default: {DEFAULT_OUT}/synth-<target>].")
@_pipeline
@_raw
@click.option("--no-hierarchy", is_flag=True, help="Skip the per-stage (hierarchical) run.")
@click.option("--lut-cells", is_flag=True,
              help="One vendor LUT cell per gate (xc7 LUT1-6, iCE40 SB_LUT4, ECP5 LUT4) instead of "
                   "truth-table logic: same function, far faster synthesis of large fan-in-6 nets.")
@click.option("--popcount", type=click.Choice(POPCOUNTS), default=None,
              help="GroupSum popcount structure [default: tree; lut63 is smaller on LUT6 parts "
                   "with large groups, BENCHMARKS.md Popcount].")
def synth_command(netlist_path, target, out, pipeline_every, raw_inputs, no_hierarchy, lut_cells,
                  popcount):
    """Synthesis-only resource report of the core of NETLIST for a family or part."""
    with _errors():
        from .design import core_design, load_netlist
        from .devices import resolve_target
        from .flow import synth_flow
        device = resolve_target(target)
        net = load_netlist(netlist_path)
        out = Path(out or Path(DEFAULT_OUT) / f"synth-{target}")
        design = core_design(net, raw_inputs=raw_inputs, pipeline_every=pipeline_every,
                             lut_cells=device.family if lut_cells else None, popcount=popcount)
        rep = synth_flow(design, device, out, netlist_path=str(netlist_path),
                         hierarchy=not no_hierarchy, progress=True)
        _summary(rep, {k: out / f"report.{k}" for k in ("json", "md", "png")})


@click.command("report")
@click.argument("path", type=click.Path(), default=str(Path(DEFAULT_OUT) / "build-icebreaker"))
@click.option("--json", "as_json", is_flag=True, help="Print the JSON instead of Markdown.")
def report_command(path, as_json):
    """Show a build/synth report (a directory or its report.json); re-render its MD and PNG."""
    with _errors():
        import json

        from .report import load_report, write_report
        rep = load_report(path)
        p = Path(path)
        paths = write_report(rep, p if p.is_dir() else p.parent)
        if as_json:
            click.echo(json.dumps(rep, indent=1))
        else:
            click.echo(paths["md"].read_text(), nl=False)
            click.echo(f"\nchart: {paths['png']}")


@click.command("verify")
@click.option("--netlist", "netlist_path", type=click.Path(dir_okay=False),
              default=DEFAULT_NETLIST, show_default=True)
@click.option("--target", default="ice40", show_default=True)
@click.option("--dataset", default=None,
              help="Test vectors from this dataset's test split [default: the netlist's "
                   "meta.dataset; random vectors if it has none].")
@click.option("--data-root", type=click.Path(file_okay=False), default=None)
@click.option("--vectors", "n_vectors", type=click.IntRange(min=1), default=None,
              help="Use at most N vectors (default: the whole test set, or 1000 random).")
@click.option("--formal/--no-formal", default=None,
              help="Formal equivalence (default: only when the core has <= --max-formal-gates).")
@click.option("--max-formal-gates", type=click.IntRange(min=0), default=64, show_default=True)
@click.option("--self-test", is_flag=True,
              help="Also check that a netlist with one inverted LUT is caught.")
@_pipeline
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help=f"Work directory [default: {DEFAULT_OUT}/verify-<target>].")
def verify_command(netlist_path, target, dataset, data_root, n_vectors, formal,
                   max_formal_gates, self_test, pipeline_every, out):
    """Check the synthesised netlist against Netlist.evaluate (simulation) and the RTL (formal)."""
    with _errors():
        from rtl.vectors import make_vectors

        from .design import core_design, load_netlist, verification_inputs
        from .devices import resolve_target
        from .equiv import check_equivalence, write_mutant
        from .postsim import postsim
        from .synth import synthesize
        device = resolve_target(target)
        net = load_netlist(netlist_path)
        out = Path(out or Path(DEFAULT_OUT) / f"verify-{target}")
        design = core_design(net, pipeline_every=pipeline_every)
        bits, _, what = verification_inputs(net, dataset, data_root, n_vectors)
        vec = make_vectors(net, bits, raw_inputs=False)
        click.echo(f"synthesising for {device.name} ...")
        synth = synthesize(design.sources, design.top, device, out / "synth", progress=True)
        failed = False
        res = postsim(design, device, vec, out / "postsim", synth_v=synth.netlist_verilog)
        click.echo(f"post-synthesis simulation ({what}): {res.summary()}")
        for line in res.details():
            click.echo(line)
        failed |= not res.ok
        gates = int(design.sidecar.get("gates_after") or 0)
        if formal is None:
            formal = gates <= max_formal_gates and not design.pipelined
        if formal:
            eq = check_equivalence(design, device, synth.netlist_verilog, out / "formal")
            click.echo(f"formal equivalence RTL vs {device.family} netlist: {eq.message} "
                       f"[{eq.log}]")
            failed |= not eq.equivalent
        else:
            click.echo(f"formal equivalence skipped ({gates} gates > {max_formal_gates}, or "
                       f"pipelined): simulation only")
        if self_test:
            mutant = write_mutant(synth.netlist_verilog, out / "mutant" / "synth.v")
            bad = postsim(design, device, vec, out / "mutant", synth_v=mutant)
            caught = not bad.ok
            click.echo(f"self-test, one LUT inverted: simulation "
                       f"{'caught it' if caught else 'MISSED it'} ({bad.n_mismatch} mismatches)")
            failed |= not caught
            if formal:
                eq = check_equivalence(design, device, mutant, out / "mutant" / "formal")
                click.echo(f"self-test, formal: {'caught it' if not eq.equivalent else 'MISSED'}")
                failed |= eq.equivalent
        if failed:
            raise click.ClickException("verification FAILED")
        click.echo("verification passed")
