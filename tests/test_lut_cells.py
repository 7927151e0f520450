"""rtl.layer LUT cells: one vendor LUT primitive per gate computes the same function.

The cell form cannot run in Amaranth's simulator, so it is checked in Icarus with Yosys's cell
models, before synthesis (the emitted Verilog itself) and after it (postsim), and synthesis is
checked to keep exactly one LUT per surviving gate.
"""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

import re

from flows.design import core_design
from flows.devices import resolve_target
from flows.postsim import cell_models, postsim
from flows.synth import synthesize
from lgn_hw.netlist import random_netlist
from rtl.emit import verilog
from rtl.iverilog import simulate_iverilog
from rtl.core import LGNCore
from flows.families import get_family
from rtl.layer import LutLayer, reduce_table
from rtl.vectors import make_vectors, random_inputs


def _vectors(net, n=300):
    return make_vectors(net, random_inputs(net, n, 1, raw_inputs=False), raw_inputs=False)


pytestmark = pytest.mark.tools

_CELL = {"xc7": r"^\s*LUT[1-6] #", "ice40": r"^\s*SB_LUT4 #", "ecp5": r"^\s*LUT4 #",
         "gowin": r"^\s*LUT[1-4] #"}


@pytest.mark.parametrize("family,fan_in", [("xc7", 6), ("xc7", 3), ("ice40", 4), ("ice40", 2),
                                           ("ecp5", 4), ("gowin", 4), ("gowin", 3)])
def test_cell_verilog_matches_evaluate(tmp_path, family, fan_in):
    """The emitted Verilog with LUT instances, simulated with the family's cell models."""
    net = random_netlist(11, 20, [24, 18], fan_in, 3, skip=True)
    text, side = verilog(net, lut_cells=get_family(family).lut_cell)
    core = LGNCore(net, lut_cells=get_family(family).lut_cell)
    # one cell instance per gate that depends on any input (all fit the primitives here)
    live = sum(bool(reduce_table(int(t), layer.fan_in)[1])
               for layer in core.netlist.layers for t in layer.tables)
    assert len(re.findall(_CELL[family], text, flags=re.M)) == live > 0
    assert side["lut_cells"] == family
    res = simulate_iverilog(core, _vectors(net), workdir=tmp_path,
                            verilog_text=cell_models(family) + "\n" + text)
    assert res.n == 300 and res.ok, res.details()


def test_cell_init_order_is_caught(tmp_path):
    """A wrong INIT (the table bit-reversed) must show up as mismatches: the test can fail."""
    net = random_netlist(12, 12, [16], 6, 2)
    xc7 = get_family("xc7").lut_cell
    good, _ = verilog(net, lut_cells=xc7)
    bad = re.sub(r"64'h([0-9a-f]{16})", lambda m: "64'h" + format(int(f"{int(m.group(1), 16):064b}"[::-1], 2), "016x"),
                 good)
    assert bad != good
    res = simulate_iverilog(LGNCore(net, lut_cells=xc7), _vectors(net), workdir=tmp_path,
                            verilog_text=cell_models("xc7") + "\n" + bad)
    assert res.n_mismatch > 0


@pytest.mark.parametrize("target,fan_in", [("xc7", 6), ("ice40", 4), ("gowin", 4)])
def test_cells_synthesise_to_one_lut_per_gate(tmp_path, target, fan_in):
    net = random_netlist(13, 24, [40, 30], fan_in, 3)
    d = core_design(net, lut_cells=resolve_target(target).family)
    dev = resolve_target(target)
    s = synthesize(d.sources, d.top, dev, tmp_path / "s")
    res = postsim(d, dev, _vectors(net, 200), tmp_path / "p", synth_v=s.netlist_verilog)
    assert res.ok, res.details()
    opt = LGNCore(net).netlist
    live = sum(bool(reduce_table(int(t), layer.fan_in)[1]) for layer in opt.layers for t in layer.tables)
    behavioural = synthesize(core_design(net).sources, d.top, dev, tmp_path / "b")
    # every non-constant gate is one cell that synthesis keeps; the head (popcounts, argmax) is
    # mapped as before, so the total stays close to the expression form's
    assert s.resources["lut"] >= live
    assert s.resources["lut"] <= behavioural.resources["lut"] + live // 4


def test_design_and_cli_errors():
    from flows.design import DesignError
    from rtl.pipeline import parse_every

    net = random_netlist(13, 8, [6], 4, 2)
    with pytest.raises(DesignError, match=r"--lut-cells: no LUT cells for generic targets "
                                          r"\(there are for ice40, ecp5, xc7, gowin\)"):
        core_design(net, lut_cells="generic")
    for bad in ("0", "-2", "x", "1.5"):
        with pytest.raises(ValueError, match=r"expected an integer >= 1 or 'head', got"):
            parse_every(bad)
    assert parse_every("3") == 3 and parse_every("head") == "head"


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_cells_must_be_a_family_primitive():
    with pytest.raises(ValueError, match="must be a LutCell"):
        LutLayer(2, [[0, 1]], [6], 2, cells="gowin")


def test_wide_gates_keep_the_expression():
    """A fan-in-6 gate has no iCE40 primitive: the layer keeps its truth-table expression."""
    net = random_netlist(14, 12, [10], 6, 2)
    text, _ = verilog(net, lut_cells=get_family("ice40").lut_cell)
    layer = LGNCore(net).netlist.layers[0]
    kept = [len(reduce_table(int(t), layer.fan_in)[1]) for t in layer.tables]
    assert max(kept) > 4      # gates no SB_LUT4 can hold
    assert len(re.findall(_CELL["ice40"], text, flags=re.M)) == sum(1 <= k <= 4 for k in kept)


def test_resynthesised_core_with_head_cells_after_synthesis(tmp_path):
    """The xc7 core as ``lgn-hw synth --lut-cells`` builds it (resynthesised gates, LUT6_2 +
    CARRY4 argmax) matches ``Netlist.evaluate`` after synthesis; one inverted LUT is caught."""
    from flows.equiv import write_mutant

    net = random_netlist(21, 16, [40, 30], 3, 3, skip=True)
    dev = resolve_target("xc7")
    d = core_design(net, lut_cells="xc7", family="xc7", resynth=6)
    assert d.sidecar["gates_after"] < LGNCore(net).netlist.n_gates  # something folded
    s = synthesize(d.sources, d.top, dev, tmp_path / "s")
    assert s.cells.get("LUT6_2", 0) > 0
    vec = _vectors(net, 300)
    res = postsim(d, dev, vec, tmp_path / "p", synth_v=s.netlist_verilog)
    assert res.ok, res.details()
    bad = postsim(d, dev, vec, tmp_path / "m",
                  synth_v=write_mutant(s.netlist_verilog, tmp_path / "m" / "synth.v"))
    assert not bad.ok
