"""The CUDA kernels themselves run on the CPU: layer_kernels.cu compiled as host C++ under
cuda_emu.cuh (CUDA's thread/block/warp model with std::threads) and launched through ctypes.

Inside ``with emulation():`` the launch code of train/kernels/functions.py -- launch plan, grids,
argument order, reverse index, autograd wiring -- runs unchanged on CPU float32 tensors, and each
``kernel(grid, block, args)`` call executes the kernel's own source for every block and thread.
So everything except the device itself (and NVRTC's code generation, checked separately by
tests/test_kernels_compile.py) is exercised without a GPU: by the tests, and by
``bench/kernels.py --dry-run`` and ``bench/gpu_acceptance.py --dry-run``.

Slow by design (one OS thread per CUDA thread): use small shapes. The library is built on first
use with ``$CXX`` (else g++/c++/clang++) into the build cache of lgn_hw.cbuild, keyed by a hash of
the generated source and flags.
"""
from __future__ import annotations

import contextlib
import ctypes
import hashlib
import threading

import numpy as np
import torch

from lgn_hw.atomic import write_text_atomic
from lgn_hw.cbuild import build_cached, cache_dir, compiler_version, find_compiler

from . import compile as kc

FLAGS = ["-x", "c++", "-std=c++20", "-O1", "-fPIC", "-shared", "-pthread", "-ffp-contract=off",
         "-Wno-unknown-pragmas"]
_lock = threading.Lock()
_lib = None


class EmulatorError(RuntimeError):
    """The emulated kernels could not be built, or a launch was refused."""


def generated_source() -> str:
    """cuda_emu.cuh, the inlined kernel source and two C entry points over every instantiation
    the binding can ask for (the same name expressions NVRTC is given): one launches a kernel by
    name, one returns its argument kinds."""
    names = [*kc.all_name_expressions(), kc.GATHER_KERNEL]

    def table(call: str) -> str:
        return "\n".join(f'    if (!std::strcmp(name, "{n}")) return {call.format(n)};' for n in names)

    export = 'extern "C" __attribute__((visibility("default")))'
    return "\n".join([
        kc.source_path("cuda_emu.cuh").read_text().replace("#pragma once", ""),
        kc.kernel_source(),
        export,
        "int lgn_emu_launch(const char* name, unsigned gx, unsigned gy, unsigned gz, unsigned bx,",
        "                   unsigned by, unsigned bz, void** args) {",
        "    const dim3 g{gx, gy, gz}, b{bx, by, bz};",
        table("lgn_emu_run(&{}, g, b, args)"),
        "    return -2;",
        "}",
        export,
        "const char* lgn_emu_signature_of(const char* name) {",
        table("lgn_emu_signature(&{})"),
        "    return nullptr;",
        "}",
        ""])


def library() -> ctypes.CDLL:
    """The emulated kernels (built on first use)."""
    global _lib
    with _lock:
        if _lib is None:
            cxx = find_compiler("CXX", ("g++", "c++", "clang++"))
            if cxx is None:
                raise EmulatorError("no C++ compiler found (set $CXX) to build the kernel emulator")
            src = generated_source()
            key = "\0".join([src, " ".join(FLAGS), compiler_version(cxx)]).encode()
            path = cache_dir() / f"kernels-emu-{hashlib.sha256(key).hexdigest()[:16]}.cu"
            if not path.exists():
                write_text_atomic(path, src)
            try:
                so = build_cached([cxx, *FLAGS], path, key, "kernels-emu")
            except RuntimeError as e:
                raise EmulatorError(f"building the kernel emulator failed: {e}") from None
            lib = ctypes.CDLL(str(so))
            lib.lgn_emu_launch.restype = ctypes.c_int
            lib.lgn_emu_launch.argtypes = [ctypes.c_char_p] + [ctypes.c_uint] * 6 + [ctypes.c_void_p]
            lib.lgn_emu_signature_of.restype = ctypes.c_char_p
            lib.lgn_emu_signature_of.argtypes = [ctypes.c_char_p]
            _lib = lib
        return _lib


