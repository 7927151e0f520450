"""Tests for lgn_hw.feature (and its use by Encoding): the fixed-point map of a real feature
(``frac_bits``) in ``encode`` and ``to_integers``, category names, JSON round trips, field-naming
validation errors, ``real_feature`` and ``for_dataset`` on ``real`` features."""

import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lgn_hw.datasets import Dataset
from lgn_hw.encoding import Encoding, for_dataset
from lgn_hw.encoding import bits_top, real_bits_feature
from lgn_hw.feature import (Feature, binary_feature, bits_feature, onehot_feature, real_feature,
                            thermometer_feature)
from lgn_hw.netlist import Netlist, NetlistError, random_netlist


def exact_bits(feat: Feature, x: float) -> list[int]:
    """docs/netlist.md: q = clamp(floor(x * 2**s), lo, hi), bit j = q >= thresholds[j]."""
    lo, hi = feat.range
    if np.isinf(x):
        q = hi if x > 0 else lo
    else:
        q = min(hi, max(lo, int(np.floor(Fraction(x) * 2 ** feat.frac_bits))))
    return [int(q >= t) for t in feat.thresholds]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(-50000, 50000).map(lambda k: k / 1000), min_size=3, max_size=30),  # CSV decimals
       st.lists(st.floats(-100, 100, allow_nan=False) | st.sampled_from([np.inf, -np.inf]), min_size=1,
                max_size=20))
def test_real_feature_encodes_by_the_documented_map(train, test):
    train = np.array(train)
    t = np.quantile(train, [0.25, 0.5, 0.75])
    feat = real_feature("r", train, t)
    enc = Encoding([feat, binary_feature("b")])
    x = np.stack([np.array(test), np.zeros(len(test))], axis=1)
    bits = enc.encode(x)
    assert bits[:, :feat.n_bits].tolist() == [exact_bits(feat, v) for v in test]
    q = enc.to_integers(x)[:, 0]
    assert (q >= feat.range[0]).all() and (q <= feat.range[1]).all()
    # the hardware's view: the integers in, integer comparisons, the same bits out
    hw = np.stack([q >= T for T in feat.thresholds.astype(np.int64)], 1).astype(np.uint8)
    assert np.array_equal(hw, bits[:, :feat.n_bits])


def test_real_feature_keeps_training_decisions_and_json_round_trips():
    col = np.array([0.1184, 0.0847, 0.1096, 0.1425, 0.1003, 0.1278, 0.0946])
    t = np.quantile(col, [0.25, 0.5, 0.75])
    feat = real_feature("mean smoothness", col, t)
    assert feat.frac_bits > 0 and feat.kind == "thermometer"
    enc = Encoding([feat])
    got = enc.encode(col[:, None])
    want = np.stack([col >= tj for tj in t], 1).astype(np.uint8)
    assert np.array_equal(got, want)
    d = json.loads(json.dumps(enc.to_dict()))
    assert d["features"][0]["frac_bits"] == feat.frac_bits
    back = Encoding.from_dict(d)
    assert back == enc and np.array_equal(back.encode(col[:, None]), got)


def test_to_integers_of_integer_features_checks_values():
    enc = Encoding([thermometer_feature("a", [3, 5], (0, 9)), onehot_feature("b", [0, 1, 2], (0, 2))])
    assert enc.to_integers(np.array([[1.0, 2.0], [9, 0]])).tolist() == [[1, 2], [9, 0]]
    with pytest.raises(ValueError, match=r"^feature 0 \(a\): value 1.5 of sample 0 is not an integer"):
        enc.to_integers(np.array([[1.5, 0]]))
    with pytest.raises(ValueError, match=r"^feature 1 \(b\): value 3 of sample 1 is outside its range \[0, 2\]"):
        enc.to_integers(np.array([[1, 0], [1, 3]]))
    with pytest.raises(ValueError, match=r"feature 0 \(r\): fixed-point map: NaN"):
        Encoding([thermometer_feature("r", [3], (0, 9), frac_bits=2)]).encode(np.array([[np.nan]]))


def test_categories_name_the_codes_and_round_trip():
    f = onehot_feature("color", [0, 1, 2], (0, 2), ["blue", "green", "red"])
    b = binary_feature("sex", (0, 1), ["Female", "Male"])
    enc = Encoding([f, b])
    back = Encoding.from_dict(json.loads(json.dumps(enc.to_dict())))
    assert back.features[0].categories == ["blue", "green", "red"]
    assert back.features[1].categories == ["Female", "Male"]


