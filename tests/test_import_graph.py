"""The netlist data model imports nothing of the passes built on it (no netlist <-> optimize cycle)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            names.add("." * node.level + mod)
            names.update(f"{'.' * node.level}{mod}.{a.name}".replace("..", ".") for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_netlist_does_not_import_optimize():
    found = {n for n in _imports(ROOT / "lgn_hw" / "netlist.py") if "optimize" in n}
    assert not found, f"lgn_hw/netlist.py imports {found}"
    assert any("netlist" in n for n in _imports(ROOT / "lgn_hw" / "optimize.py"))
