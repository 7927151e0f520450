"""Data-parallel training (train/distributed.py) on the CPU with gloo, 2 ranks started by the test:
the same parameters and netlist as one process with the same global batch (also across a resume
from 1 to 2 ranks and from 2 to 1), a rank that dies or hangs stops the other with a clear error
and leaves a complete checkpoint, and ranks that disagree at start are refused."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from train import cext
from train.config import resolve
from train.data import load_for
from train.distributed import Ranks
from train.loop import TrainingError, train

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).with_name("ddp_worker.py")
#: digits: 1293 training rows; batch 77 = 16 full batches and one of 61 (31 + 30 samples per rank)
BASE = dict(width="60,40", fan_in="4,3", thresholds=2, batch_size=77, seed=4, lr=0.05)


def _cli(opts: dict) -> list:
    args = []
    for k, v in opts.items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    return args + ["--quiet"]


def _env(**extra) -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                OMP_NUM_THREADS="1", **extra)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ranks(worker_args: list, train_args: list, cwd, world: int = 2) -> list:
    """``world`` ranks of tests/ddp_worker.py, started with torchrun's environment variables."""
    port = str(_free_port())
    return [subprocess.Popen([sys.executable, str(WORKER), *worker_args, "--", *train_args],
                             cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=_env(RANK=str(r), LOCAL_RANK=str(r), WORLD_SIZE=str(world),
                                      LOCAL_WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1",
                                      MASTER_PORT=port))
            for r in range(world)]


def _finish(procs, timeout=900) -> list:
    """(returncode, stderr) of each process; the timeout only catches a hang on a loaded machine."""
    out = []
    for p in procs:
        try:
            _, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
        out.append((p.returncode, err))
    return out


def _state(path) -> dict:
    return torch.load(Path(path) / "checkpoint.pt", weights_only=False)


def _assert_same_model(a, b, tol=2e-5):
    """Parameters within float rounding, connections and discretized netlists identical."""
    sa, sb = _state(a)["model"], _state(b)["model"]
    assert sa.keys() == sb.keys()
    for k in sa:
        layer = k.rsplit(".", 1)[0]
        if k.endswith(".idx") and (f"{layer}.map_w" in sa or f"{layer}.conn" in sa):
            continue  # learned choices: idx is refreshed from the scores when used (the netlist has it)
        if sa[k].is_floating_point():
            assert torch.allclose(sa[k], sb[k], rtol=tol, atol=tol), (k, (sa[k] - sb[k]).abs().max())
        else:
            assert torch.equal(sa[k], sb[k]), k
    na, nb = (json.loads((Path(p) / "netlist.json").read_text()) for p in (a, b))
    assert (na["layers"], na["head"]) == (nb["layers"], nb["head"])


def test_shards_split_a_batch_evenly_and_in_order():
    for n in (0, 1, 2, 7, 61, 77):
        for world in (1, 2, 3, 5):
            parts = [Ranks(rank=r, world_size=world).shard(n) for r in range(world)]
            assert [p.start for p in parts] == [0] + [p.stop for p in parts[:-1]]
            assert parts[-1].stop == n
            sizes = [p.stop - p.start for p in parts]
            assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)


LAUNCH = dict(WORLD_SIZE="2", RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT="1")


@pytest.mark.parametrize("env, opts, message", [
    (dict(LAUNCH, RANK=None), [], "$RANK is not set: start several ranks with torchrun"),
    (dict(LAUNCH, MASTER_ADDR=None, MASTER_PORT=None), [],
     "$WORLD_SIZE is 2 but $MASTER_ADDR and $MASTER_PORT not set"),
    (dict(LAUNCH, WORLD_SIZE="two"), [], "$WORLD_SIZE must be an integer, got 'two'"),
    (dict(LAUNCH, WORLD_SIZE="0"), [], "$WORLD_SIZE must be >= 1, got 0"),
    (dict(LAUNCH, RANK="5"), [], "$RANK 5 is outside 0..1 ($WORLD_SIZE 2)"),
    (LAUNCH, ["--dist-timeout", "0"], "--dist-timeout must be a positive number of seconds"),
    (LAUNCH, ["--dist-timeout", "nan"], "--dist-timeout must be a positive number of seconds"),
    # beyond what a timedelta holds: was an OverflowError traceback from the process group
    (LAUNCH, ["--dist-timeout", "1e300"], "--dist-timeout must be at most 604800 s (7 days)"),
    (dict(WORLD_SIZE=None), ["--dist-timeout", "1e300"], "--dist-timeout must be at most 604800"),
])
def test_a_bad_launch_is_one_line_before_anything_starts(tmp_path, env, opts, message):
    from click.testing import CliRunner

    from train.__main__ import main

    env = {k: env.get(k) for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    result = CliRunner().invoke(main, ["--dataset", "digits", "--steps", "1", "--quiet", "--out",
                                       str(tmp_path / "run"), *opts], env=env)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], result.output
    assert not (tmp_path / "run").exists()


