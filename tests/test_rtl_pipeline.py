"""rtl.pipeline: stage arithmetic and shared, lazily built delay lines."""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

from amaranth.hdl import Const, Module, Signal
from amaranth.sim import Simulator

from rtl.pipeline import Delays, block_latency, check_every, level_stage


def test_stage_arithmetic():
    assert [level_stage(j, 2) for j in range(7)] == [0, 0, 0, 1, 1, 2, 2]
    assert [block_latency(d, 2) for d in range(6)] == [0, 1, 1, 2, 2, 3]
    assert [block_latency(d, 1) for d in range(4)] == [0, 1, 2, 3]
    assert level_stage(5, None) == 0 and block_latency(9, None) == 0
    assert check_every(None) is None and check_every(3) == 3
    for bad in (0, -2, 2.0, True, "1"):
        with pytest.raises(ValueError, match="pipeline_every"):
            check_every(bad)


def test_delays_are_shared_and_exact():
    m = Module()
    x = Signal(4)
    d = Delays(m)
    a3 = d.at(x, 1, 4)
    assert d.at(x, 2, 5) is a3  # same distance: same register
    assert d.at(x, 0, 1) is d.at(x, 3, 4)
    assert d.n_registers == 3 * 4  # one chain of three 4-bit registers, nothing duplicated
    assert d.at(x, 2, 2) is x
    c = Const(5, 4)
    assert d.at(c, 0, 3) is c  # constants are not registered
    with pytest.raises(ValueError, match="earlier stage"):
        d.at(x, 3, 1)
    seen = []

    async def tb(ctx):
        for t in range(8):
            ctx.set(x, t)
            seen.append(ctx.get(a3))
            await ctx.tick()

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    assert seen[3:] == [0, 1, 2, 3, 4]
