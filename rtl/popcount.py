"""Popcount generators: count the ones among ``n`` bits and add a constant offset.

Five structures, selectable by name (``STRATEGIES``); bench/popcount_luts.py measures them with
Yosys and BENCHMARKS.md (``## Popcount``) records why ``DEFAULT`` is the default:

- ``tree``: an adder tree whose every node is ``a + b + cin`` with a spare input bit as the carry-in:
  a tree of depth d counts ``2**d - 1`` bits, node widths grow by one bit per level, and every
  node's carry-in slot absorbs one input bit for free (a carry chain's CI), so the first level is
  3-input full adders rather than wasteful 1+1-bit adders. The offset is added at the root.
- ``dadda``: Dadda carry-save reduction with explicit 3:2 full adders and 2:2 half adders (XOR /
  majority logic, one LUT level per stage) down to two rows, then one carry-propagate adder. The
  offset enters as constant bits in their columns.
- ``lut63``: 6:3 compressors (one 6-input LUT per output bit), then the carry-in ``tree``.
- ``behavioural``: ``sum(bits) + offset``, left to Yosys (the baseline).
- ``ternary``: for **pipelined** cores only; built from 7-series cells (``LUT6_2`` + ``CARRY4``,
  :mod:`rtl.cells`: the family's cells when ``cells`` is given, else the same tables and carry
  equations as expressions, which Amaranth's simulator runs). Column compression by carry-chain
  6:3 counters (two ``LUT6_2`` on two ``CARRY4`` stages count 5 bits in the LUTs plus one on
  ``CYINIT``), stage after stage, then one carry-chain ternary adder (one ``LUT6_2`` per output
  bit: ``O6`` the propagate, ``O5`` the majority the next bit adds). Every stage registers all its
  outputs, so every carry-chain output that leaves a slice site goes into a flip-flop
  (docs/hardware.md, *Compressor trees on carry chains*): the structure refuses a combinational
  or ``head`` core, and its latency is its number of stages whatever ``every`` is.

Each structure is a sequence of levels; with ``every = k`` the module registers after every k
levels (see :mod:`rtl.pipeline`) and ``.latency`` is the number of cycles from ``i`` to ``o``.
"""

from __future__ import annotations

from functools import reduce
from operator import add

from amaranth.hdl import Cat, Const, Elaboratable, Module, Signal

from .cells import carry4, lut6_2
from .pipeline import Delays, block_latency, check_every, level_stage

__all__ = ["STRATEGIES", "DEFAULT", "REGISTERED", "Popcount", "count_width", "popcount_levels",
           "check_registered"]

STRATEGIES = ("tree", "lut63", "dadda", "behavioural", "ternary")
#: structures that register every one of their stages (they need an integer ``every``)
REGISTERED = ("ternary",)
DEFAULT = "tree"

