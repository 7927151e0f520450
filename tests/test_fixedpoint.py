"""Tests for lgn_hw.fixedpoint: the map q(x) = clamp(floor(x * 2**s), lo, hi) against exact
rational arithmetic, the threshold-decision guarantee of ``fit`` on the training column, its
minimality, integer columns, and the one-line refusals. Property tests (hypothesis)."""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lgn_hw.fixedpoint import LIMIT, FixedPointError, fit, quantize

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
modest = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
frac_bits = st.integers(0, 40)


def exact_q(x: float, s: int, lo: int, hi: int) -> int:
    """The documented map in exact arithmetic."""
    return min(hi, max(lo, math.floor(Fraction(x) * 2 ** s)))


@settings(max_examples=300, deadline=None)
@given(st.lists(finite, min_size=1, max_size=20), frac_bits, st.integers(-2 ** 40, 2 ** 40),
       st.integers(0, 2 ** 40))
def test_quantize_is_the_exact_floor_clamped(xs, s, lo, width):
    hi = lo + width
    got = quantize(np.array(xs), s, lo, hi)
    assert got.dtype == np.int64
    assert got.tolist() == [exact_q(x, s, lo, hi) for x in xs]


@settings(max_examples=300, deadline=None)
@given(modest, frac_bits, st.integers(-10 ** 6, 10 ** 6), st.integers(1, 10 ** 6), st.data())
def test_integer_comparison_is_the_real_comparison_with_the_dyadic_threshold(x, s, lo, width, data):
    """q(x) >= T  <=>  x >= T / 2**s for every integer threshold T in (lo, hi]."""
    hi = lo + width
    T = data.draw(st.integers(lo + 1, hi))
    assert bool(quantize([x], s, lo, hi)[0] >= T) == (Fraction(x) >= Fraction(T, 2 ** s))
    # the float64 form of the same comparison is exact too (T * 2**-s is a float64)
    assert bool(quantize([x], s, lo, hi)[0] >= T) == bool(x >= np.ldexp(float(T), -s))


@st.composite
def columns_and_thresholds(draw):
    """A training column (reals with small and large gaps, repeats, negatives) and thresholds
    placed at values, between values, below the minimum and above the maximum."""
    base = draw(st.lists(st.floats(-1e4, 1e4, allow_nan=False), min_size=1, max_size=40))
    eps = draw(st.sampled_from([1e-9, 1e-6, 1e-3, 0.5]))
    col = np.array(base + [b + eps for b in base[: draw(st.integers(0, len(base)))]])
    v = np.unique(col)
    picks = draw(st.lists(st.integers(0, max(0, len(v) - 1)), min_size=1, max_size=8))
    t = [v[i] for i in picks]
    t += [(v[i] + v[i + 1]) / 2 for i in picks if i + 1 < len(v)]
    t += draw(st.lists(st.floats(-2e4, 2e4, allow_nan=False), max_size=3))
    return col, np.array(sorted(set(t)))


@settings(max_examples=300, deadline=None)
@given(columns_and_thresholds())
def test_fit_keeps_every_threshold_decision_on_the_training_column(ct):
    col, t = ct
    try:
        fp = fit(col, t)
    except FixedPointError:
        # refused only when even the finest map whose integers stay within 2**53 merges the two
        # training values around some threshold (e.g. 1e-9 next to 1e-195)
        v = [Fraction(x) for x in np.unique(col)]
        big = max(abs(x) for x in v)
        s = max(k for k in range(0, 1100) if big * 2 ** k <= LIMIT) if big else 1074
        pairs = [(v[i - 1], v[i]) for i in (sum(x < Fraction(tj) for x in v) for tj in t) if 0 < i < len(v)]
        assert any(math.floor(a * 2 ** s) == math.floor(c * 2 ** s) for a, c in pairs)
        return
    lo, hi = fp.range
    assert (lo, hi) == (math.floor(Fraction(col.min()) * 2 ** fp.frac_bits),
                        math.floor(Fraction(col.max()) * 2 ** fp.frac_bits))
    q = quantize(col, fp.frac_bits, lo, hi)
    for tj, Tj in zip(t, fp.thresholds):
        assert np.array_equal(col >= tj, q >= Tj), (tj, Tj, fp.frac_bits)


@settings(max_examples=200, deadline=None)
@given(columns_and_thresholds())
def test_fit_takes_the_fewest_fractional_bits(ct):
    col, t = ct
    try:
        fp = fit(col, t)
    except FixedPointError:
        assume(False)
    assume(fp.frac_bits > 0)
    s = fp.frac_bits - 1  # one bit fewer: some threshold's neighbours collide
    v = np.unique(col)
    b = np.searchsorted(v, t)
    inner = (b > 0) & (b < len(v))
    qa, qb = np.floor(np.ldexp(v[b[inner] - 1], s)), np.floor(np.ldexp(v[b[inner]], s))
    assert (qa == qb).any()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-10 ** 6, 10 ** 6), min_size=2, max_size=50), st.data())
def test_integer_columns_need_no_fractional_bits_and_keep_integer_thresholds(values, data):
    col = np.array(values, dtype=np.int64)
    v = np.unique(col)
    assume(len(v) >= 2)
    t = np.array(sorted(set(data.draw(st.lists(st.sampled_from(v[1:].tolist()), min_size=1)))), float)
    fp = fit(col, t)
    assert fp.frac_bits == 0 and fp.range == (int(v[0]), int(v[-1]))
    assert fp.thresholds.tolist() == t.astype(np.int64).tolist()


def test_constant_thresholds_map_outside_the_data():
    fp = fit([1.5, 2.5, 3.5], [0.0, 9.0])
    lo, hi = fp.range
    assert fp.thresholds.tolist() == [lo, hi + 1]  # always 1, always 0 (also after clamping)


def test_saturation_keeps_decisions_for_values_outside_the_training_range():
    fp = fit([0.25, 0.5, 0.75], [0.5])
    lo, hi = fp.range
    x = np.array([-1e308, -5.0, 0.1, 0.5, 0.9, 7.0, 1e308, np.inf, -np.inf])
    q = quantize(x, fp.frac_bits, lo, hi)
    assert ((q >= fp.thresholds[0]) == (x >= 0.5)).all()
    assert q.min() >= lo and q.max() <= hi


def test_refusals_are_one_line():
    with pytest.raises(ValueError, match="NaN"):
        quantize([1.0, float("nan")], 3, 0, 10)
    with pytest.raises(FixedPointError, match=r"^c: keeping its thresholds needs a resolution"):
        fit([1e300, 2e300], [1.5e300], "c")  # integers beyond 2**53
    with pytest.raises(FixedPointError, match="more than a 53-bit fixed point"):
        fit([1e-9, 2e-9, 1e9], [1.5e-9])  # 30 fractional bits on values up to 1e9: 2**60
    assert fit([0.0, 5e-324], [5e-324]).frac_bits == 1074  # the smallest subnormal, exactly
    with pytest.raises(FixedPointError, match="finite"):
        fit([1.0, np.inf], [1.5])
    with pytest.raises(FixedPointError, match="no training values"):
        fit([], [1.0])
    assert LIMIT == 2 ** 53
