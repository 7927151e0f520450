"""Export a netlist as code: bit-sliced C99 for CPUs and microcontrollers (``--lang c``) and
C++ for HLS tools (``--lang hls``), from one logic graph (docs/export.md).

``minimize`` turns truth tables into few operations, ``logic`` puts the netlist in one
hash-consed Boolean graph (shared subexpressions, dead logic removed, carry-save popcounts, the
argmax), ``encoder`` fixes the integer semantics of the raw-feature encoder, ``c`` / ``hls`` emit
the sources around the fixed text of ``c_templates`` / ``c_driver`` / ``hls_templates`` (strings
of the netlist only through ``cnames``), ``engine`` builds the C into a cached shared library for
``lgn-hw infer --engine c``, ``cli`` is ``lgn-hw export``. Numpy only: no torch here.
"""
