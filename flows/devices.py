"""The device catalogue: FPGA families and parts that flows can target, with their capacities.

A ``Device`` names a family (which selects the Yosys synthesis command and the place & route
tool), the nextpnr options for the part, the LUT size, and the capacity used for utilisation in
reports. ``resolve_target`` maps the ``--target`` names of ``lgn-hw synth`` (``ice40``, ``ecp5``,
``xc7``, ``lutK``) and full part names (``ice40-up5k-sg48``, ``ecp5-85f``, ``xc7a35t``) to a
``Device``. Capacities are the vendor datasheet figures of the named part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Device", "DEVICES", "FAMILY_DEFAULT", "resolve_target", "generic_lut_device",
           "DeviceError"]


class DeviceError(ValueError):
    """Unknown target or device name."""


@dataclass(frozen=True)
class Device:
    name: str                      # e.g. "ice40-up5k-sg48"
    family: str                    # "ice40" | "ecp5" | "xc7" | "generic"
    lut_k: int                     # inputs of the family's LUT
    pnr_args: tuple[str, ...] = () # nextpnr part options; empty = synthesis only
    capacity: dict = field(default_factory=dict)  # {"lut","ff","carry","bram","io"}: count
    description: str = ""

    @property
    def has_pnr(self) -> bool:
        return bool(self.pnr_args)


DEVICES: dict[str, Device] = {d.name: d for d in [
    Device("ice40-up5k-sg48", "ice40", 4, ("--up5k", "--package", "sg48"),
           {"lut": 5280, "ff": 5280, "carry": 5280, "bram": 30, "io": 39},
           "Lattice iCE40 UltraPlus UP5K, QFN48 (iCEBreaker)"),
    Device("ice40-hx8k-ct256", "ice40", 4, ("--hx8k", "--package", "ct256"),
           {"lut": 7680, "ff": 7680, "carry": 7680, "bram": 32, "io": 206},
           "Lattice iCE40 HX8K, caBGA256"),
    Device("ecp5-85f", "ecp5", 4, ("--85k", "--package", "CABGA381"),
           {"lut": 83640, "ff": 83640, "carry": 41820, "bram": 208, "io": 205},
           "Lattice ECP5 LFE5U-85F, caBGA381 (ULX3S 85F)"),
    Device("ecp5-25f", "ecp5", 4, ("--25k", "--package", "CSFBGA285"),
           {"lut": 24288, "ff": 24288, "carry": 12144, "bram": 56, "io": 118},
           "Lattice ECP5 LFE5U-25F, csfBGA285 (OrangeCrab)"),
    Device("xc7a35t", "xc7", 6, (),
           {"lut": 20800, "ff": 41600, "carry": 5200, "bram": 50, "io": 210},
           "Xilinx Artix-7 XC7A35T, CSG324 (Arty A7-35); synthesis only"),
    Device("xc7a100t", "xc7", 6, (),
           {"lut": 63400, "ff": 126800, "carry": 15850, "bram": 135, "io": 210},
           "Xilinx Artix-7 XC7A100T, CSG324 (Arty A7-100); synthesis only"),
]}

#: The part a bare family name means.
FAMILY_DEFAULT = {"ice40": "ice40-up5k-sg48", "ecp5": "ecp5-85f", "xc7": "xc7a35t"}


def generic_lut_device(k: int) -> Device:
    """A technology-independent k-LUT target (Yosys ``synth -lut k``), no capacity."""
    if not 2 <= k <= 8:
        raise DeviceError(f"lut{k}: LUT size must be 2..8")
    return Device(f"lut{k}", "generic", k, (), {}, f"generic {k}-input LUTs (synth -lut {k})")


def resolve_target(name: str) -> Device:
    """``ice40`` / ``ecp5`` / ``xc7`` / ``lutK`` / a part name -> ``Device``."""
    key = name.strip().lower()
    if key in FAMILY_DEFAULT:
        key = FAMILY_DEFAULT[key]
    if key in DEVICES:
        return DEVICES[key]
    m = re.fullmatch(r"lut(\d+)", key)
    if m:
        return generic_lut_device(int(m.group(1)))
    known = ", ".join([*FAMILY_DEFAULT, "lut4", "lut6", *DEVICES])
    raise DeviceError(f"unknown target {name!r}; known targets: {known}")
