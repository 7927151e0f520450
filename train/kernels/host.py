"""The kernels' device arithmetic run on the CPU: host_shim.cu built as host C++ and loaded by ctypes.

``host_shim.cu`` includes the same ``lgn_math.cuh`` / ``warp_reduce.cuh`` the CUDA kernels use and
mirrors the kernels' per-gate loops (forward, backward into the reverse-index partial buffer,
gather). The tests compare it with the torch reference, and ``bench/kernels.py --dry-run`` uses it
in place of the CUDA launches. It is a checking tool, not a fast path.

The library is compiled on first use with ``$CXX`` (else ``g++``/``c++``/``clang++``) into the
per-user cache of train/cext.py, keyed by a hash of the sources and flags; written atomically.
"""
from __future__ import annotations

import ctypes
import threading
from pathlib import Path

import numpy as np

from . import compile as kc

FLAGS = ["-x", "c++", "-std=c++20", "-O2", "-fPIC", "-shared", "-pthread", "-ffp-contract=off"]
_lock = threading.Lock()
_lib = None


class HostShimError(RuntimeError):
    """The host shim could not be built or was called with a bad configuration."""


def _build() -> Path:
    from train.cext import build_cached, find_compiler

    cxx = find_compiler("CXX", ("g++", "c++", "clang++"))
    if cxx is None:
        raise HostShimError("no C++ compiler found (set $CXX) to build the kernels' host shim")
    sources = b"\0".join(kc.source_path(n).read_bytes()
                         for n in ("host_shim.cu", "lgn_math.cuh", "warp_reduce.cuh"))
    try:
        return build_cached([cxx, *FLAGS], kc.source_path("host_shim.cu"),
                            sources + " ".join([cxx, *FLAGS]).encode(), "kernels-host")
    except RuntimeError as e:
        raise HostShimError(f"building the host shim failed: {e}") from None


def library() -> ctypes.CDLL:
    """The loaded host shim (built on first use)."""
    global _lib
    with _lock:
        if _lib is None:
            _lib = ctypes.CDLL(str(_build()))
        return _lib


def _ptr(a: np.ndarray):
    return a.ctypes.data_as(ctypes.c_void_p)


def _arr(a, dtype) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a), dtype=dtype)


def _suffix(dtype) -> str:
    if np.dtype(dtype) == np.float32:
        return "f32"
    if np.dtype(dtype) == np.float64:
        return "f64"
    raise HostShimError(f"host shim supports float32 and float64, got {np.dtype(dtype)}")


def _call(name: str, *args) -> None:
    fn = getattr(library(), name)
    fn.restype = ctypes.c_int
    if fn(*args) != 0:
        raise HostShimError(f"{name}: unsupported configuration")


def forward(param: str, x, idx, params, n: int, estimator: str | None, hard: bool,
            dtype=np.float32) -> np.ndarray:
    """y[G, B] as the forward kernel computes it, in ``dtype`` (float32 like the GPU, or float64)."""
    x, params, idx = _arr(x, dtype), _arr(params, dtype), _arr(idx, np.int32)
    G, B = idx.shape[0], x.shape[1]
    y = np.full((G, B), np.nan, dtype=dtype)
    sfx, i = _suffix(dtype), ctypes.c_int
    if param == "iwp":
        _call(f"lgn_iwp_forward_{sfx}", i(n), i(kc.ESTIMATOR_CODES[estimator]), i(int(hard)),
              _ptr(x), _ptr(idx), _ptr(params), _ptr(y), i(G), i(B))
    else:
        _call(f"lgn_orig_forward_{sfx}", i(int(hard)), _ptr(x), _ptr(idx), _ptr(params), _ptr(y),
              i(G), i(B))
    return y


def backward_partial(param: str, x, idx, params, gy, n: int, estimator: str | None, hard: bool,
                     slot, dtype=np.float32) -> tuple[np.ndarray | None, np.ndarray]:
    """What the backward kernel writes: (gparams or None in hard mode, partial[G * n, B] with the
    contribution of pair (g, k) in row slot[g, k]). Outputs start NaN-filled."""
    x, params, gy = _arr(x, dtype), _arr(params, dtype), _arr(gy, dtype)
    idx, slot = _arr(idx, np.int32), _arr(slot, np.int32)
    B, G = x.shape[1], idx.shape[0]
    gparams = np.full(params.shape, np.nan, dtype=dtype)
    partial = np.full((G * n, B), np.nan, dtype=dtype)
    sfx, i = _suffix(dtype), ctypes.c_int
    if param == "iwp":
        _call(f"lgn_iwp_backward_{sfx}", i(n), i(kc.ESTIMATOR_CODES[estimator]), i(int(hard)),
              _ptr(x), _ptr(idx), _ptr(params), _ptr(gy), _ptr(gparams), _ptr(partial), _ptr(slot),
              i(G), i(B))
    else:
        _call(f"lgn_orig_backward_{sfx}", i(int(hard)), _ptr(x), _ptr(idx), _ptr(params), _ptr(gy),
              _ptr(gparams), _ptr(partial), _ptr(slot), i(G), i(B))
    return (None if hard else gparams), partial


def gather(partial, ptr, rows: int) -> np.ndarray:
    """What the gather kernel writes: gx[i] = sum of partial rows ptr[i] .. ptr[i + 1] - 1."""
    partial = np.ascontiguousarray(partial)
    ptr = _arr(ptr, np.int32)
    if ptr.shape != (rows + 1,):
        raise HostShimError(f"ptr must have {rows + 1} entries, got {ptr.shape}")
    gx = np.full((rows, partial.shape[1]), np.nan, dtype=partial.dtype)
    i = ctypes.c_int
    _call(f"lgn_gather_{_suffix(partial.dtype)}", _ptr(partial), _ptr(ptr), _ptr(gx), i(rows),
          i(partial.shape[1]))
    return gx


def backward(param: str, x, idx, params, gy, n: int, estimator: str | None, hard: bool,
             slot, ptr, dtype=np.float32) -> tuple[np.ndarray, np.ndarray | None]:
    """(gx[in_dim, B], gparams or None in hard mode) through the backward kernel's partial buffer
    in reverse-index order (``slot``, ``ptr`` from reverse_index.build_reverse_index) and the
    gather kernel."""
    gparams, partial = backward_partial(param, x, idx, params, gy, n, estimator, hard, slot, dtype)
    return gather(partial, ptr, np.asarray(x).shape[0]), gparams


def warp_reduce_scatter(values) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run the kernels' warp reduce-scatter on ``values[32, M]`` with 32 host threads as lanes.
    Returns (out[32, M] where lane l's sums are out[l, :R], base[32], owner[32] bool)."""
    v = _arr(values, np.float32)
    if v.ndim != 2 or v.shape[0] != 32:
        raise HostShimError(f"values must have shape (32, M), got {v.shape}")
    out = np.full(v.shape, np.nan, dtype=np.float32)
    base = np.zeros(32, dtype=np.int32)
    owner = np.zeros(32, dtype=np.int32)
    _call("lgn_warp_reduce_scatter", ctypes.c_int(v.shape[1]), _ptr(v), _ptr(out), _ptr(base),
          _ptr(owner))
    return out, base, owner.astype(bool)
