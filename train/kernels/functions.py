"""torch.autograd.Functions running a logic layer on the CUDA kernels (layer_kernels.cu).

Tensors are handed to CuPy without copies through DLPack, and every launch goes on torch's
current CUDA stream (wrapped as ``cupy.cuda.ExternalStream``), so the kernels order correctly with
torch's own work and the caching allocator's stream semantics hold. CuPy is imported inside the
launch helpers only.

Backward: one kernel computes the parameter gradient (per-gate warp reduction) and, if x needs a
gradient, each (gate, input) pair's contribution into a partial buffer in reverse-index order; a
second kernel gathers the contiguous rows of each input (train/kernels/reverse_index.py). The
batch is processed in ranges that bound the partial buffer and split into slices that fill the
GPU for small layers (train/kernels/plan.py). Hard (eval) mode has no parameter gradient; its
input gradient goes through the 0/1 tables; straight-through mode (``ste``) runs the 0/1 tables
forward and for the input gradient, and the soft parameter gradient.
"""
from __future__ import annotations

import contextlib
import threading

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from . import compile as kc
from .checks import check_layer_args
from . import plan as plan_mod
from .plan import backward_plan
from .reverse_index import reverse_index

_state = threading.local()
#: train.kernels.emulate.Emulator while ``emulation()`` is active: the kernels run on the CPU
_emulator = None


def set_emulator(emu):
    """Route launches to an emulator (train/kernels/emulate.py), or back to CUDA with None;
    returns the previous one."""
    global _emulator
    old, _emulator = _emulator, emu
    return old


def emulating() -> bool:
    return _emulator is not None


#: bench/kernels.py's variant timing: kernels compiled with this LGN_FANIN6_MIN_BLOCKS
_fanin6_min_blocks = kc.FANIN6_MIN_BLOCKS


@contextlib.contextmanager
def kernel_variant(fanin6_min_blocks: int):
    """Launch the kernels compiled for another fan-in-6 register budget (benchmarking)."""
    global _fanin6_min_blocks
    old, _fanin6_min_blocks = _fanin6_min_blocks, int(fanin6_min_blocks)
    try:
        yield
    finally:
        _fanin6_min_blocks = old


def _get_kernels(device: torch.device, param: str, n: int, estimator, mode: str) -> dict:
    if _emulator is not None:
        return _emulator.kernels(param, n, estimator, mode)
    return kc.get_kernels(_device_index(device), param, n, estimator, mode, _fanin6_min_blocks)


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
    if _emulator is not None:
        yield None
        return
    import cupy

    stream = torch.cuda.current_stream(device)
    with cupy.cuda.Device(_device_index(device)), cupy.cuda.ExternalStream(stream.cuda_stream):
        yield cupy


def _cp(cupy, t: torch.Tensor):
    """The tensor as a CuPy array (zero-copy), or itself for the emulator (cupy is None)."""
    return t.detach() if cupy is None else cupy.from_dlpack(t.detach())


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


_SM_COUNTS: dict[int, int] = {}


def sm_count(device: torch.device) -> int:
    """Multiprocessors of a CUDA device (cached; 132 stands in for a CPU tensor in emulation)."""
    if device.type != "cuda":
        return 132
    index = device.index if device.index is not None else torch.cuda.current_device()
    if index not in _SM_COUNTS:
        _SM_COUNTS[index] = torch.cuda.get_device_properties(index).multi_processor_count
    return _SM_COUNTS[index]


def _device_index(device: torch.device) -> int:
    if device.type == "cuda" and device.index is None:
        return torch.cuda.current_device()
    return device.index or 0


def layer_forward(param: str, x, idx, params, n: int, estimator, mode: str) -> torch.Tensor:
    """y[G, B] from the forward kernel (arguments already checked and contiguous)."""
    G, B = idx.shape[0], x.shape[1]
    y = _alloc((G, B), x)
    if G == 0 or B == 0:
        return y
    kern = _get_kernels(x.device, param, n, estimator, mode)["forward"]
    with _torch_stream(x.device) as cupy:
        kern((_ceil(G, kc.GATES_PER_BLOCK), _ceil(B, kc.BATCH_CHUNK)), (32 * kc.GATES_PER_BLOCK,),
             (_cp(cupy, x), _cp(cupy, idx), _cp(cupy, params), _cp(cupy, y),
              np.int32(G), np.int32(B), np.int32(kc.BATCH_CHUNK)))
    return y


