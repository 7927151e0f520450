"""GroupSum in hardware (``groupsum``): one popcount per class (``popcount0`` .. ``popcount<C-1>``).

``counts[c] = offsets[c] + (number of ones among groups[c])``, with a signal listed twice in a group
counted twice (it is wired to two popcount inputs). Groups may differ in size, be empty (the count
is then the constant offset) or hold one bit. When pipelined, the classes whose popcount is shallower
are delayed so that all counts leave together, ``.latency`` cycles after the bits arrive.
``cells`` (``rtl.cells.HeadCells``) goes to each popcount (``ternary`` is built from them).
"""

from __future__ import annotations

from amaranth.hdl import Elaboratable, Module, Signal
from amaranth.lib.data import ArrayLayout

from .pipeline import Delays, check_every
from .popcount import DEFAULT, Popcount, count_width

__all__ = ["GroupSum"]


class GroupSum(Elaboratable):
    """Inputs ``i``: one 1-bit port per distinct signal read (``reads``, sorted global indices);
    output ``counts``."""

    def __init__(self, groups, offsets, *, strategy: str = DEFAULT, every=None, cells=None):
        self._MustUse__silence = True  # no warning when the arguments are rejected
        self.groups = [[int(s) for s in g] for g in groups]
        self.offsets = [int(o) for o in offsets]
        if len(self.groups) != len(self.offsets) or not self.groups:
            raise ValueError("GroupSum needs one offset per group and at least one group")
        self.every = check_every(every)
        self.classes = len(self.groups)
        self.width = count_width(max(o + len(g) for o, g in zip(self.offsets, self.groups)))
        self.reads = sorted(set(s for g in self.groups for s in g))
        self._local = {s: j for j, s in enumerate(self.reads)}
        self.popcounts = [Popcount(len(g), o, width=self.width, strategy=strategy, every=every,
                                   cells=cells)
                          for g, o in zip(self.groups, self.offsets)]
        self.latency = max(p.latency for p in self.popcounts)
        self.i = [Signal(name=f"s{s}") for s in self.reads]  # 1-bit ports: see rtl.layer
        self.counts = Signal(ArrayLayout(self.width, self.classes), name="counts")

    def attach(self, sources):
        """Read the signals ``reads`` straight from ``sources`` (see ``LutLayer.attach``)."""
        sources = list(sources)
        if len(sources) != len(self.reads):
            raise ValueError(f"expected {len(self.reads)} sources, got {len(sources)}")
        self.i = sources

    def elaborate(self, platform):
        m = Module()
        delays = Delays(m, "gs")
        for c, (group, pc) in enumerate(zip(self.groups, self.popcounts)):
            m.submodules[f"popcount{c}"] = pc
            pc.i = [self.i[self._local[s]] for s in group]  # read the sources directly
            m.d.comb += self.counts[c].eq(delays.at(pc.o, pc.latency, self.latency))
        return m