def test_torchrun_resumes_a_one_process_run_on_two_ranks_and_matches_it(tmp_path):
    """torchrun -m train, a learned mapping (first layer) and learned connections (second),
    shifts, --hard-finetune, --select best, the fused C kernel, an uneven last batch; resumed from
    a 1-process checkpoint (another rank count)."""
    assert cext.available(torch.float32)
    opts = dict(BASE, steps=24, first_layer="learned", connections="learned", candidates=3,
                augment_shift=1, hard_finetune=0.3, select="best")
    cfg = resolve(**opts)
    data = load_for(cfg)
    train(cfg, data, tmp_path / "ref", progress=False)

    def stop(step):
        if step == 10:
            raise KeyboardInterrupt

    with pytest.raises(TrainingError, match="interrupted at step 10/24"):
        train(cfg, data, tmp_path / "run", progress=False, step_hook=stop)
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc-per-node", "2", "-m", "train", *_cli(opts), "--resume",
                           "--out", str(tmp_path / "run")],
                          cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2 ranks (gloo)" in proc.stderr and proc.stdout.count("discretized test accuracy") == 1
    _assert_same_model(tmp_path / "ref", tmp_path / "run")
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert (m["final"]["world_size"], m["final"]["backend"]) == (2, "gloo")
    assert [e["world_size"] for e in m["epochs"]] == [2, 2]  # epochs end at steps 17 and 24
    c = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (c["world_size"], c["backend"]) == (2, "gloo")
    ref = json.loads((tmp_path / "ref" / "metrics.json").read_text())
    for key in ("valid_acc_discrete", "test_acc_discrete", "selected_epoch"):
        assert m["final"][key] == ref["final"][key], key
    for e, r in zip(m["epochs"], ref["epochs"]):
        assert e["train_loss"] == pytest.approx(r["train_loss"], rel=1e-5)


def test_the_comparison_sees_a_different_global_batch(tmp_path):
    """Negative twin: 1 process with the per-rank batch (what summing ranks' mean losses, or
    letting each rank train on its own batch, would amount to) is not within the tolerance."""
    cfg = resolve(**dict(BASE, steps=12))
    data = load_for(cfg)
    train(cfg, data, tmp_path / "a", progress=False)
    train(resolve(**dict(BASE, steps=12, batch_size=39)), data, tmp_path / "b", progress=False)
    with pytest.raises(AssertionError):
        _assert_same_model(tmp_path / "a", tmp_path / "b")


@pytest.fixture(scope="module")
def from_init(tmp_path_factory):
    """A 30-step run --init-from another run's checkpoint, uninterrupted, on 1 process."""
    root = tmp_path_factory.mktemp("from_init")
    cfg0 = resolve(**dict(BASE, steps=3, seed=9))
    data = load_for(cfg0)
    train(cfg0, data, root / "init", progress=False)
    opts = dict(BASE, steps=30, init_from=str(root / "init" / "checkpoint.pt"))
    cfg = resolve(**opts)
    train(cfg, data, root / "ref", progress=False)
    return opts, cfg, data, root / "ref"


