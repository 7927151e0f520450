"""flows.report: JSON/Markdown/PNG from real synthesis results; load errors; escaping; cores of
constants and empty groups."""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

import json

from flows.design import core_design
from flows.devices import resolve_target
from flows.report import ReportError, load_report, make_report, write_report
from flows.synth import synthesize
from lgn_hw.netlist import random_netlist

pytestmark = pytest.mark.tools  # runs Yosys / nextpnr / Icarus


def test_report_files(tmp_path):
    net = random_netlist(2, 16, [20, 12], 4, 3)
    d = core_design(net)
    dev = resolve_target("ice40")
    flat = synthesize(d.sources, d.top, dev, tmp_path / "f")
    hier = synthesize(d.sources, d.top, dev, tmp_path / "h", keep_hierarchy=True)
    rep = make_report(design=d.summary(), device=dev, flat=flat, hier=hier,
                      tools={"yosys": "x"}, seconds={"total": 1.0})
    paths = write_report(rep, tmp_path / "r")
    back = json.loads(paths["json"].read_text())
    assert back["resources"]["lut"] == flat.resources["lut"]
    assert back["utilisation"]["lut"]["available"] == 5280
    assert [r["gates"] for r in back["layers"]] == d.sidecar["layer_widths"]
    md = paths["md"].read_text()
    assert f"| lut | {flat.resources['lut']:,} | 5,280 |" in md and "layer0" in md
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert load_report(tmp_path / "r")["format"] == "lgn-hw-report"


def test_load_errors(tmp_path):
    with pytest.raises(ReportError, match="no report here"):
        load_report(tmp_path)
    (tmp_path / "report.json").write_text("{}")
    with pytest.raises(ReportError, match="not an lgn-hw report"):
        load_report(tmp_path)


def test_markdown_escapes_the_netlist_path(tmp_path):
    from flows.report import _code, render_markdown

    net = random_netlist(2, 16, [20, 12], 4, 3)
    d = core_design(net)
    flat = synthesize(d.sources, d.top, resolve_target("lut4"), tmp_path / "f")
    path = "runs/a`b |c\n# injected heading"
    rep = make_report(design=d.summary(), device=resolve_target("lut4"), flat=flat,
                      netlist_path=path)
    md = render_markdown(rep)
    assert "\n# injected heading" not in md
    assert _code(path) in md and _code(path).startswith("``") and "\\n" in _code(path)


@pytest.mark.parametrize("kind", ["constants", "empty group"])
def test_constant_core_and_empty_group_synthesise_and_report(tmp_path, kind):
    from click.testing import CliRunner

    from lgn_hw.cli import main
    from lgn_hw.netlist import Netlist

    d = random_netlist(0, 8, [6], 2, 3).to_dict()
    if kind == "constants":
        for layer in d["layers"]:
            layer["tables"] = ["0"] * len(layer["tables"])
    else:
        d["head"]["groups"][1] = []
    path = Netlist.from_dict(d).save(tmp_path / "n.json")
    r = CliRunner().invoke(main, ["synth", str(path), "--target", "ice40", "--out",
                                  str(tmp_path / "s")])
    assert r.exit_code == 0, r.output
    rep = load_report(tmp_path / "s")
    assert rep["resources"]["lut"] >= 0 and "None LUTs" not in r.output
    if kind == "constants":
        assert rep["resources"]["lut"] == 0
