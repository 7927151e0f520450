"""Yosys synthesis for any FPGA family: a deterministic plan (script + sources), then its execution.

The synthesis command comes from the family (``flows/families``: ``synth_ice40``, ``synth_ecp5``,
``synth_xilinx -family xc7``, ``synth_gowin``, ``synth -lut k``). Two modes:

* **flat** (``keep_hierarchy=False``): the design is flattened and optimised across module
  boundaries, exactly as a real build does. Its totals are the design's true cost.
* **hierarchical** (``keep_hierarchy=True``): the stage modules (the children of the core: encoder,
  layer0.., groupsum, argmax; and the core itself inside a wrapper) get Yosys's
  ``keep_hierarchy`` attribute and everything else is flattened into them, so every cell belongs
  to one stage. Logic cannot be optimised across stage boundaries, so the hierarchical total is
  normally a little above the flat one; reports show both. (Keeping *every* Amaranth module, with
  ``-noflatten``, trips a Yosys 0.70 abc9 assertion on wiring-only modules such as ``groupsum``.)

After synthesis the script writes ``stat.json`` (``stat -json``), prints the human ``stat`` table
into the log, and writes the mapped netlist as ``synth.json`` (for nextpnr) and ``synth.v`` (for
post-synthesis simulation).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .devices import Device
from .plan import Plan
from .stat import StatError, design_resources, load_stat, parse_text_stat, stage_counts

__all__ = ["synth_command", "synth_script", "plan_synth", "module_names", "stage_modules", "SynthResult", "synthesize",
           "read_result"]

LOG = "synth.log"


def synth_command(device: Device, top: str) -> str:
    """The family's synthesis command for ``device`` (``flows.families``)."""
    return device.fam.synth_command(device, top)


#: Commands run before ``synth_*`` (also given to Amaranth board builds as script_after_read).
PRE_SYNTH = ["proc", "opt_clean -purge"]

_MODULE = re.compile(r"^\s*module\s+\\?([^\s(;]+)", re.M)


def module_names(sources: dict) -> list[str]:
    """Module names defined in Verilog / RTLIL sources (without RTLIL's leading backslash)."""
    names = []
    for text in sources.values():
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        names += _MODULE.findall(text)
    return names


def stage_modules(names, top: str, core_path: str | None = None) -> list[str]:
    """The modules kept as stage boundaries: the core (if it is not the top) and its children."""
    core = core_path or top
    keep = [n for n in names if n.startswith(core + ".") and "." not in n[len(core) + 1:]]
    if core != top and core in names:
        keep.insert(0, core)
    return keep


def _read_command(source: str) -> str:
    if source.endswith(".il"):
        return f"read_rtlil {source}"
    if source.endswith(".sv"):
        return f"read_verilog -sv {source}"
    return f"read_verilog {source}"


def synth_script(device: Device, top: str, sources, *, keep: list[str] = (),
                 write_netlists: bool = True) -> str:
    mode = "hierarchical" if keep else "flat"
    lines = [f"# lgn-hw synthesis for {device.name} ({mode})"]
    lines += [_read_command(s) for s in sources]
    lines.append(f"hierarchy -top {top}")   # no -check: vendor cells come with synth_*
    if keep:
        lines.append("setattr -mod -set keep_hierarchy 1 " + " ".join(keep))
    # Yosys 0.70's abc9 re-integration can assert (`count_id(wire->name) == 0`) on designs with
    # wiring-only modules or pipeline registers; purging unused internal wires first avoids it.
    lines += PRE_SYNTH
    if keep:
        # ... and with kept modules that instantiate vendor cells on multi-bit wires (the
        # registered ternary popcount's groupsum) it still does; single-bit wires avoid it
        # (Yosys issue #4349). Only the per-stage run: the flat run's totals, the reported
        # figures, stay as they were; the per-stage split moves a little (mnist-lut6-500 seed 0,
        # combinational: groupsum 470 -> 485 LUT6, the other stages equal, flat 1,360 both ways).
        lines.append("splitnets")
    lines += [synth_command(device, top), "tee -q -o stat.json stat -json", "stat"]
    if write_netlists:
        lines += ["write_json synth.json", "write_verilog -noattr synth.v"]
    return "\n".join(lines) + "\n"


def plan_synth(sources: dict[str, str | bytes], top: str, device: Device, *,
               keep_hierarchy: bool = False, core_path: str | None = None,
               write_netlists: bool = True, name: str = "synth") -> Plan:
    """A plan with the sources, ``synth.ys`` and one Yosys step."""
    plan = Plan(name)
    for fname, text in sources.items():
        plan.add_file(fname, text)
    keep = stage_modules(module_names(sources), top, core_path) if keep_hierarchy else []
    plan.add_file("synth.ys", synth_script(device, top, list(sources), keep=keep,
                                           write_netlists=write_netlists))
    what = f"yosys {device.family} {'hierarchical' if keep_hierarchy else 'flat'}"
    plan.add_step("yosys", ["synth.ys"], LOG, what)
    return plan


@dataclass
class SynthResult:
    device: Device
    top: str
    keep_hierarchy: bool
    root: Path
    resources: dict                  # totals: lut, carry, ff, bram, mux, io, other
    cells: Counter                   # leaf cell type -> count (whole design)
    stages: dict = field(default_factory=dict)   # stage -> resources (hierarchical only)
    seconds: float = 0.0

    @property
    def netlist_json(self) -> Path:
        return self.root / "synth.json"

    @property
    def netlist_verilog(self) -> Path:
        return self.root / "synth.v"

    def to_dict(self) -> dict:
        return {"device": self.device.name, "family": self.device.family, "top": self.top,
                "mode": "hierarchical" if self.keep_hierarchy else "flat",
                "resources": self.resources, "cells": dict(sorted(self.cells.items())),
                "stages": self.stages, "seconds": round(self.seconds, 3)}


def read_result(root, device: Device, top: str, *, keep_hierarchy: bool,
                core_path: str | None = None, log: str = LOG, stat: str = "stat.json",
                seconds: float = 0.0) -> SynthResult:
    """Read ``stat.json`` from a finished synthesis in ``root`` and cross-check it with the log."""
    root = Path(root)
    data = load_stat(root / stat)
    resources, cells = design_resources(data, device.family, top)
    log_path = root / log
    if log_path.exists():
        text_counts = parse_text_stat(log_path.read_text(errors="replace"))
        leaf = Counter({t: n for t, n in text_counts.items() if t in cells or t not in
                        _module_names(data)})
        if +leaf != +cells:
            raise StatError(f"{log_path}: the log's stat table ({dict(leaf)}) disagrees with "
                            f"stat.json ({dict(cells)})")
    stages = stage_counts(data, device.family, top, core_path) if keep_hierarchy else {}
    return SynthResult(device, top, keep_hierarchy, root, resources, cells, stages, seconds)


def _module_names(stat: dict) -> set:
    return {m.lstrip("\\") for m in stat["modules"]}


def synthesize(sources: dict[str, str | bytes], top: str, device: Device, root, *,
               keep_hierarchy: bool = False, core_path: str | None = None,
               write_netlists: bool = True, progress: bool = False,
               timeout: float | None = None) -> SynthResult:
    """Plan and run a synthesis in directory ``root``; returns its parsed statistics."""
    plan = plan_synth(sources, top, device, keep_hierarchy=keep_hierarchy,
                      core_path=core_path, write_netlists=write_netlists)
    res = plan.execute(root, progress=progress, timeout=timeout)
    return read_result(root, device, top, keep_hierarchy=keep_hierarchy, core_path=core_path,
                       seconds=res.seconds[LOG])
