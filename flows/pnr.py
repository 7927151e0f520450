"""Place & route with nextpnr (iCE40, ECP5), packing to a bitstream, and reading nextpnr reports.

``plan_pnr`` adds the nextpnr and pack steps for a synthesised ``synth.json`` to a plan (used for
board-less targets; board builds get the same steps from Amaranth's ``Platform.build``). Every run
asks nextpnr for ``--report <name>.json``; ``read_pnr_report`` turns it into utilisation per cell
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
           "LOGIC_BEL"]

#: The nextpnr cell type that holds LUTs, per family (used for the "logic" utilisation figure).
LOGIC_BEL = {"ice40": "ICESTORM_LC", "ecp5": "TRELLIS_COMB"}


class FitError(Exception):
    """The design does not fit the device; the message says what it needed and what to try."""


def plan_pnr(plan: Plan, device: Device, *, json_in: str = "synth.json", name: str = "top",
             freq_mhz: float | None = None, seed: int = 1, pcf: str | None = None) -> None:
    """Append nextpnr + pack steps for ``device`` to ``plan`` (writes ``<name>.pnr.json``)."""
    if not device.has_pnr:
        raise ValueError(f"{device.name}: no open place & route for family {device.family!r}")
    args = [*device.pnr_args, "--json", json_in, "--report", f"{name}.pnr.json",
            "--seed", str(seed)]
    if freq_mhz:
        args += ["--freq", f"{freq_mhz:g}"]
    if device.family == "ice40":
        args += (["--pcf", pcf] if pcf else []) + ["--pcf-allow-unconstrained",
                                                   "--asc", f"{name}.asc"]
        plan.add_step("nextpnr-ice40", args, f"{name}.tim", "nextpnr-ice40")
        plan.add_step("icepack", [f"{name}.asc", f"{name}.bin"], f"{name}.pack.log", "icepack")
    elif device.family == "ecp5":
        args += ["--textcfg", f"{name}.config"]
        plan.add_step("nextpnr-ecp5", args, f"{name}.tim", "nextpnr-ecp5")
        plan.add_step("ecppack", ["--input", f"{name}.config", "--bit", f"{name}.bit"],
                      f"{name}.pack.log", "ecppack")
    else:
        raise ValueError(f"no place & route for family {device.family!r}")


@dataclass
class PnrReport:
    utilisation: dict                       # cell type -> {"used", "available"}
    fmax_mhz: dict                          # clock -> achieved MHz
    constraint_mhz: dict                    # clock -> constrained MHz
    critical_paths: list = field(default_factory=list)  # [{"from","to","delay_ns"}]

    def logic(self, family: str) -> dict | None:
        return self.utilisation.get(LOGIC_BEL.get(family, ""))

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
