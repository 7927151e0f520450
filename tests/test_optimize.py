"""lgn_hw.optimize: the pass keeps the function exactly and removes what it claims."""

import numpy as np
from hypothesis import given, settings, strategies as st

from lgn_hw.netlist import Head, Layer, Netlist, random_netlist
from lgn_hw.optimize import optimize
from netlist_reference import brute_counts


@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_in=st.integers(1, 10), classes=st.integers(1, 4),
       depth=st.integers(1, 4), special=st.floats(0, 1), skip=st.booleans(), offsets=st.booleans(),
       data=st.data())
def test_optimize_keeps_the_function_exhaustively(seed, n_in, classes, depth, special, skip,
                                                  offsets, data):
    widths = [classes * data.draw(st.integers(1, 6)) for _ in range(depth)]
    fans = [data.draw(st.integers(1, 6)) for _ in range(depth)]
    net = random_netlist(seed, n_in, widths, fans, classes, special=special, skip=skip,
                         offsets=offsets)
    every = (np.arange(1 << n_in)[:, None] >> np.arange(n_in)) & 1  # all 2^N inputs
    opt, stats = optimize(net)
    assert (opt.evaluate(every)[0] == brute_counts(net, every)).all()
    assert stats["gates_out"] == opt.n_gates <= net.n_gates
    assert all(len(layer) > 0 for layer in opt.layers)
    # idempotent: a second pass finds nothing more
    again, stats2 = optimize(opt)
    assert again.n_gates == opt.n_gates
    assert stats2["constant"] == stats2["duplicate"] == stats2["dead"] == 0


def test_each_rule_fires():
    # inputs a=0, b=1, c=2
    layers = [
        Layer(2, [[0, 1], [0, 1], [1, 0], [0, 1], [0, 1], [0, 2]],
              [0x8, 0x0, 0x8, 0xA, 0x7, 0x6]),  # AND, FALSE, AND(swapped: dup), pass a, NAND(~dup), XOR
        Layer(2, [[3, 6], [7, 4], [8, 5], [8, 8]],
              [0x8, 0x8, 0xE, 0x6]),  # AND(AND, pass a) ; AND(NAND, FALSE)=0 ; OR(XOR, dup) ; XOR(x,x)=0
    ]
    net = Netlist(3, layers, Head(2, [[9, 10], [11, 12]]))
    opt, stats = optimize(net)
    every = (np.arange(8)[:, None] >> np.arange(3)) & 1
    assert (opt.evaluate(every)[0] == brute_counts(net, every)).all()
    assert stats["constant"] >= 3 and stats["duplicate"] >= 2 and stats["passthrough"] >= 1
    assert opt.head.offsets.tolist() == [0, 0]
    assert opt.meta["optimize"] == stats


def test_constants_feeding_the_head_become_offsets():
    net = Netlist(2, [Layer(2, [[0, 1], [0, 1], [0, 1], [0, 1]], [0xF, 0xF, 0x0, 0x6])],
                  Head(2, [[2, 3], [4, 5]]))
    opt, stats = optimize(net)
    assert opt.head.offsets.tolist() == [2, 0]
    assert [len(g) for g in opt.head.groups] == [0, 1]
    assert opt.n_gates == 1 and stats["constant"] == 3


def test_negation_counted_by_the_head_is_kept_and_layer_removed_when_empty():
    # layer 0: NOT a ; layer 1: pass-through of it (all removed) ; head counts it
    net = Netlist(1, [Layer(1, [[0]], [0x1]), Layer(3, [[1, 1, 1]], [0xF0])], Head(1, [[2]]))
    opt, _ = optimize(net)
    every = np.array([[0], [1]])
    assert opt.evaluate(every)[0].tolist() == [[1], [0]]
    assert opt.n_gates == 1


def test_big_random_netlist_stays_exact():
    net = random_netlist(1, 200, [2000] * 4, [2, 4, 6, 2], 10, special=0.05)
    bits = np.random.default_rng(0).integers(0, 2, size=(300, 200))
    opt, stats = optimize(net)
    assert (opt.evaluate(bits)[0] == net.evaluate(bits)[0]).all()
    assert stats["gates_in"] == 8000
