"""The input encoder (``encoder``): raw integer features in, the netlist's input bits out.

Implements docs/netlist.md *Encoding* in hardware: a thermometer bit is the comparator
``x >= ceil(t)``, a one-hot bit ``x == v``, a binary bit ``x != 0``; bits are feature-major, in the
order of the thresholds/values. Feature ``f`` arrives as field ``f<f>`` of the ``features`` port
(a ``StructLayout``; flattened, feature 0 occupies the least significant bits) with the shape of
its ``range``: unsigned when ``lo >= 0``, two's complement otherwise, at least one bit. A comparison
that the range decides (threshold at or below ``lo``, above ``hi``, a one-hot value outside the
range or not an integer) becomes a constant.
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
            "onehot": lambda: len(_get(feature, "values"))}.get(kind, lambda: 1)()


def _bits(x, feature):
    lo, hi = (int(v) for v in _get(feature, "range"))
    kind = _get(feature, "kind")
    if kind == "thermometer":
        out = []
        for t in _get(feature, "thresholds"):
            c = math.ceil(float(t))
            out.append(Const(1, 1) if c <= lo else Const(0, 1) if c > hi else x >= c)
        return out
    if kind == "onehot":
        out = []
        for v in _get(feature, "values"):
            fv = float(v)
            ok = fv.is_integer() and lo <= int(fv) <= hi
            out.append(x == int(fv) if ok else Const(0, 1))
        return out
    if kind == "binary":
        return [Const(0, 1) if lo == hi == 0 else x != 0]
    raise EncoderError(f"unknown feature kind {kind!r}")


class InputEncoder(Elaboratable):
    """``features`` (raw, per ``features_layout``) -> ``bits`` (``n_bits`` wide)."""

    def __init__(self, encoding):
        self._MustUse__silence = True  # no warning when the arguments are rejected
        self.feature_list = _features(encoding)
        self.layout = features_layout(encoding)
        self.features = Signal(self.layout, name="features")
        self.n_bits = sum(_n_bits(f) for f in self.feature_list)
        self.bits = Signal(self.n_bits, name="bits")

    def elaborate(self, platform):
        m = Module()
        out = []
        for i, f in enumerate(self.feature_list):
            x = self.features[f"f{i}"]
            out.extend(_bits(x, f))
        m.d.comb += self.bits.eq(Cat(*out))
        return m
