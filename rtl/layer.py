"""One logic layer of a netlist as a combinational Amaranth module (``layer0``, ``layer1``, ...).

Each gate is its truth table indexed by its inputs (``Const(table).bit_select(Cat(inputs), 1)``),
so Yosys maps a gate of fan-in k into one k-input LUT (or fewer, after packing). Inputs a gate's
table does not depend on (the optimiser pads such gates by repeating an input) are dropped first.
The module's inputs ``i`` are one 1-bit port per distinct signal the layer reads, in increasing
global index order (``.reads``; port ``s<index>``); its outputs ``o`` one 1-bit port per gate, in
order (port ``g<global signal index>``).

``cells`` (optional) instantiates one vendor LUT primitive per gate instead of the truth-table
expression: ``"xc7"`` (``LUT1``..``LUT6``, ``INIT``), ``"ice40"`` (``SB_LUT4``, ``LUT_INIT``; gates
of up to 4 inputs) or ``"ecp5"`` (``LUT4``, ``INIT``; up to 4 inputs). Gates wider than the
family's primitive keep the expression. The result is the same function, but synthesis no longer
has to turn thousands of 64-entry table lookups into logic and re-map it (``synth_xilinx`` on a
12,000-gate fan-in-6 net took over 20 minutes that way), and every gate costs exactly one LUT.
Instances are opaque to Amaranth's simulator: simulate the expression form (the default), and
check the cell form with the family's cell models (``flows.postsim``, tests/test_lut_cells.py).
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Cat, Const, Elaboratable, Instance, Module, Signal

__all__ = ["LutLayer", "reduce_table", "LUT_CELLS", "lut_instance"]

#: family -> (largest primitive's inputs, description)
LUT_CELLS = {"xc7": (6, "Xilinx LUT1..LUT6"), "ice40": (4, "iCE40 SB_LUT4"), "ecp5": (4, "ECP5 LUT4")}


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


def _widen(table: int, k: int, n: int) -> int:
    """A k-input table as an n-input one that ignores inputs k..n-1 (the table repeated)."""
    out = 0
    for rep in range(1 << (n - k)):
        out |= table << (rep << k)
    return out


def lut_instance(family: str, table: int, inputs: list, output) -> Instance:
    """One vendor LUT cell computing ``table`` (bit p = output for inputs p, input 0 = bit 0)."""
    k = len(inputs)
    if family == "xc7":
        ports = {f"i_I{j}": s for j, s in enumerate(inputs)}
        return Instance(f"LUT{k}", p_INIT=Const(table, 1 << k), o_O=output, **ports)
    if family in ("ice40", "ecp5"):
        if k > 4:
            raise ValueError(f"{family} LUT cells have 4 inputs, got a gate of {k}")
        pins = ["I0", "I1", "I2", "I3"] if family == "ice40" else ["A", "B", "C", "D"]
        ports = {f"i_{pins[j]}": (inputs[j] if j < k else Const(0, 1)) for j in range(4)}
        init = Const(_widen(table, k, 4), 16)
        if family == "ice40":
            return Instance("SB_LUT4", p_LUT_INIT=init, o_O=output, **ports)
        return Instance("LUT4", p_INIT=init, o_Z=output, **ports)
    raise ValueError(f"no LUT cells for family {family!r}; known: {', '.join(LUT_CELLS)}")


class LutLayer(Elaboratable):
    """Gates ``first .. first+G-1`` of one layer; ``inputs`` are global signal indices."""

    def __init__(self, fan_in: int, inputs, tables, first: int, cells: str | None = None):
        if cells is not None and cells not in LUT_CELLS:
            raise ValueError(f"no LUT cells for family {cells!r}; known: {', '.join(LUT_CELLS)}")
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
                if self.cells is not None and len(kept) <= LUT_CELLS[self.cells][0]:
                    m.submodules[f"lut{self.first + g}"] = lut_instance(self.cells, table, ins, self.o[g])
                else:
                    m.d.comb += self.o[g].eq(Const(table, 1 << len(kept)).bit_select(Cat(*ins), 1))
        return m
