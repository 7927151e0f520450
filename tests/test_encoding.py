"""Tests for lgn_hw.encoding: bit semantics (x >= t, x == v, x != 0), feature-major order,
builders, to_dict/from_dict round trips and field-naming validation errors."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lgn_hw.encoding as enc
from lgn_hw.datasets import Dataset
from lgn_hw.encoding import (Encoding, Feature, binary_feature, for_dataset, onehot, onehot_feature,
                             thermometer_feature, thermometer_quantile, thermometer_raw,
                             thermometer_uniform)


def brute_encode(e: Encoding, x) -> np.ndarray:
    """The docs/netlist.md definition, one sample and one bit at a time."""
    rows = []
    for sample in np.asarray(x):
        bits = []
        for f, feat in enumerate(e.features):
            v = sample[f]
            if feat.kind == "thermometer":
                bits += [int(v >= t) for t in feat.thresholds]
            elif feat.kind == "onehot":
                bits += [int(v == u) for u in feat.values]
            else:
                bits.append(int(v != 0))
        rows.append(bits)
    return np.array(rows, dtype=np.uint8).reshape(len(rows), e.n_bits)


def test_thermometer_onehot_binary_bits_in_feature_major_order():
    e = Encoding([
        thermometer_feature("a", [2, 5, 7], (0, 9)),
        onehot_feature("b", [0, 2, 3], (0, 3)),
        binary_feature("c", (-2, 2)),
    ])
    assert e.n_bits == 7 and e.n_features == 3
    assert list(e.offsets) == [0, 3, 6, 7]
    assert list(e.bit_feature()) == [0, 0, 0, 1, 1, 1, 2]
    x = np.array([[0, 0, 0], [2, 2, -1], [6, 3, 1], [9, 1, 0]])
    expected = np.array([
        [0, 0, 0, 1, 0, 0, 0],
        [1, 0, 0, 0, 1, 0, 1],
        [1, 1, 0, 0, 0, 1, 1],
        [1, 1, 1, 0, 0, 0, 0],
    ], dtype=np.uint8)
    got = e.encode(x)
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, expected)


def test_fractional_threshold_means_ceil_for_integers_and_exact_for_floats():
    e = Encoding([thermometer_feature("p", [63.5, 128], (0, 255))])
    np.testing.assert_array_equal(e.encode(np.array([[63], [64], [127], [128]]))[:, 0], [0, 1, 1, 1])
    np.testing.assert_array_equal(e.encode(np.array([[63.4], [63.5], [127.9], [128.0]])),
                                  [[0, 0], [1, 0], [1, 0], [1, 1]])


def test_single_sample_vector_and_shape_errors():
    e = thermometer_raw(3, [10, 20])
    np.testing.assert_array_equal(e.encode([5, 15, 25]), [[0, 0, 1, 0, 1, 1]])
    with pytest.raises(ValueError, match=r"expected raw input of shape \[N, 3\], got \[2, 4\]"):
        e.encode(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="numeric array"):
        e.encode(np.array([["a", "b", "c"]]))


@st.composite
def encodings(draw):
    feats = []
    for i in range(draw(st.integers(1, 6))):
        lo = draw(st.integers(-50, 50))
        hi = lo + draw(st.integers(0, 60))
        kind = draw(st.sampled_from(["thermometer", "onehot", "binary"]))
        if kind == "thermometer":
            ts = sorted(set(draw(st.lists(st.one_of(st.integers(lo - 3, hi + 3),
                                                     st.floats(lo - 3, hi + 3, allow_nan=False)),
                                           min_size=1, max_size=9))))
            feats.append(thermometer_feature(f"f{i}", ts, (lo, hi)))
        elif kind == "onehot":
            vs = draw(st.lists(st.integers(lo - 2, hi + 2), min_size=1, max_size=9, unique=True))
            feats.append(onehot_feature(f"f{i}", vs, (lo, hi)))
        else:
            feats.append(binary_feature(f"f{i}", (lo, hi)))
    return Encoding(feats)


@settings(max_examples=60, deadline=None)
@given(e=encodings(), n=st.integers(0, 40), seed=st.integers(0, 2**32 - 1), as_float=st.booleans())
def test_encode_matches_brute_force(e, n, seed, as_float):
    rng = np.random.default_rng(seed)
    x = np.stack([rng.integers(f.range[0] - 3, f.range[1] + 4, size=n) for f in e.features], axis=1)
    if as_float:
        x = x + rng.choice([0.0, 0.25, 0.5], size=x.shape)
    np.testing.assert_array_equal(e.encode(x), brute_encode(e, x))


def test_encode_across_chunk_boundaries(monkeypatch):
    monkeypatch.setattr(enc, "_CHUNK_ROWS", 7)
    e = Encoding([thermometer_feature("a", [1, 4], (0, 5)), onehot_feature("b", [1, 2, 3], (0, 3))])
    rng = np.random.default_rng(1)
    x = np.stack([rng.integers(0, 6, 50), rng.integers(0, 4, 50)], axis=1)
    np.testing.assert_array_equal(e.encode(x), brute_encode(e, x))


@settings(max_examples=40, deadline=None)
@given(e=encodings())
def test_to_dict_from_dict_round_trip(e):
    d = json.loads(json.dumps(e.to_dict()))
    e2 = Encoding.from_dict(d)
    assert e2 == e and e2.to_dict() == d and e2.n_bits == e.n_bits
    x = np.array([[f.range[0] for f in e.features], [f.range[1] for f in e.features]])
    np.testing.assert_array_equal(e2.encode(x), e.encode(x))


def test_to_dict_matches_documented_form():
    e = Encoding([thermometer_feature("pixel_0", [64, 128, 192], (0, 255)),
                  onehot_feature("workclass", [0, 1, 2, 3], (0, 8)), binary_feature("sex", (0, 1))])
    assert e.to_dict() == {"features": [
        {"name": "pixel_0", "kind": "thermometer", "thresholds": [64, 128, 192], "range": [0, 255]},
        {"name": "workclass", "kind": "onehot", "values": [0, 1, 2, 3], "range": [0, 8]},
        {"name": "sex", "kind": "binary", "range": [0, 1]},
    ]}
    assert Encoding.from_dict({"features": [{"name": "t", "kind": "thermometer", "thresholds": [0.5, 2],
                                             "range": [0, 3]}]}).to_dict()["features"][0]["thresholds"] == [0.5, 2]


GOOD = {"name": "a", "kind": "thermometer", "thresholds": [1, 2], "range": [0, 3]}


@pytest.mark.parametrize("features, message", [
    ([GOOD, GOOD, GOOD, dict(GOOD, thresholds=[2, 2])], r"^encoding\.features\[3\]\.thresholds: not strictly increasing$"),
    ([dict(GOOD, thresholds=[3, 1])], r"^encoding\.features\[0\]\.thresholds: not strictly increasing$"),
    ([dict(GOOD, thresholds=[])], r"^encoding\.features\[0\]\.thresholds: expected a non-empty list"),
    ([dict(GOOD, thresholds=["1"])], r"^encoding\.features\[0\]\.thresholds: expected a list of finite numbers$"),
    ([dict(GOOD, thresholds=[float("nan")])], r"^encoding\.features\[0\]\.thresholds: expected a list of finite"),
    ([dict(GOOD, thresholds=[True])], r"^encoding\.features\[0\]\.thresholds: expected a list of finite"),
    ([dict(GOOD, thresholds=7)], r"^encoding\.features\[0\]\.thresholds: expected a list"),
    ([dict(GOOD, range=[3, 0])], r"^encoding\.features\[0\]\.range: expected \[lo, hi\] integers with lo <= hi"),
    ([dict(GOOD, range=[0, 2.5])], r"^encoding\.features\[0\]\.range: expected \[lo, hi\] integers"),
    ([dict(GOOD, range=[0])], r"^encoding\.features\[0\]\.range: expected \[lo, hi\]"),
    ([GOOD, dict(GOOD, kind="gray")], r"^encoding\.features\[1\]\.kind: unknown kind 'gray'"),
    ([{k: v for k, v in GOOD.items() if k != "name"}], r"^encoding\.features\[0\]\.name: missing$"),
    ([dict(GOOD, name=3)], r"^encoding\.features\[0\]\.name: expected a string"),
    ([{"name": "o", "kind": "onehot", "values": [1, 1], "range": [0, 3]}], r"^encoding\.features\[0\]\.values: duplicate values$"),
    ([{"name": "o", "kind": "onehot", "values": [1.5], "range": [0, 3]}], r"^encoding\.features\[0\]\.values: expected a list of integers$"),
    ([{"name": "o", "kind": "onehot", "range": [0, 3]}], r"^encoding\.features\[0\]\.values: expected a list of integers$"),
    ([{"name": "b", "kind": "binary", "range": [0, 1], "values": [1]}], r"^encoding\.features\[0\]\.values: unexpected field"),
    ([], r"^encoding\.features: expected a non-empty list$"),
    ([5], r"^encoding\.features\[0\]: expected an object, got int$"),
])
def test_invalid_encodings_name_the_field(features, message):
    with pytest.raises(ValueError, match=message):
        Encoding.from_dict({"features": features})


def test_invalid_top_level():
    with pytest.raises(ValueError, match=r"^encoding: expected an object, got list$"):
        Encoding.from_dict([])
    with pytest.raises(ValueError, match=r"^encoding\.bits: unexpected field$"):
        Encoding.from_dict({"features": [GOOD], "bits": 3})
    with pytest.raises(ValueError, match=r"^encoding\.features: expected a non-empty list$"):
        Encoding.from_dict({})


def test_thermometer_uniform_and_raw():
    e = thermometer_uniform([(0, 255), (0, 16)], 3, names=["p", "q"])
    assert [f.name for f in e.features] == ["p", "q"] and e.n_bits == 6
    np.testing.assert_array_equal(e.features[1].thresholds, [4, 9, 13])
    r = thermometer_raw(784, 3)
    assert r.n_bits == 784 * 3 and all(f.range == (0, 255) for f in r.features)
    np.testing.assert_array_equal(r.features[500].thresholds, [64, 128, 192])
    r2 = thermometer_raw(2, [10, 100, 200])
    np.testing.assert_array_equal(r2.encode([[9, 200]]), [[0, 0, 0, 1, 1, 1]])


def test_thermometer_quantile_per_feature():
    rng = np.random.default_rng(2)
    x = np.stack([rng.integers(0, 10, 500), rng.integers(100, 5000, 500)], axis=1)
    e = thermometer_quantile(x, 4, names=["small", "big"])
    assert e.features[0].range == (int(x[:, 0].min()), int(x[:, 0].max()))
    assert len(e.features[1].thresholds) == 4 and e.features[1].thresholds[0] > 100
    np.testing.assert_array_equal(e.encode(x), brute_encode(e, x))


def test_onehot_builder():
    e = onehot([[0, 1, 2], [5, 7]], names=["a", "b"])
    assert e.features[1].range == (5, 7)
    np.testing.assert_array_equal(e.encode([[1, 7], [3, 6]]), [[0, 1, 0, 0, 1], [0, 0, 0, 0, 0]])


def _toy_dataset():
    x = np.array([[0, 2, 10, 1], [3, 0, 20, 0], [1, 1, 30, 1], [2, 2, 40, 0]], dtype=np.int64)
    y = np.array([0, 1, 0, 1])
    return Dataset("toy", x, y, x, y, 2, ["c4", "c3", "num", "bin"],
                   ["categorical", "categorical", "numeric", "categorical"],
                   [(0, 3), (0, 2), (10, 40), (0, 1)], ["n", "y"])


def test_for_dataset_picks_per_kind():
    ds = _toy_dataset()
    e = for_dataset(ds, thresholds=2, method="uniform")
    assert [f.kind for f in e.features] == ["onehot", "onehot", "thermometer", "binary"]
    assert list(e.features[0].values) == [0, 1, 2, 3]
    assert e.n_bits == 4 + 3 + 2 + 1
    np.testing.assert_array_equal(e.features[2].thresholds, [20, 31])  # 10 + 31*j/3, rounded
    q = for_dataset(ds, thresholds=3, method="quantile")
    np.testing.assert_array_equal(q.features[2].thresholds, [20, 30, 40])
    bits = e.encode(ds.x_train)
    np.testing.assert_array_equal(bits[:, e.feature_bits(0)].sum(axis=1), 1)  # exactly one hot
    with pytest.raises(ValueError, match="method"):
        for_dataset(ds, method="median")


def test_feature_constructor_validates():
    with pytest.raises(ValueError, match="not strictly increasing"):
        thermometer_feature("t", [3, 2], (0, 5))
    with pytest.raises(ValueError, match=r"encoding\.features\[0\]: expected a Feature"):
        Encoding([{"name": "x"}])
    with pytest.raises(ValueError, match=r"encoding\.features\[0\]\.kind"):
        Encoding([Feature("x", "gray", (0, 1))])


@pytest.mark.parametrize("wide", [False, True])
def test_both_encode_strategies(wide, monkeypatch):
    """Many narrow features use the per-rank comparisons, few wide ones the per-feature loop."""
    monkeypatch.setattr(enc, "_CHUNK_ROWS", 16)
    rng = np.random.default_rng(7)
    feats = []
    for i in range(3 if wide else 12):
        k = 10 if wide else int(rng.integers(1, 3))
        kind = ["thermometer", "onehot", "binary"][i % 3]
        if kind == "thermometer":
            feats.append(thermometer_feature(f"t{i}", np.sort(rng.choice(np.arange(-20, 20), k, replace=False)) + 0.5 * (i % 2), (-20, 20)))
        elif kind == "onehot":
            feats.append(onehot_feature(f"o{i}", rng.choice(np.arange(-20, 20), k, replace=False), (-20, 20)))
        else:
            feats.append(binary_feature(f"b{i}", (-20, 20)))
    e = Encoding(feats)
    t_max = max(f.n_bits for f in feats)
    assert (e.n_features <= t_max) == wide
    x = rng.integers(-22, 23, size=(100, e.n_features))
    np.testing.assert_array_equal(e.encode(x), brute_encode(e, x))
    np.testing.assert_array_equal(e.encode(x + 0.5), brute_encode(e, x + 0.5))


def test_free_bits_are_the_wires_and_constants_of_the_port():
    from lgn_hw.encoding import bits_top

    pixel = thermometer_uniform([(0, 255)] * 2, 3)  # 64, 128, 192: only x >= 128 is x[7]
    assert pixel.free_bits().tolist() == [False, True, False] * 2
    assert bits_top([(0, 255)], 2).free_bits().tolist() == [True, True]
    # outside the range (constants), the inverted sign bit of a signed port (x >= 0 is ~x[3]), a
    # 0/1 range; a range too wide to enumerate counts any comparator as logic
    e = Encoding([thermometer_feature("a", [-3, 0, 20], (-8, 7)), onehot_feature("b", [0, 1], (0, 1)),
                  binary_feature("c", (0, 3)), thermometer_feature("d", [5, 1 << 20], (0, (1 << 20) - 1))])
    assert e.free_bits().tolist() == [False, True, True, True, True, False, False, True]
    assert thermometer_uniform([(0, 255)], 4).free_bits().tolist() == [False] * 4


@settings(max_examples=25, deadline=None)
@given(st.sampled_from([-16, -8, -3, 0, 2]), st.sampled_from([0, 5, 7, 15, 31, 40]),
       st.lists(st.integers(-25, 45), min_size=1, max_size=4))
def test_free_bits_agree_with_the_hardware_encoders_supports(lo, span, thresholds):
    """A bit is free exactly when rtl.encoder finds it depends on at most one port bit."""
    pytest.importorskip("amaranth")
    from rtl.encoder import feature_shape, small_function

    hi = lo + span
    feat = thermometer_feature("x", sorted(set(thresholds)), (lo, hi))
    free = Encoding([feat]).free_bits()
    for j in range(feat.n_bits):
        support, _ = small_function(feat, j, feature_shape(feat))
        # the port holds patterns outside [lo, hi]: a bit may vary there and still be in-range free
        if len(support) <= 1:
            assert free[j], (lo, hi, feat.thresholds[j])
        if hi - lo + 1 == 1 << feature_shape(feat).width:  # the range is the whole port: equal
            assert free[j] == (len(support) <= 1), (lo, hi, feat.thresholds[j])
