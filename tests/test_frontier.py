"""Tests for bench/frontier.py: a tiny point built for real (train, ``lgn-hw sim`` on the whole test
set, 7-series synthesis; the iCE40 UART build in the slow test) whose summary numbers equal the
reports and logs they came from and an independent recomputation of the accuracy; one-line errors
for bad options."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

FRONTIER = Path(__file__).resolve().parents[1] / "bench" / "frontier.py"
_spec = importlib.util.spec_from_file_location("lgn_bench_frontier", FRONTIER)
frontier = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = frontier  # dataclasses look their module up there
_spec.loader.exec_module(frontier)


OTHER = {"name": "other", "dataset": "mnist", "gates": 10, "gates_after_optimize": 8,
         "fan_in": [4], "test_acc_discrete": 0.5,
         "sim": {"matching": 5, "samples": 5, "full_test_set": True}}


def build_tiny(tmp_path, data_root, targets, extra=()):
    work, out = tmp_path / "work", tmp_path / "out"
    res = CliRunner().invoke(frontier.main, [
        "--tiny", "--work", str(work), "--out", str(out), "--data-root", str(data_root),
        "--targets", targets, "--threads", "1", *extra])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "frontier_tiny.json").read_text())
    assert (out / "frontier_tiny.png").read_bytes()[:4] == b"\x89PNG"
    points = [p for p in summary["points"] if p["name"] != "other"]
    (point,) = points
    assert point == json.loads((work / "monk1-tiny" / "point.json").read_text())
    return point, work / "monk1-tiny", (out / "frontier_tiny.md").read_text()


def check_common(point, root, data_root):
    from lgn_hw.datasets import load
    from lgn_hw.netlist import Netlist

    net = Netlist.load(point["netlist"])
    ds = load("monk1", data_root)
    _, pred = net.evaluate_raw(ds.x_test)
    assert point["test_acc_discrete"] == float(np.mean(pred == ds.y_test))
    metrics = json.loads((root / "train" / "metrics.json").read_text())
    assert metrics["final"]["test_acc_discrete"] == point["test_acc_discrete"]
    assert point["gates"] == net.n_gates == sum(point["widths"])
    # lgn-hw sim: every test sample, all matching, and the log says so
    sim = point["sim"]
    assert sim["samples"] == len(ds.y_test) == point["n_test"] and sim["full_test_set"]
    assert sim["matching"] == sim["samples"] and sim["exit_code"] == 0
    assert f"{sim['samples']}/{sim['samples']} samples match (iverilog" in Path(sim["log"]).read_text()


@pytest.mark.tools
def test_tiny_point_xc7_then_carry_over(tmp_path, data_root):
    # a partial sweep (--only) replaces its own points in an existing summary and keeps the rest
    out = tmp_path / "out"
    out.mkdir()
    stale = {**OTHER, "name": "monk1-tiny"}
    (out / "frontier_tiny.json").write_text(json.dumps({"points": [OTHER, stale]}))
    point, root, md = build_tiny(tmp_path, data_root, "xc7", ["--only", "monk1-tiny"])
    names = [p["name"] for p in json.loads((out / "frontier_tiny.json").read_text())["points"]]
    assert names == ["monk1-tiny", "other"] and point["gates"] != stale["gates"]
    assert "| other | mnist |" in md and point["carried_over"] == []
    # a second run with --targets ice40 keeps the sim and xc7 results of the unchanged netlist
    log = tmp_path / "work" / "monk1-tiny" / "sim.log"
    before = log.stat().st_mtime_ns
    again, _, _ = build_tiny(tmp_path, data_root, "ice40", ["--pnr-timeout", "1"])
    assert again["carried_over"] == ["sim", "xc7"]
    assert again["sim"] == point["sim"] and again["xc7"] == point["xc7"]
    assert log.stat().st_mtime_ns == before  # not rerun
    check_common(point, root, data_root)
    rep = json.loads(Path(point["xc7"]["report"]).read_text())
    assert point["xc7"]["luts"] == rep["resources"]["lut"] > 0
    assert rep["target"]["family"] == "xc7" and rep["design"]["raw_inputs"] is True
    assert Path(point["xc7"]["synth_log"]).exists()
    assert "ice40" not in point
    row = next(line for line in md.splitlines() if line.startswith("| monk1-tiny"))
    assert f"| {point['xc7']['luts']} |" in row and f"{100 * point['test_acc_discrete']:.2f}%" in row


@pytest.mark.slow
@pytest.mark.tools
def test_tiny_point_ice40_and_reuse(tmp_path, data_root):
    point, root, _ = build_tiny(tmp_path, data_root, "ice40")
    check_common(point, root, data_root)
    ice = point["ice40"]
    rep = json.loads(Path(ice["report"]).read_text())
    assert ice["fits"] and ice["luts"] == rep["resources"]["lut"] > 0
    assert ice["fmax_mhz"] == rep["timing"]["fmax_mhz"] > 0
    assert Path(ice["bitstream"]).stat().st_size > 0
    assert ice["placed_lcs"] == rep["pnr"]["utilisation"]["ICESTORM_LC"]["used"]
    # a second run reuses the finished training with the identical config
    point2, _, _ = build_tiny(tmp_path, data_root, "ice40")
    assert point2["training_reused"] and not point["training_reused"]
    assert point2["test_acc_discrete"] == point["test_acc_discrete"]


def test_markdown_marks_subset_and_no_fit():
    p = {"name": "p", "dataset": "mnist", "gates": 10, "gates_after_optimize": 8, "fan_in": [4],
         "test_acc_discrete": 0.5, "sim": {"matching": 5, "samples": 5, "full_test_set": False},
         "ice40": {"fits": False, "error": "does not fit"}, "xc7": {"luts": 7}}
    row = frontier.markdown([p]).splitlines()[-1]
    assert "5/5 (subset)" in row and "| 7 |" in row
    assert "| no bitstream: combinational: no legal placement | no |" in row
    p["ice40"] = {"fits": None, "failed": True, "pipeline_every": 2, "nextpnr_fmax_mhz": 9.5,
                  "clock_mhz": 12.0, "error": "Max frequency ... (FAIL at 12.00 MHz)",
                  "placed_lcs": 4000, "lcs_available": 5280,
                  "attempts": [{"fits": None, "failed": True, "error": "(FAIL at 12.00 MHz)",
                                "nextpnr_fmax_mhz": 8.0, "clock_mhz": 12.0}]}
    row = frontier.markdown([p]).splitlines()[-1]
    assert ("| no bitstream: combinational: timing 8.0 < 12.0 MHz; registers every 2 levels: timing "
            "9.5 < 12.0 MHz, 4,000/5,280 LCs | not built | 9.5 | – |") in row


@pytest.mark.parametrize("args, msg", [
    (["--tiny", "--only", "nope"], "unknown point(s) nope in tiny mode; known: monk1-tiny"),
    (["--tiny", "--targets", "vivado"], "--targets: unknown vivado (use sim, xc7, ice40)"),
])
def test_bad_options_one_line(tmp_path, args, msg):
    res = CliRunner().invoke(frontier.main, [*args, "--work", str(tmp_path)])
    assert res.exit_code == 2
    assert res.output.strip().splitlines()[-1] == f"Error: {msg}"


@pytest.mark.tools
def test_ice40_build_over_time_limit_is_recorded_not_routed(tmp_path, data_root):
    work, out = tmp_path / "work", tmp_path / "out"
    res = CliRunner().invoke(frontier.main, [
        "--tiny", "--work", str(work), "--out", str(out), "--data-root", str(data_root),
        "--targets", "ice40", "--pnr-timeout", "1", "--threads", "1"])
    assert res.exit_code == 0, res.output
    (point,) = json.loads((out / "frontier_tiny.json").read_text())["points"]
    ice = point["ice40"]
    assert ice["fits"] is None and ice["routed"] is False and "luts" not in ice
    assert "did not finish within 1 s" in ice["error"]
    assert "[frontier] stopped after 1 s" in Path(ice["log"]).read_text()
    assert "no bitstream: combinational: not routed in time" in (out / "frontier_tiny.md").read_text()


def test_collect_rewrites_summary_from_point_records(tmp_path):
    work, out = tmp_path / "work", tmp_path / "out"
    (work / "monk1-tiny").mkdir(parents=True)
    rec = {**OTHER, "name": "monk1-tiny", "dataset": "monk1", "xc7": {"luts": 42}}
    (work / "monk1-tiny" / "point.json").write_text(json.dumps(rec))
    res = CliRunner().invoke(frontier.main, ["--tiny", "--collect", "--work", str(work),
                                             "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "frontier_tiny.json").read_text())["points"] == [rec]
    assert "| 42 |" in (out / "frontier_tiny.md").read_text()
    res = CliRunner().invoke(frontier.main, ["--tiny", "--collect", "--work", str(tmp_path / "x"),
                                             "--out", str(out)])
    assert res.exit_code == 1 and "no point.json under" in res.output


@pytest.mark.tools
def test_finetune_stage_starts_from_the_first_stage(tmp_path, data_root):
    """Point.finetune: a second training run from the first one's checkpoint; its netlist is the
    point's, its config records where it started, and a rerun reuses both stages."""
    point = frontier.Point("monk1-ft", "monk1", dict(epochs=5, width=[40, 20]),
                           targets=(), finetune=dict(epochs=1, hard_finetune=1.0, lr=1e-9))
    rec = frontier.run_point(point, tmp_path, str(data_root), targets=("sim",), progress=False)
    base = json.loads((tmp_path / "monk1-ft" / "train-base" / "metrics.json").read_text())
    ft = json.loads((tmp_path / "monk1-ft" / "train" / "metrics.json").read_text())
    assert ft["config"]["init_from"] == str(tmp_path / "monk1-ft" / "train-base" / "checkpoint.pt")
    assert ft["config"]["hard_finetune"] == 1.0 and base["config"]["hard_finetune"] == 0.0
    # lr 1e-9: the fine-tuned tables are the first stage's, so is the accuracy
    assert rec["test_acc_discrete"] == base["final"]["test_acc_discrete"]
    assert rec["netlist"].endswith("monk1-ft/train/netlist.json") and rec["sim"]["matching"] == rec["n_test"]
    again = frontier.run_point(point, tmp_path, str(data_root), targets=(), progress=False)
    assert again["training_reused"] is True
