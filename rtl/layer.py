"""One logic layer of a netlist as a combinational Amaranth module (``layer0``, ``layer1``, ...).

Each gate is its truth table indexed by its inputs (``Const(table).bit_select(Cat(inputs), 1)``),
so Yosys maps a gate of fan-in k into one k-input LUT (or fewer, after packing). Inputs a gate's
table does not depend on (the optimiser pads such gates by repeating an input) are dropped first.
The module's input port ``i`` holds the distinct signals the layer reads, in increasing global
index order (``.reads``); its output ``o`` holds the gates in order (bit g of ``o`` is global signal
``first + g``).
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Cat, Const, Elaboratable, Module, Signal

__all__ = ["LutLayer", "reduce_table"]


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


class LutLayer(Elaboratable):
    """Gates ``first .. first+G-1`` of one layer; ``inputs`` are global signal indices."""

    def __init__(self, fan_in: int, inputs, tables, first: int):
        self.fan_in = int(fan_in)
        self.inputs = np.asarray(inputs, dtype=np.int64).reshape(-1, self.fan_in)
        self.tables = np.asarray(tables, dtype=np.uint64).reshape(-1)
        self.first = int(first)
        self.reads = sorted(set(int(s) for s in self.inputs.reshape(-1)))
        self._local = {s: j for j, s in enumerate(self.reads)}
        self.i = Signal(max(1, len(self.reads)), name="i")
        self.o = Signal(len(self.tables), name="o")

    @property
    def n_gates(self) -> int:
        return len(self.tables)

    def elaborate(self, platform):
        m = Module()
        outs = []
        for g in range(self.n_gates):
            table, kept = reduce_table(int(self.tables[g]), self.fan_in)
            if not kept:
                outs.append(Const(table & 1, 1))
            else:
                sel = Cat(*(self.i[self._local[int(self.inputs[g, k])]] for k in kept))
                outs.append(Const(table, 1 << len(kept)).bit_select(sel, 1))
        # one assignment, no per-gate wires: fewer signals make Amaranth's simulator faster
        m.d.comb += self.o.eq(Cat(*outs))
        return m
