"""flows.equiv: RTL vs synthesised netlist proved equal; the one-LUT mutant is refuted."""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

from flows.design import core_design
from flows.devices import resolve_target
from flows.equiv import EquivError, check_equivalence, mutate_lut, write_mutant
from flows.synth import synthesize
from lgn_hw.netlist import random_netlist

pytestmark = pytest.mark.tools  # runs Yosys / nextpnr / Icarus


def test_proof_and_negative_twin(tmp_path):
    net = random_netlist(0, 10, [8, 6], 4, 2)
    d = core_design(net)
    dev = resolve_target("ice40")
    s = synthesize(d.sources, d.top, dev, tmp_path / "s")
    ok = check_equivalence(d, dev, s.netlist_verilog, tmp_path / "ok")
    assert ok.equivalent, ok.message
    bad = check_equivalence(d, dev, write_mutant(s.netlist_verilog, tmp_path / "m.v", 2),
                            tmp_path / "bad")
    assert not bad.equivalent


def test_mutate_lut_inverts_one_table():
    text = "SB_LUT4 #(.LUT_INIT(16'h8000)) a (); SB_LUT4 #(.LUT_INIT(16'h0001)) b ();"
    assert mutate_lut(text, 1) == text.replace("16'h0001", "16'hfffe")


def test_mutate_lut_skips_flip_flop_inits():
    # a 7-series FDRE's INIT is its power-up value: inverting it (the first INIT of a pipelined
    # xc7 netlist with the ternary popcount; an SRL16E's with --pipeline-every 1) changed
    # nothing, and verify --self-test MISSED it
    text = ("FDRE #(.INIT(1'h0)) q (); SRL16E #(\n .INIT(4'h0),\n .IS_CLK_INVERTED(1'h0)\n) s ();"
            " LUT6_2 #(.INIT(64'h0000000100000002)) l ();")
    assert mutate_lut(text) == text.replace("64'h0000000100000002", "64'hfffffffefffffffd")


def test_pipelined_rejected(tmp_path):
    d = core_design(random_netlist(0, 10, [8, 6], 4, 2), pipeline_every=1)
    with pytest.raises(EquivError, match="combinational"):
        check_equivalence(d, resolve_target("ice40"), tmp_path / "x.v", tmp_path)
