"""Interrupting ``lgn-hw build`` and ``lgn-hw synth`` (SIGINT, SIGTERM, SIGKILL) at several
points: afterwards the output folder is the complete old result (or, when the signal came after
the swap, the complete new one), every other folder is refused by the readers, and no tool
process is left running or writing (checked again a few seconds later).

A real first build of netlist A fills the folder; each run then builds netlist B into it and is
interrupted as soon as a step's file appears in its staging folder (Yosys's log, nextpnr's log,
the packer's input).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

from flows.design import load_netlist
from flows.report import ReportError, check_binding, load_report
from lgn_hw.netlist import random_netlist

pytestmark = [pytest.mark.tools, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]


def _cli(*args, cwd):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-m", "lgn_hw.cli", *map(str, args)], cwd=cwd,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _processes_under(root: Path) -> list[int]:
    """Live processes whose working directory is inside ``root`` (the tools run in there)."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(d / "cwd")
        except OSError:
            continue
        if cwd.startswith(str(root)):
            pids.append(int(d.name))
    return pids


def _wait_for(pattern: str, root: Path, proc, timeout=300) -> bool:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if list(root.glob(pattern)):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    raise AssertionError(f"{pattern} never appeared")


def _check_folder(out: Path, a, b) -> str:
    """'old' or 'new' when ``out`` is a complete result bound to netlist a or b."""
    for tag, net in (("old", a), ("new", b)):
        try:
            check_binding(out, net)
            return tag
        except ReportError as e:
            if "stale" not in str(e):
                raise
    raise AssertionError(f"{out} is bound to neither netlist")


def _check_others(tmp: Path, out: Path):
    for p in tmp.iterdir():
        if p.is_dir() and p.name.startswith((f".{out.name}", f"{out.name}.")):
            with pytest.raises(ReportError, match="incomplete|no report"):
                load_report(p)


def _interrupt(tmp, out, args, pattern, sig, a, b):
    proc = _cli(*args, cwd=tmp)
    reached = _wait_for(f".{out.name}.staging-*/{pattern}", tmp, proc)
    if reached:
        proc.send_signal(sig)
    proc.communicate(timeout=120)
    deadline = time.time() + 10        # PR_SET_PDEATHSIG / killpg: the tools go at once
    while _processes_under(tmp) and time.time() < deadline:
        time.sleep(0.2)
    assert not _processes_under(tmp), "a tool process survived the interrupt"
    state = _check_folder(out, a, b)
    _check_others(tmp, out)
    time.sleep(2)                      # nothing writes into the folder afterwards
    assert _check_folder(out, a, b) == state
    return reached, state


@pytest.fixture
def two_netlists(tmp_path):
    a = random_netlist(0, 32, [48, 36], 4, 3).save(tmp_path / "a.json")
    b = random_netlist(1, 32, [48, 36], 4, 3).save(tmp_path / "b.json")
    return a, b, load_netlist(a), load_netlist(b)


POINTS = ["build/synth.log", "build/top.tim", "build/top.asc"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL],
                         ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_build_interrupted(tmp_path, two_netlists, sig):
    pa, pb, a, b = two_netlists
    out = tmp_path / "out"
    first = _cli("build", "--board", "icebreaker", "--netlist", pa, "--out", out,
                 "--no-hierarchy", cwd=tmp_path)
    assert first.wait(timeout=600) == 0, first.stdout.read().decode()
    assert _check_folder(out, a, b) == "old"
    args = ["build", "--board", "icebreaker", "--netlist", pb, "--out", out, "--no-hierarchy"]
    reached = []
    for point in POINTS:
        hit, state = _interrupt(tmp_path, out, args, point, sig, a, b)
        reached.append(hit)
        assert state == "old" or not hit
    assert any(reached)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_synth_interrupted(tmp_path, two_netlists, sig):
    pa, pb, a, b = two_netlists
    out = tmp_path / "s"
    first = _cli("synth", pa, "--target", "ice40", "--out", out, cwd=tmp_path)
    assert first.wait(timeout=600) == 0, first.stdout.read().decode()
    args = ["synth", pb, "--target", "ice40", "--out", out]
    for point in ["flat/synth.log", "hier/synth.log"]:
        hit, state = _interrupt(tmp_path, out, args, point, sig, a, b)
        assert hit and state == "old"
