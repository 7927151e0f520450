"""torch.autograd.Functions running a logic layer on the CUDA kernels (layer_kernels.cu).

Tensors are handed to CuPy without copies through DLPack, and every launch goes on torch's
current CUDA stream (wrapped as ``cupy.cuda.ExternalStream``), so the kernels order correctly with
torch's own work and the caching allocator's stream semantics hold. CuPy is imported inside the
launch helpers only.

Backward: one kernel computes the parameter gradient (per-gate warp reduction) and, if x needs a
gradient, each (gate, input) pair's contribution into a partial buffer in reverse-index order; a
second kernel gathers the contiguous rows of each input (train/kernels/reverse_index.py). Hard
(eval) mode has no parameter gradient; its input gradient goes through the 0/1 tables.
"""
from __future__ import annotations

import contextlib
import threading

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from . import compile as kc
from .checks import check_layer_args
from .reverse_index import reverse_index

_state = threading.local()


@contextlib.contextmanager
def poison_outputs(enabled: bool = True):
    """Allocate every kernel output NaN-filled instead of uninitialised (used by the benchmark's
    correctness checks: an element a kernel forgets to write shows up as NaN)."""
    old = getattr(_state, "poison", False)
    _state.poison = enabled
    try:
        yield
    finally:
        _state.poison = old


def _alloc(shape, like: torch.Tensor) -> torch.Tensor:
    if getattr(_state, "poison", False):
        return torch.full(shape, float("nan"), dtype=torch.float32, device=like.device)
    return torch.empty(shape, dtype=torch.float32, device=like.device)


@contextlib.contextmanager
def _torch_stream(device: torch.device):
    import cupy

    stream = torch.cuda.current_stream(device)
    with cupy.cuda.Device(device.index), cupy.cuda.ExternalStream(stream.cuda_stream):
        yield cupy


def _cp(cupy, t: torch.Tensor):
    return cupy.from_dlpack(t.detach())


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def layer_forward(param: str, x, idx, params, n: int, estimator, hard: bool) -> torch.Tensor:
    """y[G, B] from the forward kernel (arguments already checked and contiguous)."""
    G, B = idx.shape[0], x.shape[1]
    y = _alloc((G, B), x)
    if G == 0 or B == 0:
        return y
    kern = kc.get_kernels(x.device.index, param, n, estimator, hard)["forward"]
    with _torch_stream(x.device) as cupy:
        kern((_ceil(G, kc.GATES_PER_BLOCK), _ceil(B, kc.BATCH_CHUNK)), (32 * kc.GATES_PER_BLOCK,),
             (_cp(cupy, x), _cp(cupy, idx), _cp(cupy, params), _cp(cupy, y),
              np.int32(G), np.int32(B), np.int32(kc.BATCH_CHUNK)))
    return y


def layer_backward(param: str, x, idx, params, gy, n: int, estimator, hard: bool,
                   need_gx: bool, need_gparams: bool):
    """(gx[in_dim, B] or None, gparams or None) from the backward and gather kernels."""
    in_dim, B = x.shape
    G = idx.shape[0]
    need_gparams = need_gparams and not hard
    if not (need_gx or need_gparams):
        return None, None
    # Soft mode kernels always write the parameter gradient (PGRAD = !HARD), so they always get a
    # buffer of their own, even when the parameters are frozen.
    gparams = None if hard else _alloc(tuple(params.shape), x)
    if need_gx:
        slot, ptr = reverse_index(idx, in_dim)
        partial = _alloc((G * n, B), x)
        gx = _alloc((in_dim, B), x)
    if G == 0 or B == 0:
        if gparams is not None:
            gparams.zero_()
        return (gx.zero_() if need_gx else None), (gparams if need_gparams else None)
    kerns = kc.get_kernels(x.device.index, param, n, estimator, hard)
    # Hard mode writes no parameter gradient; the kernel still needs a valid pointer argument.
    gp_out = gparams if gparams is not None else gy
    with _torch_stream(x.device) as cupy:
        X, I, P, GY = _cp(cupy, x), _cp(cupy, idx), _cp(cupy, params), _cp(cupy, gy)
        grid = (_ceil(G, kc.GATES_PER_BLOCK),)
        block = (32 * kc.GATES_PER_BLOCK,)
        if need_gx:
            kerns["backward_gx"](grid, block, (X, I, P, GY, _cp(cupy, gp_out), _cp(cupy, partial),
                                               _cp(cupy, slot), np.int32(G), np.int32(B)))
            kerns["gather"]((_ceil(in_dim, kc.ROWS_PER_BLOCK), _ceil(B, kc.BATCH_CHUNK)),
                            (32 * kc.ROWS_PER_BLOCK,),
                            (_cp(cupy, partial), _cp(cupy, ptr), _cp(cupy, gx), np.int32(in_dim),
                             np.int32(B), np.int32(kc.BATCH_CHUNK)))
        else:
            # No input gradient: partial/slot are never touched (GX = false); pass gy/idx as
            # placeholders for the pointer arguments.
            kerns["backward"](grid, block, (X, I, P, GY, _cp(cupy, gp_out), GY, I,
                                            np.int32(G), np.int32(B)))
    return (gx if need_gx else None), (gparams if need_gparams else None)


