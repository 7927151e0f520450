"""flows.design: loading a netlist for a flow gives one-line errors that name the file once."""

import pytest

from flows.design import DesignError, load_netlist


def test_missing_and_malformed_netlists(tmp_path):
    with pytest.raises(DesignError, match=r"netlist .*nope.json not found \(train one"):
        load_netlist(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "lgn-hw-netlist", "version": 1}')
    with pytest.raises(DesignError) as err:
        load_netlist(bad)
    msg = str(err.value)
    assert msg.endswith("bad.json: n_inputs: missing") and msg.count("bad.json") == 1


def test_family_defaults_cells_and_resynthesis():
    from flows.design import core_design, core_defaults
    from lgn_hw.netlist import random_netlist

    assert core_defaults("xc7") == {"popcount": "lut63", "argmax": "tree"}
    assert core_defaults("ice40") == {"popcount": "tree", "argmax": "race"}
    assert core_defaults(None) == {}
    net = random_netlist(3, 10, [24, 12], 2, 3)
    d = core_design(net, family="ice40")
    assert d.sidecar["popcount"] == "tree" and d.sidecar["argmax"] == "race"
    # explicit choices win over the family's
    d = core_design(net, family="ice40", popcount="dadda", argmax="tree")
    assert d.sidecar["popcount"] == "dadda" and d.sidecar["argmax"] == "tree"
    # vendor cells: the xc7 head cells come with the gates' LUT cells, and are recorded
    d = core_design(net, lut_cells="xc7", family="xc7")
    assert d.options["head_cells"] == "xc7" and d.sidecar["head_cells"] == "xc7"
    assert "LUT6_2" in d.verilog and "CARRY4" in d.verilog
    assert "head_cells" not in core_design(net, lut_cells="ice40", family="ice40").options
    # resynthesis for 6-input LUTs folds 2-input gates: fewer gates, recorded in the sidecar
    plain, folded = core_design(net, family="xc7"), core_design(net, family="xc7", resynth=6)
    assert folded.sidecar["resynth"] == 6 and plain.sidecar["resynth"] is None
    assert folded.sidecar["gates_after"] < plain.sidecar["gates_after"]
