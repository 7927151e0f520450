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


def _package_imports(pkg: str):
    for path in sorted((ROOT / pkg).rglob("*.py")):
        rel = path.relative_to(ROOT)
        for name in _imports(path):
            level = len(name) - len(name.lstrip("."))   # a relative import, from its package
            parts = [*rel.parts[:len(rel.parts) - level], *name.lstrip(".").split(".")]
            yield rel.as_posix(), ".".join(p for p in parts if p) if level else name


def test_flows_and_rtl_do_not_import_boards():
    """boards import flows (they own ``lgn-hw build``); flows and rtl never import boards."""
    found = sorted({(f, n) for pkg in ("flows", "rtl", "lgn_hw") for f, n in _package_imports(pkg)
                    if n == "boards" or n.startswith("boards.")})
    assert not found, f"imports of boards: {found}"
