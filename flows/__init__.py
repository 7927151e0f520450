"""lgn-hw flows: from Amaranth RTL to synthesised, placed and routed FPGA designs, and reports.

What one FPGA family is lives in one module per family (``families``: ice40, ecp5, xc7, gowin,
generic). The tool-step modules ask the family: tool lookup and invocation (``tools``), the
device catalogue (``devices``), build plans (``plan``), Yosys synthesis (``synth``) and its
statistics (``stat``), nextpnr place & route and packing (``pnr``), reports (``report``), formal
equivalence (``equiv``), post-synthesis simulation (``postsim``), synthesis-only flows (``flow``)
and the ``lgn-hw synth/report/verify`` commands (``cli``).

It never imports torch, nor ``boards`` (which owns board builds and ``lgn-hw build``).
"""
