"""Popcount generators: count the ones among ``n`` bits and add a constant offset.

Three structures, selectable by name (``STRATEGIES``); bench/popcount_luts.py measures them with
Yosys and BENCHMARKS.md (``## Popcount``) records why ``DEFAULT`` is the default:

- ``tree``: an adder tree whose every node is ``a + b + cin`` with a spare input bit as the carry-in:
  a tree of depth d counts ``2**d - 1`` bits, node widths grow by one bit per level, and every
  node's carry-in slot absorbs one input bit for free (a carry chain's CI), so the first level is
  3-input full adders rather than wasteful 1+1-bit adders. The offset is added at the root.
- ``dadda``: Dadda carry-save reduction with explicit 3:2 full adders and 2:2 half adders (XOR /
  majority logic, one LUT level per stage) down to two rows, then one carry-propagate adder. The
  offset enters as constant bits in their columns.
- ``behavioural``: ``sum(bits) + offset``, left to Yosys (the baseline).

Each structure is a sequence of levels; with ``every = k`` the module registers after every k
levels (see :mod:`rtl.pipeline`) and ``.latency`` is the number of cycles from ``i`` to ``o``.
"""

from __future__ import annotations

from functools import reduce
from operator import add

from amaranth.hdl import Cat, Const, Elaboratable, Module, Signal

from .pipeline import Delays, block_latency, check_every, level_stage

__all__ = ["STRATEGIES", "DEFAULT", "Popcount", "count_width", "popcount_levels"]

STRATEGIES = ("tree", "dadda", "behavioural")
DEFAULT = "tree"

