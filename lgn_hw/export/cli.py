"""``lgn-hw export NETLIST --lang c|hls --out DIR``: write a netlist as C99 or as HLS C++.

Everything is generated and checked in memory first (the netlist is validated, the prefix is a C
identifier, the sources are complete), then each file is written atomically; a failure leaves
no partial file behind and says what went wrong in one line.
"""
from __future__ import annotations

from pathlib import Path

import click

from lgn_hw import DEFAULT_NETLIST

from .cnames import DEFAULT_PREFIX, ExportError

__all__ = ["export_command", "export"]

LANGS = ("c", "hls")


def export(netlist, lang: str, out, prefix: str = DEFAULT_PREFIX):
    """Generate ``lang`` sources of ``netlist`` and write them into ``out``; returns the export
    object (``files``, operation counts) and the paths written."""
    from lgn_hw.atomic import write_text_atomic

    if lang == "c":
        from .c import render_c

        exp = render_c(netlist, prefix)
    elif lang == "hls":
        from .hls import render_hls

        exp = render_hls(netlist, prefix)
    else:
        raise ExportError(f"unknown language {lang!r} (expected one of {', '.join(LANGS)})")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out}: exists and is not a directory")
    paths = [write_text_atomic(out / name, text) for name, text in exp.files.items()]
    return exp, paths


@click.command("export", short_help="Write a netlist as C99 (CPUs, microcontrollers) or HLS C++.")
@click.argument("netlist", required=False, type=click.Path(dir_okay=False))
@click.option("--lang", type=click.Choice(LANGS), required=True,
              help="c: bit-sliced C99 library and driver; hls: C++ top function for HLS tools.")
@click.option("--out", "out", type=click.Path(file_okay=False), required=True,
              help="Directory to write the sources into (created if missing).")
@click.option("--prefix", default=DEFAULT_PREFIX, show_default=True,
              help="Prefix of every generated file and symbol (a C identifier).")
def export_command(netlist, lang, out, prefix):
    """Write NETLIST (default lgn-out/netlist.json) as sources in --out (docs/export.md)."""
    from lgn_hw.infer import load_netlist

    net = load_netlist(netlist)
    try:
        exp, paths = export(net, lang, out, prefix)
    except ExportError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{out}: cannot write ({exc.strerror or exc})") from None
    click.echo(f"netlist: {netlist or DEFAULT_NETLIST} ({net.n_gates} gates, {net.n_classes} classes)")
    click.echo("wrote " + ", ".join(str(p) for p in paths))
    d = Path(out)
    if lang == "c":
        click.echo(f"logic: {exp.gate_ops:,} gate + {exp.head_ops:,} head operations per 64 samples "
                   "(bit-sliced)")
        click.echo(f"build: cc -O2 -march=native -o {d / prefix} {d / (prefix + '.c')} "
                   f"{d / (prefix + '_main.c')}  (then: {d / prefix} -c SAMPLES.csv)")
    else:
        click.echo(f"logic: {exp.gate_ops:,} Boolean operations; top function {prefix}_top")
        click.echo(f"C simulation: g++ -O1 -o {d / (prefix + '_tb')} {d / (prefix + '_hls.cpp')} "
                   f"{d / (prefix + '_tb.cpp')}  (then: {d / (prefix + '_tb')} -c SAMPLES.csv)")
