"""The fixed-point map of a real-valued feature: the integer the hardware compares.

A feature whose raw values are real numbers (a CSV or NumPy column) carries ``frac_bits`` =
``s`` in the netlist (docs/netlist.md, *Encoding*). Its raw value ``x`` (taken as a float64)
becomes the integer

    q(x) = clamp(floor(x * 2**s), lo, hi)

where ``[lo, hi]`` is the feature's ``range``. The map is exact: scaling a float64 by a power of
two only changes its exponent (no rounding; an overflow to +-inf is clamped like any large
value), ``floor`` is exact, and ``lo``/``hi`` are limited to ``+-LIMIT`` (2**53) so every integer
involved is a float64. For an integer threshold ``T`` with ``lo < T <= hi``,
``q(x) >= T  <=>  x >= T / 2**s``: the hardware's integer comparison is the software's real
comparison against the dyadic threshold ``T * 2**-s``, and clamping keeps every such decision.
Training, ``Netlist.evaluate_raw``, the hardware encoder (which only ever sees ``q``) and the
host side of ``lgn-hw run`` all apply this one function, ``quantize``.

``fit(column, thresholds)`` chooses ``s`` (0 .. ``MAX_FRAC_BITS``): the smallest number of
fractional bits (0 for an integer column) under which every real threshold keeps its decision on
the training column, i.e. the largest training value below the threshold and the smallest at or
above it map to different integers; the integer threshold is then the one nearest ``t * 2**s``
between them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["LIMIT", "MAX_FRAC_BITS", "FixedPoint", "FixedPointError", "quantize", "fit"]

#: Largest magnitude of a fixed-point integer (and of ``range``): every such integer is a float64.
LIMIT = 2 ** 53
#: Most fractional bits: every finite float64 is a multiple of 2**-1074, so more add nothing.
MAX_FRAC_BITS = 1074


class FixedPointError(ValueError):
    """No fixed-point map keeps the column's thresholds (one-line message)."""


@dataclass(frozen=True)
class FixedPoint:
    """The map chosen for one column: ``frac_bits``, the integer ``thresholds`` (one per real
    threshold given to ``fit``, not deduplicated) and the integer ``range`` of the training column."""

    frac_bits: int
    thresholds: np.ndarray  # int64, one per real threshold
    range: tuple[int, int]


def quantize(x, frac_bits: int, lo: int, hi: int) -> np.ndarray:
    """``clamp(floor(x * 2**frac_bits), lo, hi)`` as int64 (``x`` taken as float64; NaN refused)."""
    x = np.asarray(x, dtype=np.float64)
    if np.isnan(x).any():
        raise ValueError("fixed-point map: NaN has no integer value")
    with np.errstate(over="ignore"):  # an overflow to +-inf is clamped like any large value
        y = np.ldexp(x, int(frac_bits))  # exact: only the exponent changes
    return np.floor(np.clip(y, float(lo), float(hi))).astype(np.int64)


def fit(column, thresholds, name: str = "column") -> FixedPoint:
    """The smallest ``frac_bits`` keeping every threshold's decision on ``column``, with the
    integer thresholds and the integer range of the column.

    Keeping a decision is monotone in ``frac_bits`` (one more bit only splits integers), so a
    bisection over 0 .. the most bits that keep ``|q| <= LIMIT`` finds the smallest. A threshold at
    or below the column's minimum (constant 1 on the data) maps to ``lo``; one above its maximum
    (constant 0) to ``hi + 1``. Raises ``FixedPointError`` for an empty or non-finite column, or
    when the resolution needed would take integers beyond ``LIMIT``.
    """
    v = np.unique(np.asarray(column, dtype=np.float64).reshape(-1))
    t = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    if v.size == 0:
        raise FixedPointError(f"{name}: no training values to fit a fixed-point map on")
    if not (np.isfinite(v).all() and np.isfinite(t).all()):
        raise FixedPointError(f"{name}: values and thresholds must be finite numbers")
    b = np.searchsorted(v, t, side="left")  # v[b] is the smallest value >= t
    inner = (b > 0) & (b < v.size)
    below, above = v[b[inner] - 1], v[b[inner]]

    def keeps(s: int) -> bool:
        return bool(np.all(np.floor(np.ldexp(below, s)) < np.floor(np.ldexp(above, s))))

    biggest = float(np.max(np.abs(v)))
    # |v| < 2**e, so |v * 2**s| <= 2**53 for s <= 53 - e
    top = MAX_FRAC_BITS if biggest == 0 else min(MAX_FRAC_BITS, 53 - math.frexp(biggest)[1])
    if top < 0 or not keeps(top):
        gap = float(np.min(above - below)) if inner.any() else 0.0
        raise FixedPointError(f"{name}: keeping its thresholds needs a resolution of {gap:.3g} on values "
                              f"up to {biggest:g}, more than a 53-bit fixed point holds; rescale the column")
    lo_s, hi_s = 0, top
    while lo_s < hi_s:  # smallest s in [lo_s, hi_s] that keeps every decision
        mid = (lo_s + hi_s) // 2
        lo_s, hi_s = (lo_s, mid) if keeps(mid) else (mid + 1, hi_s)
    s = lo_s
    q = np.floor(np.ldexp(v, s))
    lo, hi = int(q[0]), int(q[-1])
    T = np.empty(t.size, dtype=np.int64)
    T[b == 0] = lo
    T[b == v.size] = hi + 1
    if inner.any():
        T[inner] = np.clip(np.round(np.ldexp(t[inner], s)), q[b[inner] - 1] + 1, q[b[inner]]).astype(np.int64)
    return FixedPoint(s, T, (lo, hi))
