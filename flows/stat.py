"""Parsing Yosys ``stat -json`` output into resource counts per module and per pipeline stage.

Cells are classified by their family's rules (``flows/families``) into ``lut``, ``carry``, ``ff``, ``bram``, ``mux`` (wide-function
muxes such as MUXF7 / PFUMX), ``io`` and ``other``. With the hierarchy kept (synthesis without
flattening), every Amaranth submodule is its own Yosys module named by its path (``top.layer0``,
``top.core.popcount.c3``); ``stage_counts`` folds each module into the stage it belongs to: the
first path component below the core's path (``encoder``, ``layer0``, ..., ``popcount``,
``argmax``), the core's own glue logic (``core``), or the I/O wrapper around the core (``io``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from .families import get_family
from .families.base import RESOURCES

__all__ = ["RESOURCES", "classify_cell", "StatError", "load_stat", "module_cells",
           "instance_counts", "resources_of", "design_resources", "stage_counts",
           "parse_text_stat"]

#: Bookkeeping cells that are not hardware (``flatten`` leaves ``$scopeinfo`` behind).
IGNORED = frozenset({"$scopeinfo"})


class StatError(ValueError):
    """The stat output is missing or malformed."""


def classify_cell(cell_type: str, family) -> str:
    """The resource class of a cell type, by the family's own rules (``flows.families``)."""
    return get_family(family).classify(cell_type)


def load_stat(path: str | Path) -> dict:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise StatError(f"{path}: Yosys statistics not found (did synthesis run?)") from None
    except json.JSONDecodeError as e:
        raise StatError(f"{path}: not valid JSON ({e})") from None
    if "modules" not in data:
        raise StatError(f"{path}: no 'modules' in Yosys stat output")
    return data


def module_cells(stat: dict) -> dict[str, Counter]:
    """``{module name (no leading backslash): Counter(cell type -> count)}``."""
    return {name.lstrip("\\"): Counter({t: n for t, n in m.get("num_cells_by_type", {}).items()
                                         if t not in IGNORED})
            for name, m in stat["modules"].items()}


def instance_counts(cells: dict[str, Counter], top: str) -> dict[str, int]:
    """How many times each module is instantiated below ``top`` (top itself counts once)."""
    if top not in cells:
        raise StatError(f"top module {top!r} not in the statistics "
                        f"(modules: {', '.join(sorted(cells)) or 'none'})")
    count: Counter = Counter({top: 1})
    order, seen = [], set()

    def visit(m):                      # post-order: children after all their parents
        if m in seen:
            return
        seen.add(m)
        for t in cells[m]:
            if t in cells:
                visit(t)
        order.append(m)

    visit(top)
    for m in reversed(order):          # parents before children
        for t, n in cells[m].items():
            if t in cells:
                count[t] += count[m] * n
    return dict(count)


def resources_of(cell_counter: Counter, family: str, modules=()) -> dict[str, int]:
    """Resource totals of one module's own cells (submodule instances excluded)."""
    res = dict.fromkeys(RESOURCES, 0)
    for t, n in cell_counter.items():
        if t in modules:
            continue
        res[classify_cell(t, family)] += n
    return res


def design_resources(stat: dict, family: str, top: str) -> tuple[dict, Counter]:
    """Totals over the whole hierarchy below ``top``: (resources, Counter of leaf cell types)."""
    cells = module_cells(stat)
    inst = instance_counts(cells, top)
    types: Counter = Counter()
    for m, k in inst.items():
        for t, n in cells[m].items():
            if t not in cells:
                types[t] += n * k
    res = resources_of(types, family)
    return res, types


def stage_of(module: str, core_path: str) -> str:
    if module == core_path:
        return "core"
    if module.startswith(core_path + "."):
        return module[len(core_path) + 1:].split(".")[0]
    return "io"


def stage_counts(stat: dict, family: str, top: str, core_path: str | None = None) -> dict:
    """``{stage: resources}`` in hierarchy order; ``core_path`` defaults to ``top``."""
    core_path = core_path or top
    cells = module_cells(stat)
    inst = instance_counts(cells, top)
    stages: dict[str, dict] = {}
    for m in sorted(inst, key=_natural):
        stage = stage_of(m, core_path)
        own = resources_of(cells[m], family, cells)
        acc = stages.setdefault(stage, dict.fromkeys(RESOURCES, 0))
        for r in RESOURCES:
            acc[r] += own[r] * inst[m]
    return stages


def _natural(name: str):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def parse_text_stat(log: str) -> Counter:
    """Leaf cell counts from the *last* plain-text ``stat`` report in a Yosys log.

    Used to cross-check the JSON figures against what Yosys prints for humans. With a hierarchy
    the totals are in the "design hierarchy" section; a flat design has a single module table.
    Yosys 0.5x+ prints lines like ``      569   SB_LUT4`` (count first).
    """
    start = log.rfind("Printing statistics.")
    if start < 0:
        raise StatError("no 'stat' report in the Yosys log")
    block = log[start:]
    if "=== design hierarchy ===" in block:
        block = block[block.index("=== design hierarchy ==="):]
    counts: Counter = Counter()
    in_cells = False
    for line in block.splitlines():
        m = re.match(r"^\s+(\d+)\s+cells\s*$", line)
        if m:
            in_cells = True
            continue
        if not in_cells:
            continue
        m = re.match(r"^\s+(\d+)\s{2,}(\S+)\s*$", line)
        if m:
            if m.group(2) not in IGNORED:
                counts[m.group(2)] += int(m.group(1))
        else:
            in_cells = False   # "N submodules", a blank line or the next section
    if not counts and not re.search(r"^=== .+ ===\s*$", block, flags=re.M):
        raise StatError("could not read cell counts from the Yosys log's stat table")
    return counts       # a design of constants has a table without hardware cells: empty
