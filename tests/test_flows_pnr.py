"""flows.pnr: nextpnr + icepack on a small wrapped design; report parsing; fit errors."""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

from flows.devices import resolve_target
from flows.pnr import fit_error, plan_pnr, read_pnr_report
from flows.synth import plan_synth

pytestmark = pytest.mark.tools  # runs Yosys / nextpnr / Icarus

VERILOG = """
module top(input clk, input [7:0] a, output reg [3:0] q);
  always @(posedge clk) q <= q + (a[0] ^ a[3] & a[5]) + a[7];
endmodule
"""


def test_ice40_pnr_and_pack(tmp_path):
    dev = resolve_target("ice40")
    plan = plan_synth({"top.v": VERILOG}, "top", dev)
    plan_pnr(plan, dev, freq_mhz=12)
    plan.execute(tmp_path)
    rep = read_pnr_report(tmp_path / "top.pnr.json")
    assert rep.logic("ice40")["available"] == 5280 and rep.logic("ice40")["used"] > 0
    assert all(f > 12 for f in rep.fmax_mhz.values()) and rep.critical_paths
    assert (tmp_path / "top.bin").stat().st_size > 1000


def test_fit_error_message():
    log = "Info: Device utilisation:\nInfo:     ICESTORM_LC:  6100/ 5280   115%\n" \
          "ERROR: Unable to place cell 'x', no BELs remaining to implement cell type 'ICESTORM_LC'"
    err = fit_error(log, resolve_target("ice40"))
    assert "ICESTORM_LC 6100/5280 (116%)" in str(err) and "fan-in 4" in str(err)
    assert fit_error("Info: ICESTORM_LC: 10/ 5280 0%", resolve_target("ice40")) is None
