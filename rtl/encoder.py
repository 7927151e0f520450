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
"""

from __future__ import annotations

import math

from amaranth.hdl import Cat, Const, Elaboratable, Module, Shape, Signal, signed, unsigned
from amaranth.lib.data import StructLayout

__all__ = ["feature_shape", "features_layout", "InputEncoder", "EncoderError"]


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


def _bits(m, x, feature, name, shared):
    lo, hi = (int(v) for v in _get(feature, "range"))
    kind = _get(feature, "kind")
    if kind == "thermometer":
        consts = [math.ceil(float(t)) for t in _get(feature, "thresholds")]
        live = [c for c in consts if lo < c <= hi]
        if shared and len(x) > 6 and not x.shape().signed and live:
            ge = dict(zip(live, _shared_ge(m, x, live, name)))
        else:
            ge = {c: x >= c for c in live}
        return [Const(1, 1) if c <= lo else Const(0, 1) if c > hi else ge[c] for c in consts]
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


class InputEncoder(Elaboratable):
    """``features`` (raw, per ``features_layout``) -> ``bits`` (``n_bits`` wide)."""

    def __init__(self, encoding, *, used=None, shared: bool = True):
        self._MustUse__silence = True  # no warning when the arguments are rejected
        self.feature_list = _features(encoding)
        self.used = None if used is None else frozenset(int(b) for b in used)
        self.shared = bool(shared)
        self.layout = features_layout(encoding)
        self.features = Signal(self.layout, name="features")
        self.n_bits = sum(_n_bits(f) for f in self.feature_list)
        self.bits = Signal(self.n_bits, name="bits")

    def elaborate(self, platform):
        m = Module()
        out = []
        for i, f in enumerate(self.feature_list):
            first = len(out)
            n = _n_bits(f)
            if self.used is not None and not any(first + k in self.used for k in range(n)):
                out.extend([Const(0, 1)] * n)
                continue
            bits = _bits(m, self.features[f"f{i}"], f, f"f{i}", self.shared)
            if self.used is not None:
                bits = [b if first + k in self.used else Const(0, 1) for k, b in enumerate(bits)]
            out.extend(bits)
        m.d.comb += self.bits.eq(Cat(*out))
        return m
