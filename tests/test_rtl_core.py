"""rtl.core: LGNCore computes exactly Netlist.evaluate, combinational and pipelined (Amaranth sim)."""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

import numpy as np

from lgn_hw.encoding import Encoding, binary_feature, onehot_feature, thermometer_feature
from lgn_hw.netlist import Netlist, random_netlist
from lgn_hw.optimize import optimize
from rtl.core import EncoderError, LGNCore
from rtl.vectors import random_inputs
from rtl_cases import EDGE_CASES, all_inputs, assert_sim_ok, run_amaranth

EVERY = [None, 1, 2, 3]


@pytest.mark.parametrize("fan_in", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("every", EVERY)
def test_exhaustive_random_netlists(fan_in, every):
    net = random_netlist(100 + fan_in, 8, [16, 12, 8], [fan_in, 6 if fan_in == 1 else fan_in,
                                                        fan_in], 2, special=0.1, offsets=True)
    core, res = run_amaranth(net, all_inputs(8), pipeline_every=every)
    assert_sim_ok(res)
    assert res.n == 256


@pytest.mark.parametrize("fan_in", [1, 6])
def test_exhaustive_unoptimised(fan_in):
    # without optimisation every gate (constants, pass-throughs, fan-in 1) becomes hardware
    net = random_netlist(7, 7, [12, 9], [fan_in, 7 - fan_in], 3, special=0.3)
    core, res = run_amaranth(net, all_inputs(7), optimize=False, pipeline_every=2)
    assert core.netlist is net and core.stats["optimized"] is False
    assert_sim_ok(res)


@pytest.mark.parametrize("every", [None, 1, 2, 4])
def test_larger_random_vectors(every):
    net = random_netlist(11, 40, [240, 160, 100], [6, 3, 2], 10, special=0.05, skip=True,
                         offsets=True)
    bits = random_inputs(net, 300, 1, raw_inputs=False)
    core, res = run_amaranth(net, bits, pipeline_every=every)
    assert core.netlist.n_gates > 100  # a real design, not optimised away
    assert_sim_ok(res)


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
@pytest.mark.parametrize("every", [None, 1, 2])
def test_edge_cases_exhaustive(name, every):
    net = EDGE_CASES[name]()
    core, res = run_amaranth(net, all_inputs(net.n_inputs), pipeline_every=every)
    assert_sim_ok(res)


def test_edge_case_shapes():
    assert len(optimize(EDGE_CASES["removed_layer"]())[0].layers) == 2
    assert len(optimize(EDGE_CASES["all_removed"]())[0].layers) == 0
    assert {layer.fan_in for layer in optimize(EDGE_CASES["head_not"]())[0].layers} == {1}
    core = LGNCore(EDGE_CASES["one_class"]())
    assert core.classes == 1 and len(core.cls) == 1


def test_latency_is_sum_of_blocks():
    net = random_netlist(3, 10, [20, 20, 20, 20, 20], 2, 4, special=0.0)
    for k in (1, 2, 3, 5, 8):
        core = LGNCore(net, pipeline_every=k)
        layers = len(core.netlist.layers)
        assert core.head_stage == -(-layers // k)
        assert core.latency == core.head_stage + core.groupsum.latency + core.argmax.latency
        assert core.argmax.latency == -(-2 // k)  # 4 classes: 2 comparator levels
    assert LGNCore(net).latency == 0
    assert not hasattr(LGNCore(net), "valid_in")


def test_head_register_is_one_stage_of_counts():
    """pipeline_every="head": latency 1, and the only flip-flops are the counts (and valid)."""
    from amaranth.back import rtlil

    net = random_netlist(3, 10, [20, 20, 20, 20, 20], 2, 4, special=0.0)
    core = LGNCore(net, pipeline_every="head")
    assert core.latency == 1 and hasattr(core, "valid_in")
    import re

    def ff_bits(c):  # flip-flop bits in the RTLIL: every $dff/$adff cell's WIDTH
        return sum(int(w) for w in re.findall(r"cell \$a?dff \S+\n\s+parameter \\WIDTH (\d+)",
                                              rtlil.convert(c)))
    assert ff_bits(core) == core.count_width * core.classes + 1  # counts + valid
    assert ff_bits(LGNCore(net, pipeline_every=1)) > 5 * ff_bits(core)


def test_bad_pipeline_argument():
    net = random_netlist(3, 4, [4], 2, 2)
    for bad in (0, -1, 1.5, True, "tail"):
        with pytest.raises(ValueError, match="pipeline_every"):
            LGNCore(net, pipeline_every=bad)


def _raw_netlist(seed):
    enc = Encoding([
        thermometer_feature("a", [-2.5, 0, 1.2, 3], (-3, 3)),
        onehot_feature("b", [0, 2, 5, 9], (0, 5)),
        binary_feature("c", (0, 1)),
        thermometer_feature("d", [1, 2, 6.5, 7.5], (0, 6)),
    ])
    net = random_netlist(seed, enc.n_bits, [20, 12], [3, 4], 2, special=0.05, skip=True)
    d = net.to_dict()
    d["encoding"] = enc.to_dict()
    return Netlist.from_dict(d)


@pytest.mark.parametrize("every", [None, 2])
def test_raw_inputs_exhaustive_over_ranges(every):
    net = _raw_netlist(5)
    grids = np.meshgrid(*[np.arange(f.range[0], f.range[1] + 1) for f in net.encoding.features],
                        indexing="ij")
    x = np.stack([g.reshape(-1) for g in grids], axis=1)
    core, res = run_amaranth(net, x, raw_inputs=True, pipeline_every=every)
    assert_sim_ok(res)
    assert res.n == 7 * 6 * 2 * 7


def test_raw_inputs_need_an_encoding():
    net = random_netlist(3, 4, [4], 2, 2)
    with pytest.raises(EncoderError, match="no encoding"):
        LGNCore(net, raw_inputs=True)


def test_ports_and_stats():
    net = random_netlist(9, 12, [30, 20], [2, 3], 5, special=0.2, offsets=True)
    core = LGNCore(net, pipeline_every=1)
    assert core.stats["gates_out"] == core.netlist.n_gates < net.n_gates
    assert len(core.bits) == 12 and len(core.cls) == 3
    assert core.count_width == max(1, core.netlist.head.max_count.bit_length())
    assert len(core.counts.as_value()) == 5 * core.count_width
    names = {p["name"] for p in core.describe()["ports"]}
    assert names == {"clk", "rst", "bits", "counts", "cls", "valid_in", "valid_out"}
