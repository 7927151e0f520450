"""Command-line options shared by several ``lgn-hw`` commands: one definition, one spelling.

``rtl``, ``sim``, ``synth``, ``build``, ``verify`` and ``run`` take the same core options
(``--pipeline-every``, ``--raw-inputs``, ``--popcount``); ``synth`` and ``build`` share
``--no-hierarchy``; ``synth`` and ``verify`` share ``--lut-cells``, ``--argmax`` and
``--resynth`` (so that ``verify`` checks the design ``synth`` counts); ``sim``, ``verify`` and ``run`` share ``--dataset``/``--data-root``. Each is a
decorator here; ``core_options`` applies the first three. Defaults and help texts live here
only, so two commands cannot drift apart.
"""

from __future__ import annotations

import click

from lgn_hw import DATA_ENV

from .argmax import STRATEGIES as ARGMAXES
from .pipeline import click_every
from .popcount import STRATEGIES

__all__ = ["pipeline_every", "raw_inputs", "popcount", "core_options", "no_hierarchy",
           "dataset", "data_root", "argmax", "resynth", "lut_cells"]

pipeline_every = click.option(
    "--pipeline-every", "pipeline_every", type=click_every(), default=None,
    help="Pipeline registers every K logic levels (and inside popcount/argmax), or 'head': one "
         "register stage on the class counts only (fewest flip-flops) [default: "
         "combinational core].")

raw_inputs = click.option(
    "--raw-inputs", is_flag=True,
    help="The core takes raw features and encodes them in hardware (the netlist's encoding; a "
         "real feature arrives as the integer of its fixed-point map) instead of encoded bits "
         "(for run: the board was built so).")

popcount = click.option(
    "--popcount", type=click.Choice(STRATEGIES), default=None,
    help="GroupSum popcount structure; ternary (7-series carry-chain counters, every stage "
         "registered) needs --pipeline-every K and, for synth/verify/build, --target xc7 "
         "--lut-cells [default: the target family's smallest (xc7: lut63, iCE40: tree; "
         "BENCHMARKS.md Popcount); tree where there is no target].")

argmax = click.option(
    "--argmax", type=click.Choice(ARGMAXES), default=None,
    help="Argmax structure [default: the target family's (iCE40: race, fewer logic cells; "
         "others: tree; BENCHMARKS.md Argmax)].")

resynth = click.option(
    "--resynth/--no-resynth", default=True, show_default=True,
    help="Collapse gates into the gates that read them while they fit one of the family's "
         "LUTs (lgn_hw.resynth; exact).")

lut_cells = click.option(
    "--lut-cells", is_flag=True,
    help="One vendor LUT cell per gate (the family's primitive: xc7 LUT1-6, iCE40 SB_LUT4, ECP5 "
         "LUT4, Gowin LUT1-4) instead of truth-table logic: same function, far faster synthesis "
         "of large fan-in-6 nets; on xc7 the argmax also uses LUT6_2 + CARRY4 cells, and with "
         "--raw-inputs the encoder packs its small bits two per LUT6_2.")

no_hierarchy = click.option("--no-hierarchy", is_flag=True,
                            help="Skip the per-stage (hierarchical) synthesis run.")

dataset = click.option(
    "--dataset", default=None,
    help="Dataset whose test split gives the samples, or a .csv/.npz/.npy file read as the "
         "netlist's training data was (docs/data.md) [default: the netlist's meta.dataset; "
         "random vectors if it has none].")

data_root = click.option(
    "--data-root", type=click.Path(file_okay=False), default=None,
    help=f"Folder holding the datasets (default: ${DATA_ENV}, else ~/.cache/lgn-hw/datasets).")


def core_options(fn):
    """``--raw-inputs``, ``--pipeline-every``, ``--popcount``."""
    for opt in (popcount, pipeline_every, raw_inputs):
        fn = opt(fn)
    return fn
