"""``python -m train`` (train/__main__.py): end to end with tiny settings, then ``lgn-hw infer``
reproduces the printed discretized accuracy; bad input gives one-line errors and writes nothing."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from train.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--width", "60,40", "--epochs", "2", "--thresholds", "2", "--quiet"]


def _run(args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "train", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_end_to_end_then_infer(tmp_path):
    proc = _run(TINY, tmp_path)  # default --out: lgn-out in the working directory
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "lgn-out"
    assert {p.name for p in out.iterdir()} >= {"netlist.json", "metrics.json", "checkpoint.pt",
                                               "config.json", "curves.png"}
    m = re.search(r"discretized test accuracy: ([\d.]+)%", proc.stdout)
    assert m, proc.stdout
    printed = float(m.group(1))
    final = json.loads((out / "metrics.json").read_text())["final"]
    assert round(100 * final["test_acc_discrete"], 2) == printed

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    inf = subprocess.run([sys.executable, "-c", "from lgn_hw.cli import main; main()", "infer"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert inf.returncode == 0, inf.stderr
    acc = re.search(r"accuracy: [\d.]+ \((\d+)/(\d+)\)", inf.stdout)
    assert acc, inf.stdout
    correct, n = int(acc.group(1)), int(acc.group(2))
    assert n == 360  # the digits test split
    assert round(100 * correct / n, 2) == printed


def test_help_lists_options_and_presets():
    r = CliRunner().invoke(main, ["--help"])
    assert r.exit_code == 0
    for opt in ("--preset", "--dataset", "--data-root", "--thresholds", "--encoding", "--fan-in",
                "--param", "--estimator", "--init", "--layers", "--width", "--tau", "--epochs",
                "--steps", "--batch-size", "--lr", "--seed", "--device", "--out", "--resume",
                "--grad-norms", "--schedule", "--download", "mnist-up5k", "mnist-ecp5", "mnist-difflogic",
                "--label", "--test", "--test-fraction", "--categorical", "--numeric", "--ignore", "--missing"):
        assert opt in re.sub(r"-\s+", "-", r.output), opt  # click may wrap after a hyphen


@pytest.mark.parametrize("args,msg", [
    (["--dataset", "cifar"], "unknown dataset 'cifar'"),
    (["--fan-in", "7"], "--fan-in must be in 1..6, got 7"),
    (["--fan-in", "0"], "--fan-in must be in 1..6, got 0"),
    (["--width", "60,45"], "last layer width 45 is not divisible by the number of classes (10)"),
    (["--preset", "nope"], "unknown preset 'nope'"),
    (["--resume"], "--resume: no checkpoint at"),
    (["--label", "y"], "--label applies to a user's file (--dataset PATH.csv/.npz/.npy), not to the built-in "
                       "dataset 'digits'"),
    (["--dataset", "missing.csv"], "missing.csv: no such file"),
])
def test_bad_input_one_line_error_and_no_output(tmp_path, args, msg):
    out = tmp_path / "o"
    r = CliRunner().invoke(main, [*TINY, "--out", str(out), *args])
    assert r.exit_code != 0
    assert msg in r.output, r.output
    assert "Traceback" not in r.output
    err_lines = [ln for ln in r.output.splitlines() if ln.startswith("Error")]
    assert len(err_lines) == 1
    assert not out.exists() or not any(out.iterdir())


def test_missing_data_files(tmp_path):
    out = tmp_path / "o"
    r = CliRunner().invoke(main, [*TINY, "--dataset", "mnist", "--data-root", str(tmp_path / "empty"),
                                  "--out", str(out)])
    assert r.exit_code != 0 and "Traceback" not in r.output
    assert "mnist" in r.output.lower()
    assert not out.exists()


@pytest.mark.slow
def test_resume_cli(tmp_path):
    out = tmp_path / "o"
    r1 = CliRunner().invoke(main, [*TINY, "--out", str(out)])
    assert r1.exit_code == 0, r1.output
    r2 = CliRunner().invoke(main, [*TINY[:2], "--epochs", "3", *TINY[4:], "--out", str(out), "--resume"])
    assert r2.exit_code == 0, r2.output
    m = json.loads((out / "metrics.json").read_text())
    assert [e["epoch"] for e in m["epochs"]] == [1, 2, 3]
