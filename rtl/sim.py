"""Amaranth simulation testbench: drive an :class:`~rtl.core.LGNCore` with vectors, check outputs.

Combinational core: set the input, read ``counts`` and ``cls`` (values settle right after
``ctx.set``). Pipelined core: one sample per clock with ``valid_in`` high; the outputs seen while
sample ``t`` is at the input belong to sample ``t - latency`` and ``valid_out`` must be high exactly
then (it is checked too: a wrong latency is a mismatch). Every sample is compared with the
software oracle in :class:`~rtl.vectors.Vectors`.
"""

from __future__ import annotations

import time

from amaranth.hdl import Value
from amaranth.sim import Simulator
from tqdm import tqdm

from .vectors import SimResult, Vectors, check, unpack_counts

__all__ = ["simulate_amaranth"]


def simulate_amaranth(core, vec: Vectors, *, progress: bool = False) -> SimResult:
    """Run ``vec`` through ``core`` in Amaranth's simulator; return the comparison."""
    result = SimResult("amaranth", len(vec), 0.0)
    port_in = Value.cast(core.features if core.raw_inputs else core.bits)
    counts, cls = Value.cast(core.counts), core.cls
    w, classes, lat = core.count_width, core.classes, core.latency
    pipelined = core.pipeline_every is not None
    n = len(vec)
    bar = tqdm(total=n, desc="amaranth sim", unit="sample", disable=not progress, leave=False)

    async def comb_tb(ctx):
        for i, x in enumerate(vec.inputs):
            ctx.set(port_in, x)
            check(result, vec, i, unpack_counts(ctx.get(counts), w, classes), ctx.get(cls))
            if i % 256 == 255:
                bar.update(256)

    async def pipe_tb(ctx):
        for t in range(n + lat):
            if t < n:
                ctx.set(port_in, vec.inputs[t])
                ctx.set(core.valid_in, 1)
            else:
                ctx.set(core.valid_in, 0)
            j = t - lat
            valid = ctx.get(core.valid_out)
            if j >= 0:
                got = unpack_counts(ctx.get(counts), w, classes)
                check(result, vec, j, got, ctx.get(cls) if valid else -1)
                if j % 256 == 255:
                    bar.update(256)
            elif valid:  # valid_out before the first sample could have arrived
                result.n_mismatch += 1
                result.mismatches.append((j, [], [], -1, -1))
            await ctx.tick()

    sim = Simulator(core)
    if pipelined:
        sim.add_clock(1e-6)
        sim.add_testbench(pipe_tb)
    else:
        sim.add_testbench(comb_tb)
    start, cpu = time.perf_counter(), time.process_time()
    sim.run()
    result.seconds = time.perf_counter() - start
    result.cpu_seconds = time.process_time() - cpu
    bar.close()
    return result
