"""Argmax over the class counts (``argmax``): a comparator tree, ties to the lowest class index.

Level by level, neighbours ``(lo, hi)`` (``lo`` the lower class indices) are compared and ``hi``
wins only when its count is strictly greater, so among equal counts the lowest index survives (the
Netlist's rule). An odd one out passes to the next level unchanged. ``C`` classes take
``ceil(log2 C)`` levels; with ``every = k`` the tree registers after every k levels and at its
output (``.latency`` cycles). One class needs no logic: the answer is the constant 0.
"""

from __future__ import annotations

from amaranth.hdl import Const, Elaboratable, Module, Mux, Signal
from amaranth.lib.data import ArrayLayout

from .pipeline import Delays, block_latency, check_every, level_stage

__all__ = ["Argmax", "index_width"]


def index_width(classes: int) -> int:
    """Width of the class index port (at least 1 bit, also for one class)."""
    return max(1, (int(classes) - 1).bit_length())


class Argmax(Elaboratable):
    """``counts`` (``classes`` x ``width`` bits) in, ``index`` of the largest count out."""

    def __init__(self, classes: int, width: int, *, every=None):
        self._MustUse__silence = True  # no warning when the arguments are rejected
        self.classes, self.width = int(classes), int(width)
        if self.classes < 1:
            raise ValueError("argmax needs at least one class")
        self.every = check_every(every)
        self.levels = (self.classes - 1).bit_length()
        self.latency = block_latency(self.levels, self.every)
        self.counts = Signal(ArrayLayout(self.width, self.classes), name="counts")
        self.index = Signal(index_width(self.classes), name="index")

    def elaborate(self, platform):
        m = Module()
        delays = Delays(m, "am")
        # each entry: (count value, index value, level at which it was produced)
        nodes = []
        for c in range(self.classes):
            cnt = Signal(self.width, name=f"c{c}")
            m.d.comb += cnt.eq(self.counts[c])
            nodes.append((cnt, Const(c, len(self.index)), 0))
        level = 0
        while len(nodes) > 1:
            level += 1
            stage = level_stage(level, self.every)
            nxt = []
            for j in range(0, len(nodes) - 1, 2):
                (ca, ia, la), (cb, ib, lb) = nodes[j], nodes[j + 1]
                ca = delays.at(ca, level_stage(la, self.every), stage)
                ia = delays.at(ia, level_stage(la, self.every), stage)
                cb = delays.at(cb, level_stage(lb, self.every), stage)
                ib = delays.at(ib, level_stage(lb, self.every), stage)
                hi = cb > ca  # inline: a named wire would cost a simulator delta cycle
                cnt = Signal(self.width, name=f"c{level}_{j // 2}")
                idx = Signal(len(self.index), name=f"i{level}_{j // 2}")
                m.d.comb += [cnt.eq(Mux(hi, cb, ca)), idx.eq(Mux(hi, ib, ia))]
                nxt.append((cnt, idx, level))
            if len(nodes) % 2:
                nxt.append(nodes[-1])
            nodes = nxt
        _, idx, made = nodes[0]
        m.d.comb += self.index.eq(delays.at(idx, level_stage(made, self.every), self.latency))
        return m