def layer_backward(param: str, x, idx, params, gy, n: int, estimator, mode: str,
                   need_gx: bool, need_gparams: bool):
    """(gx[in_dim, B] or None, gparams or None) from the backward and gather kernels."""
    in_dim, B = x.shape
    G = idx.shape[0]
    _, pgrad = kc.check_mode(mode)
    need_gparams = need_gparams and pgrad
    if not (need_gx or need_gparams):
        return None, None
    plan = backward_plan(G, n, B, need_gx, sm_count(x.device), plan_mod.SCRATCH_BYTES)
    # Kernels with a parameter gradient always write it (PGRAD), so they always get a buffer of
    # their own, even when the parameters are frozen: one row per batch slice.
    gslices = _alloc((plan.slices, *params.shape), x) if pgrad else None
    gx = _alloc((in_dim, B), x) if need_gx else None
    if G == 0 or B == 0:
        if gx is not None:
            gx.zero_()
        return gx, (torch.zeros_like(params) if need_gparams else None)
    kerns = _get_kernels(x.device, param, n, estimator, mode)
    if need_gx:
        slot, ptr = reverse_index(idx, in_dim)
        partial = _alloc((G * n, plan.width), x)
    block = (32 * kc.GATES_PER_BLOCK,)
    with _torch_stream(x.device) as cupy:
        X, I, P, GY = _cp(cupy, x), _cp(cupy, idx), _cp(cupy, params), _cp(cupy, gy)
        # Without a parameter gradient the kernel never touches gparams; without the input
        # gradient never partial/slot (GX = false): gy/idx stand in for those pointer arguments.
        GP = _cp(cupy, gslices) if gslices is not None else GY
        if need_gx:
            PART, SLOT, PTR, GX = (_cp(cupy, partial), _cp(cupy, slot), _cp(cupy, ptr),
                                   _cp(cupy, gx))
        kern = kerns["backward_gx" if need_gx else "backward"]
        for r, (b0, b1) in enumerate(plan.ranges):
            grid = (_ceil(G, kc.GATES_PER_BLOCK), plan.slices_of(b0, b1))
            kern(grid, block, (X, I, P, GY, GP, PART if need_gx else GY, SLOT if need_gx else I,
                               np.int32(G), np.int32(B), np.int32(b0), np.int32(b1),
                               np.int32(plan.span), np.int32(1 if r else 0)))
            if need_gx:
                width = b1 - b0
                kerns["gather"]((_ceil(in_dim, kc.ROWS_PER_BLOCK), _ceil(width, kc.BATCH_CHUNK)),
                                (32 * kc.ROWS_PER_BLOCK,),
                                (PART, PTR, GX, np.int32(in_dim), np.int32(width), np.int32(B),
                                 np.int32(b0), np.int32(kc.BATCH_CHUNK)))
    gparams = None
    if need_gparams:
        # A slice that a shorter last range does not reach keeps its earlier ranges' sums, so
        # every row of gslices is written by the first range (the widest).
        gparams = gslices[0] if plan.slices == 1 else gslices.sum(0)
    return gx, gparams


class IwpFunction(torch.autograd.Function):
    """y = IWP layer(x; idx, theta) on the CUDA kernels."""

    @staticmethod
    def forward(ctx, x, idx, theta, fan_in, estimator, mode):
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(x, idx, theta)
        ctx.config = (fan_in, estimator, mode)
        return layer_forward("iwp", x, idx, theta, fan_in, estimator, mode)

    @staticmethod
    @once_differentiable
    def backward(ctx, gy):
        x, idx, theta = ctx.saved_tensors
        fan_in, estimator, mode = ctx.config
        gx, gtheta = layer_backward("iwp", x, idx, theta, gy.contiguous(), fan_in, estimator, mode,
                                    ctx.needs_input_grad[0], ctx.needs_input_grad[2])
        return gx, None, gtheta, None, None, None


class OriginalFunction(torch.autograd.Function):
    """y = original 16-softmax two-input layer(x; idx, logits) on the CUDA kernels."""

    @staticmethod
    def forward(ctx, x, idx, logits, mode):
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(x, idx, logits)
        ctx.mode = mode
        return layer_forward("original", x, idx, logits, 2, None, mode)

    @staticmethod
    @once_differentiable
    def backward(ctx, gy):
        x, idx, logits = ctx.saved_tensors
        gx, glogits = layer_backward("original", x, idx, logits, gy.contiguous(), 2, None, ctx.mode,
                                     ctx.needs_input_grad[0], ctx.needs_input_grad[2])
        return gx, None, glogits, None


def _mode(hard: bool, mode: str | None) -> str:
    if mode is None:
        return "hard" if hard else "soft"
    kc.check_mode(mode)
    return mode


def iwp_apply(x: torch.Tensor, idx: torch.Tensor, theta: torch.Tensor, fan_in: int,
              estimator: str, hard: bool = False, mode: str | None = None) -> torch.Tensor:
    """IWP layer on CUDA: x float32[in_dim, B], idx int32[G, n], theta float32[G, 2**n] ->
    y float32[G, B]; differentiable in x and theta (theta only when not ``hard``). ``mode``
    (soft, hard or ste: straight-through) overrides ``hard``."""
    mode = _mode(hard, mode)
    check_layer_args(x, idx, theta, param="iwp", fan_in=fan_in, estimator=estimator,
                     require_cuda=_emulator is None)
    reverse_index(idx, x.shape[0])  # validates the indices once per connection tensor
    return IwpFunction.apply(x.contiguous(), idx.contiguous(), theta.contiguous(), int(fan_in),
                             estimator, mode)


def original_apply(x: torch.Tensor, idx: torch.Tensor, logits: torch.Tensor,
                   hard: bool = False, mode: str | None = None) -> torch.Tensor:
    """Original parametrisation on CUDA: logits float32[G, 16] over difflogic's 16 two-input
    functions (lgn_hw.gates order); hard = the argmax function; ``mode`` as for iwp_apply."""
    mode = _mode(hard, mode)
    check_layer_args(x, idx, logits, param="original", fan_in=2, estimator=None,
                     require_cuda=_emulator is None)
    reverse_index(idx, x.shape[0])
    return OriginalFunction.apply(x.contiguous(), idx.contiguous(), logits.contiguous(), mode)
