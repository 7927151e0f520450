"""The input encoder (``encoder``): raw integer features in, the netlist's input bits out.

Implements docs/netlist.md *Encoding* in hardware: a thermometer bit is the comparator
``x >= ceil(t)``, a one-hot bit ``x == v``, a binary bit ``x != 0``, a ``bits`` bit the wire
``x[bits[j]]`` of the port (no logic at all); bits are feature-major, in the order of the
thresholds/values/positions. Feature ``f`` arrives as field ``f<f>`` of the ``features`` port
(a ``StructLayout``; flattened, feature 0 occupies the least significant bits) with the shape of
its ``range``: unsigned when ``lo >= 0``, two's complement otherwise, at least one bit. A comparison
that the range decides (threshold at or below ``lo``, above ``hi``, a one-hot value outside the
range or not an integer) becomes a constant.

``used`` (the input bits some gate or the head reads; default all) leaves the other bits constant
0, so their comparators are not built at all (a flat synthesis would remove them too, but a stage
kept as its own module for the per-stage report would keep them). ``shared`` builds the
thermometer bits of one unsigned feature wider than 6 bits as one structure: with ``x = hi:lo``
(``lo`` the low ``width - 5`` bits), ``x >= t`` is ``hi > t_hi | (hi == t_hi & lo >= t_lo)``, one
6-input function of ``hi`` and the shared wire ``lo >= t_lo`` (one per distinct ``t_lo`` of the
feature; none when ``t_lo = 0``); rtl/encoder.py's measurements are in BENCHMARKS.md.

``cells`` (a family's ``rtl.cells.HeadCells``, with ``--lut-cells``) packs the small bits in pairs:
a used bit that depends on at most 5 bits of its feature's port (``x >= 64`` of an 8-bit pixel
reads bits 7 and 6 only; a bit equal to one port bit is a wire and costs nothing) is one output of
a dual-output LUT, and two such bits whose supports together span at most 5 port bits (of one
feature or of two) share one LUT site. Each bit's function is taken from the same rule as the
comparators, over every value of the port, so both forms agree on every input (tests compare them
in Icarus with the family's cell models).
"""

from __future__ import annotations

import math

import numpy as np
from amaranth.hdl import Cat, Const, Elaboratable, Module, Shape, Signal, signed, unsigned
from amaranth.lib.data import StructLayout

from .cells import dual_lut

__all__ = ["feature_shape", "features_layout", "small_function", "InputEncoder", "EncoderError"]


class EncoderError(ValueError):
    """The netlist cannot take raw inputs (no encoding)."""


def _get(obj, key):
    return obj[key] if isinstance(obj, dict) else getattr(obj, key)


def feature_shape(feature) -> Shape:
    """The hardware shape of one raw feature, from its ``range``."""
    lo, hi = (int(v) for v in _get(feature, "range"))
    shape = Shape.cast(range(lo, hi + 1))
    if shape.width == 0:
        shape = signed(1) if shape.signed else unsigned(1)
    return shape


def _features(encoding):
    if encoding is None:
        raise EncoderError("this netlist has no encoding, so the core cannot take raw inputs "
                           "(build it without --raw-inputs)")
    return list(_get(encoding, "features"))


def features_layout(encoding) -> StructLayout:
    """The ``features`` port layout: field ``f<i>`` per feature, in order."""
    return StructLayout({f"f{i}": feature_shape(f) for i, f in enumerate(_features(encoding))})


def _n_bits(feature) -> int:
    kind = _get(feature, "kind")
    return {"thermometer": lambda: len(_get(feature, "thresholds")),
            "onehot": lambda: len(_get(feature, "values")),
            "bits": lambda: len(_get(feature, "bits"))}.get(kind, lambda: 1)()


def _shared_ge(m, x, consts, name):
    """``[x >= c for c in consts]`` (x unsigned, wider than 6 bits), sharing the low-part
    comparisons between the constants (module docstring)."""
    w = len(x)
    s = w - 5
    low, high = x[:s], x[s:]
    ge_low = {}
    out = []
    for c in consts:
        ch, cl = c >> s, c & ((1 << s) - 1)
        if cl == 0:
            out.append(high >= ch)
            continue
        if cl not in ge_low:
            wire = Signal(name=f"{name}_lo{cl}", attrs={"keep": 1})
            m.d.comb += wire.eq(low >= cl)
            ge_low[cl] = wire
        out.append((high > ch) | ((high == ch) & ge_low[cl]))
    return out


def _bits(m, x, feature, name, shared, want=None):
    """The feature's bits as expressions; with ``want`` (bit indices) only those are built
    (the others are constant 0)."""
    lo, hi = (int(v) for v in _get(feature, "range"))
    kind = _get(feature, "kind")
    if kind == "thermometer":
        consts = [math.ceil(float(t)) for t in _get(feature, "thresholds")]
        live = sorted({c for j, c in enumerate(consts) if lo < c <= hi
                       and (want is None or j in want)})
        if shared and len(x) > 6 and not x.shape().signed and live:
            ge = dict(zip(live, _shared_ge(m, x, live, name)))
        else:
            ge = {c: x >= c for c in live}
        return [Const(0, 1) if want is not None and j not in want else
                Const(1, 1) if c <= lo else Const(0, 1) if c > hi else ge[c]
                for j, c in enumerate(consts)]
    if kind == "onehot":
        out = []
        for v in _get(feature, "values"):
            fv = float(v)
            ok = fv.is_integer() and lo <= int(fv) <= hi
            out.append(x == int(fv) if ok else Const(0, 1))
        return out
    if kind == "binary":
        return [Const(0, 1) if lo == hi == 0 else x != 0]
    if kind == "bits":  # Feature.validate: lo >= 0 and every position is a bit of the port
        return [x[int(p)] for p in _get(feature, "bits")]
    raise EncoderError(f"unknown feature kind {kind!r}")


