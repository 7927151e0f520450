"""The netlist optimisation pass: constant propagation, pass-through/negation bypass,
duplicate-gate merging and dead-gate removal, keeping the function exactly.

Each signal is resolved, in evaluation order, to one of
``("const", v)`` — always ``v``;
``("sig", t, neg)`` — equal to kept signal ``t`` (an input bit or a kept gate), negated if ``neg``.

A gate first rewrites its table against its resolved inputs (cofactor on constants, input flips for
negations, diagonal restriction when two inputs are the same signal), then sorts its inputs into a
canonical order. A constant table resolves to a constant, a table that depends on one input to that
input (or its negation), a table already seen on the same inputs to that gate (or its complement).
Everything else is kept. The head folds constants into ``offsets``; a negated signal counted by the
head keeps a one-input NOT gate in the layer of the gate it replaces. Finally gates that no class
count depends on are removed and empty layers dropped. Tables are handled as Python ints with bit
masks (fast enough for 50K-gate netlists, and independent of the numpy evaluator that checks it).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .netlist import Head, Layer, Netlist


@lru_cache(maxsize=None)
def _masks(n: int):
    """For fan-in n: (full mask, [positions with bit k set] for each k)."""
    size = 1 << n
    full = (1 << size) - 1
    hi = []
    for k in range(n):
        m = 0
        for p in range(size):
            if (p >> k) & 1:
                m |= 1 << p
        hi.append(m)
    return full, tuple(hi)


def _cofactor(t: int, n: int, k: int, v: int) -> int:
    """Table with input k forced to v (result no longer depends on k)."""
    full, hi = _masks(n)
    s = 1 << k
    if v:
        h = t & hi[k]
        return h | (h >> s)
    lo = t & (full ^ hi[k])
    return lo | (lo << s)


def _flip(t: int, n: int, k: int) -> int:
    """Table of the same gate with input k negated."""
    full, hi = _masks(n)
    s = 1 << k
    return ((t & (full ^ hi[k])) << s) | ((t & hi[k]) >> s)


def _depends(t: int, n: int, k: int) -> bool:
    full, hi = _masks(n)
    return ((t & (full ^ hi[k])) << (1 << k)) != (t & hi[k])


def _tie(t: int, n: int, j: int, k: int) -> int:
    """Table when input k is the same signal as input j (result independent of k)."""
    _, hi = _masks(n)
    return (_cofactor(t, n, k, 0) & ~hi[j]) | (_cofactor(t, n, k, 1) & hi[j])


def _swap(t: int, n: int, j: int, k: int) -> int:
    """Table with inputs j and k exchanged."""
    if j == k:
        return t
    if j > k:
        j, k = k, j
    full, hi = _masks(n)
    a = hi[j] & ~hi[k] & full  # bit j = 1, bit k = 0
    b = hi[k] & ~hi[j] & full  # bit j = 0, bit k = 1
    d = (1 << k) - (1 << j)
    return (t & ~(a | b) & full) | ((t & a) << d) | ((t & b) >> d)


def _canonical(t: int, n: int, ins: list):
    """Sort the inputs (unused ones last, pointing at the first used input) and permute the table."""
    ins = list(ins)
    # selection sort with table swaps; key: (unused, signal)
    used = [_depends(t, n, k) for k in range(n)]
    for i in range(n):
        best = min(range(i, n), key=lambda q: (not used[q], ins[q]))
        if best != i:
            t = _swap(t, n, i, best)
            ins[i], ins[best] = ins[best], ins[i]
            used[i], used[best] = used[best], used[i]
    n_used = sum(used)
    for i in range(n_used, n):
        ins[i] = ins[0]
    return t, tuple(ins), n_used


def optimize(net: Netlist):
    """Return ``(optimised netlist, stats)``. The class counts are unchanged for every input."""
    n_in = net.n_inputs
    offs = net.layer_offsets
    res: list = [("sig", s, False) for s in range(n_in)]  # resolution of every old signal
    new_gate: dict = {}  # old signal -> (layer, table, inputs as old kept signals)
    seen: dict = {}  # (fan_in, inputs, table) -> old signal
    canon: dict = {}  # old gate signal -> (layer, canonical table, inputs): computes it exactly
    reason: dict = {}  # old gate signal -> why it was bypassed (passthrough/negation/duplicate)
    stats = {"gates_in": net.n_gates, "layers_in": len(net.layers), "constant": 0,
             "passthrough": 0, "negation": 0, "duplicate": 0, "dead": 0}
    for li, layer in enumerate(net.layers):
        n = layer.fan_in
        full, _ = _masks(n)
        for g in range(len(layer)):
            s = offs[li] + g
            t = int(layer.tables[g])
            ins = []
            for k in range(n):
                r = res[int(layer.inputs[g, k])]
                if r[0] == "const":
                    t = _cofactor(t, n, k, r[1])
                    ins.append(None)
                else:
                    if r[2]:
                        t = _flip(t, n, k)
                    ins.append(r[1])
            for k in range(n):  # ties between identical inputs
                if ins[k] is None:
                    continue
                for j in range(k):
                    if ins[j] == ins[k]:
                        t = _tie(t, n, j, k)
                        ins[k] = None
                        break
            fill = next((i for i in ins if i is not None), 0)
            ins = [fill if i is None else i for i in ins]
            t, ins, n_used = _canonical(t, n, ins)
            canon[s] = (li, t, ins)
            if n_used == 0:
                res.append(("const", t & 1))
                stats["constant"] += 1
            elif n_used == 1:
                neg = (t & 1) == 1  # f(0) = 1 means NOT
                res.append(("sig", ins[0], neg))
                reason[s] = "negation" if neg else "passthrough"
            elif (n, ins, t) in seen:
                res.append(("sig", seen[(n, ins, t)], False))
                reason[s] = "duplicate"
            elif (n, ins, full ^ t) in seen:
                res.append(("sig", seen[(n, ins, full ^ t)], True))
                reason[s] = "duplicate"
            else:
                seen[(n, ins, t)] = s
                new_gate[s] = (li, t, ins)
                res.append(("sig", s, False))
    offsets = [int(o) for o in net.head.offsets]
    groups = []
    for c, group in enumerate(net.head.groups):
        members = []
        for s in group:
            s = int(s)
            r = res[s]
            if r[0] == "const":
                offsets[c] += r[1]
            elif not r[2]:
                members.append(r[1])
            else:
                # the head cannot count a negation: keep gate s itself (in canonical form, it
                # computes s exactly; for a bypassed NOT this is a one-input NOT gate)
                if s not in new_gate:
                    new_gate[s] = canon[s]
                    del reason[s]
                members.append(s)
        groups.append(members)
    # liveness, backwards from the head
    live = set(m for g in groups for m in g)
    for s in sorted(new_gate, reverse=True):
        if s in live:
            live.update(new_gate[s][2])
    kept_before = len(new_gate)
    # renumber
    new_index = {s: s for s in range(n_in)}
    layers = []
    nxt = n_in
    for li, layer in enumerate(net.layers):
        sigs = [s for s in range(offs[li], offs[li + 1]) if s in new_gate and s in live]
        if not sigs:
            continue
        n = layer.fan_in
        inputs = np.array([[new_index[i] for i in new_gate[s][2]] for s in sigs], dtype=np.int64)
        tables = np.array([new_gate[s][1] for s in sigs], dtype=np.uint64)
        for s in sigs:
            new_index[s] = nxt
            nxt += 1
        layers.append(Layer(n, inputs.reshape(-1, n), tables))
    head = Head(net.head.classes, [[new_index[m] for m in g] for g in groups], offsets,
                net.head.tau)
    for why in reason.values():
        stats[why] += 1
    stats["dead"] = kept_before - sum(1 for s in new_gate if s in live)
    stats["gates_out"] = sum(len(layer) for layer in layers)
    stats["layers_out"] = len(layers)
    meta = dict(net.meta)
    meta["optimize"] = stats
    out = Netlist(n_in, layers, head, net.encoding, meta)
    return out, stats