BAD = [
    ({"name": "a", "kind": "onehot", "values": [0], "range": [0, 0], "frac_bits": 2},
     r"features\[0\].frac_bits: unexpected field for a onehot feature"),
    ({"name": "a", "kind": "thermometer", "thresholds": [1], "range": [0, 3], "frac_bits": -1},
     r"features\[0\].frac_bits: expected an integer in 0..1074"),
    ({"name": "a", "kind": "thermometer", "thresholds": [1], "range": [0, 3], "frac_bits": 1.5},
     r"features\[0\].frac_bits: expected an integer"),
    ({"name": "a", "kind": "thermometer", "thresholds": [1], "range": [0, 2 ** 60], "frac_bits": 0},
     r"features\[0\].range: a fixed-point range must lie within"),
    ({"name": "a", "kind": "thermometer", "thresholds": [1], "range": [0, 3], "categories": ["x"]},
     r"features\[0\].categories: unexpected field for a thermometer feature"),
    ({"name": "a", "kind": "onehot", "values": [0, 1], "range": [0, 2], "categories": ["x", "y"]},
     r"features\[0\].categories: 2 names for the 3 codes 0..2"),
    ({"name": "a", "kind": "binary", "range": [0, 1], "categories": ["x", "x"]},
     r"features\[0\].categories: duplicate names"),
    ({"name": "a", "kind": "binary", "range": [0, 1], "categories": ["x", 3]},
     r"features\[0\].categories: expected a list of strings"),
    ({"name": "a", "kind": "bits", "bits": [1], "range": [-1, 3]},
     r"features\[0\].range: a bits feature takes non-negative integers"),
    ({"name": "a", "kind": "bits", "bits": [8, 7], "range": [0, 255]},
     r"features\[0\].bits: position 8 is outside the 8-bit port of the range \[0, 255\]"),
    ({"name": "a", "kind": "bits", "bits": [0], "range": [0, 0]}, None),
    ({"name": "a", "kind": "bits", "bits": [1], "range": [0, 0]},
     r"features\[0\].bits: position 1 is outside the 1-bit port"),
    ({"name": "a", "kind": "bits", "bits": [3, 3], "range": [0, 15]},
     r"features\[0\].bits: duplicate positions"),
    ({"name": "a", "kind": "bits", "bits": [], "range": [0, 15]},
     r"features\[0\].bits: expected a non-empty list"),
    ({"name": "a", "kind": "bits", "bits": [-1], "range": [0, 15]},
     r"features\[0\].bits: position -1 is not a bit of the port"),
    ({"name": "a", "kind": "bits", "bits": [2 ** 64], "range": [0, 15]},
     r"features\[0\].bits: position 18446744073709551616 is not a bit"),
    ({"name": "a", "kind": "bits", "bits": [1.0], "range": [0, 15]},
     r"features\[0\].bits: expected a list of integer bit positions"),
    ({"name": "a", "kind": "bits", "range": [0, 15]},
     r"features\[0\].bits: expected a list of integer bit positions"),
    ({"name": "a", "kind": "bits", "bits": [1], "range": [0, 15], "thresholds": [1]},
     r"features\[0\].thresholds: unexpected field for a bits feature"),
    ({"name": "a", "kind": "bits", "bits": [1], "range": [0, 15], "categories": ["x"]},
     r"features\[0\].categories: unexpected field for a bits feature"),
]


@pytest.mark.parametrize("feature, pattern", BAD)
def test_bad_new_fields_name_the_field_in_the_netlist(feature, pattern):
    base = random_netlist(0, 1, [2], 2, 2)
    d = base.to_dict()
    d["encoding"] = {"features": [feature]}
    if pattern is None:  # the valid twin of its neighbours
        assert Netlist.from_dict(d).encoding.features[0].kind == feature["kind"]
        return
    with pytest.raises(NetlistError, match=r"^encoding\." + pattern) as err:
        Netlist.from_dict(d)
    assert "\n" not in str(err.value)


def test_older_netlists_still_load_and_new_ones_say_version_3():
    net = random_netlist(0, 3, [4], 2, 2)
    d = net.to_dict()
    assert d["version"] == 3
    for old in (1, 2):
        d["version"] = old
        assert Netlist.from_dict(d).n_gates == net.n_gates


def _planes(x, positions):
    """docs/netlist.md, literally: bit j = (x >> bits[j]) & 1, Python integers."""
    return [[(int(v) >> p) & 1 for p in positions] for v in x]


def test_bits_feature_encodes_bit_planes_and_round_trips():
    f8, f5 = bits_feature("p", [7, 6, 0], (0, 255)), bits_feature("q", [4, 2], (3, 17))
    enc = Encoding([f8, f5, binary_feature("b")])
    x = np.stack([np.arange(256), 3 + np.arange(256) % 15, np.arange(256) % 2], 1)
    want = [a + b + [c] for a, b, c in zip(_planes(x[:, 0], [7, 6, 0]), _planes(x[:, 1], [4, 2]), x[:, 2])]
    for arr in (x, x.astype(np.uint8), x.astype(np.float64)):
        assert enc.encode(arr).tolist() == want
    assert not np.array_equal(enc.encode(x)[:, :3], (x[:, :1] >= [128, 64, 1]).astype(np.uint8))
    back = Encoding.from_dict(json.loads(json.dumps(enc.to_dict())))
    assert back == enc and back.features[0].to_dict()["bits"] == [7, 6, 0]
    with pytest.raises(ValueError, match=r"^feature 1 \(q\): value 18 of sample 0 is outside its range"):
        enc.encode(np.array([[0, 18, 0]]))
    with pytest.raises(ValueError, match=r"^feature 0 \(p\): value 1.5 of sample 0 is not an integer"):
        enc.encode(np.array([[1.5, 3, 0]]))
    assert repr(enc) == "Encoding(3 features: 1 binary, 2 bit-plane; 6 bits)"


