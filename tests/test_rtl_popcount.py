"""rtl.popcount: every strategy counts exactly (with offsets), combinational and pipelined."""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

import numpy as np
from amaranth.hdl import Signal
from amaranth.sim import Simulator

from rtl.popcount import DEFAULT, REGISTERED, STRATEGIES, Popcount, count_width, popcount_levels

# (strategy, every): registered structures (ternary) exist only pipelined with an integer K
PAIRS = [(s, e) for s in STRATEGIES for e in [None, 1, 2, 3] if e or s not in REGISTERED]


def _simulate(pc, inputs):
    """Outputs of ``pc`` for each input word (pipelined: one word per clock)."""
    got = []
    word = Signal(max(1, pc.n))
    pc.i = [word[k] for k in range(pc.n)]  # one vector to drive: one settle per sample

    def _set(ctx, pc, value):
        ctx.set(word, value)

    async def comb(ctx):
        for x in inputs:
            _set(ctx, pc, x)
            got.append(ctx.get(pc.o))

    async def pipe(ctx):
        for t in range(len(inputs) + pc.latency):
            _set(ctx, pc, inputs[t] if t < len(inputs) else 0)
            if t >= pc.latency:
                got.append(ctx.get(pc.o))
            await ctx.tick()

    sim = Simulator(pc)
    if pc.latency == 0:
        sim.add_testbench(comb)
    else:
        sim.add_clock(1e-6)
        sim.add_testbench(pipe)
    sim.run()
    return got


def _words(n, rng, limit=256):
    if n <= 8:
        return list(range(1 << n))
    bits = rng.integers(0, 2, size=(limit, n))
    bits[0], bits[1] = 0, 1  # the extremes
    return [int("".join(map(str, row)), 2) for row in bits]


@pytest.mark.parametrize("strategy,every", PAIRS)
@pytest.mark.parametrize("n,offset", [(0, 0), (0, 5), (1, 0), (1, 2), (2, 0), (3, 1), (4, 0),
                                      (5, 3), (7, 0), (8, 6), (1, 4), (2, 8), (13, 0), (31, 2), (64, 0),
                                      (100, 7)])
def test_counts_exactly(strategy, every, n, offset):
    rng = np.random.default_rng(n * 31 + offset)
    pc = Popcount(n, offset, strategy=strategy, every=every)
    words = _words(n, rng, limit=64 if n > 32 else 256)
    got = _simulate(pc, words)
    assert got == [bin(w).count("1") + offset for w in words]
    assert pc.levels == popcount_levels(n, offset, strategy)
    stage = 1 if strategy in REGISTERED else every  # a registered structure: every level
    assert pc.latency == (0 if every is None else -(-pc.levels // stage))


def test_width_padding_and_errors():
    pc = Popcount(5, 1, width=8)
    assert len(pc.o) == 8 and _simulate(pc, [0b11111]) == [6]
    for kwargs, msg in [(dict(n=8, width=3), "cannot hold"),
                        (dict(n=4, strategy="magic"), "unknown popcount strategy"),
                        (dict(n=4, offset=-1), "non-negative")]:
        with pytest.raises(ValueError, match=msg):
            Popcount(**kwargs)


def test_structure_depths():
    # the carry-in tree counts 2**d - 1 bits in d levels; Dadda needs log_1.5 stages + the CPA
    assert popcount_levels(7, 0, "tree") == 2 and popcount_levels(15, 0, "tree") == 3
    assert popcount_levels(255, 0, "tree") == 7 and popcount_levels(256, 0, "tree") == 8
    assert popcount_levels(100, 0, "dadda") == 11 + 1  # 2,3,4,6,9,13,19,28,42,63,94
    assert popcount_levels(100, 3, "behavioural") == 1
    assert count_width(0) == 1 and count_width(8) == 4 and DEFAULT in STRATEGIES


def test_a_wrong_count_would_be_seen():
    # the checker itself: a popcount of 9 bits compared against a popcount of 8 must differ
    pc = Popcount(9, 0)
    words = list(range(0, 512, 3))
    assert _simulate(pc, words) != [bin(w & 0xFF).count("1") for w in words]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_wide_group(strategy):
    # 1000 bits: deep structures must still build (a linear 1000-term sum once hit Python's
    # recursion limit) and count exactly
    rng = np.random.default_rng(7)
    pc = Popcount(1000, 3, strategy=strategy, every=1 if strategy in REGISTERED else None)
    words = _words(1000, rng, limit=12)
    assert _simulate(pc, words) == [bin(w).count("1") + 3 for w in words]
