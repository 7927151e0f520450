"""``python -m train`` against hostile input: checkpoints load without running code and anything
else is refused in one line; the output folder is locked; bad sizes and seeds are refused before
anything is allocated; a finished run is not silently re-finished with other steps; temporary files
of a killed run are cleaned up."""
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from train import outputs
from train.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--width", "60,40", "--epochs", "2", "--thresholds", "2", "--quiet"]


class _Touch:
    """Unpickling this calls open(marker, "w"), creating the file: code run from a checkpoint."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _evil(path, marker):
    state = {"model": {"w": torch.zeros(2)}, "config": {}, "payload": _Touch(marker)}
    torch.save(state, path)
    assert not marker.exists()
    return path


def _one_error(r, code=1):
    assert r.exit_code == code, r.output
    assert isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output and "Aborted" not in r.output
    errors = [ln for ln in r.output.splitlines() if ln.startswith("Error")]
    assert len(errors) == 1, r.output
    return errors[0]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished tiny run."""
    out = tmp_path_factory.mktemp("run") / "o"
    r = CliRunner().invoke(main, [*TINY, "--out", str(out)])
    assert r.exit_code == 0, r.output
    return out


def test_a_crafted_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "ran"
    evil = _evil(tmp_path / "evil.pt", marker)
    with pytest.raises(outputs.CheckpointError, match="holds objects other than tensors and plain "
                                                      "data; refused without loading them"):
        outputs.load_checkpoint(evil)
    assert not marker.exists()
    # the same file is what the crafted pickle would do under torch's unrestricted loader
    torch.load(evil, weights_only=False)
    assert marker.exists()
    marker.unlink()
    r = CliRunner().invoke(main, [*TINY, "--out", str(tmp_path / "o"), "--init-from", str(evil)])
    assert "--init-from" in _one_error(r) and not marker.exists()
    (tmp_path / "r").mkdir()
    _evil(tmp_path / "r" / "checkpoint.pt", marker)
    r = CliRunner().invoke(main, [*TINY, "--out", str(tmp_path / "r"), "--resume"])
    assert "--resume" in _one_error(r) and not marker.exists()


