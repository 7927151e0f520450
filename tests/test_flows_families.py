"""flows.families: every family module is complete, and every family synthesises a real core.

The walk synthesises one small netlist for each family's default part, checks that the cells are
classified (no LUT counted as "other"), and simulates the synthesised netlist with the family's
own cell models against ``Netlist.evaluate`` (a mutant with one inverted LUT must be caught).
"""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

import dataclasses
import re
from pathlib import Path

from flows.design import core_design
from flows.devices import resolve_target
from flows.equiv import write_mutant
from flows.families import FAMILIES, FamilyError, Pnr, check_family, get_family
from flows.postsim import postsim
from flows.synth import synthesize
from lgn_hw.netlist import random_netlist
from rtl.vectors import make_vectors, random_inputs

REPO = Path(__file__).resolve().parents[1]


def test_registry_holds_every_module():
    mods = {p.stem for p in (REPO / "flows" / "families").glob("*.py")} - {"__init__", "base"}
    assert set(FAMILIES) == mods and {"ice40", "ecp5", "xc7", "gowin", "generic"} <= mods
    for fam in FAMILIES.values():
        assert check_family(fam) is fam


@pytest.mark.parametrize("field,value,message", [
    ("synth", "", "synth is missing"),
    ("synth", "synth_ice40", r"must name the top module"),
    ("cells", (("SB_CARRY", "carry"),), "no cell is counted as a LUT"),
    ("cells", (("SB_LUT4", "luts"),), "unknown resource 'luts'"),
    ("sim_models", (), "sim_models is missing"),
    ("default_part", "ice40-nope", "default part 'ice40-nope' not among"),
    ("tools", (), "P&R tool nextpnr-ice40 not among its tools"),
    ("formal", "sat", "formal must be"),
])
def test_incomplete_family_is_refused(field, value, message):
    broken = dataclasses.replace(get_family("ice40"), **{field: value})
    with pytest.raises(FamilyError, match=message):
        check_family(broken)


def test_part_with_pnr_options_needs_family_pnr():
    with pytest.raises(FamilyError, match="has P&R options but the family no P&R"):
        check_family(dataclasses.replace(get_family("ice40"), pnr=None))
    bad = dataclasses.replace(get_family("gowin").pnr, bitstream="top.fs")
    assert isinstance(bad, Pnr)
    with pytest.raises(FamilyError, match="bitstream pattern"):
        check_family(dataclasses.replace(get_family("gowin"), pnr=bad))
    quiet = dataclasses.replace(get_family("ice40").pnr, steps=lambda *a: [])
    with pytest.raises(FamilyError, match="must start with nextpnr-ice40"):
        check_family(dataclasses.replace(get_family("ice40"), pnr=quiet))


def test_unknown_family():
    with pytest.raises(FamilyError, match=r"unknown FPGA family 'zynq' \(known: ice40, ecp5"):
        get_family("zynq")


#: the tool-step modules: they ask the family and must not branch on its name
STEP_MODULES = ["flows/synth.py", "flows/stat.py", "flows/pnr.py", "flows/postsim.py",
                "flows/equiv.py", "flows/tools.py", "flows/plan.py", "flows/report.py",
                "flows/flow.py", "flows/design.py", "flows/devices.py", "boards/build.py",
                "rtl/layer.py"]


@pytest.mark.parametrize("path", STEP_MODULES)
def test_no_per_family_branches(path):
    text = (REPO / path).read_text()
    names = "|".join(n for n in FAMILIES)
    hits = re.findall(rf"""["']({names})["']""", text)
    assert not hits, f"{path} names families {hits}: ask flows.families instead"


def _hardware_modules():
    for pkg in ("lgn_hw", "rtl", "flows", "boards"):
        for path in sorted((REPO / pkg).rglob("*.py")):
            if "families" not in path.relative_to(REPO).parts:
                yield path.relative_to(REPO).as_posix()


@pytest.mark.parametrize("path", list(_hardware_modules()))
def test_no_family_name_comparisons(path):
    """Outside flows/families no module compares a family (or anything) with a family's name:
    ``family == "ice40"``, ``"gowin" != fam.name``, ``dev.family in ("ice40", "ecp5")``."""
    text = (REPO / path).read_text()
    names = "|".join(FAMILIES)
    lit = rf"""["'](?:{names})["']"""
    rx = re.compile(rf"""(?:==|!=)\s*{lit}|{lit}\s*(?:==|!=)|\b(?:not\s+)?in\s*[(\[{{]\s*{lit}""")
    hits = [m.group(0) for m in rx.finditer(text)]
    assert not hits, f"{path} branches on family names {hits}: ask flows.families instead"


@pytest.mark.tools
@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_family_synthesises_and_simulates(tmp_path, family):
    fam = get_family(family)
    dev = resolve_target(fam.default_part)
    net = random_netlist(4, 20, [24, 18], 4, 3, skip=True)
    d = core_design(net)
    s = synthesize(d.sources, d.top, dev, tmp_path / "s")
    assert s.resources["lut"] > 0
    luts = {t for t in s.cells if fam.classify(t) == "lut"}
    assert luts and all(fam.classify(t) != "other" or not re.match(r"\$?LUT|\$lut", t)
                        for t in s.cells)
    vec = make_vectors(net, random_inputs(net, 150, 2, raw_inputs=False), raw_inputs=False)
    good = postsim(d, dev, vec, tmp_path / "p", synth_v=s.netlist_verilog)
    assert good.n == 150 and good.ok, good.details()
    if family == "generic":   # $lut cells are written as plain expressions: no INIT to invert
        return
    bad = postsim(d, dev, vec, tmp_path / "m",
                  synth_v=write_mutant(s.netlist_verilog, tmp_path / "mut.v"))
    assert bad.n_mismatch > 0


@pytest.mark.tools
@pytest.mark.parametrize("family", list(FAMILIES))
def test_synth_command_for_every_family(tmp_path, family):
    """``lgn-hw synth NETLIST --target FAMILY`` writes a report counted by the family's rules."""
    import json

    from click.testing import CliRunner

    from lgn_hw.cli import main

    path = random_netlist(7, 16, [20, 12], 4, 3).save(tmp_path / "n.json")
    out = tmp_path / "s"
    r = CliRunner().invoke(main, ["synth", str(path), "--target", family, "--out", str(out),
                                  "--no-hierarchy"])
    assert r.exit_code == 0, r.output
    rep = json.loads((out / "report.json").read_text())
    fam = get_family(family)
    assert rep["target"]["family"] == family and rep["target"]["device"] == fam.default_part
    assert rep["resources"]["lut"] > 0 and f"{rep['resources']['lut']:,} LUTs" in r.output
    assert sum(n for t, n in rep["cells"].items() if fam.classify(t) == "lut") == \
        rep["resources"]["lut"]


def test_target_help_lists_every_family_and_part():
    """The --target help of synth and verify comes from the family modules: every family with
    its default part, and every part of a chip."""
    import click

    from lgn_hw.cli import main

    for name in ("synth", "verify"):
        cmd = main.get_command(click.Context(main), name)
        text = " ".join(next(p for p in cmd.params if p.name == "target").help.split())
        for fam in FAMILIES.values():
            assert f"{fam.name}: {fam.default_part}" in text, (name, fam.name)
            for d in fam.parts:
                assert not d.capacity or d.name in text, (name, d.name)
