"""rtl.layer: one LUT layer evaluates every gate's truth table exactly (all fan-ins)."""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

import numpy as np
from amaranth.sim import Simulator

from lgn_hw.gates import eval_tables, passthrough_table, table_mask
from rtl.layer import LutLayer, reduce_table
from rtl_cases import all_inputs


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_reduce_table_keeps_the_function(n):
    rng = np.random.default_rng(n)
    x = all_inputs(n)
    tables = list(rng.integers(0, int(table_mask(n)), size=30, dtype=np.uint64, endpoint=True))
    tables += [np.uint64(0), table_mask(n), passthrough_table(n, n - 1)]
    for t in tables:
        r, kept = reduce_table(int(t), n)
        want = eval_tables(np.uint64(t), n, x)
        got = eval_tables(np.uint64(r), len(kept), x[:, kept]) if kept else np.full(len(x), r & 1)
        assert (got == want).all()
    assert reduce_table(int(passthrough_table(n, n - 1)), n) == (0b10, [n - 1])
    assert reduce_table(0, n) == (0, [])


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_layer_exhaustive(n):
    rng = np.random.default_rng(10 + n)
    n_in = 7
    g = 24
    inputs = np.stack([rng.choice(n_in, size=n, replace=False) for _ in range(g)])
    inputs[0] = inputs[0][0]  # a gate reading the same signal n times
    tables = rng.integers(0, int(table_mask(n)), size=g, dtype=np.uint64, endpoint=True)
    tables[1], tables[2] = 0, table_mask(n)
    layer = LutLayer(n, inputs + 100, tables, first=500)  # global indices: inputs are 100..106
    assert layer.reads == sorted(set((inputs + 100).reshape(-1).tolist()))
    x = all_inputs(n_in)
    want = np.stack([eval_tables(tables[k], n, x[:, inputs[k]]) for k in range(g)], axis=1)
    local = [int(s) - 100 for s in layer.reads]
    got = []

    async def tb(ctx):
        for row in x:
            for port, s in zip(layer.i, local):
                ctx.set(port, int(row[s]))
            got.append(sum(ctx.get(o) << k for k, o in enumerate(layer.o)))

    sim = Simulator(layer)
    sim.add_testbench(tb)
    sim.run()
    got = np.array([[(v >> k) & 1 for k in range(g)] for v in got])
    assert (got == want).all()
