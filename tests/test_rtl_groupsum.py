"""rtl.groupsum: per-class counts with repeats, empty groups, offsets and aligned latencies."""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

import numpy as np
from amaranth.sim import Simulator

from rtl.groupsum import GroupSum
from rtl.popcount import REGISTERED, STRATEGIES


@pytest.mark.parametrize("strategy,every", [(s, e) for s in STRATEGIES for e in [None, 1, 2]
                                            if e or s not in REGISTERED])
def test_counts(strategy, every):
    groups = [[10, 11, 12, 10], [13], [], list(range(10, 30)), [29, 29, 29]]
    offsets = [0, 4, 2, 1, 0]
    gs = GroupSum(groups, offsets, strategy=strategy, every=every)
    assert gs.reads == list(range(10, 30)) and gs.width == 5  # max count 21
    assert gs.latency == max(p.latency for p in gs.popcounts)
    rng = np.random.default_rng(3)
    rows = rng.integers(0, 2, size=(200, 20))
    rows[0], rows[1] = 0, 1
    want = [[o + sum(int(r[s - 10]) for s in g) for g, o in zip(groups, offsets)] for r in rows]
    words = [sum(int(b) << k for k, b in enumerate(r)) for r in rows]
    port = gs.counts.as_value()
    got = []

    async def tb(ctx):
        for t in range(len(words) + gs.latency):
            for k, bit in enumerate(gs.i):
                ctx.set(bit, (words[t] >> k) & 1 if t < len(words) else 0)
            if t >= gs.latency:
                v = ctx.get(port)
                got.append([(v >> (5 * c)) & 31 for c in range(5)])
            if gs.latency:
                await ctx.tick()

    sim = Simulator(gs)
    if gs.latency:
        sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    assert got == want


def test_errors():
    with pytest.raises(ValueError, match="one offset per group"):
        GroupSum([[1, 2]], [0, 0])
    with pytest.raises(ValueError, match="at least one group"):
        GroupSum([], [])
