"""bench/kernels.py: the --dry-run mode (the checks run the kernels' own source on the CPU through
the real launch code; no timings), its failure on a correctness mismatch, argument errors, and the
table/roofline arithmetic."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import train.kernels as kernels

_PATH = Path(__file__).resolve().parents[1] / "bench" / "kernels.py"
_spec = importlib.util.spec_from_file_location("bench_kernels", _PATH)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

SMALL = ["--dry-run", "--check-shapes", "13,11,37", "--check-scratch-kib", "1", "--batches",
         "64,256", "--gates", "4096", "--no-resources"]


def test_dry_run_checks_every_configuration_and_writes_results(tmp_path):
    res = CliRunner().invoke(bench.main, [*SMALL, "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "kernels.json").read_text())
    assert data["mode"] == "dry-run" and data["copy_bandwidth_Bps"] is None
    assert len(data["checks"]) == 39  # (6 fan-ins x 2 estimators + original) x 3 modes
    for row in data["checks"]:
        assert row["y"] <= bench.TOL["y"] and row["gx"] <= bench.TOL["gx"]
        assert ("gparams" in row) == ("gparams_first" in row) == (not row["config"].endswith("hard"))
        assert row["ranges"] >= 2  # the 1 KiB scratch bound splits the batch
    assert len(data["rows"]) == 4 * 2
    assert all(r["fwd_ms"] is None and r["speedup"] is None for r in data["rows"])
    md = (tmp_path / "kernels.md").read_text()
    assert "| iwp n=6 sin | 256 |" in md and "no timings in a dry run" in md
    assert "worst relative errors" in res.output and "skipped: no GPU" in res.output


def test_a_mismatch_fails_loudly(tmp_path, monkeypatch):
    real = bench.run_emulated

    def off_by_a_little(case, param, n, est, mode):
        out = real(case, param, n, est, mode)
        if param == "iwp" and n == 5:
            out["gx"] = out["gx"] * (1 + 1e-3)
        return out

    monkeypatch.setattr(bench, "run_emulated", off_by_a_little)
    res = CliRunner().invoke(bench.main, [*SMALL, "--out", str(tmp_path)])
    assert res.exit_code == 1
    assert "correctness mismatches" in res.output and "iwp n=5 sin" in res.output
    assert not (tmp_path / "kernels.json").exists()


def test_unwritten_output_counts_as_mismatch():
    ref = np.ones((2, 3))
    got = ref.copy()
    got[1, 2] = np.nan
    assert bench.rel_err(got, ref) == float("inf")
    assert bench.rel_err(ref[:1], ref) == float("inf")
    assert bench.rel_err(ref * (1 + 1e-6), ref) == pytest.approx(1e-6)


@pytest.mark.parametrize("args,message", [
    (["--batches", "64,x"], "comma-separated integers"),
    (["--check-shapes", "10,10"], "three integers"),
    (["--repeats", "0"], "--repeats must be >= 1"),
])
def test_bad_arguments_are_one_line_errors(args, message, tmp_path):
    res = CliRunner().invoke(bench.main, ["--dry-run", *args, "--out", str(tmp_path)])
    assert res.exit_code == 2 and message in res.output
    assert "Traceback" not in res.output


@pytest.mark.skipif(kernels.available(), reason="checks the message shown without a GPU")
def test_gpu_mode_without_gpu_says_so(tmp_path):
    res = CliRunner().invoke(bench.main, ["--out", str(tmp_path)])
    assert res.exit_code == 1 and "use --dry-run" in res.output


def test_bytes_model_and_roofline_rows():
    bm = bench.bytes_model("iwp", 2, in_dim=10, G=10, B=8)
    assert bm["fwd"] == 4 * 10 * 8 * 3 + 4 * 10 * (4 + 2)
    assert bm["bwd"] == 4 * 10 * 8 * 5 + 4 * (20 + 10) * 8 + 4 * 10 * (8 + 4)
    # Formatting and target arithmetic on given (not measured) times: 1 ms for every kernel.
    t = {"fwd_ms": 1.0, "bwd_ms": 2.0, "step_ms": 3.0, "torch_step_ms": 30.0}
    timings = {(p, n, e, b): dict(t) for (p, n, e) in bench.TIMED for b in (64, 256)}
    rows = bench.timing_rows(1000, [64, 256], 1e12, timings)
    r = rows[0]
    assert r["fwd_roofline"] == pytest.approx(r["bytes_fwd"] / 1e-3 / 1e12)
    assert r["speedup"] == pytest.approx(10.0)
    table = bench.format_table(rows)
    assert table.count("\n") == 1 + len(rows) and "| 1000.0 |" in table
    notes = bench.targets(rows)
    assert any("backward 1.00x faster (target >= 1.86x)" in s for s in notes)
    assert any("n=6 / n=2 per-gate cost 1.00" in s for s in notes)