def test_bits_top_takes_the_most_significant_bits_or_all():
    enc = bits_top([(0, 255), (0, 16), (0, 1), (0, 0)], 3)
    assert [f.bits.tolist() for f in enc.features] == [[7, 6, 5], [4, 3, 2], [0], [0]]
    assert [f.bits.tolist() for f in bits_top([(0, 255)], 9).features] == [list(range(7, -1, -1))]
    with pytest.raises(ValueError, match="at least 1 bit"):
        bits_top([(0, 255)], 0)


def test_for_dataset_bits_keeps_categorical_kinds_and_maps_reals():
    x = np.array([[0.5, 0, 3, 1], [1.25, 1, 9, 0], [2.0, 2, 0, 1], [3.5, 1, 12, 0], [0.75, 0, 5, 1]])
    ds = Dataset("t", x, np.zeros(5, int), x, np.zeros(5, int), 2, ["r", "c", "n", "b"],
                 ["real", "categorical", "numeric", "categorical"], [(0, 4), (0, 2), (0, 12), (0, 1)],
                 ["no", "yes"], feature_values=[None, ["a", "b", "c"], None, None])
    enc = for_dataset(ds, thresholds=3, method="bits")
    r, c, n, b = enc.features
    assert (r.kind, c.kind, n.kind, b.kind) == ("bits", "onehot", "bits", "binary")
    assert n.bits.tolist() == [3, 2, 1] and n.frac_bits is None
    # the real column: 3.5 needs one fractional bit to become a 3-bit integer (7)
    assert r.frac_bits == 1 and r.range == (1, 7) and r.bits.tolist() == [2, 1, 0]
    q = np.floor(x[:, 0] * 2).astype(int)
    assert enc.encode(x)[:, :3].tolist() == _planes(q, [2, 1, 0])
    with pytest.raises(ValueError, match="'r': the bits encoding takes non-negative values, its minimum is -1"):
        for_dataset(Dataset("t", x - [1.5, 0, 0, 0], ds.y_train, x, ds.y_test, 2, ds.feature_names,
                            ds.feature_kinds, ds.feature_ranges, ds.class_names), 3, "bits")
    with pytest.raises(ValueError, match=r"'n': the bits encoding takes non-negative integers, its range is \[-2, 12\]"):
        for_dataset(Dataset("t", x, ds.y_train, x, ds.y_test, 2, ds.feature_names, ds.feature_kinds,
                            [(0, 4), (0, 2), (-2, 12), (0, 1)], ds.class_names), 3, "bits")


def test_real_bits_feature_of_integers_and_of_reals():
    f = real_bits_feature("i", np.array([0.0, 5.0, 2.0]), 8)  # integers: no fractional bits invented
    assert f.frac_bits == 0 and f.range == (0, 5) and f.bits.tolist() == [2, 1, 0]
    col = np.array([0.001, 0.0126, 0.0031])
    f = real_bits_feature("s", col, 4)
    assert f.range[1].bit_length() == 4 and f.bits.tolist() == [3, 2, 1, 0]
    q = np.floor(col * 2.0 ** f.frac_bits).astype(int)
    assert Encoding([f]).encode(col[:, None]).tolist() == _planes(q, [3, 2, 1, 0])
    with pytest.raises(ValueError, match="'h': values up to 1e\\+20 exceed the 2\\*\\*53"):
        real_bits_feature("h", np.array([0.0, 1e20]), 3)


def test_for_dataset_real_features_and_category_names():
    x = np.array([[0.5, 0], [1.25, 1], [2.0, 2], [3.5, 1], [0.75, 0]], dtype=np.float64)
    ds = Dataset("t", x, np.array([0, 1, 0, 1, 0]), x, np.array([0, 1, 0, 1, 0]), 2, ["r", "c"],
                 ["real", "categorical"], [(0, 4), (0, 2)], ["no", "yes"],
                 feature_values=[None, ["a", "b", "c"]])
    for method in ("uniform", "quantile"):
        enc = for_dataset(ds, thresholds=3, method=method)
        r, c = enc.features
        assert r.frac_bits is not None and c.categories == ["a", "b", "c"]
        # decisions of the real thresholds survive on the training column
        q = enc.to_integers(x)[:, 0]
        assert (q[np.argsort(x[:, 0])] == np.sort(q)).all()
    with pytest.raises(ValueError, match="expected 'numeric', 'real' or 'categorical'"):
        for_dataset(Dataset("t", x, ds.y_train, x, ds.y_test, 2, ["r", "c"], ["real", "odd"],
                            [(0, 4), (0, 2)], ["no", "yes"]))
