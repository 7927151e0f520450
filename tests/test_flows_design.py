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
