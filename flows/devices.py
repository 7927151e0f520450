"""The device catalogue: every part of every family (``flows.families``), by target name.

``resolve_target`` maps the ``--target`` names of ``lgn-hw synth``/``verify`` (a family name:
``ice40``, ``ecp5``, ``xc7``, ``gowin``; ``lutK``) and part names (``ice40-up5k-sg48``,
``ecp5-85f``, ``xc7a35t``, ``gw2a-18``, ...) to a ``Device``. The parts and their datasheet
capacities are declared in the family modules.
"""

from __future__ import annotations

import re

from .families import FAMILIES, Device, FamilyError
from .families.generic import lut_device

__all__ = ["Device", "DEVICES", "FAMILY_DEFAULT", "resolve_target", "generic_lut_device",
           "DeviceError"]

DeviceError = FamilyError

DEVICES: dict[str, Device] = {d.name: d for fam in FAMILIES.values() for d in fam.parts}

#: The part a bare family name means (``generic``: lut6; other sizes are spelled lutK).
FAMILY_DEFAULT = {name: fam.default_part for name, fam in FAMILIES.items()}

generic_lut_device = lut_device


def resolve_target(name: str) -> Device:
    """A family name / ``lutK`` / a part name -> ``Device``."""
    key = str(name).strip().lower()
    key = FAMILY_DEFAULT.get(key, key)
    m = re.fullmatch(r"lut(\d+)", key)
    if m:
        return lut_device(int(m.group(1)))
    if key in DEVICES:
        return DEVICES[key]
    known = ", ".join([*FAMILY_DEFAULT, "lutK (K = 2..8)",
                       *(d for d in DEVICES if not re.fullmatch(r"lut\d+", d))])
    raise DeviceError(f"unknown target {name!r}; known targets: {known}")
