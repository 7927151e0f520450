"""Argument checks of the CUDA layer functions, with one-line errors.

``iwp_apply`` / ``original_apply`` validate here before anything reaches CuPy: shapes, dtypes,
devices, fan-in and estimator. The checks are plain torch and run (and are tested) on the CPU.
"""
from __future__ import annotations

import torch

from .compile import ESTIMATOR_CODES, FAN_INS


class KernelArgumentError(ValueError):
    """A CUDA layer function was called with arguments it cannot run on."""


def _shape(t: torch.Tensor) -> str:
    return "(" + ", ".join(str(s) for s in t.shape) + ")"


def check_layer_args(x: torch.Tensor, idx: torch.Tensor, params: torch.Tensor, *, param: str,
                     fan_in: int, estimator: str | None, require_cuda: bool = True) -> None:
    """Raise KernelArgumentError unless the arguments fit the kernels:
    x float32[in_dim, B], idx int32[G, fan_in], params float32[G, 2**fan_in] (iwp) or [G, 16]
    (original, fan-in 2), all on one CUDA device."""
    for name, t in (("x", x), ("idx", idx), ("params", params)):
        if not isinstance(t, torch.Tensor):
            raise KernelArgumentError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if param == "iwp":
        if isinstance(fan_in, bool) or not isinstance(fan_in, int) or fan_in not in FAN_INS:
            raise KernelArgumentError(f"fan_in must be an integer in 1..6, got {fan_in!r}")
        if estimator not in ESTIMATOR_CODES:
            raise KernelArgumentError(f"unknown estimator {estimator!r} (expected sin or sigmoid)")
        n_params = 1 << fan_in
    elif param == "original":
        if fan_in != 2:
            raise KernelArgumentError(f"the original parametrisation has fan-in 2, got {fan_in!r}")
        n_params = 16
    else:
        raise KernelArgumentError(f"unknown parametrisation {param!r} (expected iwp or original)")
    if x.dim() != 2:
        raise KernelArgumentError(f"x must have shape (in_dim, B), got {_shape(x)}")
    if idx.dim() != 2 or idx.shape[1] != fan_in:
        raise KernelArgumentError(f"idx must have shape (G, {fan_in}), got {_shape(idx)}")
    G = idx.shape[0]
    if params.dim() != 2 or params.shape != (G, n_params):
        raise KernelArgumentError(f"{'theta' if param == 'iwp' else 'logits'} must have shape "
                                  f"({G}, {n_params}), got {_shape(params)}")
    if x.shape[0] < 1:
        raise KernelArgumentError("x must have at least one input row")
    if x.dtype != torch.float32:
        raise KernelArgumentError(f"x must be float32 (the kernels are float32), got {x.dtype}")
    if params.dtype != torch.float32:
        raise KernelArgumentError(f"parameters must be float32, got {params.dtype}")
    if idx.dtype != torch.int32:
        raise KernelArgumentError(f"idx must be int32, got {idx.dtype}")
    if x.shape[1] > 2**31 - 1 or G > 2**31 - 1:
        raise KernelArgumentError(f"batch {x.shape[1]} / gates {G} exceed the int32 range")
    devices = {t.device for t in (x, idx, params)}
    if len(devices) != 1:
        names = ", ".join(f"{n} on {t.device}" for n, t in (("x", x), ("idx", idx), ("params", params)))
        raise KernelArgumentError(f"x, idx and parameters must be on one device ({names})")
    if require_cuda and x.device.type != "cuda":
        raise KernelArgumentError(f"the CUDA kernels need CUDA tensors, got {x.device} "
                                  "(use the torch path on the CPU)")