@pytest.mark.parametrize("sig", ["KILL", "STOP"])
def test_a_rank_that_dies_or_hangs_stops_the_other_and_resume_finishes(tmp_path, sig, from_init):
    """Rank 1 is killed (or stopped) after step 15 of a run that started --init-from a checkpoint:
    rank 0 exits non-zero with one clear line (at once, or after --dist-timeout), saves the
    checkpoint of step 15, and a 1-process --resume ends with the uninterrupted run's netlist."""
    opts, cfg, data, ref = from_init
    timeout = 4
    procs = _ranks(["--die-at", "15", "--signal", sig],
                   _cli(opts) + ["--out", str(tmp_path / "run"), "--dist-timeout", str(timeout)],
                   tmp_path)
    stopped = None
    if sig == "STOP":  # when did rank 1 stop answering?
        while stopped is None and procs[0].poll() is None:
            if Path(f"/proc/{procs[1].pid}/stat").read_text().split(") ")[1][0] == "T":
                stopped = time.monotonic()
            time.sleep(0.05)
    rc0, err0 = _finish(procs[:1])[0]
    ended = time.monotonic()
    procs[1].send_signal(signal.SIGKILL)
    _finish(procs[1:])
    assert rc0 != 0
    line = [ln for ln in err0.splitlines() if ln.startswith("Error:")]
    assert len(line) == 1, err0[-3000:]
    assert "rank 0 of 2: the gradient all-reduce of step 16 failed" in line[0]
    assert "checkpoint of step 15 saved" in line[0] and "--resume" in line[0]
    if sig == "STOP":
        assert f"Timed out waiting {1000 * timeout}ms" in line[0]
        # not before the timeout; the upper bound leaves room for a heavily loaded machine (rank 0
        # may still be finishing its own step 16 when rank 1 stops, then it saves and exits)
        assert stopped is not None and timeout - 0.5 < ended - stopped < timeout + 60
    assert _state(tmp_path / "run")["step"] == 15
    assert not (tmp_path / "run" / "netlist.json").exists()
    train(cfg, data, tmp_path / "run", resume=True, progress=False)
    _assert_same_model(ref, tmp_path / "run")


def test_ranks_that_built_different_models_are_refused_before_anything_is_written(tmp_path):
    procs = _ranks(["--perturb"], _cli(dict(BASE, steps=5)) + ["--out", str(tmp_path / "run")],
                   tmp_path)
    for rc, err in _finish(procs):
        assert rc != 0
        assert ("rank 1 of 2 differs from rank 0 in the start-up state (model.layers.0.idx, "
                "model.layers.1.theta)" in err), err[-2000:]
    assert not (tmp_path / "run").exists()


def test_only_rank_0_writes_and_shows_progress(tmp_path):
    """Rank 1, given its own --out, leaves it unwritten through an epoch end (checkpoint,
    evaluation) and the end of the run; its stdout and stderr carry no progress bar and no result
    lines: those are rank 0's."""
    opts = dict(BASE, steps=18)  # an epoch ends at step 17
    procs = _ranks(["--rank-1-out", str(tmp_path / "rank1")],
                   _cli(opts)[:-1] + ["--out", str(tmp_path / "run")], tmp_path)
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=900)
        outs.append((p.returncode, out, err))
    (rc0, out0, err0), (rc1, out1, err1) = outs
    assert rc0 == 0 and rc1 == 0, (err0[-2000:], err1[-2000:])
    assert "train digits" in err0 and "18/18" in err0 and "2 ranks (gloo)" in err0
    assert out0.count("discretized test accuracy") == 1
    assert out1 == "" and "train digits" not in err1 and "%|" not in err1, (out1[-500:], err1[-500:])
    assert not (tmp_path / "rank1").exists()
    assert sorted(f.name for f in (tmp_path / "run").iterdir()) == [
        "checkpoint.pt", "config.json", "curves.png", "metrics.json", "netlist.json"]


@pytest.mark.slow
def test_a_failure_on_rank_0_is_reported_on_every_rank(tmp_path):
    procs = _ranks([], _cli(dict(BASE, steps=5)) + ["--out", str(tmp_path / "none"), "--resume"],
                   tmp_path)
    (rc0, err0), (rc1, err1) = _finish(procs)
    assert rc0 != 0 and f"--resume: no checkpoint at {tmp_path / 'none' / 'checkpoint.pt'}" in err0
    assert rc1 != 0 and "rank 1 of 2: rank 0 failed reading --resume" in err1