_DADDA = [2]
while _DADDA[-1] < 1 << 20:
    _DADDA.append(_DADDA[-1] * 3 // 2)


def _balanced_sum(xs):
    """``sum(xs)`` as a balanced expression (a linear chain of 800 terms overflows Python's
    recursion limit in Amaranth's transformers); Yosys still sees one adder expression."""
    xs = list(xs)
    while len(xs) > 1:
        xs = [xs[i] + xs[i + 1] if i + 1 < len(xs) else xs[i] for i in range(0, len(xs), 2)]
    return xs[0]


def count_width(max_value: int) -> int:
    """Bits needed for counts up to ``max_value`` (at least 1)."""
    return max(1, int(max_value).bit_length())


def _dadda_plan(n: int, offset: int) -> list:
    """Column heights before the reduction (bits plus the offset's constant bits)."""
    heights = [n] + [0] * max(0, offset.bit_length())
    for j in range(offset.bit_length()):
        heights[j] += (offset >> j) & 1
    return heights


def check_registered(strategy, every) -> None:
    """One-line ``ValueError`` when ``strategy`` registers every stage and ``every`` is not an
    integer pipeline (a combinational core or ``head``)."""
    if strategy in REGISTERED and (every is None or isinstance(every, str)):
        how = "a combinational core" if every is None else f"--pipeline-every {every}"
        raise ValueError(f"popcount {strategy!r} registers every carry-chain stage, so it needs "
                         f"a pipelined core (--pipeline-every K), not {how}")


def popcount_levels(n: int, offset: int = 0, strategy: str = DEFAULT) -> int:
    """Number of logic levels of a popcount (what ``every`` cuts into stages)."""
    every = 1 if strategy in REGISTERED else None
    return Popcount(n, offset, strategy=strategy, every=every).levels


class Popcount(Elaboratable):
    """``o = offset + popcount(i)``, ``width`` bits wide (must hold ``n + offset``)."""

    def __init__(self, n: int, offset: int = 0, *, width=None, strategy: str = DEFAULT,
                 every=None, cells=None):
        self._MustUse__silence = True  # no warning when the arguments are rejected below
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
        check_registered(strategy, self.every)
        self.cells = cells  # rtl.cells.HeadCells for ternary's cells (None: expressions)
        # the stages the structure is cut into: a registered structure registers every level
        self._stage_every = 1 if strategy in REGISTERED else self.every
        self.i = [Signal(name=f"b{k}") for k in range(self.n)]  # 1-bit ports: see rtl.layer
        self.o = Signal(self.width, name="o")
        scratch = Module()  # a dry run of the structure, to know its depth before elaboration
        scratch._MustUse__silence = True
        self.levels = self._construct(scratch, None)[1]
        self.latency = block_latency(self.levels, self._stage_every)

    # -- helpers ---------------------------------------------------------------------------
    def _get(self, item, level):
        """Operand ``item = (value, produced_level)`` as seen by logic at ``level``."""
        value, made = item
        every = self._every_now
        return self._delays.at(value, level_stage(made, every), level_stage(level, every))

    def _finish(self, m, value, made):
        out = self._delays.at(value, level_stage(made, self._stage_every), self.latency)
        assert made == self.levels, "structure differs from its dry run"
        m.d.comb += self.o.eq(out)

    def _construct(self, m, every):
        """Build the structure into ``m``; ``(value, level)`` of the result (None for n = 0)."""
        self._every_now = every
        self._delays = Delays(m, "pc")
        self._count = 0
        self._levels_m = {}
        if self.n == 0:
            return None, 0
        bits = [(self.i[k], 0) for k in range(self.n)]
        return getattr(self, f"_build_{self.strategy}")(m, bits)

    def elaborate(self, platform):
        m = Module()
        value, made = self._construct(m, self._stage_every)
        if value is None:
            m.d.comb += self.o.eq(self.offset)
        else:
            self._finish(m, value, made)
        return m

    def _node(self, m, width, expr_fn, operands, level, prefix="s", keep=False):
        """A wire holding ``expr_fn`` of the operands as seen at ``level``."""
        expr = expr_fn(*(self._get(op, level) for op in operands))
        sig = Signal(width, name=f"{prefix}{self._count}", attrs={"keep": 1} if keep else {})
        self._count += 1
        self._level_module(m, level).d.comb += sig.eq(expr)
        return sig

    def _level_module(self, m, level):
        """The submodule ``l<level>`` holding that level's logic. One module per level lets
        Amaranth's simulator evaluate each level once per sample: within one module a chain of
        d wires costs d re-runs of the whole module (reads see the previous delta's values)."""
        if level not in self._levels_m:
            sub = Module()
            sub._MustUse__silence = True  # the dry run in __init__ builds throwaway levels
            m.submodules[f"l{level}"] = sub
            self._levels_m[level] = sub
        return self._levels_m[level]

    # -- strategies ------------------------------------------------------------------------
    def _build_behavioural(self, m, bits):
        if self.n == 1 and not self.offset:
            return bits[0]
        sig = self._node(m, self.width, lambda *xs: _balanced_sum(xs) + self.offset, bits, 1)
        return sig, 1

    def _tree(self, m, leaves, spare):
        """Balanced adder tree over ``leaves`` (``(value, level, max)`` numbers); every node adds
        a bit from ``spare`` as its carry-in while there are any. Node wires carry ``keep`` so that
        Yosys maps each node to its own carry chain instead of merging the whole tree into one
        ``$macc`` (which it then builds from 2-LUT full adders)."""
        if len(leaves) == 1:
            return leaves[0]
        h = len(leaves) // 2
        a, b = self._tree(m, leaves[:h], spare), self._tree(m, leaves[h:], spare)
        ops, top = [a[:2], b[:2]], a[2] + b[2]
        if spare:
            ops.append(spare.pop())
            top += 1
        level = 1 + max(op[1] for op in ops)
        return self._node(m, count_width(top), lambda *xs: reduce(add, xs), ops, level, "t",
                          keep=True), level, top

    def _sum(self, m, numbers, spare):
        """Sum of ``numbers`` and ``spare`` bits: spare bits beyond the tree's carry-in slots
        become 1-bit leaves themselves."""
        spare = list(spare)
        extra = max(0, -(-(len(spare) - len(numbers) + 1) // 2))
        leaves = list(numbers) + [(v, lv, 1) for v, lv in spare[:extra]]
        value, level, top = self._tree(m, leaves, spare[extra:][::-1])
        if self.offset:
            level += 1
            value = self._node(m, self.width, lambda x: x + self.offset, [(value, level - 1)],
                               level, "off")
        return value, level

    def _build_tree(self, m, bits):
        return self._sum(m, [], bits)

    def _build_lut63(self, m, bits):
        groups = (self.n + 1) // 7
        numbers = []
        for g in range(groups):
            sel = Cat(*(self._get(b, 1) for b in bits[6 * g:6 * g + 6]))
            outs = []
            for j in range(3):
                table = sum(((p.bit_count() >> j) & 1) << p for p in range(64))
                outs.append(Const(table, 64).bit_select(sel, 1))
            sig = Signal(3, name=f"c{g}", attrs={"keep": 1})
            m.d.comb += sig.eq(Cat(*outs))
            numbers.append((sig, 1, 6))
        return self._sum(m, numbers, bits[6 * groups:])

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
            level_in = max(c[0][1] for c in cols if c)
            row = [self._get(c[0], level_in) if c else Const(0, 1) for c in cols]
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

    # -- ternary: carry-chain counters and a ternary adder (7-series cells) --------------------
    def _bit(self, m, level, value):
        """A named 1-bit wire for one output of a level (each is read, and registered, once)."""
        sig = Signal(name=f"x{self._count}")
        self._count += 1
        self._level_module(m, level).d.comb += sig.eq(value)
        return sig

    def _emit(self, m, level, cols, c, bit, j, lo, hi):
        """Put output ``bit`` (bit ``j`` of a sum known to lie in ``lo..hi``) in column ``c``: as
        a constant where every such sum has the same bit ``j``, not at all above the count's
        width (such a bit is always 0: every bit adds a non-negative amount to the count)."""
        if c >= len(cols):
            return
        seen = {(v >> j) & 1 for v in range(lo, hi + 1)}
        if seen == {0}:
            return
        if seen == {1}:
            cols[c].append((Const(1, 1), 0))
        else:
            cols[c].append((self._bit(m, level, bit), level))

    def _counter(self, m, items, level, col, cols):
        """A 6:3 counter on a carry chain. Five bits feed two LUT6_2: stage 0 ``S`` = their
        parity, ``DI`` = 0 (``O5``); stage 1 ``S`` = bit 1 of their count, ``DI`` = bit 2 (``O5``);
        the sixth bit enters on ``CYINIT``. Outputs ``O0`` (column ``col``), ``O1`` (``col + 1``)
        and ``CO1`` (``col + 2``): the count of all six."""
        lm = self._level_module(m, level)
        vals = [self._get(it, level) for it in items]
        # constants into the LUT tables, a real bit on CYINIT (the AX pin) when six are counted
        order = ([v for v in vals if isinstance(v, Const)]
                 + [v for v in vals if not isinstance(v, Const)])
        e = order.pop() if len(order) == 6 else Const(0, 1)
        lo = sum(v.value for v in vals if isinstance(v, Const))
        hi = lo + sum(1 for v in vals if not isinstance(v, Const))
        name = f"k{self._count}"
        self._count += 1

        def init(f6, f5):
            return sum(((f6(q.bit_count()) << 32) | f5(q.bit_count())) << q for q in range(32))

        s0, d0 = lut6_2(lm, self.cells, f"{name}_l0", init(lambda x: x & 1, lambda x: 0), order)
        s1, d1 = lut6_2(lm, self.cells, f"{name}_l1",
                        init(lambda x: (x >> 1) & 1, lambda x: (x >> 2) & 1), order)
        o, co = carry4(lm, self.cells, f"{name}_c", Const(0, 1), e, [d0, d1], [s0, s1])
        for j, (bit, c) in enumerate([(o[0], col), (o[1], col + 1), (co[1], col + 2)]):
            self._emit(m, level, cols, c, bit, j, lo, hi)

    def _ternary_adder(self, m, cols, level, width):
        """The last stage: one carry chain over all columns (at most four bits in column 0,
        three in the others). Bit j's LUT6_2 reads its column's a, b, c and ``y`` (column 0: the
        fourth bit; above: bit j-1's ``O5``): ``O6 = a^b^c^y`` drives ``S``, ``DI = y``,
        ``O5 = maj(a, b, c)``. The count fits ``width`` bits, so the top ``O5`` and carry are 0."""
        lm = self._level_module(m, level)
        xor4 = sum(((q & 15).bit_count() & 1) << q for q in range(32))
        maj3 = sum((1 if (q & 7).bit_count() >= 2 else 0) << q for q in range(32))
        init = (xor4 << 32) | maj3
        y = Const(0, 1)
        ss, ds = [], []
        for j in range(width):
            vals = [self._get(it, level) for it in cols[j]]
            if j == 0 and len(vals) == 4:
                y = vals.pop()
            vals += [Const(0, 1)] * (3 - len(vals))
            s, o5 = lut6_2(lm, self.cells, f"t{j}", init, vals + [y])
            ss.append(s)
            ds.append(y)
            y = o5
        outs, carry = [], Const(0, 1)
        for c in range(0, width, 4):
            o, co = carry4(lm, self.cells, f"tc{c // 4}", carry, Const(0, 1), ds[c:c + 4],
                           ss[c:c + 4])
            outs.extend(o[k] for k in range(min(4, width - c)))
            carry = co[3]
        return self._node(m, width, lambda *xs: Cat(*xs), [(b, level) for b in outs], level,
                          "sum")

    def _build_ternary(self, m, bits):
        width = count_width(self.n + self.offset)
        cols = [list(bits)] + [[] for _ in range(width - 1)]
        for j in range(width):
            if (self.offset >> j) & 1:
                cols[j].append((Const(1, 1), 0))
        cap = [4] + [3] * (width - 1)  # what the ternary adder takes per column
        level = 0
        while any(len(c) > cap[j] for j, c in enumerate(cols)):
            level += 1
            new = [[] for _ in cols]
            for j, col in enumerate(cols):
                col, counted = list(col), False
                # full counters; a partial one for 5 left, or for 4 that would not fit the adder
                while len(col) >= 5 or (len(col) == 4 and len(col) > cap[j] and not counted):
                    take, col = col[:6], col[6:]
                    self._counter(m, take, level, j, new)
                    counted = True
                new[j].extend(col)  # passed on (registered) to the next stage
            cols = new
        level += 1
        return self._ternary_adder(m, cols, level, width), level