def test_files_that_are_not_checkpoints(tmp_path, finished):
    real = (finished / "checkpoint.pt").read_bytes()
    cases = {"empty.pt": b"", "half.pt": real[:len(real) // 2], "netlist.pt":
             (finished / "netlist.json").read_bytes(), "plain.pt": pickle.dumps([1, 2, 3]),
             "nomodel.pt": None}
    torch.save({"step": 3}, tmp_path / "nomodel.pt")
    for name, data in cases.items():
        if data is not None:
            (tmp_path / name).write_bytes(data)
    os.mkfifo(tmp_path / "fifo.pt")
    for name in [*cases, "fifo.pt"]:
        r = CliRunner().invoke(main, [*TINY, "--out", str(tmp_path / "o"), "--init-from",
                                      str(tmp_path / name)])
        line = _one_error(r)
        assert line.startswith(f"Error: --init-from {tmp_path / name}: "), line
        assert not (tmp_path / "o").exists()


def test_resume_needs_a_whole_checkpoint(tmp_path, finished):
    out = tmp_path / "o"
    out.mkdir()
    ck = torch.load(finished / "checkpoint.pt", weights_only=True)
    del ck["optimizer"]
    torch.save(ck, out / "checkpoint.pt")
    r = CliRunner().invoke(main, [*TINY, "--out", str(out), "--resume"])
    assert "'optimizer' is missing" in _one_error(r)


def test_resume_with_fewer_steps_than_done_is_refused(tmp_path, finished):
    before = {p.name: p.read_bytes() for p in finished.iterdir()}
    done = outputs.load_checkpoint(finished / "checkpoint.pt", resume=True)["step"]
    r = CliRunner().invoke(main, [*TINY, "--out", str(finished), "--resume", "--steps", "10"])
    line = _one_error(r)
    assert (f"is at step {done}, past the 10 steps asked for (--epochs and --steps may only grow)"
            in line)
    assert {p.name: p.read_bytes() for p in finished.iterdir()} == before


@pytest.mark.parametrize("args,code,msg", [
    (["--seed", "-1"], 2, "--seed must be in 0..9223372036854775807, got -1"),
    (["--threads", "1000000"], 2, "--threads must be in 1..1024, got 1000000"),
    (["--width", "100000000,10"], 2, "--width 100000000,10: the network has 100,000,011 signals "
                                     "(input bits + gates), more than the 2,097,152 a netlist may have"),
    (["--thresholds", "100000000"], 2, "--thresholds 100000000: more input bits than the 2,097,152"),
    (["--width", "2000000", "--fan-in", "6", "--batch-size", "100000"], 2,
     "--width 2000000 with --batch-size 100000: training needs at least 1,492.0 GiB"),
])
def test_impossible_sizes_and_seeds_are_refused_before_allocating(tmp_path, args, code, msg):
    t0 = time.monotonic()
    r = CliRunner().invoke(main, [*TINY, "--out", str(tmp_path / "o"), *args])
    assert msg in _one_error(r, code)
    assert time.monotonic() - t0 < 60
    assert not (tmp_path / "o").exists()


def test_an_unwritable_out_is_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    r = CliRunner().invoke(main, [*TINY, "--out", str(tmp_path / "file" / "o")])
    assert "cannot write there (Not a directory)" in _one_error(r)
    if os.geteuid() != 0:  # root writes anywhere
        (tmp_path / "ro").mkdir(mode=0o500)
        r = CliRunner().invoke(main, [*TINY, "--out", str(tmp_path / "ro" / "o")])
        assert "cannot write there" in _one_error(r)


def _train_proc(out, *args, epochs=200):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-m", "train", "--width", "60,40", "--epochs",
                             str(epochs), "--thresholds", "2", "--quiet", "--out", str(out), *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc, code=None, timeout=900):
    """Wait for ``proc``, reading its pipes (so a full pipe cannot block it)."""
    out, err = proc.communicate(timeout=timeout)
    if code is not None:
        assert proc.returncode == code, err


def _wait_for(cond, proc, timeout=600):
    t0 = time.monotonic()
    while not cond():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t0 < timeout
        time.sleep(0.05)


