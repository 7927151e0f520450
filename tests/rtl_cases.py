"""Shared netlists and checks for the rtl tests: edge-case netlists built with the documented
constructors, exhaustive input sets, and a helper that runs both simulators on a core."""

import shutil

import numpy as np
import pytest

from lgn_hw.gates import passthrough_table, table_mask
from lgn_hw.netlist import Head, Layer, Netlist, random_netlist
from rtl.core import LGNCore
from rtl.sim import simulate_amaranth
from rtl.vectors import make_vectors

HAVE_IVERILOG = shutil.which("iverilog") is not None and shutil.which("vvp") is not None
needs_iverilog = pytest.mark.skipif(not HAVE_IVERILOG, reason="iverilog/vvp not installed")


def all_inputs(n: int) -> np.ndarray:
    """uint8[2**n, n]: every input vector (row i has bit k of i in column k)."""
    return ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(np.uint8)


def run_amaranth(net, bits, **kw):
    core = LGNCore(net, **kw)
    res = simulate_amaranth(core, make_vectors(net, bits, raw_inputs=kw.get("raw_inputs", False)))
    return core, res


def assert_sim_ok(res):
    assert res.n > 0
    assert res.ok, res.summary() + "\n" + "\n".join(res.details())


def mixed_fanin(seed=0):
    """Fan-in 1 and 6 (and 3) mixed across layers, skip connections, offsets."""
    return random_netlist(seed, 7, [24, 18, 12, 6], [1, 6, 3, 6], 3, special=0.1, skip=True,
                          offsets=True)


def special_gates():
    """Constant, pass-through and NOT gates (the optimiser removes or folds them)."""
    n = 4
    mask = int(table_mask(2))
    layers = [
        Layer(2, [[0, 1], [1, 2], [2, 3], [3, 0], [0, 2], [1, 3]],
              [0, mask, int(passthrough_table(2, 0)), ~int(passthrough_table(2, 1)) & mask,
               0x6, 0x8]),
        Layer(2, [[4, 5], [6, 7], [8, 9], [4, 8], [5, 9], [6, 9]],
              [0x8, 0xE, 0x6, int(passthrough_table(2, 1)), 0x1, 0x7]),
    ]
    return Netlist(n, layers, Head(2, [[10, 11, 12], [13, 14, 15]]))


def removed_layer():
    """The middle layer is all pass-through: optimisation drops it (a skip over it remains)."""
    layers = [
        Layer(2, [[0, 1], [1, 2], [2, 3], [3, 4]], [0x6, 0x8, 0xE, 0x9]),
        Layer(1, [[5], [6], [7], [8]], [0x2, 0x2, 0x2, 0x2]),  # pass-through of its input
        Layer(2, [[9, 10], [10, 11], [11, 12], [12, 9]], [0x6, 0x7, 0x8, 0xB]),
    ]
    return Netlist(5, layers, Head(2, [[13, 14], [15, 16]]))


def all_removed():
    """Every gate is a pass-through or NOT: the optimised netlist has no layers at all."""
    layers = [Layer(1, [[0], [1], [2]], [0x2, 0x2, 0x2])]
    return Netlist(3, layers, Head(3, [[3], [4], [5]]))


def odd_head():
    """Groups of different sizes, a repeated signal, an empty group, offsets, group size 1."""
    layers = [Layer(3, [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 0], [4, 0, 1]],
                    [0x96, 0xE8, 0x80, 0x7F, 0x3C])]
    head = Head(4, [[5, 5, 6, 7, 9], [8], [], [5, 6, 7, 8, 9, 9, 9]], offsets=[0, 3, 2, 1])
    return Netlist(5, layers, head)


def one_class():
    return random_netlist(4, 6, [10, 8], [2, 4], 1, special=0.0)


def group_size_one():
    return random_netlist(5, 6, [12, 5], [3, 2], 5, special=0.0, offsets=True)


EDGE_CASES = {
    "mixed_fanin": mixed_fanin,
    "special_gates": special_gates,
    "removed_layer": removed_layer,
    "all_removed": all_removed,
    "odd_head": odd_head,
    "one_class": one_class,
    "group_size_one": group_size_one,
}


def head_not():
    """The head counts NOTs of inputs: the optimiser keeps them as fan-in-1 gates."""
    layers = [Layer(1, [[0], [1], [2], [3]], [0x1, 0x1, 0x2, 0x1])]
    return Netlist(4, layers, Head(2, [[4, 5], [6, 7]]))


EDGE_CASES["head_not"] = head_not


def trivial():
    """One class counting one input bit: nothing to compute (a pipelined core still registers)."""
    return Netlist(2, [Layer(1, [[0]], [0x2])], Head(1, [[2]]))


EDGE_CASES["trivial"] = trivial


def run_with_cell_models(tmp_path, family: str, text: str) -> str:
    """Compile ``text`` (a design plus its testbench) with ``family``'s Yosys cell models in
    Icarus and return what the simulation printed."""
    import subprocess

    from flows.postsim import cell_models

    src = tmp_path / "t.v"
    src.write_text(cell_models(family) + "\n" + text)
    subprocess.run(["iverilog", "-g2012", "-o", str(tmp_path / "t.out"), str(src)], check=True,
                   capture_output=True)
    return subprocess.run(["vvp", str(tmp_path / "t.out")], capture_output=True, text=True,
                          check=True).stdout
