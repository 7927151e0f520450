"""Tests for lgn_hw.thresholds: uniform and quantile threshold placement in the integer domain."""

import numpy as np
import pytest

from lgn_hw.thresholds import quantile_thresholds, uniform_thresholds


def test_uniform_thresholds():
    np.testing.assert_array_equal(uniform_thresholds(0, 255, 3), [64, 128, 192])
    np.testing.assert_array_equal(uniform_thresholds(0, 255, 255), np.arange(1, 256))
    np.testing.assert_array_equal(uniform_thresholds(0, 255, 1000), np.arange(1, 256))  # deduped
    np.testing.assert_array_equal(uniform_thresholds(0, 1, 5), [1])
    np.testing.assert_array_equal(uniform_thresholds(0, 16, 3), [4, 9, 13])
    np.testing.assert_array_equal(uniform_thresholds(-10, 9, 1), [0])
    np.testing.assert_array_equal(uniform_thresholds(3, 3, 4), [4])  # one-point domain: constant 0 bit
    np.testing.assert_allclose(uniform_thresholds(0, 1, 3, integer=False), [0.25, 0.5, 0.75])
    with pytest.raises(ValueError, match="n_thresholds"):
        uniform_thresholds(0, 9, 0)


def test_quantile_thresholds_integer_data():
    col = np.array([0, 0, 0, 0, 1, 2, 5, 9])
    t = quantile_thresholds(col, 3)
    np.testing.assert_array_equal(t, [1, 5])  # 0 would be a constant-1 bit: dropped
    assert np.all(t == np.round(t))
    np.testing.assert_array_equal(quantile_thresholds(np.full(10, 7), 3), [8])
    rng = np.random.default_rng(0)
    big = rng.integers(0, 1000, 20000)
    t = quantile_thresholds(big, 3)
    frac_above = [(big >= v).mean() for v in t]
    np.testing.assert_allclose(frac_above, [0.75, 0.5, 0.25], atol=0.02)


def test_quantile_thresholds_float_data():
    x = np.linspace(0.0, 1.0, 1001)
    np.testing.assert_allclose(quantile_thresholds(x, 3), [0.25, 0.5, 0.75])
    with pytest.raises(ValueError, match="empty training column"):
        quantile_thresholds(np.array([], dtype=np.int64), 3)
