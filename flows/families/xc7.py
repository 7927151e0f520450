"""Xilinx 7-series: ``synth_xilinx -family xc7`` (LUT6), synthesis only, LUT1..LUT6 LUT cells.

There is no open place & route for 7-series here, so builds for it are synthesis-only reports
(no ``pnr``). ``-noiopad`` leaves I/O buffers out, as iCE40/ECP5 synthesis does (their P&R adds
them), so figures compare across families. Netlists this size are checked by post-synthesis
simulation with ``xilinx/cells_sim.v``, not formally.
"""

from __future__ import annotations

from amaranth.hdl import Const, Instance

from rtl.cells import HeadCells
from rtl.layer import LutCell

from .base import Device, Family

__all__ = ["FAMILY"]


def _lut(table, inputs, output):
    k = len(inputs)
    ports = {f"i_I{j}": s for j, s in enumerate(inputs)}
    return Instance(f"LUT{k}", p_INIT=Const(table, 1 << k), o_O=output, **ports)


def _dual(init, inputs, o6, o5):
    ports = {f"i_I{j}": s for j, s in enumerate(inputs)}
    return Instance("LUT6_2", p_INIT=Const(init, 64), o_O6=o6, o_O5=o5, **ports)


def _carry4(ci, cyinit, di, s, o, co):
    return Instance("CARRY4", i_CI=ci, i_CYINIT=cyinit, i_DI=di, i_S=s, o_O=o, o_CO=co)


FAMILY = Family(
    name="xc7",
    description="Xilinx 7-series (LUT6, CARRY4, MUXF7/8), synthesis only",
    lut_k=6,
    synth="synth_xilinx -family xc7 -noiopad -flatten -top {top} {args}",
    cells=((r"LUT[1-6]|LUT6_2|INV|SRL\w*", "lut"), (r"CARRY4|CARRY8", "carry"),
           (r"FD[RSCP]E(_1)?", "ff"), (r"RAMB\w*", "bram"), (r"MUXF7|MUXF8", "mux"),
           (r"IBUF|OBUF|IOBUF|OBUFT|BUFG|IBUFG|BUFGCTRL", "io")),
    sim_models=("xilinx/cells_sim.v",),
    formal=None,
    lut_cell=LutCell("xc7", 6, _lut),
    head_cells=HeadCells("xc7", _dual, _carry4),
    popcount="lut63",   # 6:3 compressors: fewest LUT6 from 20 to 1,000 bits (BENCHMARKS.md)
    pnr=None,
    parts=(
        Device("xc7a35t", "xc7", 6, (),
               {"lut": 20800, "ff": 41600, "carry": 5200, "bram": 50, "io": 210},
               "Xilinx Artix-7 XC7A35T, CSG324 (Arty A7-35); synthesis only"),
        Device("xc7a100t", "xc7", 6, (),
               {"lut": 63400, "ff": 126800, "carry": 15850, "bram": 135, "io": 210},
               "Xilinx Artix-7 XC7A100T, CSG324 (Arty A7-100); synthesis only"),
    ),
    default_part="xc7a35t",
    default_clock_mhz=100.0,
)
