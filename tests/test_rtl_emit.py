"""rtl.emit: Verilog/RTLIL with one module per stage, and a truthful sidecar."""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

import json
import re

from lgn_hw.netlist import random_netlist
from rtl.core import LGNCore
from rtl.emit import check_name, rtlil, verilog, write_all


def _net():
    return random_netlist(21, 16, [40, 30, 20], [2, 4, 6], 4, special=0.1, offsets=True)


def test_verilog_hierarchy_and_ports():
    net = _net()
    text, side = verilog(net, name="my_core", pipeline_every=2)
    modules = re.findall(r"^module \\?(\S+?)[(\s]", text, re.M)
    core = LGNCore(net, pipeline_every=2)
    n_layers = len(core.netlist.layers)
    expected = {"my_core", "my_core.groupsum", "my_core.argmax"}
    expected |= {f"my_core.layer{i}" for i in range(n_layers)}
    expected |= {f"my_core.groupsum.popcount{c}" for c in range(4)
                 if len(core.netlist.head.groups[c])}
    assert expected <= set(modules)
    header = re.search(r"^module my_core\(([^)]*)\)", text, re.M).group(1)
    assert {p.strip() for p in header.split(",")} == {
        "clk", "rst", "bits", "counts", "cls", "valid_in", "valid_out"}
    assert re.search(r"input \[15:0\] bits;", text)
    assert side["latency"] == core.latency > 0
    assert side["gates_before"] == net.n_gates and side["gates_after"] == core.netlist.n_gates
    assert side["optimize"]["gates_out"] == core.netlist.n_gates
    widths = {p["name"]: p["width"] for p in side["ports"]}
    assert widths["counts"] == 4 * core.count_width and widths["cls"] == 2


def test_rtlil_and_raw_ports():
    text, side = rtlil(_net(), name="lgn_core")
    assert "module \\lgn_core" in text and "wire width 16 input" in text
    assert side["latency"] == 0 and side["pipeline_every"] is None
    assert not any(p["name"] == "clk" for p in side["ports"])


def test_write_all(tmp_path):
    paths = write_all(_net(), tmp_path / "out", "lgn_core", pipeline_every=1)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "lgn_core.il", "lgn_core.json", "lgn_core.v"]
    side = json.loads(paths["sidecar"].read_text())
    assert side["files"] == {"verilog": "lgn_core.v", "rtlil": "lgn_core.il"}
    assert side["format"] == "lgn-hw-rtl" and side["top"] == "lgn_core"
    assert "module lgn_core(" in paths["verilog"].read_text()


@pytest.mark.parametrize("bad", ["ref", "1core", "a-b", "", "module"])
def test_bad_names(bad):
    with pytest.raises(ValueError, match="invalid module name"):
        check_name(bad)
