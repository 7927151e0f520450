"""``lgn-hw rtl`` (emit Verilog/RTLIL + sidecar) and ``lgn-hw sim`` (bit-exact simulation check).

``lgn-hw rtl [NETLIST] --out DIR`` writes ``DIR/<name>.v``, ``.il`` and ``.json``.
``lgn-hw sim [NETLIST] [--dataset NAME|FILE | --random N]`` drives the core in Amaranth's simulator,
Icarus Verilog and/or Verilator with dataset samples or a user's file's rows (encoded by the
netlist's encoding, or raw with ``--raw-inputs``: the integers of ``Encoding.to_integers``, as the
board's host sends them) or random vectors, compares counts and class with ``Netlist.evaluate``
(``evaluate_raw`` of the raw values), prints the predicted classes by name and
``M/N samples match (simulator, R samples/s)`` per simulator and exits non-zero on any mismatch,
listing the first mismatching samples. NETLIST defaults to ``lgn_hw.DEFAULT_NETLIST``.
"""

from __future__ import annotations

import click

from lgn_hw import DEFAULT_NETLIST

from . import options
from .pipeline import describe_every

__all__ = ["rtl_command", "sim_command"]

_no_optimize = click.option("--no-optimize", is_flag=True,
                            help="Skip lgn_hw.optimize before RTL.")


def _with_core_options(fn):
    return options.core_options(_no_optimize(fn))


def _load(netlist):
    from lgn_hw.infer import load_netlist

    return load_netlist(netlist)


def _core_kwargs(raw_inputs, pipeline_every, popcount, no_optimize) -> dict:
    from .popcount import check_registered

    try:
        check_registered(popcount, pipeline_every)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    kwargs = {"raw_inputs": raw_inputs, "pipeline_every": pipeline_every}
    if popcount is not None:
        kwargs["popcount"] = popcount
    return {**kwargs, "optimize": not no_optimize}


def _build_core(net, kwargs):
    from .core import LGNCore
    from .encoder import EncoderError

    try:
        return LGNCore(net, **kwargs)
    except (EncoderError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None


@click.command("rtl")
@click.argument("netlist", required=False, type=click.Path(dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="Output folder for <name>.v, <name>.il and <name>.json.")
@click.option("--name", default="lgn_core", show_default=True, help="Top module name.")
@_with_core_options
def rtl_command(netlist, out, name, raw_inputs, pipeline_every, popcount, no_optimize):
    """Generate Verilog and RTLIL for NETLIST (default lgn-out/netlist.json)."""
    from .emit import check_name, write_all

    try:
        check_name(name)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    net = _load(netlist)
    kwargs = _core_kwargs(raw_inputs, pipeline_every, popcount, no_optimize)
    from .encoder import EncoderError

    entries = sum(len(g) for g in net.head.groups)
    click.echo(f"generating Verilog and RTLIL for {net.n_gates:,} gates and a head of "
               f"{entries:,} counted signals in {net.n_classes:,} classes ...", err=True)
    try:
        paths = write_all(net, out, name, **kwargs)
    except (EncoderError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:     # unwritable or impossible --out: one line, not a traceback
        where = exc.filename or out
        raise click.ClickException(f"--out {out}: cannot write {where} "
                                   f"({exc.strerror or exc})") from None
    import json

    side = json.loads(paths["sidecar"].read_text())
    click.echo(f"netlist: {netlist or DEFAULT_NETLIST}: {side['gates_before']} gates -> "
               f"{side['gates_after']} after optimisation, {side['layers_after']} layers, "
               f"{side['classes']} classes")
    click.echo(f"latency: {side['latency']} cycles"
               + ("" if pipeline_every is None else f" ({describe_every(pipeline_every)})"))
    for key in ("verilog", "rtlil", "sidecar"):
        click.echo(f"wrote {paths[key]}")


def _dataset_inputs(net, name, data_root, split, raw_inputs, limit):
    """(port data, description, class names) of a dataset split or a user's file
    (``lgn_hw.datasets.samples``): raw features with ``raw_inputs``, else encoded bits."""
    from lgn_hw.datasets import DatasetError
    from lgn_hw.datasets.samples import netlist_samples

    try:
        s = netlist_samples(net, name, data_root, split, limit=limit)
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from None
    return (s.x if raw_inputs else net.encoding.encode(s.x)), s.what, s.class_names


@click.command("sim")
@click.argument("netlist", required=False, type=click.Path(dir_okay=False))
@options.dataset
@click.option("--random", "n_random", type=click.IntRange(min=1), default=None,
              help="Simulate N random input vectors instead of a dataset.")
@options.data_root
@click.option("--split", type=click.Choice(["test", "train"]), default="test", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Use only the first N samples.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --random.")
@click.option("--simulator", type=click.Choice(["amaranth", "iverilog", "verilator", "both", "all"]),
              default="both", show_default=True,
              help="both: amaranth + iverilog; all: also verilator (compiled: slow to build, "
                   "fast to run, for big models and full test sets).")
@_with_core_options
def sim_command(netlist, dataset, n_random, data_root, split, limit, seed, simulator, raw_inputs,
                pipeline_every, popcount, no_optimize):
    """Simulate the core of NETLIST and check it sample by sample against Netlist.evaluate."""
    from lgn_hw.datasets.samples import class_names, prediction_summary

    from .iverilog import simulate_iverilog
    from .sim import simulate_amaranth
    from .verilator import simulate_verilator
    from .vectors import make_vectors, random_inputs

    if dataset is not None and n_random is not None:
        raise click.UsageError("give either --dataset or --random, not both")
    net = _load(netlist)
    core = _build_core(net, _core_kwargs(raw_inputs, pipeline_every, popcount, no_optimize))
    if n_random is not None:
        data, what = random_inputs(net, n_random, seed, raw_inputs=raw_inputs), "random vectors"
        names = class_names(net)
    else:
        if dataset is None and net.meta.get("dataset") is None:
            raise click.UsageError("give --dataset NAME or --random N (the netlist's meta "
                                   "records no dataset)")
        data, what, names = _dataset_inputs(net, dataset, data_root, split, raw_inputs, limit)
    if limit is not None:
        data = data[:limit]
    try:
        vec = make_vectors(net, data, raw_inputs=raw_inputs)
    except ValueError as exc:  # a raw value the input port cannot take
        raise click.ClickException(f"{what}: {exc}") from None
    mode = ("combinational" if pipeline_every is None else
            f"{describe_every(pipeline_every)}, latency {core.latency}")
    click.echo(f"core: {core.netlist.n_gates} gates in {len(core.netlist.layers)} layers, "
               f"{core.classes} classes, {mode}; {len(vec)} samples ({what})")
    failed = False
    sims = {"both": ["amaranth", "iverilog"], "all": ["amaranth", "iverilog", "verilator"]}
    for sim in sims.get(simulator, [simulator]):
        if sim == "amaranth":
            res = simulate_amaranth(core, vec, progress=True)
        else:
            run = simulate_iverilog if sim == "iverilog" else simulate_verilator
            try:
                res = run(core, vec, progress=True)
            except RuntimeError as exc:  # missing tools, compile/run failure: one line
                raise click.ClickException(str(exc)) from None
        click.echo(res.summary())
        for line in res.details():
            click.echo(line)
        failed |= not res.ok
    click.echo(f"predicted: {prediction_summary(vec.pred, names)}")
    if failed:
        raise click.ClickException("simulation does not match Netlist.evaluate")
