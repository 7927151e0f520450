"""Netlist-level logic resynthesis for k-input LUTs: ``resynthesize(net, k)``, function kept exactly.

After discretization a netlist is a plain Boolean circuit, and one LUT per gate wastes LUTs where a
gate could live inside the LUT of the gate that reads it. This pass, run on an optimised netlist
(``lgn_hw.optimize``), works on gates as ``(support, table)``: the signals a gate's table depends
on (inputs it ignores dropped) and the table over them.

- **Collapse**: a gate that the head does not count is folded into every gate that reads it when
  each of those readers still depends on at most ``k`` signals afterwards (the reader's table is
  composed with the gate's; across layers and skip connections alike). The gate then has no reader
  and disappears; a reader may collapse further into its own readers later (gates are visited in
  signal order, so chains of small gates fold into one LUT).
- The result is optimised again (``optimize``: a composed table may turn out constant, a
  pass-through or a duplicate), until nothing changes.

Gates keep their layer; a layer's fan-in becomes the widest support in it (narrower gates are
padded with ignored inputs, which ``rtl.layer`` drops again), so the netlist stays in the format of
docs/netlist.md and evaluates to the same class counts for every input. Tables are Python ints.
"""

from __future__ import annotations

import numpy as np

from .netlist import Head, Layer, Netlist
from .optimize import _depends, optimize

__all__ = ["resynthesize", "compose", "reduce_support"]


def _remap(table: int, source: list, n: int) -> int:
    """The table over ``n`` new inputs where old input k reads new input ``source[k]``."""
    out = 0
    for q in range(1 << n):
        p = 0
        for k, w in enumerate(source):
            p |= ((q >> w) & 1) << k
        out |= ((table >> p) & 1) << q
    return out


def reduce_support(table: int, support: list) -> tuple[int, list]:
    """``(table', support')`` without the inputs the table does not depend on."""
    n = len(support)
    kept = [k for k in range(n) if _depends(table, n, k)]
    if len(kept) == n:
        return table, list(support)
    # dropped inputs read new input 0 (any value: the table ignores them)
    where = {k: j for j, k in enumerate(kept)}
    return _remap(table, [where.get(k, 0) for k in range(n)], len(kept)), [support[k] for k in kept]


def compose(outer: tuple, pos: int, inner: tuple) -> tuple[int, list]:
    """Gate ``outer = (table, support)`` with its input ``pos`` replaced by gate ``inner``:
    ``(table, support)`` over the union of the other inputs and the inner gate's support."""
    t_out, s_out = outer
    t_in, s_in = inner
    support = [s for k, s in enumerate(s_out) if k != pos]
    for s in s_in:
        if s not in support:
            support.append(s)
    where = {s: j for j, s in enumerate(support)}
    idx_in = [where[s] for s in s_in]
    idx_out = [None if k == pos else where[s] for k, s in enumerate(s_out)]
    table = 0
    for q in range(1 << len(support)):
        v_in = 0
        for j, w in enumerate(idx_in):
            v_in |= ((q >> w) & 1) << j
        g = (t_in >> v_in) & 1
        v_out = 0
        for j, w in enumerate(idx_out):
            bit = g if w is None else (q >> w) & 1
            v_out |= bit << j
        table |= ((t_out >> v_out) & 1) << q
    return reduce_support(table, support)


def _gates(net: Netlist):
    """``{signal: [table, support, layer]}`` for every gate, supports reduced."""
    gates = {}
    offs = net.layer_offsets
    for li, layer in enumerate(net.layers):
        for g in range(len(layer)):
            ins = [int(s) for s in layer.inputs[g]]
            t, sup = reduce_support(int(layer.tables[g]), ins)
            # a signal read twice: tie the repeated inputs (reduce keeps the first occurrence)
            if len(set(sup)) != len(sup):
                t, sup = _untie(t, sup)
            gates[offs[li] + g] = [t, sup, li]
    return gates


def _untie(table: int, support: list) -> tuple[int, list]:
    """Table over distinct signals when ``support`` names one signal more than once."""
    uniq = list(dict.fromkeys(support))
    return reduce_support(_remap(table, [uniq.index(s) for s in support], len(uniq)), uniq)


def _collapse(net: Netlist, k: int) -> tuple[Netlist, int]:
    gates = _gates(net)
    counted = {int(s) for g in net.head.groups for s in g}
    readers: dict = {}
    for s, (_, sup, _) in gates.items():
        for x in sup:
            readers.setdefault(x, set()).add(s)
    folded = 0
    for s in sorted(gates):
        if s in counted or s not in readers or not readers[s]:
            continue
        t, sup, _ = gates[s]
        new = {}
        for r in sorted(readers[s]):
            tr, sr, _ = gates[r]
            if len(set(sr) | set(sup)) - 1 > k + 1:
                break  # too wide even if composing let one input go (rarely): skip the work
            merged = compose((tr, sr), sr.index(s), (t, sup))
            if len(merged[1]) > k:
                break
            new[r] = merged
        else:
            for r, (tr, sr) in new.items():
                for x in gates[r][1]:
                    readers[x].discard(r)
                gates[r][0], gates[r][1] = tr, sr
                for x in sr:
                    readers.setdefault(x, set()).add(r)
            folded += 1
    return _rebuild(net, gates), folded


def _rebuild(net: Netlist, gates: dict) -> Netlist:
    """Gates in their layers, each layer as wide as its widest support (unused gates stay: the
    following ``optimize`` removes what nothing reads)."""
    layers = []
    offs = net.layer_offsets
    for li in range(len(net.layers)):
        sigs = range(offs[li], offs[li + 1])
        n = max(1, max((len(gates[s][1]) for s in sigs), default=1))
        inputs, tables = [], []
        for s in sigs:
            t, sup, _ = gates[s]
            pad = sup[0] if sup else 0
            ins = list(sup) + [pad] * (n - len(sup))
            # widen: the table ignores inputs len(sup)..n-1
            m = len(sup)
            wide = 0
            for q in range(1 << n):
                wide |= ((t >> (q & ((1 << m) - 1))) & 1) << q
            inputs.append(ins)
            tables.append(wide)
        layers.append(Layer(n, np.array(inputs, dtype=np.int64).reshape(-1, n),
                            np.array(tables, dtype=np.uint64)))
    head = Head(net.head.classes, [list(g) for g in net.head.groups], net.head.offsets,
                net.head.tau)
    return Netlist(net.n_inputs, layers, head, net.encoding, dict(net.meta))


def resynthesize(net: Netlist, k: int):
    """``(netlist, stats)``: ``net`` optimised, then collapsed into ``k``-input gates until nothing
    changes. The class counts are unchanged for every input."""
    if not 1 <= int(k) <= 6:
        raise ValueError(f"resynthesis LUT size must be 1..6, got {k}")
    k = int(k)
    gates_in = net.n_gates
    cur, _ = optimize(net)
    folded = 0
    for _ in range(16):
        nxt, f = _collapse(cur, k)
        if not f:
            break
        folded += f
        cur, _ = optimize(nxt)
    stats = {"gates_in": gates_in, "gates_out": cur.n_gates, "collapsed": folded, "k": k,
             "layers_out": len(cur.layers)}
    meta = dict(cur.meta)
    meta["resynth"] = stats
    cur.meta = meta
    return cur, stats