class IwpFunction(torch.autograd.Function):
    """y = IWP layer(x; idx, theta) on the CUDA kernels."""

    @staticmethod
    def forward(ctx, x, idx, theta, fan_in, estimator, hard):
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(x, idx, theta)
        ctx.config = (fan_in, estimator, hard)
        return layer_forward("iwp", x, idx, theta, fan_in, estimator, hard)

    @staticmethod
    @once_differentiable
    def backward(ctx, gy):
        x, idx, theta = ctx.saved_tensors
        fan_in, estimator, hard = ctx.config
        gx, gtheta = layer_backward("iwp", x, idx, theta, gy.contiguous(), fan_in, estimator, hard,
                                    ctx.needs_input_grad[0], ctx.needs_input_grad[2])
        return gx, None, gtheta, None, None, None


class OriginalFunction(torch.autograd.Function):
    """y = original 16-softmax two-input layer(x; idx, logits) on the CUDA kernels."""

    @staticmethod
    def forward(ctx, x, idx, logits, hard):
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(x, idx, logits)
        ctx.hard = hard
        return layer_forward("original", x, idx, logits, 2, None, hard)

    @staticmethod
    @once_differentiable
    def backward(ctx, gy):
        x, idx, logits = ctx.saved_tensors
        gx, glogits = layer_backward("original", x, idx, logits, gy.contiguous(), 2, None, ctx.hard,
                                     ctx.needs_input_grad[0], ctx.needs_input_grad[2])
        return gx, None, glogits, None


def iwp_apply(x: torch.Tensor, idx: torch.Tensor, theta: torch.Tensor, fan_in: int,
              estimator: str, hard: bool = False) -> torch.Tensor:
    """IWP layer on CUDA: x float32[in_dim, B], idx int32[G, n], theta float32[G, 2**n] ->
    y float32[G, B]; differentiable in x and theta (theta only when not ``hard``)."""
    check_layer_args(x, idx, theta, param="iwp", fan_in=fan_in, estimator=estimator)
    reverse_index(idx, x.shape[0])  # validates the indices once per connection tensor
    return IwpFunction.apply(x.contiguous(), idx.contiguous(), theta.contiguous(), int(fan_in),
                             estimator, bool(hard))


def original_apply(x: torch.Tensor, idx: torch.Tensor, logits: torch.Tensor,
                   hard: bool = False) -> torch.Tensor:
    """Original parametrisation on CUDA: logits float32[G, 16] over difflogic's 16 two-input
    functions (lgn_hw.gates order); hard = the argmax function."""
    check_layer_args(x, idx, logits, param="original", fan_in=2, estimator=None)
    reverse_index(idx, x.shape[0])
    return OriginalFunction.apply(x.contiguous(), idx.contiguous(), logits.contiguous(), bool(hard))