def _dims(v) -> tuple[int, int, int]:
    v = tuple(int(d) for d in v)
    if not 1 <= len(v) <= 3 or min(v) < 1:
        raise EmulatorError(f"bad launch dimensions {v}")
    return v + (1,) * (3 - len(v))


class EmulatedKernel:
    """Callable like ``cupy.RawKernel``: ``kernel(grid, block, args)`` with CPU tensors (their
    data pointers are passed), numpy int32 scalars and ints."""

    def __init__(self, name: str):
        sig = library().lgn_emu_signature_of(name.encode())
        if sig is None:
            raise EmulatorError(f"no kernel instantiation {name!r}")
        self.name, self.signature = name, sig.decode()
        self.launches = 0

    def __call__(self, grid, block, args) -> None:
        if len(args) != len(self.signature):
            raise EmulatorError(f"{self.name}: {len(args)} arguments for {len(self.signature)} "
                                "parameters")
        keep, ptrs = [], []
        for kind, a in zip(self.signature, args):
            if (kind == "p") != isinstance(a, torch.Tensor):
                raise EmulatorError(f"{self.name}: argument {len(keep)} must be "
                                    f"{'a tensor' if kind == 'p' else 'an int'}, got "
                                    f"{type(a).__name__}")
            if isinstance(a, torch.Tensor):
                if a.device.type != "cpu":
                    raise EmulatorError(f"{self.name}: emulated kernels take CPU tensors, got {a.device}")
                v = ctypes.c_void_p(a.data_ptr())
            elif isinstance(a, (np.integer, int)) and not isinstance(a, bool):
                if not isinstance(a, np.int32):
                    raise EmulatorError(f"{self.name}: integer arguments must be np.int32 as for "
                                        f"CuPy, got {type(a).__name__}")
                v = ctypes.c_int(int(a))
            else:
                raise EmulatorError(f"{self.name}: unsupported argument {type(a).__name__}")
            keep.append(v)
            ptrs.append(ctypes.cast(ctypes.pointer(v), ctypes.c_void_p))
        argv = (ctypes.c_void_p * max(1, len(ptrs)))(*ptrs)
        rc = library().lgn_emu_launch(self.name.encode(), *_dims(grid), *_dims(block), argv)
        if rc != 0:
            raise EmulatorError(f"{self.name}: launch refused ({'unknown kernel' if rc == -2 else 'block size'})")
        self.launches += 1


class Emulator:
    """Kernel sets keyed like compile.get_kernels, plus a log of the launches (kind names)."""

    def __init__(self):
        self.log: list[str] = []
        self._sets: dict[tuple, dict] = {}

    def kernels(self, param: str, n: int, estimator: str | None, mode: str) -> dict:
        key = kc.config_names(param, n, estimator, mode)
        if key not in self._sets:
            fwd, bwd_gx, bwd = key
            self._sets[key] = {kind: _Logged(EmulatedKernel(name), kind, self.log) for kind, name in
                               zip(kc.KERNEL_KINDS, (fwd, bwd_gx, bwd, kc.GATHER_KERNEL))}
        return self._sets[key]


class _Logged:
    def __init__(self, kernel: EmulatedKernel, kind: str, log: list):
        self.kernel, self.kind, self.log = kernel, kind, log

    def __call__(self, grid, block, args):
        self.log.append(self.kind)
        self.kernel(grid, block, args)


@contextlib.contextmanager
def emulation():
    """Run train.kernels' layer functions on CPU float32 tensors through the emulated kernels.
    Yields the Emulator (its ``log`` lists the launches)."""
    from . import functions

    library()  # build first: a missing compiler is one clear error, before any launch
    emu = Emulator()
    old = functions.set_emulator(emu)
    try:
        yield emu
    finally:
        functions.set_emulator(old)
