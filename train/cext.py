"""The fused CPU kernel (train/csrc/multilinear.c, mixed.h): building, caching, loading, autograd.

Two layer functions: ``multilinear`` (fixed connections) and ``mixed_multilinear`` (learned
connections: each gate input the weighted mix of C candidate rows, train/connections.py).

The C source is compiled on first use (once per precision) with the machine's C compiler (``$CC``, else ``cc``/``gcc``)
into a per-user cache (``$LGN_HW_CACHE`` or ``~/.cache/lgn-hw``), keyed by a hash of the source, the
flags, the compiler and the CPU, and loaded with ctypes (which releases the GIL during calls).
Compiling takes about a second; no torch headers are involved. If there is no working compiler,
``available()`` is False and the layers use the pure-torch path instead (one warning).
Set ``LGN_HW_NO_CEXT=1`` to force the pure-torch path.
"""
from __future__ import annotations

import ctypes
import os
import threading
import warnings
from pathlib import Path

import torch

# the cached, atomic build is shared with the export (lgn_hw.cbuild); re-exported for train.kernels
from lgn_hw.cbuild import build_cached, cache_dir, compiler_version, cpu_tag, find_compiler  # noqa: F401

_SOURCE = Path(__file__).with_name("csrc") / "multilinear.c"
_HEADERS = (Path(__file__).with_name("csrc") / "mixed.h",)  # included by multilinear.c
ABI_VERSION = 5
_FLAGS = ["-O2", "-ftree-vectorize", "-march=native", "-ffp-contract=off", "-fopenmp", "-shared", "-fPIC", "-std=c11"]
_lock = threading.Lock()
_libs: dict = {}  # "f32" / "f64" -> loaded library
_failed: dict = {}  # same keys -> why it could not be built


def _build(cc: str, suffix: str) -> Path:
    flags = _FLAGS + (["-DLGN_F64"] if suffix == "f64" else [])
    src = b"\0".join(p.read_bytes() for p in (_SOURCE, *_HEADERS))
    key = b"\0".join([src, " ".join(flags).encode(), compiler_version(cc).encode(), cpu_tag().encode()])
    return build_cached([cc, *flags], _SOURCE, key, f"lgn_multilinear_{suffix}", libs=["-lm"])


def _declare(lib: ctypes.CDLL, suf: str) -> None:
    p, i64, i32 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int
    f = getattr(lib, f"lgn_forward_{suf}")
    f.argtypes = [p, i64, p, p, i64, i32, p, i32]
    f.restype = None
    b = getattr(lib, f"lgn_backward_{suf}")
    b.argtypes = [p, i64, i64, p, p, i64, i32, p, p, p, p, i32]
    b.restype = None
    mf = getattr(lib, f"lgn_mix_forward_{suf}")
    mf.argtypes = [p, i64, p, p, i32, p, i64, i32, p, i32]
    mf.restype = i32
    mb = getattr(lib, f"lgn_mix_backward_{suf}")
    mb.argtypes = [p, i64, i64, p, p, i32, p, i64, i32, p, p, p, p, p, p, i32]
    mb.restype = i32


def load(suffix: str = "f32"):
    """The loaded library for one precision ("f32" or "f64"), building it if needed (about a
    second of compiling, cached per machine); None if it cannot be built."""
    if suffix in _libs or suffix in _failed:
        return _libs.get(suffix)
    with _lock:
        if suffix in _libs or suffix in _failed:
            return _libs.get(suffix)
        if os.environ.get("LGN_HW_NO_CEXT", "") not in ("", "0"):
            _failed[suffix] = "disabled by LGN_HW_NO_CEXT"
            return None
        cc = find_compiler()
        try:
            if cc is None:
                raise RuntimeError("no C compiler found (set $CC)")
            lib = ctypes.CDLL(str(_build(cc, suffix)))
            if lib.lgn_abi_version() != ABI_VERSION:
                raise RuntimeError("stale kernel library")
            _declare(lib, suffix)
            _libs[suffix] = lib
        except (OSError, RuntimeError) as exc:
            _failed[suffix] = str(exc)
            warnings.warn(f"lgn-hw: fused CPU kernel unavailable ({exc}); "
                          "training uses the slower pure-torch path", RuntimeWarning, stacklevel=3)
    return _libs.get(suffix)


def available(dtype: torch.dtype = torch.float32) -> bool:
    """Whether the fused kernel for ``dtype`` (float32 or float64) can be used."""
    if dtype not in (torch.float32, torch.float64):
        return False
    return load(_suffix(dtype)) is not None


def _suffix(dtype: torch.dtype) -> str:
    if dtype == torch.float32:
        return "f32"
    if dtype == torch.float64:
        return "f64"
    raise TypeError(f"fused CPU kernel supports float32/float64, not {dtype}")


def _threads() -> int:
    return max(1, torch.get_num_threads())


def forward(x: torch.Tensor, idx: torch.Tensor, coef: torch.Tensor) -> torch.Tensor:
    """y[G, B] from x[in_dim, B], idx int32[G, n], coef[G, 2**n] (no autograd)."""
    suf = _suffix(x.dtype)
    lib = load(suf)
    G, n = idx.shape
    B = x.shape[1]
    y = torch.empty(G, B, dtype=x.dtype)
    getattr(lib, f"lgn_forward_{suf}")(
        x.data_ptr(), B, idx.data_ptr(), coef.data_ptr(), G, n, y.data_ptr(), _threads())
    return y


