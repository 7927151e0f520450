"""Where thermometer thresholds go: evenly spaced over a feature's range, or at quantiles of
its training data.

Both work in the raw integer domain when the data are integers (8-bit pixels, ages, counts):
thresholds are then integers, deduplicated, and never constant on the data (``x >= t`` with
``t`` at or below the minimum would always be 1). ``lgn_hw.encoding`` turns them into features.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["uniform_thresholds", "quantile_thresholds"]


def uniform_thresholds(lo: float, hi: float, n: int, integer: bool = True) -> np.ndarray:
    """``n`` evenly spaced thresholds splitting [lo, hi] into n+1 bins.

    Integer domain: the values lo..hi form ``hi-lo+1`` points and threshold j is
    ``round(lo + (hi-lo+1)(j+1)/(n+1))``, kept in [lo+1, hi] and deduplicated (so ``x >= t`` is
    never constant on the domain; 0..255 with n=3 gives 64, 128, 192; with n=255 every value).
    A one-point domain gets the single threshold lo+1 (a constant-0 bit).
    """
    if n < 1:
        raise ValueError(f"n_thresholds: expected >= 1, got {n}")
    j = np.arange(1, n + 1, dtype=np.float64)
    if integer:
        lo, hi = int(lo), int(hi)
        if hi <= lo:
            return np.array([lo + 1], dtype=np.float64)
        t = np.floor(lo + (hi - lo + 1) * j / (n + 1) + 0.5)
        return np.unique(np.clip(t, lo + 1, hi))
    if hi <= lo:
        return np.array([np.nextafter(float(lo), np.inf)])
    return np.unique(lo + (hi - lo) * j / (n + 1))


def quantile_thresholds(column: np.ndarray, n: int) -> np.ndarray:
    """Per-feature quantile thresholds at levels (j+1)/(n+1), deduplicated.

    Integer data gives integer thresholds (actual data values, method ``higher``); thresholds at or
    below the column minimum would give a constant-1 bit and are dropped. A constant column gets
    the single threshold min+1.
    """
    if n < 1:
        raise ValueError(f"n_thresholds: expected >= 1, got {n}")
    column = np.asarray(column).reshape(-1)
    if column.size == 0:
        raise ValueError("quantile thresholds: empty training column")
    levels = np.arange(1, n + 1) / (n + 1)
    integer = np.issubdtype(column.dtype, np.integer) or bool(np.all(np.mod(column, 1) == 0))
    if integer:
        # "higher": an actual data value, so that P(x < t) is close to the level
        t = np.unique(np.quantile(column, levels, method="higher").astype(np.float64))
    else:
        t = np.unique(np.quantile(column.astype(np.float64), levels))
    lo = float(column.min())
    t = t[t > lo]
    if t.size == 0:
        return np.array([math.floor(lo) + 1 if integer else np.nextafter(lo, np.inf)], dtype=np.float64)
    return t
