"""The ``lgn-hw synth``, ``report`` and ``verify`` commands, and the pieces ``build`` reuses.

Every command turns the flows' exceptions (missing tool, unknown target, bad netlist, design too
large, failed check) into one-line ``click`` errors (``cli_errors``). ``lgn-hw build`` lives in
``boards.cli`` (boards import flows, never the other way round); it shares ``cli_errors`` and
``echo_summary`` from here and its options from ``rtl.options``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from lgn_hw import DEFAULT_NETLIST, DEFAULT_OUT
from rtl import options

__all__ = ["synth_command", "report_command", "verify_command", "cli_errors", "echo_summary",
           "TARGET_HELP"]



def _target_help() -> str:
    """``--target``'s help from the family modules (a new family is listed without an edit)."""
    from .families import FAMILIES
    fams = ", ".join(f"{n}: {f.default_part}" for n, f in FAMILIES.items())
    parts = ", ".join(d.name for f in FAMILIES.values() for d in f.parts if d.capacity)
    return (f"A family, meaning its default part ({fams}), lutK (K = 2..8), or a part: "
            f"{parts}.")


TARGET_HELP = _target_help()
#: verify --self-test: how many LUTs (spread over the netlist) may be inverted in turn until one
#: changes an output on the checked inputs
SELF_TEST_TRIES = 4


@contextlib.contextmanager
def cli_errors(*extra):
    """Map the project's exceptions (and ``extra`` types) to one-line click errors."""
    from lgn_hw.netlist import NetlistError

    from .design import DesignError
    from .equiv import EquivError
    from .families import FamilyError
    from .pnr import FitError
    from .postsim import PostsimError
    from .report import ReportError
    from .staging import OutputError, sigterm_as_exit
    from .stat import StatError
    from .tools import ToolError
    errors = (DesignError, FamilyError, EquivError, FitError, PostsimError, ReportError,
              StatError, ToolError, NetlistError, OutputError, *extra)
    try:
        with sigterm_as_exit():     # SIGTERM cleans up like Ctrl-C: no orphaned tools
            yield
    except errors as e:
        raise click.ClickException(str(e)) from None


def echo_summary(rep: dict, out: Path) -> None:
    """The few lines a build or synth prints: totals, Fmax against the clock, per layer."""
    r, tm = rep["resources"], rep["timing"]
    line = (f"{rep['target']['board'] or rep['target']['device']}: {r['lut']:,} LUTs, "
            f"{r['carry']:,} carries, {r['ff']:,} FFs, {r['bram']} BRAM")
    if tm.get("fmax_mhz"):
        line += (f"; Fmax {tm['fmax_mhz']:.2f} MHz (clock {tm['constraint_mhz']:g} MHz: "
                 f"{'met' if tm['meets_constraint'] else 'NOT met'})")
    click.echo(line)
    for row in rep["layers"]:
        if row["luts"] is not None:   # per-layer LUTs need the hierarchical run
            click.echo(f"  layer{row['layer']}: {row['gates']} gates -> {row['luts']} LUTs")
    click.echo(f"report: {out / 'report.md'} (report.json, report.png)")


@click.command("synth")
@click.argument("netlist_path", type=click.Path(dir_okay=False), default=DEFAULT_NETLIST)
@click.option("--target", default="ice40", show_default=True, help=TARGET_HELP)
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help=f"Output directory [default: {DEFAULT_OUT}/synth-<target>].")
@options.core_options
@options.argmax
@options.resynth
@options.no_hierarchy
@options.lut_cells
def synth_command(netlist_path, target, out, raw_inputs, pipeline_every, popcount, argmax,
                  resynth, no_hierarchy, lut_cells):
    """Synthesis-only resource report of the core of NETLIST for a family or part."""
    with cli_errors():
        from .design import core_design, load_netlist
        from .devices import resolve_target
        from .flow import synth_flow
        device = resolve_target(target)
        net = load_netlist(netlist_path)
        out = Path(out or Path(DEFAULT_OUT) / f"synth-{target}")
        design = core_design(net, raw_inputs=raw_inputs, pipeline_every=pipeline_every,
                             lut_cells=device.family if lut_cells else None, popcount=popcount,
                             family=device.family, argmax=argmax,
                             resynth=device.lut_k if resynth else None)
        rep = synth_flow(design, device, out, netlist_path=str(netlist_path),
                         hierarchy=not no_hierarchy, progress=True)
        echo_summary(rep, out)


@click.command("report")
@click.argument("path", type=click.Path(), default=str(Path(DEFAULT_OUT) / "build-icebreaker"))
@click.option("--json", "as_json", is_flag=True, help="Print the JSON instead of Markdown.")
def report_command(path, as_json):
    """Show a build/synth report (a directory or its report.json); re-render its MD and PNG."""
    with cli_errors():
        import json

        from .report import load_report, render_markdown, write_report
        rep = load_report(path)
        p = Path(path)
        try:
            paths = write_report(rep, p if p.is_dir() else p.parent)
        except OSError as e:      # a read-only folder: show it without re-rendering the files
            paths = None
            click.echo(f"(not re-rendered: {e.strerror or e})", err=True)
        if as_json:
            click.echo(json.dumps(rep, indent=1))
        else:
            click.echo(render_markdown(rep), nl=False)
            if paths:
                click.echo(f"\nchart: {paths['png']}")


@click.command("verify")
@click.option("--netlist", "netlist_path", type=click.Path(dir_okay=False),
              default=DEFAULT_NETLIST, show_default=True)
@click.option("--target", default="ice40", show_default=True, help=TARGET_HELP)
@options.dataset
@options.data_root
@click.option("--vectors", "n_vectors", type=click.IntRange(min=1), default=None,
              help="Use at most N vectors (default: the whole test set, or 1000 random).")
