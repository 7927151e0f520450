"""One logic layer of a netlist as a combinational Amaranth module (``layer0``, ``layer1``, ...).

Each gate is its truth table indexed by its inputs (``Const(table).bit_select(Cat(inputs), 1)``),
so Yosys maps a gate of fan-in k into one k-input LUT (or fewer, after packing). Inputs a gate's
table does not depend on (the optimiser pads such gates by repeating an input) are dropped first.
The module's inputs ``i`` are one 1-bit port per distinct signal the layer reads, in increasing
global index order (``.reads``; port ``s<index>``); its outputs ``o`` one 1-bit port per gate, in
order (port ``g<global signal index>``).

``cells`` (optional) instantiates one vendor LUT primitive per gate instead of the truth-table
expression. It is a :class:`LutCell`: the family's primitive (``name``, its largest input count
``k`` and ``make(table, inputs, output) -> Instance``), declared by the FPGA family modules
(``flows/families/*.py``: Xilinx ``LUT1``..``LUT6``, iCE40 ``SB_LUT4``, ECP5 ``LUT4``, Gowin
``LUT1``..``LUT4``); this module knows no family. Gates wider than ``k`` keep the expression. The
result is the same function, but synthesis no longer has to turn thousands of 64-entry table
lookups into logic and re-map it (``synth_xilinx`` on a 12,000-gate fan-in-6 net took over 20
minutes that way), and every gate costs exactly one LUT. Instances are opaque to Amaranth's
simulator: simulate the expression form (the default), and check the cell form with the family's
cell models (``flows.postsim``, tests/test_lut_cells.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from amaranth.hdl import Cat, Const, Elaboratable, Module, Signal

__all__ = ["LutLayer", "LutCell", "reduce_table", "widen_table"]


@dataclass(frozen=True)
class LutCell:
    """A vendor LUT primitive: ``make(table, inputs, output)`` returns one cell computing
    ``table`` (bit p = output for inputs p, input 0 = bit 0) for 1..``k`` inputs."""

    name: str
    k: int
    make: Callable

    def __str__(self) -> str:
        return self.name


def reduce_table(table: int, n: int) -> tuple[int, list]:
    """``(table', kept)``: the table restricted to the inputs it depends on, and their positions."""
    kept = []
    for k in range(n):
        step = 1 << k
        depends = any(((table >> p) & 1) != ((table >> (p | step)) & 1)
                      for p in range(1 << n) if not p & step)
        if depends:
            kept.append(k)
    if len(kept) == n:
        return table, kept
    out = 0
    for q in range(1 << len(kept)):
        p = 0
        for j, k in enumerate(kept):
            if (q >> j) & 1:
                p |= 1 << k
        out |= ((table >> p) & 1) << q
    return out, kept


def widen_table(table: int, k: int, n: int) -> int:
    """A k-input table as an n-input one that ignores inputs k..n-1 (the table repeated)."""
    out = 0
    for rep in range(1 << (n - k)):
        out |= table << (rep << k)
    return out


class LutLayer(Elaboratable):
    """Gates ``first .. first+G-1`` of one layer; ``inputs`` are global signal indices."""

    def __init__(self, fan_in: int, inputs, tables, first: int, cells: LutCell | None = None):
        if cells is not None and not isinstance(cells, LutCell):
            raise ValueError(f"cells must be a LutCell (a family's LUT primitive), got {cells!r}")
        self.cells = cells
        self.fan_in = int(fan_in)
        self.inputs = np.asarray(inputs, dtype=np.int64).reshape(-1, self.fan_in)
        self.tables = np.asarray(tables, dtype=np.uint64).reshape(-1)
        self.first = int(first)
        self.reads = sorted(set(int(s) for s in self.inputs.reshape(-1)))
        self._local = {s: j for j, s in enumerate(self.reads)}
        # one 1-bit port per signal read and per gate, not vectors: an event-driven simulator
        # (Icarus) then re-evaluates only the gates whose inputs changed, instead of every gate
        # that part-selects a wide vector each time any bit of it changes
        self.i = [Signal(name=f"s{s}") for s in self.reads]
        self.o = [Signal(name=f"g{self.first + g}") for g in range(len(self.tables))]

    def attach(self, sources):
        """Read the signals ``reads`` straight from ``sources`` (Values owned by other modules,
        in ``reads`` order) instead of through the placeholder ports: no copy statements, so one
        simulator delta cycle less per layer, and Amaranth infers the ports."""
        sources = list(sources)
        if len(sources) != len(self.reads):
            raise ValueError(f"expected {len(self.reads)} sources, got {len(sources)}")
        self.i = sources

    @property
    def n_gates(self) -> int:
        return len(self.tables)

    def elaborate(self, platform):
        m = Module()
        for g in range(self.n_gates):
            table, kept = reduce_table(int(self.tables[g]), self.fan_in)
            if not kept:
                m.d.comb += self.o[g].eq(table & 1)
            else:
                ins = [self.i[self._local[int(self.inputs[g, k])]] for k in kept]
                if self.cells is not None and len(kept) <= self.cells.k:
                    m.submodules[f"lut{self.first + g}"] = self.cells.make(table, ins, self.o[g])
                else:
                    m.d.comb += self.o[g].eq(Const(table, 1 << len(kept)).bit_select(Cat(*ins), 1))
        return m