def test_a_second_training_into_the_same_folder_is_refused_and_a_killed_one_leaves_no_lock(tmp_path):
    out = tmp_path / "o"
    first = _train_proc(out)
    try:
        _wait_for(lambda: (out / "checkpoint.pt").exists(), first)
        r = CliRunner().invoke(main, [*TINY, "--out", str(out)])
        assert _one_error(r) == (f"Error: --out {out} is in use by another training; wait for it "
                                 f"to finish or choose another --out")
    finally:
        first.send_signal(signal.SIGKILL)
        _finish(first)
    stale = out / ".checkpoint.pt.k1ll3d.tmp"  # what a SIGKILL during a checkpoint write leaves
    stale.write_bytes(b"half a checkpoint")
    keep = out / ".notes.tmp"  # not one of ours
    keep.write_text("mine")
    r = CliRunner().invoke(main, [*TINY, "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert not stale.exists() and keep.read_text() == "mine"
    assert not list(out.glob(".*.*.tmp")) or list(out.glob(".*.*.tmp")) == [keep]


def _state(out: Path):
    """'finished' with the config all its files agree on, or 'unfinished' (no netlist)."""
    names = {p.name for p in out.iterdir()} if out.exists() else set()
    if "netlist.json" not in names:
        return "unfinished", None
    cfg = json.loads((out / "config.json").read_text())
    net = json.loads((out / "netlist.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    ck = outputs.load_checkpoint(out / "checkpoint.pt", resume=True)
    run = {k: cfg.pop(k) for k in ("world_size", "backend")}  # where it ran: config.json only
    assert run == {"world_size": 1, "backend": None}
    assert net["meta"]["config"] == cfg == metrics["config"] == ck["config"]
    assert (out / "curves.png").stat().st_size > 0
    assert metrics["final"]["steps"] == ck["step"]
    return "finished", cfg


@pytest.fixture(scope="module")
def run_a(tmp_path_factory):
    """A finished run (seed 1) whose files the interrupt tests restore before each attempt."""
    out = tmp_path_factory.mktemp("a") / "o"
    a = _train_proc(out, "--seed", "1", epochs=2)
    _finish(a, 0)
    return {p.name: p.read_bytes() for p in out.iterdir()}


def _seed_is(path, seed):
    try:
        return json.loads(path.read_text())["seed"] == seed
    except (OSError, ValueError, KeyError):
        return False


# When run B is interrupted: at once (still starting), once it has begun (its config.json is
# written), once it has checkpointed, once its metrics are written (finishing: the netlist comes
# last), and never (it finishes).
MOMENTS = {"start": lambda out: True,
           "begun": lambda out: _seed_is(out / "config.json", 2),
           "checkpointed": lambda out: _seed_is(out / "config.json", 2) and (out / "checkpoint.pt").exists(),
           "finishing": lambda out: (out / "metrics.json").exists(),
           "never": None}


@pytest.mark.parametrize("sig,moments", [
    pytest.param(signal.SIGINT, list(MOMENTS), marks=pytest.mark.slow, id="SIGINT"),
    pytest.param(signal.SIGKILL, list(MOMENTS), marks=pytest.mark.slow, id="SIGKILL"),
    pytest.param(signal.SIGKILL, ["start", "checkpointed", "finishing"], id="SIGKILL-quick")])
def test_interrupted_training_leaves_the_old_run_the_new_one_or_an_unfinished_one(tmp_path, sig,
                                                                                   moments, run_a):
    """Finished run A (seed 1) in the folder, then run B (seed 2) into the same folder,
    interrupted at several moments: afterwards the folder is A byte for byte, B finished (all its
    files agree), or unfinished (no netlist: every lgn-hw command refuses it), and --resume
    then completes B."""
    from lgn_hw.cli import main as lgn_hw

    out = tmp_path / "o"
    seen, resumed = {}, False
    for moment in moments:
        ready = MOMENTS[moment]
        if out.exists():
            for p in out.iterdir():
                p.unlink()
        out.mkdir(exist_ok=True)
        for name, data in run_a.items():
            (out / name).write_bytes(data)
        b = _train_proc(out, "--seed", "2", epochs=10)
        if ready is not None:
            while not ready(out) and b.poll() is None:
                time.sleep(0.01)
            b.send_signal(sig)
        _finish(b)
        state, cfg = _state(out)
        if state == "finished" and cfg["seed"] == 1:
            assert {p.name: p.read_bytes() for p in out.iterdir()} == run_a
            seen[moment] = "A"
        elif state == "finished":
            assert cfg["seed"] == 2
            seen[moment] = "B"
        else:
            seen[moment] = "unfinished"
            r = CliRunner().invoke(lgn_hw, ["infer", str(out / "netlist.json")])
            assert r.exit_code == 1 and "no netlist at" in r.output
            if (out / "checkpoint.pt").exists() and not resumed:
                again = _train_proc(out, "--seed", "2", "--resume", epochs=10)
                _finish(again, 0)
                on_disk = json.loads((out / "config.json").read_text())
                assert _state(out) == ("finished", {k: v for k, v in on_disk.items()
                                                    if k not in ("world_size", "backend")})
                assert _state(out)[1]["seed"] == 2
                resumed = True
        assert not list(out.glob(".*.tmp"))
    assert seen["start"] == "A" and seen.get("never", "B") == "B", seen
    assert seen["checkpointed"] == seen.get("begun", "unfinished") == "unfinished" and resumed, seen
