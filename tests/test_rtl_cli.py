"""rtl.cli: `lgn-hw rtl` writes the files, `lgn-hw sim` reports agreement and fails on mismatch."""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

import json

import numpy as np
from click.testing import CliRunner

from lgn_hw.cli import main
from lgn_hw.encoding import thermometer_uniform
from lgn_hw.netlist import Netlist, random_netlist
from rtl_cases import needs_iverilog


@pytest.fixture
def digits_netlist(tmp_path):
    """A random netlist over the digits encoding (64 features 0..16, 3 thresholds each)."""
    net = random_netlist(5, 192, [120, 60], [2, 3], 10, special=0.05)
    d = net.to_dict()
    d["encoding"] = thermometer_uniform([(0, 16)] * 64, 3).to_dict()
    d["meta"] = {"dataset": "digits"}
    path = tmp_path / "netlist.json"
    Netlist.from_dict(d).save(path)
    return path


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_rtl_writes_files(digits_netlist, tmp_path):
    r = _run("rtl", digits_netlist, "--out", tmp_path / "hw", "--pipeline-every", "2", "--raw-inputs")
    assert r.exit_code == 0, r.output
    side = json.loads((tmp_path / "hw" / "lgn_core.json").read_text())
    assert f"latency: {side['latency']} cycles" in r.output
    assert side["raw_inputs"] and side["ports"][2]["name"] == "features"
    assert (tmp_path / "hw" / "lgn_core.v").stat().st_size > 1000


def test_rtl_says_first_how_big_the_head_is(tmp_path):
    """A head can be much larger than the gates (each group up to 2**21 entries): the first line
    says so before the long elaboration, instead of a gate count that hides it."""
    d = random_netlist(0, 16, [12], 2, 3).to_dict()
    d["head"]["groups"][0] = d["head"]["groups"][0] * 500
    path = Netlist.from_dict(d).save(tmp_path / "wide.json")
    n = sum(len(g) for g in d["head"]["groups"])
    r = _run("rtl", path, "--out", tmp_path / "hw")
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0] == (f"generating Verilog and RTLIL for 12 gates and a head of "
                                        f"{n:,} counted signals in 3 classes ...")


def test_sim_random_amaranth(digits_netlist):
    r = _run("sim", digits_netlist, "--random", 200, "--simulator", "amaranth")
    assert r.exit_code == 0, r.output
    assert "200/200 samples match (amaranth," in r.output


@needs_iverilog
@pytest.mark.tools
def test_sim_dataset_both_raw_pipelined(digits_netlist):
    # the dataset comes from the netlist's meta; the digits test split has 360 samples
    r = _run("sim", digits_netlist, "--raw-inputs", "--pipeline-every", "1")
    assert r.exit_code == 0, r.output
    assert "360/360 samples match (amaranth," in r.output
    assert "360/360 samples match (iverilog," in r.output


def test_sim_mismatch_exits_nonzero(digits_netlist, monkeypatch):
    import rtl.layer

    real = rtl.layer.reduce_table
    monkeypatch.setattr(rtl.layer, "reduce_table", lambda t, n: real(t ^ 1, n))  # broken gates
    r = _run("sim", digits_netlist, "--random", 100, "--simulator", "amaranth")
    assert r.exit_code == 1
    assert "/100 samples match (amaranth" in r.output and "100/100" not in r.output
    assert "sample " in r.output and "expected class" in r.output
    assert "does not match Netlist.evaluate" in r.output


def test_errors_are_one_line(digits_netlist, tmp_path):
    r = _run("sim", tmp_path / "missing.json", "--random", 3)
    assert r.exit_code != 0 and "no netlist at" in r.output and "Traceback" not in r.output
    r = _run("sim", digits_netlist, "--random", 3, "--dataset", "digits")
    assert r.exit_code == 2 and "either --dataset or --random" in r.output
    r = _run("rtl", digits_netlist, "--out", tmp_path / "x", "--name", "ref")
    assert r.exit_code == 2 and "invalid module name" in r.output
    bare = tmp_path / "bare.json"
    random_netlist(1, 8, [8], 2, 2).save(bare)
    r = _run("rtl", bare, "--out", tmp_path / "y", "--raw-inputs")
    assert r.exit_code == 1 and "no encoding" in r.output
    r = _run("sim", bare)
    assert r.exit_code == 2 and "--dataset NAME or --random N" in r.output
    r = _run("sim", bare, "--dataset", "digits")
    assert r.exit_code == 1 and "no encoding" in r.output


@pytest.mark.slow
@needs_iverilog
@pytest.mark.tools
def test_default_trained_netlist_passes_sim_on_its_whole_test_set(tmp_path):
    """`python -m train` (the default: digits) then `lgn-hw sim`: every test sample matches in
    both simulators, combinational and pipelined with raw inputs."""
    import subprocess
    import sys

    out = tmp_path / "lgn-out"
    subprocess.run([sys.executable, "-m", "train", "--out", str(out)], check=True,
                   capture_output=True)
    net = out / "netlist.json"
    r = _run("sim", net)
    assert r.exit_code == 0, r.output
    assert "360/360 samples match (amaranth," in r.output
    assert "360/360 samples match (iverilog," in r.output
    r = _run("sim", net, "--raw-inputs", "--pipeline-every", "2")
    assert r.exit_code == 0, r.output
    assert r.output.count("360/360 samples match") == 2


def test_shared_options_have_one_spelling():
    """--pipeline-every (and the other shared options) is one option, spelled and explained
    alike by every command that takes it (rtl.options)."""
    import click

    seen = {}
    for name in ("rtl", "sim", "synth", "build", "verify", "run"):
        cmd = main.get_command(click.Context(main), name)
        params = {p.name: p for p in cmd.params}
        assert "pipeline" not in params
        p = params["pipeline_every"]
        assert p.opts == ["--pipeline-every"]
        seen.setdefault("pipeline_every", p.help)
        assert p.help == seen["pipeline_every"]
        for shared in ("raw_inputs", "popcount", "dataset", "data_root", "no_hierarchy"):
            if shared in params:
                assert params[shared].help == seen.setdefault(shared, params[shared].help)
    r = _run("rtl", "--pipeline", "2", "--out", "x")
    assert r.exit_code == 2 and "No such option '--pipeline'" in r.output
