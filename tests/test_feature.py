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
from lgn_hw.feature import (Feature, binary_feature, onehot_feature, real_feature,
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
]


@pytest.mark.parametrize("feature, pattern", BAD)
def test_bad_new_fields_name_the_field_in_the_netlist(feature, pattern):
    base = random_netlist(0, 1, [2], 2, 2)
    d = base.to_dict()
    d["encoding"] = {"features": [feature]}
    with pytest.raises(NetlistError, match=r"^encoding\." + pattern) as err:
        Netlist.from_dict(d)
    assert "\n" not in str(err.value)


def test_version_1_netlists_still_load_and_new_ones_say_version_2():
    net = random_netlist(0, 3, [4], 2, 2)
    d = net.to_dict()
    assert d["version"] == 2
    d["version"] = 1
    assert Netlist.from_dict(d).n_gates == net.n_gates


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
