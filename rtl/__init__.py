"""lgn-hw RTL: Amaranth generators that turn a Netlist into FPGA logic, and their testbenches.

Stages (one module each): :mod:`rtl.layer` (LUT layers), :mod:`rtl.popcount` and
:mod:`rtl.groupsum` (per-class popcounts), :mod:`rtl.argmax`, :mod:`rtl.encoder` (raw features to
bits), :mod:`rtl.pipeline` (stages and delay lines), :mod:`rtl.core` (the ``LGNCore`` component),
:mod:`rtl.emit` (Verilog/RTLIL + JSON sidecar), :mod:`rtl.sim` / :mod:`rtl.iverilog` (Amaranth and
Icarus testbenches) and :mod:`rtl.cli` (``lgn-hw rtl`` / ``lgn-hw sim``). Never imports torch.
"""
