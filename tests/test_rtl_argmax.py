"""rtl.argmax: the comparator tree returns the first index of the largest count."""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

import itertools

import numpy as np
from amaranth.sim import Simulator

from rtl.argmax import STRATEGIES, Argmax, index_width


def _run(am, rows):
    got = []
    flat = [sum(int(v) << (am.width * c) for c, v in enumerate(row)) for row in rows]
    port = am.counts.as_value()

    async def comb(ctx):
        for x in flat:
            ctx.set(port, x)
            got.append(ctx.get(am.index))

    async def pipe(ctx):
        for t in range(len(flat) + am.latency):
            ctx.set(port, flat[t] if t < len(flat) else 0)
            if t >= am.latency:
                got.append(ctx.get(am.index))
            await ctx.tick()

    sim = Simulator(am)
    if am.latency:
        sim.add_clock(1e-6)
        sim.add_testbench(pipe)
    else:
        sim.add_testbench(comb)
    sim.run()
    return got


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("classes", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("every", [None, 1, 2])
def test_exhaustive_with_ties(classes, every, strategy):
    # all count vectors over {0..3}: plenty of ties; numpy's argmax is first-max too
    rows = list(itertools.product(range(4), repeat=classes))
    am = Argmax(classes, 2, every=every, strategy=strategy)
    assert _run(am, rows) == [int(np.argmax(r)) for r in rows]


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("classes", [7, 10, 16, 17])
def test_random_wide(classes, strategy):
    rng = np.random.default_rng(classes)
    rows = rng.integers(0, 40, size=(300, classes))
    rows[:50] = rows[:50] // 8  # many ties
    am = Argmax(classes, 6, every=2, strategy=strategy)
    assert _run(am, rows) == [int(np.argmax(r)) for r in rows]
    assert am.levels == ((classes - 1).bit_length() if strategy == "tree" else 6)


def test_index_width_and_errors():
    assert [index_width(c) for c in (1, 2, 3, 4, 5, 10, 16, 17)] == [1, 1, 2, 2, 3, 4, 4, 5]
    with pytest.raises(ValueError, match="at least one class"):
        Argmax(0, 4)
    with pytest.raises(ValueError, match="unknown argmax strategy 'heap'"):
        Argmax(3, 4, strategy="heap")
