"""The design a flow synthesises: a Netlist turned into the core's Verilog, with its sidecar.

``core_design(netlist, ...)`` emits the ``LGNCore`` through ``rtl.emit.verilog`` (the same text
``lgn-hw rtl`` writes) and keeps the sidecar (ports, latency, surviving gates per layer), which the
reports use for gates-in-vs-LUTs-out. ``load_netlist`` reads a netlist file with a one-line error;
``fingerprint`` is the digest every report and bitstream is bound to. Given the target ``family``,
the popcount and argmax structures default to the family's (``Family.popcount`` / ``.argmax``:
the smallest measured there, BENCHMARKS.md), ``lut_cells`` also gives the head the family's
primitives (``Family.head_cells``), and ``resynth=k`` collapses gates into k-input LUTs
(``lgn_hw.resynth``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CoreDesign", "core_design", "core_defaults", "load_netlist", "DesignError",
           "fingerprint", "file_sha256"]


class DesignError(Exception):
    """The netlist or the design options are unusable (one-line message)."""


@dataclass
class CoreDesign:
    netlist: object                  # lgn_hw.netlist.Netlist (the unoptimised contract)
    top: str
    verilog: str
    sidecar: dict
    options: dict = field(default_factory=dict)      # JSON-able: what config.json records
    core_kwargs: dict = field(default_factory=dict)  # LGNCore's keyword arguments

    @property
    def sources(self) -> dict:
        return {f"{self.top}.v": self.verilog}

    @property
    def latency(self) -> int:
        return int(self.sidecar.get("latency", 0))

    @property
    def pipelined(self) -> bool:
        return self.sidecar.get("pipeline_every") is not None

    def summary(self) -> dict:
        s = self.sidecar
        return {"top": self.top, "n_inputs": s.get("n_inputs"), "classes": s.get("classes"),
                "gates_before": s.get("gates_before"), "gates_after": s.get("gates_after"),
                "layer_widths": s.get("layer_widths"), "layer_fan_ins": s.get("layer_fan_ins"),
                "latency": s.get("latency"), "pipeline_every": s.get("pipeline_every"),
                "raw_inputs": s.get("raw_inputs"), "popcount": s.get("popcount"),
                "offsets": s.get("offsets")}


def fingerprint(netlist) -> str:
    """SHA-256 of the netlist's function (layers, head, encoding; not ``meta``): what reports
    and bitstreams are bound to, so a build made from another netlist is detected."""
    import hashlib
    import json
    d = netlist.to_dict()
    d.pop("meta", None)
    blob = json.dumps(d, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()


def file_sha256(path) -> str:
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_netlist(path):
    from lgn_hw.netlist import Netlist, NetlistError
    p = Path(path)
    if not p.exists():
        raise DesignError(f"netlist {p} not found (train one with `python -m train`, or pass a "
                          f"path)")
    try:
        return Netlist.load(p)
    except NetlistError as e:  # Netlist.load already names the file
        raise DesignError(str(e)) from None


def core_defaults(family: str | None) -> dict:
    """The core options a family sets unless told otherwise (popcount and argmax structures)."""
    if family is None:
        return {}
    from .families import get_family
    fam = get_family(family)
    return {"popcount": fam.popcount, "argmax": fam.argmax}


def _check_popcount(popcount, pipeline_every, head_cells) -> None:
    """A registered popcount (``ternary``) needs an integer pipeline and the xc7 head cells it is
    built from (``--target xc7 --lut-cells``): one line otherwise, before any work."""
    from rtl.popcount import REGISTERED, check_registered
    if popcount not in REGISTERED:
        return
    try:
        check_registered(popcount, pipeline_every)
    except ValueError as e:
        raise DesignError(str(e)) from None
    if head_cells is None:  # only a family with LUT6_2 + CARRY4 head cells (xc7) declares them
        raise DesignError(f"--popcount {popcount} is built from 7-series cells (LUT6_2 + "
                          f"CARRY4): use it with --target xc7 --lut-cells")


def core_design(netlist, *, top: str = "lgn_core", raw_inputs: bool = False,
                pipeline_every=None, popcount: str | None = None,
                lut_cells: str | None = None, family: str | None = None,
                argmax: str | None = None, resynth: int | None = None) -> CoreDesign:
    from rtl.emit import verilog
    kwargs = {"raw_inputs": raw_inputs, "pipeline_every": pipeline_every}
    kwargs.update(core_defaults(family or lut_cells))
    if popcount is not None:
        kwargs["popcount"] = popcount
    if argmax is not None:
        kwargs["argmax"] = argmax
    if resynth is not None:
        kwargs["resynth"] = int(resynth)
    options = dict(kwargs)
    if lut_cells is not None:
        from .families import FAMILIES, get_family
        fam = get_family(lut_cells)
        cell = fam.lut_cell
        if cell is None:
            able = ", ".join(n for n, f in FAMILIES.items() if f.lut_cell is not None)
            raise DesignError(f"--lut-cells: no LUT cells for {lut_cells} targets (there are for "
                              f"{able})")
        kwargs["lut_cells"], options["lut_cells"] = cell, cell.name
        if fam.head_cells is not None:
            kwargs["head_cells"], options["head_cells"] = fam.head_cells, fam.head_cells.name
    if raw_inputs and netlist.encoding is None:
        raise DesignError("--raw-inputs needs a netlist with an encoding")
    _check_popcount(kwargs.get("popcount"), pipeline_every, kwargs.get("head_cells"))
    try:
        text, side = verilog(netlist, name=top, **kwargs)
    except ValueError as e:
        raise DesignError(str(e)) from None
    return CoreDesign(netlist, top, text, side, options, kwargs)


def verification_inputs(net, dataset=None, data_root=None, limit=None, n_random=1000, *,
                        raw_inputs=False):
    """Inputs to check a design with: the samples of ``dataset`` (a built-in name's test split,
    or a user's file read as the netlist was trained: ``lgn_hw.datasets.samples``; default: the
    netlist's ``meta.dataset``) when the netlist has an encoding, else ``n_random`` random
    vectors. Returns ``(data, labels or None, description, class names)``: ``data`` is bits
    ``uint8[N, n_inputs]``, or with ``raw_inputs`` raw features ``[N, F]`` (``rtl.vectors.make_vectors``
    maps them to port integers). A missing or unreadable dataset is a one-line ``DesignError``."""
    import numpy as np

    from lgn_hw.datasets.samples import class_names, default_dataset
    from rtl.vectors import random_inputs

    if dataset and net.encoding is None:  # as infer and sim say it: never random vectors instead
        raise DesignError("the netlist has no encoding (its inputs are bits): dataset features "
                          "cannot be fed to it")
    if net.encoding is not None and (dataset or default_dataset(net.meta)):
        from lgn_hw.datasets import DatasetError
        from lgn_hw.datasets.samples import netlist_samples

        try:
            s = netlist_samples(net, dataset, data_root, "test", limit=limit)
        except DatasetError as e:
            raise DesignError(str(e)) from None
        data = s.x if raw_inputs else np.asarray(net.encoding.encode(s.x), np.uint8)
        return data, s.y, s.what, s.class_names
    data = random_inputs(net, limit or n_random, 0, raw_inputs=raw_inputs)
    kind = "raw feature" if raw_inputs else "input"
    return data, None, f"{len(data)} random {kind} vectors", class_names(net)
