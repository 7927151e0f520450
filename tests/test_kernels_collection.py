"""The GPU tests collect and run where amaranth is absent (the lent GPU machines have torch and
CuPy but no hardware tools): every hardware test module skips at collection instead of erroring.

The check runs pytest's collection in a subprocess whose ``sitecustomize`` makes ``amaranth``
unimportable (a ``sys.meta_path`` blocker); its negative twin shows the blocker bites, i.e. a
hardware test module without the module-level skip fails to collect under it.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BLOCKER = '''\
import sys


class _NoAmaranth:
    """Make amaranth (and amaranth_*) unimportable, as on a machine without it."""

    def find_spec(self, name, path=None, target=None):
        if name == "amaranth" or name.startswith(("amaranth.", "amaranth_")):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked for the test)", name=name)
        return None


sys.meta_path.insert(0, _NoAmaranth())
'''


def no_amaranth_env(tmp_path: Path) -> dict:
    """Environment whose Python cannot import amaranth (and imports this tree's packages)."""
    site = tmp_path / "no_amaranth"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT), env.get("PYTHONPATH", "")])
    return env


def _run(args, env, cwd=ROOT):
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_gpu_tests_collect_without_amaranth(tmp_path):
    env = no_amaranth_env(tmp_path)
    probe = _run(["-c", "import amaranth"], env)
    assert probe.returncode != 0 and "blocked for the test" in probe.stderr
    proc = _run(["-m", "pytest", "--collect-only", "-q", "-m", "gpu", "-p", "no:cacheprovider",
                 "tests"], env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert " error" not in proc.stdout.splitlines()[-1], out[-3000:]
    gpu_tests = [line for line in proc.stdout.splitlines() if "::" in line]
    # the kernel, layer and acceptance GPU tests are all collected
    for module in ("test_kernels_functions.py", "test_layers.py"):
        assert any(module in line for line in gpu_tests), (module, out[-3000:])


def test_blocker_breaks_a_hardware_module_without_the_skip(tmp_path):
    """Negative twin: the same hardware test module with its module-level skip removed errors at
    collection under the blocker, so the test above would catch a new module that lacks it."""
    src = (ROOT / "tests" / "test_rtl_layer.py").read_text()
    assert 'pytest.importorskip("amaranth")' in src
    bare = tmp_path / "case"
    bare.mkdir()
    (bare / "test_rtl_layer_bare.py").write_text(src.replace('pytest.importorskip("amaranth")', ""))
    (bare / "rtl_cases.py").write_text((ROOT / "tests" / "rtl_cases.py").read_text())
    env = no_amaranth_env(tmp_path)
    proc = _run(["-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                 "--rootdir", str(bare), "-c", os.devnull, str(bare)], env, cwd=bare)
    assert proc.returncode != 0
    assert "blocked for the test" in proc.stdout + proc.stderr
