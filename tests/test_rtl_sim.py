"""rtl.sim: the Amaranth testbench catches wrong hardware, wrong expectations and wrong timing."""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

import numpy as np

from lgn_hw.netlist import random_netlist
from rtl.core import LGNCore
from rtl.sim import simulate_amaranth
from rtl.vectors import make_vectors
from rtl_cases import all_inputs


def _net():
    return random_netlist(31, 8, [20, 12], [3, 2], 2, special=0.0)


@pytest.mark.parametrize("every", [None, 1, 2, "head"])
def test_passes_then_catches_a_corrupted_gate(every):
    net = _net()
    vec = make_vectors(net, all_inputs(8), raw_inputs=False)
    assert simulate_amaranth(LGNCore(net, pipeline_every=every), vec).ok
    core = LGNCore(net, pipeline_every=every)
    core.layer_modules[0].tables[3] ^= np.uint64(0b1)  # flip one truth-table entry
    res = simulate_amaranth(core, vec)
    assert res.n_mismatch > 0
    assert res.summary().startswith(f"{256 - res.n_mismatch}/256 samples match (amaranth")


@pytest.mark.parametrize("every", [None, 2])
def test_catches_a_corrupted_expectation(every):
    net = _net()
    vec = make_vectors(net, all_inputs(8), raw_inputs=False)
    vec.counts[40, 0] += 1
    res = simulate_amaranth(LGNCore(net, pipeline_every=every), vec)
    assert res.n_mismatch == 1 and res.mismatches[0][0] == 40
    assert res.mismatches[0][2][0] == vec.counts[40, 0] - 1


@pytest.mark.parametrize("delta", [-1, 1])
def test_catches_a_wrong_latency(delta):
    net = _net()
    core = LGNCore(net, pipeline_every=1)
    core.latency += delta  # the testbench reads the outputs at the wrong cycle
    res = simulate_amaranth(core, make_vectors(net, all_inputs(8), raw_inputs=False))
    assert res.n_mismatch > 0
