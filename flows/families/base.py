"""What an FPGA family is, as the flows need it: ``Family``, its parts (``Device``) and its P&R.

A family module (``flows/families/ice40.py``, ...) declares one ``Family``; the tool-step modules
(``flows.synth``, ``stat``, ``pnr``, ``postsim``, ``equiv``, ``tools``, ``rtl.layer``'s LUT cells)
ask it and hold no per-family branches, as Amaranth's vendor modules keep everything about one
vendor's toolchain in one place. ``REQUIRED`` lists the fields every family must fill (checked by
``check_family`` and tests/test_flows_families.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

from ..tools import ToolSpec

__all__ = ["Device", "Family", "Pnr", "PnrStep", "check_family", "FamilyError", "RESOURCES"]

#: The resource classes every cell is counted in.
RESOURCES = ("lut", "carry", "ff", "bram", "mux", "io", "other")


class FamilyError(ValueError):
    """A family declaration is incomplete or inconsistent (one line)."""


@dataclass(frozen=True)
class Device:
    """One part of a family: its name, P&R / pack options and datasheet capacity."""

    name: str                          # e.g. "ice40-up5k-sg48"
    family: str                        # key of flows.families.FAMILIES
    lut_k: int                         # inputs of the family's LUT
    pnr_args: tuple[str, ...] = ()     # nextpnr part options; empty = synthesis only
    capacity: dict = field(default_factory=dict)  # {"lut","ff","carry","bram","io"}: count;
    # empty: no chip (generic k-LUTs), so no board-less build target (boards.registry)
    description: str = ""
    synth_args: tuple[str, ...] = ()   # extra options of the family's synthesis command
    pack_args: tuple[str, ...] = ()    # part options of the family's packer

    @property
    def fam(self) -> "Family":
        from . import get_family
        return get_family(self.family)

    @property
    def has_pnr(self) -> bool:
        return bool(self.pnr_args) and self.fam.pnr is not None


@dataclass(frozen=True)
class PnrStep:
    tool: str                  # key of flows.tools (the family's tools or the common ones)
    args: tuple[str, ...]
    log: str
    what: str


@dataclass(frozen=True)
class Pnr:
    """Place & route and packing: ``steps(device, json_in, name, freq_mhz, seed, constraints)``
    returns the ``PnrStep`` list; nextpnr must be asked for ``--report <name>.pnr.json`` and
    given ``--timing-allow-fail`` (lgn-hw judges timing itself, from the report)."""

    nextpnr: str                        # the nextpnr tool (its log is ``<name>.tim``)
    steps: Callable
    bitstream: str                      # file name pattern, "{name}.bin"
    logic_bel: str                      # nextpnr BEL type holding LUTs (utilisation figure)
    constraints: str                    # suffix of Amaranth's pin constraint file (".pcf")
    #: regex of constraint-file lines that lgn-hw replaces with ``--freq`` (clock constraints)
    clock_lines: str | None = None
    #: nextpnr refuses unconstrained I/O: only boards (with pin files) are placed and routed
    pins_required: bool = False


@dataclass(frozen=True)
class Family:
    name: str
    description: str
    lut_k: int
    synth: str                     # Yosys command, "{top}" and "{args}" substituted
    cells: tuple                   # ((regex over cell type, resource), ...) first match wins
    sim_models: tuple              # cell models, relative to Yosys's share directory
    parts: tuple                   # Device, ...
    default_part: str
    tools: tuple = ()              # ToolSpec of the family's own tools (P&R, packer)
    sim_defines: tuple = ()        # `define lines prepended to the cell models
    formal: str | None = None      # "models": proofs read the cell models; "plain": no models
    # needed (generic $lut cells); None: no formal check (use post-synthesis simulation)
    lut_cell: object = None        # rtl.layer.LutCell, or None: no --lut-cells
    head_cells: object = None      # rtl.cells.HeadCells used with --lut-cells by the head, or None
    popcount: str = "tree"         # default rtl.popcount strategy (the smallest measured here)
    argmax: str = "tree"           # default rtl.argmax strategy
    pnr: Pnr | None = None
    default_clock_mhz: float = 12.0   # clock of a board-less build
    notes: str = ""

    def synth_command(self, device: Device, top: str) -> str:
        return self.synth.format(top=top, args=" ".join(device.synth_args)).replace("  ", " ") \
            .strip()

    @cached_property
    def _cell_rules(self):
        return [(re.compile(rx), res) for rx, res in self.cells]

    def classify(self, cell_type: str) -> str:
        t = cell_type.lstrip("\\")
        for rx, res in self._cell_rules:
            if rx.fullmatch(t):
                return res
        return "other"

    def bitstream(self, name: str = "top") -> str | None:
        return self.pnr.bitstream.format(name=name) if self.pnr else None


REQUIRED = ("name", "description", "lut_k", "synth", "cells", "sim_models", "parts",
            "default_part")


def check_family(fam: Family) -> Family:
    """Raise ``FamilyError`` naming what a family declaration lacks or gets wrong."""
    where = f"family {getattr(fam, 'name', fam)!r}"
    if not isinstance(fam, Family):
        raise FamilyError(f"{where}: not a Family")
    for f in REQUIRED:
        if not getattr(fam, f):
            raise FamilyError(f"{where}: {f} is missing")
    if "{top}" not in fam.synth:
        raise FamilyError(f"{where}: synth command must name the top module ({{top}})")
    for rx, res in fam.cells:
        re.compile(rx)
        if res not in RESOURCES:
            raise FamilyError(f"{where}: cell rule {rx!r} -> unknown resource {res!r}")
    if "lut" not in {res for _, res in fam.cells}:
        raise FamilyError(f"{where}: no cell is counted as a LUT")
    names = [d.name for d in fam.parts]
    if fam.default_part not in names:
        raise FamilyError(f"{where}: default part {fam.default_part!r} not among {names}")
    for d in fam.parts:
        if d.family != fam.name or d.lut_k != fam.lut_k:
            raise FamilyError(f"{where}: part {d.name} says family {d.family}, LUT{d.lut_k}")
        if d.pnr_args and fam.pnr is None:
            raise FamilyError(f"{where}: part {d.name} has P&R options but the family no P&R")
    if fam.formal not in (None, "models", "plain"):
        raise FamilyError(f"{where}: formal must be None, 'models' or 'plain'")
    tools = {t.name for t in fam.tools}
    if fam.pnr is not None:
        if fam.pnr.nextpnr not in tools:
            raise FamilyError(f"{where}: P&R tool {fam.pnr.nextpnr} not among its tools")
        if not fam.pnr.constraints.startswith(".") or "{name}" not in fam.pnr.bitstream:
            raise FamilyError(f"{where}: P&R constraints suffix / bitstream pattern malformed")
        if not fam.pnr.logic_bel:
            raise FamilyError(f"{where}: P&R logic BEL missing")
        for d in fam.parts:
            if not d.pnr_args:
                continue
            steps = fam.pnr.steps(d, "synth.json", "top", 12.0, 1, None)
            first = steps[0].args if steps else ()
            if not steps or steps[0].tool != fam.pnr.nextpnr or "top.pnr.json" not in first \
                    or "--timing-allow-fail" not in first or "12" not in first:
                raise FamilyError(f"{where}: P&R steps must start with {fam.pnr.nextpnr} "
                                  f"--report top.pnr.json --freq --timing-allow-fail")
            if fam.bitstream("top") not in steps[-1].args:
                raise FamilyError(f"{where}: the last P&R step must write the bitstream")
    if fam.lut_cell is not None:
        from rtl.layer import LutCell
        if not isinstance(fam.lut_cell, LutCell) or not 1 <= fam.lut_cell.k <= fam.lut_k:
            raise FamilyError(f"{where}: lut_cell must be a LutCell of at most {fam.lut_k} inputs")
    from rtl.argmax import STRATEGIES as ARGMAXES
    from rtl.popcount import STRATEGIES as POPCOUNTS
    if fam.popcount not in POPCOUNTS or fam.argmax not in ARGMAXES:
        raise FamilyError(f"{where}: unknown popcount {fam.popcount!r} or argmax {fam.argmax!r}")
    if fam.head_cells is not None:
        from rtl.cells import HeadCells
        if not isinstance(fam.head_cells, HeadCells) or fam.lut_cell is None:
            raise FamilyError(f"{where}: head_cells must be HeadCells, next to a lut_cell")
    for t in fam.tools:
        if not isinstance(t, ToolSpec):
            raise FamilyError(f"{where}: tool {t!r} is not a ToolSpec")
    return fam
