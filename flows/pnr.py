"""Place & route with nextpnr, packing to a bitstream, and reading nextpnr reports.

``plan_pnr`` adds the family's nextpnr and pack steps (``flows/families``: iCE40, ECP5, Gowin)
for a synthesised ``synth.json`` to a plan, for board builds and board-less targets alike. Every
run asks nextpnr for ``--report <name>.pnr.json``; ``read_pnr_report`` turns it into utilisation per cell
type, the achieved Fmax per clock and the critical paths (delay in ns). ``fit_error`` explains a
design that did not fit, from nextpnr's log.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .devices import Device
from .plan import Plan

__all__ = ["plan_pnr", "PnrReport", "read_pnr_report", "fit_error", "FitError",
           "strip_clock_constraints"]


class FitError(Exception):
    """The design does not fit the device; the message says what it needed and what to try."""


def strip_clock_constraints(device: Device, text: str) -> str:
    """The pin constraint file without the clock lines the family replaces by ``--freq``."""
    rx = device.fam.pnr.clock_lines if device.fam.pnr else None
    return re.sub(rx, "", text, flags=re.M) if rx else text


def plan_pnr(plan: Plan, device: Device, *, json_in: str = "synth.json", name: str = "top",
             freq_mhz: float | None = None, seed: int = 1, constraints: str | None = None) \
        -> None:
    """Append the family's P&R + pack steps for ``device`` to ``plan``; nextpnr writes its
    report to ``<name>.pnr.json`` and its log to ``<name>.tim``. ``freq_mhz`` (default: the
    family's board-less clock) is the clock constraint."""
    if not device.has_pnr:
        raise ValueError(f"{device.name}: no open place & route for family {device.family!r}")
    fam = device.fam
    freq = float(freq_mhz or fam.default_clock_mhz)
    for st in fam.pnr.steps(device, json_in, name, freq, seed, constraints):
        plan.add_step(st.tool, st.args, st.log, st.what)


@dataclass
class PnrReport:
    utilisation: dict                       # cell type -> {"used", "available"}
    fmax_mhz: dict                          # clock -> achieved MHz
    constraint_mhz: dict                    # clock -> constrained MHz
    critical_paths: list = field(default_factory=list)  # [{"from","to","delay_ns"}]

    def logic(self, family) -> dict | None:
        from .families import get_family
        fam = get_family(family)
        return self.utilisation.get(fam.pnr.logic_bel) if fam.pnr else None

    def to_dict(self) -> dict:
        return {"utilisation": self.utilisation, "fmax_mhz": self.fmax_mhz,
                "constraint_mhz": self.constraint_mhz, "critical_paths": self.critical_paths}


def read_pnr_report(path: str | Path) -> PnrReport:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: nextpnr report not found") from None
    util = {k: {"used": int(v["used"]), "available": int(v["available"])}
            for k, v in data.get("utilization", {}).items()}
    fmax = {clk: round(float(v["achieved"]), 2) for clk, v in data.get("fmax", {}).items()}
    cons = {clk: round(float(v["constraint"]), 2) for clk, v in data.get("fmax", {}).items()}
    paths = []
    for cp in data.get("critical_paths", []):
        delay = sum(float(seg.get("delay", 0.0)) for seg in cp.get("path", []))
        paths.append({"from": cp.get("from"), "to": cp.get("to"), "delay_ns": round(delay, 3)})
    paths.sort(key=lambda p: -p["delay_ns"])
    return PnrReport(util, fmax, cons, paths)


_UTIL_LINE = re.compile(r"Info:\s+(\w+):\s+(\d+)\s*/\s*(\d+)\s+(\d+)%")


def fit_error(log_text: str, device: Device) -> FitError | None:
    """A ``FitError`` if nextpnr's log shows the design exceeded the device, else None."""
    over = []
    for name, used, avail, _pct in _UTIL_LINE.findall(log_text):
        used, avail = int(used), int(avail)
        if used > avail:
            over.append(f"{name} {used}/{avail} ({100 * used / avail:.0f}%)")
    if not over and not re.search(r"no BELs remaining|Unable to place|Failed to place|"
                                  r"Design uses more|too many", log_text, re.I):
        return None
    needed = "; ".join(over) if over else "more cells than the device has"
    return FitError(f"design does not fit {device.name}: needs {needed}. Try a smaller preset, "
                    f"fan-in 4 gates, fewer or narrower layers, or a larger device/board")
