"""The input encoder as the exports compute it: integer comparisons, one C type for all features.

Implements docs/netlist.md *Encoding* with the integer semantics of the hardware encoder
(``rtl/encoder.py``) and of ``Encoding.encode`` on integers: a thermometer bit is
``x >= ceil(t)``, a one-hot bit ``x == v``, a binary bit ``x != 0``, a ``bits`` bit
``(x >> p) & 1`` (an input bit plane itself: no operation). Raw features arrive as one
integer type, the smallest standard C type that holds every feature's ``range``; a comparison that
this type decides for every value it can hold (a threshold at or below its minimum, above its
maximum, a one-hot value it cannot represent) becomes a constant bit, which the logic graph then
folds through the gates. Inside each feature's ``range`` the result equals the hardware encoder's
bit for bit; values outside the range are outside the contract (the driver refuses them). A
feature with a fixed-point map (``frac_bits``) takes, like the hardware port, the integer
``lgn_hw.fixedpoint.quantize`` makes of the real value (the drivers apply the map themselves).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .cnames import ExportError
from .logic import ONE, ZERO, Graph

__all__ = ["EncoderPlan", "plan_encoder", "encoder_graph", "C_TYPES"]

#: candidate raw-feature types, smallest first: (C type, min, max)
C_TYPES = (("uint8_t", 0, 2 ** 8 - 1), ("int8_t", -2 ** 7, 2 ** 7 - 1),
           ("uint16_t", 0, 2 ** 16 - 1), ("int16_t", -2 ** 15, 2 ** 15 - 1),
           ("uint32_t", 0, 2 ** 32 - 1), ("int32_t", -2 ** 31, 2 ** 31 - 1),
           ("uint64_t", 0, 2 ** 64 - 1), ("int64_t", -2 ** 63, 2 ** 63 - 1))


@dataclass
class EncoderPlan:
    """Comparisons per kind as ``(bit, feature, constant)`` (``nz``: ``(bit, feature)``; ``plane``:
    ``(bit, feature, position)``), the bits
    that are constant (``bit -> 0/1``), the raw type and each feature's range and name."""

    ctype: str
    type_min: int
    type_max: int
    ranges: list
    names: list
    frac_bits: list  # per feature: None (integer raw values) or its fixed-point map's frac_bits
    ge: list = field(default_factory=list)
    eq: list = field(default_factory=list)
    nz: list = field(default_factory=list)
    plane: list = field(default_factory=list)
    const: dict = field(default_factory=dict)

    @property
    def width(self) -> int:
        """Bits of the raw feature type."""
        return (self.type_max - self.type_min).bit_length()

    @property
    def signed(self) -> bool:
        return self.type_min < 0

    @property
    def n_features(self) -> int:
        return len(self.ranges)

    @property
    def n_bits(self) -> int:
        return len(self.ge) + len(self.eq) + len(self.nz) + len(self.plane) + len(self.const)

    def bit_values(self, row) -> list:
        """The encoded bits of one sample (a list of ints): the plan's own semantics, for tests."""
        bits = [0] * self.n_bits
        for b, v in self.const.items():
            bits[b] = v
        for b, f, k in self.ge:
            bits[b] = int(row[f] >= k)
        for b, f, v in self.eq:
            bits[b] = int(row[f] == v)
        for b, f in self.nz:
            bits[b] = int(row[f] != 0)
        for b, f, p in self.plane:
            bits[b] = (int(row[f]) >> p) & 1
        return bits


def _pick_type(ranges):
    lo = min(r[0] for r in ranges)
    hi = max(r[1] for r in ranges)
    for name, tmin, tmax in C_TYPES:
        if tmin <= lo and hi <= tmax:
            return name, tmin, tmax
    raise ExportError(f"encoding: feature ranges span {lo}..{hi}, which no 64-bit integer type holds")


def plan_encoder(encoding) -> EncoderPlan:
    """The :class:`EncoderPlan` of an ``lgn_hw.encoding.Encoding``."""
    ranges = [(int(f.range[0]), int(f.range[1])) for f in encoding.features]
    ctype, tmin, tmax = _pick_type(ranges)
    plan = EncoderPlan(ctype, tmin, tmax, ranges, [f.name for f in encoding.features],
                       [f.frac_bits for f in encoding.features])
    bit = 0
    for fi, feat in enumerate(encoding.features):
        if feat.kind == "thermometer":
            for t in feat.thresholds:
                k = math.ceil(float(t))
                if k <= tmin:
                    plan.const[bit] = 1
                elif k > tmax:
                    plan.const[bit] = 0
                else:
                    plan.ge.append((bit, fi, k))
                bit += 1
        elif feat.kind == "onehot":
            for v in feat.values:
                v = int(v)
                if tmin <= v <= tmax:
                    plan.eq.append((bit, fi, v))
                else:
                    plan.const[bit] = 0
                bit += 1
        elif feat.kind == "bits":  # lo >= 0 and p < the port width < the type's width
            for p in feat.bits:
                plan.plane.append((bit, fi, int(p)))
                bit += 1
        else:
            plan.nz.append((bit, fi))
            bit += 1
    return plan


def encoder_graph(plan: EncoderPlan, bits):
    """The encoder as logic over bit planes: input ``f * width + j`` is bit ``j`` of feature ``f``
    (two's complement for a signed type). Returns ``(graph, {bit: node})`` for the encoded
    ``bits`` wanted (constant bits included, as constant nodes): a thermometer bit is the carry
    chain of ``x - k`` (one operation per bit of ``k`` above its lowest one), a one-hot bit the
    AND of ``x``'s bits or their negations, a binary bit the OR of ``x``'s bits, a ``bits`` bit
    the input plane itself."""
    g = Graph()
    w = plan.width
    want = set(bits)
    out = {b: g.const(v) for b, v in plan.const.items() if b in want}

    def plane(f, j, offset_binary=False):
        node = g.input(f * w + j)
        return g.not_(node) if offset_binary and plan.signed and j == w - 1 else node

    for b, f, k in plan.ge:
        if b in want:
            k = k - plan.type_min  # signed: compare offset-binary values (MSB flipped)
            c = ONE
            for j in range(w):
                x = plane(f, j, True)
                c = g.and_(x, c) if k >> j & 1 else g.or_(x, c)
            out[b] = c
    for b, f, v in plan.eq:
        if b in want:
            v &= (1 << w) - 1
            c = ONE
            for j in range(w):
                c = g.and_(c, plane(f, j)) if v >> j & 1 else g.andn(c, plane(f, j))
            out[b] = c
    for b, f in plan.nz:
        if b in want:
            c = ZERO
            for j in range(w):
                c = g.or_(c, plane(f, j))
            out[b] = c
    for b, f, p in plan.plane:
        if b in want:
            out[b] = plane(f, p)
    return g, out
