"""The FPGA families lgn-hw targets, one module each: ice40, ecp5, xc7, gowin, generic.

``FAMILIES`` maps a family name to its ``Family`` declaration (``base.Family``); adding a family
is adding a module here and its name to ``_MODULES``. ``get_family`` raises a one-line
``FamilyError`` for an unknown name.
"""

from __future__ import annotations

import importlib

from .base import Device, Family, FamilyError, Pnr, PnrStep, check_family

__all__ = ["FAMILIES", "get_family", "Device", "Family", "FamilyError", "Pnr", "PnrStep",
           "check_family"]

_MODULES = ("ice40", "ecp5", "xc7", "gowin", "generic")

FAMILIES: dict[str, Family] = {
    name: check_family(importlib.import_module(f"{__name__}.{name}").FAMILY) for name in _MODULES}


def get_family(name) -> Family:
    if isinstance(name, Family):
        return name
    try:
        return FAMILIES[name]
    except KeyError:
        raise FamilyError(f"unknown FPGA family {name!r} (known: {', '.join(FAMILIES)})") \
            from None