@click.option("--formal/--no-formal", default=None,
              help="Formal equivalence (default: only when the core has <= --max-formal-gates).")
@click.option("--max-formal-gates", type=click.IntRange(min=0), default=64, show_default=True)
@click.option("--self-test", is_flag=True,
              help=f"Also check that a netlist with one inverted LUT is caught (up to "
                   f"{SELF_TEST_TRIES} LUTs spread over the netlist are tried in turn, until one "
                   f"changes an output on the checked inputs).")
@options.core_options
@options.argmax
@options.resynth
@options.lut_cells
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help=f"Work directory [default: {DEFAULT_OUT}/verify-<target>].")
@click.option("--build", "build_dir", type=click.Path(file_okay=False), default=None,
              help="Instead: check that this existing build/synth folder was made from NETLIST "
                   "(its fingerprint) and that its bitstream and RTL are unchanged.")
def verify_command(netlist_path, target, dataset, data_root, n_vectors, formal,
                   max_formal_gates, self_test, raw_inputs, pipeline_every, popcount, argmax,
                   resynth, lut_cells, out, build_dir):
    """Check the synthesised netlist against Netlist.evaluate (simulation) and the RTL (formal)."""
    if build_dir is not None:
        with cli_errors():
            from .design import load_netlist
            from .report import check_binding
            for line in check_binding(build_dir, load_netlist(netlist_path)):
                click.echo(line)
            click.echo(f"build {build_dir} matches {netlist_path}")
        return
    with cli_errors():
        from lgn_hw.atomic import make_folders, remove_empty

        from .design import load_netlist
        from .devices import resolve_target
        from .staging import OutputError
        device = resolve_target(target)
        net = load_netlist(netlist_path)
        out = Path(out or Path(DEFAULT_OUT) / f"verify-{target}")
        try:                  # before any work: an unwritable --out is one line
            made = make_folders(out)
        except OSError as e:
            raise OutputError(f"--out {out}: cannot write there ({e.strerror or e})") from None
        try:
            _verify(net, device, out, dataset, data_root, n_vectors, formal, max_formal_gates,
                    self_test, raw_inputs, pipeline_every, popcount, argmax, resynth, lut_cells)
        except BaseException:
            remove_empty(made)  # refused before writing anything: no empty --out left behind
            raise


def _verify(net, device, out, dataset, data_root, n_vectors, formal, max_formal_gates, self_test,
            raw_inputs, pipeline_every, popcount, argmax, resynth, lut_cells):
    from rtl.vectors import make_vectors

    from .design import core_design, verification_inputs
    from .equiv import count_luts, check_equivalence, write_mutant
    from .postsim import postsim
    from .synth import synthesize
    design = core_design(net, raw_inputs=raw_inputs, pipeline_every=pipeline_every,
                         lut_cells=device.family if lut_cells else None, popcount=popcount,
                         family=device.family, argmax=argmax,
                         resynth=device.lut_k if resynth else None)
    data, _, what, _ = verification_inputs(net, dataset, data_root, n_vectors,
                                           raw_inputs=raw_inputs)
    vec = make_vectors(net, data, raw_inputs=raw_inputs)
    click.echo(f"synthesising for {device.name} ...")
    synth = synthesize(design.sources, design.top, device, out / "synth", progress=True)
    failed = False
    res = postsim(design, device, vec, out / "postsim", synth_v=synth.netlist_verilog)
    click.echo(f"post-synthesis simulation ({what}): {res.summary()}")
    for line in res.details():
        click.echo(line)
    failed |= not res.ok
    gates = int(design.sidecar.get("gates_after") or 0)
    if formal is None:  # automatic: small combinational cores of families that allow proofs
        from .families import get_family
        formal = (gates <= max_formal_gates and not design.pipelined
                  and get_family(device.family).formal is not None)
    if formal:
        eq = check_equivalence(design, device, synth.netlist_verilog, out / "formal")
        click.echo(f"formal equivalence RTL vs {device.family} netlist: {eq.message} "
                   f"[{eq.log}]")
        failed |= not eq.equivalent
    else:
        click.echo(f"formal equivalence skipped ({gates} gates > {max_formal_gates}, "
                   f"pipelined, or no proofs for {device.family}): simulation only")
    if self_test:
        # a LUT whose inversion changes no output on these inputs (a low digit of one argmax
        # comparison, say) proves nothing either way: up to SELF_TEST_TRIES LUTs spread over
        # the netlist are tried, and the first that changes an output must be caught
        n_luts = count_luts(synth.netlist_verilog.read_text())
        tries = sorted({i * n_luts // SELF_TEST_TRIES for i in range(SELF_TEST_TRIES)})
        for index in tries:
            mutant = write_mutant(synth.netlist_verilog, out / "mutant" / "synth.v", index)
            bad = postsim(design, device, vec, out / "mutant", synth_v=mutant)
            caught = not bad.ok
            if caught or index == tries[-1]:
                break
            click.echo(f"self-test: inverting LUT {index + 1} of {n_luts} changes no output on "
                       f"these inputs; inverting another")
        click.echo(f"self-test, one LUT inverted: simulation "
                   f"{'caught it' if caught else 'MISSED it'} ({bad.n_mismatch} mismatches; "
                   f"LUT {index + 1} of {n_luts}"
                   + ("" if caught else f", after {len(tries)} tried") + ")")
        failed |= not caught
        if formal:
            eq = check_equivalence(design, device, mutant, out / "mutant" / "formal")
            click.echo(f"self-test, formal: {'caught it' if not eq.equivalent else 'MISSED'}")
            failed |= eq.equivalent
    if failed:
        raise click.ClickException("verification FAILED")
    click.echo("verification passed")