def backward(x, idx, coef, dy, need_dx: bool):
    suf = _suffix(x.dtype)
    lib = load(suf)
    G, n = idx.shape
    B = x.shape[1]
    nt = min(_threads(), max(1, (B + 15) // 16))
    dx = torch.empty_like(x) if need_dx else None
    part = torch.empty(nt, G, 1 << n, dtype=x.dtype)
    dcoef = torch.empty(G, 1 << n, dtype=x.dtype)
    getattr(lib, f"lgn_backward_{suf}")(
        x.data_ptr(), x.shape[0], B, idx.data_ptr(), coef.data_ptr(), G, n, dy.data_ptr(),
        dx.data_ptr() if dx is not None else None, part.data_ptr(), dcoef.data_ptr(), nt)
    return dx, dcoef


class MultilinearFn(torch.autograd.Function):
    """Autograd wrapper: y = multilinear(coef, x[idx]) in the feature-major layout."""

    @staticmethod
    def forward(ctx, x, idx, coef):
        x = x.contiguous()
        coef = coef.contiguous()
        ctx.save_for_backward(x, idx, coef)
        return forward(x, idx, coef)

    @staticmethod
    def backward(ctx, dy):
        x, idx, coef = ctx.saved_tensors
        dx, dcoef = backward(x, idx, coef, dy.contiguous(), ctx.needs_input_grad[0])
        return dx, None, dcoef if ctx.needs_input_grad[2] else None


def multilinear(x: torch.Tensor, idx: torch.Tensor, coef: torch.Tensor) -> torch.Tensor:
    """Fused multilinear layer on CPU tensors; idx must be contiguous int32."""
    return MultilinearFn.apply(x, idx, coef)


def max_candidates() -> int:
    """The most candidates per gate input the fused mix supports (LGN_MAX_CANDIDATES)."""
    lib = load("f32") or load("f64")
    return int(lib.lgn_max_candidates()) if lib is not None else 0


def _check_mixed(x, cand, w, coef):
    G, n, C = cand.shape
    if cand.dtype != torch.int32 or not cand.is_contiguous():
        raise TypeError("candidates must be contiguous int32 [G, n, C]")
    if w.shape != cand.shape or coef.shape != (G, 1 << n) or x.dim() != 2:
        raise ValueError(f"mixed layer shapes: x {tuple(x.shape)}, candidates {tuple(cand.shape)}, "
                         f"weights {tuple(w.shape)}, coefficients {tuple(coef.shape)}")
    if not 1 <= C <= max_candidates():
        raise ValueError(f"the fused mix supports 1..{max_candidates()} candidates, got {C}")


def mixed_forward(x, cand, w, coef) -> torch.Tensor:
    """y[G, B] of a learned-connection layer: x[in_dim, B], cand int32[G, n, C], mixing weights
    w[G, n, C], coef[G, 2**n] (no autograd)."""
    suf = _suffix(x.dtype)
    lib = load(suf)
    G, n, C = cand.shape
    B = x.shape[1]
    y = torch.empty(G, B, dtype=x.dtype)
    rc = getattr(lib, f"lgn_mix_forward_{suf}")(x.data_ptr(), B, cand.data_ptr(), w.data_ptr(), C,
                                                coef.data_ptr(), G, n, y.data_ptr(), _threads())
    if rc:
        raise ValueError(f"fused mix refused fan-in {n} with {C} candidates")
    return y


def mixed_backward(x, cand, w, coef, dy, need_dx: bool):
    """(dx or None, dw[G, n, C], dcoef[G, 2**n]) of mixed_forward."""
    suf = _suffix(x.dtype)
    lib = load(suf)
    G, n, C = cand.shape
    B = x.shape[1]
    nt = min(_threads(), max(1, (B + 15) // 16))
    dx = torch.empty_like(x) if need_dx else None
    dcoef_part = torch.empty(nt, G, 1 << n, dtype=x.dtype)
    dw_part = torch.empty(nt, G, n, C, dtype=x.dtype)
    dcoef = torch.empty(G, 1 << n, dtype=x.dtype)
    dw = torch.empty(G, n, C, dtype=x.dtype)
    rc = getattr(lib, f"lgn_mix_backward_{suf}")(
        x.data_ptr(), x.shape[0], B, cand.data_ptr(), w.data_ptr(), C, coef.data_ptr(), G, n,
        dy.data_ptr(), dx.data_ptr() if dx is not None else None, dcoef_part.data_ptr(),
        dcoef.data_ptr(), dw_part.data_ptr(), dw.data_ptr(), nt)
    if rc:
        raise ValueError(f"fused mix refused fan-in {n} with {C} candidates")
    return dx, dw, dcoef


class MixedMultilinearFn(torch.autograd.Function):
    """Autograd wrapper: y = multilinear(coef, mix(x, cand, w)), differentiable in x, w, coef."""

    @staticmethod
    def forward(ctx, x, cand, w, coef):
        x, w, coef = x.contiguous(), w.contiguous(), coef.contiguous()
        ctx.save_for_backward(x, cand, w, coef)
        return mixed_forward(x, cand, w, coef)

    @staticmethod
    def backward(ctx, dy):
        x, cand, w, coef = ctx.saved_tensors
        dx, dw, dcoef = mixed_backward(x, cand, w, coef, dy.contiguous(), ctx.needs_input_grad[0])
        return (dx, None, dw if ctx.needs_input_grad[2] else None,
                dcoef if ctx.needs_input_grad[3] else None)


def mixed_multilinear(x: torch.Tensor, cand: torch.Tensor, w: torch.Tensor,
                      coef: torch.Tensor) -> torch.Tensor:
    """Fused learned-connection layer on CPU tensors (one dtype); cand contiguous int32."""
    _check_mixed(x, cand, w, coef)
    return MixedMultilinearFn.apply(x, cand, w, coef)