_MAX_ENUM = 12  # ports up to this width are enumerated to find bits small enough to pack
_DUAL = 5       # inputs a dual-output LUT shares between its two functions


def _port_values(feature, shape):
    """The value of every bit pattern of the feature's port (two's complement when signed)."""
    p = np.arange(1 << shape.width, dtype=np.int64)
    if shape.signed:
        p = p - (((p >> (shape.width - 1)) & 1) << shape.width)
    return p


def _bit_function(feature, j, v):
    """Bit ``j`` of the feature for port values ``v``: the rule ``_bits`` builds in logic."""
    lo, hi = (int(t) for t in _get(feature, "range"))
    kind = _get(feature, "kind")
    if kind == "thermometer":
        c = math.ceil(float(_get(feature, "thresholds")[j]))
        return np.ones_like(v, bool) if c <= lo else np.zeros_like(v, bool) if c > hi else v >= c
    if kind == "onehot":
        fv = float(_get(feature, "values")[j])
        ok = fv.is_integer() and lo <= int(fv) <= hi
        return v == int(fv) if ok else np.zeros_like(v, bool)
    if kind == "binary":
        return np.zeros_like(v, bool) if lo == hi == 0 else v != 0
    if kind == "bits":  # the port's wire: two's complement bit of v
        return ((v >> int(_get(feature, "bits")[j])) & 1).astype(bool)
    raise EncoderError(f"unknown feature kind {kind!r}")


def small_function(feature, j, shape):
    """``(support, table)`` of bit ``j`` over the port bits it depends on (``support`` ascending,
    table bit q = the output when support bit i equals bit i of q), or None when the port is too
    wide to enumerate."""
    if shape.width > _MAX_ENUM:
        return None
    f = _bit_function(feature, j, _port_values(feature, shape))
    p = np.arange(1 << shape.width)
    support = [k for k in range(shape.width) if (f != f[p ^ (1 << k)]).any()]
    table = 0
    for q in range(1 << len(support)):
        at = sum(((q >> i) & 1) << k for i, k in enumerate(support))
        table |= int(f[at]) << q
    return support, table


def _pair(smalls):
    """Pairs (and singles) of ``smalls`` (``(key, support set)``, in order) whose supports
    together fit one dual-output LUT; nearby entries (bits of one feature first) are tried
    first."""
    done, groups = set(), []
    for i, (a, sa) in enumerate(smalls):
        if a in done:
            continue
        done.add(a)
        best = None
        for b, sb in smalls[i + 1:i + 65]:
            if b not in done and len(sa | sb) <= _DUAL and (best is None or
                                                          len(sa | sb) < best[1]):
                best = (b, len(sa | sb))
        if best is not None:
            done.add(best[0])
            groups.append((a, best[0]))
        else:
            groups.append((a,))
    return groups


def _lookup(table, positions):
    """A function of a list of bits: ``table`` addressed by the bits at ``positions``."""
    return lambda v: (table >> sum(v[p] << i for i, p in enumerate(positions))) & 1


class InputEncoder(Elaboratable):
    """``features`` (raw, per ``features_layout``) -> ``bits`` (``n_bits`` wide)."""

    def __init__(self, encoding, *, used=None, shared: bool = True, cells=None):
        self._MustUse__silence = True  # no warning when the arguments are rejected
        self.feature_list = _features(encoding)
        self.used = None if used is None else frozenset(int(b) for b in used)
        self.shared = bool(shared)
        self.cells = cells
        self.n_dual = 0  # dual-output LUT sites built (after elaboration, with cells)
        self.layout = features_layout(encoding)
        self.features = Signal(self.layout, name="features")
        self.n_bits = sum(_n_bits(f) for f in self.feature_list)
        self.bits = Signal(self.n_bits, name="bits")

    def elaborate(self, platform):
        m = Module()
        out, lut = [], {}  # lut: bit index -> (feature, support, table) of a bit to pack
        for i, f in enumerate(self.feature_list):
            first = len(out)
            n = _n_bits(f)
            want = {k for k in range(n) if self.used is None or first + k in self.used}
            x = self.features[f"f{i}"]
            wires, packed = {}, set()
            if self.cells is not None and feature_shape(f).width <= _MAX_ENUM:
                for k in sorted(want):
                    support, table = small_function(f, k, feature_shape(f))
                    if len(support) == 1 and table == 0b10:
                        wires[k] = x[support[0]]
                    elif 1 <= len(support) <= _DUAL:
                        lut[first + k] = (i, support, table)
                        packed.add(k)
                want -= set(wires) | packed
            bits = _bits(m, x, f, f"f{i}", self.shared, want=want) if want else [None] * n
            bits = [wires.get(k, b if k in want else Const(0, 1)) for k, b in enumerate(bits)]
            out.extend(bits)
        order = [(b, frozenset((v[0], k) for k in v[1])) for b, v in sorted(lut.items())]
        for gi, group in enumerate(_pair(order)):
            ins = sorted(set().union(*[{(lut[b][0], k) for k in lut[b][1]} for b in group]))
            where = {key: j for j, key in enumerate(ins)}
            fns = [_lookup(lut[b][2], [where[(lut[b][0], k)] for k in lut[b][1]]) for b in group]
            sigs = [self.features[f"f{fi}"][k] for fi, k in ins]
            o6, o5 = dual_lut(m, self.cells, f"e{gi}", fns[0], fns[1] if len(fns) > 1 else None,
                              sigs)
            out[group[0]] = o6
            if len(group) > 1:
                out[group[1]] = o5
            self.n_dual += 1
        m.d.comb += self.bits.eq(Cat(*out))
        return m
