"""Kernel sources, their template instantiations (name expressions) and the per-device compile cache.

The CUDA sources are package data next to this module (``layer_kernels.cu`` includes
``lgn_math.cuh`` and ``warp_reduce.cuh``); :func:`kernel_source` inlines the includes so that NVRTC
needs no include path and the cache key is the complete text. Kernels are compiled lazily, one
``cupy.RawModule`` per (device, parametrisation, fan-in, estimator, hard) with only the
instantiations that configuration needs, and cached for the life of the process (CuPy additionally
caches the binaries on disk). CuPy is imported inside functions only.
"""
from __future__ import annotations

import re
import threading
from functools import lru_cache
from pathlib import Path

_DIR = Path(__file__).resolve().parent
MAIN_SOURCE = "layer_kernels.cu"
NVRTC_OPTIONS = ("-std=c++17",)
ESTIMATOR_CODES = {"sin": 0, "sigmoid": 1}
FAN_INS = tuple(range(1, 7))
GATHER_KERNEL = "gather_rows"  # extern "C", needs no name expression
GATES_PER_BLOCK = 4  # LGN_GATES_PER_BLOCK in layer_kernels.cu
ROWS_PER_BLOCK = 8  # LGN_ROWS_PER_BLOCK
BATCH_CHUNK = 1024  # samples per block along grid.y in the forward and gather kernels

_INCLUDE = re.compile(r'^#include "([A-Za-z0-9_.]+)"\s*$', re.M)


def source_path(name: str) -> Path:
    return _DIR / name


def source_files() -> list[Path]:
    """Every CUDA source shipped with the package (``*.cu`` and ``*.cuh``)."""
    return sorted(p for p in _DIR.iterdir() if p.suffix in (".cu", ".cuh"))


@lru_cache(maxsize=None)
def kernel_source(name: str = MAIN_SOURCE) -> str:
    """The source with local ``#include "..."`` lines replaced by the files (each once)."""
    seen: set[str] = set()

    def expand(fname: str) -> str:
        if fname in seen:
            return ""
        seen.add(fname)
        text = source_path(fname).read_text()
        text = text.replace("#pragma once", "")
        return _INCLUDE.sub(lambda m: expand(m.group(1)), text)

    return expand(name)


def _b(v: bool) -> str:
    return "true" if v else "false"


def iwp_forward_name(n: int, estimator: str, hard: bool) -> str:
    return f"iwp_forward<{n}, {ESTIMATOR_CODES[estimator]}, {_b(hard)}>"


def iwp_backward_name(n: int, estimator: str, hard: bool, gx: bool) -> str:
    return f"iwp_backward<{n}, {ESTIMATOR_CODES[estimator]}, {_b(hard)}, {_b(gx)}>"


def orig_forward_name(hard: bool) -> str:
    return f"orig_forward<{_b(hard)}>"


def orig_backward_name(hard: bool, gx: bool) -> str:
    return f"orig_backward<{_b(hard)}, {_b(gx)}>"


def config_names(param: str, n: int, estimator: str | None, hard: bool) -> tuple[str, ...]:
    """Name expressions of one layer configuration: forward and both backward variants."""
    if param == "iwp":
        return (iwp_forward_name(n, estimator, hard), iwp_backward_name(n, estimator, hard, True),
                iwp_backward_name(n, estimator, hard, False))
    if param == "original":
        return (orig_forward_name(hard), orig_backward_name(hard, True),
                orig_backward_name(hard, False))
    raise ValueError(f"unknown parametrisation {param!r} (expected iwp or original)")


def all_name_expressions() -> list[str]:
    """Every template instantiation the binding can ask for (the compile test builds all)."""
    names: list[str] = []
    for n in FAN_INS:
        for est in ESTIMATOR_CODES:
            for hard in (False, True):
                names += config_names("iwp", n, est, hard)
    for hard in (False, True):
        names += config_names("original", 2, None, hard)
    return names


_lock = threading.Lock()
_modules: dict[tuple, object] = {}


def get_kernels(device_index: int, param: str, n: int, estimator: str | None, hard: bool) -> dict:
    """``{'forward', 'backward_gx', 'backward', 'gather'}`` -> cupy.RawKernel for one configuration
    on one device, compiled on first use."""
    names = config_names(param, n, estimator, hard)
    key = (device_index, names)
    with _lock:
        module = _modules.get(key)
        if module is None:
            import cupy

            with cupy.cuda.Device(device_index):
                module = cupy.RawModule(code=kernel_source(), options=NVRTC_OPTIONS,
                                        name_expressions=list(names))
                module.compile()
            _modules[key] = module
    fwd, bwd_gx, bwd = names
    return {"forward": module.get_function(fwd), "backward_gx": module.get_function(bwd_gx),
            "backward": module.get_function(bwd), "gather": module.get_function(GATHER_KERNEL)}


def nvrtc_compile(names: list[str], arch: str = "sm_90") -> dict[str, str]:
    """Compile the kernel source with NVRTC (no GPU needed) exactly as ``get_kernels`` does, plus
    ``-arch``; return the lowered (mangled) name of every name expression. Raises RuntimeError with
    the compiler log on failure."""
    from cupy.cuda import nvrtc

    prog = nvrtc.createProgram(kernel_source(), MAIN_SOURCE, [], [])
    try:
        for name in names:
            nvrtc.addNameExpression(prog, name)
        try:
            nvrtc.compileProgram(prog, [*NVRTC_OPTIONS, f"-arch={arch}"])
        except nvrtc.NVRTCError as exc:
            raise RuntimeError(f"NVRTC failed ({exc}):\n{nvrtc.getProgramLog(prog)}") from None
        return {name: nvrtc.getLoweredName(prog, name) for name in names}
    finally:
        nvrtc.destroyProgram(prog)
