"""Verilator back-end for the Verilog testbench: the same self-checking bench as Icarus, compiled.

Verilator 5 (``--binary --timing``) compiles the emitted Verilog together with the testbench of
:mod:`rtl.iverilog` into a C++ executable: building costs tens of seconds, but running is orders
of magnitude faster than an event-driven simulator, which pays off for large models and full
test sets. Same vectors, same checks (``!==``, ``valid_out``, latency), same report. The tool
comes from ``$VERILATOR`` or ``PATH`` (Debian package ``verilator``, version 5 or later).
"""

from __future__ import annotations

import os
import shutil
import subprocess

from .iverilog import run_bench
from .vectors import SimResult, Vectors

__all__ = ["VerilatorMissing", "find_verilator", "simulate_verilator"]


class VerilatorMissing(RuntimeError):
    """verilator not found."""


def find_verilator() -> str:
    path = shutil.which(os.environ.get("VERILATOR", "verilator"))
    if path is None:
        raise VerilatorMissing("verilator not found (install the Debian package `verilator`, "
                               "version 5 or later, or set $VERILATOR)")
    return path


def simulate_verilator(core, vec: Vectors, *, top: str = "lgn_core", workdir=None,
                       verilog_text: str | None = None, timeout: float | None = None,
                       progress: bool = False) -> SimResult:
    """Emit ``core`` (or use ``verilog_text``), compile with Verilator, simulate ``vec``."""
    verilator = find_verilator()

    def build(work):
        comp = subprocess.run([verilator, "--binary", "--timing", "-O3", "-Wno-fatal",
                               "-Wno-lint", "-Wno-style", "--top-module", "lgn_tb", "-o", "vsim",
                               "lgn_tb.v", f"{top}.v"], cwd=work, capture_output=True, text=True,
                              timeout=timeout)
        if comp.returncode != 0:
            raise RuntimeError(f"verilator failed: {(comp.stderr or comp.stdout).strip()[-2000:]}")

    return run_bench("verilator", build, ["obj_dir/vsim"], core, vec, top=top, workdir=workdir,
                     verilog_text=verilog_text, timeout=timeout, progress=progress)
