"""Formal equivalence between the generated RTL and the synthesised netlist (small designs).

The gold design is the core's Verilog (``proc; flatten``); the gate design is Yosys's
``synth.v`` read together with the family's cell models (those it uses, from ``cells_sim.v``) and
flattened with ``flatten -wb`` so every LUT/carry cell becomes logic. ``miter -equiv -flatten
-make_assert`` joins them and ``sat -verify -prove-asserts`` proves that every output agrees for
every input (never ``-ignore_gold_x``: it lets buggy designs pass). Only combinational cores are
checked this way (their function is the whole behaviour); pipelined cores and large designs are
checked by post-synthesis simulation (``flows.postsim``). ``mutate_lut`` inverts one LUT of a
synthesised netlist: the checkers' negative twin (``lgn-hw verify --self-test``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lgn_hw.atomic import write_text_atomic

from .plan import Plan
from .tools import ToolError

__all__ = ["EquivResult", "equiv_script", "check_equivalence", "mutate_lut", "EquivError"]

class EquivError(Exception):
    """The check could not run (one-line message)."""


@dataclass
class EquivResult:
    equivalent: bool
    seconds: float
    log: Path
    message: str


def used_models(family: str, gate_text: str) -> str:
    """Only the cell models ``gate_text`` instantiates (reading all of iCE40's cells_sim.v costs
    minutes: its SPRAM model becomes 256K registers)."""
    from .postsim import cell_models
    text = cell_models(family)
    defines = "".join(re.findall(r"^`define .*\n", text, flags=re.M))
    modules = {m.group(1): m.group(0) for m in
               re.finditer(r"^module\s+(\w+)\b.*?^endmodule", text, flags=re.M | re.S)}
    used = [name for name in modules if re.search(rf"^\s*{name}\s", gate_text, flags=re.M)]
    return defines + "\n".join(modules[n] for n in used) + "\n"


def equiv_script(family: str, top: str, gold: str, gate: str, models: str | None) -> str:
    lines = [f"read_verilog {gold}", f"hierarchy -top {top}", "proc", "flatten", "opt_clean",
             f"rename {top} gold", "design -stash gold"]
    if models:
        lines.append(f"read_verilog {models}")
    lines += [f"read_verilog {gate}", f"hierarchy -top {top}", "proc", "flatten -wb",
              "opt_clean", f"rename {top} gate", "design -stash gate",
              "design -copy-from gold -as gold gold", "design -copy-from gate -as gate gate",
              "miter -equiv -flatten -make_assert gold gate miter", "hierarchy -top miter",
              "sat -verify -prove-asserts -show-inputs miter"]
    return "\n".join(lines) + "\n"


def check_equivalence(design, device, synth_v, workdir, *, timeout: float | None = 600) \
        -> EquivResult:
    """Prove ``synth_v`` (a synthesised netlist of ``design``) equivalent to the RTL."""
    from .families import FAMILIES
    fam = device.fam
    if fam.formal is None:
        able = ", ".join(n for n, f in FAMILIES.items() if f.formal is not None)
        raise EquivError(f"formal equivalence supports families {able} here; "
                         f"check {device.family} with post-synthesis simulation")
    if design.pipelined:
        raise EquivError("formal equivalence checks combinational cores only; use "
                         "post-synthesis simulation for a pipelined core")
    work = Path(workdir)
    plan = Plan("equiv")
    plan.add_file("gold.v", design.verilog)
    gate = Path(synth_v).read_text()
    plan.add_file("gate.v", gate)
    models = None
    if fam.formal == "models":
        models = "cells.v"
        plan.add_file(models, used_models(device.family, gate))
    plan.add_file("equiv.ys", equiv_script(device.family, design.top, "gold.v", "gate.v",
                                           models))
    plan.add_step("yosys", ["equiv.ys"], "equiv.log", "yosys equivalence")
    try:
        res = plan.execute(work, timeout=timeout)
    except ToolError as e:
        log = work / "equiv.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        if "SAT proof finished - model found: FAIL" in text or "failed" in text.lower():
            return EquivResult(False, 0.0, log, "NOT equivalent: the SAT solver found an input "
                                                "where RTL and netlist differ (see the log)")
        raise EquivError(str(e)) from None
    text = res.logs["equiv.log"]
    ok = "SAT proof finished - no model found: SUCCESS!" in text
    return EquivResult(ok, res.seconds["equiv.log"], work / "equiv.log",
                       "equivalent (SAT proof over all inputs)" if ok else
                       "no proof: see the log")


_INIT = re.compile(r"\.(LUT_INIT|INIT|LUT)\((\d+)'([hbd])([0-9a-fA-FxXzZ_]+)\)")


def _cell_type(verilog: str, at: int) -> str:
    """Lower-case type of the cell whose parameter list holds position ``at``."""
    hash_at = verilog.rfind("#(", 0, at)
    words = verilog[max(0, hash_at - 200):hash_at].split()
    return words[-1].lower() if hash_at >= 0 and words else ""


def _lut_inits(verilog: str) -> list:
    return [m for m in _INIT.finditer(verilog) if "lut" in _cell_type(verilog, m.start())]


def count_luts(verilog: str) -> int:
    """How many LUT cells (with a truth table ``mutate_lut`` can invert) the netlist has."""
    return len(_lut_inits(verilog))


def mutate_lut(verilog: str, index: int = 0) -> str:
    """The netlist with the ``index``-th LUT's truth table inverted (a deliberate bug). Only LUT
    cells count: an ``INIT`` of a flip-flop (7-series ``FDRE``) or shift register (``SRL16E``) is
    its power-up contents, whose inversion a pipelined design may never show."""
    matches = _lut_inits(verilog)
    if not matches:
        raise EquivError("no LUT initialisation found to mutate")
    m = matches[index % len(matches)]
    width, base, digits = int(m.group(2)), m.group(3), m.group(4).replace("_", "")
    value = int(digits, {"h": 16, "b": 2, "d": 10}[base])
    flipped = ~value & ((1 << width) - 1)
    new = f".{m.group(1)}({width}'h{flipped:0{max(1, width // 4)}x})"
    return verilog[:m.start()] + new + verilog[m.end():]


def write_mutant(synth_v, out_path, index: int = 0) -> Path:
    return write_text_atomic(out_path, mutate_lut(Path(synth_v).read_text(), index))


__all__ += ["write_mutant", "count_luts"]
