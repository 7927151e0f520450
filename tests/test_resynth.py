"""lgn_hw.resynth: collapsing gates into their readers keeps every class count, for every input."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from lgn_hw.netlist import Head, Layer, Netlist, random_netlist
from lgn_hw.optimize import _depends, optimize
from lgn_hw.resynth import compose, reduce_support, resynthesize
from netlist_reference import brute_counts


def _every(n):
    return (np.arange(1 << n)[:, None] >> np.arange(n)) & 1


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_in=st.integers(1, 9), classes=st.integers(1, 3),
       depth=st.integers(1, 4), special=st.floats(0, 0.5), skip=st.booleans(),
       offsets=st.booleans(), k=st.integers(2, 6), data=st.data())
def test_resynthesis_keeps_the_function_exhaustively(seed, n_in, classes, depth, special, skip,
                                                     offsets, k, data):
    widths = [classes * data.draw(st.integers(1, 5)) for _ in range(depth)]
    fans = [data.draw(st.integers(1, 6)) for _ in range(depth)]
    net = random_netlist(seed, n_in, widths, fans, classes, special=special, skip=skip,
                         offsets=offsets)
    every = _every(n_in)
    out, stats = resynthesize(net, k)
    assert (out.evaluate(every)[0] == brute_counts(net, every)).all()
    assert stats["gates_out"] == out.n_gates <= optimize(net)[0].n_gates
    # no gate grew beyond k inputs it depends on (a layer may be wider only through an
    # original gate that already was)
    for layer in out.layers:
        for t in layer.tables:
            used = sum(_depends(int(t), layer.fan_in, j) for j in range(layer.fan_in))
            assert used <= max(k, max(fans))


def test_a_chain_of_small_gates_folds_into_one_lut():
    # (a AND b) -> XOR c -> OR d: three 2-input gates over four inputs, one 4-LUT
    layers = [Layer(2, [[0, 1]], [0x8]), Layer(2, [[4, 2]], [0x6]), Layer(2, [[5, 3]], [0xE])]
    net = Netlist(4, layers, Head(1, [[6]]))
    out, stats = resynthesize(net, 4)
    assert out.n_gates == 1 and stats["collapsed"] == 2
    assert (out.evaluate(_every(4))[0] == brute_counts(net, _every(4))).all()
    # with 3-input LUTs only the first step fits
    out3, _ = resynthesize(net, 3)
    assert out3.n_gates == 2


def test_shared_gates_fold_into_every_reader_and_counted_gates_stay():
    # g = a AND b is read by two gates and counted by the head: it must stay
    layers = [Layer(2, [[0, 1]], [0x8]), Layer(2, [[3, 2], [3, 2]], [0x6, 0xE])]
    net = Netlist(3, layers, Head(2, [[3, 4], [5]]))
    out, stats = resynthesize(net, 6)
    assert stats["collapsed"] == 0 and out.n_gates == 3
    # not counted: folded into both readers
    net2 = Netlist(3, layers, Head(2, [[4], [5]]))
    out2, stats2 = resynthesize(net2, 6)
    assert stats2["collapsed"] == 1 and out2.n_gates == 2
    assert (out2.evaluate(_every(3))[0] == brute_counts(net2, _every(3))).all()


def test_a_wrong_composition_would_be_caught():
    # the checker: composing with the inner gate negated must change some count
    outer, inner = (0x6, [7, 8]), (0x8, [0, 1])  # XOR(g, c), g = a AND b
    t, sup = compose(outer, 0, inner)
    bad, _ = compose(outer, 0, (0x7, [0, 1]))
    assert sup == [8, 0, 1] and t != bad
    assert reduce_support(0b1010, [5, 6]) == (0b10, [5])


def test_bad_lut_size():
    net = random_netlist(1, 4, [4], 2, 2)
    with pytest.raises(ValueError, match="LUT size must be 1..6"):
        resynthesize(net, 7)