_DADDA = [2]
while _DADDA[-1] < 1 << 20:
    _DADDA.append(_DADDA[-1] * 3 // 2)


def count_width(max_value: int) -> int:
    """Bits needed for counts up to ``max_value`` (at least 1)."""
    return max(1, int(max_value).bit_length())


def _tree_levels(n: int) -> int:
    if n <= 1:
        return 0
    if n <= 3:
        return 1
    rest = n - 1
    return 1 + max(_tree_levels(rest // 2), _tree_levels(rest - rest // 2))


def _dadda_plan(n: int, offset: int) -> list:
    """Column heights before the reduction (bits plus the offset's constant bits)."""
    heights = [n] + [0] * max(0, offset.bit_length())
    for j in range(offset.bit_length()):
        heights[j] += (offset >> j) & 1
    return heights


def popcount_levels(n: int, offset: int = 0, strategy: str = DEFAULT) -> int:
    """Number of logic levels of a popcount (what ``every`` cuts into stages)."""
    if strategy == "behavioural":
        return 0 if (n == 0 or (n == 1 and offset == 0)) else 1
    if strategy == "tree":
        return _tree_levels(n) + (1 if offset and n else 0)
    heights = _dadda_plan(n, offset)
    stages = sum(1 for d in _DADDA if d < max(heights, default=0))
    return stages + (1 if max(heights, default=0) >= 2 else 0)


class Popcount(Elaboratable):
    """``o = offset + popcount(i)``, ``width`` bits wide (must hold ``n + offset``)."""

    def __init__(self, n: int, offset: int = 0, *, width=None, strategy: str = DEFAULT,
                 every=None):
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown popcount strategy {strategy!r} "
                             f"(expected one of {', '.join(STRATEGIES)})")
        self.n, self.offset = int(n), int(offset)
        if self.n < 0 or self.offset < 0:
            raise ValueError("popcount size and offset must be non-negative")
        self.width = count_width(self.n + self.offset) if width is None else int(width)
        if self.width < count_width(self.n + self.offset):
            raise ValueError(f"width {self.width} cannot hold {self.n + self.offset}")
        self.strategy = strategy
        self.every = check_every(every)
        self.levels = popcount_levels(self.n, self.offset, strategy)
        self.latency = block_latency(self.levels, self.every)
        self.i = Signal(max(1, self.n), name="i")
        self.o = Signal(self.width, name="o")

    # -- helpers ---------------------------------------------------------------------------
    def _get(self, item, level):
        """Operand ``item = (value, produced_level)`` as seen by logic at ``level``."""
        value, made = item
        return self._delays.at(value, level_stage(made, self.every), level_stage(level, self.every))

    def _finish(self, m, value, made):
        out = self._delays.at(value, level_stage(made, self.every), self.latency)
        m.d.comb += self.o.eq(out)

    def elaborate(self, platform):
        m = Module()
        self._delays = Delays(m, "pc")
        self._count = 0
        bits = [(self.i[k], 0) for k in range(self.n)]
        if self.n == 0:
            m.d.comb += self.o.eq(self.offset)
            return m
        value, made = getattr(self, f"_build_{self.strategy}")(m, bits)
        self._finish(m, value, made)
        return m

    def _node(self, m, width, expr_fn, operands, level, prefix="s", wire=True):
        """``expr_fn`` of the operands at ``level``: a named wire, or (``wire=False``, for
        nodes read once) the bare expression, which spares Amaranth's simulator a delta cycle."""
        expr = expr_fn(*(self._get(op, level) for op in operands))
        if not wire:
            return expr[:width]
        sig = Signal(width, name=f"{prefix}{self._count}")
        self._count += 1
        m.d.comb += sig.eq(expr)
        return sig

    # -- strategies ------------------------------------------------------------------------
    def _build_behavioural(self, m, bits):
        if self.n == 1 and not self.offset:
            return bits[0]
        sig = self._node(m, self.width, lambda *xs: reduce(add, xs) + self.offset, bits, 1)
        return sig, 1

    def _tree(self, m, bits):
        """``(value, level, max value)`` of the carry-in adder tree over unit ``bits``."""
        n = len(bits)
        if n == 1:
            return bits[0][0], bits[0][1], 1
        if n <= 3:
            ops, top = list(bits), n
        else:
            rest = bits[1:]
            h = len(rest) // 2
            a, b = self._tree(m, rest[:h]), self._tree(m, rest[h:])
            ops, top = [(a[0], a[1]), (b[0], b[1]), bits[0]], a[2] + b[2] + 1
        level = 1 + max(op[1] for op in ops)
        sig = self._node(m, count_width(top), lambda *xs: reduce(add, xs), ops, level, "t",
                         wire=False)
        return sig, level, top

    def _build_tree(self, m, bits):
        value, level, top = self._tree(m, bits)
        if self.offset:
            level += 1
            value = self._node(m, self.width, lambda x: x + self.offset, [(value, level - 1)],
                               level, "off")
        return value, level

    def _build_dadda(self, m, bits):
        heights = _dadda_plan(self.n, self.offset)
        cols = [[] for _ in range(len(heights) + 2)]
        cols[0] = list(bits)
        for j in range(1, len(heights)):
            if (self.offset >> j) & 1:
                cols[j].append((Const(1, 1), 0))
        if self.offset & 1:
            cols[0].append((Const(1, 1), 0))
        targets = [d for d in _DADDA if d < max(len(c) for c in cols)][::-1]
        level = 0
        for d in targets:
            level += 1
            new = [[] for _ in range(len(cols) + 1)]
            for j in range(len(cols)):
                col = list(cols[j])
                h = len(col) + len(new[j])  # carries already produced into column j
                while h > d:
                    if h - d >= 2:
                        a, b, c = col.pop(), col.pop(), col.pop()
                        s = self._node(m, 1, lambda x, y, z: x ^ y ^ z, [a, b, c], level, "fs")
                        cy = self._node(m, 1, lambda x, y, z: (x & y) | (x & z) | (y & z),
                                        [a, b, c], level, "fc")
                        h -= 2
                    else:
                        a, b = col.pop(), col.pop()
                        s = self._node(m, 1, lambda x, y: x ^ y, [a, b], level, "hs")
                        cy = self._node(m, 1, lambda x, y: x & y, [a, b], level, "hc")
                        h -= 1
                    new[j].append((s, level))
                    new[j + 1].append((cy, level))
                new[j].extend(col)
            cols = new
        while cols and not cols[-1]:
            cols.pop()
        if max(len(c) for c in cols) == 1:  # already one row: just wire it
            level_in = max(c[0][1] for c in cols)
            row = [self._get(c[0], level_in) for c in cols]
            sig = Signal(self.width, name="row")
            m.d.comb += sig.eq(Cat(*row))
            return sig, level_in
        level += 1
        ops_a = [c[0] if c else (Const(0, 1), 0) for c in cols]
        ops_b = [c[1] if len(c) > 1 else (Const(0, 1), 0) for c in cols]
        sig = self._node(m, self.width,
                         lambda *xs: Cat(*xs[:len(cols)]) + Cat(*xs[len(cols):]),
                         ops_a + ops_b, level, "cpa")
        return sig, level
