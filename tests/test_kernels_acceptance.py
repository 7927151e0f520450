"""bench/gpu_acceptance.py, rehearsed without a GPU: every step's command parses its flags, the dry
run runs where amaranth cannot be imported (as on the GPU machine) and records each step, a failing
step is recorded while the others still run, and the bundle holds at most 8 files."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from test_kernels_collection import no_amaranth_env

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("gpu_acceptance", ROOT / "bench" / "gpu_acceptance.py")
acc = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = acc  # dataclasses look their module up
_spec.loader.exec_module(acc)
_kspec = importlib.util.spec_from_file_location("bench_kernels_cli", ROOT / "bench" / "kernels.py")
kernels_cli = importlib.util.module_from_spec(_kspec)
_kspec.loader.exec_module(kernels_cli)


def test_every_step_command_parses(tmp_path):
    from train.__main__ import main as train_main

    steps = acc.build_steps(tmp_path, "/data")
    names = [s.name for s in steps]
    assert names[:5] == ["nvidia-smi", "env", "gpu-tests", "kernels", "train-mnist"]
    assert names[-1] == "mnist-full" and len(names) == len(set(names))
    from train.config import PRESETS

    assert {f"preset-{p}" for p in PRESETS} <= set(names)
    for s in steps:
        for argv in (s.argv, s.dry_argv):
            if argv is None:
                continue
            args = [str(a) for a in argv]
            if args[1:3] == ["-m", "train"]:
                ctx = train_main.make_context("train", args[3:])  # click parses every flag
                assert ctx.params["out"] and ctx.params["device"] in ("cuda", "cpu")
                assert ("--device" in args) and args.count("--device") == 1
            elif args[1:2] == ["bench/kernels.py"]:
                kernels_cli.main.make_context("kernels", args[2:])
        if s.train_out:
            assert s.dry_argv is not None or s.optional
    dry_train = [s.dry_argv for s in steps if s.train_out and s.dry_argv]
    assert dry_train and all("cuda" not in map(str, argv) for argv in dry_train)


def test_dry_run_without_amaranth_records_every_step(tmp_path, data_root):
    out, bundle = tmp_path / "acc", tmp_path / "bundle"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gpu_acceptance.py"), "--dry-run", "--out", str(out),
         "--only", "nvidia-smi,env,preset-breast-cancer,mnist-full", "--data-root", str(data_root),
         "--bundle", str(bundle)],
        cwd=ROOT, env=no_amaranth_env(tmp_path), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    steps = summary["steps"]
    assert steps["nvidia-smi"]["status"] == "skipped" and "no GPU" in steps["nvidia-smi"]["note"]
    assert steps["mnist-full"]["status"] == "skipped"
    assert steps["env"]["status"] == "ok"
    env_log = (out / "env.log").read_text()
    assert "amaranth absent" in env_log and "train.kernels.available() False" in env_log
    bc = steps["preset-breast-cancer"]
    assert bc["status"] == "ok" and bc["rc"] == 0 and bc["torch_eval_matches_netlist"] is True
    assert bc["device"] == "cpu"
    md = (out / "summary.md").read_text()
    assert "| preset-breast-cancer | ok | 0 |" in md and "dry run" in md
    files = sorted(p.name for p in bundle.iterdir())
    assert "acceptance.tar.gz" in files and "summary.md" in files and len(files) <= 8


def test_a_failing_step_is_recorded_and_the_rest_still_run(tmp_path):
    out = tmp_path / "acc"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gpu_acceptance.py"), "--dry-run", "--out", str(out),
         "--only", "preset-monk1,env", "--data-root", str(tmp_path / "no-such-data")],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1 and "1 step(s) failed" in proc.stderr
    steps = json.loads((out / "summary.json").read_text())["steps"]
    assert steps["preset-monk1"]["status"] == "failed" and steps["preset-monk1"]["rc"] not in (0, None)
    assert steps["env"]["status"] == "ok"  # ran after the failure
    assert "Traceback" not in (out / "preset-monk1.log").read_text()


def test_unknown_step_is_a_usage_error(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu_acceptance.py"), "--out",
                           str(tmp_path), "--only", "kernels,nonsense"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "unknown steps: nonsense" in proc.stderr


@pytest.mark.parametrize("dry", [False, True])
def test_list_shows_the_commands(tmp_path, dry):
    args = [sys.executable, str(ROOT / "bench" / "gpu_acceptance.py"), "--out", str(tmp_path),
            "--list", "--only", "nvidia-smi,kernels"] + (["--dry-run"] if dry else [])
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    assert ("skipped: no GPU" in proc.stdout) == dry and ("--dry-run" in proc.stdout) == dry
