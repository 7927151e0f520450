"""lgn-hw: differentiable logic gate networks, from training to FPGA hardware.

This package owns the numpy-only core shared by every stage (gates, the Netlist IR, encodings,
datasets, the ``lgn-hw`` CLI) and the project-wide defaults below. It stays import-light: nothing
here imports torch, amaranth or cupy.
"""

__version__ = "0.1.0"

#: Where ``python -m train`` writes its outputs when no ``--out`` is given.
DEFAULT_OUT = "lgn-out"
#: The netlist that ``lgn-hw`` commands read when no netlist path is given.
DEFAULT_NETLIST = "lgn-out/netlist.json"
#: Environment variable naming the dataset root (overridden by ``--data-root``).
DATA_ENV = "LGN_HW_DATA"

__all__ = ["__version__", "DEFAULT_OUT", "DEFAULT_NETLIST", "DATA_ENV"]
