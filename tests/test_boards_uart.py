"""boards.uart: loop a byte stream TX -> RX in simulation; framing errors are flagged."""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

from amaranth.hdl import Module
from amaranth.sim import Simulator

from boards.uart import UARTRx, UARTTx


def test_loopback():
    m = Module()
    m.submodules.tx = tx = UARTTx(5)
    m.submodules.rx = rx = UARTRx(5)
    m.d.comb += rx.rx.eq(tx.tx)
    sent, got = [0x00, 0xFF, 0xA5, 0x3C, 0x81], []

    async def tb(ctx):
        for b in sent:
            await ctx.tick().until(tx.ready)
            ctx.set(tx.data, b)
            ctx.set(tx.valid, 1)
            await ctx.tick()
            ctx.set(tx.valid, 0)
        for _ in range(5 * 10 * 8):
            await ctx.tick()

    async def mon(ctx):
        while True:
            await ctx.tick()
            if ctx.get(rx.valid):
                got.append(ctx.get(rx.data))

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.add_testbench(mon, background=True)
    sim.run()
    assert got == sent


def test_framing_error():
    rx = UARTRx(4)
    flags = []

    async def tb(ctx):
        for level in [0] + [1, 0, 1, 0, 1, 0, 1, 0] + [0] * 3 + [1] * 3:  # stop bit low
            ctx.set(rx.rx, level)
            for _ in range(4):
                await ctx.tick()
                flags.append((ctx.get(rx.valid), ctx.get(rx.error)))

    sim = Simulator(rx)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    assert any(e for _, e in flags) and not any(v for v, _ in flags)


def test_divisor_checked():
    with pytest.raises(ValueError, match="divisor"):
        UARTRx(2)
