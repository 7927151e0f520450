"""Vendor primitives the head (argmax, popcounts) may use: ``HeadCells``, and logic built from them.

A family module (``flows/families/*.py``) may declare ``HeadCells(name, dual, carry4)``; this module
knows no family. ``dual(init64, inputs6, o6, o5)`` is a dual-output 6-LUT (7-series ``LUT6_2``:
``O5`` is the function with input 5 low, ``O6`` with it high), ``carry4(ci, cyinit, di, s, o, co)``
a 4-stage carry chain (``CARRY4``: ``O = S ^ C``, ``CO = S ? C : DI``, ``C`` of stage 0 is
``CI | CYINIT``). ``lut6_2`` and ``carry4`` place one of each (or, with ``cells=None``, the same
table and carry equations as expressions, the form Amaranth's simulator runs); a structure built
from them decides what leaves a site. A 7-series LUT site exports at most its O6 and one more
signal (O5, or the carry stage's XOR or CO; nextpnr-xilinx ``arch_place.cc`` refuses both O5 and a
carry output of one site), so the combinational cells here are *packable without registers*:

- ``dual_lut`` gives two functions of the same five inputs (O6 and O5 both exported, no carry);
- ``greater`` compares two numbers on a carry chain, two bit pairs per site: O6 = "equal" drives
  S, O5 = "greater" feeds DI inside the site, the result leaves as one CO (nothing else exported).

The Yosys cell count of these is then the number of LUT sites. The ``ternary`` popcount
(``rtl.popcount``) exports O5 and carry outputs of one site too, and so registers every output of
each stage (docs/hardware.md). Instances are opaque to Amaranth's simulator: the expression forms
(``rtl.argmax``, ``rtl.popcount``, ``cells=None`` here) are simulated, the cell forms are checked
with the family's cell models in Icarus (tests/test_rtl_cells.py, tests/test_rtl_popcount_ternary.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from amaranth.hdl import Cat, Const, Mux, Signal

__all__ = ["HeadCells", "dual_lut", "greater", "mux_pairs", "lut6_2", "carry4"]


@dataclass(frozen=True)
class HeadCells:
    name: str
    dual: Callable
    carry4: Callable

    def __str__(self) -> str:
        return self.name


def _table(fn, n=5) -> int:
    t = 0
    for q in range(1 << n):
        t |= (int(fn([(q >> k) & 1 for k in range(n)])) & 1) << q
    return t


def dual_lut(m, cells: HeadCells, name: str, f6, f5, inputs):
    """``(o6, o5)``: ``f6`` and ``f5`` (functions of a list of five bits; ``f5`` may be None) of
    up to five ``inputs`` in one dual-output LUT site (input 5 tied high)."""
    init = (_table(f6) << 32) | (_table(f5) if f5 is not None else 0)
    return lut6_2(m, cells, name, init, inputs)


def greater(m, cells: HeadCells, name: str, a, b):
    """``a > b`` (unsigned, equal widths) on a carry chain: ``ceil(w / 2)`` LUT sites."""
    w = len(a)
    if w != len(b) or w == 0:
        raise ValueError("greater: operands of equal, non-zero width")
    s, di = [], []
    for p in range(0, w, 2):
        pa = [a[p], a[p + 1] if p + 1 < w else Const(0, 1)]
        pb = [b[p], b[p + 1] if p + 1 < w else Const(0, 1)]
        eq, gt = dual_lut(m, cells, f"{name}_p{p // 2}",
                          lambda v: v[0] == v[2] and v[1] == v[3],
                          lambda v: v[0] + 2 * v[1] > v[2] + 2 * v[3], pa + pb)
        s.append(eq)
        di.append(gt)
    carry, result = Const(0, 1), None
    for c in range(0, len(s), 4):
        k = len(s[c:c + 4])
        _, co = carry4(m, cells, f"{name}_c{c // 4}", carry, Const(0, 1), di[c:c + 4], s[c:c + 4])
        result, carry = co[k - 1], co[3]
    return result


def mux_pairs(m, cells: HeadCells, name: str, sel, pairs):
    """``[b if sel else a for a, b in pairs]``, two bits per dual LUT site; constant pairs fold
    to a constant or ``sel`` itself."""
    out = [None] * len(pairs)
    live = []
    for i, (a, b) in enumerate(pairs):
        if isinstance(a, Const) and isinstance(b, Const):
            out[i] = a if a.value == b.value else (sel if b.value else ~sel)
        else:
            live.append(i)
    for j in range(0, len(live), 2):
        grp = live[j:j + 2]
        ins = [sel] + [x for i in grp for x in pairs[i]]
        o6, o5 = dual_lut(m, cells, f"{name}_{j // 2}", lambda v: v[2] if v[0] else v[1],
                          (lambda v: v[4] if v[0] else v[3]) if len(grp) == 2 else None, ins)
        out[grp[0]] = o6
        if len(grp) == 2:
            out[grp[1]] = o5
    return out


def lut6_2(m, cells, name: str, init: int, inputs):
    """``(o6, o5)`` of a dual-output 6-LUT with 64-bit ``init`` over up to five ``inputs``
    (``I5`` tied high: ``O6 = init[32 + idx]``, ``O5 = init[idx]``, ``idx`` the inputs as a
    number, ``inputs[0]`` its lowest bit). With ``cells`` the family's ``LUT6_2``; with
    ``cells=None`` the same table as an expression (the form Amaranth's simulator runs), so one
    INIT is checked in both."""
    ins = list(inputs) + [Const(0, 1)] * (5 - len(inputs))
    if len(ins) != 5:
        raise ValueError(f"a dual LUT takes at most 5 inputs, got {len(inputs)}")
    o6, o5 = Signal(name=f"{name}_o6"), Signal(name=f"{name}_o5")
    if cells is not None:
        m.submodules[name] = cells.dual(init, ins + [Const(1, 1)], o6, o5)
    else:
        table = Const(init, 64)
        m.d.comb += [o6.eq(table.bit_select(Cat(*ins, Const(1, 1)), 1)),
                     o5.eq(table.bit_select(Cat(*ins, Const(0, 1)), 1))]
    return o6, o5


def carry4(m, cells, name: str, ci, cyinit, di, s):
    """``(o, co)`` (4 bits each) of a ``CARRY4``: ``O = S ^ C``, ``CO = S ? C : DI`` with ``C``
    of stage 0 ``CI | CYINIT``; ``di``/``s`` lists of up to 4 bits (the rest tied low). With
    ``cells=None`` the same equations as expressions (Yosys's ``xilinx/cells_sim.v`` model)."""
    pad = [Const(0, 1)] * (4 - len(di))
    di, s = list(di) + pad, list(s) + [Const(0, 1)] * (4 - len(s))
    o, co = Signal(4, name=f"{name}_o"), Signal(4, name=f"{name}_co")
    if cells is not None:
        m.submodules[name] = cells.carry4(ci, cyinit, Cat(*di), Cat(*s), o, co)
    else:
        c = ci | cyinit
        outs, carries = [], []
        for k in range(4):
            outs.append(s[k] ^ c)
            c = Mux(s[k], c, di[k])
            carries.append(c)
        m.d.comb += [o.eq(Cat(*outs)), co.eq(Cat(*carries))]
    return o, co
