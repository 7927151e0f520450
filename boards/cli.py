"""``lgn-hw build`` (a board's bitstream and report), ``lgn-hw run`` (classify samples on a board
over its UART) and ``lgn-hw boards`` (the registry).

``build`` resolves the board, loads the netlist and hands over to ``boards.build``; its options
are shared with the other commands through ``rtl.options``, its errors and summary through
``flows.cli``.

``run --port /dev/ttyUSB1`` talks to a board flashed with ``lgn-hw build``; ``run --port sim``
talks to the Amaranth simulation of the same wrapper and core, so the host side can be tried (and
is tested) without hardware. The samples are a dataset's test split or a user's file
(``--dataset``); with ``--raw-inputs`` (a board built with it) the host sends raw features, the
integers of ``Encoding.to_integers`` (a real feature's fixed-point map). Every answer is compared
with ``Netlist.evaluate`` (``evaluate_raw``); a board that runs a different netlist is detected
from its digest, one built for the other kind of input from its payload size, before any sample
is sent.
"""

from __future__ import annotations

import json

import click

from pathlib import Path

from lgn_hw import DEFAULT_NETLIST, DEFAULT_OUT
from rtl import options

__all__ = ["build_command", "run_command", "boards_command"]


@click.command("build")
@click.option("--board", default="ice40", show_default=True,
              help="Board or board-less target (`lgn-hw boards` lists them).")
@click.option("--netlist", "netlist_path", type=click.Path(dir_okay=False),
              default=DEFAULT_NETLIST, show_default=True)
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help=f"Output directory [default: {DEFAULT_OUT}/build-<board>].")
@click.option("--baud", type=click.IntRange(min=1200), default=115200, show_default=True)
@click.option("--clock", "clock_mhz", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Clock target of place & route in MHz [default: the board's oscillator; "
                   "board-less: the family's default]. On a board it may only be raised above "
                   "the oscillator (a headroom check: no PLL is inserted).")
@click.option("--allow-timing-fail", is_flag=True,
              help="Keep a build whose Fmax is below the clock (exit 0; the report says so).")
@options.pipeline_every
@options.raw_inputs
@options.no_hierarchy
def build_command(board, netlist_path, out, baud, clock_mhz, allow_timing_fail, pipeline_every,
                  raw_inputs, no_hierarchy):
    """Build a bitstream (or a synthesis-only report) of NETLIST in the UART wrapper for a board."""
    from flows.cli import cli_errors, echo_summary

    from .build import BuildError, build_board
    from .registry import BoardError, resolve_board

    with cli_errors(BuildError, BoardError):
        from flows.design import load_netlist
        b = resolve_board(board)
        net = load_netlist(netlist_path)
        out = Path(out or Path(DEFAULT_OUT) / f"build-{b.name}")
        click.echo(f"building {netlist_path} for {b.name} ({b.device}) in {out} ...")
        rep = build_board(net, b, out, netlist_path=str(netlist_path), baud=baud,
                          pipeline_every=pipeline_every, raw_inputs=raw_inputs,
                          hierarchy=not no_hierarchy, progress=True, clock_mhz=clock_mhz,
                          allow_timing_fail=allow_timing_fail)
        echo_summary(rep, out)
        if rep.get("bitstream"):
            click.echo(f"bitstream: {rep['bitstream']}")
        click.echo(f"build time: {rep['seconds']['total']:.1f} s")


@click.command("run")
@click.option("--port", required=True, help="Serial port (e.g. /dev/ttyUSB1), or `sim`.")
@click.option("--baud", type=click.IntRange(min=1200), default=115200, show_default=True)
@click.option("--netlist", "netlist_path", type=click.Path(dir_okay=False),
              default=DEFAULT_NETLIST, show_default=True)
@options.dataset
@options.data_root
@click.option("-n", "--samples", type=click.IntRange(min=1), default=None,
              help="At most N samples (default: all test samples, or 100 random).")
@options.pipeline_every
@options.raw_inputs
def run_command(port, baud, netlist_path, dataset, data_root, samples, pipeline_every, raw_inputs):
    """Classify samples on a board (or its simulation) and compare with Netlist.evaluate."""
    from flows.design import DesignError, load_netlist, verification_inputs
    from lgn_hw.datasets.samples import prediction_summary
    from rtl.encoder import EncoderError
    from rtl.vectors import make_vectors

    from .host import BoardClient, open_port, run_vectors
    from .protocol import Geometry, ProtocolError, netlist_digest

    try:
        net = load_netlist(netlist_path)
        if raw_inputs and net.encoding is None:
            raise DesignError("--raw-inputs needs a netlist with an encoding")
        data, labels, what, names = verification_inputs(net, dataset, data_root, samples,
                                                         n_random=100, raw_inputs=raw_inputs)
        try:
            vec = make_vectors(net, data, raw_inputs=raw_inputs)
        except ValueError as e:  # a raw value the input port cannot take
            raise DesignError(f"{what}: {e}") from None
        ser = open_port(port, baud, net, raw_inputs=raw_inputs, pipeline_every=pipeline_every)
        try:
            client = BoardClient(ser)
            geometry, digest = client.info()
            if digest != netlist_digest(net):
                raise click.ClickException(
                    f"the board runs a different netlist (digest {digest.hex()}, "
                    f"{netlist_path} has {netlist_digest(net).hex()}); rebuild and flash it")
            want = Geometry.of(vec.input_width, geometry.classes, 8).payload_bytes
            if geometry.payload_bytes != want:
                other = "without" if raw_inputs else "with"
                raise click.ClickException(
                    f"the board takes {geometry.payload_bytes} payload bytes, these samples "
                    f"{want}: it was built {other} --raw-inputs")
            click.echo(f"board: {geometry.payload_bytes} payload bytes, {geometry.classes} "
                       f"classes, digest {digest.hex()} matches {netlist_path}")
            res = run_vectors(client, vec, labels, progress=True)
        finally:
            ser.close()
    except (DesignError, ProtocolError, EncoderError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"{res.n - len(res.mismatches)}/{res.n} answers equal Netlist.evaluate "
               f"({res.rate:.1f} samples/s over the link)")
    for i, ec, ecs, gc, gcs in res.mismatches[:5]:
        click.echo(f"  sample {i}: expected class {ec} counts {ecs}, board said {gc} {gcs}")
    if res.correct is not None:
        click.echo(f"accuracy on {what}: {res.correct / res.n:.4f} ({res.correct}/{res.n})")
    click.echo(f"board's classes: {prediction_summary(res.classes, names)}")
    if res.mismatches:
        raise click.ClickException(f"{len(res.mismatches)} answers differ from Netlist.evaluate")


@click.command("boards")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def boards_command(as_json):
    """List the boards and board-less targets that `lgn-hw build --board` accepts."""
    from .registry import list_boards
    rows = list_boards()
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    for r in rows:
        alias = f" (= {', '.join(r['aliases'])})" if r["aliases"] else ""
        kind = "synthesis only" if r["synth_only"] else "bitstream"
        click.echo(f"{r['name']:<18}{alias:<18} {r['device']:<18} {r['clock_mhz']:>6g} MHz  "
                   f"{kind:<15} {r['description']}")
