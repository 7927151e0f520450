"""boards.build: real board builds (bitstream, report with LUTs, FFs, Fmax against the clock),
the --clock option and its timing check, and options refused before any file is written."""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

import json

from click.testing import CliRunner

from boards.build import BuildError, build_clock, uart_divisor
from boards.cli import build_command
from boards.registry import resolve_board
from lgn_hw.netlist import random_netlist


@pytest.fixture
def netlist(tmp_path):
    return random_netlist(0, 32, [40, 30], [4, 4], 3).save(tmp_path / "n.json")


def _build(*args):
    return CliRunner().invoke(build_command, [str(a) for a in args])


@pytest.mark.tools
@pytest.mark.parametrize("board,bitstream,bel", [("icebreaker", "top.bin", "ICESTORM_LC"),
                                                 ("tang-nano-9k", "top.fs", "LUT4"),
                                                 ("tang-primer-20k", "top.fs", "LUT4")])
def test_board_build_writes_bitstream_and_report(tmp_path, netlist, board, bitstream, bel):
    out = tmp_path / "b"
    r = _build("--board", board, "--netlist", netlist, "--out", out, "--no-hierarchy")
    assert r.exit_code == 0, r.output
    rep = json.loads((out / "report.json").read_text())
    b = resolve_board(board)
    assert rep["target"]["board"] == b.name and rep["resources"]["lut"] > 0
    assert rep["resources"]["ff"] > 0
    tm = rep["timing"]
    assert tm["constraint_mhz"] == b.clk_mhz and tm["fmax_mhz"] > b.clk_mhz
    assert tm["meets_constraint"] is True
    assert f"Fmax {tm['fmax_mhz']:.2f} MHz (clock {b.clk_mhz:g} MHz: met)" in r.output
    assert rep["pnr"]["utilisation"][bel]["used"] > 0
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
