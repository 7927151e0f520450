"""rtl.popcount ``ternary``: carry-chain 6:3 counters and a ternary adder in 7-series cells.

The expression form (the same INITs and CARRY4 equations, what Amaranth simulates) counts exactly
for every n in 1..200 with offsets, one sample per clock after ``.latency`` cycles; the cell form
(LUT6_2 + CARRY4 instances) counts exactly in Icarus with Yosys's cell models, and a corrupted
INIT is caught there. The structure refuses a core that is not pipelined with an integer K.
"""

import re

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

import numpy as np
from amaranth.back import verilog
from amaranth.hdl import ClockDomain, Module, Signal
from amaranth.sim import Simulator

from flows.families import get_family
from rtl.popcount import Popcount, check_registered, popcount_levels

XC7 = get_family("xc7").head_cells


def _bank(cases, every=1):
    """One module holding a ternary popcount per ``(n, offset)``, each fed by its own word."""
    m = Module()
    pcs, words = [], []
    for k, (n, off) in enumerate(cases):
        pc = Popcount(n, off, strategy="ternary", every=every)
        w = Signal(n, name=f"w{k}")
        pc.i = [w[j] for j in range(n)]
        m.submodules[f"pc{k}"] = pc
        pcs.append(pc)
        words.append(w)
    return m, pcs, words


def _run(cases, samples, every=1):
    """``got[k][t]``: popcount k's output for sample t (read ``latency`` clocks later)."""
    m, pcs, words = _bank(cases, every)
    lat = max(pc.latency for pc in pcs)
    got = [[None] * len(samples[0]) for _ in cases]

    async def tb(ctx):
        for t in range(len(samples[0]) + lat):
            for k, w in enumerate(words):
                ctx.set(w, samples[k][t] if t < len(samples[k]) else 0)
            for k, pc in enumerate(pcs):
                s = t - pc.latency
                if 0 <= s < len(samples[k]):
                    got[k][s] = ctx.get(pc.o)
            await ctx.tick()

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    return pcs, got


def _samples(n, rng, count):
    if n <= 6:
        return [x % (1 << n) for x in range(count)]  # every word (repeated)
    rows = rng.integers(0, 2, size=(count, n))
    rows[0], rows[1] = 0, 1
    # a few dense and sparse rows: the counters' top bits and the adder's carries
    rows[2] = rng.random(n) < 0.9
    rows[3] = rng.random(n) < 0.1
    return [int("".join(map(str, r[::-1])), 2) for r in rows]


#: the default run: every n where the stage plan changes most (1..40) and a spread up to 200;
#: the slow run every n from 1 to 200 (Amaranth's simulator takes ~1 s per n on these machines)
_SPREAD = list(range(1, 41)) + [47, 53, 64, 80, 97, 128, 150, 173, 199, 200]


@pytest.mark.parametrize("every,ns", [
    (1, _SPREAD), (3, _SPREAD[::3]),
    pytest.param(1, range(1, 201), marks=pytest.mark.slow),
    pytest.param(3, range(1, 201), marks=pytest.mark.slow)])
def test_counts_every_n_to_200_with_offsets(every, ns):
    rng = np.random.default_rng(every)
    cases = [(n, (n * 7 + every) % 40 if n % 3 else 0) for n in ns]
    samples = [_samples(n, rng, 24) for n, _ in cases]
    pcs, got = _run(cases, samples, every)
    for (n, off), pc, s, g in zip(cases, pcs, samples, got):
        assert g == [bin(x).count("1") + off for x in s], (n, off)
        # every stage registered, whatever K: latency = stages
        assert pc.latency == pc.levels == popcount_levels(n, off, "ternary")


def test_exhaustive_small():
    cases = [(n, off) for n in range(1, 11) for off in (0, 1, 6)]
    samples = [list(range(1 << n)) + [0] * ((1 << 10) - (1 << n)) for n, _ in cases]
    _, got = _run(cases, samples)
    for (n, off), s, g in zip(cases, samples, got):
        assert g[:1 << n] == [bin(x).count("1") + off for x in s[:1 << n]], (n, off)


