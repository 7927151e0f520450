"""Tests for bench/experiments (the paper-claim experiments): each script's --tiny mode runs for
real and its JSON is internally consistent (histories, counts, targets, parameter counts) and agrees
with an independent recomputation (the discretized Netlist's accuracy, closed-form parameter
counts); the PNG is a real image; bad options give one-line errors."""

import json
import math
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

EXP = Path(__file__).resolve().parents[1] / "bench" / "experiments"
if str(EXP) not in sys.path:
    sys.path.append(str(EXP))  # the scripts import their shared ``instrumented`` module

import discretization_gap  # noqa: E402
import estimators  # noqa: E402
import fan_in  # noqa: E402
import grad_depth  # noqa: E402
import init_ablation  # noqa: E402
import instrumented  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def run_tiny(module, name, tmp_path) -> dict:
    res = CliRunner().invoke(module.main, ["--tiny", "--out", str(tmp_path), "--threads", "1"])
    assert res.exit_code == 0, res.output
    js, png = tmp_path / f"{name}_tiny.json", tmp_path / f"{name}_tiny.png"
    assert png.read_bytes()[:8] == PNG and png.stat().st_size > 10_000
    return json.loads(js.read_text())


def check_history(hist, steps, eval_every):
    assert hist[0]["step"] == 0 and hist[0]["train_loss"] is None
    assert [h["step"] for h in hist] == sorted({0, *range(eval_every, steps + 1, eval_every), steps})
    for h in hist:
        assert 0.0 <= h["train_acc"] <= 1.0
        if h["step"]:
            assert h["train_loss"] > 0 and math.isfinite(h["train_loss"])


def check_netlist(res):
    """Eval-mode accuracy of the model equals the discretized Netlist's, count for count."""
    assert res["netlist"]["netlist_counts_equal_model"] is True
    assert res["netlist"]["netlist_test_acc"] == pytest.approx(res["final"]["test_acc_discrete"],
                                                               abs=1e-12)


def test_grad_depth_tiny(tmp_path):
    out = run_tiny(grad_depth, "grad_depth", tmp_path)
    s = out["settings"]
    assert set(out["variants"]) == {v[0] for v in grad_depth.VARIANTS}
    for label, r in out["variants"].items():
        g0 = r["grad_norm_at_init"]
        assert len(g0) == s["depth"] and all(v > 0 and math.isfinite(v) for v in g0)
        assert r["log10_first_over_last_at_init"] == pytest.approx(math.log10(g0[0] / g0[-1]))
        assert sorted(r["grad_norms"], key=int) == [str(v) for v in s["snapshots"]]
        check_history(r["history"], s["steps"], s["eval_every"])
        check_netlist(r)
    v = out["variants"]
    # the effect the experiment exists to show, already visible at depth 6: the original
    # parametrisation with Gaussian logits loses orders of magnitude towards the inputs,
    # IWP with residual init does not
    assert v["original, Gaussian init"]["log10_first_over_last_at_init"] < -2
    assert abs(v["IWP, residual init"]["log10_first_over_last_at_init"]) < 1


def test_discretization_gap_tiny(tmp_path):
    out = run_tiny(discretization_gap, "discretization_gap", tmp_path)
    s = out["settings"]
    assert len(out["variants"]) == 4
    for r in out["variants"].values():
        check_history(r["history"], s["steps"], s["eval_every"])
        f = r["final"]
        assert r["gap_final"] == pytest.approx(f["test_acc_continuous"] - f["test_acc_discrete"])
        check_netlist(r)


def test_init_ablation_tiny(tmp_path):
    out = run_tiny(init_ablation, "init_ablation", tmp_path)
    s = out["settings"]
    assert len(out["runs"]) == len(s["depths"]) * 2 * len(s["seeds"])
    for run in out["runs"]:
        hist, hit = run["history"], run["steps_to_target"]
        accs = [(h["step"], h["train_acc"]) for h in hist]
        if hit is None:  # never reached: ran the whole budget, always below target
            assert run["steps_run"] == s["max_steps"]
            assert all(a < s["target"] for _, a in accs)
        else:  # the first evaluated step at or above the target, and training stopped there
            assert hit % s["eval_every"] == 0 and run["steps_run"] == hit
            assert [st for st, a in accs if a >= s["target"]][0] == hit == accs[-1][0]
    for row in out["summary"]:
        r, g = row["residual"]["median_steps"], row["gaussian"]["median_steps"]
        assert row["speedup"] == (pytest.approx(g / r) if r and g else None)


def test_estimators_tiny(tmp_path):
    out = run_tiny(estimators, "estimators", tmp_path)
    s = out["settings"]
    assert {(r["depth"], r["estimator"]) for r in out["runs"]} == {
        (d, e) for d in s["depths"] for e in estimators.ESTIMATORS}
    for run in out["runs"]:
        check_netlist(run)
        hit = run["steps_to_target"]
        if hit is not None:
            assert next(h for h in run["history"] if h["train_acc"] >= s["target"])["step"] == hit
        assert len(run["grad_norm_at_init"]) == run["depth"]


def test_fan_in_tiny(tmp_path):
    out = run_tiny(fan_in, "fan_in", tmp_path)
    s = out["settings"]
    runs = out["runs"]
    assert [(r["compare"], r["fan_in"]) for r in runs] == [
        (c, n) for c in ("equal_gates", "equal_params") for n in fan_in.FAN_INS]
    for r in runs:
        assert r["parameters"] == r["width"] * s["depth"] * 2 ** r["fan_in"]
        assert 0 <= r["gates_after_optimize"] <= r["gates"] == r["width"] * s["depth"]
        check_netlist(r)
    eq = [r for r in runs if r["compare"] == "equal_gates"]
    assert len({r["gates"] for r in eq}) == 1
    ep = [r for r in runs if r["compare"] == "equal_params"]
    assert len({r["parameters"] for r in ep}) == 1  # tiny budget divides exactly


def test_width_for_rounds_to_classes():
    assert fan_in.width_for(6400, 2, 10) == 1600
    assert fan_in.width_for(6400, 6, 10) == 100
    assert fan_in.width_for(100, 6, 10) == 10  # never below one gate per class


def test_bad_threads_is_one_line(tmp_path):
    res = CliRunner().invoke(fan_in.main, ["--tiny", "--out", str(tmp_path), "--threads", "0"])
    assert res.exit_code == 1
    assert res.output.strip() == "Error: --threads must be >= 1, got 0"


def test_indivisible_width_is_an_experiment_error():
    data = instrumented.load_data("digits", thresholds=1, train_limit=50, test_limit=20)
    with pytest.raises(instrumented.ExperimentError, match="not divisible by 10 classes"):
        instrumented.build_model(data, [30, 25], 2)


def test_connections_tiny(tmp_path):
    import connections

    out = run_tiny(connections, "connections", tmp_path)
    s = out["settings"]
    assert [(r["widths"], r["connections"]) for r in out["runs"]] == [
        (w, c) for w in s["sizes"] for c in ("random", "learned")]
    for r in out["runs"]:
        check_netlist(r)
        assert r["gates_after_optimize"] <= sum(r["widths"])
    for row in out["summary"]:
        assert row["gain_points"] == pytest.approx(
            100 * (row["learned"]["median_test_acc_discrete"]
                   - row["random"]["median_test_acc_discrete"]))
