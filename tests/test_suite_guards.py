"""The suite's own guards: the ``tools`` marker is enforced (tests/conftest.py) and every test runs
under pytest-timeout's default from pyproject.toml."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CASES = '''
import subprocess
import pytest


def test_unmarked_runs_a_tool():
    subprocess.run(["iverilog", "-V"], capture_output=True, check=False)


def test_unmarked_runs_a_build_script(tmp_path):
    (tmp_path / "build_top.sh").write_text("true\\n")
    subprocess.run(["sh", "build_top.sh"], cwd=tmp_path, check=True)


@pytest.mark.tools
def test_marked_runs_a_tool():
    subprocess.run(["iverilog", "-V"], capture_output=True, check=False)


def test_unmarked_runs_something_else():
    subprocess.run(["true"], check=True)
'''


def _pytest(tmp_path, *args):
    shutil.copy(ROOT / "tests" / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_cases.py").write_text(CASES)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path),
                           *args, str(tmp_path / "test_cases.py")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)


def test_unmarked_tool_tests_fail_and_timeout_is_set(tmp_path):
    r = _pytest(tmp_path)
    out = r.stdout + r.stderr
    assert "timeout: 900.0s" in out, out
    assert "4 passed, 2 errors" in out, out   # the errors are at teardown
    assert "test_unmarked_runs_a_tool runs ['iverilog'] but lacks @pytest.mark.tools" in out
    assert "test_unmarked_runs_a_build_script runs ['sh build_top.sh']" in out


def test_guard_knows_every_family_tool():
    """Every tool a family declares (flows.tools) counts as a tool for the marker guard."""
    pytest.importorskip("amaranth")
    from conftest import _tool_started

    from flows.tools import all_tools
    for t in all_tools().values():
        assert _tool_started([t.default, "--version"]), t
        assert _tool_started([f"/usr/local/bin/{t.default}"]), t
    assert _tool_started(["true"]) is None
