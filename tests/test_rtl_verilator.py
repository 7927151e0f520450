"""rtl.verilator: the emitted Verilog, compiled by Verilator, matches Netlist.evaluate."""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

import shutil

from lgn_hw.netlist import random_netlist
from rtl.core import LGNCore
from rtl.vectors import make_vectors, random_inputs
from rtl.verilator import VerilatorMissing, find_verilator, simulate_verilator
from rtl_cases import EDGE_CASES, all_inputs, assert_sim_ok

pytestmark = [pytest.mark.tools,
              pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator missing")]


def test_exhaustive_and_a_corrupted_expectation_in_one_build():
    net = random_netlist(41, 9, [30, 20, 12], [6, 1, 4], 3, special=0.1, skip=True, offsets=True)
    core = LGNCore(net)
    vec = make_vectors(net, all_inputs(9), raw_inputs=False)
    assert_sim_ok(simulate_verilator(core, vec))
    vec.counts[100, 2] += 1
    res = simulate_verilator(core, vec)
    assert res.n_mismatch == 1 and res.mismatches[0][0] == 100


def test_pipelined_larger_design():
    net = random_netlist(42, 64, [400, 300, 200], [6, 4, 2], 10, special=0.05, skip=True,
                         offsets=True)
    core = LGNCore(net, pipeline_every=2)
    res = simulate_verilator(core, make_vectors(net, random_inputs(net, 3000, 1, raw_inputs=False),
                                                raw_inputs=False))
    assert_sim_ok(res)
    assert res.n == 3000


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EDGE_CASES))
@pytest.mark.parametrize("every", [None, 1])
def test_edge_cases(name, every):
    net = EDGE_CASES[name]()
    core = LGNCore(net, pipeline_every=every)
    assert_sim_ok(simulate_verilator(core, make_vectors(net, all_inputs(net.n_inputs),
                                                        raw_inputs=False)))


def test_missing_tool_message(monkeypatch):
    monkeypatch.setenv("VERILATOR", "/nonexistent/verilator")
    with pytest.raises(VerilatorMissing, match="Debian package `verilator`"):
        find_verilator()
