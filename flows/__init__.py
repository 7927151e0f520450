"""lgn-hw flows: from Amaranth RTL to synthesised, placed and routed FPGA designs, and reports.

This package owns tool lookup (``tools``), the device catalogue (``devices``), build plans and
their execution (``plan``), Yosys synthesis per family (``synth``) and the parsing of its
statistics (``stat``), nextpnr place & route and packing (``pnr``), resource/timing reports
(``report``, ``chart``), formal equivalence (``equiv``), post-synthesis simulation
(``postsim``) and the ``lgn-hw build/report/verify/synth`` commands (``cli``).

It never imports torch. Board definitions and the UART wrapper live in ``boards``.
"""
