"""Truth tables -> few Boolean operations: the per-gate logic minimiser of the C / HLS export.

The basis is the one a CPU executes in one instruction per word: AND, OR, XOR, AND-NOT
(``a & ~b``; ``andn`` / ``vpandn``) and NOT, each costing one operation; constants and inputs cost
nothing. For every function of up to 4 inputs the minimiser knows a **minimum formula** (the
fewest operations of any expression tree over that basis): :func:`formula_table` computes all
65,536 by dynamic programming over cost levels (about 2 s of numpy, once per process). A table
of fan-in 5 or 6 is split on its best input (Shannon: ``x ? f1 : f0`` as ``x & f1``, ``f0 & ~x``,
``x | f0``, ``x ^ f0`` when a cofactor allows it, else ``f0 ^ (x & (f0 ^ f1))`` or
``f1 ^ ((f0 ^ f1) & ~x)``), recursively, down to the exact 4-input formulas: a heuristic, not a
proven minimum. Common subexpressions across gates are merged later by the graph
(:mod:`lgn_hw.export.logic`), so a network costs at most the sum of its formulas.

A formula is returned as a small straight-line program over the gate's input positions
(:func:`programs`), which the graph runs with the gate's input signals.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["OPS", "CONST0", "CONST1", "TMP", "formula_table", "programs", "formula_cost",
           "evaluate_program", "widen", "cofactors"]

#: binary operations of the basis (``andn`` is ``a & ~b``), each costing one operation
OPS = ("and", "or", "xor", "andn")
_NOT = 4
_LEAF = 255
#: program operands (see :func:`programs`): inputs are 0..5, then the constants, then temporaries
CONST0, CONST1, TMP = 6, 7, 8
_LITS = (0xAAAA, 0xCCCC, 0xF0F0, 0xFF00)  # input k of a 4-input table
_FULL4 = 0xFFFF


@lru_cache(maxsize=1)
def formula_table():
    """``(cost uint8[65536], op uint8[65536], a uint16[65536], b uint16[65536])``: for every 4-input
    function ``f`` the size of a minimum formula and its last operation (``OPS`` index, 4 = NOT,
    255 = a constant or an input) applied to the functions ``a`` (and ``b``)."""
    n = 1 << 16
    cost = np.full(n, 255, dtype=np.uint8)
    op = np.full(n, _LEAF, dtype=np.uint8)
    left = np.zeros(n, dtype=np.uint16)
    right = np.zeros(n, dtype=np.uint16)
    leaves = np.array([0, _FULL4, *_LITS], dtype=np.uint16)
    cost[leaves] = 0
    levels = [leaves]

    def mark(res, code, a, b, c):
        new = cost[res] == 255
        if not new.any():
            return
        res, a, b = res[new], a[new], b[new]
        res, first = np.unique(res, return_index=True)
        cost[res], op[res], left[res], right[res] = c, code, a[first], b[first]

    c = 0
    while (cost == 255).any():
        c += 1
        prev = levels[-1]
        mark(~prev, _NOT, prev, prev, c)
        for i in range(c):
            j = c - 1 - i
            if i > j:
                break
            big, small = levels[j], levels[i]
            step = max(1, (1 << 22) // max(1, len(big)))
            for s in range(0, len(small), step):
                a = np.repeat(small[s:s + step], len(big))
                b = np.tile(big, len(small[s:s + step]))
                mark(a & b, 0, a, b, c)
                mark(a | b, 1, a, b, c)
                mark(a ^ b, 2, a, b, c)
                mark(a & ~b, 3, a, b, c)
                mark(b & ~a, 3, b, a, c)
        levels.append(np.flatnonzero(cost == c).astype(np.uint16))
    for arr in (cost, op, left, right):
        arr.setflags(write=False)
    return cost, op, left, right


@lru_cache(maxsize=1 << 16)
def _leaf(f: int) -> tuple:
    """The minimum formula of 4-input function ``f`` as a program (see :func:`programs`) over
    inputs 0..3."""
    cost, op, left, right = formula_table()
    ops: list = []

    def emit(g: int) -> int:
        code = int(op[g])
        if code == _LEAF:
            return (CONST1 if g == _FULL4 else CONST0) if g in (0, _FULL4) else _LITS.index(g)
        a = emit(int(left[g]))
        if code == _NOT:
            ops.append(("not", a, -1))
        else:
            ops.append((OPS[code], a, emit(int(right[g]))))
        return TMP + len(ops) - 1

    res = emit(f)
    return tuple(ops), res


_MASKS = np.array([sum(1 << p for p in range(64) if not p >> k & 1) for k in range(6)],
                  dtype=np.uint64)
_FULL6 = np.uint64((1 << 64) - 1)
_FORMS = ("same", "and", "andn", "or", "xor", "xor0", "xor1", "mux")
_INF = np.int64(1 << 30)


def widen(tables, n: int) -> np.ndarray:
    """Fan-in-``n`` tables as 6-input tables (uint64) that ignore inputs ``n..5``."""
    t = np.asarray(tables, dtype=np.uint64).reshape(-1)
    size = 1 << int(n)
    for _ in range(6 - int(n)):
        t = t | (t << np.uint64(size))
        size *= 2
    return t


def cofactors(t: np.ndarray, k: int):
    """(``f`` with input ``k`` = 0, with input ``k`` = 1) of 6-input tables ``t``, each again a
    6-input table (that ignores input ``k``)."""
    s = np.uint64(1 << k)
    lo = t & _MASKS[k]
    hi = (t >> s) & _MASKS[k]
    return lo | (lo << s), hi | (hi << s)


def _compact4(t: np.ndarray, vs: tuple) -> np.ndarray:
    """4-input tables (as int64) of 6-input tables whose support lies within ``vs`` (at most 4
    inputs); input ``j`` of the result is input ``vs[j]`` (inputs beyond ``len(vs)`` ignored)."""
    out = np.zeros(t.shape, dtype=np.uint64)
    for q in range(16):
        p = sum(1 << vs[j] for j in range(len(vs)) if q >> j & 1)
        out |= ((t >> np.uint64(p)) & np.uint64(1)) << np.uint64(q)
    return out.astype(np.int64)


def _choose(t: np.ndarray, vs: tuple):
    """Cost, chosen input and chosen form of 6-input tables ``t`` with support within ``vs``
    (more than 4 inputs): every Shannon split on every input, sub-tables costed recursively."""
    best = np.full(t.shape, _INF, dtype=np.int64)
    k_best = np.zeros(t.shape, dtype=np.int64)
    f_best = np.zeros(t.shape, dtype=np.int64)
    for k in vs:
        rest = tuple(v for v in vs if v != k)
        f0, f1 = cofactors(t, k)
        d = f0 ^ f1
        c0, c1, cd = _cost(f0, rest), _cost(f1, rest), _cost(d, rest)
        cands = (np.where(d == 0, c0, _INF), np.where(f0 == 0, c1 + 1, _INF),
                 np.where(f1 == 0, c0 + 1, _INF), np.where(f1 == _FULL6, c0 + 1, _INF),
                 np.where(d == _FULL6, c0 + 1, _INF), c0 + cd + 2, c1 + cd + 2, c0 + c1 + 3)
        for form, c in enumerate(cands):
            better = c < best
            best = np.where(better, c, best)
            k_best = np.where(better, k, k_best)
            f_best = np.where(better, form, f_best)
    return best, k_best, f_best


def _cost(t: np.ndarray, vs: tuple) -> np.ndarray:
    if len(vs) <= 4:
        return formula_table()[0][_compact4(t, vs)].astype(np.int64)
    return _choose(t, vs)[0]


def formula_cost(tables, n: int) -> np.ndarray:
    """int64 operations of :func:`programs` for each table of fan-in ``n`` (before graph-level
    sharing)."""
    return _cost(widen(tables, n), tuple(range(int(n))))


def programs(tables, n: int) -> list:
    """One program per table of fan-in ``n``: ``(ops, result)``, where ``ops`` is a tuple of
    ``(op, a, b)`` (``op`` in :data:`OPS` or ``"not"`` with ``b = -1``) and an operand is input
    ``k`` (0..5), :data:`CONST0` / :data:`CONST1`, or ``TMP + i``: the result of ``ops[i]``.
    Inputs a table ignores never appear."""
    return _build(widen(tables, n), tuple(range(int(n))))


def _shift(prog, base: int, varmap=None):
    """``prog``'s ops with temporaries moved up by ``base`` (and inputs 0..3 renamed by
    ``varmap``)."""
    ops, res = prog
    if varmap is not None:
        names = list(varmap) + list(range(4, TMP))
        mv = [(o, names[a] if a < TMP else a + base, -1 if b < 0 else names[b] if b < TMP else b + base)
              for o, a, b in ops]
        return mv, names[res] if res < TMP else res + base
    if not base:
        return list(ops), res
    return ([(o, a + base if a >= TMP else a, b + base if b >= TMP else b) for o, a, b in ops],
            res + base if res >= TMP else res)


def _build(t: np.ndarray, vs: tuple) -> list:
    if len(vs) <= 4:
        varmap = tuple(vs) + (CONST0,) * (4 - len(vs))
        leaves = {}
        out = []
        for f in _compact4(t, vs).tolist():
            if f not in leaves:
                ops, res = _shift(_leaf(f), 0, varmap)
                leaves[f] = (tuple(ops), res)
            out.append(leaves[f])
        return out
    _, ks, forms = _choose(t, vs)
    out = [None] * len(t)
    for k in vs:
        sel = np.flatnonzero(ks == k)
        if not len(sel):
            continue
        f0, f1 = cofactors(t[sel], k)
        d = f0 ^ f1
        fk = forms[sel]
        # sub-tables of every form on this input, built in one call: (f0 or f1, then d or f1)
        first = np.where(np.isin(fk, (_FORMS.index("and"), _FORMS.index("xor1"))), f1, f0)
        second = np.where(fk == _FORMS.index("mux"), f1, d)
        two = np.isin(fk, [_FORMS.index(x) for x in ("xor0", "xor1", "mux")])
        rest = tuple(v for v in vs if v != k)
        built = _build(np.concatenate([first, second[two]]), rest)
        seconds = iter(built[len(sel):])
        for j, i in enumerate(sel):
            subs = [built[j]] + ([next(seconds)] if two[j] else [])
            out[i] = _combine(_FORMS[int(fk[j])], k, subs)
    return out


def _combine(form: str, x: int, subs: list):
    """The program of one Shannon form on input ``x`` from the sub-programs."""
    ops: list = []
    res = []
    for sp in subs:
        o, r = _shift(sp, len(ops))
        ops += o
        res.append(r)

    def add(op, a, b=-1):
        ops.append((op, a, b))
        return TMP + len(ops) - 1

    g0 = res[0]
    if form == "same":
        r = g0
    elif form in ("and", "or", "xor"):
        r = add(form, x, g0)
    elif form == "andn":
        r = add("andn", g0, x)
    elif form == "xor0":  # f0 ^ (x & d)
        r = add("xor", g0, add("and", x, res[1]))
    elif form == "xor1":  # f1 ^ (d & ~x)
        r = add("xor", g0, add("andn", res[1], x))
    else:  # mux: (x & f1) | (f0 & ~x)
        r = add("or", add("and", x, res[1]), add("andn", g0, x))
    return tuple(ops), r


def evaluate_program(prog, bits) -> np.ndarray:
    """uint8 output of a program on ``bits[..., n]`` (0/1): the reference for tests."""
    bits = np.asarray(bits).astype(np.uint8)
    vals = {k: bits[..., k] for k in range(bits.shape[-1])}
    vals[CONST0] = np.zeros(bits.shape[:-1], dtype=np.uint8)
    vals[CONST1] = np.ones(bits.shape[:-1], dtype=np.uint8)
    ops, res = prog
    for i, (op, a, b) in enumerate(ops):
        x = vals[a]
        y = vals[b] if b >= 0 else None
        vals[TMP + i] = {"not": lambda: 1 - x, "and": lambda: x & y, "or": lambda: x | y,
                         "xor": lambda: x ^ y, "andn": lambda: x & (1 - y)}[op]()
    return vals[res]
