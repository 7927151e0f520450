"""lgn-hw training: differentiable logic gate networks in torch, and their discretization.

``train.discretize(model) -> lgn_hw.netlist.Netlist`` is the entry point later stages need;
``python -m train`` is the command line (train/__main__.py). Layers live in ``train.layers``,
the pure-torch reference maths in ``train.functional``, the fused CPU kernel in ``train.cext``
and the CUDA kernels in ``train.kernels``. Importing this package does not import torch (so
``python -m train`` can set OpenMP's wait policy first); torch loads with the first module that
needs it.
"""
from .discretize import discretize

__all__ = ["discretize"]
