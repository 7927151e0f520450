"""boards.build: real board builds (bitstream, report with LUTs, FFs, Fmax against the clock),
the --clock option and its timing check, and options refused before any file is written."""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

import json

from click.testing import CliRunner

from boards.build import BuildError, build_clock, uart_divisor
from boards.cli import build_command
from boards.registry import BOARDS, resolve_board
from flows.families import FAMILIES
from lgn_hw.netlist import random_netlist


@pytest.fixture
def netlist(tmp_path):
    return random_netlist(0, 32, [40, 30], [4, 4], 3).save(tmp_path / "n.json")


def _build(*args):
    return CliRunner().invoke(build_command, [str(a) for a in args])


#: every board that is placed and routed (every family with P&R has one: ice40, ecp5, gowin)
PNR_BOARDS = [b.name for b in BOARDS.values() if b.platform and not b.synth_only]


def test_every_family_with_pnr_has_a_built_board():
    fams = {resolve_board(b).dev.family for b in PNR_BOARDS}
    assert fams == {f.name for f in FAMILIES.values() if f.pnr is not None}
    assert {"icebreaker", "ulx3s-85f", "tang-nano-9k", "tang-primer-20k"} <= set(PNR_BOARDS)


@pytest.mark.tools
@pytest.mark.parametrize("board", PNR_BOARDS)
def test_board_build_writes_bitstream_and_report(tmp_path, netlist, board):
    out = tmp_path / "b"
    r = _build("--board", board, "--netlist", netlist, "--out", out, "--no-hierarchy")
    assert r.exit_code == 0, r.output
    rep = json.loads((out / "report.json").read_text())
    b = resolve_board(board)
    fam = b.dev.fam
    bitstream, bel = fam.bitstream("top"), fam.pnr.logic_bel
    assert rep["target"]["board"] == b.name and rep["resources"]["lut"] > 0
    assert rep["resources"]["ff"] > 0
    tm = rep["timing"]
    assert tm["constraint_mhz"] == b.clk_mhz and tm["fmax_mhz"] > b.clk_mhz
    assert tm["meets_constraint"] is True
    assert f"Fmax {tm['fmax_mhz']:.2f} MHz (clock {b.clk_mhz:g} MHz: met)" in r.output
    util = rep["pnr"]["utilisation"]
    assert util[bel]["used"] > 0
    # the datasheet capacities agree with nextpnr's BELs: the logic BEL holds the LUTs, and a BEL
    # the family's cell rules count as carry or FF is that resource (Gowin ALU, DFF; I/O and RAM
    # are left out: nextpnr counts every pad site, global buffer and LUT-RAM site, the capacities
    # user pins and block RAMs)
    assert util[bel]["available"] == b.dev.capacity["lut"]
    for name, u in util.items():
        res = fam.classify(name)
        if res in ("carry", "ff") and res in b.dev.capacity:
            assert u["available"] == b.dev.capacity[res], (name, res, u, b.dev.capacity)
    assert (out / "build" / bitstream).stat().st_size > 10_000
    assert rep["bitstream"].endswith(bitstream)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["clock_mhz"] == b.clk_mhz and cfg["family"] == b.dev.family


@pytest.mark.tools
def test_clock_miss_fails_with_advice_unless_allowed(tmp_path, netlist):
    out = tmp_path / "fast"
    r = _build("--board", "ice40-up5k-sg48", "--netlist", netlist, "--out", out,
               "--no-hierarchy", "--clock", "400")
    assert r.exit_code == 1
    assert "timing not met" in r.output and "< 400 MHz clock" in r.output
    assert "--pipeline-every head" in r.output and "--allow-timing-fail" in r.output
    rep = json.loads((out / "report.json").read_text())
    assert rep["timing"]["meets_constraint"] is False and rep["timing"]["constraint_mhz"] == 400
    assert "NOT met" in (out / "report.md").read_text()
    r = _build("--board", "ice40-up5k-sg48", "--netlist", netlist, "--out", out,
               "--no-hierarchy", "--clock", "400", "--allow-timing-fail")
    assert r.exit_code == 0 and "NOT met" in r.output


def test_clock_and_baud_refused_before_writing(tmp_path, netlist):
    out = tmp_path / "never"
    r = _build("--board", "tang-nano-9k", "--netlist", netlist, "--out", out, "--clock", "12")
    assert r.exit_code == 1 and "below tang-nano-9k's 27 MHz oscillator" in r.output
    r = _build("--board", "icebreaker", "--netlist", netlist, "--out", out,
               "--baud", "4000000")
    assert r.exit_code == 1 and "--baud 4000000: too fast for the 12 MHz clock" in r.output
    assert "Traceback" not in r.output and not out.exists()


def test_clock_rules():
    nano, bare = resolve_board("tang-nano-9k"), resolve_board("ice40-up5k-sg48")
    assert build_clock(nano, None) == 27.0 and build_clock(nano, 40) == 40.0
    assert build_clock(bare, 6) == 6.0          # board-less: the clock it will be given
    assert uart_divisor(bare, 6.0, 115200) == 52 and uart_divisor(nano, 40, 115200) == 234
    with pytest.raises(BuildError, match="frequency in MHz"):
        build_clock(bare, 5000)
