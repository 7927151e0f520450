"""rtl.iverilog: the emitted Verilog, simulated by Icarus, matches Netlist.evaluate."""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

import numpy as np

from lgn_hw.netlist import random_netlist
from rtl.core import LGNCore
from rtl.iverilog import IcarusMissing, find_icarus, simulate_iverilog, icarus_testbench
from rtl.vectors import make_vectors, random_inputs
from rtl_cases import EDGE_CASES, all_inputs, assert_sim_ok, needs_iverilog

pytestmark = [pytest.mark.tools, needs_iverilog]


def _iv(net, bits, **kw):
    core = LGNCore(net, **kw)
    return core, simulate_iverilog(core, make_vectors(net, bits, raw_inputs=False))


@pytest.mark.parametrize("fan_in", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("every", [None, 1, 3])
def test_exhaustive_random_netlists(fan_in, every):
    net = random_netlist(200 + fan_in, 8, [16, 12, 8], [fan_in, 6 if fan_in == 1 else fan_in,
                                                        fan_in], 2, special=0.1, offsets=True)
    core, res = _iv(net, all_inputs(8), pipeline_every=every)
    assert_sim_ok(res)
    assert res.n == 256


@pytest.mark.parametrize("every", [None, 2])
def test_larger_random_vectors(every):
    net = random_netlist(12, 48, [300, 200, 120], [6, 4, 2], 10, special=0.05, skip=True,
                         offsets=True)
    core, res = _iv(net, random_inputs(net, 1000, 2, raw_inputs=False), pipeline_every=every)
    assert_sim_ok(res)


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
@pytest.mark.parametrize("every", [None, 2])
def test_edge_cases_exhaustive(name, every):
    net = EDGE_CASES[name]()
    core, res = _iv(net, all_inputs(net.n_inputs), pipeline_every=every)
    assert_sim_ok(res)


@pytest.mark.parametrize("every", [None, 1, "head"])
def test_corrupted_expectations_are_caught(every):
    net = random_netlist(13, 8, [16, 8], [3, 2], 2, special=0.0)
    core = LGNCore(net, pipeline_every=every)
    vec = make_vectors(net, all_inputs(8), raw_inputs=False)
    vec.counts[17, 1] += 1
    vec.pred[200] = 1 - vec.pred[200]
    res = simulate_iverilog(core, vec)
    assert not res.ok and res.n_mismatch == 2
    assert [m[0] for m in res.mismatches] == [17, 200]
    assert res.mismatches[0][2][1] == vec.counts[17, 1] - 1  # what the hardware really said


def test_corrupted_hardware_is_caught():
    net = random_netlist(14, 8, [16, 8], [3, 2], 2, special=0.0)
    core = LGNCore(net)
    core.layer_modules[-1].tables[0] ^= np.uint64(0xFF)  # a wrong gate in the last layer
    res = simulate_iverilog(core, make_vectors(net, all_inputs(8), raw_inputs=False))
    assert res.n_mismatch > 0


def test_wrong_latency_is_caught():
    net = random_netlist(15, 8, [16, 8], [3, 2], 2, special=0.0)
    core = LGNCore(net, pipeline_every=1)
    core.latency += 1  # the testbench now checks one cycle too late
    res = simulate_iverilog(core, make_vectors(net, all_inputs(8), raw_inputs=False))
    assert res.n_mismatch > 0


def test_testbench_text():
    net = random_netlist(15, 8, [16, 8], [3, 2], 2)
    core = LGNCore(net, pipeline_every=2)
    tb = icarus_testbench(core, 10, "lgn_core", 8)
    assert "lgn_core dut(.bits(x)" in tb and ".valid_out(valid_out)" in tb
    assert f"t < {10 + core.latency}" in tb


def test_missing_tools_message(monkeypatch):
    monkeypatch.setenv("IVERILOG", "/nonexistent/iverilog")
    with pytest.raises(IcarusMissing, match="install the Debian package `iverilog`"):
        find_icarus()