def test_a_wrong_count_would_be_seen():
    # the checker itself: 7 bits counted against the count of 6 must differ
    rng = np.random.default_rng(0)
    s = _samples(7, rng, 24)
    _, got = _run([(7, 0)], [s])
    assert got[0] != [bin(x & 0x3F).count("1") for x in s]


def test_refuses_unpipelined_cores():
    for every in (None, "head"):
        with pytest.raises(ValueError, match="needs a pipelined core"):
            Popcount(20, 0, strategy="ternary", every=every)
    check_registered("ternary", 2)
    check_registered("lut63", None)  # the others stay combinational-capable


def _cell_verilog(n, off):
    m = Module()
    pc = Popcount(n, off, strategy="ternary", every=1, cells=XC7)
    w = Signal(n, name="w")
    pc.i = [w[j] for j in range(n)]
    m.submodules.pc = pc
    m.domains.sync = cd = ClockDomain("sync", reset_less=True)
    return pc, verilog.convert(m, name="pc", ports=[w, pc.o, cd.clk])


def _icarus(tmp_path, text, n, width, latency, words):
    from rtl_cases import run_with_cell_models

    lines = [f"module tb; reg clk = 0; reg [{n - 1}:0] w; wire [{width - 1}:0] o;",
             "pc dut(.clk(clk), .w(w), .o(o));", "initial begin"]
    for t in range(len(words) + latency):
        x = words[t] if t < len(words) else 0
        lines.append(f"w = {n}'h{x:x}; #1;")
        if t >= latency:
            lines.append('$display("O %0d", o);')
        lines.append("clk = 1; #1; clk = 0;")
    lines.append("$finish; end endmodule")
    out = run_with_cell_models(tmp_path, "xc7", text + "\n" + "\n".join(lines))
    return [int(v) for v in re.findall(r"^O (\d+)$", out, re.M)]


@pytest.mark.tools
@pytest.mark.parametrize("n,off", [(5, 0), (30, 3), (100, 0), (173, 11)])
def test_cells_count_exactly_in_icarus_and_a_corrupted_init_is_caught(tmp_path, n, off):
    pc, text = _cell_verilog(n, off)
    assert "LUT6_2" in text and "CARRY4" in text
    rng = np.random.default_rng(n)
    words = _samples(n, rng, 64)
    want = [bin(x).count("1") + off for x in words]
    assert _icarus(tmp_path, text, n, len(pc.o), pc.latency, words) == want
    # flip one O6 entry of every LUT6_2 in turn until one shows (each LUT site is exercised)
    inits = list(re.finditer(r"64'h([0-9a-f]{16})", text))
    assert inits
    m = inits[len(inits) // 2]
    for bit in (32 + 7, 32 + 1):  # O6 half, patterns with a few inputs high
        flipped = text[:m.start(1)] + format(int(m.group(1), 16) ^ (1 << bit), "016x") \
            + text[m.end(1):]
        if _icarus(tmp_path, flipped, n, len(pc.o), pc.latency, words) != want:
            break
    else:
        pytest.fail("a corrupted LUT6_2 INIT was not caught")


def test_refused_at_the_cli_boundary(tmp_path):
    from click.testing import CliRunner

    from flows.design import DesignError, core_design
    from lgn_hw.netlist import random_netlist
    from rtl.cli import rtl_command

    net = random_netlist(0, 10, [8, 6], 4, 2)
    for kwargs, msg in [(dict(pipeline_every=None), "needs a pipelined core"),
                        (dict(pipeline_every="head"), "not --pipeline-every head"),
                        (dict(pipeline_every=2, family="ice40"), "--target xc7 --lut-cells"),
                        (dict(pipeline_every=2, family="xc7"), "--target xc7 --lut-cells")]:
        with pytest.raises(DesignError, match=msg):
            core_design(net, popcount="ternary", **kwargs)
    d = core_design(net, popcount="ternary", pipeline_every=2, family="xc7", lut_cells="xc7")
    assert "LUT6_2" in d.verilog and d.sidecar["popcount"] == "ternary"
    path = tmp_path / "n.json"
    net.save(path)
    res = CliRunner().invoke(rtl_command, [str(path), "--out", str(tmp_path / "o"),
                                           "--popcount", "ternary"])
    assert res.exit_code != 0 and "needs a pipelined core" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "o").exists()
