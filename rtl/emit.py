"""Verilog / RTLIL emission of an :class:`~rtl.core.LGNCore`, with its JSON sidecar.

``verilog(netlist, name="lgn_core", **core_kwargs) -> (text, sidecar)`` and ``rtlil(...)`` build the
core (``core_kwargs`` go to ``LGNCore``: ``raw_inputs``, ``pipeline_every``, ``optimize``,
``popcount``) and convert it with Amaranth's back-ends. The sidecar (``LGNCore.describe()`` plus
the top module name and the generator versions) says what a user needs to instantiate the module:
ports with widths and directions, latency, gate counts before/after optimisation and the
optimisation statistics. ``write_all`` writes ``<name>.v``, ``<name>.il`` and ``<name>.json``
atomically.
"""

from __future__ import annotations

import re
from pathlib import Path

import amaranth
from amaranth.back import rtlil as _rtlil
from amaranth.back import verilog as _verilog

from lgn_hw import __version__
from lgn_hw.atomic import write_json_atomic, write_text_atomic

from .core import LGNCore

__all__ = ["verilog", "rtlil", "sidecar", "write_all", "check_name"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Verilog/SystemVerilog keywords a module must not be named (`ref`, a SystemVerilog keyword, breaks iverilog)
_RESERVED = {"ref", "module", "input", "output", "wire", "reg", "begin", "end", "always", "assign",
             "logic", "bit", "int", "string", "type", "class", "table", "task", "function"}


def check_name(name: str) -> str:
    """A valid, non-reserved Verilog module name, or ValueError."""
    if not isinstance(name, str) or not _NAME.match(name) or name in _RESERVED:
        raise ValueError(f"invalid module name {name!r}: use letters, digits and _ "
                         f"(not starting with a digit, not a Verilog keyword)")
    return name


def sidecar(core: LGNCore, name: str) -> dict:
    d = {"format": "lgn-hw-rtl", "version": 1, "top": name}
    d.update(core.describe())
    d["generator"] = {"lgn_hw": __version__, "amaranth": amaranth.__version__}
    return d


def _build(netlist, name, core_kwargs):
    check_name(name)
    return LGNCore(netlist, **core_kwargs)


def verilog(netlist, name: str = "lgn_core", **core_kwargs):
    """``(Verilog text, sidecar dict)`` of the core built from ``netlist``."""
    core = _build(netlist, name, core_kwargs)
    return _verilog.convert(core, name=name), sidecar(core, name)


def rtlil(netlist, name: str = "lgn_core", **core_kwargs):
    """``(RTLIL text, sidecar dict)`` of the core built from ``netlist``."""
    core = _build(netlist, name, core_kwargs)
    return _rtlil.convert(core, name=name), sidecar(core, name)


def write_all(netlist, out_dir, name: str = "lgn_core", **core_kwargs) -> dict:
    """Write ``<name>.v``, ``<name>.il`` and ``<name>.json`` into ``out_dir``; return the paths."""
    core = _build(netlist, name, core_kwargs)
    out = Path(out_dir)
    v_text = _verilog.convert(core, name=name)
    il_text = _rtlil.convert(core, name=name)
    side = sidecar(core, name)
    side["files"] = {"verilog": f"{name}.v", "rtlil": f"{name}.il"}
    paths = {"verilog": out / f"{name}.v", "rtlil": out / f"{name}.il", "sidecar": out / f"{name}.json"}
    write_text_atomic(paths["verilog"], v_text)
    write_text_atomic(paths["rtlil"], il_text)
    write_json_atomic(paths["sidecar"], side)
    return paths
