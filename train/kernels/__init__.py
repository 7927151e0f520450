"""CUDA training kernels (CuPy RawModules) for logic layers: IWP gates of fan-in 1..6 and the
original 16-softmax two-input parametrisation, forward and backward.

Public API (used by train/layers.py when tensors are on a GPU):

- ``available()``: CuPy imports and a CUDA device is present (never raises).
- ``iwp_apply(x, idx, theta, fan_in, estimator, hard=False, mode=None)`` and
  ``original_apply(x, idx, logits, hard=False, mode=None)``: autograd-aware layer applications on
  CUDA tensors (feature-major x[in_dim, B] float32, idx[G, n] int32) returning y[G, B]; mode is
  soft, hard or ste (straight-through, --hard-finetune).

CuPy is never imported at module level: importing this package works without it.
Set ``LGN_HW_NO_CUDA_KERNELS=1`` to make ``available()`` False (the layers then use torch).
"""
from __future__ import annotations

import functools
import os

from .checks import KernelArgumentError

__all__ = ["available", "wants", "iwp_apply", "original_apply", "KernelArgumentError"]


@functools.lru_cache(maxsize=None)
def _probe() -> bool:
    try:
        import torch

        if not torch.cuda.is_available():
            return False
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no cupy, no driver, no device: the torch path is used
        return False


def available() -> bool:
    """True when the CUDA kernels can run: CuPy importable and a CUDA device present."""
    if os.environ.get("LGN_HW_NO_CUDA_KERNELS", "") not in ("", "0"):
        return False
    return _probe()


def wants(x) -> bool:
    """Whether a layer should run ``x`` on these kernels: float32 on CUDA with the kernels
    available, or float32 on the CPU while ``train.kernels.emulate.emulation()`` is active."""
    import torch

    if x.dtype != torch.float32:
        return False
    if x.is_cuda:
        return available()
    from . import functions

    return functions.emulating()


def iwp_apply(x, idx, theta, fan_in, estimator, hard=False, mode=None):
    """See :func:`train.kernels.functions.iwp_apply`."""
    from .functions import iwp_apply as _apply

    return _apply(x, idx, theta, fan_in, estimator, hard, mode)


def original_apply(x, idx, logits, hard=False, mode=None):
    """See :func:`train.kernels.functions.original_apply`."""
    from .functions import original_apply as _apply

    return _apply(x, idx, logits, hard, mode)
