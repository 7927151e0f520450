"""The netlist as one Boolean graph: the shared middle of the C and HLS exports.

:class:`Graph` holds operations over one-bit signals (``const``, ``in``, ``not``, ``and``, ``or``,
``xor``, ``andn`` = ``a & ~b``), hash-consed so that every distinct operation exists once (shared
subexpressions across gates), with constants folded and local identities applied on construction
(``a & a``, ``a ^ ~b``, ``~~a``, ...). :func:`build` puts a whole netlist in one graph: input bits
(or constants, for encoder bits that the input type decides), every gate as the formula of
:mod:`lgn_hw.export.minimize`, the GroupSum as a carry-save adder per class (offsets and
multiplicities included) and the argmax as a ripple comparator chain with ties to the lowest class.
Dead logic (anything no output needs) is dropped when the graph is :meth:`Graph.pruned`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .minimize import CONST0, CONST1, TMP, programs

__all__ = ["Graph", "Program", "build", "build_gates", "BINARY"]

BINARY = ("and", "or", "xor", "andn")
ZERO, ONE = 0, 1


class Graph:
    """Nodes ``(op, a, b)`` in topological order; node 0 is constant 0, node 1 constant 1."""

    def __init__(self):
        self.nodes: list = [("const", 0, 0), ("const", 1, 0)]
        self._index: dict = {}

    def _add(self, op, a=0, b=0) -> int:
        key = (op, a, b)
        node = self._index.get(key)
        if node is None:
            node = self._index[key] = len(self.nodes)
            self.nodes.append(key)
        return node

    def _neg(self, a):
        """``x`` if node ``a`` is ``~x``, else None."""
        op, x, _ = self.nodes[a]
        return x if op == "not" else None

    def input(self, i: int) -> int:
        return self._add("in", int(i))

    def const(self, v) -> int:
        return ONE if v else ZERO

    def not_(self, a):
        if a <= ONE:
            return ONE - a
        x = self._neg(a)
        return x if x is not None else self._add("not", a)

    def and_(self, a, b):
        a, b = min(a, b), max(a, b)
        if a == ZERO or a == b:
            return a
        if a == ONE:
            return b
        na, nb = self._neg(a), self._neg(b)
        if na == b or nb == a:
            return ZERO
        if na is not None and nb is not None:
            return self.not_(self.or_(na, nb))
        if nb is not None:
            return self.andn(a, nb)
        if na is not None:
            return self.andn(b, na)
        return self._add("and", a, b)

    def or_(self, a, b):
        a, b = min(a, b), max(a, b)
        if a == ONE or a == b:
            return a
        if a == ZERO:
            return b
        na, nb = self._neg(a), self._neg(b)
        if na == b or nb == a:
            return ONE
        if na is not None and nb is not None:
            return self.not_(self.and_(na, nb))
        return self._add("or", a, b)

    def xor(self, a, b):
        a, b = min(a, b), max(a, b)
        if a == b:
            return ZERO
        if a == ZERO:
            return b
        if a == ONE:
            return self.not_(b)
        na, nb = self._neg(a), self._neg(b)
        if na is not None or nb is not None:  # move the negation out, where it may cancel
            inner = self.xor(a if na is None else na, b if nb is None else nb)
            return inner if na is not None and nb is not None else self.not_(inner)
        return self._add("xor", a, b)

    def andn(self, a, b):
        """``a & ~b``."""
        if a == ZERO or b == ONE or a == b:
            return ZERO
        if b == ZERO:
            return a
        if a == ONE:
            return self.not_(b)
        na, nb = self._neg(a), self._neg(b)
        if nb is not None:
            return self.and_(a, nb)
        if na == b:  # ~b & ~b
            return a
        if na is not None:
            return self.not_(self.or_(na, b))
        return self._add("andn", a, b)

    def op(self, name, a, b=None):
        if name == "not":
            return self.not_(a)
        return {"and": self.and_, "or": self.or_, "xor": self.xor, "andn": self.andn}[name](a, b)

    def run(self, program, inputs) -> int:
        """The node computed by a program of :mod:`lgn_hw.export.minimize` whose input ``k`` is
        node ``inputs[k]``."""
        ops, res = program
        vals = dict(enumerate(inputs))
        vals[CONST0], vals[CONST1] = ZERO, ONE
        for i, (op, a, b) in enumerate(ops):
            vals[TMP + i] = self.op(op, vals[a], vals[b] if b >= 0 else None)
        return vals[res]

    def pruned(self, outputs, keep_ids=False):
        """``(graph, outputs)``: a copy holding only the nodes the outputs need (nested lists of
        node ids, returned renumbered), constants kept at 0 and 1; with ``keep_ids`` also the
        original id of every kept node."""
        live = np.zeros(len(self.nodes), dtype=bool)
        live[:2] = True
        stack = [o for o in _flatten(outputs)]
        while stack:
            n = stack.pop()
            if live[n]:
                continue
            live[n] = True
            op, a, b = self.nodes[n]
            if op in BINARY:
                stack += [a, b]
            elif op == "not":
                stack.append(a)
        new = np.cumsum(live) - 1
        g = Graph()
        g.nodes = [self._remap(self.nodes[n], new) for n in np.flatnonzero(live)]
        g._index = {key: i for i, key in enumerate(g.nodes) if key[0] != "const"}
        if keep_ids:
            return g, _renumber(outputs, new), np.flatnonzero(live)
        return g, _renumber(outputs, new)

    @staticmethod
    def _remap(node, new):
        op, a, b = node
        if op in BINARY:
            return (op, int(new[a]), int(new[b]))
        if op == "not":
            return (op, int(new[a]), 0)
        return node

    def schedule(self, outputs) -> list:
        """The operation nodes the outputs need, in an order that keeps few values alive: a
        depth-first post-order from the outputs (each value is computed just before its first
        use; with local wiring a sliding window of the network is live, not whole layers)."""
        order, seen = [], set()
        for o in _flatten(outputs):
            stack = [(o, False)]
            while stack:
                n, ready = stack.pop()
                if n in seen:
                    continue
                op, a, b = self.nodes[n]
                if op in ("const", "in"):
                    continue
                if ready:
                    seen.add(n)
                    order.append(n)
                    continue
                stack.append((n, True))
                stack += [(m, False) for m in ((b, a) if op in BINARY else (a,))]
        return order

    def n_ops(self) -> int:
        """Boolean operations in the graph (constants and inputs excluded)."""
        return sum(1 for op, _, _ in self.nodes if op not in ("const", "in"))


def _flatten(x):
    if isinstance(x, (list, tuple)):
        for y in x:
            yield from _flatten(y)
    else:
        yield int(x)


def _renumber(x, new):
    if isinstance(x, (list, tuple)):
        return [_renumber(y, new) for y in x]
    return int(new[x])


@dataclass
class Program:
    """A pruned graph and what its outputs mean: ``class_bits[j]`` is bit ``j`` of the predicted
    class, ``count_bits[c][j]`` bit ``j`` of class ``c``'s count; ``inputs`` the input bits read.
    ``gate_ops`` / ``head_ops`` split the operation count between the gates and the head."""

    graph: Graph
    class_bits: list
    count_bits: list
    inputs: list
    gate_ops: int
    head_ops: int

    def n_ops(self) -> int:
        return self.gate_ops + self.head_ops

    def evaluate(self, words: np.ndarray):
        """Reference evaluation of the graph on packed input words ``uint64[n_inputs, W]``
        (``lgn_hw.netlist.pack_samples``): ``(counts int64[64 W, C], pred int64[64 W])``."""
        w = words.shape[1]
        val = np.empty((len(self.graph.nodes), w), dtype=np.uint64)
        val[0], val[1] = 0, ~np.uint64(0)
        for n, (op, a, b) in enumerate(self.graph.nodes[2:], start=2):
            if op == "in":
                val[n] = words[a]
            elif op == "not":
                val[n] = ~val[a]
            elif op == "and":
                val[n] = val[a] & val[b]
            elif op == "or":
                val[n] = val[a] | val[b]
            elif op == "xor":
                val[n] = val[a] ^ val[b]
            else:
                val[n] = val[a] & ~val[b]

        def number(bits):
            planes = np.unpackbits(val[bits].view(np.uint8), axis=1, bitorder="little")
            return (planes.astype(np.int64) << np.arange(len(bits))[:, None]).sum(axis=0)

        counts = np.stack([number(c) for c in self.count_bits], axis=1)
        return counts, number(self.class_bits)


def _popcount(g: Graph, bits: list, offset: int) -> list:
    """Bits (LSB first) of ``offset + sum(bits)``: full adders on each column until one bit is
    left, the carries moving up a column."""
    cols = [list(bits)]
    j = 0
    while offset >> j:
        if offset >> j & 1:
            while len(cols) <= j:
                cols.append([])
            cols[j].append(ONE)
        j += 1
    out = []
    j = 0
    while j < len(cols):
        col = cols[j]
        while len(col) >= 2:
            if len(col) >= 3:
                a, b, c = col.pop(0), col.pop(0), col.pop(0)
                ab = g.xor(a, b)
                s, carry = g.xor(ab, c), g.or_(g.and_(a, b), g.and_(c, ab))
            else:
                a, b = col.pop(0), col.pop(0)
                s, carry = g.xor(a, b), g.and_(a, b)
            col.append(s)
            if j + 1 == len(cols):
                cols.append([])
            cols[j + 1].append(carry)
        out.append(col[0] if col else ZERO)
        j += 1
    return out or [ZERO]


def _argmax(g: Graph, counts: list) -> list:
    """Bits of the first class with the largest count: a running maximum, replaced only when a
    later class is strictly greater (``a > b`` as the carry of ``a + ~b``)."""
    width = max(len(c) for c in counts)
    pad = [list(c) + [ZERO] * (width - len(c)) for c in counts]
    n_idx = max(1, (len(counts) - 1).bit_length())
    best, idx = pad[0], [ZERO] * n_idx
    for c in range(1, len(counts)):
        a, gt = pad[c], ZERO
        for j in range(width):  # gt = maj(a_j, ~b_j, gt)
            gt = g.xor(gt, g.andn(g.xor(a[j], gt), g.xor(best[j], gt)))
        best = [g.xor(b, g.and_(gt, g.xor(x, b))) for x, b in zip(a, best)]
        idx = [g.or_(i, gt) if c >> j & 1 else g.andn(i, gt) for j, i in enumerate(idx)]
    return idx


def _gates(netlist, const_inputs):
    """``(graph, sig)``: every gate in one graph; ``sig[s]`` is the node of signal ``s``."""
    g = Graph()
    const_inputs = const_inputs or {}
    sig = [g.const(const_inputs[i]) if i in const_inputs else g.input(i)
           for i in range(netlist.n_inputs)]
    for layer in netlist.layers:
        for row, prog in zip(layer.inputs.tolist(), programs(layer.tables, layer.fan_in)):
            sig.append(g.run(prog, [sig[s] for s in row]))
    return g, sig


def build_gates(netlist, const_inputs=None):
    """``(graph, groups)``: the pruned graph of the gates that the head reads, and for each class
    the nodes it counts (with multiplicity); for code whose head is integer arithmetic (HLS)."""
    g, sig = _gates(netlist, const_inputs)
    return g.pruned([[sig[int(s)] for s in grp] for grp in netlist.head.groups])


def build(netlist, const_inputs=None) -> Program:
    """The whole netlist as a pruned :class:`Program`. ``const_inputs`` maps input bits that are
    constant (e.g. a threshold the input type decides) to 0/1."""
    g, sig = _gates(netlist, const_inputs)
    gate_outputs = [[sig[int(s)] for s in grp] for grp in netlist.head.groups]
    n_gate_nodes = len(g.nodes)  # nodes made after this belong to the head
    counts = [_popcount(g, bits, int(off)) for bits, off in zip(gate_outputs, netlist.head.offsets)]
    cls = _argmax(g, counts)
    pg, (cls, counts), kept = g.pruned([cls, counts], keep_ids=True)
    gate_ops = sum(1 for (op, _, _), old in zip(pg.nodes, kept)
                   if old < n_gate_nodes and op not in ("const", "in"))
    inputs = sorted(a for op, a, _ in pg.nodes if op == "in")
    return Program(pg, cls, counts, inputs, gate_ops, pg.n_ops() - gate_ops)
