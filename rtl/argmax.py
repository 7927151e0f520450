"""Argmax over the class counts (``argmax``): the index of the largest count, ties to the lowest.

Two structures (``STRATEGIES``; BENCHMARKS.md *Argmax* has the measurements behind ``DEFAULT``
and the per-family choice):

- ``tree``: level by level, neighbours ``(lo, hi)`` (``lo`` the lower class indices) are compared
  and ``hi`` wins only when its count is strictly greater, so among equal counts the lowest index
  survives (the Netlist's rule); an odd one out passes to the next level unchanged. ``C`` classes
  take ``ceil(log2 C)`` levels. With ``cells`` (a family's ``rtl.cells.HeadCells``) each
  comparison is a carry-chain comparator (two bit pairs per LUT site) and the count and index
  multiplexers go two bits to a dual-output LUT: about half the LUTs of the generic mapping.
- ``race``: most significant bit first, a class stays alive while no alive class has a 1 where it
  has a 0; the lowest alive class wins. No carry chains: on iCE40 this needs fewer logic cells
  (the generic tree's comparators become carry chains whose ends cost nextpnr pass-through cells).
  ``width`` levels, one per count bit.

With ``every = k`` the structure registers after every k levels and at its output (``.latency``
cycles). One class needs no logic: the answer is the constant 0.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Elaboratable, Module, Mux, Signal
from amaranth.lib.data import ArrayLayout

from .pipeline import Delays, block_latency, check_every, level_stage

__all__ = ["Argmax", "index_width", "STRATEGIES", "DEFAULT"]

STRATEGIES = ("tree", "race")
DEFAULT = "tree"


def index_width(classes: int) -> int:
    """Width of the class index port (at least 1 bit, also for one class)."""
    return max(1, (int(classes) - 1).bit_length())


class Argmax(Elaboratable):
    """``counts`` (``classes`` x ``width`` bits) in, ``index`` of the largest count out."""

    def __init__(self, classes: int, width: int, *, every=None, strategy: str = DEFAULT,
                 cells=None):
        self._MustUse__silence = True  # no warning when the arguments are rejected
        self.classes, self.width = int(classes), int(width)
        if self.classes < 1:
            raise ValueError("argmax needs at least one class")
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown argmax strategy {strategy!r} "
                             f"(expected one of {', '.join(STRATEGIES)})")
        self.strategy, self.cells = strategy, cells
        self.every = check_every(every)
        if self.classes == 1:
            self.levels = 0
        elif strategy == "race":
            self.levels = self.width
        else:
            self.levels = (self.classes - 1).bit_length()
        self.latency = block_latency(self.levels, self.every)
        self.counts = Signal(ArrayLayout(self.width, self.classes), name="counts")
        self.index = Signal(index_width(self.classes), name="index")

    def elaborate(self, platform):
        m = Module()
        delays = Delays(m, "am")
        if self.classes == 1:
            m.d.comb += self.index.eq(0)
        elif self.strategy == "race":
            self._race(m, delays)
        else:
            self._tree(m, delays)
        return m

    def _at(self, delays, value, made, level):
        return delays.at(value, level_stage(made, self.every), level_stage(level, self.every))

    def _tree(self, m, delays):
        iw = len(self.index)
        # each entry: (count bits, index bits, level at which it was produced)
        nodes = []
        for c in range(self.classes):
            cnt = Signal(self.width, name=f"c{c}")
            m.d.comb += cnt.eq(self.counts[c])
            nodes.append((cnt, [Const((c >> k) & 1, 1) for k in range(iw)], 0))
        level = 0
        while len(nodes) > 1:
            level += 1
            nxt = []
            last = len(nodes) == 2
            for j in range(0, len(nodes) - 1, 2):
                (ca, ia, la), (cb, ib, lb) = nodes[j], nodes[j + 1]
                ca, cb = self._at(delays, ca, la, level), self._at(delays, cb, lb, level)
                ia = [self._at(delays, b, la, level) for b in ia]
                ib = [self._at(delays, b, lb, level) for b in ib]
                cnt = Signal(self.width, name=f"c{level}_{j // 2}")
                if self.cells is None:
                    idx = Signal(iw, name=f"i{level}_{j // 2}")
                    hi = cb > ca  # inline: a named wire would cost a simulator delta cycle
                    m.d.comb += [cnt.eq(Mux(hi, cb, ca)), idx.eq(Mux(hi, Cat(*ib), Cat(*ia)))]
                    idx = [idx[k] for k in range(iw)]
                else:
                    idx = self._tree_cells(m, f"n{level}_{j // 2}", ca, ia, cb, ib, cnt, last)
                nxt.append((cnt, idx, level))
            if len(nodes) % 2:
                nxt.append(nodes[-1])
            nodes = nxt
        _, idx, made = nodes[0]
        m.d.comb += self.index.eq(Cat(*[delays.at(b, level_stage(made, self.every), self.latency)
                                        for b in idx]))

    def _tree_cells(self, m, name, ca, ia, cb, ib, cnt, last):
        """One node in the family's cells; returns its index bits (constants stay constants)."""
        from .cells import greater, mux_pairs

        hi = greater(m, self.cells, f"{name}_gt", cb, ca)
        pairs = list(zip(ia, ib))
        if not last:  # the root's count is not needed, only its index
            pairs = [(ca[k], cb[k]) for k in range(self.width)] + pairs
        out = mux_pairs(m, self.cells, f"{name}_mx", hi, pairs)
        if not last:
            m.d.comb += cnt.eq(Cat(*out[:self.width]))
        return out[len(out) - len(self.index):]

    def _race(self, m, delays):
        alive, made = [Const(1, 1)] * self.classes, 0
        for level, b in enumerate(reversed(range(self.width)), start=1):
            bits = [self._at(delays, self.counts[c][b], 0, level) for c in range(self.classes)]
            alive = [self._at(delays, a, made, level) for a in alive]
            hit = Cat(*[a & x for a, x in zip(alive, bits)]).any()
            nxt = Signal(self.classes, name=f"alive{b}")
            m.d.comb += nxt.eq(Cat(*[a & (x | ~hit) for a, x in zip(alive, bits)]))
            alive, made = [nxt[c] for c in range(self.classes)], level
        alive = [delays.at(a, level_stage(made, self.every), self.latency) for a in alive]
        # the lowest alive class: bit j of the index is set by the first alive class with bit j
        first, seen = [], Const(0, 1)
        for a in alive:
            first.append(a & ~seen)
            seen = seen | a
        m.d.comb += self.index.eq(Cat(*[
            Cat(*[f for c, f in enumerate(first) if (c >> j) & 1]).any()
            for j in range(len(self.index))]))
