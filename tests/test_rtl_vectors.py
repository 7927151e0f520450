"""rtl.vectors: input packing, count unpacking, the oracle and the mismatch bookkeeping."""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

import numpy as np

from lgn_hw.encoding import Encoding, binary_feature, thermometer_feature
from lgn_hw.netlist import Netlist, random_netlist
from rtl.vectors import SimResult, check, make_vectors, random_inputs, unpack_counts


def test_bits_packing_and_oracle():
    net = random_netlist(1, 70, [20], 2, 2)
    bits = random_inputs(net, 50, 0, raw_inputs=False)
    vec = make_vectors(net, bits, raw_inputs=False)
    assert vec.input_width == 70 and len(vec) == 50
    for row, word in zip(bits, vec.inputs):
        assert [(word >> k) & 1 for k in range(70)] == row.tolist()
    counts, pred = net.evaluate(bits)
    assert (vec.counts == counts).all() and (vec.pred == pred).all()


def test_raw_packing_twos_complement():
    enc = Encoding([thermometer_feature("a", [0], (-4, 3)), binary_feature("b", (0, 9))])
    net = random_netlist(2, 2, [4], 2, 2)
    d = net.to_dict()
    d["encoding"] = enc.to_dict()
    net = Netlist.from_dict(d)
    vec = make_vectors(net, np.array([[-1, 9], [3, 0], [-4, 5]]), raw_inputs=True)
    assert vec.input_width == 3 + 4
    assert vec.inputs == [0b1001_111, 0b0000_011, 0b0101_100]
    x = random_inputs(net, 200, 1, raw_inputs=True)
    assert x[:, 0].min() >= -4 and x[:, 0].max() <= 3 and x[:, 1].max() <= 9


def test_unpack_and_check():
    assert unpack_counts(0b11_01_10, 2, 3) == [2, 1, 3]
    net = random_netlist(3, 8, [8], 2, 2)
    vec = make_vectors(net, random_inputs(net, 4, 0, raw_inputs=False), raw_inputs=False)
    res = SimResult("x", 4, 1.0)
    for i in range(4):
        check(res, vec, i, list(vec.counts[i]), int(vec.pred[i]))
    assert res.ok and res.summary().startswith("4/4 samples match (x, 4 samples/s)")
    check(res, vec, 2, [int(vec.counts[2, 0]) + 1, int(vec.counts[2, 1])], int(vec.pred[2]))
    assert not res.ok and res.n_mismatch == 1 and "sample 2" in res.details()[0]
    assert not SimResult("x", 0, 0.0).ok  # nothing simulated is not a pass
