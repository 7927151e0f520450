"""Kernel sources, their template instantiations (name expressions) and the per-device compile cache.

The CUDA sources are package data next to this module (``layer_kernels.cu`` includes
``lgn_math.cuh`` and ``warp_reduce.cuh``); :func:`kernel_source` inlines the includes so that NVRTC
needs no include path and the cache key is the complete text. Kernels are compiled lazily, one
``cupy.RawModule`` per (device, parametrisation, fan-in, estimator, mode) with only the
instantiations that configuration needs; the module and its four ``RawKernel`` objects are cached
per (device, configuration) for the life of the process (CuPy additionally caches the binaries on
disk), so a forward or backward pass looks them up instead of building them. CuPy is imported
inside functions only.

Modes: ``soft`` (relaxed coefficients, parameter gradient: training), ``hard`` (0/1 tables, no
parameter gradient: eval) and ``ste`` (straight-through: 0/1 tables forward and for the input
gradient, the soft parameter gradient: ``--hard-finetune``).
"""
from __future__ import annotations

import re
import threading
from functools import lru_cache
from pathlib import Path

_DIR = Path(__file__).resolve().parent
MAIN_SOURCE = "layer_kernels.cu"
NVRTC_OPTIONS = ("-std=c++17",)
#: blocks per SM the fan-in-6 soft backward with input gradient is compiled for
#: (LGN_FANIN6_MIN_BLOCKS in layer_kernels.cu; ptxas, sm_90: 1-2 -> 206 registers, 12.5%
#: occupancy, no spills; 3 -> 168 registers, 18.75%, ~100 bytes of spills; 4 -> 128 registers,
#: 25%, ~370 bytes of spills). bench/kernels.py times the variants on a GPU.
FANIN6_MIN_BLOCKS = 3
FANIN6_VARIANTS = (2, 3, 4)
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


#: mode -> (HARD: 0/1 table coefficients, PGRAD: parameter gradient)
MODES = {"soft": (False, True), "hard": (True, False), "ste": (True, True)}
KERNEL_KINDS = ("forward", "backward_gx", "backward", "gather")


def _b(v: bool) -> str:
    return "true" if v else "false"


def check_mode(mode: str) -> tuple[bool, bool]:
    if mode not in MODES:
        raise ValueError(f"unknown kernel mode {mode!r} (expected one of {', '.join(MODES)})")
    return MODES[mode]


def iwp_forward_name(n: int, estimator: str, hard: bool) -> str:
    return f"iwp_forward<{n}, {ESTIMATOR_CODES[estimator]}, {_b(hard)}>"


def iwp_backward_name(n: int, estimator: str, mode: str, gx: bool) -> str:
    hard, pgrad = check_mode(mode)
    return f"iwp_backward<{n}, {ESTIMATOR_CODES[estimator]}, {_b(hard)}, {_b(pgrad)}, {_b(gx)}>"


def orig_forward_name(hard: bool) -> str:
    return f"orig_forward<{_b(hard)}>"


def orig_backward_name(mode: str, gx: bool) -> str:
    hard, pgrad = check_mode(mode)
    return f"orig_backward<{_b(hard)}, {_b(pgrad)}, {_b(gx)}>"


def config_names(param: str, n: int, estimator: str | None, mode: str) -> tuple[str, ...]:
    """Name expressions of one layer configuration: forward and both backward variants."""
    hard, _ = check_mode(mode)
    if param == "iwp":
        return (iwp_forward_name(n, estimator, hard), iwp_backward_name(n, estimator, mode, True),
                iwp_backward_name(n, estimator, mode, False))
    if param == "original":
        return (orig_forward_name(hard), orig_backward_name(mode, True),
                orig_backward_name(mode, False))
    raise ValueError(f"unknown parametrisation {param!r} (expected iwp or original)")


def all_configs() -> list[tuple[str, int, str | None, str]]:
    """Every (param, fan-in, estimator, mode) the binding supports."""
    cfgs = [("iwp", n, est, mode) for n in FAN_INS for est in ESTIMATOR_CODES for mode in MODES]
    return cfgs + [("original", 2, None, mode) for mode in MODES]


def all_name_expressions() -> list[str]:
    """Every template instantiation the binding can ask for (the compile test builds all)."""
    names: list[str] = []
    for cfg in all_configs():
        names += [n for n in config_names(*cfg) if n not in names]
    return names


_lock = threading.Lock()
_kernels: dict[tuple, dict] = {}


def nvrtc_options(fanin6_min_blocks: int = FANIN6_MIN_BLOCKS) -> tuple[str, ...]:
    return (*NVRTC_OPTIONS, f"-DLGN_FANIN6_MIN_BLOCKS={int(fanin6_min_blocks)}")


def _build_kernels(device_index: int, names: tuple[str, ...], options: tuple[str, ...]) -> dict:
    """Compile one configuration's module on one device and look up its four kernels."""
    import cupy

    with cupy.cuda.Device(device_index):
        module = cupy.RawModule(code=kernel_source(), options=options,
                                name_expressions=list(names))
        module.compile()
        fwd, bwd_gx, bwd = names
        return {"forward": module.get_function(fwd), "backward_gx": module.get_function(bwd_gx),
                "backward": module.get_function(bwd), "gather": module.get_function(GATHER_KERNEL),
                "module": module}


def get_kernels(device_index: int, param: str, n: int, estimator: str | None, mode: str,
                fanin6_min_blocks: int = FANIN6_MIN_BLOCKS) -> dict:
    """``{'forward', 'backward_gx', 'backward', 'gather'}`` -> cupy.RawKernel for one configuration
    on one device: compiled and looked up on first use, then the same objects every call."""
    key = (int(device_index), config_names(param, n, estimator, mode),
           nvrtc_options(fanin6_min_blocks))
    kernels = _kernels.get(key)
    if kernels is None:
        with _lock:
            kernels = _kernels.get(key)
            if kernels is None:
                kernels = _build_kernels(*key)
                _kernels[key] = kernels
    return kernels


def cached_configurations() -> int:
    """How many (device, configuration) kernel sets this process has built."""
    return len(_kernels)


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
            nvrtc.compileProgram(prog, [*nvrtc_options(), f"-arch={arch}"])
        except nvrtc.NVRTCError as exc:
            raise RuntimeError(f"NVRTC failed ({exc}):\n{nvrtc.getProgramLog(prog)}") from None
        return {name: nvrtc.getLoweredName(prog, name) for name in names}
    finally:
        nvrtc.destroyProgram(prog)
