"""Synthesis-only flows: a Netlist to a per-family resource report (``lgn-hw synth``).

``synth_flow`` writes the core's RTL and sidecar, synthesises it twice (``flat/``: the real
totals; ``hier/``: per-stage figures with the hierarchy kept), checks the two stat outputs against
the Yosys logs, and writes ``report.json``/``report.md``/``report.png`` (bound to the netlist's
fingerprint and the RTL's SHA-256) and the resolved configuration (``config.json``), all into a
staging folder that replaces ``out`` only when complete (``flows.staging``).
"""

from __future__ import annotations

import time
from pathlib import Path

from lgn_hw.atomic import write_json_atomic, write_text_atomic

from .design import file_sha256, fingerprint
from .devices import Device
from .report import make_report, write_report
from .staging import check_output, staged
from .synth import synthesize
from .tools import tool_versions

__all__ = ["synth_flow"]


def synth_flow(design, device: Device, out, *, netlist_path: str | None = None,
               hierarchy: bool = True, progress: bool = False, timeout: float | None = None,
               config: dict | None = None) -> dict:
    out = check_output(out)
    with staged(out) as stage:
        rep = _synth_into(stage, design, device, netlist_path=netlist_path, hierarchy=hierarchy,
                          progress=progress, timeout=timeout, config=config)
    return rep


def _synth_into(out: Path, design, device, *, netlist_path, hierarchy, progress, timeout,
                config) -> dict:
    t0 = time.perf_counter()
    write_text_atomic(out / f"{design.top}.v", design.verilog)
    write_json_atomic(out / f"{design.top}.json", design.sidecar)
    seconds = {}
    flat = synthesize(design.sources, design.top, device, out / "flat", progress=progress,
                      timeout=timeout)
    seconds["synth_flat"] = round(flat.seconds, 3)
    hier = None
    if hierarchy:
        hier = synthesize(design.sources, design.top, device, out / "hier", keep_hierarchy=True,
                          write_netlists=False, progress=progress, timeout=timeout)
        seconds["synth_hierarchical"] = round(hier.seconds, 3)
    seconds["total"] = round(time.perf_counter() - t0, 3)
    fp = fingerprint(design.netlist)
    rep = make_report(design=design.summary(), device=device, flat=flat, hier=hier,
                      tools=tool_versions(["yosys"]), seconds=seconds,
                      netlist_path=netlist_path, fingerprint=fp,
                      files={f"{design.top}.v": file_sha256(out / f"{design.top}.v")})
    cfg = {"command": "synth", "target": device.name, "netlist": netlist_path,
           "netlist_fingerprint": fp, "core": design.options, "hierarchy": hierarchy,
           **(config or {})}
    write_json_atomic(out / "config.json", cfg)
    write_report(rep, out)
    return rep
